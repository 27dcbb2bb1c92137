"""Read the pipeline's Nextflow files for the tests (no Nextflow runtime here).

* :func:`parse_module` reads a ``modules/local/**/main.nf`` (nf-core layout: one process) into its
  name, input declarations, output declarations (emit name, elements, optional) and the text of its
  ``script:`` and ``stub:`` sections.
* :class:`Groovy` runs ``tests/nf/render.groovy`` with the Groovy 4 jar that npm's
  ``npm-groovy-lint`` ships, to render script sections the way Nextflow would (``task.ext.*`` from
  ``conf/modules.config`` evaluated with the pipeline's params, then the section's Groovy code).

Declarations are read with regular expressions over the nf-core layout this pipeline uses (one
declaration per line); a layout they do not understand makes :func:`parse_module` raise, so the
tests fail rather than check less.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GROOVY_LIB = ROOT / "node_modules" / "npm-groovy-lint" / "lib" / "java" / "groovy" / "lib"

SECTION_RE = re.compile(r"^\s*(input|output|when|script|shell|exec|stub):\s*$")
ELEMENT_RE = re.compile(r"""\b(val|path|env|eval|stdout)(?:\s*\(\s*(?:(['"])(.*?)\2|([A-Za-z_][A-Za-z_0-9.]*))?|\s+([A-Za-z_][A-Za-z_0-9]*))""")


@dataclass
class Output:
    emit: str
    elements: list[tuple[str, str]]          # (qualifier, name or pattern)
    optional: bool
    topic: str | None


@dataclass
class Module:
    path: Path
    name: str
    directives: dict[str, str]
    inputs: list[list[tuple[str, str]]]      # one list per input channel: (qualifier, name)
    outputs: list[Output]
    script: str
    stub: str
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def command(self) -> str | None:
        """The executable the script runs (the first ``allelekit-*`` word), if any."""
        m = re.search(r"\b(allelekit-[a-z][a-z-]*)\b", self.script)
        return m.group(1) if m else None

    def input_names(self) -> list[str]:
        return [n for chan in self.inputs for q, n in chan if q in ("val", "path")]


def _strip_comment(line: str) -> str:
    # drop a trailing // comment that is not inside a string
    out, quote = [], None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                out.append(line[i:i + 2])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif line.startswith("//", i):
            break
        out.append(c)
        i += 1
    return "".join(out).rstrip()


def parse_module(path: str | os.PathLike) -> Module:
    path = Path(path)
    text = path.read_text()
    procs = re.findall(r"^process\s+([A-Z][A-Z0-9_]*)\s*\{", text, flags=re.M)
    if len(procs) != 1:
        raise ValueError(f"{path}: expected exactly one process, found {procs}")
    body = text[text.index("{", text.index("process")) + 1: text.rstrip().rindex("}")]
    sections: dict[str, list[str]] = {"directives": []}
    current = "directives"
    for line in body.splitlines():
        m = SECTION_RE.match(line)
        if m:
            current = m.group(1)
            if current in sections:
                raise ValueError(f"{path}: section {current}: appears twice")
            sections[current] = []
            continue
        sections[current].append(line)
    text_of = {k: "\n".join(v) for k, v in sections.items()}

    directives: dict[str, str] = {}
    for line in sections["directives"]:
        m = re.match(r"^\s*(tag|label|conda|container|cpus|memory|time|publishDir)\s+(.*)$", line)
        if m:
            directives.setdefault(m.group(1), m.group(2).strip())

    inputs = []
    for line in sections.get("input", []):
        line = _strip_comment(line).strip()
        if not line:
            continue
        els = [(q, a or b or c) for q, _, a, b, c in ELEMENT_RE.findall(line)]
        if not els:
            raise ValueError(f"{path}: cannot read input line {line!r}")
        inputs.append(els)

    outputs = []
    for line in sections.get("output", []):
        line = _strip_comment(line).strip()
        if not line:
            continue
        m = re.search(r"\bemit:\s*([A-Za-z_][A-Za-z_0-9]*)", line)
        if not m:
            raise ValueError(f"{path}: output without emit: {line!r}")
        els = [(q, a or b or c) for q, _, a, b, c in ELEMENT_RE.findall(line.split("emit:")[0])]
        topic = re.search(r"\btopic:\s*([A-Za-z_]+)", line)
        outputs.append(Output(m.group(1), els, bool(re.search(r"optional:\s*true", line)),
                              topic.group(1) if topic else None))
    if "script" not in text_of:
        raise ValueError(f"{path}: no script: section")
    return Module(path, procs[0], directives, inputs, outputs, text_of["script"], text_of.get("stub", ""),
                  text_of)


def module_files() -> list[Path]:
    return sorted((ROOT / "modules" / "local").glob("**/main.nf"))


# --- Groovy ---------------------------------------------------------------------------------------
def groovy_available() -> bool:
    return shutil.which("java") is not None and any(GROOVY_LIB.glob("groovy-4*.jar"))


def groovy(script: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a Groovy script with the Groovy 4 jar of npm-groovy-lint (``java`` must be on PATH)."""
    cmd = ["java", "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", f"{GROOVY_LIB}/*",
           "groovy.ui.GroovyMain", str(script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def render(requests: list[dict], config_files: list[str], params: dict | None = None,
           workdir: Path | None = None) -> dict:
    """Render ``script:``/``stub:`` sections, one JVM for all requests.

    Each request: ``{"id", "module" (path of main.nf), "process" (name the config selectors see),
    "meta" (map), "inputs" (name -> file name, list of names, or "" / [] for none), "cpus"}``.
    ``config_files``: nextflow.config then profile configs; their ``params {}`` blocks are merged in
    order and ``params`` overrides them. Returns ``{id: {"script", "stub", "ext"}}`` and ``"_params"``.
    """
    workdir = workdir or Path(os.environ.get("TMPDIR", "/tmp"))
    req = workdir / "render_request.json"
    req.write_text(json.dumps({"root": str(ROOT), "config_files": config_files, "params": params or {},
                               "modules_config": "conf/modules.config", "requests": requests}))
    proc = groovy(HERE / "render.groovy", str(req))
    if proc.returncode != 0:
        raise RuntimeError(f"render.groovy failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout)
