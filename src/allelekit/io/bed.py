"""BED reading and interval lookups.

Coordinates are BED's: 0-based, half-open ``[start, end)``.  A 1-based VCF position ``pos`` lies in
an interval when ``start < pos <= end`` (i.e. ``start <= pos - 1 < end``).
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AllelekitError

__all__ = ["BedIntervals", "read_bed", "read_bad", "lookup_intervals"]


@dataclass
class BedIntervals:
    """Intervals of a BED file, in file order.

    Attributes
    ----------
    chrom, name : numpy object arrays of str
    start, end : numpy int64 arrays (0-based half-open)
    score : numpy float64 array or None -- column 4 parsed as a number (used for BAD files)
    path : the file the intervals came from (for messages)
    """

    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    name: np.ndarray
    score: np.ndarray | None
    path: str

    def __len__(self) -> int:
        return len(self.chrom)


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path, "rt")


def read_bed(path: str | os.PathLike, *, numeric_col4: bool = False, allow_empty: bool = False) -> BedIntervals:
    """Read a BED file (plain or gzipped; ``track``/``browser``/``#`` lines skipped).

    Parameters
    ----------
    path : the BED file.
    numeric_col4 : parse column 4 as a positive number into ``score`` (BAD files); ``name`` is then
        ``chrom:start-end``.
    allow_empty : accept a file without intervals (otherwise an error).

    Unnamed intervals (3 columns, or ``.`` in column 4) are named ``chrom:start-end``.  Errors name the
    file and line: fewer than 3 columns, non-integer or negative coordinates, ``start >= end`` (an
    empty interval), a non-numeric or non-positive BAD value.
    """
    path = Path(path)
    if not path.exists():
        raise AllelekitError(f"{path}: no such BED file")
    chroms, starts, ends, names, scores = [], [], [], [], []
    try:
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                f = line.rstrip("\n\r").split("\t")
                if len(f) < 3:
                    f = line.split()
                if len(f) < 3:
                    raise AllelekitError(f"{path} line {lineno}: a BED line needs at least 3 tab-separated "
                                         f"columns (chrom, start, end); got {line.strip()[:60]!r}")
                try:
                    s, e = int(f[1]), int(f[2])
                except ValueError:
                    raise AllelekitError(f"{path} line {lineno}: start/end {f[1]!r}, {f[2]!r} are not integers "
                                         "(is there an unmarked header line? prefix it with '#')") from None
                if s < 0 or e <= s:
                    raise AllelekitError(f"{path} line {lineno}: empty or negative interval {f[0]}:{s}-{e} "
                                         "(BED needs 0 <= start < end)")
                chroms.append(f[0]); starts.append(s); ends.append(e)
                if numeric_col4:
                    if len(f) < 4 or not f[3].strip():
                        raise AllelekitError(f"{path} line {lineno}: a BAD BED needs a 4th column with the "
                                             "background allelic dosage (e.g. 1, 1.5, 2)")
                    try:
                        v = float(f[3])
                    except ValueError:
                        raise AllelekitError(f"{path} line {lineno}: BAD value {f[3]!r} is not a number") from None
                    if not np.isfinite(v) or v <= 0:
                        raise AllelekitError(f"{path} line {lineno}: BAD value {f[3]!r} must be a positive number")
                    scores.append(v)
                    names.append(f"{f[0]}:{s}-{e}")
                else:
                    nm = f[3].strip() if len(f) >= 4 else ""
                    names.append(nm if nm and nm != "." else f"{f[0]}:{s}-{e}")
    except (UnicodeDecodeError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise AllelekitError(f"{path}: cannot read as a BED text file ({exc})") from None
    if not chroms and not allow_empty:
        raise AllelekitError(f"{path}: the BED file has no intervals")
    return BedIntervals(np.array(chroms, dtype=object), np.array(starts, dtype=np.int64),
                        np.array(ends, dtype=np.int64), np.array(names, dtype=object),
                        np.array(scores, dtype=np.float64) if numeric_col4 else None, str(path))


def read_bad(path: str | os.PathLike) -> BedIntervals:
    """Read a BAD (background allelic dosage) BED: ``chrom start end bad``.

    Overlapping segments on a contig are an error (a position must have one BAD).
    """
    bed = read_bed(path, numeric_col4=True)
    for c in np.unique(bed.chrom):
        m = np.flatnonzero(bed.chrom == c)
        o = m[np.argsort(bed.start[m], kind="stable")]
        over = np.flatnonzero(bed.start[o][1:] < bed.end[o][:-1])
        if len(over):
            i, j = o[over[0]], o[over[0] + 1]
            raise AllelekitError(f"{bed.path}: BAD segments {c}:{bed.start[i]}-{bed.end[i]} and "
                                 f"{c}:{bed.start[j]}-{bed.end[j]} overlap; each position needs one BAD")
    return bed


def lookup_intervals(bed: BedIntervals, chrom: np.ndarray, pos: np.ndarray) -> list[np.ndarray]:
    """For each 1-based point (chrom[i], pos[i]), the indices of the intervals of ``bed`` containing it.

    Returns a list (one entry per point) of int64 arrays of interval indices, sorted by (start, end,
    file order).  Work is O((points + intervals) log intervals + hits).
    """
    chrom = np.asarray(chrom, dtype=object)
    pos0 = np.asarray(pos, dtype=np.int64) - 1
    out: list[np.ndarray] = [np.empty(0, np.int64)] * len(pos0)
    empty = np.empty(0, np.int64)
    for c in np.unique(chrom) if len(chrom) else []:
        pts = np.flatnonzero(chrom == c)
        ivs = np.flatnonzero(bed.chrom == c)
        if not len(ivs):
            continue
        o = ivs[np.lexsort((ivs, bed.end[ivs], bed.start[ivs]))]
        st, en = bed.start[o], bed.end[o]
        # intervals with start <= p: a prefix; among those, those with end > p.  Bound the scan with the
        # running maximum length so that nested/long intervals are still found.
        maxlen = int((en - st).max())
        hi = np.searchsorted(st, pos0[pts], side="right")
        lo = np.searchsorted(st, pos0[pts] - maxlen, side="right")
        for k, p, a, b in zip(pts, pos0[pts], lo, hi):
            if a == b:
                out[k] = empty
                continue
            sel = np.flatnonzero(en[a:b] > p)
            out[k] = o[a + sel] if len(sel) else empty
    return out
