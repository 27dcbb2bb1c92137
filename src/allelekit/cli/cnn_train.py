"""``allelekit-cnn-train``: train a DeepAllele-style paired-allele CNN or one of its baselines, or
build its training set.

Two modes:

* ``--build-dataset``: from a reference FASTA + phased VCF + regions BED + per-allele counts
  (allelekit-count's ``region_counts`` Parquet, or a TSV ``region count_a count_b [chrom]``), or from
  two FASTAs with one record per region (F1 strains), write a ``cnn_dataset`` Parquet.
* training (default): read a ``cnn_dataset`` Parquet, train with a leave-chromosome-out split and
  early stopping, write the best checkpoint (state_dict + JSON config), the per-epoch and held-out
  metrics (``cnn_metrics``), optionally predictions (``cnn_predictions``) and a learning-curve PNG.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from ._common import (main_wrapper, new_parser, nonneg_int, output_parent, params_of, positive_float,
                      positive_int, runtime_parent)

TOOL = "cnn-train"
log = logging.getLogger("allelekit.cnn")

ARCH_CHOICES = {
    "paired": ("paired", None),
    "direct": ("direct", None),
    "ref-only": ("single", "a"),
    "two-genome": ("single", "both"),
}

USAGE = """allelekit-cnn-train --dataset train.parquet -o model.pt [--arch paired] [--preset small]
       allelekit-cnn-train --build-dataset --fasta ref.fa --vcf phased.vcf.gz --sample S1 \\
                           --regions peaks.bed --counts region_counts.parquet -o train.parquet
       allelekit-cnn-train --build-dataset --fasta-a strainA.fa --fasta-b strainB.fa \\
                           --counts counts.tsv -o train.parquet"""

EPILOG = """schemas:
  reads   cnn_dataset (--dataset), region_counts (--counts, Parquet) or a TSV
          'region count_a count_b [chrom]' (--counts, text)
  writes  cnn_dataset (--build-dataset -o); in training mode: the checkpoint (-o, a torch file with
          state_dict + JSON config, never a pickled model), cnn_metrics (--metrics, --tsv),
          cnn_predictions (--predictions), a learning-curve PNG (--plot)

examples:
  allelekit-cnn-train --dataset train.parquet -o paired.pt --arch paired --preset small \\
      --val-chroms chr16 --test-chroms chr17,chr18 --lr 1e-3 --batch-size 64 --threads 2
  allelekit-cnn-train --dataset train.parquet -o ref.pt --arch ref-only --plot ref.png
"""


def chrom_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    return items


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL,
        "Train a DeepAllele-style paired-allele CNN (count head + ratio head) or its baselines "
        "(direct ratio, single-input on the reference or on both genomes), or build its training set.",
        usage=USAGE, epilog=EPILOG,
        parents=[output_parent(help="Training: the checkpoint file (.pt). --build-dataset: the cnn_dataset Parquet.",
                               tsv=True),
                 runtime_parent()])
    g = parser.add_argument_group("Training input")
    g.add_argument("--dataset", metavar="FILE", help="cnn_dataset Parquet (from --build-dataset or "
                   "scripts/make_f1_benchmark.py).")
    g = parser.add_argument_group("Dataset builder (--build-dataset)")
    g.add_argument("--build-dataset", action="store_true", help="Build the training set instead of training.")
    g.add_argument("--fasta", metavar="FILE", help="Reference FASTA (indexed or indexable by samtools faidx).")
    g.add_argument("--vcf", metavar="FILE", help="Phased VCF/BCF of the sample (GT with '|'); hap 1 = allele A.")
    g.add_argument("--sample", metavar="NAME", help="Sample in the VCF and in the region_counts table "
                   "(default: the only one).")
    g.add_argument("--regions", metavar="BED", help="Regions BED (name in column 4, else chrom:start-end).")
    g.add_argument("--counts", metavar="FILE", help="Per-allele counts: region_counts Parquet of allelekit-count "
                   "(hap1_count -> A, hap2_count -> B) or TSV with columns region, count_a, count_b [, chrom].")
    g.add_argument("--fasta-a", metavar="FILE", help="Two-genome input: FASTA of allele/strain A, one record per region.")
    g.add_argument("--fasta-b", metavar="FILE", help="Two-genome input: FASTA of allele/strain B, same record names.")
    g.add_argument("--seq-len", type=positive_int, default=330, metavar="BP",
                   help="Window length centred on each region (330 = the ATAC preset, 551 = ChIP).")
    g.add_argument("--skip-missing-counts", action="store_true",
                   help="Drop regions whose allele counts are missing (null, unphased, or absent from --counts) "
                        "instead of failing.")
    g = parser.add_argument_group("Model")
    g.add_argument("--arch", choices=list(ARCH_CHOICES), default="paired",
                   help="paired = DeepAllele (count + ratio head); direct = ratio from count heads; ref-only / "
                        "two-genome = single-input baselines trained on allele A / on both alleles.")
    g.add_argument("--preset", choices=["small", "atac", "chip"], default="small",
                   help="Sizes: small (CPU; 128 kernels, 64 filters, H 128), atac (released ATAC checkpoint: "
                        "256/15, 4 res blocks, pool 4, H 256), chip (6 res blocks, pool 2).")
    g.add_argument("--antisymmetric", action="store_true",
                   help="Paired model: make ratio(a, b) = -ratio(b, a) exactly (the published head is not).")
    g.add_argument("--kernels", type=positive_int, metavar="K", help="First-layer kernels (preset value).")
    g.add_argument("--kernel-size", type=positive_int, metavar="W", help="First-layer kernel width.")
    g.add_argument("--filters", type=positive_int, metavar="F", help="Filters of the later conv layers.")
    g.add_argument("--res-blocks", type=nonneg_int, metavar="N", help="Residual blocks (each followed by pooling).")
    g.add_argument("--pool", type=positive_int, metavar="P", help="Average-pool size after each residual block.")
    g.add_argument("--hidden", type=positive_int, metavar="H", help="Hidden size of the fully connected layers.")
    g.add_argument("--head-layers", type=nonneg_int, metavar="N", help="Hidden layers in each head.")
    g.add_argument("--dropout", type=float, metavar="P", help="Dropout in the heads.")
    g = parser.add_argument_group("Training")
    g.add_argument("--val-chroms", type=chrom_list, default=["chr16"], metavar="LIST",
                   help="Comma-separated validation chromosomes (early stopping, best checkpoint).")
    g.add_argument("--test-chroms", type=chrom_list, default=["chr17", "chr18"], metavar="LIST",
                   help="Comma-separated held-out test chromosomes ('' for none).")
    g.add_argument("--epochs", type=positive_int, default=100, metavar="N", help="Maximum epochs.")
    g.add_argument("--patience", type=positive_int, default=4, metavar="N",
                   help="Stop after N epochs without a lower validation loss.")
    g.add_argument("--batch-size", type=positive_int, default=32, metavar="N", help="Locus pairs per batch.")
    g.add_argument("--lr", type=positive_float, default=1e-4, help="Adam learning rate (cycle: lr/2 .. 2 lr).")
    g.add_argument("--weight-decay", type=float, default=1e-5, help="Adam weight decay.")
    g.add_argument("--scheduler", choices=["cycle", "none"], default="cycle",
                   help="cycle = triangular cyclic LR stepping every batch.")
    g.add_argument("--cycle-steps", type=positive_int, default=2000, metavar="N", help="Batches per half cycle.")
    g.add_argument("--max-train-loci", type=positive_int, metavar="N",
                   help="Train on a random subset of N training loci (quick runs).")
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto = CUDA when torch sees one, else CPU.")
    g = parser.add_argument_group("Training outputs")
    g.add_argument("--metrics", metavar="FILE",
                   help="cnn_metrics Parquet (default: the checkpoint name with .metrics.parquet).")
    g.add_argument("--predictions", metavar="FILE", help="cnn_predictions Parquet for every locus.")
    g.add_argument("--plot", metavar="PNG", help="Learning-curve PNG (loss and validation r per epoch).")
    return parser


def _body(args: argparse.Namespace) -> int:
    from ..errors import AllelekitError

    if args.build_dataset:
        return _build(args)
    if not args.dataset:
        raise AllelekitError("give --dataset FILE (a cnn_dataset Parquet) to train, or --build-dataset to build one")
    return _train(args)


def _build(args: argparse.Namespace) -> int:
    from ..errors import AllelekitError
    from ..schemas import write_table
    from ..cnn.dataset import build_from_two_fastas, build_from_vcf

    if args.fasta_a or args.fasta_b:
        if not (args.fasta_a and args.fasta_b):
            raise AllelekitError("--fasta-a and --fasta-b go together")
        if not args.counts:
            raise AllelekitError("--build-dataset with two FASTAs needs --counts (TSV: region, count_a, count_b)")
        df = build_from_two_fastas(args.fasta_a, args.fasta_b, args.counts, seq_len=args.seq_len,
                                   skip_missing=args.skip_missing_counts)
        inputs = [args.fasta_a, args.fasta_b, args.counts]
    else:
        missing = [f for f, v in (("--fasta", args.fasta), ("--vcf", args.vcf), ("--regions", args.regions),
                                  ("--counts", args.counts)) if not v]
        if missing:
            raise AllelekitError(f"--build-dataset needs {', '.join(missing)} (or --fasta-a/--fasta-b/--counts)")
        df = build_from_vcf(args.fasta, args.vcf, args.regions, args.counts, seq_len=args.seq_len,
                            sample=args.sample, skip_missing=args.skip_missing_counts)
        inputs = [args.fasta, args.vcf, args.regions, args.counts]
    from ..atomic import AtomicOutputs

    with AtomicOutputs() as out:
        write_table(df, out.path(args.output), "cnn_dataset", tool=TOOL, params=params_of(args), inputs=inputs)
        if args.tsv:
            df.to_csv(out.path(args.tsv), sep="\t", index=False)
    log.info("wrote %d loci x 2 alleles of %d bp to %s", len(df), args.seq_len, args.output)
    return 0


def _train(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..atomic import AtomicOutputs
    from ..errors import AllelekitError
    from ..schemas import read_table, write_table
    from ..cnn.models import make_config, save_checkpoint
    from ..cnn.train import plot_learning_curve, train_model

    arch, train_alleles = ARCH_CHOICES[args.arch]
    if args.antisymmetric and arch != "paired":
        raise AllelekitError("--antisymmetric applies to --arch paired only")
    df = read_table(args.dataset, "cnn_dataset").to_pandas()
    if len(df) == 0:
        raise AllelekitError(f"{args.dataset}: the dataset has no loci")
    config = make_config(arch, args.preset, antisymmetric=args.antisymmetric, train_alleles=train_alleles,
                         n_kernels=args.kernels, kernel_size=args.kernel_size, n_filters=args.filters,
                         n_res=args.res_blocks, pool=args.pool, hidden=args.hidden, h_layers=args.head_layers,
                         dropout=args.dropout)
    config["arch_label"] = args.arch
    res = train_model(df, config, val_chroms=args.val_chroms, test_chroms=args.test_chroms, epochs=args.epochs,
                      patience=args.patience, batch_size=args.batch_size, lr=args.lr,
                      weight_decay=args.weight_decay, scheduler=args.scheduler, cycle_steps=args.cycle_steps,
                      device=args.device, seed=args.seed, threads=args.threads,
                      max_train_loci=args.max_train_loci)
    config = res.config
    config["training"] = {k: v for k, v in params_of(args).items() if k not in ("output", "tsv", "metrics",
                                                                              "predictions", "plot")}
    config["device"] = res.device
    metrics_path = args.metrics or str(Path(args.output).with_suffix("")) + ".metrics.parquet"
    params = params_of(args)
    with AtomicOutputs() as out:
        save_checkpoint(res.model, config, out.path(args.output))
        write_table(res.metrics, out.path(metrics_path), "cnn_metrics", tool=TOOL, params=params,
                    inputs=[args.dataset], extra_metadata={"model_config": _json(config)})
        if args.tsv:
            res.metrics.to_csv(out.path(args.tsv), sep="\t", index=False, na_rep="NA")
        if args.predictions:
            write_table(res.predictions, out.path(args.predictions), "cnn_predictions", tool=TOOL, params=params,
                        inputs=[args.dataset])
        if args.plot:
            plot_learning_curve(res.metrics, out.path(args.plot))
    fin = res.metrics[res.metrics["final"] & (res.metrics["split"] == ("test" if args.test_chroms else "val"))]
    if len(fin):
        r = fin.iloc[0]
        log.info("held-out %s: count r %s, log-ratio r %s; checkpoint %s (epoch %d)", r["split"],
                 _f(r["count_pearson"]), _f(r["ratio_pearson"]), args.output, res.best_epoch)
    del pd
    return 0


def _f(v) -> str:
    try:
        return f"{float(v):.3f}"
    except (TypeError, ValueError):
        return "NA"


def _json(obj) -> str:
    import json

    return json.dumps(obj, sort_keys=True, default=str)


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, _body, argv)
