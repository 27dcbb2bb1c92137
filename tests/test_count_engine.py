"""The fast counter against the pysam oracle (tests/oracles/count_oracle.py) and hand-derived answers.

tests/data/count/edge.sam has one edge case per SNV (see make_edge_cases.py for the reads):

  c1:20  deletion over the SNV (del 1) + a ref read                      -> ref 1, del 1
  c1:40  insertions right before / right after the SNV base, both alt    -> alt 2
  c1:60  soft clips over the SNV (never count) + one alt read            -> alt 1
  c1:80  overlapping mates that agree on alt                             -> alt 1 (not 2)
  c1:100 overlapping mates that disagree (ref vs alt)                    -> other 1
  c1:110 duplicate, QC-fail, supplementary, MAPQ-0 alt reads (skipped) + 2 ref reads -> ref 2
  c1:130 a secondary with SEQ '*' + a primary alt read                   -> alt 1
  c1:140 N at Q30 (other), N at Q2 (dropped), a third base (other), ref  -> ref 1, other 2
  c1:150 lone alt at Q10 (dropped); pair alt Q10 + ref Q30 (ref); 3 ref  -> ref 4
  c1:170/171 two SNVs 1 bp apart, reads and a pair over both             -> 1/2/0 and 1/1/1
  c1:185 a spliced read (CIGAR N) over the SNV is no observation + ref   -> ref 1
  c2:40  last base of the contig                                         -> ref 1, alt 1
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from allelekit.counting import ReadFilter
from allelekit.counting import engine
from allelekit.counting.engine import BamSnvs, count_snvs
from oracles.count_oracle import count_table, sam_to_bam, simulate_bam

DATA = Path(__file__).parent / "data" / "count"

EDGE_EXPECTED = {  # (chrom, pos): (ref, alt, other, del) with the default filters
    ("c1", 20): (1, 0, 0, 1), ("c1", 40): (0, 2, 0, 0), ("c1", 60): (0, 1, 0, 0), ("c1", 80): (0, 1, 0, 0),
    ("c1", 100): (0, 0, 1, 0), ("c1", 110): (2, 0, 0, 0), ("c1", 130): (0, 1, 0, 0), ("c1", 140): (1, 0, 2, 0),
    ("c1", 150): (4, 0, 0, 0), ("c1", 170): (1, 2, 0, 0), ("c1", 171): (1, 1, 1, 0), ("c1", 185): (1, 0, 0, 0),
    ("c2", 40): (1, 1, 0, 0),
}


def _edge_snvs():
    ref = {}
    name = None
    for line in (DATA / "edge.fa").read_text().split("\n"):
        if line.startswith(">"):
            name = line[1:]
        elif line:
            ref[name] = line
    out = []
    for line in (DATA / "edge.vcf").read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        if f[2].startswith("snv"):
            out.append((f[0], int(f[1]), f[3], f[4]))
    return out


@pytest.fixture(scope="session")
def edge_bam(tmp_path_factory):
    d = tmp_path_factory.mktemp("edge")
    shutil.copy(DATA / "edge.sam", d / "edge.sam")
    return sam_to_bam(str(d / "edge.sam"), str(d / "edge.bam"))


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    bam, ref, snvs = simulate_bam(str(d / "sim"), seed=11)
    return bam, snvs


def fast(bam, snvs, filt=ReadFilter(), threads=1):
    refs = None
    import pysam
    with pysam.AlignmentFile(bam) as af:
        refs = list(af.references)
    item = BamSnvs(bam, refs, np.array([s[0] for s in snvs], object), np.array([s[1] for s in snvs], np.int64),
                   np.array([s[2] for s in snvs], object), np.array([s[3] for s in snvs], object))
    counts, _ = count_snvs([item], filt, threads)
    return [tuple(int(x) for x in row) for row in counts[0]]


def test_edge_cases_known_answers(edge_bam):
    snvs = _edge_snvs()
    got = dict(zip([(c, p) for c, p, _, _ in snvs], fast(edge_bam, snvs)))
    assert got == EDGE_EXPECTED
    assert dict(zip([(c, p) for c, p, _, _ in snvs], count_table(edge_bam, snvs))) == EDGE_EXPECTED


@pytest.mark.parametrize("kw", [
    dict(min_baseq=0),
    dict(include_secondary=True, include_duplicates=True),
    dict(include_qcfail=True, include_supplementary=True, min_mapq=0),
    dict(min_mapq=30, min_baseq=35),
])
def test_edge_cases_oracle_other_filters(edge_bam, kw):
    snvs = _edge_snvs()
    assert fast(edge_bam, snvs, ReadFilter(**kw)) == count_table(edge_bam, snvs, **kw)


def test_edge_min_baseq_0_changes_the_pair_rule(edge_bam):
    snvs = _edge_snvs()
    got = dict(zip([(c, p) for c, p, _, _ in snvs], fast(edge_bam, snvs, ReadFilter(min_baseq=0))))
    # c1:150: the Q10 alt read now counts, and the pair (alt Q10 + ref Q30) disagrees -> other
    assert got[("c1", 150)] == (3, 1, 1, 0)
    # c1:140: the Q2 N now counts as other
    assert got[("c1", 140)] == (1, 0, 3, 0)


@pytest.mark.parametrize("kw", [dict(), dict(min_baseq=0, min_mapq=0), dict(include_duplicates=True,
                                                                                 include_secondary=True)])
def test_simulated_bam_matches_oracle(sim, kw):
    bam, snvs = sim
    f = fast(bam, snvs, ReadFilter(**kw))
    o = count_table(bam, snvs, **kw)
    assert f == o
    assert sum(sum(x) for x in f) > 1000  # the test has teeth: many observations


def test_counts_do_not_depend_on_other_snvs(sim):
    bam, snvs = sim
    full = dict(zip(snvs, fast(bam, snvs)))
    rnd = np.random.default_rng(3)
    sub = [snvs[i] for i in sorted(rnd.choice(len(snvs), len(snvs) // 3, replace=False))]
    assert dict(zip(sub, fast(bam, sub))) == {s: full[s] for s in sub}
    # one SNV alone
    assert fast(bam, [snvs[5]]) == [full[snvs[5]]]


def test_threads_give_identical_counts(sim):
    bam, snvs = sim
    assert fast(bam, snvs, threads=2) == fast(bam, snvs, threads=1)


def test_small_batches_and_observation_growth(sim, monkeypatch):
    """Records split across kernel calls and observation arrays that must grow give the same counts."""
    bam, snvs = sim
    ref = fast(bam, snvs)
    monkeypatch.setattr(engine, "BATCH_BYTES", 700)
    monkeypatch.setattr(engine, "OBS_CAPACITY", 4)
    assert fast(bam, snvs) == ref


def test_csi_index_same_as_bai(sim, tmp_path):
    bam, snvs = sim
    b2 = tmp_path / "csi.bam"
    shutil.copy(bam, b2)
    import pysam
    pysam.index("-c", str(b2))
    assert (tmp_path / "csi.bam.csi").exists()
    assert fast(str(b2), snvs, threads=2) == fast(bam, snvs)


def test_index_start_offsets_find_every_record(sim):
    """Starting at BamIndex.start_offset(beg) never misses a record overlapping beg (vs pysam.fetch)."""
    import pysam

    from allelekit.io.bam import find_index, read_index

    bam, _ = sim
    idx = read_index(find_index(bam))
    with pysam.AlignmentFile(bam) as af:
        for tid, c in enumerate(af.references):
            for beg in (0, 100, 1500, 2400, 3999):
                names = {(r.query_name, r.reference_start, r.flag) for r in af.fetch(c, beg, beg + 1)}
                voff = idx.start_offset(tid, beg)
                af.seek(voff)
                seen = set()
                for r in af:
                    if r.reference_id != tid or r.reference_start > beg:
                        break
                    seen.add((r.query_name, r.reference_start, r.flag))
                assert names <= seen, (c, beg)


def test_inflate_fallbacks_give_identical_counts(sim, monkeypatch):
    """libdeflate / ISA-L / zlib inflate the same bytes."""
    import zlib

    import allelekit.io.bam as B

    bam, snvs = sim
    ref = fast(bam, snvs)
    monkeypatch.setattr(B, "_inflate", lambda data, isize: zlib.decompress(data, -15))
    assert fast(bam, snvs) == ref


def test_contig_without_reads_gives_zero_counts(edge_bam, tmp_path):
    """SNVs on a contig of the header that has no reads get zero counts (and the others are unchanged)."""
    import pysam

    with pysam.AlignmentFile(edge_bam) as af:
        hdr = af.header.to_dict()
        recs = [r for r in af if r.reference_name == "c1"]
    only_c1 = tmp_path / "c1only.bam"
    with pysam.AlignmentFile(str(only_c1), "wb", header=hdr) as out:
        for r in recs:
            out.write(r)
    pysam.index(str(only_c1))
    snvs = _edge_snvs()
    got = dict(zip([(c, p) for c, p, _, _ in snvs], fast(str(only_c1), snvs)))
    assert got[("c2", 40)] == (0, 0, 0, 0)
    assert {k: v for k, v in got.items() if k[0] == "c1"} == {k: v for k, v in EDGE_EXPECTED.items() if k[0] == "c1"}
