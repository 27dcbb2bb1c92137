"""Per-observation p-values and effect sizes under a fitted (or classic) mixture.

For an observation with tested count ``x`` and fixed count ``s`` and its slice's parameters,
with ``F_j`` the left-truncated component pmfs (``x > L``) and ``S_j(x) = P_j(X >= x | X > L)``:

* posterior component weight (MixALime's ``--correction single``):
  ``w_i = w F_1(x) / (w F_1(x) + (1-w) F_2(x))``;
* p-value ``p = w_i S_1(x) + (1 - w_i) S_2(x)`` (right tail: small when the tested allele is
  over-represented);
* effect size ``ES = log2(x) - log2(w_i m_1 + (1 - w_i) m_2)`` with ``m_j`` the truncated
  component means.

Everything is computed in log space.  NB tails use the regularised incomplete beta function
(``P(X >= x) = I_p(x, r)``) and, below 1e-280, an explicit log-space tail sum; BetaNB, MCNB,
binomial and beta-binomial tails come from log pmfs on a grid per slice, summed from the far
end (plus an analytic remainder beyond the grid), so p-values far below 1e-300 do not underflow
in the log and keep full precision down to the smallest doubles.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import scipy.special as sps

from ..errors import AllelekitError
from . import distributions as D

log = logging.getLogger("allelekit.imbalance")
LOG_TINY = math.log(1e-280)


# --- NB tails -------------------------------------------------------------------------------------
def nb_log_sf_ge(x, r, p):
    """``log P(X >= x)`` for NB(r, p) (mean ``r p/(1-p)``), accurate far into the tail."""
    x, r, p = np.broadcast_arrays(np.asarray(x, float), np.asarray(r, float), np.asarray(p, float))
    out = np.zeros(x.shape)
    pos = x > 0
    with np.errstate(divide="ignore"):
        v = sps.betainc(x[pos], r[pos], p[pos])
        out[pos] = np.log(v)
    deep = np.zeros(x.shape, bool)
    deep[pos] = ~(v > 1e-280)
    if deep.any():
        out[deep] = _nb_tail_sum(x[deep], r[deep], p[deep])
    return out


def _nb_tail_sum(x, r, p, block: int = 512, max_blocks: int = 200):
    """log sum_{j>=x} NB pmf by explicit summation (used only deep in the tail, past the mode)."""
    acc = np.full(x.shape, -np.inf)
    first = D.nb_logpmf(x, r, p)
    todo = np.ones(x.shape, bool)
    start = 0
    for _ in range(max_blocks):
        j = start + np.arange(block)
        idx = np.flatnonzero(todo)
        lt = D.nb_logpmf(x[idx, None] + j[None, :], r[idx, None], p[idx, None])
        acc[idx] = np.logaddexp(acc[idx], sps.logsumexp(lt, axis=1))
        last = lt[:, -1]
        done = last < acc[idx] - 45.0
        todo[idx[done]] = False
        start += block
        if not todo.any():
            break
    if todo.any():  # geometric remainder with the last ratio
        idx = np.flatnonzero(todo)
        xe = x[idx] + start
        lr = np.log(p[idx]) + np.log((xe + r[idx]) / (xe + 1.0))
        lr = np.minimum(lr, -1e-12)
        rem = D.nb_logpmf(xe, r[idx], p[idx]) - D.log1mexp(lr)
        acc[idx] = np.logaddexp(acc[idx], rem)
    del first
    return acc


# --- per-query component quantities ----------------------------------------------------------------
def _grid_size(model, xmax, mean, r, p):
    mean = np.where(np.isfinite(mean), mean, xmax)
    big = np.maximum(xmax, np.minimum(mean, 1e6))
    if model == "BetaNB":
        G = 4.0 * big + 200.0
    else:
        var = mean / np.maximum(1.0 - p, 1e-12)
        G = 2.0 * big + 12.0 * np.sqrt(np.maximum(var, 1.0)) + 100.0
    return np.minimum(G, 4e6).astype(np.int64)


def _row_grid(model, rows_r, rows_p, rows_k, G):
    """log pmf on 0..G-1 for each row (raw size r; transform applied here)."""
    i = np.arange(G, dtype=float)[None, :]
    if model == "NB":
        return D.nb_logpmf(i, rows_r[:, None], rows_p[:, None])
    if model == "BetaNB":
        re = D.r_eff_betanb(rows_r, rows_p, rows_k)
        return D.betanb_logpmf(i, re[:, None], rows_p[:, None], rows_k[:, None])
    if model == "MCNB":
        return D.mcnb_loggrid(D.r_eff_mcnb(rows_r, rows_p), rows_p, G)
    raise ValueError(model)


def component_quantities(model, x, r, p, kappa, left, need_sf=True):
    """For queries (arrays of equal shape): truncated log pmf at x, truncated log P(X>=x), truncated mean.

    ``r`` is the raw size ``b*s + mu``; ``kappa`` is used by BetaNB only.
    """
    x = np.asarray(x, float)
    r = np.broadcast_to(np.asarray(r, float), x.shape)
    p = np.broadcast_to(np.asarray(p, float), x.shape)
    kappa = np.broadcast_to(np.asarray(kappa if kappa is not None else np.nan, float), x.shape)
    mean = D.component_mean(model, r, p, kappa)
    if model == "NB":
        i = np.arange(left + 1, dtype=float)
        low = D.nb_logpmf(i[None, :], r.ravel()[:, None], p.ravel()[:, None])
        lognorm = D.log1mexp(sps.logsumexp(low, axis=1)).reshape(x.shape)
        low_mean = (np.exp(low) * i[None, :]).sum(axis=1).reshape(x.shape)
        logf = D.nb_logpmf(x, r, p) - lognorm
        logs = (nb_log_sf_ge(x, r, p) - lognorm) if need_sf else None
        m = (mean - low_mean) / np.exp(lognorm)
        return logf, logs, m
    # grid models: one grid per unique (r, p, kappa) row
    key = np.stack([r.ravel(), p.ravel(), np.nan_to_num(kappa.ravel(), nan=-1.0)], axis=1)
    rows, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    xr = x.ravel()
    xmax = np.zeros(len(rows))
    np.maximum.at(xmax, inv, xr)
    rk = np.where(rows[:, 2] < 0, np.nan, rows[:, 2])
    rmean = D.component_mean(model, rows[:, 0], rows[:, 1], rk)
    G = _grid_size(model, xmax, rmean, rows[:, 0], rows[:, 1]) if need_sf else (xmax + 1).astype(np.int64)
    G = np.maximum(G, left + 3)
    logf = np.empty(len(xr))
    logs = np.empty(len(xr)) if need_sf else None
    lognorm_row = np.empty(len(rows))
    lowmean_row = np.empty(len(rows))
    order = np.argsort(G, kind="stable")
    tail = "power" if model == "BetaNB" else "geometric"
    # chunks of rows with similar grid sizes (bounded memory)
    qs_by_row = np.argsort(inv, kind="stable")
    row_start = np.searchsorted(inv[qs_by_row], np.arange(len(rows) + 1))
    pos = 0
    while pos < len(order):
        Gc = int(G[order[pos]])
        n_rows = max(1, min(len(order) - pos, int(4e6 // max(Gc, 1))))
        chunk = order[pos: pos + n_rows]
        Gc = int(G[chunk].max())
        grid = _row_grid(model, rows[chunk, 0], rows[chunk, 1], rk[chunk], Gc)
        lowv = grid[:, : left + 1]
        ln = D.log1mexp(sps.logsumexp(lowv, axis=1))
        lognorm_row[chunk] = ln
        lowmean_row[chunk] = (np.exp(lowv) * np.arange(left + 1)[None, :]).sum(axis=1)
        if need_sf:
            # pad the rows with shorter needs: their grids are simply longer (still exact)
            lsf = D.log_sf_from_grid(grid, tail)
        for ci, ri in enumerate(chunk):
            q = qs_by_row[row_start[ri]: row_start[ri + 1]]
            xi = xr[q].astype(np.int64)
            logf[q] = grid[ci, xi] - ln[ci]
            if need_sf:
                logs[q] = lsf[ci, xi] - ln[ci]
        pos += n_rows
    m = (rmean - lowmean_row) / np.exp(lognorm_row)
    return (logf.reshape(x.shape), logs.reshape(x.shape) if need_sf else None, m[inv].reshape(x.shape))


def _mix(logf1, logs1, m1, logf2, logs2, m2, w, x):
    """Posterior-weighted p-value (log) and effect size of a two-component mixture."""
    w = np.asarray(w, float)
    with np.errstate(divide="ignore"):
        lw, l1w = np.log(w), np.log1p(-w)
    a = lw + logf1
    b = l1w + logf2
    den = np.logaddexp(a, b)
    lwi = a - den
    l1wi = b - den
    logp = np.logaddexp(lwi + logs1, l1wi + logs2)
    wi = np.exp(lwi)
    es = np.log2(x) - np.log2(wi * m1 + (1.0 - wi) * m2)
    return np.minimum(logp, 0.0), es


def mixture_logpmf_pairs(model, x, s, w, b, mu, kappa, p1, p2, left):
    """Log of the truncated mixture pmf at pairs (x, s) with per-pair parameters."""
    r = b * s + mu
    f1, _, _ = component_quantities(model, x, r, p1, kappa, left, need_sf=False)
    if abs(p1 - p2) < 1e-15:
        return f1
    f2, _, _ = component_quantities(model, x, r, p2, kappa, left, need_sf=False)
    with np.errstate(divide="ignore"):
        return np.logaddexp(np.log(w) + f1, np.log1p(-w) + f2)


def slice_rmsea(g, model, w, b, mu, kappa, p1, p2, left) -> np.ndarray:
    """RMSEA of observed vs expected histograms per slice of a group.

    Bins are the observed x values of the slice with an expected count >= 1, plus one bin for everything
    else above L;
    ``chi2 = sum (O - E)^2 / E``, ``dof = bins - 1``, ``RMSEA = sqrt(max(chi2 - dof, 0) / (dof (n - 1)))``.
    """
    K = len(g.slices)
    k_of_pair = np.repeat(np.arange(K), np.diff(g.slice_start))
    lp = mixture_logpmf_pairs(model, g.x.astype(float), g.s.astype(float), w[k_of_pair], b[k_of_pair],
                              mu[k_of_pair], kappa[k_of_pair], p1, p2, left)
    n_slice = g.slice_n.astype(float)
    E = n_slice[k_of_pair] * np.exp(lp)
    O = g.n.astype(float)
    big = E >= 1.0                       # observed x with expected count >= 1 are bins of their own
    chi = np.bincount(k_of_pair, weights=np.where(big, (O - E) ** 2 / np.maximum(E, 1e-300), 0.0), minlength=K)
    O_rest = n_slice - np.bincount(k_of_pair, weights=np.where(big, O, 0.0), minlength=K)
    E_rest = n_slice - np.bincount(k_of_pair, weights=np.where(big, E, 0.0), minlength=K)
    chi += np.where(E_rest > 1e-9, (O_rest - E_rest) ** 2 / np.maximum(E_rest, 1e-9), 0.0)
    dof = np.bincount(k_of_pair, weights=big.astype(float), minlength=K)   # (bins + rest) - 1
    out = np.sqrt(np.maximum(chi - dof, 0.0) / np.maximum(dof * (n_slice - 1.0), 1.0))
    out[(dof < 1) | (n_slice < 2)] = np.nan
    return out


# --- classic tests ------------------------------------------------------------------------------
def _classic_component(model, x, n, p, kappa, left, need_sf=True):
    """Truncated log pmf, log sf (P(X>=x | X>L)) and truncated mean for Binomial / BetaBinomial(n, p, kappa)."""
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    un, inv = np.unique(n, return_inverse=True)
    inv = inv.ravel()
    logf = np.empty(x.shape)
    logs = np.empty(x.shape)
    m = np.empty(x.shape)
    order = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[order], np.arange(len(un) + 1))
    pos = 0
    while pos < len(un):
        Gc = int(un[pos]) + 1
        nrows = max(1, min(len(un) - pos, int(4e6 // Gc)))
        rows = np.arange(pos, pos + nrows)
        G = int(un[rows].max()) + 1
        i = np.arange(G, dtype=float)[None, :]
        nn = un[rows][:, None]
        valid = i <= nn
        ic = np.minimum(i, nn)
        if model == "binom" or not np.isfinite(kappa):
            grid = D.binom_logpmf(ic, nn, p)
        else:
            grid = D.betabinom_logpmf(ic, nn, p, kappa)
        grid = np.where(valid, grid, -np.inf)
        ln = D.log1mexp(sps.logsumexp(grid[:, : left + 1], axis=1))
        lsf = D.log_sf_from_grid(grid, "none") if need_sf else None
        mean = un[rows] * p
        lowm = (np.exp(grid[:, : left + 1]) * np.arange(left + 1)[None, :]).sum(axis=1)
        mt = (mean - lowm) / np.exp(ln)
        for ci, ri in enumerate(rows):
            q = order[starts[ri]: starts[ri + 1]]
            xi = x.ravel()[q].astype(np.int64)
            logf.ravel()[q] = grid[ci, xi] - ln[ci]
            if need_sf:
                logs.ravel()[q] = lsf[ci, xi] - ln[ci]
            m.ravel()[q] = mt[ci]
        pos += nrows
    return logf, logs, m


def classic_logpmf_pairs(model, x, s, w, p1, p2, kappa, left):
    n = np.asarray(x, float) + np.asarray(s, float)
    f1, _, _ = _classic_component(model, x, n, p1, kappa, left, need_sf=False)
    if abs(p1 - p2) < 1e-15 or w >= 1.0:
        return f1
    f2, _, _ = _classic_component(model, x, n, p2, kappa, left, need_sf=False)
    return np.logaddexp(math.log(w) + f1, math.log1p(-w) + f2)


# --- scoring observations -------------------------------------------------------------------------
def score_direction(model, x, s, bad, params, left):
    """log p-values and ES for one direction.

    ``params``: DataFrame of model_params rows of that direction (all BADs).  Returns arrays
    aligned with ``x``.
    """
    logp = np.zeros(len(x))
    es = np.zeros(len(x))
    for B in np.unique(bad):
        sel = np.flatnonzero(bad == B)
        rows = params[np.isclose(params["bad"].to_numpy(float), B, rtol=0, atol=1e-6)]
        if len(rows) == 0:
            raise AllelekitError(f"no fitted parameters for BAD {B:g} in the --params table; "
                                 "fit on data that contains this BAD (or pass --default-bad)")
        xs, ss = x[sel].astype(float), s[sel].astype(float)
        # unique (x, s) pairs only
        pairs, inv = np.unique(np.stack([xs, ss], 1), axis=0, return_inverse=True)
        inv = inv.ravel()
        px, ps = pairs[:, 0], pairs[:, 1]
        row0 = rows.iloc[0]
        p1, p2 = float(row0["p1"]), float(row0["p2"])
        mdl = str(row0["model"])
        if mdl in ("binom", "betabinom"):
            kap = float(row0["kappa"]) if mdl == "betabinom" else np.inf
            w = float(row0["w"])
            n = px + ps
            f1, s1, m1 = _classic_component(mdl, px, n, p1, kap, left)
            if abs(p1 - p2) < 1e-15:
                lp, e = np.minimum(s1, 0.0), np.log2(px) - np.log2(m1)
            else:
                f2, s2, m2 = _classic_component(mdl, px, n, p2, kap, left)
                lp, e = _mix(f1, s1, m1, f2, s2, m2, w, px)
        else:
            rows = rows.sort_values("slice")
            sl = rows["slice"].to_numpy(float)
            j = np.searchsorted(sl, ps)
            jl = np.clip(j - 1, 0, len(sl) - 1)
            jr = np.clip(j, 0, len(sl) - 1)
            pick = np.where(np.abs(sl[jr] - ps) < np.abs(sl[jl] - ps), jr, jl)
            cons = rows["conservative"].to_numpy(bool)[pick]
            w = rows["w"].to_numpy(float)[pick]
            b = rows["b"].to_numpy(float)[pick]
            mu = rows["mu"].to_numpy(float)[pick]
            kap = rows["kappa"].to_numpy(float, na_value=np.nan)[pick]
            r = b * ps + mu
            lp = np.empty(len(px))
            e = np.empty(len(px))
            eff = np.where(cons, "NB", mdl)      # conservative slices are scored with plain NB
            for mm in np.unique(eff):
                q = eff == mm
                f1, s1, m1 = component_quantities(mm, px[q], r[q], p1, kap[q], left)
                if abs(p1 - p2) < 1e-15:
                    lp[q], e[q] = np.minimum(s1, 0.0), np.log2(px[q]) - np.log2(m1)
                else:
                    f2, s2, m2 = component_quantities(mm, px[q], r[q], p2, kap[q], left)
                    lp[q], e[q] = _mix(f1, s1, m1, f2, s2, m2, w[q], px[q])
        # the smallest modelled count has the whole truncated distribution in its right tail: p = 1
        # exactly (computed, it comes out as 1 - 1e-15, and Mudholkar-George's logit in allelekit-combine
        # turns that rounding into a strong signal against imbalance)
        lp = np.where(px <= left + 1, 0.0, lp)
        logp[sel] = lp[inv]
        es[sel] = e[inv]
    return logp, es
