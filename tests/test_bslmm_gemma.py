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
