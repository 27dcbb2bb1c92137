"""Machinery shared by every allelekit command.

* Parent parsers (:func:`runtime_parent`, :func:`logging_parent`, :func:`output_parent`,
  :func:`read_filter_parent`) so that one flag means the same thing in every command.
* :func:`new_parser` builds a command's parser with grouped help, a minimal ``usage`` line and
  an epilog naming the schemas read and written.
* :func:`run` executes a command's body: configures logging, maps :class:`AllelekitError` to one
  line ``allelekit-<tool>: error: ...`` and exit 1, and never lets a signal-like status (130-145)
  escape.
* :class:`Progress`: a bar on a terminal, periodic log lines otherwise.

Nothing heavy (jax, torch, numba, pysam) is imported here or at import time of any ``cli`` module,
so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from .. import __version__
from ..errors import AllelekitError

log = logging.getLogger("allelekit")
T = TypeVar("T")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, description and epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        # Don't print "(default: None)" or "(default: False)" for flags and optional inputs.
        if (action.default is None or action.default is False or action.default == argparse.SUPPRESS
                or isinstance(action, argparse._CountAction)):
            return action.help or ""
        return super()._get_help_string(action)


# --- argument types -----------------------------------------------------------------------------
def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return v


def nonneg_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return v


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return v


def probability(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1 (exclusive)")
    return v


def threads(text: str) -> int:
    """``--threads``: a positive integer, or 0 for all available cores."""
    v = nonneg_int(text)
    if v == 0:
        try:
            v = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            v = os.cpu_count() or 1
    return v


# --- parent parsers -----------------------------------------------------------------------------
def runtime_parent(seed: bool = True, threads_help: str = "Worker threads/processes (0 = all cores).") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("Runtime")
    g.add_argument("--threads", "-@", type=threads, default=1, metavar="N", help=threads_help)
    if seed:
        g.add_argument("--seed", type=nonneg_int, default=0, metavar="N",
                       help="Random seed; the same seed and inputs give the same results.")
    return p


SHARED_GROUPS = ("Read filters", "Output", "Runtime", "Logging and help")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help lists the command's own groups first and the shared ones last."""

    def format_help(self) -> str:
        groups = self._action_groups
        own = [g for g in groups if g.title not in SHARED_GROUPS and g._group_actions]
        shared = sorted((g for g in groups if g.title in SHARED_GROUPS), key=lambda g: SHARED_GROUPS.index(g.title))
        self._action_groups = own + shared
        try:
            return super().format_help()
        finally:
            self._action_groups = groups


def logging_parent(prog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("Logging and help")
    g.add_argument("-v", "--verbose", action="count", default=0,
                   help="Debug log output on stderr, with tracebacks of errors.")
    g.add_argument("-q", "--quiet", action="store_true", help="Only warnings and errors on stderr; no progress bar.")
    g.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    if prog:
        g.add_argument("--version", action="version", version=f"{prog} {__version__}",
                       help="Show the version and exit.")
    return p


def output_parent(help: str = "Output Parquet file.", tsv: bool = True, required: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("Output")
    g.add_argument("--output", "-o", required=required, metavar="FILE", help=help)
    if tsv:
        g.add_argument("--tsv", metavar="FILE", help="Also write the main table as tab-separated text.")
    return p


def read_filter_parent() -> argparse.ArgumentParser:
    """Read filters for commands that read BAM/CRAM (count, cnn-train's dataset builder)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("Read filters")
    g.add_argument("--min-mapq", type=nonneg_int, default=1, metavar="Q",
                   help="Skip records with mapping quality below Q (1 drops multi-mappers with MAPQ 0).")
    g.add_argument("--min-baseq", type=nonneg_int, default=20, metavar="Q",
                   help="Ignore bases with base quality below Q at the SNV (0 disables the filter).")
    g.add_argument("--include-duplicates", action="store_true", help="Count records flagged as duplicates (0x400).")
    g.add_argument("--include-secondary", action="store_true", help="Count secondary alignments (0x100).")
    g.add_argument("--include-supplementary", action="store_true", help="Count supplementary alignments (0x800).")
    g.add_argument("--include-qcfail", action="store_true", help="Count records that failed QC (0x200).")
    return p


def new_parser(tool: str, description: str, usage: str | None = None, epilog: str | None = None,
               parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """A command's parser: ``prog`` = ``allelekit-<tool>``, logging group and ``--version`` always present."""
    prog = f"allelekit-{tool}"
    return Parser(
        prog=prog, description=description, usage=usage, epilog=epilog,
        formatter_class=HelpFormatter, add_help=False,
        parents=[*parents, logging_parent(prog)],
    )


# --- logging and running ------------------------------------------------------------------------
def setup_logging(verbose: int = 0, quiet: bool = False, prog: str = "allelekit") -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_allelekit", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._allelekit = True  # type: ignore[attr-defined]
    fmt = "%(asctime)s " + prog + " %(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("allelekit").setLevel(level)
    # keep chatty libraries quiet unless debugging
    for noisy in ("jax", "matplotlib", "numba", "PIL", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)


def run(body: Callable[[argparse.Namespace], int | None], args: argparse.Namespace, prog: str) -> int:
    """Run a command body with allelekit's error and logging conventions; return the exit status."""
    setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False), prog)
    debug = getattr(args, "verbose", 0) >= 1
    try:
        status = body(args)
        return int(status or 0)
    except AllelekitError as exc:
        if debug:
            log.exception("traceback")
        _error(prog, str(exc))
        return 1
    except KeyboardInterrupt:
        _error(prog, "interrupted; no output was written")
        return 1
    except MemoryError:
        _error(prog, "out of memory")
        return 1
    except BrokenPipeError:  # stderr/stdout closed by a pager
        return 1
    except Exception as exc:  # a bug: still one line and exit 1, traceback with -vv
        if debug:
            log.exception("traceback")
        _error(prog, f"internal error: {type(exc).__name__}: {exc} (rerun with -v for the traceback; "
                     "please report it)")
        return 1


def _error(prog: str, message: str) -> None:
    message = " ".join(str(message).split())  # one line
    try:
        sys.stderr.write(f"{prog}: error: {message}\n")
        sys.stderr.flush()
    except Exception:  # pragma: no cover
        pass


def main_wrapper(build_parser: Callable[[], argparse.ArgumentParser],
                 body: Callable[[argparse.Namespace], int | None],
                 argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and :func:`run` ``body``.  Usage errors exit 2 through argparse."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args._parser = parser  # for bodies that want parser.error() after cross-checks
    return run(body, args, parser.prog)


def params_of(args: argparse.Namespace) -> dict:
    """The parsed arguments as a JSON-able dict for provenance metadata."""
    return {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in ("verbose", "quiet")}


# --- progress -----------------------------------------------------------------------------------
class Progress:
    """Progress for long work: a bar on a terminal, a log line every ``interval`` seconds otherwise.

    >>> with Progress(total=len(chunks), desc="counting", unit="chunk") as bar:   # doctest: +SKIP
    ...     for c in chunks: work(c); bar.update(1)
    """

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "it", interval: float = 30.0,
                 stream=None, enabled: bool | None = None) -> None:
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.stream = stream or sys.stderr
        quiet = not log.isEnabledFor(logging.INFO)
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.bar = (isatty and not quiet) if enabled is None else enabled
        self.log_lines = not quiet and not self.bar
        self.n = 0
        self.t0 = self._last = time.monotonic()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.monotonic()
        if self.bar and now - self._last >= 0.1:
            self._last = now
            self._draw(now)
        elif self.log_lines and now - self._last >= self.interval:
            self._last = now
            log.info("%s: %s", self.desc or "progress", self._status(now))

    def _status(self, now: float) -> str:
        el = now - self.t0
        rate = self.n / el if el > 0 else 0.0
        if self.total:
            eta = (self.total - self.n) / rate if rate > 0 else float("nan")
            return f"{self.n}/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%, {rate:.1f} {self.unit}/s, ETA {eta:.0f}s)"
        return f"{self.n} {self.unit} ({rate:.1f} {self.unit}/s)"

    def _draw(self, now: float) -> None:
        if self.total:
            width = 30
            fill = int(width * min(self.n, self.total) / self.total)
            bar = "#" * fill + "-" * (width - fill)
            text = f"\r{self.desc} [{bar}] {self._status(now)}"
        else:
            text = f"\r{self.desc} {self._status(now)}"
        self.stream.write(text[:200])
        self.stream.flush()

    def close(self) -> None:
        now = time.monotonic()
        if self.bar:
            self._draw(now)
            self.stream.write("\n")
            self.stream.flush()
        elif self.log_lines and self.n:
            log.debug("%s: done, %s", self.desc or "progress", self._status(now))

    def iter(self, it: Iterable[T]) -> Iterator[T]:
        for x in it:
            yield x
            self.update(1)

