"""``--reference DIR``: folders searched too, whose files are never removed.

Reference folders are always searched recursively and merged with the
targets' files by identity, so naming a folder both as a target and as a
reference is harmless: each real file is still one record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .discover import Discovery, discover
from .errors import InputError, opt
from .model import FileRecord, ScanError
from .refpaths import is_reference, reference_roots

__all__ = ["add_references", "is_reference", "merge", "reference_roots"]


def _name_order(name: str) -> tuple:
    # The same rule discovery uses: a real (non-symlink) name first, then the shortest.
    return (os.path.islink(name), os.path.normpath(name), name)


def merge(a: Discovery, b: Discovery) -> Discovery:
    """Both discoveries' files, one record per real file."""
    names: dict[tuple[int, int], list[str]] = {}
    first: dict[tuple[int, int], FileRecord] = {}
    for rec in [*a.files, *b.files]:
        if rec.identity not in first:
            first[rec.identity] = rec
            names[rec.identity] = []
        for name in (rec.path, *rec.aliases):
            if name not in names[rec.identity]:
                names[rec.identity].append(name)
    merged = Discovery()
    for key, rec in first.items():
        ordered = sorted(names[key], key=_name_order)
        merged.files.append(
            FileRecord(
                path=ordered[0],
                size=rec.size,
                mtime_ns=rec.mtime_ns,
                dev=rec.dev,
                ino=rec.ino,
                aliases=tuple(ordered[1:]),
                ctime_ns=rec.ctime_ns,
            )
        )
    seen: set[tuple[str, str]] = set()
    for err in [*a.errors, *b.errors]:
        if (err.path, err.error) not in seen:
            seen.add((err.path, err.error))
            merged.errors.append(ScanError(err.path, err.error))
    return merged


def add_references(found: Discovery, references: Sequence[str]) -> Discovery:
    for ref in references:
        if not os.path.isdir(ref):
            raise InputError(f"{opt('references')} {ref}: not a directory", ref)
    return merge(found, discover(list(references), recursive=True))
