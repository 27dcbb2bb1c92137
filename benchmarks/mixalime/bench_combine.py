#!/usr/bin/env python3
"""allelekit-combine vs MixALime ``combine`` on MixALime's own demo dataset.

Usage (from the repository root, with allelekit's venv):

    .venv/bin/python benchmarks/mixalime/bench_combine.py [--models NB MCNB] [--mode combine|end-to-end]

Per model it runs, in benchmarks/.work/combine/<model>/ (reused when already there, unless --fresh):

1. MixALime 2.29.4 (env benchmarks/.envs/mixalime, made by benchmarks/mixalime/setup_env.sh):
   ``export demo``, ``create --no-snp-bad-check``, ``fit <model>``, ``test``, ``combine``, ``export all``
   (each step timed).
2. allelekit, mode ``combine`` (isolates the combine step): MixALime's raw per-observation p-values
   (``pvalues/raw/*.pvalue.tsv``) are converted to one allelekit ``pvalues`` table (sample = input file)
   and ``allelekit-combine`` is run on it with MixALime's defaults (logit, --min-cover 20, FDR 0.05).
   Mode ``end-to-end``: allelekit-fit, allelekit-test and allelekit-combine are run on the demo's
   BED-like tables (flags in ``ALLELEKIT_E2E`` below).
3. Compares per SNV (chrom, pos, ref, alt): Spearman correlation of combined -log10 p (the preferred
   allele's p, MixALime's ``comb_pval``; and separately ref and alt), Jaccard overlap of the SNVs with
   FDR < 0.05, agreement of the tested set, and the time ratio (allelekit / MixALime; combine step
   only in mode ``combine``, create+fit+test+combine vs fit+test+combine in ``end-to-end``).

Prints one line per model and writes benchmarks/.work/combine/results.json.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
ENV = ROOT / "benchmarks" / ".envs" / "mixalime"
WORK = ROOT / "benchmarks" / ".work" / "combine"
AK_BIN = Path(sys.executable).parent

# Flags for the end-to-end mode. allelekit-fit and allelekit-test read MixALime's BED-like demo tables
# directly ({scorefiles} expands to every file of the demo's scorefiles/ folder); MixALime's create step
# uses --no-snp-bad-check, which allelekit does not need.
ALLELEKIT_E2E = {
    "fit": ["allelekit-fit", "-i", "{scorefiles}", "-o", "{fit}", "--model", "{model}", "--threads", "{threads}"],
    "test": ["allelekit-test", "-i", "{scorefiles}", "--params", "{fit}", "-o", "{pvalues}",
             "--threads", "{threads}"],
}


# CPU seconds (user+sys of the waited-for process tree) of the latest step with each label. MixALime's
# fit runs its work in processes it does not wait for, so its fit CPU is not seen here: compare wall times.
CPU_TIMES: dict[str, float] = {}


def sh(cmd: list[str], cwd: Path, log: Path, label: str | None = None) -> float:
    """Run ``cmd``; return its wall seconds (CPU seconds of its process tree go to CPU_TIMES[label])."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(map(str, cmd)) + "\n")
        fh.flush()
        r = subprocess.run(list(map(str, cmd)), cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:  # this step's own CPU (the last call with this label)
        CPU_TIMES[label] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}; see {log}")
    return dt


def ensure_env() -> Path:
    mix = ENV / "bin" / "mixalime"
    if not mix.exists():
        setup = ROOT / "benchmarks" / "mixalime" / "setup_env.sh"
        if setup.exists():
            subprocess.run(["bash", str(setup)], check=True)
        else:
            subprocess.run(["python3", "-m", "venv", str(ENV)], check=True)
            subprocess.run([str(ENV / "bin" / "pip"), "install", "-q", "mixalime==2.29.4", "click"], check=True)
    return mix


def run_mixalime(model: str, d: Path, fresh: bool) -> dict:
    mix = ensure_env()
    timing_file = d / "mixalime_times.json"
    if not fresh and timing_file.exists() and (d / "out" / "pvalues" / "pvals.tsv").exists():
        return json.loads(timing_file.read_text())
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    log = d / "mixalime.log"
    env_cmd = [str(mix)]
    t = {}
    sh(env_cmd + ["export", "demo"], d, log)
    for step, args in (("create", ["create", "proj", "scorefiles", "--no-snp-bad-check"]),
                       ("fit", ["fit", "proj", model]), ("test", ["test", "proj"]), ("combine", ["combine", "proj"]),
                       ("export", ["export", "all", "proj", "out"])):
        t[step] = sh(env_cmd + args, d, log, label=f"mixalime_{step}")
        t[f"{step}_cpu"] = CPU_TIMES[f"mixalime_{step}"]
    t["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t["load_avg_end"] = os.getloadavg()
    timing_file.write_text(json.dumps(t))
    return t


def raw_to_pvalues(d: Path, model: str) -> pd.DataFrame:
    frames = []
    for f in sorted(glob.glob(str(d / "out" / "pvalues" / "raw" / "*.pvalue.tsv"))):
        t = pd.read_csv(f, sep="\t")
        t = t.rename(columns={"#chr": "chrom"})
        sample = Path(f).name[: -len(".pvalue.tsv")]
        frames.append(pd.DataFrame({
            "sample": sample, "chrom": t["chrom"].astype(str), "pos": t["start"].astype(np.int64),
            "ref": t["ref"].astype(str), "alt": t["alt"].astype(str),
            "variant_id": t["id"].astype(str).where(t["id"].notna(), None), "bad": t["bad"].astype(float),
            "ref_count": t["ref_count"].astype(np.int64), "alt_count": t["alt_count"].astype(np.int64),
            "ref_pval": t["ref_pval"].astype(float), "alt_pval": t["alt_pval"].astype(float),
            "ref_es": t["ref_es"].astype(float), "alt_es": t["alt_es"].astype(float), "model": model,
        }))
    return pd.concat(frames, ignore_index=True)


def compare(mix: pd.DataFrame, ours: pd.DataFrame, alpha: float = 0.05, pos_offset: int = 0) -> dict:
    """Join MixALime's combined table (``start`` 0-based) with ours on chrom, pos, ref, alt.

    ``pos_offset``: added to MixALime's ``start`` to get our ``pos`` (0 in mode ``combine``, where our
    input was built from MixALime's own p-value tables; 1 end to end, where allelekit read the BED-like
    demo tables and reports 1-based positions)."""
    mix = mix.rename(columns={"#chr": "chrom"})
    mix["pos"] = mix["start"] + pos_offset
    key = ["chrom", "pos", "ref", "alt"]
    m = mix.merge(ours, on=key, how="outer", indicator=True, suffixes=("_mix", "_ak"))
    both = m[m["_merge"] == "both"]
    out = {"snvs_mixalime": int(len(mix)), "snvs_allelekit": int(len(ours)), "snvs_common": int(len(both))}

    def nl(x):
        return -np.log10(np.clip(x.astype(float), 1e-300, 1))

    out["spearman_comb"] = float(stats.spearmanr(nl(both["comb_pval"]), nl(both["pval"])).statistic)
    out["spearman_ref"] = float(stats.spearmanr(nl(both["ref_comb_pval"]), nl(both["ref_pval"])).statistic)
    out["spearman_alt"] = float(stats.spearmanr(nl(both["alt_comb_pval"]), nl(both["alt_pval"])).statistic)
    out["max_rel_err_ref"] = float(np.max(np.abs(both["ref_pval"] - both["ref_comb_pval"]) /
                                          np.maximum(both["ref_comb_pval"], 1e-300)))
    sig_mix = set(map(tuple, mix.loc[(mix["ref_fdr_comb_pval"] < alpha) | (mix["alt_fdr_comb_pval"] < alpha),
                                     key].itertuples(index=False)))
    sig_ak = set(map(tuple, ours.loc[ours["call"] != "none", key].itertuples(index=False)))
    out["significant_mixalime"] = len(sig_mix)
    out["significant_allelekit"] = len(sig_ak)
    out["jaccard_fdr05"] = len(sig_mix & sig_ak) / max(1, len(sig_mix | sig_ak))
    for d in ("ref", "alt"):
        out[f"{d}_mixalime"] = int((mix[f"{d}_fdr_comb_pval"] < alpha).sum())
        out[f"{d}_allelekit"] = int((ours[f"{d}_fdr"] < alpha).sum())
    return out


def run_allelekit_combine(d: Path, model: str) -> tuple[pd.DataFrame, float]:
    from allelekit.schemas import PVALUES, write_table

    pv = raw_to_pvalues(d, model)
    pv_path = d / "ak_pvalues.parquet"
    write_table(pv, pv_path, PVALUES, tool="bench_combine (from MixALime raw p-values)",
                params={"source": "mixalime export all: pvalues/raw"}, inputs=[str(d / "out" / "pvalues" / "raw")])
    out = d / "ak_combined.parquet"
    cmd = [str(AK_BIN / "allelekit-combine"), "-i", str(pv_path), "-o", str(out), "-q"]
    t = sh(cmd, d, d / "allelekit.log")
    return pd.read_parquet(out), t


def run_allelekit_e2e(d: Path, model: str, threads: int) -> tuple[pd.DataFrame, float]:
    files = sorted(str(p) for p in (d / "scorefiles").iterdir())
    paths = {"fit": d / "ak_fit.parquet", "pvalues": d / "ak_pvalues_e2e.parquet", "model": model,
             "threads": threads}
    t = {}
    for step in ("fit", "test"):
        cmd = [str(AK_BIN / ALLELEKIT_E2E[step][0])]
        for a in ALLELEKIT_E2E[step][1:]:
            cmd += files if a == "{scorefiles}" else [a.format(**paths)]
        t[step] = sh(cmd, d, d / "allelekit.log", label=f"allelekit_{step}")
    out = d / "ak_combined_e2e.parquet"
    t["combine"] = sh([str(AK_BIN / "allelekit-combine"), "-i", str(paths["pvalues"]), "-o", str(out), "-q"], d,
                      d / "allelekit.log", label="allelekit_combine")
    return pd.read_parquet(out), t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["NB", "MCNB"], choices=["NB", "MCNB", "BetaNB"])
    ap.add_argument("--mode", choices=("combine", "end-to-end"), default="combine")
    ap.add_argument("--fresh", action="store_true", help="Rerun MixALime even when its results exist.")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="--threads of allelekit-fit/-test.")
    a = ap.parse_args()
    results = {}
    for model in a.models:
        d = WORK / model
        tm = run_mixalime(model, d, a.fresh)
        mix = pd.read_csv(d / "out" / "pvalues" / "pvals.tsv", sep="\t")
        if a.mode == "combine":
            ours, t_ak = run_allelekit_combine(d, model)
            t_mix = tm["combine"]
        else:
            ours, steps = run_allelekit_e2e(d, model, a.threads)
            t_ak = sum(steps.values())
            t_mix = sum(tm[k] or 0.0 for k in ("create", "fit", "test", "combine"))
        r = compare(mix, ours, pos_offset=0 if a.mode == "combine" else 1)
        r.update({"mode": a.mode, "time_allelekit_s": t_ak, "time_mixalime_s": t_mix,
                  "time_ratio": t_ak / t_mix, "mixalime_step_times_s": tm})
        if a.mode == "end-to-end":
            # the fit/test benchmark of the same run (allelekit-fit + allelekit-test against MixALime's
            # create + fit + test, per-observation p-values): issue #4's numbers
            from bench_fit_test import compare_pvalues

            po = compare_pvalues(d / "ak_pvalues_e2e.parquet", d)
            mix_ft = sum(tm[k] for k in ("create", "fit", "test"))
            ak_ft = steps["fit"] + steps["test"]
            po.update({"allelekit_step_times_s": steps,
                       "allelekit_step_cpu_s": {k: CPU_TIMES.get(f"allelekit_{k}") for k in steps},
                       "mixalime_create_fit_test_s": mix_ft, "allelekit_fit_test_s": ak_ft,
                       "speedup_fit_test_wall": mix_ft / ak_ft,
                       "speedup_end_to_end_wall": t_mix / t_ak})
            r["fit_test"] = po
            print(f"{model} fit+test: MixALime create+fit+test {mix_ft:.0f} s, allelekit fit+test {ak_ft:.0f} s "
                  f"-> {mix_ft / ak_ft:.1f}x faster; per-observation Spearman ref {po['spearman_ref_pval']:.4f} "
                  f"alt {po['spearman_alt_pval']:.4f}; end to end (+combine) {t_mix / t_ak:.1f}x", flush=True)
        results[model] = r
        print(f"{model} [{a.mode}]: spearman(-log10 comb p) = {r['spearman_comb']:.6f} "
              f"(ref {r['spearman_ref']:.6f}, alt {r['spearman_alt']:.6f}); "
              f"jaccard(FDR<0.05) = {r['jaccard_fdr05']:.4f} "
              f"({r['significant_allelekit']} allelekit vs {r['significant_mixalime']} MixALime; "
              f"ref {r['ref_allelekit']}/{r['ref_mixalime']}, alt {r['alt_allelekit']}/{r['alt_mixalime']}); "
              f"SNVs tested {r['snvs_allelekit']}/{r['snvs_mixalime']} (common {r['snvs_common']}); "
              f"time allelekit/MixALime = {t_ak:.2f}s/{t_mix:.2f}s = {r['time_ratio']:.3f}", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    res_file = WORK / f"results_{a.mode}.json"
    merged = json.loads(res_file.read_text()) if res_file.exists() else {}
    merged.update(results)  # keep other models' earlier results
    res_file.write_text(json.dumps(merged, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
