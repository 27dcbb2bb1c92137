"""BSLMM mode against GEMMA 0.98.5 (res1/res2 pattern): GEMMA's held-out r, PVE interval and PIPs on a
stored simulated gene (tests/data/bslmm/gemma_small.npz) were produced by
tests/data/bslmm/make_gemma_reference.py with `gemma -bslmm 1 -w 10000 -s 20000 -seed 7`; provenance
is stored in gemma_reference.json.  Same split (first 200 samples train, last 100 test), same schedule."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from allelekit.bslmm.model import Schedule, fit_gene, predict

DATA = Path(__file__).resolve().parent / "data" / "bslmm"


@pytest.fixture(scope="module")
def ref():
    z = np.load(DATA / "gemma_small.npz")
    return z, json.loads((DATA / "gemma_reference.json").read_text())


def test_bslmm_matches_gemma_on_the_same_split(ref):
    z, gem = ref
    G, y = z["G"].astype(float), z["y"]
    fit = fit_gene(G[:200], y[:200], z["pos"], int(z["tss"]), model="bslmm", schedule=Schedule(10_000, 20_000, 10),
                   seed_words=(7,))
    r = np.corrcoef(predict(G[200:], fit.xbar, fit.weight, fit.intercept), y[200:])[0, 1]
    assert abs(r - gem["r_test"]) < 0.02, (r, gem["r_test"])
    assert gem["pve_low"] <= fit.summary["pve_mean"] <= gem["pve_high"]
    # the two samplers agree on which SNVs matter (PIPs are diffuse here, max 0.25 in GEMMA: the causal
    # SNVs have tags; the Monte-Carlo error of 2,000 draws bounds the agreement; seeds 7-9 give 0.67-0.70)
    pip_g = np.array(gem["pip"])
    assert np.corrcoef(fit.pip, pip_g)[0, 1] > 0.5
    # |gamma| mixes slowly in both samplers (GEMMA itself: median |gamma| 10 with -seed 7, 6 with -seed 8);
    # ours must sit inside the range GEMMA's own seeds span, not match one run
    assert 2 <= fit.summary["n_gamma_mean"] <= 2 * pip_g.sum()


MOUSE = Path("/usr/share/doc/gemma/example")
# GEMMA 0.98.5 on mouse_hs1940, CD8 (pheno column 1), random 80/20 split of the 1,410 observed mice
# (numpy default_rng(1) permutation, first 282 = test), GEMMA's default SNP QC on the 1,128 training mice
# (10,765 SNPs), `gemma -g mouse_hs1940.geno.txt -p <train-only pheno> -bslmm 1 -w 10000 -s 20000 -seed 1`
# and `-predict 1 -epm -emu`: benchmarks/bslmm/mouse_hs1940.py --seed 1 -> benchmarks/bslmm/logs/mouse_hs1940.json
MOUSE_GEMMA = {"r_test": 0.7242601102994732, "pve_mean": 0.6319478173, "pve_low": 0.5804625975,
               "pve_high": 0.67974832, "p": 10765}


@pytest.mark.skipif(not (MOUSE / "mouse_hs1940.geno.txt.gz").exists(),
                    reason="GEMMA's example data missing (Debian package gemma-doc)")
def test_bslmm_matches_gemma_on_mouse_hs1940():
    """The issue's real-data criterion as a test: same split and SNPs as GEMMA's run, held-out r within
    0.02 of GEMMA's and our posterior mean PVE inside GEMMA's 95% interval."""
    import pandas as pd

    geno = pd.read_csv(MOUSE / "mouse_hs1940.geno.txt.gz", header=None, sep=",", skipinitialspace=True,
                       na_values=["NA"], keep_default_na=False)
    G = geno.iloc[:, 3:].to_numpy(dtype=np.float64)                   # SNPs x mice
    pheno = pd.read_csv(MOUSE / "mouse_hs1940.pheno.txt.gz", header=None, sep=r"\s+", na_values=["NA"])
    y = pheno[0].to_numpy(dtype=np.float64)
    obs = np.flatnonzero(np.isfinite(y))
    perm = np.random.default_rng(1).permutation(obs)
    n_test = int(round(0.2 * obs.size))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    Gt = G[:, train]
    af = np.nanmean(Gt, axis=1) / 2.0
    keep = ((np.isnan(Gt).mean(axis=1) <= 0.05) & (af >= 0.01) & (af <= 0.99)
            & (np.nanmax(Gt, axis=1) > np.nanmin(Gt, axis=1)))
    assert keep.sum() == MOUSE_GEMMA["p"]                              # GEMMA's SNP set
    Gtr, Gte = G[keep][:, train].T, G[keep][:, test].T
    fit = fit_gene(Gtr, y[train], np.arange(Gtr.shape[1]), 0, model="bslmm",
                   schedule=Schedule(10_000, 20_000, 10), seed_words=(1,))
    r = np.corrcoef(predict(Gte, fit.xbar, fit.weight, fit.intercept), y[test])[0, 1]
    assert abs(r - MOUSE_GEMMA["r_test"]) < 0.02, r
    assert MOUSE_GEMMA["pve_low"] <= fit.summary["pve_mean"] <= MOUSE_GEMMA["pve_high"], fit.summary["pve_mean"]
    # and the same PVE definition as GEMMA's code (no 2 (Xb).u / n cross term): seed spreads are ~0.003,
    # the cross term moved our PVE by +0.030 here (0.662) before the definitions were aligned
    assert abs(fit.summary["pve_mean"] - MOUSE_GEMMA["pve_mean"]) < 0.015, fit.summary["pve_mean"]
