"""``allelekit-count``: count ref/alt/other read fragments at heterozygous SNVs from BAM/CRAM and VCF."""
from __future__ import annotations

import argparse
import logging
import time
from typing import Sequence

from ._common import (Progress, main_wrapper, new_parser, output_parent, params_of, read_filter_parent,
                      runtime_parent)

from ..count_rules import RULES

TOOL = "count"
log = logging.getLogger("allelekit.count")

EPILOG = RULES + """\

SNVs: VCF records with one ALT, REF and ALT single bases (ACGT), where the sample's GT is 0/1, 1/0,
0|1 or 1|0. Other records are skipped and counted in the log (multi-allelic: split them with
`bcftools norm -m-`). FILTER is not used. Every such SNV gets a row, also with zero counts.

Samples: --sample gives one VCF sample name per --bam, in order; without it each BAM's @RG SM is used
(one distinct SM per BAM).

Writes: allele_counts (--output; --tsv as text) and, with --regions and --region-output,
region_counts (docs/schemas.md). CRAM is converted to a temporary BAM with htslib first (slower).
"""


def build_parser() -> argparse.ArgumentParser:
    inputs = argparse.ArgumentParser(add_help=False)
    g = inputs.add_argument_group("Inputs")
    g.add_argument("--bam", "-b", nargs="+", required=True, metavar="FILE",
                   help="Coordinate-sorted, indexed BAM or CRAM file(s), one per sample.")
    g.add_argument("--vcf", required=True, metavar="FILE",
                   help="VCF/BCF (bgzipped) with the samples' genotypes (GT).")
    g.add_argument("--sample", "-s", nargs="+", metavar="NAME",
                   help="VCF sample name for each --bam, in the same order (default: each BAM's @RG SM).")
    g.add_argument("--reference", "-r", metavar="FASTA", help="Reference FASTA (needed for CRAM input).")
    g.add_argument("--regions", metavar="BED",
                   help="Regions (peaks, genes) BED; column 4 names are kept (unnamed: chrom:start-end).")
    g.add_argument("--bad", metavar="BED",
                   help="Background allelic dosage segments, BED 'chrom start end bad' (BAD 1 outside).")
    g.add_argument("--contigs", nargs="+", metavar="NAME",
                   help="Count only SNVs on these contigs (and list only their regions), e.g. to scatter "
                        "one run per contig.")
    region_out = argparse.ArgumentParser(add_help=False)
    o = region_out.add_argument_group("Region output")
    o.add_argument("--region-output", metavar="FILE",
                   help="Write counts summed per sample and --regions region (region_counts schema).")
    parser = new_parser(
        TOOL,
        "Count ref/alt/other read fragments at heterozygous SNVs of each sample, from BAM/CRAM and VCF.",
        usage="allelekit-count --bam S1.bam [S2.bam ...] --vcf variants.vcf.gz -o counts.parquet [options]",
        epilog=EPILOG,
        parents=[inputs, output_parent("Output Parquet file (allele_counts schema)."), region_out,
                 read_filter_parent(), runtime_parent(seed=False)],
    )
    return parser


def body(args: argparse.Namespace) -> int:
    from ..atomic import AtomicOutputs
    from ..counting import ReadFilter, count_alleles
    from ..schemas import ALLELE_COUNTS, REGION_COUNTS, write_table

    if args.region_output and not args.regions:
        args._parser.error("--region-output needs --regions")
    t0, c0 = time.monotonic(), time.process_time()
    filt = ReadFilter(min_mapq=args.min_mapq, min_baseq=args.min_baseq,
                      include_duplicates=args.include_duplicates, include_secondary=args.include_secondary,
                      include_supplementary=args.include_supplementary, include_qcfail=args.include_qcfail)
    res = count_alleles(args.bam, args.vcf, samples=args.sample, reference=args.reference,
                        regions=args.regions, bad=args.bad, filt=filt, threads=args.threads,
                        contigs=args.contigs,
                        progress_factory=lambda: Progress(total=None, desc="counting", unit="chunk"))
    params = params_of(args)
    inputs = [*args.bam, args.vcf] + [p for p in (args.regions, args.bad, args.reference) if p]
    with AtomicOutputs() as out:
        write_table(res.allele_counts, out.path(args.output), ALLELE_COUNTS, tool=f"allelekit-{TOOL}",
                    params=params, inputs=inputs)
        if args.tsv:
            import pyarrow as pa
            import pyarrow.csv as pacsv

            sink = pa.BufferOutputStream()
            pacsv.write_csv(res.allele_counts, sink,
                            pacsv.WriteOptions(delimiter="\t", quoting_style="none", include_header=False))
            with open(out.path(args.tsv), "wb") as fh:
                fh.write(("\t".join(res.allele_counts.column_names) + "\n").encode())
                fh.write(sink.getvalue().to_pybytes())
        if args.region_output:
            write_table(res.region_counts, out.path(args.region_output), REGION_COUNTS,
                        tool=f"allelekit-{TOOL}", params=params, inputs=inputs)
    log.info("wrote %d rows for %d sample(s) to %s (%.1f s wall, %.1f s CPU in this process)",
             res.allele_counts.num_rows,
             len(res.stats.get("samples", [])), args.output, time.monotonic() - t0, time.process_time() - c0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, body, argv)
