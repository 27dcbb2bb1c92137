"""Contig-name checks between inputs (the classic ``chr1`` vs ``1`` mismatch)."""
from __future__ import annotations

from typing import Iterable, Sequence

from ..errors import AllelekitError

__all__ = ["check_contigs", "suggest_rename"]


def _strip(c: str) -> str:
    return c[3:] if c.lower().startswith("chr") else c


def suggest_rename(have: Iterable[str], want: Iterable[str]) -> str | None:
    """A hint when ``have`` and ``want`` differ only by a ``chr`` prefix (or MT vs M), else None."""
    have, want = list(have), set(want)
    if not have or not want:
        return None
    stripped_want = {_strip(w).upper().replace("MT", "M"): w for w in want}
    hits = sum(_strip(h).upper().replace("MT", "M") in stripped_want for h in have)
    if hits >= max(1, len(have) // 2):
        ex = have[0]
        tgt = stripped_want.get(_strip(ex).upper().replace("MT", "M"), "?")
        return (f"the names differ by a 'chr' prefix (e.g. {ex!r} vs {tgt!r}); rename one side, e.g. "
                "`bcftools annotate --rename-chrs map.txt` for the VCF or `samtools reheader` for the BAM")
    return None


def check_contigs(used: Sequence[str], available: Sequence[str], *, used_what: str, available_what: str,
                  require_any: bool = True) -> list[str]:
    """Check that the contigs ``used`` by one input exist in another.

    Returns the contigs of ``used`` that are missing from ``available`` (the caller may log them).
    When none of ``used`` is present and ``require_any``, raises :class:`AllelekitError` naming both
    files, a few names of each, and the fix when it is a ``chr`` prefix mismatch.
    """
    avail = set(available)
    missing = [c for c in used if c not in avail]
    if used and require_any and len(missing) == len(used):
        hint = suggest_rename(used, available)
        ex_u = ", ".join(list(used)[:3])
        ex_a = ", ".join(list(available)[:3]) or "none"
        msg = (f"no contig of {used_what} ({ex_u}...) is in {available_what} ({ex_a}...)")
        raise AllelekitError(msg + ("; " + hint if hint else "; are they from the same reference genome?"))
    return missing
