#!/usr/bin/env bash
# How every file in tool_xml/test-data was made (provenance; rerun from the repository root after
# `make demo` data exist in demo/data and demo/bslmm):   bash tool_xml/test-data/make_test_data.sh
# Needs samtools, bcftools and the allelekit commands in .venv/bin.  The expected values in the
# wrappers' <tests> were read from these files; regenerating them (or changing a command's numbers)
# means re-checking those assertions.
set -euo pipefail
T=tool_xml/test-data
D=demo/data
B=demo/bslmm
X=.venv/bin
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# --- count: two BAMs cut to two peaks of chr1 and subsampled to 40 % (read pairs kept together) ---
for s in S1 S2; do
  samtools view -b -s 7.4 "$D/$s.bam" chr1:3000-4300 chr1:13300-14400 -o "$T/count_$s.bam"
done
bcftools view -r chr1:1-20000 -s S1,S2 "$D/variants.vcf.gz" -Oz -o "$T/count_variants.vcf.gz"
awk '$1=="chr1" && $3<20000' "$D/peaks.bed" > "$T/count_peaks.bed"
printf 'chr1\t0\t3500\t1\nchr1\t3500\t20000\t2\n' > "$T/count_bad.bed"
for s in S1 S2; do cp "$T/count_$s.bam" "$w/"; samtools index "$w/count_$s.bam"; done
$X/allelekit-count --bam "$w/count_S1.bam" "$w/count_S2.bam" --vcf "$T/count_variants.vcf.gz" \
  --regions "$T/count_peaks.bed" -o "$w/c.parquet" --region-output "$T/count_region_counts.parquet" -q

# --- fit / test: counts of the whole demo (4 samples); a fit on them with small windows ---------
$X/allelekit-count --bam "$D"/S{1,2,3,4}.bam --vcf "$D/variants.vcf.gz" --bad "$D/bad.bed" \
  -o "$T/demo_counts.parquet" -q
$X/allelekit-fit -i "$T/demo_counts.parquet" --window-size 100 --small-dataset-n 50 \
  -o "$T/fit_model_params.parquet" -q

# --- combine: simulated p-values (3 samples, 40 SNVs, exact binomial tails; tests/data/combine/sim.py) ---
.venv/bin/python - <<'EOF'
import sys
sys.path.insert(0, "tests/data/combine")
from sim import simulate, write_pvalues
pv, _ = simulate(n_samples=3, n_snvs=40, seed=8, mean_cover=40, frac_ref=0.15, frac_alt=0.15)
write_pvalues(pv, "tool_xml/test-data/combine_pvalues.parquet")
EOF

# --- bslmm: 80 individuals, SNVs within 50 kb of the TSS of GENE1 and GENE2; weights of a short fit ---
S=$(bcftools query -l "$B/genotypes.vcf.gz" | head -80 | paste -sd,)
bcftools view -s "$S" -r chr1:950000-1050000,chr1:2950000-3050000 "$B/genotypes.vcf.gz" -Oz \
  -o "$T/bslmm_genotypes.vcf.gz"
.venv/bin/python - <<'EOF'
import pandas as pd
T, B = "tool_xml/test-data", "demo/bslmm"
e = pd.read_csv(f"{B}/expression.tsv", sep="\t")
e = e[e.gene_id.isin(["GENE1", "GENE2"])][["gene_id", *e.columns[1:81]]]
e.to_csv(f"{T}/bslmm_expression.tsv", sep="\t", index=False, float_format="%.5g")
g = pd.read_csv(f"{B}/genes.tsv", sep="\t")
g[g.gene_id.isin(["GENE1", "GENE2"])].to_csv(f"{T}/bslmm_genes.tsv", sep="\t", index=False)
EOF
$X/allelekit-bslmm --vcf "$T/bslmm_genotypes.vcf.gz" --expression "$T/bslmm_expression.tsv" \
  --annotation "$T/bslmm_genes.tsv" --cis-window 50000 --burn-in 200 --samples 400 --folds 2 -o "$w/bslmm" -q
cp "$w/bslmm/weights.parquet" "$T/bslmm_weights.parquet"

# --- cnn: a 54-peak training set of sample S1 (200 bp), a tiny paired model, its cluster motifs ---
$X/allelekit-count --bam "$D/S1.bam" --vcf "$D/variants.vcf.gz" --regions "$D/peaks.bed" \
  --region-output "$w/s1_regions.parquet" -o "$w/s1.parquet" -q
$X/allelekit-cnn-train --build-dataset --fasta "$D/ref.fa" --vcf "$D/variants.vcf.gz" --sample S1 \
  --regions "$D/peaks.bed" --counts "$w/s1_regions.parquet" --seq-len 200 --skip-missing-counts \
  -o "$T/cnn_dataset.parquet" -q
$X/allelekit-cnn-train --dataset "$T/cnn_dataset.parquet" -o "$T/cnn_model.pt" --kernels 8 --kernel-size 9 \
  --filters 8 --res-blocks 1 --pool 4 --hidden 16 --head-layers 1 --epochs 3 --val-chroms chr2 \
  --test-chroms chr3 --batch-size 16 --lr 0.001 --device cpu --metrics "$w/m.parquet" -q
samtools faidx "$D/ref.fa" chr1:1-20000 | sed 's/^>chr1:1-20000/>chr1/' > "$T/cnn_ref.fa"
$X/allelekit-cnn-attribute -m "$T/cnn_model.pt" -d "$T/cnn_dataset.parquet" -o "$w/att" --min-cluster-size 2 \
  --top-clusters 0 --trusted-min-ratio 0.1 --trusted-min-z 0.5 -q
cp "$w/att/clusters.meme" "$T/cnn_motifs.meme"
du -sh "$T"
