"""Writes edge.fa, edge.sam and edge.vcf: one counting edge case per SNV (see README.md).

Run once (`python make_edge_cases.py`); the text files are committed, the BAM/index are built by
the session fixture in tests/test_count_engine.py.  Positions below are 1-based.
"""
import random

rnd = random.Random(7)
C1 = "".join(rnd.choice("ACGT") for _ in range(220))
C2 = "".join(rnd.choice("ACGT") for _ in range(40))
REF = {"c1": C1, "c2": C2}
OTHER = {"A": "C", "C": "G", "G": "T", "T": "A"}


def alt_of(chrom, pos):
    return OTHER[REF[chrom][pos - 1]]


def third(chrom, pos):  # a base that is neither ref nor alt
    r, a = REF[chrom][pos - 1], alt_of(chrom, pos)
    return next(b for b in "ACGT" if b not in (r, a))


reads = []


def read(name, chrom, pos, cigar_ops, flag=0, mapq=60, edits=None, qual=None, seq=None, mate=None):
    """Build a SAM line. cigar_ops: list of (len, op). edits: {ref_pos: base} on aligned bases,
    or {('q', i): base} on query index i."""
    edits = edits or {}
    r = pos
    q = []
    for ln, op in cigar_ops:
        if op in "M=X":
            for k in range(ln):
                q.append(edits.get(r + k, REF[chrom][r + k - 1]))
            r += ln
        elif op in "DN":
            r += ln
        elif op in "IS":
            q.extend("A" * ln)
    for (tag, i), b in [(k, v) for k, v in edits.items() if isinstance(k, tuple)]:
        q[i] = b
    s = "".join(q) if seq is None else seq
    ql = "".join(chr(33 + v) for v in (qual if qual else [30] * len(s))) if s != "*" else "*"
    cig = "".join(f"{ln}{op}" for ln, op in cigar_ops)
    rnext, pnext, tlen = ("=", mate, 0) if mate else ("*", 0, 0)
    reads.append(f"{name}\t{flag}\t{chrom}\t{pos}\t{mapq}\t{cig}\t{rnext}\t{pnext}\t{tlen}\t{s}\t{ql}\tRG:Z:rg1")


M20 = [(20, "M")]
snvs = []
# SNV 20: deletion over the SNV (del 1) + one ref read (ref 1)
snvs.append(("c1", 20, "0|1"))
read("del1", "c1", 16, [(4, "M"), (2, "D"), (16, "M")])
read("del2", "c1", 11, M20)
# SNV 40: insertions right before and right after the SNV base; both alt (alt 2)
snvs.append(("c1", 40, "0|1"))
read("ins1", "c1", 31, [(9, "M"), (2, "I"), (9, "M")], edits={40: alt_of("c1", 40)})
read("ins2", "c1", 31, [(10, "M"), (2, "I"), (8, "M")], edits={40: alt_of("c1", 40)})
# SNV 60: soft clips over the SNV never count; one plain alt read (alt 1)
snvs.append(("c1", 60, "1|0"))
read("clip1", "c1", 46, [(14, "M"), (6, "S")], edits={("q", 14): alt_of("c1", 60)})
read("clip2", "c1", 61, [(5, "S"), (15, "M")], edits={("q", 4): alt_of("c1", 60)})
read("clip3", "c1", 55, M20, edits={60: alt_of("c1", 60)})
# SNV 80: overlapping mates agree on alt (alt 1, not 2)
snvs.append(("c1", 80, "0|1"))
read("pairA", "c1", 70, M20, flag=99, edits={80: alt_of("c1", 80)}, mate=75)
read("pairA", "c1", 75, M20, flag=147, edits={80: alt_of("c1", 80)}, mate=70)
# SNV 100: overlapping mates disagree, ref vs alt (other 1)
snvs.append(("c1", 100, "0/1"))
read("pairB", "c1", 90, M20, flag=99, mate=95)
read("pairB", "c1", 95, M20, flag=147, edits={100: alt_of("c1", 100)}, mate=90)
# SNV 110: filtered records (duplicate, QC-fail, supplementary, MAPQ 0, unmapped-flagged) all alt; one ref read
snvs.append(("c1", 110, "0|1"))
read("dup1", "c1", 101, M20, flag=1024, edits={110: alt_of("c1", 110)})
read("qcf1", "c1", 101, M20, flag=512, edits={110: alt_of("c1", 110)})
read("sup1", "c1", 102, M20, flag=2048, edits={110: alt_of("c1", 110)})
read("mq0", "c1", 103, M20, mapq=0, edits={110: alt_of("c1", 110)})
read("ok110", "c1", 104, M20)
# SNV 130: a secondary alignment with SEQ '*' (bwa mem -a) and a primary alt read (alt 1)
snvs.append(("c1", 130, "0|1"))
read("sec1", "c1", 121, M20, flag=256, seq="*")
read("sec1", "c1", 122, M20, flag=0, edits={130: alt_of("c1", 130)})
# SNV 140: N in the read at the SNV: Q30 -> other 1; Q2 -> filtered by --min-baseq 20
snvs.append(("c1", 140, "0|1"))
read("nbase1", "c1", 131, M20, edits={140: "N"})
q = [30] * 20; q[140 - 132] = 2
read("nbase2", "c1", 132, M20, edits={140: "N"}, qual=q)
read("third1", "c1", 133, M20, edits={140: third("c1", 140)})
# SNV 150: base quality below threshold: a lone alt at Q10 (dropped); a pair whose alt mate is Q10 and
# ref mate is Q30 (ref 1 at --min-baseq 20; other 1 at --min-baseq 0)
snvs.append(("c1", 150, "0|1"))
q = [30] * 20; q[150 - 141] = 10
read("lowq1", "c1", 141, M20, edits={150: alt_of("c1", 150)}, qual=q)
q = [30] * 20; q[150 - 142] = 10
read("pairC", "c1", 142, M20, flag=99, edits={150: alt_of("c1", 150)}, qual=q, mate=145)
read("pairC", "c1", 145, M20, flag=147, mate=142)
# SNVs 170 and 171, 1 bp apart
snvs.append(("c1", 170, "0|1"))
snvs.append(("c1", 171, "1|0"))
read("adjA", "c1", 160, M20, edits={170: alt_of("c1", 170)})
read("adjB", "c1", 161, M20, edits={171: alt_of("c1", 171)})
read("pairD", "c1", 162, M20, flag=99, edits={170: alt_of("c1", 170), 171: alt_of("c1", 171)}, mate=165)
read("pairD", "c1", 165, M20, flag=147, edits={170: alt_of("c1", 170)}, mate=162)
# SNV 185: a reference skip (spliced read, CIGAR N) over the SNV is no observation; one ref read
snvs.append(("c1", 185, "0|1"))
read("splice1", "c1", 180, [(3, "M"), (10, "N"), (17, "M")])
read("ok185", "c1", 181, M20)
# c2 SNV 40: the last base of the contig, read ending there with alt (alt 1)
snvs.append(("c2", 40, "0|1"))
read("end1", "c2", 21, M20, edits={40: alt_of("c2", 40)})
read("end2", "c2", 25, [(16, "M")])

with open("edge.fa", "w") as fh:
    for c, s in REF.items():
        fh.write(f">{c}\n{s}\n")
with open("edge.sam", "w") as fh:
    fh.write("@HD\tVN:1.6\tSO:unsorted\n")
    for c, s in REF.items():
        fh.write(f"@SQ\tSN:{c}\tLN:{len(s)}\n")
    fh.write("@RG\tID:rg1\tSM:S1\n")
    fh.write("@CO\tone counting edge case per SNV; see make_edge_cases.py\n")
    for r in reads:
        fh.write(r + "\n")
with open("edge.vcf", "w") as fh:
    fh.write("##fileformat=VCFv4.2\n")
    for c, s in REF.items():
        fh.write(f"##contig=<ID={c},length={len(s)}>\n")
    fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
    fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n")
    extra = [  # records that must be skipped for S1
        ("c1", 5, "indel1", REF["c1"][4], REF["c1"][4] + "T", "0/1", "0/1"),
        ("c1", 25, ".", REF["c1"][24], alt_of("c1", 25) + "," + third("c1", 25), "1/2", "0/1"),
        ("c1", 45, ".", REF["c1"][44], alt_of("c1", 45), "1/1", "0/1"),
        ("c1", 50, ".", REF["c1"][49], alt_of("c1", 50), "./.", "0/1"),
        ("c1", 52, ".", REF["c1"][51], alt_of("c1", 52), "0/0", "0|1"),
    ]
    rows = [(c, p, f"snv{c}_{p}", REF[c][p - 1], alt_of(c, p), gt, "0/0") for c, p, gt in snvs] + extra
    rows.sort(key=lambda r: (r[0], r[1]))
    for c, p, vid, ref, alt, g1, g2 in rows:
        fh.write(f"{c}\t{p}\t{vid}\t{ref}\t{alt}\t50\tPASS\t.\tGT\t{g1}\t{g2}\n")
print(len(reads), "reads,", len(snvs), "SNVs")
