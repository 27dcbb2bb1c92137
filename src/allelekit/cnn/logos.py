# logos.py — sequence logos and attribution maps with matplotlib (no logomaker needed).
"""Sequence logos drawn from glyph outlines (``TextPath``), so a letter's height is exactly its value.

* :func:`draw_logo` — one matrix (4, w) on an axis: positive values stacked up, negative down.
* :func:`information_content` — PFM → letter heights in bits.
* :func:`plot_cluster` — a cluster's CWM and PFM logos (+ its best database match) in one PNG.
* :func:`plot_locus` — both alleles' attributions at the observed bases, one above the other,
  variants shaded and the main variant outlined.
"""
from __future__ import annotations

import numpy as np

COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
_GLYPHS: dict = {}


def _glyph(letter: str):
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    if letter not in _GLYPHS:
        path = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
        ext = path.get_extents()
        _GLYPHS[letter] = (path, ext)
    return _GLYPHS[letter]


def _letter(ax, letter: str, x: float, y: float, width: float, height: float, alpha: float = 1.0):
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    if height == 0:
        return
    path, ext = _glyph(letter)
    t = (Affine2D().translate(-ext.x0, -ext.y0)
         .scale(width * 0.95 / ext.width, abs(height) / ext.height)
         .translate(x - width * 0.475, y if height > 0 else y + height))
    ax.add_patch(PathPatch(t.transform_path(path), facecolor=COLORS[letter], edgecolor="none", alpha=alpha))


def draw_logo(ax, matrix: np.ndarray, *, start: int = 0, alpha: float = 1.0) -> None:
    """Draw a (4, w) matrix as a logo; x positions ``start .. start + w - 1``."""
    m = np.asarray(matrix, dtype=float)
    for p in range(m.shape[1]):
        col = m[:, p]
        up, down = 0.0, 0.0
        for b in np.argsort(np.abs(col)):
            v = col[b]
            if v > 0:
                _letter(ax, "ACGT"[b], start + p, up, 1.0, v, alpha)
                up += v
            elif v < 0:
                _letter(ax, "ACGT"[b], start + p, down, 1.0, v, alpha)
                down += v
    ax.set_xlim(start - 0.5, start + m.shape[1] - 0.5)
    lo = min(0.0, float(np.minimum(m, 0).sum(axis=0).min())) if m.size else 0.0
    hi = max(0.0, float(np.maximum(m, 0).sum(axis=0).max())) if m.size else 1.0
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.axhline(0, color="0.6", lw=0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)


def information_content(pfm: np.ndarray) -> np.ndarray:
    """Letter heights in bits: ``p * (2 - H(column))``."""
    p = np.asarray(pfm, dtype=float)
    p = p / p.sum(axis=0, keepdims=True)
    h = -(p * np.log2(np.where(p > 0, p, 1))).sum(axis=0)
    return p * (2 - h)


def plot_cluster(path, cwm: np.ndarray, pfm: np.ndarray, title: str, match: np.ndarray | None = None,
                 match_title: str = "") -> None:
    """Write a PNG with the cluster's CWM and PFM logos (and the matched database motif)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = 3 if match is not None else 2
    w = max(cwm.shape[1], pfm.shape[1], match.shape[1] if match is not None else 0)
    fig, axes = plt.subplots(rows, 1, figsize=(max(4, 0.35 * w + 1.5), 1.6 * rows + 0.4))
    draw_logo(axes[0], cwm)
    axes[0].set_ylabel("CWM (z)")
    axes[0].set_title(title, fontsize=9)
    draw_logo(axes[1], information_content(pfm))
    axes[1].set_ylabel("PFM (bits)")
    axes[1].set_ylim(0, 2.05)
    if match is not None:
        draw_logo(axes[2], information_content(match))
        axes[2].set_ylabel("match (bits)")
        axes[2].set_ylim(0, 2.05)
        axes[2].set_title(match_title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_locus(path, att_a: np.ndarray, att_b: np.ndarray, xa: np.ndarray, xb: np.ndarray, *,
               title: str = "", variants_a=(), variants_b=(), main: int | None = None,
               seqlets_a=(), seqlets_b=()) -> None:
    """Attribution map of one locus: allele A above allele B, variants marked.

    Allele B's attributions to the log ratio A/B are drawn sign-flipped, so that in both panels a
    positive letter raises that allele's own activity.

    Parameters
    ----------
    att_a, att_b, xa, xb: numpy.ndarray, shape=(4, L)
    variants_a, variants_b: sequence of (start, end)
        Variant spans in each allele (an insertion in the other allele is a zero-width span,
        drawn as a thin line).
    main: int, optional
        Index of the main variant in ``variants_*``; drawn with a red outline.
    seqlets_a, seqlets_b: sequence of (start, end)
        Seqlet spans, drawn as grey bars under the axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    length = att_a.shape[1]
    fig, axes = plt.subplots(2, 1, figsize=(min(40, max(8, 0.09 * length + 2)), 4.4), sharex=True)
    lim = 0.0
    for ax, att, x, variants, seqlets, lab in ((axes[0], att_a, xa, variants_a, seqlets_a, "allele A"),
                                                (axes[1], -att_b, xb, variants_b, seqlets_b, "allele B (−)")):
        draw_logo(ax, att * x)
        lim = max(lim, *np.abs(ax.get_ylim()))
        for k, (s, e) in enumerate(variants):
            color = "#ff000033" if k == main else "#7f7fff33"
            if e > s:
                ax.axvspan(s - 0.5, e - 0.5, color=color, lw=0)
            else:
                ax.axvline(s - 0.5, color=color[:7], lw=1)
            if k == main:
                ax.axvspan(s - 0.5, max(e, s + 0.05) - 0.5, fill=False, edgecolor="red", lw=1)
        for s, e in seqlets:
            ax.plot([s - 0.5, e - 0.5], [0, 0], color="0.3", lw=3, solid_capstyle="butt", alpha=0.5)
        ax.set_ylabel(f"{lab}\nattribution")
    for ax in axes:
        ax.set_ylim(-lim, lim)
    axes[1].set_xlabel("position (0-based, each allele's own coordinates)")
    axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)
