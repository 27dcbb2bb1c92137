"""CLI tests of allelekit-cnn-attribute: a tiny paired model of allelekit-cnn-train (random weights)
on a small synthetic F1 dataset; outputs, schemas, plots and every bad-input path."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from allelekit.cli.cnn_attribute import main
from allelekit.schemas import read_metadata, read_table, write_table

L = 80
TOOL = "allelekit-cnn-attribute"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import torch

    from allelekit.cnn.models import build_model, make_config, save_checkpoint
    from allelekit.cnn.synthetic import make_f1

    d = tmp_path_factory.mktemp("cnnattr")
    ds, truth = make_f1(n_loci=24, seq_len=L, seed=3)
    write_table(ds, d / "ds.parquet", "cnn_dataset", tool="test")
    torch.manual_seed(0)
    cfg = make_config("paired", "small", seq_len=L, n_kernels=8, kernel_size=7, n_filters=8, n_res=2, pool=4,
                      hidden=8)
    model = build_model(cfg)
    save_checkpoint(model, cfg, d / "model.pt")
    cfg2 = dict(cfg, seq_len=L + 10)
    save_checkpoint(build_model(cfg2), cfg2, d / "model_len.pt")
    # a checkpoint of an unknown format version
    obj = torch.load(d / "model.pt", weights_only=True)
    c = json.loads(obj["config"])
    c["checkpoint_format"] = "allelekit-cnn/99"
    obj["config"] = json.dumps(c)
    torch.save(obj, d / "model_bad.pt")
    (d / "junk.pt").write_bytes(b"not a checkpoint")
    from allelekit.cnn.motifs import load_jaspar, write_meme

    db = [m for m in load_jaspar() if m.motif_id in ("MA0080.5", "MA0139.1", "MA0099.3")]
    write_meme({m.motif_id: m.pfm for m in db}, d / "three.meme", {m.motif_id: m.name for m in db})
    return d, ds


def _err(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    return [e for e in err if "error:" in e]


def test_full_run_outputs(setup, capsys):
    d, ds = setup
    out = d / "out"
    plot = ds["locus_id"].iloc[1]
    rc = main(["-m", str(d / "model.pt"), "-d", str(d / "ds.parquet"), "-o", str(out), "--min-cluster-size", "2",
               "--plot-loci", plot, "--top-clusters", "2", "--meandiff", "--motifs", str(d / "three.meme"),
               "--batch-size", "64", "-q"])
    assert rc == 0, capsys.readouterr().err
    assert capsys.readouterr().out == ""          # stdout stays clean
    n = len(ds)
    att = read_table(out / "attributions.parquet", "cnn_attributions").to_pandas()
    assert len(att) == 2 * n * L
    assert read_metadata(out / "attributions.parquet")["tool"] == TOOL
    np.testing.assert_allclose(att[["score_a", "score_c", "score_g", "score_t"]].sum(axis=1), 0, atol=1e-5)
    first = att[(att.locus_id == ds.locus_id.iloc[0]) & (att.allele == "a")]
    assert "".join(first.sort_values("position")["base"]) == ds.seq_a.iloc[0]

    var = read_table(out / "variant_effects.parquet", "cnn_variant_effects").to_pandas()
    mv = read_table(out / "main_variants.parquet", "cnn_main_variants").to_pandas()
    assert len(mv) == n and set(mv.locus_id) == set(ds.locus_id)
    assert var.groupby("locus_id")["is_main"].sum().eq(1).all()
    # main = largest |effect|; sum_effects is the sum of the locus' effects
    for lid, g in var.groupby("locus_id"):
        row = mv.set_index("locus_id").loc[lid]
        assert row["main_variant"] == g.loc[g["effect"].abs().idxmax(), "variant"]
        assert row["sum_effects"] == pytest.approx(g["effect"].sum())
    assert {"snv"} <= set(var.kind)
    meas = np.log1p(ds.count_a) - np.log1p(ds.count_b)
    np.testing.assert_allclose(mv.set_index("locus_id").loc[ds.locus_id, "measured_ratio"], meas)

    seq = read_table(out / "seqlets.parquet", "cnn_seqlets").to_pandas()
    cl = read_table(out / "clusters.parquet", "cnn_clusters").to_pandas()
    read_table(out / "motif_matches.parquet", "cnn_motif_matches")
    md = read_table(out / "meandiff.parquet", "cnn_meandiff").to_pandas()
    assert set(md.motif_id) <= {"MA0080.5", "MA0139.1", "MA0099.3"}
    if len(seq):
        assert (seq["end"] - seq["start"] >= 4).all()
        assert (seq["sequence"].str.len() == seq["end"] - seq["start"]).all()
    for _, c in cl.iterrows():
        assert len(c["pfm"]) == 4 * c["pfm_width"]
        np.testing.assert_allclose(np.reshape(c["pfm"], (4, -1)).sum(axis=0), 1, atol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_loci"] == n and summary["method"] == "tism"
    png = list((out / "loci").glob("*.png"))
    assert len(png) == 1 and png[0].read_bytes()[:4] == b"\x89PNG"
    assert len(list((out / "logos").glob("*.png"))) == min(2, len(cl))
    assert (out / "motif_matches.tsv").exists() and (out / "motif_summary.tsv").exists()
    assert not [p for p in d.iterdir() if p.name.startswith(".out")]   # no temporary left over


def test_ism_npz_subset_and_rerun_replaces(setup, capsys):
    d, ds = setup
    out = d / "out_ism"
    ids = ",".join(ds.locus_id.iloc[:2])
    args = ["-m", str(d / "model.pt"), "-d", str(d / "ds.parquet"), "-o", str(out), "--loci", ids, "--method", "ism",
            "--attributions-format", "npz", "--no-tomtom", "-q"]
    assert main(args) == 0, capsys.readouterr().err
    z = np.load(out / "attributions.npz")
    assert z["att_a"].shape == (2, 4, L) and list(z["locus_id"]) == list(ds.locus_id.iloc[:2])
    # ISM through the CLI equals the library's ISM of the same checkpoint
    from allelekit.cnn.attribute import ism
    from allelekit.cnn.data import one_hot
    from allelekit.cnn.models import load_checkpoint

    model, _ = load_checkpoint(d / "model.pt")
    ref = ism(model, one_hot(ds.seq_a.iloc[:2]), one_hot(ds.seq_b.iloc[:2]))
    np.testing.assert_allclose(z["att_a"], ref.a, atol=1e-5)
    assert main(args[:-1] + ["--max-loci", "1", "-q"]) == 0        # an earlier output folder is replaced
    assert np.load(out / "attributions.npz")["att_a"].shape[0] == 1


@pytest.mark.parametrize("case", ["unknown_locus", "plot_unknown", "seq_len", "bad_format", "junk", "not_output",
                                  "no_chrom"])
def test_bad_input_one_error_nothing_written(setup, capsys, case):
    d, ds = setup
    out = d / f"bad_{case}"
    model, data, extra = d / "model.pt", d / "ds.parquet", []
    want = ""
    if case == "unknown_locus":
        extra, want = ["--loci", "nope_1"], "nope_1"
    elif case == "plot_unknown":
        extra, want = ["--plot-loci", "nope_2"], "nope_2"
    elif case == "seq_len":
        model, want = d / "model_len.pt", "length"
    elif case == "bad_format":
        model, want = d / "model_bad.pt", "format"
    elif case == "junk":
        model, want = d / "junk.pt", "checkpoint"
    elif case == "not_output":
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
        want = "not empty"
    elif case == "no_chrom":
        extra, want = ["--chroms", "chrZZ"], "chrZZ"
    rc = main(["-m", str(model), "-d", str(data), "-o", str(out), "--no-tomtom", *extra])
    errs = _err(capsys)
    assert rc == 1
    assert len(errs) == 1 and errs[0].startswith(f"{TOOL}: error:") and want in errs[0]
    if case == "not_output":
        assert (out / "precious.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1
    else:
        assert not out.exists()
    assert not [p for p in d.iterdir() if p.name.startswith(f".{out.name}")]


def test_help_is_light():
    code = ("import sys; from allelekit.cli import cnn_attribute as m; p = m.build_parser(); "
            "assert 'torch' not in sys.modules and 'numba' not in sys.modules and 'pandas' not in sys.modules, "
            "sorted(k for k in sys.modules if k in ('torch','numba','pandas'))")
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
