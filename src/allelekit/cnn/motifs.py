# motifs.py — JASPAR motifs (offline, pyjaspar), TomTom matching and FIMO scanning (memelite).
"""Known-motif databases and matching.

* :func:`load_jaspar` — JASPAR 2020 CORE vertebrates non-redundant (746 matrices; the latest
  version of each matrix ID, as in DeepAllele's ``motifdatabase/``) from pyjaspar's bundled SQLite
  file, no network.  :func:`read_meme` reads any MEME-format file instead.
* :func:`tomtom_matches` — memelite's TomTom (complete scores, Euclidean column distance; MEME
  was run with ``-dist pearson``) of query PFMs against the database, with per-query
  Benjamini–Hochberg q-values over all targets (as MEME's tomtom reports them).
* :func:`fimo_scan` — memelite's FIMO of every database motif on one-hot sequences.

memelite compiles its numba kernels on first use (minutes on a cold cache); set
``NUMBA_CACHE_DIR`` to keep the compiled code.
"""
from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AllelekitError

log = logging.getLogger("allelekit.cnn")


@dataclass(frozen=True)
class Motif:
    """A database motif: probability matrix ``pfm`` (4, w), ACGT rows."""

    motif_id: str
    name: str
    pfm: np.ndarray = field(repr=False)
    family: str = ""
    tf_class: str = ""


@functools.lru_cache(maxsize=4)
def load_jaspar(release: str = "JASPAR2020", collection: str = "CORE", tax_group: str = "vertebrates") -> tuple[Motif, ...]:
    """The non-redundant (latest version per ID) JASPAR matrices of a collection and taxon.

    Returns
    -------
    tuple of Motif
        Counts converted to column frequencies.
    """
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:  # pragma: no cover - a dependency
        raise AllelekitError(f"pyjaspar is needed for the JASPAR motif database ({exc}); pip install pyjaspar") from None
    try:
        db = jaspardb(release=release)
    except Exception as exc:
        raise AllelekitError(f"cannot open the {release} database of pyjaspar ({exc}); "
                             "use a release pyjaspar ships, e.g. JASPAR2020") from None
    records = db.fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False)
    out = []
    for m in records:
        c = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        pfm = c / np.maximum(c.sum(axis=0, keepdims=True), 1e-12)
        fam = m.tf_family if isinstance(m.tf_family, str) else "; ".join(m.tf_family or [])
        cls = m.tf_class if isinstance(m.tf_class, str) else "; ".join(m.tf_class or [])
        out.append(Motif(m.matrix_id, m.name, pfm, fam, cls))
    if not out:
        raise AllelekitError(f"no motifs for {release} {collection} {tax_group} in pyjaspar")
    return tuple(out)


def read_meme(path: str | Path) -> tuple[Motif, ...]:
    """Motifs of a MEME-format text file (``MOTIF id name`` + ``letter-probability matrix`` rows)."""
    path = Path(path)
    if not path.exists():
        raise AllelekitError(f"{path}: no such motif file")
    motifs, rows, mid, name, in_mat = [], [], None, None, False

    def close():
        if mid is not None and rows:
            pfm = np.asarray(rows, dtype=float).T
            motifs.append(Motif(mid, name or mid, pfm / pfm.sum(axis=0, keepdims=True)))

    for line in path.read_text().splitlines():
        t = line.split()
        if not t:
            if in_mat and rows:
                in_mat = False
            continue
        if t[0] == "MOTIF":
            close()
            mid, name = t[1], (t[2] if len(t) > 2 else t[1])
            rows, in_mat = [], False
        elif line.strip().startswith("letter-probability matrix"):
            in_mat = True
        elif in_mat:
            try:
                rows.append([float(v) for v in t[:4]])
            except ValueError:
                in_mat = False
    close()
    if not motifs:
        raise AllelekitError(f"{path}: no motifs found (expected MEME format with letter-probability matrices)")
    return tuple(motifs)


def write_meme(motifs: dict[str, np.ndarray], path: str | Path, names: dict[str, str] | None = None) -> None:
    """Write PFMs (4, w) to a MEME-format text file."""
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    for k, pfm in motifs.items():
        lines.append(f"MOTIF {k} {(names or {}).get(k, k)}")
        lines.append(f"letter-probability matrix: alength= 4 w= {pfm.shape[1]} nsites= 20 E= 0")
        for col in np.asarray(pfm).T:
            lines.append(" ".join(f"{v:.3f}" for v in col))
        lines.append("")
    Path(path).write_text("\n".join(lines))


def bh(p: np.ndarray, axis: int = -1) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values along ``axis`` (NaN kept as NaN)."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p.copy()
    out = np.full_like(p, np.nan)
    moved = np.moveaxis(p, axis, -1)
    res = np.moveaxis(out, axis, -1)
    for idx in np.ndindex(moved.shape[:-1]):
        v = moved[idx]
        ok = np.isfinite(v)
        if ok.any():
            r = res[idx]
            r[ok] = false_discovery_control(np.clip(v[ok], 0, 1))
    return out


def tomtom_matches(queries: dict[str, np.ndarray], db: tuple[Motif, ...], *, top: int = 4,
                   max_qvalue: float = 0.5, threads: int = 1):
    """TomTom matches of query PFMs against a motif database.

    Parameters
    ----------
    queries: dict of str -> numpy.ndarray, shape=(4, w)
        Query PFMs by name.
    db: tuple of Motif
    top: int
        Keep at most this many matches per query (smallest p first).
    max_qvalue: float
        Keep matches with q below this (MEME's ``-thresh 0.5``).

    Returns
    -------
    pandas.DataFrame
        query, rank, motif_id, motif_name, family, pvalue, qvalue, score, offset, overlap, strand
        ('+' or '-', of the database motif).
    """
    import pandas as pd

    cols = ["query", "rank", "motif_id", "motif_name", "family", "pvalue", "qvalue", "score", "offset",
            "overlap", "strand"]
    if not queries:
        return pd.DataFrame(columns=cols)
    from memelite import tomtom

    names = list(queries)
    Q = [np.ascontiguousarray(queries[k], dtype=np.float64) for k in names]
    T = [np.ascontiguousarray(m.pfm, dtype=np.float64) for m in db]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, score, offset, overlap, strand = tomtom(Q, T, n_jobs=max(1, threads))[:5]
    q = bh(p, axis=1)
    rows = []
    for i, k in enumerate(names):
        order = np.argsort(p[i], kind="stable")
        kept = 0
        for j in order:
            if kept >= top or not q[i, j] < max_qvalue:
                break
            kept += 1
            m = db[j]
            rows.append((k, kept, m.motif_id, m.name, m.family, float(p[i, j]), float(q[i, j]), float(score[i, j]),
                         int(offset[i, j]), int(overlap[i, j]), "-" if strand[i, j] else "+"))
    return pd.DataFrame(rows, columns=cols)


def fimo_scan(db: tuple[Motif, ...], x: np.ndarray, *, threshold: float = 1e-4, reverse_complement: bool = True):
    """FIMO hits of every database motif on one-hot sequences.

    Parameters
    ----------
    db: tuple of Motif
    x: numpy.ndarray, shape=(N, 4, L)
        One-hot sequences (N = 0.25 columns allowed).
    threshold: float
        FIMO p-value threshold.

    Returns
    -------
    pandas.DataFrame
        motif_id, seq (row index), start, end (0-based half-open), strand, score, pvalue.
    """
    import pandas as pd
    from memelite import fimo

    motifs = {m.motif_id: np.ascontiguousarray(m.pfm, dtype=np.float64) for m in db}
    hits = fimo(motifs, np.ascontiguousarray(x, dtype=np.float32), threshold=threshold,
                reverse_complement=reverse_complement, dim=0)
    frames = [h for h in hits if len(h)]
    cols = ["motif_id", "seq", "start", "end", "strand", "score", "pvalue"]
    if not frames:
        return pd.DataFrame(columns=cols)
    df = pd.concat(frames, ignore_index=True)
    df = df.rename(columns={"motif_name": "motif_id", "sequence_name": "seq", "p-value": "pvalue"})
    df["motif_id"] = df["motif_id"].astype(str).str.replace(r"-rc$", "", regex=True)
    df["seq"] = df["seq"].astype(int)
    return df[cols]
