#!/usr/bin/env python
"""Benchmark allelekit-fit + allelekit-test against MixALime (create + fit + test) on MixALime's demo.

    .venv/bin/python benchmarks/mixalime/bench_fit_test.py --models NB [BetaNB MCNB] [--reuse DIR]

* Sets up MixALime in benchmarks/.envs/mixalime (setup_env.sh), exports its demo (66 BED-like
  files, ~310k observations) into benchmarks/.work/fit_test/<model>/, runs
  ``mixalime create --no-snp-bad-check``, ``fit <model>``, ``test`` and ``export pvalues``, timing
  each step (wall clock and CPU time of the process tree).
* Runs ``allelekit-fit -i scorefiles/* --model <model>`` and ``allelekit-test`` on the same files.
* Joins the per-observation p-values (sample, chrom, pos, alt) and prints, per model: wall and CPU
  time of both tools, their ratios, Spearman of ref and alt p-values and the largest |log10 p|
  difference.  ``--reuse DIR`` takes an existing MixALime project folder with ``times.json`` and
  exported raw p-values instead of running MixALime again (its run takes ~40 min per model here).
  ``--ours-only SCOREFILES`` times allelekit alone on already exported demo files.
"""
from __future__ import annotations

import argparse
import glob
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ENV = ROOT / "benchmarks" / ".envs" / "mixalime"
WORK = ROOT / "benchmarks" / ".work" / "fit_test"
AK = ROOT / ".venv" / "bin"


def timed(cmd, cwd: Path, log: Path) -> tuple[float, float]:
    """Run cmd; return (wall seconds, CPU seconds of the child process tree)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "a") as fh:
        fh.write("$ " + " ".join(map(str, cmd)) + "\n")
        fh.flush()
        subprocess.run(list(map(str, cmd)), cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, check=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def run_mixalime(model: str, d: Path) -> dict:
    subprocess.run(["bash", str(HERE / "setup_env.sh")], check=True)
    mix = ENV / "bin" / "mixalime"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    log = d / "mixalime.log"
    subprocess.run([str(mix), "export", "demo"], cwd=d, check=True, stdout=subprocess.DEVNULL)
    t = {}
    for step, args in (("create", ["create", "proj", "scorefiles", "--no-snp-bad-check"]),
                       ("fit", ["fit", "proj", model]), ("test", ["test", "proj"])):
        t[step] = timed([mix] + args, d, log)
    timed([mix, "export", "pvalues", "proj", "out"], d, log)
    (d / "times.json").write_text(json.dumps(t))
    return t


def mixalime_raw(d: Path) -> pd.DataFrame:
    frames = []
    for f in sorted(glob.glob(str(d / "out" / "pvalues" / "raw" / "*.pvalue.tsv"))):
        t = pd.read_csv(f, sep="\t").rename(columns={"#chr": "chrom"})
        t["sample"] = Path(f).name[: -len(".pvalue.tsv")].removesuffix(".mapped")
        t["pos"] = t["start"] + 1
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def run_allelekit(model: str, d: Path, threads: int) -> dict:
    files = sorted(glob.glob(str(d / "scorefiles" / "*")))
    log = d / "allelekit.log"
    t = {}
    t["fit"] = timed([AK / "allelekit-fit", "-i", *files, "--model", model, "-o", d / "ak_fit.parquet",
                      "--threads", threads], d, log)
    t["test"] = timed([AK / "allelekit-test", "-i", *files, "--params", d / "ak_fit.parquet",
                       "-o", d / "ak_pvalues.parquet", "--threads", threads], d, log)
    return t


def compare(d: Path) -> dict:
    return compare_pvalues(d / "ak_pvalues.parquet", d)


def compare_pvalues(ours_path: Path, d: Path) -> dict:
    """Per-observation ref/alt p-values of allelekit-test (``ours_path``) against MixALime's raw export
    under ``d/out/pvalues/raw``: Spearman and the largest |log10 p| difference."""
    ours = pd.read_parquet(ours_path)
    mix = mixalime_raw(d)
    j = ours.merge(mix, on=["sample", "chrom", "pos", "alt"], suffixes=("", "_m"))
    out = {"n_ours": len(ours), "n_mixalime": len(mix), "n_joined": len(j)}
    for c in ("ref_pval", "alt_pval"):
        out[f"spearman_{c}"] = float(spearmanr(j[c], j[c + "_m"]).statistic)
        out[f"max_abs_dlog10_{c}"] = float(np.max(np.abs(np.log10(j[c]) - np.log10(j[c + "_m"]))))
    both = np.concatenate([j["ref_pval"], j["alt_pval"]])
    both_m = np.concatenate([j["ref_pval_m"], j["alt_pval_m"]])
    out["spearman_pooled"] = float(spearmanr(both, both_m).statistic)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["NB"], choices=["NB", "BetaNB", "MCNB"])
    ap.add_argument("--reuse", metavar="DIR", help="MixALime project folder (with times.json and out/pvalues/raw) "
                    "to reuse; {model} in the path is replaced by the model name")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ours-only", metavar="SCOREFILES",
                    help="time allelekit fit + test only (no MixALime run, no comparison) on the MixALime-style "
                         "files in this folder (e.g. the demo exported by an earlier run)")
    a = ap.parse_args()
    results = {}
    if a.ours_only:
        src = Path(a.ours_only).resolve()
        for model in a.models:
            d = WORK / f"{model}_ours"
            d.mkdir(parents=True, exist_ok=True)
            if not (d / "scorefiles").exists():
                (d / "scorefiles").symlink_to(src, target_is_directory=True)
            ta = run_allelekit(model, d, a.threads)
            n = len(pd.read_parquet(d / "ak_pvalues.parquet"))
            results[model] = dict(model=model, allelekit_steps=ta, allelekit_wall_s=sum(v[0] for v in ta.values()),
                                  allelekit_cpu_s=sum(v[1] for v in ta.values()), n_ours=n)
            print(f"{model} (allelekit only): fit {ta['fit'][0]:.0f} s wall / {ta['fit'][1]:.0f} s CPU, "
                  f"test {ta['test'][0]:.0f} s wall / {ta['test'][1]:.0f} s CPU; {n} observations", flush=True)
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / "results_ours_only.json").write_text(json.dumps(results, indent=2))
        return 0
    for model in a.models:
        if a.reuse:
            d = Path(a.reuse.format(model=model)).resolve()
            tm = json.loads((d / "times.json").read_text())
        else:
            d = WORK / model
            tm = run_mixalime(model, d)
        ta = run_allelekit(model, d, a.threads)
        r = compare(d)
        mix_wall = sum(v[0] for v in tm.values())
        mix_cpu = sum(v[1] for v in tm.values() if v[1] is not None)
        ak_wall = sum(v[0] for v in ta.values())
        ak_cpu = sum(v[1] for v in ta.values())
        r.update(model=model, mixalime_steps=tm, allelekit_steps=ta, mixalime_wall_s=mix_wall,
                 allelekit_wall_s=ak_wall, speedup_wall=mix_wall / ak_wall,
                 mixalime_cpu_s=mix_cpu or None, allelekit_cpu_s=ak_cpu,
                 speedup_cpu=(mix_cpu / ak_cpu) if mix_cpu else None)
        results[model] = r
        print(f"{model}: MixALime create+fit+test {mix_wall:.0f} s wall, allelekit fit+test {ak_wall:.0f} s wall "
              f"-> {r['speedup_wall']:.1f}x; CPU {mix_cpu:.0f} s vs {ak_cpu:.0f} s"
              + (f" -> {r['speedup_cpu']:.1f}x" if r["speedup_cpu"] else "")
              + f"; Spearman ref {r['spearman_ref_pval']:.4f} alt {r['spearman_alt_pval']:.4f} "
              f"(max |dlog10 p| {max(r['max_abs_dlog10_ref_pval'], r['max_abs_dlog10_alt_pval']):.2g}); "
              f"{r['n_joined']} of {r['n_ours']} observations joined", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
