"""Readers for genomic inputs shared by allelekit tools.

* :mod:`allelekit.io.bed` -- BED intervals (:func:`read_bed`), BAD segments (:func:`read_bad`) and
  point-in-interval lookups (:func:`lookup_intervals`).
* :mod:`allelekit.io.vcf` -- heterozygous biallelic SNVs per sample from a VCF/BCF with cyvcf2
  (:func:`read_het_snvs`).
* :mod:`allelekit.io.bam` -- BAM/CRAM header checks, sample names from ``@RG SM``, BAI/CSI index
  parsing (:class:`BamIndex`) and a BGZF block reader (:func:`iter_bgzf`).
* :mod:`allelekit.io.contigs` -- contig-name checks between files (``chr1`` vs ``1``).

Every function raises :class:`allelekit.errors.AllelekitError` with a one-line message naming the
file and suggesting a fix when the input is unusable.  Heavy modules (pysam, cyvcf2) are imported
inside the functions that need them.
"""
from .bed import BedIntervals, lookup_intervals, read_bad, read_bed
from .contigs import check_contigs

__all__ = ["BedIntervals", "read_bed", "read_bad", "lookup_intervals", "check_contigs"]
