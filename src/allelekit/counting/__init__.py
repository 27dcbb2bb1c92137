"""Allele counting at heterozygous SNVs (the library behind ``allelekit-count``).

:func:`count_alleles` is the entry point; :mod:`.engine` holds the BGZF/numba counter and
:mod:`.kernel` the compiled inner loops.  The counting rules are documented in ``docs/count.md``
and in :data:`RULES`.
"""
from .api import RULES, CountResult, count_alleles, region_counts
from .engine import ReadFilter

__all__ = ["RULES", "CountResult", "count_alleles", "region_counts", "ReadFilter"]
