#!/usr/bin/env python
"""BSLMM's false-positive active SNVs on coalescent genes: LD twins that GEMMA's MH never swaps.

Regenerates the genes of part 2C (``run_benchmark.py --genotypes msprime --n-train 200``, same seed),
fits our BSLMM with the benchmark's seed, and for every active SNV that is not causal but in r^2 >= 0.8
with a causal SNV (training samples) prints the PIPs of the pair from: our BSLMM (benchmark seed and a
second seed), GEMMA 0.98.5 ``-bslmm 1 -w 10000 -s 20000`` (needs ``gemma`` on PATH) and bsBSLMM with
the pooled prior of that run (``--eta1 M S``). Shows that the pair's PIP goes ~all to one twin, which
one depending on the seed, in both BSLMM implementations; bsBSLMM shares it.

Usage:  OPENBLAS_NUM_THREADS=1 python benchmarks/bslmm/duplicate_pairs.py [--genes 150] [--seed 1] [--eta1 1.452 0.037]
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_benchmark as rb  # noqa: E402  (sets BLAS threads, numba cache and sys.path)
from allelekit.bslmm.model import Schedule, fit_gene  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--genes", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-train", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--eta1", type=float, nargs=2, default=(1.452, 0.037), metavar=("MEAN", "SD"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed + 1000)
    n = args.n_train + args.n_test
    have_gemma = shutil.which("gemma") is not None
    for gi in range(args.genes):
        plant = {"n_causal": int(rng.integers(1, 6)), "pve": float(rng.uniform(0.05, 0.4)), "clustered": True,
                 "n_causal_blocks": 2}
        sg = rb.coalescent_gene(n, rng, **plant)
        G, y = sg.G[: args.n_train], sg.y[: args.n_train]
        b = fit_gene(G, y, sg.pos, sg.tss, model="bslmm", schedule=Schedule(10_000, 20_000, 10),
                     seed_words=(args.seed + gi,))
        fp = [j for j in np.flatnonzero(b.active) if j not in set(sg.causal)]
        if not fp:
            continue
        sd = G.std(axis=0)
        Z = (G - G.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        b2 = fit_gene(G, y, sg.pos, sg.tss, model="bslmm", schedule=Schedule(10_000, 20_000, 10),
                      seed_words=(args.seed + gi + 1000,))
        s = fit_gene(G, y, sg.pos, sg.tss, model="bsbslmm", schedule=Schedule(1000, 4000, 5),
                     seed_words=(args.seed + gi,), tss_prior=tuple(args.eta1))
        g = rb.run_gemma(sg.G, sg.y, args.n_train, f"twins{gi}", 10_000, 20_000, args.seed + gi) if have_gemma else None
        for j in fp:
            r2 = (Z[:, j] @ Z[:, sg.causal] / args.n_train) ** 2
            c = int(sg.causal[int(np.argmax(r2))])
            ident = bool(np.array_equal(G[:, j], G[:, c]) or np.array_equal(G[:, j], 2 - G[:, c]))
            gtxt = f"GEMMA {g['pip'][j]:.3f} / {g['pip'][c]:.3f}" if g is not None else "GEMMA not on PATH"
            print(f"gene {gi}: active non-causal SNV {j} ({sg.pos[j] - sg.tss:+d} bp from TSS), best causal partner {c} "
                  f"r^2 {r2.max():.3f}{' (identical genotypes)' if ident else ''} | PIP twin / causal: ours {b.pip[j]:.3f} / "
                  f"{b.pip[c]:.3f}, ours 2nd seed {b2.pip[j]:.3f} / {b2.pip[c]:.3f}, {gtxt}, bsBSLMM "
                  f"{s.pip[j]:.3f} / {s.pip[c]:.3f} (active {bool(s.active[j])} / {bool(s.active[c])})", flush=True)


if __name__ == "__main__":
    main()
