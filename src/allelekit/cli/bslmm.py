"""``allelekit-bslmm``: BSLMM and annotation-informed block-sparse bsBSLMM for cis-expression prediction.

Fit mode (default) fits one model per gene on the SNVs of its cis window and writes, into the output
folder: ``weights.parquet`` (bslmm_weights), ``predixcan_weights.parquet`` + ``.tsv`` (bslmm_predixcan),
``hyper.parquet`` (bslmm_hyper), ``trace.parquet`` (bslmm_trace), ``predictions.parquet``
(bslmm_predictions; with --test-samples or --folds) and ``plots/<gene>.png`` (with --plots).
Predict mode (``--predict weights.parquet``) applies saved weights to new genotypes.
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import (main_wrapper, new_parser, nonneg_int, output_parent, params_of, positive_float,
                      positive_int, runtime_parent)

TOOL = "bslmm"

USAGE = ("allelekit-bslmm --vcf geno.vcf.gz --expression expr.tsv --annotation genes.tsv --folds 5 -o out/\n"
         "       allelekit-bslmm --predict out/weights.parquet --vcf new.vcf.gz -o pred/")

EPILOG = """\
schemas written: bslmm_weights, bslmm_predixcan, bslmm_hyper, bslmm_trace, bslmm_predictions
schemas read:    bslmm_weights (--predict)

Schedules: --model bslmm runs GEMMA's collapsed Metropolis-Hastings (one iteration = one proposal;
default 10,000 burn-in + 20,000 iterations, every 10th recorded, as GEMMA -w 10000 -s 20000);
--model bsbslmm runs block-Gibbs sweeps (one sweep updates every SNV; default 2,000 + 8,000, thin 10).
Block partition (--block-method, bsbslmm only): 'ld' starts a new block when the mean r^2 between an SNV
and the last --block-window SNVs of the current block drops below --block-r2 (block sizes within
--block-min-size..--block-max-size); 'fixed' cuts every --block-width bp; 'none' = one block.
See docs/bslmm.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL, "BSLMM (GEMMA -bslmm 1) and annotation-informed block-sparse bsBSLMM for cis-expression "
              "prediction: per-gene weights, PIPs, credible intervals, held-out accuracy.",
        usage=USAGE, epilog=EPILOG,
        parents=[output_parent(help="Output folder (created; every table is written atomically inside).", tsv=False),
                 runtime_parent(threads_help="Worker processes over genes (0 = all cores). Results do not "
                                             "depend on it.")])
    g = parser.add_argument_group("Inputs")
    g.add_argument("--vcf", required=True, metavar="FILE",
                   help="Genotypes (VCF/BCF, bgzipped + indexed is fastest). Biallelic SNVs only.")
    g.add_argument("--expression", metavar="FILE",
                   help="Expression matrix, genes x samples: TSV (first column gene id) or Parquet. Required to fit.")
    g.add_argument("--annotation", metavar="FILE",
                   help="Gene TSS annotation: BED (name=gene id, strand col 6), GTF (gene_id), or TSV with "
                        "gene_id, chrom, tss[, strand]. Required to fit.")
    g.add_argument("--covariates", metavar="FILE",
                   help="Covariates to regress out of expression (TSV, covariates x samples or samples x covariates).")
    g.add_argument("--genes", metavar="IDS",
                   help="Only these genes: comma-separated ids, or a file with one id per line.")
    g.add_argument("--dosage", choices=("gt", "ds"), default="gt",
                   help="ALT dosage from GT (0/1/2) or the DS FORMAT field.")
    g.add_argument("--cis-window", type=nonneg_int, default=500_000, metavar="BP",
                   help="SNVs within this distance of the TSS (each side).")
    g.add_argument("--min-maf", type=float, default=0.01, metavar="F",
                   help="Drop SNVs with minor-allele frequency below F in the training samples "
                        "(monomorphic SNVs are always dropped).")

    s = parser.add_argument_group("Training / test split")
    x = s.add_mutually_exclusive_group()
    x.add_argument("--test-samples", metavar="FILE",
                   help="Held-out samples (one per line); the rest train. Weights come from the training fit.")
    x.add_argument("--folds", type=positive_int, metavar="K",
                   help="K-fold cross-validation for held-out r (folds drawn from --seed); reported weights come "
                        "from an extra fit on all samples.")

    m = parser.add_argument_group("Model and sampler")
    m.add_argument("--model", choices=("bslmm", "bsbslmm"), default="bsbslmm",
                   help="bslmm: GEMMA's BSLMM (collapsed MH). bsbslmm: BSLMM + block gate + TSS-distance prior "
                        "(block Gibbs).")
    m.add_argument("--burn-in", type=nonneg_int, metavar="N",
                   help="Burn-in iterations (bslmm: MH steps, default 10000; bsbslmm: sweeps, default 2000).")
    m.add_argument("--samples", type=positive_int, metavar="N",
                   help="Sampling iterations after burn-in (bslmm default 20000; bsbslmm default 8000).")
    m.add_argument("--thin", type=positive_int, metavar="N",
                   help="Record every N-th sampling iteration (default 10 for both).")
    m.add_argument("--chains", type=positive_int, default=1, metavar="N",
                   help="Independent chains per gene; with >= 2 the split R-hat of h and PVE is reported.")
    m.add_argument("--s-max", type=positive_int, default=300, metavar="N",
                   help="bslmm: largest number of SNVs in the sparse model (GEMMA -smax).")
    m.add_argument("--tss-prior", choices=("pooled", "gene"), default="pooled",
                   help="bsbslmm: prior of the TSS-distance slope eta1. pooled: empirical Bayes over all analysed "
                        "genes (a first BSLMM pass on the same training samples; costs about one BSLMM fit per "
                        "gene and fold); gene: N(0, 1) learnt per gene.")
    m.add_argument("--ci-draws", type=positive_int, default=1000, metavar="N",
                   help="Recorded draws used for the 95%% credible intervals of the effects.")

    b = parser.add_argument_group("LD blocks (bsbslmm)")
    b.add_argument("--block-method", choices=("ld", "fixed", "none"), default="ld", help="Block partition rule.")
    b.add_argument("--block-r2", type=positive_float, default=0.1, metavar="R2",
                   help="'ld': start a new block when the mean r^2 to the current block falls below R2.")
    b.add_argument("--block-window", type=positive_int, default=20, metavar="N",
                   help="'ld': compare with the last N SNVs of the current block.")
    b.add_argument("--block-min-size", type=positive_int, default=5, metavar="N", help="'ld': smallest block.")
    b.add_argument("--block-max-size", type=positive_int, default=300, metavar="N", help="'ld': largest block.")
    b.add_argument("--block-width", type=positive_int, default=50_000, metavar="BP", help="'fixed': block width.")

    o = parser.add_argument_group("Predict mode and extras")
    o.add_argument("--predict", metavar="WEIGHTS",
                   help="Apply saved weights (weights.parquet of a previous run) to --vcf instead of fitting; "
                        "writes predictions.parquet (with observed values when --expression is given).")
    o.add_argument("--plots", action="store_true", help="Write a trace plot per gene to <output>/plots/.")
    return parser


def _gene_selection(text: str | None) -> list[str] | None:
    from pathlib import Path

    if not text:
        return None
    if Path(text).is_file():
        return [ln.strip() for ln in Path(text).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return [t.strip() for t in text.split(",") if t.strip()]


def body(args: argparse.Namespace) -> int:
    import logging

    from ..errors import AllelekitError

    log = logging.getLogger("allelekit.bslmm")
    if args.min_maf < 0 or args.min_maf >= 0.5:
        args._parser.error("--min-maf must be in [0, 0.5)")
    if args.predict:
        return _predict_mode(args, log)
    if not args.expression or not args.annotation:
        args._parser.error("fitting needs --expression and --annotation (or use --predict WEIGHTS)")
    if args.folds is not None and args.folds < 2:
        args._parser.error("--folds must be >= 2")
    return _fit_mode(args, log, AllelekitError)


def _fit_mode(args, log, AllelekitError) -> int:
    from pathlib import Path

    import numpy as np

    from ..atomic import AtomicOutputs
    from ..bslmm import io
    from ..bslmm.driver import FitConfig, GeneInput, Split, build_tables, run_genes
    from ..bslmm.model import BlockOptions, Schedule
    from ..io.vcf import vcf_samples
    from ..schemas import write_table
    from ._common import Progress

    expr = io.read_expression(args.expression)
    ann = io.read_annotation(args.annotation)
    vsamples = vcf_samples(args.vcf)
    vset = set(vsamples)
    samples = [s for s in expr.samples if s in vset]
    missing = len(expr.samples) - len(samples)
    if not samples:
        raise AllelekitError(f"none of the {len(expr.samples)} samples of {args.expression} is in {args.vcf} "
                             f"(e.g. {expr.samples[0]!r} vs VCF {vsamples[0] if vsamples else 'no samples'!r}); "
                             "check sample names")
    if missing:
        log.warning("%d of %d expression samples are not in the VCF; continuing with the %d in both",
                    missing, len(expr.samples), len(samples))
    col = np.array([expr.samples.index(s) for s in samples])
    order = {g: i for i, g in enumerate(expr.genes)}
    wanted = _gene_selection(args.genes)
    if wanted is None:
        wanted = list(expr.genes)
    # VCF contig names
    try:
        from cyvcf2 import VCF

        v = VCF(args.vcf, lazy=True)
        contigs = set(v.seqnames)
        v.close()
    except Exception:  # noqa: BLE001
        contigs = set()
    genes: list[GeneInput] = []
    regions: dict[str, list[tuple[int, int]]] = {}
    for g in wanted:
        if g not in order:
            genes.append(GeneInput(g, None, 0, "+", np.zeros(0), status="skipped: not in the expression file"))
            continue
        y = expr.values[order[g], col]
        a = ann.get(g)
        if a is None:
            genes.append(GeneInput(g, None, 0, "+", y, status="skipped: not in the gene annotation"))
            continue
        chrom = io.resolve_chrom(a.chrom, contigs) if contigs else a.chrom
        genes.append(GeneInput(g, chrom, a.tss, a.strand, y))
        if chrom is not None:
            regions.setdefault(chrom, []).append((max(1, a.tss - args.cis_window), a.tss + args.cis_window))
    skipped = [g for g in genes if g.status != "ok"]
    if skipped:
        log.warning("%d gene(s) skipped before fitting: %s", len(skipped),
                    "; ".join(f"{g.gene} ({g.status[9:]})" for g in skipped[:10]) + (" ..." if len(skipped) > 10 else ""))
    if not any(g.status == "ok" for g in genes):
        raise AllelekitError("no gene can be analysed: none of the selected genes is in both the expression file "
                             f"and {args.annotation}")
    n_nan = int(sum(np.isnan(g.y).sum() for g in genes if g.status == "ok"))
    if n_nan:
        log.warning("%d missing (NaN/NA) expression value(s): those samples are left out of their gene's fit",
                    n_nan)
    geno = io.load_genotypes(args.vcf, samples, regions, args.dosage)
    log.info("%d biallelic SNVs in the cis windows of %d gene(s), %d samples%s", len(geno.pos),
             sum(g.status == "ok" for g in genes), len(samples),
             f" ({geno.n_skipped_nonsnv} non-SNV/multi-allelic records skipped)" if geno.n_skipped_nonsnv else "")
    cov = io.read_covariates(args.covariates, samples) if args.covariates else None

    n = len(samples)
    allm = np.ones(n, dtype=bool)
    if args.test_samples:
        test_list = io.read_sample_list(args.test_samples)
        sset = set(samples)
        unknown = [s for s in test_list if s not in sset]
        if unknown:
            log.warning("%d sample(s) of %s are not analysed (not in both the VCF and the expression file)",
                        len(unknown), args.test_samples)
        test = np.isin(np.array(samples, dtype=object), np.array(test_list, dtype=object))
        if not test.any() or test.all():
            raise AllelekitError(f"{args.test_samples}: the test set must contain some but not all of the {n} "
                                 "analysed samples")
        splits = [Split(~test, test, 0)]
        final_train, final_is_split = ~test, True
    elif args.folds:
        if args.folds > n:
            raise AllelekitError(f"--folds {args.folds} exceeds the {n} analysed samples")
        perm = np.random.default_rng(np.random.SeedSequence([args.seed, 0xF01D])).permutation(n)
        fold = np.empty(n, dtype=np.int64)
        fold[perm] = np.arange(n) % args.folds + 1
        splits = [Split(fold != k, fold == k, k) for k in range(1, args.folds + 1)]
        final_train, final_is_split = allm, False
    else:
        splits, final_train, final_is_split = [], allm, False

    d_b, d_s, d_t = {"bslmm": (10_000, 20_000, 10), "bsbslmm": (2_000, 8_000, 10)}[args.model]
    sched = Schedule(d_b if args.burn_in is None else args.burn_in, args.samples or d_s, args.thin or d_t)
    cfg = FitConfig(model=args.model, schedule=sched, chains=args.chains,
                    blocks=BlockOptions(args.block_method, args.block_r2, args.block_window, args.block_min_size,
                                        args.block_max_size, args.block_width),
                    s_max=args.s_max, cis_window=args.cis_window, min_maf=args.min_maf, seed=args.seed,
                    ci_draws=args.ci_draws, tss_prior=args.tss_prior)
    log.info("fitting %s to %d gene(s): burn-in %d, samples %d, thin %d, %d chain(s), %d process(es)",
             args.model, sum(g.status == "ok" for g in genes), sched.burn_in, sched.samples, sched.thin,
             args.chains, args.threads)
    pooled = args.model == "bsbslmm" and args.tss_prior == "pooled"
    if pooled:
        log.info("first pass for the pooled TSS-distance prior: BSLMM on %d gene(s)",
                 sum(g.status == "ok" for g in genes))
    results = run_genes(genes, geno, cov, splits, final_train, final_is_split, cfg, args.threads,
                        progress=lambda desc: Progress(total=len(genes), desc=desc, unit="gene"))
    tables = build_tables(results, genes, geno, samples)
    hyper = tables["hyper"]
    n_ok = int((hyper["status"] == "ok").sum())
    for _, row in hyper[hyper["status"].str.startswith("error")].iterrows():
        log.warning("gene %s failed: %s", row["gene"], row["status"])
    if n_ok == 0:
        log.warning("no gene was fitted; see the status column of hyper.parquet")

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise AllelekitError(f"--output {out} exists and is not a folder")
    params = params_of(args)
    inputs = [p for p in (args.vcf, args.expression, args.annotation, args.covariates, args.test_samples) if p]
    kw = dict(tool=f"allelekit-{TOOL}", params=params, inputs=inputs)
    with AtomicOutputs() as ao:
        write_table(hyper, ao.path(out / "hyper.parquet"), "bslmm_hyper", **kw)
        if tables["weights"] is not None:
            w = tables["weights"]
            write_table(w, ao.path(out / "weights.parquet"), "bslmm_weights", **kw)
            px = w[["gene", "variant_id", "chrom", "pos", "ref", "alt", "weight"]]
            write_table(px, ao.path(out / "predixcan_weights.parquet"), "bslmm_predixcan", **kw)
            px.to_csv(ao.path(out / "predixcan_weights.tsv"), sep="\t", index=False, float_format="%.6g")
        if tables["trace"] is not None:
            write_table(tables["trace"], ao.path(out / "trace.parquet"), "bslmm_trace", **kw)
        if tables["predictions"] is not None:
            write_table(tables["predictions"], ao.path(out / "predictions.parquet"), "bslmm_predictions", **kw)
        if args.plots:
            from ..bslmm.plots import trace_plot

            pdir = ao.path(out / "plots", is_dir=True)
            for r in results:
                if r["trace"] is not None:
                    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in r["gene"])
                    trace_plot(r["gene"], r["trace"]["hyp"], r["trace"]["iterations"], args.model,
                               pdir / f"{safe}.png")
    rt = hyper["r_test"].dropna()
    log.info("%d of %d gene(s) fitted%s; outputs in %s", n_ok, len(hyper),
             f", mean held-out r = {rt.mean():.3f}" if len(rt) else "", out)
    return 0


def _predict_mode(args, log) -> int:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from ..atomic import AtomicOutputs
    from ..bslmm import io
    from ..errors import AllelekitError
    from ..io.vcf import vcf_samples
    from ..schemas import read_table, write_table

    w = read_table(args.predict, "bslmm_weights").to_pandas()
    if w.empty:
        raise AllelekitError(f"{args.predict}: no weights")
    if args.genes:
        sel = set(_gene_selection(args.genes))
        w = w[w["gene"].isin(sel)]
        if w.empty:
            raise AllelekitError(f"{args.predict}: none of the --genes has weights")
    samples = vcf_samples(args.vcf)
    if not samples:
        raise AllelekitError(f"VCF {args.vcf}: no samples")
    regions: dict[str, list[tuple[int, int]]] = {}
    for c, grp in w.groupby("chrom"):
        regions[c] = [(int(p), int(p)) for p in grp["pos"].unique()]
    geno = io.load_genotypes(args.vcf, samples, regions, args.dosage)
    key = {(c, int(p)): i for i, (c, p) in enumerate(zip(geno.chrom, geno.pos))}
    observed = None
    if args.expression:
        expr = io.read_expression(args.expression)
        observed = {g: dict(zip(expr.samples, expr.values[i])) for i, g in enumerate(expr.genes)}
    rows = []
    for gene, grp in w.groupby("gene", sort=True):
        x = np.zeros(len(samples))
        n_found = n_flip = 0
        for c, p, ref, alt, wt, mean in zip(grp["chrom"], grp["pos"], grp["ref"], grp["alt"], grp["weight"],
                                             grp["dosage_mean"]):
            i = key.get((c, int(p)))
            if i is None:
                continue
            d = geno.dosage[i].astype(np.float64)
            if geno.ref[i] == ref and geno.alt[i] == alt:
                pass
            elif geno.ref[i] == alt and geno.alt[i] == ref:
                d = 2.0 - d
                n_flip += 1
            else:
                continue
            n_found += 1
            x += np.where(np.isnan(d), 0.0, d - mean) * wt
        if n_found < len(grp):
            log.warning("gene %s: %d of %d weighted SNVs not found in %s (they contribute their training mean)",
                        gene, len(grp) - n_found, len(grp), args.vcf)
        pred = float(grp["intercept"].iloc[0]) + x
        obs = observed.get(gene) if observed is not None else None
        rows.append(pd.DataFrame({"gene": gene, "sample": samples, "predicted": pred,
                                  "observed": [obs.get(s, np.nan) if obs else np.nan for s in samples],
                                  "fold": pd.array([None] * len(samples), dtype="Int64")}))
    preds = pd.concat(rows, ignore_index=True).sort_values(["gene", "sample"], kind="stable")
    preds["observed"] = preds["observed"].astype("Float64").where(preds["observed"].notna(), None)
    out = Path(args.output)
    with AtomicOutputs() as ao:
        write_table(preds, ao.path(out / "predictions.parquet"), "bslmm_predictions", tool=f"allelekit-{TOOL}",
                    params=params_of(args), inputs=[args.predict, args.vcf])
    log.info("predicted %d gene(s) for %d sample(s) into %s", preds["gene"].nunique(), len(samples), out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, body, argv)
