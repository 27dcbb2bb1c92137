#!/usr/bin/env python
"""Regenerate tests/data/bslmm/gemma_small.npz and gemma_reference.json (needs `gemma` 0.98.5 on PATH,
Debian package `gemma`).  Data: simulate_gene(n=300, p=500, 3 causal SNVs, PVE 0.35, 20% polygenic),
rows 0..199 train, 200..299 test.  GEMMA: -bslmm 1 -w 10000 -s 20000 -seed 7, then -predict 1."""
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from allelekit.bslmm.simulate import simulate_gene

HERE = Path(__file__).resolve().parent
sg = simulate_gene(300, 500, np.random.default_rng(77), n_causal=3, pve=0.35, window=250_000,
                   polygenic_share=0.2, equal_effects=True)
G, y = sg.G.astype(np.uint8), np.round(sg.y, 6)
np.savez_compressed(HERE / "gemma_small.npz", G=G, y=y, pos=sg.pos, tss=sg.tss, causal=sg.causal)
with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    with open(d / "geno.txt", "w") as fh:
        for j in range(G.shape[1]):
            fh.write(f"rs{j}, G, A, " + ", ".join(str(v) for v in G[:, j]) + "\n")
    (d / "pheno.txt").write_text("".join(f"{v:.6f}\n" if i < 200 else "NA\n" for i, v in enumerate(y)))
    cmd = ["gemma", "-g", "geno.txt", "-p", "pheno.txt", "-bslmm", "1", "-w", "10000", "-s", "20000", "-seed", "7",
           "-outdir", "out", "-o", "fit"]
    subprocess.run(cmd, cwd=d, check=True, capture_output=True)
    subprocess.run(["gemma", "-g", "geno.txt", "-p", "pheno.txt", "-epm", "out/fit.param.txt", "-emu", "out/fit.log.txt",
                    "-predict", "1", "-outdir", "out", "-o", "pred"], cwd=d, check=True, capture_output=True)
    pred = np.array([float(x) for x in (d / "out/pred.prdt.txt").read_text().split()[200:]])
    hyp = np.loadtxt(d / "out/fit.hyp.txt", skiprows=1)
    param = [ln.split("\t") for ln in (d / "out/fit.param.txt").read_text().splitlines()[1:]]
    pip = {int(f[1][2:]): float(f[6]) for f in param}
ver = subprocess.run(["gemma", "-h"], capture_output=True, text=True).stdout
ref = {
    "provenance": "GEMMA " + next(ln.strip() for ln in ver.splitlines() if "GEMMA" in ln) + "; " + " ".join(cmd)
                  + "; then -epm/-emu -predict 1; data from tests/data/bslmm/make_gemma_reference.py",
    "r_test": float(np.corrcoef(pred, y[200:])[0, 1]),
    "pve_mean": float(hyp[:, 1].mean()),
    "pve_low": float(np.quantile(hyp[:, 1], 0.025)),
    "pve_high": float(np.quantile(hyp[:, 1], 0.975)),
    "pip": [pip.get(j, 0.0) for j in range(G.shape[1])],
}
(HERE / "gemma_reference.json").write_text(json.dumps(ref, indent=1))
print({k: v for k, v in ref.items() if k != "pip"})
