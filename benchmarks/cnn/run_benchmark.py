#!/usr/bin/env python3
"""CNN benchmark on the synthetic F1-hybrid data: paired (DeepAllele), direct-ratio, two-genome and
reference-only models on the same data and budget, several seeds, several shared-noise levels, judged
against the oracle; plus training/inference speed of the small and ATAC presets.

    # CPU (what RESULTS.md reports for this machine)
    .venv/bin/python benchmarks/cnn/run_benchmark.py --n-loci 2000 --seq-len 100 --epochs 4 \\
        --sigmas 0.4,1.5 --seeds 1,2,3 --threads 1 --out benchmarks/cnn/results_cpu.tsv
    # GPU (paper-like: 20k loci x 330 bp, early stopping)
    python benchmarks/cnn/run_benchmark.py --n-loci 20000 --seq-len 330 --epochs 30 --patience 4 \\
        --sigmas 0.4,1.0,2.0 --seeds 1,2,3 --device cuda --lr 1e-3 --batch-size 64 --speed \\
        --out $OUT/results_gpu.tsv

There is no peer tool to run side by side: DeepAllele's code is GPL-3.0 (we do not vendor it) and its
data are not reachable here; the reference is the oracle (the true activity function).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time

import pandas as pd

def md(df: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    """A markdown table without the optional tabulate dependency."""
    cells = [[fmt.format(v) if isinstance(v, float) else str(v) for v in r] for r in df.itertuples(index=False)]
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns)
    return head + "\n" + "\n".join("| " + " | ".join(c) + " |" for c in cells)


ARCHS = {"paired": ("paired", None), "direct": ("direct", None), "two-genome": ("single", "both"),
         "ref-only": ("single", "a")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-loci", type=int, default=2000)
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--preset", default="small")
    p.add_argument("--sigmas", default="0.4,1.5", help="shared-noise levels (sd of the locus effect)")
    p.add_argument("--seeds", default="1,2,3", help="model seeds (the data seed is fixed per noise level)")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--speed", action="store_true", help="also measure train/inference speed of small and atac")
    p.add_argument("--speed-only", action="store_true")
    p.add_argument("--out", default="benchmarks/cnn/results.tsv")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")

    import torch

    from allelekit.cnn.models import make_config
    from allelekit.cnn.synthetic import make_f1, oracle_summary
    from allelekit.cnn.train import measure_speed, train_model
    from allelekit.cnn.data import pearson

    torch.set_num_threads(args.threads)
    if args.speed or args.speed_only:
        dev = "cuda" if (args.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu"
        rows = []
        for preset in ("small", "atac"):
            for arch, (a, ta) in (("paired", ARCHS["paired"]), ("two-genome", ARCHS["two-genome"])):
                cfg = make_config(a, preset, train_alleles=ta)
                r = measure_speed(cfg, batch_size=32, steps=3 if (dev == "cpu" and preset == "atac") else 10,
                                  device=dev, threads=args.threads)
                r["label"] = arch
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
        sp = pd.DataFrame(rows)
        sp.to_csv(args.out.replace(".tsv", "") + ".speed.tsv", sep="\t", index=False)
        print(md(sp[["preset", "label", "device", "threads", "params", "train_step_s", "train_step_cpu_s",
                     "train_examples_per_s", "infer_examples_per_s"]], "{:.3g}"))
        if args.speed_only:
            return 0

    rows = []
    for si, sigma in enumerate(float(s) for s in args.sigmas.split(",")):
        t0 = time.time()
        ds, truth = make_f1(args.n_loci, args.seq_len, seed=100 + si, sigma_shared=sigma)
        test = ds.chrom.isin(["chr17", "chr18"]).to_numpy()
        orc = oracle_summary(ds, truth, ["chr17", "chr18"])
        print(f"sigma_shared {sigma}: data {time.time() - t0:.0f}s, test oracle {json.dumps(orc)}", file=sys.stderr,
              flush=True)
        for name in args.archs.split(","):
            arch, ta = ARCHS[name]
            for seed in (int(s) for s in args.seeds.split(",")):
                t0 = time.time()
                cfg = make_config(arch, args.preset, train_alleles=ta)
                res = train_model(ds, cfg, val_chroms=["chr16"], test_chroms=["chr17", "chr18"], epochs=args.epochs,
                                  patience=args.patience, batch_size=args.batch_size, lr=args.lr, device=args.device,
                                  seed=seed, threads=args.threads)
                m = res.metrics
                fin = m[m.final & (m.split == "test")].iloc[0]
                pr = res.predictions[test]
                row = dict(sigma_shared=sigma, arch=name, seed=seed, best_epoch=res.best_epoch,
                           epochs_run=int(m.epoch.max()), device=res.device,
                           count_r=fin.count_pearson, ratio_r=fin.ratio_pearson, ratio_rho=fin.ratio_spearman,
                           ratio_r_vs_truth=pearson(pr.pred_log_ratio, truth.true_log_ratio[test]),
                           oracle_count_r=orc["count_pearson"], oracle_ratio_r=orc["ratio_pearson"],
                           seconds=time.time() - t0)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                pd.DataFrame(rows).to_csv(args.out, sep="\t", index=False)
    df = pd.DataFrame(rows)
    summ = df.groupby(["sigma_shared", "arch"], sort=False).agg(
        n=("seed", "size"), count_r=("count_r", "mean"), count_sd=("count_r", "std"), ratio_r=("ratio_r", "mean"),
        ratio_sd=("ratio_r", "std"), ratio_vs_truth=("ratio_r_vs_truth", "mean"),
        oracle_count=("oracle_count_r", "first"), oracle_ratio=("oracle_ratio_r", "first"),
        s_per_run=("seconds", "mean")).reset_index()
    print(md(summ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
