#!/usr/bin/env python
"""BSLMM's false-positive active SNVs in a part-2 run: LD twins that GEMMA's MH never swaps.

Regenerates the genes of a ``run_benchmark.py`` part-2 run from its JSON (the run's arguments and its
pooled TSS-slope prior are read from there), refits our BSLMM with the run's seed, and for every active
SNV that is not causal prints its best-correlated causal partner (r^2 in the training samples, and
whether the genotypes are identical) and the PIPs of the pair from: our BSLMM (the run's seed and a
second seed), GEMMA 0.98.5 ``-bslmm 1 -w 10000 -s 20000`` (needs ``gemma`` on PATH) and bsBSLMM with
the run's pooled prior. Shows that the pair's PIP goes ~all to one twin, which one depending on the
seed, in both BSLMM implementations; bsBSLMM shares it.

Usage:  python benchmarks/bslmm/duplicate_pairs.py benchmarks/bslmm/logs/part2_C150_msprime.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_benchmark as rb  # noqa: E402  (sets BLAS threads, numba cache and sys.path)
from allelekit.bslmm.model import Schedule, fit_gene  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_json", help="JSON written by run_benchmark.py --json (a part-2 run)")
    run = json.loads(Path(ap.parse_args().run_json).read_text())
    args = argparse.Namespace(**run["args"])
    eta1 = tuple(run["part2"]["summary"]["tss_prior_pooled"])
    have_gemma = shutil.which("gemma") is not None
    for gi, sg in enumerate(rb.part2_genes(args)):
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
        s = fit_gene(G, y, sg.pos, sg.tss, model="bsbslmm", schedule=Schedule(args.bs_burn, args.bs_samples, args.bs_thin),
                     seed_words=(args.seed + gi,), tss_prior=eta1)
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
