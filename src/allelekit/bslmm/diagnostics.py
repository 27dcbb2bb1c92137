"""Convergence diagnostics: effective sample size and split R-hat (Gelman et al., BDA3 ch. 11)."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of a 1-d chain via FFT (lag 0 = 1)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    x = x - x.mean()
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, m)
    ac = np.fft.irfft(f * np.conj(f), m)[:n]
    return ac / ac[0] if ac[0] > 0 else np.r_[1.0, np.zeros(n - 1)]


def ess(x: np.ndarray) -> float:
    """Effective sample size of one chain with Geyer's initial monotone positive sequence."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 4 or np.ptp(x) == 0:
        return float(n)
    rho = autocorrelation(x)
    # pairs Gamma_k = rho_{2k} + rho_{2k+1}; stop at the first non-positive, force monotone
    tau = -1.0
    prev = np.inf
    for k in range(0, n - 1, 2):
        g = rho[k] + rho[k + 1]
        if g <= 0:
            break
        g = min(g, prev)
        prev = g
        tau += 2.0 * g
    tau = max(tau, 1.0 / np.log10(max(n, 10)))
    return float(n / tau)


def split_rhat(chains: Sequence[np.ndarray]) -> float:
    """Split R-hat: every chain cut in two halves, then the classic potential scale reduction."""
    halves = []
    for c in chains:
        c = np.asarray(c, dtype=np.float64)
        m = c.shape[0] // 2
        if m < 2:
            return float("nan")
        halves += [c[:m], c[m:2 * m]]
    S = np.vstack(halves)
    n = S.shape[1]
    W = S.var(axis=1, ddof=1).mean()
    B = n * S.mean(axis=1).var(ddof=1)
    if W <= 0:
        return float("nan") if B > 0 else 1.0
    var_hat = (n - 1) / n * W + B / n
    return float(np.sqrt(var_hat / W))
