"""Build the ``cnn_dataset`` training set (both alleles' sequences + per-allele counts per locus).

Two inputs are supported:

* :func:`build_from_vcf`: a reference FASTA, a phased VCF/BCF (one sample), a regions BED and the
  per-allele counts of each region.  Allele A is haplotype 1 (left of ``|``), allele B haplotype 2;
  counts come from allelekit-count's ``region_counts`` (``hap1_count``/``hap2_count``) or from a TSV
  ``region count_a count_b [chrom]``.  Each allele's sequence is its own haplotype (SNVs and indels
  applied) over a window of ``seq_len`` bp centred on the region centre, so an indel upstream of the
  centre shifts the window with it (as in DeepAllele, where each allele is its strain's sequence).
* :func:`build_from_two_fastas`: one FASTA per allele/strain with one record per region (the same
  names in both), as F1-hybrid users have, plus the counts TSV.  Each record is centre-cropped to
  ``seq_len`` or padded with N on both sides.

Bad input (REF not matching the FASTA, regions running off a contig, characters other than ACGTN,
negative or missing counts) raises :class:`AllelekitError` naming the first few offenders.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AllelekitError
from ..io.bed import read_bed
from .data import check_sequences, chrom_from_name

log = logging.getLogger("allelekit.cnn")


# --- inputs -------------------------------------------------------------------------------------
def read_regions(path: str | os.PathLike) -> list[tuple[str, int, int, str]]:
    """BED regions as (chrom, start, end, name); name = column 4 or chrom:start-end (see
    :func:`allelekit.io.bed.read_bed`).  Region names must be unique: they become the locus ids."""
    bed = read_bed(path)
    seen: set[str] = set()
    for name in bed.name:
        if name in seen:
            raise AllelekitError(f"{path}: region name {name!r} occurs twice; names must be unique (they "
                                 "become the locus ids)")
        seen.add(name)
    return [(str(c), int(a), int(b), str(n)) for c, a, b, n in zip(bed.chrom, bed.start, bed.end, bed.name)]


def _is_parquet(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError as exc:
        raise AllelekitError(f"{path}: cannot read the counts ({exc.strerror})") from None


def read_counts(path: str | os.PathLike, sample: str | None = None):
    """Counts per region as a DataFrame (region, count_a, count_b[, chrom]) from region_counts or a TSV."""
    import pandas as pd

    if _is_parquet(path):
        from ..schemas import read_table

        df = read_table(path, "region_counts").to_pandas()
        samples = sorted(df["sample"].astype(str).unique())
        if sample is None:
            if len(samples) > 1:
                raise AllelekitError(f"{path}: counts of {len(samples)} samples ({', '.join(samples[:5])}); "
                                     "choose one with --sample")
            sample = samples[0] if samples else None
        elif sample not in samples:
            raise AllelekitError(f"{path}: sample {sample!r} not in the counts (samples: {', '.join(samples[:8])})")
        df = df[df["sample"] == sample]
        return pd.DataFrame({"region": df["region"].astype(str).to_numpy(),
                             "count_a": df["hap1_count"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan),
                             "count_b": df["hap2_count"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan),
                             "chrom": df["chrom"].astype(str).to_numpy()}), sample
    try:
        df = pd.read_csv(path, sep="\t", comment="#", dtype={"region": str, "chrom": str})
    except Exception as exc:
        raise AllelekitError(f"{path}: cannot read the counts TSV ({exc})") from None
    need = [c for c in ("region", "count_a", "count_b") if c not in df.columns]
    if need:
        raise AllelekitError(f"{path}: the counts TSV lacks column(s) {', '.join(need)} (header: region, count_a, "
                             "count_b [, chrom])")
    for c in ("count_a", "count_b"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if df["region"].duplicated().any():
        raise AllelekitError(f"{path}: region {df['region'][df['region'].duplicated()].iloc[0]!r} occurs twice")
    return df, sample


def _counts_for(regions: list[str], counts, source: str, skip_missing: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count_a, count_b, keep mask) aligned to ``regions``."""
    idx = counts.set_index("region")
    ca = idx["count_a"].reindex(regions).to_numpy(dtype=np.float64)
    cb = idx["count_b"].reindex(regions).to_numpy(dtype=np.float64)
    neg = (ca < 0) | (cb < 0)
    if neg.any():
        show = ", ".join(f"{regions[i]} ({ca[i]:g}, {cb[i]:g})" for i in np.flatnonzero(neg)[:3])
        raise AllelekitError(f"{source}: negative counts for {int(neg.sum())} region(s): {show}")
    missing = ~np.isfinite(ca) | ~np.isfinite(cb)
    if missing.any() and not skip_missing:
        show = ", ".join(regions[i] for i in np.flatnonzero(missing)[:5])
        raise AllelekitError(f"{source}: allele counts missing for {int(missing.sum())} of {len(regions)} region(s) "
                             f"(first: {show}); unphased or absent regions have no per-allele counts - phase the "
                             "VCF, fix the counts, or pass --skip-missing-counts to drop them")
    if missing.any():
        log.warning("dropping %d region(s) without allele counts", int(missing.sum()))
    return ca, cb, ~missing


# --- haplotype sequences ------------------------------------------------------------------------
def _load_variants(vcf_path, sample: str | None, windows: dict[str, list[tuple[int, int]]]):
    """Variants of ``sample`` overlapping the windows: {chrom: [(pos0, ref, (allele1, allele2), phased)]}."""
    import pysam

    try:
        vf = pysam.VariantFile(str(vcf_path))
    except (OSError, ValueError) as exc:
        raise AllelekitError(f"{vcf_path}: cannot open the VCF ({exc})") from None
    with vf:
        samples = list(vf.header.samples)
        if not samples:
            raise AllelekitError(f"{vcf_path}: the VCF has no sample columns; a phased genotype is needed")
        if sample is None:
            if len(samples) > 1:
                raise AllelekitError(f"{vcf_path}: {len(samples)} samples ({', '.join(samples[:5])}); choose one "
                                     "with --sample")
            sample = samples[0]
        elif sample not in samples:
            raise AllelekitError(f"{vcf_path}: sample {sample!r} not in the VCF (samples: {', '.join(samples[:8])})")
        # merged window spans per chrom for a quick overlap test
        spans = {c: (np.array([s for s, _ in w]), np.array([e for _, e in w])) for c, w in windows.items()}
        out: dict[str, list] = {c: [] for c in windows}
        n_symbolic = 0
        for rec in vf:
            if rec.chrom not in spans:
                continue
            pos0 = rec.pos - 1
            rend = pos0 + len(rec.ref)
            st, en = spans[rec.chrom]
            if not ((st < rend) & (en > pos0)).any():
                continue
            s = rec.samples[sample]
            gt = s.get("GT")
            if gt is None or len(gt) != 2:
                continue
            alleles = rec.alleles
            haps = []
            for g in gt:
                a = alleles[g] if g is not None else rec.ref
                haps.append(a)
            if any(h is None or h.startswith("<") or h == "*" or not set(h.upper()) <= set("ACGTN") for h in haps):
                if any(h != rec.ref for h in haps):
                    n_symbolic += 1
                continue
            if haps[0] == rec.ref and haps[1] == rec.ref:
                continue
            out[rec.chrom].append((pos0, rec.ref.upper(), (haps[0].upper(), haps[1].upper()), bool(s.phased)))
    if n_symbolic:
        log.warning("%d symbolic or spanning-deletion allele(s) ignored", n_symbolic)
    for c in out:
        out[c].sort(key=lambda v: v[0])
    return out, sample


def _haplotype(ref_ext: str, ext_start: int, variants, hap: int, centre: int) -> tuple[str, int]:
    """Apply ``hap``'s alleles to the reference segment; return (sequence, centre position in it)."""
    parts, last, shift = [], 0, 0
    centre_rel = centre - ext_start
    for pos0, ref, alleles, _ in variants:
        allele = alleles[hap]
        rel = pos0 - ext_start
        if allele == ref or rel < last:  # reference allele, or overlaps an applied variant
            continue
        parts += [ref_ext[last:rel], allele]
        last = rel + len(ref)
        if last <= centre_rel:
            shift += len(allele) - len(ref)
    parts.append(ref_ext[last:])
    return "".join(parts), centre_rel + shift


def build_from_vcf(fasta: str | os.PathLike, vcf: str | os.PathLike, regions: str | os.PathLike,
                   counts: str | os.PathLike, seq_len: int = 330, sample: str | None = None,
                   skip_missing: bool = False):
    """cnn_dataset DataFrame from reference FASTA + phased VCF + regions BED + counts (see module doc)."""
    import pandas as pd
    import pysam

    regs = read_regions(regions)
    cdf, csample = read_counts(counts, sample)
    sample = sample or csample
    try:
        fa = pysam.FastaFile(str(fasta))
    except (OSError, ValueError) as exc:
        raise AllelekitError(f"{fasta}: cannot open the FASTA ({exc}); it must be plain or bgzip-compressed and "
                             "indexable (samtools faidx)") from None
    lengths = dict(zip(fa.references, fa.lengths))
    half = seq_len // 2
    windows: dict[str, list[tuple[int, int]]] = {}
    off = []
    for chrom, start, end, name in regs:
        if chrom not in lengths:
            raise AllelekitError(f"{regions}: region {name} is on contig {chrom!r}, which is not in {fasta}")
        centre = (start + end) // 2
        ws = centre - half
        if ws < 0 or ws + seq_len > lengths[chrom]:
            off.append(f"{name} ({chrom}:{ws}-{ws + seq_len}, contig length {lengths[chrom]})")
            continue
        windows.setdefault(chrom, []).append((max(0, ws - seq_len), min(lengths[chrom], ws + 2 * seq_len)))
    if off:
        raise AllelekitError(f"{regions}: {len(off)} region(s) whose {seq_len}-bp window runs off the contig end: "
                             f"{'; '.join(off[:3])}; remove them or use a smaller --seq-len")
    variants, sample = _load_variants(vcf, sample, windows)

    ca, cb, keep = _counts_for([r[3] for r in regs], cdf, str(counts), skip_missing)
    rows: dict[str, list[Any]] = {k: [] for k in ("locus_id", "chrom", "start", "end", "seq_a", "seq_b",
                                                   "count_a", "count_b", "n_variants")}
    mismatches: list[str] = []
    n_unphased = n_pad = 0
    for i, (chrom, start, end, name) in enumerate(regs):
        if not keep[i]:
            continue
        centre = (start + end) // 2
        ws = centre - half
        ext_s, ext_e = max(0, ws - seq_len), min(lengths[chrom], ws + 2 * seq_len)
        ref_ext = fa.fetch(chrom, ext_s, ext_e).upper()
        vs = []
        for v in variants.get(chrom, ()):
            pos0, ref, alleles, phased = v
            if pos0 < ext_s or pos0 + len(ref) > ext_e:
                continue
            if ref_ext[pos0 - ext_s: pos0 - ext_s + len(ref)] != ref:
                if ws <= pos0 < ws + seq_len and len(mismatches) < 1000:
                    mismatches.append(f"{chrom}:{pos0 + 1} REF {ref} but FASTA {ref_ext[pos0 - ext_s: pos0 - ext_s + len(ref)]}")
                continue
            if alleles[0] != alleles[1] and not phased:
                if ws <= pos0 < ws + seq_len:
                    n_unphased += 1
                continue
            vs.append(v)
        seqs = []
        for hap in (0, 1):
            s, c = _haplotype(ref_ext, ext_s, vs, hap, centre)
            lo = c - half
            seg = s[max(0, lo): lo + seq_len]
            if lo < 0 or len(seg) < seq_len:
                n_pad += 1
                seg = "N" * max(0, -lo) + seg
                seg = seg + "N" * (seq_len - len(seg))
            seqs.append(seg)
        n_diff = sum(1 for pos0, ref, al, _ in vs if ws <= pos0 < ws + seq_len and al[0] != al[1])
        rows["locus_id"].append(name)
        rows["chrom"].append(chrom)
        rows["start"].append(ws)
        rows["end"].append(ws + seq_len)
        rows["seq_a"].append(seqs[0])
        rows["seq_b"].append(seqs[1])
        rows["count_a"].append(float(ca[i]))
        rows["count_b"].append(float(cb[i]))
        rows["n_variants"].append(n_diff)
    fa.close()
    if mismatches:
        raise AllelekitError(f"{vcf}: REF disagrees with {fasta} at {len(mismatches)} variant(s) in the windows "
                             f"(first: {'; '.join(mismatches[:3])}); is the VCF on the same genome build?")
    if n_unphased:
        log.warning("%d unphased heterozygous variant(s) in the windows were left at the reference allele in both "
                    "alleles", n_unphased)
    if n_pad:
        log.warning("%d allele window(s) padded with N (long deletions near a window end)", n_pad)
    check_sequences(rows["seq_a"], "allele A of region")
    df = pd.DataFrame(rows)
    if df.empty:
        raise AllelekitError("no regions left to write")
    return _sorted(df)


def _sorted(df):
    return df.sort_values(["chrom", "start", "locus_id"], kind="stable").reset_index(drop=True)


def _read_fasta_records(path: str | os.PathLike) -> dict[str, str]:
    import pysam

    if not Path(path).exists():
        raise AllelekitError(f"{path}: no such FASTA file")
    out: dict[str, str] = {}
    try:
        with pysam.FastxFile(str(path)) as fh:
            for rec in fh:
                if rec.name in out:
                    raise AllelekitError(f"{path}: record {rec.name!r} occurs twice")
                out[rec.name] = rec.sequence or ""
    except (OSError, ValueError) as exc:
        raise AllelekitError(f"{path}: cannot read FASTA ({exc})") from None
    if not out:
        raise AllelekitError(f"{path}: no FASTA records")
    return out


def _fit_length(seq: str, seq_len: int) -> str:
    if len(seq) >= seq_len:
        lo = (len(seq) - seq_len) // 2
        return seq[lo: lo + seq_len]
    left = (seq_len - len(seq)) // 2
    return "N" * left + seq + "N" * (seq_len - len(seq) - left)


def build_from_two_fastas(fasta_a: str | os.PathLike, fasta_b: str | os.PathLike, counts: str | os.PathLike,
                          seq_len: int = 330, skip_missing: bool = False):
    """cnn_dataset DataFrame from one FASTA per allele (same record names) and a counts TSV."""
    import pandas as pd

    ra, rb = _read_fasta_records(fasta_a), _read_fasta_records(fasta_b)
    only_a = [n for n in ra if n not in rb]
    only_b = [n for n in rb if n not in ra]
    if only_a or only_b:
        raise AllelekitError(f"the two FASTAs name different regions: {len(only_a)} only in {fasta_a} "
                             f"({', '.join(only_a[:3])}), {len(only_b)} only in {fasta_b} ({', '.join(only_b[:3])})")
    names = list(ra)
    for path, recs in ((fasta_a, ra), (fasta_b, rb)):
        try:
            check_sequences([recs[n] for n in names], "record")
        except AllelekitError as exc:
            raise AllelekitError(f"{path}: {exc}") from None
    cdf, _ = read_counts(counts)
    ca, cb, keep = _counts_for(names, cdf, str(counts), skip_missing)
    chrom_col = cdf.set_index("region")["chrom"].reindex(names) if "chrom" in cdf.columns else None
    rows = []
    bad = []
    for i, n in enumerate(names):
        if not keep[i]:
            continue
        chrom = chrom_col.iloc[i] if chrom_col is not None and isinstance(chrom_col.iloc[i], str) else chrom_from_name(n)
        if chrom is None:
            bad.append(n)
            continue
        import re

        m = re.match(r"^[^:\s]+?[:\-_](\d+)[\-_](\d+)$", n)
        start, end = (int(m.group(1)), int(m.group(2))) if m else (0, seq_len)
        rows.append(dict(locus_id=n, chrom=chrom, start=start, end=end, seq_a=_fit_length(ra[n], seq_len),
                         seq_b=_fit_length(rb[n], seq_len), count_a=float(ca[i]), count_b=float(cb[i]),
                         n_variants=None))
    if bad:
        raise AllelekitError(f"{counts}: no chromosome for {len(bad)} region(s) (first: {', '.join(bad[:3])}); name "
                             "records chrN-start-end or add a 'chrom' column to the counts TSV")
    df = pd.DataFrame(rows)
    if df.empty:
        raise AllelekitError("no regions left to write")
    df["n_variants"] = df["n_variants"].astype("Int64")
    return _sorted(df)
