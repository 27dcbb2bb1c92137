"""Combine per-observation allele-specific p-values into per-SNV calls (library of ``allelekit-combine``).

One *observation* is one SNV in one sample, with two one-sided p-values (``ref_pval``: the reference
allele is over-represented; ``alt_pval``: the alternative allele is) and two effect sizes, as written by
``allelekit-test`` (schema ``pvalues``).  For each group of samples this module

1. keeps a SNV, identified by (chrom, pos, ref, alt), when at least one of its observations in the
   group has ``ref_count + alt_count >= min_cover`` (all its observations are then used);
2. combines the p-values of the SNV's observations separately for ref and alt with
   :func:`combine_grouped` (``logit`` = Mudholkar-George, the MixALime default, ``fisher`` or
   ``stouffer``);
3. combines effect sizes (plain mean, or a mean weighted by ``-log10 p``);
4. adjusts the ref and the alt combined p-values separately with Benjamini-Hochberg
   (:func:`scipy.stats.false_discovery_control`) and calls the preferred allele and the significant
   direction(s).

Rules taken from MixALime 2.29.4 ``combine`` (see ``docs/combine.md``):

* p-values equal to 1 are dropped before combining (observations at the truncation bound always get
  p = 1 and carry no information); a SNV with no p-value left gets 1, one with a single p-value gets
  that p-value.  allelekit applies this rule to every method.
* ``logit``: L = sum ln((1-p)/p), p = P(T_nu > L * sqrt(3 nu / (k pi^2 (nu-2)))), nu = 5k+4; where
  that underflows to 0, Fisher's chi-square with 2k degrees of freedom is used instead.
* combined p-values equal to 0 are replaced by the smallest non-zero combined p-value of the
  same direction and group.
* effect sizes: observations with p = 0 are left out, those with p = 1 stay in.

The arithmetic is done by :func:`scipy.stats.combine_pvalues` on blocks of SNVs with the same number
of p-values (one vectorised call per block size), so the formulas are scipy's own.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np

from .errors import AllelekitError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger("allelekit.combine")

METHODS = ("logit", "fisher", "stouffer")
STOUFFER_WEIGHTS = ("none", "cover", "sqrt-cover")
ES_WEIGHTS = ("uniform", "pval")
SNV_KEY = ["chrom", "pos", "ref", "alt"]
GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


# --- p-value combination ------------------------------------------------------------------------
def _blocks(codes: np.ndarray, n_snvs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort order, start offset and count of the entries of each SNV code."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_snvs)
    starts = np.zeros(n_snvs, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return order, starts, counts


def combine_grouped(pvals: np.ndarray, codes: np.ndarray, n_snvs: int, method: str = "logit",
                    weights: np.ndarray | None = None) -> np.ndarray:
    """Combine the p-values ``pvals[i]`` of SNV ``codes[i]`` (0 <= code < n_snvs), one result per SNV.

    NaN p-values and p-values equal to 1 are dropped first.  ``weights`` (same length as ``pvals``)
    are used by ``stouffer`` only.  Zero results are *not* replaced here (see :func:`fill_zeros`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    from scipy import stats

    p = np.asarray(pvals, dtype=float)
    codes = np.asarray(codes, dtype=np.int64)
    if np.any((p < 0) | (p > 1)):
        bad = p[(p < 0) | (p > 1)][0]
        raise AllelekitError(f"p-value {bad!r} outside [0, 1]; the p-value table is corrupt")
    keep = ~np.isnan(p) & (p < 1.0)
    w_all = None if weights is None else np.asarray(weights, dtype=float)
    p, c = p[keep], codes[keep]
    w = None if w_all is None else w_all[keep]
    out = np.ones(n_snvs, dtype=float)
    if p.size == 0:
        return out
    order, starts, counts = _blocks(c, n_snvs)
    ps = p[order]
    ws = None if w is None else w[order]
    one = counts == 1
    out[one] = ps[starts[one]]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in np.unique(counts[counts >= 2]):
            snvs = np.flatnonzero(counts == k)
            idx = starts[snvs][:, None] + np.arange(k)[None, :]
            mat = ps[idx]
            if method == "logit":
                res = stats.combine_pvalues(mat, method="mudholkar_george", axis=1).pvalue
                under = ~(res > 0)
                if np.any(under):  # Fisher fallback where the t tail underflows (or p = 0 gave NaN)
                    res = np.asarray(res, dtype=float).copy()
                    res[under] = stats.combine_pvalues(mat[under], method="fisher", axis=1).pvalue
            elif method == "fisher":
                res = stats.combine_pvalues(mat, method="fisher", axis=1).pvalue
            else:
                if ws is None:
                    res = stats.combine_pvalues(mat, method="stouffer", axis=1).pvalue
                else:
                    res = stats.combine_pvalues(mat, method="stouffer", weights=ws[idx], axis=1).pvalue
            res = np.asarray(res, dtype=float)
            res[np.isnan(res)] = 0.0  # only p = 0 inputs produce NaN here (inf - inf); they are decisive
            out[snvs] = res
    return out


def fill_zeros(p: np.ndarray) -> np.ndarray:
    """Replace combined p-values of 0 by the smallest non-zero one (MixALime's rule)."""
    p = np.asarray(p, dtype=float).copy()
    zero = p == 0
    if zero.any():
        nz = p[p > 0]
        p[zero] = nz.min() if nz.size else np.finfo(float).tiny
    return p


def combine_es(es: np.ndarray, pvals: np.ndarray, codes: np.ndarray, n_snvs: int,
               weighting: str = "uniform") -> np.ndarray:
    """Combined effect size per SNV: the mean of the observations' ES (NaN ES and p = 0 left out).

    ``weighting='pval'`` weights each ES by ``-log10 p`` (so p = 1 gets weight 0); where all weights
    of a SNV are 0 the plain mean is used.  A SNV whose observations all have p = 0 gets the plain mean
    of all its ES (as MixALime does); one without any non-NaN ES gets NaN.
    """
    if weighting not in ES_WEIGHTS:
        raise ValueError(f"unknown ES weighting {weighting!r}")
    es = np.asarray(es, dtype=float)
    p = np.asarray(pvals, dtype=float)
    ok = ~np.isnan(es) & ~np.isnan(p) & (p != 0)
    c = np.asarray(codes)[ok]
    e = es[ok]
    n = np.bincount(c, minlength=n_snvs).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = np.bincount(c, weights=e, minlength=n_snvs) / n
        combined = plain
        w = -np.log10(p[ok])
        sw = np.bincount(c, weights=w, minlength=n_snvs)
        weighted = np.bincount(c, weights=w * e, minlength=n_snvs) / sw
        combined = np.where(sw > 0, weighted, plain)
    if weighting == "uniform":
        combined = plain
    # SNVs whose p-values are all 0: mean of all their ES
    none_left = n == 0
    if none_left.any():
        valid = ~np.isnan(es)
        c_all = np.asarray(codes)[valid]
        n_all = np.bincount(c_all, minlength=n_snvs).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_all = np.bincount(c_all, weights=es[valid], minlength=n_snvs) / n_all
        combined = np.where(none_left, mean_all, combined)
    return combined


def bh_fdr(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (:func:`scipy.stats.false_discovery_control`, method 'bh')."""
    from scipy import stats

    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p.copy()
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=float)


# --- groups -------------------------------------------------------------------------------------
@dataclass
class Group:
    name: str
    samples: list[str] = field(default_factory=list)


def parse_group_spec(spec: str) -> tuple[str, str]:
    """Split ``NAME=VALUE``; the caller decides whether VALUE is a file or a comma list."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep or not name:
        raise AllelekitError(f"--group {spec!r}: expected NAME=FILE or NAME=sample1,sample2")
    if not GROUP_NAME_RE.match(name):
        raise AllelekitError(f"--group {spec!r}: group name {name!r} must start with a letter or digit and "
                             "contain only letters, digits and . _ + - (it is used in file names)")
    return name, value.strip()


def resolve_groups(specs: Sequence[str], samples: Sequence[str],
                   input_samples: Mapping[str, Sequence[str]]) -> list[Group]:
    """Turn ``--group`` specs into sample lists.

    ``samples``: every sample present in the inputs.  ``input_samples``: input file path -> its samples.
    A spec's value is a file (one entry per line, ``#`` comments and blank lines ignored; an entry is a
    sample name or one of the input files, meaning all its samples) or a comma-separated list of the
    same.  Unknown names, empty groups and repeated group names are errors.
    """
    from pathlib import Path

    if not specs:
        return [Group("all", list(samples))]
    known = set(samples)
    by_path: dict[str, list[str]] = {}
    for path, ss in input_samples.items():
        for key in {str(path), str(Path(path).resolve()), Path(path).name}:
            by_path.setdefault(key, [])
            by_path[key] = list(dict.fromkeys([*by_path[key], *ss]))
    groups: list[Group] = []
    seen: set[str] = set()
    for spec in specs:
        name, value = parse_group_spec(spec)
        if name in seen:
            raise AllelekitError(f"--group {name!r} is given twice; group names must be unique")
        seen.add(name)
        source = f"--group {name}"
        vpath = Path(value) if value else None
        if vpath is not None and vpath.is_file():
            source = f"--group {name} (file {value})"
            try:
                lines = vpath.read_text().splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise AllelekitError(f"{source}: cannot read the group file ({exc})") from None
            entries = [ln.split("#", 1)[0].strip() for ln in lines]
            entries = [e for ln in entries for e in ln.replace("\t", ",").split(",")]
        else:
            entries = value.split(",")
        entries = [e.strip() for e in entries if e.strip()]
        if not entries:
            raise AllelekitError(f"{source} is empty: list at least one sample name or input file")
        members: list[str] = []
        unknown: list[str] = []
        for e in entries:
            if e in known:
                members.append(e)
            elif e in by_path or str(Path(e).resolve()) in by_path:
                members.extend(by_path.get(e) or by_path[str(Path(e).resolve())])
            else:
                unknown.append(e)
        if unknown:
            shown = ", ".join(sorted(known)[:10]) + (" ..." if len(known) > 10 else "")
            hint = ""
            if any("/" in u or u.endswith((".txt", ".tsv", ".list", ".csv")) for u in unknown):
                hint = " (a group file must exist; an input file must be one of --input)"
            raise AllelekitError(f"{source}: unknown sample(s) {', '.join(unknown)}{hint}; samples in the inputs: "
                                 f"{shown}")
        groups.append(Group(name, list(dict.fromkeys(members))))
    return groups


# --- the whole combination ----------------------------------------------------------------------
@dataclass
class CombineParams:
    method: str = "logit"
    stouffer_weights: str = "none"
    es_weights: str = "uniform"
    min_cover: int = 20
    fdr: float = 0.05


def natural_key(text: str) -> tuple:
    """chr2 < chr10; used to order contigs."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text)))


def combine_group(obs: "pd.DataFrame", group: str, params: CombineParams) -> "pd.DataFrame":
    """Combine the observations ``obs`` (rows of a ``pvalues`` table, one group's samples) per SNV.

    Returns one row per SNV passing ``min_cover``, in the columns of the ``combined`` schema, with BH
    FDR computed over this group's SNVs.
    """
    import pandas as pd

    if obs.empty:
        return _empty_combined()
    obs = obs.reset_index(drop=True)
    cover = (obs["ref_count"].to_numpy(np.int64) + obs["alt_count"].to_numpy(np.int64))
    codes_all, uniq = pd.MultiIndex.from_frame(obs[SNV_KEY]).factorize()
    codes_all = np.asarray(codes_all, dtype=np.int64)
    n_all = len(uniq)
    max_cover = np.zeros(n_all, dtype=np.int64)
    np.maximum.at(max_cover, codes_all, cover)
    kept_snv = max_cover >= params.min_cover
    keep_obs = kept_snv[codes_all]
    if not kept_snv.any():
        return _empty_combined()
    # renumber the kept SNVs 0..n-1
    new_code = np.cumsum(kept_snv) - 1
    codes = new_code[codes_all[keep_obs]]
    sub = obs.loc[keep_obs].reset_index(drop=True)
    cov = cover[keep_obs]
    n = int(kept_snv.sum())

    weights = None
    if params.method == "stouffer" and params.stouffer_weights != "none":
        weights = cov.astype(float) if params.stouffer_weights == "cover" else np.sqrt(cov.astype(float))
    res = {}
    for d in ("ref", "alt"):
        pv = sub[f"{d}_pval"].to_numpy(float)
        comb = fill_zeros(combine_grouped(pv, codes, n, params.method, weights))
        res[f"{d}_pval"] = comb
        res[f"{d}_es"] = combine_es(sub[f"{d}_es"].to_numpy(float), pv, codes, n, params.es_weights)
        res[f"{d}_fdr"] = bh_fdr(comb)

    first = np.full(n, -1, dtype=np.int64)
    # first observation of each SNV (for chrom/pos/ref/alt/variant_id)
    order = np.argsort(codes, kind="stable")
    _, first_pos = np.unique(codes[order], return_index=True)
    first = order[first_pos]
    cnt = np.bincount(codes, minlength=n)
    bad_sum = np.bincount(codes, weights=sub["bad"].to_numpy(float), minlength=n)
    ref_sum = np.bincount(codes, weights=sub["ref_count"].to_numpy(float), minlength=n)
    alt_sum = np.bincount(codes, weights=sub["alt_count"].to_numpy(float), minlength=n)
    mc = np.zeros(n, dtype=np.int64)
    np.maximum.at(mc, codes, cov)
    # variant_id: first non-null id of the SNV
    vid = sub["variant_id"]
    vid_first = pd.Series(vid.to_numpy(object)).groupby(codes).first()  # first non-null per group
    variant_id = vid_first.reindex(range(n)).to_numpy(object)
    samples_sorted = sub["sample"].to_numpy(object)[order]
    bounds = np.r_[first_pos, len(order)]
    sample_lists = [sorted(set(samples_sorted[bounds[i]:bounds[i + 1]])) for i in range(n)]

    ref_p, alt_p = res["ref_pval"], res["alt_pval"]
    pref_ref = ref_p < alt_p  # ties (e.g. both 1) go to alt, as in MixALime's export
    sig_ref = res["ref_fdr"] < params.fdr
    sig_alt = res["alt_fdr"] < params.fdr
    call = np.where(sig_ref & sig_alt, "both", np.where(sig_ref, "ref", np.where(sig_alt, "alt", "none")))
    out = pd.DataFrame({
        "group": group,
        "chrom": sub["chrom"].to_numpy(object)[first],
        "pos": sub["pos"].to_numpy(np.int64)[first],
        "ref": sub["ref"].to_numpy(object)[first],
        "alt": sub["alt"].to_numpy(object)[first],
        "variant_id": variant_id,
        "mean_bad": bad_sum / cnt,
        "n_obs": cnt.astype(np.int64),
        "ref_count": ref_sum.astype(np.int64),
        "alt_count": alt_sum.astype(np.int64),
        "max_cover": mc,
        "ref_pval": ref_p,
        "alt_pval": alt_p,
        "ref_es": res["ref_es"],
        "alt_es": res["alt_es"],
        "ref_fdr": res["ref_fdr"],
        "alt_fdr": res["alt_fdr"],
        "pref_allele": np.where(pref_ref, "ref", "alt"),
        "pval": np.where(pref_ref, ref_p, alt_p),
        "fdr": np.where(pref_ref, res["ref_fdr"], res["alt_fdr"]),
        "es": np.where(pref_ref, res["ref_es"], res["alt_es"]),
        "call": call,
        "samples": sample_lists,
    })
    out["variant_id"] = out["variant_id"].where(pd.notna(out["variant_id"]), None)
    return sort_combined(out)


def sort_combined(df: "pd.DataFrame") -> "pd.DataFrame":
    if df.empty:
        return df
    chroms = sorted(df["chrom"].unique(), key=natural_key)
    rank = {c: i for i, c in enumerate(chroms)}
    return (df.assign(_c=df["chrom"].map(rank)).sort_values(["_c", "pos", "ref", "alt"], kind="stable")
            .drop(columns="_c").reset_index(drop=True))


def _empty_combined() -> "pd.DataFrame":
    import pandas as pd

    cols = ["group", "chrom", "pos", "ref", "alt", "variant_id", "mean_bad", "n_obs", "ref_count", "alt_count",
            "max_cover", "ref_pval", "alt_pval", "ref_es", "alt_es", "ref_fdr", "alt_fdr", "pref_allele",
            "pval", "fdr", "es", "call", "samples"]
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})


def summarize(combined: "pd.DataFrame", obs_counts: Mapping[str, tuple[int, int]], params: CombineParams
              ) -> "pd.DataFrame":
    """One row per group: observations, SNVs seen, tested, significant ref / alt / both.

    ``obs_counts``: group -> (observations, distinct SNVs) before the ``min_cover`` filter.
    """
    import pandas as pd

    rows = []
    for g, (n_obs, n_snvs) in obs_counts.items():
        d = combined[combined["group"] == g]
        calls = d["call"].value_counts()
        ref, alt, both = (int(calls.get(k, 0)) for k in ("ref", "alt", "both"))
        rows.append({
            "group": g, "n_observations": n_obs, "n_snvs": n_snvs, "n_tested": len(d),
            "pct_tested": 100.0 * len(d) / n_snvs if n_snvs else 0.0,
            "ref_only": ref, "alt_only": alt, "both": both, "significant": ref + alt + both,
            "ref_significant": ref + both, "alt_significant": alt + both,
            "pct_significant": 100.0 * (ref + alt + both) / len(d) if len(d) else 0.0,
            "method": params.method, "fdr": params.fdr, "min_cover": params.min_cover,
        })
    return pd.DataFrame(rows)


def check_inputs(metas: Sequence[tuple[str, Mapping[str, str], Iterable[str]]]) -> str:
    """Refuse p-value tables that mix schema versions, producing allelekit versions or models.

    ``metas``: (path, allelekit metadata, distinct values of the ``model`` column).  Returns the model.
    """
    def distinct(key: str) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for path, meta, _ in metas:
            seen.setdefault(meta.get(key, "(none)"), []).append(str(path))
        return seen

    for key, what, fix in (("schema", "schema versions", "rerun allelekit-test with one allelekit version"),
                           ("version", "allelekit versions",
                            "rerun allelekit-test on all samples with one allelekit version")):
        seen = distinct(key)
        if len(seen) > 1:
            desc = "; ".join(f"{k}: {', '.join(v)}" for k, v in seen.items())
            raise AllelekitError(f"the inputs mix {what} ({desc}); {fix}")
    models: dict[str, list[str]] = {}
    for path, _, ms in metas:
        for m in ms:
            models.setdefault(str(m), []).append(str(path))
    if len(models) > 1:
        desc = "; ".join(f"{k}: {', '.join(sorted(set(v)))}" for k, v in models.items())
        raise AllelekitError(f"the inputs mix p-values of different models ({desc}); combine p-values of one "
                             "model only (rerun allelekit-test with the same fit for every sample)")
    if not models:
        raise AllelekitError("the inputs hold no observations")
    return next(iter(models))
