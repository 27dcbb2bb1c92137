"""allelekit-bslmm end to end, in process: outputs and schemas, determinism across --threads,
predict mode, chains/plots, and every bad-input path of issue 6 (exit 1, one line, nothing written)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allelekit.cli.bslmm import main
from allelekit.schemas import read_table

N = 80
SAMPLES = [f"S{i:02d}" for i in range(N)]
SHORT = ["--burn-in", "40", "--samples", "120", "--thin", "2"]


def _write_data(d: Path, rng_seed: int = 4) -> dict:
    """3 genes with SNVs (one monomorphic SNV in GENE_A's window), 1 gene with no SNVs,
    plain-text VCF (unindexed -> scan path), expression, annotation TSV, covariates."""
    from allelekit.bslmm.simulate import simulate_gene

    rng = np.random.default_rng(rng_seed)
    recs, expr = [], {}
    for gi, (gene, tss) in enumerate([("GENE_A", 100_000), ("GENE_B", 400_000), ("GENE_C", 700_000)]):
        sg = simulate_gene(N, 40, rng, n_causal=2, pve=0.5, window=20_000, tss=tss, equal_effects=True)
        for j in range(sg.G.shape[1]):
            recs.append((int(sg.pos[j]), sg.G[:, j].astype(int)))
        expr[gene] = sg.y + 10
    recs.append((100_500, np.zeros(N, dtype=int)))           # monomorphic SNV in GENE_A's window
    recs.sort(key=lambda r: r[0])
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr7,length=1000000>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES)]
    gt = {0: "0/0", 1: "0/1", 2: "1/1"}
    for k, (pos, g) in enumerate(recs):
        lines.append(f"chr7\t{pos}\trs{k}\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(gt[int(x)] for x in g))
    lines.append("chr7\t800000\tindel1\tAT\tA\t.\tPASS\t.\tGT\t" + "\t".join(["0/1"] * N))  # skipped non-SNV
    (d / "g.vcf").write_text("\n".join(lines) + "\n")
    expr["GENE_NOSNV"] = rng.normal(size=N)
    df = pd.DataFrame({"gene_id": list(expr)} | {s: [expr[g][i] for g in expr] for i, s in enumerate(SAMPLES)})
    df.to_csv(d / "expr.tsv", sep="\t", index=False, float_format="%.5f")
    pd.DataFrame({"gene_id": ["GENE_A", "GENE_B", "GENE_C", "GENE_NOSNV"], "chrom": ["7", "chr7", "chr7", "chr7"],
                  "tss": [100_000, 400_000, 700_000, 950_000], "strand": ["+", "-", "+", "+"]}
                 ).to_csv(d / "genes.tsv", sep="\t", index=False)
    cov = pd.DataFrame({"id": SAMPLES, "age": rng.normal(size=N), "sex": rng.integers(0, 2, size=N)})
    cov.to_csv(d / "cov.tsv", sep="\t", index=False)
    (d / "test.txt").write_text("\n".join(SAMPLES[:20]) + "\n")
    return {"vcf": str(d / "g.vcf"), "expr": str(d / "expr.tsv"), "genes": str(d / "genes.tsv"),
            "cov": str(d / "cov.tsv"), "test": str(d / "test.txt")}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _write_data(tmp_path_factory.mktemp("bslmm_data"))


def _base(data, out, *extra):
    return ["--vcf", data["vcf"], "--expression", data["expr"], "--annotation", data["genes"], "-o", str(out),
            "-q", "--cis-window", "50000", *SHORT, *extra]


@pytest.fixture(scope="module")
def folds_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(_base(data, out, "--folds", "2", "--model", "bsbslmm", "--seed", "3")) == 0
    return out


def test_fit_with_folds_writes_every_table(folds_run):
    out = folds_run
    hyper = read_table(out / "hyper.parquet", "bslmm_hyper").to_pandas().set_index("gene")
    assert hyper.loc[["GENE_A", "GENE_B", "GENE_C"], "status"].eq("ok").all()
    assert hyper.loc["GENE_NOSNV", "status"] == "skipped: no SNVs in the cis window"
    assert hyper.loc["GENE_A", "n_test"] == N and hyper.loc["GENE_A", "n_train"] == N
    r = hyper.loc[["GENE_A", "GENE_B", "GENE_C"], "r_test"]
    assert r.mean() > 0.3 and r.max() > 0.5          # pve 0.5 signals, 40 training samples per fold
    w = read_table(out / "weights.parquet", "bslmm_weights").to_pandas()
    assert 100_500 not in set(w["pos"])                                       # monomorphic dropped
    assert w["block_pip"].between(0, 1).all() and w["pip"].between(0, 1).all()
    assert (w["ci_low"] <= w["ci_high"]).all()
    assert w.groupby("gene")["intercept"].nunique().eq(1).all()
    assert set(w["gene"]) == {"GENE_A", "GENE_B", "GENE_C"}
    assert (w["tss_distance"] == w["pos"] - w["gene"].map({"GENE_A": 100_000, "GENE_B": 400_000,
                                                           "GENE_C": 700_000})).all()
    pred = read_table(out / "predictions.parquet", "bslmm_predictions").to_pandas()
    assert pred.groupby("gene").size().eq(N).all() and set(pred["fold"]) == {1, 2}
    px = pd.read_csv(out / "predixcan_weights.tsv", sep="\t")
    assert list(px.columns) == ["gene", "variant_id", "chrom", "pos", "ref", "alt", "weight"]
    assert len(px) == len(w)
    tr = read_table(out / "trace.parquet", "bslmm_trace").to_pandas()
    assert tr.groupby("gene").size().eq(60).all() and tr["pi_b"].notna().all()


def test_threads_do_not_change_results(data, tmp_path):
    outs = []
    for t in ("1", "2"):
        out = tmp_path / f"t{t}"
        args = _base(data, out, "--model", "bslmm", "--threads", t, "--test-samples", data["test"],
                     "--covariates", data["cov"], "--seed", "9")
        assert main(args) == 0
        outs.append(out)
    for name in ("weights", "trace", "predictions"):
        a = pd.read_parquet(outs[0] / f"{name}.parquet")
        b = pd.read_parquet(outs[1] / f"{name}.parquet")
        pd.testing.assert_frame_equal(a, b)
    ha = pd.read_parquet(outs[0] / "hyper.parquet").drop(columns="seconds")
    hb = pd.read_parquet(outs[1] / "hyper.parquet").drop(columns="seconds")
    pd.testing.assert_frame_equal(ha, hb)
    assert (ha.set_index("gene").loc["GENE_A", ["n_train", "n_test"]] == [60, 20]).all()


def test_predict_mode_applies_saved_weights(folds_run, data, tmp_path):
    out = tmp_path / "pred"
    assert main(["--predict", str(folds_run / "weights.parquet"), "--vcf", data["vcf"], "--expression",
                 data["expr"], "-o", str(out), "-q"]) == 0
    pred = read_table(out / "predictions.parquet", "bslmm_predictions").to_pandas()
    w = pd.read_parquet(folds_run / "weights.parquet")
    # recompute GENE_B by hand from the VCF text
    vcf = [ln.split("\t") for ln in Path(data["vcf"]).read_text().splitlines() if not ln.startswith("#")]
    dos = {int(f[1]): np.array([{"0/0": 0, "0/1": 1, "1/1": 2}[g] for g in f[9:]]) for f in vcf if len(f[3]) == 1}
    wb = w[w.gene == "GENE_B"]
    manual = wb["intercept"].iloc[0] + sum((dos[p] - m) * x for p, m, x in zip(wb.pos, wb.dosage_mean, wb.weight))
    got = pred[pred.gene == "GENE_B"].set_index("sample").loc[SAMPLES, "predicted"].to_numpy()
    assert np.allclose(got, manual)
    assert pred["observed"].notna().all() and pred["fold"].isna().all()


def test_two_chains_give_rhat_and_plots(data, tmp_path):
    out = tmp_path / "c2"
    assert main(_base(data, out, "--model", "bslmm", "--chains", "2", "--plots", "--genes", "GENE_A,GENE_B")) == 0
    h = pd.read_parquet(out / "hyper.parquet")
    assert set(h.gene) == {"GENE_A", "GENE_B"}
    assert h["rhat_h"].notna().all() and h["rhat_pve"].notna().all() and (h["ess_h"] > 0).all()
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["GENE_A.png", "GENE_B.png"]
    assert set(pd.read_parquet(out / "trace.parquet")["chain"]) == {0, 1}


# --- bad input --------------------------------------------------------------------------------------
def _fails(args, capsys, *words):
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("allelekit-bslmm: error:"), err
    for w in words:
        assert w in err[0], err[0]
    return err[0]


def test_no_sample_overlap_is_an_error(data, tmp_path, capsys):
    df = pd.read_csv(data["expr"], sep="\t")
    df.columns = ["gene_id"] + [f"X{c}" for c in df.columns[1:]]
    bad = tmp_path / "expr.tsv"
    df.to_csv(bad, sep="\t", index=False)
    out = tmp_path / "out"
    _fails(_base(dict(data, expr=str(bad)), out), capsys, "none of the", "check sample names")
    assert not out.exists()


def test_non_numeric_expression_names_gene_and_sample(data, tmp_path, capsys):
    df = pd.read_csv(data["expr"], sep="\t", dtype=str)
    df.loc[1, "S05"] = "high"
    bad = tmp_path / "expr.tsv"
    df.to_csv(bad, sep="\t", index=False)
    out = tmp_path / "out"
    _fails(_base(dict(data, expr=str(bad)), out), capsys, "GENE_B", "S05", "'high'")
    assert not out.exists()


def test_missing_samples_nan_and_failed_gene_keep_the_others(data, tmp_path, caplog):
    df = pd.read_csv(data["expr"], sep="\t")
    df["EXTRA1"] = 1.0                                   # not in the VCF: reported, overlap used
    df.loc[df.gene_id == "GENE_A", "S03"] = np.nan       # NaN: sample left out of GENE_A only
    df.loc[df.gene_id == "GENE_C", SAMPLES[5:]] = np.nan  # too few samples: GENE_C fails, others go on
    bad = tmp_path / "expr.tsv"
    df.to_csv(bad, sep="\t", index=False)
    out = tmp_path / "out"
    assert main(_base(dict(data, expr=str(bad)), out, "--model", "bslmm")) == 0
    h = pd.read_parquet(out / "hyper.parquet").set_index("gene")
    assert h.loc["GENE_A", "status"] == "ok" and h.loc["GENE_A", "n_train"] == N - 1
    assert h.loc["GENE_B", "status"] == "ok" and h.loc["GENE_B", "n_train"] == N
    assert h.loc["GENE_C", "status"].startswith("error:") and "training samples" in h.loc["GENE_C", "status"]
    assert "1 of 81 expression samples are not in the VCF" in caplog.text
    assert set(pd.read_parquet(out / "weights.parquet").gene) == {"GENE_A", "GENE_B"}


def test_predict_refuses_other_tables(folds_run, data, tmp_path, capsys):
    _fails(["--predict", str(folds_run / "hyper.parquet"), "--vcf", data["vcf"], "-o", str(tmp_path / "p")],
           capsys, "bslmm_hyper", "bslmm_weights")


def test_usage_errors_exit_2(data, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["--vcf", data["vcf"], "-o", str(tmp_path / "o")])       # fitting without expression
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(_base(data, tmp_path / "o", "--folds", "2", "--test-samples", data["test"]))
    assert e.value.code == 2


def test_help_is_light():
    code = ("import sys, allelekit.cli.bslmm as m; m.build_parser().format_help(); "
            "print(sorted(x for x in ('numba', 'numpy', 'pandas', 'cyvcf2', 'scipy') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pooled_tss_prior_is_recorded_and_independent_of_threads(data, tmp_path):
    """bsbslmm's default pooled TSS prior: one estimate shared by all genes, written to hyper.parquet,
    identical for --threads 1 and 2; --tss-prior gene gives N(0, 1) and gene results that do not
    depend on which other genes are analysed."""
    hyp = []
    for t in ("1", "2"):
        out = tmp_path / f"p{t}"
        assert main(_base(data, out, "--model", "bsbslmm", "--threads", t, "--test-samples", data["test"],
                          "--seed", "5")) == 0
        hyp.append(pd.read_parquet(out / "hyper.parquet").drop(columns="seconds"))
        if t == "1":
            w1 = pd.read_parquet(out / "weights.parquet")
        else:
            pd.testing.assert_frame_equal(w1, pd.read_parquet(out / "weights.parquet"))
    pd.testing.assert_frame_equal(hyp[0], hyp[1])
    ok = hyp[0][hyp[0]["status"] == "ok"]
    assert len(ok) == 3 and ok["beta_prior_mean"].nunique() == 1 and ok["beta_prior_sd"].nunique() == 1
    assert 0 < ok["beta_prior_sd"].iloc[0] <= 1 and ok["beta_prior_mean"].iloc[0] != 0
    assert hyp[0].loc[hyp[0]["status"] != "ok", "beta_prior_mean"].isna().all()

    per_gene = []
    for genes in ("GENE_A,GENE_B,GENE_C", "GENE_B"):
        out = tmp_path / f"g{genes.count(',')}"
        assert main(_base(data, out, "--model", "bsbslmm", "--tss-prior", "gene", "--genes", genes,
                          "--seed", "5")) == 0
        h = pd.read_parquet(out / "hyper.parquet").set_index("gene")
        assert (h["beta_prior_mean"] == 0).all() and (h["beta_prior_sd"] == 1).all()
        w = pd.read_parquet(out / "weights.parquet")
        per_gene.append(w[w.gene == "GENE_B"].reset_index(drop=True))
    pd.testing.assert_frame_equal(per_gene[0], per_gene[1])


def test_bslmm_ignores_tss_prior(data, tmp_path):
    out = tmp_path / "b"
    assert main(_base(data, out, "--model", "bslmm", "--genes", "GENE_A")) == 0
    h = pd.read_parquet(out / "hyper.parquet")
    assert h["beta_prior_mean"].isna().all() and h["beta_prior_sd"].isna().all()
