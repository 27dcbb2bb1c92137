"""The pipeline's ``test`` profile as the module tests see it: which inputs each process gets.

:data:`TASKS` lists one representative task per process, with the inputs the workflows hand it under
``-profile test`` (demo data in demo/data, samplesheet assets/samplesheet_test.csv). File inputs are
named by where they come from: ``("param", "vcf")`` = the file of ``params.vcf``; ``("index", "vcf",
".tbi")`` = that file + ``.tbi``; ``("sheet", "S1", "bam")`` = a samplesheet column; ``("task",
"ALLELEKIT_COUNT:S1", "counts")`` = the output ``counts`` of an upstream task. :func:`render_test_profile`
renders all of them in one Groovy run (cached for the session).
"""
from __future__ import annotations

import csv
import functools
import tempfile
from pathlib import Path

import nfmodel

ROOT = nfmodel.ROOT
SAMPLESHEET = ROOT / "assets" / "samplesheet_test.csv"
CONFIGS = ["nextflow.config", "conf/test.config"]
CPUS = 1
BSLMM_GENES = ("geneA", "geneB")
BSLMM_FILES = {"vcf": "bslmm_genotypes.vcf.gz", "expression": "bslmm_expression.tsv", "annotation": "bslmm_tss.tsv"}


def samplesheet_rows(path: Path = SAMPLESHEET) -> list[dict]:
    """Rows of a samplesheet with paths resolved as the pipeline does (relative to the sheet's folder)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for col in ("bam", "bai"):
            v = (row.get(col) or "").strip()
            if v and not v.startswith("/") and "://" not in v:
                v = str((path.parent / v).resolve())
            row[col] = v
        if not row["bai"]:
            row["bai"] = row["bam"] + ".bai"
        row["group"] = (row.get("group") or "").strip() or "all"
    return rows


def _groups(rows: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["group"], []).append(r["sample"])
    return {g: sorted(s) for g, s in out.items()}


@functools.lru_cache(maxsize=None)
def tasks() -> dict[str, dict]:
    """Task id -> {module, process, meta, inputs}; inputs map each declared input name to sources.

    ``process`` is the name conf/modules.config selectors see (``CNN:ALLELEKIT_COUNT`` for the count
    inside the CNN workflow); :func:`simple` gives the module's process name.
    """
    rows = samplesheet_rows()
    samples = [r["sample"] for r in rows]
    groups = _groups(rows)
    vcf = {"meta2": {"id": "vcf"}, "vcf": ("param", "vcf"), "tbi": ("index", "vcf", ".tbi")}
    t: dict[str, dict] = {}
    for s in samples:
        t[f"ALLELEKIT_COUNT:{s}"] = dict(
            module="modules/local/allelekit/count/main.nf", process="ALLELEKIT_COUNT",
            meta={"id": s, "group": next(r["group"] for r in rows if r["sample"] == s)},
            inputs={"bam": ("sheet", s, "bam"), "bai": ("sheet", s, "bai"), **vcf,
                    "regions": ("param", "regions"), "bad": ("param", "bad")})
    t["ALLELEKIT_FIT:all"] = dict(
        module="modules/local/allelekit/fit/main.nf", process="ALLELEKIT_FIT", meta={"id": "all"},
        inputs={"counts": [("task", f"ALLELEKIT_COUNT:{s}", "counts") for s in samples]})
    for s in samples:
        t[f"ALLELEKIT_TEST:{s}"] = dict(
            module="modules/local/allelekit/test/main.nf", process="ALLELEKIT_TEST",
            meta=t[f"ALLELEKIT_COUNT:{s}"]["meta"],
            inputs={"counts": ("task", f"ALLELEKIT_COUNT:{s}", "counts"), "meta2": {"id": "all"},
                    "fit": ("task", "ALLELEKIT_FIT:all", "model_params")})
    for g, members in groups.items():
        t[f"ALLELEKIT_COMBINE:{g}"] = dict(
            module="modules/local/allelekit/combine/main.nf", process="ALLELEKIT_COMBINE",
            meta={"id": g, "samples": members},
            inputs={"pvalues": [("task", f"ALLELEKIT_TEST:{s}", "pvalues") for s in members],
                    "meta2": {"id": "all"}, "fit": ("task", "ALLELEKIT_FIT:all", "model_params")})
    # BSLMM: the demo has no expression data; tests/test_nextflow_run.py writes a small synthetic set
    # (files named BSLMM_FILES) and the test profile's bslmm_* params keep the sampler short
    t["ALLELEKIT_BSLMM:chunk_1"] = dict(
        module="modules/local/allelekit/bslmm/main.nf", process="ALLELEKIT_BSLMM", meta={"id": "chunk_1"},
        inputs={"genes": ("val", ",".join(BSLMM_GENES)), "meta2": {"id": "vcf"},
                "vcf": ("file", BSLMM_FILES["vcf"]), "tbi": ("file", BSLMM_FILES["vcf"] + ".tbi"),
                "expression": ("file", BSLMM_FILES["expression"]), "annotation": ("file", BSLMM_FILES["annotation"])})
    # PARQUET_CONCAT run on two count tables (any tables of one schema do)
    t["PARQUET_CONCAT:allele_counts"] = dict(
        module="modules/local/parquet/concat/main.nf", process="PARQUET_CONCAT", meta={"id": "allele_counts"},
        inputs={"tables": [("task", f"ALLELEKIT_COUNT:{s}", "counts", f"in{i + 1}/")
                           for i, s in enumerate(samples[:2])]})
    # --count_scatter contig, for the first sample: count on chr1 | chr2 chr3 (meta.contigs -> --contigs,
    # ext.prefix <sample>.part<i>), each table merged back by ALLELIC_IMBALANCE:PARQUET_CONCAT
    s = samples[0]
    pieces = [["chr1"], ["chr2", "chr3"]]
    for i, contigs in enumerate(pieces, 1):
        t[f"ALLELEKIT_COUNT:{s}.part{i}"] = dict(
            t[f"ALLELEKIT_COUNT:{s}"], prefix=f"{s}.part{i}",
            meta={**t[f"ALLELEKIT_COUNT:{s}"]["meta"], "contigs": contigs, "part": i, "parts": len(pieces)})
    for table in ("counts", "region_counts"):
        t[f"ALLELIC_IMBALANCE:PARQUET_CONCAT:{s}.{table}"] = dict(
            module="modules/local/parquet/concat/main.nf", process="ALLELIC_IMBALANCE:PARQUET_CONCAT",
            meta={**t[f"ALLELEKIT_COUNT:{s}"]["meta"], "table": table}, prefix=f"{s}.{table}",
            inputs={"tables": [("task", f"ALLELEKIT_COUNT:{s}.part{i}", table, f"in{i}/")
                               for i in range(1, len(pieces) + 1)]})
    # CNN, for the first sample: its own count (no BAD), dataset, model, attribution
    s = samples[0]
    t[f"CNN:ALLELEKIT_COUNT:{s}"] = dict(
        module="modules/local/allelekit/count/main.nf", process="CNN:ALLELEKIT_COUNT",
        meta=t[f"ALLELEKIT_COUNT:{s}"]["meta"],
        inputs={"bam": ("sheet", s, "bam"), "bai": ("sheet", s, "bai"), **vcf,
                "regions": ("param", "regions"), "bad": []})
    t[f"ALLELEKIT_CNN_DATASET:{s}"] = dict(
        module="modules/local/allelekit/cnn_dataset/main.nf", process="ALLELEKIT_CNN_DATASET",
        meta=t[f"ALLELEKIT_COUNT:{s}"]["meta"],
        inputs={"counts": ("task", f"CNN:ALLELEKIT_COUNT:{s}", "region_counts"),
                "meta2": {"id": "fasta"}, "fasta": ("param", "fasta"), "fai": ("index", "fasta", ".fai"),
                "meta3": {"id": "vcf"}, "vcf": ("param", "vcf"), "tbi": ("index", "vcf", ".tbi"),
                "regions": ("param", "regions")})
    t[f"ALLELEKIT_CNN_TRAIN:{s}"] = dict(
        module="modules/local/allelekit/cnn_train/main.nf", process="ALLELEKIT_CNN_TRAIN",
        meta=t[f"ALLELEKIT_COUNT:{s}"]["meta"],
        inputs={"dataset": ("task", f"ALLELEKIT_CNN_DATASET:{s}", "dataset")})
    t[f"ALLELEKIT_CNN_ATTRIBUTE:{s}"] = dict(
        module="modules/local/allelekit/cnn_attribute/main.nf", process="ALLELEKIT_CNN_ATTRIBUTE",
        meta=t[f"ALLELEKIT_COUNT:{s}"]["meta"],
        inputs={"model": ("task", f"ALLELEKIT_CNN_TRAIN:{s}", "model"),
                "dataset": ("task", f"ALLELEKIT_CNN_DATASET:{s}", "dataset")})
    return t


def simple(process: str) -> str:
    return process.split(":")[-1]


def staged_name(source, params: dict | None, outputs: dict | None = None):
    """The file name a task sees for an input source (Nextflow stages inputs under their own names)."""
    kind = source[0]
    if kind in ("param", "index") and params is None:  # resolved by render.groovy from the config
        return {"__param__": source[1], "suffix": source[2] if kind == "index" else ""}
    if kind == "param":
        return Path(params[source[1]]).name
    if kind == "index":
        return Path(params[source[1]]).name + source[2]
    if kind == "sheet":
        row = next(r for r in samplesheet_rows() if r["sample"] == source[1])
        return Path(row[source[2]]).name
    if kind in ("file", "val"):
        return source[1]
    if kind == "task":
        prefix = source[3] if len(source) > 3 else ""
        if outputs is None:  # before the upstream ran: its declared output with * = the task's meta.id
            return prefix + expected_output(source[1], source[2])
        return prefix + Path(outputs[source[1]][source[2]]).name
    raise ValueError(source)


def expected_output(task_id: str, emit: str) -> str:
    """The file name a task's output ``emit`` gets: its declared pattern with ``*`` = the task's ext.prefix
    (``prefix``, default meta.id); tests/test_nextflow_run.py checks the real outputs carry these names."""
    task = tasks()[task_id]
    module = nfmodel.parse_module(ROOT / task["module"])
    out = next(o for o in module.outputs if o.emit == emit)
    pattern = next(n for q, n in out.elements if q == "path")
    return pattern.replace("*", task.get("prefix", task["meta"]["id"]))


def source_path(source, params: dict, outputs: dict) -> Path:
    kind = source[0]
    if kind == "param":
        return Path(params[source[1]])
    if kind == "index":
        return Path(params[source[1]] + source[2])
    if kind == "sheet":
        return Path(next(r for r in samplesheet_rows() if r["sample"] == source[1])[source[2]])
    if kind == "task":
        return Path(outputs[source[1]][source[2]])
    raise ValueError(f"no file for {source}")


def bindings(task: dict, params: dict | None, outputs: dict | None = None) -> dict:
    """Groovy bindings of a task's inputs: val inputs as values, path inputs as staged names."""
    out = {}
    for name, src in task["inputs"].items():
        if isinstance(src, dict):
            out[name] = src
        elif src == []:  # an absent optional file input
            out[name] = []
        elif isinstance(src, list):
            out[name] = [staged_name(s, params, outputs) for s in src]
        else:
            out[name] = staged_name(src, params, outputs)
    return out


@functools.lru_cache(maxsize=None)
def render_test_profile() -> dict:
    """Render every task of :func:`tasks` under the test profile (one JVM; cached)."""
    # Names of upstream outputs follow the modules' prefix convention (checked after the real runs).
    reqs = [dict(id=tid, module=t["module"], process=t["process"], meta=t["meta"], cpus=CPUS,
                 inputs=bindings(t, None)) for tid, t in tasks().items()]
    with tempfile.TemporaryDirectory(prefix="allelekit-nf-render-") as tmp:
        return nfmodel.render(reqs, CONFIGS, workdir=Path(tmp))
