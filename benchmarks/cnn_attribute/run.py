"""Stage 2 of the cnn-attribute benchmark (run train_model.py first).

1. Speed on CPU: loci/s of TISM and of batched ISM with the trained small-preset model, against the
   one-mutant-at-a-time ISM loop of DeepAllele's ``save_ism_attributions`` (the peer method,
   re-implemented here as a plain loop because DeepAllele itself is not installable: GPL code with
   Lightning 1.7-era pins), and the whole attribution of 1,000 loci x 330 bp.
2. Accuracy on the synthetic F1 held-out + validation loci (chr16-18) through the CLI:
   planted causal variant = main variant on trusted loci; planted JASPAR motifs recovered as clusters
   matched by TomTom at q < 0.05; MeanDiff q < 0.05 for the planted motifs.
Prints a summary and writes WORK/results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("--work", default=str(Path(__file__).resolve().parents[1] / ".envs" / "cnn_attribute"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--speed-loci", type=int, default=1000)
ap.add_argument("--ism-loci", type=int, default=20)
ap.add_argument("--skip-speed", action="store_true")
ap.add_argument("--method", default="tism")
ap.add_argument("--no-meandiff", action="store_true",
                help="Skip MeanDiff (it only depends on the sequences and measured ratios, not on the model).")
ap.add_argument("--model-kind", choices=("trained", "oracle"), default="trained",
                help="trained: WORK/model.pt; oracle: the generator's true activity function f as a paired module "
                     "[f(A), f(B), f(A) - f(B)] (tests the attribution pipeline itself, independent of training).")
ap.add_argument("--out", default=None, help="CLI output folder (default WORK/attrib_<model-kind>).")
ap.add_argument("--speed-only", action="store_true", help="Only the speed part, on an untrained small-preset model "
                "(speed does not depend on the weights), so it can run while the model trains.")
args = ap.parse_args()
work = Path(args.work)

import torch  # noqa: E402

from allelekit.cli.cnn_attribute import main as attribute_main  # noqa: E402
from allelekit.cnn import attribute as A  # noqa: E402
from allelekit.cnn.data import one_hot  # noqa: E402
from allelekit.cnn.models import load_checkpoint  # noqa: E402
from allelekit.schemas import read_table  # noqa: E402

torch.set_num_threads(args.threads)
results: dict = {"threads": args.threads, "cpu": os.uname().machine, "date": time.strftime("%Y-%m-%d %H:%M"),
                 "load_avg_start": os.getloadavg()}
class OracleModel(torch.nn.Module):
    """The synthetic generator's activity function (allelekit.cnn.synthetic.ActivityFunction) as a model."""

    def __init__(self):
        super().__init__()
        from allelekit.cnn.synthetic import DEFAULT_MOTIFS, DEFAULT_WEIGHTS, ActivityFunction, load_pfms

        self.fn = ActivityFunction(load_pfms(DEFAULT_MOTIFS), DEFAULT_WEIGHTS, 0.7, 0.6)

    def forward(self, xa, xb):
        fn = self.fn
        n_m = len(fn.ids)

        def f(x):
            occ = torch.sigmoid(torch.nn.functional.conv1d(x, fn.kernel) - fn.thr).sum(2).view(-1, n_m, 2).sum(2)
            out = occ @ torch.tensor(fn.weights, dtype=torch.float32)
            return out + fn.interaction * occ[:, 0] * occ[:, 1]

        fa, fb = f(xa), f(xb)
        return torch.stack([fa, fb, fa - fb], 1)


if args.model_kind == "oracle":
    model, cfg = OracleModel().eval(), {"seq_len": 330, "arch": "oracle"}
    import allelekit.cnn.models as _models

    _models.load_checkpoint = lambda path, map_location="cpu": (model, cfg)   # the CLI loads this instead
elif args.speed_only:
    from allelekit.cnn.models import build_model, make_config

    model = build_model(make_config("paired", "small")).eval()
else:
    model, cfg = load_checkpoint(work / "model.pt")
ds = read_table(work / "f1.parquet", "cnn_dataset").to_pandas()
truth = pd.read_parquet(work / "truth.parquet")

if not args.skip_speed:
    sub = ds.iloc[: args.speed_loci]
    xa, xb = one_hot(sub.seq_a), one_hot(sub.seq_b)
    A.tism(model, xa[:8], xb[:8])  # warm-up
    t0, c0 = time.time(), time.process_time()
    A.tism(model, xa, xb, batch_size=256)
    t_tism, c_tism = time.time() - t0, time.process_time() - c0
    t0, c0 = time.time(), time.process_time()
    ism_a = A.ism(model, xa[: args.ism_loci], xb[: args.ism_loci], batch_size=1024).a
    t_ism, c_ism = time.time() - t0, time.process_time() - c0
    # peer: one mutant pair per forward pass (DeepAllele's loop), on 1 locus x 1 allele x 40 positions
    x1a, x1b = torch.tensor(xa[:1]), torch.tensor(xb[:1])
    t0, c0 = time.time(), time.process_time()
    with torch.inference_mode():
        npos = 40
        for p in range(npos):
            for b in range(4):
                if xa[0, b, p] == 1:
                    continue
                m = x1a.clone()
                m[0, :, p] = 0
                m[0, b, p] = 1
                model(m, x1b)
    t_loop = (time.time() - t0) * (330 / npos) * 2   # both alleles, all positions
    c_loop = (time.process_time() - c0) * (330 / npos) * 2
    # peer 2: tangermeme 1.6 saturation_mutagenesis (batched ISM of allele A, allele B passed as args)
    peer = {}
    try:
        import sys as _sys

        _sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".envs" / "tangermeme"))
        from tangermeme.saturation_mutagenesis import saturation_mutagenesis

        k = args.ism_loci
        t0, c0 = time.time(), time.process_time()
        tg = saturation_mutagenesis(model, torch.tensor(xa[:k]), args=(torch.tensor(xb[:k]),), target=2,
                                    hypothetical=True, batch_size=1024, device="cpu").numpy()
        t_tg, c_tg = (time.time() - t0) * 2, (time.process_time() - c0) * 2   # x2: allele B too
        mine = ism_a
        peer = dict(tangermeme_ism_s_per_locus=t_tg / k, tangermeme_ism_cpu_s_per_locus=c_tg / k,
                    tangermeme_max_abs_diff=float(np.abs(tg - mine).max()),
                    tangermeme_max_abs_value=float(np.abs(mine).max()))
    except ImportError as exc:
        peer = dict(tangermeme=f"not installed ({exc}); run run.sh")
    results["speed"] = dict(**peer,
        tism_loci_per_s=len(xa) / t_tism, tism_cpu_s_per_locus=c_tism / len(xa), tism_1000_loci_min=t_tism / len(xa) * 1000 / 60,
        ism_loci_per_s=args.ism_loci / t_ism, ism_cpu_s_per_locus=c_ism / args.ism_loci,
        ism_1000_loci_min=t_ism / args.ism_loci * 1000 / 60,
        loop_ism_s_per_locus=t_loop, loop_ism_cpu_s_per_locus=c_loop,
        batched_vs_loop_speedup=t_loop / (t_ism / args.ism_loci))
    print(json.dumps(results["speed"], indent=1), flush=True)
    results["load_avg_speed_end"] = os.getloadavg()
    if args.speed_only:
        (work / "speed.json").write_text(json.dumps(results, indent=1, default=str))
        raise SystemExit(0)

# accuracy through the CLI on chr16-18
out = Path(args.out) if args.out else work / f"attrib_{args.model_kind}"
results["model_kind"] = args.model_kind
t0 = time.time()
rc = attribute_main(["-m", str(work / "model.pt"), "-d", str(work / "f1.parquet"), "--chroms", "chr16,chr17,chr18",
                     "-o", str(out), *([] if args.no_meandiff else ["--meandiff"]), "--threads", str(args.threads),
                     "--method", args.method,
                     "--plot-loci", ",".join(ds[ds.chrom == "chr17"].locus_id.iloc[:2])])
results["cli_wall_s"] = time.time() - t0
assert rc == 0, "cnn-attribute failed"
mv = read_table(out / "main_variants.parquet", "cnn_main_variants").to_pandas()
tr = truth.set_index("locus_id").loc[mv.locus_id]
mv["causal_pos"] = tr["causal_pos"].to_numpy()
t = mv[mv.trusted & mv.causal_pos.notna()]
hit = (t.main_start_a.astype("Int64") == t.causal_pos.astype("Int64")).fillna(False)
results["n_loci"] = len(mv)
results["n_trusted"] = int(mv.trusted.sum())
results["n_trusted_with_causal"] = len(t)
results["main_is_causal_trusted"] = float(hit.mean()) if len(t) else None
allc = mv[mv.causal_pos.notna() & mv.main_variant.notna()]
results["main_is_causal_all"] = float((allc.main_start_a.astype("Int64") == allc.causal_pos.astype("Int64")).mean())
results["trusted_main_in_motif"] = float(t.in_motif.fillna(False).mean()) if len(t) else None
planted = ["MA0080.5", "MA0099.3", "MA0139.1"]
mm = read_table(out / "motif_matches.parquet", "cnn_motif_matches").to_pandas()
cl = read_table(out / "clusters.parquet", "cnn_clusters").to_pandas()
md = (read_table(out / "meandiff.parquet", "cnn_meandiff").to_pandas().set_index("motif_id")
      if (out / "meandiff.parquet").exists() else pd.DataFrame(columns=["meandiff_qvalue"]))
results["n_clusters"] = len(cl)
results["clusters"] = cl[["cluster", "n_seqlets", "consensus", "best_match_id", "best_match_name", "best_match_qvalue",
                          "name"]].to_dict("records")
results["planted"] = {}
# the full TomTom table (the CLI lists the top 4 matches per cluster; a planted motif can rank lower
# behind near-identical members of its family, e.g. FOS::JUN behind FOSL1::JUND)
from memelite import tomtom  # noqa: E402

from allelekit.cnn.motifs import bh, load_jaspar  # noqa: E402

db = load_jaspar()
db_ids = [m.motif_id for m in db]
if len(cl):
    P = tomtom([np.reshape(r.pfm, (4, -1)) for r in cl.itertuples()], [m.pfm for m in db])[0]
    Qv = bh(P, axis=1)
for mid in planted:
    j = db_ids.index(mid)
    sig = [(int(c), float(Qv[c, j]), int((P[c] < P[c, j]).sum()) + 1) for c in range(len(cl)) if Qv[c, j] < 0.05] \
        if len(cl) else []
    results["planted"][mid] = dict(
        clusters_q_rank=sig,
        best_q=float(Qv[:, j].min()) if len(cl) else None,
        meandiff_q=float(md.loc[mid, "meandiff_qvalue"]) if mid in md.index else None,
        meandiff_rank=int(np.nonzero(md.index == mid)[0][0]) + 1 if mid in md.index else None)
results["load_avg_end"] = os.getloadavg()
print(json.dumps(results, indent=1, default=str))
(work / f"results_{args.model_kind}.json").write_text(json.dumps(results, indent=1, default=str))
