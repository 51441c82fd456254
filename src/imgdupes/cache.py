"""The hash store: an SQLite database of hashes already computed.

An entry belongs to one real path and one decode mode (``full`` or the fast
path) and is trusted only while the file keeps the device, inode, size,
mtime and ctime (ns) it had when it was hashed; anything else is a miss and is hashed again.
One decode stores every method it computed at the requested bits, plus the
signature and pixel size, so a later run with another method or threshold
reads no image.

Results are written in small transactions as they arrive (WAL journal), so
an interrupted run keeps its work and two runs at once only wait for each
other.  A file that is not our database (corrupt, foreign, another schema
version) gets one warning and is replaced; a store that cannot be used at all
is switched off for the run with one warning, never failing the run.  The
store of an earlier version (another file name) is replaced with one warning:
its pairs marked as not duplicates are kept, its images hashed again.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from .columns import FileTable
from .model import FileRecord

SCHEMA_VERSION = 3
# "imgD" in ASCII: marks the file as ours so a foreign database is recognised.
APPLICATION_ID = 0x696D6744
DB_NAME = f"hashes-v{SCHEMA_VERSION}.sqlite3"
# Stores of earlier schemas, replaced (their remembered non-duplicates kept).
OLD_DB_NAMES = ("hashes-v2.sqlite3",)

# One row per file, decode mode and hash size, with every hash in one blob
# (``layouts`` says which hash is where); the signatures, which only the
# files verification compares need, in a table of their own.  A warm run
# reads the images table alone: no join per file, and pages of small rows.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS layouts (
    id INTEGER PRIMARY KEY,
    names TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL,
    decode TEXT NOT NULL,
    bits INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sig_version INTEGER NOT NULL,
    layout INTEGER NOT NULL,
    hashes BLOB NOT NULL,
    UNIQUE (path, decode, bits)
);
CREATE TABLE IF NOT EXISTS signatures (
    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS signature_ids ON signatures (image_id);
"""
# The ids of the signatures table apart from its rows: counting them reads a
# few pages, not the table's (a million signatures are 1.7 GB).
_SIGNATURE_IDS = "CREATE INDEX IF NOT EXISTS signature_ids ON signatures (image_id)"
_TABLES = {"layouts", "images", "signatures"}

# How long one run waits for another that holds the write lock, and how many
# times a write batch is retried before the store is given up for the run.
BUSY_TIMEOUT_MS = 30_000
WRITE_RETRIES = 5
# Results are committed every FLUSH_EVERY files or FLUSH_SECONDS, whichever first.
FLUSH_EVERY = 128
FLUSH_SECONDS = 1.0
_LOOKUP_CHUNK = 500

Warn = Callable[[str], None]


def default_cache_dir() -> str:
    """The platform's cache folder for imgdupes (honours XDG_CACHE_HOME on Linux)."""
    import platformdirs

    return platformdirs.user_cache_dir("imgdupes", appauthor=False)


@dataclass(slots=True)
class CachedImage:
    hashes: dict[str, bytes]  # method -> packed bits at the requested size
    width: int
    height: int
    signature: bytes


@dataclass(slots=True)
class CachedColumns:
    """Valid entries as columns: row k belongs to ``files[index[k]]``; its
    signature is read when asked for (:meth:`HashStore.signatures` of ``ids``)."""

    index: np.ndarray  # (K,) int64
    hashes: dict[str, np.ndarray]  # method -> (K, nbytes) uint8
    width: np.ndarray  # (K,) int64
    height: np.ndarray
    ids: np.ndarray  # (K,) int64: the entries' ids in the store

    @classmethod
    def empty(cls, methods: Iterable[str]) -> CachedColumns:
        none = np.zeros(0, dtype=np.int64)
        blank = np.zeros((0, 0), dtype=np.uint8)
        return cls(none, {m: blank for m in methods}, none, none, none)

    def __len__(self) -> int:
        return len(self.index)


_ROWS_PER_STEP = 1 << 15  # rows turned into columns at once: bounds the tuples alive


def layout_name(hashes: dict[str, bytes]) -> str:
    """The layout of an entry's blob: each hash name and its length, sorted by name."""
    return ",".join(f"{name}:{len(hashes[name])}" for name in sorted(hashes))


def parse_layout(names: str) -> dict[str, tuple[int, int]]:
    """Hash name -> (offset, length) in an entry's blob of layout ``names``."""
    out: dict[str, tuple[int, int]] = {}
    at = 0
    for part in names.split(","):
        name, _, length = part.rpartition(":")
        out[name] = (at, int(length))
        at += int(length)
    return out


def _blob(hashes: dict[str, bytes]) -> bytes:
    return b"".join(hashes[name] for name in sorted(hashes))


def _split(blob: bytes, names: str) -> dict[str, bytes]:
    return {name: blob[at : at + n] for name, (at, n) in parse_layout(names).items()}


def _take(
    blobs: np.ndarray, slots: dict[str, tuple[int, int]], wanted: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Each of ``wanted``'s columns of (K, blob length) ``blobs``, contiguous."""
    return {m: np.ascontiguousarray(blobs[:, at : at + n]) for m in wanted for at, n in [slots[m]]}


def _columns(
    rows: list[tuple],
    keys: dict[bytes, int],
    stamps: np.ndarray,
    wanted: tuple[str, ...],
    layouts: dict[int, str],
) -> list[CachedColumns]:
    """Rows (path, id, dev, inode, size, mtime_ns, ctime_ns, width, height,
    layout, hashes) -> the valid ones of ``keys``' files as columns, one
    part per layout holding every one of ``wanted``."""
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    index = np.fromiter(map(keys.get, cols[0], repeat(-1)), dtype=np.int64, count=len(rows))
    numbers = np.array(cols[1:10], dtype=np.int64)
    asked = index >= 0
    valid = np.zeros(len(rows), dtype=bool)
    valid[asked] = (numbers[1:6, asked].T == stamps[index[asked]]).all(axis=1)
    parts = []
    for layout, names in layouts.items():
        slots = parse_layout(names)
        if not set(wanted) <= slots.keys():
            continue
        take = np.flatnonzero(valid & (numbers[8] == layout)).tolist()
        if not take:
            continue
        blob = b"".join([cols[10][k] for k in take])
        blobs = np.frombuffer(blob, dtype=np.uint8).reshape(len(take), -1)
        parts.append(
            CachedColumns(
                index=index[take],
                hashes=_take(blobs, slots, wanted),
                width=numbers[6, take],
                height=numbers[7, take],
                ids=numbers[0, take],
            )
        )
    return parts


def _concat_columns(
    row: tuple,
    keys: dict[bytes, int],
    stamps: np.ndarray,
    wanted: tuple[str, ...],
    names: str,
) -> CachedColumns:
    """One :meth:`HashStore._scan` result (count, paths, ids, stamps, width,
    height, the blobs with their shortest and longest length) of entries of
    layout ``names`` -> the entries of ``keys``' files whose stamps match,
    as columns."""
    count = row[0]
    paths = row[1].split(b"\0")
    numbers = np.stack([np.fromstring(v, dtype=np.int64, sep=",") for v in row[2:10]])
    if len(paths) != count or numbers.shape[1] != count:
        raise _Misaligned
    index = np.fromiter(map(keys.get, paths, repeat(-1)), dtype=np.int64, count=count)
    asked = np.flatnonzero(index >= 0)
    valid = (numbers[1:6, asked].T == stamps[index[asked]]).all(axis=1)
    take = asked[valid]
    blob, shortest, longest = row[10:13]
    if shortest != longest or len(blob) != count * shortest:
        raise _Misaligned
    blobs = np.frombuffer(blob, dtype=np.uint8).reshape(count, -1)[take]
    return CachedColumns(
        index=index[take],
        hashes=_take(blobs, parse_layout(names), wanted),
        width=numbers[6, take],
        height=numbers[7, take],
        ids=numbers[0, take],
    )


def _drop(part: CachedColumns, out: np.ndarray) -> CachedColumns:
    """``part`` without the rows where ``out`` is true."""
    if not out.any():
        return part
    keep = ~out
    return CachedColumns(
        index=part.index[keep],
        hashes={m: h[keep] for m, h in part.hashes.items()},
        width=part.width[keep],
        height=part.height[keep],
        ids=part.ids[keep],
    )


def _symlinks_in(folder: str) -> frozenset[str] | None:
    """Names in ``folder`` that are symlinks, from one listing (None: cannot list)."""
    try:
        with os.scandir(folder) as it:
            return frozenset(e.name for e in it if e.is_symlink())
    except OSError:
        return None


class _Misaligned(Exception):
    """A column read in one piece does not split into the rows it should."""


class _Unusable(Exception):
    """The database file is not one we can read (corrupt, foreign, other version)."""


class HashStore:
    """Read and write cached hashes; see the module docstring for the rules."""

    def __init__(self, path: str, warn: Warn | None = None) -> None:
        self.path = path
        self._warn = warn or (lambda msg: None)
        self._pending: list[_Pending] = []
        self._last_flush = time.monotonic()
        self._realdirs: dict[str, tuple[str, frozenset[str] | None]] = {}
        self.disabled = False
        self._closed = False
        self.conn = self._connect_or_rebuild()

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, cache_dir: str | None = None, warn: Warn | None = None) -> HashStore | None:
        """The store in ``cache_dir`` (default: the platform's), or None with one
        warning when it cannot be used."""
        warn = warn or (lambda msg: None)
        directory = cache_dir or default_cache_dir()
        try:
            os.makedirs(directory, exist_ok=True)
            store = cls(os.path.join(directory, DB_NAME), warn)
        except (OSError, sqlite3.Error) as exc:
            warn(f"{directory}: cannot use the hash cache ({_reason(exc)}); going on without it")
            return None
        for name in OLD_DB_NAMES:
            if os.path.exists(os.path.join(directory, name)):
                store._replace_old(os.path.join(directory, name))
        return store

    def _replace_old(self, old: str) -> None:
        """A store of an earlier schema: its remembered non-duplicates are
        copied over, its hashes are not (they are computed again), and the
        file is removed, with one line saying so."""
        conn = self.conn
        # Removed only once its marks are copied, or when it holds none, or is
        # no database at all: a busy or unreadable old store is left for a
        # later run, so a user's "not duplicates" decisions are never lost.
        copied = True
        try:
            conn.execute("ATTACH DATABASE ? AS old", (old,))
        except sqlite3.OperationalError:
            conn, copied = None, False
        except sqlite3.Error:
            conn = None
        kept = 0
        if conn is not None:
            try:
                made = conn.execute(
                    "SELECT sql FROM old.sqlite_master WHERE type = 'table'"
                    " AND name = 'ignored_pairs'"
                ).fetchone()
                if made is not None:  # the table as ignored.py made it there
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        made[0].replace(
                            "CREATE TABLE ignored_pairs",
                            "CREATE TABLE IF NOT EXISTS main.ignored_pairs",
                            1,
                        )
                    )
                    kept = conn.execute(
                        "INSERT OR IGNORE INTO main.ignored_pairs SELECT * FROM old.ignored_pairs"
                    ).rowcount
                    conn.execute("COMMIT")
            except sqlite3.Error:
                copied = False
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:  # nothing was committed either way: no traceback
                    pass
            finally:
                try:
                    conn.execute("DETACH DATABASE old")
                except sqlite3.Error:
                    pass
        if not copied:
            self._warn(
                f"{old}: hash cache of an earlier version kept for now (cannot read its pairs"
                " marked not duplicates); a later run carries them over"
            )
            return
        gone = False
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(old + suffix)
                gone = gone or not suffix
            except OSError:
                pass
        if gone:  # another run at once may have done it: one line, from one of them
            pairs = f", {kept} pairs marked not duplicates kept" if kept > 0 else ""
            self._warn(
                f"{old}: hash cache of an earlier version replaced by {self.path}{pairs};"
                " its images are hashed again"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if app_id == 0 and version == 0 and not tables:
                self._create(conn)
            elif app_id != APPLICATION_ID:
                raise _Unusable("not an imgdupes hash cache")
            elif version != SCHEMA_VERSION:
                raise _Unusable(f"schema version {version}, this build uses {SCHEMA_VERSION}")
            elif not _TABLES <= tables:
                raise _Unusable("tables missing")
            else:
                _add_signature_ids(conn)
            # WAL lets readers and one writer work at once; NORMAL sync cannot
            # corrupt a WAL database, at worst it loses the last batch on power loss.
            _retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another run may have created it while we waited for the lock.
            if conn.execute("PRAGMA application_id").fetchone()[0] == 0:
                # one statement at a time: executescript() would commit our lock away
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _connect_or_rebuild(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.OperationalError:
            raise  # busy, unreadable folder, disk full: not the file's fault
        except (_Unusable, sqlite3.DatabaseError) as exc:
            self._warn(f"{self.path}: hash cache unusable ({_reason(exc)}); starting a new one")
            self._remove_files()
            return self._connect()

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass

    def _rebuild_after(self, exc: sqlite3.DatabaseError) -> None:
        """A store that broke mid-run: warn once, start again empty."""
        self._warn(f"{self.path}: hash cache unusable ({_reason(exc)}); starting a new one")
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        try:
            self._remove_files()
            self.conn = self._connect()
        except (OSError, sqlite3.Error, _Unusable) as again:
            self._give_up(again)

    def _give_up(self, exc: BaseException) -> None:
        if not self.disabled:
            self._warn(f"{self.path}: hash cache not written ({_reason(exc)}); going on without it")
        self.disabled = True
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        self._closed = True
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> HashStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys ------------------------------------------------------------------------------

    def real_path(self, path: str) -> bytes:
        """The key: the file's real path as bytes (names need not be UTF-8).

        Resolving every component of every path costs one lstat each; each
        folder is resolved once, and which of its names are symlinks comes
        from one listing of it (the directory entries' types, no stat), so a
        file costs a few string operations.
        """
        folder, name = os.path.split(path)
        known = self._realdirs.get(folder)
        if known is None:
            real_folder = os.path.realpath(os.path.abspath(folder or os.curdir))
            known = self._realdirs[folder] = (real_folder, _symlinks_in(real_folder))
        real_folder, links = known
        full = os.path.join(real_folder, name)
        if links is None:
            if os.path.islink(full):
                full = os.path.realpath(full)
        elif name in links:
            full = os.path.realpath(full)
        return os.fsencode(full)

    # --- reading ---------------------------------------------------------------------------

    def keys(self, files: FileTable) -> dict[bytes, int]:
        """Each file's key (:meth:`real_path`) -> its row; files whose key
        cannot be made are left out.  The walked files of a folder are keyed
        together: its real path and their names, as a few bytes operations
        on all of them at once."""
        encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
        keys: dict[bytes, int] = {}
        paths = files.paths
        folder_of = files.folder_of
        # runs of consecutive rows in one folder (-1: a file resolved alone)
        starts = np.flatnonzero(np.diff(folder_of, prepend=-2, append=-2)).tolist()
        for lo, hi in zip(starts[:-1], starts[1:], strict=True):
            f = int(folder_of[lo])
            if f < 0:
                for i in range(lo, hi):
                    try:
                        keys.setdefault(self.real_path(paths[i]), i)
                    except OSError:
                        continue
                continue
            prefix = paths[lo][: int(files.name_at[lo])]
            real = os.path.join(
                os.path.realpath(os.path.abspath(files.folders[f] or os.curdir)), ""
            )
            blob = ("\0" + "\0".join(paths[lo:hi])).encode(encoding, errors)
            if real != prefix:
                # no name holds a NUL or a "/": the folder is only ever at the start
                blob = blob.replace(
                    b"\0" + prefix.encode(encoding, errors), b"\0" + os.fsencode(real)
                )
            run = dict(zip(blob.split(b"\0")[1:], range(lo, hi), strict=True))
            for key in run.keys() & keys.keys():  # never, after discovery: keep the first
                run[key] = keys[key]
            keys.update(run)
        return keys

    def lookup(
        self,
        files: Sequence[FileRecord],
        decode: str,
        bits: int,
        methods: Iterable[str],
        sig_version: int,
    ) -> dict[int, CachedImage]:
        """Entries valid for ``files`` (by index) holding every one of ``methods``."""
        hits = self.lookup_arrays(files, decode, bits, methods, sig_version)
        sigs, read = self.signatures(hits.ids)
        out: dict[int, CachedImage] = {}
        for k, i in enumerate(hits.index.tolist()):
            out[i] = CachedImage(
                {m: packed[k].tobytes() for m, packed in hits.hashes.items()},
                int(hits.width[k]),
                int(hits.height[k]),
                sigs[k].tobytes() if read[k] else b"",
            )
        return out

    def lookup_arrays(
        self,
        files: Sequence[FileRecord],
        decode: str,
        bits: int,
        methods: Iterable[str],
        sig_version: int,
    ) -> CachedColumns:
        """The valid entries of ``files`` holding every one of ``methods``, as columns.

        One row per file (its hashes one blob, the signature left in its own
        table), and the identity check is one comparison of arrays, so a
        warm run over a million files makes no Python object per file
        beyond the row read."""
        wanted = tuple(dict.fromkeys(methods))
        empty = CachedColumns.empty(wanted)
        if self.disabled or not files:
            return empty
        table = FileTable.from_records(files)
        keys = self.keys(table)
        parts: list[CachedColumns] = []
        try:
            layouts = {
                layout: names
                for layout, names in self.conn.execute("SELECT id, names FROM layouts")
                if set(wanted) <= parse_layout(names).keys()
            }
            if not layouts:
                return empty
            marks = ",".join("?" * len(layouts))
            select = (
                "SELECT path, id, dev, inode, size, mtime_ns, ctime_ns, width, height, layout,"
                " hashes FROM images WHERE decode = ? AND bits = ? AND sig_version = ?"
                f" AND layout IN ({marks})"
            )
            head = (decode, bits, sig_version, *layouts)
            stored_count = self.conn.execute("SELECT count(*) FROM images").fetchone()[0]
            if 2 * len(keys) >= stored_count:
                # Most of the store is asked for: one scan in SQLite's order beats
                # an index look-up per file three to one.
                try:
                    parts = self._scan(
                        keys, table.stamps, decode, bits, wanted, sig_version, layouts
                    )
                except _Misaligned:  # never seen: read it a row at a time instead
                    cursor = self.conn.execute(select, head)
                    while batch := cursor.fetchmany(_ROWS_PER_STEP):
                        parts.extend(_columns(batch, keys, table.stamps, wanted, layouts))
            else:
                key_list = list(keys)
                for start in range(0, len(key_list), _LOOKUP_CHUNK):
                    chunk = key_list[start : start + _LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    batch = self.conn.execute(
                        f"{select} AND path IN ({marks})", (*head, *chunk)
                    ).fetchall()
                    parts.extend(_columns(batch, keys, table.stamps, wanted, layouts))
            unsigned = self._unsigned(stored_count)
        except sqlite3.OperationalError as exc:
            self._warn(f"{self.path}: hash cache not read ({_reason(exc)}); hashing everything")
            return empty
        except sqlite3.DatabaseError as exc:
            self._rebuild_after(exc)
            return empty
        if len(unsigned):
            # an entry whose signature is gone is a miss: verification would
            # pass its pairs unchecked
            parts = [_drop(p, np.isin(p.ids, unsigned)) for p in parts]
        parts = [p for p in parts if len(p.index)]
        if not parts:
            return empty
        if len(parts) == 1:
            return parts[0]
        return CachedColumns(
            index=np.concatenate([p.index for p in parts]),
            hashes={m: np.concatenate([p.hashes[m] for p in parts]) for m in wanted},
            width=np.concatenate([p.width for p in parts]),
            height=np.concatenate([p.height for p in parts]),
            ids=np.concatenate([p.ids for p in parts]),
        )

    def _unsigned(self, stored_count: int) -> np.ndarray:
        """Ids of the entries without a signature row (a store edited by hand;
        every write puts both in one transaction): none as long as both
        tables count the same."""
        (signed,) = self.conn.execute("SELECT count(*) FROM signatures").fetchone()
        if signed == stored_count:
            return np.zeros(0, dtype=np.int64)
        rows = self.conn.execute(
            "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM signatures)"
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def _scan(
        self,
        keys: dict[bytes, int],
        stamps: np.ndarray,
        decode: str,
        bits: int,
        wanted: tuple[str, ...],
        sig_version: int,
        layouts: dict[int, str],
    ) -> list[CachedColumns]:
        """Every entry of ``decode`` and ``bits`` in one of ``layouts``, a
        range of ids at a time, each column of the range as one value
        (``group_concat``): the sqlite3 module's cost is per value it hands
        over, and a row per file cost twice what SQLite itself spends."""
        numbers = ", ".join(
            f"group_concat({c})"
            for c in ("id", "dev", "inode", "size", "mtime_ns", "ctime_ns", "width", "height")
        )
        select = (
            f"SELECT count(*), group_concat(path, x'00'), {numbers}, group_concat(hashes, ''),"
            " min(length(hashes)), max(length(hashes)) FROM images"
            " WHERE decode = ? AND bits = ? AND sig_version = ? AND layout = ?"
            " AND id > ? AND id <= ?"
        )
        top = self.conn.execute("SELECT max(id) FROM images").fetchone()[0] or 0
        parts: list[CachedColumns] = []
        factory = self.conn.text_factory
        self.conn.text_factory = bytes  # the paths' and hashes' bytes as they are
        try:
            for lo in range(0, top, _ROWS_PER_STEP):
                for layout, names in layouts.items():
                    row = self.conn.execute(
                        select, (decode, bits, sig_version, layout, lo, lo + _ROWS_PER_STEP)
                    ).fetchone()
                    if row[0]:
                        parts.append(_concat_columns(row, keys, stamps, wanted, names))
        finally:
            self.conn.text_factory = factory
        return parts

    def signatures(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stored signatures of entries ``ids``: (len(ids), SIGNATURE_BYTES)
        uint8 and whether each was read (not where the store broke meanwhile;
        verification never accepts a file without one).

        Read while the store is open or after it was closed (the output asks
        for the signatures of the files in sets once the scan is over)."""
        from .signature import SIGNATURE_BYTES

        out = np.zeros((len(ids), SIGNATURE_BYTES), dtype=np.uint8)
        found = np.zeros(len(ids), dtype=bool)
        if self.disabled or not len(ids):
            return out, found
        where: dict[int, list[int]] = {}
        for k, i in enumerate(ids.tolist()):
            where.setdefault(i, []).append(k)
        wanted = list(where)
        conn = self.conn
        try:
            if self._closed:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for i, sig in conn.execute(
                    f"SELECT image_id, signature FROM signatures WHERE image_id IN ({marks})",
                    chunk,
                ):
                    if len(sig) == SIGNATURE_BYTES:
                        out[where[i]] = np.frombuffer(sig, dtype=np.uint8)
                        found[where[i]] = True
        except sqlite3.Error as exc:
            self._warn(f"{self.path}: hash cache not read ({_reason(exc)})")
        finally:
            if conn is not self.conn:
                conn.close()
        return out, found

    # --- writing ---------------------------------------------------------------------------

    def put(
        self,
        file: FileRecord,
        decode: str,
        bits: int,
        hashes: dict[str, bytes],
        width: int,
        height: int,
        signature: bytes,
        sig_version: int,
    ) -> None:
        """Queue one result; it is committed with the next batch."""
        if self.disabled:
            return
        try:
            key = self.real_path(file.path)
        except OSError:
            return
        self._pending.append(
            _Pending(
                key,
                file,
                decode,
                bits,
                layout_name(hashes),
                _blob(hashes),
                width,
                height,
                signature,
                sig_version,
            )
        )
        self._flush_when_due()

    def _flush_when_due(self) -> None:
        if (
            len(self._pending) >= FLUSH_EVERY
            or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        ):
            self.flush()

    def put_chunk(
        self,
        files: Sequence[FileRecord],
        decode: str,
        bits: int,
        hashes: dict[str, np.ndarray],
        width: np.ndarray,
        height: np.ndarray,
        signature: np.ndarray,
        ok: np.ndarray,
        sig_version: int,
    ) -> None:
        """Queue the results of a chunk as arrays (row k is ``files[k]``:
        ``hashes[method][k]``, ...); rows where ``ok`` is false are skipped."""
        if self.disabled:
            return
        rows = np.flatnonzero(ok)
        if not len(rows):
            self._flush_when_due()
            return
        # Every row of a chunk has the same methods and lengths: one layout and
        # one blob matrix per chunk, not a dict, a name and a join per file.
        order = sorted(hashes)
        names = ",".join(f"{m}:{hashes[m][0].nbytes}" for m in order)
        blobs = (
            np.concatenate(
                [
                    np.ascontiguousarray(hashes[m][rows]).view(np.uint8).reshape(len(rows), -1)
                    for m in order
                ],
                axis=1,
            )
            if order
            else np.zeros((len(rows), 0), dtype=np.uint8)
        )
        for at, k in enumerate(rows.tolist()):
            try:
                key = self.real_path(files[k].path)
            except OSError:
                continue
            self._pending.append(
                _Pending(
                    key,
                    files[k],
                    decode,
                    bits,
                    names,
                    blobs[at].tobytes(),
                    int(width[k]),
                    int(height[k]),
                    signature[k].tobytes(),
                    sig_version,
                )
            )
        self._flush_when_due()

    def flush(self) -> None:
        """Commit queued results in one transaction, retrying while another run writes."""
        self._last_flush = time.monotonic()
        if self.disabled or not self._pending:
            return
        batch, self._pending = self._pending, []
        for attempt in range(WRITE_RETRIES):
            try:
                self._write(batch)
                return
            except sqlite3.OperationalError as exc:
                if _is_busy(exc) and attempt + 1 < WRITE_RETRIES:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                self._give_up(exc)  # locked too long, disk full, read-only
                return
            except sqlite3.DatabaseError as exc:
                self._rebuild_after(exc)
                return

    def _write(self, batch: list[_Pending]) -> None:
        """One transaction, a few statements per batch (not per file): the
        parent writes while the workers hash, on the same cores."""
        latest: dict[tuple[bytes, str, int], _Pending] = {}
        for p in batch:
            latest[(p.key, p.decode, p.bits)] = p  # the same file twice: the later result wins
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # read inside the transaction: another run may have added one
            layouts = {names: i for i, names in conn.execute("SELECT id, names FROM layouts")}
            for decode, bits in {(d, b) for _, d, b in latest}:
                group = [p for (_, d, b), p in latest.items() if d == decode and b == bits]
                self._write_group(conn, decode, bits, group, layouts)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _write_group(
        self,
        conn: sqlite3.Connection,
        decode: str,
        bits: int,
        group: list[_Pending],
        layouts: dict[str, int],
    ) -> None:
        existing: dict[bytes, tuple] = {}
        keys = [p.key for p in group]
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                "SELECT i.path, i.id, i.dev, i.inode, i.size, i.mtime_ns, i.ctime_ns,"
                " i.sig_version, l.names, i.hashes FROM images i JOIN layouts l"
                f" ON l.id = i.layout WHERE i.decode = ? AND i.bits = ? AND i.path IN ({marks})",
                (decode, bits, *chunk),
            ):
                existing[row[0]] = row[1:]

        def layout_of(names: str) -> int:
            if names not in layouts:
                layouts[names] = conn.execute(
                    "INSERT INTO layouts (names) VALUES (?)", (names,)
                ).lastrowid
            return layouts[names]

        from .signature import SIGNATURE_BYTES

        rows = []
        for p in group:
            names, blob = p.names, p.blob
            old = existing.get(p.key)
            if old is not None and tuple(old[1:6]) == p.file.stamp:
                # the same file: keep the methods hashed before (a --full-decode
                # run computes the asked one only) unless hashed again now
                merged = {**_split(old[8], old[7]), **_split(blob, names)}
                names, blob = layout_name(merged), _blob(merged)
            f = p.file
            rows.append(
                (
                    f.size,
                    f.mtime_ns,
                    f.ino,
                    f.dev,
                    f.ctime_ns,
                    p.width,
                    p.height,
                    # an entry without a whole signature is never read back: hashed again
                    p.sig_version if len(p.signature) == SIGNATURE_BYTES else -1,
                    layout_of(names),
                    blob,
                    p.key,
                    decode,
                    bits,
                )
            )
        # one statement for new and known entries alike; a known entry keeps its id
        conn.executemany(
            "INSERT INTO images (size, mtime_ns, inode, dev, ctime_ns, width, height,"
            " sig_version, layout, hashes, path, decode, bits)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (path, decode, bits) DO UPDATE SET size = excluded.size,"
            " mtime_ns = excluded.mtime_ns, inode = excluded.inode, dev = excluded.dev,"
            " ctime_ns = excluded.ctime_ns, width = excluded.width, height = excluded.height,"
            " sig_version = excluded.sig_version, layout = excluded.layout,"
            " hashes = excluded.hashes",
            rows,
        )
        ids = {key: row[0] for key, row in existing.items()}
        fresh_keys = [p.key for p in group if p.key not in existing]
        for start in range(0, len(fresh_keys), _LOOKUP_CHUNK):
            chunk = fresh_keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            ids.update(
                conn.execute(
                    "SELECT path, id FROM images WHERE decode = ? AND bits = ?"
                    f" AND path IN ({marks})",
                    (decode, bits, *chunk),
                )
            )
        conn.executemany(
            "INSERT OR REPLACE INTO signatures (image_id, signature) VALUES (?, ?)",
            [(ids[p.key], p.signature) for p in group],
        )


@dataclass(slots=True)
class _Pending:
    key: bytes
    file: FileRecord
    decode: str
    bits: int
    names: str  # the blob's layout (layout_name)
    blob: bytes  # every hash, in the layout's order (_blob)
    width: int
    height: int
    signature: bytes
    sig_version: int


def _add_signature_ids(conn: sqlite3.Connection) -> None:
    """The index of signature ids, in a store made before it was added (once;
    a store that cannot be written goes without it: counted the slow way)."""
    known = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'signature_ids'"
    ).fetchone()
    if known is None:
        try:
            _retry(lambda: conn.execute(_SIGNATURE_IDS))
        except sqlite3.OperationalError:
            pass


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retry(action: Callable[[], object], tries: int = WRITE_RETRIES) -> None:
    for attempt in range(tries):
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt + 1 == tries:
                raise
            time.sleep(0.05 * (attempt + 1))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
