# seqlets.py — seqlets from attributions, seqlet similarity, clustering, CWM -> PFM.
"""Seqlets (short stretches of significant attribution) and their clusters.

Follows DeepAllele's ``extract_motifs.py`` / ``cluster_seqlets.py`` (see the spec, section 6):

1. :func:`normalize_attributions`: flip the sign of allele B's ratio attributions (the ratio is
   A - B), then z = att / sqrt(mean(att²)) with one scalar over all loci, bases, positions, alleles.
2. :func:`call_seqlets` on the reference track ``r[p] = Σ_b z[b, p] x[b, p]``: runs of
   ``|r| > cut`` of one sign, tolerating ``max_gap`` consecutive "gap" positions (a failing position
   is a gap only when the ±1 mean of r times the run's sign is below the cut), kept with at least
   ``min_size`` significant positions.  A seqlet is the z block (4 × w) from its first to its last
   significant position, times the sign of its mean reference attribution.
3. :func:`similarity`: best Pearson correlation over all offsets with ≥ 4 positions of overlap and
   both orientations, overhangs padded with 0.25, over the union of both spans; converted to a
   p-value with a t distribution (n = 4 × span, two-sided; a non-positive r gets p = 1).
4. :func:`cluster_seqlets`: complete linkage on the p-value matrix cut at ``pvalue`` (every pair
   inside a cluster has p < ``pvalue``); a random subset of ``max_seqlets`` is clustered and the
   rest assigned to a cluster when it is within the threshold of all its (up to 3) anchors.
5. :func:`cluster_cwm` aligns the members on the cluster medoid and averages them (widened by
   ``flank`` positions of their attribution tracks, :func:`seqlet_window`);
   :func:`cwm_to_pfm` = divide by RMS, exp, trim flanks with column sum < 0.1 × max, normalise
   columns, round to 3 decimals.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("allelekit.cnn")

MIN_OVERLAP = 4


# --- normalisation and calling -------------------------------------------------------------------
def normalize_attributions(att_a: np.ndarray, att_b: np.ndarray, *, flip_b: bool = True):
    """Global z-scaling of both alleles' attributions (allele B sign-flipped for the ratio).

    Parameters
    ----------
    att_a, att_b: numpy.ndarray, shape=(N, 4, L)

    Returns
    -------
    za, zb: numpy.ndarray, shape=(N, 4, L)
    scale: float
        The RMS that was divided out.
    """
    a = np.asarray(att_a, dtype=np.float64)
    b = np.asarray(att_b, dtype=np.float64) * (-1.0 if flip_b else 1.0)
    ms = (np.sum(a ** 2) + np.sum(b ** 2)) / max(1, a.size + b.size)
    scale = float(np.sqrt(ms))
    if scale == 0:
        return a, b, 1.0
    return a / scale, b / scale, scale


def find_runs(r: np.ndarray, *, cut: float = 1.96, max_gap: int = 1, min_size: int = 4) -> list[tuple[int, int, int]]:
    """Seqlet spans on a reference track.

    Parameters
    ----------
    r: numpy.ndarray, shape=(L,)
        z-scored attribution at the observed base.

    Returns
    -------
    list of (start, end, sign)
        0-based half-open spans from the first to the last significant position.
    """
    r = np.asarray(r, dtype=float)
    n = len(r)
    out = []
    i = 0
    while i < n:
        if abs(r[i]) <= cut:
            i += 1
            continue
        s = 1.0 if r[i] > 0 else -1.0
        first = last = i
        nsig = 1
        gaps = 0
        j = i + 1
        while j < n:
            if abs(r[j]) > cut and r[j] * s > 0:
                nsig += 1
                last = j
                gaps = 0
            elif r[max(0, j - 1):j + 2].mean() * s < cut:
                # a failing position is a gap only when its neighbourhood is weak too
                gaps += 1
                if gaps > max_gap:
                    break
            j += 1
        if nsig >= min_size:
            out.append((first, last + 1, int(s)))
        i = last + 1
    return out


@dataclass
class Seqlet:
    locus: int          # row index of the locus
    allele: int         # 0 = A, 1 = B
    start: int
    end: int
    sign: int
    matrix: np.ndarray  # (4, w), sign-adjusted z attributions
    n_sig: int
    mean_effect: float
    max_effect: float


def call_seqlets(za: np.ndarray, zb: np.ndarray, xa: np.ndarray, xb: np.ndarray, *, cut: float = 1.96,
                 max_gap: int = 1, min_size: int = 4) -> list[Seqlet]:
    """Seqlets of both alleles of every locus.

    Parameters
    ----------
    za, zb: numpy.ndarray, shape=(N, 4, L)
        Normalised attributions (:func:`normalize_attributions`).
    xa, xb: numpy.ndarray, shape=(N, 4, L)
        One-hot alleles.

    Returns
    -------
    list of Seqlet
    """
    out: list[Seqlet] = []
    for k, (z, x) in enumerate(((za, xa), (zb, xb))):
        r_all = (z * x).sum(axis=1)
        valid = x.sum(axis=1) > 0
        for i in range(len(z)):
            length = int(valid[i].sum()) if not valid[i].all() else valid.shape[1]
            r = r_all[i, :length]
            for s, e, sign in find_runs(r, cut=cut, max_gap=max_gap, min_size=min_size):
                seg = r[s:e]
                msign = 1 if seg.mean() >= 0 else -1
                mat = z[i, :, s:e] * msign
                out.append(Seqlet(i, k, s, e, msign, mat.astype(np.float32),
                                  int((np.abs(seg) > cut).sum()), float(seg.mean() * msign),
                                  float((seg * msign).max())))
    return out


# --- similarity ----------------------------------------------------------------------------------
import numba  # noqa: E402  (cached compiled kernels: NUMBA_CACHE_DIR)


@numba.njit(cache=True, nogil=True)
def _pair(x, y, min_overlap):
    """Best Pearson r of y against x over offsets (union span padded with 0.25)."""
    w1 = x.shape[1]
    w2 = y.shape[1]
    m = min(min_overlap, w1, w2)
    best_r = -2.0
    best_o = 0
    best_u = 1
    for o in range(-(w2 - m), w1 - m + 1):
        lo = min(0, o)
        hi = max(w1, o + w2)
        sx = 0.0
        sy = 0.0
        sxx = 0.0
        syy = 0.0
        sxy = 0.0
        for p in range(lo, hi):
            for c in range(4):
                a = x[c, p] if 0 <= p < w1 else 0.25
                q = p - o
                b = y[c, q] if 0 <= q < w2 else 0.25
                sx += a
                sy += b
                sxx += a * a
                syy += b * b
                sxy += a * b
        n = 4.0 * (hi - lo)
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        if vx <= 0.0 or vy <= 0.0:
            continue
        r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
        if r > best_r:
            best_r = r
            best_o = o
            best_u = hi - lo
    return best_r, best_o, best_u


@numba.njit(cache=True, nogil=True)
def _matrix(mats, rcs, offsets, min_overlap, rows, cols):
    n = rows.shape[0]
    out_r = np.empty(n)
    out_u = np.empty(n, dtype=np.int64)
    for t in range(n):
        i = rows[t]
        j = cols[t]
        x = mats[:, offsets[i]:offsets[i + 1]]
        y = mats[:, offsets[j]:offsets[j + 1]]
        yr = rcs[:, offsets[j]:offsets[j + 1]]
        r1, o1, u1 = _pair(x, y, min_overlap)
        r2, o2, u2 = _pair(x, yr, min_overlap)
        if r2 > r1:
            out_r[t] = r2
            out_u[t] = u2
        else:
            out_r[t] = r1
            out_u[t] = u1
    return out_r, out_u


def _kernel():
    return _pair, _matrix


def revcomp(m: np.ndarray) -> np.ndarray:
    """Reverse complement of a (4, w) ACGT matrix."""
    return np.ascontiguousarray(m[::-1, ::-1])


def best_alignment(x: np.ndarray, y: np.ndarray, min_overlap: int = MIN_OVERLAP):
    """Best Pearson r of ``y`` (or its reverse complement) against ``x``.

    Returns
    -------
    r: float, offset: int (start of y relative to x), strand: int (+1 or -1), span: int
    """
    pair, _ = _kernel()
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    r1, o1, u1 = pair(x, y, min_overlap)
    r2, o2, u2 = pair(x, revcomp(y), min_overlap)
    if r2 > r1:
        return float(r2), int(o2), -1, int(u2)
    return float(r1), int(o1), 1, int(u1)


def correlation_pvalue(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a Pearson r over n values (t distribution, n - 2 df); r <= 0 gives 1."""
    from scipy import stats

    r = np.clip(np.asarray(r, dtype=float), -0.999999999, 0.999999999)
    n = np.asarray(n, dtype=float)
    df = np.maximum(n - 2, 1)
    t = r * np.sqrt(df / (1 - r ** 2))
    p = 2 * stats.t.sf(np.abs(t), df)
    return np.where(r > 0, p, 1.0)


def _pack(mats: list[np.ndarray]):
    offsets = np.zeros(len(mats) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([m.shape[1] for m in mats])
    packed = np.ascontiguousarray(np.concatenate(mats, axis=1), dtype=np.float64) if mats else np.zeros((4, 0))
    rcs = np.ascontiguousarray(np.concatenate([revcomp(m) for m in mats], axis=1),
                               dtype=np.float64) if mats else np.zeros((4, 0))
    return packed, rcs, offsets


def similarity(mats: list[np.ndarray], others: list[np.ndarray] | None = None, *,
               min_overlap: int = MIN_OVERLAP) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise best correlation and its p-value.

    Parameters
    ----------
    mats: list of numpy.ndarray, each shape=(4, w)
    others: list of numpy.ndarray, optional
        Compare ``mats`` against these instead of against themselves.

    Returns
    -------
    r, pvalue: numpy.ndarray, shape=(len(mats), len(others or mats))
    """
    _, matrix = _kernel()
    sym = others is None
    allm = list(mats) + ([] if sym else list(others))
    packed, rcs, offsets = _pack(allm)
    n1 = len(mats)
    if sym:
        rows, cols = np.triu_indices(n1, k=1)
        n2 = n1
    else:
        n2 = len(others)
        rows, cols = np.meshgrid(np.arange(n1), np.arange(n1, n1 + n2), indexing="ij")
        rows, cols = rows.ravel(), cols.ravel()
    r, u = matrix(packed, rcs, offsets, min_overlap, rows.astype(np.int64), cols.astype(np.int64))
    p = correlation_pvalue(r, 4 * u)
    R = np.ones((n1, n2))
    P = np.zeros((n1, n2)) if sym else np.ones((n1, n2))
    if sym:
        R[rows, cols] = R[cols, rows] = r
        P[rows, cols] = P[cols, rows] = p
    else:
        R[rows, cols - n1] = r
        P[rows, cols - n1] = p
    return R, P


# --- clustering ----------------------------------------------------------------------------------
def cluster_seqlets(mats: list[np.ndarray], *, pvalue: float = 0.05, max_seqlets: int = 3000,
                    seed: int = 0, min_overlap: int = MIN_OVERLAP, min_size: int = 1) -> np.ndarray:
    """Complete-linkage clusters of seqlets on the similarity p-value.

    Parameters
    ----------
    mats: list of numpy.ndarray, each shape=(4, w)
    pvalue: float
        Linkage threshold: clusters whose every pair has p < ``pvalue``.
    max_seqlets: int
        Cluster at most this many (a random subset); the rest join a cluster when within the
        threshold of all its anchors (3 random members), otherwise stay unassigned (-1).
    min_size: int
        Only clusters of the subset that could reach this size after assignment (at least
        ``min_size * len(subset) / len(mats)`` members, and 2) get anchors.

    Returns
    -------
    numpy.ndarray of int, shape=(len(mats),)
        Cluster label per seqlet (0-based, largest cluster first), -1 for unassigned.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = len(mats)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    if n == 1:
        labels[0] = 0
        return labels
    rng = np.random.default_rng(seed)
    core = np.arange(n) if n <= max_seqlets else np.sort(rng.choice(n, max_seqlets, replace=False))
    _, P = similarity([mats[i] for i in core], min_overlap=min_overlap)
    np.fill_diagonal(P, 0.0)
    Z = linkage(squareform(P, checks=False), method="complete")
    raw = fcluster(Z, t=pvalue, criterion="distance")
    # complete-linkage merge heights are max pairwise p; fcluster keeps merges with height <= t
    raw_labels = np.asarray(raw)
    labels[core] = raw_labels
    rest = np.setdiff1d(np.arange(n), core)
    if len(rest):
        anchors, anchor_lab = [], []
        need = max(2, int(min_size * len(core) / n))
        for lab in np.unique(raw_labels):
            members = core[raw_labels == lab]
            if len(members) < need:
                continue
            pick = members if len(members) <= 3 else rng.choice(members, 3, replace=False)
            anchors += list(pick)
            anchor_lab += [lab] * len(pick)
        anchor_lab = np.asarray(anchor_lab)
        if not anchors:
            rest = rest[:0]
            PA = np.ones((0, 0))
        else:
            _, PA = similarity([mats[i] for i in rest], [mats[i] for i in anchors], min_overlap=min_overlap)
        if len(rest):
            labs = np.unique(anchor_lab)
            # worst (largest) p against each cluster's anchors; join the cluster where it is smallest
            worst = np.stack([PA[:, anchor_lab == lab].max(axis=1) for lab in labs], axis=1)
            best = np.argmin(worst, axis=1)
            ok = worst[np.arange(len(rest)), best] < pvalue
            labels[rest[ok]] = labs[best[ok]]
    # relabel 0.. by size
    out = np.full(n, -1, dtype=np.int64)
    labs, cnt = np.unique(labels[labels >= 0], return_counts=True)
    order = labs[np.argsort(-cnt, kind="stable")]
    for new, lab in enumerate(order):
        out[labels == lab] = new
    return out


def seqlet_window(z: np.ndarray, x: np.ndarray, sq: Seqlet, flank: int) -> np.ndarray:
    """The seqlet's sign-adjusted attribution block widened by ``flank`` positions on each side.

    Parameters
    ----------
    z: numpy.ndarray, shape=(N, 4, L)
        Normalised attributions of the seqlet's allele.
    x: numpy.ndarray, shape=(N, 4, L)
        One-hot sequences of that allele (positions past the sequence's end, all-zero, give zeros).

    Returns
    -------
    numpy.ndarray, shape=(4, end - start + 2 * flank)
    """
    valid = x[sq.locus].sum(axis=0) > 0
    s0, e0 = sq.start - flank, sq.end + flank
    out = np.zeros((4, e0 - s0))
    a0, a1 = max(s0, 0), min(e0, z.shape[2])
    out[:, a0 - s0:a1 - s0] = z[sq.locus, :, a0:a1] * valid[a0:a1]
    return out * sq.sign


def cluster_cwm(mats: list[np.ndarray], *, min_coverage: float = 0.5, min_overlap: int = MIN_OVERLAP,
                windows: list[np.ndarray] | None = None, flank: int = 0):
    """Contribution-weight matrix of one cluster: members aligned on the medoid and averaged.

    Parameters
    ----------
    mats: list of numpy.ndarray, each shape=(4, w)
        The cluster's seqlet matrices (they decide the alignment).
    min_coverage: float
        Keep frame columns covered by at least this fraction of members.
    windows: list of numpy.ndarray, each shape=(4, w + 2 * flank), optional
        The same members widened by ``flank`` positions of their attribution track on each side
        (:func:`seqlet_window`); when given, these are averaged instead of ``mats``, so every member
        contributes to the columns next to its own span (TF-MoDISco-style flanks) instead of only the
        members whose significant run happened to reach them.

    Returns
    -------
    cwm: numpy.ndarray, shape=(4, W)
    offsets: numpy.ndarray of int, shape=(n,)
        Start of each member's seqlet (its ``mats`` span) in the CWM frame (after trimming; may be negative).
    strands: numpy.ndarray of int, shape=(n,)
        +1 or -1 (member reverse-complemented to align).
    """
    n = len(mats)
    if windows is None:
        windows, flank = mats, 0
    elif len(windows) != n or any(w.shape[1] != m.shape[1] + 2 * flank for w, m in zip(windows, mats)):
        raise ValueError("windows must be the members widened by flank on each side")
    offs, strands = np.zeros(n, dtype=int), np.ones(n, dtype=int)
    if n > 1:
        R, _ = similarity(mats, min_overlap=min_overlap)
        np.fill_diagonal(R, 1.0)
        medoid = int(np.argmax(R.sum(axis=1)))
        ref = np.asarray(mats[medoid], dtype=np.float64)
        for i, m in enumerate(mats):
            if i == medoid:
                continue
            _, o, s, _ = best_alignment(ref, m, min_overlap)
            offs[i], strands[i] = o, s
    wo = offs - flank              # start of each widened member (flanks are symmetric: same for both strands)
    lo = int(wo.min())
    hi = int(max(o + w.shape[1] for o, w in zip(wo, windows)))
    tot = np.zeros((4, hi - lo))
    cov = np.zeros(hi - lo)
    for o, s, m in zip(wo, strands, windows):
        mm = np.asarray(m, dtype=np.float64)
        if s < 0:
            mm = revcomp(mm)
        tot[:, o - lo:o - lo + mm.shape[1]] += mm
        cov[o - lo:o - lo + mm.shape[1]] += 1
    keep = np.nonzero(cov >= max(1.0, min_coverage * n))[0]
    if len(keep) == 0:
        keep = np.nonzero(cov > 0)[0]
    a, b = keep[0], keep[-1] + 1
    cwm = tot[:, a:b] / np.maximum(cov[a:b], 1.0)
    return cwm, offs - lo - a, strands


def cwm_to_pfm(cwm: np.ndarray, *, strip: float = 0.1, decimals: int = 3) -> np.ndarray:
    """DeepAllele's ``parse_motifs_tomeme --standardize --exppwms --norm --strip 0.1 --round 3``.

    Divide by the RMS, exponentiate, trim flanking columns whose sum is below ``strip`` × the
    largest column sum, normalise each column to 1, round.

    Parameters
    ----------
    cwm: numpy.ndarray, shape=(4, w)

    Returns
    -------
    numpy.ndarray, shape=(4, w')
    """
    m = np.asarray(cwm, dtype=np.float64)
    rms = np.sqrt(np.mean(m ** 2))
    if rms > 0:
        m = m / rms
    e = np.exp(m)
    col = e.sum(axis=0)
    ok = np.nonzero(col >= strip * col.max())[0]
    e = e[:, ok[0]:ok[-1] + 1]
    pfm = e / e.sum(axis=0, keepdims=True)
    pfm = np.round(pfm, decimals)
    return pfm / pfm.sum(axis=0, keepdims=True)


def consensus(pfm: np.ndarray) -> str:
    """Most likely base per column."""
    return "".join("ACGT"[i] for i in np.argmax(pfm, axis=0))
