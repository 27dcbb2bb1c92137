"""Calibration of the per-observation tests on simulated data (ref | alt direction).

The tests are discrete, so uniformity is checked on randomised p-values
``p(x+1) + U (p(x) - p(x+1))`` (exactly uniform under the null when the model is right), and the
plain p-values are checked to be conservative: ``P(p <= alpha) <= alpha`` + 3 binomial standard errors.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from allelekit.imbalance import fit as F
from allelekit.imbalance.score import score_direction

L = 4


def _null(n, rng, kappa=None):
    s = 5 + rng.negative_binomial(2, 0.1, n)
    if kappa is None:
        ref = rng.negative_binomial(s, 0.5)            # NB(r = s, p = 1/2): balanced, overdispersed
    else:                                              # BetaNB: success probability ~ Beta
        q = rng.beta(0.5 * kappa, 0.5 * kappa, n)
        ref = rng.negative_binomial(s, q)
    df = pd.DataFrame(dict(ref_count=ref, alt_count=s, bad=1.0))
    return df[(df.ref_count > L) & (df.alt_count > L)].reset_index(drop=True)


def _fit_score(df, model):
    cfg = F.FitConfig(model=model, window_size=3000, small_dataset_n=1000, left=L, stop_slice_n=60)
    recs, _ = F.fit_groups(F.make_groups(df, L), cfg)
    par = pd.DataFrame(recs)
    par = par[par.direction == "ref"]
    x, s, b = df.ref_count.to_numpy(), df.alt_count.to_numpy(), df.bad.to_numpy()
    lp, es = score_direction(model, x, s, b, par, L)
    lp1, _ = score_direction(model, x + 1, s, b, par, L)
    return np.exp(lp), np.exp(lp1), es


def test_null_pvalues_are_uniform_and_conservative():
    rng = np.random.default_rng(11)
    df = _null(12000, rng)
    p, p_next, es = _fit_score(df, "NB")
    u = rng.random(len(p))
    pr = p_next + u * (p - p_next)
    n = len(p)
    se = np.sqrt(0.05 * 0.95 / n)
    assert abs((pr < 0.05).mean() - 0.05) < 3 * se
    assert (p <= 0.05).mean() <= 0.05 + 3 * se
    assert stats.kstest(pr, "uniform").pvalue > 1e-3
    q = np.sort(pr)
    assert np.max(np.abs(q - (np.arange(1, n + 1) - 0.5) / n)) < 0.02     # QQ deviation
    assert abs(np.median(es)) < 0.1


def test_planted_imbalance_has_power():
    rng = np.random.default_rng(12)
    df = _null(10000, rng)
    k = rng.random(len(df)) < 0.1
    s = df.alt_count.to_numpy()
    df.loc[k, "ref_count"] = rng.negative_binomial(s[k], 0.2) + L + 1   # mean ~4 s: strong ref excess
    p, _, es = _fit_score(df, "NB")
    assert (p[k] < 0.05).mean() > 0.6
    assert (p[~k] < 0.05).mean() < 0.08
    assert np.median(es[k]) > 1.0


@pytest.mark.slow
def test_betanb_more_conservative_than_nb_on_overdispersed_data():
    rng = np.random.default_rng(13)
    df = _null(8000, rng, kappa=15.0)
    p_nb, _, _ = _fit_score(df, "NB")
    p_bnb, pn_bnb, _ = _fit_score(df, "BetaNB")
    f_nb, f_bnb = (p_nb < 0.05).mean(), (p_bnb < 0.05).mean()
    assert f_bnb < f_nb
    se = np.sqrt(0.05 * 0.95 / len(df))
    assert f_bnb <= 0.05 + 3 * se


def test_chunking_and_regrouping_do_not_change_the_fit(monkeypatch):
    """Small chunks force the regrouping of still-active windows (several chunks, some converging
    early); the fitted parameters must be the same as with everything in one chunk."""
    rng = np.random.default_rng(11)
    df = pd.concat([_null(6000, rng).assign(bad=1.0), _null(6000, rng).assign(bad=2.0)], ignore_index=True)
    cfg = F.FitConfig(model="NB", window_size=1500, small_dataset_n=1000, left=L, stop_slice_n=30)
    groups = F.make_groups(df, L)
    one, _ = F.fit_groups(groups, cfg)
    calls = []
    real = F._chunks

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append((k.get("order") is not None, len(out[1])))
        return out

    monkeypatch.setattr(F, "CHUNK_PAIRS", 64)
    monkeypatch.setattr(F, "CHUNK_ENTRIES", 512)
    monkeypatch.setattr(F, "_chunks", spy)
    many, _ = F.fit_groups(groups, cfg)
    assert calls[0][1] > 3                      # really split into several chunks
    assert any(reordered for reordered, _ in calls)  # and regrouped while converging
    a, b = pd.DataFrame(one), pd.DataFrame(many)
    for c in ("w", "b", "mu", "loglik"):
        np.testing.assert_allclose(b[c].to_numpy(float), a[c].to_numpy(float), rtol=1e-6, atol=1e-8)
