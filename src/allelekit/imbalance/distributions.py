"""Log-space count distributions of the allelic mixture models, for NumPy/SciPy and for JAX.

Notation (as in MixALime): ``x`` is the count of the tested allele, ``p`` the "success"
probability of the component, so that an NB component has mean ``r*p/(1-p)``; with
``p = 1/2`` and ``r = s`` the expected tested count equals the fixed count ``s``.

* **NB**: ``f(x) = G(x+r)/(G(r) x!) (1-p)^r p^x``  (``scipy.stats.nbinom(n=r, p=1-p)``).
* **BetaNB**: NB whose ``p`` is ``Beta(p*kappa, (1-p)*kappa)`` with mean ``p``:
  ``f(x) = G(x+r)/(G(r) x!) B((1-p)kappa + r, p*kappa + x) / B((1-p)kappa, p*kappa)``
  (``scipy.stats.betanbinom(n=r, a=(1-p)*kappa, b=p*kappa)``).
* **MCNB** (marginalised compound NB): ``sum_k P(K=k | K>=1) NB(x; k, p)`` with
  ``K ~ Binomial(r, 1-p)``.  Its probability generating function is
  ``((p + (1-p)^2/(1-p z))^r - p^r) / (1 - p^r)``, defined for any real ``r > 0``; the
  coefficients ``H_n`` of ``h(z)^r`` obey the three-term recurrence
  ``a (n+1) H_{n+1} = (r p (1-p)^2 + (a p + p^2) n) H_n - p^3 (n-1) H_{n-1}`` with
  ``a = 1 - p + p^2`` (from ``(a - p^2 z)(1 - p z) H' = r p (1-p)^2 H``), evaluated here as
  ratios ``H_{n+1}/H_n`` so that nothing under- or overflows.
* **binom** / **betabinom**: ``x | n = x + s`` is ``Binomial(n, p)`` or
  ``BetaBinomial(n, p*kappa, (1-p)*kappa)``.

Size reparameterisation ("r-transform" NB, MixALime's default): the size ``r`` given by the line
``b*s + mu`` is rescaled so that the component mean matches the NB mean ``r*p/(1-p)``:
BetaNB ``r_eff = r (1 - 1/((1-p) kappa))`` (exact), MCNB ``r_eff = r (1 - p^r)/(1 - p)``
(approximate, as in MixALime).

Every function takes ``bk`` (:data:`NP` or :func:`jax_backend`) so the same formulas serve the
JAX fit and the NumPy scoring.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import scipy.special as sps


@dataclass(frozen=True)
class Backend:
    name: str
    xp: object
    sp: object


NP = Backend("numpy", np, sps)
_JAX: Backend | None = None


def jax_backend() -> Backend:
    """The JAX backend (imports jax and enables 64-bit floats on first use)."""
    global _JAX
    if _JAX is None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import jax.scipy.special as jsp

        _JAX = Backend("jax", jnp, SimpleNamespace(gammaln=jsp.gammaln, betaln=betaln_jax,
                                                   logsumexp=jsp.logsumexp))
    return _JAX


def betaln_jax(a, b):
    """``log B(a, b)`` via gammaln (differentiable everywhere in JAX)."""
    from jax.scipy.special import gammaln

    return gammaln(a) + gammaln(b) - gammaln(a + b)


_HL2PI = 0.5 * math.log(2.0 * math.pi)


def lgamma_fast(z, bk: Backend = NP):
    """``log Gamma(z)`` for ``z > 0`` by the Stirling series (to ``z^-11``), shifting ``z < 10`` up by 10.

    Absolute error < 1e-14 (relative < 2e-15 for ``z >= 1``); about 7x faster than XLA's lgamma on
    CPU, and its derivatives (digamma, trigamma via autodiff) are as accurate.
    """
    xp = bk.xp
    small = z < 10.0
    zs = xp.where(small, z + 10.0, z)
    prod = z * (z + 1.0) * (z + 2.0) * (z + 3.0) * (z + 4.0) * (z + 5.0) * (z + 6.0) * (z + 7.0) * (z + 8.0) * (z + 9.0)
    corr = xp.where(small, xp.log(xp.where(small, prod, 1.0)), 0.0)
    zi = 1.0 / zs
    z2 = zi * zi
    ser = zi * (1.0 / 12 - z2 * (1.0 / 360 - z2 * (1.0 / 1260 - z2 * (1.0 / 1680 - z2 * (1.0 / 1188 - z2 * 691.0 / 360360)))))
    return (zs - 0.5) * xp.log(zs) - zs + _HL2PI + ser - corr


def log1mexp(a, bk: Backend = NP):
    """``log(1 - exp(a))`` for ``a <= 0``, accurate on both sides of ``-ln 2``."""
    xp = bk.xp
    a = xp.minimum(a, -1e-300)
    return xp.where(a > -math.log(2.0), xp.log(-xp.expm1(a)), xp.log1p(-xp.exp(a)))


# --- size transforms ----------------------------------------------------------------------------
def r_eff_betanb(r, p, kappa, bk: Backend = NP):
    return r * (1.0 - 1.0 / ((1.0 - p) * kappa))


def r_eff_mcnb(r, p, bk: Backend = NP):
    xp = bk.xp
    return r * (-xp.expm1(r * xp.log(p))) / (1.0 - p)


# --- pmfs -----------------------------------------------------------------------------------------
def nb_logpmf(x, r, p, bk: Backend = NP):
    xp, sp = bk.xp, bk.sp
    return sp.gammaln(x + r) - sp.gammaln(r) - sp.gammaln(x + 1.0) + r * xp.log1p(-p) + x * xp.log(p)


def betanb_logpmf(x, r, p, kappa, bk: Backend = NP):
    sp = bk.sp
    a = (1.0 - p) * kappa
    b = p * kappa
    return (sp.gammaln(x + r) - sp.gammaln(r) - sp.gammaln(x + 1.0)
            + sp.betaln(a + r, b + x) - sp.betaln(a, b))


def binom_logpmf(x, n, p, bk: Backend = NP):
    xp, sp = bk.xp, bk.sp
    return (sp.gammaln(n + 1.0) - sp.gammaln(x + 1.0) - sp.gammaln(n - x + 1.0)
            + x * xp.log(p) + (n - x) * xp.log1p(-p))


def betabinom_logpmf(x, n, p, kappa, bk: Backend = NP):
    sp = bk.sp
    al = p * kappa
    be = (1.0 - p) * kappa
    return (sp.gammaln(n + 1.0) - sp.gammaln(x + 1.0) - sp.gammaln(n - x + 1.0)
            + sp.betaln(x + al, n - x + be) - sp.betaln(al, be))


def _mcnb_consts(r, p, bk: Backend):
    xp = bk.xp
    a = 1.0 - p + p * p
    A = r * p * (1.0 - p) ** 2
    B = a * p + p * p
    C = p ** 3
    lognorm = log1mexp(r * xp.log(p), bk)                       # log(1 - p^r)
    log_f0 = r * xp.log(a) + log1mexp(r * (xp.log(p) - xp.log(a)), bk) - lognorm
    return a, A, B, C, lognorm, log_f0


def mcnb_loggrid(r, p, size: int, bk: Backend = NP):
    """log pmf of MCNB(r, p) at ``x = 0 .. size-1``; ``r``, ``p`` broadcast, the grid is the last axis."""
    xp = bk.xp
    r, p = xp.broadcast_arrays(xp.asarray(r, dtype=float), xp.asarray(p, dtype=float))
    a, A, B, C, lognorm, log_f0 = _mcnb_consts(r, p, bk)
    logH0 = r * xp.log(a)
    R0 = A / a                                                   # H_1 / H_0
    if bk.name == "jax":
        import jax

        def step(carry, n):
            logH, R = carry
            logH_next = logH + xp.log(R)
            R_next = ((A + B * n) - C * (n - 1.0) / R) / (a * (n + 1.0))
            return (logH_next, R_next), logH_next

        ns = xp.arange(1, size, dtype=float)
        _, rest = jax.lax.scan(step, (logH0, R0), ns)
        rest = xp.moveaxis(rest, 0, -1) - lognorm[..., None]
        return xp.concatenate([log_f0[..., None], rest], axis=-1)
    out = np.empty(r.shape + (size,))
    out[..., 0] = log_f0
    logH, R = logH0, R0
    for n in range(1, size):
        logH = logH + np.log(R)
        out[..., n] = logH
        R = ((A + B * n) - C * (n - 1.0) / R) / (a * (n + 1.0))
    out[..., 1:] -= lognorm[..., None]
    return out


def mcnb_mean(r, p, bk: Backend = NP):
    xp = bk.xp
    return p * r / (-xp.expm1(r * xp.log(p)))


def component_logpmf(model: str, x, r, p, kappa=None, bk: Backend = NP):
    """log pmf of one component at ``x`` for the NB-type models, with the size transform applied.

    ``r`` is the raw size ``b*s + mu``.  For MCNB this evaluates the recurrence up to ``max(x)``
    (NumPy only; the fit uses :mod:`allelekit.imbalance.mcnb_kernel`).
    """
    if model == "NB":
        return nb_logpmf(x, r, p, bk)
    if model == "BetaNB":
        return betanb_logpmf(x, r_eff_betanb(r, p, kappa, bk), p, kappa, bk)
    if model == "MCNB":
        x = np.asarray(x)
        r_e = r_eff_mcnb(r, p, bk)
        x_b, r_b, p_b = np.broadcast_arrays(x, r_e, p)
        g = mcnb_loggrid(r_b.ravel(), p_b.ravel(), int(x_b.max()) + 1, bk)
        return np.take_along_axis(g, x_b.ravel()[:, None].astype(int), axis=1)[:, 0].reshape(x_b.shape)
    raise ValueError(f"unknown model {model!r}")


def component_mean(model: str, r, p, kappa=None, n=None, bk: Backend = NP):
    """Untruncated mean of one component (raw size ``r``; ``n`` = total count for binom/betabinom)."""
    xp = bk.xp
    if model == "NB":
        return r * p / (1.0 - p)
    if model == "BetaNB":
        r_e = r_eff_betanb(r, p, kappa, bk)
        a = (1.0 - p) * kappa
        return xp.where(a > 1.0, r_e * p * kappa / xp.maximum(a - 1.0, 1e-300), xp.inf)
    if model == "MCNB":
        return mcnb_mean(r_eff_mcnb(r, p, bk), p, bk)
    if model in ("binom", "betabinom"):
        return n * p
    raise ValueError(f"unknown model {model!r}")


def log_truncation(logpmf_0_to_L):
    """``log(1 - sum_{i<=L} f(i))`` from the log pmf at 0..L stacked on the last axis (NumPy)."""
    return log1mexp(sps.logsumexp(logpmf_0_to_L, axis=-1))


# --- survival functions on a grid (NumPy) ---------------------------------------------------------
def log_sf_from_grid(loggrid: np.ndarray, tail: str = "geometric") -> np.ndarray:
    """``log P(X >= k)`` for ``k = 0 .. G-1`` from the log pmf on ``0 .. G-1`` (last axis).

    The mass beyond the grid is added analytically from the last two grid points: a geometric
    series (NB, MCNB: pmf ratio ``-> p``) or a power law (BetaNB: ``f(j) ~ j^-q``).  The grid
    should reach well past the mode so that this remainder is small.  Summation runs from the
    far end in log space, so tails down to ~1e-300 and below keep full relative precision.
    """
    g = np.asarray(loggrid, dtype=float)
    X = g.shape[-1] - 1
    last, prev = g[..., -1], g[..., -2]
    with np.errstate(invalid="ignore"):
        logratio = np.minimum(np.nan_to_num(last - prev, nan=-1.0), -1e-12)
    if tail == "geometric":
        # sum_{j>X} f(X) rho^(j-X) = f(X) rho/(1-rho)
        logR = last + logratio - log1mexp(logratio)
    elif tail == "power":
        q = -logratio * (X + 0.5)
        q = np.maximum(q, 1.0 + 1e-9)
        logR = last + q * np.log(X) + (1.0 - q) * np.log(X + 0.5) - np.log(q - 1.0)
    elif tail == "none":
        logR = np.full(last.shape, -np.inf)
    else:  # pragma: no cover
        raise ValueError(tail)
    rev = np.logaddexp.accumulate(g[..., ::-1], axis=-1)[..., ::-1]
    return np.logaddexp(rev, logR[..., None])
