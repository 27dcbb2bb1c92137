#!/usr/bin/env python3
"""allelekit-count vs bcftools mpileup (-a AD -T sites) vs WASP2's counter, side by side.

    .venv/bin/python benchmarks/count/run.py              # 1M reads / 10k SNVs and 10M reads / 60k SNVs
    .venv/bin/python benchmarks/count/run.py --sizes 1m   # the small one only

Data: synthetic BAMs made by benchmarks/count/make_data.py under benchmarks/.work/ (made when
missing).  WASP2 is installed into benchmarks/.envs/wasp2 (`pip install wasp2 'polars<2'`) when
missing.  Every command is run under /usr/bin/time for wall, user+sys CPU and peak RSS.  Prints a
table, the CPU-time ratios against bcftools, records per CPU-second, the 2-thread speed-up, and
where the counts of the three tools differ; writes benchmarks/.work/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / ".work"
ENV = ROOT / "benchmarks" / ".envs" / "wasp2"
PY = ROOT / ".venv" / "bin" / "python"
COUNT = ROOT / ".venv" / "bin" / "allelekit-count"
SIZES = {"1m": (1_000_000, 10_000, 10.0), "10m": (10_000_000, 60_000, 20.0)}


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


REPEAT = 3  # runs per timed command (--repeat); the run with the median CPU time is reported


def timed(cmd: list[str], label: str, log: Path, repeat: int | None = None) -> dict:
    """Run under /usr/bin/time ``repeat`` times; return the median-CPU run's wall, cpu (user+sys, children
    included) and peak RSS (MB), plus every run's CPU time."""
    tf = log.with_suffix(".time")
    runs = []
    for i in range(repeat or REPEAT):
        with open(log, "w") as lf:
            subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(tf), *cmd], stdout=lf, stderr=lf,
                           check=True)
        wall, user, sys_, rss = tf.read_text().split()[-4:]
        runs.append({"wall_s": float(wall), "cpu_s": float(user) + float(sys_), "peak_rss_mb": int(rss) / 1024,
                     "log": log.read_text()})
    runs.sort(key=lambda x: x["cpu_s"])
    med = runs[len(runs) // 2]
    log.write_text(med.pop("log"))
    r = {"label": label, **med, "cpu_s_all": [x["cpu_s"] for x in runs]}
    print(f"  {label:<44s} wall {r['wall_s']:7.2f} s  CPU {r['cpu_s']:7.2f} s  peak RSS {r['peak_rss_mb']:7.0f} MB"
          f"  (median of {len(runs)}; CPU {', '.join(f'{x:.2f}' for x in r['cpu_s_all'])})", flush=True)
    return r


def ensure_data(name: str) -> Path:
    reads, snvs, depth = SIZES[name]
    prefix = WORK / f"b{name}"
    if not Path(f"{prefix}.bam.bai").exists():
        print(f"making {prefix}.bam ({reads} reads, {snvs} SNVs) ...", flush=True)
        sh([str(PY), str(ROOT / "benchmarks/count/make_data.py"), "--reads", str(reads), "--snvs", str(snvs),
            "--depth", str(depth), "--out", str(prefix)])
    return prefix


def ensure_wasp2() -> Path | None:
    exe = ENV / "bin" / "wasp2-count"
    if not exe.exists():
        print("installing WASP2 into benchmarks/.envs/wasp2 ...", flush=True)
        try:
            sh([sys.executable, "-m", "venv", str(ENV)])
            sh([str(ENV / "bin" / "pip"), "install", "-q", "wasp2", "polars<2"])
        except subprocess.CalledProcessError:
            print("  WASP2 could not be installed; skipped")
            return None
    return exe


def n_records(bam: Path) -> int:
    out = subprocess.run(["samtools", "idxstats", str(bam)], capture_output=True, text=True, check=True).stdout
    return sum(int(f.split("\t")[2]) + int(f.split("\t")[3]) for f in out.strip().split("\n"))


def parse_log(r: dict, log: Path) -> None:
    """Counting-only wall and CPU from allelekit-count's log line 'read N BAM records ... in X s (Y s CPU ...'."""
    for ln in log.read_text().splitlines():
        if "BAM records over the SNVs in" in ln:
            r["count_wall_s"] = float(ln.split(" SNVs in ")[1].split(" s")[0])
            r["count_cpu_s"] = float(ln.split("(")[1].split(" s CPU")[0])
        if "worker processes:" in ln:
            r["workers_cpu_s"] = float(ln.split("processes: ")[1].split(" s in all")[0])
            r["busiest_worker_cpu_s"] = float(ln.split("in all, ")[1].split(" s in the busiest")[0])


def bcftools_ad(vcf_out: Path) -> pd.DataFrame:
    q = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t[%AD]\n", str(vcf_out)], capture_output=True,
                       text=True, check=True).stdout
    rows = [ln.split("\t") for ln in q.strip().split("\n") if ln]
    ad = [r[2].split(",") for r in rows]
    return pd.DataFrame({"chrom": [r[0] for r in rows], "pos": [int(r[1]) for r in rows],
                         "bcf_ref": [int(a[0]) for a in ad], "bcf_alt": [int(a[1]) if len(a) > 1 else 0 for a in ad]})


def run_size(name: str, wasp: Path | None, threads2: bool) -> dict:
    prefix = ensure_data(name)
    bam, vcf, fa, sites = (Path(f"{prefix}.{x}") for x in ("bam", "vcf.gz", "fa", "sites.tsv.gz"))
    nrec = n_records(bam)
    print(f"\n== {name}: {bam.name}, {nrec} records, {SIZES[name][1]} SNVs ==", flush=True)
    res = {"records": nrec, "snvs": SIZES[name][1], "runs": []}
    out = WORK / f"out_{name}"
    out.mkdir(exist_ok=True)
    # warm the numba cache and the page cache
    subprocess.run([str(COUNT), "--bam", str(bam), "--vcf", str(vcf), "-o", str(out / "warm.parquet"), "-q"],
                   check=True)
    ours = timed([str(COUNT), "--bam", str(bam), "--vcf", str(vcf), "-o", str(out / "ak1.parquet")],
                 "allelekit-count --threads 1", out / "ak1.log")
    res["runs"].append(ours)
    parse_log(ours, out / "ak1.log")
    if threads2:
        r2 = timed([str(COUNT), "--bam", str(bam), "--vcf", str(vcf), "-o", str(out / "ak2.parquet"), "--threads", "2"],
                   "allelekit-count --threads 2", out / "ak2.log")
        parse_log(r2, out / "ak2.log")
        res["runs"].append(r2)
    bcf = timed(["bcftools", "mpileup", "-a", "AD", "-T", str(sites), "-f", str(fa), "-B", "--max-depth", "100000000",
                 "-q", "1", "-Q", "20", "-Ob", "-o", str(out / "bcf_noBAQ.bcf"), str(bam)],
                "bcftools mpileup -a AD -T sites -B (no BAQ)", out / "bcf1.log")
    res["runs"].append(bcf)
    if name == "1m":
        res["runs"].append(timed(["bcftools", "mpileup", "-a", "AD", "-T", str(sites), "-f", str(fa), "--max-depth",
                                  "100000000", "-q", "1", "-Q", "20", "-Ob", "-o", str(out / "bcf_BAQ.bcf"), str(bam)],
                                 "bcftools mpileup -a AD -T sites (BAQ on)", out / "bcf2.log"))
    ak = pd.read_parquet(out / "ak1.parquet")
    cmp = ak.merge(bcftools_ad(out / "bcf_noBAQ.bcf"), on=["chrom", "pos"], how="left")
    cmp[["bcf_ref", "bcf_alt"]] = cmp[["bcf_ref", "bcf_alt"]].fillna(0)
    res["diff_vs_bcftools"] = {
        "snvs_equal": int(((cmp.ref_count == cmp.bcf_ref) & (cmp.alt_count == cmp.bcf_alt)).sum()),
        "sum_ref_alt_allelekit": int(cmp.ref_count.sum() + cmp.alt_count.sum()),
        "sum_ref_alt_bcftools": int(cmp.bcf_ref.sum() + cmp.bcf_alt.sum()),
    }
    if wasp is not None:
        # WASP2 needs secondaries removed first (it panics on SEQ '*'); time that step too
        nosec = out / "nosec.bam"
        if Path(f"{nosec}.bai").exists() and (out / "nosec.time").exists():  # made by an earlier run
            wall, user, sys_, rss = (out / "nosec.time").read_text().split()[-4:]
            pre = {"cpu_s": float(user) + float(sys_), "wall_s": float(wall)}
            print(f"  samtools view -F 0x100 (for WASP2): reused, CPU {pre['cpu_s']:.2f} s when made")
        else:
            pre = timed(["samtools", "view", "-b", "-F", "0x100", "-o", str(nosec), str(bam)],
                        "samtools view -F 0x100 (for WASP2)", out / "nosec.log", repeat=1)
            sh(["samtools", "index", str(nosec)])
        try:
            w = timed([str(wasp), "count-variants", str(nosec), str(vcf), "-s", "BENCH", "-o", str(out / "wasp2.tsv")],
                      "WASP2 wasp2-count count-variants", out / "wasp2.log", repeat=1)
            w["preprocess_cpu_s"] = pre["cpu_s"]
            res["runs"].append(w)
            # WASP2 applies no base-quality, MAPQ or duplicate filter: compare with allelekit run the same way
            sh([str(COUNT), "--bam", str(bam), "--vcf", str(vcf), "-o", str(out / "ak_relaxed.parquet"), "-q",
                "--min-baseq", "0", "--min-mapq", "0", "--include-duplicates"])
            res["diff_vs_wasp2"] = wasp_diff(ak, out / "wasp2.tsv")
            res["diff_vs_wasp2_relaxed"] = wasp_diff(pd.read_parquet(out / "ak_relaxed.parquet"), out / "wasp2.tsv")
        except subprocess.CalledProcessError:
            print("  WASP2 failed; see", out / "wasp2.log")
            res["wasp2_error"] = (out / "wasp2.log").read_text()[-2000:]
    # summary
    print(f"\n  records per CPU-second: allelekit {nrec / ours['cpu_s']:,.0f} (whole process), "
          f"{nrec / ours.get('count_cpu_s', ours['cpu_s']):,.0f} (counting only); bcftools -B {nrec / bcf['cpu_s']:,.0f}")
    print(f"  CPU-time ratio allelekit/bcftools: {ours['cpu_s'] / bcf['cpu_s']:.2f} (whole process), "
          f"{ours.get('count_cpu_s', ours['cpu_s']) / bcf['cpu_s']:.2f} (counting only)")
    if threads2:
        print(f"  --threads 2 speed-up (wall): {ours['wall_s'] / r2['wall_s']:.2f}x whole process, "
              f"{ours.get('count_wall_s', 0) / max(r2.get('count_wall_s', 1e-9), 1e-9):.2f}x counting step")
        if "busiest_worker_cpu_s" in r2:
            est = ours["count_cpu_s"] / max(r2["busiest_worker_cpu_s"], 1e-9)
            print(f"  --threads 2 counting step, CPU-based: 1 thread {ours['count_cpu_s']:.2f} s; 2 workers "
                  f"{r2['workers_cpu_s']:.2f} s in all, busiest {r2['busiest_worker_cpu_s']:.2f} s -> "
                  f"{est:.2f}x expected on an idle machine")
            r2["speedup_estimate_idle"] = est
    print(f"  vs bcftools AD: {res['diff_vs_bcftools']}")
    if "diff_vs_wasp2" in res:
        print(f"  vs WASP2 (allelekit defaults): {res['diff_vs_wasp2']}")
        print(f"  vs WASP2 (allelekit --min-baseq 0 --min-mapq 0 --include-duplicates): {res['diff_vs_wasp2_relaxed']}")
    return res


def wasp_diff(ak: pd.DataFrame, path: Path) -> dict:
    w = pd.read_csv(path, sep="\t")
    cols = {c.lower(): c for c in w.columns}
    ch = cols.get("chrom") or cols.get("chr") or list(w.columns)[0]
    pc = cols.get("pos") or cols.get("pos1") or cols.get("position")
    rc = cols.get("ref_count")
    ac = cols.get("alt_count")
    w = w.rename(columns={ch: "chrom", pc: "pos", rc: "w_ref", ac: "w_alt"})
    if "pos0" in cols and pc is None:
        w["pos"] = w[cols["pos0"]] + 1
    m = ak.merge(w[["chrom", "pos", "w_ref", "w_alt"]], on=["chrom", "pos"], how="left")
    m[["w_ref", "w_alt"]] = m[["w_ref", "w_alt"]].fillna(0)
    eq = (m.ref_count == m.w_ref) & (m.alt_count == m.w_alt)
    lower = (m.w_ref + m.w_alt) < (m.ref_count + m.alt_count)
    # SNVs with another SNV within 150 bp (a read pair can cover both) vs isolated ones
    near = np.zeros(len(m), bool)
    for c, g in m.groupby("chrom"):
        p = np.sort(g["pos"].to_numpy())
        d = np.minimum(np.diff(p, prepend=-10**9), np.diff(p, append=10**12)[:len(p)] if len(p) else p)
        near_c = dict(zip(p, d <= 150))
        near[g.index] = [near_c[x] for x in g["pos"]]
    tot_ak = (m.ref_count + m.alt_count).to_numpy()
    tot_w = (m.w_ref + m.w_alt).to_numpy()

    def ratio(mask):
        return round(float(tot_w[mask].sum() / max(tot_ak[mask].sum(), 1)), 3)

    return {"snvs": len(m), "snvs_equal": int(eq.sum()), "wasp2_lower": int(lower.sum()),
            "wasp2_over_allelekit_isolated": ratio(~near), "wasp2_over_allelekit_near": ratio(near),
            "n_near": int(near.sum()),
            "wasp2_higher": int(((m.w_ref + m.w_alt) > (m.ref_count + m.alt_count)).sum()),
            "sum_allelekit": int(m.ref_count.sum() + m.alt_count.sum()), "sum_wasp2": int(m.w_ref.sum() + m.w_alt.sum()),
            "wasp2_columns": list(w.columns)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1m,10m")
    ap.add_argument("--no-wasp2", action="store_true")
    ap.add_argument("--no-threads2", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per allelekit/bcftools command (median CPU reported)")
    a = ap.parse_args()
    global REPEAT
    REPEAT = a.repeat
    WORK.mkdir(parents=True, exist_ok=True)
    wasp = None if a.no_wasp2 else ensure_wasp2()
    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "load_avg_start": os.getloadavg(),
            "bcftools": subprocess.run(["bcftools", "--version"], capture_output=True, text=True).stdout.split("\n")[0]}
    results = {"info": info}
    for s in a.sizes.split(","):
        results[s] = run_size(s, wasp, not a.no_threads2)
    if "1m" in results and "10m" in results:
        # steady-state throughput: extra CPU per extra record between the two sizes (start-up cancels out)
        def cpu(res, label):
            return next(r["cpu_s"] for r in res["runs"] if r["label"] == label)
        d_rec = results["10m"]["records"] - results["1m"]["records"]
        ours = (cpu(results["10m"], "allelekit-count --threads 1") - cpu(results["1m"], "allelekit-count --threads 1"))
        bcf_l = "bcftools mpileup -a AD -T sites -B (no BAQ)"
        theirs = cpu(results["10m"], bcf_l) - cpu(results["1m"], bcf_l)
        results["marginal"] = {"allelekit_records_per_cpu_s": d_rec / ours, "bcftools_records_per_cpu_s": d_rec / theirs,
                               "cpu_ratio": ours / theirs,
                               "note": "1M->10M difference; SNVs also grow 10k->60k, so per-SNV work is included"}
        print(f"\nmarginal throughput 1M->10M (start-up cancels): allelekit {d_rec / ours:,.0f} records/CPU-s, "
              f"bcftools {d_rec / theirs:,.0f}; CPU ratio {ours / theirs:.2f}")
    info["load_avg_end"] = os.getloadavg()
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    print("\nwrote", WORK / "results.json", "; load average", info["load_avg_start"], "->", info["load_avg_end"])


if __name__ == "__main__":
    main()
