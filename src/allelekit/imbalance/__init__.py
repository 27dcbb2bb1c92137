"""Mixture models of allelic read counts (allelekit-fit / allelekit-test).

Modules
-------
distributions
    Log-space pmfs, left-truncation normalisers and survival functions of the count models
    (NB, BetaNB, MCNB, binomial, beta-binomial), written once for NumPy/SciPy and JAX.
inputs
    Readers for allele-count Parquet files, MixALime-style BED-like tables, VCFs with GT+AD and
    BAD maps, all returning one observation table.
fit
    Windows of neighbouring fixed-count slices and the batched (all windows at once) fit of the
    mixture ``w*F(x; p1) + (1-w)*F(x; p2)`` with JAX-compiled gradients and Hessians.
score
    Per-observation one-sided p-values and effect sizes.
plots
    Diagnostic figures of a fit.
"""
from __future__ import annotations

MODELS = ("NB", "BetaNB", "MCNB", "binom", "betabinom")
WINDOW_MODELS = ("NB", "BetaNB", "MCNB")
CLASSIC_MODELS = ("binom", "betabinom")
