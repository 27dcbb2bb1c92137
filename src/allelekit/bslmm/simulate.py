"""Small simulators for tests, the demo and the benchmark: genotypes with block LD and genes with
known causal SNVs.  No extra dependencies: haplotypes are mosaics of a few founder haplotypes per
LD block (a crude Li-Stephens copying model), so r^2 is high within blocks and low between them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def simulate_haplotypes(n_hap: int, p: int, rng: np.random.Generator, mean_block: int = 40,
                        n_founders: int = 6, switch: float = 0.01, mutation: float = 0.005,
                        reuse: float = 0.6,
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(n_hap x p) 0/1 haplotypes and the true block start offsets (B+1)."""
    sizes = []
    while sum(sizes) < p:
        sizes.append(max(3, int(rng.geometric(1.0 / mean_block))))
    sizes[-1] -= sum(sizes) - p
    if sizes[-1] < 1:
        sizes.pop()
    starts = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    H = np.empty((n_hap, p), dtype=np.int8)
    for b in range(len(sizes)):
        j0, j1 = starts[b], starts[b + 1]
        m = j1 - j0
        # founder alleles: each SNV re-uses the founder pattern of an earlier SNV of the block with
        # probability ``reuse`` (shared genealogy -> strong LD), else a fresh pattern
        founders = np.empty((n_founders, m), dtype=np.int8)
        for jj in range(m):
            if jj > 0 and rng.random() < reuse:
                founders[:, jj] = founders[:, rng.integers(max(0, jj - 5), jj)]
            else:
                pat = (rng.random(n_founders) < rng.uniform(0.1, 0.5)).astype(np.int8)
                if pat.min() == pat.max():
                    pat[rng.integers(n_founders)] ^= 1
                founders[:, jj] = pat
        # founder popularity makes allele frequencies differ across SNVs
        w = rng.dirichlet(np.ones(n_founders))
        who = rng.choice(n_founders, size=n_hap, p=w)
        for jj in range(m):
            if jj > 0:
                sw = rng.random(n_hap) < switch
                if sw.any():
                    who[sw] = rng.choice(n_founders, size=int(sw.sum()), p=w)
            H[:, j0 + jj] = founders[who, jj]
        flip = rng.random((n_hap, m)) < mutation
        H[:, j0:j1] ^= flip.astype(np.int8)
    return H, starts


def simulate_genotypes(n: int, p: int, rng: np.random.Generator, **kw) -> tuple[np.ndarray, np.ndarray]:
    """(n x p) ALT dosages 0/1/2 (float64) with block LD, and the true block starts."""
    H, starts = simulate_haplotypes(2 * n, p, rng, **kw)
    G = (H[:n].astype(np.float64) + H[n:].astype(np.float64))
    return G, starts


@dataclass
class SimGene:
    G: np.ndarray          # (n, p) dosages
    y: np.ndarray          # (n,) expression
    pos: np.ndarray        # (p,) 1-based positions
    tss: int
    causal: np.ndarray     # indices of causal SNVs
    effects: np.ndarray    # (p,) true sparse effects
    g: np.ndarray          # (n,) true genetic value
    pve: float             # realised var(g) / var(y)
    blocks: np.ndarray     # true block starts


def simulate_gene(n: int, p: int, rng: np.random.Generator, n_causal: int = 3, pve: float = 0.3,
                  window: int = 500_000, tss: int = 1_000_000, clustered: bool = True,
                  n_causal_blocks: int = 2, polygenic_share: float = 0.0, drop_monomorphic: bool = True,
                  min_causal_maf: float = 0.05, equal_effects: bool = False,
                  **geno_kw) -> SimGene:
    """A gene with ``n_causal`` causal SNVs; ``clustered``: they sit in ``n_causal_blocks`` LD blocks
    among the blocks nearest to the TSS (the bsBSLMM scenario), else anywhere in the window."""
    G, starts = simulate_genotypes(n, p, rng, **geno_kw)
    pos = np.sort(rng.choice(np.arange(tss - window, tss + window), size=p, replace=False)) + 1
    keep = G.std(axis=0) > 0 if drop_monomorphic else np.ones(p, bool)
    if not keep.all():
        idx = np.flatnonzero(keep)
        G, pos = G[:, idx], pos[idx]
        # remap block starts
        newstart = np.searchsorted(idx, starts)
        starts = np.unique(newstart)
    return plant_phenotype(G, pos, starts, rng, tss, n_causal=n_causal, pve=pve, clustered=clustered,
                           n_causal_blocks=n_causal_blocks, polygenic_share=polygenic_share,
                           min_causal_maf=min_causal_maf, equal_effects=equal_effects)


def plant_phenotype(G: np.ndarray, pos: np.ndarray, starts: np.ndarray, rng: np.random.Generator, tss: int,
                    n_causal: int = 3, pve: float = 0.3, clustered: bool = True, n_causal_blocks: int = 2,
                    polygenic_share: float = 0.0, min_causal_maf: float = 0.05,
                    equal_effects: bool = False) -> SimGene:
    """Expression for given genotypes ``G`` (n x p, position order) with LD blocks ``starts`` (B+1
    offsets): causal SNVs and effects as :func:`simulate_gene` draws them (usable with genotypes from
    any source, e.g. a coalescent simulation)."""
    n, p = G.shape
    B = len(starts) - 1
    af = G.mean(axis=0) / 2.0
    common = np.minimum(af, 1 - af) >= min_causal_maf
    if clustered:
        centre = 0.5 * (pos[starts[:-1]] + pos[np.maximum(starts[1:] - 1, 0)])
        near = np.argsort(np.abs(centre - tss))[: max(n_causal_blocks * 2, n_causal_blocks)]
        chosen = rng.choice(near, size=min(n_causal_blocks, B), replace=False)
        pool = np.concatenate([np.arange(starts[b], starts[b + 1]) for b in chosen])
        pool = pool[common[pool]] if common[pool].any() else pool
        causal = np.sort(rng.choice(pool, size=min(n_causal, len(pool)), replace=False))
    else:
        pool = np.flatnonzero(common) if common.sum() >= n_causal else np.arange(p)
        causal = np.sort(rng.choice(pool, size=n_causal, replace=False))
    eff = np.zeros(p)
    if equal_effects:
        eff[causal] = rng.choice([-1.0, 1.0], size=len(causal))
    else:
        eff[causal] = rng.normal(0, 1, size=len(causal))
    Xc = G - G.mean(axis=0)
    g_sparse = Xc @ eff
    g = g_sparse / (g_sparse.std() or 1.0)
    if polygenic_share > 0:
        poly = Xc @ rng.normal(0, 1, size=p)
        poly /= poly.std() or 1.0
        g = np.sqrt(1 - polygenic_share) * g + np.sqrt(polygenic_share) * poly
        eff = eff / (g_sparse.std() or 1.0) * np.sqrt(1 - polygenic_share)
    else:
        eff = eff / (g_sparse.std() or 1.0)
    scale = np.sqrt(pve)
    g = g * scale
    eff = eff * scale
    y = g + rng.normal(0, np.sqrt(1 - pve), size=n)
    return SimGene(G=G, y=y, pos=pos, tss=tss, causal=causal, effects=eff, g=g,
                   pve=float(np.var(g) / np.var(y)), blocks=starts)
