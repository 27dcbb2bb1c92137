"""``allelekit-cnn-attribute``: which variant, in which motif, explains the allelic imbalance.

Reads a trained paired-allele checkpoint (allelekit-cnn-train) and a ``cnn_dataset`` table and
writes, into one output folder (committed atomically when the whole run succeeded):

* ``attributions.parquet`` (``cnn_attributions``) or ``attributions.npz``;
* ``variant_effects.parquet`` (``cnn_variant_effects``) and ``main_variants.parquet``
  (``cnn_main_variants``);
* ``seqlets.parquet`` (``cnn_seqlets``), ``clusters.parquet`` (``cnn_clusters``),
  ``clusters.meme``;
* ``motif_matches.parquet`` + ``.tsv`` (``cnn_motif_matches``), ``motif_summary.tsv``;
* ``meandiff.parquet`` + ``.tsv`` (``cnn_meandiff``) with ``--meandiff``;
* ``logos/cluster_<k>.png`` and ``loci/<locus>.png`` (``--plot-loci``); ``summary.json``.

The method is DeepAllele's (docs/cnn-attribute.md; the spec's sections 4-6).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import (main_wrapper, new_parser, nonneg_int, output_parent, params_of, positive_float,
                      positive_int, probability, runtime_parent)

TOOL = "cnn-attribute"
MANIFEST = "summary.json"

EPILOG = """\
reads:   a checkpoint of allelekit-cnn-train; a cnn_dataset Parquet table
writes:  OUTDIR/attributions.parquet (cnn_attributions) or attributions.npz,
         variant_effects.parquet (cnn_variant_effects), main_variants.parquet (cnn_main_variants),
         seqlets.parquet (cnn_seqlets), clusters.parquet (cnn_clusters), clusters.meme,
         motif_matches.parquet/.tsv (cnn_motif_matches), motif_summary.tsv,
         meandiff.parquet/.tsv (cnn_meandiff, with --meandiff), logos/*.png, loci/*.png, summary.json

example: allelekit-cnn-attribute -m model.pt -d test.parquet --chroms chr17,chr18 \\
             --plot-loci chr17-1000-1330 -o attrib/
"""


def _csv(text: str) -> list[str]:
    return [t for t in (s.strip() for s in text.split(",")) if t]


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(
        TOOL, "Attributions (TISM or ISM), variant effects and main variants, seqlets, motif clusters matched to "
              "JASPAR, and the FIMO MeanDiff baseline for a trained paired-allele CNN.",
        usage="allelekit-cnn-attribute -m model.pt -d dataset.parquet -o OUTDIR [options]",
        epilog=EPILOG,
        parents=[output_parent("Output folder; created, or replaced when it holds a previous run's output. "
                               "Nothing appears unless the whole run succeeds.", tsv=False),
                 runtime_parent(threads_help="CPU threads for torch, TomTom and FIMO (0 = all cores).")])
    g = parser.add_argument_group("Input")
    g.add_argument("--model", "-m", required=True, metavar="CKPT", help="Checkpoint written by allelekit-cnn-train.")
    g.add_argument("--dataset", "-d", required=True, metavar="PARQUET", help="cnn_dataset table (both alleles + counts).")
    g.add_argument("--loci", type=_csv, metavar="ID[,ID...]", help="Only these locus ids (comma-separated).")
    g.add_argument("--loci-file", metavar="FILE", help="Only the locus ids listed in FILE (one per line).")
    g.add_argument("--chroms", type=_csv, metavar="CHR[,CHR...]",
                   help="Only loci on these chromosomes (e.g. the held-out test chromosomes).")
    g.add_argument("--max-loci", type=positive_int, metavar="N", help="At most N loci (the first N after filtering).")

    g = parser.add_argument_group("Attributions")
    g.add_argument("--method", choices=("tism", "ism"), default="tism",
                   help="TISM (gradient, one backward pass per batch) or full in-silico saturation mutagenesis.")
    g.add_argument("--batch-size", type=positive_int, default=512, metavar="N",
                   help="Sequence pairs per forward pass (ISM mutants of many loci share a batch).")
    g.add_argument("--device", default="cpu", metavar="DEV", help="Torch device: cpu, cuda, cuda:1 or auto.")
    g.add_argument("--attributions-format", choices=("parquet", "npz", "none"), default="parquet",
                   help="parquet: cnn_attributions rows; npz: compressed arrays (see docs); none: not written.")

    g = parser.add_argument_group("Variants")
    g.add_argument("--trusted-min-ratio", type=positive_float, default=1.0, metavar="X",
                   help="Trusted loci need |measured log ratio| > X.")
    g.add_argument("--trusted-min-z", type=positive_float, default=1.65, metavar="Z",
                   help="Trusted loci need |predicted ratio / RMS| > Z (and the measured sign).")

    g = parser.add_argument_group("Seqlets and clusters")
    g.add_argument("--seqlet-cut", type=positive_float, default=1.96, metavar="Z", help="|z| cut of significant bases.")
    g.add_argument("--seqlet-min-size", type=positive_int, default=4, metavar="N",
                   help="Significant bases a seqlet needs.")
    g.add_argument("--seqlet-max-gap", type=nonneg_int, default=1, metavar="N", help="Consecutive gap bases allowed.")
    g.add_argument("--cluster-pvalue", type=probability, default=0.05, metavar="P",
                   help="Complete-linkage threshold on the seqlet-similarity p-value.")
    g.add_argument("--min-cluster-size", type=positive_int, default=20, metavar="N",
                   help="Keep clusters with at least N seqlets.")
    g.add_argument("--max-seqlets", type=positive_int, default=3000, metavar="N",
                   help="Cluster a random N seqlets (--seed) and assign the rest to clusters via anchors.")
    g.add_argument("--cwm-flank", type=nonneg_int, default=5, metavar="N",
                   help="Cluster CWMs average every member's attributions over its seqlet plus N positions on each "
                        "side (TF-MoDISco-style flanks); 0 = the seqlets' own spans only.")

    g = parser.add_argument_group("Motif databases")
    g.add_argument("--motifs", metavar="FILE.meme",
                   help="MEME-format motif file instead of JASPAR 2020 CORE vertebrates non-redundant (pyjaspar).")
    g.add_argument("--jaspar-release", default="JASPAR2020", metavar="NAME", help="pyjaspar release to use.")
    g.add_argument("--match-qvalue", type=probability, default=0.05, metavar="Q",
                   help="A cluster is named after its best TomTom match with q below Q.")
    g.add_argument("--top-matches", type=positive_int, default=4, metavar="N", help="TomTom matches kept per cluster.")
    g.add_argument("--no-tomtom", action="store_true", help="Do not match clusters to the database.")
    g.add_argument("--meandiff", action="store_true",
                   help="Also run the FIMO MeanDiff baseline (scans every database motif on both alleles).")
    g.add_argument("--fimo-pvalue", type=probability, metavar="P", help="FIMO p threshold (default 0.05 / length).")

    g = parser.add_argument_group("Plots")
    g.add_argument("--plot-loci", type=_csv, metavar="ID[,ID...]",
                   help="Attribution maps (both alleles, variants marked) of these loci as loci/<id>.png.")
    g.add_argument("--top-clusters", type=nonneg_int, default=10, metavar="N",
                   help="Logos of the N largest clusters as logos/cluster_<k>.png (0 = none).")
    return parser


# --- the run ---------------------------------------------------------------------------------------
def _select(df, args, log):
    """Filter the dataset rows by --chroms / --loci / --loci-file / --max-loci."""
    from pathlib import Path

    from ..errors import AllelekitError

    ids = df["locus_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise AllelekitError(f"{args.dataset}: locus_id {dup.iloc[0]!r} occurs more than once; locus ids must be unique")
    wanted = list(args.loci or [])
    if args.loci_file:
        p = Path(args.loci_file)
        if not p.exists():
            raise AllelekitError(f"{p}: no such loci file")
        wanted += [t.strip() for t in p.read_text().splitlines() if t.strip() and not t.startswith("#")]
    known = set(ids)
    for w in wanted + list(args.plot_loci or []):
        if w not in known:
            raise AllelekitError(f"locus id {w!r} (from --loci/--loci-file/--plot-loci) is not in {args.dataset}; "
                                 f"check the spelling against its locus_id column")
    keep = ids.isin(set(wanted)) if wanted else ids == ids
    if args.chroms:
        have = set(df["chrom"].astype(str))
        missing = [c for c in args.chroms if c not in have]
        if len(missing) == len(args.chroms):
            raise AllelekitError(f"none of --chroms {','.join(args.chroms)} occurs in {args.dataset}")
        keep &= df["chrom"].astype(str).isin(set(args.chroms))
    out = df[keep.to_numpy()]
    if args.max_loci:
        out = out.iloc[: args.max_loci]
    if args.plot_loci:
        left = set(out["locus_id"].astype(str))
        dropped = [w for w in args.plot_loci if w not in left]
        if dropped:
            raise AllelekitError(f"--plot-loci {dropped[0]!r} is excluded by --loci/--chroms/--max-loci; "
                                 "include it in the analysed loci")
    if len(out) == 0:
        raise AllelekitError(f"no loci left to analyse in {args.dataset} after the filters")
    log.info("analysing %d of %d loci", len(out), len(df))
    return out.reset_index(drop=True)


def _prepare_output(path):
    """Refuse to replace a non-empty folder that is not a previous run's output."""
    from pathlib import Path

    from ..errors import AllelekitError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise AllelekitError(f"{p}: exists and is not a folder; --output names a folder")
    if p.is_dir() and any(p.iterdir()) and not (p / MANIFEST).exists():
        raise AllelekitError(f"{p}: folder is not empty and not an earlier allelekit-cnn-attribute output; "
                             "choose a new or empty folder")


def body(args: argparse.Namespace) -> int:
    import json
    import logging

    import numpy as np
    import pandas as pd
    import torch

    from ..atomic import AtomicOutputs
    from ..cnn import attribute as A
    from ..cnn import seqlets as S
    from ..cnn import variants as V
    from ..errors import AllelekitError
    from ..schemas import read_table, write_table
    from ._common import Progress

    log = logging.getLogger("allelekit.cnn")
    params = params_of(args)
    _prepare_output(args.output)
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AllelekitError(f"--device {device}: no CUDA device is available; use --device cpu")

    try:
        from ..cnn.data import one_hot
        from ..cnn.models import load_checkpoint
    except ImportError as exc:  # pragma: no cover - cnn-train not installed
        raise AllelekitError(f"the CNN model code is missing from this allelekit ({exc})") from None
    model, config = load_checkpoint(args.model, map_location=device)
    seq_len = int(config.get("seq_len", 0))

    df = read_table(args.dataset, "cnn_dataset").to_pandas()
    df = _select(df, args, log)
    la = df["seq_a"].str.len().to_numpy()
    lb = df["seq_b"].str.len().to_numpy()
    bad = np.nonzero((la != seq_len) | (lb != seq_len))[0]
    if len(bad):
        i = bad[0]
        raise AllelekitError(
            f"{args.dataset}: locus {df['locus_id'].iloc[i]!r} has sequences of length {la[i]}/{lb[i]} but the "
            f"model {args.model} takes {seq_len} bp ({len(bad)} loci differ); rebuild the dataset with "
            f"the model's sequence length")
    ids = df["locus_id"].astype(str).tolist()
    seq_a = df["seq_a"].str.upper().tolist()
    seq_b = df["seq_b"].str.upper().tolist()
    xa, xb = one_hot(seq_a), one_hot(seq_b)
    n = len(ids)
    kw = dict(batch_size=args.batch_size, device=device)

    pred = A.predict(model, xa, xb, **kw)
    pred_ratio = pred[:, A.RATIO]
    measured = V.measured_log_ratio(df["count_a"].to_numpy(float), df["count_b"].to_numpy(float))

    # attributions, in chunks so that progress is visible
    att_a = np.zeros(xa.shape, np.float32)
    att_b = np.zeros(xb.shape, np.float32)
    chunk = 64 if args.method == "tism" else 8
    with Progress(total=n, desc=f"{args.method} attributions", unit="loci") as bar:
        for s in range(0, n, chunk):
            res = A.attribute(model, xa[s:s + chunk], xb[s:s + chunk], method=args.method, **kw)
            att_a[s:s + chunk], att_b[s:s + chunk] = res.a, res.b
            bar.update(min(chunk, n - s))

    # variants
    alignments, variants = [], []
    for a, b in zip(seq_a, seq_b):
        idx, vs = V.align_alleles(a, b)
        alignments.append(idx)
        variants.append(vs)
    d_a, d_b, eff = [], [], []
    with Progress(total=n, desc="variant effects", unit="loci") as bar:
        for s in range(0, n, 256):   # bounded memory: every variant is 2 extra pairs
            r = V.variant_effects(model, xa[s:s + 256], xb[s:s + 256], variants[s:s + 256],
                                  base_pred=pred_ratio[s:s + 256], **kw)
            d_a += r[0]
            d_b += r[1]
            eff += r[2]
            bar.update(min(256, n - s))
    trusted = V.trusted_loci(measured, pred_ratio, min_abs_ratio=args.trusted_min_ratio,
                             min_abs_z=args.trusted_min_z)

    # seqlets
    za, zb, scale = S.normalize_attributions(att_a, att_b)
    seqlets = S.call_seqlets(za, zb, xa, xb, cut=args.seqlet_cut, max_gap=args.seqlet_max_gap,
                             min_size=args.seqlet_min_size)
    log.info("%d seqlets in %d loci", len(seqlets), len({s.locus for s in seqlets}))
    labels = S.cluster_seqlets([s.matrix for s in seqlets], pvalue=args.cluster_pvalue,
                               max_seqlets=args.max_seqlets, seed=args.seed,
                               min_size=args.min_cluster_size) if seqlets else np.zeros(0, int)
    # keep clusters with enough members, renumbered by size
    labs, cnt = np.unique(labels[labels >= 0], return_counts=True)
    big = [lab for lab, c in sorted(zip(labs, cnt), key=lambda t: -t[1]) if c >= args.min_cluster_size]
    remap = {lab: k for k, lab in enumerate(big)}
    labels = np.array([remap.get(lab, -1) for lab in labels], dtype=np.int64)
    clusters = []
    seq_off = np.full(len(seqlets), -1, dtype=np.int64)
    seq_strand = np.zeros(len(seqlets), dtype=np.int64)
    zx = ((za, xa), (zb, xb))      # attributions and one-hot sequences of allele A, B
    for k in range(len(big)):
        members = np.nonzero(labels == k)[0]
        wins = [S.seqlet_window(*zx[seqlets[i].allele], seqlets[i], args.cwm_flank) for i in members]
        cwm, offs, strands = S.cluster_cwm([seqlets[i].matrix for i in members], windows=wins,
                                           flank=args.cwm_flank)
        seq_off[members], seq_strand[members] = offs, strands
        clusters.append(dict(cluster=k, members=members, cwm=cwm, pfm=S.cwm_to_pfm(cwm)))
    log.info("%d clusters with >= %d seqlets", len(clusters), args.min_cluster_size)

    # motif database and TomTom
    db = None
    matches = pd.DataFrame(columns=["query", "rank", "motif_id", "motif_name", "family", "pvalue", "qvalue", "score",
                                    "offset", "overlap", "strand"])
    if not args.no_tomtom or args.meandiff:
        from ..cnn import motifs as M

        db = M.read_meme(args.motifs) if args.motifs else M.load_jaspar(args.jaspar_release)
        if clusters and not args.no_tomtom:
            log.info("TomTom of %d cluster PFMs against %d motifs", len(clusters), len(db))
            matches = M.tomtom_matches({str(c["cluster"]): c["pfm"] for c in clusters}, db, top=args.top_matches,
                                       threads=args.threads)
    matches["cluster"] = matches["query"].astype(int) if len(matches) else pd.Series(dtype="int64")
    matches["significant"] = matches["qvalue"].astype(float) < args.match_qvalue
    for c in clusters:
        m = matches[matches["cluster"] == c["cluster"]].sort_values("rank")
        c["best"] = m.iloc[0] if len(m) else None
        c["name"] = c["best"]["motif_name"] if c["best"] is not None and c["best"]["significant"] else None
        c["family"] = (c["best"]["family"] or None) if c["name"] else None

    # seqlet table with alignment coordinates, orthologous deltas and common/unique
    col_of = []
    for idx, a, b in zip(alignments, seq_a, seq_b):
        ca = np.full(len(a), -1, dtype=np.int64)
        cb = np.full(len(b), -1, dtype=np.int64)
        cols = np.arange(idx.shape[1])
        ca[idx[0][idx[0] >= 0]] = cols[idx[0] >= 0]
        cb[idx[1][idx[1] >= 0]] = cols[idx[1] >= 0]
        col_of.append((ca, cb))
    r_tracks = ((za * xa).sum(axis=1), (zb * xb).sum(axis=1))
    spans = {}
    rows = []
    for sid, s in enumerate(seqlets):
        ca = col_of[s.locus][s.allele]
        c0, c1 = int(ca[s.start]), int(ca[s.end - 1]) + 1
        spans.setdefault((s.locus, s.allele), []).append((c0, c1))
        idx = alignments[s.locus]
        other = idx[1 - s.allele][c0:c1]
        other = other[other >= 0]
        om = float((r_tracks[1 - s.allele][s.locus, other] * s.sign).mean()) if len(other) else None
        seq = (seq_a if s.allele == 0 else seq_b)[s.locus][s.start:s.end]
        lab = int(labels[sid])
        rows.append(dict(seqlet_id=sid, locus_id=ids[s.locus], allele="ab"[s.allele], start=s.start, end=s.end,
                         aln_start=c0, aln_end=c1, sequence=seq, sign=s.sign, n_significant=s.n_sig,
                         mean_effect=s.mean_effect, max_effect=s.max_effect, other_mean=om,
                         delta=(s.mean_effect - om) if om is not None else None,
                         cluster=lab if lab >= 0 else None,
                         cluster_offset=int(seq_off[sid]) if lab >= 0 else None,
                         cluster_strand=("+" if seq_strand[sid] > 0 else "-") if lab >= 0 else None))
    for sid, row in enumerate(rows):
        k, li = seqlets[sid].allele, seqlets[sid].locus
        row["common"] = any(c0 < row["aln_end"] and row["aln_start"] < c1 for c0, c1 in spans.get((li, 1 - k), []))
    seqlet_df = pd.DataFrame(rows, columns=["seqlet_id", "locus_id", "allele", "start", "end", "aln_start", "aln_end",
                                            "sequence", "sign", "n_significant", "mean_effect", "max_effect",
                                            "other_mean", "delta", "common", "cluster", "cluster_offset",
                                            "cluster_strand"])
    for c in ("cluster", "cluster_offset"):
        seqlet_df[c] = seqlet_df[c].astype("Int64")

    # variant and main-variant tables
    by_locus = {}
    for sid, s in enumerate(seqlets):
        by_locus.setdefault(s.locus, []).append(sid)
    cl_name = {c["cluster"]: (c["name"], c["family"]) for c in clusters}
    vrows, mrows = [], []
    mains = [int(np.argmax(np.abs(e))) if len(e) else None for e in eff]
    for i in range(n):
        vs = variants[i]
        main = mains[i]
        for j, v in enumerate(vs):
            vrows.append(dict(locus_id=ids[i], variant=j, kind=v.kind, start_a=v.start_a, end_a=v.end_a,
                              start_b=v.start_b, end_b=v.end_b, aln_start=v.aln_start, aln_end=v.aln_end,
                              allele_a=v.seq_a, allele_b=v.seq_b, delta_a=float(d_a[i][j]), delta_b=float(d_b[i][j]),
                              effect=float(eff[i][j]), is_main=j == main))
        in_motif = cluster = name = family = None
        if main is not None:
            v = vs[main]
            hits = [sid for sid in by_locus.get(i, [])
                    if rows[sid]["aln_start"] < max(v.aln_end, v.aln_start + 1) and v.aln_start < rows[sid]["aln_end"]]
            in_motif = bool(hits)
            if hits:
                best = max(hits, key=lambda sid: abs(rows[sid]["mean_effect"]))
                lab = rows[best]["cluster"]
                if lab is not None:
                    cluster = int(lab)
                    name, family = cl_name.get(cluster, (None, None))
        mv = vs[main] if main is not None else None
        mrows.append(dict(locus_id=ids[i], chrom=str(df["chrom"].iloc[i]), pred_ratio=float(pred_ratio[i]),
                          measured_ratio=float(measured[i]) if np.isfinite(measured[i]) else None,
                          trusted=bool(trusted[i]), n_variants=len(vs), sum_effects=float(np.sum(eff[i])),
                          main_variant=main, main_kind=mv.kind if mv else None,
                          main_start_a=mv.start_a if mv else None, main_start_b=mv.start_b if mv else None,
                          main_allele_a=mv.seq_a if mv else None, main_allele_b=mv.seq_b if mv else None,
                          main_effect=float(eff[i][main]) if mv else None, in_motif=in_motif,
                          motif_cluster=cluster, motif_name=name, motif_family=family))
    var_df = pd.DataFrame(vrows, columns=["locus_id", "variant", "kind", "start_a", "end_a", "start_b", "end_b",
                                          "aln_start", "aln_end", "allele_a", "allele_b", "delta_a", "delta_b",
                                          "effect", "is_main"])
    main_df = pd.DataFrame(mrows)
    for c in ("main_variant", "main_start_a", "main_start_b", "motif_cluster"):
        main_df[c] = main_df[c].astype("Int64")

    # cluster table
    crow = []
    for c in clusters:
        mem = c["members"]
        locs = {seqlets[i].locus for i in mem}
        n_main = int(((main_df["motif_cluster"] == c["cluster"]) & main_df["trusted"]).sum())
        b = c["best"]
        crow.append(dict(cluster=c["cluster"], n_seqlets=len(mem), n_loci=len(locs), n_main_variants=n_main,
                         cwm_width=c["cwm"].shape[1], cwm=c["cwm"].ravel().tolist(), pfm_width=c["pfm"].shape[1],
                         pfm=c["pfm"].ravel().tolist(), consensus=S.consensus(c["pfm"]),
                         best_match_id=b["motif_id"] if b is not None else None,
                         best_match_name=b["motif_name"] if b is not None else None,
                         best_match_qvalue=float(b["qvalue"]) if b is not None else None,
                         name=c["name"], family=c["family"]))
    cluster_df = pd.DataFrame(crow, columns=["cluster", "n_seqlets", "n_loci", "n_main_variants", "cwm_width", "cwm",
                                             "pfm_width", "pfm", "consensus", "best_match_id", "best_match_name",
                                             "best_match_qvalue", "name", "family"])

    # fraction of trusted main variants in a motif, by TF family
    tr = main_df[main_df["trusted"] & main_df["main_variant"].notna()]
    fam_rows = []
    if len(tr):
        cat = np.where(~tr["in_motif"].fillna(False).astype(bool), "not in a seqlet",
                       np.where(tr["motif_family"].notna(), tr["motif_family"].astype(object),
                                np.where(tr["motif_name"].notna(), tr["motif_name"].astype(object),
                                         "in an unnamed seqlet")))
        vc = pd.Series(cat).value_counts()
        fam_rows = [dict(category=k, n_loci=int(v), fraction=float(v / len(tr))) for k, v in vc.items()]
    fam_df = pd.DataFrame(fam_rows, columns=["category", "n_loci", "fraction"])

    # MeanDiff baseline
    md_df = None
    if args.meandiff:
        from ..cnn import meandiff as MD

        log.info("FIMO MeanDiff: %d motifs on %d loci x 2 alleles", len(db), n)
        delta = MD.delta_scores(db, xa, xb, threshold=args.fimo_pvalue)
        md_df = MD.meandiff(db, delta, measured)

    summary = dict(
        tool=f"allelekit-{TOOL}", n_loci=n, method=args.method, seq_len=seq_len, model_arch=config.get("arch"),
        attribution_scale=scale, n_variants=int(sum(len(v) for v in variants)), n_trusted=int(trusted.sum()),
        n_seqlets=len(seqlets), n_clusters=len(clusters),
        named_clusters={str(c["cluster"]): c["name"] for c in clusters if c["name"]},
        frac_trusted_main_in_motif=(float(tr["in_motif"].fillna(False).mean()) if len(tr) else None),
        params=params)

    meta = dict(method=args.method)
    with AtomicOutputs() as out:
        d = out.path(args.output, is_dir=True)
        tool = f"allelekit-{TOOL}"
        inputs = [args.model, args.dataset]
        wt = dict(tool=tool, params=params, inputs=inputs, extra_metadata=meta)
        if args.attributions_format == "parquet":
            write_table(_attr_table(ids, seq_a, seq_b, att_a, att_b, xa, xb, args.method), d / "attributions.parquet",
                        "cnn_attributions", **wt)
        elif args.attributions_format == "npz":
            np.savez_compressed(d / "attributions.npz", locus_id=np.asarray(ids), att_a=att_a, att_b=att_b,
                                onehot_a=xa, onehot_b=xb, pred=pred.astype(np.float32), method=np.asarray(args.method))
        write_table(var_df, d / "variant_effects.parquet", "cnn_variant_effects", **wt)
        write_table(main_df, d / "main_variants.parquet", "cnn_main_variants", **wt)
        write_table(seqlet_df, d / "seqlets.parquet", "cnn_seqlets", **wt)
        write_table(cluster_df, d / "clusters.parquet", "cnn_clusters", **wt)
        mm = matches.drop(columns=["query"])
        write_table(mm, d / "motif_matches.parquet", "cnn_motif_matches", **wt)
        mm.to_csv(d / "motif_matches.tsv", sep="\t", index=False)
        fam_df.to_csv(d / "motif_summary.tsv", sep="\t", index=False)
        if clusters:
            from ..cnn.motifs import write_meme

            write_meme({f"cluster_{c['cluster']}": c["pfm"] for c in clusters}, d / "clusters.meme",
                       names={f"cluster_{c['cluster']}": c["name"] or f"cluster_{c['cluster']}" for c in clusters})
        if md_df is not None:
            write_table(md_df, d / "meandiff.parquet", "cnn_meandiff", **wt)
            md_df.to_csv(d / "meandiff.tsv", sep="\t", index=False)
        _plots(d, args, clusters, db, ids, att_a, att_b, xa, xb, variants, mains, seqlets, pred_ratio, measured)
        (d / MANIFEST).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    log.info("wrote %s: %d loci, %d trusted, %d seqlets, %d clusters (%s)", args.output, n, int(trusted.sum()),
             len(seqlets), len(clusters), ", ".join(f"{k}={v}" for k, v in summary["named_clusters"].items()) or
             "none named")
    return 0


def _attr_table(ids, seq_a, seq_b, att_a, att_b, xa, xb, method):
    """cnn_attributions rows (padding positions dropped)."""
    import numpy as np
    import pyarrow as pa

    parts = []
    for k, (att, x, seqs) in enumerate(((att_a, xa, seq_a), (att_b, xb, seq_b))):
        n, _, length = att.shape
        valid = x.sum(axis=1) > 0
        li, pos = np.nonzero(valid)
        bases = np.frombuffer("".join(s.ljust(length, "N") for s in seqs).encode(), dtype="S1").reshape(n, length)
        sc = att[li, :, pos]
        parts.append(dict(locus_id=np.asarray(ids, dtype=object)[li], allele=np.full(len(li), "ab"[k], dtype=object),
                          position=pos.astype(np.int64), base=bases[li, pos].astype(str).astype(object),
                          score_a=sc[:, 0], score_c=sc[:, 1], score_g=sc[:, 2], score_t=sc[:, 3]))
    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    order = np.lexsort((cols["position"], cols["allele"], cols["locus_id"]))
    cols = {c: v[order] for c, v in cols.items()}
    cols["method"] = np.full(len(order), method, dtype=object)
    return pa.table({k: pa.array(v) for k, v in cols.items()})


def _plots(d, args, clusters, db, ids, att_a, att_b, xa, xb, variants, mains, seqlets, pred_ratio, measured):
    import numpy as np

    from ..cnn import logos

    if clusters and args.top_clusters:
        (d / "logos").mkdir()
        by_id = {m.motif_id: m for m in db} if db else {}
        for c in clusters[: args.top_clusters]:
            b = c.get("best")
            match = by_id.get(b["motif_id"]).pfm if b is not None and b["motif_id"] in by_id else None
            mt = f"{b['motif_id']} {b['motif_name']} (q = {b['qvalue']:.2g})" if b is not None else ""
            title = f"cluster {c['cluster']}: {len(c['members'])} seqlets" + (f" — {c['name']}" if c["name"] else "")
            logos.plot_cluster(d / "logos" / f"cluster_{c['cluster']}.png", c["cwm"], c["pfm"], title, match, mt)
    if args.plot_loci:
        (d / "loci").mkdir()
        pos = {x: i for i, x in enumerate(ids)}
        for lid in args.plot_loci:
            i = pos[lid]
            vs = variants[i]
            main = mains[i]
            sa = [(s.start, s.end) for s in seqlets if s.locus == i and s.allele == 0]
            sb = [(s.start, s.end) for s in seqlets if s.locus == i and s.allele == 1]
            meas = f"{measured[i]:.2f}" if np.isfinite(measured[i]) else "NA"
            title = f"{lid}: predicted log ratio {pred_ratio[i]:.2f}, measured {meas}"
            if main is not None:
                v = vs[main]
                title += f"; main variant {v.kind} A:{v.start_a} {v.seq_a or '-'}>{v.seq_b or '-'}"
            safe = "".join(ch if ch.isalnum() or ch in "-_.:" else "_" for ch in lid).replace(":", "_")
            logos.plot_locus(d / "loci" / f"{safe}.png", att_a[i], att_b[i], xa[i], xb[i], title=title,
                             variants_a=[(v.start_a, v.end_a) for v in vs],
                             variants_b=[(v.start_b, v.end_b) for v in vs], main=main, seqlets_a=sa, seqlets_b=sb)


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, body, argv)
