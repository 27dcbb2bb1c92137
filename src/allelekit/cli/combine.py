"""``allelekit-combine``: combine per-observation p-values per SNV across samples or groups, BH FDR and calls.

Reads one or more ``pvalues`` tables (allelekit-test), writes the ``combined`` table, optional TSV,
genome-browser tracks (BED9 coloured by preferred allele, bedGraph of signed -log10 FDR), a summary
TSV and a self-contained HTML report.  The library is :mod:`allelekit.combine`,
:mod:`allelekit.tracks` and :mod:`allelekit.report`.
"""
from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Sequence

from ._common import (main_wrapper, new_parser, nonneg_int, output_parent, params_of, probability,
                      runtime_parent)

TOOL = "combine"
log = logging.getLogger("allelekit.combine")

EPILOG = """\
Reads:  pvalues (allelekit-test), one file or several (samples must not repeat across files);
        model_params (allelekit-fit) with --fit, for the report's fit diagnostics.
Writes: combined (Parquet; one row per group and tested SNV, FDR within each group), and optionally
        --tsv, --bed, --bedgraph, --summary (TSV) and --report DIR (index.html + figures/ + *.tsv).
With several --group, the -o table holds every group (column 'group') and each group is also written
to <stem>.<group>.parquet next to it (likewise <stem>.<group>.tsv/.bed/.bedgraph).
Exit status: 0 ok, 1 bad input (nothing written), 2 usage error.

examples:
  allelekit-combine -i results/pvalues.parquet -o results/combined.parquet \\
      --bed results/significant.bed --report results/report --fit results/fit.parquet
  allelekit-combine -i pv.parquet -o comb.parquet --group treated=S1,S2 --group control=controls.txt
"""


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL,
        "Combine per-observation allele-specific p-values per SNV (chrom, pos, ref, alt) across the samples "
        "of each group (logit/Mudholkar-George as in MixALime, Fisher or Stouffer), adjust them with "
        "Benjamini-Hochberg separately for the ref and alt directions, and call the preferred allele.",
        usage="allelekit-combine -i pvalues.parquet -o combined.parquet [options]",
        epilog=EPILOG,
        parents=[output_parent("Output Parquet file (schema 'combined')."), runtime_parent(
            seed=False, threads_help="Accepted for pipeline uniformity; combine runs on one core.")],
    )
    g = parser.add_argument_group("Input")
    g.add_argument("--input", "-i", nargs="+", action="extend", required=True, metavar="FILE",
                   help="pvalues Parquet file(s) from allelekit-test.")
    g.add_argument("--group", action="append", default=None, metavar="NAME=SPEC",
                   help="A group of samples, combined and FDR-adjusted on its own: NAME=sample1,sample2 or "
                        "NAME=FILE (one sample name or input file per line). Repeat for several groups; without "
                        "it all samples form the group 'all'.")
    g = parser.add_argument_group("Combination")
    g.add_argument("--method", choices=("logit", "fisher", "stouffer"), default="logit",
                   help="p-value combination: logit = Mudholkar-George (MixALime's default) with Fisher fallback "
                        "on underflow.")
    g.add_argument("--stouffer-weights", choices=("none", "cover", "sqrt-cover"), default="none",
                   help="Weights of Stouffer's method: none, the observation's coverage (ref+alt), or its "
                        "square root.")
    g.add_argument("--es-weights", choices=("uniform", "pval"), default="uniform",
                   help="Combined effect size: plain mean (uniform, MixALime's default) or mean weighted by "
                        "-log10 p.")
    g.add_argument("--min-cover", type=nonneg_int, default=20, metavar="N",
                   help="Test a SNV only when at least one of its observations in the group has ref+alt >= N "
                        "(0 tests all).")
    g.add_argument("--fdr", type=probability, default=0.05, metavar="ALPHA",
                   help="Benjamini-Hochberg FDR threshold for the calls.")
    g = parser.add_argument_group("Tracks, summary and report")
    g.add_argument("--bed", metavar="FILE",
                   help="BED9 track of significant SNVs, itemRgb by preferred allele (blue ref, orange alt, "
                        "purple both), with a track line for IGV/UCSC.")
    g.add_argument("--bedgraph", metavar="FILE",
                   help="bedGraph of every tested SNV: signed -log10 FDR (+ ref preferred, - alt preferred).")
    g.add_argument("--summary", metavar="FILE",
                   help="Summary TSV per group: SNVs seen/tested, significant ref/alt/both (also logged).")
    g.add_argument("--report", metavar="DIR",
                   help="Write a self-contained HTML report to DIR/index.html (figures in DIR/figures/).")
    g.add_argument("--fit", metavar="FILE",
                   help="model_params Parquet from allelekit-fit: adds fit diagnostics to --report.")
    return parser


def _read_inputs(paths: Sequence[str]):
    import pandas as pd

    from ..errors import AllelekitError
    from ..schemas import PVALUES, read_metadata, read_table

    frames, metas = [], []
    seen_paths: set[Path] = set()
    for p in paths:
        rp = Path(p).resolve()
        if rp in seen_paths:
            raise AllelekitError(f"{p}: input given twice")
        seen_paths.add(rp)
        if not Path(p).exists():
            raise AllelekitError(f"{p}: no such file")
        meta = read_metadata(p)
        df = read_table(p, PVALUES).to_pandas()
        df = df[[c.name for c in PVALUES.columns]]
        df["_input"] = str(p)
        metas.append((str(p), meta, sorted(df["model"].unique())))
        frames.append(df)
        log.info("read %s: %d observations, %d samples", p, len(df), df["sample"].nunique())
    obs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # one observation per sample and SNV
    dup = obs.duplicated(["sample", "chrom", "pos", "ref", "alt"], keep=False)
    if dup.any():
        d = obs[dup].iloc[0]
        files = sorted(obs.loc[dup & (obs["sample"] == d["sample"]), "_input"].unique())
        raise AllelekitError(f"sample {d['sample']!r} has {int(dup.sum())} repeated observations of the same SNV "
                             f"(e.g. {d['chrom']}:{d['pos']} {d['ref']}>{d['alt']}) in {', '.join(files)}; "
                             "give each sample's p-values once")
    return obs, metas


def _read_fit(path: str):
    import pyarrow.parquet as pq

    from ..errors import AllelekitError
    from ..schemas import read_metadata

    if not Path(path).exists():
        raise AllelekitError(f"--fit {path}: no such file")
    meta = read_metadata(path)
    tag = meta.get("schema", "")
    if tag and not tag.startswith("model_params/"):
        raise AllelekitError(f"--fit {path}: is a table of schema {tag}, expected model_params (output of allelekit-fit)")
    try:
        df = pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types
        raise AllelekitError(f"--fit {path}: cannot read Parquet file ({exc})") from None
    missing = [c for c in ("bad", "direction", "slice") if c not in df.columns]
    if missing:
        raise AllelekitError(f"--fit {path}: missing column(s) {', '.join(missing)}; expected a model_params table")
    return df, meta


def _sibling(path: Path, group: str) -> Path:
    return path.with_name(f"{path.stem}.{group}{path.suffix}")


def _body(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    import pandas as pd

    from ..atomic import AtomicOutputs
    from ..combine import CombineParams, check_inputs, combine_group, resolve_groups, summarize
    from ..errors import AllelekitError
    from ..schemas import COMBINED, write_table
    from ..tracks import bed_lines, bedgraph_lines

    if args.fit and not args.report:
        args._parser.error("--fit is only used by the report: give --report DIR too")
    if args.stouffer_weights != "none" and args.method != "stouffer":
        args._parser.error("--stouffer-weights needs --method stouffer")

    out = Path(args.output)
    targets = {"--output": out}
    for flag, v in (("--tsv", args.tsv), ("--bed", args.bed), ("--bedgraph", args.bedgraph),
                    ("--summary", args.summary), ("--report", args.report)):
        if v:
            targets[flag] = Path(v)
    resolved = {}
    for flag, p in targets.items():
        rp = p.resolve()
        if rp in resolved:
            raise AllelekitError(f"{flag} and {resolved[rp]} name the same file {p}")
        resolved[rp] = flag
    for p in args.input:
        if Path(p).resolve() in resolved:
            raise AllelekitError(f"input {p} is also an output ({resolved[Path(p).resolve()]}); choose another name")

    obs, metas = _read_inputs(args.input)
    model = check_inputs(metas)
    fit, fit_meta = (None, {})
    if args.fit:
        fit, fit_meta = _read_fit(args.fit)

    samples = sorted(obs["sample"].unique())
    input_samples = {p: sorted(obs.loc[obs["_input"] == p, "sample"].unique()) for p, _, _ in metas}
    groups = resolve_groups(args.group or [], samples, input_samples)
    params = CombineParams(method=args.method, stouffer_weights=args.stouffer_weights, es_weights=args.es_weights,
                           min_cover=args.min_cover, fdr=args.fdr)

    parts, obs_counts = [], {}
    for grp in groups:
        sub = obs[obs["sample"].isin(grp.samples)]
        obs_counts[grp.name] = (len(sub), int(sub.drop_duplicates(["chrom", "pos", "ref", "alt"]).shape[0]))
        parts.append(combine_group(sub, grp.name, params))
    combined = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    summary = summarize(combined, obs_counts, params)
    for r in summary.itertuples(index=False):
        log.info("group %s (%s model, %s): %d observations of %d SNVs; SNVs tested: %d (%.1f%% of them, min cover %d); "
                 "significant at FDR < %g: ref %d, alt %d, both %d, total %d (%.2f%% of tested; ref-only %d, "
                 "alt-only %d)", r.group, model, args.method, r.n_observations, r.n_snvs, r.n_tested, r.pct_tested,
                 args.min_cover, args.fdr, r.ref_significant, r.alt_significant, r.both, r.significant,
                 r.pct_significant, r.ref_only, r.alt_only)
        if r.n_tested == 0:
            log.warning("group %s: no SNV reaches --min-cover %d; its results are empty", r.group, args.min_cover)

    params_json = params_of(args)
    inputs = list(args.input)
    multi = len(groups) > 1
    written: list[str] = []
    with AtomicOutputs() as outs:
        meta_extra = {"model": model, "groups": ",".join(g.name for g in groups)}
        write_table(combined, outs.path(out), COMBINED, tool=f"allelekit-{TOOL}", params=params_json, inputs=inputs,
                    extra_metadata=meta_extra)
        written.append(str(out))
        if multi:
            for grp in groups:
                p = _sibling(out, grp.name)
                write_table(combined[combined["group"] == grp.name], outs.path(p), COMBINED, tool=f"allelekit-{TOOL}",
                            params=params_json, inputs=inputs, extra_metadata={**meta_extra, "groups": grp.name})
                written.append(str(p))
        if args.tsv:
            def tsv(df: pd.DataFrame, path: Path) -> None:
                t = df.copy()
                t["samples"] = t["samples"].map(lambda s: ",".join(s))
                t.to_csv(outs.path(path), sep="\t", index=False, na_rep="NA")
                written.append(str(path))
            tsv(combined, Path(args.tsv))
            if multi:
                for grp in groups:
                    tsv(combined[combined["group"] == grp.name], _sibling(Path(args.tsv), grp.name))
        for flag, maker in (("bed", lambda d, g: bed_lines(d, g, args.fdr)),
                            ("bedgraph", lambda d, g: bedgraph_lines(d, g))):
            target = getattr(args, flag)
            if not target:
                continue
            with open(outs.path(Path(target)), "w") as fh:  # every group, each after its own track line
                for grp in groups:
                    fh.writelines(maker(combined[combined["group"] == grp.name], grp.name))
            written.append(target)
            if multi:
                for grp in groups:
                    p = _sibling(Path(target), grp.name)
                    with open(outs.path(p), "w") as fh:
                        fh.writelines(maker(combined[combined["group"] == grp.name], grp.name))
                    written.append(str(p))
        if args.summary:
            summary.to_csv(outs.path(Path(args.summary)), sep="\t", index=False, float_format="%.6g")
            written.append(args.summary)
        if args.report:
            from .. import report as rep

            cmd = "allelekit-combine " + shlex.join(list(argv) if argv is not None else sys.argv[1:])
            data = rep.ReportInput(
                combined=combined, observations=obs, summary=summary,
                groups={g.name: g.samples for g in groups}, params={
                    "method": args.method, "stouffer_weights": args.stouffer_weights, "es_weights": args.es_weights,
                    "min_cover": args.min_cover, "fdr": args.fdr, "model": model},
                inputs=[(p, m) for p, m, _ in metas], command=cmd, fit=fit, fit_path=args.fit, fit_meta=fit_meta,
                outputs={"combined table": str(out), **({"TSV": args.tsv} if args.tsv else {}),
                         **({"BED track": args.bed} if args.bed else {}),
                         **({"bedGraph track": args.bedgraph} if args.bedgraph else {}),
                         **({"summary": args.summary} if args.summary else {})})
            rep.write_report(data, outs.path(Path(args.report), is_dir=True))
            written.append(str(Path(args.report) / "index.html"))
    log.info("wrote %s", ", ".join(written))
    if args.report:
        log.info("report: %s", Path(args.report) / "index.html")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, lambda args: _body(args, argv), argv)
