"""Likelihoods and tails of allelekit.imbalance.distributions / score.

References: scipy.stats (nbinom, betanbinom, binom, betabinom) over a parameter table, batch shapes and
NumPy / JAX with and without jit; MCNB against direct summation of its binomial mixture of NBs;
far tails against mpmath (50 significant digits).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.stats as st

from allelekit.imbalance import distributions as D
from allelekit.imbalance import score as S

# (x, r, p, kappa) parameter table: balanced, BAD 2-6 components, small and large sizes
PARAMS = [
    (7.0, 5.0, 0.5, 30.0),
    (25.0, 12.3, 2 / 3, 8.0),
    (3.0, 0.7, 1 / 3, 150.0),
    (140.0, 80.0, 6 / 7, 50.0),
    (0.0, 2.5, 0.2, 12.0),
    (1000.0, 400.0, 0.5, 1e4),
]


def _ours(kind, x, r, p, k, bk):
    if kind == "nbinom":
        return D.nb_logpmf(x, r, p, bk)
    if kind == "betanbinom":
        return D.betanb_logpmf(x, r, p, k, bk)
    if kind == "binom":
        return D.binom_logpmf(x, x + r, p, bk)
    return D.betabinom_logpmf(x, x + r, p, k, bk)


def _scipy(kind, x, r, p, k):
    if kind == "nbinom":
        return st.nbinom.logpmf(x, r, 1 - p)
    if kind == "betanbinom":
        if float(r).is_integer():
            return st.betanbinom.logpmf(x, r, (1 - p) * k, p * k)
        # scipy's betanbinom needs an integer n: mpmath for non-integer sizes
        a, b = (1 - p) * k, p * k
        f = np.vectorize(lambda j: float(mpmath.loggamma(j + r) - mpmath.loggamma(r) - mpmath.loggamma(j + 1)
                                         + mpmath.log(mpmath.beta(a + r, b + j)) - mpmath.log(mpmath.beta(a, b))))
        return f(x) if np.ndim(x) else float(f(x))
    n = x + np.floor(r)
    if kind == "binom":
        return st.binom.logpmf(x, n, p)
    return st.betabinom.logpmf(x, n, p * k, (1 - p) * k)


@pytest.mark.parametrize("kind", ["nbinom", "betanbinom", "binom", "betabinom"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize("backend", ["numpy", "jax", "jax-jit"])
def test_logpmf_matches_scipy(kind, shape, backend):
    """Every parameter row of PARAMS, broadcast over a batch shape, in one call per backend."""
    rng = np.random.default_rng(0)
    rows = np.array(PARAMS)
    X, R, P, K = (rows[:, i].reshape((-1,) + (1,) * len(shape)) for i in range(4))
    if kind in ("binom", "betabinom"):
        R = np.floor(R)
    X = X + rng.integers(0, 3, (len(rows),) + shape)
    R, P, K = (np.broadcast_to(a, X.shape) for a in (R, P, K))
    want = np.array([_scipy(kind, X[i], R[i].flat[0], P[i].flat[0], K[i].flat[0]) for i in range(len(rows))])
    if backend == "numpy":
        got = _ours(kind, X, R, P, K, D.NP)
    else:
        import jax
        import jax.numpy as jnp

        bk = D.jax_backend()
        fn = lambda x, r, p, k: _ours(kind, x, r, p, k, bk)
        if backend == "jax-jit":
            fn = jax.jit(fn)
        got = np.asarray(fn(*(jnp.asarray(a, dtype=float) for a in (X, R, P, K))))
    assert got.shape == (len(rows),) + shape
    np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("r", [1, 2, 5, 13, 40])
@pytest.mark.parametrize("p", [0.5, 2 / 3, 0.2, 6 / 7])
def test_mcnb_equals_binomial_mixture_of_nb(r, p):
    G = 200
    k = np.arange(1, r + 1)
    pk = st.binom.pmf(k, r, 1 - p) / (1 - p ** r)
    x = np.arange(G)
    direct = (pk[:, None] * st.nbinom.pmf(x[None, :], k[:, None], 1 - p)).sum(0)
    got = np.exp(D.mcnb_loggrid(float(r), p, G))
    ok = direct > 1e-250
    np.testing.assert_allclose(got[ok], direct[ok], rtol=1e-11)
    # the mean formula p r / (1 - p^r)
    assert abs((x * direct).sum() - D.mcnb_mean(r, p)) < 1e-6 * D.mcnb_mean(r, p) + 1e-9 or direct[-1] > 1e-12


@pytest.mark.parametrize("jit", [False, True])
def test_mcnb_jax_equals_numpy_and_sums_to_one(jit):
    import jax
    import jax.numpy as jnp

    bk = D.jax_backend()
    r = np.array([[0.3, 3.7], [11.2, 55.5]])
    fn = lambda rr: D.mcnb_loggrid(rr, 0.6, 400, bk)
    if jit:
        fn = jax.jit(fn)
    got = np.asarray(fn(jnp.asarray(r)))
    want = D.mcnb_loggrid(r, 0.6, 400)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(want).sum(-1), 1.0, rtol=1e-10)   # non-integer r too


def test_lgamma_fast():
    z = np.concatenate([np.linspace(0.05, 12, 500), np.logspace(1, 7, 500)])
    import scipy.special as sps

    got = D.lgamma_fast(z)
    np.testing.assert_allclose(got, sps.gammaln(z), rtol=3e-15, atol=2e-14)


def _mp_nb_sf(x, r, p):
    """P(X >= x) for NB(r, p) by mpmath at 60 digits: explicit tail sum until terms are < 1e-70 of it."""
    mpmath.mp.dps = 60
    r, p = mpmath.mpf(r), mpmath.mpf(p)
    lt = mpmath.loggamma(x + r) - mpmath.loggamma(r) - mpmath.loggamma(x + 1) + r * mpmath.log(1 - p) + x * mpmath.log(p)
    term = mpmath.exp(lt)
    total = mpmath.mpf(0)
    j = x
    while True:
        total += term
        term = term * (j + r) / (j + 1) * p
        j += 1
        if term < total * mpmath.mpf(10) ** -70 and (j + r) / (j + 1) * p < 1:
            return total


@pytest.mark.parametrize("x,r,p", [(20, 10.0, 0.5), (300, 20.0, 0.5), (900, 30.0, 0.5), (1400, 10.5, 0.3),
                                   (2500, 50.0, 2 / 3), (60, 3.3, 0.8)])
def test_nb_far_tail_matches_mpmath(x, r, p):
    want = _mp_nb_sf(x, r, p)
    got = S.nb_log_sf_ge(np.array([x]), np.array([r]), np.array([p]))[0]
    assert float(mpmath.log(want)) < 0
    assert abs(got - float(mpmath.log(want))) < 1e-9 * max(1.0, abs(float(mpmath.log(want))))


def test_pvalues_reach_1e300_without_underflow():
    """Truncated NB tails (L=4) around and far below 1e-300 keep full relative precision in log space."""
    xs = np.array([900.0, 1050.0, 1400.0])
    lf, ls, m = S.component_quantities("NB", xs, np.full(3, 30.0), 0.5, None, 4)
    norm = float(mpmath.log(_mp_nb_sf(5, 30.0, 0.5)))
    for x, got in zip(xs, ls):
        want = float(mpmath.log(_mp_nb_sf(int(x), 30.0, 0.5))) - norm
        assert abs(got - want) < 1e-10 * abs(want)
    assert ls[2] < math.log(1e-300) < ls[0]
    assert 0 < np.exp(ls[1]) < 1e-250       # tiny p-values are positive doubles, not 0


@pytest.mark.parametrize("model", ["BetaNB", "MCNB"])
def test_grid_tails_match_mpmath(model):
    mpmath.mp.dps = 30
    r, p, k, L = 15.0, 2 / 3, 60.0, 4
    xs = np.array([6.0, 30.0, 120.0, 400.0])
    lf, ls, m = S.component_quantities(model, xs, np.full(4, r), p, np.full(4, k), L)
    if model == "BetaNB":
        re = float(D.r_eff_betanb(r, p, k))
        a, b = (1 - p) * k, p * k
        pmf = lambda j: mpmath.exp(mpmath.loggamma(j + re) - mpmath.loggamma(re) - mpmath.loggamma(j + 1)
                                   + mpmath.log(mpmath.beta(a + re, b + j)) - mpmath.log(mpmath.beta(a, b)))
    else:
        re = float(D.r_eff_mcnb(r, p))
        grid = np.exp(D.mcnb_loggrid(re, p, 20001))
        pmf = lambda j: mpmath.mpf(grid[int(j)])
    # explicit tail sums (1 - head loses the tail to cancellation); the BetaNB tail decays like j^-(a+1),
    # a = (1-p) kappa = 20, so 6000 terms past x leave < 1e-24 of it; MCNB decays geometrically
    vals = [pmf(j) for j in range(6401)]
    low = mpmath.fsum(vals[: L + 1])
    for x, got in zip(xs, ls):
        sf = mpmath.fsum(vals[int(x):])
        want = float(mpmath.log(sf) - mpmath.log(1 - low))
        assert abs(got - want) < 1e-9 * max(1.0, abs(want)), (x, got, want)


def test_classic_binomial_tail_exact():
    lf, ls, m = S._classic_component("binom", np.array([10.0, 60.0, 500.0]), np.array([20.0, 100.0, 1000.0]),
                                     0.5, np.inf, 4)
    for (x, n), got in zip([(10, 20), (60, 100), (500, 1000)], ls):
        want = st.binom.logsf(x - 1, n, 0.5) - st.binom.logsf(4, n, 0.5)
        assert abs(got - want) < 1e-10


# --- the fit's MCNB kernel (per-pair recurrence up to the largest observed count, with d/dr) ------
def _kernel_case():
    rng = np.random.default_rng(3)
    r = np.array([1.0, 2.0, 5.0, 13.0, 40.0, 0.7, 3.3, 120.5])
    p = np.array([0.5, 2 / 3, 0.2, 6 / 7, 1 / 3, 0.5, 0.8, 2 / 3])
    xs = [np.sort(rng.choice(np.arange(0, 180), size=12, replace=False)) for _ in r]
    ep = np.concatenate([np.full(len(v), i) for i, v in enumerate(xs)])
    x = np.concatenate(xs).astype(float)
    wt = np.ones(len(x))
    # padding entries as the fit's chunks add them (weight 0, pair 0, a large count): ignored
    return r, p, np.append(ep, [0, 0]), np.append(x, [999.0, 999.0]), np.append(wt, [0.0, 0.0]), len(x)


def test_mcnb_kernel_equals_direct_summation_and_grid():
    from allelekit.imbalance.mcnb_kernel import mcnb_logpmf_pairs_np

    r, p, ep, x, wt, n = _kernel_case()
    left = 4
    lp, dlp, lnorm, dlnorm = mcnb_logpmf_pairs_np(r, p, ep, x, wt, left)
    assert np.all(lp[n:] == 0) and np.all(dlp[n:] == 0)
    for i in range(5):                   # integer r: the binomial mixture of NBs, summed directly
        k = np.arange(1, int(r[i]) + 1)
        pk = st.binom.pmf(k, int(r[i]), 1 - p[i]) / (1 - p[i] ** r[i])
        sel = ep[:n] == i
        direct = (pk[:, None] * st.nbinom.pmf(x[:n][sel][None, :], k[:, None], 1 - p[i])).sum(0)
        np.testing.assert_allclose(np.exp(lp[:n][sel]), direct, rtol=1e-11)
        low = (pk[:, None] * st.nbinom.pmf(np.arange(left + 1)[None, :], k[:, None], 1 - p[i])).sum()
        assert abs(lnorm[i] - math.log1p(-low)) < 1e-12
    grid = D.mcnb_loggrid(r, p, 200)     # any real r: the grid recurrence
    np.testing.assert_allclose(lp[:n], grid[ep[:n], x[:n].astype(int)], rtol=1e-12, atol=1e-12)
    # d/dr against central differences of the grid
    h = 1e-5 * r
    gp, gm = D.mcnb_loggrid(r + h, p, 200), D.mcnb_loggrid(r - h, p, 200)
    fd = ((gp - gm) / (2 * h[:, None]))[ep[:n], x[:n].astype(int)]
    np.testing.assert_allclose(dlp[:n], fd, rtol=1e-6, atol=1e-7)
    ln = lambda g: D.log1mexp(np.log(np.exp(g[:, : left + 1]).sum(1)))
    np.testing.assert_allclose(dlnorm, (ln(gp) - ln(gm)) / (2 * h), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("jit", [False, True])
def test_mcnb_kernel_jax_gradient_and_vmap(jit):
    import jax
    import jax.numpy as jnp

    from allelekit.imbalance.mcnb_kernel import mcnb_logpmf_pairs_jax, mcnb_logpmf_pairs_np

    D.jax_backend()
    r, p, ep, x, wt, n = _kernel_case()
    fn = mcnb_logpmf_pairs_jax(4)

    def total(rr):
        lp, lnorm = fn(rr, jnp.asarray(p), jnp.asarray(ep), jnp.asarray(x), jnp.asarray(wt))
        return (jnp.asarray(wt) * (lp - lnorm[jnp.asarray(ep)])).sum()

    g = jax.grad(total)
    gv = jax.vmap(g)
    if jit:
        g, gv = jax.jit(g), jax.jit(gv)
    lp, dlp, lnorm, dlnorm = mcnb_logpmf_pairs_np(r, p, ep, x, wt, 4)
    want = np.bincount(ep, weights=wt * (dlp - dlnorm[ep]), minlength=len(r))
    np.testing.assert_allclose(np.asarray(g(jnp.asarray(r))), want, rtol=1e-12, atol=1e-12)
    rs = np.stack([r, r * 1.5])
    got = np.asarray(gv(jnp.asarray(rs)))
    lp2, dlp2, _, dlnorm2 = mcnb_logpmf_pairs_np(r * 1.5, p, ep, x, wt, 4)
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[1], np.bincount(ep, weights=wt * (dlp2 - dlnorm2[ep]), minlength=len(r)),
                               rtol=1e-12, atol=1e-12)
