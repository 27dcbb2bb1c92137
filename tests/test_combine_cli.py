"""allelekit-combine command line: outputs, groups, tracks, summary and every bad-input path.

P-value tables are simulated (tests/data/combine/sim.py: binomial counts, scipy binomial tails).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from allelekit.cli.combine import main
from allelekit.combine import CombineParams, combine_group
from allelekit.schemas import COMBINED, read_metadata, read_table

DATA = Path(__file__).parent / "data" / "combine"
_spec = importlib.util.spec_from_file_location("combine_sim", DATA / "sim.py")
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


@pytest.fixture(scope="module")
def pv_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pv")
    pv, truth = sim.simulate(n_samples=4, n_snvs=800, seed=5, bads=(1.0,))
    a, b = d / "s12.parquet", d / "s34.parquet"
    sim.write_pvalues(pv[pv["sample"].isin(["S1", "S2"])], a)
    sim.write_pvalues(pv[pv["sample"].isin(["S3", "S4"])], b)
    return a, b, pv, truth


def _run(argv, capsys):
    rc = main([str(x) for x in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_default_run_writes_every_output(pv_files, tmp_path, capsys):
    a, b, pv, truth = pv_files
    o = tmp_path / "out"
    rc, out, err = _run(["-i", a, b, "-o", o / "comb.parquet", "--tsv", o / "comb.tsv", "--bed", o / "sig.bed",
                         "--bedgraph", o / "sig.bedgraph", "--summary", o / "summary.tsv"], capsys)
    assert rc == 0, err
    assert out == ""  # stdout stays clean; the summary is logged on stderr
    assert "SNVs tested" in err and "significant at FDR < 0.05" in err
    t = read_table(o / "comb.parquet", COMBINED).to_pandas()
    meta = read_metadata(o / "comb.parquet")
    assert meta["schema"] == "combined/1.0" and meta["model"] == "binom"
    assert json.loads(meta["params"])["method"] == "logit"
    assert set(t["group"]) == {"all"}
    # same as the library on the concatenated observations
    lib = combine_group(pv, "all", CombineParams())
    np.testing.assert_allclose(t["ref_pval"].to_numpy(), lib["ref_pval"].to_numpy(), rtol=1e-14)
    assert (t["call"].to_numpy() == lib["call"].to_numpy()).all()
    # min-cover 20 applied: every SNV has an observation with >= 20 reads
    assert (t["max_cover"] >= 20).all()
    # TSV = Parquet
    tsv = pd.read_csv(o / "comb.tsv", sep="\t")
    assert len(tsv) == len(t) and list(tsv.columns) == list(t.columns)
    # BED: track line, one line per significant SNV, 0-based, colour by preferred allele
    bed = (o / "sig.bed").read_text().splitlines()
    assert bed[0].startswith("track ") and 'itemRgb="On"' in bed[0]
    sig = t[t["call"] != "none"]
    assert len(bed) - 1 == len(sig) > 0
    first = bed[1].split("\t")
    row = sig.iloc[0]
    assert first[0] == row["chrom"] and int(first[1]) == row["pos"] - 1 and int(first[2]) == row["pos"]
    assert first[8] == {"ref": "33,102,172", "alt": "230,97,1"}[row["pref_allele"]]
    bg = (o / "sig.bedgraph").read_text().splitlines()
    assert bg[0].startswith("track type=bedGraph") and len(bg) - 1 == len(t)
    # summary numbers agree with the table
    s = pd.read_csv(o / "summary.tsv", sep="\t").iloc[0]
    assert s["n_tested"] == len(t) and s["significant"] == len(sig)
    assert s["ref_only"] == (t["call"] == "ref").sum() and s["n_observations"] == len(pv)
    assert s["pct_tested"] == pytest.approx(100 * len(t) / pv.drop_duplicates(["chrom", "pos", "ref", "alt"]).shape[0])


def test_groups_by_list_and_file_are_separate(pv_files, tmp_path, capsys):
    a, b, pv, _ = pv_files
    gfile = tmp_path / "control.txt"
    gfile.write_text("# control samples\nS3\n" + str(b) + "\n")  # a sample and an input file (S3, S4)
    o = tmp_path / "comb.parquet"
    rc, _, err = _run(["-i", a, b, "-o", o, "--group", "treated=S1,S2", "--group", f"control={gfile}",
                       "--bed", tmp_path / "sig.bed", "--min-cover", "0"], capsys)
    assert rc == 0, err
    t = read_table(o, COMBINED).to_pandas()
    assert set(t["group"]) == {"treated", "control"}
    for g, ss in (("treated", ["S1", "S2"]), ("control", ["S3", "S4"])):
        per = read_table(tmp_path / f"comb.{g}.parquet", COMBINED).to_pandas()
        lib = combine_group(pv[pv["sample"].isin(ss)], g, CombineParams(min_cover=0))
        assert len(per) == len(lib) == (t["group"] == g).sum()
        np.testing.assert_allclose(per["ref_fdr"], lib["ref_fdr"], rtol=1e-14)  # FDR within the group
        assert set(x for s in per["samples"] for x in s) == set(ss)
        assert (tmp_path / f"sig.{g}.bed").read_text().startswith("track ")
    assert (tmp_path / "sig.bed").read_text().count("track ") == 2


def test_methods_and_weights_run(pv_files, tmp_path, capsys):
    a, b, _, _ = pv_files
    res = {}
    for extra in (["--method", "fisher"], ["--method", "stouffer", "--stouffer-weights", "sqrt-cover"],
                  ["--es-weights", "pval"]):
        o = tmp_path / f"{extra[1]}.parquet"
        rc, _, err = _run(["-i", a, b, "-o", o, *extra], capsys)
        assert rc == 0, err
        res[extra[1]] = pd.read_parquet(o)
    assert not np.allclose(res["fisher"]["ref_pval"], res["stouffer"]["ref_pval"])
    assert json.loads(read_metadata(tmp_path / "stouffer.parquet")["params"])["stouffer_weights"] == "sqrt-cover"


def _assert_failed(rc, out, err, tmp_path, before, pattern):
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith("allelekit-combine: error: ")
    assert pattern in lines[-1], lines[-1]
    after = {p for p in tmp_path.rglob("*")}
    assert after == before, sorted(map(str, after - before))


@pytest.mark.parametrize("group,pattern", [
    ("g=S1,S9", "unknown sample(s) S9"),
    ("g=", "is empty"),
    ("bad name=S1", "group name"),
])
def test_bad_groups_fail_cleanly(pv_files, tmp_path, capsys, group, pattern):
    a, b, _, _ = pv_files
    before = set(tmp_path.rglob("*"))
    rc, out, err = _run(["-i", a, b, "-o", tmp_path / "c.parquet", "--report", tmp_path / "rep", "--group", group],
                        capsys)
    _assert_failed(rc, out, err, tmp_path, before, pattern)


def test_empty_group_file_and_repeated_group(pv_files, tmp_path, capsys):
    a, b, _, _ = pv_files
    empty = tmp_path / "empty.txt"
    empty.write_text("# nobody\n\n")
    before = set(tmp_path.rglob("*"))
    rc, out, err = _run(["-i", a, "-o", tmp_path / "c.parquet", "--group", f"e={empty}"], capsys)
    _assert_failed(rc, out, err, tmp_path, before, "is empty")
    rc, out, err = _run(["-i", a, "-o", tmp_path / "c.parquet", "--group", "x=S1", "--group", "x=S2"], capsys)
    _assert_failed(rc, out, err, tmp_path, before, "given twice")


def test_mixed_models_and_versions_fail(pv_files, tmp_path, capsys):
    a, _, pv, _ = pv_files
    other = pv[pv["sample"] == "S3"].assign(model="MCNB")
    m = tmp_path / "mcnb.parquet"
    sim.write_pvalues(other, m)
    v = tmp_path / "v2.parquet"
    sim.write_pvalues(pv[pv["sample"] == "S4"], v, version="9.9.9")
    s = tmp_path / "s11.parquet"
    sim.write_pvalues(pv[pv["sample"] == "S4"], s)
    t = pq.read_table(s)
    md = dict(t.schema.metadata)
    md[b"allelekit.schema"] = b"pvalues/1.1"
    pq.write_table(t.replace_schema_metadata(md), s)
    before = set(tmp_path.rglob("*"))
    for f, pattern in ((m, "different models"), (v, "allelekit versions"), (s, "schema versions")):
        rc, out, err = _run(["-i", a, f, "-o", tmp_path / "c.parquet", "--bed", tmp_path / "x.bed"], capsys)
        _assert_failed(rc, out, err, tmp_path, before, pattern)


def test_other_bad_inputs(pv_files, tmp_path, capsys):
    a, _, pv, _ = pv_files
    before = set(tmp_path.rglob("*"))
    rc, out, err = _run(["-i", a, a, "-o", tmp_path / "c.parquet"], capsys)
    _assert_failed(rc, out, err, tmp_path, before, "input given twice")
    rc, out, err = _run(["-i", tmp_path / "nope.parquet", "-o", tmp_path / "c.parquet"], capsys)
    _assert_failed(rc, out, err, tmp_path, before, "no such file")
    rc, out, err = _run(["-i", a, "-o", a], capsys)
    assert rc == 1 and "also an output" in err
    # a sample's observations given in two files
    dup = tmp_path / "dup.parquet"
    sim.write_pvalues(pv[pv["sample"] == "S1"], dup)
    before = set(tmp_path.rglob("*"))
    rc, out, err = _run(["-i", a, dup, "-o", tmp_path / "c.parquet"], capsys)
    _assert_failed(rc, out, err, tmp_path, before, "repeated observations")
    # a table of another schema
    rc, out, err = _run(["-i", a, "-o", tmp_path / "c.parquet"], capsys)
    assert rc == 0
    rc, out, err = _run(["-i", tmp_path / "c.parquet", "-o", tmp_path / "d.parquet"], capsys)
    assert rc == 1 and "schema combined/1.0, expected pvalues/1.0" in err


def test_usage_errors_exit_2(pv_files, tmp_path, capsys):
    a, _, _, _ = pv_files
    with pytest.raises(SystemExit) as e:
        main(["-i", str(a), "-o", str(tmp_path / "c.parquet"), "--fit", str(a)])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["-i", str(a), "-o", str(tmp_path / "c.parquet"), "--fdr", "1.5"])
    assert e.value.code == 2
    assert not (tmp_path / "c.parquet").exists()


def test_help_is_grouped_and_imports_nothing_heavy():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", "from allelekit.cli.combine import main; main(['--help'])"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    for s in ("Combination", "Tracks, summary and report", "--min-cover", "--report", "pvalues", "combined"):
        assert s in r.stdout
    mods = subprocess.run([sys.executable, "-c", "import sys, allelekit.cli.combine; "
                           "print(any(m in sys.modules for m in ('pandas', 'scipy', 'matplotlib')))"],
                          capture_output=True, text=True)
    assert mods.stdout.strip() == "False"
