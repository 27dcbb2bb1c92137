"""``allelekit-fit``: fit NB / BetaNB / MCNB mixture models of allelic counts per BAD.

For each BAD and direction (ref given alt, alt given ref) the tested count is modelled as
``w*F(x; p1=B/(B+1)) + (1-w)*F(x; p2=1/(B+1))``, left-truncated, with size ``r(s) = b*s + mu``
over windows of neighbouring fixed-count slices (MixALime's model; see docs/fit-test.md).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import (main_wrapper, new_parser, nonneg_int, output_parent, params_of, positive_float,
                      positive_int, runtime_parent)

TOOL = "fit"
MODELS = ("NB", "BetaNB", "MCNB", "binom", "betabinom")


def add_input_args(parser: argparse.ArgumentParser) -> None:
    """Input and filter options shared by allelekit-fit and allelekit-test."""
    g = parser.add_argument_group("Input")
    g.add_argument("--input", "-i", nargs="+", required=True, metavar="FILE",
                   help="allele_counts Parquet (allelekit-count), MixALime-style BED-like tables (#chr, start, "
                        "ref_count, alt_count, bad ...) or VCF/BCF files with GT and AD; may be mixed.")
    g.add_argument("--bad-maps", metavar="FILE",
                   help="BAD map (columns chr, start, [end], bad; BED coordinates); overrides the BAD of "
                        "covered SNVs.")
    g.add_argument("--default-bad", type=positive_float, default=1.0, metavar="B",
                   help="BAD of SNVs without one (VCF input, bad = 0 in tables, SNVs outside the BAD map).")
    g.add_argument("--min-qual", type=float, default=None, metavar="Q",
                   help="VCF only: skip records with QUAL < Q (records with QUAL '.' are kept).")
    f = parser.add_argument_group("Filters")
    f.add_argument("--min-count", type=positive_int, default=5, metavar="N",
                   help="Keep observations with both allele counts >= N (MixALime --min-cnt).")
    f.add_argument("--max-cover", type=positive_int, default=None, metavar="N",
                   help="Drop observations with ref + alt > N.")


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL,
        "Fit mixture models of allelic read counts (NB, BetaNB, MCNB; binom/betabinom as classic tests) per "
        "background allelic dosage (BAD) and direction, over windows of fixed-count slices.",
        usage="allelekit-fit -i counts.parquet --model NB -o fit.parquet [--plots DIR]",
        epilog="Reads: allele_counts (Parquet), MixALime-style tables or VCF (GT+AD).\n"
               "Writes: model_params (Parquet; input of allelekit-test --params) and optional PNG diagnostics.",
        parents=[output_parent("Fitted parameters (model_params Parquet)."), runtime_parent()],
    )
    add_input_args(parser)
    m = parser.add_argument_group("Model")
    m.add_argument("--model", default="NB", metavar="{" + ",".join(MODELS) + "}",
                   help="Count model of each mixture component.")
    m.add_argument("--left", type=nonneg_int, default=None, metavar="L",
                   help="Left truncation: only tested counts > L are modelled (default: --min-count - 1).")
    m.add_argument("--window-size", type=positive_int, default=10000, metavar="N",
                   help="Minimum observations in the window of neighbouring slices fitted for each slice.")
    m.add_argument("--min-slices", type=positive_int, default=3, metavar="N",
                   help="Minimum number of fixed-count slices in a window.")
    m.add_argument("--stop-slice-n", type=positive_int, default=10, metavar="N",
                   help="From the first slice with fewer than N observations on, reuse the last fit.")
    m.add_argument("--small-dataset-n", type=nonneg_int, default=10000, metavar="N",
                   help="BADs with fewer observations get the conservative model (b=1, mu=0, w=1, NB) "
                        "and a warning.")
    m.add_argument("--regul-alpha", type=float, default=0.0, metavar="A",
                   help="BetaNB only: strength of the prior -c/kappa - 2 ln kappa, c = A * n_window * s, "
                        "that pulls kappa towards NB (0 = off; MixALime --regul --regul-alpha).")
    m.add_argument("--starts", type=positive_int, default=1, metavar="N",
                   help="Starting points of the optimiser per window (the best fit is kept; >2 are random, "
                        "see --seed).")
    m.add_argument("--max-iter", type=positive_int, default=300, metavar="N",
                   help="Maximum batched Newton iterations.")
    o = parser.add_argument_group("Diagnostics")
    o.add_argument("--plots", metavar="DIR",
                   help="Write diagnostic PNGs per BAD (parameter curves, goodness of fit, observed vs fitted "
                        "histograms) into DIR.")
    return parser


def configure_threads(n: int) -> None:
    """Limit XLA's CPU threads to ``--threads`` (only effective before jax is imported)."""
    import os
    import sys

    if "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (flags + f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}"
                                       f" intra_op_parallelism_threads={n}").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


def load_observations(args, log):
    from ..imbalance.inputs import filter_observations, read_observations

    df = read_observations(args.input, default_bad=args.default_bad, bad_maps=args.bad_maps,
                           min_qual=args.min_qual)
    what = ", ".join(str(p) for p in args.input) if len(args.input) <= 3 else f"{len(args.input)} inputs"
    return filter_observations(df, args.min_count, args.max_cover, what)


def body(args: argparse.Namespace) -> int:
    import logging
    import time
    from pathlib import Path

    from ..errors import AllelekitError

    log = logging.getLogger("allelekit.fit")
    if args.model not in MODELS:
        raise AllelekitError(f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}")
    if args.regul_alpha < 0:
        raise AllelekitError("--regul-alpha must be >= 0")
    left = args.min_count - 1 if args.left is None else args.left
    configure_threads(args.threads)
    t0 = time.monotonic()
    import pandas as pd

    from ..atomic import AtomicOutputs
    from ..imbalance import fit as F
    from ..schemas import write_table

    df = load_observations(args, log)
    groups = F.make_groups(df, left)
    log.info("%d observation(s) at %d BAD(s): %s", len(df), df["bad"].nunique(),
             ", ".join(f"{b:g} (n={n})" for b, n in df.groupby("bad").size().items()))
    if args.model in ("binom", "betabinom"):
        records = F.fit_classic(groups, args.model, left)
        conservative = []
    else:
        cfg = F.FitConfig(model=args.model, window_size=args.window_size, min_slices=args.min_slices,
                          stop_slice_n=args.stop_slice_n, small_dataset_n=args.small_dataset_n, left=left,
                          regul_alpha=args.regul_alpha, max_iter=args.max_iter, seed=args.seed,
                          n_starts=args.starts)
        records, conservative = F.fit_groups(groups, cfg)
    params = pd.DataFrame.from_records(records)
    params = params.sort_values(["bad", "direction", "slice"], na_position="first").reset_index(drop=True)
    for c in ("slice",):
        params[c] = params[c].astype("Int64")
    with AtomicOutputs() as out:
        write_table(params, out.path(args.output), "model_params", tool=f"allelekit-{TOOL}",
                    params=params_of(args), inputs=args.input,
                    extra_metadata={"conservative_bads": ",".join(f"{b:g}" for b in conservative)})
        if args.tsv:
            params.to_csv(out.path(args.tsv), sep="\t", index=False)
        if args.plots and args.model not in ("binom", "betabinom"):
            from ..imbalance.plots import write_plots

            files = write_plots(out.path(args.plots, is_dir=True), groups, params, left)
            log.info("wrote %d diagnostic plot(s) to %s", len(files), Path(args.plots))
        elif args.plots:
            log.warning("--plots: no per-slice diagnostics for %s (one parameter set per BAD)", args.model)
    log.info("fitted %s on %d observation(s) in %.1f s -> %s", args.model, len(df), time.monotonic() - t0,
             args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, body, argv)
