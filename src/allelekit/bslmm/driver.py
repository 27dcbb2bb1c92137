"""Per-gene driver: cis windows, training/test splits, covariates, parallel fits, output tables.

One gene = one task.  A task fits every split of the gene (the folds of ``--folds K`` and the final
fit whose weights are reported) and never raises: any failure becomes the ``status`` of the gene's
row in the hyper-parameter table, so one bad gene never loses the others' results.  Seeds are derived
from (``--seed``, CRC32 of the gene id, fold), so a gene's results do not depend on ``--threads``
or on which other genes are analysed.
"""
from __future__ import annotations

import logging
import math
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import AllelekitError
from .ld import tss_feature
from .model import BlockOptions, Schedule, fit_gene, pooled_tss_prior, predict

log = logging.getLogger("allelekit.bslmm")


@dataclass
class FitConfig:
    model: str = "bsbslmm"
    schedule: Schedule | None = None
    chains: int = 1
    blocks: BlockOptions = field(default_factory=BlockOptions)
    s_max: int = 300
    cis_window: int = 500_000
    min_maf: float = 0.01
    seed: int = 0
    ci_draws: int = 1000
    tss_prior: str = "pooled"   # bsbslmm slope prior: 'pooled' (empirical Bayes over genes) or 'gene'
    # (mean, sd) of the slope prior per fold (0 = the fit on all training samples); filled by run_genes
    eta1_prior: dict = field(default_factory=dict)


@dataclass
class GeneInput:
    gene: str
    chrom: str | None     # VCF contig name, None when not in the VCF
    tss: int
    strand: str
    y: np.ndarray         # expression over the analysed samples (NaN = missing)
    status: str = "ok"    # pre-set 'skipped: ...' when the gene cannot be analysed


@dataclass
class Split:
    train: np.ndarray     # bool over samples
    test: np.ndarray
    fold: int


# state shared with forked workers (set before the pool starts; read-only in workers)
_SHARED: dict = {}


def gene_seed_words(seed: int, gene: str, fold: int) -> tuple[int, ...]:
    return (int(seed), zlib.crc32(gene.encode()), int(fold))


def _residualise(y_tr: np.ndarray, C_tr: np.ndarray | None, y_te: np.ndarray | None, C_te: np.ndarray | None):
    """Regress covariates out of training expression (OLS with intercept); apply the same fit to test."""
    if C_tr is None:
        return y_tr, y_te
    A = np.column_stack([np.ones(len(y_tr)), C_tr])
    coef, *_ = np.linalg.lstsq(A, y_tr, rcond=None)
    r_tr = y_tr - A @ coef + coef[0]  # keep the mean on the expression scale
    r_te = None
    if y_te is not None:
        r_te = y_te - np.column_stack([np.ones(len(y_te)), C_te]) @ coef + coef[0]
    return r_tr, r_te


def _fit_data(gi: GeneInput, snps: np.ndarray, train: np.ndarray, test: np.ndarray | None, cfg: FitConfig):
    """Training (and test) genotypes and expression of one gene and split, or (None, status)."""
    geno = _SHARED["geno"]
    cov = _SHARED["cov"]
    D = geno.dosage[snps].astype(np.float64)        # (m, n_all)
    Gtr = D[:, train].T
    xbar = np.nanmean(Gtr, axis=0) if Gtr.size else np.zeros(0)
    miss = np.isnan(Gtr)
    if miss.any():
        Gtr = np.where(miss, xbar, Gtr)
    af = xbar / 2.0
    maf = np.minimum(af, 1 - af)
    keep = (Gtr.std(axis=0) > 0) & (maf >= cfg.min_maf) & np.isfinite(xbar)
    if not keep.any():
        return None, "skipped: no polymorphic SNVs above --min-maf in the training samples"
    Gtr = Gtr[:, keep]
    kept = snps[keep]
    y_tr = gi.y[train]
    Gte = y_te = None
    if test is not None and test.any():
        Gte = D[keep][:, test].T
        Gte = np.where(np.isnan(Gte), xbar[keep], Gte)
        y_te = gi.y[test]
    y_tr, y_te = _residualise(y_tr, None if cov is None else cov[train], y_te,
                              None if cov is None or test is None else cov[test])
    return (Gtr, y_tr, kept, Gte, y_te), "ok"


def _one_fit(gi: GeneInput, snps: np.ndarray, train: np.ndarray, test: np.ndarray | None, fold: int,
             cfg: FitConfig):
    data, status = _fit_data(gi, snps, train, test, cfg)
    if data is None:
        return None, status
    Gtr, y_tr, kept, Gte, y_te = data
    fit = fit_gene(Gtr, y_tr, _SHARED["geno"].pos[kept], gi.tss, model=cfg.model, schedule=cfg.schedule,
                   seed_words=gene_seed_words(cfg.seed, gi.gene, fold), chains=cfg.chains, blocks=cfg.blocks,
                   s_max=cfg.s_max, ci_draws=cfg.ci_draws, tss_prior=cfg.eta1_prior.get(fold, (0.0, 1.0)))
    pred = predict(Gte, fit.xbar, fit.weight, fit.intercept) if Gte is not None else None
    return (fit, kept, pred, y_te), "ok"


def _fits_of_gene(gi: GeneInput, ok: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray | None]]:
    """(fold, train, test) of every fit of a gene: the splits, then the final fit unless a split is final."""
    fits = [(sp.fold, sp.train & ok, sp.test & ok) for sp in _SHARED["splits"]]
    if not _SHARED["final_is_split"]:
        fits.append((0, _SHARED["final_train"] & ok, None))
    return fits


def pip_job(k: int) -> list[tuple]:
    """First pass of the pooled TSS prior, per fold: (fold, BSLMM PIPs, TSS features, posterior mean
    of pi, recorded draws) of gene ``k``.

    Failures return nothing (the gene's own error is reported by the second pass).
    """
    gi: GeneInput = _SHARED["genes"][k]
    cfg: FitConfig = _SHARED["cfg"]
    if gi.status != "ok" or gi.chrom is None:
        return []
    out = []
    try:
        geno = _SHARED["geno"]
        snps = geno.window(gi.chrom, gi.tss - cfg.cis_window, gi.tss + cfg.cis_window)
        if snps.size == 0:
            return []
        for fold, tr, _ in _fits_of_gene(gi, np.isfinite(gi.y)):
            if tr.sum() < 10:
                return []
            data, _status = _fit_data(gi, snps, tr, None, cfg)
            if data is None:
                return []
            Gtr, y_tr, kept, _, _ = data
            fit = fit_gene(Gtr, y_tr, geno.pos[kept], gi.tss, model="bslmm", schedule=Schedule.default("bslmm"),
                           seed_words=gene_seed_words(cfg.seed, gi.gene, fold), s_max=cfg.s_max, ci_draws=1)
            out.append((fold, fit.pip.astype(np.float32), tss_feature(geno.pos[kept], gi.tss).astype(np.float32),
                        float(fit.summary["pi_mean"]), int(sum(h.shape[0] for h in fit.hyp))))
    except Exception:  # noqa: BLE001 - the second pass reports the gene's error
        log.debug("first pass of gene %s failed", gi.gene, exc_info=True)
        return []
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None, None
    from scipy import stats

    r, pv = stats.pearsonr(a, b)
    return float(r), float(pv)


def gene_job(k: int) -> dict:
    """Fit gene ``k`` of ``_SHARED['genes']`` over all splits; never raises."""
    gi: GeneInput = _SHARED["genes"][k]
    cfg: FitConfig = _SHARED["cfg"]
    t0 = time.process_time()
    out = {"gene": gi.gene, "hyper": {"gene": gi.gene, "model": cfg.model, "n_snps": 0, "n_train": 0,
                                      "n_test": 0, "status": gi.status},
           "weights": None, "trace": None, "pred": [], "nan": 0}
    if gi.status != "ok":
        return out
    try:
        geno = _SHARED["geno"]
        if gi.chrom is None:
            out["hyper"]["status"] = "skipped: gene's chromosome not in the VCF"
            return out
        snps = geno.window(gi.chrom, gi.tss - cfg.cis_window, gi.tss + cfg.cis_window)
        if snps.size == 0:
            out["hyper"]["status"] = "skipped: no SNVs in the cis window"
            return out
        ok = np.isfinite(gi.y)
        out["nan"] = int((~ok).sum())
        preds, obs, fold_of, idx_of = [], [], [], []
        for fold, tr, te in _fits_of_gene(gi, ok):      # the last fit is the reported one
            if tr.sum() < 10:
                raise AllelekitError(f"only {int(tr.sum())} training samples with expression (need >= 10)")
            res, status = _one_fit(gi, snps, tr, te, fold, cfg)
            if res is None:
                out["hyper"]["status"] = status
                return out
            fit, kept, pred, y_te = res
            if pred is not None:
                preds.append(pred)
                obs.append(y_te)
                idx_of.append(np.flatnonzero(te))
                fold_of.append(np.full(len(pred), fold))
        final_fold = fold
        n_test = int(te.sum()) if te is not None else int(sum(len(p) for p in preds))
        h = out["hyper"]
        h.update(fit.summary)
        h.update(n_snps=int(fit.p), n_train=int(fit.n_train), n_test=n_test)
        if cfg.model == "bsbslmm":
            h["beta_prior_mean"], h["beta_prior_sd"] = cfg.eta1_prior.get(final_fold, (0.0, 1.0))
        if preds:
            P, O = np.concatenate(preds), np.concatenate(obs)
            h["r_test"], h["r_test_pvalue"] = _pearson(P, O)
            out["pred"] = [(np.concatenate(idx_of), P, O, np.concatenate(fold_of))]
        out["weights"] = {
            "snps": kept, "weight": fit.weight, "alpha_mean": fit.alpha_mean, "beta_mean": fit.beta_mean,
            "pip": fit.pip, "block": fit.block_id, "block_pip": fit.block_pip, "ci_low": fit.ci_low,
            "ci_high": fit.ci_high, "active": fit.active, "dosage_mean": fit.xbar, "intercept": fit.intercept,
        }
        out["trace"] = {"hyp": fit.hyp, "iterations": fit.iterations}
        h["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - recorded, the other genes go on
        log.debug("gene %s failed", gi.gene, exc_info=True)
        msg = " ".join(str(exc).split())
        out["hyper"] = {"gene": gi.gene, "model": cfg.model, "n_snps": 0, "n_train": 0, "n_test": 0,
                        "status": (f"error: {msg}" if isinstance(exc, AllelekitError)
                                   else f"error: {type(exc).__name__}: {msg}")[:300]}
        out["weights"] = out["trace"] = None
        out["pred"] = []
    out["hyper"]["seconds"] = time.process_time() - t0
    return out


def _map(job, n: int, threads: int, progress=None, desc: str = "genes") -> list:
    """``[job(k) for k in range(n)]`` over ``threads`` forked processes, in order.

    ``progress``: None, or a callable ``desc -> context manager with update(k)`` (a progress bar).
    """
    from contextlib import nullcontext

    results: list = []
    with (progress(desc) if progress is not None else nullcontext()) as bar:
        if threads <= 1 or n <= 1:
            for k in range(n):
                results.append(job(k))
                if bar is not None:
                    bar.update(1)
            return results
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(threads, n), mp_context=ctx) as ex:
            for res in ex.map(job, range(n), chunksize=1):
                results.append(res)
                if bar is not None:
                    bar.update(1)
    return results


def run_genes(genes: list[GeneInput], geno, cov, splits: list[Split], final_train: np.ndarray,
              final_is_split: bool, cfg: FitConfig, threads: int = 1, progress=None) -> list[dict]:
    """Run :func:`gene_job` for every gene, in order, over ``threads`` processes.

    With ``cfg.model == 'bsbslmm'`` and ``cfg.tss_prior == 'pooled'``, a first pass (:func:`pip_job`,
    BSLMM on the same training samples) estimates the TSS-slope prior of every fold by
    :func:`~allelekit.bslmm.model.pooled_tss_prior`.  ``progress``: None or a callable
    ``desc -> progress bar`` (one bar per pass).
    """
    _SHARED.update(genes=genes, geno=geno, cov=cov, splits=splits, final_train=final_train,
                   final_is_split=final_is_split, cfg=cfg)
    try:
        if cfg.model == "bsbslmm" and cfg.tss_prior == "pooled":
            per_gene = _map(pip_job, len(genes), threads, progress, "TSS prior: BSLMM pass")
            by_fold: dict = {}
            for rows in per_gene:
                for fold, *vals in rows:
                    lists = by_fold.setdefault(fold, ([], [], [], []))
                    for lst, v in zip(lists, vals):
                        lst.append(v)
            cfg.eta1_prior = {f: pooled_tss_prior(*v) for f, v in by_fold.items()}
            if not by_fold:
                log.warning("no gene could be fitted in the first pass; bsBSLMM uses the per-gene N(0, 1) "
                            "TSS-slope prior")
            for f in sorted(cfg.eta1_prior):
                m, sd = cfg.eta1_prior[f]
                log.info("pooled TSS-distance slope prior%s: eta1 ~ N(%.3f, %.3f^2) from the BSLMM PIPs of %d gene(s)",
                         f" (fold {f})" if f else "", m, sd, len(by_fold[f][0]))
        return _map(gene_job, len(genes), threads, progress)
    finally:
        _SHARED.clear()


# --- tables ---------------------------------------------------------------------------------------
HYPER_FLOATS = ("h_mean", "pve_mean", "pve_low", "pve_high", "pge_mean", "pi_mean", "pi_b_mean", "alpha_mean",
                "beta_mean", "beta_prior_mean", "beta_prior_sd", "n_gamma_mean", "r_test", "r_test_pvalue", "ess_h", "rhat_h", "ess_pve", "rhat_pve",
                "seconds")


def build_tables(results: list[dict], genes: list[GeneInput], geno, samples: list[str]) -> dict:
    """Arrow-ready column dicts for the weights, predixcan, hyper, trace and predictions tables."""
    import pandas as pd

    from .samplers import HYP_COLS

    hyper_rows = []
    for r in results:
        row = {c: None for c in HYPER_FLOATS}
        row.update({"n_blocks": None})
        row.update(r["hyper"])
        for c in HYPER_FLOATS:
            v = row.get(c)
            row[c] = None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)
        hyper_rows.append(row)
    hyper = pd.DataFrame(hyper_rows)
    hyper = hyper[["gene", "model", "n_snps", "n_train", "n_test", *[c for c in HYPER_FLOATS if c != "seconds"],
                   "n_blocks", "seconds", "status"]]
    hyper["n_blocks"] = hyper["n_blocks"].astype("Int64")

    tss = {g.gene: g.tss for g in genes}
    wparts, tparts, pparts = [], [], []
    for r in results:
        w = r["weights"]
        if w is not None:
            s = w["snps"]
            wparts.append(pd.DataFrame({
                "gene": r["gene"], "variant_id": geno.vid[s].astype(str), "chrom": geno.chrom[s].astype(str),
                "pos": geno.pos[s], "ref": geno.ref[s].astype(str), "alt": geno.alt[s].astype(str),
                "weight": w["weight"], "alpha_mean": w["alpha_mean"], "beta_mean": w["beta_mean"], "pip": w["pip"],
                "block": w["block"].astype(np.int64), "block_pip": w["block_pip"], "ci_low": w["ci_low"],
                "ci_high": w["ci_high"], "active": w["active"], "tss_distance": geno.pos[s] - tss[r["gene"]],
                "dosage_mean": w["dosage_mean"], "intercept": float(w["intercept"]),
            }))
        t = r["trace"]
        if t is not None:
            for c, hyp in enumerate(t["hyp"]):
                d = {"gene": r["gene"], "chain": c, "iteration": t["iterations"][: hyp.shape[0]]}
                for name, col in zip(("h", "pve", "rho", "pge", "pi"), ("h", "pve", "rho", "pge", "pi")):
                    d[name] = hyp[:, HYP_COLS.index(col)]
                d["n_gamma"] = hyp[:, HYP_COLS.index("n_gamma")].astype(np.int64)
                for name, col in (("pi_b", "pi_b"), ("alpha", "eta0"), ("beta", "eta1")):
                    v = hyp[:, HYP_COLS.index(col)]
                    d[name] = pd.array(np.where(np.isnan(v), None, v), dtype="Float64")
                tparts.append(pd.DataFrame(d))
        for idx, P, O, F in r["pred"]:
            pparts.append(pd.DataFrame({"gene": r["gene"], "sample": np.asarray(samples, dtype=object)[idx],
                                        "predicted": P, "observed": O, "fold": F.astype(np.int64)}))
    weights = pd.concat(wparts, ignore_index=True) if wparts else None
    trace = pd.concat(tparts, ignore_index=True) if tparts else None
    preds = pd.concat(pparts, ignore_index=True) if pparts else None
    if weights is not None:
        weights = weights.sort_values(["gene", "chrom", "pos"], kind="stable").reset_index(drop=True)
    if preds is not None:
        preds = preds.sort_values(["gene", "sample"], kind="stable").reset_index(drop=True)
    return {"hyper": hyper.sort_values("gene", kind="stable").reset_index(drop=True), "weights": weights,
            "trace": trace, "predictions": preds}
