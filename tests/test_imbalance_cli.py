"""allelekit-fit / allelekit-test: input readers, CLI round trips and bad-input handling."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from allelekit.cli import fit as fit_cli
from allelekit.cli import test as test_cli
from allelekit.imbalance import inputs as I
from allelekit.schemas import read_table, write_table

VCF = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=100000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2
chr1\t100\trs1\tA\tG\t50\tPASS\t.\tGT:AD\t0|1:10,20\t1|0:10,20
chr1\t200\t.\tC\tT\t.\tPASS\t.\tGT:AD\t1/0:7,3\t0/0:9,0
chr1\t300\t.\tC\tT,G\t60\tPASS\t.\tGT:AD\t0/1:7,3,0\t0/1:5,5,0
chr1\t400\t.\tCA\tC\t60\tPASS\t.\tGT:AD\t0/1:7,3\t0/1:5,5
chr1\t500\t.\tG\tA\t60\tPASS\t.\tGT:AD\t./.:.,.\t1|1:0,12
"""


def test_vcf_counts_follow_ad_not_haplotype_order(tmp_path):
    p = tmp_path / "x.vcf"
    p.write_text(VCF)
    df = I.read_vcf(p, default_bad=2.0)
    got = {(r.sample, r.pos): (r.ref_count, r.alt_count) for r in df.itertuples()}
    # 0|1 and 1|0 with AD=10,20 are both ref=10, alt=20 (MixALime swaps the 1|0 one);
    # QUAL '.' is kept; multi-allelic, indel, hom and missing genotypes are skipped
    assert got == {("S1", 100): (10, 20), ("S2", 100): (10, 20), ("S1", 200): (7, 3)}
    assert set(df["bad"]) == {2.0}


def test_mixalime_style_table_and_bad_map(tmp_path):
    t = tmp_path / "DALIGNS1.mapped"
    t.write_text("#CHROM\tSTART\tEND\tID\tREF\tALT\tREF_COUNTS\tALT_COUNTS\tBAD\tSAMPLE_ID\n"
                 "chr1\t99\t100\trs1\tA\tG\t6\t7\t2.0\t68\n"
                 "chr1\t199\t200\t.\tC\tT\t8\t5\t0\t68\n")
    df = I.read_observations([t], default_bad=1.5)
    assert list(df["pos"]) == [100, 200]                    # START is 0-based
    assert list(df["bad"]) == [2.0, 1.5]                    # bad 0 -> --default-bad
    assert set(df["sample"]) == {"DALIGNS1"} and pd.isna(df["variant_id"].iloc[1])
    m = tmp_path / "bad.bed"
    m.write_text("#chr\tstart\tend\tbad\nchr1\t150\t250\t3\n")
    df = I.read_observations([t], default_bad=1.5, bad_maps=m)
    assert list(df["bad"]) == [2.0, 3.0]


def _sim_counts(n, B, w=0.7, seed=0, sample="S1"):
    rng = np.random.default_rng(seed)
    alt = 5 + rng.negative_binomial(2, 0.1, n)
    p = np.where(rng.random(n) < w, B / (B + 1), 1 / (B + 1))
    ref = rng.negative_binomial(alt, 1 - p)
    return pd.DataFrame(dict(sample=sample, chrom="chr1", pos=np.arange(1, n + 1) * 10 + int(B * 1e6), ref="A",
                             alt="G", variant_id=None, gt="0|1", phased=True, ref_count=ref, alt_count=alt,
                             other_count=0, del_count=0, region=None, bad=float(B)))


def _write_counts(path, df):
    write_table(df, path, "allele_counts", tool="test")


def test_fit_and_test_roundtrip_with_plots_and_fallback(tmp_path, capsys):
    df = pd.concat([_sim_counts(6000, 1.0, seed=1), _sim_counts(300, 3.0, seed=2)], ignore_index=True)
    counts = tmp_path / "counts.parquet"
    _write_counts(counts, df)
    fit_out, plots = tmp_path / "fit.parquet", tmp_path / "plots"
    rc = fit_cli.main(["-i", str(counts), "--model", "NB", "-o", str(fit_out), "--window-size", "2000",
                       "--small-dataset-n", "1000", "--plots", str(plots), "-q"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "BAD 3" in err and "conservative" in err           # the fallback warning names the BAD
    params = read_table(fit_out, "model_params").to_pandas()
    assert set(params["bad"]) == {1.0, 3.0}
    assert params.loc[params["bad"] == 3.0, "conservative"].all()
    b1 = params[(params["bad"] == 1.0) & (params["direction"] == "ref")]
    assert abs(np.median(b1["b"]) - 1.0) < 0.1               # simulated r(s) = s
    assert sorted(p.name for p in plots.iterdir()) == ["BAD1_params.png", "BAD1_slices.png", "BAD3_params.png",
                                                       "BAD3_slices.png"]
    pv = tmp_path / "pv.parquet"
    assert test_cli.main(["-i", str(counts), "--params", str(fit_out), "-o", str(pv), "-q"]) == 0
    out = read_table(pv, "pvalues").to_pandas()
    kept = df[(df.ref_count >= 5) & (df.alt_count >= 5)]
    assert len(out) == len(kept)
    assert ((out["ref_pval"] > 0) & (out["ref_pval"] <= 1) & (out["alt_pval"] > 0) & (out["alt_pval"] <= 1)).all()
    # larger ref count at the same alt count -> smaller ref p-value, larger ES
    s = out[(out["bad"] == 1.0) & (out["alt_count"] == 10)].sort_values("ref_count")
    assert np.all(np.diff(s["ref_pval"]) <= 1e-12) and np.all(np.diff(s["ref_es"]) >= -1e-12)
    # the smallest modelled count (left + 1 = 5) has p = 1 exactly, as in MixALime: 1 - 1e-15 from
    # rounding would count as strong evidence against imbalance in Mudholkar-George's combination
    assert (out.loc[out["ref_count"] == 5, "ref_pval"] == 1.0).all()
    assert (out.loc[out["alt_count"] == 5, "alt_pval"] == 1.0).all()
    assert (out.loc[out["ref_count"] > 5, "ref_pval"] < 1.0).any()


@pytest.mark.parametrize("model", ["binom", "betabinom"])
def test_classic_models_without_fit(tmp_path, model):
    counts = tmp_path / "counts.parquet"
    _write_counts(counts, _sim_counts(3000, 2.0, seed=3))
    pv = tmp_path / "pv.parquet"
    assert test_cli.main(["-i", str(counts), "--model", model, "-o", str(pv), "-q"]) == 0
    out = read_table(pv, "pvalues").to_pandas()
    assert (out["model"] == model).all() and out["ref_pval"].between(0, 1).all()
    assert (out.loc[out["ref_count"] == 5, "ref_pval"] == 1.0).all()


def _expect_error(capsys, main, argv, outputs, words):
    rc = main([*argv, "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("allelekit-") and ": error: " in err[0], err
    for w in words:
        assert w in err[0], err
    for o in outputs:
        assert not o.exists()
    assert not list(o.parent.glob(f".{o.name}.tmp-*"))


def test_bad_inputs(tmp_path, capsys):
    out = tmp_path / "fit.parquet"
    t = tmp_path / "t.tsv"
    head = "chr\tstart\tref\talt\tref_count\talt_count\tbad\n"
    t.write_text(head + "chr1\t1\tA\tG\t-3\t7\t1\n")
    _expect_error(capsys, fit_cli.main, ["-i", str(t), "-o", str(out)], [out], ["ref_count", "negative"])
    t.write_text(head + "chr1\t1\tA\tG\t3.5\t7\t1\n")
    _expect_error(capsys, fit_cli.main, ["-i", str(t), "-o", str(out)], [out], ["non-integer"])
    t.write_text(head + "chr1\t1\tA\tG\t3\t7\t1\n")
    _expect_error(capsys, fit_cli.main, ["-i", str(t), "-o", str(out)], [out], ["no heterozygous observations"])
    counts = tmp_path / "c.parquet"
    df = _sim_counts(50, 1.0)
    df.loc[3, "bad"] = 0.0
    _write_counts(counts, df)
    _expect_error(capsys, fit_cli.main, ["-i", str(counts), "-o", str(out)], [out], ["bad", "<= 0"])
    _write_counts(counts, _sim_counts(50, 1.0))
    _expect_error(capsys, fit_cli.main, ["-i", str(counts), "--model", "Poisson", "-o", str(out)], [out],
                  ["unknown model", "Poisson"])
    pv = tmp_path / "pv.parquet"
    _expect_error(capsys, test_cli.main, ["-i", str(counts), "-o", str(pv)], [pv], ["--params"])
    _expect_error(capsys, test_cli.main, ["-i", str(counts), "--model", "NB", "-o", str(pv)], [pv], ["NB"])
