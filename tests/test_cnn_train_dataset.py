"""allelekit-cnn-train --build-dataset: sequences of both haplotypes (SNVs and indels applied,
windows centred on the region), counts, and the bad-input errors.

Fixture (written per test into tmp_path): contig ``chr1`` of 200 bp and ``chr2`` of 120 bp of a
fixed random sequence; a phased VCF for sample S1 with, inside region r1 (chr1:80-120, centre 100,
window of 40 bp = [80, 120)):

    pos(1-based) 86   SNV on hap 2 (0|1)
    pos 91       SNV on hap 1 (1|0)
    pos 96       2-bp deletion (REF 3 bases -> 1) on hap 2 (0|1): hap 2's window shifts 2 bp right
    pos 111      1-bp insertion on hap 1 (1|0), downstream of the centre: no shift
    pos 116      homozygous SNV (1|1): in both alleles
"""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from allelekit.cli.cnn_train import main
from allelekit.schemas import read_table, write_table

rng = np.random.default_rng(7)
CHR1 = "".join(rng.choice(list("ACGT"), 200))
CHR2 = "".join(rng.choice(list("ACGT"), 120))


def _comp(b):
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[b]


def _variants():
    """(pos1, ref, alt, gt) with REF taken from the FASTA."""
    v = [
        (86, CHR1[85], _comp(CHR1[85]), "0|1"),
        (91, CHR1[90], _comp(CHR1[90]), "1|0"),
        (96, CHR1[95:98], CHR1[95], "0|1"),
        (111, CHR1[110], CHR1[110] + "G", "1|0"),
        (116, CHR1[115], _comp(CHR1[115]), "1|1"),
    ]
    return v


def _expected(hap: int, L: int = 40) -> str:
    """Apply the fixture's variants for one haplotype by hand, centre = 100."""
    seq = list(CHR1)
    shift = 0
    for pos1, ref, alt, gt in sorted(_variants(), reverse=True):
        if gt.split("|")[hap] == "1":
            p = pos1 - 1
            seq[p:p + len(ref)] = list(alt)
            if p + len(ref) <= 100:
                shift += len(alt) - len(ref)
    s = "".join(seq)
    c = 100 + shift
    return s[c - L // 2: c - L // 2 + L]


def write_fixture(d, variants=None, regions=None, bgzip=True):
    fa = d / "ref.fa"
    fa.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=200>", "##contig=<ID=chr2,length=120>",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1"]
    for pos1, ref, alt, gt in (variants if variants is not None else _variants()):
        lines.append(f"chr1\t{pos1}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{gt}")
    vcf = d / "v.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    bed = d / "regions.bed"
    bed.write_text(regions if regions is not None else "chr1\t80\t120\tr1\nchr1\t20\t40\tr2\nchr2\t50\t70\tr3\n")
    counts = d / "counts.tsv"
    counts.write_text("region\tcount_a\tcount_b\nr1\t10\t3\nr2\t0\t5\nr3\t7\t7\n")
    return fa, vcf, bed, counts


def test_builder_applies_phased_snvs_and_indels(tmp_path):
    fa, vcf, bed, counts = write_fixture(tmp_path)
    out = tmp_path / "ds.parquet"
    assert main(["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf), "--regions", str(bed),
                 "--counts", str(counts), "--seq-len", "40", "-o", str(out), "-q"]) == 0
    df = read_table(out, "cnn_dataset").to_pandas().set_index("locus_id")
    r1 = df.loc["r1"]
    assert r1.seq_a == _expected(0) and r1.seq_b == _expected(1)
    assert r1.seq_a != r1.seq_b and len(r1.seq_a) == len(r1.seq_b) == 40
    assert (r1.start, r1.end, r1.count_a, r1.count_b) == (80, 120, 10.0, 3.0)
    assert r1.n_variants == 4  # the homozygous SNV is not a difference between the alleles
    # the 2-bp deletion on hap 2 upstream of the centre: its window reaches 2 bp further left on the reference
    assert r1.seq_b.startswith(CHR1[78:85]) and r1.seq_a.startswith(CHR1[80:85])
    # regions without variants: both alleles are the reference window
    r3 = df.loc["r3"]
    assert r3.seq_a == r3.seq_b == CHR2[40:80]
    assert df.loc["r2"].seq_a == CHR1[10:50]
    assert list(df.columns[:8]) == ["chrom", "start", "end", "seq_a", "seq_b", "count_a", "count_b", "n_variants"]


def test_builder_reads_region_counts_parquet_and_bgzipped_vcf(tmp_path):
    fa, vcf, bed, _ = write_fixture(tmp_path)
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", str(vcf) + ".gz"], check=True)
    rc = pd.DataFrame({"sample": ["S1"] * 3 + ["S2"], "region": ["r1", "r2", "r3", "r1"],
                       "chrom": ["chr1", "chr1", "chr2", "chr1"], "start": [80, 20, 50, 80],
                       "end": [120, 40, 70, 120], "n_snvs": [3, 0, 0, 3], "ref_count": [5, 0, 0, 1],
                       "alt_count": [5, 0, 0, 1], "other_count": [0] * 4,
                       "hap1_count": [12, 0, 0, 1], "hap2_count": [4, 0, 0, 1]})
    pq = tmp_path / "rc.parquet"
    write_table(rc, pq, "region_counts", tool="test")
    out = tmp_path / "ds.parquet"
    assert main(["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf) + ".gz", "--regions", str(bed),
                 "--counts", str(pq), "--sample", "S1", "--seq-len", "40", "-o", str(out), "-q"]) == 0
    df = read_table(out, "cnn_dataset").to_pandas().set_index("locus_id")
    assert (df.loc["r1", "count_a"], df.loc["r1", "count_b"]) == (12.0, 4.0)
    assert df.loc["r1", "seq_b"] == _expected(1)
    # two samples in the counts and no --sample: a clear error
    out2 = tmp_path / "ds2.parquet"
    assert main(["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf) + ".gz", "--regions", str(bed),
                 "--counts", str(pq), "--seq-len", "40", "-o", str(out2), "-q"]) == 1
    assert not out2.exists()


def _run_error(tmp_path, capsys, argv):
    out = tmp_path / "bad.parquet"
    rc = main([*argv, "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and not out.exists()
    assert len(err) == 1 and err[0].startswith("allelekit-cnn-train: error: ")
    return err[0]


def test_builder_ref_mismatch_names_variants(tmp_path, capsys):
    v = _variants()
    wrong = "A" if CHR1[85] != "A" else "C"
    v[0] = (86, wrong, "G" if wrong != "G" else "T", "0|1")
    fa, vcf, bed, counts = write_fixture(tmp_path, variants=v)
    msg = _run_error(tmp_path, capsys, ["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf), "--regions",
                                        str(bed), "--counts", str(counts), "--seq-len", "40"])
    assert "REF disagrees" in msg and "chr1:86" in msg


def test_builder_region_off_contig_end(tmp_path, capsys):
    fa, vcf, bed, counts = write_fixture(tmp_path, regions="chr2\t100\t118\tr3\n")
    msg = _run_error(tmp_path, capsys, ["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf), "--regions",
                                        str(bed), "--counts", str(counts), "--seq-len", "40"])
    assert "runs off the contig end" in msg and "r3" in msg


@pytest.mark.parametrize("text,what", [("region\tcount_a\tcount_b\nr1\t-1\t3\nr2\t0\t5\nr3\t7\t7\n", "negative"),
                                       ("region\tcount_a\tcount_b\nr1\t1\t3\nr2\t\t5\nr3\t7\t7\n", "missing"),
                                       ("region\tcount_a\tcount_b\nr1\t1\t3\nr3\t7\t7\n", "missing")])
def test_builder_bad_counts(tmp_path, capsys, text, what):
    fa, vcf, bed, counts = write_fixture(tmp_path)
    counts.write_text(text)
    msg = _run_error(tmp_path, capsys, ["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf), "--regions",
                                        str(bed), "--counts", str(counts), "--seq-len", "40"])
    assert what in msg
    if what == "missing":  # --skip-missing-counts drops them instead
        out = tmp_path / "ok.parquet"
        assert main(["--build-dataset", "--fasta", str(fa), "--vcf", str(vcf), "--regions", str(bed), "--counts",
                     str(counts), "--seq-len", "40", "--skip-missing-counts", "-o", str(out), "-q"]) == 0
        assert sorted(read_table(out, "cnn_dataset").column("locus_id").to_pylist()) == ["r1", "r3"]


def test_builder_two_fastas(tmp_path, capsys):
    a = tmp_path / "a.fa"
    b = tmp_path / "b.fa"
    a.write_text(">chr1-100-110\nACGTACGTAC\n>chr5-7-30\n" + "ac" * 15 + "\n")
    b.write_text(">chr5-7-30\n" + "ag" * 15 + "\n>chr1-100-110\nACGTTCGTAC\n")
    counts = tmp_path / "c.tsv"
    counts.write_text("region\tcount_a\tcount_b\nchr1-100-110\t4\t2\nchr5-7-30\t1\t0\n")
    out = tmp_path / "ds.parquet"
    assert main(["--build-dataset", "--fasta-a", str(a), "--fasta-b", str(b), "--counts", str(counts),
                 "--seq-len", "20", "-o", str(out), "-q"]) == 0
    df = read_table(out, "cnn_dataset").to_pandas().set_index("locus_id")
    assert df.loc["chr1-100-110", "seq_a"] == "NNNNNACGTACGTACNNNNN"  # padded with N on both sides
    assert df.loc["chr1-100-110", "seq_b"] == "NNNNNACGTTCGTACNNNNN"
    assert df.loc["chr5-7-30", "seq_a"] == ("ac" * 15)[5:25]  # centre crop
    assert df.loc["chr5-7-30", "chrom"] == "chr5" and df.loc["chr1-100-110", "count_a"] == 4.0
    # a character other than ACGTN
    b.write_text(">chr5-7-30\n" + "ag" * 15 + "\n>chr1-100-110\nACGTXCGTAC\n")
    msg = _run_error(tmp_path, capsys, ["--build-dataset", "--fasta-a", str(a), "--fasta-b", str(b), "--counts",
                                        str(counts), "--seq-len", "20"])
    assert "'X'" in msg and "b.fa" in msg
