"""Atomic file output: write to a temporary name in the target folder, rename on success.

A failed run therefore never leaves a half-written file and never replaces a good result with
garbage.  :func:`atomic_path` handles one file; :class:`AtomicOutputs` collects several outputs of
one run and renames them all only when the whole run succeeded.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _tmp_name(path: Path, is_dir: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.tmp-"
    if is_dir:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def _discard(tmp: Path) -> None:
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _commit(tmp: Path, final: Path) -> None:
    if tmp.is_dir():
        if final.exists():
            old = _tmp_name(final, is_dir=True)
            os.replace(final, old / "old") if final.is_dir() else os.replace(final, old / final.name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    else:
        # mkstemp creates 0600 files; give the result the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, final)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    final = Path(path)
    tmp = _tmp_name(final, is_dir)
    try:
        yield tmp
    except BaseException:
        _discard(tmp)
        raise
    _commit(tmp, final)


class AtomicOutputs:
    """All outputs of one run, committed together.

    >>> with AtomicOutputs() as out:                      # doctest: +SKIP
    ...     write_table(df, out.path("counts.parquet"), ...)
    ...     fig.savefig(out.path("plots", is_dir=True) / "a.png")
    Nothing appears under the final names unless the whole block succeeds.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path(self, final: str | os.PathLike, is_dir: bool = False) -> Path:
        final = Path(final)
        tmp = _tmp_name(final, is_dir)
        self._pending.append((tmp, final))
        return tmp

    def __enter__(self) -> "AtomicOutputs":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for tmp, _ in self._pending:
                _discard(tmp)
            return
        for tmp, final in self._pending:
            _commit(tmp, final)
