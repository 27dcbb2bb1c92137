"""Exception types shared by the library and the command-line tools.

Library code raises :class:`AllelekitError` (or a subclass) for anything that is the user's
input's fault: a missing index, a bad column, a sample that is not in the VCF.  The CLI wrapper
(:func:`allelekit.cli._common.run`) turns it into one line ``allelekit-<tool>: error: <message>``
on stderr and exit status 1.  Everything else is a bug and keeps its traceback under ``-v``.
"""
from __future__ import annotations


class AllelekitError(Exception):
    """A problem with the input data or the environment that the user can fix."""


class SchemaError(AllelekitError):
    """A Parquet table does not match the schema the reader expects."""
