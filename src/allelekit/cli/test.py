"""``allelekit-test``: per-observation allelic-imbalance p-values and effect sizes.

Each observation gets two one-sided tests: ``ref_pval`` (x = ref count given s = alt count, small
when the reference allele is over-represented) and ``alt_pval`` (the reverse), from the right tail
of the left-truncated mixture with the posterior component weight, and effect sizes
``log2(x / expected x)``.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import main_wrapper, new_parser, nonneg_int, output_parent, params_of, runtime_parent
from .fit import add_input_args, configure_threads

TOOL = "test"


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL,
        "Per-observation one-sided allelic-imbalance p-values and effect sizes under a fitted mixture model "
        "(--params from allelekit-fit) or a classic binomial / beta-binomial test (--model).",
        usage="allelekit-test -i counts.parquet --params fit.parquet -o pvalues.parquet",
        epilog="Reads: allele_counts (Parquet), MixALime-style tables or VCF (GT+AD); model_params (Parquet).\n"
               "Writes: pvalues (Parquet), one row per sample and SNV.",
        parents=[output_parent("Per-observation p-values (pvalues Parquet)."), runtime_parent(seed=False)],
    )
    add_input_args(parser)
    m = parser.add_argument_group("Model")
    m.add_argument("--params", metavar="FILE", help="model_params Parquet written by allelekit-fit.")
    m.add_argument("--model", default=None, metavar="{binom,betabinom}",
                   help="Without --params: classic test. binom = Binomial(n, 1/2) at BAD 1 and an equal mixture "
                        "of p = B/(B+1) and 1/(B+1) otherwise; betabinom adds one concentration per BAD and "
                        "direction, estimated from the input.")
    m.add_argument("--left", type=nonneg_int, default=None, metavar="L",
                   help="Left truncation for --model (default: --min-count - 1; with --params the fit's value).")
    return parser


def body(args: argparse.Namespace) -> int:
    import logging
    import time

    import numpy as np

    from ..errors import AllelekitError

    log = logging.getLogger("allelekit.test")
    if args.params is None and args.model is None:
        raise AllelekitError("give --params FILE (from allelekit-fit) or --model binom|betabinom")
    if args.model is not None and args.model not in ("binom", "betabinom"):
        if args.params is None:
            raise AllelekitError(f"unknown or unfit model {args.model!r}: without --params only binom and betabinom "
                                 f"can be used; run allelekit-fit --model {args.model} first")
    configure_threads(args.threads)
    t0 = time.monotonic()
    import pandas as pd

    from ..imbalance import fit as F
    from ..imbalance.score import score_direction
    from ..schemas import read_table, write_table
    from .fit import load_observations

    if args.params:
        params = read_table(args.params, "model_params").to_pandas()
        if len(params) == 0:
            raise AllelekitError(f"{args.params}: the parameter table is empty")
        model = str(params["model"].iloc[0])
        if args.model is not None and args.model != model:
            raise AllelekitError(f"--model {args.model} does not match the model of {args.params} ({model})")
        left = int(params["left"].iloc[0])
        if args.left is not None and args.left != left:
            raise AllelekitError(f"--left {args.left} differs from the fit's left truncation ({left})")
    else:
        model = args.model
        left = args.min_count - 1 if args.left is None else args.left
        params = None
    df = load_observations(args, log)
    if params is None:
        params = pd.DataFrame.from_records(F.fit_classic(F.make_groups(df, left), model, left))
        if model == "betabinom":
            log.info("beta-binomial concentration per BAD/direction: %s",
                     ", ".join(f"{r.bad:g}/{r.direction}={r.kappa:.3g}" for r in params.itertuples()))
    fitted_bads = set(np.round(params["bad"].to_numpy(float), 5))
    missing = sorted(set(df["bad"].unique()) - fitted_bads)
    if missing:
        raise AllelekitError(f"BAD(s) {', '.join(f'{b:g}' for b in missing)} of the input are not in the "
                             f"--params table (fitted: {', '.join(f'{b:g}' for b in sorted(fitted_bads))}); "
                             "fit on data containing them")
    ref = df["ref_count"].to_numpy(np.int64)
    alt = df["alt_count"].to_numpy(np.int64)
    bad = df["bad"].to_numpy(float)
    out = df.copy()
    for d, x, s in (("ref", ref, alt), ("alt", alt, ref)):
        lp, es = score_direction(model, x, s, bad, params[params["direction"] == d], left)
        out[f"{d}_pval"] = np.exp(lp)
        out[f"{d}_es"] = es
    out["model"] = model
    for c in ("ref", "alt"):
        if out[c].isna().any():
            raise AllelekitError(f"input has no {c} allele for some SNVs; tables need ref/alt allele columns")
    out = out.sort_values(["sample", "chrom", "pos"], kind="stable").reset_index(drop=True)
    n_sig = int(((out["ref_pval"] < 0.05) | (out["alt_pval"] < 0.05)).sum())
    from ..atomic import AtomicOutputs

    with AtomicOutputs() as outs:
        write_table(out, outs.path(args.output), "pvalues", tool=f"allelekit-{TOOL}", params=params_of(args),
                    inputs=list(args.input) + ([args.params] if args.params else []))
        if args.tsv:
            out.to_csv(outs.path(args.tsv), sep="\t", index=False)
    log.info("scored %d observation(s) with %s in %.1f s (%d with a one-sided p < 0.05) -> %s", len(out), model,
             time.monotonic() - t0, n_sig, args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, body, argv)
