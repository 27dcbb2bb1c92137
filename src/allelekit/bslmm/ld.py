"""LD matrix, block partition and the TSS-distance annotation feature.

Block rules (``--block-method``):

* ``ld`` (default): walk the SNVs of a gene's window left to right (sorted by position); a new block
  starts at SNV j when the mean r^2 between SNVs j..j+2 (``lookahead`` = 3, so that one SNV in low LD
  with its neighbours does not split a block) and the last ``window`` SNVs of the current block drops
  below ``r2`` and the current block already has ``min_size`` SNVs, or when it reaches ``max_size``.
  A trailing block smaller than ``min_size`` is merged into its left neighbour.  r is computed on the
  *training* genotypes only; the partition therefore never sees test samples.
* ``fixed``: blocks of ``width`` bp from the first SNV of the window (empty bins vanish).
* ``none``: the whole window is one block (bsBSLMM's gate then acts on the gene as a whole).

Only local correlations are needed, so partitioning is O(n p w) time and O(n p) memory; the full
p x p matrix of :func:`compute_ld_matrix` is never formed by the samplers.
"""
from __future__ import annotations

import numpy as np

BLOCK_METHODS = ("ld", "fixed", "none")


def _standardise(X: np.ndarray) -> np.ndarray:
    Z = X - X.mean(axis=0)
    sd = Z.std(axis=0)
    sd[sd == 0] = 1.0
    return Z / sd


def compute_ld_matrix(X: np.ndarray) -> np.ndarray:
    """R = Z^T Z / n for standardised genotypes Z (n x p); p x p, float64 (8 p^2 bytes)."""
    Z = _standardise(np.asarray(X, dtype=np.float64))
    return Z.T @ Z / Z.shape[0]


def partition_blocks(X: np.ndarray, pos: np.ndarray, method: str = "ld", r2: float = 0.1, window: int = 20,
                     min_size: int = 5, max_size: int = 300, width: int = 50_000, lookahead: int = 3) -> np.ndarray:
    """Contiguous blocks of SNVs; returns ``block_start`` (B+1 offsets, last = p).

    X : (n, p) genotypes of the training samples, columns in position order; pos : (p,) positions.
    """
    p = X.shape[1]
    if p == 0:
        return np.zeros(1, dtype=np.int64)
    if method == "none":
        return np.array([0, p], dtype=np.int64)
    if method == "fixed":
        pos = np.asarray(pos, dtype=np.int64)
        bins = (pos - pos[0]) // int(width)
        starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
        return np.r_[starts, p].astype(np.int64)
    if method != "ld":
        raise ValueError(f"unknown block method {method!r}")
    Z = _standardise(np.asarray(X, dtype=np.float64))
    n = Z.shape[0]
    starts = [0]
    cur = 0
    for j in range(1, p):
        size = j - cur
        if size >= max_size:
            starts.append(j)
            cur = j
            continue
        if size < min_size:
            continue
        lo = max(cur, j - window)
        r = Z[:, lo:j].T @ Z[:, j:min(p, j + lookahead)] / n
        if float(np.mean(r * r)) < r2:
            starts.append(j)
            cur = j
    if len(starts) > 1 and p - starts[-1] < min_size:
        starts.pop()
    return np.array(starts + [p], dtype=np.int64)


def tss_feature(pos: np.ndarray, tss: int) -> np.ndarray:
    """a_j = standardised -log10(1 + |pos_j - TSS| / 1 kb): larger = closer to the TSS."""
    a = -np.log10(1.0 + np.abs(np.asarray(pos, dtype=np.float64) - float(tss)) / 1000.0)
    sd = a.std()
    return (a - a.mean()) / sd if sd > 0 else np.zeros_like(a)
