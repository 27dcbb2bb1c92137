"""allelekit.io: BED reading, interval lookup (vs brute force), BAD files, contig-name checks."""
from __future__ import annotations

import numpy as np
import pytest

from allelekit.errors import AllelekitError
from allelekit.io import check_contigs, lookup_intervals, read_bad, read_bed


def test_read_bed_names_and_header_lines(tmp_path):
    p = tmp_path / "r.bed"
    p.write_text("track name=x\n# comment\nchr1\t10\t20\tpeakA\t0\t+\nchr1\t5\t50\nchr2\t0\t1\t.\n")
    b = read_bed(p)
    assert list(b.name) == ["peakA", "chr1:5-50", "chr2:0-1"]
    assert list(b.start) == [10, 5, 0] and list(b.end) == [20, 50, 1]


@pytest.mark.parametrize("text, msg", [("chr1\t10\n", "at least 3"), ("chr1\tx\t20\n", "not integers"),
                                       ("chr1\t20\t10\n", "empty or negative"), ("", "no intervals")])
def test_read_bed_errors(tmp_path, text, msg):
    p = tmp_path / "bad.bed"
    p.write_text(text)
    with pytest.raises(AllelekitError, match=msg):
        read_bed(p)


def test_read_bad_values_and_overlap(tmp_path):
    p = tmp_path / "bad.bed"
    p.write_text("chr1\t0\t100\t2\nchr1\t100\t200\t1.5\n")
    assert list(read_bad(p).score) == [2.0, 1.5]
    p.write_text("chr1\t0\t100\t2\nchr1\t50\t200\t1\n")
    with pytest.raises(AllelekitError, match="overlap"):
        read_bad(p)
    p.write_text("chr1\t0\t100\t0\n")
    with pytest.raises(AllelekitError, match="positive"):
        read_bad(p)


def test_lookup_intervals_matches_brute_force(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        c = rng.choice(["a", "b"])
        s = int(rng.integers(0, 5000))
        e = s + int(rng.integers(1, rng.choice([10, 100, 3000])))
        lines.append(f"{c}\t{s}\t{e}")
    p = tmp_path / "r.bed"
    p.write_text("\n".join(lines) + "\n")
    bed = read_bed(p)
    chrom = rng.choice(["a", "b", "c"], 500).astype(object)
    pos = rng.integers(1, 8000, 500)
    hits = lookup_intervals(bed, chrom, pos)
    for c, x, h in zip(chrom, pos, hits):
        brute = {i for i in range(len(bed)) if bed.chrom[i] == c and bed.start[i] < x <= bed.end[i]}
        assert set(h.tolist()) == brute
        if len(h) > 1:  # sorted by start
            assert np.all(np.diff(bed.start[h]) >= 0)


def test_check_contigs_chr_prefix():
    assert check_contigs(["1", "2", "X"], ["1", "2"], used_what="VCF", available_what="BAM") == ["X"]
    with pytest.raises(AllelekitError, match="'chr' prefix"):
        check_contigs(["1", "2"], ["chr1", "chr2"], used_what="VCF", available_what="BAM")
    with pytest.raises(AllelekitError, match="same reference genome"):
        check_contigs(["foo"], ["chr1", "chr2"], used_what="VCF", available_what="BAM")
