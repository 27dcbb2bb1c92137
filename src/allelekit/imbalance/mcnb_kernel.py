"""Exact MCNB log pmf and its derivative in the size ``r``, evaluated only where the fit needs it.

The MCNB pmf has no closed form; :func:`allelekit.imbalance.distributions.mcnb_loggrid` runs the
three-term recurrence of its generating function over a whole count grid.  In the fit the grid
depends on one scalar per (window, slice) pair (the size ``r``; ``p`` is fixed per component), and
only the counts ``x`` observed in that slice and ``0..left`` (the truncation) are needed.  This
module runs the same recurrence once per pair, only up to that pair's largest observed count (a
third of the work of a padded common grid on MixALime's demo), carrying ``d/dr`` alongside
(forward-mode, one tangent), in a compiled Numba loop.  JAX sees it as a ``pure_callback`` with a
``custom_jvp`` rule, so reverse-mode gradients and the finite-difference Hessians of the fit work
unchanged and nothing is stored per grid point.

Recurrence (see ``distributions``): ``H_{n+1} = R_n H_n``,
``R_{n+1} = ((A + B (n+1)) - C n / R_n) / (a (n+2))``, ``R_0 = A/a``, ``H_0 = a^r`` with
``a = 1-p+p^2, A = r p (1-p)^2, B = a p + p^2, C = p^3``; ``f_0 = (a^r - p^r)/(1-p^r)`` and
``f_n = H_n/(1-p^r)`` for ``n >= 1``.  ``H_n`` is kept as a scaled product (a log only when a value
is recorded or the product leaves [1e-250, 1e250]).
"""
from __future__ import annotations

import math

import numpy as np

_KERNEL = None
_JAX_FNS: dict = {}


def _build_kernel():
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    import numba

    @numba.njit(cache=True, inline="always")
    def log1mexp(v):
        if v > -0.6931471805599453:
            return math.log(-math.expm1(v))
        return math.log1p(-math.exp(v))

    @numba.njit(cache=True)
    def kernel(r_arr, p_arr, ep, x, wt, left, lp, dlp, lnorm, dlnorm):
        P = r_arr.shape[0]
        E = x.shape[0]
        # entries of each pair are contiguous (padding entries have weight 0 and are skipped)
        start = np.zeros(P + 1, np.int64)
        for e in range(E):
            if wt[e] != 0.0:
                start[ep[e] + 1] += 1
        for i in range(P):
            start[i + 1] += start[i]
        xmax = left + 2
        for e in range(E):
            if wt[e] != 0.0 and x[e] > xmax:
                xmax = int(x[e])
        inv = np.empty(xmax + 3)                            # inv[n] = 1/n: no division on the chain
        inv[0] = 0.0
        for n in range(1, xmax + 3):
            inv[n] = 1.0 / n
        order = np.empty(E, np.int64)
        fill = start[:P].copy()
        for e in range(E):
            if wt[e] != 0.0:
                order[fill[ep[e]]] = e
                fill[ep[e]] += 1
            else:
                lp[e] = 0.0
                dlp[e] = 0.0
        for i in range(P):
            r = r_arr[i]
            p = p_arr[i]
            q1 = 1.0 - p
            a = 1.0 - p + p * p
            dA = p * q1 * q1
            A = r * dA
            B = a * p + p * p
            C = p * p * p
            inva = 1.0 / a
            logp = math.log(p)
            loga = math.log(a)
            lnz = log1mexp(r * logp)                        # log(1 - p^r)
            dlnz = -math.exp(r * logp - lnz) * logp
            u = r * (logp - loga)
            logf0 = r * loga + log1mexp(u) - lnz
            dlogf0 = (loga - math.exp(u) * logp) / (-math.expm1(u)) - dlnz
            # normaliser: log(1 - sum_{n<=left} f_n) and its derivative
            if left < 0:
                lnorm[i] = 0.0
                dlnorm[i] = 0.0
            else:
                m = logf0
                vals = np.empty(left + 1)
                ders = np.empty(left + 1)
                vals[0] = logf0
                ders[0] = dlogf0
                logH = r * loga
                dlogH = loga
                R = A * inva
                dR = dA * inva
                for n in range(1, left + 1):
                    logH += math.log(R)
                    dlogH += dR / R
                    iR = 1.0 / R
                    Rn = ((A + B * n) - C * (n - 1) * iR) * inva / (n + 1)
                    dR = (dA + C * (n - 1) * dR * iR * iR) * inva / (n + 1)
                    R = Rn
                    vals[n] = logH - lnz
                    ders[n] = dlogH - dlnz
                    if vals[n] > m:
                        m = vals[n]
                s = 0.0
                ds = 0.0
                for n in range(left + 1):
                    t = math.exp(vals[n] - m)
                    s += t
                    ds += t * ders[n]
                logS = m + math.log(s)
                dlogS = ds / s
                ln = log1mexp(min(logS, -1e-300))
                lnorm[i] = ln
                dlnorm[i] = -math.exp(logS - ln) * dlogS
            # the observed counts of this pair, ascending
            n = 0
            base = r * loga
            prod = 1.0
            dlogH = loga
            R = A * inva
            dR = dA * inva
            for k in range(start[i], start[i + 1]):
                e = order[k]
                xe = int(x[e])
                if xe < n:                                  # not sorted: restart (correct, slower)
                    n = 0
                    base = r * loga
                    prod = 1.0
                    dlogH = loga
                    R = A * inva
                    dR = dA * inva
                while n < xe:
                    prod *= R
                    iR = 1.0 / R
                    dlogH += dR * iR
                    c2 = inva * inv[n + 2]
                    Rn = ((A + B * (n + 1)) - C * n * iR) * c2
                    dR = (dA + C * n * dR * iR * iR) * c2
                    R = Rn
                    n += 1
                    if prod > 1e250 or prod < 1e-250:
                        base += math.log(prod)
                        prod = 1.0
                if xe == 0:
                    lp[e] = logf0
                    dlp[e] = dlogf0
                else:
                    lp[e] = base + math.log(prod) - lnz
                    dlp[e] = dlogH - dlnz

    _KERNEL = kernel
    return kernel


def mcnb_logpmf_pairs_np(r, p, ep, x, wt, left):
    """NumPy entry point: ``(lp, dlp, lnorm, dlnorm)``.

    ``r``, ``p`` (P,) per pair (``r`` is the size used in the pmf, i.e. after the r-transform);
    ``ep`` (E,) pair of each entry, ``x`` (E,) its count, ``wt`` (E,) weight (0 = padding, skipped).
    ``lp`` is the untruncated log pmf at ``x``; ``lnorm = log(1 - sum_{n<=left} f(n))`` per pair;
    ``dlp``, ``dlnorm`` are their derivatives in ``r``.
    """
    k = _build_kernel()
    r = np.ascontiguousarray(r, dtype=np.float64)
    p = np.ascontiguousarray(p, dtype=np.float64)
    ep = np.ascontiguousarray(ep, dtype=np.int64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    wt = np.ascontiguousarray(wt, dtype=np.float64)
    E, P = len(x), len(r)
    lp, dlp = np.empty(E), np.empty(E)
    lnorm, dlnorm = np.empty(P), np.empty(P)
    k(r, p, ep, x, wt, int(left), lp, dlp, lnorm, dlnorm)
    return lp, dlp, lnorm, dlnorm


def mcnb_logpmf_pairs_jax(left: int):
    """A JAX function ``(r, p, ep, x, wt) -> (lp, lnorm)`` (see :func:`mcnb_logpmf_pairs_np`),
    differentiable in ``r`` (``p``, ``ep``, ``x``, ``wt`` are data), usable under jit, grad and vmap."""
    if left in _JAX_FNS:
        return _JAX_FNS[left]
    import jax
    import jax.numpy as jnp

    _build_kernel()

    def host(r, p, ep, x, wt):
        return mcnb_logpmf_pairs_np(np.asarray(r), np.asarray(p), np.asarray(ep), np.asarray(x),
                                    np.asarray(wt), left)

    def call(r, p, ep, x, wt):
        f64 = jnp.float64
        shapes = (jax.ShapeDtypeStruct(x.shape, f64), jax.ShapeDtypeStruct(x.shape, f64),
                  jax.ShapeDtypeStruct(r.shape, f64), jax.ShapeDtypeStruct(r.shape, f64))
        return jax.pure_callback(host, shapes, r, p, ep, x, wt, vmap_method="sequential")

    @jax.custom_jvp
    def fn(r, p, ep, x, wt):
        lp, _, lnorm, _ = call(r, p, ep, x, wt)
        return lp, lnorm

    @fn.defjvp
    def fn_jvp(primals, tangents):
        r, p, ep, x, wt = primals
        r_dot = tangents[0]
        lp, dlp, lnorm, dlnorm = call(r, p, ep, x, wt)
        return (lp, lnorm), (dlp * r_dot[ep], dlnorm * r_dot)

    _JAX_FNS[left] = fn
    return fn
