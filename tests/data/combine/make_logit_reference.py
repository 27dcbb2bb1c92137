"""Regenerate logit_reference.json: Mudholkar-George combined p-values computed with mpmath (50 digits).

Formula as in MixALime 2.29.4 ``mixalime/combine.py::combine_p_values_logit`` (read from the PyPI wheel):
drop p == 1; k = number left; k = 0 -> 1; k = 1 -> p; otherwise
L = sum ln((1-p)/p), nu = 5k+4, p = P(T_nu > L * sqrt(3 nu / (k pi^2 (nu-2)))).
The Student-t tail is evaluated as 0.5 * I_{nu/(nu+x^2)}(nu/2, 1/2) for x >= 0 and 1 - that for x < 0.
Run: python tests/data/combine/make_logit_reference.py > tests/data/combine/logit_reference.json
"""
import json

import mpmath as mp

mp.mp.dps = 50

CASES = [
    [0.01, 0.02],
    [0.5, 0.5, 0.5],
    [0.9, 0.8, 0.95, 0.7],
    [1e-10, 0.3],
    [0.04, 0.2, 0.6, 0.01, 0.33],
    [1e-50, 1e-40, 0.5, 0.99],
    [0.2, 1.0, 0.3],          # the 1 is dropped
    [1.0, 1.0],               # nothing left -> 1
    [0.037, 1.0],             # one left -> itself
    [1e-3] * 12,
    [0.999, 0.998, 0.6],
    [1e-200, 1e-150, 1e-120, 1e-100],
]


def t_sf(x, nu):
    x, nu = mp.mpf(x), mp.mpf(nu)
    tail = mp.betainc(nu / 2, mp.mpf(1) / 2, 0, nu / (nu + x * x), regularized=True) / 2
    return tail if x >= 0 else 1 - tail


def mg(ps):
    ps = [mp.mpf(p) for p in ps if p < 1]
    k = len(ps)
    if k == 0:
        return mp.mpf(1)
    if k == 1:
        return ps[0]
    L = mp.fsum(mp.log((1 - p) / p) for p in ps)
    nu = 5 * k + 4
    return t_sf(L * mp.sqrt(3 * mp.mpf(nu) / (k * mp.pi ** 2 * (nu - 2))), nu)


out = {"provenance": __doc__.strip(), "mpmath": mp.__version__, "dps": mp.mp.dps,
       "cases": [{"pvalues": c, "combined": mp.nstr(mg(c), 30)} for c in CASES]}
print(json.dumps(out, indent=1))
