"""Build mixalime_nb_reference.tsv: MixALime 2.29.4 NB per-observation p-values/ES on its own demo with the
per-slice parameters it used, for a res1/res2 test of allelekit's scoring formulas.

Inputs: `mixalime export all` of the NB demo project (create --no-snp-bad-check; fit NB; test), folder OUT.
Usage: python make_mixalime_reference.py OUT > mixalime_nb_reference.tsv
"""
import glob
import sys
from pathlib import Path

import numpy as np
import pandas as pd

out = Path(sys.argv[1])
raw = pd.concat([pd.read_csv(f, sep="\t") for f in sorted(glob.glob(str(out / "pvalues/raw/*.pvalue.tsv")))])
rng = np.random.default_rng(0)
rows = []
for bad, folder, n in ((1.0, "BAD1.00", 120), (2.0, "BAD2.00", 160), (3.0, "BAD3.00", 80), (4.0, "BAD4.00", 40)):
    par = {}
    for d in ("ref", "alt"):
        t = pd.read_csv(out / folder / f"param_{d}.tsv", sep="\t").set_index("Name")["Estimate"].to_dict()
        par[d] = t
    sub = raw[np.isclose(raw["bad"], bad)].drop_duplicates(["ref_count", "alt_count"])
    sub = sub.iloc[rng.permutation(len(sub))]
    k = 0
    for r in sub.itertuples():
        rec = dict(bad=bad, ref_count=r.ref_count, alt_count=r.alt_count)
        ok = True
        for d, s in (("ref", r.alt_count), ("alt", r.ref_count)):
            p = par[d]
            if bad >= 4.0:          # conservative BAD: fixed b=1, mu=0, w=1 are not exported (MixALime bug 13)
                rec.update({f"{d}_w": 1.0, f"{d}_b": 1.0, f"{d}_mu": 0.0})
            elif f"b{s}" in p:
                rec.update({f"{d}_w": p.get(f"w{s}", 1.0), f"{d}_b": p[f"b{s}"], f"{d}_mu": p.get(f"mu{s}", 0.0)})
            else:
                ok = False
        if not ok:
            continue
        rec.update(ref_pval=r.ref_pval, alt_pval=r.alt_pval, ref_es=r.ref_es, alt_es=r.alt_es)
        rows.append(rec)
        k += 1
        if k == n:
            break
pd.DataFrame(rows).to_csv(sys.stdout, sep="\t", index=False, float_format="%.17g")
