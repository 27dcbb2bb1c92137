"""Our scoring with MixALime's own fitted parameters reproduces MixALime's p-values and effect sizes.

Reference numbers: tests/data/imbalance/mixalime_nb_reference.tsv (MixALime 2.29.4, NB, its demo data; see
the README there).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from allelekit.imbalance.score import score_direction

REF = Path(__file__).parent / "data" / "imbalance" / "mixalime_nb_reference.tsv"


def _params(ref: pd.DataFrame, d: str) -> pd.DataFrame:
    s = ref["alt_count"] if d == "ref" else ref["ref_count"]
    B = ref["bad"]
    p = pd.DataFrame(dict(model="NB", bad=B, direction=d, slice=s, w=ref[f"{d}_w"], b=ref[f"{d}_b"],
                          mu=ref[f"{d}_mu"], kappa=np.nan, p1=B / (B + 1), p2=1 / (B + 1), left=4,
                          conservative=False))
    return p.drop_duplicates(["bad", "slice"])


def test_scoring_matches_mixalime_nb():
    ref = pd.read_csv(REF, sep="\t")
    assert len(ref) == 400 and set(ref["bad"]) == {1.0, 2.0, 3.0, 4.0}
    r, a, B = ref["ref_count"].to_numpy(), ref["alt_count"].to_numpy(), ref["bad"].to_numpy()
    for d, x, s in (("ref", r, a), ("alt", a, r)):
        lp, es = score_direction("NB", x, s, B, _params(ref, d), 4)
        want = ref[f"{d}_pval"].to_numpy()
        np.testing.assert_allclose(np.exp(lp), want, rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(es, ref[f"{d}_es"].to_numpy(), atol=1e-5)
