#!/usr/bin/env python3
"""Generate the bundled allelekit demo dataset (``demo/data/``).

A small but realistic allele-specific sequencing experiment, simulated from a fixed seed:

* ``ref.fa`` (+ ``.fai``): three random contigs with GC-content variation, soft-masked
  (lower-case) repeats -- an exact interspersed repeat, a 2 %-diverged copy, poly-A, (CA)n and
  tandem repeats -- and a 100 bp ``N`` gap.
* ``variants.vcf.gz`` (+ ``.tbi``): a multi-sample VCF (``S1``..``S4``) with phased genotypes,
  biallelic and multi-allelic SNVs (some 1 bp apart), insertions and deletions, SNVs in the first
  and last 50 bp of contigs, a few ``LowQual`` records, a few unphased and missing genotypes.
* ``S<k>.bam`` (+ ``.bai``): 2x100 bp paired-end reads simulated from each sample's two
  haplotypes (SNVs *and* indels applied), concentrated in peaks, mapped with real ``bwa mem``,
  then ``samtools fixmate -m`` / ``sort`` / ``markdup``; a few pairs are flagged QC-fail.
* ``peaks.bed``, ``bad.bed``: the peaks reads were drawn from, and the background allelic
  dosage (BAD) segments.
* ``truth.tsv.gz``: one row per sample x heterozygous SNV with the simulated fragment counts per
  haplotype and allele, the planted allelic ratio and what explains differences from a counter.
* ``README.md`` and ``params.json``: provenance, file and column descriptions, edge-case counts.

Determinism
-----------
Every random draw comes from ``numpy.random.default_rng`` seeded with ``[seed, stream]`` and
everything is generated in a fixed order, so the same ``--seed`` and size options (and numpy
version: numpy may change a sampling algorithm between releases) give byte-identical ``ref.fa``, ``variants.vcf.gz``, BED files, ``truth.tsv.gz`` and FASTQ input to the
mapper. ``bwa mem`` is run with ``-t 1 -K 10000000`` (batch size fixed, so insert-size estimation
does not depend on threads) and a fixed ``-R`` read group; ``samtools`` commands run single-threaded
with relative file names inside a scratch folder, so the BAM records -- and in practice the BAM
headers and bytes, given the same bwa/samtools versions -- are identical too. Samples are mapped
in parallel processes (``--jobs``), which does not change any output.

Usage::

    python scripts/make_demo_data.py                  # full dataset into demo/data (1-2 minutes)
    python scripts/make_demo_data.py --small --outdir /tmp/demo   # seconds, for tests

Requires ``bwa`` and ``samtools`` on ``PATH`` and the Python packages numpy and pysam.
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import io
import itertools
import json
import logging
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pysam

LOG = logging.getLogger("make_demo_data")

GENERATOR_VERSION = "1"
READ_LEN = 100
MAX_FRAG = 600
# Illumina TruSeq adapters followed by the rest of the P7/P5 read-through sequence and poly-A.
ADAPTER_R1 = b"AGATCGGAAGAGCACACGTCTGAACTCCAGTCACATCTCGTATGCCGTCTTCTGCTTG" + b"A" * 60
ADAPTER_R2 = b"AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGTAGATCTCGGTGGTCGCCGTATCATT" + b"A" * 60
BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
COMP = np.arange(256, dtype=np.uint8)
for _a, _b in zip(b"ACGTNacgtn", b"TGCANtgcan"):
    COMP[_a] = _b
# NovaSeq-style binned base qualities.
Q_BINS = np.array([37, 23, 12, 2], dtype=np.uint8)
Q_ERR = np.array([10 ** (-3.7), 10 ** (-2.3), 10 ** (-1.2), 0.5])
IMBALANCE_P = (0.1, 0.2, 0.25, 0.75, 0.8, 0.9)
NEAR_INDEL_BP = 10
IMBALANCE_FLANK = MAX_FRAG  # planted ratio applies to fragments with midpoint within peak +- flank


@dataclasses.dataclass(frozen=True)
class Config:
    """Size and rate parameters of one dataset (``FULL`` or ``SMALL``)."""

    contigs: tuple[tuple[str, int], ...]
    n_samples: int = 4
    peak_spacing: int = 5000        # mean gap between random peaks
    peak_width: tuple[int, int] = (250, 1200)
    peak_depth: tuple[float, float] = (10.0, 400.0)  # nominal read depth, log-uniform
    bg_depth: float = 1.5           # genome-wide background read depth
    variant_rate: float = 1 / 150   # variant records per bp (before clustering)
    repeat_len: int = 1500
    n_lowcomplexity: int = 4        # per contig
    dup_rate: float = 0.07          # fraction of fragments with PCR copies
    qcfail_rate: float = 0.003
    chimera_rate: float = 0.004
    contaminant_rate: float = 0.002
    polyg_rate: float = 0.003
    junk_rate: float = 0.01
    bad_segments: tuple[tuple[str, float, float, int], ...] = (
        ("chr1", 0.40, 0.62, 2),
        ("chr2", 0.12, 0.32, 3),
        ("chr3", 0.05, 0.25, 2),
    )


FULL = Config(contigs=(("chr1", 150_000), ("chr2", 100_000), ("chr3", 50_000)))
SMALL = Config(
    contigs=(("chr1", 24_000), ("chr2", 16_000), ("chr3", 10_000)),
    peak_spacing=3500,
    peak_depth=(10.0, 120.0),
    repeat_len=800,
    n_lowcomplexity=2,
)


@dataclasses.dataclass
class Variant:
    chrom: int          # contig index
    pos0: int           # 0-based position of REF's first base
    ref: bytes
    alts: tuple[bytes, ...]
    kind: str           # snv, multi, ins, del
    gts: np.ndarray     # (n_samples, 2) allele index per haplotype as simulated; -1 = missing
    phased: np.ndarray  # (n_samples,) bool, how the GT is written
    filt: str = "PASS"
    qual: int = 60

    @property
    def alleles(self) -> tuple[bytes, ...]:
        return (self.ref, *self.alts)

    @property
    def is_snv(self) -> bool:
        return self.kind in ("snv", "multi")


@dataclasses.dataclass
class Peak:
    chrom: int
    start: int
    end: int
    name: str = ""
    depth: float = 0.0
    tag: str = ""       # edge, repeat, diverged_repeat or ""


@dataclasses.dataclass
class Genome:
    names: list[str]
    seqs: list[np.ndarray]      # upper-case ASCII codes
    masks: list[np.ndarray]     # True where soft-masked (lower-case in ref.fa)
    repeat: list[np.ndarray]    # True inside interspersed repeat copies
    ngap: list[tuple[int, int, int]]


# --------------------------------------------------------------------------- reference
def _random_dna(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    p = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
    return BASES[rng.choice(4, size=n, p=p)]


def make_reference(rng: np.random.Generator, cfg: Config) -> Genome:
    names = [c for c, _ in cfg.contigs]
    seqs, masks, repeat = [], [], []
    for _, length in cfg.contigs:
        parts, n = [], 0
        while n < length:  # GC isochores of 2-12 kb
            seg = int(rng.integers(2000, 12000))
            parts.append(_random_dna(rng, seg, float(rng.uniform(0.32, 0.62))))
            n += seg
        seqs.append(np.concatenate(parts)[:length].copy())
        masks.append(np.zeros(length, bool))
        repeat.append(np.zeros(length, bool))

    def L(c: int) -> int:
        return len(seqs[c])

    # interspersed repeats: an exact copy chr1 -> chr2 and a 2 % diverged copy chr1 -> chr3
    rl = cfg.repeat_len
    for src_c, src_f, dst_c, dst_f, div in ((0, 0.20, 1, 0.55, 0.0), (0, 0.75, 2, 0.35, 0.02)):
        s, d = int(L(src_c) * src_f), int(L(dst_c) * dst_f)
        copy = seqs[src_c][s:s + rl].copy()
        mut = rng.random(rl) < div
        copy[mut] = BASES[(np.searchsorted(BASES, copy[mut]) + rng.integers(1, 4, mut.sum())) % 4]
        seqs[dst_c][d:d + rl] = copy
        for c, x in ((src_c, s), (dst_c, d)):
            masks[c][x:x + rl] = True
            repeat[c][x:x + rl] = True
    # low-complexity sequence: poly-A, (CA)n, tandem 3-mer repeats
    for c in range(len(seqs)):
        for i in range(cfg.n_lowcomplexity):
            x = int(rng.integers(1000, L(c) - 1000))
            n = int(rng.integers(30, 80))
            tri = BASES[rng.permutation(4)[:3]].tobytes()   # three distinct bases, never a homopolymer
            unit = (b"A", b"CA", tri)[i % 3]
            rep = np.frombuffer((unit * n)[:n], np.uint8)
            seqs[c][x:x + n] = rep
            masks[c][x:x + n] = True
    # an assembly gap
    gap_c = len(seqs) - 1
    g0 = int(L(gap_c) * 0.65)
    seqs[gap_c][g0:g0 + 100] = ord("N")
    return Genome(names, seqs, masks, repeat, [(gap_c, g0, g0 + 100)])


def write_fasta(path: Path, genome: Genome) -> None:
    with open(path, "wb") as fh:
        for name, seq, mask in zip(genome.names, genome.seqs, genome.masks):
            s = seq.copy()
            low = mask & (s != ord("N"))
            s[low] += 32
            fh.write(b">" + name.encode() + b"\n")
            b = s.tobytes()
            for i in range(0, len(b), 60):
                fh.write(b[i:i + 60] + b"\n")
    pysam.faidx(str(path))


# --------------------------------------------------------------------------- peaks, BAD
def make_peaks(rng: np.random.Generator, cfg: Config, genome: Genome) -> list[Peak]:
    lens = [len(s) for s in genome.seqs]
    rl = cfg.repeat_len
    special = [
        Peak(1, 0, 450, tag="edge"),
        Peak(2, lens[2] - 450, lens[2], tag="edge"),
        Peak(0, int(lens[0] * 0.20) + rl // 2 - 350, int(lens[0] * 0.20) + rl // 2 + 350, tag="repeat"),
        Peak(2, int(lens[2] * 0.35) + rl // 2 - 300, int(lens[2] * 0.35) + rl // 2 + 300,
             tag="diverged_repeat"),
    ]
    peaks = list(special)
    min_gap = 2 * IMBALANCE_FLANK + 300
    for c, length in enumerate(lens):
        pos = int(cfg.peak_spacing * rng.uniform(0.3, 1.0))
        while pos < length - 1500:
            width = int(rng.integers(*cfg.peak_width))
            cand = Peak(c, pos, pos + width)
            ok = all(p.chrom != c or cand.start >= p.end + min_gap or cand.end + min_gap <= p.start
                     for p in peaks)
            ok &= not any(g[0] == c and cand.start < g[2] + 600 and cand.end > g[1] - 600 for g in genome.ngap)
            if ok:
                peaks.append(cand)
            pos += width + int(cfg.peak_spacing * rng.uniform(0.5, 1.5))
    peaks.sort(key=lambda p: (p.chrom, p.start))
    lo, hi = np.log(cfg.peak_depth[0]), np.log(cfg.peak_depth[1])
    for i, p in enumerate(peaks):
        p.name = f"peak_{i + 1:03d}"
        p.depth = float(np.exp(rng.uniform(lo, hi)))
    # make sure the repeat and edge peaks are reasonably deep
    for p in peaks:
        if p.tag:
            p.depth = max(p.depth, 60.0)
    return peaks


def make_bad(cfg: Config, genome: Genome) -> list[tuple[int, int, int, int]]:
    """BAD segments covering every contig: (chrom, start, end, bad)."""
    segs = []
    for c, (name, seq) in enumerate(zip(genome.names, genome.seqs)):
        length = len(seq)
        cuts = []
        for chrom, f0, f1, bad in cfg.bad_segments:
            if chrom == name:
                cuts.append((int(round(length * f0, -2)), int(round(length * f1, -2)), bad))
        pos = 0
        for s, e, bad in sorted(cuts):
            if s > pos:
                segs.append((c, pos, s, 1))
            segs.append((c, s, e, bad))
            pos = e
        if pos < length:
            segs.append((c, pos, length, 1))
    return segs


# --------------------------------------------------------------------------- variants
TRANSITION = {ord("A"): ord("G"), ord("G"): ord("A"), ord("C"): ord("T"), ord("T"): ord("C")}


def _alt_base(rng: np.random.Generator, ref: int, exclude: tuple[int, ...] = ()) -> int:
    if not exclude and rng.random() < 0.5:   # Ts/Tv about 2
        return TRANSITION[ref]
    choices = [b for b in b"ACGT" if b != ref and b not in exclude]
    return int(choices[rng.integers(len(choices))])


def make_variants(rng: np.random.Generator, cfg: Config, genome: Genome) -> list[Variant]:
    ns = cfg.n_samples
    variants: list[Variant] = []
    for c, seq in enumerate(genome.seqs):
        length = len(seq)
        n = int(rng.poisson(cfg.variant_rate * length))
        pos = set(int(x) for x in rng.integers(60, length - 60, n))
        extra = set()
        for x in sorted(pos):
            u = rng.random()
            if u < 0.08:
                extra.add(x + 1)                        # adjacent SNVs
            elif u < 0.18:
                extra.add(x + int(rng.integers(2, 31)))  # close SNVs
        pos |= extra
        forced = set()
        if c == 0:
            forced |= {9, length - 10}
        if c == 1:
            forced |= {4, 16, 17, 39}                  # first 50 bp (1-based 5, 17, 18, 40)
        if c == 2:
            forced |= {length - 45, length - 20, length - 3}
        pos |= forced
        prev_end = -1
        for x in sorted(pos):
            if x < 0 or x >= length or x < prev_end or seq[x] == ord("N"):
                continue
            refb = int(seq[x])
            kind = "snv"
            u = rng.random()
            if x not in forced and 20 < x < length - 40:
                if u < 0.035:
                    kind = "del"
                elif u < 0.07:
                    kind = "ins"
                elif u < 0.10:
                    kind = "multi"
            if kind == "del":
                dl = int(rng.integers(1, 13))
                ref = seq[x:x + 1 + dl].tobytes()
                if b"N" in ref:
                    continue
                alts = (seq[x:x + 1].tobytes(),)
            elif kind == "ins":
                ref = seq[x:x + 1].tobytes()
                alts = (ref + _random_dna(rng, int(rng.integers(1, 11)), 0.45).tobytes(),)
            elif kind == "multi":
                a1 = _alt_base(rng, refb, (refb,))
                a2 = _alt_base(rng, refb, (refb, a1))
                ref, alts = bytes([refb]), (bytes([a1]), bytes([a2]))
            else:
                ref, alts = bytes([refb]), (bytes([_alt_base(rng, refb)]),)
            # phased genotypes
            if kind == "multi":
                probs = rng.dirichlet([1.5, 1.0, 1.0])
                gts = rng.choice(3, size=(ns, 2), p=probs)
            else:
                q = float(np.clip(rng.beta(0.7, 0.7), 0.05, 0.95))
                gts = (rng.random((ns, 2)) < q).astype(np.int64)
            if x in forced:
                gts = np.array([[0, 1], [1, 0], [1, 1], [0, 0]] * ((ns + 3) // 4), np.int64)[:ns]
            if not (gts > 0).any():
                continue
            v = Variant(c, x, ref, alts, kind, gts.astype(np.int64), np.ones(ns, bool),
                        qual=int(rng.integers(30, 1000)))
            u = rng.random()
            if u < 0.01 and x not in forced:
                v.filt = "LowQual"
                v.qual = int(rng.integers(3, 20))
            if ns >= 3 and rng.random() < 0.005 and v.gts[2, 0] != v.gts[2, 1]:
                v.phased[2] = False                     # written unphased "0/1"
            if ns >= 4 and rng.random() < 0.004 and x not in forced:
                v.gts[3] = -1                           # missing "./."; simulated as 0|0
            variants.append(v)
            prev_end = x + len(ref)
    return variants


def write_vcf(path: Path, cfg: Config, genome: Genome, variants: list[Variant], samples: list[str],
              seed: int) -> Path:
    lines = [
        "##fileformat=VCFv4.2",
        f"##source=allelekit/scripts/make_demo_data.py v{GENERATOR_VERSION} seed={seed}",
        "##reference=ref.fa",
    ]
    for name, seq in zip(genome.names, genome.seqs):
        lines.append(f"##contig=<ID={name},length={len(seq)}>")
    lines += [
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality call (simulated)">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes, for each ALT allele">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "#" + "\t".join(["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]),
    ]
    for v in variants:
        called = v.gts[v.gts >= 0]
        ac = ",".join(str(int((called == i + 1).sum())) for i in range(len(v.alts)))
        gtf = []
        for s in range(len(samples)):
            a, b = v.gts[s]
            if a < 0:
                gtf.append("./.")
            elif v.phased[s]:
                gtf.append(f"{a}|{b}")
            else:
                gtf.append(f"{min(a, b)}/{max(a, b)}")
        lines.append("\t".join([
            genome.names[v.chrom], str(v.pos0 + 1), ".", v.ref.decode(),
            ",".join(a.decode() for a in v.alts), str(v.qual), v.filt,
            f"AC={ac};AN={called.size}", "GT", *gtf,
        ]))
    plain = path.with_suffix("")  # variants.vcf
    plain.write_text("\n".join(lines) + "\n")
    out = pysam.tabix_index(str(plain), preset="vcf", force=True)
    return Path(out)


# --------------------------------------------------------------------------- haplotypes
@dataclasses.dataclass
class Haplotype:
    seq: np.ndarray      # ASCII codes
    h2r: np.ndarray      # hap position -> ref position (inserted bases -> anchor)
    r2h: np.ndarray      # ref position -> hap position (deleted bases -> next hap base)


def build_haplotype(ref: np.ndarray, variants: list[Variant], sample: int, hap: int) -> Haplotype:
    length = len(ref)
    r2h = np.empty(length, np.int64)
    seq_parts, h2r_parts = [], []
    cur = hpos = 0
    for v in variants:
        a = int(v.gts[sample, hap])
        if a <= 0:
            continue
        p0, rl = v.pos0, len(v.ref)
        n = p0 - cur
        seq_parts.append(ref[cur:p0])
        h2r_parts.append(np.arange(cur, p0))
        r2h[cur:p0] = np.arange(hpos, hpos + n)
        hpos += n
        alt = np.frombuffer(v.alleles[a], np.uint8)
        al = len(alt)
        k = min(al, rl)
        h2r = np.empty(al, np.int64)
        h2r[:k] = p0 + np.arange(k)
        h2r[k:] = p0 + k - 1
        r2h[p0:p0 + k] = hpos + np.arange(k)
        r2h[p0 + k:p0 + rl] = hpos + al
        seq_parts.append(alt)
        h2r_parts.append(h2r)
        hpos += al
        cur = p0 + rl
    seq_parts.append(ref[cur:])
    h2r_parts.append(np.arange(cur, length))
    r2h[cur:] = np.arange(hpos, hpos + length - cur)
    seq = np.concatenate(seq_parts)
    h2r = np.concatenate(h2r_parts)
    r2h = np.minimum(r2h, len(seq) - 1)
    return Haplotype(seq, h2r, r2h)


# --------------------------------------------------------------------------- reads
def _frag_lengths(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(np.round(np.exp(rng.normal(np.log(215), 0.38, n))), 40, MAX_FRAG).astype(np.int64)


def _qualities(rng: np.random.Generator, n: int, mate: int) -> np.ndarray:
    """Binned quality indices into Q_BINS (0 = Q37 ... 3 = Q2).

    Most reads are clean (rare drops, more towards the 3' end), ~15 % are mediocre, read 2 is worse
    than read 1, and 2-4 % of reads end in a run of Q2 bases.
    """
    x = (np.arange(READ_LEN) / (READ_LEN - 1)) ** 2
    mediocre = rng.random(n) < (0.12 if mate == 1 else 0.2)
    p_drop = np.where(mediocre[:, None], 0.06 + 0.2 * x[None, :], 0.004 + 0.03 * x[None, :])
    u = rng.random((n, READ_LEN))
    v = rng.random((n, READ_LEN))
    q = np.where(u < p_drop, np.where(v < 0.6, 1, np.where(v < 0.88, 2, 3)), 0)
    tail = rng.random(n) < (0.02 if mate == 1 else 0.04)
    t0 = rng.integers(60, 96, n)
    q[tail[:, None] & (np.arange(READ_LEN)[None, :] >= t0[:, None])] = 3
    return q


def _sequence_errors(rng: np.random.Generator, seqs: np.ndarray, qidx: np.ndarray) -> np.ndarray:
    err = rng.random(seqs.shape) < Q_ERR[qidx]
    codes = np.searchsorted(BASES, seqs)
    codes = np.clip(codes, 0, 3)
    new = BASES[(codes + rng.integers(1, 4, seqs.shape)) % 4]
    out = np.where(err & (seqs != ord("N")), new, seqs)
    nmask = rng.random(seqs.shape) < 0.0005
    out[nmask] = ord("N")
    qidx[nmask] = 3
    return out


@dataclasses.dataclass
class SampleSim:
    name: str
    fastq1: bytes
    fastq2: bytes
    qcfail_names: set[str]
    truth_rows: list[dict]
    stats: dict


def simulate_sample(cfg: Config, genome: Genome, variants: list[Variant], peaks: list[Peak],
                    bad: list[tuple[int, int, int, int]], sample: int, seed: int) -> SampleSim:
    rng = np.random.default_rng([seed, 100 + sample])
    sname = f"S{sample + 1}"
    nc = len(genome.seqs)
    by_contig = [[v for v in variants if v.chrom == c] for c in range(nc)]
    haps = [[build_haplotype(genome.seqs[c], by_contig[c], sample, h) for h in (0, 1)] for c in range(nc)]

    # ---- per-position probability that a fragment comes from haplotype 1 (index 0)
    parr = [np.full(len(s), 0.5) for s in genome.seqs]
    bad_arr = [np.ones(len(s), np.int64) for s in genome.seqs]
    for c, s, e, b in bad:
        if b == 1:
            continue
        dup_hap1 = rng.random() < 0.5
        parr[c][s:e] = b / (b + 1) if dup_hap1 else 1 / (b + 1)
        bad_arr[c][s:e] = b
    depth_mult = np.exp(rng.normal(0, 0.3, len(peaks)))
    depth_mult[rng.random(len(peaks)) < 0.05] = 0.05   # peak nearly absent in this sample
    eligible = [i for i, p in enumerate(peaks)
                if p.tag in ("", "edge")
                and (bad_arr[p.chrom][max(0, p.start - IMBALANCE_FLANK):p.end + IMBALANCE_FLANK] == 1).all()]
    n_imb = max(1, int(round(0.3 * len(eligible))))
    imb_idx = sorted(int(i) for i in rng.choice(eligible, size=n_imb, replace=False))
    peak_p = {}
    imb_arr = [np.zeros(len(s), bool) for s in genome.seqs]
    for i in imb_idx:
        p = peaks[i]
        pv = float(rng.choice(IMBALANCE_P))
        peak_p[i] = pv
        region = slice(max(0, p.start - IMBALANCE_FLANK), p.end + IMBALANCE_FLANK)
        parr[p.chrom][region] = pv
        imb_arr[p.chrom][region] = True

    # ---- fragments (unique molecules)
    rows = {k: [] for k in ("chrom", "s", "L")}
    for c, seq in enumerate(genome.seqs):
        clen = len(seq)
        for i, p in enumerate(peaks):
            if p.chrom != c:
                continue
            width = p.end - p.start
            n = int(rng.poisson(p.depth * depth_mult[i] * width / (2 * READ_LEN)))
            L = _frag_lengths(rng, n)
            centre = rng.normal((p.start + p.end) / 2, width / 5, n)
            rows["chrom"].append(np.full(n, c))
            rows["s"].append(np.round(centre - L / 2).astype(np.int64))
            rows["L"].append(L)
        n = int(rng.poisson(cfg.bg_depth * clen / (2 * READ_LEN)))
        L = _frag_lengths(rng, n)
        rows["chrom"].append(np.full(n, c))
        rows["s"].append(rng.integers(0, clen - L))
        rows["L"].append(L)
    chrom = np.concatenate(rows["chrom"]).astype(np.int64)
    s = np.concatenate(rows["s"])
    L = np.concatenate(rows["L"])
    clens = np.array([len(x) for x in genome.seqs])
    s = np.clip(s, 0, clens[chrom] - L - 1)
    mid = s + L // 2
    poffs = np.concatenate([[0], np.cumsum(clens)[:-1]])
    pfrag = np.concatenate(parr)[poffs[chrom] + np.minimum(mid, clens[chrom] - 1)]
    hap = (rng.random(len(s)) >= pfrag).astype(np.int64)     # 0 = hap1 (first GT allele)
    hs = np.empty_like(s)
    rstart = np.empty_like(s)
    rend = np.empty_like(s)
    for c in range(nc):
        for h in (0, 1):
            m = (chrom == c) & (hap == h)
            H = haps[c][h]
            x = np.minimum(H.r2h[s[m]], len(H.seq) - L[m])
            hs[m] = x
            rstart[m] = H.h2r[x]
            rend[m] = H.h2r[x + L[m] - 1]
    # molecules with identical mapped outer coordinates would be marked duplicates: keep the first
    key = (chrom << 42) | (rstart << 21) | rend
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    n_collide = len(s) - len(keep)
    chrom, s, L, hap, hs, pfrag = chrom[keep], s[keep], L[keep], hap[keep], hs[keep], pfrag[keep]
    nf = len(s)

    strand = rng.random(nf) < 0.5                 # True: read 1 on the forward strand
    junk_len = np.where(rng.random(nf) < cfg.junk_rate, rng.integers(12, 31, nf), 0)
    junk_read = rng.integers(1, 3, nf)            # which read got the 5' junk
    polyg = rng.random(nf) < cfg.polyg_rate       # read 2 is a poly-G no-signal read
    u = rng.random(nf)
    copies = np.where(u < cfg.dup_rate * 0.8, 1, np.where(u < cfg.dup_rate, rng.integers(2, 4, nf), 0))
    qcfail = (rng.random(nf) < cfg.qcfail_rate) & (copies == 0)

    # genomic (allele-carrying) hap intervals of the forward (F) and reverse (B) reads
    span = np.minimum(L, READ_LEN)
    junk_F = np.where(((junk_read == 1) & strand) | ((junk_read == 2) & ~strand), junk_len, 0)
    junk_B = junk_len - junk_F
    F0, F1 = hs + junk_F, hs + span
    B0, B1 = hs + L - span, hs + L - junk_B
    pg_B = polyg & strand          # read 2 is B when read 1 is forward
    pg_F = polyg & ~strand
    F1 = np.where(pg_F, F0, F1)
    B1 = np.where(pg_B, B0, B1)

    # ---- extra pairs not in the truth: chimeras (-> supplementary) and contaminants (unmapped)
    n_chim = int(rng.binomial(nf, cfg.chimera_rate))
    n_cont = int(rng.binomial(nf, cfg.contaminant_rate))

    # ---- concatenated haplotype genome for vectorised read extraction
    flat, offs = [], np.zeros((2, nc), np.int64)
    o = 0
    for h in (0, 1):
        for c in range(nc):
            offs[h, c] = o
            flat.append(haps[c][h].seq)
            o += len(haps[c][h].seq)
    allhap = np.concatenate(flat)

    # expand PCR copies; chimeras are PCR chimeras of random molecules (same start, new read-1 tail)
    idx = np.concatenate([np.arange(nf), np.repeat(np.arange(nf), copies)])
    is_copy = np.concatenate([np.zeros(nf, bool), np.ones(int(copies.sum()), bool)])
    chim_src = rng.integers(0, nf, n_chim)
    idx_all = np.concatenate([idx, chim_src])
    g0 = offs[hap[idx_all], chrom[idx_all]] + hs[idx_all]
    Lr = L[idx_all]
    j = np.arange(READ_LEN)[None, :]
    fi = np.clip(g0[:, None] + j, 0, len(allhap) - 1)
    A1 = np.frombuffer(ADAPTER_R1, np.uint8)
    A2 = np.frombuffer(ADAPTER_R2, np.uint8)
    jj = np.clip(j - Lr[:, None], 0, len(A1) - 1)
    Fseq = np.where(j < Lr[:, None], allhap[fi], A1[jj])
    bi = np.clip(g0[:, None] + Lr[:, None] - 1 - j, 0, len(allhap) - 1)
    Bseq = np.where(j < Lr[:, None], COMP[allhap[bi]], A2[jj])
    st = strand[idx_all][:, None]
    r1 = np.where(st, Fseq, Bseq)
    r2 = np.where(st, Bseq, Fseq)
    # 5' junk (template switching): random bases at the start of one read
    jl = junk_len[idx_all]
    jr = junk_read[idx_all]
    rnd = BASES[rng.integers(0, 4, r1.shape)]
    r1 = np.where((jr[:, None] == 1) & (j < jl[:, None]), rnd, r1)
    r2 = np.where((jr[:, None] == 2) & (j < jl[:, None]), rnd, r2)
    pg = polyg[idx_all]   # poly-G read 2 (two-colour chemistry, no signal), set after errors
    # chimeras: read 1 bases 55..99 come from a random place (any contig, either strand)
    nmol = len(idx)
    for k in range(n_chim):
        x = int(rng.integers(0, len(allhap) - 50))
        seg = allhap[x:x + 45]
        if rng.random() < 0.5:
            seg = COMP[seg[::-1]]
        r1[nmol + k, 55:] = seg
    # contaminant pairs: random sequence, both mates unmapped
    cont1 = BASES[rng.integers(0, 4, (n_cont, READ_LEN))]
    cont2 = BASES[rng.integers(0, 4, (n_cont, READ_LEN))]
    r1 = np.concatenate([r1, cont1])
    r2 = np.concatenate([r2, cont2])
    npairs = len(r1)
    q1 = _qualities(rng, npairs, 1)
    q2 = _qualities(rng, npairs, 2)
    r1 = _sequence_errors(rng, r1, q1)
    r2 = _sequence_errors(rng, r2, q2)
    is_pg = np.concatenate([pg, np.zeros(n_cont, bool)])
    q2[is_pg] = np.where(rng.random((int(is_pg.sum()), READ_LEN)) < 0.8, 0, 1)
    r2[is_pg] = ord("G")

    # qc-fail pairs (molecules without copies)
    pair_qc = np.concatenate([qcfail[idx] & ~is_copy, np.zeros(n_chim + n_cont, bool)])

    # ---- FASTQ in random sequencer order
    order = rng.permutation(npairs)
    Q1 = (Q_BINS[q1] + 33).astype(np.uint8)
    Q2 = (Q_BINS[q2] + 33).astype(np.uint8)
    b1, b2 = io.BytesIO(), io.BytesIO()
    qc_names = set()
    for i, k in enumerate(order):
        name = f"{sname}:{i + 1}".encode()
        if pair_qc[k]:
            qc_names.add(name.decode())
        b1.write(b"@" + name + b"\n" + r1[k].tobytes() + b"\n+\n" + Q1[k].tobytes() + b"\n")
        b2.write(b"@" + name + b"\n" + r2[k].tobytes() + b"\n+\n" + Q2[k].tobytes() + b"\n")

    # ---- truth per heterozygous SNV
    truth = []
    frag_sorted = {}
    for c in range(nc):
        for h in (0, 1):
            m = np.flatnonzero((chrom == c) & (hap == h))
            m = m[np.argsort(hs[m], kind="stable")]
            frag_sorted[c, h] = (m, hs[m])
    # indels carried by this sample, for the near_indel flag
    indel_pos = {c: np.array(sorted(v.pos0 for v in by_contig[c]
                                    if not v.is_snv and (v.gts[sample] > 0).any()), np.int64)
                 for c in range(nc)}
    peak_of = {}
    for i, p in enumerate(peaks):
        peak_of.setdefault(p.chrom, []).append((p.start, p.end, i))
    for v in itertools.chain.from_iterable(by_contig):
        if not v.is_snv:
            continue
        a, b = (int(x) for x in v.gts[sample])
        if a < 0 or a == b:
            continue
        c = v.chrom
        counts = {}
        pvals = []
        for h in (0, 1):
            hp = int(haps[c][h].r2h[v.pos0])
            m, hss = frag_sorted[c, h]
            lo = np.searchsorted(hss, hp - MAX_FRAG, "left")
            hi = np.searchsorted(hss, hp, "right")
            cand = m[lo:hi]
            inF = (F0[cand] <= hp) & (hp < F1[cand])
            inB = (B0[cand] <= hp) & (hp < B1[cand])
            cov = cand[inF | inB]
            counts[h] = dict(n=len(cov), dup=int(copies[cov].sum()), qc=int(qcfail[cov].sum()),
                             both=int((inF & inB).sum()))
            pvals.append(pfrag[cov])
        pv = np.concatenate(pvals)
        p_here = float(parr[c][v.pos0])
        mixed = bool(pv.size and np.any(np.abs(pv - p_here) > 1e-9))
        peak_name = ""
        for ps, pe, i in peak_of.get(c, []):
            if ps <= v.pos0 < pe:
                peak_name = peaks[i].name
        imb = bool(imb_arr[c][v.pos0])
        allele = (v.alleles[a].decode(), v.alleles[b].decode())
        ip = indel_pos[c]
        k = np.searchsorted(ip, v.pos0)
        near = [abs(int(ip[j]) - v.pos0) for j in (k - 1, k) if 0 <= j < len(ip)]
        near_indel = bool(near) and min(near) <= NEAR_INDEL_BP
        n_ref = sum(counts[h]["n"] for h, x in ((0, a), (1, b)) if x == 0)
        dup_ref = sum(counts[h]["dup"] for h, x in ((0, a), (1, b)) if x == 0)
        exp_ref = (p_here if a == 0 else 0.0) + ((1 - p_here) if b == 0 else 0.0)
        gt = f"{a}|{b}" if v.phased[sample] else f"{min(a, b)}/{max(a, b)}"
        truth.append({
            "sample": sname,
            "chrom": genome.names[c],
            "pos": v.pos0 + 1,
            "ref": v.ref.decode(),
            "alt": ",".join(x.decode() for x in v.alts),
            "gt": gt,
            "phased": int(bool(v.phased[sample])),
            "filter": v.filt,
            "multiallelic": int(len(v.alts) > 1),
            "allele_hap1": allele[0],
            "allele_hap2": allele[1],
            "peak": peak_name or ".",
            "in_repeat": int(genome.repeat[c][v.pos0]),
            "soft_masked": int(genome.masks[c][v.pos0]),
            "near_indel": int(near_indel),
            "bad": int(bad_arr[c][v.pos0]),
            "p_hap1": p_here,
            "expected_ref_fraction": exp_ref,
            "imbalance_planted": int(imb),
            "p_mixed": int(mixed),
            "n_fragments_hap1": counts[0]["n"],
            "n_fragments_hap2": counts[1]["n"],
            "n_ref": n_ref,
            "n_alt": counts[0]["n"] + counts[1]["n"] - n_ref,
            "n_dup_copies_ref": dup_ref,
            "n_dup_copies_alt": counts[0]["dup"] + counts[1]["dup"] - dup_ref,
            "n_qcfail": counts[0]["qc"] + counts[1]["qc"],
            "n_mates_overlap": counts[0]["both"] + counts[1]["both"],
        })
    stats = {
        "molecules": nf,
        "coordinate_collisions_dropped": int(n_collide),
        "pcr_copies": int(copies.sum()),
        "qcfail_pairs": len(qc_names),
        "chimeric_pairs": n_chim,
        "contaminant_pairs": n_cont,
        "polyg_pairs": int(polyg.sum()),
        "junk_5prime_pairs": int((junk_len > 0).sum()),
        "short_fragments_lt_read_len": int((L < READ_LEN).sum()),
        "read_pairs": int(npairs),
        "imbalanced_peaks": {peaks[i].name: peak_p[i] for i in imb_idx},
    }
    return SampleSim(sname, b1.getvalue(), b2.getvalue(), qc_names, truth, stats)


# --------------------------------------------------------------------------- mapping
def _run(cmd: str, cwd: Path) -> None:
    LOG.debug("run: %s", cmd)
    res = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {cmd}\n{res.stderr[-3000:]}")


def map_sample(sim: SampleSim, work: Path, outdir: Path, argv: str) -> Path:
    s = sim.name
    (work / f"{s}_R1.fq").write_bytes(sim.fastq1)
    (work / f"{s}_R2.fq").write_bytes(sim.fastq2)
    rg = f"@RG\\tID:{s}\\tSM:{s}\\tLB:{s}_lib1\\tPL:ILLUMINA"
    _run(f"bwa mem -t 1 -K 10000000 -a -v 1 -R '{rg}' ref.fa {s}_R1.fq {s}_R2.fq"
         f" | samtools fixmate -m -u - -"
         f" | samtools sort -@ 1 -l 1 -T {s}.sorttmp -o {s}.sorted.bam -", work)
    _run(f"samtools markdup -s -f {s}.markdup.txt {s}.sorted.bam {s}.markdup.bam", work)
    out = outdir / f"{s}.bam"
    flagged = work / f"{s}.flagged.bam"
    with pysam.AlignmentFile(str(work / f"{s}.markdup.bam"), "rb") as inp:
        hdr = inp.header.to_dict()
        pgs = hdr.get("PG", [])
        pg = {"ID": "make_demo_data", "PN": "make_demo_data.py", "VN": GENERATOR_VERSION,
              "CL": f"{argv} (set 0x200 on {len(sim.qcfail_names)} pairs)"}
        if pgs:
            pg["PP"] = pgs[-1]["ID"]
        hdr["PG"] = pgs + [pg]
        with pysam.AlignmentFile(str(flagged), "wb", header=hdr) as fo:
            for r in inp.fetch(until_eof=True):
                if r.query_name in sim.qcfail_names:
                    r.flag |= 0x200
                fo.write(r)
    # recompress at level 9 to keep the committed data small
    _run(f"samtools view --no-PG -b --output-fmt-option level=9 -o {s}.final.bam {s}.flagged.bam", work)
    shutil.move(str(work / f"{s}.final.bam"), str(out))
    pysam.index(str(out))
    return out


# --------------------------------------------------------------------------- outputs
TRUTH_COLUMNS = [
    ("sample", "sample name (S1..S4)"),
    ("chrom", "contig"),
    ("pos", "1-based position (VCF POS)"),
    ("ref", "REF allele (upper case; ref.fa may be lower case there: soft-masked)"),
    ("alt", "ALT field as in the VCF (comma-separated for multi-allelic records)"),
    ("gt", "genotype as written in the VCF (phased `a|b`, or unphased `a/b` for a few records)"),
    ("phased", "1 if the VCF genotype is phased"),
    ("filter", "VCF FILTER (PASS or LowQual)"),
    ("multiallelic", "1 if the record has two ALT alleles"),
    ("allele_hap1", "base on simulated haplotype 1 (the first GT allele as simulated)"),
    ("allele_hap2", "base on simulated haplotype 2"),
    ("peak", "name of the peak containing the SNV, `.` if none"),
    ("in_repeat", "1 inside an interspersed repeat copy (reads may have MAPQ 0 / secondary alignments)"),
    ("soft_masked", "1 if ref.fa is lower case at this position"),
    ("near_indel", "1 if an indel carried by this sample starts within 10 bp (alignment may misplace the allele)"),
    ("bad", "background allelic dosage of the segment (bad.bed)"),
    ("p_hap1", "planted probability that a fragment covering this position was drawn from haplotype 1"),
    ("expected_ref_fraction", "expected fraction of fragments carrying REF (from p_hap1 and the genotype)"),
    ("imbalance_planted", "1 if the SNV lies in a peak with planted allelic imbalance, or within 600 bp of one "
                          "(p_hap1 != 0.5 there, not caused by BAD)"),
    ("p_mixed", "1 if some covering fragments were drawn with a different p (SNV near a region boundary)"),
    ("n_fragments_hap1", "simulated molecules from haplotype 1 whose read 1 or read 2 covers the SNV"),
    ("n_fragments_hap2", "same for haplotype 2"),
    ("n_ref", "molecules carrying REF (before sequencing errors, mapping and filtering; PCR copies not counted)"),
    ("n_alt", "molecules carrying a non-REF allele"),
    ("n_dup_copies_ref", "extra PCR copies of REF molecules (read pairs samtools markdup should flag)"),
    ("n_dup_copies_alt", "extra PCR copies of ALT molecules"),
    ("n_qcfail", "molecules whose read pair is flagged QC-fail (0x200); included in n_ref/n_alt"),
    ("n_mates_overlap", "molecules where both mates cover the SNV (count once per fragment!)"),
]


def write_truth(path: Path, rows: list[dict]) -> None:
    cols = [c for c, _ in TRUTH_COLUMNS]
    buf = io.StringIO()
    buf.write("\t".join(cols) + "\n")
    for r in rows:
        vals = []
        for c in cols:
            x = r[c]
            vals.append(f"{x:.6g}" if isinstance(x, float) else str(x))
        buf.write("\t".join(vals) + "\n")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue().encode())


def write_beds(outdir: Path, genome: Genome, peaks: list[Peak], bad: list[tuple[int, int, int, int]]) -> None:
    with open(outdir / "peaks.bed", "w") as fh:
        for p in peaks:
            fh.write(f"{genome.names[p.chrom]}\t{p.start}\t{p.end}\t{p.name}\n")
    with open(outdir / "bad.bed", "w") as fh:
        for c, s, e, b in bad:
            fh.write(f"{genome.names[c]}\t{s}\t{e}\t{b}\n")


def bam_edge_cases(path: Path) -> dict:
    """Count the edge cases present in one BAM."""
    n = dict(records=0, soft_clip=0, hard_clip=0, insertion=0, deletion=0, duplicate=0, secondary=0,
             secondary_seq_star=0, supplementary=0, qcfail=0, unmapped=0, mate_unmapped=0, mapq0=0,
             low_base_quality=0, n_bases=0, proper_pair=0)
    with pysam.AlignmentFile(str(path), "rb") as bam:
        for r in bam.fetch(until_eof=True):
            n["records"] += 1
            f = r.flag
            if f & 0x4:
                n["unmapped"] += 1
            elif f & 0x8:
                n["mate_unmapped"] += 1
            n["proper_pair"] += bool(f & 0x2)
            n["duplicate"] += bool(f & 0x400)
            n["secondary"] += bool(f & 0x100)
            n["supplementary"] += bool(f & 0x800)
            n["qcfail"] += bool(f & 0x200)
            if f & 0x100 and r.query_sequence is None:
                n["secondary_seq_star"] += 1
            if not f & 0x4:
                n["mapq0"] += r.mapping_quality == 0
                ops = {op for op, _ in (r.cigartuples or [])}
                n["soft_clip"] += 4 in ops
                n["hard_clip"] += 5 in ops
                n["insertion"] += 1 in ops
                n["deletion"] += 2 in ops
            q = r.query_qualities
            if q is not None and len(q) and min(q) < 20:
                n["low_base_quality"] += 1
            if r.query_sequence and "N" in r.query_sequence:
                n["n_bases"] += 1
    return n


README_TEMPLATE = """# allelekit demo dataset

Generated by `scripts/make_demo_data.py` (generator v{version}) with

    {argv}

Do not edit these files by hand: change the script and regenerate. Same seed and size options give
byte-identical FASTA/VCF/BED/truth files and identical BAM records (bwa mem `-t 1 -K 10000000`,
single-threaded samtools; bwa {bwa_version}, {samtools_version}). `params.json` holds the resolved
parameters and per-sample simulation statistics.

## Files

| file | contents |
| --- | --- |
| `ref.fa`, `ref.fa.fai` | {n_contigs} contigs ({contig_desc}); random sequence in 2-12 kb GC isochores (GC 32-62 %); soft-masked (lower-case) interspersed repeats (an exact {repeat_len} bp copy chr1->chr2, a 2 %-diverged copy chr1->chr3), poly-A, (CA)n and 3-mer tandem repeats; a 100 bp `N` gap on {gap_contig} |
| `variants.vcf.gz`, `.tbi` | {n_records} records for {samples}: {n_snv} biallelic SNVs, {n_multi} multi-allelic SNVs, {n_ins} insertions, {n_del} deletions; phased GT (`0|1`, `1|0`, `0|0`, `1|1`, `1|2`, ...); {n_lowqual} `LowQual` records; {n_unphased} unphased and {n_missing} missing (`./.`) genotypes (simulated as `0|0`); {n_adjacent} SNV pairs 1 bp apart, {n_close} within 30 bp; SNVs in the first/last 50 bp of contigs |
| `S1.bam` ... (+ `.bai`) | 2x100 bp paired-end reads per sample (read group `ID:S<k> SM:S<k>`), coordinate-sorted, duplicates marked |
| `peaks.bed` | {n_peaks} peaks (BED4, 0-based half-open: chrom, start, end, name) from which most fragments were drawn |
| `bad.bed` | background allelic dosage segments covering every contig (chrom, start, end, bad; 0-based, no header) |
| `truth.tsv.gz` | one row per sample x heterozygous SNV (biallelic and multi-allelic), tab-separated with a header |
| `params.json` | resolved parameters, seeds, tool versions, per-sample statistics, BAM edge-case counts |

## How reads were simulated

For each sample both haplotypes were built by applying its genotypes (SNVs *and* indels; hap1 = first
GT allele) to the reference. Fragments (length log-normal around 215 bp, 40-600 bp; ~45 % shorter than
200 bp so mates overlap, ~3 % shorter than 100 bp so reads run into the adapter) were drawn from peaks
(nominal read depth log-uniform {depth_lo:g}-{depth_hi:g}, per-sample multiplier, centre ~ Normal(peak
centre, width/5)) and from a {bg_depth:g}x genome-wide background. Each fragment comes from haplotype 1
with probability `p_hap1` of its midpoint: 0.5 by default; in BAD segments b/(b+1) or 1/(b+1) depending on
which haplotype is duplicated in that sample (BAD 2 -> 2/3 or 1/3, BAD 3 -> 3/4 or 1/4); in ~30 % of BAD-1
peaks per sample (imbalance planted, peak +- {flank} bp) one of {imb_p}. Molecules with identical
outer reference coordinates were dropped so that every duplicate-flagged pair is a planted PCR copy.
Base qualities are NovaSeq-binned (37/23/12/2), worse towards the 3' end and on read 2, some reads have a
Q2 tail; substitution errors are drawn from the base quality; 0.05 % of bases are `N` (Q2).
Reads were mapped with `bwa mem -a` (so multi-mapping reads get secondary records with SEQ `*`), then
`samtools fixmate -m`, `sort`, `markdup`; finally flag 0x200 was set on both mates of a few pairs.

## Edge cases in the BAMs (record counts, all samples)

{edge_table}

Sources: soft clips from adapter read-through (fragments < 100 bp), 5' random junk (template-switch
artefacts), Q2 tails and chimeras; supplementary records (and hard clips) from chimeric read 1s whose
last 45 bp come from elsewhere in the genome (`chimeric_pairs`: PCR chimeras of simulated molecules, with
the same outer coordinates, so markdup may flag them or their template as duplicate; not in the truth); unmapped reads
from random-sequence contaminant pairs and poly-G read 2s (`polyg_pairs`); MAPQ 0 and secondary records
from the exact repeat (peak `{repeat_peak}`) and low-complexity sequence; indels in CIGARs from the VCF
indels.

## truth.tsv.gz columns

| column | meaning |
| --- | --- |
{truth_table}

Counts are of simulated *molecules* (unique fragments) before sequencing errors, mapping and filtering;
a molecule counts if the allele-carrying part of read 1 or read 2 covers the SNV (adapter and 5' junk
bases, and poly-G read 2s, do not count; Q2 tails do). A counter that deduplicates, drops QC-fail
reads, requires MAPQ/base quality and counts overlapping mates once should find about
`n_ref - (QC-fail share)`; the differences come from sequencing errors at the SNV, low base quality,
MAPQ 0 in repeats, reads near indels and contig ends, and chimeric pairs (not in the truth).
`n_fragments_hap1 + n_fragments_hap2 == n_ref + n_alt`. `p_hap1` is exact where `p_mixed == 0`.
"""


def write_readme(outdir: Path, cfg: Config, genome: Genome, variants: list[Variant], peaks: list[Peak],
                 samples: list[str], argv: str, params: dict, edge: dict) -> None:
    kinds = [v.kind for v in variants]
    snv_pos = sorted((v.chrom, v.pos0) for v in variants if v.is_snv)
    adjacent = sum(1 for a, b in zip(snv_pos, snv_pos[1:]) if a[0] == b[0] and b[1] - a[1] == 1)
    close = sum(1 for a, b in zip(snv_pos, snv_pos[1:]) if a[0] == b[0] and 1 < b[1] - a[1] <= 30)
    edge_rows = ["| edge case | " + " | ".join(samples) + " |", "| --- |" + " --- |" * len(samples)]
    for key in edge[samples[0]]:
        edge_rows.append(f"| {key} | " + " | ".join(str(edge[s][key]) for s in samples) + " |")
    for key in ("pcr_copies", "qcfail_pairs", "chimeric_pairs", "contaminant_pairs", "polyg_pairs",
                "junk_5prime_pairs", "short_fragments_lt_read_len", "read_pairs"):
        edge_rows.append(f"| sim: {key} | " + " | ".join(str(params['samples'][s][key]) for s in samples) + " |")
    text = README_TEMPLATE.format(
        version=GENERATOR_VERSION, argv=argv,
        bwa_version=params["tools"]["bwa"], samtools_version=params["tools"]["samtools"],
        n_contigs=len(genome.names),
        contig_desc=", ".join(f"{n} {len(s):,} bp" for n, s in zip(genome.names, genome.seqs)),
        repeat_len=cfg.repeat_len, gap_contig=genome.names[genome.ngap[0][0]],
        n_records=len(variants), samples=", ".join(samples),
        n_snv=kinds.count("snv"), n_multi=kinds.count("multi"), n_ins=kinds.count("ins"),
        n_del=kinds.count("del"), n_lowqual=sum(v.filt != "PASS" for v in variants),
        n_unphased=int(sum((~v.phased).sum() for v in variants)),
        n_missing=int(sum((v.gts[:, 0] < 0).sum() for v in variants)),
        n_adjacent=adjacent, n_close=close, n_peaks=len(peaks),
        depth_lo=cfg.peak_depth[0], depth_hi=cfg.peak_depth[1], bg_depth=cfg.bg_depth,
        flank=IMBALANCE_FLANK, imb_p=", ".join(f"{p:g}" for p in IMBALANCE_P),
        edge_table="\n".join(edge_rows),
        repeat_peak=next(p.name for p in peaks if p.tag == "repeat"),
        truth_table="\n".join(f"| `{c}` | {d} |" for c, d in TRUTH_COLUMNS),
    )
    (outdir / "README.md").write_text(text)


def tool_version(cmd: list[str]) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    text = res.stdout + res.stderr
    for line in text.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
        if line.startswith("samtools"):
            return line.strip()
    return "unknown"


# --------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="make_demo_data.py",
        description="Deterministically simulate the allelekit demo dataset (reference, phased VCF, "
                    "bwa-mapped BAMs, peaks, BAD segments and truth counts).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        usage="python scripts/make_demo_data.py [--outdir demo/data] [--seed 1] [--small]",
    )
    p.add_argument("--outdir", type=Path, default=Path("demo/data"), help="output folder (created)")
    p.add_argument("--seed", type=int, default=1, help="random seed")
    p.add_argument("--small", action="store_true", help="a tiny dataset (50 kb, few peaks) for tests")
    p.add_argument("--samples", type=int, default=None, help="number of samples (default 4)")
    p.add_argument("--depth-scale", type=float, default=1.0, help="multiply all read depths")
    p.add_argument("--jobs", type=int, default=2, help="samples mapped in parallel (does not change output)")
    p.add_argument("--keep-work", action="store_true", help="keep the scratch folder (FASTQ, bwa index)")
    p.add_argument("--skip-mapping", action="store_true",
                   help="write only ref.fa, variants.vcf.gz, BED files and truth.tsv.gz (no bwa needed)")
    p.add_argument("--version", action="version", version=f"%(prog)s {GENERATOR_VERSION}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    g.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    for tool in () if args.skip_mapping else ("bwa", "samtools"):
        if shutil.which(tool) is None:
            LOG.error("%s not found on PATH", tool)
            return 1
    t0 = time.monotonic()
    cfg = SMALL if args.small else FULL
    if args.samples is not None:
        if not 1 <= args.samples <= 9:
            LOG.error("--samples must be between 1 and 9")
            return 2
        cfg = dataclasses.replace(cfg, n_samples=args.samples)
    if args.depth_scale != 1.0:
        cfg = dataclasses.replace(cfg, peak_depth=tuple(d * args.depth_scale for d in cfg.peak_depth),
                                  bg_depth=cfg.bg_depth * args.depth_scale)
    # command line recorded in outputs: no absolute paths, so outputs do not depend on --outdir
    cl = ["make_demo_data.py", f"--seed {args.seed}"] + (["--small"] if args.small else [])
    if args.samples is not None:
        cl.append(f"--samples {args.samples}")
    if args.depth_scale != 1.0:
        cl.append(f"--depth-scale {args.depth_scale:g}")
    argv_str = "python scripts/" + " ".join(cl)

    outdir: Path = args.outdir
    outdir.mkdir(parents=True, exist_ok=True)
    samples = [f"S{i + 1}" for i in range(cfg.n_samples)]

    genome = make_reference(np.random.default_rng([args.seed, 1]), cfg)
    write_fasta(outdir / "ref.fa", genome)
    peaks = make_peaks(np.random.default_rng([args.seed, 2]), cfg, genome)
    bad = make_bad(cfg, genome)
    write_beds(outdir, genome, peaks, bad)
    variants = make_variants(np.random.default_rng([args.seed, 3]), cfg, genome)
    write_vcf(outdir / "variants.vcf.gz", cfg, genome, variants, samples, args.seed)
    LOG.info("reference %d bp, %d peaks, %d variant records",
             sum(len(s) for s in genome.seqs), len(peaks), len(variants))

    sims = []
    for k in range(cfg.n_samples):
        sims.append(simulate_sample(cfg, genome, variants, peaks, bad, k, args.seed))
        LOG.info("%s: %d read pairs, %d het SNVs", samples[k], sims[-1].stats["read_pairs"],
                 len(sims[-1].truth_rows))
    write_truth(outdir / "truth.tsv.gz", [r for s in sims for r in s.truth_rows])
    LOG.info("simulation done in %.1f s", time.monotonic() - t0)
    if args.skip_mapping:
        return 0

    work = outdir / ".work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    try:
        shutil.copy(outdir / "ref.fa", work / "ref.fa")
        _run("bwa index ref.fa", work)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            bams = list(ex.map(lambda s: map_sample(s, work, outdir, argv_str), sims))
        markdup_stats = {s.name: (work / f"{s.name}.markdup.txt").read_text() for s in sims}
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    LOG.info("mapping done in %.1f s", time.monotonic() - t0)

    edge = {s: bam_edge_cases(b) for s, b in zip(samples, bams)}
    params = {
        "generator_version": GENERATOR_VERSION,
        "command": argv_str,
        "seed": args.seed,
        "rng_streams": {"reference": [args.seed, 1], "peaks": [args.seed, 2], "variants": [args.seed, 3],
                        "sample k (0-based)": [args.seed, "100+k"]},
        "config": dataclasses.asdict(cfg),
        "read_length": READ_LEN,
        "imbalance_p_choices": list(IMBALANCE_P),
        "imbalance_flank": IMBALANCE_FLANK,
        "tools": {"bwa": tool_version(["bwa"]), "samtools": tool_version(["samtools", "--version"]),
                  "pysam": pysam.__version__, "numpy": np.__version__},
        "samples": {s.name: s.stats for s in sims},
        "bam_edge_cases": edge,
        "markdup": {k: v.strip().splitlines() for k, v in markdup_stats.items()},
    }
    (outdir / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    write_readme(outdir, cfg, genome, variants, peaks, samples, argv_str, params, edge)
    total = sum(f.stat().st_size for f in outdir.iterdir() if f.is_file())
    LOG.info("wrote %s (%.2f MB) in %.1f s", outdir, total / 1e6, time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
