"""BSLMM (Zhou, Carbonetto & Stephens 2013; GEMMA ``-bslmm 1``) and the block-sparse,
annotation-informed bsBSLMM for cis-expression prediction.

Library API (no argparse here):

* :mod:`.io` reads genotypes (VCF/BCF via cyvcf2), expression, gene annotation and covariates.
* :mod:`.ld`: :func:`compute_ld_matrix`, :func:`partition_blocks`, :func:`tss_feature`.
* :mod:`.samplers`: numba kernels ``bslmm_mh`` (GEMMA's collapsed MH) and ``bsbslmm_gibbs``.
* :mod:`.model`: :func:`fit_gene`, :func:`predict` for one gene.
* :mod:`.driver`: per-gene parallel driver producing the ``bslmm_*`` tables.
* :mod:`.simulate`: genotypes with block LD and genes with known causal SNVs.
"""
