"""BAM/CRAM inputs: header checks, sample names, BAI/CSI index parsing and a BGZF block reader.

The fast counter (:mod:`allelekit.counting`) reads BAM files itself: :func:`iter_bgzf` inflates BGZF
blocks with :mod:`zlib` starting at a virtual file offset, and :class:`BamIndex` turns a
(contig, position) into the virtual offset from which every record overlapping that position (and
every later one) is found, using the BAI linear index or the CSI bin offsets.
"""
from __future__ import annotations

import gzip
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import AllelekitError

log = logging.getLogger("allelekit.io")

__all__ = ["BamHeader", "read_bam_header", "find_index", "BamIndex", "read_index", "iter_bgzf",
           "check_bgzf_eof", "validate_index", "BGZF_EOF"]

def _pick_inflate():
    """The fastest raw-DEFLATE decoder available: libdeflate (``deflate`` package, as htslib uses),
    ISA-L (``isal``), else the standard library's zlib.  Returns (name, f(data, isize) -> bytes)."""
    try:
        import deflate

        return "libdeflate", lambda data, isize: deflate.deflate_decompress(data, isize)
    except ImportError:
        pass
    try:
        from isal import isal_zlib

        return "isal", lambda data, isize: isal_zlib.decompress(data, -15)
    except ImportError:
        pass
    return "zlib", lambda data, isize: zlib.decompress(data, -15)


INFLATE_NAME, _inflate = _pick_inflate()
_INFLATE_ERRORS: tuple = (zlib.error,)
try:  # pragma: no cover - depends on what is installed
    import deflate as _deflate

    _INFLATE_ERRORS += (_deflate.DeflateError,)
except ImportError:
    pass
try:  # pragma: no cover
    from isal import isal_zlib as _isal_zlib

    _INFLATE_ERRORS += (_isal_zlib.error,)
except ImportError:
    pass

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


@dataclass
class BamHeader:
    """What allelekit needs from a BAM/CRAM header."""

    path: str
    is_cram: bool
    references: tuple[str, ...]
    lengths: tuple[int, ...]
    samples: tuple[str, ...]  # distinct @RG SM values, in header order
    sort_order: str | None


def check_bgzf_eof(path: str | os.PathLike) -> None:
    """Raise :class:`AllelekitError` when a BAM file is empty or lacks the BGZF end-of-file block."""
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise AllelekitError(f"{p}: the BAM file is empty")
    with open(p, "rb") as fh:
        head = fh.read(4)
        if head[:2] != b"\x1f\x8b":
            raise AllelekitError(f"{p}: not a BAM file (not BGZF compressed); for SAM text convert with "
                                 "`samtools sort -o x.bam x.sam && samtools index x.bam`")
        fh.seek(max(0, size - 28))
        if fh.read(28) != BGZF_EOF:
            raise AllelekitError(f"{p}: the BAM file is truncated (no BGZF end-of-file marker); "
                                 "re-create or re-download it")


def read_bam_header(path: str | os.PathLike, reference: str | None = None) -> BamHeader:
    """Open a BAM/CRAM header with pysam and check that the file is usable.

    Checks: the file exists and is not empty or truncated (BAM), it has a current index (BAM; see
    :func:`find_index`), it is coordinate sorted (``@HD SO``
    not ``unsorted``/``queryname``), it has ``@SQ`` lines, and a CRAM has a ``reference``.
    """
    import pysam

    p = Path(path)
    if not p.exists():
        raise AllelekitError(f"{p}: no such BAM/CRAM file")
    with open(p, "rb") as fh:
        magic = fh.read(4)
    is_cram = magic == b"CRAM"
    if not is_cram:
        check_bgzf_eof(p)
        _check_sort_order(p, _raw_header_text(p))
        ipath = find_index(p, warn_old=False)  # before htslib, which would only warn about a stale index
        idx = read_index(ipath)
        validate_index(p, idx)
        if not any(idx.has_reads(t) for t in range(idx.n_ref)):
            raise AllelekitError(f"{p}: the BAM has no aligned records (header only); check that the "
                                 "alignment step produced output")
        if ipath.stat().st_mtime + 1.0 < p.stat().st_mtime:
            log.warning("%s: the index %s is older than the file (it matches the file's records; if the BAM "
                        "was rewritten, re-create the index with `samtools index`)", p, ipath.name)
    elif reference is None:
        raise AllelekitError(f"{p}: reading CRAM needs the reference FASTA; pass --reference ref.fa")
    verbosity = pysam.set_verbosity(0)  # our own messages replace htslib's
    try:
        kw = {"reference_filename": str(reference)} if is_cram else {}
        with pysam.AlignmentFile(str(p), "rc" if is_cram else "rb", check_sq=False, **kw) as af:
            hdr = af.header.to_dict()
            refs, lens = tuple(af.references), tuple(af.lengths)
    except (OSError, ValueError) as exc:
        raise AllelekitError(f"{p}: cannot read the BAM/CRAM header ({exc})") from None
    finally:
        pysam.set_verbosity(verbosity)
    if not refs:
        raise AllelekitError(f"{p}: no @SQ lines in the header (unaligned reads?); align and sort it first")
    so = (hdr.get("HD") or {}).get("SO")
    _check_sort_order(p, f"@HD\tSO:{so}\n" if so else "")
    sms = []
    for rg in hdr.get("RG", []) or []:
        sm = rg.get("SM")
        if sm and sm not in sms:
            sms.append(sm)
    return BamHeader(str(p), is_cram, refs, lens, tuple(sms), so)


def _raw_header_text(p: Path) -> str:
    """The SAM header text of a BAM, read without htslib (no index is opened)."""
    data = b""
    for block in iter_bgzf(p, 0):
        data += block
        if len(data) >= 8 and len(data) >= 8 + struct.unpack_from("<i", data, 4)[0]:
            break
    if data[:4] != b"BAM\x01":
        raise AllelekitError(f"{p}: not a BAM file (no BAM magic); is it a gzipped SAM?")
    (l_text,) = struct.unpack_from("<i", data, 4)
    return data[8:8 + l_text].decode("utf-8", "replace")


def _check_sort_order(p: Path, header_text: str) -> None:
    for line in header_text.splitlines():
        if line.startswith("@HD"):
            for f in line.split("\t")[1:]:
                if f.startswith("SO:") and f[3:] in ("unsorted", "queryname"):
                    raise AllelekitError(f"{p}: the BAM is not coordinate-sorted (@HD {f}); sort and index it: "
                                         "`samtools sort -o sorted.bam in.bam && samtools index sorted.bam`")
            break


def find_index(path: str | os.PathLike, warn_old: bool = True) -> Path:
    """The index of a BAM/CRAM (``x.bam.bai``, ``x.bai``, ``x.bam.csi``, ``x.cram.crai``).

    Raises :class:`AllelekitError` when there is none.  An index older than the file only gets a
    warning (copies and checkouts reorder modification times); :func:`validate_index` checks that an
    index really belongs to the file.
    """
    p = Path(path)
    cands = [Path(str(p) + ".bai"), p.with_suffix(".bai"), Path(str(p) + ".csi"), Path(str(p) + ".crai"),
             p.with_suffix(".crai")]
    for c in cands:
        if c.exists() and c != p:
            if warn_old and c.stat().st_mtime + 1.0 < p.stat().st_mtime:
                log.warning("%s: the index %s is older than the file; if the BAM was rewritten, re-create "
                            "the index with `samtools index`", p, c.name)
            return c
    raise AllelekitError(f"{p}: no index found (.bai/.csi/.crai); create it with `samtools index {p}`")


class BamIndex:
    """Start offsets from a BAI or CSI index.

    :meth:`start_offset` gives a virtual offset at or before the first record that overlaps position
    ``beg`` (0-based) of reference ``tid``; every record overlapping ``beg`` or starting after it
    comes at or after that offset.  BAI: the linear index entry of ``beg``'s 16 kb window (walking
    back over empty windows).  CSI: the ``loffset`` of the deepest existing bin containing ``beg``.
    """

    def __init__(self, path: Path, kind: str, n_ref: int, min_shift: int, depth: int,
                 linear: list[np.ndarray], loffsets: list[dict[int, int]], first: list[int | None],
                 last: list[int]):
        self.path, self.kind, self.n_ref, self.min_shift, self.depth = path, kind, n_ref, min_shift, depth
        self._linear, self._loff, self._first, self._last = linear, loffsets, first, last

    def has_reads(self, tid: int) -> bool:
        return 0 <= tid < self.n_ref and self._first[tid] is not None

    def start_offset(self, tid: int, beg: int) -> int | None:
        """Virtual offset to start reading for records overlapping ``beg``; None if ``tid`` has no reads."""
        if not self.has_reads(tid):
            return None
        first = self._first[tid]
        if beg <= 0:
            return first
        if self.kind == "bai":
            lin = self._linear[tid]
            w = min(beg >> 14, len(lin) - 1)
            while w >= 0:
                if lin[w]:
                    return max(int(lin[w]), first) if first is not None else int(lin[w])
                w -= 1
            return first
        # CSI
        bins = self._loff[tid]
        level_off = ((1 << (3 * self.depth)) - 1) // 7
        b = level_off + (beg >> self.min_shift)
        while True:
            if b in bins:
                return max(bins[b], first)
            if b == 0:
                return first
            b = (b - 1) >> 3


def validate_index(bam: str | os.PathLike, idx: BamIndex) -> None:
    """Check that ``idx`` belongs to ``bam``: for each reference with reads, the index's first offset
    must be a BGZF block of the file holding a record of that reference, and no offset may lie
    beyond the end of the file.  Raises :class:`AllelekitError` ("stale index") otherwise.
    """
    p = Path(bam)
    size = p.stat().st_size
    stale = (f"{p}: the index {idx.path.name} does not match the file (stale index from an earlier "
             f"version of the BAM?); re-create it with `samtools index {p}`")
    for tid in range(idx.n_ref):
        if not idx.has_reads(tid):
            continue
        if (idx._last[tid] >> 16) > size:
            raise AllelekitError(stale)
        voff = idx.start_offset(tid, 0)
        data = b""
        try:
            for block in iter_bgzf(p, voff):
                data += block
                if len(data) >= 12:
                    break
        except AllelekitError:
            raise AllelekitError(stale) from None
        if len(data) < 12:
            raise AllelekitError(stale)
        bs, refid = struct.unpack_from("<ii", data, 0)
        if refid != tid or bs < 32:
            raise AllelekitError(stale)


def _parse_bai(data: bytes, path: Path) -> BamIndex:
    if data[:4] != b"BAI\x01":
        raise AllelekitError(f"{path}: not a BAI index; re-create it with `samtools index`")
    off = 4
    (n_ref,) = struct.unpack_from("<i", data, off); off += 4
    linear, first, last = [], [], []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, off); off += 4
        mn, mx = None, 0
        for _ in range(n_bin):
            b, n_chunk = struct.unpack_from("<Ii", data, off); off += 8
            if n_chunk:
                ch = np.frombuffer(data, dtype="<u8", count=2 * n_chunk, offset=off)
                if b != 37450:
                    m = int(ch[0::2].min())
                    mn = m if mn is None else min(mn, m)
                    mx = max(mx, int(ch[1::2].max()))
            off += 16 * n_chunk
        (n_intv,) = struct.unpack_from("<i", data, off); off += 4
        linear.append(np.frombuffer(data, dtype="<u8", count=n_intv, offset=off).copy())
        off += 8 * n_intv
        first.append(mn)
        last.append(mx)
    return BamIndex(path, "bai", n_ref, 14, 5, linear, [], first, last)


def _parse_csi(data: bytes, path: Path) -> BamIndex:
    if data[:4] != b"CSI\x01":
        raise AllelekitError(f"{path}: not a CSI index; re-create it with `samtools index -c`")
    min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    off = 16 + l_aux
    (n_ref,) = struct.unpack_from("<i", data, off); off += 4
    pseudo = ((1 << (3 * (depth + 1))) - 1) // 7 + 1
    loffs, first, last = [], [], []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", data, off); off += 4
        d, mn, mx = {}, None, 0
        for _ in range(n_bin):
            b, loff, n_chunk = struct.unpack_from("<IQi", data, off); off += 16
            if b != pseudo:
                d[b] = loff
                if n_chunk:
                    ch = np.frombuffer(data, dtype="<u8", count=2 * n_chunk, offset=off)
                    m = int(ch[0::2].min())
                    mn = m if mn is None else min(mn, m)
                    mx = max(mx, int(ch[1::2].max()))
            off += 16 * n_chunk
        loffs.append(d)
        first.append(mn)
        last.append(mx)
    return BamIndex(path, "csi", n_ref, min_shift, depth, [], loffs, first, last)


def read_index(path: str | os.PathLike, n_ref: int | None = None) -> BamIndex:
    """Parse a ``.bai`` or ``.csi`` index (``n_ref``: the BAM header's reference count, checked)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        idx = _parse_csi(raw, p) if raw[:4] == b"CSI\x01" else _parse_bai(raw, p)
    except (struct.error, ValueError, OSError, EOFError, zlib.error) as exc:
        raise AllelekitError(f"{p}: the index is corrupt or truncated ({exc}); re-create it with "
                             "`samtools index`") from None
    if n_ref is not None and idx.n_ref != n_ref:
        raise AllelekitError(f"{p}: the index lists {idx.n_ref} references but the BAM header has {n_ref}; "
                             "it belongs to another file or is stale: re-run `samtools index`")
    return idx


def iter_bgzf(path: str | os.PathLike, voffset: int, read_size: int = 1 << 20) -> Iterator[bytes]:
    """Yield the inflated BGZF blocks of ``path`` from virtual offset ``voffset`` to the end.

    The first block is trimmed to start at the offset's in-block position.  Raises
    :class:`AllelekitError` on a corrupt or truncated block.  Inflates with libdeflate when the
    ``deflate`` package is installed (about 3x faster than zlib), else ISA-L, else zlib.
    """
    p = Path(path)
    coff, uoff = voffset >> 16, voffset & 0xFFFF
    inflate = _inflate
    with open(p, "rb") as fh:
        fh.seek(coff)
        pending = b""
        view = memoryview(pending)
        pos = 0  # position in `pending`
        first = True
        eof = False
        while True:
            if len(pending) - pos < 18 + 65536 and not eof:
                more = fh.read(read_size)
                if not more:
                    eof = True
                pending = pending[pos:] + more
                view = memoryview(pending)
                pos = 0
            if len(pending) - pos == 0:
                return
            if len(pending) - pos < 18:
                raise AllelekitError(f"{p}: truncated BGZF block at the end of the file")
            h = pending[pos:pos + 18]
            if h[0] != 0x1F or h[1] != 0x8B or h[3] & 4 == 0 or h[12] != 66 or h[13] != 67:
                raise AllelekitError(f"{p}: corrupt BGZF block at file offset {coff}; the BAM is damaged")
            bsize = (h[16] | (h[17] << 8)) + 1
            if len(pending) - pos < bsize:
                if eof:
                    raise AllelekitError(f"{p}: truncated BGZF block at file offset {coff}")
                continue
            xlen = h[10] | (h[11] << 8)
            end = pos + bsize
            isize = pending[end - 4] | (pending[end - 3] << 8) | (pending[end - 2] << 16) | (pending[end - 1] << 24)
            try:
                data = inflate(view[pos + 12 + xlen: end - 8], isize) if isize else b""
            except _INFLATE_ERRORS as exc:
                raise AllelekitError(f"{p}: corrupt BGZF block at file offset {coff} ({exc})") from None
            pos += bsize
            coff += bsize
            if first:
                data = data[uoff:]
                first = False
            if data:
                yield data
