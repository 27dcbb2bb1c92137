"""Shared pytest fixtures and settings.

* JAX runs on the CPU in 64-bit mode; numba caches compiled code under ``.cache/numba`` so a
  second run does not recompile.
* ``demo_dir`` is the bundled demo dataset (``demo/data``, made by ``scripts/make_demo_data.py``).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    d = ROOT / "demo" / "data"
    if not (d / "variants.vcf.gz").exists():
        pytest.fail("demo data missing: run `python scripts/make_demo_data.py` (it is normally committed)")
    return d
