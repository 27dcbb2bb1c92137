"""Stage 1 of the cnn-attribute benchmark: synthetic F1 data (allelekit.cnn.synthetic.make_f1) and a
trained small-preset paired model (allelekit.cnn.train.train_model).  Outputs go to WORK (default
benchmarks/.envs/cnn_attribute, gitignored); an existing checkpoint is reused."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--work", default=str(Path(__file__).resolve().parents[1] / ".envs" / "cnn_attribute"))
ap.add_argument("--n-loci", type=int, default=12000)
ap.add_argument("--epochs", type=int, default=6)
ap.add_argument("--patience", type=int, default=2)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--sigma-shared", type=float, default=1.0)
args = ap.parse_args()

work = Path(args.work)
work.mkdir(parents=True, exist_ok=True)
from allelekit.cli._common import setup_logging  # noqa: E402

setup_logging(0, False, "cnn-attribute-benchmark")   # the training loop's per-epoch log lines
from allelekit.cnn.models import make_config, save_checkpoint  # noqa: E402
from allelekit.cnn.synthetic import make_f1  # noqa: E402
from allelekit.cnn.train import train_model  # noqa: E402
from allelekit.schemas import write_table  # noqa: E402

t0 = time.time()
if (work / "f1.parquet").exists() and (work / "truth.parquet").exists():
    print("reusing", work / "f1.parquet", flush=True)
    import pandas as pd  # noqa: E402

    ds = pd.read_parquet(work / "f1.parquet")
    truth = None
else:
    ds, truth = make_f1(n_loci=args.n_loci, seq_len=330, seed=0, sigma_shared=args.sigma_shared)
    write_table(ds, work / "f1.parquet", "cnn_dataset", tool="benchmark")
    truth.to_parquet(work / "truth.parquet")
    print(f"data: {len(ds)} loci in {time.time() - t0:.0f} s; oracle "
          f"{json.dumps(truth.attrs.get('oracle'), default=str)}", flush=True)
if not (work / "model.pt").exists():
    cfg = make_config("paired", "small")
    t0 = time.time()
    res = train_model(ds, cfg, val_chroms=["chr16"], test_chroms=["chr17", "chr18"], epochs=args.epochs, patience=args.patience,
                      batch_size=64, lr=1e-3, device="cpu", seed=0, threads=args.threads)
    save_checkpoint(res.model, res.config, work / "model.pt")
    print(f"trained in {time.time() - t0:.0f} s", flush=True)
    print(res.metrics.to_string(), flush=True)
