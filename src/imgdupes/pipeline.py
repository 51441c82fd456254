"""The pipeline: discover -> hash -> search -> group, as plain function calls.

The CLI and the Python API both call :func:`find`; the report and action
stages read only the :class:`~imgdupes.model.Result` it returns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import hashio, lowdetail
from .columns import ImageTable, Signatures
from .config import Config, ConfigError
from .errors import InputError, OutputError, opt
from .group import group_images, query_images
from .model import DupSet, FileRecord, HashedImage, HashRecord, Result, ScanError

if TYPE_CHECKING:
    from .hasher import HashSpec
    from .snapshot import Snapshot
from .bridges import split_bridged
from .outputs import refuse_inputs
from .search import find_matches, query_matches
from .verify import (
    DEFAULT,
    REJECTED,
    RULES,
    Features,
    Thresholds,
    accept_query,
    decide,
    refine_components,
)

Warn = Callable[[str], None]


@dataclass
class Scan:
    """Hashed images of a run, kept for actions that need more than the sets.

    ``images`` is every hashed image; from a folder scan it is an
    :class:`~imgdupes.columns.ImageTable`, whose items are made when asked
    for, so :meth:`shown` (the ones the output was built from) is what the
    later stages look files up in."""

    images: Sequence[HashedImage] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    aliases: list[list[str]] = field(default_factory=list)
    # the files hashed, when ``images`` holds fewer (a result snapshot's sets only)
    hashed: int | None = None
    # a result snapshot's sets of ``images`` (a hit), or the key to keep this
    # run's sets under once grouped (a miss); see imgdupes.snapshot
    snapshot: Snapshot | None = None
    snapshot_key: bytes | None = None

    def shown(self) -> Sequence[HashedImage]:
        """The images behind the reported sets (all of them where not a table)."""
        if isinstance(self.images, ImageTable):
            return self.images.made()
        return self.images


def _spec(
    config: Config, methods: tuple[str, ...] | None = None, bits: int | None = None
) -> HashSpec:
    from .hasher import HashSpec

    return HashSpec(
        methods=methods or (config.hash_method,),
        bits=bits or config.hash_bits,
        full_decode=config.full_decode,
        rotations=config.rotations,
    )


def scan(config: Config, warn: Warn, client: object = None) -> Scan:
    """Discover and hash the target images (on the Dask ``client``'s cluster when given)."""
    # imported here: a search of stored hashes (--hashes-from) needs none of them
    from .cache import HashStore
    from .discover import discover, read_path_list
    from .hasher import hash_table, to_hashed

    files_list = list(config.paths) if config.paths is not None else None
    if files_list is None and config.files_from:
        try:
            files_list = read_path_list(config.files_from, config.null)
        except OSError as exc:
            raise InputError(
                f"cannot read {opt('files_from')} {config.files_from}: {exc.strerror or exc}",
                config.files_from,
            ) from None
    if files_list is not None:
        if config.targets:
            warn(
                f"Both '{opt('targets')}' and '{opt('files_from')}' are given; "
                f"{opt('targets')} is ignored."
            )
    else:
        for t in config.targets:
            if not os.path.exists(t):
                raise InputError(f"{t}: no such file or directory", t)
    skip = {}
    if config.delete and config.move_to and os.path.isdir(config.move_to):
        # A later -r run must not find the moved copies and move them again.
        skip[config.move_to] = "the --move-to folder; its files are left out of the search"
    targets = list(config.targets)
    shard_files: list[FileRecord] = []
    shard_errors: list[ScanError] = []
    if config.shards:
        from .shards import find_shards

        if files_list is not None:
            shard_files, files_list, shard_errors = find_shards(files_list, False)
        else:
            shard_files, targets, shard_errors = find_shards(targets, config.recursive)
    found = discover(targets, recursive=config.recursive, files=files_list, skip_dirs=skip)
    found.errors[:0] = shard_errors
    if not config.shards:
        _hint_shards(found.errors)
    if config.references:
        from .references import add_references

        found = add_references(found, config.references)
    refuse_inputs(config, found.files)
    for note in found.notes:
        warn(note)
    for err in found.errors:
        warn(f"{err.path}: {err.error}")
    if not found.files and not shard_files:
        folders = [] if files_list is not None else unsearched_folders(config)
        hint = f"; subfolders of {folders[0]} hold some: add -r to search them" if folders else ""
        warn(f"no images found{hint}")
    runner = None
    if client is not None:
        from .cluster import file_runner

        runner = file_runner(client)  # type: ignore[arg-type]
    progress = config.progress and not config.quiet
    store = HashStore.open(config.cache_dir, warn) if config.use_cache else None
    snap_key = None
    if store is not None and not store.disabled:
        from . import snapshot

        if snapshot.usable(config, found.files, bool(shard_files), client is not None):
            snap_key = snapshot.key(config, found.files)  # type: ignore[arg-type]
            hit = _from_snapshot(config, found, snap_key, store)
            if hit is not None:
                store.close()
                return hit
    try:
        table, errors = hash_table(
            found.files,
            _spec(config),
            config.hash_method,
            num_proc=config.num_proc,
            progress=progress,
            store=store,
            runner=runner,
        )
        images: Sequence[HashedImage] = table
        if shard_files or config.rotations:
            # rare paths that look at every image: plain objects
            table.prepare(np.arange(len(table)))
            images = list(table)
    finally:
        if store is not None:
            store.close()
    if shard_files:
        from .shards import ShardOptions, hash_shards

        shard_runner = None
        if client is not None:
            from .cluster import shard_runner as make_shard_runner

            shard_runner = make_shard_runner(client)  # type: ignore[arg-type]
        items, item_errors = hash_shards(
            shard_files,
            _spec(config),
            ShardOptions(config.image_column, config.key_column),
            num_proc=config.num_proc,
            progress=progress,
            runner=shard_runner,
        )
        images = [*images, *to_hashed(items, config.hash_method)]
        errors += item_errors
    for err in errors:
        warn(f"{err.path}: {err.error}")
    return Scan(
        images=images,
        errors=found.errors + errors,
        aliases=found.aliases,
        # a file that failed is tried again next run: no snapshot without it
        snapshot_key=snap_key if not errors else None,
    )


def _from_snapshot(config: Config, found, digest: bytes, store) -> Scan | None:
    """The scan of an unchanged tree: the images of its snapshot's sets only
    (None: no snapshot, or the store no longer holds all their files)."""
    from . import snapshot
    from .hasher import stored_table

    snap = snapshot.read(store.conn, digest, len(found.files))
    if snap is None:
        return None
    images = stored_table(found.files, snap.rows, _spec(config), config.hash_method, store)
    if images is None:
        return None
    return Scan(
        images=images,
        errors=found.errors,
        aliases=found.aliases,
        hashed=len(found.files),
        snapshot=snap,
    )


def _keep_snapshot(config: Config, data: Scan, labels, tones: bool, regions: bool) -> None:
    """Keep this run's sets for the next run over the same tree (best effort)."""
    from .cache import HashStore
    from .snapshot import Snapshot, write

    assert data.snapshot_key is not None and isinstance(data.images, ImageTable)
    members = np.flatnonzero(labels >= 0)
    snap = Snapshot(data.images.file_row[members], labels[members], tones, regions)
    store = HashStore.open(config.cache_dir, lambda msg: None)
    if store is None:
        return
    try:
        if not store.disabled:
            write(store.conn, data.snapshot_key, len(data.images.files), snap)
    finally:
        store.close()


def unsearched_folders(config: Config) -> list[str]:
    """Targets with images in subfolders a run without ``-r`` did not look at."""
    if config.recursive or config.files_from or config.paths is not None or config.hashes_from:
        return []
    from .discover import images_below

    return [t for t in config.targets if os.path.isdir(t) and images_below(t)]


def _hint_shards(errors: list[ScanError]) -> None:
    """A tar or Parquet target without --shards: say how to read it."""
    if not any(err.error == "not an image" for err in errors):
        return
    from .shards import hint

    for k, err in enumerate(errors):
        if err.error == "not an image" and (why := hint(err.path)):
            errors[k] = ScanError(err.path, why)


def hash_query(config: Config, bits: int | None = None) -> HashedImage:
    """The query picture, hashed like the targets (its record's fields are unused);
    ``bits``: a hash table's, when it is searched instead of images."""
    from .cache import HashStore
    from .discover import discover
    from .hasher import hash_files, hash_path, to_hashed

    assert config.query is not None
    if not os.path.exists(config.query):
        raise InputError(f"{opt('query')} {config.query}: no such file", config.query)
    found = discover([config.query])
    if len(found.files) == 1:
        # like the targets: read from the hash store when unchanged, else stored
        # (an unusable store was already reported for the targets)
        store = HashStore.open(config.cache_dir, lambda msg: None) if config.use_cache else None
        try:
            rows, errors = hash_files(
                found.files, _spec(config, bits=bits), num_proc=1, store=store
            )
        finally:
            if store is not None:
                store.close()
        if errors:
            raise InputError(f"{opt('query')} {config.query}: {errors[0].error}", config.query)
        _, payload, w, h = rows[0]
    else:  # not an image to discovery: decoding it says why
        ok, outcome, w, h = hash_path(config.query, _spec(config, bits=bits))
        if not ok:
            raise InputError(f"{opt('query')} {config.query}: {outcome}", config.query)
        assert isinstance(outcome, HashRecord)
        payload = outcome
    record = FileRecord(config.query, 0, 0, -1, -1)
    return to_hashed([(record, payload, w, h)], config.hash_method)[0]


def group(
    config: Config,
    images: Sequence[HashedImage],
    keep: Callable[[np.ndarray, bool, bool], None] | None = None,
) -> list:
    def region_link(matrix, signatures, keys, prior):
        return _linked(config, matrix, signatures, keys, REGION_THRESHOLDS, prior)

    def texture_link(matrix, signatures, keys, prior):
        # its own radius and bits, the exact engine: few rows (see imgdupes.lowdetail)
        return _linked(
            config, matrix, signatures, keys, DEFAULT, prior, lowdetail.BITS, lowdetail.RADIUS
        )

    sets = group_images(
        images,
        lambda matrix, signatures, keys: _linked(config, matrix, signatures, keys),
        config.hash_bits,
        config.sort,
        config.reverse,
        verify=config.verify,
        rotations=config.rotations,
        region_link=region_link if config.verify else None,
        # (a turned copy is not compared in its turn there: not with --rotations)
        split=None if config.rotations else split_bridged,
        # (an exact search, -t 0, asks for no more than equal hashes)
        texture_link=texture_link if config.verify and config.threshold > 0 else None,
        tone_link=lambda matrix, signatures, keys, prior: _linked(
            config, matrix, signatures, keys, DEFAULT, prior
        ),
        keep=keep,
    )
    if config.verify:
        _name_rules(sets, images)
    return sets


def regroup(config: Config, images: ImageTable, snap: Snapshot) -> list:
    """The sets of a result snapshot, made as :func:`group` makes them from its labels."""
    from .group import finish_labels

    sets = finish_labels(
        images,
        snap.labels,
        config.hash_bits,
        config.sort,
        config.reverse,
        config.rotations,
        snap.tones,
        snap.regions,
    )
    if config.verify:
        _name_rules(sets, images)
    return sets


# A low-detail picture's region says even less than the whole of it: region
# links are confirmed only where both pictures have fine detail to compare.
REGION_THRESHOLDS = replace(DEFAULT, require_fine=True)


def _name_rules(sets: list, images: Sequence[HashedImage]) -> None:
    """Which verification rule confirms each file against its set's first
    (``--json``'s ``verified``): one check per file listed."""
    # a scan's table has made the images of the sets' files only
    members = images.made() if isinstance(images, ImageTable) else images
    sig_of = {id(im.file): im.signature for im in members}
    entries = [e for s in sets for e in s.entries]
    if not entries:
        return
    sizes = np.array([len(s.entries) for s in sets])
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    others = np.nonzero(first != np.arange(len(entries)))[0]
    for lo in range(0, len(others), 1024):  # a block at a time: decide's arrays are per pair
        part = others[lo : lo + 1024]
        # the features of this block's files only: a dense folder's sets hold every file
        rows = np.unique(np.concatenate([first[part], part]))
        feats = Features([sig_of.get(id(entries[k].file), b"") for k in rows.tolist()])
        codes = decide(feats, np.searchsorted(rows, first[part]), np.searchsorted(rows, part))
        for k, code in zip(part.tolist(), codes.tolist(), strict=True):
            entries[k].rule = "linked" if code == REJECTED else RULES[code]


def _linked(
    config: Config,
    matrix: np.ndarray,
    signatures: Sequence[bytes],
    keys: Sequence[bytes],
    thresholds: Thresholds = DEFAULT,
    prior: np.ndarray | None = None,
    bits: int | None = None,
    radius: int | None = None,
) -> np.ndarray:
    """Component label per row (-1: alone) of the hashes within the threshold,
    each link confirmed by the verification when it is on (``prior``: labels
    per row of links already confirmed, see :func:`refine_components`;
    ``bits`` and ``radius``: another source's hashes, searched exactly)."""
    if radius is None:
        matches = find_matches(
            matrix, config.hash_bits, config.threshold, config.engine, config.params
        )
    else:
        matches = find_matches(matrix, bits or config.hash_bits, radius)
    if not config.verify:
        return matches.labels
    if isinstance(signatures, Signatures) and len(matches.unique_index):
        # the files verification will look at, read from the store in one go
        rows = matches.unique_index
        u = int(rows.max()) + 1
        involved = np.bincount(rows, minlength=u) >= 2
        involved[matches.pairs_i] = True
        involved[matches.pairs_j] = True
        signatures.need(np.flatnonzero(involved[rows]))
    return refine_components(
        signatures,
        matches.unique_index,
        matches.pairs_i,
        matches.pairs_j,
        keys,
        thresholds,
        prior,
    )


def _query_one(
    config: Config, images: Sequence[HashedImage], matrix: np.ndarray, qhash: bytes, qsig: bytes
) -> dict[int, int]:
    idx, dist = query_matches(
        matrix, config.hash_bits, qhash, config.threshold, config.engine, config.params
    )
    if isinstance(images, ImageTable):
        images.prepare(idx)
    if config.verify and qsig and len(idx):
        ok = accept_query(qsig, [images[i].signature for i in idx.tolist()])
        idx, dist = idx[ok], dist[ok]
    return dict(zip(idx.tolist(), dist.tolist(), strict=True))


def query(config: Config, images: Sequence[HashedImage], q: HashedImage) -> list:
    """Files within r of the query image, nearest first (ties in --sort order)."""
    qident = None
    try:
        st = os.stat(config.query)  # type: ignore[arg-type]
        qident = (st.st_dev, st.st_ino)
    except OSError:
        pass
    return query_images(
        images,
        q,
        lambda matrix, qhash, qsig: _query_one(config, images, matrix, qhash, qsig),
        config.hash_bits,
        config.sort,
        config.reverse,
        verify=config.verify,
        rotations=config.rotations,
        exclude=qident,
    )


def _export(config: Config, write: Callable[[], None]) -> None:
    try:
        write()
    except OSError as exc:
        raise OutputError(
            f"{opt('export_hashes')} {config.export_hashes}: {exc.strerror or exc}",
            config.export_hashes,
        ) from None


def _find_in_hashes(config: Config, warn: Warn) -> Result:
    """--hashes-from: search a hash table from disk; no image is read."""
    from .fromhashes import group_table, query_table

    if config.rotations:
        raise ConfigError(
            f"{opt('rotations')} hashes turned copies of each image; it needs the images, "
            f"not {opt('hashes_from')}"
        )

    if config.dask_scheduler and not config.query:
        return _find_on_cluster(config, warn)
    try:
        table = hashio.read_source(config.hashes_from, config.hash_method, warn)
    except hashio.HashFileError as exc:
        raise InputError(str(exc), config.hashes_from) from None
    if config.export_hashes:
        _export(config, lambda: hashio.write_table(config.export_hashes, table, config.hash_method))
    # the file decides the bits (4 per hex digit), not hash_bits
    result = Result(config.hash_method, table.nbits, config.threshold, query=config.query)
    result.hashed = len(table)
    if config.query:
        entries = query_table(config, table, hash_query(config, table.nbits).hash)
        result.sets = [DupSet(entries)] if entries else []
    else:
        result.sets = group_table(config, table)
    if config.export_sets:
        _export_sets(config, result.sets)
    return result


def _find_on_cluster(config: Config, warn: Warn) -> Result:
    from . import cluster, cluster_search

    client = cluster.connect(config.dask_scheduler)  # type: ignore[arg-type]
    stats = cluster_search.ClusterStats()
    try:
        nbits, sets = cluster_search.search(
            client, config.hashes_from, config, warn, export_dir=config.export_sets, stats=stats
        )
    finally:
        client.close()
    result = Result(config.hash_method, nbits, config.threshold)
    result.hashed = stats.rows
    if sets is None:
        warn(
            f"{stats.rows_in_sets} files in {stats.sets_exported} sets written to "
            f"{config.export_sets}; too many to list here"
        )
    result.sets = sets or []
    return result


def _export_sets(config: Config, sets: list[DupSet]) -> None:
    import pyarrow.parquet as pq

    from .cluster_search import sets_table

    try:
        os.makedirs(config.export_sets, exist_ok=True)  # type: ignore[arg-type]
        pq.write_table(
            sets_table(list(enumerate(sets))),
            os.path.join(config.export_sets, "part-00000.parquet"),  # type: ignore[arg-type]
        )
    except OSError as exc:
        raise OutputError(
            f"{opt('export_sets')} {config.export_sets}: {exc.strerror or exc}", config.export_sets
        ) from None


def find(config: Config, warn: Warn | None = None) -> tuple[Result, Scan]:
    """Run discover -> hash -> search -> group and return the result."""
    warn = warn or (lambda msg: None)
    if not (config.targets or config.files_from or config.hashes_from or config.paths is not None):
        raise ConfigError(
            f"{opt('targets')} is required unless {opt('files_from')} or {opt('hashes_from')}"
            " is given"
        )
    # An engine whose library is missing must fail before any image is read.
    from .search.libs import check_engine

    check_engine(config.engine, config.params)
    if config.export_hashes:
        hashio.check_writable(config.export_hashes)
    if config.hashes_from:
        refuse_inputs(config)
        return _find_in_hashes(config, warn), Scan()
    qimage = hash_query(config) if config.query else None
    if config.dask_scheduler:
        from . import cluster

        client = cluster.connect(config.dask_scheduler)
        try:
            data = scan(config, warn, client)
        finally:
            cluster.close(client)
    else:
        data = scan(config, warn)
    if config.export_hashes:
        _export(
            config,
            lambda: hashio.write_images(
                config.export_hashes, data.images, config.hash_method, config.hash_bits
            ),
        )
    result = Result(
        hash_method=config.hash_method,
        hash_bits=config.hash_bits,
        threshold=config.threshold,
        aliases=data.aliases,
        errors=data.errors,
        query=config.query,
        hashed=len(data.images) if data.hashed is None else data.hashed,
    )
    if qimage is not None:
        entries = query(config, data.images, qimage)
        result.sets = [DupSet(entries)] if entries else []
    elif data.snapshot is not None:
        assert isinstance(data.images, ImageTable)
        result.sets = regroup(config, data.images, data.snapshot)
    else:
        kept: list = []
        keep = None
        if data.snapshot_key is not None and isinstance(data.images, ImageTable):
            keep = lambda *made: kept.append(made)  # noqa: E731
        result.sets = group(config, data.images, keep)
        if kept:
            _keep_snapshot(config, data, *kept[0])
    if config.export_sets:
        _export_sets(config, result.sets)
    return result, data
