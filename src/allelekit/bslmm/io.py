"""Inputs of allelekit-bslmm: expression matrix, gene annotation, covariates, sample lists, genotypes.

Every problem with an input raises :class:`~allelekit.errors.AllelekitError` naming the file and the
offending gene / sample / column.
"""
from __future__ import annotations

import gzip
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AllelekitError

log = logging.getLogger("allelekit.bslmm")


def _open_text(path: str | os.PathLike):
    path = str(path)
    if path.endswith(".gz"):
        return gzip.open(path, "rt")
    return open(path, "rt")


def _exists(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise AllelekitError(f"{what} {path}: no such file")
    return p


# --- expression -----------------------------------------------------------------------------------
@dataclass
class Expression:
    genes: list[str]
    samples: list[str]
    values: np.ndarray   # (genes, samples) float64, NaN = missing


def read_expression(path: str | os.PathLike) -> Expression:
    """Genes x samples matrix: TSV (optionally gzipped) or Parquet; first column = gene id."""
    import pandas as pd

    p = _exists(path, "expression file")
    try:
        if p.suffix == ".parquet" or str(p).endswith(".pq"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise AllelekitError(f"expression file {path}: cannot be read ({exc})") from None
    if df.shape[1] < 2 or df.shape[0] < 1:
        raise AllelekitError(f"expression file {path}: expected a gene id column and at least one sample column "
                             f"(genes x samples, tab-separated), got {df.shape[1]} column(s) and {df.shape[0]} row(s)")
    gcol = df.columns[0]
    genes = [str(g) for g in df[gcol]]
    dup = sorted({g for g in genes if genes.count(g) > 1}) if len(set(genes)) != len(genes) else []
    if dup:
        raise AllelekitError(f"expression file {path}: duplicated gene id(s) {', '.join(dup[:5])}")
    samples = [str(c) for c in df.columns[1:]]
    if len(set(samples)) != len(samples):
        raise AllelekitError(f"expression file {path}: duplicated sample column names")
    vals = np.empty((len(genes), len(samples)))
    na = {"", "NA", "NaN", "nan", "."}
    for k, s in enumerate(samples):
        col = df[df.columns[k + 1]]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            txt = col.astype(str).str.strip()
            num = pd.to_numeric(txt.where(~txt.isin(na)), errors="coerce")
            bad = num.isna() & ~txt.isin(na)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise AllelekitError(f"expression file {path}: non-numeric value {txt.iloc[i]!r} for gene "
                                     f"{genes[i]}, sample {s} ({int(bad.sum())} such value(s) in this column); "
                                     "use numbers, or NA for missing")
            vals[:, k] = num.to_numpy(dtype=float)
        else:
            try:
                vals[:, k] = col.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise AllelekitError(f"expression file {path}: column {s} is not numeric") from None
    return Expression(genes, samples, vals)


# --- gene annotation ------------------------------------------------------------------------------
@dataclass
class GeneAnnotation:
    gene: str
    chrom: str
    tss: int      # 1-based
    strand: str


_GTF_ATTR = re.compile(r'(\S+)\s+"([^"]*)"')


def read_annotation(path: str | os.PathLike) -> dict[str, GeneAnnotation]:
    """Gene id -> TSS.  BED (name in column 4, strand in 6; TSS = start+1 on '+', end on '-'),
    GTF (``gene`` features, ``gene_id`` attribute; ``gene_name`` also accepted as an alias), or a TSV
    with a header containing gene id, chrom and tss columns (``gene_id``/``gene``, ``chrom``/``chr``,
    ``tss``/``pos``, optional ``strand``)."""
    p = _exists(path, "gene annotation")
    name = str(p).lower().removesuffix(".gz")
    out: dict[str, GeneAnnotation] = {}
    if name.endswith((".gtf", ".gff", ".gff3")):
        rows: dict[str, list] = {}
        with _open_text(p) as fh:
            for ln, line in enumerate(fh, 1):
                if line.startswith("#") or not line.strip():
                    continue
                f = line.rstrip("\n").split("\t")
                if len(f) < 9:
                    raise AllelekitError(f"gene annotation {path}: line {ln} has {len(f)} fields, a GTF needs 9")
                attrs = dict(_GTF_ATTR.findall(f[8]))
                gid = attrs.get("gene_id") or attrs.get("ID")
                if not gid:
                    continue
                start, end = int(f[3]), int(f[4])
                rec = rows.setdefault(gid, [f[0], start, end, f[6], f[2] == "gene", attrs.get("gene_name")])
                if f[2] == "gene" or not rec[4]:
                    if f[2] == "gene" and not rec[4]:
                        rows[gid] = [f[0], start, end, f[6], True, attrs.get("gene_name")]
                    else:
                        rec[1], rec[2] = min(rec[1], start), max(rec[2], end)
        for gid, (chrom, start, end, strand, _, gname) in rows.items():
            a = GeneAnnotation(gid, chrom, start if strand != "-" else end, strand)
            out[gid] = a
            if gname and gname not in out:
                out.setdefault(gname, a)
    elif name.endswith(".bed"):
        with _open_text(p) as fh:
            for ln, line in enumerate(fh, 1):
                if line.startswith(("#", "track", "browser")) or not line.strip():
                    continue
                f = line.rstrip("\n").split("\t")
                if len(f) < 4:
                    raise AllelekitError(f"gene annotation {path}: BED line {ln} needs at least 4 columns "
                                         "(chrom, start, end, gene id)")
                try:
                    start, end = int(f[1]), int(f[2])
                except ValueError:
                    raise AllelekitError(f"gene annotation {path}: BED line {ln}: start/end are not integers") from None
                strand = f[5] if len(f) > 5 and f[5] in "+-" else "+"
                out[f[3]] = GeneAnnotation(f[3], f[0], start + 1 if strand != "-" else end, strand)
    else:
        import pandas as pd

        df = pd.read_csv(p, sep="\t", dtype=str)
        cols = {c.lower().lstrip("#"): c for c in df.columns}

        def pick(*names):
            for nm in names:
                if nm in cols:
                    return cols[nm]
            return None
        g, c, t, s = (pick("gene_id", "gene", "id", "name"), pick("chrom", "chr", "chromosome", "contig"),
                      pick("tss", "pos", "position"), pick("strand"))
        if g is None or c is None or t is None:
            raise AllelekitError(f"gene annotation {path}: a TSV annotation needs columns gene_id, chrom and tss "
                                 f"(found: {', '.join(map(str, df.columns))}); or give a .bed / .gtf file")
        for _, row in df.iterrows():
            try:
                tss = int(row[t])
            except ValueError:
                raise AllelekitError(f"gene annotation {path}: tss {row[t]!r} of gene {row[g]} is not an integer") from None
            out[str(row[g])] = GeneAnnotation(str(row[g]), str(row[c]), tss, str(row[s]) if s else "+")
    if not out:
        raise AllelekitError(f"gene annotation {path}: no genes found")
    return out


# --- covariates and sample lists -------------------------------------------------------------------
def read_covariates(path: str | os.PathLike, samples: list[str]) -> np.ndarray:
    """Covariates for ``samples`` as (n, c).  Accepts covariates x samples (GTEx style: first column the
    covariate name, sample columns) or samples x covariates (first column the sample)."""
    import pandas as pd

    p = _exists(path, "covariates file")
    df = pd.read_csv(p, sep="\t")
    if df.shape[1] < 2:
        raise AllelekitError(f"covariates file {path}: expected at least two tab-separated columns")
    cols = [str(c) for c in df.columns[1:]]
    first = [str(v) for v in df.iloc[:, 0]]
    if set(samples) <= set(cols):
        mat = df.set_index(df.columns[0])[samples].T
    elif set(samples) <= set(first):
        mat = df.set_index(df.columns[0]).loc[samples]
    else:
        miss = [s for s in samples if s not in cols and s not in first]
        raise AllelekitError(f"covariates file {path}: {len(miss)} analysed sample(s) have no covariates "
                             f"(e.g. {', '.join(miss[:3])}); give covariates for every sample")
    try:
        arr = mat.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise AllelekitError(f"covariates file {path}: non-numeric covariate values (encode categories as 0/1)") from None
    if np.isnan(arr).any():
        raise AllelekitError(f"covariates file {path}: missing covariate values; impute them first")
    return arr


def read_sample_list(path: str | os.PathLike) -> list[str]:
    p = _exists(path, "sample list")
    with _open_text(p) as fh:
        return [ln.strip().split("\t")[0] for ln in fh if ln.strip() and not ln.startswith("#")]


# --- genotypes ------------------------------------------------------------------------------------
@dataclass
class Genotypes:
    samples: list[str]
    chrom: np.ndarray     # (m,) str
    pos: np.ndarray       # (m,) int64, 1-based
    ref: np.ndarray
    alt: np.ndarray
    vid: np.ndarray       # variant id (VCF ID or chrom:pos:ref:alt)
    dosage: np.ndarray    # (m, n) float32, NaN = missing
    n_skipped_nonsnv: int = 0

    def window(self, chrom: str, lo: int, hi: int) -> np.ndarray:
        """Indices of variants on chrom with lo <= pos <= hi (sorted by position)."""
        idx = np.flatnonzero(self.chrom == chrom)
        if idx.size == 0:
            return idx
        p = self.pos[idx]
        a, b = np.searchsorted(p, lo, "left"), np.searchsorted(p, hi, "right")
        return idx[a:b]


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def resolve_chrom(chrom: str, vcf_chroms: set[str]) -> str | None:
    if chrom in vcf_chroms:
        return chrom
    alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
    return alt if alt in vcf_chroms else None


def load_genotypes(path: str | os.PathLike, samples: list[str], regions: dict[str, list[tuple[int, int]]],
                   dosage: str = "gt") -> Genotypes:
    """Biallelic SNVs inside ``regions`` (chrom -> [(lo, hi)], 1-based inclusive) for ``samples``.

    ``dosage='gt'``: ALT count from GT (missing -> NaN); ``'ds'``: the DS FORMAT field.
    Uses the index (.tbi/.csi) when there is one, else scans the file.
    """
    from cyvcf2 import VCF

    try:
        vcf = VCF(str(path), samples=samples, lazy=True, threads=1)
    except Exception as exc:  # noqa: BLE001
        raise AllelekitError(f"VCF {path}: cannot be opened ({exc})") from None
    order = {s: i for i, s in enumerate(vcf.samples)}
    col = np.array([order[s] for s in samples])
    if dosage == "ds" and "DS" not in [h.info().get("ID") for h in vcf.header_iter() if h.type == "FORMAT"]:
        raise AllelekitError(f"VCF {path}: --dosage ds but the header declares no DS FORMAT field; use --dosage gt")
    has_index = any(Path(str(path) + ext).exists() for ext in (".tbi", ".csi"))
    chroms, poss, refs, alts, ids, rows = [], [], [], [], [], []
    skipped = 0
    gt_map = np.array([0.0, 1.0, np.nan, 2.0], dtype=np.float32)

    def take(v) -> None:
        nonlocal skipped
        if len(v.REF) != 1 or len(v.ALT) != 1 or len(v.ALT[0]) != 1 or v.ALT[0] not in "ACGT" or v.REF not in "ACGT":
            skipped += 1
            return
        if dosage == "ds":
            ds = v.format("DS")
            if ds is None:
                d = np.full(len(samples), np.nan, dtype=np.float32)
            else:
                d = ds[:, 0].astype(np.float32)[col]
                d[(d < 0) | (d > 2) | ~np.isfinite(d)] = np.nan
        else:
            d = gt_map[v.gt_types[col]]
        chroms.append(v.CHROM)
        poss.append(v.POS)
        refs.append(v.REF)
        alts.append(v.ALT[0])
        ids.append(v.ID if v.ID else f"{v.CHROM}:{v.POS}:{v.REF}:{v.ALT[0]}")
        rows.append(d)

    merged = {c: _merge(iv) for c, iv in regions.items()}
    if has_index:
        for c, ivs in merged.items():
            for a, b in ivs:
                for v in vcf(f"{c}:{a}-{b}"):
                    take(v)
    else:
        starts = {c: np.array([a for a, _ in iv]) for c, iv in merged.items()}
        ends = {c: np.array([b for _, b in iv]) for c, iv in merged.items()}
        for v in vcf:
            c = v.CHROM
            if c not in merged:
                continue
            k = np.searchsorted(starts[c], v.POS, "right") - 1
            if k >= 0 and v.POS <= ends[c][k]:
                take(v)
    vcf.close()
    m = len(poss)
    dos = np.vstack(rows) if m else np.zeros((0, len(samples)), dtype=np.float32)
    chrom = np.array(chroms, dtype=object)
    pos = np.array(poss, dtype=np.int64)
    o = np.lexsort((pos, chrom.astype(str))) if m else np.arange(0)
    return Genotypes(samples, chrom[o], pos[o], np.array(refs, dtype=object)[o], np.array(alts, dtype=object)[o],
                     np.array(ids, dtype=object)[o], dos[o], skipped)
