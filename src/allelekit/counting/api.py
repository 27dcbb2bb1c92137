"""``count_alleles``: BAMs + VCF (+ regions, BAD segments) -> allele_counts and region_counts tables."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyarrow as pa

from ..errors import AllelekitError
from ..io.bam import read_bam_header
from ..io.bed import BedIntervals, lookup_intervals, read_bad, read_bed
from ..io.contigs import check_contigs
from ..io.vcf import read_het_snvs
from ..schemas import arrow_column
from .engine import BamSnvs, ReadFilter, count_snvs, cram_to_bam

from ..count_rules import RULES as _RULES

log = logging.getLogger("allelekit.counting")

RULES = _RULES  # documented in allelekit.count_rules


@dataclass
class CountResult:
    """Output of :func:`count_alleles`: pyarrow Tables for the two schemas and log statistics."""

    allele_counts: "object"
    region_counts: "object | None"
    stats: dict = field(default_factory=dict)


def resolve_samples(headers, samples: Sequence[str] | None) -> list[str]:
    """One sample name per BAM: ``samples`` if given, else each BAM's single ``@RG SM``."""
    if samples:
        if len(samples) != len(headers):
            raise AllelekitError(f"--sample gives {len(samples)} name(s) for {len(headers)} BAM/CRAM file(s); "
                                 "give one name per file, in the same order")
        out = list(samples)
    else:
        out = []
        for h in headers:
            if not h.samples:
                raise AllelekitError(f"{h.path}: no @RG SM sample name in the header; pass --sample NAME "
                                     "(one per BAM) with the VCF's sample name")
            if len(h.samples) > 1:
                raise AllelekitError(f"{h.path}: ambiguous sample: @RG SM names {', '.join(h.samples)}; "
                                     "pass --sample NAME for this BAM")
            out.append(h.samples[0])
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise AllelekitError(f"sample {dup[0]} is given for more than one BAM; merge its BAMs first "
                             "(`samtools merge`) or name them apart with --sample")
    return out


def count_alleles(bams: Sequence[str], vcf: str, *, samples: Sequence[str] | None = None,
                  reference: str | None = None, regions: str | None = None, bad: str | None = None,
                  filt: ReadFilter = ReadFilter(), threads: int = 1, contigs: Sequence[str] | None = None,
                  progress_factory=None) -> CountResult:
    """Count ref/alt/other/del fragments per sample at its heterozygous biallelic SNVs.

    Parameters
    ----------
    bams : BAM/CRAM paths (coordinate-sorted, indexed).
    vcf : VCF/BCF with the samples' genotypes.
    samples : one VCF sample name per BAM; default each BAM's ``@RG SM``.
    reference : FASTA for CRAM input.
    regions : BED of regions (names in column 4 are kept) -> ``region`` column and region counts.
    bad : BED ``chrom start end bad`` of background allelic dosage segments (default BAD 1).
    filt : read and base filters.
    threads : worker processes.
    contigs : count only SNVs (and report only regions) on these contigs, e.g. to scatter a run.

    Returns
    -------
    CountResult with ``allele_counts`` (schema ``allele_counts``) and, with ``regions``,
    ``region_counts`` (schema ``region_counts``).
    """
    headers = [read_bam_header(b, reference) for b in bams]
    names = resolve_samples(headers, samples)
    region_bed = read_bed(regions) if regions else None
    bad_bed = read_bad(bad) if bad else None

    snvs, summ = read_het_snvs(vcf, names)
    log.info("%s: %d records; skipped %d not SNVs (indels, MNPs, symbolic) and %d multi-allelic%s",
             vcf, summ.records, summ.not_snv, summ.multiallelic,
             " (split them with `bcftools norm -m- in.vcf.gz` to count them)" if summ.multiallelic else "")
    for s in names:
        log.info("sample %s: %d heterozygous SNVs (%d records not heterozygous 0/1 or missing)",
                 s, len(snvs[s]), summ.not_het[s])

    vcf_contigs = list(summ.contigs)
    if contigs:
        unknown = [c for c in contigs if c not in vcf_contigs]
        if unknown and vcf_contigs:
            raise AllelekitError(f"--contigs: {', '.join(unknown)} not among the contigs of {vcf} "
                                 f"({', '.join(vcf_contigs[:5])}{' ...' if len(vcf_contigs) > 5 else ''})")
        keep_c = set(contigs)
        for s_ in names:
            sn = snvs[s_]
            k = np.array([c in keep_c for c in sn.chrom], dtype=bool)
            for attr in ("chrom", "pos", "ref", "alt", "variant_id", "gt", "phased"):
                setattr(sn, attr, getattr(sn, attr)[k])
        if region_bed is not None:
            region_bed = _subset_bed(region_bed, keep_c)
    for bedx, what in ((region_bed, f"--regions {regions}"), (bad_bed, f"--bad {bad}")):
        if bedx is not None:
            used = list(dict.fromkeys(bedx.chrom.tolist()))
            miss = check_contigs(used, vcf_contigs, used_what=what, available_what=f"the VCF {vcf}",
                                 require_any=bool(vcf_contigs))
            if miss:
                log.warning("%s: %d contig(s) not in the VCF (e.g. %s)", what, len(miss), miss[0])

    items, tmp = [], None
    try:
        for h, s in zip(headers, names):
            sn = snvs[s]
            used = list(dict.fromkeys(sn.chrom.tolist()))
            miss = check_contigs(used, h.references, used_what=f"the VCF {vcf} (sample {s})",
                                 available_what=h.path)
            if miss:
                n_miss = int(np.isin(sn.chrom, miss).sum())
                log.warning("%s: %d heterozygous SNV(s) of %s on %d contig(s) absent from the BAM (e.g. %s) "
                            "are reported with zero counts", h.path, n_miss, s, len(miss), miss[0])
            path = h.path
            if h.is_cram:
                if tmp is None:
                    tmp = tempfile.TemporaryDirectory(prefix="allelekit-count-")
                log.info("%s: converting CRAM to a temporary BAM for counting", h.path)
                path = cram_to_bam(h.path, reference, tmp.name, threads)
            items.append(BamSnvs(path, h.references, sn.chrom, sn.pos, sn.ref, sn.alt))
        prog = progress_factory() if progress_factory else None
        from . import kernel

        kernel.warm()  # load numba and the cached kernels outside the timing
        from ..io.bam import INFLATE_NAME
        log.debug("inflating BGZF blocks with %s", INFLATE_NAME)
        c0, w0 = time.process_time(), time.monotonic()
        counts, stats = count_snvs(items, filt, threads, progress=prog)
        stats["count_cpu_s"] = time.process_time() - c0  # this process only (workers: threads > 1)
        stats["count_wall_s"] = time.monotonic() - w0
        if prog is not None:
            prog.close()
    finally:
        if tmp is not None:
            tmp.cleanup()
    log.info("read %d BAM records over the SNVs in %.2f s (%.2f s CPU in the main process), %d passed the "
             "record filters, %d with SEQ '*' skipped", stats["records"], stats["count_wall_s"],
             stats["count_cpu_s"], stats["used"], stats["no_seq"])
    if stats.get("workers", 0) > 1:
        log.info("counting CPU over %d worker processes: %.2f s in all, %.2f s in the busiest (on an idle machine "
                 "the counting step takes about the busiest worker's time)", stats["workers"], stats["task_cpu_s"],
                 stats["busiest_worker_cpu_s"])
    if stats["long_cigar"]:
        log.warning("%d records with more than 65535 CIGAR operations (CG tag) were skipped", stats["long_cigar"])

    # --- assemble the allele_counts table (numpy + pyarrow; pandas is not needed) -----------------
    cols = {k: [] for k in ("sample", "chrom", "pos", "ref", "alt", "variant_id", "gt", "phased", "counts")}
    for s, c in zip(names, counts):
        sn = snvs[s]
        cols["sample"].append(np.full(len(sn), s, dtype=object))
        for k in ("chrom", "pos", "ref", "alt", "variant_id", "gt", "phased"):
            cols[k].append(getattr(sn, k))
        cols["counts"].append(c)
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in cols.items()}
    cnt = cat["counts"].reshape(-1, 4).astype(np.int64)
    rank = {c: i for i, c in enumerate(vcf_contigs)}
    srank = {s: i for i, s in enumerate(sorted(names))}
    order = np.lexsort((cat["pos"].astype(np.int64), np.array([rank[c] for c in cat["chrom"]], np.int64),
                        np.array([srank[s] for s in cat["sample"]], np.int64))) if len(cnt) else np.empty(0, int)
    chrom = cat["chrom"][order].astype(object)
    pos = cat["pos"][order].astype(np.int64)
    cnt = cnt[order]

    hits = None
    if region_bed is not None:
        hits = lookup_intervals(region_bed, chrom, pos)
        region = [region_bed.name[h[0]] if len(h) else None for h in hits]
    else:
        region = [None] * len(pos)
    if bad_bed is not None:
        bh = lookup_intervals(bad_bed, chrom, pos)
        badv = np.array([bad_bed.score[h[0]] if len(h) else 1.0 for h in bh], dtype=np.float64)
    else:
        badv = np.ones(len(pos), np.float64)
    col = arrow_column
    table = pa.table({
        "sample": col(cat["sample"][order], pa.string()),
        "chrom": col(chrom, pa.string()),
        "pos": col(pos, pa.int64()),
        "ref": col(cat["ref"][order], pa.string()),
        "alt": col(cat["alt"][order], pa.string()),
        "variant_id": col(cat["variant_id"][order], pa.string()),
        "gt": col(cat["gt"][order], pa.string()),
        "phased": col(cat["phased"][order].astype(bool), pa.bool_()),
        "ref_count": col(cnt[:, 0], pa.int64()), "alt_count": col(cnt[:, 1], pa.int64()),
        "other_count": col(cnt[:, 2], pa.int64()), "del_count": col(cnt[:, 3], pa.int64()),
        "region": col(region, pa.string()),
        "bad": col(badv, pa.float64()),
    })
    rc = region_counts(table, region_bed, hits, sorted(names)) if region_bed is not None else None
    return CountResult(table, rc, {**stats, "samples": names})


def _subset_bed(bed: BedIntervals, contigs: set) -> BedIntervals:
    k = np.array([c in contigs for c in bed.chrom], dtype=bool)
    return BedIntervals(bed.chrom[k], bed.start[k], bed.end[k], bed.name[k],
                        None if bed.score is None else bed.score[k], bed.path)


def region_counts(table, bed: BedIntervals, hits: list[np.ndarray], samples: Sequence[str]):
    """Sum an allele_counts ``table``'s counts per sample and region (every region containing a SNV gets it).

    ``hits[i]``: the region indices containing row ``i`` of ``table``.  Every region appears for every
    sample (zero counts when it has no SNV).  ``hap1_count``/``hap2_count`` sum the counts of the
    allele on the left/right of ``'|'``; they are null when any SNV of the region is unphased.
    Returns a pyarrow Table (``region_counts`` schema), sorted by sample, chrom, start, end.
    """
    nreg = len(bed)
    lens = np.array([len(h) for h in hits], dtype=np.int64)
    rows = np.repeat(np.arange(table.num_rows), lens)
    regs = np.concatenate(hits).astype(np.int64) if len(hits) else np.empty(0, np.int64)
    ref = table.column("ref_count").to_numpy()
    alt = table.column("alt_count").to_numpy()
    oth = table.column("other_count").to_numpy()
    gt = table.column("gt").to_pylist()
    phased = table.column("phased").to_numpy(zero_copy_only=False).astype(bool)
    left_alt = np.array([g[:1] == "1" for g in gt], dtype=bool)
    hap1 = np.where(left_alt, alt, ref)
    hap2 = np.where(left_alt, ref, alt)
    samp = np.array(table.column("sample").to_pylist(), dtype=object)
    out = {k: [] for k in ("sample", "region", "chrom", "start", "end", "n_snvs", "ref_count", "alt_count",
                           "other_count", "hap1_count", "hap2_count", "unphased")}
    o = np.lexsort((np.arange(nreg), bed.end, bed.start, np.array([str(c) for c in bed.chrom], dtype=object))) \
        if nreg else np.empty(0, np.int64)
    for s in samples:
        m = samp[rows] == s if len(rows) else np.zeros(0, bool)
        r, g = rows[m], regs[m]

        def acc(v):
            return np.bincount(g, weights=v[r], minlength=nreg).astype(np.int64)

        out["sample"].append(np.full(nreg, s, dtype=object))
        out["region"].append(bed.name)
        out["chrom"].append(bed.chrom)
        out["start"].append(bed.start)
        out["end"].append(bed.end)
        out["n_snvs"].append(np.bincount(g, minlength=nreg).astype(np.int64))
        out["ref_count"].append(acc(ref))
        out["alt_count"].append(acc(alt))
        out["other_count"].append(acc(oth))
        out["hap1_count"].append(acc(hap1))
        out["hap2_count"].append(acc(hap2))
        out["unphased"].append(np.bincount(g, weights=(~phased[r]).astype(float), minlength=nreg) > 0)
    cat = {k: np.concatenate([v[o] for v in vs]) if vs else np.empty(0) for k, vs in out.items()}
    unph = cat.pop("unphased").astype(bool)
    col = arrow_column
    return pa.table({
        "sample": col(cat["sample"], pa.string()),
        "region": col(cat["region"], pa.string()),
        "chrom": col(cat["chrom"], pa.string()),
        **{k: col(cat[k].astype(np.int64), pa.int64()) for k in ("start", "end", "n_snvs", "ref_count", "alt_count",
                                                                 "other_count")},
        "hap1_count": pa.array(cat["hap1_count"].astype(np.int64), mask=unph),
        "hap2_count": pa.array(cat["hap2_count"].astype(np.int64), mask=unph),
    })
