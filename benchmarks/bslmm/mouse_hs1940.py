#!/usr/bin/env python
"""BSLMM vs GEMMA 0.98.5 on GEMMA's own example data set mouse_hs1940 (Debian package ``gemma-doc``).

Acceptance criterion (issue): on the same train/test split, held-out r of our BSLMM within 0.02 of
GEMMA's, and our PVE posterior mean inside GEMMA's 95% credible interval.

What it does
------------
1. Copies/gunzips the example files from ``/usr/share/doc/gemma/example`` into
   ``benchmarks/.work/bslmm_mouse/`` (git-ignored) and takes one phenotype column (``--pheno-col``,
   default 1 = CD8, the trait of GEMMA's BSLMM demo, ``example/demo.txt``: its ``-n 2`` column is
   CD8 with GEMMA's own test set masked).  Individuals with a missing phenotype are dropped.
2. Splits the remaining individuals into train/test (``--seed``, ``--test-frac``, default 20%), or with
   ``--split gemma`` uses the demo's split (train = column 2 observed, test = CD8 observed but column 2
   NA; only for ``--pheno-col 1``).  The same split goes to both tools.
3. GEMMA: ``gemma -g geno -p pheno_train -bslmm 1 -w W -s S -seed SEED`` (test and missing phenotypes
   written as NA; with ``--format plink``: ``-bfile`` with a .fam carrying the same column), then
   ``-predict 1`` two ways:
     * ``alpha``: ``-epm param.txt -emu log.txt`` — y_hat = mu + (x - xbar_train).(alpha + beta*gamma),
                  the rule our ``predict`` implements; this is the comparison;
     * ``ebv_K``: ``-epm -emu -ebv bv.txt -k K`` with K = ``gemma -gk 1`` over all individuals — GEMMA's
                  breeding-value route (alpha column ignored, BLUP of the test individuals' polygenic
                  value from the training bv.txt added).  ``-ebv`` without ``-k`` is refused by GEMMA
                  0.98.5 ("estimated breeding value file also requires relatedness file").
   Held-out r = Pearson r of ``.prdt.txt`` with the observed test phenotypes; PVE = mean and 2.5/97.5%
   quantiles of the ``pve`` column of ``.hyp.txt``.  CPU = user+sys of the GEMMA child processes.
4. Ours: ``allelekit.bslmm.model.fit_gene(..., model="bslmm", schedule=Schedule(W, S, 10))`` (same 2,000
   recorded draws as GEMMA's default ``-rpace 10``) on the training rows of the same genotype matrix
   (BIMBAM mean dosages; with ``--format plink`` the .bed hard calls), after GEMMA's SNP filters
   computed on the training individuals (missingness > 5% dropped, MAF < 1% dropped, monomorphic
   dropped; missing genotypes imputed with the training mean), then ``predict`` on the test rows.
   CPU = ``time.process_time`` around ``fit_gene`` (numba compiled beforehand, outside the timing).
   The SNP set is checked against the SNPs GEMMA lists in its ``.param.txt``.
   Our CLI (``allelekit-bslmm``) is not run: it fits the SNVs of one chromosome within ``--cis-window``
   of a gene's TSS, so it cannot take a genome-wide (19 autosomes + X) predictor set.
5. Prints a summary and writes JSON (``--json``, default ``benchmarks/bslmm/logs/mouse_hs1940.json``).
   ``--gemma-seeds`` / ``--ours-seeds`` add fits with further MCMC seeds (same split) to measure each
   tool's own seed-to-seed spread.  Both tools record PVE with GEMMA's code definition
   (V(Xb) + V(u), no 2 (Xb).u / n cross term; see docs/bslmm.md).

Run (BLAS is pinned to one thread here; CPU seconds are reported, not wall time)::

    apt-get install -y gemma gemma-doc
    python benchmarks/bslmm/mouse_hs1940.py --seed 1                       # -w 10000 -s 20000
    python benchmarks/bslmm/mouse_hs1940.py --seed 1 --gemma-seeds 2 3 --ours-seeds 2 3
    python benchmarks/bslmm/mouse_hs1940.py --seed 1 --split gemma --format plink -w 1000 -s 10000
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from allelekit.bslmm.model import Schedule, fit_gene, predict  # noqa: E402
from run_benchmark import child_cpu, pearson  # noqa: E402  (part 1's helpers)

EXAMPLE = Path("/usr/share/doc/gemma/example")
WORK = ROOT / "benchmarks" / ".work" / "bslmm_mouse"
PREFIX = "mouse_hs1940"


# ------------------------------------------------------------------------------------------------ data
def unpack(work: Path) -> None:
    """Gunzip the example files into the work dir (once)."""
    work.mkdir(parents=True, exist_ok=True)
    for ext in ("bed", "bim", "fam", "geno.txt", "pheno.txt", "anno.txt"):
        dst = work / f"{PREFIX}.{ext}"
        if dst.exists():
            continue
        src = EXAMPLE / f"{PREFIX}.{ext}.gz"
        if not src.exists():
            sys.exit(f"{src} not found: apt-get install -y gemma-doc")
        tmp = dst.with_suffix(dst.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            subprocess.run(["gzip", "-dc", str(src)], stdout=fh, check=True)
        tmp.rename(dst)


def read_pheno(work: Path) -> np.ndarray:
    rows = [ln.split() for ln in open(work / f"{PREFIX}.pheno.txt")]
    return np.array([[np.nan if v == "NA" else float(v) for v in r] for r in rows])


def read_bimbam(work: Path) -> tuple[np.ndarray, list[str]]:
    """BIMBAM mean genotypes, p x N (NA -> nan), cached as .npy next to the text file."""
    cache = work / f"{PREFIX}.geno.npy"
    rs = [ln.split(",", 1)[0].strip() for ln in open(work / f"{PREFIX}.geno.txt")]
    if cache.exists():
        return np.load(cache), rs
    import pandas as pd

    df = pd.read_csv(work / f"{PREFIX}.geno.txt", header=None, sep=",", skipinitialspace=True,
                     na_values=["NA"], keep_default_na=False)
    G = np.ascontiguousarray(df.iloc[:, 3:].to_numpy(dtype=np.float64))
    np.save(cache, G)
    return G, rs


def read_bed(work: Path) -> tuple[np.ndarray, list[str]]:
    """PLINK .bed as counts of the .bim A1 allele (GEMMA's coding), p x N, missing -> nan."""
    n = sum(1 for _ in open(work / f"{PREFIX}.fam"))
    rs = [ln.split()[1] for ln in open(work / f"{PREFIX}.bim")]
    raw = np.fromfile(work / f"{PREFIX}.bed", dtype=np.uint8)
    if raw[:3].tolist() != [0x6C, 0x1B, 0x01]:
        sys.exit("not a SNP-major .bed file")
    nb = (n + 3) // 4
    b = raw[3:].reshape(len(rs), nb)
    codes = np.stack([(b >> (2 * k)) & 3 for k in range(4)], axis=2).reshape(len(rs), nb * 4)[:, :n]
    return np.array([2.0, np.nan, 1.0, 0.0])[codes], rs


def make_split(pheno: np.ndarray, col: int, how: str, test_frac: float, seed: int):
    y = pheno[:, col - 1]
    obs = np.flatnonzero(np.isfinite(y))
    if how == "gemma":
        if col != 1:
            sys.exit("--split gemma is GEMMA's demo split of column 1 (CD8; column 2 = its training part)")
        train = np.flatnonzero(np.isfinite(pheno[:, 1]))
        test = np.setdiff1d(obs, train)
    else:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(obs)
        n_test = int(round(test_frac * obs.size))
        test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return y, train, test


def gemma_filters(G: np.ndarray, train: np.ndarray, maf_level: float, miss_level: float):
    """GEMMA's default SNP QC on the analysed (training) individuals; returns kept rows of G (p x N)."""
    Gt = G[:, train]
    miss = np.isnan(Gt).mean(axis=1)
    mean = np.nanmean(Gt, axis=1)
    maf = mean / 2.0
    lo, hi = np.nanmin(Gt, axis=1), np.nanmax(Gt, axis=1)
    keep = (miss <= miss_level) & (maf >= maf_level) & (maf <= 1.0 - maf_level) & (hi > lo)
    return np.flatnonzero(keep), mean


# ------------------------------------------------------------------------------------------------ GEMMA
def gemma(args_list: list[str], cwd: Path, log: Path) -> float:
    c0 = child_cpu()
    with open(log, "w") as fh:
        subprocess.run(["gemma", *args_list], cwd=cwd, check=True, stdout=fh, stderr=subprocess.STDOUT)
    return child_cpu() - c0


def run_gemma(a, work: Path, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int,
              routes: tuple[str, ...]) -> dict:
    d = work / f"gemma_{a.format}_{a.split}_split{a.seed}_col{a.pheno_col}_w{a.w}_s{a.s}_seed{seed}"
    d.mkdir(parents=True, exist_ok=True)
    ph = np.full(y.shape[0], np.nan)
    ph[train] = y[train]
    txt = ["NA" if not np.isfinite(v) else repr(float(v)) for v in ph]
    if a.format == "plink":
        fam = [ln.split()[:5] for ln in open(work / f"{PREFIX}.fam")]
        with open(d / "train.fam", "w") as fh:
            for f, v in zip(fam, txt):
                fh.write(" ".join(f) + f" {v}\n")
        for ext in ("bed", "bim"):
            tgt = d / f"train.{ext}"
            if not tgt.exists():
                tgt.symlink_to(work / f"{PREFIX}.{ext}")
        data = ["-bfile", "train"]
    else:
        (d / "pheno.txt").write_text("\n".join(txt) + "\n")
        data = ["-g", str(work / f"{PREFIX}.geno.txt"), "-p", "pheno.txt", "-a", str(work / f"{PREFIX}.anno.txt")]
    cpu_fit = gemma([*data, "-bslmm", "1", "-w", str(a.w), "-s", str(a.s), "-seed", str(seed),
                     "-outdir", "out", "-o", "fit"], d, d / "fit.stdout")
    out = {"dir": str(d.relative_to(ROOT)), "seed": seed, "cpu_fit": cpu_fit, "cpu_predict": {}, "r": {},
           "pred_alpha": None}
    est = ["-epm", "out/fit.param.txt", "-emu", "out/fit.log.txt"]
    yt = y[test]
    for route in routes:
        extra = []
        if route == "ebv_K":
            if not (d / "out" / "kin.cXX.txt").exists():
                out["cpu_kinship"] = gemma([*data, "-gk", "1", "-outdir", "out", "-o", "kin"], d, d / "kin.stdout")
            extra = ["-ebv", "out/fit.bv.txt", "-k", "out/kin.cXX.txt"]
        out["cpu_predict"][route] = gemma([*data, *est, *extra, "-predict", "1", "-outdir", "out",
                                           "-o", f"pred_{route}"], d, d / f"pred_{route}.stdout")
        vals = (d / "out" / f"pred_{route}.prdt.txt").read_text().split()
        if len(vals) != y.shape[0]:
            raise RuntimeError(f"{route}: {len(vals)} predictions for {y.shape[0]} individuals")
        pred = np.array([np.nan if v in ("NA", "nan") else float(v) for v in vals])[test]
        out["r"][route] = pearson(pred, yt)
        if route == "alpha":
            out["pred_alpha"] = pred
    with open(d / "out" / "fit.hyp.txt") as fh:
        head = fh.readline().split()
    hyp = np.loadtxt(d / "out" / "fit.hyp.txt", skiprows=1, ndmin=2)
    col = {k: hyp[:, i] for i, k in enumerate(head)}
    pve = col["pve"]
    out.update(n_draws=int(hyp.shape[0]), pve_mean=float(pve.mean()), pve_low=float(np.quantile(pve, 0.025)),
               pve_high=float(np.quantile(pve, 0.975)), h_mean=float(col["h"].mean()),
               rho_mean=float(col["rho"].mean()), pge_mean=float(col["pge"].mean()),
               n_gamma_mean=float(col["n_gamma"].mean()))
    with open(d / "out" / "fit.param.txt") as fh:
        phead = fh.readline().split()
        prow = [ln.split() for ln in fh]
    irs, ig = phead.index("rs"), phead.index("gamma")
    out["param_rs"] = [r[irs] for r in prow]
    out["pip"] = np.array([float(r[ig]) for r in prow])
    for ln in open(d / "out" / "fit.log.txt"):
        if "number of analyzed individuals" in ln:
            out["n_analyzed"] = int(ln.split("=")[1])
        if "number of analyzed SNPs" in ln:
            out["p_analyzed"] = int(ln.split("=")[1])
        if "total computation time" in ln or "time on mcmc" in ln or "time on eigen" in ln:
            key = {"total": "gemma_log_total_s", "mcmc": "gemma_log_mcmc_s", "eigen": "gemma_log_eigen_s"}
            k = next(v for kk, v in key.items() if kk in ln)
            out[k] = 60.0 * float(ln.split("=")[1].split()[0])   # GEMMA logs minutes
    return out


# ------------------------------------------------------------------------------------------------ ours
def run_ours(Gtr: np.ndarray, ytr: np.ndarray, Gte: np.ndarray, schedule: Schedule, seed: int) -> dict:
    p = Gtr.shape[1]
    t0, w0 = time.process_time(), time.perf_counter()
    fit = fit_gene(Gtr, ytr, np.arange(p, dtype=np.int64), 0, model="bslmm", schedule=schedule,
                   seed_words=(seed,))
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    s = fit.summary
    return {"seed": seed, "cpu": cpu, "wall": wall, "pred": predict(Gte, fit.xbar, fit.weight, fit.intercept),
            "pred_sparse": predict(Gte, fit.xbar, fit.beta_mean, fit.intercept),
            "pve_mean": s["pve_mean"], "pve_low": s["pve_low"], "pve_high": s["pve_high"],
            "h_mean": s["h_mean"], "pge_mean": s["pge_mean"], "n_gamma_mean": s["n_gamma_mean"],
            "rho_mean": float(np.concatenate([h[:, 2] for h in fit.hyp]).mean()),
            "ess_pve": s["ess_pve"], "n_draws": int(sum(h.shape[0] for h in fit.hyp)), "pip": fit.pip}


def warm_numba() -> None:
    from allelekit.bslmm.simulate import simulate_gene

    sg = simulate_gene(60, 50, np.random.default_rng(0), window=50_000)
    fit_gene(sg.G, sg.y, sg.pos, sg.tss, model="bslmm", schedule=Schedule(10, 10, 1))


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pheno-col", type=int, default=1, help="1-based column of the pheno file (1 = CD8)")
    ap.add_argument("--split", choices=("random", "gemma"), default="random")
    ap.add_argument("--test-frac", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1, help="split seed; also the first MCMC seed of both tools")
    ap.add_argument("--format", choices=("bimbam", "plink"), default="bimbam",
                    help="genotypes both tools read: BIMBAM mean dosages (.geno.txt) or PLINK hard calls (.bed)")
    ap.add_argument("-w", type=int, default=10_000, help="burn-in (GEMMA -w; ours Schedule.burn_in)")
    ap.add_argument("-s", type=int, default=20_000, help="sampling steps (GEMMA -s; ours Schedule.samples)")
    ap.add_argument("--thin", type=int, default=10, help="ours' thinning; GEMMA records every 10th (-rpace 10)")
    ap.add_argument("--maf", type=float, default=0.01)
    ap.add_argument("--miss", type=float, default=0.05)
    ap.add_argument("--gemma-seeds", type=int, nargs="*", default=[], help="extra GEMMA MCMC seeds")
    ap.add_argument("--ours-seeds", type=int, nargs="*", default=[], help="extra MCMC seeds for ours")
    ap.add_argument("--no-gemma", action="store_true")
    ap.add_argument("--no-ours", action="store_true")
    ap.add_argument("--work", default=str(WORK))
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "bslmm" / "logs" / "mouse_hs1940.json"))
    a = ap.parse_args()
    work = Path(a.work).resolve()
    if not a.no_gemma and shutil.which("gemma") is None:
        sys.exit("gemma not on PATH: apt-get install -y gemma")
    unpack(work)
    ver = "GEMMA (not run)"
    if not a.no_gemma:
        hl = subprocess.run(["gemma", "-h"], capture_output=True, text=True).stdout.splitlines()
        ver = next((ln.strip() for ln in hl if "GEMMA" in ln), "GEMMA")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; python "
          f"{platform.python_version()}; {ver}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)

    pheno = read_pheno(work)
    y, train, test = make_split(pheno, a.pheno_col, a.split, a.test_frac, a.seed)
    G, rs = read_bimbam(work) if a.format == "bimbam" else read_bed(work)
    keep, tr_mean = gemma_filters(G, train, a.maf, a.miss)
    Gk = G[keep]
    miss = np.isnan(Gk)
    n_missing = int(miss.sum())
    if n_missing:  # GEMMA: missing genotype -> SNP mean of the analysed individuals
        Gk = np.where(miss, tr_mean[keep][:, None], Gk)
    Gtr = np.ascontiguousarray(Gk[:, train].T)
    Gte = np.ascontiguousarray(Gk[:, test].T)
    rs_keep = [rs[j] for j in keep]
    print(f"phenotype column {a.pheno_col}: {np.isfinite(y).sum()} of {y.size} observed; split {a.split} "
          f"(seed {a.seed}): n_train {train.size}, n_test {test.size}; {a.format} genotypes: {len(rs)} SNPs, "
          f"{keep.size} pass GEMMA's filters (MAF >= {a.maf}, missingness <= {a.miss}) on the training set; "
          f"{n_missing} missing genotypes imputed", flush=True)
    res: dict = {"data": f"{EXAMPLE}/{PREFIX}", "pheno_col": a.pheno_col, "split": a.split, "seed": a.seed,
                 "test_frac": a.test_frac, "format": a.format, "n_train": int(train.size),
                 "n_test": int(test.size), "p_total": len(rs), "p": int(keep.size),
                 "schedule": {"burn_in": a.w, "samples": a.s, "thin": a.thin}, "gemma_version": ver,
                 "machine": f"{platform.node()} {os.cpu_count()} CPUs",
                 "date": time.strftime("%Y-%m-%d %H:%M")}
    yt = y[test]

    gem = []
    if not a.no_gemma:
        for k, sd in enumerate([a.seed, *a.gemma_seeds]):
            routes = ("alpha", "ebv_K") if k == 0 else ("alpha",)
            g = run_gemma(a, work, y, train, test, sd, routes)
            gem.append(g)
            print(f"GEMMA seed {sd}: fit CPU {g['cpu_fit']:.1f} s; analysed n {g.get('n_analyzed')} "
                  f"p {g.get('p_analyzed')}; held-out r " + ", ".join(f"{k2} {v:.4f}" for k2, v in g["r"].items())
                  + f"; PVE {g['pve_mean']:.4f} [{g['pve_low']:.4f}, {g['pve_high']:.4f}]; h {g['h_mean']:.3f} "
                  f"rho {g['rho_mean']:.3f} PGE {g['pge_mean']:.3f} |gamma| {g['n_gamma_mean']:.1f}", flush=True)
        if gem[0]["param_rs"] != rs_keep:
            extra_g = sorted(set(gem[0]["param_rs"]) - set(rs_keep))
            extra_o = sorted(set(rs_keep) - set(gem[0]["param_rs"]))
            print(f"WARNING: SNP sets differ: {len(extra_g)} only GEMMA {extra_g[:5]}, "
                  f"{len(extra_o)} only ours {extra_o[:5]}")
            res["snp_set_identical"] = False
        else:
            res["snp_set_identical"] = True
        if gem[0].get("n_analyzed") is not None and gem[0]["n_analyzed"] != train.size:
            print(f"WARNING: GEMMA analysed {gem[0]['n_analyzed']} individuals, n_train = {train.size}")

    ours = []
    if not a.no_ours:
        warm_numba()
        sch = Schedule(a.w, a.s, a.thin)
        for sd in [a.seed, *a.ours_seeds]:
            o = run_ours(Gtr, y[train], Gte, sch, sd)
            o["r"] = pearson(o["pred"], yt)
            o["r_sparse"] = pearson(o["pred_sparse"], yt)
            ours.append(o)
            print(f"ours  seed {sd}: fit CPU {o['cpu']:.1f} s (wall {o['wall']:.1f}); held-out r {o['r']:.4f} "
                  f"(sparse part only {o['r_sparse']:.4f}); PVE {o['pve_mean']:.4f} [{o['pve_low']:.4f}, "
                  f"{o['pve_high']:.4f}]; h {o['h_mean']:.3f} rho {o['rho_mean']:.3f} PGE {o['pge_mean']:.3f} "
                  f"|gamma| {o['n_gamma_mean']:.1f}; ESS(pve) {o['ess_pve']:.0f} of {o['n_draws']}", flush=True)

    def strip(d: dict) -> dict:
        return {k: v for k, v in d.items() if k not in ("pred", "pred_sparse", "pred_alpha", "pip", "param_rs")}

    res["gemma"] = [strip(g) for g in gem]
    res["ours"] = [strip(o) for o in ours]
    if gem and ours:
        g, o = gem[0], ours[0]
        pos = {r: i for i, r in enumerate(rs_keep)}
        common = [(i, pos[r]) for i, r in enumerate(g["param_rs"]) if r in pos]
        gi, oi = np.array(common).T
        cmp = {"gemma_cpu_fit": g["cpu_fit"], "ours_cpu_fit": o["cpu"],
               "cpu_ratio_ours_over_gemma": o["cpu"] / g["cpu_fit"],
               "gemma_r": g["r"]["alpha"], "ours_r": o["r"], "abs_delta_r": abs(o["r"] - g["r"]["alpha"]),
               "r_within_0.02": bool(abs(o["r"] - g["r"]["alpha"]) <= 0.02),
               "gemma_r_ebv_K": g["r"].get("ebv_K"), "ours_r_sparse_only": o["r_sparse"],
               "gemma_pve": [g["pve_mean"], g["pve_low"], g["pve_high"]],
               "ours_pve": [o["pve_mean"], o["pve_low"], o["pve_high"]],
               "ours_pve_in_gemma_ci": bool(g["pve_low"] <= o["pve_mean"] <= g["pve_high"]),
               "gemma_pve_in_ours_ci": bool(o["pve_low"] <= g["pve_mean"] <= o["pve_high"]),
               "pip_corr": pearson(g["pip"][gi], o["pip"][oi]),
               "pred_corr": pearson(g["pred_alpha"], o["pred"])}
        res["comparison"] = cmp
        if len(gem) > 1:
            rr = [x["r"]["alpha"] for x in gem]
            pv = [x["pve_mean"] for x in gem]
            res["gemma_seed_spread"] = {"seeds": [x["seed"] for x in gem], "r": rr, "pve_mean": pv,
                                        "r_range": max(rr) - min(rr), "pve_range": max(pv) - min(pv),
                                        "pip_corr_seed0_vs_seed1": pearson(gem[0]["pip"], gem[1]["pip"]),
                                        "pred_corr_seed0_vs_seed1": pearson(gem[0]["pred_alpha"],
                                                                            gem[1]["pred_alpha"])}
        if len(ours) > 1:
            rr = [x["r"] for x in ours]
            pv = [x["pve_mean"] for x in ours]
            res["ours_seed_spread"] = {"seeds": [x["seed"] for x in ours], "r": rr, "pve_mean": pv,
                                       "r_range": max(rr) - min(rr), "pve_range": max(pv) - min(pv),
                                       "pip_corr_seed0_vs_seed1": pearson(ours[0]["pip"], ours[1]["pip"])}
        print(f"\nSUMMARY mouse_hs1940 column {a.pheno_col}, n_train {train.size}, n_test {test.size}, "
              f"p {keep.size} ({a.format}), -w {a.w} -s {a.s}:")
        print(f"  CPU s (fit): GEMMA {g['cpu_fit']:.1f}, ours {o['cpu']:.1f} "
              f"(ratio {cmp['cpu_ratio_ours_over_gemma']:.2f})")
        print(f"  held-out r: GEMMA {cmp['gemma_r']:.4f}, ours {cmp['ours_r']:.4f}, |delta| {cmp['abs_delta_r']:.4f} "
              f"(within 0.02: {cmp['r_within_0.02']}); GEMMA's breeding-value route (-ebv -k) "
              f"{cmp['gemma_r_ebv_K']:.4f}; ours sparse part only {o['r_sparse']:.4f}")
        print(f"  PVE: GEMMA {g['pve_mean']:.4f} [{g['pve_low']:.4f}, {g['pve_high']:.4f}], ours {o['pve_mean']:.4f} "
              f"[{o['pve_low']:.4f}, {o['pve_high']:.4f}]; ours' mean in GEMMA's 95% CI: "
              f"{cmp['ours_pve_in_gemma_ci']}")
        print(f"  PIP corr {cmp['pip_corr']:.3f}; correlation of the two tools' test predictions "
              f"{cmp['pred_corr']:.4f}; identical SNP set: {res.get('snp_set_identical')}")
        for tag, key in (("GEMMA", "gemma_seed_spread"), ("ours", "ours_seed_spread")):
            if key in res:
                sp = res[key]
                print(f"  {tag} seed spread (seeds {sp['seeds']}): r {[round(v, 4) for v in sp['r']]} "
                      f"(range {sp['r_range']:.4f}), PVE {[round(v, 4) for v in sp['pve_mean']]} "
                      f"(range {sp['pve_range']:.4f}), PIP corr seed0 vs seed1 {sp['pip_corr_seed0_vs_seed1']:.3f}")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(res, indent=1, default=float) + "\n")
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
