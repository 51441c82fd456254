"""Dataset shards: the images inside WebDataset ``.tar`` files and Parquet files.

ML datasets ship as shards, not loose files.  With ``--shards`` a target (or
a file found below a target folder) that is a tar archive or a Parquet file
(recognised by content: ``ustar`` at byte 257, ``PAR1`` at byte 0) is read as a
set of images.  Each image is an *item* named ``shard#member`` (tar) or
``shard#key`` (Parquet: the key column's value, else the row number).

A shard is read once, front to back (tar as a stream, Parquet a record batch
at a time), and nothing is extracted to disk; on a cluster one shard is one
task.  Items are never deleted (``-d`` refuses them): the output is the list
of keys to drop from the dataset.  Items are not kept in the hash store (a
shard is re-read each run; its reading costs little next to decoding).
"""

from __future__ import annotations

import os
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .discover import has_image_extension, sniff_image, walk
from .hasher import HashSpec, _one_blas_thread, _Outcome, hash_path
from .model import FileRecord, HashRecord, ScanError
from .progress import Progress
from .workers import worker_pool

TAR = "tar"
PARQUET = "parquet"
SHARD_EXTENSIONS = frozenset((".tar", ".parquet", ".pq"))
# A member bigger than this is not read into memory (no image in a dataset is).
MAX_ITEM_BYTES = 512 * 1024 * 1024
# Parquet rows read at a time: a batch of images stays a few MB.
PARQUET_BATCH = 64
# Parquet key columns used when --key-column is not given (WebDataset's, then the plain one).
KEY_COLUMNS = ("__key__", "key")


@dataclass(frozen=True, slots=True)
class ShardOptions:
    image_column: str | None = None
    key_column: str | None = None


@dataclass(slots=True)
class ShardResult:
    """What hashing one shard gave: (key, size, mtime_ns or None, outcome) per
    image in shard order, and the reason the shard could not be read to its end."""

    items: list[tuple[str, int, int | None, _Outcome]] = field(default_factory=list)
    error: str | None = None


class ShardError(Exception):
    """The shard cannot be read (further); ``str()`` is the one line shown."""


def shard_kind(path: str) -> str | None:
    """TAR, PARQUET or None, from the file's first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if head[:4] == b"PAR1":
        return PARQUET
    if len(head) >= 262 and head[257:262] == b"ustar":
        return TAR
    return None


def item_name(shard: str, key: str) -> str:
    return f"{shard}#{key}"


# --- finding shards ---------------------------------------------------------------------


def find_shards(
    targets: Sequence[str], recursive: bool
) -> tuple[list[FileRecord], list[str], list[ScanError]]:
    """Shards among ``targets`` (named, or below a folder): (shards, the targets
    left for image discovery, errors)."""
    shards: list[FileRecord] = []
    rest: list[str] = []
    errors: list[ScanError] = []
    seen: set[tuple[int, int]] = set()

    def add(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            errors.append(ScanError(path, f"cannot read: {exc.strerror or exc}"))
            return
        if (st.st_dev, st.st_ino) in seen:
            return  # one shard reached twice is read once
        seen.add((st.st_dev, st.st_ino))
        shards.append(
            FileRecord(path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, (), st.st_ctime_ns)
        )

    for target in targets:
        if os.path.isdir(target):
            rest.append(target)

            def on_error(path: str, reason: str) -> None:
                pass  # discovery walks the same folder and reports it

            for path in walk(target, recursive, on_error):
                if os.path.splitext(path)[1].lower() in SHARD_EXTENSIONS and shard_kind(path):
                    add(path)
        elif os.path.isfile(target) and shard_kind(target):
            add(target)
        else:
            rest.append(target)
    return shards, rest, errors


def hint(path: str) -> str | None:
    """Why a target that is not an image may still be wanted: it is a shard."""
    kind = shard_kind(path)
    if kind is None:
        return None
    what = "a tar archive" if kind == TAR else "a Parquet file"
    return f"{what}; add --shards to read the images inside"


# --- reading ----------------------------------------------------------------------------


def iter_items(path: str, options: ShardOptions) -> Iterator[tuple[str, int | None, bytes]]:
    """(key, mtime_ns or None, image bytes) for each image of the shard, in order.

    Raises ShardError when the shard cannot be read (further)."""
    kind = shard_kind(path)
    if kind == TAR:
        yield from _tar_items(path)
    elif kind == PARQUET:
        yield from _parquet_items(path, options)
    else:
        raise ShardError("not a tar archive or a Parquet file")


def _tar_items(path: str) -> Iterator[tuple[str, int | None, bytes]]:
    try:
        # "r|*": a stream, front to back, as a shard on slow storage should be read
        tf = tarfile.open(path, mode="r|*")
    except (OSError, tarfile.TarError) as exc:
        raise ShardError(f"cannot read the tar archive: {exc}") from None
    with tf:
        try:
            for member in tf:
                if not member.isfile():
                    continue
                named = has_image_extension(member.name)
                if member.size > MAX_ITEM_BYTES:
                    if named:
                        raise ShardError(f"{member.name}: {member.size} bytes, too big to read")
                    continue
                fh = tf.extractfile(member)
                if fh is None:
                    continue
                data = fh.read()
                if named or sniff_image(data[:32]):
                    yield member.name, int(member.mtime * 1_000_000_000), data
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise ShardError(f"tar archive truncated or corrupt ({exc})") from None


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ShardError(
            "Parquet shards need pyarrow: pip install pyarrow (or pip install '.[parquet]')"
        ) from None
    return pq


def image_column(schema, wanted: str | None) -> tuple[str, bool]:
    """(column, is a struct whose 'bytes' field holds the image) of a Parquet schema."""
    import pyarrow as pa

    def usable(t) -> bool | None:  # True: struct with bytes; False: plain binary; None: no
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return False
        if pa.types.is_struct(t):
            idx = t.get_field_index("bytes")
            if idx >= 0 and (
                pa.types.is_binary(t.field(idx).type) or pa.types.is_large_binary(t.field(idx).type)
            ):
                return True
        return None

    if wanted is not None:
        if wanted not in schema.names:
            raise ShardError(f"no column {wanted!r} (columns: {', '.join(schema.names)})")
        kind = usable(schema.field(wanted).type)
        if kind is None:
            held = schema.field(wanted).type
            raise ShardError(f"column {wanted!r} holds {held}, not image bytes")
        return wanted, kind
    for name in schema.names:
        kind = usable(schema.field(name).type)
        if kind is not None:
            return name, kind
    raise ShardError("no column of image bytes (name it with --image-column)")


def _parquet_items(path: str, options: ShardOptions) -> Iterator[tuple[str, int | None, bytes]]:
    pq = _pyarrow_parquet()
    import pyarrow as pa

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except (OSError, pa.ArrowException) as exc:
        raise ShardError(f"cannot read the Parquet file: {exc}") from None
    column, in_struct = image_column(schema, options.image_column)
    key = options.key_column
    if key is not None and key not in schema.names:
        raise ShardError(f"no key column {key!r} (columns: {', '.join(schema.names)})")
    if key is None:
        key = next((k for k in KEY_COLUMNS if k in schema.names), None)
    columns = [column] + ([key] if key and key != column else [])
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH, columns=columns):
            images = batch.column(0)
            if in_struct:
                images = images.field("bytes")
            keys = batch.column(1).to_pylist() if len(columns) > 1 else [None] * len(batch)
            for data, k in zip(images.to_pylist(), keys, strict=True):
                name = str(row) if k is None else str(k)
                row += 1
                if data is None:
                    continue  # a row without an image
                yield name, None, data
    except (OSError, pa.ArrowException) as exc:
        raise ShardError(f"Parquet file truncated or corrupt ({exc})") from None


def hash_shard(path: str, spec: HashSpec, options: ShardOptions) -> ShardResult:
    """Every image of one shard hashed in this process, in order (a cluster task)."""
    result = ShardResult()
    try:
        for key, mtime_ns, data in iter_items(path, options):
            result.items.append((key, len(data), mtime_ns, hash_path(key, spec, data=data)))
    except ShardError as exc:
        result.error = str(exc)
    return result


def item_bytes(path: str, keys: Iterable[str], options: ShardOptions) -> dict[str, bytes]:
    """The bytes of the items ``keys`` of one shard, read in one pass (thumbnails)."""
    wanted = set(keys)
    found: dict[str, bytes] = {}
    try:
        for key, _, data in iter_items(path, options):
            if key in wanted:
                found[key] = data
                if len(found) == len(wanted):
                    break
    except ShardError:
        pass
    return found


# --- hashing many shards ----------------------------------------------------------------

Rows = list[tuple[FileRecord, HashRecord, int, int]]
ShardRunner = Callable[[list[tuple[int, str]], HashSpec, ShardOptions], Iterable]


def _item_work(args: tuple[int, int, str, int | None, bytes, HashSpec]):
    shard, position, key, mtime_ns, data, spec = args
    return shard, position, key, len(data), mtime_ns, hash_path(key, spec, data=data)


def hash_shards(
    shards: Sequence[FileRecord],
    spec: HashSpec,
    options: ShardOptions,
    *,
    num_proc: int | None = None,
    progress: bool = False,
    runner: ShardRunner | None = None,
) -> tuple[Rows, list[ScanError]]:
    """Hash every image of ``shards``: (item, {method: packed}, width, height) in
    shard order, and the items and shards that could not be read.

    Locally the shards are read one after the other here and their images
    hashed by a pool; a ``runner`` (cluster.shard_runner) hashes each shard
    as one task elsewhere."""
    results: dict[int, ShardResult] = {}
    with Progress(len(shards), label="Shards", enabled=progress) as bar:
        if runner is not None:
            for index, res in runner([(k, s.path) for k, s in enumerate(shards)], spec, options):
                results[index] = res
                bar.advance()
        else:
            _hash_here(shards, spec, options, num_proc, results, bar)
    rows: Rows = []
    errors: list[ScanError] = []
    for k, shard in enumerate(shards):
        res = results.get(k, ShardResult())
        for key, size, mtime_ns, (ok, payload, w, h) in res.items:
            name = item_name(shard.path, key)
            if not ok:
                errors.append(ScanError(name, str(payload)))
                continue
            assert isinstance(payload, HashRecord)
            record = FileRecord(
                path=name,
                size=size,
                mtime_ns=shard.mtime_ns if mtime_ns is None else mtime_ns,
                dev=shard.dev,
                ino=shard.ino,
                ctime_ns=shard.ctime_ns,
                shard=shard.path,
            )
            rows.append((record, payload, w, h))
        if res.error is not None:
            errors.append(ScanError(shard.path, res.error))
    return rows, errors


def _hash_here(
    shards: Sequence[FileRecord],
    spec: HashSpec,
    options: ShardOptions,
    num_proc: int | None,
    results: dict[int, ShardResult],
    bar: Progress,
) -> None:
    for k in range(len(shards)):
        results[k] = ShardResult()
    workers = num_proc or max(1, os.cpu_count() or 1)

    def items() -> Iterator[tuple[int, int, str, int | None, bytes, HashSpec]]:
        for k, shard in enumerate(shards):
            try:
                for position, (key, mtime_ns, data) in enumerate(iter_items(shard.path, options)):
                    yield k, position, key, mtime_ns, data, spec
            except ShardError as exc:
                results[k].error = str(exc)
            bar.advance()  # read; its last images may still be hashing

    placed: dict[int, list] = {k: [] for k in range(len(shards))}

    def record(out) -> None:
        k, position, key, size, mtime_ns, outcome = out
        placed[k].append((position, (key, size, mtime_ns, outcome)))

    if workers <= 1:
        with _one_blas_thread():
            for task in items():
                record(_item_work(task))
    else:
        from . import hashes

        hashes.preload(spec.computed, exact=spec.full_decode)
        # The pool's feeder thread would read the whole dataset ahead into
        # memory; at most this many images are in flight.
        room = threading.Semaphore(workers * 16)

        def bounded() -> Iterator:
            for task in items():
                room.acquire()
                yield task

        with _one_blas_thread(), worker_pool(workers) as pool:
            for out in pool.imap_unordered(_item_work, bounded(), chunksize=2):
                room.release()
                record(out)
    for k in range(len(shards)):
        results[k].items = [item for _, item in sorted(placed[k], key=lambda p: p[0])]
