#!/usr/bin/env python
"""allelekit-bslmm benchmark: BSLMM vs GEMMA 0.98.5, and bsBSLMM vs BSLMM, side by side in one run.

Part 1 (vs GEMMA, same simulated genes, same train/test split):
  * GEMMA ``-bslmm 1 -w 10000 -s 20000`` (2,000 recorded draws) vs ``allelekit`` BSLMM with the same
    schedule (burn-in 10,000, 20,000 iterations, every 10th recorded): CPU seconds per gene, held-out
    Pearson r (GEMMA's own ``-predict 1``), PVE posterior mean and 95% interval.
  * optionally (``--default-genes``) GEMMA's default schedule (-w 100000 -s 1000000) on a few genes,
    both tools.
Part 2 (bsBSLMM vs BSLMM, ``--bs-genes`` simulated genes whose causal SNVs cluster in 2 LD blocks near
  the TSS): paired delta held-out r, one-sided paired Wilcoxon p, enrichment of causal SNVs in the
  95%-CI active set (fraction of active SNVs that are causal / fraction of all SNVs that are causal),
  also under other definitions of alpha's draws (``CI_DEFS``), with a one-sided Fisher exact test.
  ``--genotypes msprime`` takes the genotypes from the coalescent (``pip install msprime``; benchmark
  only) instead of our LD-block simulator.

GEMMA is the Debian package (``apt-get install -y gemma``; the binary must be on PATH).  CPU time is
user+sys of the GEMMA child process and ``time.process_time`` around our per-gene fit (the same work:
pre-computation + MCMC + summaries; file parsing excluded for both is not possible for GEMMA, whose
reading of a ~5 MB BIMBAM file is included in its time).  BLAS is pinned to one thread for both.

Usage:  OPENBLAS_NUM_THREADS=1 python benchmarks/bslmm/run_benchmark.py [--gemma-genes 5] [--bs-genes 50]
                [--genotypes blocks|msprime]
"""
from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
sys.path.insert(0, str(ROOT / "src"))

from allelekit.bslmm import model as _model  # noqa: E402
from allelekit.bslmm.ld import partition_blocks, tss_feature  # noqa: E402
from allelekit.bslmm.model import Schedule, fit_gene, pooled_tss_prior, predict  # noqa: E402
from allelekit.bslmm.simulate import SimGene, plant_phenotype, simulate_gene  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "bslmm"


# Active sets under other definitions of the per-draw polygenic effect alpha (part 2 reports them
# beside the shipped one, to show the enrichment comparison does not hinge on that choice):
#   exact    alpha drawn from its full conditional (what allelekit ships; the model's posterior interval)
#   minnorm  alpha = X^T K^+ u / p with u drawn (the spec's recorded alpha: the exact draw projected onto
#            the row space of X, i.e. without its null-space part; drawn from its closed form)
#   rb       GEMMA's Rao-Blackwellised alpha per draw (conditional mean given b, tau, sigma_b^2)
#   beta     the sparse effect beta_j alone
CI_DEFS = ("exact", "minnorm", "rb", "beta")
_LAST_ACTIVE: dict = {}
_effect_summaries = _model._effect_summaries


def _effect_summaries_recording(pr, hyp, beta, V, seed_words, ci_draws, chunk):
    weight, alpha_mean, lo, hi = _effect_summaries(pr, hyp, beta, V, seed_words, ci_draws, chunk)
    t0 = time.process_time()
    p = pr.UtXT.shape[0]
    T = hyp.shape[0]
    idx = np.unique(np.linspace(0, T - 1, min(T, ci_draws)).round().astype(np.int64))
    H = _model.samplers.HYP_COLS
    h, rho, tau = (hyp[idx, H.index(k)] for k in ("h", "rho", "tau"))
    sb = (h * (1.0 - rho) / (pr.s_k * (1.0 - h)))[:, None]
    # minimum-norm alpha = X^T K^+ u / p with u drawn from its conditional (spec step 2):
    # U^T u ~ N(d V, sb d / (tau (1 + sb d))), so X^T K^+ u / p = UtX^T (V + z sqrt(sb / (tau d (1 + sb d)))) / p
    d = np.where(pr.d > 1e-8 * pr.d.max(), pr.d, np.inf)[None, :]     # null directions of K contribute 0
    z = np.random.default_rng(list(seed_words) + [4242]).standard_normal((idx.size, pr.d.size))
    u_scaled = np.where(np.isfinite(d), V[idx] + z * np.sqrt(sb / (tau[:, None] * d * (1.0 + sb * d))), 0.0)
    minnorm = u_scaled @ pr.UtXT.T / p

    def act(draws):
        q = np.quantile(draws, [0.025, 0.975], axis=0)
        return (q[0] > 0) | (q[1] < 0)
    _LAST_ACTIVE.clear()
    _LAST_ACTIVE.update({"exact": (lo > 0) | (hi < 0), "minnorm": act(minnorm + beta[idx]),
                         "rb": act(V[idx] @ pr.UtXT.T / p + beta[idx]), "beta": act(beta[idx])})
    _LAST_ACTIVE["_cpu"] = time.process_time() - t0      # not part of the fit: subtracted from its CPU time
    return weight, alpha_mean, lo, hi


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_gemma(G: np.ndarray, y: np.ndarray, n_train: int, tag: str, w: int, s: int, seed: int) -> dict:
    """Fit GEMMA BSLMM on the first n_train rows, predict the rest with -predict 1."""
    d = WORK / tag
    d.mkdir(parents=True, exist_ok=True)
    n, p = G.shape
    with open(d / "geno.txt", "w") as fh:
        for j in range(p):
            fh.write(f"rs{j}, G, A, " + ", ".join(f"{v:g}" for v in G[:, j]) + "\n")
    with open(d / "pheno.txt", "w") as fh:
        for i in range(n):
            fh.write(f"{y[i]:.6f}\n" if i < n_train else "NA\n")
    c0 = child_cpu()
    t0 = time.perf_counter()
    subprocess.run(["gemma", "-g", "geno.txt", "-p", "pheno.txt", "-bslmm", "1", "-w", str(w), "-s", str(s),
                    "-seed", str(seed), "-outdir", "out", "-o", "fit"], cwd=d, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = child_cpu() - c0
    wall = time.perf_counter() - t0
    subprocess.run(["gemma", "-g", "geno.txt", "-p", "pheno.txt", "-epm", "out/fit.param.txt", "-emu",
                    "out/fit.log.txt", "-predict", "1", "-outdir", "out", "-o", "pred"], cwd=d, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    vals = (d / "out" / "pred.prdt.txt").read_text().split()
    pred = np.array([float(x) for x in vals[n_train:]])   # NA for the training rows
    hyp = np.loadtxt(d / "out" / "fit.hyp.txt", skiprows=1)
    pve = hyp[:, 1]
    param = np.genfromtxt(d / "out" / "fit.param.txt", skip_header=1, usecols=(1, 4, 5, 6), dtype=None,
                          encoding=None)
    pip = np.zeros(p)
    for row in param:
        pip[int(str(row[0])[2:])] = float(row[3])
    return {"cpu": cpu, "wall": wall, "pred": pred, "pve_mean": float(pve.mean()),
            "pve_low": float(np.quantile(pve, 0.025)), "pve_high": float(np.quantile(pve, 0.975)), "pip": pip}


def run_ours(G, y, pos, tss, n_train, model, schedule, seed, tss_prior=(0.0, 1.0), ci_defs=False) -> dict:
    _model._effect_summaries = _effect_summaries_recording if ci_defs else _effect_summaries
    t0 = time.process_time()
    w0 = time.perf_counter()
    fit = fit_gene(G[:n_train], y[:n_train], pos, tss, model=model, schedule=schedule, seed_words=(seed,),
                   tss_prior=tss_prior)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    if ci_defs:
        extra = _LAST_ACTIVE.pop("_cpu")
        cpu, wall = cpu - extra, wall - extra
    pred = predict(G[n_train:], fit.xbar, fit.weight, fit.intercept)
    s = fit.summary
    return {"cpu": cpu, "wall": wall, "pred": pred, "pve_mean": s["pve_mean"], "pve_low": s["pve_low"],
            "pve_high": s["pve_high"], "pip": fit.pip, "active": fit.active, "ess_h": s["ess_h"],
            "n_draws": fit.hyp[0].shape[0], "pi_mean": s["pi_mean"], "n_gamma_mean": s["n_gamma_mean"],
            "active_by_def": dict(_LAST_ACTIVE) if ci_defs else None}


def pearson(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def part_gemma(args, out: dict) -> None:
    if shutil.which("gemma") is None:
        print("gemma not on PATH: apt-get install -y gemma  (skipping part 1)")
        return
    ver = subprocess.run(["gemma", "-h"], capture_output=True, text=True).stdout.splitlines()
    ver = next((ln.strip() for ln in ver if "GEMMA" in ln), "GEMMA")
    print(f"\n== Part 1: BSLMM vs {ver}; n = {args.n_train} train + {args.n_test} test, "
          f"~{args.p} SNVs, GEMMA -w 10000 -s 20000 vs ours burn-in 10000, samples 20000, thin 10 ==")
    rows = []
    rng = np.random.default_rng(args.seed)
    # warm the numba cache outside the timing
    sg0 = simulate_gene(60, 50, np.random.default_rng(0), window=50_000)
    fit_gene(sg0.G, sg0.y, sg0.pos, sg0.tss, model="bslmm", schedule=Schedule(10, 10, 1))
    fit_gene(sg0.G, sg0.y, sg0.pos, sg0.tss, model="bsbslmm", schedule=Schedule(10, 10, 1))
    for gi in range(args.gemma_genes):
        n = args.n_train + args.n_test
        sg = simulate_gene(n, args.p, rng, n_causal=int(rng.integers(1, 6)), pve=float(rng.uniform(0.1, 0.5)),
                           window=500_000, clustered=True, polygenic_share=0.2)
        ytr = sg.y[: args.n_train]
        g = run_gemma(sg.G, sg.y, args.n_train, f"g{gi}", 10_000, 20_000, args.seed + gi)
        o = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bslmm", Schedule(10_000, 20_000, 10), args.seed + gi)
        b = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bsbslmm", Schedule(1000, 2000, 1), args.seed + gi)
        yt = sg.y[args.n_train:]
        pve_true = float(np.var(sg.g[: args.n_train]) / np.var(ytr))
        row = {"gene": gi, "p": int(sg.G.shape[1]), "pve_true": pve_true,
               "gemma_cpu": g["cpu"], "ours_cpu": o["cpu"], "bs_cpu": b["cpu"],
               "gemma_r": pearson(g["pred"], yt), "ours_r": pearson(o["pred"], yt), "bs_r": pearson(b["pred"], yt),
               "gemma_pve": [g["pve_mean"], g["pve_low"], g["pve_high"]],
               "ours_pve": [o["pve_mean"], o["pve_low"], o["pve_high"]],
               "pip_corr": pearson(g["pip"], o["pip"])}
        row["pve_in_gemma_ci"] = bool(g["pve_low"] <= o["pve_mean"] <= g["pve_high"])
        rows.append(row)
        print(f"gene {gi}: p={row['p']} GEMMA {g['cpu']:.2f}s r={row['gemma_r']:.3f} PVE {g['pve_mean']:.3f} "
              f"[{g['pve_low']:.3f},{g['pve_high']:.3f}] | ours BSLMM {o['cpu']:.2f}s r={row['ours_r']:.3f} "
              f"PVE {o['pve_mean']:.3f} [{o['pve_low']:.3f},{o['pve_high']:.3f}] | bsBSLMM(1000+2000 sweeps) "
              f"{b['cpu']:.2f}s r={row['bs_r']:.3f} | PIP corr {row['pip_corr']:.3f} | true PVE {pve_true:.3f}",
              flush=True)
    gc = np.array([r["gemma_cpu"] for r in rows])
    oc = np.array([r["ours_cpu"] for r in rows])
    bc = np.array([r["bs_cpu"] for r in rows])
    dr = np.array([r["ours_r"] - r["gemma_r"] for r in rows])
    summ = {"genes": len(rows), "gemma_cpu_mean": gc.mean(), "ours_cpu_mean": oc.mean(),
            "ratio_ours_over_gemma": float(oc.sum() / gc.sum()), "bs_cpu_mean": bc.mean(),
            "abs_delta_r_max": float(np.abs(dr).max()), "delta_r_mean": float(dr.mean()),
            "pve_in_gemma_ci": int(sum(r["pve_in_gemma_ci"] for r in rows))}
    print(f"SUMMARY part 1: CPU s/gene GEMMA {gc.mean():.2f}, ours BSLMM {oc.mean():.2f} "
          f"(ratio {summ['ratio_ours_over_gemma']:.2f}), bsBSLMM 3000 sweeps {bc.mean():.2f}; "
          f"|r_ours - r_GEMMA| max {np.abs(dr).max():.3f} (mean delta {dr.mean():+.3f}); "
          f"our PVE mean inside GEMMA's 95% interval in {summ['pve_in_gemma_ci']}/{len(rows)} genes")
    out["part1"] = {"rows": rows, "summary": summ}

    if args.default_genes:
        print("\n== Part 1b: GEMMA's default schedule (-w 100000 -s 1000000, 100,000 draws) ==")
        drows = []
        for gi in range(args.default_genes):
            n = args.n_train + args.n_test
            sg = simulate_gene(n, args.p, rng, n_causal=3, pve=0.3, window=500_000, clustered=True,
                               polygenic_share=0.2)
            g = run_gemma(sg.G, sg.y, args.n_train, f"d{gi}", 100_000, 1_000_000, args.seed + 100 + gi)
            o = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bslmm", Schedule(100_000, 1_000_000, 10),
                         args.seed + 100 + gi)
            yt = sg.y[args.n_train:]
            drows.append({"gemma_cpu": g["cpu"], "ours_cpu": o["cpu"], "gemma_r": pearson(g["pred"], yt),
                          "ours_r": pearson(o["pred"], yt)})
            print(f"gene d{gi}: GEMMA {g['cpu']:.1f}s r={drows[-1]['gemma_r']:.3f} | ours {o['cpu']:.1f}s "
                  f"r={drows[-1]['ours_r']:.3f} | ratio {o['cpu'] / g['cpu']:.2f}", flush=True)
        out["part1b"] = drows


def coalescent_gene(n: int, rng: np.random.Generator, **plant) -> SimGene:
    """Genotypes from the coalescent with recombination (msprime; human-like Ne = 10,000, mu = 1.25e-8,
    r = 1e-8 per bp per generation, 1 Mb window, n diploid individuals, SNVs with MAF >= 1%), so LD has
    the long, uneven tail of real data (many near-perfect proxies) instead of our block simulator's; LD
    blocks for placing the causal SNVs from our own ``--block-method ld`` partition, TSS at the centre."""
    import msprime

    seed = int(rng.integers(1, 2**31 - 1))
    ts = msprime.sim_ancestry(samples=n, sequence_length=1_000_000, recombination_rate=1e-8,
                              population_size=10_000, random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=1.25e-8, random_seed=seed, model=msprime.BinaryMutationModel())
    H = ts.genotype_matrix()                                    # (sites, 2n) 0/1, individual i = nodes 2i, 2i+1
    G = (H[:, 0::2] + H[:, 1::2]).T.astype(np.float64)
    pos = np.floor(ts.tables.sites.position).astype(np.int64) + 1
    af = G.mean(axis=0) / 2.0
    keep = (np.minimum(af, 1 - af) >= 0.01) & (np.diff(np.r_[0, pos]) > 0)
    G, pos = G[:, keep], pos[keep]
    starts = partition_blocks(G, pos)
    return plant_phenotype(G, pos, starts, rng, 500_000, **plant)


def part2_genes(args):
    """The simulated genes of part 2, in order (one random stream from ``--seed``); also used by
    ``duplicate_pairs.py`` to regenerate them."""
    rng = np.random.default_rng(args.seed + 1000)
    n = args.n_train + args.n_test
    for _ in range(args.bs_genes):
        plant = {"n_causal": int(rng.integers(1, 6)), "pve": float(rng.uniform(0.05, 0.4)), "clustered": True,
                 "n_causal_blocks": 2}
        if args.genotypes == "msprime":
            yield coalescent_gene(n, rng, **plant)
        else:
            yield simulate_gene(n, args.bs_p, rng, window=500_000, **plant)


def part_bs(args, out: dict) -> None:
    from scipy.stats import wilcoxon

    print(f"\n== Part 2: bsBSLMM vs BSLMM on {args.bs_genes} simulated genes (n = {args.n_train} train + "
          f"{args.n_test} test, " + ("coalescent genotypes (msprime), 1 Mb" if args.genotypes == "msprime" else
                                     f"{args.bs_p} SNVs in +-500 kb") +
          ", 1-5 causal SNVs in 2 LD blocks near the TSS) ==")
    rows, sims = [], []
    sch_bs = Schedule(args.bs_burn, args.bs_samples, args.bs_thin)
    sch_b = Schedule(10_000, 20_000, 10)
    for gi, sg in enumerate(part2_genes(args)):
        yt = sg.y[args.n_train:]
        b = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bslmm", sch_b, args.seed + gi, ci_defs=True)
        s = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bsbslmm", sch_bs, args.seed + gi)
        causal = np.zeros(sg.G.shape[1], bool)
        causal[sg.causal] = True
        row = {"r_bslmm": pearson(b["pred"], yt), "r_bsbslmm_gene": pearson(s["pred"], yt),
               "oracle": pearson(sg.g[args.n_train:], yt),
               "active_bslmm": int(b["active"].sum()), "active_causal_bslmm": int((b["active"] & causal).sum()),
               "active_bsbslmm_gene": int(s["active"].sum()),
               "active_causal_bsbslmm_gene": int((s["active"] & causal).sum()),
               "n_causal": int(causal.sum()), "p": int(causal.size), "cpu_bslmm": b["cpu"],
               "cpu_bsbslmm_gene": s["cpu"], "n_gamma_bslmm": b["n_gamma_mean"],
               "defs_bslmm": {k: [int(v.sum()), int((v & causal).sum())] for k, v in b["active_by_def"].items()}}
        rows.append(row)
        sims.append((sg, causal, b))
        print(f"gene {gi}: r BSLMM {row['r_bslmm']:.3f} bsBSLMM(per-gene prior) {row['r_bsbslmm_gene']:.3f} "
              f"oracle {row['oracle']:.3f} | active (causal) {row['active_bslmm']}({row['active_causal_bslmm']}) vs "
              f"{row['active_bsbslmm_gene']}({row['active_causal_bsbslmm_gene']}) | CPU {b['cpu']:.1f}s vs "
              f"{s['cpu']:.1f}s", flush=True)
    # empirical-Bayes TSS slope from the BSLMM (no annotation) PIPs of all genes' training fits
    eta1, se = pooled_tss_prior([b["pip"] for _, _, b in sims], [tss_feature(sg.pos, sg.tss) for sg, _, _ in sims],
                                [b["pi_mean"] for _, _, b in sims], [b["n_draws"] for _, _, b in sims])
    print(f"pooled TSS slope prior (from BSLMM PIPs of {len(sims)} genes): eta1 ~ N({eta1:.3f}, {se:.3f}^2)",
          flush=True)
    for gi, ((sg, causal, _), row) in enumerate(zip(sims, rows)):
        yt = sg.y[args.n_train:]
        s = run_ours(sg.G, sg.y, sg.pos, sg.tss, args.n_train, "bsbslmm", sch_bs, args.seed + gi, (eta1, se),
                     ci_defs=True)
        row.update({"r_bsbslmm": pearson(s["pred"], yt), "active_bsbslmm": int(s["active"].sum()),
                    "active_causal_bsbslmm": int((s["active"] & causal).sum()), "cpu_bsbslmm": s["cpu"],
                    "n_gamma_bsbslmm": s["n_gamma_mean"],
                    "defs_bsbslmm": {k: [int(v.sum()), int((v & causal).sum())] for k, v in s["active_by_def"].items()}})
        print(f"gene {gi}: r BSLMM {row['r_bslmm']:.3f} bsBSLMM(pooled prior) {row['r_bsbslmm']:.3f} | active "
              f"(causal) {row['active_bsbslmm']}({row['active_causal_bsbslmm']}) | CPU {s['cpu']:.1f}s", flush=True)
    rb = np.array([r["r_bslmm"] for r in rows])
    rs = np.array([r["r_bsbslmm"] for r in rows])
    d = rs - rb
    p_one = float(wilcoxon(rs, rb, alternative="greater").pvalue) if np.any(d != 0) else 1.0
    base = sum(r["n_causal"] for r in rows) / sum(r["p"] for r in rows)

    def enrich(tag):
        a = sum(r[f"active_{tag}"] for r in rows)
        c = sum(r[f"active_causal_{tag}"] for r in rows)
        return (c / a / base if a else float("nan")), a, c
    eb, ab, cb = enrich("bslmm")
    es, as_, cs = enrich("bsbslmm")
    eg, ag, cg = enrich("bsbslmm_gene")
    rg = np.array([r["r_bsbslmm_gene"] for r in rows])
    dg = rg - rb
    p_gene = float(wilcoxon(rg, rb, alternative="greater").pvalue) if np.any(dg != 0) else 1.0
    summ = {"tss_prior_pooled": [eta1, se], "mean_r_bsbslmm_gene": float(rg.mean()),
            "mean_delta_r_gene": float(dg.mean()), "wilcoxon_p_greater_gene": p_gene, "wins_gene": int((dg > 0).sum()),
            "enrichment_bsbslmm_gene": eg, "active_bsbslmm_gene": ag, "active_causal_bsbslmm_gene": cg,
            "cpu_bsbslmm_gene_mean": float(np.mean([r["cpu_bsbslmm_gene"] for r in rows])),"genes": len(rows), "mean_r_bslmm": float(rb.mean()), "mean_r_bsbslmm": float(rs.mean()),
            "mean_delta_r": float(d.mean()), "median_delta_r": float(np.median(d)), "wilcoxon_p_greater": p_one,
            "wins": int((d > 0).sum()), "enrichment_bslmm": eb, "enrichment_bsbslmm": es,
            "active_bslmm": ab, "active_causal_bslmm": cb, "active_bsbslmm": as_, "active_causal_bsbslmm": cs,
            "cpu_bslmm_mean": float(np.mean([r["cpu_bslmm"] for r in rows])),
            "cpu_bsbslmm_mean": float(np.mean([r["cpu_bsbslmm"] for r in rows])),
            "mean_oracle": float(np.mean([r["oracle"] for r in rows]))}
    print(f"SUMMARY part 2: mean r BSLMM {rb.mean():.4f}, bsBSLMM {rs.mean():.4f}, oracle {summ['mean_oracle']:.4f}; "
          f"mean paired delta {d.mean():+.4f} (median {np.median(d):+.4f}, bsBSLMM better in {summ['wins']}/{len(rows)}); "
          f"one-sided paired Wilcoxon p = {p_one:.3g}; active-set enrichment for causal SNVs: BSLMM {eb:.1f}x "
          f"({cb}/{ab}), bsBSLMM {es:.1f}x ({cs}/{as_}); CPU s/gene BSLMM {summ['cpu_bslmm_mean']:.2f}, "
          f"bsBSLMM {summ['cpu_bsbslmm_mean']:.2f} (pooled TSS prior N({eta1:.3f}, {se:.3f}^2))")
    print(f"  bsBSLMM with the per-gene N(0, 1) slope prior: mean r {rg.mean():.4f}, delta {dg.mean():+.4f}, "
          f"better in {summ['wins_gene']}/{len(rows)}, Wilcoxon p = {p_gene:.3g}, enrichment {eg:.1f}x ({cg}/{ag})")
    from scipy.stats import fisher_exact

    summ["by_ci_definition"] = {}
    for k in CI_DEFS:
        (ab_, cb_), (as2, cs2) = ([sum(r[f"defs_{m}"][k][i] for r in rows) for i in (0, 1)]
                                  for m in ("bslmm", "bsbslmm"))
        fp = float(fisher_exact([[cs2, as2 - cs2], [cb_, ab_ - cb_]], alternative="greater")[1])
        summ["by_ci_definition"][k] = {"bslmm": [ab_, cb_], "bsbslmm": [as2, cs2], "fisher_p_greater": fp}
        print(f"  active set ({k:7s}): BSLMM {cb_}/{ab_} causal = {cb_ / ab_ / base if ab_ else float('nan'):.1f}x, "
              f"bsBSLMM {cs2}/{as2} = {cs2 / as2 / base if as2 else float('nan'):.1f}x; one-sided Fisher p "
              f"(bsBSLMM more enriched) = {fp:.3g}")
    ngb = np.array([r["n_gamma_bslmm"] for r in rows])
    ngs = np.array([r["n_gamma_bsbslmm"] for r in rows])
    summ["n_gamma_mean_bslmm"], summ["n_gamma_mean_bsbslmm"] = float(ngb.mean()), float(ngs.mean())
    print(f"  posterior mean |gamma| per gene (true 1-5): BSLMM {ngb.mean():.1f} (median {np.median(ngb):.1f}), "
          f"bsBSLMM {ngs.mean():.1f} (median {np.median(ngs):.1f})")
    out["part2"] = {"rows": rows, "summary": summ}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gemma-genes", type=int, default=5)
    ap.add_argument("--default-genes", type=int, default=0)
    ap.add_argument("--bs-genes", type=int, default=50)
    ap.add_argument("--n-train", type=int, default=400)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--p", type=int, default=2500)
    ap.add_argument("--bs-p", type=int, default=1000)
    ap.add_argument("--bs-burn", type=int, default=1000)
    ap.add_argument("--bs-samples", type=int, default=4000)
    ap.add_argument("--bs-thin", type=int, default=5)
    ap.add_argument("--genotypes", choices=("blocks", "msprime"), default="blocks",
                    help="part 2 genotypes: our LD-block simulator (--bs-p SNVs) or the coalescent (msprime, "
                         "1 Mb, ~1,500-2,500 SNVs with MAF >= 1%%; pip install msprime)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=str(WORK / "results.json"))
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    import platform

    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"python {platform.python_version()}; date {time.strftime('%Y-%m-%d %H:%M')}")
    out: dict = {"args": vars(args)}
    if args.gemma_genes or args.default_genes:
        part_gemma(args, out)
    if args.bs_genes:
        part_bs(args, out)
    Path(args.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
