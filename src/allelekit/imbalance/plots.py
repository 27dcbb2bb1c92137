"""Diagnostic figures of a fit (``allelekit-fit --plots DIR``).

Per BAD, two PNGs:

* ``BAD<B>_params.png``: the fitted parameters along the fixed count s (size r(s) = b*s + mu
  divided by s, w, 1/kappa for BetaNB), the goodness of fit (RMSEA per slice, dashed line at
  0.05) and the number of observations per slice, for ref|alt and alt|ref.
* ``BAD<B>_slices.png``: observed vs fitted histograms of the tested count at several fixed counts
  (5, 10, 20, 30, 40 or the nearest present), for both directions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SLICES = (5, 10, 20, 30, 40)
COLORS = {"ref": "#1f77b4", "alt": "#d62728"}


def write_plots(outdir: Path, groups, params_df, left: int) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .score import mixture_logpmf_pairs

    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11})
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    by_key = {(g.bad, g.direction): g for g in groups}
    for bad in sorted({g.bad for g in groups}):
        sub = params_df[np.isclose(params_df["bad"], bad)]
        if len(sub) == 0 or sub["slice"].isna().all():
            continue
        model = str(sub["model"].iloc[0])
        beta = model == "BetaNB" and sub["kappa"].notna().any()
        ncols = 5 if beta else 4
        fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.8), constrained_layout=True)
        for d in ("ref", "alt"):
            rows = sub[sub["direction"] == d].sort_values("slice")
            if len(rows) == 0:
                continue
            s = rows["slice"].to_numpy(float)
            lab = f"{d}|{'alt' if d == 'ref' else 'ref'}"
            c = COLORS[d]
            axes[0].plot(s, (rows["b"] * s + rows["mu"]) / s, color=c, label=lab)
            axes[1].plot(s, rows["w"], color=c, label=lab)
            axes[2].plot(s, rows["rmsea"], color=c, label=lab)
            axes[3].plot(s, np.log10(rows["n"].to_numpy(float)), color=c, label=lab)
            if beta:
                axes[4].plot(s, 1.0 / rows["kappa"], color=c, label=lab)
        axes[0].set(xlabel="fixed count s", ylabel="r(s) / s", title="size per fixed read")
        axes[1].set(xlabel="fixed count s", ylabel="w", title="weight of p1 = B/(B+1)", ylim=(-0.02, 1.02))
        axes[2].axhline(0.05, ls="--", color="grey", lw=1)
        axes[2].set(xlabel="fixed count s", ylabel="RMSEA", title="goodness of fit")
        axes[3].set(xlabel="fixed count s", ylabel="log10 observations", title="observations per slice")
        if beta:
            axes[4].set(xlabel="fixed count s", ylabel="1 / kappa", title="overdispersion")
        for ax in axes:
            ys = [np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()]
            if any(np.isfinite(y).any() for y in ys):
                ax.set_xscale("log")
                ax.legend(frameon=False)
            else:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        cons = " (conservative)" if sub["conservative"].all() else ""
        fig.suptitle(f"{model} fit, BAD {bad:g}{cons}")
        path = outdir / f"BAD{bad:g}_params.png"
        try:
            fig.savefig(path, dpi=110)
        except ValueError:  # degenerate data (e.g. one slice) cannot be drawn on log axes
            for ax in axes:
                ax.set_xscale("linear")
            fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

        fig, axes = plt.subplots(2, len(SLICES), figsize=(3.6 * len(SLICES), 6.4), constrained_layout=True,
                                 squeeze=False)
        for row, d in enumerate(("ref", "alt")):
            g = by_key.get((bad, d))
            rows = sub[sub["direction"] == d].set_index("slice")
            for col, want in enumerate(SLICES):
                ax = axes[row, col]
                if g is None or len(g.slices) == 0:
                    ax.axis("off")
                    continue
                k = int(np.argmin(np.abs(g.slices - want)))
                sv = int(g.slices[k])
                xs = g.x[g.slice_start[k]: g.slice_start[k + 1]]
                ns = g.n[g.slice_start[k]: g.slice_start[k + 1]]
                tot = ns.sum()
                pr = rows.loc[sv]
                grid = np.arange(left + 1, max(int(xs.max()), sv * 3) + 2)
                kap = np.full(len(grid), pr["kappa"] if pr["kappa"] == pr["kappa"] else np.nan, float)
                mdl = "NB" if pr["conservative"] else model
                lp = mixture_logpmf_pairs(mdl, grid.astype(float), np.full(len(grid), float(sv)),
                                          np.full(len(grid), pr["w"]), np.full(len(grid), pr["b"]),
                                          np.full(len(grid), pr["mu"]), kap, float(pr["p1"]), float(pr["p2"]), left)
                ax.bar(xs, ns / tot, width=1.0, color=COLORS[d], alpha=0.45, label="observed")
                ax.plot(grid, np.exp(lp), color="black", lw=1.3, label="fitted")
                ax.set_xlim(left, np.percentile(np.repeat(xs, ns), 99.5) * 1.3 + 2)
                other = "alt" if d == "ref" else "ref"
                ax.set(title=f"{d}|{other}, {other} = {sv} (n={tot})", xlabel=f"{d} count", ylabel="fraction")
                if col == 0:
                    ax.legend(frameon=False)
        fig.suptitle(f"{model} fit, BAD {bad:g}: observed vs fitted at fixed counts")
        path = outdir / f"BAD{bad:g}_slices.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
