"""``allelekit-bslmm``: BSLMM and annotation-informed block-sparse bsBSLMM for cis-expression prediction.

Not built yet: the parser exists so that the suite's command list, help and version work;
running it says so and exits 1 (issue 6).
"""
from __future__ import annotations

import argparse
from typing import Sequence

from ._common import main_wrapper, new_parser, not_built, output_parent, runtime_parent

TOOL = "bslmm"


def build_parser() -> argparse.ArgumentParser:
    parser = new_parser(TOOL, "BSLMM and annotation-informed block-sparse bsBSLMM for cis-expression prediction. (not built yet)",
                        parents=[output_parent(), runtime_parent()])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return main_wrapper(build_parser, not_built(TOOL, "issue 6"), argv)
