"""The HTML report of allelekit-combine: content, embedded figures, numbers behind the figures."""
from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allelekit.cli.combine import main
from allelekit.report import figures as F
from allelekit.schemas import MODEL_PARAMS, write_table

DATA = Path(__file__).parent / "data" / "combine"
_spec = importlib.util.spec_from_file_location("combine_sim", DATA / "sim.py")
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


def test_genomic_lambda():
    rng = np.random.default_rng(0)
    assert F.genomic_lambda(rng.uniform(size=20000)) == pytest.approx(1.0, abs=0.03)
    # p-values of chi2(1) statistics inflated by 1.5 give lambda 1.5
    from scipy import stats

    x = stats.chi2.rvs(1, size=20000, random_state=1) * 1.5
    assert F.genomic_lambda(stats.chi2.sf(x, 1)) == pytest.approx(1.5, rel=0.05)
    assert np.isnan(F.genomic_lambda(np.array([])))


def test_sample_qc_flags_3sd_outlier():
    rng = np.random.default_rng(2)
    rows = []
    for s in range(15):
        n = 300
        ref = rng.binomial(40, 0.5, n)
        if s == 7:  # strongly reference-biased sample
            ref = rng.binomial(40, 0.75, n)
        rows.append(pd.DataFrame({"sample": f"s{s:02d}", "ref_count": ref, "alt_count": 40 - ref}))
    qc = F.sample_qc(pd.concat(rows))
    assert list(qc.loc[qc["outlier"], "sample"]) == ["s07"]
    assert qc.set_index("sample").loc["s07", "ref_bias"] > 0.8
    # four samples can never be 3-SD outliers
    assert not F.sample_qc(pd.concat(rows[:3] + [rows[7]]))["outlier"].any()


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    pv, _ = sim.simulate(n_samples=4, n_snvs=600, seed=9, bads=(1.0, 2.0))
    sim.write_pvalues(pv, d / "pv.parquet")
    # a small model_params table as allelekit-fit would write it
    rows = []
    for bad in (1.0, 2.0):
        for direction in ("ref", "alt"):
            for s in range(5, 40):
                rows.append({"model": "NB", "bad": bad, "direction": direction, "slice": s,
                             "w": 1.0 if bad == 1 else 0.6, "b": 1.05, "mu": 0.3, "kappa": None,
                             "p1": bad / (bad + 1), "p2": 1 / (bad + 1), "left": 4, "loglik": -100.0, "n": 50,
                             "n_window": 10000, "window_lo": s - 2, "window_hi": s + 2, "rmsea": 0.01 + s / 2000,
                             "conservative": False})
    write_table(pd.DataFrame(rows), d / "fit.parquet", MODEL_PARAMS, tool="allelekit-fit")
    rc = main(["-i", str(d / "pv.parquet"), "-o", str(d / "comb.parquet"), "--report", str(d / "report"),
               "--fit", str(d / "fit.parquet"), "--group", "a=S1,S2", "--group", "b=S3,S4", "-q"])
    assert rc == 0
    return d


def test_report_is_self_contained_and_complete(report_run):
    rep = report_run / "report"
    html = (rep / "index.html").read_text()
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(imgs) == 6  # qq, volcano, ratio per BAD, significant, QC, fit
    for b in imgs:
        assert base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "src=\"http" not in html and "<script" not in html  # nothing fetched from elsewhere
    for name in ("qq", "volcano", "ratio_by_bad", "significant", "sample_qc", "fit"):
        assert (rep / "figures" / f"{name}.png").stat().st_size > 1000
    for text in ("What was run", "provenance", "allelekit-test", "Mudholkar-George", "Benjamini-Hochberg",
                 "genomic inflation", "λ", "BAD 2", "outlier", "Model fit diagnostics", "allelekit-fit",
                 "Command:", "--group a=S1,S2", "S1, S2"):
        assert text in html, text
    # the numbers in the summary table are the command's
    comb = pd.read_parquet(report_run / "comb.parquet")
    summ = pd.read_csv(rep / "summary.tsv", sep="\t").set_index("group")
    for g in ("a", "b"):
        assert summ.loc[g, "n_tested"] == (comb["group"] == g).sum()
        assert summ.loc[g, "significant"] == ((comb["group"] == g) & (comb["call"] != "none")).sum()
    infl = pd.read_csv(rep / "inflation.tsv", sep="\t").set_index("group")
    assert infl.loc["a", "lambda_ref"] == pytest.approx(
        F.genomic_lambda(comb.loc[comb["group"] == "a", "ref_pval"]))
    qc = pd.read_csv(rep / "sample_qc.tsv", sep="\t")
    assert list(qc["sample"]) == ["S1", "S2", "S3", "S4"]


def test_report_without_fit_and_fit_of_wrong_kind(report_run, tmp_path, capsys):
    d = report_run
    rc = main(["-i", str(d / "pv.parquet"), "-o", str(tmp_path / "c.parquet"), "--report", str(tmp_path / "r"), "-q"])
    assert rc == 0
    html = (tmp_path / "r" / "index.html").read_text()
    assert html.count("data:image/png") == 5 and "Model fit diagnostics" not in html
    capsys.readouterr()
    rc = main(["-i", str(d / "pv.parquet"), "-o", str(tmp_path / "c2.parquet"), "--report", str(tmp_path / "r2"),
               "--fit", str(d / "pv.parquet")])
    assert rc == 1 and "expected model_params" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists() and not (tmp_path / "c2.parquet").exists()
