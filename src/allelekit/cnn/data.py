"""One-hot encoding, training targets, leave-chromosome-out splits and metrics (numpy only).

Conventions shared with :mod:`allelekit.cnn.models` and ``allelekit-cnn-attribute``:

* one-hot arrays are float32 of shape ``(N, 4, L)`` with channels in ACGT order; ``N`` (or ``n``)
  is 0.25 in every channel; lower case is accepted; sequences shorter than the longest one are
  padded with all-zero columns at the 3' end (as DeepAllele pads).
* targets are ``(N, 3)`` = ``[log1p(count_a), log1p(count_b), log((1 + count_a) / (1 + count_b))]``
  (natural logs).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ..errors import AllelekitError

ALPHABET = "ACGT"
_LUT = np.full(256, -1, dtype=np.int8)
for _i, _b in enumerate(ALPHABET):
    _LUT[ord(_b)] = _i
    _LUT[ord(_b.lower())] = _i
_LUT[ord("N")] = 4
_LUT[ord("n")] = 4
_ROWS = np.zeros((6, 4), dtype=np.float32)  # 0-3 bases, 4 = N, 5 = padding
_ROWS[:4] = np.eye(4, dtype=np.float32)
_ROWS[4] = 0.25


def _codes(seq: str, index: int) -> np.ndarray:
    try:
        raw = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    except (UnicodeEncodeError, AttributeError):
        raise AllelekitError(f"sequence {index}: not an ASCII DNA string ({str(seq)[:20]!r}...)") from None
    codes = _LUT[raw]
    if (codes < 0).any():
        bad = sorted({chr(c) for c in raw[codes < 0]})
        raise AllelekitError(f"sequence {index}: characters other than ACGTN: {', '.join(map(repr, bad[:5]))} "
                             f"(first at position {int(np.argmax(codes < 0))}); only A, C, G, T, N "
                             "(any case) are allowed")
    return codes


def one_hot(seqs: Sequence[str]) -> np.ndarray:
    """One-hot encode DNA strings as float32 ``(N, 4, L)``, ACGT order, N = 0.25 each.

    ``L`` is the length of the longest sequence; shorter ones get all-zero columns at the 3' end.
    Characters other than ACGTN (any case) raise :class:`AllelekitError`.
    """
    seqs = list(seqs)
    n = len(seqs)
    if n == 0:
        return np.zeros((0, 4, 0), dtype=np.float32)
    length = max(len(s) for s in seqs)
    codes = np.full((n, length), 5, dtype=np.int8)
    for i, s in enumerate(seqs):
        if len(s):
            codes[i, : len(s)] = _codes(s, i)
    return np.ascontiguousarray(_ROWS[codes].transpose(0, 2, 1))


def check_sequences(seqs: Iterable[str], what: str = "sequence") -> None:
    """Raise :class:`AllelekitError` naming the first sequence with characters other than ACGTN."""
    for i, s in enumerate(seqs):
        try:
            _codes(s, i)
        except AllelekitError as exc:
            raise AllelekitError(f"{what} {exc}") from None


def reverse_complement(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTNacgtn", "TGCANtgcan"))[::-1]


def targets(count_a: np.ndarray, count_b: np.ndarray) -> np.ndarray:
    """``(N, 3)`` float32 targets: log1p(count_a), log1p(count_b), log((1+a)/(1+b))."""
    a = np.log1p(np.asarray(count_a, dtype=np.float64))
    b = np.log1p(np.asarray(count_b, dtype=np.float64))
    return np.stack([a, b, a - b], axis=1).astype(np.float32)


def check_counts(count_a: np.ndarray, count_b: np.ndarray, ids: Sequence[str], source: str = "dataset") -> None:
    """Counts must be finite and >= 0; raise naming the first few offending loci."""
    for name, c in (("count_a", count_a), ("count_b", count_b)):
        c = np.asarray(c, dtype=np.float64)
        bad = ~np.isfinite(c) | (c < 0)
        if bad.any():
            idx = np.flatnonzero(bad)[:5]
            show = ", ".join(f"{ids[i]}={c[i]}" for i in idx)
            raise AllelekitError(f"{source}: {int(bad.sum())} locus/loci with a missing or negative {name} "
                                 f"(first: {show}); counts must be >= 0")


def split_by_chrom(chroms: Sequence[str], val_chroms: Sequence[str], test_chroms: Sequence[str]) -> np.ndarray:
    """Leave-chromosome-out split: an array of 'train' / 'val' / 'test' labels, one per locus.

    Raises :class:`AllelekitError` when a held-out chromosome has no loci, when a chromosome is in
    both lists, or when nothing is left for training.
    """
    chroms = np.asarray(chroms, dtype=object)
    val, test = list(dict.fromkeys(val_chroms)), list(dict.fromkeys(test_chroms))
    both = set(val) & set(test)
    if both:
        raise AllelekitError(f"chromosome(s) {', '.join(sorted(both))} are in both --val-chroms and --test-chroms")
    present = set(chroms.tolist())
    for flag, lst in (("--val-chroms", val), ("--test-chroms", test)):
        missing = [c for c in lst if c not in present]
        if missing:
            some = ", ".join(sorted(present, key=_chrom_key)[:8])
            raise AllelekitError(f"{flag}: held-out chromosome(s) {', '.join(missing)} have no loci in the "
                                 f"dataset (its chromosomes: {some}{'...' if len(present) > 8 else ''})")
    labels = np.full(len(chroms), "train", dtype=object)
    labels[np.isin(chroms, val)] = "val"
    labels[np.isin(chroms, test)] = "test"
    if not (labels == "train").any():
        raise AllelekitError("no loci left for training after holding out --val-chroms and --test-chroms")
    if not val:
        raise AllelekitError("--val-chroms is empty: a validation chromosome is needed for early stopping")
    return labels


def _chrom_key(c: str):
    s = c[3:] if c.lower().startswith("chr") else c
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


def chrom_from_name(name: str) -> str | None:
    """The chromosome of a DeepAllele-style peak name 'chrN-start-end' or 'chrN:start-end'; None if not parsable."""
    import re

    m = re.match(r"^([^:\s]+?)[:\-_](\d+)[\-_](\d+)$", name)
    return m.group(1) if m else None


# --- metrics ------------------------------------------------------------------------------------
def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson r, or None when fewer than 3 points or a constant input."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    return pearson(rankdata(x[ok]), rankdata(y[ok]))


def evaluate(pred: np.ndarray, target: np.ndarray) -> dict:
    """Pearson/Spearman of counts (both alleles pooled, and each) and of the log ratio."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    pc = np.concatenate([pred[:, 0], pred[:, 1]])
    tc = np.concatenate([target[:, 0], target[:, 1]])
    return {
        "count_pearson": pearson(pc, tc),
        "count_spearman": spearman(pc, tc),
        "count_a_pearson": pearson(pred[:, 0], target[:, 0]),
        "count_b_pearson": pearson(pred[:, 1], target[:, 1]),
        "ratio_pearson": pearson(pred[:, 2], target[:, 2]),
        "ratio_spearman": spearman(pred[:, 2], target[:, 2]),
    }
