"""DeepAllele-style paired-allele CNN, the direct-ratio variant and single-input baselines (torch).

Every model is a :class:`torch.nn.Module` whose ``forward(xa, xb)`` takes the one-hot alleles A and B,
float tensors ``(N, 4, L)`` (ACGT, see :func:`allelekit.cnn.data.one_hot`), and returns ``(N, 3)`` =
``[log1p count A, log1p count B, log ratio]`` with ratio = log((1 + count_A) / (1 + count_B)).

* ``paired`` (DeepAllele "multi"): shared encoder, shared count head, a ratio head on the
  concatenated representations ``[h_A, h_B]``.  With ``antisymmetric=True`` the ratio is
  ``g([h_A, h_B]) - g([h_B, h_A])`` so that swapping the alleles flips its sign exactly (in eval
  mode).  The published head is not antisymmetric (the default here too).
* ``direct`` ("multi_ComputedRatio"): no ratio head; ratio = count_A - count_B.
* ``single`` ("single"/"sh"): one allele in, log count out (ReLU output); wrapped so that
  ``forward(xa, xb)`` returns ``[f(xa), f(xb), f(xa) - f(xb)]``.  Trained on allele A only
  (``train_alleles = "a"``, "Standard(ref-genome)") or on both alleles as separate samples
  (``"both"``, "Standard(2-genomes)").

Encoder (spec section 1): concatenate the reverse complement along the length axis (4, 2L);
conv0 (K0, k0) -> ReLU -> BN; conv1 (F, 5) -> ReLU -> BN; n_res x [x + (conv F, 5 -> ReLU -> BN)(x),
AvgPool(pool, ceil_mode)]; flatten -> Linear(H) -> ReLU.

Checkpoints are one file written by :func:`save_checkpoint`: ``{"state_dict": ..., "config": JSON}``,
never a pickled model; :func:`load_checkpoint` reads them with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping

import torch
from torch import nn

from ..errors import AllelekitError

CHECKPOINT_FORMAT = "allelekit-cnn/1"
DATASET_SCHEMA = "cnn_dataset/1.0"
ARCHS = ("paired", "direct", "single")

PRESETS: dict[str, dict[str, Any]] = {
    # the released DeepAllele ATAC checkpoint (4_1_256_15_256_5_4_...): 256 first-layer kernels, H 256
    "atac": dict(seq_len=330, n_kernels=256, kernel_size=15, n_filters=256, conv_kernel=5, n_res=4, pool=4,
                 hidden=256, h_layers=2, dropout=0.2),
    # the released ChIP checkpoint (6_1_256_15_256_5_2_...)
    "chip": dict(seq_len=551, n_kernels=256, kernel_size=15, n_filters=256, conv_kernel=5, n_res=6, pool=2,
                 hidden=256, h_layers=2, dropout=0.2),
    # CPU-sized: about 0.3 M parameters for the paired model
    "small": dict(seq_len=330, n_kernels=128, kernel_size=15, n_filters=64, conv_kernel=5, n_res=4, pool=4,
                  hidden=128, h_layers=2, dropout=0.2),
}
SIZE_KEYS = ("seq_len", "n_kernels", "kernel_size", "n_filters", "conv_kernel", "n_res", "pool", "hidden",
             "h_layers", "dropout")


def make_config(arch: str = "paired", preset: str = "small", antisymmetric: bool = False,
                train_alleles: str | None = None, **overrides: Any) -> dict:
    """A complete model config: a preset, overridden by any non-None size in ``overrides``."""
    if arch not in ARCHS:
        raise AllelekitError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    if preset not in PRESETS:
        raise AllelekitError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    cfg = dict(PRESETS[preset])
    for k, v in overrides.items():
        if k not in SIZE_KEYS:
            raise AllelekitError(f"unknown model size setting {k!r}")
        if v is not None:
            cfg[k] = v
    cfg.update(arch=arch, preset=preset, antisymmetric=bool(antisymmetric and arch == "paired"))
    if arch == "single":
        cfg["train_alleles"] = train_alleles or "a"
        if cfg["train_alleles"] not in ("a", "both"):
            raise AllelekitError("train_alleles must be 'a' (reference only) or 'both' (two genomes)")
    return cfg


def _rc(x: torch.Tensor) -> torch.Tensor:
    # ACGT order: flipping channels gives the complement, flipping positions the reverse
    return torch.flip(x, dims=(1, 2))


def _final_length(length: int, n_res: int, pool: int) -> int:
    for _ in range(n_res):
        length = math.ceil(length / pool)
    return length


class Encoder(nn.Module):
    """Sequence (N, 4, L) -> representation (N, H); the reverse complement is appended along length."""

    def __init__(self, seq_len: int, n_kernels: int, kernel_size: int, n_filters: int, conv_kernel: int,
                 n_res: int, pool: int, hidden: int, **_: Any) -> None:
        super().__init__()
        self.seq_len = seq_len
        self.conv0 = nn.Sequential(nn.Conv1d(4, n_kernels, kernel_size, padding="same"), nn.ReLU(),
                                   nn.BatchNorm1d(n_kernels))
        self.conv1 = nn.Sequential(nn.Conv1d(n_kernels, n_filters, conv_kernel, padding="same"), nn.ReLU(),
                                   nn.BatchNorm1d(n_filters))
        self.res = nn.ModuleList(
            nn.Sequential(nn.Conv1d(n_filters, n_filters, conv_kernel, padding="same"), nn.ReLU(),
                          nn.BatchNorm1d(n_filters)) for _ in range(n_res))
        self.pool = nn.AvgPool1d(pool, ceil_mode=True) if pool > 1 else nn.Identity()
        flat = n_filters * _final_length(2 * seq_len, n_res, pool)
        self.fc0 = nn.Sequential(nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != 4 or x.shape[2] != self.seq_len:
            raise AllelekitError(f"model input must have shape (N, 4, {self.seq_len}); got {tuple(x.shape)}")
        h = torch.cat([x, _rc(x)], dim=2)
        h = self.conv1(self.conv0(h))
        for block in self.res:
            h = self.pool(h + block(h))
        return self.fc0(h)


def _mlp(width: int, layers: int, dropout: float) -> nn.Sequential:
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout)]
    mods.append(nn.Linear(width, 1))
    return nn.Sequential(*mods)


class PairedModel(nn.Module):
    """DeepAllele paired model (``arch="paired"``) or its direct-ratio variant (``arch="direct"``)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.encoder = Encoder(**config)
        self.count_head = _mlp(config["hidden"], config["h_layers"], config["dropout"])
        self.direct = config["arch"] == "direct"
        self.antisymmetric = bool(config.get("antisymmetric", False))
        if not self.direct:
            self.ratio_head = _mlp(2 * config["hidden"], config["h_layers"], config["dropout"])

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        ha, hb = self.encoder(xa), self.encoder(xb)  # separate calls: BN batch statistics per allele
        ca, cb = self.count_head(ha), self.count_head(hb)
        if self.direct:
            ratio = ca - cb
        elif self.antisymmetric:
            ratio = self.ratio_head(torch.cat([ha, hb], 1)) - self.ratio_head(torch.cat([hb, ha], 1))
        else:
            ratio = self.ratio_head(torch.cat([ha, hb], 1))
        return torch.cat([ca, cb, ratio], dim=1)


class SingleModel(nn.Module):
    """Single-input baseline: one allele -> log count (ReLU output); ``forward(xa, xb)`` wraps it."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.encoder = Encoder(**config)
        self.head = _mlp(config["hidden"], config["h_layers"], config["dropout"])

    def forward_single(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 4, L) -> (N, 1) predicted log1p count."""
        return torch.relu(self.head(self.encoder(x)))

    def forward(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        ca, cb = self.forward_single(xa), self.forward_single(xb)
        return torch.cat([ca, cb, ca - cb], dim=1)


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """A freshly initialised model for ``config`` (see :func:`make_config`)."""
    missing = [k for k in ("arch", *SIZE_KEYS) if k not in config]
    if missing:
        raise AllelekitError(f"model config lacks {', '.join(missing)}")
    arch = config["arch"]
    if arch in ("paired", "direct"):
        return PairedModel(config)
    if arch == "single":
        return SingleModel(config)
    raise AllelekitError(f"unknown architecture {arch!r} in the model config; this allelekit knows "
                         f"{', '.join(ARCHS)}")


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_checkpoint(model: nn.Module, config: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``{"state_dict", "config" (JSON string)}`` atomically to ``path`` (one file, no pickled model)."""
    from .. import __version__
    from ..atomic import atomic_path

    cfg = dict(config)
    cfg.setdefault("allelekit_version", __version__)
    cfg.setdefault("dataset_schema", DATASET_SCHEMA)
    cfg["checkpoint_format"] = CHECKPOINT_FORMAT
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "config": json.dumps(cfg, sort_keys=True)}, tmp)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild the model saved by :func:`save_checkpoint`; returns ``(model in eval mode, config)``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AllelekitError(f"{path}: no such checkpoint file")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # not a torch file, or contains pickled objects
        raise AllelekitError(f"{path}: not an allelekit CNN checkpoint ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(obj, dict) or "state_dict" not in obj or "config" not in obj:
        raise AllelekitError(f"{path}: not an allelekit CNN checkpoint (no state_dict/config)")
    try:
        config = json.loads(obj["config"])
    except (TypeError, ValueError):
        raise AllelekitError(f"{path}: the checkpoint's config is not valid JSON") from None
    fmt = str(config.get("checkpoint_format", ""))
    if fmt.split("/")[0] != CHECKPOINT_FORMAT.split("/")[0] or fmt.split("/")[-1] != CHECKPOINT_FORMAT.split("/")[-1]:
        raise AllelekitError(f"{path}: checkpoint format {fmt or 'unknown'!r} is not supported by this allelekit "
                             f"(reads {CHECKPOINT_FORMAT})")
    ds = str(config.get("dataset_schema", ""))
    if not ds.startswith("cnn_dataset/") or ds.split("/")[1].split(".")[0] != DATASET_SCHEMA.split("/")[1].split(".")[0]:
        raise AllelekitError(f"{path}: trained on dataset schema {ds or 'unknown'!r}; this allelekit reads "
                             f"{DATASET_SCHEMA}")
    model = build_model(config)
    try:
        model.load_state_dict(obj["state_dict"], strict=True)
    except RuntimeError as exc:
        raise AllelekitError(f"{path}: weights do not fit the model config ({str(exc).splitlines()[0]})") from None
    model.to(map_location)
    model.eval()
    return model, config
