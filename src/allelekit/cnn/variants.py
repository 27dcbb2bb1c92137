# variants.py — allele alignment, variant insertion in both directions, main variant, trusted loci.
"""Variant effects of a paired-allele model and the "main variant" of each locus.

1. :func:`align_alleles` aligns the two allele sequences globally (Biopython ``PairwiseAligner``;
   match 1, mismatch 0, gap open -0.5, extend -0.1 as DeepAllele's ``globalxs``; end gaps free,
   because the two windows have fixed length and an indel shifts the 3' end).  Mismatch columns
   are SNVs; runs of gap columns are indels.  Columns where either allele has N, and the
   terminal overhangs, are not variants.
2. :func:`variant_effects` puts allele B's version of each variant into A (``Δ_A = ratio(A+v_B, B) -
   ratio(A, B)``) and A's version into B (``Δ_B = ratio(A, B+v_A) - ratio(A, B)``), re-pads to the
   model length, and reports ``effect = -(Δ_A + Δ_B) / 2`` (positive: A's allele raises A/B).
3. The main variant of a locus is the one with the largest ``|effect|``.
4. :func:`trusted_loci`: ``|measured log ratio| > 1``, ``|pred / RMS(pred)| > 1.65`` and the same
   sign.

Coordinates are 0-based half-open within each allele's sequence; an insertion (bases in B, none in
A) has ``start_a == end_a`` = the position in A before which B's bases sit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .attribute import predict, RATIO

log = logging.getLogger("allelekit.cnn")

_ALIGNER = None


@dataclass(frozen=True)
class Variant:
    """One difference between the alleles (0-based half-open spans in each allele)."""

    kind: str          # 'snv', 'insertion' (bases only in B), 'deletion' (bases only in A), 'mnv' unused
    start_a: int
    end_a: int
    start_b: int
    end_b: int
    aln_start: int     # alignment column span
    aln_end: int
    seq_a: str
    seq_b: str


def _aligner():
    global _ALIGNER
    if _ALIGNER is None:
        from Bio.Align import PairwiseAligner

        al = PairwiseAligner()
        al.mode = "global"
        al.match_score = 1.0
        al.mismatch_score = 0.0
        al.open_gap_score = -0.5
        al.extend_gap_score = -0.1
        for name in ("open_end_gap_score", "extend_end_gap_score"):
            setattr(al, name, 0.0)
        _ALIGNER = al
    return _ALIGNER


def align_alleles(seq_a: str, seq_b: str) -> tuple[np.ndarray, list[Variant]]:
    """Globally align two alleles and list their variants.

    Parameters
    ----------
    seq_a, seq_b: str
        Allele sequences (ACGTN).

    Returns
    -------
    indices: numpy.ndarray, shape=(2, n_columns)
        For each alignment column the 0-based position in A (row 0) and B (row 1), -1 for a gap.
    variants: list of Variant
        SNVs (one per mismatch column) and indels (one per run of gap columns), 5' to 3';
        terminal overhangs and columns with N are skipped.
    """
    a, b = seq_a.upper(), seq_b.upper()
    if a == b:
        idx = np.vstack([np.arange(len(a)), np.arange(len(b))])
        return idx, []
    aln = _aligner().align(a, b)[0]
    idx = np.asarray(aln.indices)
    return idx, _variants_from_indices(idx, a, b)


def _variants_from_indices(idx: np.ndarray, a: str, b: str) -> list[Variant]:
    ia, ib = idx
    both = (ia >= 0) & (ib >= 0)
    aligned_cols = np.nonzero(both)[0]
    if len(aligned_cols) == 0:
        return []
    first, last = aligned_cols[0], aligned_cols[-1]
    out: list[Variant] = []
    c = first
    while c <= last:
        if both[c]:
            ca, cb = a[ia[c]], b[ib[c]]
            if ca != cb and ca != "N" and cb != "N":
                out.append(Variant("snv", int(ia[c]), int(ia[c]) + 1, int(ib[c]), int(ib[c]) + 1, int(c), int(c) + 1,
                                   ca, cb))
            c += 1
            continue
        # a run of gap columns; one indel per run of the same gap side
        gap_in_a = ia[c] < 0
        s = c
        while c <= last and not both[c] and ((ia[c] < 0) == gap_in_a):
            c += 1
        # flanking aligned positions
        if gap_in_a:   # bases only in B: insertion relative to A
            pa = int(ia[s - 1]) + 1
            sb, eb = int(ib[s]), int(ib[c - 1]) + 1
            seq = b[sb:eb]
            if "N" in seq:
                continue
            out.append(Variant("insertion", pa, pa, sb, eb, int(s), int(c), "", seq))
        else:          # bases only in A: deletion in B
            pb = int(ib[s - 1]) + 1
            sa, ea = int(ia[s]), int(ia[c - 1]) + 1
            seq = a[sa:ea]
            if "N" in seq:
                continue
            out.append(Variant("deletion", sa, ea, pb, pb, int(s), int(c), seq, ""))
    return out


def insert_variant(x_to: np.ndarray, x_from: np.ndarray, span_to: tuple[int, int],
                   span_from: tuple[int, int]) -> np.ndarray:
    """Replace ``x_to[:, span_to]`` by ``x_from[:, span_from]`` and re-pad/trim to the same length.

    Parameters
    ----------
    x_to, x_from: numpy.ndarray, shape=(4, L)
        One-hot alleles; padding (zero columns) at the 3' end.
    span_to, span_from: tuple of int
        0-based half-open spans.

    Returns
    -------
    numpy.ndarray, shape=(4, L)
    """
    length = x_to.shape[1]
    new = np.concatenate([x_to[:, :span_to[0]], x_from[:, span_from[0]:span_from[1]], x_to[:, span_to[1]:]], axis=1)
    if new.shape[1] >= length:
        return new[:, :length]
    return np.concatenate([new, np.zeros((4, length - new.shape[1]), dtype=x_to.dtype)], axis=1)


def variant_effects(model, xa: np.ndarray, xb: np.ndarray, variants: list[list[Variant]], *,
                    target: int = RATIO, batch_size: int = 512, device: str = "cpu",
                    base_pred: np.ndarray | None = None, verbose: bool = False):
    """Effects of every variant on output ``target``, inserted both ways and averaged.

    Parameters
    ----------
    model: torch.nn.Module
        ``forward(xa, xb) -> (N, 3)``.
    xa, xb: numpy.ndarray, shape=(N, 4, L)
        One-hot alleles.
    variants: list (length N) of list of Variant
        From :func:`align_alleles` per locus.
    base_pred: numpy.ndarray, shape=(N,), optional
        ``pred(A, B)[:, target]`` when already computed.

    Returns
    -------
    delta_a, delta_b, effect: list (length N) of numpy.ndarray, shape=(n_variants,)
        ``Δ_A`` (B's version in A), ``Δ_B`` (A's version in B) and ``-(Δ_A + Δ_B)/2``.
    """
    xa = np.asarray(xa, dtype=np.float32)
    xb = np.asarray(xb, dtype=np.float32)
    n = len(xa)
    if base_pred is None:
        base_pred = predict(model, xa, xb, batch_size=batch_size, device=device)[:, target]
    counts = [len(v) for v in variants]
    total = sum(counts)
    pa = np.empty((2 * total, *xa.shape[1:]), dtype=np.float32)
    pb = np.empty_like(pa)
    j = 0
    for i in range(n):
        for v in variants[i]:
            pa[j] = insert_variant(xa[i], xb[i], (v.start_a, v.end_a), (v.start_b, v.end_b))
            pb[j] = xb[i]
            pa[j + total] = xa[i]
            pb[j + total] = insert_variant(xb[i], xa[i], (v.start_b, v.end_b), (v.start_a, v.end_a))
            j += 1
    y = predict(model, pa, pb, batch_size=batch_size, device=device)[:, target] if total else np.zeros(0)
    da_all, db_all = y[:total], y[total:]
    out_a, out_b, out_e = [], [], []
    j = 0
    for i in range(n):
        k = counts[i]
        da = da_all[j:j + k] - base_pred[i]
        db = db_all[j:j + k] - base_pred[i]
        out_a.append(da)
        out_b.append(db)
        out_e.append(-(da + db) / 2.0)
        j += k
    return out_a, out_b, out_e


def measured_log_ratio(count_a, count_b) -> np.ndarray:
    """``log((1 + count_a) / (1 + count_b))`` (natural log)."""
    return np.log1p(np.asarray(count_a, dtype=float)) - np.log1p(np.asarray(count_b, dtype=float))


def trusted_loci(measured: np.ndarray, predicted: np.ndarray, *, min_abs_ratio: float = 1.0,
                 min_abs_z: float = 1.65) -> np.ndarray:
    """DeepAllele's trusted loci: ``|measured| > min_abs_ratio``, ``|pred / RMS(pred)| > min_abs_z``,
    same sign.  Loci with a missing (NaN) measured ratio are never trusted.

    Parameters
    ----------
    measured, predicted: numpy.ndarray, shape=(N,)

    Returns
    -------
    numpy.ndarray of bool, shape=(N,)
    """
    measured = np.asarray(measured, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    rms = np.sqrt(np.mean(predicted ** 2)) if len(predicted) else 0.0
    z = predicted / rms if rms > 0 else np.zeros_like(predicted)
    ok = np.isfinite(measured) & (np.abs(measured) > min_abs_ratio) & (np.abs(z) > min_abs_z)
    return ok & (np.sign(measured) == np.sign(predicted))
