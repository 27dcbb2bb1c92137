"""Contract between the Nextflow modules and the real allelekit commands (read from their parsers).

* Every command of ``allelekit.cli.COMMANDS`` has a module, and every allelekit module runs one command.
* Every ``--flag`` a module script can pass, and every flag ``conf/modules.config`` adds through
  ``ext.args``, is an option of that command's argparse parser (``build_parser()``); each params
  value reaching a flag is accepted by the option (type, choices) and documented in the schema.
* The script rendered under ``-profile test`` (tests/nf/render.groovy, Groovy 4) parses with the
  command's parser as it stands: required options present, nargs and choices right.
* ``meta.yml`` matches ``main.nf`` (inputs, outputs, emit names, versions topic); nf-core conventions
  (tag, label known to base.config, conda environment file, container, when, ``--threads ${task.cpus}``,
  versions from ``--version``); each ``stub:`` run creates every declared output.
* ``nextflow.config`` params == ``nextflow_schema.json`` (names, defaults, types); the samplesheet schema
  accepts the test samplesheet and rejects bad rows; retries only on exit codes 130-145.

Every command is built (tests/test_foundation.py::test_no_command_is_a_stub), so every module is checked
strictly.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "nf"))
import nfmodel  # noqa: E402
import testprofile  # noqa: E402

from allelekit import __version__  # noqa: E402
from allelekit.cli import COMMANDS  # noqa: E402

ROOT = nfmodel.ROOT
MODULES = {m.name: m for m in map(nfmodel.parse_module, nfmodel.module_files())}
ALLELEKIT_MODULES = {n: m for n, m in MODULES.items() if m.command}
needs_groovy = pytest.mark.skipif(not nfmodel.groovy_available(),
                                  reason="java or node_modules/npm-groovy-lint (Groovy 4 jar) missing")


def parser_of(command: str) -> argparse.ArgumentParser:
    return importlib.import_module(COMMANDS[command]).build_parser()


def options_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {opt: a for a in parser._actions for opt in a.option_strings}


def by_command(names):
    """pytest params over module names."""
    out = []
    for name in names:
        out.append(pytest.param(name, id=name))
    return out


def tasks_by_command():
    out = []
    for tid, t in testprofile.tasks().items():
        cmd = MODULES[testprofile.simple(t["process"])].command
        if cmd is None:
            continue
        out.append(pytest.param(tid, id=tid))
    return out


# --- modules <-> commands -------------------------------------------------------------------------
def test_every_command_has_a_module_and_every_module_a_command():
    assert set(COMMANDS) == {m.command for m in ALLELEKIT_MODULES.values()}
    for name, m in ALLELEKIT_MODULES.items():
        # directory modules/local/allelekit/<sub> <-> process ALLELEKIT_<SUB>
        rel = m.path.parent.relative_to(ROOT / "modules" / "local").as_posix()
        assert name == rel.replace("/", "_").upper()
        assert m.command in COMMANDS
    # bin/ shims exist for every command (Nextflow puts bin/ on PATH in every task)
    for cmd in COMMANDS:
        shim = ROOT / "bin" / cmd
        assert shim.exists() and os.access(shim, os.X_OK), shim


SCRIPT_FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
def modules_config_blocks() -> dict[str, str]:
    """withName selector -> the text of its block in conf/modules.config."""
    text = (ROOT / "conf" / "modules.config").read_text()
    blocks = dict(re.findall(r"withName:\s*'([^']+)'\s*\{(.*?)\n    \}", text, flags=re.S))
    assert blocks, "no withName blocks found in conf/modules.config"
    return blocks


def qualified_process_names() -> set[str]:
    """PROCESS and WORKFLOW:PROCESS for every process a workflow calls."""
    names = set(MODULES)
    for wf in (ROOT / "workflows").glob("*.nf"):
        text = wf.read_text()
        (workflow,) = re.findall(r"^workflow\s+([A-Z_]+)\s*\{", text, flags=re.M)
        for proc in re.findall(r"include\s*\{\s*([A-Z][A-Z0-9_]*)\s*\}", text):
            names.add(f"{workflow}:{proc}")
    return names


def test_modules_config_selectors_match_processes():
    names = qualified_process_names()
    for selector in modules_config_blocks():
        assert any(re.fullmatch(selector, p) for p in names), f"withName '{selector}' matches no process"


def ext_args_flags(process: str) -> list[tuple[str, str | None]]:
    """(flag, params name or None) for every flag the ext.args of ``process`` can add."""
    out = []
    forms = [q for q in qualified_process_names() if q.split(":")[-1] == process]
    for selector, block in modules_config_blocks().items():
        if not any(re.fullmatch(selector, q) for q in forms):
            continue
        for m in re.finditer(r"ext\.args\s*=\s*\{(.*?)\}\s*$", block, flags=re.S | re.M):
            for flag, param in re.findall(r"(--[a-z][a-z0-9-]*)(?:[ =]\$\{params\.([A-Za-z_0-9]+)\})?", m.group(1)):
                out.append((flag, param or None))
    return out


@pytest.fixture(scope="module")
def rendered():
    if not nfmodel.groovy_available():
        pytest.skip("java or node_modules/npm-groovy-lint (Groovy 4 jar) missing")
    return testprofile.render_test_profile()


def schema_params() -> dict[str, dict]:
    schema = json.loads((ROOT / "nextflow_schema.json").read_text())
    out = {}
    for group in schema["$defs"].values():
        out.update(group["properties"])
    return out


@pytest.mark.parametrize("name", by_command(sorted(ALLELEKIT_MODULES)))
def test_every_flag_a_module_can_pass_exists_in_the_parser(name, rendered):
    """Flags written in the script (all branches) and added by conf/modules.config; params reaching them."""
    m = MODULES[name]
    opts = options_of(parser_of(m.command))
    flags = set(SCRIPT_FLAG_RE.findall(m.script))
    assert "--threads ${task.cpus}" in m.script and "${args}" in m.script
    missing = sorted(f for f in flags if f not in opts)
    assert not missing, f"{name}: {m.command} has no option {missing}"
    params = rendered["_params_by_file"]["nextflow.config"]
    schema = schema_params()
    for flag, param in ext_args_flags(name):
        assert flag in opts, f"conf/modules.config gives {name} {flag}, which {m.command} does not have"
        if param is None:
            continue
        assert param in params and param in schema, f"params.{param} undeclared"
        action = opts[flag]
        values = schema[param].get("enum") or [params[param]]
        for v in values:
            if action.choices is not None:
                assert str(v) in action.choices, f"params.{param}={v!r} not a choice of {m.command} {flag}"
            if action.type is not None and v is not None:
                action.type(str(v))  # raises when the option would refuse the value


def command_argv(script: str, command: str) -> list[str]:
    """The arguments of ``command`` in a rendered bash script (continuations joined)."""
    joined = script.replace("\\\n", " ")
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == command:
            for i, w in enumerate(words):
                if w in ("|", "&&", ";", "||", ">", "2>"):
                    return words[1:i]
            return words[1:]
    raise AssertionError(f"{command} not found in the script:\n{script}")


@pytest.mark.parametrize("task_id", tasks_by_command())
def test_rendered_test_profile_command_parses(task_id, rendered):
    task = testprofile.tasks()[task_id]
    cmd = MODULES[testprofile.simple(task["process"])].command
    argv = command_argv(rendered[task_id]["script"], cmd)
    parser = parser_of(cmd)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            ns = parser.parse_args(argv)
        except SystemExit as exc:
            raise AssertionError(f"{cmd} {' '.join(argv)}\n{err.getvalue()}") from exc
    assert ns.threads == testprofile.CPUS


def test_test_profile_points_at_demo_data(rendered):
    p = rendered["_params"]
    for key in ("input", "vcf", "fasta", "regions", "bad"):
        assert Path(p[key]).exists(), f"test profile: params.{key} = {p[key]} does not exist"
    assert Path(p["vcf"] + ".tbi").exists() and Path(p["fasta"] + ".fai").exists()
    assert Path(p["input"]).resolve() == testprofile.SAMPLESHEET.resolve()
    test_cfg = (ROOT / "conf" / "test.config").read_text()
    assert re.search(r"resourceLimits\s*=\s*\[", test_cfg)


# --- meta.yml <-> main.nf -------------------------------------------------------------------------
def _names(items) -> list[str]:
    """Element names of a meta.yml channel entry (a list of one-key maps, or one map)."""
    items = items if isinstance(items, list) else [items]
    return [next(iter(i)) for i in items]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_meta_yml_matches_main_nf(name):
    m = MODULES[name]
    meta = yaml.safe_load((m.path.parent / "meta.yml").read_text())
    assert meta["name"] == name.lower()
    assert meta["description"] and meta["keywords"] and meta["tools"] and meta["authors"]
    # inputs: one entry per input channel, element names in order
    assert [_names(ch) for ch in meta["input"]] == [[n for _, n in chan] for chan in m.inputs]
    for ch in meta["input"]:
        for item in (ch if isinstance(ch, list) else [ch]):
            (n, d), = item.items()
            assert d.get("type") in ("map", "file", "string", "directory", "integer", "boolean"), (n, d)
            assert d.get("description")
    # outputs: same emit names, same elements, in order
    assert list(meta["output"]) == [o.emit for o in m.outputs]
    for o in m.outputs:
        (entry,) = meta["output"][o.emit]
        assert _names(entry) == [n for _, n in o.elements]
        for item, (q, n) in zip(entry, o.elements):
            d = item[n]
            if q == "path":
                assert d["type"] in ("file", "directory") and d["pattern"] == n
            elif q == "eval":
                assert d["type"] == "eval"
    # versions topic
    topics = [o for o in m.outputs if o.topic == "versions"]
    assert len(topics) == 1
    assert [_names(e) for e in meta["topics"]["versions"]] == [[n for _, n in topics[0].elements]]


# --- conventions ------------------------------------------------------------------------------------
def base_config_labels() -> set[str]:
    return set(re.findall(r"withLabel:\s*'?([A-Za-z_]+)'?", (ROOT / "conf" / "base.config").read_text()))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_follows_nf_core_conventions(name):
    m = MODULES[name]
    text = m.path.read_text()
    assert m.directives["tag"] == '"${meta.id}"'
    label = re.fullmatch(r"'([a-z_]+)'", m.directives["label"]).group(1)
    assert label in base_config_labels()
    assert m.directives["conda"] == '"${moduleDir}/environment.yml"'
    env = yaml.safe_load((m.path.parent / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge", "bioconda"] and any("python=3.11" in str(d) for d in env["dependencies"])
    assert "workflow.containerEngine in ['singularity', 'apptainer']" in text
    assert "task.ext.when == null || task.ext.when" in m.sections["when"]
    assert m.inputs and all(chan[0] == ("val", "meta") for chan in m.inputs[:1])
    for o in m.outputs:
        if o.topic:
            continue
        assert o.elements[0] == ("val", "meta"), f"{name}: output {o.emit} without meta"
    versions = [o for o in m.outputs if o.topic == "versions"]
    assert len(versions) == 1 and versions[0].elements[0] == ("val", "${task.process}")
    assert m.stub.strip(), f"{name}: no stub"


def _task_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(ROOT / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@pytest.mark.parametrize("name", sorted(ALLELEKIT_MODULES))
def test_versions_eval_prints_the_package_version(name):
    m = MODULES[name]
    (expr,) = [n for o in m.outputs if o.topic == "versions" for q, n in o.elements if q == "eval"]
    out = subprocess.run(["bash", "-c", expr], capture_output=True, text=True, env=_task_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == __version__


def test_stub_runs_create_every_declared_output(rendered, tmp_path):
    for tid, t in testprofile.tasks().items():
        m = MODULES[testprofile.simple(t["process"])]
        work = tmp_path / tid.replace(":", "_")
        work.mkdir()
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", rendered[tid]["stub"]], cwd=work,
                              capture_output=True, text=True, env=_task_env(), timeout=60)
        assert proc.returncode == 0, (tid, proc.stderr)
        for o in m.outputs:
            for q, pattern in o.elements:
                if q != "path":
                    continue
                found = list(work.glob(pattern))
                # an optional output may be absent; the region counts exist because the test profile has regions
                assert found or o.optional, f"{tid}: stub made no {pattern} ({o.emit})"


# --- params and schemas -----------------------------------------------------------------------------
def test_params_match_nextflow_schema(rendered):
    params = rendered["_params_by_file"]["nextflow.config"]
    schema = schema_params()
    assert set(params) == set(schema), (set(params) ^ set(schema))
    types = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
    for k, v in params.items():
        s = schema[k]
        assert s.get("description"), k
        if v is None:
            assert "default" not in s, k
            continue
        assert s.get("default") == v, f"{k}: schema default {s.get('default')!r} != config {v!r}"
        t = s["type"] if isinstance(s["type"], list) else [s["type"]]
        assert any(isinstance(v, types[x]) for x in t), (k, v, t)
        if "enum" in s:
            assert v in s["enum"]
    # the test profile only sets declared params, and its values pass the schema (as nf-schema checks them)
    assert set(rendered["_params_by_file"]["conf/test.config"]) <= set(schema)
    jsonschema = pytest.importorskip("jsonschema")
    full = json.loads((ROOT / "nextflow_schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(full)
    validator = jsonschema.Draft202012Validator(full)
    test_params = {k: v for k, v in rendered["_params"].items() if v is not None}
    test_params["outdir"] = "results"
    assert not [e.message for e in validator.iter_errors(test_params)]
    for bad in ({"fit_model": "Poisson"}, {"workflow": "allelic_imbalance,rna"}, {"fdr": 1.5}, {"min_mapq": -1}):
        assert list(validator.iter_errors({**test_params, **bad})), bad


def test_every_params_reference_is_declared():
    declared = set(schema_params())
    files = [ROOT / "main.nf", *ROOT.glob("workflows/*.nf"), *ROOT.glob("subworkflows/local/**/*.nf"),
             *ROOT.glob("conf/*.config")]
    for f in files:
        for name in re.findall(r"\bparams\.([A-Za-z_][A-Za-z_0-9]*)", f.read_text()):
            assert name in declared, f"{f.relative_to(ROOT)} uses params.{name}, not in nextflow_schema.json"
    # modules never read params (nf-core: options arrive through ext.args)
    for m in MODULES.values():
        assert "params." not in m.path.read_text(), m.path


def test_samplesheet_schema_accepts_the_test_sheet_and_rejects_bad_rows():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "assets" / "schema_input.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    import csv
    with open(testprofile.SAMPLESHEET, newline="") as fh:
        raw = [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(fh)]
    assert list(raw[0]) == ["sample", "bam", "bai", "group"]
    assert not list(validator.iter_errors(raw))
    for row in testprofile.samplesheet_rows():
        assert Path(row["bam"]).exists() and Path(row["bai"]).exists()
    assert len({r["sample"] for r in raw}) == len(raw)
    bad_rows = [
        {"bam": "S1.bam"},                                   # no sample
        {"sample": "S 1", "bam": "S1.bam"},                  # space in the name
        {"sample": "S1", "bam": "S1.fastq.gz"},              # not a BAM/CRAM
        {"sample": "S1", "bam": "S1.bam", "bai": "S1.txt"},  # not an index
        {"sample": "S1", "bam": "S1.bam", "group": "a/b"},   # bad group name
    ]
    for row in bad_rows:
        assert list(validator.iter_errors([row])), row


def test_retry_only_on_signal_exit_codes():
    text = (ROOT / "conf" / "base.config").read_text()
    (strategy,) = re.findall(r"errorStrategy\s*=\s*\{(.*?)\}", text)
    assert re.sub(r"\s+", " ", strategy.strip()) == "task.exitStatus in (130..145) ? 'retry' : 'finish'"
    assert re.search(r"maxRetries\s*=\s*2", text)
    for label in ("process_single", "process_low", "process_medium", "process_high"):
        assert label in base_config_labels()


def test_profiles_exist():
    text = (ROOT / "nextflow.config").read_text()
    for profile in ("test", "conda", "docker", "singularity", "slurm", "awsbatch", "k8s"):
        assert re.search(rf"^\s*{profile}\s*\{{", text, flags=re.M), profile
    aws = (ROOT / "conf" / "awsbatch.config").read_text()
    assert "executor = 'awsbatch'" in aws and "params.awsqueue" in aws
    assert "name            = 'slurm'" in (ROOT / "conf" / "slurm.config").read_text()
    assert "executor = 'k8s'" in (ROOT / "conf" / "k8s.config").read_text()
    assert re.search(r"manifest\s*\{", text) and "nextflowVersion" in text
    assert "id 'nf-schema@" in text


def test_container_tag_is_the_package_version():
    """The modules' container, the Dockerfile's build line and the manifest all name this version."""
    tag = f"ghcr.io/allelekit/allelekit:{__version__}"
    for m in MODULES.values():
        text = m.path.read_text()
        assert f"'docker://{tag}'" in text and f"'{tag}'" in text, m.path
    assert f"docker build -t {tag} ." in (ROOT / "Dockerfile").read_text()
    assert f"version         = '{__version__}'" in (ROOT / "nextflow.config").read_text()
    for env in ROOT.glob("modules/local/allelekit/*/environment.yml"):
        assert env.read_text() == (ROOT / "modules/local/allelekit/count/environment.yml").read_text(), env
