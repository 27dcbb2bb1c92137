"""Genome-browser tracks of combined allele-specific results (IGV, UCSC).

* :func:`bed_lines`: BED9 of the significant SNVs of one group, ``itemRgb`` coloured by the preferred
  allele (ref = blue, alt = orange, both directions significant = purple), score = scaled -log10 FDR,
  name = ``<id or chrom:pos:ref>alt>|<pref>``.  Start/end are 0-based half-open (start = pos - 1).
* :func:`bedgraph_lines`: bedGraph of every tested SNV with the signed -log10 FDR of the preferred
  allele (positive: ref preferred, negative: alt preferred), for a signal track.

Each block starts with a ``track`` line so the file can be loaded as it is.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLOURS = {"ref": "33,102,172", "alt": "230,97,1", "both": "118,42,131"}


def _neglog10(x: float) -> float:
    return -math.log10(max(float(x), 1e-300))


def _name(row) -> str:
    vid = row.variant_id if isinstance(row.variant_id, str) and row.variant_id else None
    base = vid or f"{row.chrom}:{row.pos}:{row.ref}>{row.alt}"
    return f"{base}|{row.pref_allele}"


def bed_lines(df: "pd.DataFrame", group: str, fdr: float, track_name: str | None = None) -> Iterator[str]:
    """BED9 lines (with a track line) for the rows of ``df`` whose ``call`` is not 'none'."""
    sig = df[df["call"] != "none"]
    name = track_name or f"allelekit ASB {group}"
    yield (f'track name="{name}" description="allele-specific SNVs, group {group}, FDR < {fdr:g}; '
           f'blue: ref preferred, orange: alt preferred, purple: both significant" itemRgb="On" visibility=2 '
           f'useScore=0\n')
    for row in sig.itertuples(index=False):
        colour = COLOURS["both"] if row.call == "both" else COLOURS[row.pref_allele]
        score = int(min(1000, round(100 * _neglog10(row.fdr))))
        start = int(row.pos) - 1
        yield (f"{row.chrom}\t{start}\t{start + 1}\t{_name(row)}\t{score}\t.\t{start}\t{start + 1}\t{colour}\n")


def bedgraph_lines(df: "pd.DataFrame", group: str, track_name: str | None = None) -> Iterator[str]:
    """bedGraph lines (with a track line): signed -log10 FDR of the preferred allele for every tested SNV."""
    name = track_name or f"allelekit ASB {group} signed -log10 FDR"
    yield (f'track type=bedGraph name="{name}" description="+: ref preferred, -: alt preferred; group {group}" '
           f'visibility=full color={COLOURS["ref"]} altColor={COLOURS["alt"]} autoScale=on\n')
    for row in df.itertuples(index=False):
        v = _neglog10(row.fdr)
        if row.pref_allele == "alt":
            v = -v
        start = int(row.pos) - 1
        yield f"{row.chrom}\t{start}\t{start + 1}\t{v:.6g}\n"
