"""Whether a file lies under a ``--reference`` folder (paths only; no I/O but
``realpath``), apart from references.py so the plan stage can ask it without
depending on discovery and the configuration."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .model import FileRecord


def reference_roots(references: Sequence[str]) -> list[str]:
    return [os.path.realpath(r) for r in references]


def _under(path: str, roots: Sequence[str]) -> bool:
    for root in roots:
        try:
            if os.path.commonpath([root, path]) == root:
                return True
        except ValueError:  # different drives
            continue
    return False


def is_reference(rec: FileRecord, roots: Sequence[str]) -> bool:
    """True when any name of the file, or the file a name resolves to, lies
    under a reference folder: removing it would take a file out of the
    reference folder or leave a link there dangling."""
    if not roots:
        return False
    for name in (rec.path, *rec.aliases):
        parent = os.path.realpath(os.path.dirname(os.path.abspath(name)))
        if _under(os.path.join(parent, os.path.basename(name)), roots):
            return True
        if _under(os.path.realpath(name), roots):
            return True
    return False
