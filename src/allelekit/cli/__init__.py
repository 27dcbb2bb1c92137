"""Command-line front ends: one module per command, each with ``build_parser()`` and ``main(argv=None) -> int``.

The mapping from command to module is :data:`COMMANDS` (also in ``pyproject.toml`` ``[project.scripts]``
and ``bin/``; a test checks all three agree).
"""
COMMANDS = {
    "allelekit-count": "allelekit.cli.count",
    "allelekit-fit": "allelekit.cli.fit",
    "allelekit-test": "allelekit.cli.test",
    "allelekit-combine": "allelekit.cli.combine",
    "allelekit-bslmm": "allelekit.cli.bslmm",
    "allelekit-cnn-train": "allelekit.cli.cnn_train",
    "allelekit-cnn-attribute": "allelekit.cli.cnn_attribute",
}
