"""Galaxy wrappers (tool_xml/) kept in sync with the command-line parsers.

* every ``argument=`` of a wrapper is an option of that command's ``build_parser()`` with the same
  kind (integer / float / boolean flag / select / text / dataset), the same choices, and the same
  default (a parser default of None = an optional Galaxy parameter);
* every ``--flag`` written literally in a wrapper's ``<command>`` exists in the parser;
* every parser option is wrapped (``argument=`` or written in the command, e.g. outputs and
  ``--threads``) or listed in :data:`SKIP` with the reason;
* every command of ``[project.scripts]`` has a wrapper, unless its CLI is still a stub;
* ``@TOOL_VERSION@`` equals the package version in pyproject.toml;
* the checks themselves catch a wrapper broken on purpose (wrong default, type, choices, unknown flag,
  unwrapped option);
* ``planemo lint`` passes for every wrapper (planemo from ``.cache/galaxy/planemo-venv``, created by
  ``scripts/galaxy_tests.sh --install-only``, or ``$PLANEMO``).  Without planemo that one test is
  skipped, unless ``ALLELEKIT_REQUIRE_PLANEMO=1`` (set it in CI) makes it fail.

The wrappers are also run in a real Galaxy by ``scripts/galaxy_tests.sh`` (docs/galaxy.md).
"""
from __future__ import annotations

import argparse
import copy
import importlib
import os
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL_XML = REPO / "tool_xml"
WRAPPERS = sorted(p for p in TOOL_XML.glob("allelekit_*.xml"))

#: parser options deliberately not offered in the Galaxy form, per command, with the reason
COMMON_SKIP = {
    "--help": "argparse help; not a run option",
    "--version": "used by <version_command>",
    "--verbose": "log verbosity only; Galaxy keeps the default INFO log on stderr",
    "--quiet": "log verbosity only; Galaxy keeps the default INFO log on stderr",
}
SKIP: dict[str, dict[str, str]] = {
    "count": {},
    "fit": {},
    "test": {},
    "combine": {},
    "bslmm": {},
    "cnn-train": {
        "--device": "Galaxy jobs run on CPU here; the default 'auto' picks CUDA where a job has one",
    },
    "cnn-attribute": {
        "--device": "Galaxy jobs run on CPU; the command's default (cpu) is kept",
    },
}

_INT_TYPES = {"int", "positive_int", "nonneg_int", "threads"}
_FLOAT_TYPES = {"float", "positive_float", "probability"}


# --- minimal Galaxy macro expansion (tokens, xml macros with token_* parameters, <yield/>) ---------
def _subst(text: str | None, tokens: dict[str, str]) -> str | None:
    if text is None:
        return None
    for _ in range(5):
        new = text
        for k, v in tokens.items():
            new = new.replace(k, v)
        if new == text:
            break
        text = new
    return text


def _subst_tree(el: ET.Element, tokens: dict[str, str]) -> None:
    for e in el.iter():
        e.text = _subst(e.text, tokens)
        e.tail = _subst(e.tail, tokens)
        for k, v in list(e.attrib.items()):
            e.attrib[k] = _subst(v, tokens)


def _collect_macros(el: ET.Element, base: Path, tokens: dict, xmls: dict) -> None:
    for child in el:
        if child.tag == "import":
            _collect_macros(ET.parse(base / child.text.strip()).getroot(), base, tokens, xmls)
        elif child.tag == "token":
            tokens[child.attrib["name"]] = child.text or ""
        elif child.tag == "xml":
            xmls[child.attrib["name"]] = child


def _expand(el: ET.Element, xmls: dict) -> None:
    i = 0
    while i < len(el):
        child = el[i]
        if child.tag == "expand":
            macro = xmls[child.attrib["macro"]]
            params = {f"@{k[len('token_'):].upper()}@": v for k, v in macro.attrib.items() if k.startswith("token_")}
            params.update({f"@{k.upper()}@": v for k, v in child.attrib.items() if k != "macro"})
            body = [copy.deepcopy(c) for c in macro]
            out: list[ET.Element] = []
            for c in body:
                if c.tag == "yield":
                    out.extend(copy.deepcopy(list(child)))
                else:
                    _subst_tree(c, params)
                    out.append(c)
            el.remove(child)
            for j, c in enumerate(out):
                el.insert(i + j, c)
            continue  # expand the inserted elements too
        _expand(child, xmls)
        i += 1


def load_wrapper(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    tokens: dict[str, str] = {}
    xmls: dict[str, ET.Element] = {}
    m = root.find("macros")
    if m is not None:
        _collect_macros(m, path.parent, tokens, xmls)
        root.remove(m)
    _expand(root, xmls)
    _subst_tree(root, tokens)
    return root


def tool_name(path: Path) -> str:
    """allelekit_cnn_train.xml -> 'cnn-train'."""
    return path.stem[len("allelekit_"):].replace("_", "-")


def parser_of(tool: str) -> argparse.ArgumentParser:
    mod = importlib.import_module(f"allelekit.cli.{tool.replace('-', '_')}")
    return mod.build_parser()


def options_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Long option string -> action (the first long form of each action)."""
    out = {}
    for a in parser._actions:
        longs = [s for s in a.option_strings if s.startswith("--")]
        if longs:
            out[longs[0]] = a
            for s in longs[1:]:
                out[s] = a
    return out


def _type_name(a: argparse.Action) -> str:
    return getattr(a.type, "__name__", "None") if a.type is not None else "None"


def _flag_in_text(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))


def _stub(tool: str) -> bool:
    mod = importlib.import_module(f"allelekit.cli.{tool.replace('-', '_')}")
    return "not built yet" in (mod.__doc__ or "").lower()


# --- tests ---------------------------------------------------------------------------------------------
def test_wrappers_exist_for_every_built_command():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    wrapped = {tool_name(p) for p in WRAPPERS}
    assert wrapped, "no tool_xml/allelekit_*.xml wrappers"
    missing = []
    for script in scripts:
        tool = script[len("allelekit-"):]
        if tool not in wrapped and not _stub(tool):
            missing.append(f"{script} (tool_xml/allelekit_{tool.replace('-', '_')}.xml)")
    assert not missing, f"commands without a Galaxy wrapper: {missing}"
    assert wrapped <= {s[len("allelekit-"):] for s in scripts}, "a wrapper for a command that does not exist"


def test_tool_version_token_equals_package_version():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    macros = ET.parse(TOOL_XML / "macros.xml").getroot()
    tokens = {t.attrib["name"]: (t.text or "").strip() for t in macros.findall("token")}
    assert tokens["@TOOL_VERSION@"] == version
    assert re.fullmatch(r"\d+", tokens["@VERSION_SUFFIX@"])


@pytest.mark.parametrize("path", WRAPPERS, ids=lambda p: p.stem)
def test_wrapper_header_and_command(path):
    root = load_wrapper(path)
    tool = tool_name(path)
    assert root.attrib["id"] == path.stem
    assert re.fullmatch(r"\d+\.\d+\.\d+\+galaxy\d+", root.attrib["version"])
    cmd = root.find("command")
    assert cmd.attrib.get("detect_errors") == "exit_code"
    text = cmd.text
    assert f"allelekit-{tool}" in text
    assert '--threads "\\${GALAXY_SLOTS:-1}"' in text
    assert root.find("version_command").text.strip() == f"allelekit-{tool} --version"
    assert root.find("requirements/requirement").text == "allelekit"
    # every $dataset written into the command is quoted
    for p in root.iter("param"):
        if p.attrib.get("type") == "data" and p.attrib.get("multiple") != "true":
            name = p.attrib.get("name") or p.attrib["argument"].lstrip("-").replace("-", "_")
            for m in re.finditer(r"(\S*)\$\{?" + re.escape(name) + r"\b", text):
                assert m.group(1).endswith("'") or m.group(1) == "", f"unquoted ${name} in {path.name}"
    tests = root.findall("tests/test")
    assert 1 <= len(tests) <= 3, "1-3 tests per tool: each costs about a minute of real-Galaxy time"
    for t in tests:
        assert t.find(".//assert_contents") is not None, f"{path.name}: a test without content assertions"
    for name in re.findall(r'value="([^"]+)"', ET.tostring(root.find("tests"), encoding="unicode")):
        for f in name.split(","):
            if "." in f and not re.fullmatch(r"[\d.e+-]+", f):
                assert (TOOL_XML / "test-data" / f).is_file(), f"{path.name}: missing test-data/{f}"


def argument_problems(path: Path, tool: str | None = None) -> list[str]:
    """Differences between the wrapper's argument= parameters and the command's parser."""
    tool = tool or tool_name(path)
    root = load_wrapper(path)
    opts = options_of(parser_of(tool))
    problems = []
    parent = {c: e for e in root.iter() for c in e}

    def in_when(el: ET.Element) -> bool:
        """Inside a <conditional>'s <when>: written only when chosen, so a value may be preset."""
        while el in parent:
            el = parent[el]
            if el.tag == "when":
                return True
        return False

    for p in root.iter("param"):
        arg = p.attrib.get("argument")
        if not arg:
            continue
        where = f"{path.name} {arg}"
        a = opts.get(arg)
        if a is None:
            problems.append(f"{where}: not an option of allelekit-{tool}")
            continue
        gtype = p.attrib["type"]
        tname = _type_name(a)
        optional = p.attrib.get("optional") == "true"
        if gtype == "boolean":
            if not isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                problems.append(f"{where}: boolean in Galaxy, {type(a).__name__} in the parser")
            if p.attrib.get("truevalue") != arg or p.attrib.get("falsevalue", "") != "":
                problems.append(f"{where}: a boolean flag needs truevalue='{arg}' falsevalue=''")
            checked = p.attrib.get("checked", "false") == "true"
            if checked:
                problems.append(f"{where}: a flag checked by default cannot be switched off on the command line")
            continue
        if isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._CountAction)):
            problems.append(f"{where}: a flag in the parser but a {gtype} in Galaxy")
            continue
        choices = a.choices
        if choices is None and isinstance(a.metavar, str) and re.fullmatch(r"\{[^{}]+\}", a.metavar):
            choices = a.metavar[1:-1].split(",")  # checked in the command body, listed in the metavar
        if gtype == "select":
            values = [o.attrib["value"] for o in p.findall("option")]
            if choices is None or sorted(values) != sorted(map(str, choices)):
                problems.append(f"{where}: choices {values} != parser {choices}")
            sel = [o.attrib["value"] for o in p.findall("option") if o.attrib.get("selected") == "true"]
            default = sel[0] if sel else (values[0] if values and not optional else None)
            if a.default is not None and default != str(a.default):
                problems.append(f"{where}: default {default!r} != parser {a.default!r}")
            continue
        if choices is not None:
            problems.append(f"{where}: the parser has choices {choices}; use a select")
        if gtype == "data":
            if tname not in ("None", "str"):
                problems.append(f"{where}: a dataset but the parser converts it with {tname}")
            multiple = p.attrib.get("multiple") == "true"
            if multiple != (a.nargs in ("+", "*") or isinstance(a, argparse._AppendAction)):
                problems.append(f"{where}: multiple={multiple} but nargs={a.nargs}")
            if optional and a.required:
                problems.append(f"{where}: optional in Galaxy but required by the parser")
            if not optional and not a.required and not in_when(p):
                problems.append(f"{where}: required in Galaxy but optional in the parser (make it optional, "
                                "or put it in a conditional branch)")
            continue
        value = p.attrib.get("value")
        if gtype in ("integer", "float"):
            want = _INT_TYPES if gtype == "integer" else _FLOAT_TYPES
            if tname not in want:
                problems.append(f"{where}: {gtype} in Galaxy, type {tname} in the parser")
                continue
            for key in ("value", "min", "max"):
                v = p.attrib.get(key)
                if v not in (None, ""):
                    try:
                        a.type(v)
                    except (argparse.ArgumentTypeError, ValueError):
                        problems.append(f"{where}: {key}={v} is rejected by the parser's type {tname}")
            if a.default is None:
                if (not optional or value not in (None, "")) and not in_when(p):
                    problems.append(f"{where}: the parser default is None: make it optional with no value")
            elif value in (None, "") or float(value) != float(a.default):
                problems.append(f"{where}: default {value!r} != parser {a.default!r}")
            continue
        if gtype == "text":
            if a.default is None or a.default == []:
                if value not in (None, ""):
                    problems.append(f"{where}: the parser has no default but Galaxy has {value!r}")
                if not optional and not a.required:
                    problems.append(f"{where}: make the text optional (the parser default is None)")
            else:
                shown = ",".join(map(str, a.default)) if isinstance(a.default, (list, tuple)) else str(a.default)
                if value != shown:
                    problems.append(f"{where}: default {value!r} != parser {shown!r}")
            continue
        problems.append(f"{where}: unhandled Galaxy type {gtype}")
    return problems


@pytest.mark.parametrize("path", WRAPPERS, ids=lambda p: p.stem)
def test_arguments_match_parser(path):
    problems = argument_problems(path)
    assert not problems, "\n".join(problems)


def coverage_problems(path: Path, tool: str | None = None) -> list[str]:
    """Flags in the command that the parser lacks; parser options neither wrapped nor skipped."""
    tool = tool or tool_name(path)
    root = load_wrapper(path)
    opts = options_of(parser_of(tool))
    command = root.find("command").text
    in_command = _flag_in_text(command)
    problems = []
    unknown = sorted(f for f in in_command if f not in opts)
    if unknown:
        problems.append(f"{path.name}: the command writes flags that allelekit-{tool} does not have: {unknown}")
    wrapped = {p.attrib["argument"] for p in root.iter("param") if p.attrib.get("argument")}
    skip = {**COMMON_SKIP, **SKIP[tool]}
    missing, stale = [], []
    seen = set()
    for flag, a in opts.items():
        if id(a) in seen:
            continue
        seen.add(id(a))
        longs = [s for s in a.option_strings if s.startswith("--")]
        covered = any(s in wrapped or s in in_command for s in longs)
        skipped = any(s in skip for s in longs)
        if not covered and not skipped:
            missing.append(longs[0])
        if covered and skipped:
            stale.append(longs[0])
    if missing:
        problems.append(f"{path.name}: options neither wrapped nor in SKIP['{tool}']: {missing}")
    if stale:
        problems.append(f"{path.name}: options both wrapped and in SKIP: {stale}")
    if not set(SKIP[tool]) <= set(opts):
        problems.append(f"SKIP['{tool}'] lists options the parser does not have")
    return problems


@pytest.mark.parametrize("path", WRAPPERS, ids=lambda p: p.stem)
def test_every_option_is_wrapped_or_skipped(path):
    problems = coverage_problems(path)
    assert not problems, "\n".join(problems)


def test_sync_checks_catch_a_broken_wrapper(tmp_path):
    """The checks above report a wrong default, a wrong type, wrong choices, an unknown flag and an
    unwrapped option (a copy of the count wrapper, broken on purpose)."""
    assert argument_problems(TOOL_XML / "allelekit_count.xml") == []
    macros = (TOOL_XML / "macros.xml").read_text()
    broken_macros = (macros.replace('argument="--min-mapq" type="integer" min="0" value="1"',
                                    'argument="--min-mapq" type="integer" min="0" value="2"')
                           .replace('argument="--min-baseq" type="integer"', 'argument="--min-baseq" type="float"'))
    assert broken_macros.count('value="2"') == macros.count('value="2"') + 1
    (tmp_path / "macros.xml").write_text(broken_macros)
    src = (TOOL_XML / "allelekit_count.xml").read_text()
    broken = (src.replace("--vcf '$vcf_name'", "--vcf '$vcf_name' --no-such-flag")
                 .replace("--reference reference.fa", "echo").replace('argument="--reference"', 'name="reference"'))
    assert broken.count("--no-such-flag") == 1 and "--reference" not in broken
    bad = tmp_path / "allelekit_count.xml"
    bad.write_text(broken)
    args = "\n".join(argument_problems(bad, "count"))
    assert "--min-mapq: default '2' != parser 1" in args
    assert "--min-baseq: float in Galaxy, type nonneg_int in the parser" in args
    cover = "\n".join(coverage_problems(bad, "count"))
    assert "--no-such-flag" in cover
    assert "'--reference'" in cover
    fit = (TOOL_XML / "allelekit_fit.xml").read_text().replace('<option value="MCNB">', '<option value="MCNBX">')
    (tmp_path / "allelekit_fit.xml").write_text(fit)
    assert any("choices" in p for p in argument_problems(tmp_path / "allelekit_fit.xml", "fit"))


def _planemo() -> str | None:
    cand = [os.environ.get("PLANEMO"), str(REPO / ".cache/galaxy/planemo-venv/bin/planemo"), shutil.which("planemo")]
    return next((c for c in cand if c and Path(c).is_file() and os.access(c, os.X_OK)), None)


def test_planemo_lint():
    planemo = _planemo()
    if planemo is None:
        if os.environ.get("ALLELEKIT_REQUIRE_PLANEMO") == "1":
            pytest.fail("planemo not found: run scripts/galaxy_tests.sh --install-only")
        pytest.skip("planemo not installed (scripts/galaxy_tests.sh --install-only installs it)")
    # offline: no --doi / --biocontainer / --conda_requirements (they need the network); shed_lint --tools
    # lints the .shed.yml and every tool in one process; version_bumped would query the Tool Shed, and
    # shed_remote_repository_url compares the URL with the local checkout's path (it passes only when the
    # clone happens to sit in a folder named like the URL), so we check the URL ourselves instead
    shed = (TOOL_XML / ".shed.yml").read_text()
    assert re.search(r"remote_repository_url: \S+/tree/main/tool_xml\n", shed)
    r = subprocess.run([planemo, "shed_lint", "--tools", "--skip", "version_bumped,shed_remote_repository_url", "."],
                       cwd=TOOL_XML,
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    assert ".shed.yml found and appears to be valid YAML" in out
    for w in WRAPPERS:
        assert f"Linting tool {w}" in out, f"{w.name} was not linted"


def test_test_data_small():
    files = [f for f in (TOOL_XML / "test-data").rglob("*") if f.is_file()]
    assert files
    total = sum(f.stat().st_size for f in files)
    assert total < 2_000_000, f"tool_xml/test-data holds {total} bytes; keep it under 2 MB"
    assert max(f.stat().st_size for f in files) < 1_000_000
