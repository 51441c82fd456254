"""The Python API: the same stages the command runs, returning plain data."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .config import Config
from .group import parse_sort
from .model import DupSet
from .pipeline import find


def find_duplicates(
    target: str | os.PathLike | Iterable[str | os.PathLike],
    hash_method: str = "phash",
    threshold: int = 4,
    recursive: bool = False,
    *,
    hash_bits: int = 64,
    sort: str | None = None,
    reverse: bool = False,
    files: Iterable[str] | None = None,
    query: str | None = None,
    num_proc: int | None = 1,
    **options: Any,
) -> list[DupSet]:
    """Near-duplicate sets under ``target`` (a folder or a list of folders).

    Returns the sets the command prints, in the same order; each
    :class:`DupSet` lists its files (``.paths``, ``.entries`` with size,
    pixel size, hash and distance to the set's first file).  ``files``
    takes an explicit list of image paths instead of folders.  Other keyword
    arguments are :class:`imgdupes.config.Config` fields (``engine``,
    ``use_cache``, ``cache_dir``, ``full_decode``, ...).
    """
    if isinstance(target, (str, os.PathLike)):
        targets = [os.fspath(target)]
    else:
        targets = [os.fspath(t) for t in target]
    config = Config(
        hash_method=hash_method,
        threshold=threshold,
        targets=targets,
        recursive=recursive,
        hash_bits=hash_bits,
        sort=parse_sort(sort),
        reverse=reverse,
        query=query,
        num_proc=num_proc,
        **options,
    )
    if files is not None:
        config.paths = [os.fspath(f) for f in files]
        config.targets = []
    result, _ = find(config)
    return result.sets
