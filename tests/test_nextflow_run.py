"""Each module's script, rendered as under ``-profile test``, runs the real command on the demo data.

tests/nf/render.groovy renders every task's ``script:`` (Groovy 4: ``task.ext.args`` from
conf/modules.config with the test profile's params, inputs bound to their staged names). Here each task
gets a work folder with its inputs symlinked under those names (upstream outputs included), runs
``bash -euo pipefail`` on the script with the pipeline's ``bin/`` first on PATH (as Nextflow does), and
must exit 0 and leave every declared output, readable with the schema it claims. No channels or
scheduling are reimplemented: the test walks one representative task per step, in data-flow order.

"""
from __future__ import annotations

import concurrent.futures as cf
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "nf"))
import nfmodel  # noqa: E402
import testprofile  # noqa: E402


ROOT = nfmodel.ROOT
MODULES = {m.name: m for m in map(nfmodel.parse_module, nfmodel.module_files())}
TASKS = testprofile.tasks()
pytestmark = [pytest.mark.slow,  # about 2 minutes on 2 busy cores: the real commands on the demo data
              pytest.mark.skipif(not nfmodel.groovy_available(),
                                 reason="java or node_modules/npm-groovy-lint (Groovy 4 jar) missing")]


def module_of(task_id: str) -> nfmodel.Module:
    return MODULES[testprofile.simple(TASKS[task_id]["process"])]


def upstream(task_id: str) -> list[str]:
    out = []
    for src in TASKS[task_id]["inputs"].values():
        for s in (src if isinstance(src, list) else [src]):
            if isinstance(s, tuple) and s[0] == "task" and s[1] not in out:
                out.append(s[1])
    return out


def commands_needed(task_id: str) -> set[str]:
    cmds = {module_of(task_id).command} - {None}
    for up in upstream(task_id):
        cmds |= commands_needed(up)
    return cmds


def step(*task_ids: str):
    """pytest param for a step."""
    return pytest.param(task_ids, id=task_ids[0].split(":")[0] if len(task_ids) > 1 else task_ids[0])


class Runner:
    """Runs tasks once each (upstream first) in folders under ``base``; remembers their outputs."""

    def __init__(self, base: Path, files: dict[str, Path]):
        self.base = base
        self.files = files  # ("file", name) inputs: synthetic data the demo lacks
        self.rendered = testprofile.render_test_profile()
        self.params = self.rendered["_params"]
        self.outputs: dict[str, dict[str, Path]] = {}
        self.errors: dict[str, str] = {}

    def env(self) -> dict:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(ROOT / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
        env.setdefault("MPLBACKEND", "Agg")
        return env

    def run(self, *task_ids: str) -> None:
        todo = [t for t in task_ids if t not in self.outputs]
        for t in todo:
            for up in upstream(t):
                self.run(up)
        with cf.ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(self._run_one, todo))
        for t in task_ids:
            if t in self.errors:
                raise AssertionError(f"{t}: {self.errors[t]}")

    def _run_one(self, task_id: str) -> None:
        if task_id in self.outputs or task_id in self.errors:
            return
        for up in upstream(task_id):
            if up in self.errors:
                self.errors[task_id] = f"upstream {up} failed"
                return
        task, module = TASKS[task_id], module_of(task_id)
        work = self.base / task_id.replace(":", "_")
        work.mkdir(parents=True)
        # stage inputs under the names the script was rendered with
        for name, src in task["inputs"].items():
            for s in (src if isinstance(src, list) else [src]):
                if not isinstance(s, tuple) or s[0] == "val":
                    continue
                staged = testprofile.staged_name(s, self.params, None)
                target = (self.files[s[1]] if s[0] == "file"
                          else testprofile.source_path(s, self.params, self.outputs))
                if s[0] == "task":
                    actual = (s[3] if len(s) > 3 else "") + target.name
                    assert actual == staged, f"{s[1]} wrote {target.name}, its declaration says {staged}"
                dest = work / staged
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.symlink_to(target.resolve())
        script = self.rendered[task_id]["script"]
        (work / ".command.sh").write_text(script)
        proc = subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=work, env=self.env(),
                              capture_output=True, text=True, timeout=900)
        (work / ".command.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            self.errors[task_id] = f"exit {proc.returncode}\n{script}\n{proc.stderr[-3000:]}"
            return
        found: dict[str, Path] = {}
        for o in module.outputs:
            for q, pattern in o.elements:
                if q != "path":
                    continue
                hits = sorted(work.glob(pattern))
                if not hits and not o.optional:
                    self.errors[task_id] = f"declared output {o.emit} ({pattern}) not written\n{proc.stderr[-2000:]}"
                    return
                if hits:
                    assert len(hits) == 1, (task_id, pattern, hits)
                    found[o.emit] = hits[0]
        self.outputs[task_id] = found


def write_bslmm_inputs(folder: Path) -> dict[str, Path]:
    """Synthetic BSLMM input (the demo has no expression data): 40 samples, 30 SNVs on chr1, geneA driven
    by one SNV in its cis window, geneB noise; a bgzipped + indexed VCF, expression TSV, TSS TSV."""
    import numpy as np
    import pysam

    rng = np.random.default_rng(7)
    n, m = 40, 30
    samples = [f"I{i:02d}" for i in range(n)]
    pos = 10_000 + 500 * np.arange(m)
    geno = rng.binomial(1, 0.4, size=(2, m, n))
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=100000>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    for j in range(m):
        gts = [f"{geno[0, j, i]}|{geno[1, j, i]}" for i in range(n)]
        lines.append("\t".join(["chr1", str(pos[j]), f"rs{j}", "A", "G", ".", "PASS", ".", "GT", *gts]))
    vcf = folder / testprofile.BSLMM_FILES["vcf"][: -len(".gz")]
    vcf.write_text("\n".join(lines) + "\n")
    gz = pysam.tabix_index(str(vcf), preset="vcf", force=True)
    dosage = geno.sum(axis=0)
    expr = {"geneA": 0.9 * dosage[5] + rng.normal(0, 0.5, n), "geneB": rng.normal(0, 1, n)}
    (folder / testprofile.BSLMM_FILES["expression"]).write_text(
        "\t".join(["gene_id", *samples]) + "\n"
        + "".join("\t".join([g, *(f"{v:.4f}" for v in x)]) + "\n" for g, x in expr.items()))
    (folder / testprofile.BSLMM_FILES["annotation"]).write_text(
        "gene_id\tchrom\ttss\tstrand\ngeneA\tchr1\t12000\t+\ngeneB\tchr1\t20000\t-\n")
    files = {name: folder / name for name in testprofile.BSLMM_FILES.values()}
    files[testprofile.BSLMM_FILES["vcf"] + ".tbi"] = Path(gz + ".tbi")
    assert Path(gz) == files[testprofile.BSLMM_FILES["vcf"]] and all(p.exists() for p in files.values())
    return files


@pytest.fixture(scope="module")
def runner(tmp_path_factory, demo_dir):
    files = write_bslmm_inputs(tmp_path_factory.mktemp("bslmm-inputs"))
    return Runner(tmp_path_factory.mktemp("nextflow-tasks"), files)


def read(path: Path, schema: str):
    from allelekit.schemas import read_table
    return read_table(path, schema, require_metadata=True).to_pandas()


COUNT_TASKS = tuple(t for t in TASKS if TASKS[t]["process"].endswith("ALLELEKIT_COUNT")
                    and "contigs" not in TASKS[t]["meta"])
SCATTER_TASKS = tuple(t for t in TASKS if t.startswith("ALLELIC_IMBALANCE:PARQUET_CONCAT:"))


@pytest.mark.parametrize("tasks", [step(*COUNT_TASKS)])
def test_count(runner, tasks):
    runner.run(*tasks)
    for t in tasks:
        out = runner.outputs[t]
        counts = read(out["counts"], "allele_counts")
        assert len(counts) > 100 and set(counts["sample"]) == {TASKS[t]["meta"]["id"]}
        regions = read(out["region_counts"], "region_counts")  # the test profile has --regions
        assert len(regions) > 0
    # the BAD file reaches the allelic-imbalance count only (CNN's count gets [] for it)
    s = TASKS[COUNT_TASKS[0]]["meta"]["id"]
    with_bad = read(runner.outputs[f"ALLELEKIT_COUNT:{s}"]["counts"], "allele_counts")
    without = read(runner.outputs[f"CNN:ALLELEKIT_COUNT:{s}"]["counts"], "allele_counts")
    assert (with_bad["bad"] != 1).any() and (without["bad"] == 1).all()


def test_parquet_concat(runner):
    tid = "PARQUET_CONCAT:allele_counts"
    runner.run(tid)
    parts = [runner.outputs[s[1]]["counts"] for s in TASKS[tid]["inputs"]["tables"]]
    merged = read(runner.outputs[tid]["table"], "allele_counts")
    assert len(merged) == sum(len(read(p, "allele_counts")) for p in parts)
    assert list(merged["sample"].unique()) == sorted(merged["sample"].unique())


@pytest.mark.parametrize("tasks", [step(*SCATTER_TASKS)])
def test_count_scattered_by_contig_equals_one_task(runner, tasks):
    """--count_scatter contig: count on chr1 and on chr2 chr3 (--contigs from meta.contigs), concatenated
    per table by PARQUET_CONCAT, gives the rows of the single task, in the same order."""
    runner.run(*tasks)
    s = TASKS[tasks[0]]["meta"]["id"]
    for t in tasks:
        table = TASKS[t]["meta"]["table"]
        schema = "allele_counts" if table == "counts" else "region_counts"
        merged = read(runner.outputs[t]["table"], schema)
        assert runner.outputs[t]["table"].name == f"{s}.{table}.parquet"  # the name of the unscattered output
        single = read(runner.outputs[f"ALLELEKIT_COUNT:{s}"][table], schema)
        for i, part in enumerate(TASKS[t]["inputs"]["tables"], 1):
            piece = read(runner.outputs[part[1]][table], schema)
            contigs = set(TASKS[part[1]]["meta"]["contigs"])
            assert len(piece) > 0 and set(piece["chrom"]) <= contigs, (part[1], set(piece["chrom"]))
        assert set(merged["chrom"]) == set(single["chrom"]) == {"chr1", "chr2", "chr3"}
        pd = pytest.importorskip("pandas")
        pd.testing.assert_frame_equal(merged.reset_index(drop=True), single.reset_index(drop=True))


@pytest.mark.parametrize("tasks", [step("ALLELEKIT_FIT:all")])
def test_fit(runner, tasks):
    runner.run(*tasks)
    fit = read(runner.outputs["ALLELEKIT_FIT:all"]["model_params"], "model_params")
    assert len(fit) > 0 and set(fit["model"]) == {runner.params["fit_model"]}


@pytest.mark.parametrize("tasks", [step(*(t for t in TASKS if t.startswith("ALLELEKIT_TEST:")))])
def test_test(runner, tasks):
    runner.run(*tasks)
    for t in tasks:
        pv = read(runner.outputs[t]["pvalues"], "pvalues")
        assert len(pv) > 0 and pv["ref_pval"].between(0, 1).all()


@pytest.mark.parametrize("tasks", [step(*(t for t in TASKS if t.startswith("ALLELEKIT_COMBINE:")))])
def test_combine(runner, tasks):
    runner.run(*tasks)
    for t in tasks:
        out = runner.outputs[t]
        combined = read(out["combined"], "combined")
        assert set(combined["group"]) == {TASKS[t]["meta"]["id"]}
        assert out["bed"].exists() and (out["report"] / "index.html").exists()


@pytest.mark.parametrize("tasks", [step("ALLELEKIT_BSLMM:chunk_1")])
def test_bslmm(runner, tasks):
    runner.run(*tasks)
    out = runner.outputs[tasks[0]]
    hyper = read(out["hyper"], "bslmm_hyper")
    assert sorted(hyper["gene"]) == sorted(testprofile.BSLMM_GENES)
    weights = read(out["weights"], "bslmm_weights")
    assert set(weights["gene"]) <= set(testprofile.BSLMM_GENES) and len(weights) > 0
    assert "predictions" in out  # the test profile asks for cross-validation folds


@pytest.mark.parametrize("tasks", [step(*(t for t in TASKS if t.startswith("ALLELEKIT_CNN_")))])
def test_cnn(runner, tasks):
    runner.run(*tasks)
    s = TASKS[tasks[0]]["meta"]["id"]
    dataset = read(runner.outputs[f"ALLELEKIT_CNN_DATASET:{s}"]["dataset"], "cnn_dataset")
    assert len(dataset) > 0
    metrics = read(runner.outputs[f"ALLELEKIT_CNN_TRAIN:{s}"]["metrics"], "cnn_metrics")
    assert metrics["epoch"].max() <= int(runner.params["cnn_epochs"])
    assert (runner.outputs[f"ALLELEKIT_CNN_ATTRIBUTE:{s}"]["results"] / "summary.json").exists()
