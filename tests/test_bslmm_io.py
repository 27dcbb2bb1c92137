"""allelekit.bslmm.io: dosages from GT and DS (one edge case per VCF line), annotation formats, covariates."""
from __future__ import annotations

import numpy as np
import pytest

from allelekit.bslmm import io
from allelekit.errors import AllelekitError

VCF = """##fileformat=VCFv4.2
##contig=<ID=1,length=100000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=DS,Number=1,Type=Float,Description="ALT dosage">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc
1\t100\trs1\tA\tG\t.\tPASS\t.\tGT:DS\t0/0:0.1\t0|1:0.9\t1/1:1.95
1\t200\t.\tC\tT\t.\tPASS\t.\tGT:DS\t./.:.\t0/1:1.1\t1|0:0.8
1\t300\trs3\tAT\tA\t.\tPASS\t.\tGT:DS\t0/1:1\t0/1:1\t0/1:1
1\t400\trs4\tA\tC,G\t.\tPASS\t.\tGT:DS\t0/1:1\t0/2:1\t0/1:1
1\t900\trs9\tG\tA\t.\tPASS\t.\tGT:DS\t1/1:2\t1/1:2\t0/0:0
"""


@pytest.fixture
def vcf(tmp_path):
    p = tmp_path / "x.vcf"
    p.write_text(VCF)
    return str(p)


def test_gt_and_ds_dosages(vcf):
    g = io.load_genotypes(vcf, ["c", "a", "b"], {"1": [(1, 500)]}, "gt")
    assert list(g.pos) == [100, 200]                  # indel, multi-allelic and out-of-window skipped
    assert g.n_skipped_nonsnv == 2
    assert list(g.vid) == ["rs1", "1:200:C:T"]
    assert np.array_equal(g.dosage[0], [2, 0, 1])      # sample order as requested
    assert np.isnan(g.dosage[1, 1]) and g.dosage[1, 0] == 1 and g.dosage[1, 2] == 1
    d = io.load_genotypes(vcf, ["a", "b", "c"], {"1": [(1, 500)]}, "ds")
    assert np.allclose(d.dosage[0], [0.1, 0.9, 1.95], atol=1e-6)
    assert np.isnan(d.dosage[1, 0]) and d.dosage[1, 1] == pytest.approx(1.1)
    assert list(g.window("1", 150, 250)) == [1]


def test_annotation_formats(tmp_path):
    bed = tmp_path / "g.bed"
    bed.write_text("chr1\t999\t5000\tG1\t0\t+\nchr1\t10000\t20000\tG2\t0\t-\n")
    a = io.read_annotation(bed)
    assert (a["G1"].tss, a["G2"].tss, a["G2"].strand) == (1000, 20000, "-")
    gtf = tmp_path / "g.gtf"
    gtf.write_text('chr2\tsrc\tgene\t101\t900\t.\t-\t.\tgene_id "ENSG1"; gene_name "ABC";\n'
                   'chr2\tsrc\texon\t101\t200\t.\t-\t.\tgene_id "ENSG1"; gene_name "ABC";\n')
    a = io.read_annotation(gtf)
    assert a["ENSG1"].tss == 900 and a["ABC"].gene == "ENSG1"
    tsv = tmp_path / "g.tsv"
    tsv.write_text("gene\tchr\ttss\nG\t3\t77\n")
    assert io.read_annotation(tsv)["G"].tss == 77
    bad = tmp_path / "b.tsv"
    bad.write_text("x\ty\nG\t3\n")
    with pytest.raises(AllelekitError, match="gene_id, chrom and tss"):
        io.read_annotation(bad)


def test_covariates_both_orientations(tmp_path):
    a = tmp_path / "a.tsv"
    a.write_text("id\ts1\ts2\ts3\nPC1\t1\t2\t3\nPC2\t0\t1\t0\n")
    b = tmp_path / "b.tsv"
    b.write_text("sample\tPC1\tPC2\ns3\t3\t0\ns1\t1\t0\ns2\t2\t1\n")
    for p in (a, b):
        assert np.array_equal(io.read_covariates(p, ["s2", "s1"]), [[2, 1], [1, 0]])
    with pytest.raises(AllelekitError, match="no covariates"):
        io.read_covariates(a, ["s1", "zz"])
