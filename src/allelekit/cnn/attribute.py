# attribute.py — attributions of a paired-allele model: batched ISM and TISM (gradient).
"""Attributions of both alleles' bases to one output of a paired-allele model.

Every function here works with **any** ``torch.nn.Module`` whose ``forward(xa, xb)`` takes two
one-hot float tensors of shape ``(N, 4, L)`` (ACGT order, N = 0.25 in every channel, all-zero
columns for 3' padding) and returns ``(N, 3)`` = ``[log1p count A, log1p count B, log ratio]``.
The keyword vocabulary is shared: ``target`` (output column, 2 = log ratio), ``batch_size``,
``device``, ``verbose``.

* :func:`predict` — batched forward passes.
* :func:`ism` — in-silico saturation mutagenesis of each allele with the other held fixed:
  ``pred(mutant) - pred(reference)`` (0 at the reference base), then centred per position.
  All mutants of many loci share large batches, so one locus costs ``6 L / batch_size``
  forward passes instead of ``6 L`` single ones.
* :func:`tism` — Taylor-approximated ISM from one backward pass per batch:
  ``grad[b, p] - grad[ref, p]`` centred per position (equal to the centred gradient, the
  "zero-sum gauge").  On a model that is linear in its inputs TISM equals ISM exactly.

Padding columns (all zero) are never mutated and get attribution 0.
"""
from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

log = logging.getLogger("allelekit.cnn")

RATIO = 2  # output column of the log ratio


class Attributions(NamedTuple):
    """Attributions of both alleles, each ``(N, 4, L)`` float32 (centred per position)."""

    a: np.ndarray
    b: np.ndarray


def _torch():
    import torch

    return torch


def _as_tensor(x, device):
    torch = _torch()
    if isinstance(x, torch.Tensor):
        return x.to(device=device, dtype=torch.float32)
    return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)


def _check_pair(xa: np.ndarray, xb: np.ndarray) -> None:
    if xa.ndim != 3 or xa.shape[1] != 4:
        raise ValueError(f"xa must have shape (N, 4, L), got {xa.shape}")
    if xa.shape != xb.shape:
        raise ValueError(f"xa and xb must have the same shape, got {xa.shape} and {xb.shape}")


def predict(model, xa: np.ndarray, xb: np.ndarray, *, batch_size: int = 256, device: str = "cpu",
            verbose: bool = False) -> np.ndarray:
    """Batched predictions of a paired model.

    Parameters
    ----------
    model: torch.nn.Module
        ``forward(xa, xb) -> (N, 3)``.
    xa, xb: numpy.ndarray, shape=(N, 4, L)
        One-hot alleles A and B.
    batch_size: int
        Pairs per forward pass.
    device: str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    numpy.ndarray, shape=(N, 3)
        float64 predictions ``[count A, count B, log ratio]``.
    """
    torch = _torch()
    xa = np.asarray(xa, dtype=np.float32)
    xb = np.asarray(xb, dtype=np.float32)
    _check_pair(xa, xb)
    model = model.to(device).eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(xa), batch_size):
            y = model(_as_tensor(xa[i:i + batch_size], device), _as_tensor(xb[i:i + batch_size], device))
            out.append(y.detach().to("cpu", torch.float64).numpy())
    if not out:
        return np.zeros((0, 3))
    return np.concatenate(out)


def center(att: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
    """Subtract the per-position mean over the 4 bases; padding columns of ``x`` are set to 0.

    Parameters
    ----------
    att: numpy.ndarray, shape=(N, 4, L)
    x: numpy.ndarray, shape=(N, 4, L), optional
        The one-hot input; columns that sum to 0 (padding) get 0.
    """
    out = att - att.mean(axis=1, keepdims=True)
    if x is not None:
        out = np.where(x.sum(axis=1, keepdims=True) > 0, out, 0.0)
    return out.astype(np.float32)


def _mutant_plan(x: np.ndarray):
    """Positions and bases to mutate in one allele ``x`` (4, L): every base that differs from the
    column (for one-hot columns the 3 alternatives, for N columns all 4), padding skipped."""
    colsum = x.sum(axis=0)
    diff = np.ones_like(x, dtype=bool)
    onehot_cols = np.isclose(x.max(axis=0), 1.0) & np.isclose(colsum, 1.0)
    diff[:, onehot_cols] = x[:, onehot_cols] < 0.5
    diff[:, colsum <= 0] = False
    base, pos = np.nonzero(diff)
    return pos, base


def ism(model, xa: np.ndarray, xb: np.ndarray, *, target: int = RATIO, batch_size: int = 1024,
        device: str = "cpu", centered: bool = True, verbose: bool = False) -> Attributions:
    """In-silico saturation mutagenesis of both alleles.

    For allele A, every single-base substitution of ``xa`` is predicted with ``xb`` unchanged, and
    vice versa.  The stored value is ``pred(mutant) - pred(reference)`` of output ``target``, 0 at the
    reference base, then (``centered``) the per-position mean over the 4 bases is subtracted.

    Parameters
    ----------
    model: torch.nn.Module
        ``forward(xa, xb) -> (N, 3)``.
    xa, xb: numpy.ndarray, shape=(N, 4, L)
        One-hot alleles.
    target: int
        Output column (0 = count A, 1 = count B, 2 = log ratio).
    batch_size: int
        Mutated pairs per forward pass; mutants of consecutive loci share batches.
    device: str
        Torch device.
    centered: bool
        Subtract the per-position mean (default).  ``False`` keeps the raw differences.

    Returns
    -------
    Attributions
        ``a`` and ``b``, each float32 ``(N, 4, L)``.
    """
    torch = _torch()
    xa = np.asarray(xa, dtype=np.float32)
    xb = np.asarray(xb, dtype=np.float32)
    _check_pair(xa, xb)
    n, _, length = xa.shape
    ref = predict(model, xa, xb, batch_size=batch_size, device=device)[:, target]
    out = [np.zeros((n, 4, length), dtype=np.float64), np.zeros((n, 4, length), dtype=np.float64)]
    model = model.to(device).eval()

    # A stream of (locus, allele, pos, base) jobs; filled into fixed-size batches.
    def jobs():
        for i in range(n):
            for k, x in enumerate((xa[i], xb[i])):
                pos, base = _mutant_plan(x)
                if len(pos):
                    yield i, k, pos, base

    buf_a = np.empty((batch_size, 4, length), dtype=np.float32)
    buf_b = np.empty((batch_size, 4, length), dtype=np.float32)
    meta: list[tuple[int, int, np.ndarray, np.ndarray, int, int]] = []  # (locus, allele, pos, base, lo, hi)
    fill = 0

    def flush():
        nonlocal fill, meta
        if fill == 0:
            return
        with torch.inference_mode():
            y = model(_as_tensor(buf_a[:fill], device), _as_tensor(buf_b[:fill], device))
            y = y[:, target].detach().to("cpu", torch.float64).numpy()
        for i, k, pos, base, lo, hi in meta:
            out[k][i, base, pos] = y[lo:hi] - ref[i]
        fill, meta = 0, []

    for i, k, pos, base in jobs():
        start = 0
        while start < len(pos):
            take = min(batch_size - fill, len(pos) - start)
            p, b = pos[start:start + take], base[start:start + take]
            sl = slice(fill, fill + take)
            mutated = xa[i] if k == 0 else xb[i]
            other = xb[i] if k == 0 else xa[i]
            tgt, oth = (buf_a, buf_b) if k == 0 else (buf_b, buf_a)
            tgt[sl] = mutated
            oth[sl] = other
            rows = np.arange(fill, fill + take)
            tgt[rows, :, p] = 0.0
            tgt[rows, b, p] = 1.0
            meta.append((i, k, p, b, fill, fill + take))
            fill += take
            start += take
            if fill == batch_size:
                flush()
    flush()
    if centered:
        return Attributions(center(out[0], xa), center(out[1], xb))
    return Attributions(out[0].astype(np.float32), out[1].astype(np.float32))


def tism(model, xa: np.ndarray, xb: np.ndarray, *, target: int = RATIO, batch_size: int = 256,
         device: str = "cpu", verbose: bool = False) -> Attributions:
    """Taylor-approximated ISM (TISM) from the gradient of ``target`` w.r.t. both inputs.

    ``tism[b, p] = grad[b, p] - grad[ref(p), p]`` then centred per position, which equals the
    centred gradient.  One forward and one backward pass per batch of pairs.

    Parameters
    ----------
    model: torch.nn.Module
        ``forward(xa, xb) -> (N, 3)``.
    xa, xb: numpy.ndarray, shape=(N, 4, L)
        One-hot alleles.
    target: int
        Output column (2 = log ratio).
    batch_size: int
        Pairs per forward/backward pass.
    device: str
        Torch device.

    Returns
    -------
    Attributions
        ``a`` and ``b``, each float32 ``(N, 4, L)``.
    """
    torch = _torch()
    xa = np.asarray(xa, dtype=np.float32)
    xb = np.asarray(xb, dtype=np.float32)
    _check_pair(xa, xb)
    model = model.to(device).eval()
    ga, gb = [], []
    with torch.enable_grad():
        for i in range(0, len(xa), batch_size):
            ta = _as_tensor(xa[i:i + batch_size], device).requires_grad_(True)
            tb = _as_tensor(xb[i:i + batch_size], device).requires_grad_(True)
            y = model(ta, tb)[:, target].sum()
            da, db = torch.autograd.grad(y, (ta, tb))
            ga.append(da.detach().to("cpu", torch.float64).numpy())
            gb.append(db.detach().to("cpu", torch.float64).numpy())
    if not ga:
        z = np.zeros_like(xa)
        return Attributions(z, z.copy())
    ga, gb = np.concatenate(ga), np.concatenate(gb)
    # grad - grad at the reference base is the same up to a per-position constant; centring removes it.
    return Attributions(center(ga, xa), center(gb, xb))


def attribute(model, xa: np.ndarray, xb: np.ndarray, *, method: str = "tism", **kwargs) -> Attributions:
    """Dispatch to :func:`tism` or :func:`ism` (``method``); keywords are passed on."""
    if method == "tism":
        return tism(model, xa, xb, **kwargs)
    if method == "ism":
        return ism(model, xa, xb, **kwargs)
    raise ValueError(f"unknown attribution method {method!r}; use 'tism' or 'ism'")


def reference_track(att: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Attribution at the observed base: ``sum_b att[:, b, p] * x[:, b, p]`` → ``(N, L)``."""
    return (np.asarray(att) * np.asarray(x)).sum(axis=1)
