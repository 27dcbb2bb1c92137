"""Figures of the allelekit HTML report (matplotlib, Agg backend; each function returns a Figure).

Numbers shown in the figures are computed by the small helpers here (:func:`genomic_lambda`,
:func:`sample_qc`) so that tests can check them without looking at pixels.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

CALL_COLOURS = {"ref": "#2166ac", "alt": "#e66101", "both": "#762a83", "none": "#b0b0b0"}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


# --- numbers ------------------------------------------------------------------------------------
def genomic_lambda(p: np.ndarray) -> float:
    """Genomic inflation factor: median chi-square(1) quantile of the p-values / its null median (0.4549).

    NaN when there are no p-values.
    """
    from scipy import stats

    p = np.asarray(p, dtype=float)
    p = p[~np.isnan(p)]
    if p.size == 0:
        return float("nan")
    p = np.clip(p, 1e-300, 1.0)
    return float(np.median(stats.chi2.isf(p, 1)) / stats.chi2.ppf(0.5, 1))


def sample_qc(obs: "pd.DataFrame", n_sd: float = 3.0) -> "pd.DataFrame":
    """Per sample: observations, total coverage, fraction of observations with ref > alt, outlier flags.

    A sample is an outlier when its log10 coverage or its ref-bias fraction is more than ``n_sd``
    standard deviations (over samples) from the mean — MixALime's ``scorefiles_qc`` rule.
    Note that with n samples no z-score can exceed (n-1)/sqrt(n), so fewer than 11 samples never
    give a 3-SD outlier.
    """
    import pandas as pd

    cover = obs["ref_count"].to_numpy(np.int64) + obs["alt_count"].to_numpy(np.int64)
    d = pd.DataFrame({"sample": obs["sample"].to_numpy(object), "cover": cover,
                      "ref_gt_alt": (obs["ref_count"].to_numpy() > obs["alt_count"].to_numpy()).astype(float),
                      "ratio": obs["ref_count"].to_numpy(float) / np.maximum(cover, 1)})
    g = d.groupby("sample", sort=True)
    qc = pd.DataFrame({"n_obs": g.size(), "coverage": g["cover"].sum(),
                       "median_cover": g["cover"].median(),
                       "ref_bias": g["ref_gt_alt"].mean(), "mean_ref_ratio": g["ratio"].mean()}).reset_index()
    logc = np.log10(qc["coverage"].to_numpy(float).clip(min=1))
    for col, vals in (("z_cover", logc), ("z_bias", qc["ref_bias"].to_numpy(float))):
        sd = vals.std(ddof=1) if len(vals) > 1 else 0.0
        qc[col] = (vals - vals.mean()) / sd if sd > 0 else 0.0
    qc["outlier"] = (qc["z_cover"].abs() > n_sd) | (qc["z_bias"].abs() > n_sd)
    return qc


# --- figures ------------------------------------------------------------------------------------
def qq_figure(combined: "pd.DataFrame", groups: Sequence[str]) -> "Figure":
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharex=True, sharey=True)
    cmap = plt.get_cmap("tab10")
    for ax, d in zip(axes, ("ref", "alt")):
        top = 1.0
        for i, g in enumerate(groups):
            p = combined.loc[combined["group"] == g, f"{d}_pval"].to_numpy(float)
            if p.size == 0:
                continue
            obs = -np.log10(np.sort(np.clip(p, 1e-300, 1)))
            exp = -np.log10((np.arange(1, p.size + 1) - 0.5) / p.size)
            lam = genomic_lambda(p)
            ax.plot(exp, obs, ".", ms=3, color=cmap(i % 10), label=f"{g} (n={p.size}, λ={lam:.3f})", rasterized=True)
            top = max(top, exp.max())
        ax.plot([0, top], [0, top], "k--", lw=1, label="expected under the null")
        ax.set_title(f"{d}: combined p-values")
        ax.set_xlabel("expected -log10 p")
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("observed -log10 p")
    fig.tight_layout()
    return fig


def volcano_figure(combined: "pd.DataFrame", groups: Sequence[str], fdr: float) -> "Figure":
    plt = _plt()
    n = max(1, len(groups))
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    for ax, g in zip(axes.flat, groups):
        d = combined[combined["group"] == g]
        x = np.where(d["pref_allele"] == "ref", d["ref_es"], -d["alt_es"]).astype(float)
        y = -np.log10(np.clip(d["fdr"].to_numpy(float), 1e-300, 1))
        for call in ("none", "ref", "alt", "both"):
            m = (d["call"] == call).to_numpy()
            if m.any():
                ax.scatter(x[m], y[m], s=5, c=CALL_COLOURS[call], label=f"{call} ({m.sum()})", rasterized=True,
                           linewidths=0)
        ax.axhline(-np.log10(fdr), color="k", ls="--", lw=0.8)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(f"group {g}")
        ax.set_xlabel("effect size (log2): + ref preferred, − alt preferred")
        ax.set_ylabel("-log10 FDR of the preferred allele")
        ax.legend(fontsize=8, markerscale=2, title="call", title_fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def ratio_by_bad_figure(obs: "pd.DataFrame") -> "Figure":
    plt = _plt()
    bads = sorted(obs["bad"].unique())
    n = max(1, len(bads))
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    bins = np.linspace(0, 1, 41)
    for ax, b in zip(axes.flat, bads):
        d = obs[obs["bad"] == b]
        r = d["ref_count"].to_numpy(float) / np.maximum(d["ref_count"].to_numpy(float) + d["alt_count"], 1)
        ax.hist(r, bins=bins, color="#6a8caf", edgecolor="white", lw=0.3)
        for v in sorted({b / (b + 1), 1 / (b + 1)}):
            ax.axvline(v, color="#c0392b", ls="--", lw=1)
        ax.set_title(f"BAD {b:g}: {len(d)} observations", fontsize=9)
        ax.set_xlabel("ref / (ref + alt)")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel("observations")
    fig.tight_layout()
    return fig


def significant_figure(combined: "pd.DataFrame", groups: Sequence[str], sample_counts: "pd.DataFrame") -> "Figure":
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    order = ("ref", "alt", "both")
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    for call in order:
        h = np.array([int(((combined["group"] == g) & (combined["call"] == call)).sum()) for g in groups])
        axes[0].bar(x, h, bottom=bottom, color=CALL_COLOURS[call], label=call)
        bottom += h
    for xi, b in zip(x, bottom):
        axes[0].text(xi, b, f"{int(b)}", ha="center", va="bottom", fontsize=8)
    axes[0].set_ylim(0, max(1.0, bottom.max()) * 1.12)
    axes[0].set_xticks(x, groups, rotation=30, ha="right")
    axes[0].set_ylabel("significant SNVs")
    axes[0].set_title("per group")
    axes[0].legend(fontsize=8, title="call", title_fontsize=8)
    s = sample_counts
    xs = np.arange(len(s))
    bottom = np.zeros(len(s))
    for call in order:
        h = s[call].to_numpy(float) if call in s else np.zeros(len(s))
        axes[1].bar(xs, h, bottom=bottom, color=CALL_COLOURS[call], label=call)
        bottom += h
    axes[1].set_xticks(xs, s["sample"].tolist(), rotation=45 if len(s) > 6 else 0, ha="right" if len(s) > 6 else "center",
                       fontsize=8 if len(s) > 12 else 9)
    axes[1].set_ylabel("significant SNVs observed in the sample")
    axes[1].set_title("per sample")
    fig.tight_layout()
    return fig


def qc_figure(qc: "pd.DataFrame", n_sd: float = 3.0) -> "Figure":
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    logc = np.log10(qc["coverage"].to_numpy(float).clip(min=1))
    bias = qc["ref_bias"].to_numpy(float)
    out = qc["outlier"].to_numpy(bool)
    ax.scatter(logc[~out], bias[~out], c="#2166ac", s=30, label="sample")
    if out.any():
        ax.scatter(logc[out], bias[out], c="#c0392b", s=40, marker="D", label=f"outlier (> {n_sd:g} SD)")
    label_all = len(qc) <= 30
    for i, row in enumerate(qc.itertuples(index=False)):
        if label_all or out[i]:
            ax.annotate(str(row.sample), (logc[i], bias[i]), fontsize=8, xytext=(4, 3), textcoords="offset points",
                        color="#c0392b" if out[i] else "black")
    if len(qc) > 1:
        m, sd = bias.mean(), bias.std(ddof=1)
        if sd > 0:
            ax.axhspan(m - n_sd * sd, m + n_sd * sd, color="#dddddd", alpha=0.5, lw=0, label=f"mean ± {n_sd:g} SD")
    ax.axhline(0.5, color="k", ls=":", lw=0.8)
    ax.set_xlabel("log10 total coverage (ref + alt reads over all SNVs)")
    ax.set_ylabel("fraction of observations with ref > alt")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fit_figure(fit: "pd.DataFrame", max_bads: int = 8) -> "Figure":
    """Per BAD: goodness of fit (RMSEA) per fixed-count slice, r(s) = b*s + mu, and the weight w."""
    plt = _plt()
    bads = sorted(fit["bad"].unique())[:max_bads]
    cols = set(fit.columns)
    panels = [c for c in ("rmsea", "r", "w") if (c == "r" and {"b", "mu"} <= cols) or c in cols]
    fig, axes = plt.subplots(len(bads), len(panels), figsize=(3.8 * len(panels), 2.6 * len(bads)), squeeze=False)
    colours = {"ref": "#2166ac", "alt": "#e66101"}
    for i, b in enumerate(bads):
        d = fit[fit["bad"] == b]
        for j, pnl in enumerate(panels):
            ax = axes[i, j]
            for direction, dd in d.groupby("direction"):
                dd = dd.sort_values("slice")
                s = dd["slice"].to_numpy(float)
                if pnl == "r":
                    y = dd["b"].to_numpy(float) * s + dd["mu"].to_numpy(float)
                else:
                    y = dd[pnl].to_numpy(float)
                ax.plot(s, y, ".-", ms=3, lw=0.8, color=colours.get(direction, "grey"), label=f"{direction}")
            if pnl == "rmsea":
                ax.axhline(0.05, color="k", ls="--", lw=0.8)
                ax.set_ylabel(f"BAD {b:g}\nRMSEA")
            elif pnl == "r":
                s_all = d["slice"].to_numpy(float)
                if s_all.size:
                    ax.plot([s_all.min(), s_all.max()], [s_all.min(), s_all.max()], "k:", lw=0.8, label="r = s")
                ax.set_ylabel("r(s) = b·s + μ")
            else:
                ax.set_ylabel("w")
                ax.set_ylim(-0.05, 1.05)
            if i == len(bads) - 1:
                ax.set_xlabel("fixed-allele count s (slice)")
            if i == 0:
                ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
