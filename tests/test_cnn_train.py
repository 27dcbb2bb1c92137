"""allelekit-cnn-train: one-hot encoding, models, checkpoints, the synthetic F1 generator, and a
short training run on an easy synthetic set (small preset with reduced widths, 60 bp, 900 loci)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from allelekit.cli.cnn_train import main
from allelekit.cnn.data import evaluate, one_hot, reverse_complement, split_by_chrom, targets
from allelekit.cnn.models import (build_model, load_checkpoint, make_config, n_parameters, save_checkpoint, _rc)
from allelekit.cnn.synthetic import make_f1, oracle_summary
from allelekit.errors import AllelekitError
from allelekit.schemas import read_metadata, read_table, write_table

TINY = dict(n_kernels=32, n_filters=16, hidden=32, n_res=2)
TINY_FLAGS = ["--preset", "small", "--kernels", "32", "--filters", "16", "--hidden", "32", "--res-blocks", "2"]


# --- one-hot --------------------------------------------------------------------------------------
def test_one_hot_known_answer():
    x = one_hot(["ACGTN", "acg"])
    assert x.dtype == np.float32 and x.shape == (2, 4, 5)
    np.testing.assert_array_equal(x[0, :, :4], np.eye(4, dtype=np.float32))
    np.testing.assert_array_equal(x[0, :, 4], [0.25] * 4)
    np.testing.assert_array_equal(x[1, :, :3], np.eye(4, dtype=np.float32)[:, :3])
    np.testing.assert_array_equal(x[1, :, 3:], 0.0)  # 3' padding is all zero
    with pytest.raises(AllelekitError, match="'R'"):
        one_hot(["ACGRT"])


def test_reverse_complement_of_one_hot_is_channel_and_position_flip():
    s = "AACGTTTGCANGGA"
    np.testing.assert_array_equal(_rc(torch.tensor(one_hot([s]))).numpy(), one_hot([reverse_complement(s)]))


def test_targets_and_split():
    y = targets(np.array([0.0, 9.0]), np.array([3.0, 0.0]))
    np.testing.assert_allclose(y, [[0, np.log(4), -np.log(4)], [np.log(10), 0, np.log(10)]], rtol=1e-6)
    lab = split_by_chrom(["chr1", "chr2", "chr3", "chr1"], ["chr2"], ["chr3"])
    assert lab.tolist() == ["train", "val", "test", "train"]
    with pytest.raises(AllelekitError, match="chrX.*no loci"):
        split_by_chrom(["chr1", "chr2"], ["chr2"], ["chrX"])


# --- models ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset,arch,expected", [("small", "paired", 321602), ("atac", "paired", 2512898),
                                                  ("chip", "paired", 4152834), ("atac", "single", 1987073)])
def test_parameter_counts_match_published_sizes(preset, arch, expected):
    # atac/chip: the released checkpoints' sizes (256 kernels, H 256); spec section 1 / 8
    assert n_parameters(build_model(make_config(arch, preset))) == expected


def _pair(n=5, L=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    xa = torch.nn.functional.one_hot(torch.randint(0, 4, (n, L), generator=g), 4).permute(0, 2, 1).float()
    xb = torch.nn.functional.one_hot(torch.randint(0, 4, (n, L), generator=g), 4).permute(0, 2, 1).float()
    return xa, xb


@pytest.mark.parametrize("arch", ["paired", "direct", "single"])
def test_forward_shapes_and_ratio_definitions(arch):
    torch.manual_seed(0)
    m = build_model(make_config(arch, "small", seq_len=60, **TINY)).eval()
    xa, xb = _pair()
    out = m(xa, xb)
    assert out.shape == (5, 3)
    if arch != "paired":  # ratio is the difference of the count outputs
        torch.testing.assert_close(out[:, 2], out[:, 0] - out[:, 1])
    with pytest.raises(AllelekitError, match="shape"):
        m(xa[:, :, :50], xb[:, :, :50])


def test_antisymmetric_option_flips_sign_exactly():
    torch.manual_seed(1)
    xa, xb = _pair(8)
    anti = build_model(make_config("paired", "small", antisymmetric=True, seq_len=60, **TINY)).eval()
    with torch.no_grad():
        r_ab, r_ba = anti(xa, xb)[:, 2], anti(xb, xa)[:, 2]
        assert torch.equal(r_ab, -r_ba) and r_ab.abs().max() > 0
        assert torch.equal(anti(xa, xa)[:, 2], torch.zeros(8))
    plain = build_model(make_config("paired", "small", seq_len=60, **TINY)).eval()
    with torch.no_grad():  # the published head is not antisymmetric
        assert not torch.allclose(plain(xa, xb)[:, 2], -plain(xb, xa)[:, 2], atol=1e-4)


def test_checkpoint_roundtrip_and_errors(tmp_path):
    torch.manual_seed(2)
    cfg = make_config("paired", "small", antisymmetric=True, seq_len=60, **TINY)
    m = build_model(cfg).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(m, cfg, path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind
    m2, cfg2 = load_checkpoint(path)
    assert not m2.training and cfg2["arch"] == "paired" and cfg2["dataset_schema"] == "cnn_dataset/1.0"
    assert "allelekit_version" in cfg2 and cfg2["seq_len"] == 60
    xa, xb = _pair()
    with torch.no_grad():
        assert torch.equal(m(xa, xb), m2(xa, xb))
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict", "config"} and isinstance(raw["config"], str)
    # incompatible versions and bad files: AllelekitError
    bad = dict(json.loads(raw["config"]), dataset_schema="cnn_dataset/2.0")
    torch.save({"state_dict": raw["state_dict"], "config": json.dumps(bad)}, tmp_path / "v2.pt")
    with pytest.raises(AllelekitError, match="dataset schema"):
        load_checkpoint(tmp_path / "v2.pt")
    torch.save({"state_dict": raw["state_dict"], "config": json.dumps(dict(bad, dataset_schema="cnn_dataset/1.0",
                                                                            hidden=64))}, tmp_path / "h.pt")
    with pytest.raises(AllelekitError, match="do not fit"):
        load_checkpoint(tmp_path / "h.pt")
    torch.save(m, tmp_path / "pickled.pt")  # a pickled module is refused (weights_only)
    with pytest.raises(AllelekitError, match="not an allelekit CNN checkpoint"):
        load_checkpoint(tmp_path / "pickled.pt")


# --- synthetic generator --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def easy():
    """Easy, learnable synthetic F1 set: one strong motif (FOS::JUN), low noise, 60 bp."""
    return make_f1(900, 60, seed=5, sigma_shared=0.2, depth=50, motifs=("MA0099.3",), weights=(3.0,),
                   motif_rate=1.0, motif_snv_rate=0.15, chroms={"chr1": 3, "chr2": 1, "chr3": 1})


def test_make_f1_truth_is_consistent(easy):
    ds, truth = easy
    assert len(ds) == len(truth) == 900 and (ds.locus_id == truth.locus_id).all()
    assert ds.seq_a.str.len().eq(60).all() and ds.seq_b.str.len().eq(60).all()
    write_table(ds, "/dev/null", "cnn_dataset", tool="test")  # conforms to the schema (validation only)
    # without variants the alleles are identical and the true ratio is 0
    none = truth.n_variants == 0
    assert none.any() and (ds.seq_a[none] == ds.seq_b[none]).all()
    assert np.abs(truth.true_log_ratio[none]).max() == 0 and truth.causal_pos[none].isna().all()
    # SNV-only loci: the alleles differ exactly at the listed positions; causal_pos is one of them
    for i in np.flatnonzero(~none & ~truth.variants.str.contains("-").to_numpy())[:50]:
        pos = [int(v.split(":")[0]) for v in truth.variants[i].split(";")]
        diff = [j for j, (a, b) in enumerate(zip(ds.seq_a[i], ds.seq_b[i])) if a != b]
        assert diff == pos
        cp = truth.causal_pos[i]
        assert pd.isna(cp) or int(cp) in pos
    # planted motifs: the site in allele A scores high against the PWM
    from allelekit.cnn.synthetic import load_pfms

    (_, _, pfm), = load_pfms(["MA0099.3"])
    llr = np.log(pfm / 0.25)
    mid, p, strand = truth.motifs_a[truth.motifs_a != ""].iloc[0].split(";")[0].split(":")
    i = int(np.flatnonzero(truth.motifs_a != "")[0])
    x = one_hot([ds.seq_a[i][int(p): int(p) + pfm.shape[1]]])[0]
    if strand == "-":
        x = x[::-1, ::-1]
    assert mid == "MA0099.3" and (llr * x).sum() > 0.5 * llr.max(axis=0).sum()
    o = truth.attrs["oracle"]
    assert o["ratio_pearson"] > 0.9 and o["frac_main_variant_in_site"] > 0.8
    # same seed, same data
    ds2, _ = make_f1(50, 60, seed=5, motifs=("MA0099.3",), weights=(3.0,))
    ds3, _ = make_f1(50, 60, seed=5, motifs=("MA0099.3",), weights=(3.0,))
    pd.testing.assert_frame_equal(ds2, ds3)


def test_shared_noise_lowers_count_oracle_not_ratio_oracle():
    lo = make_f1(1500, 80, seed=2, sigma_shared=0.0)[1].attrs["oracle"]
    hi = make_f1(1500, 80, seed=2, sigma_shared=1.5)[1].attrs["oracle"]
    assert hi["count_pearson"] < lo["count_pearson"] - 0.2
    assert abs(hi["ratio_pearson"] - lo["ratio_pearson"]) < 0.15


# --- training through the CLI ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(easy, tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    ds, truth = easy
    write_table(ds, d / "ds.parquet", "cnn_dataset", tool="test")
    argv = ["--dataset", str(d / "ds.parquet"), "-o", str(d / "m.pt"), "--arch", "paired", *TINY_FLAGS,
            "--val-chroms", "chr2", "--test-chroms", "chr3", "--epochs", "6", "--patience", "6",
            "--batch-size", "32", "--lr", "5e-3", "--scheduler", "none", "--threads", "1", "--seed", "0",
            "--predictions", str(d / "pred.parquet"), "--plot", str(d / "curve.png"), "--tsv", str(d / "m.tsv"), "-q"]
    assert main(argv) == 0
    return d, ds, truth


def test_training_reduces_validation_loss(trained):
    d, _, _ = trained
    m = read_table(d / "m.metrics.parquet", "cnn_metrics").to_pandas()
    val = m[(m.split == "val") & ~m.final]
    assert len(val) == 6
    assert val.loss.min() < 0.6 * val.loss.iloc[0]
    best = m[m.final & (m.split == "val")].iloc[0]
    assert abs(best.loss - val.loss.min()) < 1e-5 and best.epoch == val.epoch[val.loss.idxmin()]
    assert (d / "curve.png").read_bytes()[:4] == b"\x89PNG" and (d / "m.tsv").exists()


def test_heldout_log_ratio_reaches_fraction_of_oracle(trained):
    d, ds, truth = trained
    m = read_table(d / "m.metrics.parquet", "cnn_metrics").to_pandas()
    test = m[m.final & (m.split == "test")].iloc[0]
    oracle = oracle_summary(ds, truth, ["chr3"])
    # measured: 0.92 of an oracle 0.98 after 6 epochs; require 60 %
    assert test.ratio_pearson > 0.6 * oracle["ratio_pearson"]
    assert test.count_pearson > 0.6 * oracle["count_pearson"]


def test_checkpoint_reloads_to_identical_predictions(trained):
    d, ds, _ = trained
    model, cfg = load_checkpoint(d / "m.pt")
    assert cfg["arch"] == "paired" and cfg["seq_len"] == 60 and cfg["best_epoch"] >= 1
    pred = read_table(d / "pred.parquet", "cnn_predictions").to_pandas()
    assert pred.locus_id.tolist() == ds.locus_id.tolist()
    test = (pred.split == "test").to_numpy()
    xa, xb = one_hot(ds.seq_a[test].tolist()), one_hot(ds.seq_b[test].tolist())
    with torch.no_grad():
        out = model(torch.tensor(xa), torch.tensor(xb)).numpy()
    np.testing.assert_allclose(out[:, 2], pred.pred_log_ratio[test], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[:, 0], pred.pred_log_count_a[test], rtol=1e-5, atol=1e-5)
    # the metrics are the metrics of these predictions
    m = read_table(d / "m.metrics.parquet", "cnn_metrics").to_pandas()
    ev = evaluate(out, pred[["obs_log_count_a", "obs_log_count_b", "obs_log_ratio"]].to_numpy()[test])
    assert abs(ev["ratio_pearson"] - m[m.final & (m.split == "test")].ratio_pearson.iloc[0]) < 1e-4
    assert json.loads(read_metadata(d / "m.metrics.parquet")["model_config"])["arch"] == "paired"


def test_single_input_baseline_trains_on_reference_only(easy, tmp_path):
    ds, _ = easy
    write_table(ds.groupby("chrom").head(100), tmp_path / "ds.parquet", "cnn_dataset", tool="test")
    out = tmp_path / "ref.pt"
    assert main(["--dataset", str(tmp_path / "ds.parquet"), "-o", str(out), "--arch", "ref-only", *TINY_FLAGS,
                 "--val-chroms", "chr2", "--test-chroms", "chr3", "--epochs", "1", "--threads", "1", "-q"]) == 0
    model, cfg = load_checkpoint(out)
    assert cfg["arch"] == "single" and cfg["train_alleles"] == "a"
    xa, xb = _pair(4, 60)
    with torch.no_grad():
        o = model(xa, xb)
    assert (o[:, :2] >= 0).all()  # ReLU output: log counts are >= 0


# --- bad input ------------------------------------------------------------------------------------
def _dataset(tmp_path, **change):
    ds = pd.DataFrame({"locus_id": ["a", "b", "c", "d"], "chrom": ["chr1", "chr1", "chr2", "chr3"],
                       "start": [0, 100, 0, 0], "end": [20, 120, 20, 20],
                       "seq_a": ["ACGT" * 5] * 4, "seq_b": ["ACGA" * 5] * 4,
                       "count_a": [1.0, 2.0, 3.0, 4.0], "count_b": [0.0, 1.0, 2.0, 3.0]})
    for k, v in change.items():
        ds[k] = v
    p = tmp_path / "ds.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    # plain pyarrow so that a NaN count stays NaN (another program's file)
    pq.write_table(pa.table({c: pa.array(ds[c].tolist(), from_pandas=False) for c in ds.columns}), p)
    return p


@pytest.mark.parametrize("change,flags,msg", [
    ({}, ["--test-chroms", "chr9"], "chr9.*no loci"),
    ({"seq_b": ["ACGT" * 5, "ACGT" * 4 + "ACGX", "ACGT" * 5, "ACGT" * 5]}, [], "'X'"),
    ({"count_a": [1.0, -2.0, 3.0, 4.0]}, [], "negative count_a"),
    ({"count_b": [1.0, float("nan"), 3.0, 4.0]}, [], "missing or negative count_b"),
    ({}, ["--arch", "direct", "--antisymmetric"], "paired only"),
])
def test_bad_input_exits_1_without_checkpoint(tmp_path, capsys, change, flags, msg):
    p = _dataset(tmp_path, **change)
    out = tmp_path / "m.pt"
    argv = ["--dataset", str(p), "-o", str(out), "--val-chroms", "chr2", "--test-chroms", "chr3", *TINY_FLAGS,
            "--epochs", "1", "--threads", "1", "-q", *flags]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("allelekit-cnn-train: error: ")
    import re

    assert re.search(msg, err[0]), err[0]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["ds.parquet"]  # nothing half-written


def test_help_is_fast_and_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys, allelekit.cli.cnn_train as m; p = m.build_parser(); p.format_help(); "
            "print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
