"""allelekit-count end to end (in-process main([...])): outputs, sample matching, regions/BAD, bad input."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from allelekit.cli.count import EPILOG, build_parser, main
from allelekit.schemas import read_table
from oracles.count_oracle import sam_to_bam, vcf_to_gz

DATA = Path(__file__).parent / "data" / "count"


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    shutil.copy(DATA / "edge.sam", d / "edge.sam")
    bam = sam_to_bam(str(d / "edge.sam"), str(d / "edge.bam"))
    vcf = vcf_to_gz(str(DATA / "edge.vcf"), str(d / "edge.vcf.gz"))
    (d / "regions.bed").write_text("c1\t10\t50\tpeakA\nc1\t30\t120\tpeakB\nc1\t150\t175\nc2\t0\t40\tpeakE\n"
                                   "c1\t200\t210\tnoSNV\n")
    (d / "bad.bed").write_text("c1\t0\t100\t2\nc1\t100\t220\t1.5\n")
    return d, bam, vcf


def run(argv, capsys):
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    return rc, err


def test_help_documents_rules_and_fast():
    from allelekit.counting.api import RULES

    assert RULES in EPILOG
    p = build_parser()
    text = p.format_help()
    for flag in ("--bam", "--vcf", "--sample", "--regions", "--bad", "--region-output", "--min-baseq",
                 "--threads", "--tsv", "--reference"):
        assert flag in text


def test_counts_regions_bad_and_tsv(edge, tmp_path, capsys):
    d, bam, vcf = edge
    out, reg, tsv = tmp_path / "c.parquet", tmp_path / "r.parquet", tmp_path / "c.tsv"
    rc, err = run(["--bam", bam, "--vcf", vcf, "--regions", d / "regions.bed", "--bad", d / "bad.bed",
                   "-o", out, "--region-output", reg, "--tsv", tsv, "-q"], capsys)
    assert rc == 0, err
    t = read_table(out, "allele_counts").to_pandas()
    assert len(t) == 13 and set(t["sample"]) == {"S1"}
    row = t.set_index(["chrom", "pos"]).loc[("c1", 171)]
    assert (row.ref_count, row.alt_count, row.other_count, row.del_count) == (1, 1, 1, 0)
    assert row["gt"] == "1|0" and row["phased"] and row.variant_id == "snvc1_171"
    # regions: first containing region by start; unnamed -> chrom:start-end; outside -> null
    r = t.set_index(["chrom", "pos"])["region"]
    assert r[("c1", 20)] == "peakA" and r[("c1", 40)] == "peakA" and r[("c1", 100)] == "peakB"
    assert r[("c1", 170)] == "c1:150-175" and r[("c2", 40)] == "peakE" and pd.isna(r[("c1", 130)])
    b = t.set_index(["chrom", "pos"])["bad"]
    assert b[("c1", 100)] == 2.0 and b[("c1", 110)] == 1.5 and b[("c2", 40)] == 1.0
    rc_t = read_table(reg, "region_counts").to_pandas().set_index("region")
    # peakA holds SNVs 20 and 40 (both phased 0|1): hap1 = ref, hap2 = alt
    a = rc_t.loc["peakA"]
    assert (a.n_snvs, a.ref_count, a.alt_count, a.hap1_count, a.hap2_count) == (2, 1, 2, 1, 2)
    # peakB holds 40, 60 (1|0), 80, 100 (unphased) and 110 -> hap counts null
    assert rc_t.loc["peakB", "n_snvs"] == 5 and pd.isna(rc_t.loc["peakB", "hap1_count"])
    # SNVs 170 (0|1: ref1 alt2) and 171 (1|0: ref1 alt1) -> hap1 = 1 + 1, hap2 = 2 + 1
    u = rc_t.loc["c1:150-175"]
    assert (u.hap1_count, u.hap2_count, u.other_count) == (2, 3, 1)
    assert rc_t.loc["noSNV", "n_snvs"] == 0
    tt = pd.read_csv(tsv, sep="\t")
    assert list(tt["alt_count"]) == list(t["alt_count"])
    meta = pq.read_schema(out).metadata
    assert b"allelekit.params" in meta


def test_sample_flag_and_sample_errors(edge, tmp_path, capsys):
    d, bam, vcf = edge
    out = tmp_path / "s.parquet"
    # S2 is heterozygous at 3 SNV records only (c1:45, c1:50 and c1:52) - not at the edge SNVs
    rc, err = run(["--bam", bam, "--vcf", vcf, "--sample", "S2", "-o", out, "-q"], capsys)
    assert rc == 0, err
    t = read_table(out, "allele_counts").to_pandas()
    assert list(t["pos"]) == [45, 50, 52] and list(t["gt"]) == ["0/1", "0/1", "0|1"]
    out2 = tmp_path / "x.parquet"
    rc, err = run(["--bam", bam, "--vcf", vcf, "--sample", "NOPE", "-o", out2], capsys)
    assert rc == 1 and "NOPE not in the VCF" in err and err.count("\n") == 1 and not out2.exists()
    rc, err = run(["--bam", bam, bam, "--vcf", vcf, "-o", out2], capsys)
    assert rc == 1 and "more than one BAM" in err and not out2.exists()
    rc, err = run(["--bam", bam, "--vcf", vcf, "--sample", "S1", "S2", "-o", out2], capsys)
    assert rc == 1 and "one name per file" in err


def _expect_error(argv, capsys, needle, out):
    rc, err = run([*argv, "-q"], capsys)
    assert rc == 1, err
    assert err.startswith("allelekit-count: error:") and err.count("\n") == 1, err
    assert needle in err, err
    assert not Path(out).exists()
    assert not [p for p in Path(out).parent.iterdir() if p.name.startswith(".")], "temporary file left"


def test_bad_input_errors(edge, tmp_path, capsys):
    d, bam, vcf = edge
    out = tmp_path / "o" / "c.parquet"
    out.parent.mkdir()
    base = ["--vcf", vcf, "-o", out]
    # missing index
    nob = tmp_path / "noindex.bam"
    shutil.copy(bam, nob)
    _expect_error(["--bam", nob, *base], capsys, "no index found", out)
    # stale index: the BAM was rewritten (a longer header shifts every record) after indexing
    import pysam
    st = tmp_path / "stale.bam"
    with pysam.AlignmentFile(bam) as af:
        hdr = af.header.to_dict()
        hdr["CO"] = ["x" * 5000]
        with pysam.AlignmentFile(str(st), "wb", header=hdr) as o:
            for r in af:
                o.write(r)
    shutil.copy(bam + ".bai", str(st) + ".bai")
    old = time.time() - 100
    os.utime(str(st) + ".bai", (old, old))
    _expect_error(["--bam", st, *base], capsys, "stale index", out)
    # an index merely older than the file (copied in the other order) is fine
    ok = tmp_path / "old_index.bam"
    shutil.copy(bam, ok)
    shutil.copy(bam + ".bai", str(ok) + ".bai")
    os.utime(str(ok) + ".bai", (old, old))
    assert run(["--bam", ok, "--vcf", vcf, "-o", tmp_path / "ok.parquet", "-q"], capsys)[0] == 0
    # empty and truncated BAM
    em = tmp_path / "empty.bam"
    em.write_bytes(b"")
    _expect_error(["--bam", em, *base], capsys, "empty", out)
    import pysam
    ho = tmp_path / "header_only.bam"
    with pysam.AlignmentFile(bam) as af, pysam.AlignmentFile(str(ho), "wb", header=af.header) as o:
        pass
    pysam.index(str(ho))
    _expect_error(["--bam", ho, *base], capsys, "no aligned records", out)
    tr = tmp_path / "trunc.bam"
    tr.write_bytes(Path(bam).read_bytes()[:-40])
    shutil.copy(bam + ".bai", str(tr) + ".bai")
    _expect_error(["--bam", tr, *base], capsys, "truncated", out)
    # contig names chr1 vs c1
    chrvcf = tmp_path / "chr.vcf"
    chrvcf.write_text((DATA / "edge.vcf").read_text().replace("c1\t", "chrc1\t").replace("c2\t", "chrc2\t")
                      .replace("ID=c", "ID=chrc"))
    gz = vcf_to_gz(str(chrvcf), str(tmp_path / "chr.vcf.gz"))
    _expect_error(["--bam", bam, "--vcf", gz, "-o", out], capsys, "chr", out)
    # VCF without GT
    nogt = tmp_path / "nogt.vcf"
    lines = [ln for ln in (DATA / "edge.vcf").read_text().splitlines() if "ID=GT" not in ln]
    nogt.write_text("\n".join(ln if ln.startswith("#") else "\t".join(ln.split("\t")[:8]) for ln in lines)
                    .replace("\tFORMAT\tS1\tS2", "") + "\n")
    _expect_error(["--bam", bam, "--vcf", nogt, "--sample", "S1", "-o", out], capsys, "", out)
    # empty region
    eb = tmp_path / "emptyreg.bed"
    eb.write_text("c1\t10\t10\tzero\n")
    _expect_error(["--bam", bam, *base, "--regions", eb], capsys, "empty or negative interval", out)
    eb.write_text("")
    _expect_error(["--bam", bam, *base, "--regions", eb], capsys, "no intervals", out)
    # BAD value not a number
    bb = tmp_path / "bad.bed"
    bb.write_text("c1\t0\t100\thigh\n")
    _expect_error(["--bam", bam, *base, "--bad", bb], capsys, "not a number", out)


def test_vcf_without_gt_message(edge, tmp_path, capsys):
    d, bam, _ = edge
    v = tmp_path / "nogt.vcf"
    v.write_text("##fileformat=VCFv4.2\n##contig=<ID=c1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                 "c1\t20\t.\tC\tG\t50\tPASS\t.\tDP\t3\n")
    (tmp_path / "hdr").write_text("")
    v2 = tmp_path / "nogt2.vcf"
    v2.write_text(v.read_text().replace("#CHROM", '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="d">\n#CHROM'))
    out = tmp_path / "c.parquet"
    _expect_error(["--bam", bam, "--vcf", v2, "-o", out], capsys, "no GT", out)


def test_unsorted_bam_with_index(edge, tmp_path, capsys):
    """Records out of order under an index (a BAM rewritten after indexing) -> 'not sorted'."""
    import pysam

    d, bam, vcf = edge
    with pysam.AlignmentFile(bam) as af:
        hdr = af.header
        recs = list(af)
    bad = tmp_path / "unsorted.bam"
    c1 = [r for r in recs if r.reference_name == "c1"]
    rest = [r for r in recs if r.reference_name != "c1"]
    with pysam.AlignmentFile(str(bad), "wb", header=hdr) as out:
        for r in c1[::-1] + rest:
            out.write(r)
    shutil.copy(bam + ".bai", str(bad) + ".bai")
    o = tmp_path / "c.parquet"
    _expect_error(["--bam", bad, "--vcf", vcf, "-o", o], capsys, "not sorted", o)


def test_queryname_sorted_header_rejected(edge, tmp_path, capsys):
    d, bam, vcf = edge
    sam = tmp_path / "q.sam"
    sam.write_text((DATA / "edge.sam").read_text())
    import pysam
    pysam.sort("-n", "-o", str(tmp_path / "q.bam"), str(sam))
    pysam.index(bam)  # no-op for the original
    o = tmp_path / "c.parquet"
    _expect_error(["--bam", tmp_path / "q.bam", "--vcf", vcf, "-o", o], capsys, "not coordinate-sorted", o)


def test_cram_input(edge, tmp_path, capsys):
    import pysam

    d, bam, vcf = edge
    fa = tmp_path / "edge.fa"
    shutil.copy(DATA / "edge.fa", fa)
    pysam.faidx(str(fa))
    cram = tmp_path / "edge.cram"
    pysam.samtools.view("-C", "-T", str(fa), "-o", str(cram), bam, catch_stdout=False)
    pysam.index(str(cram))
    o1, o2 = tmp_path / "b.parquet", tmp_path / "c.parquet"
    assert run(["--bam", bam, "--vcf", vcf, "-o", o1, "-q"], capsys)[0] == 0
    _expect_error(["--bam", cram, "--vcf", vcf, "-o", o2], capsys, "--reference", o2)
    rc, err = run(["--bam", cram, "--vcf", vcf, "--reference", fa, "-o", o2, "-q"], capsys)
    assert rc == 0, err
    a = read_table(o1, "allele_counts").to_pandas()
    b = read_table(o2, "allele_counts").to_pandas()
    cols = ["pos", "ref_count", "alt_count", "other_count", "del_count"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_region_output_needs_regions(edge, tmp_path, capsys):
    d, bam, vcf = edge
    with pytest.raises(SystemExit) as e:
        main(["--bam", bam, "--vcf", vcf, "-o", str(tmp_path / "x.parquet"), "--region-output",
              str(tmp_path / "r.parquet")])
    assert e.value.code == 2


def test_contigs_selection(edge, tmp_path, capsys):
    d, bam, vcf = edge
    out, reg = tmp_path / "c.parquet", tmp_path / "r.parquet"
    rc, err = run(["--bam", bam, "--vcf", vcf, "--contigs", "c2", "--regions", d / "regions.bed", "-o", out,
                   "--region-output", reg, "-q"], capsys)
    assert rc == 0, err
    t = read_table(out, "allele_counts").to_pandas()
    assert list(t["chrom"]) == ["c2"] and (t.ref_count.iloc[0], t.alt_count.iloc[0]) == (1, 1)
    assert list(read_table(reg, "region_counts").to_pandas()["region"]) == ["peakE"]
    o2 = tmp_path / "x.parquet"
    _expect_error(["--bam", bam, "--vcf", vcf, "--contigs", "chrX", "-o", o2], capsys, "not among the contigs", o2)
