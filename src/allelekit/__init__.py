"""allelekit: allele-specific analysis of sequencing data.

The library lives in this package (no argparse here); the command-line tools are thin
front ends in :mod:`allelekit.cli`, one module per command.
"""
from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("allelekit")
except _metadata.PackageNotFoundError:  # running from a source checkout (bin/ shims)
    __version__ = "0+unknown"

__all__ = ["__version__"]
