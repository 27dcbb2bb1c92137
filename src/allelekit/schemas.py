"""Every Parquet table that allelekit tools exchange, defined once.

A :class:`TableSchema` is a name, a ``MAJOR.MINOR`` version and a list of :class:`Column` s, each
with an Arrow type, whether it may be null, and a one-line description (units, coordinate
convention).  ``docs/schemas.md`` is generated from this module (``python -m allelekit.schemas``)
and a test checks that it is current.

Conventions
-----------
* ``pos`` is the **1-based** position of the variant as in VCF ``POS``.
* ``start``/``end`` of regions are **0-based, half-open** as in BED.
* Missing values are nulls, never sentinels such as -1.
* Counts are 64-bit integers; depth is never capped.

Readers (:func:`read_table`) check the schema name and major version stored in the file's metadata
and every required column's presence and type, and fail with a :class:`~allelekit.errors.SchemaError`
that names the file, the columns and the expected version.  Writers (:func:`write_table`) conform
the table to the schema, add provenance to the file metadata (schema, tool, allelekit version,
parameters as JSON, input files) and write atomically: a temporary file in the same folder, renamed
over the target only when the write succeeded.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_path
from .errors import SchemaError

META_PREFIX = "allelekit."


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    nullable: bool = False
    required: bool = True


@dataclass(frozen=True)
class TableSchema:
    name: str
    version: str
    doc: str
    columns: tuple[Column, ...]
    sort_by: tuple[str, ...] = field(default=())

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    @property
    def tag(self) -> str:
        return f"{self.name}/{self.version}"

    def arrow_schema(self, present: Iterable[str] | None = None) -> pa.Schema:
        cols = self.columns if present is None else [c for c in self.columns if c.name in set(present)]
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in cols])

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, typ: pa.DataType, doc: str, nullable: bool = False, required: bool = True) -> Column:
    return Column(name, typ, doc, nullable, required)


S, I64, F64, F32, B = pa.string(), pa.int64(), pa.float64(), pa.float32(), pa.bool_()

# --- shared column groups ---------------------------------------------------------------------
_SNV = (
    _c("chrom", S, "Contig name as in the VCF/BAM header."),
    _c("pos", I64, "1-based position of the SNV (VCF POS)."),
    _c("ref", S, "Reference allele (one base)."),
    _c("alt", S, "Alternative allele (one base)."),
)

SCHEMAS: dict[str, TableSchema] = {}


def _register(schema: TableSchema) -> TableSchema:
    SCHEMAS[schema.name] = schema
    return schema


# --- allelekit-count ----------------------------------------------------------------------------
ALLELE_COUNTS = _register(TableSchema(
    "allele_counts", "1.0",
    "Read-fragment counts per sample and heterozygous biallelic SNV (output of allelekit-count; "
    "input of allelekit-fit and allelekit-test).",
    (
        _c("sample", S, "Sample name (VCF sample column / BAM @RG SM)."),
        *_SNV,
        _c("variant_id", S, "VCF ID column; null when '.'.", nullable=True),
        _c("gt", S, "Genotype as written in the VCF, e.g. '0|1', '1|0' or '0/1'."),
        _c("phased", B, "True when the genotype is phased ('|')."),
        _c("ref_count", I64, "Fragments whose base at pos is the reference allele."),
        _c("alt_count", I64, "Fragments whose base at pos is the alternative allele."),
        _c("other_count", I64, "Fragments with another base at pos (including N), or whose records disagree."),
        _c("del_count", I64, "Fragments with a deletion (CIGAR D) over pos; reference skips (N) are not counted."),
        _c("region", S, "Name of the first --regions interval (by start) containing pos; null when outside all.",
           nullable=True),
        _c("bad", F64, "Background allelic dosage of the segment containing pos (1 = balanced)."),
    ),
    sort_by=("sample", "chrom", "pos"),
))

REGION_COUNTS = _register(TableSchema(
    "region_counts", "1.0",
    "Allele counts summed per sample and region of --regions (output of allelekit-count).",
    (
        _c("sample", S, "Sample name."),
        _c("region", S, "Region name (BED column 4, or chrom:start-end when unnamed)."),
        _c("chrom", S, "Contig name."),
        _c("start", I64, "0-based start of the region (BED)."),
        _c("end", I64, "0-based exclusive end of the region (BED)."),
        _c("n_snvs", I64, "Heterozygous SNVs of the sample inside the region (0: every region is listed)."),
        _c("ref_count", I64, "Sum of ref_count over the region's SNVs."),
        _c("alt_count", I64, "Sum of alt_count over the region's SNVs."),
        _c("other_count", I64, "Sum of other_count over the region's SNVs."),
        _c("hap1_count", I64, "Sum of counts of the allele on haplotype 1 (left of '|'); null if any SNV is unphased.",
           nullable=True),
        _c("hap2_count", I64, "Sum of counts of the allele on haplotype 2 (right of '|'); null if any SNV is unphased.",
           nullable=True),
    ),
    sort_by=("sample", "chrom", "start"),
))

# --- allelekit-fit ------------------------------------------------------------------------------
MODEL_PARAMS = _register(TableSchema(
    "model_params", "1.1",
    "Fitted mixture-model parameters per BAD, direction and fixed-count slice (output of allelekit-fit). "
    "P(x | s) = w F(x; p1, r) + (1 - w) F(x; p2, r), r = b*s + mu, each component left-truncated at x > left. "
    "For binom/betabinom there is one row per BAD and direction with slice, b and mu null.",
    (
        _c("model", S, "NB, BetaNB, MCNB, binom or betabinom."),
        _c("bad", F64, "Background allelic dosage B of the fitted group."),
        _c("direction", S, "'ref' (x = ref count given s = alt count) or 'alt' (x = alt given s = ref)."),
        _c("slice", I64, "Fixed-allele count s of the slice whose window this row describes; null for "
           "binom/betabinom.", nullable=True),
        _c("w", F64, "Weight of the component p1 = B/(B+1) (1 when B = 1; 0.5 for binom/betabinom at B != 1)."),
        _c("b", F64, "Slope of the size parameter r(s) = b*s + mu; null for binom/betabinom.", nullable=True),
        _c("mu", F64, "Intercept of the size parameter r(s) = b*s + mu; null for binom/betabinom.", nullable=True),
        _c("kappa", F64, "Beta concentration (BetaNB / betabinom); null for other models and conservative rows.",
           nullable=True),
        _c("p1", F64, "Success probability of component 1, B/(B+1)."),
        _c("p2", F64, "Success probability of component 2, 1/(B+1)."),
        _c("left", I64, "Left-truncation bound L: only x > L is modelled."),
        _c("loglik", F64, "Log-likelihood of the window's observations at the fit (whole BAD group for "
           "conservative and binom/betabinom rows)."),
        _c("n", I64, "Observations in the slice itself (whole group for binom/betabinom)."),
        _c("n_window", I64, "Observations in the window the slice was fitted on."),
        _c("window_lo", I64, "Smallest fixed count in the window."),
        _c("window_hi", I64, "Largest fixed count in the window."),
        _c("rmsea", F64, "Goodness of fit of the slice: RMSEA of the observed vs fitted histogram "
           "(null when the slice has a single observed count).", nullable=True),
        _c("conservative", B, "True when the conservative fallback (b=1, mu=0, w=1, NB) was used for the BAD."),
    ),
    sort_by=("bad", "direction", "slice"),
))

# --- allelekit-test -----------------------------------------------------------------------------
PVALUES = _register(TableSchema(
    "pvalues", "1.0",
    "Per-observation one-sided p-values and effect sizes (output of allelekit-test).",
    (
        _c("sample", S, "Sample name (or input file for MixALime-style tables)."),
        *_SNV,
        _c("variant_id", S, "Variant ID; null when unknown.", nullable=True),
        _c("bad", F64, "Background allelic dosage."),
        _c("ref_count", I64, "Reference-allele fragment count."),
        _c("alt_count", I64, "Alternative-allele fragment count."),
        _c("ref_pval", F64, "P(X >= ref_count | alt_count): small when the reference allele is over-represented."),
        _c("alt_pval", F64, "P(X >= alt_count | ref_count): small when the alternative allele is over-represented."),
        _c("ref_es", F64, "log2(ref_count / expected ref_count) under the fitted null."),
        _c("alt_es", F64, "log2(alt_count / expected alt_count) under the fitted null."),
        _c("model", S, "Model the p-values come from."),
    ),
    sort_by=("sample", "chrom", "pos"),
))

# --- allelekit-combine --------------------------------------------------------------------------
COMBINED = _register(TableSchema(
    "combined", "1.0",
    "Per-SNV p-values combined across the samples of a group, BH FDR and calls (output of allelekit-combine). "
    "One row per group and SNV that passed --min-cover; FDR is computed within each group and direction.",
    (
        _c("group", S, "Group name ('all' when no --group is given)."),
        *_SNV,
        _c("variant_id", S, "Variant ID; null when unknown.", nullable=True),
        _c("mean_bad", F64, "Mean BAD over the combined observations."),
        _c("n_obs", I64, "Observations (samples) combined."),
        _c("ref_count", I64, "Sum of ref_count over the combined observations."),
        _c("alt_count", I64, "Sum of alt_count over the combined observations."),
        _c("max_cover", I64, "Largest ref+alt coverage among the observations."),
        _c("ref_pval", F64, "Combined p-value for reference over-representation (0 replaced by the smallest "
           "non-zero combined p-value)."),
        _c("alt_pval", F64, "Combined p-value for alternative over-representation (same rule)."),
        _c("ref_es", F64, "Combined effect size for the reference allele (log2; mean of per-observation ES); "
           "null when no observation has one.", nullable=True),
        _c("alt_es", F64, "Combined effect size for the alternative allele (log2); null when none.", nullable=True),
        _c("ref_fdr", F64, "Benjamini-Hochberg adjusted ref_pval (over the group's SNVs)."),
        _c("alt_fdr", F64, "Benjamini-Hochberg adjusted alt_pval (over the group's SNVs)."),
        _c("pref_allele", S, "'ref' or 'alt': the allele with the smaller combined p-value (ties: 'alt')."),
        _c("pval", F64, "Combined p-value of the preferred allele."),
        _c("fdr", F64, "FDR of the preferred allele."),
        _c("es", F64, "Combined effect size of the preferred allele; null when none.", nullable=True),
        _c("call", S, "'ref', 'alt', 'both' or 'none': significant direction(s) at the FDR threshold."),
        _c("samples", pa.list_(S), "Samples whose observations were combined, sorted."),
    ),
    sort_by=("group", "chrom", "pos"),
))

# --- allelekit-bslmm ----------------------------------------------------------------------------
BSLMM_WEIGHTS = _register(TableSchema(
    "bslmm_weights", "1.0",
    "Per gene and SNV posterior summaries of the effect (output of allelekit-bslmm; input of its "
    "--predict mode).  Prediction rule (GEMMA's): intercept + sum_j (dosage_j - dosage_mean_j) * weight_j.",
    (
        _c("gene", S, "Gene identifier."),
        _c("variant_id", S, "Variant ID (VCF ID, or chrom:pos:ref:alt when missing)."),
        *_SNV,
        _c("weight", F64, "Posterior mean total effect (alpha + beta) per ALT allele dosage."),
        _c("alpha_mean", F64, "Posterior mean of the polygenic per-SNV effect alpha (GEMMA's alpha)."),
        _c("beta_mean", F64, "Posterior mean of the sparse effect beta (unconditional: 0 when excluded)."),
        _c("pip", F64, "Posterior inclusion probability P(z_b * gamma_j = 1)."),
        _c("block", I64, "Index (0-based) of the LD block of the SNV within the gene."),
        _c("block_pip", F64, "Posterior probability that the block gate is open (1 for BSLMM).", nullable=True),
        _c("ci_low", F64, "2.5% posterior quantile of the total effect alpha + beta."),
        _c("ci_high", F64, "97.5% posterior quantile of the total effect alpha + beta."),
        _c("active", B, "True when the 95% credible interval excludes 0."),
        _c("tss_distance", I64, "Signed distance pos - TSS in bp (upstream < 0 on the + strand, as in the genome).",
           nullable=True),
        _c("dosage_mean", F64, "Mean ALT dosage of the SNV in the training samples (centring for prediction)."),
        _c("intercept", F64, "Training mean of the (covariate-adjusted) expression of the gene (same on every row)."),
    ),
    sort_by=("gene", "chrom", "pos"),
))

BSLMM_PREDIXCAN = _register(TableSchema(
    "bslmm_predixcan", "1.0",
    "PrediXcan-style TWAS weights (gene, variant, ref, effect allele = alt, weight per ALT dosage); "
    "written by allelekit-bslmm next to bslmm_weights, also as TSV.",
    (
        _c("gene", S, "Gene identifier."),
        _c("variant_id", S, "Variant ID (rsid when the VCF has one, else chrom:pos:ref:alt)."),
        _c("chrom", S, "Contig name as in the VCF."),
        _c("pos", I64, "1-based position (VCF POS)."),
        _c("ref", S, "Reference (non-effect) allele."),
        _c("alt", S, "Effect allele (the ALT allele whose dosage the weight multiplies)."),
        _c("weight", F64, "Posterior mean total effect (alpha + beta)."),
    ),
    sort_by=("gene", "chrom", "pos"),
))

BSLMM_HYPER = _register(TableSchema(
    "bslmm_hyper", "1.1",
    "Per gene hyper-parameter posterior summaries, held-out accuracy, convergence diagnostics and status "
    "(one row per requested gene, also for skipped or failed genes, whose summaries are null).",
    (
        _c("gene", S, "Gene identifier."),
        _c("model", S, "bslmm or bsbslmm."),
        _c("n_snps", I64, "SNVs in the cis window after filtering (0 when skipped)."),
        _c("n_train", I64, "Training samples of the reported fit."),
        _c("n_test", I64, "Held-out samples (0 without a test split; all samples with --folds)."),
        _c("h_mean", F64, "Posterior mean of h.", nullable=True),
        _c("pve_mean", F64, "Posterior mean of the proportion of variance explained (PVE).", nullable=True),
        _c("pve_low", F64, "2.5% quantile of PVE.", nullable=True),
        _c("pve_high", F64, "97.5% quantile of PVE.", nullable=True),
        _c("pge_mean", F64, "Posterior mean of PGE (share of genetic variance from sparse effects).", nullable=True),
        _c("pi_mean", F64, "Posterior mean of pi (bsBSLMM: of the expected inclusion rate pi_b * mean_j pi_s,j).",
           nullable=True),
        _c("pi_b_mean", F64, "Posterior mean of the block-gate probability (bsBSLMM).", nullable=True),
        _c("alpha_mean", F64, "Posterior mean of the annotation prior intercept eta0 (bsBSLMM).", nullable=True),
        _c("beta_mean", F64, "Posterior mean of the annotation prior slope eta1 on the TSS feature (bsBSLMM).",
           nullable=True),
        _c("beta_prior_mean", F64, "Mean of the normal prior of eta1 in the reported fit (bsBSLMM): the pooled "
           "empirical-Bayes estimate with --tss-prior pooled, 0 with --tss-prior gene.", nullable=True),
        _c("beta_prior_sd", F64, "Standard deviation of that prior (bsBSLMM; 1 with --tss-prior gene).", nullable=True),
        _c("n_gamma_mean", F64, "Posterior mean number of SNVs with z_b * gamma_j = 1.", nullable=True),
        _c("r_test", F64, "Pearson r of held-out predictions with observed expression.", nullable=True),
        _c("r_test_pvalue", F64, "Two-sided p-value of r_test (t test).", nullable=True),
        _c("ess_h", F64, "Effective sample size of h (summed over chains).", nullable=True),
        _c("rhat_h", F64, "Split R-hat of h across chains (null with one chain).", nullable=True),
        _c("ess_pve", F64, "Effective sample size of PVE (summed over chains).", nullable=True),
        _c("rhat_pve", F64, "Split R-hat of PVE across chains (null with one chain).", nullable=True),
        _c("n_blocks", I64, "LD blocks of the window (1 for BSLMM).", nullable=True),
        _c("seconds", F64, "CPU seconds spent on the gene (all fits).", nullable=True),
        _c("status", S, "'ok', or 'skipped: ...' / 'error: ...' saying why the gene has no fit."),
    ),
    sort_by=("gene",),
))

BSLMM_TRACE = _register(TableSchema(
    "bslmm_trace", "1.0",
    "Recorded MCMC draws of the hyper-parameters per gene and chain (the fit whose weights are reported).",
    (
        _c("gene", S, "Gene identifier."),
        _c("chain", I64, "Chain index (0-based)."),
        _c("iteration", I64, "Iteration (BSLMM: MH step; bsBSLMM: sweep) after burn-in of the recorded draw."),
        _c("h", F64, "h."),
        _c("pve", F64, "Proportion of variance explained."),
        _c("rho", F64, "rho."),
        _c("pge", F64, "Proportion of genetic variance explained by sparse effects."),
        _c("pi", F64, "pi (bsBSLMM: expected inclusion rate pi_b * mean_j pi_s,j)."),
        _c("n_gamma", I64, "Number of SNVs with z_b * gamma_j = 1."),
        _c("pi_b", F64, "Block-gate probability (bsBSLMM).", nullable=True),
        _c("alpha", F64, "Annotation prior intercept eta0 (bsBSLMM).", nullable=True),
        _c("beta", F64, "Annotation prior slope eta1 (bsBSLMM).", nullable=True),
    ),
    sort_by=("gene", "chain", "iteration"),
))

BSLMM_PREDICTIONS = _register(TableSchema(
    "bslmm_predictions", "1.0",
    "Predicted expression per gene and sample (held-out samples of a fit, or every sample in --predict mode).",
    (
        _c("gene", S, "Gene identifier."),
        _c("sample", S, "Sample name."),
        _c("predicted", F64, "Predicted expression (same scale as the covariate-adjusted input)."),
        _c("observed", F64, "Observed expression (covariate-adjusted with the training fit's coefficients); "
           "null in predict mode without expression.", nullable=True),
        _c("fold", I64, "Cross-validation fold of the sample (1..K; 0 for a single --test-samples split); "
           "null in predict mode.", nullable=True),
    ),
    sort_by=("gene", "sample"),
))

# --- allelekit-cnn-train ------------------------------------------------------------------------
CNN_DATASET = _register(TableSchema(
    "cnn_dataset", "1.0",
    "Paired-allele training set: both alleles' sequences and counts per locus.",
    (
        _c("locus_id", S, "Locus (region) name, unique."),
        _c("chrom", S, "Contig of the locus (used for leave-chromosome-out splits)."),
        _c("start", I64, "0-based start of the sequence window on the reference."),
        _c("end", I64, "0-based exclusive end of the sequence window on the reference."),
        _c("seq_a", S, "Allele A (haplotype 1 / strain A) sequence, fixed length centred on the region, ACGTN "
                       "(any case); variants of the allele applied, so indels shift it."),
        _c("seq_b", S, "Allele B (haplotype 2 / strain B) sequence, same length."),
        _c("count_a", F64, "Read count of allele A (>= 0)."),
        _c("count_b", F64, "Read count of allele B (>= 0)."),
        _c("n_variants", I64, "Variants that differ between the alleles inside the window; null when unknown "
                              "(two-FASTA input).", nullable=True, required=False),
    ),
    sort_by=("chrom", "start"),
))

CNN_METRICS = _register(TableSchema(
    "cnn_metrics", "1.0",
    "Per-epoch training metrics and the final held-out evaluation of allelekit-cnn-train (count r pools "
    "both alleles' log1p counts; log ratio = log((1 + count_a) / (1 + count_b)), natural logs).",
    (
        _c("epoch", I64, "Epoch (1-based); the final evaluation rows (final = true) repeat the best epoch."),
        _c("split", S, "'train', 'val' or 'test'."),
        _c("final", B, "True for the evaluation of the best (kept) model after training."),
        _c("n_loci", I64, "Loci in the split."),
        _c("loss", F64, "Mean MSE loss on the outputs the model is trained on.", nullable=True),
        _c("count_pearson", F64, "Pearson r of predicted vs observed log1p counts (both alleles pooled).",
           nullable=True),
        _c("count_spearman", F64, "Spearman rho of log counts (both alleles pooled).", nullable=True),
        _c("count_a_pearson", F64, "Pearson r of allele A's log count.", nullable=True),
        _c("count_b_pearson", F64, "Pearson r of allele B's log count.", nullable=True),
        _c("ratio_pearson", F64, "Pearson r of predicted vs observed log ratio.", nullable=True),
        _c("ratio_spearman", F64, "Spearman rho of the log ratio.", nullable=True),
        _c("lr", F64, "Learning rate at the end of the epoch; null in final rows.", nullable=True),
        _c("elapsed_s", F64, "Wall seconds since training started.", nullable=True),
    ),
    sort_by=(),
))

CNN_PREDICTIONS = _register(TableSchema(
    "cnn_predictions", "1.0",
    "Predictions of the best allelekit-cnn-train model for every locus of the training set, with its split.",
    (
        _c("locus_id", S, "Locus name."),
        _c("chrom", S, "Contig of the locus."),
        _c("split", S, "'train', 'val' or 'test'."),
        _c("pred_log_count_a", F64, "Predicted log1p count of allele A."),
        _c("pred_log_count_b", F64, "Predicted log1p count of allele B."),
        _c("pred_log_ratio", F64, "Predicted log((1 + count_a) / (1 + count_b))."),
        _c("obs_log_count_a", F64, "Observed log1p count of allele A."),
        _c("obs_log_count_b", F64, "Observed log1p count of allele B."),
        _c("obs_log_ratio", F64, "Observed log((1 + count_a) / (1 + count_b))."),
    ),
    sort_by=(),
))

# --- allelekit-cnn-attribute --------------------------------------------------------------------
CNN_ATTRIBUTIONS = _register(TableSchema(
    "cnn_attributions", "1.0",
    "Attribution scores of each allele's bases to the predicted log ratio, one row per locus, allele "
    "and position (positions 0-based within the model input).",
    (
        _c("locus_id", S, "Locus name."),
        _c("allele", S, "'a' or 'b'."),
        _c("position", I64, "0-based position within the sequence."),
        _c("base", S, "Base of the allele at the position."),
        _c("score_a", F32, "Attribution for A at this position (centred per position)."),
        _c("score_c", F32, "Attribution for C."),
        _c("score_g", F32, "Attribution for G."),
        _c("score_t", F32, "Attribution for T."),
        _c("method", S, "'ism' or 'tism'."),
    ),
    sort_by=("locus_id", "allele", "position"),
))

CNN_VARIANT_EFFECTS = _register(TableSchema(
    "cnn_variant_effects", "1.0",
    "Effect of every variant between the two alleles on the predicted log ratio (allelekit-cnn-attribute). "
    "Positions are 0-based half-open within each allele's own sequence; an insertion (bases only in B) has "
    "start_a == end_a, a deletion (bases only in A) has start_b == end_b.",
    (
        _c("locus_id", S, "Locus name."),
        _c("variant", I64, "0-based index of the variant within the locus, 5' to 3' along the alignment."),
        _c("kind", S, "'snv', 'insertion' (bases only in allele B) or 'deletion' (bases only in allele A)."),
        _c("start_a", I64, "0-based start of the variant in allele A."),
        _c("end_a", I64, "0-based exclusive end in allele A."),
        _c("start_b", I64, "0-based start of the variant in allele B."),
        _c("end_b", I64, "0-based exclusive end in allele B."),
        _c("aln_start", I64, "0-based first alignment column of the variant."),
        _c("aln_end", I64, "0-based exclusive last alignment column."),
        _c("allele_a", S, "Allele A's bases ('' for an insertion)."),
        _c("allele_b", S, "Allele B's bases ('' for a deletion)."),
        _c("delta_a", F64, "ratio(A with B's version, B) - ratio(A, B)."),
        _c("delta_b", F64, "ratio(A, B with A's version) - ratio(A, B)."),
        _c("effect", F64, "-(delta_a + delta_b) / 2: positive when A's version raises the A/B ratio."),
        _c("is_main", B, "True for the variant with the largest |effect| of the locus."),
    ),
    sort_by=("locus_id", "variant"),
))

CNN_MAIN_VARIANTS = _register(TableSchema(
    "cnn_main_variants", "1.0",
    "One row per analysed locus: predicted and measured log ratio, trusted flag and the main variant "
    "(allelekit-cnn-attribute).",
    (
        _c("locus_id", S, "Locus name."),
        _c("chrom", S, "Contig of the locus."),
        _c("pred_ratio", F64, "Predicted log ratio log((1+A)/(1+B)) of the model."),
        _c("measured_ratio", F64, "log((1+count_a)/(1+count_b)) from the dataset.", nullable=True),
        _c("trusted", B, "|measured| > 1, |pred / RMS(pred)| > 1.65 and the same sign (DeepAllele)."),
        _c("n_variants", I64, "Variants between the alleles."),
        _c("sum_effects", F64, "Sum of all variant effects (compare with pred_ratio)."),
        _c("main_variant", I64, "Index of the main variant; null when the alleles do not differ.", nullable=True),
        _c("main_kind", S, "Kind of the main variant.", nullable=True),
        _c("main_start_a", I64, "0-based start of the main variant in allele A.", nullable=True),
        _c("main_start_b", I64, "0-based start of the main variant in allele B.", nullable=True),
        _c("main_allele_a", S, "Allele A's bases of the main variant.", nullable=True),
        _c("main_allele_b", S, "Allele B's bases of the main variant.", nullable=True),
        _c("main_effect", F64, "Effect of the main variant.", nullable=True),
        _c("in_motif", B, "Main variant overlaps a seqlet of the locus (either allele, alignment columns).",
           nullable=True),
        _c("motif_cluster", I64, "Cluster of that seqlet (the largest-|effect| one); null when unclustered.",
           nullable=True),
        _c("motif_name", S, "TF name of that cluster (TomTom q below the threshold).", nullable=True),
        _c("motif_family", S, "TF family of that TF (JASPAR).", nullable=True),
    ),
    sort_by=("locus_id",),
))

CNN_SEQLETS = _register(TableSchema(
    "cnn_seqlets", "1.0",
    "Seqlets: stretches of significant z-scored attribution at the observed bases (allelekit-cnn-attribute). "
    "Allele B's ratio attributions are sign-flipped first, so positive means 'raises this allele's activity'.",
    (
        _c("seqlet_id", I64, "0-based seqlet index."),
        _c("locus_id", S, "Locus name."),
        _c("allele", S, "'a' or 'b'."),
        _c("start", I64, "0-based start within the allele."),
        _c("end", I64, "0-based exclusive end within the allele."),
        _c("aln_start", I64, "0-based first alignment column."),
        _c("aln_end", I64, "0-based exclusive end in alignment columns."),
        _c("sequence", S, "Bases of the allele over the seqlet."),
        _c("sign", I64, "+1 or -1: sign of the mean reference attribution (the matrix is multiplied by it)."),
        _c("n_significant", I64, "Positions with |z| above the cut."),
        _c("mean_effect", F64, "Mean sign-adjusted z at the observed bases."),
        _c("max_effect", F64, "Largest sign-adjusted z at the observed bases."),
        _c("other_mean", F64, "Mean sign-adjusted z of the other allele at the orthologous positions.",
           nullable=True),
        _c("delta", F64, "mean_effect - other_mean.", nullable=True),
        _c("common", B, "True when a seqlet of the other allele overlaps it in alignment columns."),
        _c("cluster", I64, "Cluster (0 = largest); null when unassigned or the cluster is too small.",
           nullable=True),
        _c("cluster_offset", I64, "Start of the seqlet in its cluster's CWM frame.", nullable=True),
        _c("cluster_strand", S, "'+' or '-' (reverse-complemented to align with the cluster).", nullable=True),
    ),
    sort_by=("locus_id", "allele", "start"),
))

CNN_CLUSTERS = _register(TableSchema(
    "cnn_clusters", "1.0",
    "Seqlet clusters with their contribution-weight and probability matrices and best database match "
    "(allelekit-cnn-attribute). Matrices are flattened row-major as 4 x width, rows A, C, G, T.",
    (
        _c("cluster", I64, "Cluster index (0 = largest)."),
        _c("n_seqlets", I64, "Member seqlets."),
        _c("n_loci", I64, "Loci with a member seqlet."),
        _c("n_main_variants", I64, "Trusted loci whose main variant lies in a member seqlet."),
        _c("cwm_width", I64, "Width of the CWM."),
        _c("cwm", pa.list_(F64), "Mean aligned z attributions, 4 x cwm_width, row-major."),
        _c("pfm_width", I64, "Width of the PFM (after trimming)."),
        _c("pfm", pa.list_(F64), "Probability matrix from the CWM (RMS, exp, trim, normalise), 4 x pfm_width."),
        _c("consensus", S, "Most likely base per PFM column."),
        _c("best_match_id", S, "Best TomTom match (database ID).", nullable=True),
        _c("best_match_name", S, "Its TF name.", nullable=True),
        _c("best_match_qvalue", F64, "Its TomTom q-value.", nullable=True),
        _c("name", S, "TF name assigned to the cluster (best match at q below the threshold).", nullable=True),
        _c("family", S, "JASPAR TF family of that TF.", nullable=True),
    ),
    sort_by=("cluster",),
))

CNN_MOTIF_MATCHES = _register(TableSchema(
    "cnn_motif_matches", "1.0",
    "TomTom matches of seqlet-cluster PFMs to a motif database (allelekit-cnn-attribute).",
    (
        _c("cluster", I64, "Cluster index."),
        _c("rank", I64, "1 = best match of the cluster."),
        _c("motif_id", S, "Database motif ID (e.g. JASPAR matrix ID)."),
        _c("motif_name", S, "TF name."),
        _c("family", S, "TF family (JASPAR); empty for other databases."),
        _c("pvalue", F64, "TomTom p-value."),
        _c("qvalue", F64, "Benjamini-Hochberg q-value over all database motifs for this cluster."),
        _c("score", F64, "TomTom alignment score."),
        _c("offset", I64, "Offset of the best alignment."),
        _c("overlap", I64, "Overlapping columns of the best alignment."),
        _c("strand", S, "'+' or '-': orientation of the database motif."),
        _c("significant", B, "qvalue below the naming threshold."),
    ),
    sort_by=("cluster", "rank"),
))

CNN_MEANDIFF = _register(TableSchema(
    "cnn_meandiff", "1.0",
    "Classical FIMO baseline per database motif (allelekit-cnn-attribute --meandiff): delta score = sum of FIMO "
    "hit scores in A minus in B per locus; Welch t-test of the log ratio for delta > 0 vs < 0 (MeanDiff), "
    "Pearson correlation and a Wilcoxon test, each with BH q-values over motifs.",
    (
        _c("motif_id", S, "Database motif ID."),
        _c("motif_name", S, "TF name."),
        _c("family", S, "TF family."),
        _c("n_loci", I64, "Loci with a FIMO hit in either allele."),
        _c("n_pos", I64, "Loci with delta score > 0."),
        _c("n_neg", I64, "Loci with delta score < 0."),
        _c("mean_ratio_pos", F64, "Mean log ratio of the delta > 0 loci.", nullable=True),
        _c("mean_ratio_neg", F64, "Mean log ratio of the delta < 0 loci.", nullable=True),
        _c("meandiff_t", F64, "Welch t statistic (pos - neg).", nullable=True),
        _c("meandiff_pvalue", F64, "Its two-sided p-value.", nullable=True),
        _c("meandiff_qvalue", F64, "BH q-value over motifs.", nullable=True),
        _c("pearson_r", F64, "Pearson r of delta score and log ratio.", nullable=True),
        _c("pearson_pvalue", F64, "Its p-value.", nullable=True),
        _c("pearson_qvalue", F64, "BH q-value.", nullable=True),
        _c("wilcoxon_n", I64, "Loci with |log ratio| >= 1 and delta != 0."),
        _c("wilcoxon_pvalue", F64, "Wilcoxon signed-rank p of sign(ratio) x delta.", nullable=True),
        _c("wilcoxon_qvalue", F64, "BH q-value.", nullable=True),
    ),
    sort_by=(),
))


# ----------------------------------------------------------------------------------------------
def get_schema(name: str) -> TableSchema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(sorted(SCHEMAS))}") from None


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether a column of type ``actual`` can be read as ``expected`` without loss of meaning."""
    if actual.equals(expected) or pa.types.is_null(actual):
        return True
    if pa.types.is_dictionary(actual):
        return _compatible(actual.value_type, expected)
    if pa.types.is_string(expected) or pa.types.is_large_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_boolean(expected):
        return pa.types.is_boolean(actual)
    if pa.types.is_list(expected) or pa.types.is_large_list(expected):
        return (pa.types.is_list(actual) or pa.types.is_large_list(actual)) and _compatible(
            actual.value_type, expected.value_type)
    return False


def conform(table: pa.Table, schema: TableSchema, source: str = "table") -> pa.Table:
    """Check ``table`` against ``schema`` and cast it to the schema's types and column order.

    Extra columns are kept after the schema's columns.  Optional (``required=False``) columns that are
    absent are added as nulls.
    """
    missing = [c.name for c in schema.columns if c.required and c.name not in table.column_names]
    wrong = []
    for c in schema.columns:
        if c.name in table.column_names:
            t = table.schema.field(c.name).type
            if not _compatible(t, c.type):
                wrong.append(f"{c.name} ({t}, expected {c.type})")
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if wrong:
        problems.append("mistyped column(s) " + ", ".join(wrong))
    if problems:
        raise SchemaError(f"{source}: not a valid {schema.tag} table: " + "; ".join(problems))
    arrays, fields = [], []
    for c in schema.columns:
        if c.name in table.column_names:
            col = table.column(c.name)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            if not col.type.equals(c.type):
                try:
                    col = col.cast(c.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaError(f"{source}: column {c.name} cannot be converted to {c.type}: {exc}") from None
        else:
            col = pa.nulls(table.num_rows, c.type)
        if not c.nullable and col.null_count:
            raise SchemaError(f"{source}: column {c.name} of {schema.tag} has {col.null_count} null value(s)")
        arrays.append(col)
        fields.append(pa.field(c.name, c.type, nullable=c.nullable))
    for name in table.column_names:
        if name not in {c.name for c in schema.columns}:
            arrays.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def provenance(schema: TableSchema, tool: str, params: Mapping[str, Any] | None = None,
               inputs: Sequence[str | os.PathLike] | None = None) -> dict[bytes, bytes]:
    """File-level metadata written with every table."""
    from . import __version__

    meta = {
        "schema": schema.tag,
        "tool": tool,
        "version": __version__,
        "params": json.dumps(_jsonable(params or {}), sort_keys=True),
        "inputs": json.dumps([str(p) for p in (inputs or [])]),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return {(META_PREFIX + k).encode(): v.encode() for k, v in meta.items()}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    try:  # numpy scalars
        return obj.item()
    except AttributeError:
        return str(obj)


def arrow_column(values: Any, type: pa.DataType) -> pa.Array:
    """A pyarrow Array of ``type`` from a numpy array or a sequence, built from buffers.

    ``pa.array`` imports pandas on its first call (pyarrow checks for pandas objects), which costs
    ~0.2 s CPU per process; the fast commands (allelekit-count) build their columns here instead.
    Numeric and bool types take a numpy array (no nulls); strings take a sequence of ``str``/``None``
    (``None`` -> null).
    """
    import numpy as np

    if pa.types.is_string(type):
        vals = values.tolist() if hasattr(values, "tolist") else list(values)
        n = len(vals)
        valid = np.fromiter((v is not None for v in vals), dtype=bool, count=n)
        enc = [v.encode() if v is not None else b"" for v in vals]
        if sum(map(len, enc)) >= 2**31:  # beyond 32-bit offsets: let pyarrow chunk it
            return pa.array(vals, type)
        offsets = np.zeros(n + 1, np.int32)
        if n:
            np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=n), out=offsets[1:], dtype=np.int32)
        null_count = int(n - valid.sum())
        vbuf = pa.py_buffer(np.packbits(valid, bitorder="little")) if null_count else None
        return pa.Array.from_buffers(type, n, [vbuf, pa.py_buffer(offsets), pa.py_buffer(b"".join(enc))],
                                     null_count=null_count)
    arr = np.asarray(values)
    if pa.types.is_boolean(type):
        return pa.Array.from_buffers(type, len(arr), [None, pa.py_buffer(np.packbits(arr.astype(bool),
                                                                                     bitorder="little"))])
    arr = np.ascontiguousarray(arr, dtype=type.to_pandas_dtype())
    return pa.Array.from_buffers(type, len(arr), [None, pa.py_buffer(arr)])


def to_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    raise TypeError(f"cannot convert {type(data).__name__} to an Arrow table")


def write_table(data: Any, path: str | os.PathLike, schema: TableSchema | str, *, tool: str,
                params: Mapping[str, Any] | None = None,
                inputs: Sequence[str | os.PathLike] | None = None,
                extra_metadata: Mapping[str, str] | None = None) -> Path:
    """Validate ``data`` (Arrow table, pandas DataFrame or dict of columns) and write it atomically.

    Raises :class:`SchemaError` before anything is written when the data does not fit the schema.
    """
    schema = get_schema(schema) if isinstance(schema, str) else schema
    table = conform(to_arrow(data), schema, source=f"output for {Path(path).name}")
    meta = dict(provenance(schema, tool, params, inputs))
    for k, v in (extra_metadata or {}).items():
        meta[(META_PREFIX + k).encode()] = str(v).encode()
    table = table.replace_schema_metadata(meta)
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``allelekit.*`` metadata of a Parquet file, without the prefix."""
    try:
        md = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise SchemaError(f"{path}: not a readable Parquet file ({exc})") from None
    out = {}
    for k, v in md.items():
        k = k.decode(errors="replace")
        if k.startswith(META_PREFIX):
            out[k[len(META_PREFIX):]] = v.decode(errors="replace")
    return out


def read_table(path: str | os.PathLike, schema: TableSchema | str, *, columns: Sequence[str] | None = None,
               require_metadata: bool = False) -> pa.Table:
    """Read and validate a Parquet file written for ``schema``.

    A file carrying another schema name, or the same name with another major version, is refused.
    Files without allelekit metadata (written by other software) are accepted when their columns fit,
    unless ``require_metadata``.
    """
    schema = get_schema(schema) if isinstance(schema, str) else schema
    path = Path(path)
    if not path.exists():
        raise SchemaError(f"{path}: no such file")
    meta = read_metadata(path)
    tag = meta.get("schema")
    if tag is None:
        if require_metadata:
            raise SchemaError(f"{path}: no allelekit schema metadata; expected a {schema.tag} table")
    else:
        name, _, version = tag.partition("/")
        if name != schema.name:
            raise SchemaError(f"{path}: is a table of schema {tag}, expected {schema.tag}")
        try:
            major = int(version.split(".")[0])
        except ValueError:
            raise SchemaError(f"{path}: unreadable schema version {version!r}, expected {schema.tag}") from None
        if major != schema.major:
            raise SchemaError(f"{path}: schema version {version} of {name} is not supported by this "
                              f"allelekit (reads major version {schema.major}, i.e. {schema.tag})")
    try:
        table = pq.read_table(path, columns=list(columns) if columns else None)
    except (OSError, pa.ArrowInvalid) as exc:
        raise SchemaError(f"{path}: cannot read Parquet file ({exc})") from None
    if columns:
        sub = TableSchema(schema.name, schema.version, schema.doc,
                          tuple(c for c in schema.columns if c.name in set(columns)))
        return conform(table, sub, source=str(path))
    return conform(table, schema, source=str(path))


def schema_markdown() -> str:
    """The text of ``docs/schemas.md``."""
    lines = [
        "# allelekit Parquet schemas",
        "",
        "<!-- Generated by `python -m allelekit.schemas > docs/schemas.md`; do not edit by hand. -->",
        "",
        "Every table the tools exchange. Conventions: `pos` is **1-based** (VCF POS); region `start`/`end`",
        "are **0-based half-open** (BED); missing values are nulls; counts are 64-bit. Each file carries",
        "its provenance in the Parquet key-value metadata: `allelekit.schema` (`name/version`),",
        "`allelekit.tool`, `allelekit.version`, `allelekit.params` (JSON), `allelekit.inputs` (JSON list)",
        "and `allelekit.created`. Readers refuse another schema name or major version.",
        "",
    ]
    for s in SCHEMAS.values():
        lines += [f"## `{s.name}` version {s.version}", "", s.doc, ""]
        if s.sort_by:
            lines += [f"Rows sorted by: {', '.join(s.sort_by)}.", ""]
        lines += ["| column | type | null | description |", "|---|---|---|---|"]
        for c in s.columns:
            req = "" if c.required else " (optional)"
            lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.doc}{req} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(schema_markdown(), end="")
