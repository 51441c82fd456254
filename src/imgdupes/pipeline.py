"""The pipeline: discover -> hash -> search -> group, as plain function calls.

The CLI and the Python API both call :func:`find`; the report and action
stages read only the :class:`~imgdupes.model.Result` it returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from . import hashes
from .cache import HashStore
from .config import Config, ConfigError
from .discover import discover, read_path_list
from .group import build_sets, make_entry, sort_entries
from .hasher import HashSpec, hash_files, hash_path, to_hashed
from .model import DupSet, HashedImage, Result, ScanError
from .search import find_matches, query_matches

Warn = Callable[[str], None]


@dataclass
class Scan:
    """Hashed images of a run, kept for actions that need more than the sets."""

    images: list[HashedImage] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    aliases: list[list[str]] = field(default_factory=list)


def _spec(config: Config, methods: tuple[str, ...] | None = None) -> HashSpec:
    return HashSpec(
        methods=methods or (config.hash_method,),
        bits=config.hash_bits,
        full_decode=config.full_decode,
    )


def scan(config: Config, warn: Warn) -> Scan:
    """Discover and hash the target images."""
    files_list = list(config.paths) if config.paths is not None else None
    if config.files_from:
        if config.targets:
            warn("Both 'target_dir' and '--files-from' are given; target_dir is ignored.")
        try:
            files_list = read_path_list(config.files_from)
        except OSError as exc:
            raise ConfigError(
                f"cannot read --files-from {config.files_from}: {exc.strerror or exc}"
            ) from None
    else:
        for t in config.targets:
            if not os.path.exists(t):
                raise ConfigError(f"{t}: no such file or directory")
    found = discover(config.targets, recursive=config.recursive, files=files_list)
    for err in found.errors:
        warn(f"{err.path}: {err.error}")
    store = HashStore.open(config.cache_dir, warn) if config.use_cache else None
    try:
        rows, errors = hash_files(
            found.files,
            _spec(config),
            num_proc=config.num_proc,
            progress=config.progress and not config.quiet,
            store=store,
        )
    finally:
        if store is not None:
            store.close()
    for err in errors:
        warn(f"{err.path}: {err.error}")
    return Scan(
        images=to_hashed(rows, config.hash_method),
        errors=found.errors + errors,
        aliases=found.aliases,
    )


def hash_query(config: Config) -> bytes:
    assert config.query is not None
    if not os.path.exists(config.query):
        raise ConfigError(f"--query {config.query}: no such file")
    ok, payload, _, _ = hash_path(config.query, _spec(config))
    if not ok:
        raise ConfigError(f"--query {config.query}: {payload}")
    assert isinstance(payload, dict)
    return payload[config.hash_method]


def group(config: Config, images: list[HashedImage]) -> list:
    matrix = hashes.as_matrix([im.hash for im in images], config.hash_bits)
    matches = find_matches(matrix, config.hash_bits, config.threshold, config.engine, config.params)
    return build_sets(images, matches.labels, config.hash_bits, config.sort, config.reverse)


def query(config: Config, images: list[HashedImage], qhash: bytes) -> list:
    """Files within r of the query image, nearest first (ties in --sort order)."""
    matrix = hashes.as_matrix([im.hash for im in images], config.hash_bits)
    idx, dist = query_matches(
        matrix, config.hash_bits, qhash, config.threshold, config.engine, config.params
    )
    qident = None
    try:
        st = os.stat(config.query)  # type: ignore[arg-type]
        qident = (st.st_dev, st.st_ino)
    except OSError:
        pass
    entries = []
    for i, d in zip(idx.tolist(), dist.tolist(), strict=True):
        im = images[i]
        if im.file.identity == qident:
            continue  # the query file itself is not its own duplicate
        e = make_entry(im, config.hash_bits)
        e.distance = int(d)
        entries.append(e)
    by_distance: dict[int, list] = {}
    for e in entries:
        by_distance.setdefault(e.distance, []).append(e)
    ordered = []
    for d in sorted(by_distance):
        bucket = by_distance[d]
        sort_entries(bucket, config.sort, config.reverse)
        ordered.extend(bucket)
    return ordered


def find(config: Config, warn: Warn | None = None) -> tuple[Result, Scan]:
    """Run discover -> hash -> search -> group and return the result."""
    warn = warn or (lambda msg: None)
    config.validate()
    qhash = hash_query(config) if config.query else None
    data = scan(config, warn)
    result = Result(
        hash_method=config.hash_method,
        hash_bits=config.hash_bits,
        threshold=config.threshold,
        aliases=data.aliases,
        errors=data.errors,
        query=config.query,
        hashed=len(data.images),
    )
    if qhash is not None:
        entries = query(config, data.images, qhash)
        result.sets = [DupSet(entries)] if entries else []
    else:
        result.sets = group(config, data.images)
    return result, data
