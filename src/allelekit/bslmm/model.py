"""Fit BSLMM / bsBSLMM to one gene and summarise the posterior.

:func:`fit_gene` takes training genotypes (n x p dosages, SNVs in position order) and a phenotype,
prepares the rotated data (GEMMA's pre-computation: centring, K = X X^T / p, eigen-decomposition,
single-SNP LMM likelihood-ratio ranking, initial values), runs one or more chains of the numba
kernels in :mod:`allelekit.bslmm.samplers`, and returns a :class:`GeneFit` with per-SNV summaries,
hyper-parameter draws and convergence diagnostics.  :func:`predict` applies a fit to new genotypes
with GEMMA's prediction rule ``y_hat = mu + (x - xbar_train) . (alpha + beta)``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import samplers
from .diagnostics import ess, split_rhat
from .ld import partition_blocks, tss_feature

MODELS = ("bslmm", "bsbslmm")
DEFAULT_SCHEDULE = {  # (burn-in, samples, thin); bslmm counts MH iterations, bsbslmm Gibbs sweeps
    "bslmm": (10_000, 20_000, 10),
    "bsbslmm": (2_000, 8_000, 10),
}


@dataclass
class Schedule:
    burn_in: int
    samples: int
    thin: int

    @classmethod
    def default(cls, model: str) -> "Schedule":
        return cls(*DEFAULT_SCHEDULE[model])


@dataclass
class BlockOptions:
    method: str = "ld"
    r2: float = 0.1
    window: int = 20
    min_size: int = 5
    max_size: int = 300
    width: int = 50_000


@dataclass
class Prepared:
    X: np.ndarray        # (n, p) centred training genotypes
    xbar: np.ndarray     # (p,) training means
    y: np.ndarray        # (n,) centred phenotype
    ymean: float
    U: np.ndarray        # (n, n) eigenvectors of K
    d: np.ndarray        # (n,) eigenvalues (tiny set to 0)
    UtXT: np.ndarray     # (p, n) rotated genotypes, SNP-major
    Uty: np.ndarray
    Ut1: np.ndarray
    s_k: float
    lam0: float          # REML sigma_b^2 of the null LMM
    h0: float            # REML PVE of the null LMM
    lrt: np.ndarray      # (p,) 2 log LR of the single-SNP LMM tests


@dataclass
class GeneFit:
    model: str
    n_train: int
    p: int
    xbar: np.ndarray
    intercept: float
    weight: np.ndarray
    alpha_mean: np.ndarray
    beta_mean: np.ndarray
    pip: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    block_id: np.ndarray
    block_pip: np.ndarray        # per SNV (P(z_b = 1) of its block)
    n_blocks: int
    hyp: list[np.ndarray]        # per chain (T, 10) in samplers.HYP_COLS order
    iterations: np.ndarray       # (T,) iteration after burn-in of each draw
    summary: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def active(self) -> np.ndarray:
        return (self.ci_low > 0) | (self.ci_high < 0)


# ------------------------------------------------------------------------------------------------
def _null_reml(Uty: np.ndarray, Ut1: np.ndarray, d: np.ndarray) -> float:
    """REML estimate of lambda = sigma_b^2 (var(u)/var(e) per unit of K) in the null LMM."""
    from scipy.optimize import minimize_scalar

    n = Uty.shape[0]

    def neg(loglam: float) -> float:
        w = 1.0 / (1.0 + math.exp(loglam) * d)
        w11 = np.sum(w * Ut1 * Ut1)
        w1y = np.sum(w * Ut1 * Uty)
        P = np.sum(w * Uty * Uty) - (w1y * w1y / w11 if w11 > 1e-12 else 0.0)
        if P <= 0:
            return np.inf
        return -(0.5 * np.sum(np.log(w)) - 0.5 * math.log(max(w11, 1e-300)) - 0.5 * (n - 1) * math.log(P))

    res = minimize_scalar(neg, bounds=(-10.0, 10.0), method="bounded", options={"xatol": 1e-4})
    return float(math.exp(res.x))


def prepare(G: np.ndarray, y: np.ndarray) -> Prepared:
    """GEMMA's pre-computation for one gene (G: n x p training dosages, y: n phenotype)."""
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, p = G.shape
    xbar = G.mean(axis=0)
    X = G - xbar
    ymean = float(y.mean())
    yc = y - ymean
    K = X @ X.T / p
    d, U = np.linalg.eigh(K)
    d = np.where(d < 1e-10, 0.0, d)
    U = np.ascontiguousarray(U)
    UtXT = np.ascontiguousarray((U.T @ X).T)
    Uty = U.T @ yc
    Ut1 = U.T @ np.ones(n)
    s_k = float(np.trace(K) / n)
    lam = _null_reml(Uty, Ut1, d)
    h0 = lam * s_k / (1.0 + lam * s_k)
    # single-SNP LMM likelihood-ratio tests at the null lambda (ranks SNPs for the proposal)
    w = 1.0 / (1.0 + lam * d)
    yty = float(np.sum(w * Uty * Uty))
    xty = UtXT @ (w * Uty)
    xtx = (UtXT * UtXT) @ w
    P1 = yty - np.where(xtx > 0, xty * xty / np.where(xtx > 0, xtx, 1.0), 0.0)
    lrt = n * np.log(yty / np.maximum(P1, 1e-300 * yty)) if yty > 0 else np.zeros(p)
    return Prepared(X=X, xbar=xbar, y=yc, ymean=ymean, U=U, d=d, UtXT=UtXT, Uty=Uty, Ut1=Ut1, s_k=s_k,
                    lam0=lam, h0=float(h0), lrt=lrt)


def _initial_bslmm(pr: Prepared, s_max: int):
    """GEMMA's initial state: top-LRT SNPs, pi = |gamma|/p, h = REML PVE, rho from a ridge fit."""
    from scipy.stats import chi2

    n, p = pr.X.shape
    order = np.argsort(-pr.lrt, kind="stable")
    thr = chi2.isf(0.05 / p, 1)
    k0 = int(np.sum(pr.lrt > thr))
    k0 = min(max(k0, min(10, p)), min(s_max, p))
    gam0 = order[:k0].astype(np.int64)
    h0 = float(np.clip(pr.h0, 0.01, 0.99))
    Xg = pr.X[:, gam0]
    b = np.linalg.solve(Xg.T @ Xg + np.eye(k0), Xg.T @ pr.y)
    pve_ridge = float(np.var(Xg @ b) / max(np.var(pr.y), 1e-300))
    rho0 = float(np.clip(pve_ridge / h0, 0.01, 0.99))
    return order, gam0, h0, rho0, math.log(k0 / p)


def _proposal_mass(p: int, geo_mean: float = 2000.0):
    """q(rank) = 0.7 Geom(rank+1; 1/geo_mean) (normalised over p) + 0.3/p."""
    theta = 1.0 / geo_mean
    r = np.arange(p, dtype=np.float64)
    g = theta * np.power(1.0 - theta, r)
    q = 0.7 * g / g.sum() + 0.3 / p
    q /= q.sum()
    return q


def _chain_seeds(seed_words: tuple[int, ...], n_chains: int) -> list[int]:
    ss = np.random.SeedSequence(list(seed_words))
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in ss.spawn(n_chains)]


def fit_gene(G: np.ndarray, y: np.ndarray, pos: np.ndarray, tss: int, model: str = "bslmm",
             schedule: Schedule | None = None, seed_words: tuple[int, ...] = (0,), chains: int = 1,
             blocks: BlockOptions | None = None, s_max: int = 300, n_hr_steps: int = 10,
             ci_draws: int = 1000, chunk: int = 512, tss_prior: tuple[float, float] = (0.0, 1.0)) -> GeneFit:
    """Fit one gene; deterministic given ``seed_words`` (whatever process runs it).

    ``tss_prior`` = (mean, sd) of the normal prior on bsBSLMM's TSS-distance slope (eta1): (0, 1) is the
    per-gene default; :func:`pooled_tss_prior` gives the empirical-Bayes one pooled over genes.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    t0 = time.perf_counter()
    schedule = schedule or Schedule.default(model)
    blocks = blocks or BlockOptions()
    G = np.asarray(G, dtype=np.float64)
    n, p = G.shape
    pr = prepare(G, y)
    if model == "bsbslmm":
        bstart = partition_blocks(G, pos, blocks.method, blocks.r2, blocks.window, blocks.min_size,
                                  blocks.max_size, blocks.width)
    else:
        bstart = np.array([0, p], dtype=np.int64)
    block_id = np.repeat(np.arange(len(bstart) - 1), np.diff(bstart))
    seeds = _chain_seeds(seed_words, chains)
    scale = min(1.0, 10.0 / math.sqrt(n))
    hyps, betas, Vs = [], [], []
    open_frac = np.zeros(len(bstart) - 1)
    for s in seeds:
        samplers.seed_numba(s)
        if model == "bslmm":
            order, gam0, h0, rho0, logpi0 = _initial_bslmm(pr, s_max)
            q = _proposal_mass(p)
            q_snp = np.empty(p)
            q_snp[order] = q
            hyp, beta, V, _acc = samplers.bslmm_mh(
                pr.UtXT, pr.Uty, pr.d, pr.s_k, order.astype(np.int64), q_snp, np.cumsum(q),
                gam0, h0, rho0, logpi0, schedule.burn_in, schedule.samples, schedule.thin, s_max,
                scale, scale, min(1.0, 5.0 / math.sqrt(n)))
            open_frac += 1.0
        else:
            a = tss_feature(pos, tss)
            med = float(np.median(np.diff(bstart)))
            eta0_m = math.log(1.0 / med) - math.log1p(-1.0 / med) if med > 1 else 0.0
            XT = np.ascontiguousarray(pr.X.T)
            h0 = float(np.clip(pr.h0, 0.01, 0.99))
            hyp, beta, V, _incl, opened, _acc = samplers.bsbslmm_gibbs(
                XT, pr.UtXT, pr.U, pr.y, pr.Uty, pr.Ut1, pr.d, pr.s_k, bstart, a, h0, 0.5,
                schedule.burn_in, schedule.samples, schedule.thin, True, True, eta0_m, 2.0,
                float(tss_prior[0]), float(tss_prior[1]),
                n_hr_steps, scale, scale)
            open_frac += opened / max(hyp.shape[0], 1)
        hyps.append(hyp)
        betas.append(beta)
        Vs.append(V)
    open_frac /= len(seeds)
    hyp_all = np.concatenate(hyps)
    beta_all = np.concatenate(betas)
    V_all = np.concatenate(Vs)
    T = hyp_all.shape[0]
    if T == 0:
        raise ValueError("no recorded draws: --samples must be >= 1")
    # per-SNV summaries
    weight, alpha_mean, lo, hi = _effect_summaries(pr, hyp_all, beta_all, V_all, seed_words, ci_draws, chunk)
    beta_mean = beta_all.mean(axis=0, dtype=np.float64)
    pip = (beta_all != 0).mean(axis=0)
    H = samplers.HYP_COLS

    def col(name):
        return hyp_all[:, H.index(name)]

    pve = col("pve")
    summary = {
        "h_mean": float(col("h").mean()),
        "pve_mean": float(pve.mean()),
        "pve_low": float(np.quantile(pve, 0.025)),
        "pve_high": float(np.quantile(pve, 0.975)),
        "pge_mean": float(col("pge").mean()),
        "pi_mean": float(col("pi").mean()),
        "pi_b_mean": float(col("pi_b").mean()) if model == "bsbslmm" else None,
        "alpha_mean": float(col("eta0").mean()) if model == "bsbslmm" else None,
        "beta_mean": float(col("eta1").mean()) if model == "bsbslmm" else None,
        "n_gamma_mean": float(col("n_gamma").mean()),
        "ess_h": float(sum(ess(h[:, H.index("h")]) for h in hyps)),
        "ess_pve": float(sum(ess(h[:, H.index("pve")]) for h in hyps)),
        "rhat_h": split_rhat([h[:, H.index("h")] for h in hyps]) if len(hyps) > 1 else None,
        "rhat_pve": split_rhat([h[:, H.index("pve")] for h in hyps]) if len(hyps) > 1 else None,
        "n_blocks": int(len(bstart) - 1),
    }
    iters = np.arange(hyps[0].shape[0], dtype=np.int64) * schedule.thin
    return GeneFit(model=model, n_train=n, p=p, xbar=pr.xbar, intercept=pr.ymean, weight=weight,
                   alpha_mean=alpha_mean, beta_mean=beta_mean, pip=pip, ci_low=lo, ci_high=hi,
                   block_id=block_id, block_pip=open_frac[block_id], n_blocks=int(len(bstart) - 1),
                   hyp=hyps, iterations=iters, summary=summary, seconds=time.perf_counter() - t0)


def _effect_summaries(pr: Prepared, hyp: np.ndarray, beta: np.ndarray, V: np.ndarray,
                      seed_words: tuple[int, ...], ci_draws: int, chunk: int):
    """Posterior mean of alpha_j, of alpha_j + beta_j, and the 95% CI of alpha_j + beta_j.

    The means use GEMMA's Rao-Blackwellised alpha (conditional mean (1/p) x_j^T sb H^-1 (y - X b)).
    The CI needs draws of alpha itself: for up to ``ci_draws`` recorded draws, alpha is drawn from its
    exact conditional N(., .) given (b, tau, sigma_b^2) by Matheron's rule
    alpha = alpha0 + (1/p) UtX^T sb H^-1 (U^T(y - X b) - UtX alpha0 - eps0),
    alpha0 ~ N(0, sb/(p tau) I_p), eps0 ~ N(0, I_n / tau) (p-dimensional draws made chunk by chunk,
    twice from the same seeds, so memory stays O(T n + T chunk)).
    """
    p, n = pr.UtXT.shape
    T = hyp.shape[0]
    weight = np.empty(p)
    alpha_mean = np.empty(p)
    for c0 in range(0, p, chunk):
        c1 = min(p, c0 + chunk)
        alpha_mean[c0:c1] = V.mean(axis=0) @ pr.UtXT[c0:c1].T / p
    weight[:] = alpha_mean + beta.mean(axis=0, dtype=np.float64)
    idx = np.unique(np.linspace(0, T - 1, min(T, ci_draws)).round().astype(np.int64))
    Tc = idx.shape[0]
    H = samplers.HYP_COLS
    h = hyp[idx, H.index("h")]
    rho = hyp[idx, H.index("rho")]
    tau = hyp[idx, H.index("tau")]
    sb = h * (1.0 - rho) / (pr.s_k * (1.0 - h))
    sd_a = np.sqrt(sb / (p * tau))                              # prior sd of alpha_j per draw
    Hinv_sb = sb[:, None] / (1.0 + sb[:, None] * pr.d[None, :])  # (Tc, n)
    root = np.random.SeedSequence(list(seed_words) + [977])
    chunk_seeds = root.spawn((p + chunk - 1) // chunk + 1)
    eps = np.random.default_rng(chunk_seeds[-1]).standard_normal((Tc, n)) / np.sqrt(tau)[:, None]
    Z = eps.copy()                                               # U^T X alpha0 + U^T eps0
    for ci, c0 in enumerate(range(0, p, chunk)):
        c1 = min(p, c0 + chunk)
        A0 = np.random.default_rng(chunk_seeds[ci]).standard_normal((Tc, c1 - c0)) * sd_a[:, None]
        Z += A0 @ pr.UtXT[c0:c1]
    W = V[idx] - Hinv_sb * Z                                     # (Tc, n)
    lo = np.empty(p)
    hi = np.empty(p)
    for ci, c0 in enumerate(range(0, p, chunk)):
        c1 = min(p, c0 + chunk)
        A0 = np.random.default_rng(chunk_seeds[ci]).standard_normal((Tc, c1 - c0)) * sd_a[:, None]
        tot = A0 + W @ pr.UtXT[c0:c1].T / p + beta[idx, c0:c1]
        q = np.quantile(tot, [0.025, 0.975], axis=0)
        lo[c0:c1], hi[c0:c1] = q[0], q[1]
    return weight, alpha_mean, lo, hi


def predict(G_new: np.ndarray, xbar: np.ndarray, weight: np.ndarray, intercept: float) -> np.ndarray:
    """GEMMA's rule: y_hat = mu_train + (x - xbar_train) . (alpha + beta)."""
    return intercept + (np.asarray(G_new, dtype=np.float64) - xbar) @ weight


def pooled_tss_prior(pips: list[np.ndarray], feats: list[np.ndarray], pis: list[float],
                     n_draws: list[int]) -> tuple[float, float]:
    """Empirical-Bayes prior for bsBSLMM's TSS-distance slope eta1, pooled over genes.

    A first pass without annotation (BSLMM, uniform prior inclusion probability ``pis[g]`` = its
    posterior mean of pi) gives each SNV's PIP from ``n_draws[g]`` recorded draws.  Treating SNVs as
    independent, the PIP and the flat prior give a Bayes factor per SNV,
    BF_j = [PIP_j / (1 - PIP_j)] / [pi_g / (1 - pi_g)] (PIP smoothed to (k + 0.5) / (T + 1)), and the
    annotation model ``logit P(gamma_j = 1) = c_g + eta1 * a_j`` (one intercept per gene, one slope
    shared by all genes) is fitted by maximising the marginal likelihood prod_j (1 - s_j + s_j BF_j),
    s_j = sigmoid(c_g + eta1 a_j) — the enrichment model of fgwas / TORUS — with the gene intercepts
    tied by c_g ~ N(mu, 1) (mu free).  With one or two causal SNVs per gene, free intercepts inflate
    the slope by ~15% (the incidental-parameter bias of stratified logistic models); the tie brings
    that to ~10% (tested).

    Returns (eta1_hat, se), se the profile standard error of the slope (Schur complement of the
    penalised observed information; capped at 1); the second pass uses N(eta1_hat, se^2) as the
    slope's prior.  Genes with no SNV or a constant feature are ignored; with none left, or an
    information that is not positive, (0, 1) — the per-gene default — is returned.
    """
    from scipy.optimize import minimize

    L, A, gid, c0 = [], [], [], []
    for w, a, pi, T in zip(pips, feats, pis, n_draws):
        w = np.clip(np.asarray(w, dtype=np.float64), 0.0, 1.0)
        a = np.asarray(a, dtype=np.float64)
        if w.size == 0 or a.std() == 0 or not 0.0 < pi < 1.0 or T < 1:
            continue
        w = (w * T + 0.5) / (T + 1.0)
        L.append(np.log(w) - np.log1p(-w) - (math.log(pi) - math.log1p(-pi)))
        gid.append(np.full(w.size, len(c0)))
        A.append(a)
        c0.append(math.log(pi) - math.log1p(-pi))
    if not L:
        return 0.0, 1.0
    G = len(c0)
    lbf, a, g = np.concatenate(L), np.concatenate(A), np.concatenate(gid)

    def sig(x):
        return 0.5 * (1.0 + np.tanh(0.5 * x))

    def nll(x):                      # x = (c_1..c_G, mu, eta1)
        c, mu = x[:G], x[G]
        eta = c[g] + x[-1] * a
        # log(1 - s + s BF) = log(1 + e^(eta + lbf)) - log(1 + e^eta)
        f = np.logaddexp(0.0, eta + lbf) - np.logaddexp(0.0, eta)
        q = sig(eta + lbf) - sig(eta)
        pen = 0.5 * float(np.sum((c - mu) ** 2))
        grad = np.concatenate([np.bincount(g, weights=q, minlength=G) - (c - mu), [np.sum(c - mu)], [np.dot(q, a)]])
        return pen - float(f.sum()), -grad

    opt = minimize(nll, np.concatenate([c0, [np.mean(c0)], [0.0]]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "gtol": 1e-9})
    x = opt.x
    eta = x[:G][g] + x[-1] * a
    s1, s0 = sig(eta + lbf), sig(eta)
    v = s0 * (1.0 - s0) - s1 * (1.0 - s1)          # minus the second derivative of each SNV's log-likelihood
    d = np.bincount(g, weights=v, minlength=G) + 1.0     # + the N(mu, 1) tie
    i_cb = np.bincount(g, weights=v * a, minlength=G)
    if np.any(d <= 0):
        return 0.0, 1.0
    # eliminate the intercepts, then mu (block Gaussian elimination of the information matrix)
    i_mm = G - float(np.sum(1.0 / d))
    i_mb = float(np.sum(i_cb / d))
    i_bb = float(np.dot(v, a * a)) - float(np.sum(i_cb ** 2 / d))
    info = i_bb - (i_mb ** 2 / i_mm if i_mm > 1e-12 else 0.0)
    if not np.isfinite(x[-1]) or not info > 0:
        return 0.0, 1.0
    return float(x[-1]), float(min(1.0 / math.sqrt(info), 1.0))
