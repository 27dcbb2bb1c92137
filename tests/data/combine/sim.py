"""Simulated per-observation p-value tables for the allelekit-combine tests.

Counts are drawn per sample and SNV with a known truth: most SNVs are balanced (p = 0.5, or the BAD
mixture B/(B+1) / 1/(B+1)), a known set prefers ref, another prefers alt.  P-values are exact one-sided
binomial tails from scipy (ref_pval = P(X >= ref | n, 0.5)), effect sizes log2(x / (n/2)).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def simulate(n_samples: int = 4, n_snvs: int = 400, frac_ref: float = 0.05, frac_alt: float = 0.05,
             effect: float = 0.8, mean_cover: float = 30, seed: int = 0, model: str = "binom",
             sample_prefix: str = "S", bads=(1.0, 2.0)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (pvalues table, truth per SNV with columns chrom, pos, ref, alt, truth in {'none','ref','alt'})."""
    rng = np.random.default_rng(seed)
    chrom = rng.choice(["chr1", "chr2", "chr10"], n_snvs)
    pos = rng.choice(np.arange(1, 10_000_000), n_snvs, replace=False)
    bases = np.array(list("ACGT"))
    ref = rng.choice(bases, n_snvs)
    alt = np.array([rng.choice(bases[bases != r]) for r in ref])
    bad = rng.choice(np.asarray(bads, float), n_snvs)
    u = rng.uniform(size=n_snvs)
    truth = np.where(u < frac_ref, "ref", np.where(u < frac_ref + frac_alt, "alt", "none"))
    rows = []
    for s in range(n_samples):
        present = rng.uniform(size=n_snvs) < 0.8
        cover = rng.negative_binomial(3, 3 / (3 + mean_cover), n_snvs) + 10
        p = np.full(n_snvs, 0.5)
        # BAD: the SNV sits on the more- or less-copied haplotype
        hap = rng.uniform(size=n_snvs) < 0.5
        p = np.where(bad > 1, np.where(hap, bad / (bad + 1), 1 / (bad + 1)), p)
        p = np.where(truth == "ref", effect, np.where(truth == "alt", 1 - effect, p))
        r = rng.binomial(cover, p)
        a = cover - r
        keep = present & (r >= 5) & (a >= 5)
        n = cover[keep]
        rr, aa = r[keep], a[keep]
        rows.append(pd.DataFrame({
            "sample": f"{sample_prefix}{s + 1}", "chrom": chrom[keep], "pos": pos[keep].astype(np.int64),
            "ref": ref[keep], "alt": alt[keep], "variant_id": [f"rs{i}" for i in np.flatnonzero(keep)],
            "bad": bad[keep], "ref_count": rr.astype(np.int64), "alt_count": aa.astype(np.int64),
            "ref_pval": stats.binom.sf(rr - 1, n, 0.5), "alt_pval": stats.binom.sf(aa - 1, n, 0.5),
            "ref_es": np.log2(rr / (n / 2)), "alt_es": np.log2(aa / (n / 2)), "model": model,
        }))
    pv = pd.concat(rows, ignore_index=True)
    truth_df = pd.DataFrame({"chrom": chrom, "pos": pos.astype(np.int64), "ref": ref, "alt": alt, "truth": truth})
    return pv, truth_df


def write_pvalues(df: pd.DataFrame, path, version: str | None = None, **meta) -> None:
    """Write a pvalues table with allelekit metadata (optionally overriding the allelekit version)."""
    from allelekit.schemas import PVALUES, write_table

    extra = dict(meta)
    write_table(df, path, PVALUES, tool="allelekit-test", params={"simulated": True}, inputs=["simulated"],
                extra_metadata=extra)
    if version is not None:  # rewrite the metadata as if another allelekit version wrote the file
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        md = dict(t.schema.metadata)
        md[b"allelekit.version"] = version.encode()
        pq.write_table(t.replace_schema_metadata(md), path)
