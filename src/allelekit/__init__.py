"""allelekit: allele-specific analysis of sequencing data.

The library lives in this package (no argparse here); the command-line tools are thin
front ends in :mod:`allelekit.cli`, one module per command.
"""
from __future__ import annotations

import os as _os
import sys as _sys


def _installed_version() -> str:
    """The installed distribution's version (defined once, in pyproject.toml).

    Reads ``allelekit-*.dist-info/METADATA`` on ``sys.path`` directly, as importlib.metadata would,
    without importing importlib.metadata (its email/zipfile imports cost ~0.1 s on every command);
    falls back to importlib.metadata for other layouts (eggs, zip imports).
    """
    for d in _sys.path:
        try:
            names = _os.listdir(d or ".")
        except OSError:
            continue
        for n in names:
            if n.startswith("allelekit-") and n.endswith(".dist-info"):
                try:
                    with open(_os.path.join(d or ".", n, "METADATA"), encoding="utf-8") as fh:
                        for line in fh:
                            if line.startswith("Version:"):
                                return line.split(":", 1)[1].strip()
                            if not line.strip():
                                break
                except OSError:
                    pass
    from importlib import metadata

    try:
        return metadata.version("allelekit")
    except metadata.PackageNotFoundError:  # running from a source checkout (bin/ shims)
        return "0+unknown"


__version__ = _installed_version()

__all__ = ["__version__"]
