"""Self-contained HTML report of an allele-specific run (written by ``allelekit-combine --report DIR``).

``DIR/index.html`` embeds every figure as a base64 PNG, so the page can be mailed or archived alone;
the same PNGs are written to ``DIR/figures/`` and the tables behind them to ``DIR/*.tsv``.

The page says what was run (inputs and their provenance metadata, parameters, command line), the
numbers (SNVs seen, tested, significant per group), and explains each figure: QQ plot with the
genomic inflation factor, volcano, allelic-ratio distribution per BAD, significant SNVs per
group and sample, per-sample QC with 3-SD outliers, and fit diagnostics when an ``allelekit-fit``
table is given.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from . import figures as F

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger("allelekit.report")


@dataclass
class ReportInput:
    combined: "pd.DataFrame"              # rows of the combined schema (all groups)
    observations: "pd.DataFrame"          # rows of the pvalues schema (all inputs)
    summary: "pd.DataFrame"               # allelekit.combine.summarize()
    groups: Mapping[str, Sequence[str]]   # group -> samples
    params: Mapping[str, Any]             # combine parameters
    inputs: Sequence[tuple[str, Mapping[str, str]]] = ()   # (path, allelekit metadata)
    command: str = ""
    fit: "pd.DataFrame | None" = None
    fit_path: str | None = None
    fit_meta: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)  # label -> path of the other outputs


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _e(x: Any) -> str:
    return html.escape(str(x))


def _table(df: "pd.DataFrame", floatfmt: str = "{:.4g}", max_rows: int | None = None) -> str:
    import pandas as pd

    rows = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{_e(c)}</th>" for c in rows.columns)
    body = []
    for r in rows.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (float, np.floating)):
                cells.append("<td class=num>" + ("" if pd.isna(v) else _e(floatfmt.format(v))) + "</td>")
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                cells.append(f"<td class=num>{int(v)}</td>")
            elif isinstance(v, (list, tuple, np.ndarray)):
                cells.append("<td>" + _e(", ".join(map(str, v))) + "</td>")
            else:
                cells.append("<td>" + ("" if v is None else _e(v)) + "</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if max_rows is not None and len(df) > max_rows:
        more = f"<p class=note>Showing {max_rows} of {len(df)} rows.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def sample_significance(combined: "pd.DataFrame") -> "pd.DataFrame":
    """Per sample: significant SNVs (any group) in which the sample has an observation, by call."""
    import pandas as pd

    sig = combined[combined["call"] != "none"][["call", "samples"]].explode("samples")
    if sig.empty:
        return pd.DataFrame(columns=["sample", "ref", "alt", "both", "total"])
    t = pd.crosstab(sig["samples"], sig["call"])
    for c in ("ref", "alt", "both"):
        if c not in t:
            t[c] = 0
    t = t[["ref", "alt", "both"]]
    t["total"] = t.sum(axis=1)
    return t.rename_axis("sample").reset_index()


def _provenance_rows(inputs: Sequence[tuple[str, Mapping[str, str]]], obs: "pd.DataFrame") -> str:
    rows = []
    for path, meta in inputs:
        params = meta.get("params", "")
        try:
            pretty = json.dumps(json.loads(params), indent=1, sort_keys=True) if params else ""
        except ValueError:
            pretty = params
        try:
            upstream = ", ".join(json.loads(meta.get("inputs", "[]")))
        except ValueError:
            upstream = meta.get("inputs", "")
        n = int((obs["_input"] == path).sum()) if "_input" in obs else ""
        samples = sorted(obs.loc[obs["_input"] == path, "sample"].unique()) if "_input" in obs else []
        rows.append(
            f"<tr><td><code>{_e(path)}</code></td><td>{_e(meta.get('tool', 'unknown (no allelekit metadata)'))}"
            f"</td><td>{_e(meta.get('version', ''))}</td><td>{_e(meta.get('schema', ''))}</td>"
            f"<td>{_e(meta.get('created', ''))}</td><td class=num>{n}</td><td>{_e(', '.join(samples))}</td>"
            f"<td>{_e(upstream)}</td><td><details><summary>parameters</summary><pre>{_e(pretty)}</pre></details>"
            f"</td></tr>")
    return ("<table><thead><tr><th>file</th><th>written by</th><th>allelekit</th><th>schema</th><th>created</th>"
            "<th>observations</th><th>samples</th><th>its inputs</th><th>parameters</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:1150px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0.2em} h2{border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:1.8em}
table{border-collapse:collapse;font-size:0.85em;margin:0.6em 0} th,td{border:1px solid #ddd;padding:3px 7px;
text-align:left;vertical-align:top} th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:0.9em} figure{margin:0.8em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:0.9em;color:#333;max-width:1000px} .key{display:flex;gap:2em;flex-wrap:wrap}
.big{font-size:1.5em;font-weight:600} .box{background:#f7f9fc;border:1px solid #dde3ee;padding:8px 14px;border-radius:4px}
code{background:#f3f3f3;padding:0 3px} pre{white-space:pre-wrap;font-size:0.85em}
"""


def build_report(data: ReportInput) -> tuple[str, dict[str, bytes], dict[str, "pd.DataFrame"]]:
    """The HTML text, the PNG figures (name -> bytes) and the tables (name -> DataFrame) of the report."""
    import pandas as pd

    from .. import __version__

    comb, obs, summary = data.combined, data.observations, data.summary
    groups = list(data.groups)
    alpha = float(data.params.get("fdr", 0.05))
    pngs: dict[str, bytes] = {}
    tables: dict[str, pd.DataFrame] = {}

    qc = F.sample_qc(obs)
    tables["sample_qc"] = qc
    per_sample = sample_significance(comb)
    per_sample = qc[["sample"]].merge(per_sample, on="sample", how="left").fillna(0)
    for c in ("ref", "alt", "both", "total"):
        per_sample[c] = per_sample[c].astype(int)
    tables["sample_significant"] = per_sample
    lambdas = []
    for g in groups:
        d = comb[comb["group"] == g]
        lambdas.append({"group": g, "lambda_ref": F.genomic_lambda(d["ref_pval"]),
                        "lambda_alt": F.genomic_lambda(d["alt_pval"]),
                        "lambda_pref_x2": F.genomic_lambda(np.minimum(1, 2 * d["pval"].to_numpy(float)))})
    lam = pd.DataFrame(lambdas)
    tables["inflation"] = lam

    if not comb.empty:
        pngs["qq.png"] = _png(F.qq_figure(comb, groups))
        pngs["volcano.png"] = _png(F.volcano_figure(comb, groups, alpha))
    pngs["ratio_by_bad.png"] = _png(F.ratio_by_bad_figure(obs))
    pngs["significant.png"] = _png(F.significant_figure(comb, groups, per_sample))
    pngs["sample_qc.png"] = _png(F.qc_figure(qc))
    fit_html = ""
    if data.fit is not None and len(data.fit):
        pngs["fit.png"] = _png(F.fit_figure(data.fit))
        fit_html = _fit_section(data)

    def img(name: str, caption: str) -> str:
        if name not in pngs:
            return f"<p class=note>No figure: nothing to plot ({_e(name)}).</p>"
        b64 = base64.b64encode(pngs[name]).decode()
        return (f'<figure><img src="data:image/png;base64,{b64}" alt="{_e(name)}">'
                f"<figcaption>{caption} <span class=note>(also <code>figures/{_e(name)}</code>)</span>"
                f"</figcaption></figure>")

    # headline numbers
    tot = summary.sum(numeric_only=True) if len(summary) else None
    models = sorted(obs["model"].unique()) if "model" in obs and len(obs) else []
    key = "".join(
        f"<div><div class=big>{_e(v)}</div><div class=note>{_e(k)}</div></div>" for k, v in [
            ("samples", obs["sample"].nunique()),
            ("observations (sample × SNV)", len(obs)),
            ("groups", len(groups)),
            ("SNVs tested (all groups)", int(tot["n_tested"]) if tot is not None else 0),
            (f"significant at FDR < {alpha:g}", int(tot["significant"]) if tot is not None else 0),
            ("model", ", ".join(models)),
        ])
    method = data.params.get("method", "logit")
    method_text = {
        "logit": "Mudholkar-George logit method (MixALime's default): L = Σ ln((1−p)/p), p = P(T<sub>5k+4</sub> > "
                 "L·√(3(5k+4)/(kπ²(5k+2)))), falling back to Fisher's method where that underflows to 0",
        "fisher": "Fisher's method: −2 Σ ln p ~ χ²<sub>2k</sub>",
        "stouffer": "Stouffer's Z method: Z = Σ w<sub>i</sub> Φ⁻¹(1−p<sub>i</sub>) / √(Σ w<sub>i</sub>²)"
                    f" with weights '{_e(data.params.get('stouffer_weights', 'none'))}'",
    }.get(method, _e(method))
    groups_html = "".join(
        f"<tr><td>{_e(g)}</td><td class=num>{len(s)}</td><td>{_e(', '.join(s))}</td></tr>"
        for g, s in data.groups.items())
    summ_cols = ["group", "n_observations", "n_snvs", "n_tested", "pct_tested", "ref_only", "alt_only", "both",
                 "significant", "pct_significant"]
    summary_html = _table(summary[summ_cols], floatfmt="{:.2f}") if len(summary) else "<p>No groups.</p>"
    top_cols = ["group", "chrom", "pos", "ref", "alt", "variant_id", "n_obs", "max_cover", "mean_bad", "ref_count",
                "alt_count", "pref_allele", "es", "pval", "fdr", "call"]
    if len(comb):
        top = comb.sort_values(["fdr", "pval"]).groupby("group", sort=False).head(15)
        gorder = {g: i for i, g in enumerate(groups)}
        top = top.assign(_g=top["group"].map(gorder)).sort_values(["_g", "fdr", "pval"], kind="stable")
    else:
        top = comb
    outputs_html = "".join(f"<li>{_e(k)}: <code>{_e(v)}</code></li>" for k, v in data.outputs.items())
    params_html = "".join(f"<tr><td><code>{_e(k)}</code></td><td>{_e(v)}</td></tr>"
                          for k, v in sorted(data.params.items()))
    qc_cols = ["sample", "n_obs", "coverage", "median_cover", "ref_bias", "mean_ref_ratio", "z_cover", "z_bias",
               "outlier"]
    n_out = int(qc["outlier"].sum())
    ratio = obs["ref_count"] / (obs["ref_count"] + obs["alt_count"]).clip(lower=1)
    bad_table = (pd.DataFrame({"BAD": obs["bad"], "ratio": ratio, "sample": obs["sample"]})
                 .groupby("BAD").agg(observations=("ratio", "size"), samples=("sample", "nunique"),
                                     mean_ref_fraction=("ratio", "mean"), median_ref_fraction=("ratio", "median"))
                 .reset_index())
    bad_table["BAD"] = bad_table["BAD"].map(lambda b: f"BAD {b:g}")
    bad_table["expected_fractions"] = [", ".join(f"{v:.3f}" for v in sorted({b / (b + 1), 1 / (b + 1)}))
                                       for b in sorted(obs["bad"].unique())]
    tables["by_bad"] = bad_table
    lam_text = "; ".join(f"{r.group}: λ<sub>ref</sub> = {r.lambda_ref:.3f}, λ<sub>alt</sub> = {r.lambda_alt:.3f}"
                         for r in lam.itertuples())

    page = f"""<!DOCTYPE html><html lang=en><head><meta charset="utf-8">
<title>allelekit report: allele-specific SNVs</title><style>{CSS}</style></head><body>
<h1>allelekit report: allele-specific SNVs</h1>
<p class=note>Written {_e(_dt.datetime.now().astimezone().isoformat(timespec='seconds'))} by allelekit
{_e(__version__)} (<code>allelekit-combine</code>).</p>
<div class="box key">{key}</div>

<h2>What was run</h2>
<p>Per-observation one-sided p-values (one observation = one heterozygous SNV in one sample; <b>ref</b> p-value:
the reference allele is over-represented, <b>alt</b>: the alternative allele is), computed by
<code>allelekit-test</code> under the fitted {_e(', '.join(models) or '?')} model, were combined per SNV
(chrom, pos, ref, alt) over the samples of each group with the {method_text}. P-values equal to 1 (e.g.
observations at the truncation bound) carry no information and were dropped before combining. A SNV was tested
when at least one of its observations in the group has ref + alt ≥ {_e(data.params.get('min_cover'))} reads.
Combined effect sizes are the {'mean' if data.params.get('es_weights', 'uniform') == 'uniform'
else '−log10 p-weighted mean'} of the per-observation log2 effect sizes. Benjamini-Hochberg FDR was computed
separately for the ref and the alt direction within each group; a SNV is <b>significant</b> for a direction when
its FDR &lt; {alpha:g}, and its <b>preferred allele</b> is the one with the smaller combined p-value.</p>
{f'<p>Command: <code>{_e(data.command)}</code></p>' if data.command else ''}
<h3>Inputs (provenance from the Parquet metadata)</h3>
{_provenance_rows(data.inputs, obs)}
<h3>Parameters of the combination</h3><table><tbody>{params_html}</tbody></table>
<h3>Groups</h3><table><thead><tr><th>group</th><th>samples</th><th>members</th></tr></thead>
<tbody>{groups_html}</tbody></table>
{f'<h3>Outputs of this run</h3><ul>{outputs_html}</ul>' if outputs_html else ''}

<h2>Results</h2>
<p><b>n_snvs</b>: distinct SNVs observed in the group; <b>n_tested</b>: SNVs passing the coverage filter
(<b>pct_tested</b> = n_tested / n_snvs); <b>ref_only / alt_only / both</b>: SNVs significant only for the
reference allele, only for the alternative allele, or for both directions.</p>
{summary_html}
<h3>Most significant SNVs (up to 15 per group, by FDR)</h3>
{_table(top[top_cols]) if len(top) else '<p>No SNV was tested.</p>'}

<h2>Calibration: QQ plot</h2>
{img('qq.png', 'Observed against expected −log10 combined p-values for the ref (left) and alt (right) direction. '
     'Under the null the points lie on the dashed diagonal; a tail rising above it at the right are the '
     'allele-specific SNVs. λ, the genomic inflation factor, is the median χ²(1) quantile of the p-values divided '
     'by its null value 0.455: λ ≈ 1 means a calibrated bulk, λ &gt; 1 inflation (an over-dispersed or mis-fitted '
     'null), λ &lt; 1 a conservative test. One-sided tests on discrete counts, and SNVs whose p-values are all 1 '
     '(combined p = 1), pull λ below 1, so values around 0.5–1 are common for a good fit. ' + lam_text)}

<h2>Effect size and significance: volcano plot</h2>
{img('volcano.png', 'Each point is a tested SNV. x: combined log2 effect size of the preferred allele, drawn positive '
     'when the reference allele is preferred and negative when the alternative is; y: −log10 FDR of the preferred '
     f'allele; dashed line: FDR = {alpha:g}. Colours give the call: blue ref, orange alt, purple both directions '
     'significant, grey not significant.')}

<h2>Allelic ratios per BAD</h2>
{img('ratio_by_bad.png', 'Distribution of the reference allele fraction ref/(ref+alt) of all observations, one '
     'panel per background allelic dosage (BAD). Red dashed lines: the expected fractions B/(B+1) and 1/(B+1) of a '
     'SNV on the more- or less-copied haplotype (0.5 for BAD 1). A shift of the whole distribution to the right '
     'of the red lines indicates reference mapping bias; extra mass at the edges are allele-specific SNVs.')}

{_table(bad_table, floatfmt='{:.3f}')}

<h2>Significant SNVs per group and sample</h2>
{img('significant.png', 'Left: significant SNVs per group, split by call. Right: for each sample, the significant '
     'SNVs (in any group containing the sample) at which the sample has an observation. A sample with far fewer '
     'than others usually has low coverage.')}
{_table(per_sample)}

<h2>Per-sample QC</h2>
{img('sample_qc.png', 'Each point is a sample: log10 of its total coverage (ref+alt reads over all its SNVs) '
     'against the fraction of its observations with more reference than alternative reads (0.5 = no bias; the '
     'dotted line). Grey band: mean ± 3 SD over samples; samples beyond 3 SD in either coverage or bias are red '
     'outliers (MixALime’s rule). With n samples no z-score can exceed (n−1)/√n, so fewer than 11 samples '
     'can never show a 3-SD outlier: judge small runs by eye.')}
<p>{n_out} outlier sample(s) at 3 SD.</p>
{_table(qc[qc_cols], floatfmt='{:.3f}')}
{fit_html}
<h2>Files</h2><p class=note>Figures: <code>figures/*.png</code>; tables behind this page:
<code>summary.tsv</code>, <code>sample_qc.tsv</code>, <code>sample_significant.tsv</code>,
<code>inflation.tsv</code>, <code>by_bad.tsv</code>.</p>
</body></html>
"""
    tables["summary"] = summary
    return page, pngs, tables


FIT_PLACEHOLDER = "<!--FIT_IMG-->"


def _fit_section(data: ReportInput) -> str:
    import pandas as pd

    fit = data.fit
    agg: dict[str, Any] = {"slices": ("slice", "size")}
    if "n" in fit:
        agg["observations"] = ("n", "sum")
    if "rmsea" in fit:
        agg["median_rmsea"] = ("rmsea", "median")
        agg["max_rmsea"] = ("rmsea", "max")
    if "conservative" in fit:
        agg["conservative"] = ("conservative", "any")
    if "model" in fit:
        agg["model"] = ("model", "first")
    t = fit.groupby(["bad", "direction"]).agg(**agg).reset_index()
    meta = data.fit_meta
    prov = (f"<p>Fit table <code>{_e(data.fit_path)}</code>, written by {_e(meta.get('tool', '?'))} "
            f"(allelekit {_e(meta.get('version', '?'))}, {_e(meta.get('created', ''))}).</p>"
            f"<details><summary>fit parameters</summary><pre>{_e(meta.get('params', ''))}</pre></details>")
    cap = ("One row per BAD. Left: goodness of fit (RMSEA of observed vs fitted histogram) per fixed-allele count "
           "s for the ref|alt (blue) and alt|ref (orange) models; dashed line 0.05, below which a fit is usually "
           "called good. Middle: the fitted size parameter r(s) = b·s + μ with the balanced line r = s (dotted); "
           "r above the line in the ref model means reference bias. Right: the mixture weight w of the component "
           "where the tested allele is on the more-copied haplotype (fixed at 1 for BAD 1).")
    return (f"<h2>Model fit diagnostics (allelekit-fit)</h2>{prov}"
            f"{FIT_PLACEHOLDER}<p class=note>{_e(cap)}</p>{_table(pd.DataFrame(t), floatfmt='{:.4g}')}")


def write_report(data: ReportInput, outdir: Path) -> list[str]:
    """Write ``outdir/index.html``, ``outdir/figures/*.png`` and ``outdir/*.tsv`` (``outdir`` must be
    a fresh, temporary directory: the caller commits it atomically).  Returns the written file names."""
    page, pngs, tables = build_report(data)
    if "fit.png" in pngs:
        b64 = base64.b64encode(pngs["fit.png"]).decode()
        page = page.replace(FIT_PLACEHOLDER, f'<figure><img src="data:image/png;base64,{b64}" alt="fit.png">'
                                         f'<figcaption class=note>also <code>figures/fit.png</code></figcaption>'
                                         f'</figure>')
    import os

    outdir = Path(outdir)
    (outdir / "figures").mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(outdir, 0o777 & ~umask)  # a temporary directory is created 0700
    written = ["index.html"]
    (outdir / "index.html").write_text(page, encoding="utf-8")
    for name, b in pngs.items():
        (outdir / "figures" / name).write_bytes(b)
        written.append(f"figures/{name}")
    for name, df in tables.items():
        df.to_csv(outdir / f"{name}.tsv", sep="\t", index=False)
        written.append(f"{name}.tsv")
    return written
