"""``allelekit-test``: Per-observation allelic-imbalance p-values and effect sizes.

Not built yet: the parser exists so that the suite's command list, help and version work;
running it says so and exits 1 (issue 4).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import main_wrapper, new_parser, not_built, output_parent, runtime_parent

TOOL = "test"


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(TOOL, "Per-observation allelic-imbalance p-values and effect sizes. (not built yet)",
                        parents=[output_parent(), runtime_parent()])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, not_built(TOOL, "issue 4"), argv)
