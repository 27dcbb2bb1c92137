"""allelekit.combine: p-value combination, effect sizes, BH FDR, min-cover, calibration.

References: Mudholkar-George values computed with mpmath from MixALime's formula and the output of
MixALime 2.29.4's own function on the same inputs (tests/data/combine/logit_reference.json, made by
make_logit_reference.py and add_mixalime_values.py there); per-SNV loops over
scipy.stats.combine_pvalues as the slow oracle of the vectorised grouped code; simulated truth.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from allelekit import combine as C

DATA = Path(__file__).parent / "data" / "combine"
_spec = importlib.util.spec_from_file_location("combine_sim", DATA / "sim.py")
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


def _one(ps, method="logit", weights=None):
    p = np.asarray(ps, float)
    out = C.combine_grouped(p, np.zeros(len(p), int), 1, method, weights)
    return float(C.fill_zeros(out)[0]) if out[0] > 0 else float(out[0])


# --- logit (Mudholkar-George) against mpmath ----------------------------------------------------------
REF = json.loads((DATA / "logit_reference.json").read_text())


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: ",".join(f"{p:.3g}" for p in c["pvalues"]))
def test_logit_matches_mpmath_reference(case):
    got = float(C.combine_grouped(np.array(case["pvalues"]), np.zeros(len(case["pvalues"]), int), 1, "logit")[0])
    assert got == pytest.approx(float(case["combined"]), rel=1e-9, abs=0)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: ",".join(f"{p:.3g}" for p in c["pvalues"]))
def test_logit_matches_mixalime_function(case):
    """Stored output of MixALime 2.29.4's own combine_p_values_logit (add_mixalime_values.py)."""
    got = float(C.combine_grouped(np.array(case["pvalues"]), np.zeros(len(case["pvalues"]), int), 1, "logit")[0])
    assert got == pytest.approx(float(case["mixalime"]), rel=1e-12, abs=0)


def test_logit_drop_ones_and_small_k():
    assert _one([1.0, 1.0, 1.0]) == 1.0
    assert _one([0.3, 1.0]) == 0.3
    # dropping a 1 changes the result compared with keeping it as 1 - 1e-16
    assert _one([0.2, 0.3, 1.0]) == pytest.approx(_one([0.2, 0.3]), rel=1e-14)


def test_logit_fisher_fallback_and_zero_fill():
    # t tail underflows for 50 p-values of 1e-60: Fisher is used, which underflows too -> 0
    codes = np.array([0] * 50 + [1, 1])
    p = np.r_[np.full(50, 1e-60), 0.01, 0.02]
    raw = C.combine_grouped(p, codes, 2, "logit")
    assert stats.combine_pvalues(np.full(50, 1e-60), method="mudholkar_george").pvalue == 0
    assert raw[0] == stats.combine_pvalues(np.full(50, 1e-60), method="fisher").pvalue == 0
    filled = C.fill_zeros(raw)
    assert filled[0] == raw[1] > 0  # replaced by the smallest non-zero combined p-value
    # a p-value of exactly 0 makes the SNV decisive (0 before filling), never NaN
    raw = C.combine_grouped(np.array([0.0, 0.5, 0.3, 0.4]), np.array([0, 0, 1, 1]), 2, "logit")
    assert raw[0] == 0 and 0 < raw[1] < 1


# --- grouped code vs a per-SNV scipy loop -------------------------------------------------------------
@pytest.mark.parametrize("method", ["logit", "fisher", "stouffer", "stouffer-w"])
def test_grouped_equals_per_snv_scipy(method):
    rng = np.random.default_rng(7)
    n = 300
    k = rng.integers(1, 7, n)
    codes = np.repeat(np.arange(n), k)
    rng.shuffle(codes)  # grouped code must not rely on order
    p = rng.uniform(size=codes.size) ** 3
    p[rng.uniform(size=p.size) < 0.1] = 1.0  # truncation-bound observations
    w = rng.integers(10, 200, p.size).astype(float)
    meth = "stouffer" if method.startswith("stouffer") else method
    got = C.combine_grouped(p, codes, n, meth, w if method == "stouffer-w" else None)
    for i in range(n):
        pi = p[codes == i]
        wi = w[codes == i][pi < 1]
        pi = pi[pi < 1]
        if pi.size == 0:
            exp = 1.0
        elif pi.size == 1:
            exp = pi[0]
        else:
            sm = {"logit": "mudholkar_george", "fisher": "fisher", "stouffer": "stouffer"}[meth]
            exp = stats.combine_pvalues(pi, method=sm, weights=wi if method == "stouffer-w" else None).pvalue
        assert got[i] == pytest.approx(exp, rel=1e-12), i


def test_invalid_pvalue_is_an_error():
    from allelekit.errors import AllelekitError

    with pytest.raises(AllelekitError, match="outside"):
        C.combine_grouped(np.array([0.5, 1.5]), np.array([0, 0]), 1)


# --- effect sizes, BH ---------------------------------------------------------------------------------
def test_effect_size_rules():
    es = np.array([1.0, 3.0, 100.0, 2.0, 4.0, 5.0, 7.0])
    p = np.array([0.1, 1.0, 0.0, 0.01, 0.001, 0.0, 0.0])
    codes = np.array([0, 0, 0, 1, 1, 2, 2])
    uni = C.combine_es(es, p, codes, 3, "uniform")
    assert uni[0] == pytest.approx(2.0)  # p=0 left out, p=1 kept
    assert uni[1] == pytest.approx(3.0)
    assert uni[2] == pytest.approx(6.0)  # all p = 0: mean of all (MixALime)
    wtd = C.combine_es(es, p, codes, 3, "pval")
    assert wtd[0] == pytest.approx(1.0)  # the p=1 observation has weight -log10(1) = 0
    assert wtd[1] == pytest.approx((2 * 2 + 3 * 4) / 5)


def test_bh_known_answer_and_monotone():
    got = C.bh_fdr(np.array([0.01, 0.02, 0.03, 0.5]))
    np.testing.assert_allclose(got, [0.04, 0.04, 0.04, 0.5])
    rng = np.random.default_rng(1)
    p = rng.uniform(size=500)
    q = C.bh_fdr(p)
    o = np.argsort(p)
    assert np.all(np.diff(q[o]) >= -1e-15) and np.all(q >= p)
    # brute-force definition: q_(i) = min_{j>=i} p_(j) m / j
    m = p.size
    ps = p[o]
    brute = np.minimum.accumulate((ps * m / np.arange(1, m + 1))[::-1])[::-1]
    np.testing.assert_allclose(q[o], np.minimum(brute, 1))


# --- combine_group: min-cover, calls, calibration --------------------------------------------------------
def _obs(rows):
    cols = ["sample", "chrom", "pos", "ref", "alt", "variant_id", "bad", "ref_count", "alt_count", "ref_pval",
            "alt_pval", "ref_es", "alt_es", "model"]
    return pd.DataFrame(rows, columns=cols)


def test_min_cover_keeps_snv_if_any_observation_reaches_it():
    obs = _obs([
        ("A", "chr1", 10, "A", "G", None, 1.0, 10, 9, 0.4, 0.6, 0.1, -0.1, "NB"),   # cover 19
        ("B", "chr1", 10, "A", "G", "rs1", 1.0, 15, 5, 0.05, 0.99, 0.5, -1, "NB"),  # cover 20 -> SNV kept
        ("A", "chr1", 20, "C", "T", None, 2.0, 10, 9, 0.4, 0.6, 0.1, -0.1, "NB"),   # 19 only -> dropped
        ("B", "chr1", 20, "C", "T", None, 2.0, 5, 5, 0.4, 0.6, 0.1, -0.1, "NB"),
    ])
    out = C.combine_group(obs, "all", C.CombineParams(min_cover=20))
    assert list(out["pos"]) == [10]
    r = out.iloc[0]
    assert r["n_obs"] == 2 and r["max_cover"] == 20 and r["variant_id"] == "rs1"
    assert r["samples"] == ["A", "B"] and r["ref_count"] == 25
    assert r["ref_pval"] == pytest.approx(stats.combine_pvalues([0.4, 0.05], method="mudholkar_george").pvalue)
    out0 = C.combine_group(obs, "all", C.CombineParams(min_cover=0))
    assert len(out0) == 2 and out0.iloc[1]["mean_bad"] == 2.0


def test_calls_and_preferred_allele():
    obs = _obs([
        ("A", "chr1", 1, "A", "G", None, 1.0, 40, 10, 1e-6, 1.0, 1.0, -1.0, "NB"),
        ("A", "chr1", 2, "A", "G", None, 1.0, 10, 40, 1.0, 1e-6, -1.0, 1.0, "NB"),
        ("A", "chr1", 3, "A", "G", None, 1.0, 25, 25, 0.5, 0.5, 0.0, 0.0, "NB"),
        ("A", "chr2", 4, "A", "G", None, 1.0, 25, 25, 1e-7, 1e-7, 0.0, 0.0, "NB"),
    ])
    out = C.combine_group(obs, "g", C.CombineParams(min_cover=0, fdr=0.05)).set_index("pos")
    assert out.loc[1, "call"] == "ref" and out.loc[1, "pref_allele"] == "ref"
    assert out.loc[2, "call"] == "alt" and out.loc[2, "pref_allele"] == "alt"
    assert out.loc[3, "call"] == "none" and out.loc[3, "pref_allele"] == "alt"  # tie -> alt (MixALime)
    assert out.loc[4, "call"] == "both"
    assert out.loc[1, "fdr"] == out.loc[1, "ref_fdr"] and out.loc[2, "es"] == out.loc[2, "alt_es"]


def test_null_calibration_and_fdr_control():
    # continuous uniform p-values under the null: combined logit p-values are close to uniform
    rng = np.random.default_rng(3)
    n, k = 4000, 4
    codes = np.repeat(np.arange(n), k)
    comb = C.combine_grouped(rng.uniform(size=n * k), codes, n, "logit")
    assert stats.kstest(comb, "uniform").pvalue > 1e-3
    assert 0.04 < np.mean(comb < 0.05) < 0.06
    # simulated counts with truth: FDR controlled, directions right, power decent
    pv, truth = sim.simulate(n_samples=4, n_snvs=3000, bads=(1.0,), seed=11)
    out = C.combine_group(pv, "all", C.CombineParams(min_cover=0))
    m = out.merge(truth, on=["chrom", "pos", "ref", "alt"])
    sig = m[m["call"] != "none"]
    fdp = np.mean(sig["truth"] == "none")
    assert fdp < 0.1, fdp
    assert np.mean(sig.loc[sig["truth"] != "none", "pref_allele"] == sig.loc[sig["truth"] != "none", "truth"]) == 1
    power = np.mean(m.loc[m["truth"] != "none", "call"] != "none")
    assert power > 0.7, power


def test_check_inputs_refuses_mixtures():
    from allelekit.errors import AllelekitError

    ok = ("a", {"schema": "pvalues/1.0", "version": "0.1.0"}, ["NB"])
    assert C.check_inputs([ok, ("b", {"schema": "pvalues/1.0", "version": "0.1.0"}, ["NB"])]) == "NB"
    with pytest.raises(AllelekitError, match="schema versions"):
        C.check_inputs([ok, ("b", {"schema": "pvalues/1.1", "version": "0.1.0"}, ["NB"])])
    with pytest.raises(AllelekitError, match="allelekit versions"):
        C.check_inputs([ok, ("b", {"schema": "pvalues/1.0", "version": "0.2.0"}, ["NB"])])
    with pytest.raises(AllelekitError, match="different models"):
        C.check_inputs([ok, ("b", {"schema": "pvalues/1.0", "version": "0.1.0"}, ["MCNB"])])
