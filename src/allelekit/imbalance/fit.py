"""Fit the allelic mixture models per BAD and direction over windows of fixed-count slices.

For one BAD ``B`` and one direction (``ref``: x = ref count given s = alt count; ``alt``: the
reverse) the model of the tested count is

    P(x | s) = w F(x; p1, r(s)) + (1 - w) F(x; p2, r(s)),   p1 = B/(B+1), p2 = 1/(B+1),

with each component left-truncated at ``L`` (only ``x > L`` is modelled) and the size linear in
the fixed count, ``r(s) = b*s + mu``.  For ``B = 1`` there is one component (``w = 1``).

Windows (MixALime's ``--window-behavior both``): for each slice (distinct fixed count ``s``, in
ascending order) neighbouring slices are added, right then left alternately, until the window
holds at least ``window_size`` observations and ``min_slices`` slices, or the data runs out.  The
fit of the window is the slice's parameters.  Once a centre slice has fewer than
``stop_slice_n`` observations, all higher slices reuse the last fit.  A one-slice window fixes
``mu = 0``.  A BAD with fewer than ``small_dataset_n`` observations gets the conservative
parameters (``b = 1, mu = 0, w = 1``, NB) and a warning.

The fit itself is batched: the mean negative log-likelihoods of *all* windows of all BADs and
directions form one separable objective, evaluated by one jitted JAX function on flat arrays
(windows x slices x unique ``(x, s)`` pairs, padded to bucketed sizes so that one compilation
serves a whole run).  Gradients and per-window Hessians (4 forward-over-reverse products) drive a
bounded, damped Newton (Levenberg-Marquardt) iteration per window, with per-window step
acceptance, started from a few points and keeping the best.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.special as sps

from ..errors import AllelekitError
from . import distributions as D

log = logging.getLogger("allelekit.imbalance")

KAPPA_MAX = 1e4
B_BOUNDS = (0.05, 1e4)
MU_BOUNDS = (0.0, 1e4)
PARAM_NAMES = ("w", "b", "mu", "kappa")


@dataclass
class FitConfig:
    model: str = "NB"
    window_size: int = 10000
    min_slices: int = 3
    stop_slice_n: int = 10
    small_dataset_n: int = 10000
    left: int = 4
    regul_alpha: float = 0.0
    max_iter: int = 300
    seed: int = 0
    n_starts: int = 1


@dataclass
class Group:
    """Histogram of unique (x, s) pairs of one BAD and direction."""
    bad: float
    direction: str
    x: np.ndarray           # unique pairs, sorted by s then x
    s: np.ndarray
    n: np.ndarray
    slices: np.ndarray = field(init=False)        # distinct s, ascending
    slice_n: np.ndarray = field(init=False)       # observations per slice
    slice_start: np.ndarray = field(init=False)   # offsets of each slice's pairs (len K+1)

    def __post_init__(self) -> None:
        o = np.lexsort((self.x, self.s))
        self.x, self.s, self.n = self.x[o], self.s[o], self.n[o]
        self.slices, first = np.unique(self.s, return_index=True)
        self.slice_start = np.append(first, len(self.s))
        self.slice_n = np.add.reduceat(self.n, first) if len(first) else np.zeros(0, np.int64)

    @property
    def total(self) -> int:
        return int(self.n.sum())


def make_groups(df, left: int) -> list[Group]:
    """Unique (x, s) histograms per BAD and direction from observations with ref/alt counts."""
    out = []
    for bad, sub in df.groupby("bad", sort=True):
        ref = sub["ref_count"].to_numpy(np.int64)
        alt = sub["alt_count"].to_numpy(np.int64)
        for direction, x, s in (("ref", ref, alt), ("alt", alt, ref)):
            keep = x > left
            key = np.unique(np.stack([x[keep], s[keep]]), axis=1, return_counts=True)
            (ux, us), cnt = key
            out.append(Group(float(bad), direction, ux.astype(np.int64), us.astype(np.int64), cnt.astype(np.int64)))
    return out


def make_windows(slice_n: np.ndarray, window_size: int, min_slices: int, stop_slice_n: int):
    """Window ``(lo, hi)`` slice-index bounds for each centre slice that gets its own fit.

    Returns ``(centres, lo, hi)``; slices after the last centre reuse its fit.
    """
    K = len(slice_n)
    below = np.flatnonzero(slice_n < stop_slice_n)
    k_stop = int(below[0]) if len(below) else K
    k_stop = max(k_stop, 1)
    cs = np.concatenate([[0], np.cumsum(slice_n)])
    los, his = [], []
    lo = hi = 0
    for k in range(k_stop):
        # grow from the centre: right, left, right, ...
        lo = hi = k
        right = True
        while ((cs[hi + 1] - cs[lo]) < window_size or (hi - lo + 1) < min_slices) and (lo > 0 or hi < K - 1):
            if (right and hi < K - 1) or lo == 0:
                hi += 1
            else:
                lo -= 1
            right = not right
        los.append(lo)
        his.append(hi)
    return np.arange(k_stop), np.array(los, np.int64), np.array(his, np.int64)


def _bucket(n: int, minimum: int = 256) -> int:
    """Round a size up to a few significant bits so that similar runs share compiled code."""
    n = max(int(n), minimum)
    e = 1 << (n.bit_length() - 3)
    return ((n + e - 1) // e) * e


@dataclass
class Problem:
    """Flat arrays of one batched fit: windows -> (window, slice) pairs -> (x, s) entries."""
    n_windows: int
    win_p: np.ndarray       # (W, 2) p1, p2
    win_fixed: np.ndarray   # (W, 4) bool
    win_lo: np.ndarray      # (W, 4)
    win_hi: np.ndarray      # (W, 4)
    win_N: np.ndarray       # (W,) observations
    win_sc: np.ndarray      # (W,) centre slice s (regularisation)
    pair_win: np.ndarray
    pair_s: np.ndarray
    ent_pair: np.ndarray
    ent_x: np.ndarray
    ent_wt: np.ndarray      # n / N_window
    max_x: int


def build_problem(groups: list[Group], windows: list[tuple[int, np.ndarray, np.ndarray]], cfg: FitConfig) -> Problem:
    win_p, fixed, lo_b, hi_b, win_N, win_sc = [], [], [], [], [], []
    pair_win, pair_s, ent_pair, ent_x, ent_wt = [], [], [], [], []
    W = 0
    P = 0
    for gi, lo, hi in windows:
        g = groups[gi]
        B = g.bad
        p1, p2 = B / (B + 1.0), 1.0 / (B + 1.0)
        kmin = math.log((B + 1.0) * 1.02 + 0.05) if B >= 1 else math.log((1.0 / B + 1.0) * 1.02 + 0.05)
        for l, h in zip(lo, hi):
            ks = np.arange(l, h + 1)
            n_pairs_per_slice = g.slice_start[ks + 1] - g.slice_start[ks]
            N = int(g.slice_n[ks].sum())
            win_p.append((p1, p2))
            fx = np.zeros(4, bool)
            fx[0] = abs(B - 1.0) < 1e-12
            fx[2] = (h == l)
            fx[3] = cfg.model != "BetaNB"
            fixed.append(fx)
            lo_b.append((0.0, B_BOUNDS[0], MU_BOUNDS[0], kmin))
            hi_b.append((1.0, B_BOUNDS[1], MU_BOUNDS[1], math.log(KAPPA_MAX)))
            win_N.append(N)
            win_sc.append(float(g.slices[(l + h) // 2]))
            pair_win.append(np.full(len(ks), W))
            pair_s.append(g.slices[ks])
            idx = np.concatenate([np.arange(g.slice_start[k], g.slice_start[k + 1]) for k in ks])
            ent_pair.append(np.repeat(np.arange(P, P + len(ks)), n_pairs_per_slice))
            ent_x.append(g.x[idx])
            ent_wt.append(g.n[idx] / N)
            W += 1
            P += len(ks)
    cat = np.concatenate
    ex = cat(ent_x)
    return Problem(W, np.array(win_p), np.array(fixed), np.array(lo_b), np.array(hi_b), np.array(win_N, float),
                   np.array(win_sc), cat(pair_win), cat(pair_s).astype(float), cat(ent_pair), ex.astype(float),
                   cat(ent_wt), int(ex.max()))


def _chunks(prob: Problem, max_pairs: int, max_entries: int, order: np.ndarray | None = None,
            shape: tuple[int, int, int] | None = None):
    """Group the windows (in ``order``, default 0..W-1) into chunks with bounded pairs/entries, padded
    to one common shape (so one compilation serves all chunks and memory stays bounded).

    Returns ``(shape, chunks)``: ``shape = (Wc, Pc, Ec)``, each chunk ``(window ids, data)``.  With
    ``shape`` given the chunks are cut to fit it (no new compilation when the order changes).
    """
    W = prob.n_windows
    order = np.arange(W) if order is None else np.asarray(order)
    pair_start = np.searchsorted(prob.pair_win, np.arange(W + 1))            # first pair of each window
    ent_start = np.searchsorted(prob.ent_pair, np.arange(len(prob.pair_win) + 1))  # first entry of each pair
    npair = np.diff(pair_start)[order]
    nent = (ent_start[pair_start[1:]] - ent_start[pair_start[:-1]])[order]
    if shape is not None:
        max_w, max_pairs, max_entries = shape
    else:
        max_w = W
    groups, sizes = [], []
    i = 0
    while i < W:
        j, sp, se = i + 1, npair[i], nent[i]
        while j < W and j - i < max_w and sp + npair[j] <= max_pairs and se + nent[j] <= max_entries:
            sp += npair[j]
            se += nent[j]
            j += 1
        groups.append(order[i:j])
        sizes.append((j - i, sp, se))
        i = j
    if shape is None:
        # generous minimum sizes: small problems (tests, small BADs) share one compiled shape
        mw, mp, me = np.max(np.array(sizes), axis=0)
        shape = (_bucket(int(mw), 64), _bucket(int(mp), 4096), _bucket(int(me), 1 << 16))
    Wc, Pc, Ec = shape

    def pad(a, n, value=0):
        out = np.full((n,) + a.shape[1:], value, dtype=a.dtype)
        out[: len(a)] = a
        return out

    xfill = float(prob.ent_x.max()) if len(prob.ent_x) else 5.0
    chunks = []
    for ids in groups:
        pidx = np.concatenate([np.arange(pair_start[w], pair_start[w + 1]) for w in ids])
        eidx = np.concatenate([np.arange(ent_start[pair_start[w]], ent_start[pair_start[w + 1]]) for w in ids])
        pw = np.repeat(np.arange(len(ids)), np.diff(pair_start)[ids])            # local window of each pair
        ep = np.repeat(np.arange(len(pidx)), np.diff(ent_start)[pidx])          # local pair of each entry
        ex = prob.ent_x[eidx]
        data = dict(
            win_p=pad(prob.win_p[ids], Wc, 0.5), win_N=pad(prob.win_N[ids], Wc, 1.0),
            win_sc=pad(prob.win_sc[ids], Wc, 1.0),
            pair_win=pad(pw, Pc), pair_s=pad(prob.pair_s[pidx], Pc, 1.0),
            ent_pair=pad(ep, Ec), ent_win=pad(pw[ep], Ec), ent_lgx1=pad(sps.gammaln(ex + 1.0), Ec),
            ent_x=pad(ex, Ec, xfill), ent_wt=pad(prob.ent_wt[eidx], Ec, 0.0),
        )
        chunks.append((ids, data))
    return shape, chunks


_COMPILED: dict = {}
# windows are evaluated in chunks of at most this many slice pairs / (x, s) entries (one compiled
# shape for all chunks); converged windows stop costing anything only when their whole chunk has
# converged, so smaller chunks skip more of the late iterations. 65,536 entries was the fastest of
# 16k-1M on the MixALime demo (docs/fit-test.md); larger chunks also pay XLA page faults.
CHUNK_PAIRS = 1 << 14
CHUNK_ENTRIES = 1 << 16


def _objective_fns(model: str, left: int, regul_alpha: float, grid: int):
    """Jitted ``f(theta, data)`` (per-window mean NLL) and ``fgh(theta, hi, data)`` (+ gradient and
    per-window Hessian blocks by forward differences of the gradient: the objective is separable
    across windows, so perturbing parameter j of every window at once gives column j of every block)."""
    key = (model, left, regul_alpha, grid)
    if key in _COMPILED:
        return _COMPILED[key]
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import gammaln, logsumexp

    bk = D.jax_backend()
    Lgrid = jnp.arange(left + 1, dtype=float)

    def lgf(z):
        return D.lgamma_fast(z, bk)

    if model == "MCNB":
        from .mcnb_kernel import mcnb_logpmf_pairs_jax

        mcnb_fn = mcnb_logpmf_pairs_jax(left)

    def per_window(theta, d):
        W = theta.shape[0]
        w, b, mu = theta[:, 0], theta[:, 1], theta[:, 2]
        kappa = jnp.exp(theta[:, 3])
        pw = d["pair_win"]
        ep = d["ent_pair"]
        ew = d["ent_win"]
        x = d["ent_x"]
        r = b[pw] * d["pair_s"] + mu[pw]                      # (P,) raw size per (window, slice)
        if model == "NB":
            # the two components share r: one gammaln per entry
            lg_xr = lgf(x + r[ep]) - gammaln(r)[ep] - d["ent_lgx1"]
        logF = []
        for j in range(2):
            p = d["win_p"][:, j]
            pp = p[pw]
            if model == "MCNB":
                # exact recurrence per pair up to its own largest count, with d/dr (mcnb_kernel)
                lp, lnorm = mcnb_fn(D.r_eff_mcnb(r, pp, bk), pp, ep, x, d["ent_wt"])
            elif model == "NB":
                low = D.nb_logpmf(Lgrid[None, :], r[:, None], pp[:, None], bk)
                lnorm = D.log1mexp(logsumexp(low, axis=-1), bk)
                lp = lg_xr + r[ep] * jnp.log1p(-p)[ew] + x * jnp.log(p)[ew]
            else:  # BetaNB
                k = kappa[pw]
                rr = D.r_eff_betanb(r, pp, k, bk)
                low = D.betanb_logpmf(Lgrid[None, :], rr[:, None], pp[:, None], k[:, None], bk)
                lnorm = D.log1mexp(logsumexp(low, axis=-1), bk)
                aa = ((1.0 - p) * kappa)[ew]
                bb = (p * kappa)[ew]
                re = rr[ep]
                per_pair = -gammaln(rr) - D.betaln_jax(((1.0 - pp) * k), pp * k) + gammaln((1.0 - pp) * k + rr)
                lp = (lgf(x + re) - d["ent_lgx1"] + per_pair[ep]
                      + lgf(bb + x) - lgf(aa + bb + re + x))
            logF.append(lp - lnorm[ep])
        wi = w[ew]
        a1, a2 = logF
        m = jnp.maximum(a1, a2)
        logP = m + jnp.log(wi * jnp.exp(a1 - m) + (1.0 - wi) * jnp.exp(a2 - m))
        nll = -jax.ops.segment_sum(d["ent_wt"] * logP, ew, num_segments=W)
        if model == "BetaNB" and regul_alpha > 0:
            # prior on kappa pushing towards NB: log prior = -c/kappa - 2 log kappa,
            # c = alpha * N_window * centre slice (MixALime's --regul --regul-n --regul-slice).
            c = regul_alpha * d["win_N"] * d["win_sc"]
            nll = nll + (c / kappa + 2.0 * jnp.log(kappa)) / d["win_N"]
        return nll

    def total(theta, d):
        return per_window(theta, d).sum()

    grad = jax.grad(total)

    def total_aux(theta, d):
        nll = per_window(theta, d)
        return nll.sum(), nll

    vgrad = jax.value_and_grad(total_aux, has_aux=True)

    def vg(theta, d):
        # one pass (primal + gradient): the MCNB kernel runs once per component, not twice
        (_, nll), g = vgrad(theta, d)
        return nll, g

    # kappa is a parameter of BetaNB only: the other models need 3 Hessian columns, not 4
    hcols = 4 if model == "BetaNB" else 3

    def hess(theta, g, hi, d):
        h = 1e-6 * jnp.maximum(1.0, jnp.abs(theta))
        h = jnp.where(theta + h > hi, -h, h)
        eye = jnp.eye(4)[:hcols]

        def col(e):
            return (grad(theta + h * e[None, :], d) - g) / (h * e[None, :]).sum(axis=1, keepdims=True)

        # one column at a time (lax.map, not vmap): a vmapped gradient holds hcols copies of every
        # per-entry intermediate at once and runs ~2x slower for BetaNB on memory traffic
        cols = jax.lax.map(col, eye)                            # (hcols, W, 4): d g_i / d theta_j
        H = jnp.transpose(cols, (1, 2, 0))                      # (W, 4, hcols)
        if hcols < 4:
            H = jnp.concatenate([H[:, :hcols, :], jnp.zeros((H.shape[0], 4 - hcols, hcols))], axis=1)
            H = jnp.concatenate([H, jnp.zeros((H.shape[0], 4, 4 - hcols))], axis=2)
            H = H.at[:, 3, 3].set(1.0)
        return 0.5 * (H + jnp.transpose(H, (0, 2, 1)))

    fns = (jax.jit(vg), jax.jit(hess))
    _COMPILED[key] = fns
    return fns


def _newton_steps(g, H, lam, free):
    """Damped Newton steps per window on the free coordinates (saddle-free: |eigenvalues|)."""
    W, P = g.shape
    Hm = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
    Hm = Hm + np.where(free, 0.0, 1.0)[:, :, None] * np.eye(P)[None]
    ev, V = np.linalg.eigh(Hm)
    ev = np.abs(ev)
    scale = np.maximum(ev.max(axis=1, keepdims=True), 1e-12)
    ev = np.maximum(ev, 1e-10 * scale) + lam[:, None] * scale
    gf = np.where(free, g, 0.0)
    step = -np.einsum("wij,wj,wkj,wk->wi", V, 1.0 / ev, V, gf)
    return np.where(free, step, 0.0)


def minimise(prob: Problem, cfg: FitConfig, starts: np.ndarray):
    """Batched bounded damped Newton over all windows; returns (theta (W,4), f (W,), iterations)."""
    import jax.numpy as jnp

    W0 = prob.n_windows
    grid = 0
    shape, chunks = _chunks(prob, CHUNK_PAIRS, CHUNK_ENTRIES)
    Wc = shape[0]
    log.debug("%d chunk(s) of up to %d windows", len(chunks), Wc)
    vg_fn, hess_fn = _objective_fns(cfg.model, cfg.left, float(cfg.regul_alpha), grid)

    def to_device(chs):
        return [(ids, {k: jnp.asarray(v) for k, v in d.items()}) for ids, d in chs]

    jchunks = to_device(chunks)
    best_theta = None
    best_f = None
    total_iter = 0
    Wp = W0
    lo, hi, fixed = prob.win_lo, prob.win_hi, prob.win_fixed
    pad_theta = np.array([0.5, 1.0, 0.5, 1.5])

    def _pad(t):
        out = np.tile(pad_theta, (Wc, 1))
        out[: len(t)] = t
        return jnp.asarray(out)

    timing = {"vg": 0.0, "hess": 0.0, "n_vg": 0, "n_hess": 0}

    def vg(t, active=None):
        """Values and gradients; chunks without an active window are skipped (returned as +inf/0)."""
        t0 = time.perf_counter()
        timing["n_vg"] += 1
        f = np.full(W0, np.inf)
        g = np.zeros((W0, 4))
        for ids, d in jchunks:
            if active is not None and not active[ids].any():
                continue
            fc, gc = vg_fn(_pad(t[ids]), d)
            f[ids] = np.asarray(fc)[: len(ids)]
            g[ids] = np.asarray(gc)[: len(ids)]
        timing["vg"] += time.perf_counter() - t0
        return f, g

    def hess(t, g, active=None, H_old=None):
        t0 = time.perf_counter()
        timing["n_hess"] += 1
        H = np.tile(np.eye(4), (W0, 1, 1)) if H_old is None else H_old.copy()
        for ids, d in jchunks:
            if active is not None and not active[ids].any():
                continue
            hc = np.tile(np.array([1.0, 2.0, 1.0, 2.0]), (Wc, 1))
            hc[: len(ids)] = hi[ids]
            Hc = hess_fn(_pad(t[ids]), _pad(g[ids]), jnp.asarray(hc), d)
            H[ids] = np.asarray(Hc)[: len(ids)]
        timing["hess"] += time.perf_counter() - t0
        return H

    for st in starts:
        theta = np.tile(st, (Wp, 1)).astype(float)
        theta[:, 3] = np.log(np.exp(theta[:, 3]) + np.exp(lo[:, 3]))
        theta = np.clip(theta, lo, hi)
        theta[:, 0] = np.where(fixed[:, 0], 1.0, theta[:, 0])
        theta[:, 2] = np.where(fixed[:, 2], 0.0, theta[:, 2])
        f, g = vg(theta)
        H = hess(theta, g)
        lam = np.full(Wp, 1e-3)
        done = np.zeros(Wp, bool)
        since = 0
        it = 0
        for it in range(1, cfg.max_iter + 1):
            at_lo = (theta <= lo + 1e-12) & (g > 0)
            at_hi = (theta >= hi - 1e-12) & (g < 0)
            free = ~(fixed | at_lo | at_hi)
            pg = np.abs(np.where(free, g, 0.0)).max(axis=1)
            step = _newton_steps(g, H, lam, free)
            trial = np.clip(theta + step, lo, hi)
            trial = np.where(done[:, None], theta, trial)
            f2, g2 = vg(trial, ~done)
            ok = np.isfinite(f2) & (f2 <= f) & np.isfinite(g2).all(axis=1) & ~done
            dec = f - f2
            # BFGS update of the Hessian blocks between (finite-difference) refreshes
            sv = np.where(free, trial - theta, 0.0)
            yv = np.where(free, g2 - g, 0.0)
            sy = (sv * yv).sum(1)
            Hs = np.einsum("wij,wj->wi", H, sv)
            sHs = (sv * Hs).sum(1)
            upd = ok & (sy > 1e-12) & (sHs > 1e-300)
            Hn = H - np.einsum("wi,wj->wij", Hs, Hs) / np.where(upd, sHs, 1.0)[:, None, None] \
                + np.einsum("wi,wj->wij", yv, yv) / np.where(upd, sy, 1.0)[:, None, None]
            H = np.where(upd[:, None, None], Hn, H)
            theta = np.where(ok[:, None], trial, theta)
            g = np.where(ok[:, None], g2, g)
            f = np.where(ok, f2, f)
            lam = np.where(ok, np.maximum(lam * 0.2, 1e-12), lam * 8.0)
            conv = (ok & (dec <= 1e-12 * (1.0 + np.abs(f))) & (pg < 1e-4)) | (pg < 1e-9) | (lam > 1e6)
            done |= conv
            n_act_chunks = sum(bool((~done[ids]).any()) for ids, _ in jchunks)
            log.debug("iteration %d: %d of %d windows active, %d of %d chunks", it, int((~done).sum()), W0,
                      n_act_chunks, len(jchunks))
            if done.all():
                break
            if len(jchunks) > 1:
                if n_act_chunks > 1 and (~done).sum() < 0.5 * n_act_chunks * Wc:
                    # the active windows are spread thinly over many chunks: regroup them (active first,
                    # same compiled shape) so the converged ones stop costing evaluations
                    order = np.concatenate([np.flatnonzero(~done), np.flatnonzero(done)])
                    jchunks = to_device(_chunks(prob, CHUNK_PAIRS, CHUNK_ENTRIES, order=order, shape=shape)[1])
            since += 1
            if since >= 25 or ((~ok & ~done).sum() > 0.5 * (~done).sum()):
                H = hess(theta, g, ~done, H)
                since = 0
        total_iter += it
        if best_theta is None:
            best_theta, best_f = theta, f
        else:
            better = f < best_f
            best_theta = np.where(better[:, None], theta, best_theta)
            best_f = np.where(better, f, best_f)
    log.debug("objective: %d evaluations in %.1f s, %d Hessian refreshes in %.1f s (wall, incl. compilation)",
              timing["n_vg"], timing["vg"], timing["n_hess"], timing["hess"])
    return best_theta[:W0], best_f[:W0], total_iter


# --- the driver ---------------------------------------------------------------------------------
def fit_groups(groups: list[Group], cfg: FitConfig):
    """Fit every group; returns a list of per-slice parameter records (dicts) and a summary."""
    from .score import slice_rmsea

    rng = np.random.default_rng(cfg.seed)
    per_bad_total: dict[float, int] = {}
    for g in groups:
        per_bad_total[g.bad] = max(per_bad_total.get(g.bad, 0), g.total)
    fit_windows = []
    plans = {}
    conservative_bads = set()
    for gi, g in enumerate(groups):
        if g.total == 0:
            continue
        if per_bad_total[g.bad] < cfg.small_dataset_n:
            conservative_bads.add(g.bad)
            continue
        if per_bad_total[g.bad] < cfg.window_size:
            log.warning("BAD %g: %d observations, fewer than the window size %d", g.bad, per_bad_total[g.bad],
                        cfg.window_size)
        centres, lo, hi = make_windows(g.slice_n, cfg.window_size, cfg.min_slices, cfg.stop_slice_n)
        uniq, inv = np.unique(np.stack([lo, hi], 1), axis=0, return_inverse=True)
        plans[gi] = (centres, uniq, inv.ravel())
        fit_windows.append((gi, uniq[:, 0], uniq[:, 1]))
    for b in sorted(conservative_bads):
        log.warning("BAD %g: only %d observations (< --small-dataset-n %d); too few for a sensible fit, "
                    "using the conservative model (b=1, mu=0, w=1, NB) for this BAD", b, per_bad_total[b],
                    cfg.small_dataset_n)
    records = []
    thetas = {}
    if fit_windows:
        prob = build_problem(groups, fit_windows, cfg)
        starts = np.array([[0.5, 1.0, 1.0, math.log(200.0)], [0.9, 2.0, 0.1, math.log(20.0)]])[: max(cfg.n_starts, 1)]
        if cfg.n_starts > 2:
            extra = np.column_stack([rng.uniform(0.3, 1.0, cfg.n_starts - 2), rng.uniform(0.5, 3.0, cfg.n_starts - 2),
                                     rng.uniform(0.0, 3.0, cfg.n_starts - 2),
                                     rng.uniform(math.log(5), math.log(5000), cfg.n_starts - 2)])
            starts = np.vstack([starts, extra])
        log.info("fitting %s: %d windows, %d slice pairs, %d (x, s) entries", cfg.model, prob.n_windows,
                 len(prob.pair_s), len(prob.ent_x))
        theta, f, iters = minimise(prob, cfg, starts)
        log.info("fit converged in %d batched Newton iterations", iters)
        off = 0
        for gi, lo, hi in fit_windows:
            thetas[gi] = (theta[off: off + len(lo)], f[off: off + len(lo)], prob.win_N[off: off + len(lo)])
            off += len(lo)
    for gi, g in enumerate(groups):
        if g.total == 0:
            continue
        B = g.bad
        p1, p2 = B / (B + 1.0), 1.0 / (B + 1.0)
        K = len(g.slices)
        if gi in thetas:
            centres, uniq, inv = plans[gi]
            th, fw, Nw = thetas[gi]
            widx = np.array([inv[min(k, len(centres) - 1)] for k in range(K)])
            par = th[widx]
            lo_s = g.slices[uniq[widx, 0]]
            hi_s = g.slices[uniq[widx, 1]]
            n_win = Nw[widx].astype(np.int64)
            loglik = -fw[widx] * Nw[widx]
            cons = np.zeros(K, bool)
        else:
            par = np.tile([1.0, 1.0, 0.0, np.nan], (K, 1))
            lo_s, hi_s = np.full(K, g.slices[0]), np.full(K, g.slices[-1])
            n_win = np.full(K, g.total)
            loglik = np.full(K, np.nan)
            cons = np.ones(K, bool)
        model = cfg.model if gi in thetas else "NB"
        kappa = np.exp(par[:, 3]) if (cfg.model == "BetaNB" and gi in thetas) else np.full(K, np.nan)
        rmsea = slice_rmsea(g, model, par[:, 0], par[:, 1], par[:, 2], kappa, p1, p2, cfg.left)
        if gi not in thetas:
            loglik = slice_loglik_total(g, model, par, kappa, p1, p2, cfg.left)
        for k in range(K):
            records.append(dict(
                model=cfg.model, bad=B, direction=g.direction, slice=int(g.slices[k]),
                w=float(par[k, 0]) if abs(B - 1) > 1e-12 else 1.0, b=float(par[k, 1]), mu=float(par[k, 2]),
                kappa=None if not np.isfinite(kappa[k]) else float(kappa[k]), p1=p1, p2=p2, left=cfg.left,
                loglik=float(loglik[k]), n=int(g.slice_n[k]), n_window=int(n_win[k]),
                window_lo=int(lo_s[k]), window_hi=int(hi_s[k]),
                rmsea=None if not np.isfinite(rmsea[k]) else float(rmsea[k]), conservative=bool(cons[k]),
            ))
    return records, sorted(conservative_bads)


def slice_loglik_total(g: Group, model, par, kappa, p1, p2, left) -> np.ndarray:
    """Total log-likelihood of the group under per-slice parameters (for conservative rows)."""
    from .score import mixture_logpmf_pairs

    k_of_pair = np.repeat(np.arange(len(g.slices)), np.diff(g.slice_start))
    lp = mixture_logpmf_pairs(model, g.x, g.s, par[k_of_pair, 0], par[k_of_pair, 1], par[k_of_pair, 2],
                              kappa[k_of_pair], p1, p2, left)
    return np.full(len(g.slices), float((g.n * lp).sum()))


# --- classic binomial / beta-binomial -------------------------------------------------------------
def fit_classic(groups: list[Group], model: str, left: int, kappa_bounds=(1e-2, 1e6)):
    """One row per BAD and direction: symmetric mixture (w = 1/2) of p1/p2 (binomial), and for
    ``betabinom`` a concentration kappa fitted by bounded 1-D maximum likelihood."""
    from scipy.optimize import minimize_scalar

    from .score import classic_logpmf_pairs

    records = []
    for g in groups:
        if g.total == 0:
            continue
        B = g.bad
        p1, p2 = B / (B + 1.0), 1.0 / (B + 1.0)
        w = 1.0 if abs(B - 1) < 1e-12 else 0.5
        kappa = None
        if model == "betabinom":
            def nll(lk):
                lp = classic_logpmf_pairs("betabinom", g.x, g.s, w, p1, p2, math.exp(lk), left)
                return -float((g.n * lp).sum()) / g.total

            res = minimize_scalar(nll, bounds=tuple(math.log(v) for v in kappa_bounds), method="bounded",
                                  options={"xatol": 1e-6})
            kappa = float(math.exp(res.x))
        lp = classic_logpmf_pairs(model, g.x, g.s, w, p1, p2, kappa if kappa else np.inf, left)
        records.append(dict(model=model, bad=B, direction=g.direction, slice=None, w=w, b=None, mu=None,
                            kappa=kappa, p1=p1, p2=p2, left=left, loglik=float((g.n * lp).sum()),
                            n=g.total, n_window=g.total, window_lo=int(g.slices[0]), window_hi=int(g.slices[-1]),
                            rmsea=None, conservative=False))
    return records


def check_model(model: str) -> None:
    from . import MODELS

    if model not in MODELS:
        raise AllelekitError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
