#!/usr/bin/env python3
"""Synthetic BAM + het-SNV VCF for the allelekit-count benchmark (quick: numpy + samtools).

    python benchmarks/count/make_data.py --reads 1000000 --snvs 10000 --out benchmarks/.work/b1m

Paired 2x100 bp reads over 4 contigs, fragments 150-500 bp, reads from either haplotype, 5 % of
pairs flagged duplicate, 3 % MAPQ 0, 16 base-quality strings with some low-quality bases.
Writes <out>.bam (+ .bai), <out>.vcf.gz (+ .tbi; sample BENCH, all SNVs 0|1), <out>.fa (+ .fai),
<out>.sites.tsv.gz (+ .tbi; for bcftools -T).
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np
import pysam

RL = 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=1_000_000)
    ap.add_argument("--snvs", type=int, default=10_000)
    ap.add_argument("--depth", type=float, default=20.0, help="mean read depth (sets the genome size)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    genome = int(a.reads * RL / a.depth)
    n_ctg = 4
    L = genome // n_ctg
    names = [f"chr{i + 1}" for i in range(n_ctg)]
    bases = np.frombuffer(b"ACGT", np.uint8)
    refs = {c: bases[rng.integers(0, 4, L)] for c in names}
    with open(f"{out}.fa", "w") as fh:
        for c in names:
            fh.write(f">{c}\n")
            s = refs[c].tobytes().decode()
            for i in range(0, L, 80):
                fh.write(s[i:i + 80] + "\n")
    pysam.faidx(f"{out}.fa")
    # SNVs
    per = a.snvs // n_ctg
    snvs = {}
    haps = {}
    for c in names:
        pos = np.sort(rng.choice(np.arange(200, L - 200), per, replace=False))  # 0-based
        ref = refs[c][pos]
        alt = bases[(np.searchsorted(bases, ref) + rng.integers(1, 4, per)) % 4]
        snvs[c] = (pos, ref, alt)
        h1 = refs[c].copy()
        h1[pos] = alt
        haps[c] = (refs[c].tobytes().decode(), h1.tobytes().decode())
    with open(f"{out}.vcf", "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        for c in names:
            fh.write(f"##contig=<ID={c},length={L}>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tBENCH\n")
        for c in names:
            pos, ref, alt = snvs[c]
            for p, r, x in zip(pos, ref, alt):
                fh.write(f"{c}\t{p + 1}\t.\t{chr(r)}\t{chr(x)}\t50\tPASS\t.\tGT\t0|1\n")
    pysam.tabix_compress(f"{out}.vcf", f"{out}.vcf.gz", force=True)
    pysam.tabix_index(f"{out}.vcf.gz", preset="vcf", force=True)
    with open(f"{out}.sites.tsv", "w") as fh:
        for c in names:
            pos, ref, alt = snvs[c]
            for p, r, x in zip(pos, ref, alt):
                fh.write(f"{c}\t{p + 1}\t{chr(r)},{chr(x)}\n")
    pysam.tabix_compress(f"{out}.sites.tsv", f"{out}.sites.tsv.gz", force=True)
    pysam.tabix_index(f"{out}.sites.tsv.gz", seq_col=0, start_col=1, end_col=1, force=True)
    # base-quality strings
    quals = []
    for _ in range(16):
        q = rng.choice([37, 37, 37, 23, 12], RL)
        if rng.random() < 0.3:
            q[-rng.integers(5, 30):] = 2
        quals.append("".join(chr(33 + v) for v in q))
    hdr = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{c}\tLN:{L}\n" for c in names) + \
          "@RG\tID:rg\tSM:BENCH\n"
    proc = subprocess.Popen(["samtools", "view", "-b", "-@", "2", "-o", f"{out}.bam", "-"], stdin=subprocess.PIPE,
                            text=True, bufsize=1 << 20)
    proc.stdin.write(hdr)
    frag_per = a.reads // 2 // n_ctg
    fid = 0
    for c in names:
        s = np.sort(rng.integers(0, L - 600, frag_per))
        ins = rng.integers(150, 500, frag_per)
        s2 = s + ins - RL
        hap = rng.integers(0, 2, frag_per)
        dup = rng.random(frag_per) < 0.05
        mq = np.where(rng.random(frag_per) < 0.03, 0, 60)
        qi1 = rng.integers(0, 16, frag_per)
        qi2 = rng.integers(0, 16, frag_per)
        allpos = np.concatenate([s, s2])
        mate = np.concatenate([np.zeros(frag_per, np.int8), np.ones(frag_per, np.int8)])
        idx = np.concatenate([np.arange(frag_per), np.arange(frag_per)])
        o = np.argsort(allpos, kind="stable")
        h0, h1 = haps[c]
        lines = []
        for k in o:
            i = idx[k]
            p = int(allpos[k])
            m2 = mate[k]
            flag = (147 if m2 else 99) | (1024 if dup[i] else 0)
            hp = h1 if hap[i] else h0
            pn = int(s[i]) if m2 else int(s2[i])
            tl = -int(ins[i]) if m2 else int(ins[i])
            lines.append(f"f{fid + i}\t{flag}\t{c}\t{p + 1}\t{mq[i]}\t100M\t=\t{pn + 1}\t{tl}\t{hp[p:p + RL]}\t"
                         f"{quals[qi2[i] if m2 else qi1[i]]}\tRG:Z:rg\n")
            if len(lines) >= 200_000:
                proc.stdin.write("".join(lines))
                lines = []
        proc.stdin.write("".join(lines))
        fid += frag_per
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("samtools view failed")
    pysam.index(f"{out}.bam")
    print(f"{out}.bam: {2 * frag_per * n_ctg} reads, {per * n_ctg} SNVs, {n_ctg} contigs of {L} bp")


if __name__ == "__main__":
    main()
