"""The one check every output option's path goes through before a run starts.

Below options.py and hashio.py, which both use it, so neither imports the other
for it."""

from __future__ import annotations

import os

from .errors import OutputError, opt


def check_output_path(option: str, path: str, folder_ok: bool = False) -> None:
    """Refuse an output that cannot be created, before the scan starts (the one
    check every output option goes through; ``folder_ok`` for outputs that may
    be a folder, as a Parquet dataset)."""
    if not folder_ok and os.path.isdir(path):
        raise OutputError(f"{opt(option)} {path}: is a directory", path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(f"{opt(option)} {path}: no such directory {parent}", path)
