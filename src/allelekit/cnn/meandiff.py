# meandiff.py — the classical FIMO baseline of DeepAllele's statistical motif analysis.
"""MeanDiff and friends: which known motifs' allelic score changes go with the allelic ratio.

For each database motif, FIMO scans both alleles (:func:`allelekit.cnn.motifs.fimo_scan`,
p < ``0.05 / L`` by default, both strands).  For every locus with a hit in either allele,
``Δscore = Σ hit scores in A - Σ hit scores in B``.  Then, per motif:

* (A) Pearson correlation of Δscore with the log ratio;
* (B) **MeanDiff**: Welch t-test of the log ratio of loci with Δscore > 0 against Δscore < 0;
* (C) MAGGIE-like: Wilcoxon signed-rank test of ``sign(ratio) · Δscore`` over loci with
  ``|ratio| >= 1`` (non-zero Δscore only);

each with a Benjamini–Hochberg FDR over the motifs tested.
"""
from __future__ import annotations

import logging

import numpy as np

from .motifs import Motif, bh, fimo_scan

log = logging.getLogger("allelekit.cnn")

COLUMNS = ["motif_id", "motif_name", "family", "n_loci", "n_pos", "n_neg", "mean_ratio_pos", "mean_ratio_neg",
           "meandiff_t", "meandiff_pvalue", "meandiff_qvalue", "pearson_r", "pearson_pvalue", "pearson_qvalue",
           "wilcoxon_n", "wilcoxon_pvalue", "wilcoxon_qvalue"]


def delta_scores(db: tuple[Motif, ...], xa: np.ndarray, xb: np.ndarray, *, threshold: float | None = None):
    """Per motif and locus: summed FIMO hit scores in A minus in B.

    Parameters
    ----------
    db: tuple of Motif
    xa, xb: numpy.ndarray, shape=(N, 4, L)
    threshold: float, optional
        FIMO p-value threshold; default ``0.05 / L``.

    Returns
    -------
    delta: numpy.ndarray, shape=(n_motifs, N)
        Δscore, NaN where neither allele has a hit.
    """
    n, _, length = xa.shape
    thr = 0.05 / length if threshold is None else threshold
    index = {m.motif_id: k for k, m in enumerate(db)}
    sums = []
    hit = np.zeros((len(db), n), dtype=bool)
    for x in (xa, xb):
        s = np.zeros((len(db), n))
        df = fimo_scan(db, x, threshold=thr)
        if len(df):
            mi = df["motif_id"].map(index).to_numpy()
            si = df["seq"].to_numpy()
            np.add.at(s, (mi, si), df["score"].to_numpy(dtype=float))
            hit[mi, si] = True
        sums.append(s)
    delta = sums[0] - sums[1]
    delta[~hit] = np.nan
    return delta


def meandiff(db: tuple[Motif, ...], delta: np.ndarray, log_ratio: np.ndarray, *, min_loci: int = 3):
    """The three association tests per motif.

    Parameters
    ----------
    db: tuple of Motif
    delta: numpy.ndarray, shape=(n_motifs, N)
        From :func:`delta_scores`.
    log_ratio: numpy.ndarray, shape=(N,)
        Measured (or predicted) log ratio A/B.
    min_loci: int
        Motifs with fewer loci on either side of Δscore (or fewer in a test) get null statistics.

    Returns
    -------
    pandas.DataFrame
        One row per motif with a hit (columns :data:`COLUMNS`), sorted by MeanDiff q-value.
    """
    import pandas as pd
    from scipy import stats

    y = np.asarray(log_ratio, dtype=float)
    rows = []
    for k, m in enumerate(db):
        d = delta[k]
        has = np.isfinite(d) & np.isfinite(y)
        if not has.any():
            continue
        dk, yk = d[has], y[has]
        pos, neg = yk[dk > 0], yk[dk < 0]
        t = pt = np.nan
        if len(pos) >= min_loci and len(neg) >= min_loci:
            res = stats.ttest_ind(pos, neg, equal_var=False)
            t, pt = float(res.statistic), float(res.pvalue)
        r = pr = np.nan
        if len(dk) >= min_loci and np.std(dk) > 0 and np.std(yk) > 0:
            res = stats.pearsonr(dk, yk)
            r, pr = float(res.statistic), float(res.pvalue)
        big = np.abs(yk) >= 1
        w = np.sign(yk[big]) * dk[big]
        w = w[w != 0]
        pw = np.nan
        if len(w) >= min_loci:
            pw = float(stats.wilcoxon(w).pvalue)
        rows.append((m.motif_id, m.name, m.family, int(has.sum()), len(pos), len(neg),
                     float(pos.mean()) if len(pos) else np.nan, float(neg.mean()) if len(neg) else np.nan,
                     t, pt, np.nan, r, pr, np.nan, len(w), pw, np.nan))
    df = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("meandiff", "pearson", "wilcoxon"):
        df[f"{c}_qvalue"] = bh(df[f"{c}_pvalue"].to_numpy()) if len(df) else []
    return df.sort_values(["meandiff_qvalue", "meandiff_pvalue"], na_position="last", kind="stable").reset_index(drop=True)
