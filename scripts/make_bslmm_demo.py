#!/usr/bin/env python
"""Make the small deterministic allelekit-bslmm demo in demo/bslmm/ (about 0.3 MB).

Six simulated genes on two chromosomes, 200 samples, block-LD genotypes (haplotype mosaics),
2-4 causal SNVs per gene clustered in LD blocks near the TSS, PVE 0.2-0.5, two covariates; plus one
gene whose window has no SNVs (reported as skipped).  Files:

  genotypes.vcf.gz (+ .tbi)   phased GT, ids rs<n>
  expression.tsv              genes x samples (first column gene_id)
  genes.tsv                   gene_id, chrom, tss, strand
  covariates.tsv              covariates x samples (GTEx style)
  test_samples.txt            40 held-out samples
  truth.tsv                   gene, variant_id, effect, realised pve (the simulation's answer)

Run:  python scripts/make_bslmm_demo.py [--out demo/bslmm]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "demo" / "bslmm"))
    ap.add_argument("--seed", type=int, default=20260)
    args = ap.parse_args()

    import pysam

    from allelekit.bslmm.simulate import simulate_gene

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    n = 200
    samples = [f"IND{i:03d}" for i in range(1, n + 1)]
    specs = [("chr1", 1_000_000), ("chr1", 3_000_000), ("chr1", 5_000_000),
             ("chr2", 1_500_000), ("chr2", 3_500_000), ("chr2", 5_500_000)]
    cov = rng.normal(size=(n, 2))
    records, expr_rows, gene_rows, truth_rows = [], [], [], []
    rs = 1
    for gi, (chrom, tss) in enumerate(specs):
        gid = f"GENE{gi + 1}"
        sg = simulate_gene(n, 300, rng, n_causal=int(rng.integers(2, 5)), pve=float(rng.uniform(0.2, 0.5)),
                           window=150_000, tss=tss, clustered=True, n_causal_blocks=2)
        # phased haplotypes consistent with the dosages (het order random)
        G = sg.G.astype(int)
        for j in range(G.shape[1]):
            gts = []
            for i in range(n):
                d = G[i, j]
                gts.append("0|0" if d == 0 else "1|1" if d == 2 else ("0|1" if rng.random() < 0.5 else "1|0"))
            ref, alt = rng.choice(list("ACGT"), size=2, replace=False)
            records.append((chrom, int(sg.pos[j]), f"rs{rs}", ref, alt, gts))
            if sg.effects[j] != 0:
                truth_rows.append((gid, f"rs{rs}", float(sg.effects[j]), sg.pve))
            rs += 1
        y = 5.0 + sg.y + cov @ np.array([0.5, -0.3])
        expr_rows.append((gid, y))
        gene_rows.append((gid, chrom, tss, "+" if gi % 2 == 0 else "-"))
    # a gene with no SNVs in any window
    expr_rows.append(("GENE_NOSNV", rng.normal(size=n)))
    gene_rows.append(("GENE_NOSNV", "chr2", 9_000_000, "+"))

    records.sort(key=lambda r: (r[0], r[1]))
    vcf = out / "genotypes.vcf"
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##source=allelekit scripts/make_bslmm_demo.py\n")
        fh.write("##contig=<ID=chr1,length=10000000>\n##contig=<ID=chr2,length=10000000>\n")
        fh.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n")
        for chrom, pos, vid, ref, alt, gts in records:
            fh.write(f"{chrom}\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(gts) + "\n")
    pysam.tabix_index(str(vcf), preset="vcf", force=True)  # -> genotypes.vcf.gz + .tbi

    with open(out / "expression.tsv", "w") as fh:
        fh.write("gene_id\t" + "\t".join(samples) + "\n")
        for gid, y in expr_rows:
            fh.write(gid + "\t" + "\t".join(f"{v:.5f}" for v in y) + "\n")
    with open(out / "genes.tsv", "w") as fh:
        fh.write("gene_id\tchrom\ttss\tstrand\n")
        for row in gene_rows:
            fh.write("\t".join(map(str, row)) + "\n")
    with open(out / "covariates.tsv", "w") as fh:
        fh.write("covariate\t" + "\t".join(samples) + "\n")
        for k in range(cov.shape[1]):
            fh.write(f"PC{k + 1}\t" + "\t".join(f"{v:.5f}" for v in cov[:, k]) + "\n")
    test = sorted(rng.choice(samples, size=40, replace=False))
    (out / "test_samples.txt").write_text("\n".join(test) + "\n")
    with open(out / "truth.tsv", "w") as fh:
        fh.write("gene_id\tvariant_id\teffect\tpve\n")
        for gid, vid, eff, pve in truth_rows:
            fh.write(f"{gid}\t{vid}\t{eff:.5f}\t{pve:.4f}\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
