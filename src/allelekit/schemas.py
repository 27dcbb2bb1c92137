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
        _c("other_count", I64, "Fragments with another base at pos, N, or mates that disagree."),
        _c("del_count", I64, "Fragments with a deletion or reference skip (N) over pos; not ref/alt."),
        _c("region", S, "Name of the --regions interval containing pos; null when outside all.", nullable=True),
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
        _c("n_snvs", I64, "Heterozygous SNVs of the sample inside the region."),
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
    "model_params", "1.0",
    "Fitted mixture-model parameters per BAD, direction and fixed-count slice (output of allelekit-fit).",
    (
        _c("model", S, "NB, BetaNB, MCNB, binom or betabinom."),
        _c("bad", F64, "Background allelic dosage B of the fitted group."),
        _c("direction", S, "'ref' (x = ref count given s = alt count) or 'alt' (x = alt given s = ref)."),
        _c("slice", I64, "Fixed-allele count s of the slice whose window this row describes."),
        _c("w", F64, "Weight of the component p1 = B/(B+1) (1 when B = 1)."),
        _c("b", F64, "Slope of the size parameter r(s) = b*s + mu."),
        _c("mu", F64, "Intercept of the size parameter r(s) = b*s + mu."),
        _c("kappa", F64, "Beta concentration (BetaNB / betabinom); null for other models.", nullable=True),
        _c("p1", F64, "Success probability of component 1, B/(B+1) unless estimated."),
        _c("p2", F64, "Success probability of component 2, 1/(B+1) unless estimated."),
        _c("left", I64, "Left-truncation bound L: only x > L is modelled."),
        _c("loglik", F64, "Log-likelihood of the window's observations at the fit."),
        _c("n", I64, "Observations in the slice itself."),
        _c("n_window", I64, "Observations in the window the slice was fitted on."),
        _c("window_lo", I64, "Smallest fixed count in the window."),
        _c("window_hi", I64, "Largest fixed count in the window."),
        _c("rmsea", F64, "Goodness of fit of the slice (RMSEA of observed vs fitted histogram).", nullable=True),
        _c("conservative", B, "True when the conservative fallback (b=1, mu=0, w=1, NB) was used."),
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
    "Per-SNV p-values combined across samples of a group, BH FDR and calls (output of allelekit-combine).",
    (
        _c("group", S, "Group name ('all' when no --group is given)."),
        *_SNV,
        _c("variant_id", S, "Variant ID; null when unknown.", nullable=True),
        _c("mean_bad", F64, "Mean BAD over the combined observations."),
        _c("n_obs", I64, "Observations (samples) combined."),
        _c("max_cover", I64, "Largest ref+alt coverage among the observations."),
        _c("ref_pval", F64, "Combined p-value for reference over-representation."),
        _c("alt_pval", F64, "Combined p-value for alternative over-representation."),
        _c("ref_es", F64, "Combined effect size for the reference allele (log2)."),
        _c("alt_es", F64, "Combined effect size for the alternative allele (log2)."),
        _c("ref_fdr", F64, "Benjamini-Hochberg adjusted ref_pval (over the group's SNVs)."),
        _c("alt_fdr", F64, "Benjamini-Hochberg adjusted alt_pval (over the group's SNVs)."),
        _c("pref_allele", S, "'ref' or 'alt': the allele with the smaller combined p-value."),
        _c("call", S, "'ref', 'alt', 'both' or 'none': significant direction(s) at the FDR threshold."),
    ),
    sort_by=("group", "chrom", "pos"),
))

# --- allelekit-bslmm ----------------------------------------------------------------------------
BSLMM_WEIGHTS = _register(TableSchema(
    "bslmm_weights", "1.0",
    "Per gene and SNV posterior summaries of the effect (output of allelekit-bslmm).",
    (
        _c("gene", S, "Gene identifier."),
        _c("variant_id", S, "Variant ID (VCF ID, or chrom:pos:ref:alt when missing)."),
        *_SNV,
        _c("weight", F64, "Posterior mean total effect (alpha + beta) per ALT allele dosage."),
        _c("beta_mean", F64, "Posterior mean of the sparse effect beta."),
        _c("pip", F64, "Posterior inclusion probability P(gamma_j = 1)."),
        _c("block", I64, "Index of the LD block of the SNV within the gene."),
        _c("block_pip", F64, "Posterior probability that the block gate is open (1 for BSLMM).", nullable=True),
        _c("ci_low", F64, "2.5% posterior quantile of the total effect."),
        _c("ci_high", F64, "97.5% posterior quantile of the total effect."),
        _c("active", B, "True when the 95% credible interval excludes 0."),
        _c("tss_distance", I64, "Signed distance of the SNV from the gene's TSS in bp.", nullable=True),
    ),
    sort_by=("gene", "chrom", "pos"),
))

BSLMM_HYPER = _register(TableSchema(
    "bslmm_hyper", "1.0",
    "Per gene hyper-parameter posterior summaries, held-out accuracy and convergence diagnostics.",
    (
        _c("gene", S, "Gene identifier."),
        _c("model", S, "bslmm or bsbslmm."),
        _c("n_snps", I64, "SNVs in the cis window after filtering."),
        _c("n_train", I64, "Training samples."),
        _c("n_test", I64, "Held-out samples (0 without a test split).", ),
        _c("h_mean", F64, "Posterior mean of h."),
        _c("pve_mean", F64, "Posterior mean of the proportion of variance explained (PVE)."),
        _c("pve_low", F64, "2.5% quantile of PVE."),
        _c("pve_high", F64, "97.5% quantile of PVE."),
        _c("pge_mean", F64, "Posterior mean of PGE (share of genetic variance from sparse effects)."),
        _c("pi_mean", F64, "Posterior mean of pi (or of the mean per-SNV prior for bsBSLMM)."),
        _c("pi_b_mean", F64, "Posterior mean of the block-gate probability (bsBSLMM).", nullable=True),
        _c("alpha_mean", F64, "Posterior mean of the annotation prior intercept (bsBSLMM).", nullable=True),
        _c("beta_mean", F64, "Posterior mean of the annotation prior slope (bsBSLMM).", nullable=True),
        _c("n_gamma_mean", F64, "Posterior mean number of SNVs with gamma = 1."),
        _c("r_test", F64, "Pearson r of held-out predictions with observed expression.", nullable=True),
        _c("ess_h", F64, "Effective sample size of h.", nullable=True),
        _c("rhat_h", F64, "Split R-hat of h across chains.", nullable=True),
        _c("ess_pve", F64, "Effective sample size of PVE.", nullable=True),
        _c("rhat_pve", F64, "Split R-hat of PVE across chains.", nullable=True),
        _c("status", S, "'ok', or why the gene was skipped."),
    ),
    sort_by=("gene",),
))

BSLMM_TRACE = _register(TableSchema(
    "bslmm_trace", "1.0",
    "Recorded MCMC draws of the hyper-parameters per gene and chain.",
    (
        _c("gene", S, "Gene identifier."),
        _c("chain", I64, "Chain index (0-based)."),
        _c("iteration", I64, "Iteration after burn-in of the recorded draw."),
        _c("h", F64, "h."),
        _c("pve", F64, "Proportion of variance explained."),
        _c("rho", F64, "rho."),
        _c("pge", F64, "Proportion of genetic variance explained by sparse effects."),
        _c("pi", F64, "pi."),
        _c("n_gamma", I64, "Number of SNVs with gamma = 1."),
        _c("pi_b", F64, "Block-gate probability (bsBSLMM).", nullable=True),
        _c("alpha", F64, "Annotation prior intercept (bsBSLMM).", nullable=True),
        _c("beta", F64, "Annotation prior slope (bsBSLMM).", nullable=True),
    ),
    sort_by=("gene", "chain", "iteration"),
))

BSLMM_PREDICTIONS = _register(TableSchema(
    "bslmm_predictions", "1.0",
    "Predicted expression per gene and sample.",
    (
        _c("gene", S, "Gene identifier."),
        _c("sample", S, "Sample name."),
        _c("predicted", F64, "Predicted expression (same scale as the input)."),
        _c("observed", F64, "Observed expression; null in predict mode without expression.", nullable=True),
        _c("fold", I64, "Cross-validation fold of the sample (0 for a single split); null in predict mode.",
           nullable=True),
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
        _c("seq_a", S, "Allele A (haplotype 1 / strain A) sequence, fixed length, ACGTN."),
        _c("seq_b", S, "Allele B (haplotype 2 / strain B) sequence, same length."),
        _c("count_a", F64, "Read count of allele A."),
        _c("count_b", F64, "Read count of allele B."),
    ),
    sort_by=("chrom", "start"),
))

CNN_METRICS = _register(TableSchema(
    "cnn_metrics", "1.0",
    "Per-epoch training metrics and the final held-out evaluation of allelekit-cnn-train.",
    (
        _c("epoch", I64, "Epoch (1-based); the final evaluation rows repeat the best epoch."),
        _c("split", S, "'train', 'val' or 'test'."),
        _c("loss", F64, "Mean loss.", nullable=True),
        _c("count_pearson", F64, "Pearson r of predicted vs observed log counts.", nullable=True),
        _c("count_spearman", F64, "Spearman rho of log counts.", nullable=True),
        _c("ratio_pearson", F64, "Pearson r of predicted vs observed log ratio.", nullable=True),
        _c("ratio_spearman", F64, "Spearman rho of the log ratio.", nullable=True),
        _c("lr", F64, "Learning rate at the end of the epoch.", nullable=True),
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
            raise SchemaError(f"{path}: is a {tag} table, expected {schema.tag}")
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
