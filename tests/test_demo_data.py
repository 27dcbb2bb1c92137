"""Tests for ``scripts/make_demo_data.py`` and the committed demo dataset (``demo/data``).

* The generator is deterministic: two ``--small`` runs give identical FASTA, VCF, BED and truth
  bytes and identical BAM records (needs ``bwa`` and ``samtools``; skipped without them).
* The committed data is current: ``--skip-mapping`` regenerates its reference, VCF, BED files and
  truth byte for byte (no bwa needed).
* The truth is self-consistent with the VCF, the FASTA, the BED files and the planted ratios, and
  the BAMs are sorted, indexed, carry read groups and contain every edge case a counter must handle.
  These checks run on the committed data and on a fresh ``--small`` run.
"""
from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_demo_data.py"
SAMPLES = ["S1", "S2", "S3", "S4"]
HAVE_MAPPERS = shutil.which("bwa") is not None and shutil.which("samtools") is not None
NO_MAPPERS = "bwa and/or samtools not on PATH (CI installs them with apt)"


@functools.lru_cache(maxsize=None)
def _load_script():
    """Import scripts/make_demo_data.py as a module (it is not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_demo_data", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def _cmd(outdir: Path, *extra: str) -> list[str]:
    return [sys.executable, str(SCRIPT), "--outdir", str(outdir), "-q", *extra]


def _check(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent ``--small`` runs (run concurrently, one mapping job each)."""
    if not HAVE_MAPPERS:
        pytest.skip(NO_MAPPERS)
    a, b = tmp_path_factory.mktemp("demo_a"), tmp_path_factory.mktemp("demo_b")
    procs = [subprocess.Popen(_cmd(d, "--small", "--jobs", "1"), stderr=subprocess.PIPE) for d in (a, b)]
    for p in procs:
        _check(p)
    return a, b


@pytest.fixture(scope="module", params=["committed", "small"])
def dataset(request) -> Path:
    if request.param == "committed":
        return request.getfixturevalue("demo_dir")
    return request.getfixturevalue("small_runs")[0]


# --------------------------------------------------------------------------- helpers
def read_truth(d: Path) -> list[dict]:
    with gzip.open(d / "truth.tsv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for r in rows:
        for k, v in r.items():
            if k.startswith("n_") or k in ("pos", "phased", "multiallelic", "in_repeat", "soft_masked",
                                           "near_indel", "bad", "imbalance_planted", "p_mixed"):
                r[k] = int(v)
            elif k in ("p_hap1", "expected_ref_fraction"):
                r[k] = float(v)
    return rows


def read_vcf(d: Path) -> dict:
    out = {}
    with pysam.VariantFile(str(d / "variants.vcf.gz")) as vf:
        samples = list(vf.header.samples)
        for rec in vf:
            out[rec.chrom, rec.pos] = dict(
                ref=rec.ref, alts=rec.alts, alleles=rec.alleles, filter=list(rec.filter.keys()),
                gt={s: rec.samples[s]["GT"] for s in samples},
                phased={s: rec.samples[s].phased for s in samples},
            )
    return out


def read_bed(path: Path) -> list[list]:
    rows = []
    for line in path.read_text().splitlines():
        f = line.split("\t")
        rows.append([f[0], int(f[1]), int(f[2]), *f[3:]])
    return rows


@functools.lru_cache(maxsize=None)
def scan_bam(path: str) -> dict:
    """One pass over a BAM: sort order, read groups and edge-case counts."""
    n = dict(records=0, soft_clip=0, duplicate=0, secondary_seq_star=0, supplementary=0, qcfail=0,
             unmapped=0, mapq0=0, low_base_quality=0, insertion=0, deletion=0, n_base=0)
    order_ok, last, seen_unplaced = True, (-1, -1), False
    rg_ids = set()
    with pysam.AlignmentFile(path, "rb") as bam:
        hdr = bam.header.to_dict()
        has_index = bam.has_index()
        mapped_idx = sum(s.mapped for s in bam.get_index_statistics()) if has_index else -1
        n_mapped = 0
        for r in bam.fetch(until_eof=True):
            n["records"] += 1
            f = r.flag
            if r.reference_id < 0:
                seen_unplaced = True
            else:
                key = (r.reference_id, r.reference_start)
                if key < last or seen_unplaced:
                    order_ok = False
                last = key
            rg_ids.add(r.get_tag("RG") if r.has_tag("RG") else None)
            n["duplicate"] += bool(f & 0x400)
            n["supplementary"] += bool(f & 0x800)
            n["qcfail"] += bool(f & 0x200)
            if f & 0x100 and r.query_sequence is None:
                n["secondary_seq_star"] += 1
            if f & 0x4:
                n["unmapped"] += 1
            else:
                n_mapped += 1
                n["mapq0"] += r.mapping_quality == 0
                ops = {op for op, _ in r.cigartuples}
                n["soft_clip"] += 4 in ops
                n["insertion"] += 1 in ops
                n["deletion"] += 2 in ops
            q = r.query_qualities
            if q is not None and len(q) and min(q) < 20:
                n["low_base_quality"] += 1
            if r.query_sequence and "N" in r.query_sequence:
                n["n_base"] += 1
    return dict(counts=n, order_ok=order_ok, header=hdr, has_index=has_index, rg_ids=rg_ids,
                mapped=n_mapped, mapped_idx=mapped_idx)


# --------------------------------------------------------------------------- generator
def _bam_records(path: Path) -> list[str]:
    with pysam.AlignmentFile(str(path), "rb") as bam:
        return [r.to_string() for r in bam.fetch(until_eof=True)]


def test_generator_is_deterministic(small_runs):
    a, b = small_runs
    for name in ("ref.fa", "ref.fa.fai", "peaks.bed", "bad.bed", "truth.tsv.gz", "variants.vcf.gz"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for s in SAMPLES:
        ra, rb = _bam_records(a / f"{s}.bam"), _bam_records(b / f"{s}.bam")
        assert len(ra) > 1000
        assert ra == rb, f"{s}.bam records differ between two runs with the same seed"
        with pysam.AlignmentFile(str(a / f"{s}.bam")) as fa, pysam.AlignmentFile(str(b / f"{s}.bam")) as fb:
            assert fa.header.to_dict()["RG"] == fb.header.to_dict()["RG"]


def test_seed_changes_output(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    procs = [subprocess.Popen(_cmd(d, "--small", "--skip-mapping", "--seed", seed), stderr=subprocess.PIPE)
             for d, seed in ((a, "1"), (b, "2"))]
    for p in procs:
        _check(p)
    assert (a / "ref.fa").read_bytes() != (b / "ref.fa").read_bytes()
    assert (a / "truth.tsv.gz").read_bytes() != (b / "truth.tsv.gz").read_bytes()
    assert not (a / "S1.bam").exists()


def test_committed_data_is_current(demo_dir, tmp_path):
    """Regenerating without mapping reproduces the committed tables byte for byte."""
    params = json.loads((demo_dir / "params.json").read_text())
    assert params["generator_version"] == _load_script().GENERATOR_VERSION
    assert params["command"] == "python scripts/make_demo_data.py --seed 1"
    p = subprocess.Popen(_cmd(tmp_path, "--skip-mapping"), stderr=subprocess.PIPE)
    _check(p)
    import numpy

    for name in ("ref.fa", "ref.fa.fai", "peaks.bed", "bad.bed", "truth.tsv.gz", "variants.vcf.gz"):
        assert (tmp_path / name).read_bytes() == (demo_dir / name).read_bytes(), (
            f"demo/data/{name} is stale: rerun `python scripts/make_demo_data.py` (data made with numpy "
            f"{params['tools'].get('numpy')}, this is numpy {numpy.__version__})")


def test_committed_data_is_small(demo_dir):
    total = sum(f.stat().st_size for f in demo_dir.iterdir() if f.is_file())
    assert total < 8.5e6
    assert not (demo_dir / ".work").exists()


# --------------------------------------------------------------------------- truth
def test_truth_snvs_are_het_snvs_in_vcf(dataset):
    truth, vcf = read_truth(dataset), read_vcf(dataset)
    assert len(truth) > 100
    seen = set()
    for r in truth:
        rec = vcf.get((r["chrom"], r["pos"]))
        assert rec is not None, r
        assert rec["ref"] == r["ref"] and ",".join(rec["alts"]) == r["alt"]
        assert all(len(a) == 1 for a in rec["alleles"]), "truth rows are SNVs only"
        a, b = rec["gt"][r["sample"]]
        assert a is not None and b is not None and a != b, r
        assert {r["allele_hap1"], r["allele_hap2"]} == {rec["alleles"][a], rec["alleles"][b]}
        assert r["phased"] == int(rec["phased"][r["sample"]])
        assert r["gt"] == (f"{a}|{b}" if r["phased"] else f"{min(a, b)}/{max(a, b)}")
        assert r["filter"] == rec["filter"][0]
        assert r["multiallelic"] == int(len(rec["alts"]) > 1)
        seen.add((r["sample"], r["chrom"], r["pos"]))
    # and every het SNV genotype of the VCF has a truth row
    for (chrom, pos), rec in vcf.items():
        if any(len(x) != 1 for x in rec["alleles"]):
            continue
        for s, (a, b) in rec["gt"].items():
            if a is not None and a != b:
                assert (s, chrom, pos) in seen


def test_truth_ref_matches_fasta(dataset):
    with pysam.FastaFile(str(dataset / "ref.fa")) as fa:
        for r in read_truth(dataset):
            base = fa.fetch(r["chrom"], r["pos"] - 1, r["pos"])
            assert base.upper() == r["ref"], r
            assert r["soft_masked"] == int(base.islower())


def test_truth_counts_add_up(dataset):
    for r in read_truth(dataset):
        n = r["n_fragments_hap1"] + r["n_fragments_hap2"]
        assert n == r["n_ref"] + r["n_alt"]
        assert 0 <= r["n_qcfail"] <= n and 0 <= r["n_mates_overlap"] <= n
        assert r["n_dup_copies_ref"] >= 0 and r["n_dup_copies_alt"] >= 0
        if r["allele_hap1"] == r["ref"]:
            assert r["n_ref"] == r["n_fragments_hap1"]
        elif r["allele_hap2"] == r["ref"]:
            assert r["n_ref"] == r["n_fragments_hap2"]
        else:
            assert r["n_ref"] == 0
        p = r["p_hap1"]
        exp = (p if r["allele_hap1"] == r["ref"] else 0) + ((1 - p) if r["allele_hap2"] == r["ref"] else 0)
        assert math.isclose(r["expected_ref_fraction"], exp, abs_tol=1e-5)


def test_truth_regions_match_beds(dataset):
    truth = read_truth(dataset)
    peaks, bad = read_bed(dataset / "peaks.bed"), read_bed(dataset / "bad.bed")
    for r in truth:
        p0 = r["pos"] - 1
        in_peaks = [p[3] for p in peaks if p[0] == r["chrom"] and p[1] <= p0 < p[2]]
        assert in_peaks == ([] if r["peak"] == "." else [r["peak"]])
        (b,) = [int(x[3]) for x in bad if x[0] == r["chrom"] and x[1] <= p0 < x[2]]
        assert r["bad"] == b
        p = r["p_hap1"]
        if r["imbalance_planted"]:
            assert b == 1 and p != 0.5
            assert any(math.isclose(p, q) for q in _load_script().IMBALANCE_P)
        elif b > 1 and not r["p_mixed"]:
            assert math.isclose(p, b / (b + 1), abs_tol=1e-5) or math.isclose(p, 1 / (b + 1), abs_tol=1e-5)
        elif not r["p_mixed"]:
            assert p == 0.5


def test_planted_ratios_match_fragment_counts(dataset):
    """n_fragments_hap1 ~ Binomial(n, p_hap1) wherever all covering fragments had the same p."""
    rows = [r for r in read_truth(dataset) if not r["p_mixed"]]
    tested = {"imbalance": 0, "bad": 0, "balanced": 0}
    for r in rows:
        n = r["n_fragments_hap1"] + r["n_fragments_hap2"]
        if n < 15:
            continue
        p = r["p_hap1"]
        z = (r["n_fragments_hap1"] - n * p) / math.sqrt(n * p * (1 - p))
        assert abs(z) < 5, (r, z)
        tested["imbalance" if r["imbalance_planted"] else "bad" if r["bad"] > 1 else "balanced"] += 1
    assert all(v >= 3 for v in tested.values()), tested
    # planted imbalance is visible in the pooled fragment proportions
    hi = [r for r in rows if r["imbalance_planted"] and r["p_hap1"] >= 0.75]
    lo = [r for r in rows if r["imbalance_planted"] and r["p_hap1"] <= 0.25]
    frac = lambda rs: sum(r["n_fragments_hap1"] for r in rs) / max(1, sum(  # noqa: E731
        r["n_fragments_hap1"] + r["n_fragments_hap2"] for r in rs))
    assert frac(hi) > 0.7 and frac(lo) < 0.3


def test_truth_counts_agree_with_bams(dataset):
    """The simulated molecule counts are what a simple pileup finds at clean, well-covered SNVs."""
    truth = read_truth(dataset)
    for s in SAMPLES:
        rows = [r for r in truth if r["sample"] == s and not (r["in_repeat"] or r["near_indel"]
                                                               or r["multiallelic"])]
        rows.sort(key=lambda r: -(r["n_ref"] + r["n_alt"]))
        with pysam.AlignmentFile(str(dataset / f"{s}.bam")) as bam:
            for r in rows[:15]:
                names = {}
                for col in bam.pileup(r["chrom"], r["pos"] - 1, r["pos"], truncate=True, stepper="nofilter",
                                      ignore_overlaps=False, ignore_orphans=False, min_base_quality=0,
                                      max_depth=1_000_000):
                    for pr in col.pileups:
                        if pr.alignment.flag & 0xF04 or pr.is_del or pr.is_refskip:
                            continue
                        names.setdefault(pr.alignment.query_name, set()).add(
                            pr.alignment.query_sequence[pr.query_position])
                obs_ref = sum(r["ref"] in b for b in names.values())
                obs_alt = sum(r["alt"] in b for b in names.values())
                slack = lambda n: 0.12 * n + r["n_qcfail"] + 3  # noqa: E731
                assert abs(obs_ref - r["n_ref"]) <= slack(r["n_ref"]), (r, obs_ref, obs_alt)
                assert abs(obs_alt - r["n_alt"]) <= slack(r["n_alt"]), (r, obs_ref, obs_alt)


# --------------------------------------------------------------------------- VCF and BED content
def test_vcf_has_edge_cases(dataset):
    vcf = read_vcf(dataset)
    with pysam.VariantFile(str(dataset / "variants.vcf.gz")) as vf:
        assert list(vf.header.samples) == SAMPLES
        contigs = {c: vf.header.contigs[c].length for c in vf.header.contigs}
    assert set(contigs) == {"chr1", "chr2", "chr3"}
    snvs = sorted(k for k, v in vcf.items() if all(len(a) == 1 for a in v["alleles"]))
    assert any(len(v["alts"]) > 1 for v in vcf.values()), "multi-allelic record"
    assert any(len(v["ref"]) > 1 for v in vcf.values()), "deletion"
    assert any(any(len(a) > 1 for a in v["alts"]) for v in vcf.values()), "insertion"
    assert any(a[0] == b[0] and b[1] - a[1] == 1 for a, b in zip(snvs, snvs[1:])), "SNVs 1 bp apart"
    assert any(p <= 50 for c, p in snvs), "SNV in the first 50 bp of a contig"
    assert any(p > contigs[c] - 50 for c, p in snvs), "SNV in the last 50 bp of a contig"
    for s in SAMPLES:
        gts = [v["gt"][s] for v in vcf.values()]
        for g in [(0, 1), (1, 0), (0, 0), (1, 1)]:
            assert g in gts, (s, g)
        assert sum(v["phased"][s] for v in vcf.values()) > 0.9 * len(vcf)


def test_beds(dataset):
    with pysam.FastaFile(str(dataset / "ref.fa")) as fa:
        lengths = dict(zip(fa.references, fa.lengths))
    peaks = read_bed(dataset / "peaks.bed")
    assert len({p[3] for p in peaks}) == len(peaks) >= 5
    for c, s, e, _ in peaks:
        assert 0 <= s < e <= lengths[c]
    bad = read_bed(dataset / "bad.bed")
    assert {int(b[3]) for b in bad} >= {1, 2}
    for c, length in lengths.items():
        segs = [b for b in bad if b[0] == c]
        assert segs[0][1] == 0 and segs[-1][2] == length
        assert all(x[2] == y[1] for x, y in zip(segs, segs[1:]))


# --------------------------------------------------------------------------- BAMs
@pytest.mark.parametrize("sample", SAMPLES)
def test_bam_sorted_indexed_with_read_group(dataset, sample):
    info = scan_bam(str(dataset / f"{sample}.bam"))
    assert info["header"]["HD"]["SO"] == "coordinate"
    assert info["order_ok"], "records are not coordinate-sorted"
    assert info["has_index"] and (dataset / f"{sample}.bam.bai").exists()
    assert info["mapped"] == info["mapped_idx"]
    assert [rg["SM"] for rg in info["header"]["RG"]] == [sample]
    assert info["rg_ids"] == {info["header"]["RG"][0]["ID"]}
    assert [sq["SN"] for sq in info["header"]["SQ"]] == ["chr1", "chr2", "chr3"]


EDGE_CASES = ["soft_clip", "duplicate", "secondary_seq_star", "supplementary", "qcfail", "unmapped",
              "mapq0", "low_base_quality", "insertion", "deletion", "n_base"]


@pytest.mark.parametrize("edge", EDGE_CASES)
def test_bams_contain_edge_case(dataset, edge):
    for s in SAMPLES:
        assert scan_bam(str(dataset / f"{s}.bam"))["counts"][edge] > 0, (s, edge)
