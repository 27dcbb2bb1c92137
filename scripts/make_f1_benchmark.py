#!/usr/bin/env python3
"""Write a synthetic F1-hybrid CNN benchmark: a cnn_dataset Parquet plus its truth table.

    python scripts/make_f1_benchmark.py -o f1.parquet --truth f1.truth.parquet --n-loci 20000 \\
        --seq-len 330 --sigma-shared 1.0 --seed 1

The generative model is described in ``allelekit.cnn.synthetic``; the oracle Pearson r (truth vs
noisy observation, all loci and the default test chromosomes chr17/chr18) goes to stderr and into
the Parquet metadata (``allelekit.oracle``).
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-o", "--output", required=True, help="cnn_dataset Parquet")
    p.add_argument("--truth", help="truth Parquet (per-locus causal variant, motifs, noise-free values)")
    p.add_argument("--n-loci", type=int, default=20000)
    p.add_argument("--seq-len", type=int, default=330)
    p.add_argument("--sigma-shared", type=float, default=1.0, help="sd of the locus effect shared by both alleles")
    p.add_argument("--theta", type=float, default=50.0, help="negative-binomial size")
    p.add_argument("--depth", type=float, default=10.0, help="mean count at zero activity")
    p.add_argument("--motifs", default="MA0080.5,MA0099.3,MA0139.1", help="JASPAR2020 matrix IDs")
    p.add_argument("--weights", help="comma-separated activity weight per motif (default 1.0,0.8,0.6)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from allelekit.cnn.synthetic import make_f1, oracle_summary
    from allelekit.errors import AllelekitError
    from allelekit.schemas import write_table

    try:
        weights = [float(w) for w in args.weights.split(",")] if args.weights else None
        ds, truth = make_f1(args.n_loci, args.seq_len, args.seed, sigma_shared=args.sigma_shared, theta=args.theta,
                            depth=args.depth, motifs=args.motifs.split(","), weights=weights)
    except AllelekitError as exc:
        print(f"make_f1_benchmark: error: {exc}", file=sys.stderr)
        return 1
    oracle = {"all": truth.attrs["oracle"], "test_chr17_chr18": oracle_summary(ds, truth, ["chr17", "chr18"])}
    meta = {"oracle": json.dumps(oracle), "synthetic_params": json.dumps(truth.attrs["params"])}
    write_table(ds, args.output, "cnn_dataset", tool="make_f1_benchmark", params=vars(args), extra_metadata=meta)
    if args.truth:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from allelekit.atomic import atomic_path

        t = pa.Table.from_pandas(truth, preserve_index=False)
        t = t.replace_schema_metadata({b"allelekit.oracle": json.dumps(oracle).encode(),
                                       b"allelekit.synthetic_params": json.dumps(truth.attrs["params"]).encode()})
        with atomic_path(args.truth) as tmp:
            pq.write_table(t, tmp)
    print(json.dumps(oracle, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
