"""Read allelic observations for allelekit-fit / allelekit-test.

One observation = one heterozygous SNV in one sample.  Three input kinds are accepted and
recognised by their names:

* ``*.parquet``: the ``allele_counts`` table of allelekit-count (its ``bad`` column is used).
* ``*.vcf``, ``*.vcf.gz``, ``*.bcf``: every heterozygous sample (GT with two different called
  alleles 0 and 1) of a biallelic SNV is an observation; counts come from FORMAT/AD, which is
  indexed by *allele* (AD[0] = REF, AD[1] = ALT) whatever the genotype's order, so ``1|0`` is
  read correctly (MixALime swaps it).  A missing QUAL (``.``) is kept (MixALime crashes on it).
  BADs come from ``--bad-maps`` or ``--default-bad``.
* anything else: a MixALime-style BED-like table with a header, columns matched by name, case
  ignored: chromosome = first name starting with ``#chr``/``chr``; position = ``start*`` (0-based,
  converted to 1-based) or ``pos*`` (1-based); ref count = starts with ``ref`` and contains
  ``count``; alt count likewise with ``alt``; ref/alt alleles = the next ``ref*``/``alt*`` names;
  optional ``id``/``name`` and ``bad`` (0 or missing = the default BAD).  The sample is the file
  name without its extension(s).

The result is a pandas DataFrame with columns ``sample chrom pos ref alt variant_id ref_count
alt_count bad``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import AllelekitError

log = logging.getLogger("allelekit.imbalance")

OBS_COLUMNS = ["sample", "chrom", "pos", "ref", "alt", "variant_id", "ref_count", "alt_count", "bad"]
_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")


def input_kind(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(_VCF_SUFFIXES):
        return "vcf"
    return "table"


def _sample_name(path: Path) -> str:
    name = path.name
    for suf in (".gz", ".bgz", ".tsv", ".txt", ".bed", ".csv", ".mapped"):
        if name.lower().endswith(suf) and len(name) > len(suf):
            name = name[: -len(suf)]
    return name


def _check_counts(df, source: str) -> None:
    import pandas as pd

    for col in ("ref_count", "alt_count"):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() & df[col].notna()
        if df[col].isna().any() or bad.any():
            i = int(np.flatnonzero(bad | df[col].isna())[0])
            raise AllelekitError(f"{source}: column {col} has a missing or non-numeric value "
                                 f"({df[col].iloc[i]!r}, row {i + 1}); counts must be integers >= 0")
        if (v < 0).any():
            i = int(np.flatnonzero(v < 0)[0])
            raise AllelekitError(f"{source}: column {col} has a negative count ({v.iloc[i]}, row {i + 1}); "
                                 "counts must be integers >= 0")
        if (v != np.floor(v)).any():
            i = int(np.flatnonzero(v != np.floor(v))[0])
            raise AllelekitError(f"{source}: column {col} has a non-integer count ({v.iloc[i]}, row {i + 1}); "
                                 "counts must be integers >= 0")
        df[col] = v.astype(np.int64)


def read_parquet_counts(path: Path):
    from ..schemas import read_table

    cols = ["sample", "chrom", "pos", "ref", "alt", "ref_count", "alt_count", "bad"]
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise AllelekitError(f"{path}: not a readable Parquet file ({exc})") from None
    if "variant_id" in names:
        cols.insert(5, "variant_id")
    df = read_table(path, "allele_counts", columns=cols).to_pandas()
    if "variant_id" not in df:
        df["variant_id"] = None
    bad = df["bad"].to_numpy(float)
    if (~np.isfinite(bad)).any() or (bad <= 0).any():
        i = int(np.flatnonzero(~(bad > 0) | ~np.isfinite(bad))[0])
        raise AllelekitError(f"{path}: column bad has a value <= 0 or not finite ({bad[i]}, sample "
                             f"{df['sample'].iloc[i]}, {df['chrom'].iloc[i]}:{df['pos'].iloc[i]}); "
                             "a BAD must be > 0 (1 = balanced)")
    _check_counts(df, str(path))
    return df[OBS_COLUMNS]


def _match_columns(names: Sequence[str], source: str) -> dict[str, str | None]:
    low = [n.lower().strip() for n in names]
    used: set[int] = set()

    def first(pred) -> int | None:
        for i, n in enumerate(low):
            if i not in used and pred(n):
                used.add(i)
                return i
        return None

    found = {}
    found["chrom"] = first(lambda n: n.startswith("#chr") or n.startswith("chr"))
    found["pos"] = first(lambda n: n.startswith("start") or n.startswith("pos"))
    found["ref_count"] = first(lambda n: n.startswith("ref") and "count" in n)
    found["alt_count"] = first(lambda n: n.startswith("alt") and "count" in n)
    found["ref"] = first(lambda n: n.startswith("ref"))
    found["alt"] = first(lambda n: n.startswith("alt"))
    found["variant_id"] = first(lambda n: n in ("id", "name"))
    found["bad"] = first(lambda n: n == "bad")
    missing = [k for k in ("chrom", "pos", "ref_count", "alt_count") if found[k] is None]
    if missing:
        raise AllelekitError(
            f"{source}: cannot find column(s) for {', '.join(missing)} in the header "
            f"({', '.join(names)}); a BED-like table needs columns named like #chr, start (or pos), "
            "ref_count and alt_count (case ignored)")
    return {k: (names[i] if i is not None else None) for k, i in found.items()}


def read_bed_like(path: Path, default_bad: float):
    import pandas as pd

    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise AllelekitError(f"{path}: cannot read as a tab-separated table with a header ({exc})") from None
    if df.shape[1] < 4:
        raise AllelekitError(f"{path}: expected a tab-separated table with a header (#chr, start, ref_count, "
                             f"alt_count, ...); found {df.shape[1]} column(s)")
    m = _match_columns(list(df.columns), str(path))
    out = pd.DataFrame({
        "sample": _sample_name(path),
        "chrom": df[m["chrom"]].astype(str),
        "ref_count": df[m["ref_count"]],
        "alt_count": df[m["alt_count"]],
    })
    pos = pd.to_numeric(df[m["pos"]], errors="coerce")
    if pos.isna().any():
        raise AllelekitError(f"{path}: column {m['pos']} has a non-numeric position")
    zero_based = m["pos"].lower().startswith("start")
    out["pos"] = pos.astype(np.int64) + (1 if zero_based else 0)
    out["ref"] = df[m["ref"]].astype(str) if m["ref"] else None
    out["alt"] = df[m["alt"]].astype(str) if m["alt"] else None
    if m["variant_id"]:
        vid = df[m["variant_id"]]
        out["variant_id"] = vid.where(~vid.isin([".", ""]) & vid.notna(), None)
    else:
        out["variant_id"] = None
    if m["bad"]:
        b = pd.to_numeric(df[m["bad"]], errors="coerce")
        if (b < 0).any():
            raise AllelekitError(f"{path}: column {m['bad']} has a negative BAD; a BAD must be > 0 "
                                 "(0 means: use --default-bad)")
        out["bad"] = b.fillna(0.0).to_numpy(float)
    else:
        out["bad"] = 0.0
    out["bad"] = np.where(out["bad"].to_numpy(float) == 0.0, default_bad, out["bad"].to_numpy(float))
    _check_counts(out, str(path))
    return out[OBS_COLUMNS]


def read_vcf(path: Path, default_bad: float, min_qual: float | None = None):
    import pandas as pd
    import pysam

    try:
        vf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise AllelekitError(f"{path}: cannot open as VCF/BCF ({exc})") from None
    if "AD" not in vf.header.formats:
        raise AllelekitError(f"{path}: the VCF has no FORMAT/AD field; allele depths are needed for the counts")
    samples = list(vf.header.samples)
    rows = []
    skipped = 0
    for rec in vf:
        alts = rec.alts or ()
        if len(rec.ref) != 1 or len(alts) != 1 or len(alts[0]) != 1:
            skipped += 1
            continue
        if min_qual is not None and rec.qual is not None and rec.qual < min_qual:
            continue
        for sm in samples:
            call = rec.samples[sm]
            gt = call.get("GT")
            if not gt or len(gt) != 2 or None in gt or gt[0] == gt[1] or set(gt) != {0, 1}:
                continue
            ad = call.get("AD")
            if ad is None or len(ad) < 2 or ad[0] is None or ad[1] is None:
                continue
            rows.append((sm, rec.chrom, rec.pos, rec.ref, alts[0], rec.id, int(ad[0]), int(ad[1])))
    vf.close()
    if skipped:
        log.info("%s: skipped %d record(s) that are not biallelic SNVs", path, skipped)
    df = pd.DataFrame(rows, columns=OBS_COLUMNS[:-1])
    df["bad"] = float(default_bad)
    _check_counts(df, str(path))
    return df[OBS_COLUMNS]


def read_bad_map(path: Path):
    """A BAD map: columns whose names contain ``chr`` and ``start`` (0-based), optionally ``end``
    (half-open), and one named ``bad``.  Returns ``{chrom: (starts, ends_or_None, bads)}``."""
    import pandas as pd

    try:
        df = pd.read_csv(path, sep="\t", dtype=str)
    except Exception as exc:
        raise AllelekitError(f"{path}: cannot read BAD map ({exc})") from None
    low = {c.lower().lstrip("#"): c for c in df.columns}
    chrom = next((c for k, c in low.items() if "chr" in k), None)
    start = next((c for k, c in low.items() if "start" in k), None)
    end = next((c for k, c in low.items() if "end" in k), None)
    bad = low.get("bad")
    if chrom is None or start is None or bad is None:
        raise AllelekitError(f"{path}: a BAD map needs columns named like chr, start (and end) and bad; "
                             f"found {', '.join(df.columns)}")
    b = pd.to_numeric(df[bad], errors="coerce")
    if b.isna().any() or (b <= 0).any():
        raise AllelekitError(f"{path}: column {bad} must hold BADs > 0")
    out = {}
    st = pd.to_numeric(df[start]).astype(np.int64).to_numpy()
    en = pd.to_numeric(df[end]).astype(np.int64).to_numpy() if end else None
    for c, idx in df.groupby(df[chrom].astype(str)).indices.items():
        o = np.argsort(st[idx], kind="stable")
        idx = idx[o]
        out[c] = (st[idx], en[idx] if en is not None else None, b.to_numpy(float)[idx])
    return out


def apply_bad_map(df, bad_map) -> int:
    """Set ``df.bad`` from a BAD map where the SNV is covered; returns how many were covered."""
    pos0 = df["pos"].to_numpy(np.int64) - 1
    bad = df["bad"].to_numpy(float).copy()
    hit = np.zeros(len(df), bool)
    for c, idx in df.groupby("chrom").indices.items():
        if c not in bad_map:
            continue
        st, en, b = bad_map[c]
        p = pos0[idx]
        if en is None:
            j = np.searchsorted(st, p, side="left")
            ok = (j < len(st)) & (st[np.minimum(j, len(st) - 1)] == p)
        else:
            j = np.searchsorted(st, p, side="right") - 1
            jj = np.maximum(j, 0)
            ok = (j >= 0) & (p < en[jj])
        jj = np.clip(j, 0, len(st) - 1)
        bad[idx[ok]] = b[jj[ok]]
        hit[idx[ok]] = True
    df["bad"] = bad
    return int(hit.sum())


def read_observations(paths: Sequence[str | Path], default_bad: float = 1.0, bad_maps: str | Path | None = None,
                      min_qual: float | None = None):
    """Read and concatenate observations from all inputs (see the module docstring)."""
    import pandas as pd

    frames = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise AllelekitError(f"{p}: no such file")
        kind = input_kind(p)
        if kind == "parquet":
            frames.append(read_parquet_counts(p))
        elif kind == "vcf":
            frames.append(read_vcf(p, default_bad, min_qual))
        else:
            frames.append(read_bed_like(p, default_bad))
        log.info("%s: %d observation(s) (%s)", p, len(frames[-1]), kind)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=OBS_COLUMNS)
    if bad_maps:
        n = apply_bad_map(df, read_bad_map(Path(bad_maps)))
        log.info("BAD map %s covers %d of %d observation(s)", bad_maps, n, len(df))
    df["bad"] = np.round(df["bad"].to_numpy(float), 5)
    if len(df) and ((df["bad"] <= 0).any() or not np.isfinite(df["bad"]).all()):
        raise AllelekitError("some observations have a BAD <= 0; give --default-bad or a BAD map that covers them")
    return df


def filter_observations(df, min_count: int, max_cover: int | None, what: str):
    """Keep observations with both counts >= min_count and (optionally) ref+alt <= max_cover."""
    keep = (df["ref_count"] >= min_count) & (df["alt_count"] >= min_count)
    if max_cover is not None:
        keep &= (df["ref_count"] + df["alt_count"]) <= max_cover
    n0 = len(df)
    df = df[keep].reset_index(drop=True)
    if n0 and len(df) < n0:
        log.info("%s: kept %d of %d observation(s) with both counts >= %d%s", what, len(df), n0, min_count,
                 f" and coverage <= {max_cover}" if max_cover is not None else "")
    if len(df) == 0:
        raise AllelekitError(
            f"{what}: no heterozygous observations left (of {n0}) with both allele counts >= {min_count}; "
            "check the input or lower --min-count")
    return df

