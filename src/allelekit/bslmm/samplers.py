"""Numba MCMC kernels for BSLMM (GEMMA's collapsed Metropolis-Hastings) and bsBSLMM (block Gibbs).

Everything in the per-iteration loop is compiled (``@njit(cache=True)``); the Python side
(:mod:`allelekit.bslmm.model`) only prepares arrays and summarises the recorded draws.

Conventions shared by both kernels
----------------------------------
* ``XT`` is the *centred* training genotype matrix stored SNP-major (p x n, C order) so that
  column ``x_j`` is the contiguous row ``XT[j]``; ``UtXT`` is the same for ``U^T X`` where
  ``K = X X^T / p = U diag(d) U^T``.
* ``sa``/``sb`` are sigma_a^2 / sigma_b^2 of Zhou et al. (2013) in units of 1/tau, derived from
  (h, rho, pi) as in GEMMA: ``sa = h rho / (s_K (1-h) p pi)``, ``sb = h (1-rho) / (s_K (1-h))``.
* The random stream is numba's own (seeded by :func:`seed_numba` before each chain), so a chain is
  reproducible whatever process runs it.
* Recorded per draw: ``hyp`` rows (h, pve, rho, pge, pi, n_gamma, pi_b, eta0, eta1, tau),
  the sparse effects ``beta`` (dense row, float32), and ``V = sb H^-1 U^T (y - mu - X beta)`` from which
  the polygenic per-SNP effects ``alpha = UtX^T V / p`` are formed afterwards with one matrix product
  (GEMMA's ``alpha``: the conditional posterior mean of the per-SNP polygenic effect).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# columns of the recorded hyper-parameter array
HYP_COLS = ("h", "pve", "rho", "pge", "pi", "n_gamma", "pi_b", "eta0", "eta1", "tau")
_H, _PVE, _RHO, _PGE, _PI, _NG, _PIB, _E0, _E1, _TAU = range(10)


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


@njit(cache=True)
def _chol_inplace(A, m):
    """Lower Cholesky factor of the leading m x m block of A, in place; returns log det or nan."""
    logdet = 0.0
    for j in range(m):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if s <= 0.0:
            return np.nan
        ljj = math.sqrt(s)
        A[j, j] = ljj
        logdet += 2.0 * math.log(ljj)
        for i in range(j + 1, m):
            s2 = A[i, j]
            for k in range(j):
                s2 -= A[i, k] * A[j, k]
            A[i, j] = s2 / ljj
    return logdet


@njit(cache=True)
def _solve_lower(L, b, out, m):
    for i in range(m):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * out[k]
        out[i] = s / L[i, i]


@njit(cache=True)
def _solve_upper_t(L, b, out, m):
    """Solve L^T x = b."""
    for i in range(m - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, m):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]


@njit(cache=True)
def _reflect(x, lo, hi):
    # one or more reflections into [lo, hi]
    w = hi - lo
    for _ in range(100):
        if x < lo:
            x = 2.0 * lo - x
        elif x > hi:
            x = 2.0 * hi - x
        else:
            return x
    return lo + 0.5 * w


@njit(cache=True)
def _sa_sb(h, rho, pi, s_k, p):
    sa = h * rho / (s_k * (1.0 - h) * p * pi)
    sb = h * (1.0 - rho) / (s_k * (1.0 - h))
    return sa, sb


# ------------------------------------------------------------------------------------------------
# BSLMM: GEMMA's collapsed MH
# ------------------------------------------------------------------------------------------------
@njit(cache=True)
def _chol_any(A, m):
    """Cholesky of the leading m x m block of A in place (lower); LAPACK for larger m. Returns log det."""
    if m <= 24:
        return _chol_inplace(A, m)
    B = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            B[i, j] = A[i, j]
    for i in range(m):  # a non-positive-definite matrix makes LAPACK raise: check the pivots ourselves
        if B[i, i] <= 0.0:
            return np.nan
    L = np.linalg.cholesky(B)
    logdet = 0.0
    for i in range(m):
        if not L[i, i] > 0.0:
            return np.nan
        logdet += 2.0 * math.log(L[i, i])
        for j in range(m):
            A[i, j] = L[i, j]
    return logdet


@njit(cache=True)
def _bslmm_logpost(UtXT, Uty, d, gam, k, h, rho, logpi, s_k, p, A, bvec, z, M):
    """log marginal posterior (b, u, tau integrated) of GEMMA's BSLMM; fills A with chol(Omega).

    M is a (>= k, n) work buffer: rows = H^-1/2-weighted rotated genotypes of the included SNVs, so that
    X_g^T H^-1 X_g = M M^T is one BLAS product (as GEMMA's dsyrk).
    """
    n = Uty.shape[0]
    if h <= 0.0 or h >= 1.0 or rho < 0.0 or rho > 1.0:
        return -np.inf, 0.0
    pi = math.exp(logpi)
    if pi >= 1.0 and k < p:
        return -np.inf, 0.0
    sa, sb = _sa_sb(h, rho, pi, s_k, p)
    logdet_h = 0.0
    yhy = 0.0
    sw = np.empty(n)
    swy = np.empty(n)
    for i in range(n):
        hi = 1.0 + sb * d[i]
        logdet_h += math.log(hi)
        yhy += Uty[i] * Uty[i] / hi
        sw[i] = 1.0 / math.sqrt(hi)
        swy[i] = Uty[i] * sw[i]
    logdet_o = 0.0
    pyy = yhy
    if k > 0:
        for a in range(k):
            ja = gam[a]
            for i in range(n):
                M[a, i] = UtXT[ja, i] * sw[i]
        Mk = M[:k]
        XtX = np.dot(Mk, Mk.T)
        Xty = np.dot(Mk, swy)
        for a in range(k):
            bvec[a] = Xty[a]
            for c in range(k):
                A[a, c] = sa * XtX[a, c]
            A[a, a] += 1.0
        logdet_o = _chol_any(A, k)
        if np.isnan(logdet_o):
            return -np.inf, 0.0
        _solve_lower(A, bvec, z, k)
        q = 0.0
        for a in range(k):
            q += z[a] * z[a]
        pyy = yhy - sa * q
    if pyy <= 0.0:
        return -np.inf, 0.0
    lp = -0.5 * logdet_h - 0.5 * logdet_o - 0.5 * n * math.log(pyy)
    lp += (k - 1.0) * logpi
    if k < p:
        lp += (p - k) * math.log1p(-pi)
    return lp, pyy


@njit(cache=True)
def _draw_from_cum(cum):
    u = np.random.random() * cum[cum.shape[0] - 1]
    return np.searchsorted(cum, u, side="right")


@njit(cache=True)
def _move_probs(k, kmax):
    """(P_add, P_delete, P_swap) for a gamma set of size k."""
    if k == 0:
        return 1.0, 0.0, 0.0
    if k >= kmax:
        return 0.0, 1.0, 0.0
    return 0.4, 0.4, 0.2


@njit(cache=True, error_model="numpy")
def bslmm_mh(UtXT, Uty, d, s_k, rank_order, q_snp, q_cum, gam0, h0, rho0, logpi0,
             n_burn, n_samp, rpace, s_max, h_scale, rho_scale, logp_scale):
    """GEMMA-style BSLMM sampler (``-bslmm 1``).

    Parameters
    ----------
    UtXT : (p, n) float64, rotated centred genotypes.      Uty : (n,) rotated centred phenotype.
    d : (n,) eigenvalues of K (tiny ones set to 0).         s_k : tr(K)/n.
    rank_order : (p,) SNP index of each LRT rank.           q_snp, q_cum : proposal mass per SNP and
    cumulative mass by rank.                                gam0 : initial included SNPs.
    Returns (hyp (T,10), beta (T,p) float32, V (T,n), accept_rate).
    """
    p = UtXT.shape[0]
    n = UtXT.shape[1]
    kmax = min(s_max, p)
    n_rec = 0
    for t in range(n_samp):
        if t % rpace == 0:
            n_rec += 1
    hyp = np.zeros((n_rec, 10))
    beta_rec = np.zeros((n_rec, p), dtype=np.float32)
    V = np.zeros((n_rec, n))

    logp_min = math.log(1.0 / p)
    logp_max = 0.0
    d_logp = min(0.1, (logp_max - logp_min) * logp_scale)

    # state
    gam = np.empty(kmax + 1, dtype=np.int64)
    incl = np.zeros(p, dtype=np.bool_)
    k = 0
    for a in range(min(gam0.shape[0], kmax)):
        gam[k] = gam0[a]
        incl[gam0[a]] = True
        k += 1
    h = h0
    rho = rho0
    logpi = logpi0
    q_in = 0.0
    for a in range(k):
        q_in += q_snp[gam[a]]

    A = np.zeros((kmax + 1, kmax + 1))
    bvec = np.zeros(kmax + 1)
    zv = np.zeros(kmax + 1)
    M = np.zeros((kmax + 1, n))
    lp, pyy = _bslmm_logpost(UtXT, Uty, d, gam, k, h, rho, logpi, s_k, p, A, bvec, zv, M)

    gam_n = np.empty(kmax + 1, dtype=np.int64)
    incl_n = np.zeros(p, dtype=np.bool_)
    A_n = np.zeros((kmax + 1, kmax + 1))
    bvec_n = np.zeros(kmax + 1)
    zv_n = np.zeros(kmax + 1)
    bdraw = np.zeros(kmax + 1)
    tmp = np.zeros(kmax + 1)
    xb = np.zeros(n)

    n_acc = 0
    rec = 0
    total = n_burn + n_samp
    for t in range(total):
        rep = 1
        if np.random.random() < 0.33:
            rep = 1 + int(np.random.random() * 20.0)
        # copy state
        kn = k
        for a in range(k):
            gam_n[a] = gam[a]
            incl_n[gam[a]] = True
        q_in_n = q_in
        logr = 0.0
        # h and rho
        hn = h
        rn = rho
        for _ in range(rep):
            hn = _reflect(hn + (np.random.random() - 0.5) * h_scale, 0.0, 1.0)
            rn = _reflect(rn + (np.random.random() - 0.5) * rho_scale, 0.0, 1.0)
        # gamma
        for _ in range(rep):
            pa, pd, ps = _move_probs(kn, kmax)
            u = np.random.random()
            if u < pa:  # add
                j = rank_order[_draw_from_cum(q_cum)]
                while incl_n[j]:
                    j = rank_order[_draw_from_cum(q_cum)]
                q_ex = 1.0 - q_in_n
                pa2, pd2, ps2 = _move_probs(kn + 1, kmax)
                logr += math.log(pd2 / (kn + 1.0)) - math.log(pa * q_snp[j] / q_ex)
                gam_n[kn] = j
                incl_n[j] = True
                kn += 1
                q_in_n += q_snp[j]
            elif u < pa + pd:  # delete
                a = int(np.random.random() * kn)
                i = gam_n[a]
                pa2, pd2, ps2 = _move_probs(kn - 1, kmax)
                q_ex_after = 1.0 - q_in_n + q_snp[i]
                logr += math.log(pa2 * q_snp[i] / q_ex_after) - math.log(pd / kn)
                gam_n[a] = gam_n[kn - 1]
                incl_n[i] = False
                kn -= 1
                q_in_n -= q_snp[i]
            else:  # swap
                a = int(np.random.random() * kn)
                i = gam_n[a]
                j = rank_order[_draw_from_cum(q_cum)]
                while incl_n[j]:
                    j = rank_order[_draw_from_cum(q_cum)]
                q_ex = 1.0 - q_in_n
                q_ex2 = q_ex - q_snp[j] + q_snp[i]
                logr += math.log(q_snp[i] / q_ex2) - math.log(q_snp[j] / q_ex)
                gam_n[a] = j
                incl_n[i] = False
                incl_n[j] = True
                q_in_n += q_snp[j] - q_snp[i]
        # log pi
        lpn = logpi
        for _ in range(rep):
            lpn = _reflect(lpn + (np.random.random() - 0.5) * d_logp, logp_min, logp_max)
        logr += lpn - logpi

        lp_n, pyy_n = _bslmm_logpost(UtXT, Uty, d, gam_n, kn, hn, rn, lpn, s_k, p, A_n, bvec_n, zv_n, M)
        accept = False
        if lp_n > -np.inf:
            if math.log(np.random.random()) < lp_n - lp + logr:
                accept = True
        # clear the proposal's inclusion flags
        for a in range(kn):
            incl_n[gam_n[a]] = False
        if accept:
            n_acc += 1
            for a in range(k):
                incl[gam[a]] = False
            k = kn
            for a in range(k):
                gam[a] = gam_n[a]
                incl[gam[a]] = True
            h = hn
            rho = rn
            logpi = lpn
            lp = lp_n
            pyy = pyy_n
            q_in = q_in_n
            for a in range(k):
                bvec[a] = bvec_n[a]
                zv[a] = zv_n[a]
                for c in range(k):
                    A[a, c] = A_n[a, c]
        # record
        if t >= n_burn and (t - n_burn) % rpace == 0:
            pi = math.exp(logpi)
            sa, sb = _sa_sb(h, rho, pi, s_k, p)
            tau = np.random.gamma(0.5 * n, 2.0 / pyy)
            # b ~ N(sa Omega^-1 bvec, sa/tau Omega^-1); Omega = L L^T, zv = L^-1 bvec
            # mean part: sa * L^-T zv ; noise part: sqrt(sa/tau) L^-T eps
            for a in range(k):
                tmp[a] = sa * zv[a] + math.sqrt(sa / tau) * np.random.standard_normal()
            _solve_upper_t(A, tmp, bdraw, k)
            for i in range(n):
                xb[i] = 0.0
            for a in range(k):
                ja = gam[a]
                ba = bdraw[a]
                beta_rec[rec, ja] = ba
                for i in range(n):
                    xb[i] += UtXT[ja, i] * ba
            v_xb = 0.0
            v_u = 0.0
            for i in range(n):
                e = Uty[i] - xb[i]
                hi = 1.0 + sb * d[i]
                m = sb * d[i] / hi * e
                sd = math.sqrt(sb * d[i] / (tau * hi))
                ui = m + sd * np.random.standard_normal()
                V[rec, i] = sb / hi * e
                v_xb += xb[i] * xb[i]
                v_u += ui * ui
            v_xb /= n
            v_g = v_xb + v_u / n  # GEMMA's PVE: V(Xb) + V(u), without the 2 (Xb).u / n cross term
            hyp[rec, _H] = h
            hyp[rec, _RHO] = rho
            hyp[rec, _PI] = pi
            hyp[rec, _NG] = k
            hyp[rec, _TAU] = tau
            hyp[rec, _PVE] = v_g / (v_g + 1.0 / tau)
            hyp[rec, _PGE] = v_xb / v_g if v_g > 0 else 0.0
            hyp[rec, _PIB] = np.nan
            hyp[rec, _E0] = np.nan
            hyp[rec, _E1] = np.nan
            rec += 1
    return hyp, beta_rec, V, n_acc / total


# ------------------------------------------------------------------------------------------------
# bsBSLMM: block-Gibbs sweep with block gate and annotation prior
# ------------------------------------------------------------------------------------------------
@njit(cache=True)
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    ex = math.exp(x)
    return ex / (1.0 + ex)


@njit(cache=True)
def _log_sigmoid(x):
    # log(1/(1+exp(-x)))
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(cache=True)
def _hr_logtarget(h, rho, pibar, e, d, s_k, p, k, sbb, n):
    """log p(h, rho | e, b_active) with u and tau integrated out (uniform priors)."""
    if h <= 0.0 or h >= 1.0 or rho < 0.0 or rho > 1.0:
        return -np.inf
    sa, sb = _sa_sb(h, rho, pibar, s_k, p)
    logdet_h = 0.0
    q = 0.0
    for i in range(n):
        hi = 1.0 + sb * d[i]
        logdet_h += math.log(hi)
        q += e[i] * e[i] / hi
    lt = -0.5 * logdet_h
    if k > 0:
        if sa <= 0.0:
            return -np.inf
        q += sbb / sa
        lt -= 0.5 * k * math.log(sa)
    if q <= 0.0:
        return -np.inf
    return lt - 0.5 * (n + k) * math.log(q)


@njit(cache=True)
def _eta_logtarget(e0, e1, a, gamma, prior_m0, prior_s0, prior_m1, prior_s1, pi_b, k, sbb, tau, h, rho, s_k, p):
    lt = -0.5 * ((e0 - prior_m0) / prior_s0) ** 2 - 0.5 * ((e1 - prior_m1) / prior_s1) ** 2
    tot = 0.0
    for j in range(p):
        x = e0 + e1 * a[j]
        if gamma[j]:
            lt += _log_sigmoid(x)
        else:
            lt += _log_sigmoid(-x)
        tot += _sigmoid(x)
    pibar = pi_b * tot / p
    lt += _beta_prior_term(pibar, k, sbb, tau, h, rho, s_k, p)
    return lt


@njit(cache=True)
def _beta_prior_term(pibar, k, sbb, tau, h, rho, s_k, p):
    """log N(b_active | 0, sa/tau I) up to constants free of sa (sa depends on pibar)."""
    if k == 0:
        return 0.0
    sa, sb = _sa_sb(h, rho, pibar, s_k, p)
    if sa <= 0.0:
        return -np.inf
    return -0.5 * k * math.log(sa) - 0.5 * tau * sbb / sa


@njit(cache=True, error_model="numpy")
def bsbslmm_gibbs(XT, UtXT, U, y, Uty, Ut1, d, s_k, block_start, a, h0, rho0,
                  n_burn, n_samp, thin, use_gate, use_annot, eta0_m, eta0_s, eta1_m, eta1_s,
                  n_hr_steps, h_scale, rho_scale):
    """bsBSLMM block-Gibbs sampler (spec Part B).

    ``use_gate=False, use_annot=False`` gives plain BSLMM with the same machinery (z = 1, one pi
    with log pi ~ U(log 1/p, 0) updated by random-walk MH on log pi).
    Returns (hyp (T,10), beta (T,p) float32 = z*gamma*b, V (T,n), incl counts (p,), block-open
    counts (B,), eta acceptance rate).
    """
    p = XT.shape[0]
    n = XT.shape[1]
    B = block_start.shape[0] - 1
    n_rec = 0
    for t in range(n_samp):
        if t % thin == 0:
            n_rec += 1
    hyp = np.zeros((n_rec, 10))
    beta_rec = np.zeros((n_rec, p), dtype=np.float32)
    V = np.zeros((n_rec, n))
    incl_cnt = np.zeros(p)
    open_cnt = np.zeros(B)

    sj = np.zeros(p)
    for j in range(p):
        s = 0.0
        for i in range(n):
            s += XT[j, i] * XT[j, i]
        sj[j] = s
    maxb = 1
    for b in range(B):
        maxb = max(maxb, block_start[b + 1] - block_start[b])

    # state
    z = np.ones(B, dtype=np.int64)
    gamma = np.zeros(p, dtype=np.int64)
    beta = np.zeros(p)
    xb = np.zeros(n)
    uxb = np.zeros(n)
    utu = np.zeros(n)
    u = np.zeros(n)
    mu = 0.0
    vy = 0.0
    for i in range(n):
        vy += y[i] * y[i]
    vy /= n
    tau = 1.0 / max(vy, 1e-12)
    h = h0
    rho = rho0
    pi_b = 0.5 if use_gate else 1.0
    eta0 = eta0_m
    eta1 = eta1_m if use_annot else 0.0
    eta1_scale = min(1.0, eta1_s)  # a tight (pooled) slope prior gets proportionally small steps
    eta_step = 0.5
    eta_acc = 0
    eta_acc_win = 0
    eta_tries = 0
    logpi = math.log(1.0 / p) if not use_annot else 0.0  # plain-BSLMM pi
    logp_min = math.log(1.0 / p)
    d_logp = min(0.1, (0.0 - logp_min) * min(1.0, 5.0 / math.sqrt(n)))
    pis = np.zeros(p)
    lpis = np.zeros(p)  # logit of pis
    r = np.zeros(n)
    for i in range(n):
        r[i] = y[i]
    e = np.zeros(n)
    G = np.zeros((maxb, maxb))
    cg = np.zeros(maxb)
    zz = np.zeros(maxb)
    tmp = np.zeros(maxb)
    bd = np.zeros(maxb)
    act = np.zeros(maxb, dtype=np.int64)

    total = n_burn + n_samp
    rec = 0
    for t in range(total):
        # per-SNP prior and expected inclusion rate
        tot = 0.0
        for j in range(p):
            if use_annot:
                lpis[j] = eta0 + eta1 * a[j]
                pis[j] = _sigmoid(lpis[j])
            else:
                pis[j] = math.exp(logpi)
                lpis[j] = logpi - math.log1p(-pis[j]) if pis[j] < 1.0 else 50.0
            tot += pis[j]
        pibar = pi_b * tot / p
        sa, sb = _sa_sb(h, rho, pibar, s_k, p)

        # ---- 1. blocks: gate, then per-SNP Gibbs
        for bl in range(B):
            j0 = block_start[bl]
            j1 = block_start[bl + 1]
            # remove the block's effects from the residual
            for j in range(j0, j1):
                bj = beta[j]
                if bj != 0.0:
                    for i in range(n):
                        r[i] += XT[j, i] * bj
                        xb[i] -= XT[j, i] * bj
                        uxb[i] -= UtXT[j, i] * bj
                    beta[j] = 0.0
            if use_gate:
                m = 0
                for j in range(j0, j1):
                    if gamma[j]:
                        act[m] = j
                        m += 1
                logbf = 0.0
                if m > 0:
                    for aa in range(m):
                        ja = act[aa]
                        s = 0.0
                        for i in range(n):
                            s += XT[ja, i] * r[i]
                        cg[aa] = s
                        for cc in range(aa + 1):
                            jc = act[cc]
                            s = 0.0
                            for i in range(n):
                                s += XT[ja, i] * XT[jc, i]
                            G[aa, cc] = sa * s
                            G[cc, aa] = sa * s
                        G[aa, aa] += 1.0
                    logdet = _chol_inplace(G, m)
                    _solve_lower(G, cg, zz, m)
                    qf = 0.0
                    for aa in range(m):
                        qf += zz[aa] * zz[aa]
                    logbf = -0.5 * logdet + 0.5 * tau * sa * qf
                lo = logbf + math.log(pi_b) - math.log1p(-pi_b) if pi_b < 1.0 else np.inf
                z[bl] = 1 if np.random.random() < _sigmoid(lo) else 0
                if z[bl] == 1 and m > 0:
                    # b_g ~ N(sa Omega^-1 c, sa/tau Omega^-1)
                    for aa in range(m):
                        tmp[aa] = sa * zz[aa] + math.sqrt(sa / tau) * np.random.standard_normal()
                    _solve_upper_t(G, tmp, bd, m)
                    for aa in range(m):
                        ja = act[aa]
                        bj = bd[aa]
                        beta[ja] = bj
                        for i in range(n):
                            r[i] -= XT[ja, i] * bj
                            xb[i] += XT[ja, i] * bj
                            uxb[i] += UtXT[ja, i] * bj
            if z[bl] == 1:
                for j in range(j0, j1):
                    s = 0.0
                    for i in range(n):
                        s += XT[j, i] * r[i]
                    cj = s + sj[j] * beta[j]
                    v = 1.0 + sa * sj[j]
                    lo = lpis[j] - 0.5 * math.log(v) + 0.5 * tau * sa * cj * cj / v
                    if np.random.random() < _sigmoid(lo):
                        gamma[j] = 1
                        bnew = sa * cj / v + math.sqrt(sa / (tau * v)) * np.random.standard_normal()
                    else:
                        gamma[j] = 0
                        bnew = 0.0
                    delta = bnew - beta[j]
                    if delta != 0.0:
                        for i in range(n):
                            r[i] -= XT[j, i] * delta
                            xb[i] += XT[j, i] * delta
                            uxb[i] += UtXT[j, i] * delta
                        beta[j] = bnew
            else:
                for j in range(j0, j1):
                    gamma[j] = 1 if np.random.random() < pis[j] else 0

        # active effects
        k = 0
        sbb = 0.0
        for j in range(p):
            if beta[j] != 0.0:
                k += 1
                sbb += beta[j] * beta[j]

        # ---- 2. (h, rho) with u and tau integrated out
        for i in range(n):
            e[i] = Uty[i] - mu * Ut1[i] - uxb[i]
        lt = _hr_logtarget(h, rho, pibar, e, d, s_k, p, k, sbb, n)
        for _ in range(n_hr_steps):
            hn = _reflect(h + (np.random.random() - 0.5) * h_scale, 0.0, 1.0)
            rn = _reflect(rho + (np.random.random() - 0.5) * rho_scale, 0.0, 1.0)
            ltn = _hr_logtarget(hn, rn, pibar, e, d, s_k, p, k, sbb, n)
            if ltn > -np.inf and math.log(np.random.random()) < ltn - lt:
                h = hn
                rho = rn
                lt = ltn
        sa, sb = _sa_sb(h, rho, pibar, s_k, p)
        # ---- 3. tau | h, rho, e, b (u integrated)
        q = 0.0
        for i in range(n):
            q += e[i] * e[i] / (1.0 + sb * d[i])
        if k > 0:
            q += sbb / sa
        tau = np.random.gamma(0.5 * (n + k), 2.0 / q)
        # ---- 4. u | tau
        for i in range(n):
            hi = 1.0 + sb * d[i]
            utu[i] = sb * d[i] / hi * e[i] + math.sqrt(sb * d[i] / (tau * hi)) * np.random.standard_normal()
        for i in range(n):
            s = 0.0
            for l in range(n):
                s += U[i, l] * utu[l]
            u[i] = s
        # ---- 5. mu
        s = 0.0
        for i in range(n):
            s += y[i] - xb[i] - u[i]
        mu = s / n + np.random.standard_normal() / math.sqrt(n * tau)
        for i in range(n):
            r[i] = y[i] - mu - xb[i] - u[i]

        # ---- 6. pi_b (conjugate Beta proposal, MH correction for sa's dependence on pi_b)
        if use_gate:
            zs = 0
            for bl in range(B):
                zs += z[bl]
            pbn = np.random.beta(1.0 + zs, 1.0 + B - zs)
            pbn = min(max(pbn, 1e-12), 1.0 - 1e-12)
            lr = (_beta_prior_term(pbn * tot / p, k, sbb, tau, h, rho, s_k, p)
                  - _beta_prior_term(pi_b * tot / p, k, sbb, tau, h, rho, s_k, p))
            if math.log(np.random.random()) < lr:
                pi_b = pbn
        # ---- 7. (eta0, eta1) Metropolis-within-Gibbs, or log pi for plain BSLMM
        if use_annot:
            lt0 = _eta_logtarget(eta0, eta1, a, gamma, eta0_m, eta0_s, eta1_m, eta1_s, pi_b, k, sbb, tau, h, rho,
                                 s_k, p)
            e0n = eta0 + eta_step * np.random.standard_normal()
            e1n = eta1 + eta_step * eta1_scale * np.random.standard_normal()
            lt1 = _eta_logtarget(e0n, e1n, a, gamma, eta0_m, eta0_s, eta1_m, eta1_s, pi_b, k, sbb, tau, h, rho,
                                 s_k, p)
            eta_tries += 1
            if math.log(np.random.random()) < lt1 - lt0:
                eta0 = e0n
                eta1 = e1n
                eta_acc += 1
                eta_acc_win += 1
            if t < n_burn and (t + 1) % 50 == 0:  # adapt towards ~0.3 acceptance during burn-in
                rate = eta_acc_win / 50.0
                eta_step *= math.exp(rate - 0.3)
                eta_acc_win = 0
        else:
            ng = 0
            for j in range(p):
                ng += gamma[j]
            lpn = _reflect(logpi + (np.random.random() - 0.5) * d_logp, logp_min, 0.0)
            pin = math.exp(lpn)
            pio = math.exp(logpi)
            if pin < 1.0:
                lr = ng * (lpn - logpi) + (p - ng) * (math.log1p(-pin) - math.log1p(-pio))
                lr += _beta_prior_term(pi_b * pin, k, sbb, tau, h, rho, s_k, p) - \
                    _beta_prior_term(pi_b * pio, k, sbb, tau, h, rho, s_k, p)
                if math.log(np.random.random()) < lr:
                    logpi = lpn

        # ---- 8. record
        if t >= n_burn and (t - n_burn) % thin == 0:
            tot = 0.0
            for j in range(p):
                tot += _sigmoid(eta0 + eta1 * a[j]) if use_annot else math.exp(logpi)
            pibar = pi_b * tot / p
            sa, sb = _sa_sb(h, rho, pibar, s_k, p)
            mx = 0.0
            mg = 0.0
            for i in range(n):
                mx += xb[i]
                mg += xb[i] + u[i]
            mx /= n
            mg /= n
            v_xb = 0.0
            v_u = 0.0
            mu_u = mg - mx  # mean of u
            for i in range(n):
                v_xb += (xb[i] - mx) ** 2
                v_u += (u[i] - mu_u) ** 2
                V[rec, i] = sb / (1.0 + sb * d[i]) * (Uty[i] - mu * Ut1[i] - uxb[i])
            v_xb /= n
            v_g = v_xb + v_u / n  # GEMMA's PVE definition (no cross term), as in bslmm_mh
            for j in range(p):
                beta_rec[rec, j] = beta[j]
                if beta[j] != 0.0:
                    incl_cnt[j] += 1.0
            for bl in range(B):
                open_cnt[bl] += z[bl]
            hyp[rec, _H] = h
            hyp[rec, _RHO] = rho
            hyp[rec, _PI] = pibar
            hyp[rec, _NG] = k
            hyp[rec, _TAU] = tau
            hyp[rec, _PVE] = v_g / (v_g + 1.0 / tau)
            hyp[rec, _PGE] = v_xb / v_g if v_g > 0 else 0.0
            hyp[rec, _PIB] = pi_b if use_gate else np.nan
            hyp[rec, _E0] = eta0 if use_annot else np.nan
            hyp[rec, _E1] = eta1 if use_annot else np.nan
            rec += 1
    acc = eta_acc / eta_tries if eta_tries > 0 else np.nan
    return hyp, beta_rec, V, incl_cnt, open_cnt, acc
