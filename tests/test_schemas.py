"""Parquet schemas: round trip, provenance, validation messages, atomic writes."""
from __future__ import annotations

import json
import re
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from allelekit import __version__, schemas
from allelekit.atomic import AtomicOutputs, atomic_path
from allelekit.errors import SchemaError

ROOT = Path(__file__).resolve().parents[1]


def _counts_frame(n=3):
    return pd.DataFrame({
        "sample": ["S1"] * n, "chrom": ["chr1"] * n, "pos": [100 + i for i in range(n)],
        "ref": ["A"] * n, "alt": ["G"] * n, "variant_id": [None] + ["rs1"] * (n - 1),
        "gt": ["0|1"] * n, "phased": [True] * n,
        "ref_count": [10, 0, 3_000_000_000][:n], "alt_count": [5, 7, 2][:n], "other_count": [0] * n,
        "del_count": [0] * n, "region": ["peak1", None, "peak2"][:n], "bad": [1.0] * n,
    })


def test_every_schema_is_well_formed():
    required = {"allele_counts", "region_counts", "model_params", "pvalues", "combined", "bslmm_weights",
                "bslmm_hyper", "bslmm_trace", "bslmm_predictions", "cnn_dataset", "cnn_attributions"}
    assert required <= set(schemas.SCHEMAS)
    for s in schemas.SCHEMAS.values():
        names = [c.name for c in s.columns]
        assert len(names) == len(set(names)), s.name
        assert all(n == n.lower() and " " not in n for n in names), s.name
        assert all(c.doc for c in s.columns), s.name
        assplit = s.version.split(".")
        assert len(assplit) == 2 and all(p.isdigit() for p in assplit), s.name
        assert set(s.sort_by) <= set(names), s.name
        s.arrow_schema()


def test_round_trip_with_provenance(tmp_path):
    out = tmp_path / "counts.parquet"
    df = _counts_frame()
    schemas.write_table(df, out, "allele_counts", tool="allelekit-count",
                        params={"min_mapq": 1, "path": Path("/x")}, inputs=["a.bam", Path("b.vcf.gz")])
    table = schemas.read_table(out, "allele_counts")
    assert table.schema.field("ref_count").type == pa.int64()  # >32-bit counts survive
    back = table.to_pandas()
    assert back["ref_count"].tolist() == [10, 0, 3_000_000_000]
    assert back["region"].isna().tolist() == [False, True, False]
    meta = schemas.read_metadata(out)
    assert meta["schema"] == "allele_counts/1.0"
    assert meta["tool"] == "allelekit-count"
    assert meta["version"] == __version__
    assert json.loads(meta["params"]) == {"min_mapq": 1, "path": "/x"}
    assert json.loads(meta["inputs"]) == ["a.bam", "b.vcf.gz"]
    assert list(os.listdir(tmp_path)) == ["counts.parquet"]  # no temporary left behind


def test_narrower_types_are_accepted_and_widened(tmp_path):
    df = _counts_frame()
    df["ref_count"] = df["ref_count"].clip(upper=100).astype("int32")
    df["pos"] = df["pos"].astype("uint32")
    out = tmp_path / "c.parquet"
    schemas.write_table(df, out, "allele_counts", tool="t")
    assert pq.read_schema(out).field("pos").type == pa.int64()


def test_missing_and_mistyped_columns_are_named(tmp_path):
    df = _counts_frame().drop(columns=["alt_count", "bad"])
    df["pos"] = df["pos"].astype(str)
    with pytest.raises(SchemaError) as exc:
        schemas.write_table(df, tmp_path / "x.parquet", "allele_counts", tool="t")
    msg = str(exc.value)
    assert "allele_counts/1.0" in msg
    assert "missing column(s) alt_count, bad" in msg
    assert re.search(r"pos \((large_)?string, expected int64\)", msg)
    assert not any(tmp_path.iterdir()), "a failed validation must not leave a file"


def test_reader_names_file_columns_and_version(tmp_path):
    bad = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"chrom": ["chr1"], "pos": [1.5]}), bad)
    with pytest.raises(SchemaError) as exc:
        schemas.read_table(bad, "allele_counts")
    msg = str(exc.value)
    assert str(bad) in msg and "allele_counts/1.0" in msg and "sample" in msg and "pos (double, expected int64)" in msg


def test_null_in_non_nullable_column_is_rejected(tmp_path):
    df = _counts_frame()
    df.loc[1, "sample"] = None
    with pytest.raises(SchemaError, match="column sample .* 1 null"):
        schemas.write_table(df, tmp_path / "x.parquet", "allele_counts", tool="t")


def test_unknown_major_version_and_wrong_schema_refused(tmp_path):
    out = tmp_path / "c.parquet"
    schemas.write_table(_counts_frame(), out, "allele_counts", tool="t")
    table = pq.read_table(out)
    meta = dict(table.schema.metadata)
    meta[b"allelekit.schema"] = b"allele_counts/2.0"
    pq.write_table(table.replace_schema_metadata(meta), out)
    with pytest.raises(SchemaError, match="schema version 2.0 of allele_counts is not supported"):
        schemas.read_table(out, "allele_counts")
    meta[b"allelekit.schema"] = b"allele_counts/1.7"  # newer minor: readable
    pq.write_table(table.replace_schema_metadata(meta), out)
    assert schemas.read_table(out, "allele_counts").num_rows == 3
    with pytest.raises(SchemaError, match="is a table of schema allele_counts/1.7, expected pvalues/1.0"):
        schemas.read_table(out, "pvalues")


def test_not_parquet_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_text("chrom\tpos\n")
    with pytest.raises(SchemaError, match="junk.parquet: not a readable Parquet file"):
        schemas.read_table(junk, "allele_counts")
    with pytest.raises(SchemaError, match="no such file"):
        schemas.read_table(tmp_path / "absent.parquet", "allele_counts")


def test_failed_write_keeps_previous_result(tmp_path, monkeypatch):
    out = tmp_path / "c.parquet"
    schemas.write_table(_counts_frame(), out, "allele_counts", tool="t")
    good = out.read_bytes()

    def boom(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        schemas.write_table(_counts_frame(2), out, "allele_counts", tool="t")
    assert out.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["c.parquet"]


def test_atomic_outputs_commit_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "sub" / "b.tsv"
    with pytest.raises(RuntimeError):
        with AtomicOutputs() as out:
            out.path(a).write_text("x")
            out.path(b).write_text("y")
            raise RuntimeError("late failure")
    assert not a.exists() and not b.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    with AtomicOutputs() as out:
        out.path(a).write_text("x")
        d = out.path(tmp_path / "plots", is_dir=True)
        (d / "p.png").write_bytes(b"png")
    assert a.read_text() == "x" and (tmp_path / "plots" / "p.png").exists()
    assert oct(a.stat().st_mode & 0o777) != oct(0o600)
    with atomic_path(tmp_path / "plots", is_dir=True) as d2:  # replacing a directory
        (d2 / "q.png").write_bytes(b"q")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["q.png"]


def test_docs_schemas_md_is_current():
    doc = ROOT / "docs" / "schemas.md"
    assert doc.read_text() == schemas.schema_markdown(), "regenerate: python -m allelekit.schemas > docs/schemas.md"


@pytest.mark.parametrize("values,typ", [
    (["a", None, "ccc", "", "é"], pa.string()),
    ([], pa.string()),
    ([None, None], pa.string()),
    ([True, False, True, True, False, False, False, False, True, True], pa.bool_()),
    ([1, -2, 3 << 40], pa.int64()),
    ([1.5, float("nan"), -0.0], pa.float64()),
])
def test_arrow_column_equals_pa_array(values, typ):
    """The buffer-built columns (allelekit-count avoids pa.array, which imports pandas) equal pa.array's."""
    import numpy as np

    arg = values if pa.types.is_string(typ) else np.array(values, dtype=typ.to_pandas_dtype())
    got = schemas.arrow_column(arg, typ)
    got.validate(full=True)
    assert got.type == typ and got.null_count == sum(v is None for v in values)
    assert got.equals(pa.array(values, typ)) or (typ == pa.float64() and
                                                 np.array_equal(got.to_numpy(), np.array(values), equal_nan=True))


def test_count_command_does_not_import_pandas(tmp_path):
    """Start-up cost is part of allelekit-count's benchmark: the module chain it uses must not pull in pandas."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, pyarrow as pa\n"
            "from allelekit.schemas import arrow_column\n"
            "import allelekit.counting.api, allelekit.cli.count\n"
            "arrow_column(np.arange(3), pa.int64()); arrow_column(['x', None], pa.string())\n"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
