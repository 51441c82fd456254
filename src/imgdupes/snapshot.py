"""Result snapshots: the sets of a tree that has not changed since the last run.

When the walked files (paths in order, each one's dev, inode, size, mtime
and ctime), every option that changes which sets are found or their order,
and the code itself are what an earlier run saw, its sets are the same.
That run kept them in the hash store's database as set labels of the
walked table's rows (the files of a set only), so this run reads the hashes
and signatures of those files alone and skips the store's full read, every
search, the verification and the grouping.

What is applied after the sets are found (the pairs marked "not
duplicates", ``--across``, the plan) runs on a hit as on a miss, and acting
re-checks every file as always: a snapshot only ever stands for the search.
A snapshot is written in one transaction once a run's grouping succeeded;
a store keeps the last :data:`KEEP` of them.  Reading or writing one that
fails costs speed only: the run goes the full way.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from .columns import FileTable
from .config import Config

KEEP = 4  # snapshots per store: a few trees or option sets used in turn
_PATHS_PER_STEP = 1 << 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    key BLOB PRIMARY KEY,
    made REAL NOT NULL,
    files INTEGER NOT NULL,
    forms INTEGER NOT NULL,
    rows BLOB NOT NULL,
    labels BLOB NOT NULL
)
"""

# forms: bits of which hash forms measured the sets' distances (group.finish_labels)
_TONES, _REGIONS = 1, 2

# Every option that changes which sets are found, or the order of the sets
# and of their files.  Options applied after the sets (the plan, --across,
# the reports) are left out, and so are those that only change which files
# the walk finds (-d with --move-to leaves that folder out): the walked table
# is part of the key.  --files-from, --query, --rotations, shards and
# a cluster never use a snapshot (see usable()).
_FIELDS = (
    "targets",
    "recursive",
    "references",
    "hash_method",
    "hash_bits",
    "full_decode",
    "rotations",
    "threshold",
    "engine",
    "params",
    "verify",
    "across",
    "sort",
    "reverse",
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The sets of a run: ``labels[k]`` is the set of walked row ``rows[k]``
    (rows ascending); ``tones``/``regions``: whether those forms measured
    the distances."""

    rows: np.ndarray
    labels: np.ndarray
    tones: bool
    regions: bool


def usable(config: Config, files: object, shards: bool, cluster: bool) -> bool:
    """Whether this run may read and write a snapshot: a plain folder scan
    with the hash store on."""
    return (
        config.use_cache
        and isinstance(files, FileTable)
        and not (
            shards
            or cluster
            or config.rotations
            or config.query
            or config.export_hashes
            or config.files_from
            or config.paths is not None
            or config.hashes_from
            or config.dask_scheduler
        )
    )


def key(config: Config, table: FileTable) -> bytes:
    """The digest of everything the sets of ``table`` depend on."""
    from . import __version__

    h = hashlib.blake2b(digest_size=32)
    h.update(f"imgdupes {__version__} numpy {np.__version__}\0".encode())
    h.update(_code_digest())
    h.update(repr(tuple((name, getattr(config, name)) for name in _FIELDS)).encode())
    if config.engine != "exact":
        # an approximate engine's neighbours are its library's (already loaded)
        from .search.libs import load_library

        h.update(repr(getattr(load_library(config.engine), "__version__", "?")).encode())
    h.update(len(table).to_bytes(8, "little"))
    paths = table.paths
    for lo in range(0, len(paths), _PATHS_PER_STEP):  # a million paths at once: 120 MB more
        part = paths[lo : lo + _PATHS_PER_STEP]
        h.update(("\0".join(part) + "\0").encode("utf-8", "surrogateescape"))
    h.update(np.ascontiguousarray(table.stamps, dtype="<i8").tobytes())
    h.update(repr(sorted(table.aliases.items())).encode("utf-8", "surrogateescape"))
    return h.digest()


_code: list[bytes] = []


def _code_digest() -> bytes:
    """The package's source files: a change of the code (a new version, an
    edited checkout) is a new key without anyone bumping a number."""
    if _code:
        return _code[0]
    root = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.blake2b(digest_size=32)
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                h.update(os.path.relpath(path, root).encode("utf-8", "surrogateescape") + b"\0")
                try:
                    with open(path, "rb") as fh:
                        h.update(fh.read())
                except OSError:
                    h.update(b"?")
    _code.append(h.digest())
    return _code[0]


def read(conn: sqlite3.Connection, digest: bytes, count: int) -> Snapshot | None:
    """The snapshot of ``digest`` for a table of ``count`` rows, or None."""
    try:
        row = conn.execute(
            "SELECT files, forms, rows, labels FROM snapshots WHERE key = ?", (digest,)
        ).fetchone()
    except sqlite3.Error:  # no snapshot table yet, a busy or broken store: the full way
        return None
    if row is None or row[0] != count:
        return None
    forms, blob_rows, blob_labels = row[1], row[2], row[3]
    if len(blob_rows) != len(blob_labels) or len(blob_rows) % 8:
        return None
    rows = np.frombuffer(blob_rows, dtype="<i8").astype(np.int64)
    labels = np.frombuffer(blob_labels, dtype="<i8").astype(np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= count or np.any(np.diff(rows) <= 0)):
        return None
    return Snapshot(rows, labels, bool(forms & _TONES), bool(forms & _REGIONS))


def write(conn: sqlite3.Connection, digest: bytes, count: int, snap: Snapshot) -> bool:
    """Keep ``snap`` under ``digest`` (and the last :data:`KEEP` snapshots
    only), in one transaction; False when it could not be written."""
    forms = (_TONES if snap.tones else 0) | (_REGIONS if snap.regions else 0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_SCHEMA)
            conn.execute(
                "INSERT OR REPLACE INTO snapshots (key, made, files, forms, rows, labels)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    time.time(),
                    count,
                    forms,
                    np.ascontiguousarray(snap.rows, dtype="<i8").tobytes(),
                    np.ascontiguousarray(snap.labels, dtype="<i8").tobytes(),
                ),
            )
            conn.execute(
                "DELETE FROM snapshots WHERE key NOT IN"
                " (SELECT key FROM snapshots ORDER BY made DESC LIMIT ?)",
                (KEEP,),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error:
        return False
    return True
