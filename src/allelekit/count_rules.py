"""The counting rules of ``allelekit-count``, as shown by ``--help`` and kept in one place.

A module of its own (no imports) so that the command's ``--help`` can show the rules without importing
the counting library.
"""

RULES = """\
Counting rules
  * Records skipped: unmapped (0x4) always; secondary (0x100), supplementary (0x800), QC-fail (0x200)
    and duplicate (0x400) unless --include-...; MAPQ < --min-mapq; SEQ '*'; no CIGAR.
  * A base counts only when its base quality is >= --min-baseq (0 disables; a record without
    qualities, QUAL '*', passes). Soft-clipped bases never count; an insertion next to the SNV does
    not change the base at the SNV.
  * Each fragment (read name) counts once per SNV. Its observations at the SNV (one per mate, or per
    record with the same name) are combined: all the same -> that allele; any disagreement (ref vs
    alt, a base vs a deletion, ...) -> other. A mate whose base fails --min-baseq gives no
    observation, so the other mate decides alone.
  * ref / alt: the read base equals REF / ALT ('=' counts as REF); other: any other base,
    including N; del: a deletion (CIGAR D) over the SNV. A reference skip (CIGAR N, a spliced
    intron) over the SNV is no observation at all.
  * Counts at a SNV depend only on the reads over it: never on other SNVs, their order or presence.
    Counts are 64-bit; depth is not capped.
"""
