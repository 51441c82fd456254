"""The Python API: the same stages the command runs, returning plain data."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from .config import Config
from .errors import render
from .group import parse_sort
from .model import DupSet, ScanError
from .options import DiscoverOptions, HashOptions, ReportOptions, SearchOptions
from .pipeline import find


@dataclass
class Found(Sequence[DupSet]):
    """What :func:`find_duplicates` found: the sets, and what went wrong on the way.

    It is a sequence of its sets (``for s in found``, ``len(found)``,
    ``found[0]``), as the plain list earlier versions returned.
    """

    sets: list[DupSet] = field(default_factory=list)
    # files that could not be read, each with why ("not an image", ...)
    errors: list[ScanError] = field(default_factory=list)
    # what the command prints as warnings, naming options by their parameter names
    warnings: list[str] = field(default_factory=list)
    hashed: int = 0  # images (or hash rows) searched
    hash_bits: int = 64  # the hashes' bits (a --hashes-from table decides them)

    @overload
    def __getitem__(self, index: int) -> DupSet: ...
    @overload
    def __getitem__(self, index: slice) -> list[DupSet]: ...
    def __getitem__(self, index):
        return self.sets[index]

    def __len__(self) -> int:
        return len(self.sets)

    def __iter__(self) -> Iterator[DupSet]:
        return iter(self.sets)


def find_duplicates(
    target: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    hash_method: str = "phash",
    threshold: int = 4,
    recursive: bool = False,
    *,
    hash_bits: int = 64,
    sort: str | Sequence[str] | None = None,
    reverse: bool = False,
    files: Iterable[str | os.PathLike] | None = None,
    query: str | None = None,
    num_proc: int | None = 1,
    discover: DiscoverOptions | None = None,
    hashing: HashOptions | None = None,
    search: SearchOptions | None = None,
    report: ReportOptions | None = None,
    config: Config | None = None,
    **options: Any,
) -> Found:
    """Near-duplicate sets under ``target`` (a folder or a list of folders).

    Returns the sets the command prints, in the same order, as a :class:`Found`
    (a sequence of :class:`DupSet`, with ``.errors`` and ``.warnings``); each
    set lists its files (``.paths``, ``.entries`` with size, pixel size, hash
    and distance to the set's first file).  ``files`` takes an explicit list
    of image paths instead of folders.  Other keyword arguments are fields of
    the stages' options (``engine``, ``use_cache``, ``cache_dir``,
    ``full_decode``, ...); a whole stage may be given as its options object
    (``hashing=HashOptions(...)``), or every stage as a ``config``.

    Raises :class:`imgdupes.errors.ConfigError` for options that cannot be
    used and :class:`imgdupes.errors.RunError` (``.path``) for an input or
    output that cannot be; messages name the parameters as here.
    """
    stages = {"discover": discover, "hashing": hashing, "search": search, "report": report}
    given = {k: v for k, v in stages.items() if v is not None}
    if config is not None:
        if target is not None or files is not None or options or given:
            raise TypeError("find_duplicates(config=...) takes no other options")
    else:
        values: dict[str, Any] = dict(options)
        # The arguments above, each unless its stage is given whole and it was left
        # at its default (given too, it competes with the stage's: a TypeError).
        for name, stage, value, default in (
            ("hash_method", "hashing", hash_method, "phash"),
            ("hash_bits", "hashing", hash_bits, 64),
            ("num_proc", "hashing", num_proc, 1),
            ("threshold", "search", threshold, 4),
            ("recursive", "discover", recursive, False),
            ("query", "discover", query, None),
            ("reverse", "report", reverse, False),
            ("sort", "report", sort, None),
        ):
            if stage not in given or value != default:
                values[name] = value
        if "sort" in values and (values["sort"] is None or isinstance(values["sort"], str)):
            values["sort"] = parse_sort(values["sort"])
        if files is not None:
            values["paths"] = [os.fspath(f) for f in files]
            values["targets"] = []
        elif isinstance(target, (str, os.PathLike)):
            values["targets"] = [os.fspath(target)]
        elif target is not None:
            values["targets"] = [os.fspath(t) for t in target]
        config = Config(**given, **values)
    warnings: list[str] = []
    result, _ = find(config, lambda message: warnings.append(render(message)))
    return Found(
        sets=result.sets,
        errors=result.errors,
        warnings=[*map(render, config.notes), *warnings],
        hashed=result.hashed,
        hash_bits=result.hash_bits,
    )
