"""Training loop, held-out evaluation, learning curves and speed measurement for the CNN models.

Follows the published DeepAllele setup (spec sections 2-3) unless told otherwise: MSE over the three
outputs (each weighted 1/3), Adam (lr 1e-4, weight decay 1e-5), a triangular cyclic learning rate
between lr/2 and 2 lr stepping every batch (2000 steps up), batch 32, up to 100 epochs, early
stopping on the validation loss with patience 4, the best-validation checkpoint kept, and a
leave-chromosome-out split.  Unlike the published code there is a separate test split
(``test_chroms``) on which the final metrics are reported; the validation set only drives early
stopping.

Single-input baselines: ``train_alleles="a"`` trains on allele A's counts only (reference genome);
``"both"`` stacks both alleles as separate samples (two genomes).  Their ratio is pred(A) - pred(B).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import AllelekitError
from .data import check_counts, evaluate, one_hot, split_by_chrom, targets

log = logging.getLogger("allelekit.cnn")


@dataclass
class TrainResult:
    model: Any                      # the best model, eval mode, on the training device
    config: dict
    metrics: Any                    # pandas DataFrame in the cnn_metrics schema
    predictions: Any                # pandas DataFrame in the cnn_predictions schema
    best_epoch: int
    device: str
    stopped_early: bool = False
    history: list = field(default_factory=list)


def resolve_device(name: str = "auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AllelekitError("--device cuda: no CUDA device is available to torch here (use --device cpu or auto)")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise AllelekitError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def encode_dataset(df, seq_len: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-hot alleles (N, 4, L) x 2 and targets (N, 3) of a cnn_dataset DataFrame."""
    ids = df["locus_id"].astype(str).tolist()
    if len(set(ids)) != len(ids):
        dup = df["locus_id"][df["locus_id"].duplicated()].iloc[0]
        raise AllelekitError(f"dataset: locus_id {dup!r} occurs more than once; locus ids must be unique")
    ca = df["count_a"].to_numpy(dtype=np.float64, na_value=np.nan)
    cb = df["count_b"].to_numpy(dtype=np.float64, na_value=np.nan)
    check_counts(ca, cb, ids)
    try:
        xa = one_hot(df["seq_a"].tolist())
        xb = one_hot(df["seq_b"].tolist())
    except AllelekitError as exc:
        raise AllelekitError(f"dataset seq_a/seq_b: {exc}") from None
    length = max(xa.shape[2], xb.shape[2])
    if seq_len is not None:
        if length > seq_len:
            raise AllelekitError(f"dataset sequences are up to {length} bp, longer than the model's {seq_len} bp")
        length = seq_len
    xa = _pad(xa, length)
    xb = _pad(xb, length)
    return xa, xb, targets(ca, cb)


def _pad(x: np.ndarray, length: int) -> np.ndarray:
    if x.shape[2] == length:
        return x
    out = np.zeros((x.shape[0], 4, length), dtype=np.float32)
    out[:, :, : x.shape[2]] = x
    return out


def loss_fn(pred, y, config: dict):
    """MSE loss on the outputs the architecture is trained on (pred, y: (N, 3) tensors)."""
    import torch.nn.functional as F

    if config["arch"] != "single":
        return F.mse_loss(pred, y)
    if config.get("train_alleles", "a") == "a":
        return F.mse_loss(pred[:, 0], y[:, 0])
    return F.mse_loss(pred[:, :2], y[:, :2])


def _train_step_loss(model, xa, xb, y, config: dict):
    import torch
    import torch.nn.functional as F

    if config["arch"] != "single":
        return F.mse_loss(model(xa, xb), y)
    if config.get("train_alleles", "a") == "a":
        return F.mse_loss(model.forward_single(xa)[:, 0], y[:, 0])
    out = model.forward_single(torch.cat([xa, xb], 0))[:, 0]
    return F.mse_loss(out, torch.cat([y[:, 0], y[:, 1]], 0))


def predict(model, xa: np.ndarray, xb: np.ndarray, batch_size: int = 256, device=None) -> np.ndarray:
    """(N, 3) predictions of ``model`` (put in eval mode) for one-hot arrays ``xa``, ``xb``."""
    import torch

    device = device or next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(xa), batch_size):
            a = torch.as_tensor(xa[s:s + batch_size], device=device)
            b = torch.as_tensor(xb[s:s + batch_size], device=device)
            out.append(model(a, b).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)


def train_model(dataset, config: dict, *, val_chroms: Sequence[str], test_chroms: Sequence[str] = (),
                epochs: int = 100, patience: int = 4, batch_size: int = 32, lr: float = 1e-4,
                weight_decay: float = 1e-5, scheduler: str = "cycle", cycle_steps: int = 2000,
                device: str = "auto", seed: int = 0, threads: int | None = None,
                max_train_loci: int | None = None, eval_batch_size: int = 256) -> TrainResult:
    """Train ``build_model(config)`` on a cnn_dataset DataFrame; return the best-validation model.

    ``config["seq_len"]`` is set to the dataset's sequence length.  Raises :class:`AllelekitError`
    for bad data (characters, counts, empty held-out chromosomes).
    """
    import pandas as pd
    import torch

    from .models import build_model, n_parameters
    from ..cli._common import Progress

    if threads:
        torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))
    rng = np.random.default_rng(seed)

    labels = split_by_chrom(dataset["chrom"].astype(str).to_numpy(), val_chroms, test_chroms)
    xa, xb, y = encode_dataset(dataset)
    config = dict(config)
    if config.get("seq_len") != xa.shape[2]:
        if config.get("seq_len") is not None:
            log.info("model sequence length set to the dataset's %d bp (preset %s: %s bp)",
                     xa.shape[2], config.get("preset"), config.get("seq_len"))
        config["seq_len"] = int(xa.shape[2])
    tr_idx = np.flatnonzero(labels == "train")
    va_idx = np.flatnonzero(labels == "val")
    te_idx = np.flatnonzero(labels == "test")
    if max_train_loci is not None and len(tr_idx) > max_train_loci:
        tr_idx = np.sort(rng.choice(tr_idx, size=max_train_loci, replace=False))
    model = build_model(config).to(dev)
    log.info("%s model (%s preset%s): %d parameters, %d bp; %d train / %d val / %d test loci; device %s",
             config["arch"] + (f"/{config.get('train_alleles')}" if config["arch"] == "single" else ""),
             config.get("preset"), ", antisymmetric" if config.get("antisymmetric") else "", n_parameters(model),
             config["seq_len"], len(tr_idx), len(va_idx), len(te_idx), dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = None
    if scheduler == "cycle":
        sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=lr / 2, max_lr=2 * lr, step_size_up=cycle_steps,
                                                  cycle_momentum=False)
    elif scheduler != "none":
        raise AllelekitError(f"unknown scheduler {scheduler!r}; use cycle or none")

    # keep the data on the device when it fits comfortably (GPU), else move per batch
    def to_dev(arr):
        return torch.as_tensor(arr)

    txa, txb, ty = to_dev(xa), to_dev(xb), to_dev(y)
    on_device = dev.type == "cuda" and xa.nbytes * 2 < 4e9
    if on_device:
        txa, txb, ty = txa.to(dev), txb.to(dev), ty.to(dev)

    def evaluate_split(idx):
        pred = predict(model, xa[idx], xb[idx], eval_batch_size, dev)
        with torch.no_grad():
            loss = float(loss_fn(torch.as_tensor(pred), torch.as_tensor(y[idx]), config))
        return pred, loss

    rows: list[dict] = []
    best_loss, best_epoch, best_state, bad_epochs, stopped = math.inf, 0, None, 0, False
    n_batches = max(1, math.ceil(len(tr_idx) / batch_size))
    t_start = time.monotonic()
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(tr_idx)
        tot, n_seen, skipped = 0.0, 0, 0
        with Progress(total=n_batches, desc=f"epoch {epoch}", unit="batch") as bar:
            for s in range(0, len(order), batch_size):
                bi = order[s:s + batch_size]
                if len(bi) < 2:  # BatchNorm needs two examples
                    continue
                bt = torch.as_tensor(bi, device=txa.device)
                a, b, t = txa[bt], txb[bt], ty[bt]
                if not on_device:
                    a, b, t = a.to(dev), b.to(dev), t.to(dev)
                loss = _train_step_loss(model, a, b, t, config)
                if not torch.isfinite(loss):
                    skipped += 1
                    opt.zero_grad(set_to_none=True)
                    bar.update(1)
                    continue
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                tot += float(loss.detach()) * len(bi)
                n_seen += len(bi)
                bar.update(1)
        if skipped:
            log.warning("epoch %d: skipped %d batch(es) with a non-finite loss", epoch, skipped)
        cur_lr = opt.param_groups[0]["lr"]
        train_loss = tot / n_seen if n_seen else float("nan")
        pred, val_loss = evaluate_split(va_idx)
        m = evaluate(pred, y[va_idx])
        elapsed = time.monotonic() - t_start
        rows.append(dict(epoch=epoch, split="train", loss=train_loss, lr=cur_lr, n_loci=len(tr_idx), final=False,
                         elapsed_s=elapsed))
        rows.append(dict(epoch=epoch, split="val", loss=val_loss, lr=cur_lr, n_loci=len(va_idx), final=False,
                         elapsed_s=elapsed, **m))
        log.info("epoch %d: train loss %.4f, val loss %.4f, val r counts %s, log ratio %s (%.0f s)", epoch,
                 train_loss, val_loss, _fmt(m["count_pearson"]), _fmt(m["ratio_pearson"]), elapsed)
        if val_loss < best_loss:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                log.info("early stop after epoch %d: no val loss improvement for %d epochs; best epoch %d",
                         epoch, patience, best_epoch)
                stopped = True
                break
    if best_state is None:
        raise AllelekitError("training failed: the validation loss was never finite (check the counts)")
    model.load_state_dict(best_state)
    model.eval()

    # final evaluation of the best model
    pred_all = predict(model, xa, xb, eval_batch_size, dev)
    for split, idx in (("val", va_idx), ("test", te_idx)):
        if len(idx) == 0:
            continue
        with torch.no_grad():
            loss = float(loss_fn(torch.as_tensor(pred_all[idx]), torch.as_tensor(y[idx]), config))
        m = evaluate(pred_all[idx], y[idx])
        rows.append(dict(epoch=best_epoch, split=split, loss=loss, lr=None, n_loci=len(idx), final=True,
                         elapsed_s=time.monotonic() - t_start, **m))
        log.info("best epoch %d, %s: count r %s (rho %s), log-ratio r %s (rho %s)", best_epoch, split,
                 _fmt(m["count_pearson"]), _fmt(m["count_spearman"]), _fmt(m["ratio_pearson"]),
                 _fmt(m["ratio_spearman"]))
    cols = ["epoch", "split", "final", "n_loci", "loss", "count_pearson", "count_spearman", "count_a_pearson",
            "count_b_pearson", "ratio_pearson", "ratio_spearman", "lr", "elapsed_s"]
    metrics = pd.DataFrame(rows).reindex(columns=cols)
    predictions = pd.DataFrame({
        "locus_id": dataset["locus_id"].astype(str).to_numpy(), "chrom": dataset["chrom"].astype(str).to_numpy(),
        "split": labels.astype(str),
        "pred_log_count_a": pred_all[:, 0].astype(np.float64), "pred_log_count_b": pred_all[:, 1].astype(np.float64),
        "pred_log_ratio": pred_all[:, 2].astype(np.float64),
        "obs_log_count_a": y[:, 0].astype(np.float64), "obs_log_count_b": y[:, 1].astype(np.float64),
        "obs_log_ratio": y[:, 2].astype(np.float64),
    })
    config["trained_epochs"] = int(rows[-1]["epoch"]) if rows else 0
    config["best_epoch"] = int(best_epoch)
    return TrainResult(model=model, config=config, metrics=metrics, predictions=predictions, best_epoch=best_epoch,
                       device=str(dev), stopped_early=stopped)


def _fmt(v) -> str:
    return "NA" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}"


def plot_learning_curve(metrics, path) -> None:
    """Loss (train, val) and validation Pearson r (counts, log ratio) per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = metrics[~metrics["final"].astype(bool)]
    tr = per[per["split"] == "train"]
    va = per[per["split"] == "val"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax1.plot(tr["epoch"], tr["loss"], "o-", label="train")
    ax1.plot(va["epoch"], va["loss"], "s-", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("MSE loss")
    ax1.legend()
    ax2.plot(va["epoch"], va["count_pearson"].astype(float), "o-", label="log counts")
    ax2.plot(va["epoch"], va["ratio_pearson"].astype(float), "s-", label="log ratio")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation Pearson r")
    ax2.legend()
    fin = metrics[metrics["final"].astype(bool)]
    if len(fin):
        best = int(fin["epoch"].iloc[0])
        for ax in (ax1, ax2):
            ax.axvline(best, color="grey", ls=":", lw=1)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def measure_speed(config: dict, batch_size: int = 32, steps: int = 5, warmup: int = 1, device: str = "cpu",
                  threads: int | None = None, infer_batch: int = 256) -> dict:
    """Examples (locus pairs) per second for a training step and for inference, on random one-hot input."""
    import torch

    from .models import build_model, n_parameters

    if threads:
        torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    torch.manual_seed(0)
    model = build_model(config).to(dev)
    L = config["seq_len"]
    g = torch.Generator().manual_seed(0)

    def batch(n):
        idx = torch.randint(0, 4, (n, L), generator=g)
        x = torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()
        return x.to(dev)

    xa, xb = batch(batch_size), batch(batch_size)
    y = torch.randn(batch_size, 3, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    times, cpu = [], []
    for i in range(warmup + steps):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        loss = _train_step_loss(model, xa, xb, y, config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    model.eval()
    ia, ib = batch(infer_batch), batch(infer_batch)
    itimes = []
    with torch.no_grad():
        for i in range(warmup + max(2, steps // 2)):
            sync()
            t0 = time.perf_counter()
            model(ia, ib)
            sync()
            if i >= warmup:
                itimes.append(time.perf_counter() - t0)
    step = float(np.median(times))
    return {
        "arch": config["arch"], "preset": config.get("preset"), "seq_len": L, "params": n_parameters(model),
        "device": str(dev) if dev.type != "cuda" else f"cuda ({torch.cuda.get_device_name(dev)})",
        "threads": torch.get_num_threads(), "batch_size": batch_size, "train_step_s": step,
        "train_step_cpu_s": float(np.median(cpu)), "train_examples_per_s": batch_size / step,
        "infer_batch": infer_batch, "infer_examples_per_s": infer_batch / float(np.median(itimes)),
    }
