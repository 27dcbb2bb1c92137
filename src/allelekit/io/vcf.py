"""Heterozygous biallelic SNVs per sample from a VCF/BCF (read with cyvcf2)."""
from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import AllelekitError

log = logging.getLogger("allelekit.io")

__all__ = ["HetSNVs", "vcf_samples", "read_het_snvs"]

_BASES = set("ACGT")


@dataclass
class HetSNVs:
    """Heterozygous biallelic SNVs of one sample, in VCF order (sorted by contig order, then pos).

    Arrays have one entry per SNV: ``chrom`` (str), ``pos`` (int64, 1-based), ``ref``/``alt`` (one
    upper-case base each), ``variant_id`` (str or None), ``gt`` (as written, e.g. ``'0|1'``),
    ``phased`` (bool).
    """

    sample: str
    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    variant_id: np.ndarray
    gt: np.ndarray
    phased: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class VcfSummary:
    """What :func:`read_het_snvs` skipped, for the log."""

    records: int = 0
    not_snv: int = 0
    multiallelic: int = 0
    not_het: Counter = field(default_factory=Counter)
    contigs: list[str] = field(default_factory=list)


def _open(path: str | os.PathLike):
    import cyvcf2

    p = Path(path)
    if not p.exists():
        raise AllelekitError(f"{p}: no such VCF/BCF file")
    try:
        return cyvcf2.VCF(str(p), lazy=True, threads=1)
    except (OSError, IOError, Exception) as exc:  # cyvcf2 raises plain Exception for some errors
        raise AllelekitError(f"{p}: cannot open as VCF/BCF ({exc})") from None


def vcf_samples(path: str | os.PathLike) -> list[str]:
    """Sample names of a VCF/BCF header."""
    v = _open(path)
    try:
        return list(v.samples)
    finally:
        v.close()


def read_het_snvs(path: str | os.PathLike, samples: Sequence[str]) -> tuple[dict[str, HetSNVs], VcfSummary]:
    """Read the heterozygous biallelic SNVs of each of ``samples``.

    A record is kept for a sample when it has exactly one ALT allele, REF and ALT are single bases
    among A, C, G, T, and the sample's GT is diploid with one 0 and one 1 allele (``0/1``, ``1/0``,
    ``0|1``, ``1|0``).  FILTER is not looked at (pre-filter with ``bcftools view -f PASS``).
    Multi-allelic records are skipped and counted (split them with ``bcftools norm -m-``).

    Raises :class:`AllelekitError` when the file cannot be read, has no GT FORMAT field, or a sample
    is not in it.
    """
    vcf = _open(path)
    try:
        all_samples = list(vcf.samples)
        missing = [s for s in samples if s not in all_samples]
        if missing:
            shown = ", ".join(all_samples[:6]) + (" ..." if len(all_samples) > 6 else "")
            raise AllelekitError(f"{path}: sample(s) {', '.join(missing)} not in the VCF (its samples: "
                                 f"{shown or 'none'}); pass --sample with names from the VCF")
        try:
            vcf.get_header_type("GT")
        except KeyError:
            raise AllelekitError(f"{path}: the VCF has no GT (genotype) FORMAT field; allelekit-count needs "
                                 "genotypes to find heterozygous SNVs") from None
        vcf.set_samples(list(samples))
        order = list(vcf.samples)  # cyvcf2 keeps header order
        col = [order.index(s) for s in samples]
        summ = VcfSummary(contigs=list(vcf.seqnames) if vcf.seqnames else [])
        recs: dict[str, list] = {s: [] for s in samples}
        try:
            for v in vcf:
                summ.records += 1
                alts = v.ALT
                ref = v.REF.upper()
                if len(alts) != 1:
                    if len(alts) > 1:
                        summ.multiallelic += 1
                    else:
                        summ.not_snv += 1
                    continue
                alt = alts[0].upper()
                if len(ref) != 1 or len(alt) != 1 or ref not in _BASES or alt not in _BASES or ref == alt:
                    summ.not_snv += 1
                    continue
                gts = v.genotypes
                site = None
                for s, k in zip(samples, col):
                    g = gts[k]
                    if len(g) != 3 or g[0] < 0 or g[1] < 0 or {g[0], g[1]} != {0, 1}:
                        summ.not_het[s] += 1
                        continue
                    if site is None:
                        vid = v.ID
                        site = (v.CHROM, v.POS, ref, alt, vid if vid and vid != "." else None)
                    ph = bool(g[2])
                    recs[s].append((*site, f"{g[0]}{'|' if ph else '/'}{g[1]}", ph))
        except (OSError, Exception) as exc:
            if isinstance(exc, AllelekitError):
                raise
            raise AllelekitError(f"{path}: error while reading the VCF after {summ.records} records ({exc}); "
                                 "is it truncated?") from None
    finally:
        vcf.close()
    contig_rank = {c: i for i, c in enumerate(summ.contigs)}
    out = {}
    for s in samples:
        r = recs[s]
        chrom = np.array([x[0] for x in r], dtype=object)
        pos = np.array([x[1] for x in r], dtype=np.int64)
        for c in dict.fromkeys(chrom.tolist()):
            if c not in contig_rank:
                contig_rank[c] = len(contig_rank)
                summ.contigs.append(c)
        rank = np.array([contig_rank[c] for c in chrom], dtype=np.int64)
        o = np.lexsort((pos, rank)) if len(r) else np.empty(0, np.int64)
        out[s] = HetSNVs(
            sample=s, chrom=chrom[o], pos=pos[o],
            ref=np.array([x[2] for x in r], dtype=object)[o], alt=np.array([x[3] for x in r], dtype=object)[o],
            variant_id=np.array([x[4] for x in r], dtype=object)[o], gt=np.array([x[5] for x in r], dtype=object)[o],
            phased=np.array([x[6] for x in r], dtype=bool)[o],
        )
    return out, summ
