"""The slow, obviously-correct reference counter for allelekit-count (tests only).

For each SNV: fetch the records over it with pysam, apply the record filters, walk the CIGAR to find
what the record shows at the SNV, then combine the observations of each read name.  No cleverness:
one SNV at a time, one record at a time, plain Python.  The rules are those of
``allelekit.counting.api.RULES``.
"""
from __future__ import annotations

from collections import defaultdict

import pysam

REF_, ALT_, OTHER_, DEL_ = "ref", "alt", "other", "del"


def observe(rec: pysam.AlignedSegment, pos0: int, ref: str, alt: str, min_baseq: int):
    """What ``rec`` shows at 0-based ``pos0``: 'ref', 'alt', 'other', 'del', or None (no observation)."""
    r = rec.reference_start
    q = 0
    for op, ln in rec.cigartuples:
        if op in (0, 7, 8):  # M, =, X: aligned bases
            if r <= pos0 < r + ln:
                qi = q + (pos0 - r)
                quals = rec.query_qualities
                if quals is not None and min_baseq > 0 and quals[qi] < min_baseq:
                    return None
                base = rec.query_sequence[qi].upper()
                if base == ref or base == "=":
                    return REF_
                if base == alt:
                    return ALT_
                return OTHER_
            r += ln
            q += ln
        elif op == 2:  # D
            if r <= pos0 < r + ln:
                return DEL_
            r += ln
        elif op == 3:  # N: reference skip, no observation
            if r <= pos0 < r + ln:
                return None
            r += ln
        elif op in (1, 4):  # I, S consume the query only
            q += ln
    return None


def passes(rec: pysam.AlignedSegment, min_mapq=1, include_duplicates=False, include_secondary=False,
           include_supplementary=False, include_qcfail=False) -> bool:
    if rec.is_unmapped:
        return False
    if rec.is_secondary and not include_secondary:
        return False
    if rec.is_supplementary and not include_supplementary:
        return False
    if rec.is_qcfail and not include_qcfail:
        return False
    if rec.is_duplicate and not include_duplicates:
        return False
    if rec.mapping_quality < min_mapq:
        return False
    if rec.query_sequence is None or not rec.cigartuples:
        return False
    return True


def count_snv(bam: pysam.AlignmentFile, chrom: str, pos: int, ref: str, alt: str, min_mapq=1, min_baseq=20,
              **flags) -> dict[str, int]:
    """Counts of one SNV (1-based ``pos``)."""
    per_frag = defaultdict(list)
    for rec in bam.fetch(chrom, pos - 1, pos):
        if not passes(rec, min_mapq=min_mapq, **flags):
            continue
        o = observe(rec, pos - 1, ref, alt, min_baseq)
        if o is not None:
            per_frag[rec.query_name].append(o)
    out = {REF_: 0, ALT_: 0, OTHER_: 0, DEL_: 0}
    for obs in per_frag.values():
        out[obs[0] if len(set(obs)) == 1 else OTHER_] += 1
    return out


def count_table(bam_path: str, snvs, **kw):
    """Counts for an iterable of (chrom, pos, ref, alt); returns a list of (ref, alt, other, del)."""
    res = []
    with pysam.AlignmentFile(bam_path) as bam:
        refs = set(bam.references)
        for chrom, pos, ref, alt in snvs:
            if chrom not in refs:
                res.append((0, 0, 0, 0))
                continue
            c = count_snv(bam, chrom, int(pos), ref, alt, **kw)
            res.append((c[REF_], c[ALT_], c[OTHER_], c[DEL_]))
    return res


# --- test-data helpers ----------------------------------------------------------------------------
def sam_to_bam(sam: str, bam: str, csi: bool = False) -> str:
    """Sort a SAM/BAM into ``bam`` and index it (BAI, or CSI with ``csi``)."""
    pysam.sort("-o", bam, sam)
    if csi:
        pysam.index("-c", bam)
    else:
        pysam.index(bam)
    return bam


def vcf_to_gz(vcf: str, out: str) -> str:
    """bgzip and tabix-index a VCF text file."""
    pysam.tabix_compress(vcf, out, force=True)
    pysam.tabix_index(out, preset="vcf", force=True)
    return out


def simulate_bam(path_prefix: str, seed: int = 0, n_frag: int = 1500, contigs=(("r1", 4000), ("r2", 2500)),
                 n_snv: int = 120, sample: str = "SIM"):
    """A random BAM full of awkward records, and its SNVs.

    Fragments of two mates (sometimes overlapping) or single reads, with random soft clips,
    insertions, deletions and reference skips, N bases, low base qualities, duplicates, secondaries
    with SEQ '*', QC-fail, supplementary and MAPQ-0 records, and SNVs that are 1 bp apart.
    Returns (bam path, ref dict, list of (chrom, pos 1-based, ref, alt)).
    """
    import random

    rnd = random.Random(seed)
    ref = {c: "".join(rnd.choice("ACGT") for _ in range(n)) for c, n in contigs}
    snvs = set()
    while len(snvs) < n_snv:
        c, n = rnd.choice(contigs)
        p = rnd.randint(1, n)
        snvs.add((c, p))
        if rnd.random() < 0.2 and p < n:
            snvs.add((c, p + 1))
        if rnd.random() < 0.05:
            snvs.add((c, n))  # contig end
    snv_list = []
    alt_of = {}
    for c, p in sorted(snvs):
        r = ref[c][p - 1]
        a = rnd.choice([b for b in "ACGT" if b != r])
        alt_of[(c, p)] = a
        snv_list.append((c, p, r, a))
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": n} for c, n in contigs],
              "RG": [{"ID": "rg", "SM": sample}]}
    unsorted = path_prefix + ".unsorted.bam"
    with pysam.AlignmentFile(unsorted, "wb", header=header) as out:
        for f in range(n_frag):
            ci = rnd.randrange(len(contigs))
            c, n = contigs[ci]
            hap = rnd.randrange(2)
            flen = rnd.randint(60, 300)
            fs = rnd.randint(0, max(0, n - flen))
            paired = rnd.random() < 0.8
            rl = rnd.randint(30, 90)
            starts = [fs, max(fs, fs + flen - rl)] if paired else [fs]
            for k, st in enumerate(starts):
                rec = _random_record(rnd, ref[c], n, st, rl, hap, c, alt_of)
                if rec is None:
                    continue
                seq, qual, cigar, st = rec
                a = pysam.AlignedSegment(out.header)
                a.query_name = f"frag{f}"
                a.reference_id = ci
                a.reference_start = st
                a.cigartuples = cigar
                a.mapping_quality = 0 if rnd.random() < 0.05 else rnd.choice([60, 20, 3])
                flag = 0
                if paired:
                    flag |= 0x1 | 0x2 | (0x40 if k == 0 else 0x80)
                u = rnd.random()
                if u < 0.05:
                    flag |= 0x400
                elif u < 0.08:
                    flag |= 0x200
                elif u < 0.10:
                    flag |= 0x800
                a.flag = flag
                a.query_sequence = seq
                a.query_qualities = pysam.qualitystring_to_array(qual)
                a.set_tag("RG", "rg")
                out.write(a)
                if rnd.random() < 0.04:  # a secondary with SEQ '*' (bwa mem -a style)
                    b = pysam.AlignedSegment(out.header)
                    b.query_name = a.query_name
                    b.reference_id = ci
                    b.reference_start = max(0, st - rnd.randint(0, 20))
                    b.cigartuples = [(0, 20)]
                    b.flag = 0x100 | (flag & 0xC1)
                    b.mapping_quality = 0
                    out.write(b)
    bam = sam_to_bam(unsorted, path_prefix + ".bam")
    return bam, ref, snv_list


def _random_record(rnd, seq, n, st, rl, hap, chrom, alt_of):
    """A random CIGAR over seq starting at st; bases follow haplotype ``hap`` with errors."""
    ops = []
    kind = rnd.random()
    if kind < 0.45:
        ops = [(0, rl)]
    elif kind < 0.55:
        s = rnd.randint(1, 10); ops = [(4, s), (0, rl - s)]
    elif kind < 0.62:
        s = rnd.randint(1, 10); ops = [(0, rl - s), (4, s)]
    elif kind < 0.74:
        a = rnd.randint(5, rl - 5); ops = [(0, a), (1, rnd.randint(1, 4)), (0, rl - a)]
    elif kind < 0.86:
        a = rnd.randint(5, rl - 5); ops = [(0, a), (2, rnd.randint(1, 6)), (0, rl - a)]
    else:
        a = rnd.randint(5, rl - 5); ops = [(0, a), (3, rnd.randint(20, 200)), (0, rl - a)]
    reflen = sum(l for o, l in ops if o in (0, 2, 3))
    if st + reflen > n:
        st = n - reflen
    if st < 0:
        return None
    q, r = [], st
    for o, l in ops:
        if o == 0:
            for i in range(l):
                p = r + i + 1
                b = seq[r + i]
                if (chrom, p) in alt_of and hap == 1:
                    b = alt_of[(chrom, p)]
                u = rnd.random()
                if u < 0.02:
                    b = "N"
                elif u < 0.05:
                    b = rnd.choice("ACGT")
                q.append(b)
            r += l
        elif o in (2, 3):
            r += l
        else:
            q.extend(rnd.choice("ACGT") for _ in range(l))
    qual = "".join(chr(33 + (rnd.randint(2, 19) if rnd.random() < 0.15 else rnd.randint(20, 40))) for _ in q)
    return "".join(q), qual, ops, st
