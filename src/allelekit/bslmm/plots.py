"""Trace plots (one PNG per gene) for ``--plots``."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def trace_plot(gene: str, hyp: list[np.ndarray], iterations: np.ndarray, model: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .samplers import HYP_COLS

    names = ["h", "pve", "pge", "n_gamma"] + (["pi_b", "eta1"] if model == "bsbslmm" else ["pi"])
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 1.4 * len(names)), sharex=True)
    for ax, nm in zip(axes, names):
        for c, h in enumerate(hyp):
            ax.plot(iterations[: h.shape[0]], h[:, HYP_COLS.index(nm)], lw=0.6, label=f"chain {c}")
        ax.set_ylabel(nm)
    axes[0].set_title(f"{gene} ({model})")
    axes[-1].set_xlabel("iteration after burn-in")
    if len(hyp) > 1:
        axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
