"""Driver of the fast counter: splits the work into (BAM, contig, SNV chunk) tasks, inflates BGZF
blocks with zlib, hands the bytes to the numba kernel (:mod:`allelekit.counting.kernel`) and
collects per-SNV counts.  Tasks run in worker processes with ``threads > 1``.

Memory is proportional to the SNVs: records are parsed in batches of a few MB and the
observations of a SNV are resolved as soon as the reads have moved past it.
"""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import AllelekitError
from ..io.bam import find_index, iter_bgzf, read_index

log = logging.getLogger("allelekit.counting")

BASE_CODE = {"A": 1, "C": 2, "G": 4, "T": 8}
FLAG_UNMAPPED, FLAG_SECONDARY, FLAG_QCFAIL, FLAG_DUP, FLAG_SUPPLEMENTARY = 0x4, 0x100, 0x200, 0x400, 0x800
BATCH_BYTES = 4 << 20  # inflated bytes handed to the kernel per call
OBS_CAPACITY = 1 << 16  # initial (SNV, fragment) observation slots; doubled when needed


@dataclass(frozen=True)
class ReadFilter:
    """Which records and bases count (see :func:`flag_mask`)."""

    min_mapq: int = 1
    min_baseq: int = 20
    include_duplicates: bool = False
    include_secondary: bool = False
    include_supplementary: bool = False
    include_qcfail: bool = False

    @property
    def flag_mask(self) -> int:
        m = FLAG_UNMAPPED
        if not self.include_secondary:
            m |= FLAG_SECONDARY
        if not self.include_qcfail:
            m |= FLAG_QCFAIL
        if not self.include_duplicates:
            m |= FLAG_DUP
        if not self.include_supplementary:
            m |= FLAG_SUPPLEMENTARY
        return m


@dataclass
class Task:
    """One unit of work: the SNVs ``snv_pos`` (0-based, sorted) of contig ``tid`` in one BAM."""

    key: int
    bam: str
    tid: int
    contig: str
    voffset: int
    snv_pos: np.ndarray
    snv_ref: np.ndarray
    snv_alt: np.ndarray


@dataclass
class TaskResult:
    key: int
    counts: np.ndarray  # (n_snv, 4) int64: ref, alt, other, del
    records: int = 0
    used: int = 0
    no_seq: int = 0
    long_cigar: int = 0
    cpu_s: float = 0.0  # CPU time of the task in the process that ran it
    pid: int = 0


def run_task(task: Task, filt: ReadFilter) -> TaskResult:
    """Count one task (runs in a worker process when threads > 1)."""
    from . import kernel as K

    c0 = time.process_time()
    nsnv = len(task.snv_pos)
    counts = np.zeros((nsnv, K.N_CODES), np.int64)
    state = np.zeros(K.STATE_SIZE, np.int64)
    state[K.S_LASTPOS] = -1
    cap = OBS_CAPACITY
    obs_snv = np.empty(cap, np.int64)
    obs_hash = np.empty(cap, np.uint64)
    obs_code = np.empty(cap, np.uint8)
    buf = np.empty(BATCH_BYTES + (1 << 17), np.uint8)
    n = 0
    done = False

    def call(n):
        nonlocal obs_snv, obs_hash, obs_code
        while True:
            off, status = K.count_records(buf, n, 0, task.tid, task.snv_pos, task.snv_ref, task.snv_alt,
                                          filt.min_mapq, filt.min_baseq, filt.flag_mask, state,
                                          obs_snv, obs_hash, obs_code, counts)
            if status == K.GROW:
                k = len(obs_snv) * 2
                obs_snv = np.resize(obs_snv, k)
                obs_hash = np.resize(obs_hash, k)
                obs_code = np.resize(obs_code, k)
                # continue from `off`: shift the unprocessed bytes to the front
                rest = n - off
                buf[:rest] = buf[off:n]
                n = rest
                continue
            return off, status, n

    if nsnv:
        blocks = iter_bgzf(task.bam, task.voffset)
        for data in blocks:
            d = np.frombuffer(data, np.uint8)
            if n + len(d) > len(buf):
                buf = _grow(buf, n + len(d))
            buf[n:n + len(d)] = d
            n += len(d)
            if n < BATCH_BYTES:
                continue
            off, status, n = call(n)
            if status == K.DONE:
                done = True
                break
            _check(status, task)
            rest = n - off
            buf[:rest] = buf[off:n]
            n = rest
        if not done:
            off, status, n = call(n)
            _check(status, task)
            if status != K.DONE and off != n:
                raise AllelekitError(f"{task.bam}: the last BAM record is truncated; the file is damaged")
        K.finalize(obs_snv, obs_hash, obs_code, state[K.S_PENDING], nsnv, counts)
    return TaskResult(task.key, counts, int(state[K.S_RECORDS]), int(state[K.S_USED]),
                      int(state[K.S_NOSEQ]), int(state[K.S_LONGCIGAR]), time.process_time() - c0, os.getpid())


def _grow(buf: np.ndarray, need: int) -> np.ndarray:
    new = np.empty(max(need, 2 * len(buf)), np.uint8)
    new[:len(buf)] = buf
    return new


def _check(status: int, task: Task) -> None:
    from . import kernel as K

    if status == K.UNSORTED:
        raise AllelekitError(f"{task.bam}: records on {task.contig} are not sorted by position; sort and "
                             f"index the BAM: `samtools sort -o sorted.bam {task.bam} && samtools index sorted.bam`")
    if status == K.MALFORMED:
        raise AllelekitError(f"{task.bam}: malformed BAM record on {task.contig}; the file is damaged")


def _run_task_star(args):
    return run_task(*args)


@dataclass
class BamSnvs:
    """The SNVs to count in one BAM: parallel arrays, sorted by contig then 1-based position."""

    bam: str
    references: Sequence[str]
    chrom: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    alt: np.ndarray


def make_tasks(items: Sequence[BamSnvs], threads: int, start_key: int = 0) -> tuple[list[Task], list[tuple[int, np.ndarray]]]:
    """Split each BAM's SNVs into tasks by contig (and into pieces of contigs when ``threads > 1``).

    Returns the tasks and, per task key, (item index, the SNV row indices of that item it covers).
    """
    tasks: list[Task] = []
    where: list[tuple[int, np.ndarray]] = []
    spans = []
    for it in items:
        for c in dict.fromkeys(it.chrom.tolist()):
            m = np.flatnonzero(it.chrom == c)
            spans.append(int(it.pos[m].max() - it.pos[m].min() + 1))
    total = max(1, sum(spans))
    target = 1 if threads <= 1 else 4 * threads
    key = start_key
    for ii, it in enumerate(items):
        bidx = read_index(find_index(it.bam, warn_old=False), len(it.references))
        tid_of = {c: i for i, c in enumerate(it.references)}
        for c in dict.fromkeys(it.chrom.tolist()):
            m = np.flatnonzero(it.chrom == c)
            if c not in tid_of:
                continue
            tid = tid_of[c]
            pos0 = it.pos[m] - 1
            o = np.argsort(pos0, kind="stable")
            m, pos0 = m[o], pos0[o]
            span = int(pos0[-1] - pos0[0] + 1)
            pieces = 1 if threads <= 1 else max(1, min(len(m), round(target * span / total)))
            edges = np.linspace(pos0[0], pos0[-1] + 1, pieces + 1).astype(np.int64)
            cut = np.searchsorted(pos0, edges[1:-1], side="left")
            for sub in np.split(np.arange(len(m)), cut):
                if not len(sub):
                    continue
                voff = bidx.start_offset(tid, int(pos0[sub[0]]))
                if voff is None:  # no reads on this contig: the SNVs keep zero counts
                    continue
                rows = m[sub]
                tasks.append(Task(
                    key, it.bam, tid, c, voff, np.ascontiguousarray(pos0[sub], dtype=np.int64),
                    np.array([BASE_CODE[b] for b in it.ref[rows]], np.uint8),
                    np.array([BASE_CODE[b] for b in it.alt[rows]], np.uint8)))
                where.append((ii, rows))
                key += 1
    return tasks, where


def count_snvs(items: Sequence[BamSnvs], filt: ReadFilter, threads: int = 1, progress=None) -> tuple[list[np.ndarray], dict]:
    """Count ref/alt/other/del fragments at the SNVs of each BAM.

    Returns one (n_snv, 4) int64 array per item (rows in the item's order) and totals for the log.
    """
    from . import kernel

    kernel.warm()  # compile / load the cached kernels once, before forking

    tasks, where = make_tasks(items, threads)
    out = [np.zeros((len(it.pos), 4), np.int64) for it in items]
    stats = {"records": 0, "used": 0, "no_seq": 0, "long_cigar": 0, "tasks": len(tasks)}
    if progress is not None and getattr(progress, "total", 0) is None:
        progress.total = len(tasks)

    per_pid: dict[int, float] = {}

    def collect(res: TaskResult):
        per_pid[res.pid] = per_pid.get(res.pid, 0.0) + res.cpu_s
        ii, rows = where[res.key]
        out[ii][rows] = res.counts
        for k in ("records", "used", "no_seq", "long_cigar"):
            stats[k] += getattr(res, k)
        if progress is not None:
            progress.update(1)

    if threads <= 1 or len(tasks) <= 1:
        for t in tasks:
            collect(run_task(t, filt))
    else:
        import multiprocessing as mp

        # largest tasks first for load balance
        order = sorted(tasks, key=lambda t: -len(t.snv_pos))
        with ProcessPoolExecutor(max_workers=threads, mp_context=mp.get_context("fork")) as ex:
            for res in ex.map(_run_task_star, [(t, filt) for t in order]):
                collect(res)
    stats["task_cpu_s"] = sum(per_pid.values())
    stats["busiest_worker_cpu_s"] = max(per_pid.values()) if per_pid else 0.0
    stats["workers"] = len(per_pid)
    return out, stats


def cram_to_bam(cram: str, reference: str, workdir: str, threads: int = 1) -> str:
    """Convert a CRAM to a temporary indexed BAM (htslib through pysam, C speed) for the fast counter."""
    import pysam

    out = os.path.join(workdir, Path(cram).name + ".bam")
    try:
        pysam.samtools.view("-b", "-1", "-@", str(max(1, threads)), "-T", str(reference), "-o", out, str(cram),
                            catch_stdout=False)
        pysam.samtools.index(out)
    except pysam.SamtoolsError as exc:
        raise AllelekitError(f"{cram}: cannot decode the CRAM with reference {reference} ({exc})") from None
    return out
