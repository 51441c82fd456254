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
is switched off for the run with one warning, never failing the run.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .model import FileRecord

SCHEMA_VERSION = 2
# "imgD" in ASCII: marks the file as ours so a foreign database is recognised.
APPLICATION_ID = 0x696D6744
DB_NAME = f"hashes-v{SCHEMA_VERSION}.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    path BLOB NOT NULL,
    decode TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    dev INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sig_version INTEGER NOT NULL,
    signature BLOB NOT NULL,
    UNIQUE (path, decode)
);
CREATE TABLE IF NOT EXISTS hashes (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    bits INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (image_id, method, bits)
) WITHOUT ROWID;
"""

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


class _Unusable(Exception):
    """The database file is not one we can read (corrupt, foreign, other version)."""


class HashStore:
    """Read and write cached hashes; see the module docstring for the rules."""

    def __init__(self, path: str, warn: Warn | None = None) -> None:
        self.path = path
        self._warn = warn or (lambda msg: None)
        self._pending: list[_Pending] = []
        self._last_flush = time.monotonic()
        self._realdirs: dict[str, str] = {}
        self.disabled = False
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
            return cls(os.path.join(directory, DB_NAME), warn)
        except (OSError, sqlite3.Error) as exc:
            warn(f"{directory}: cannot use the hash cache ({_reason(exc)}); going on without it")
            return None

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
            elif not {"images", "hashes"} <= tables:
                raise _Unusable("tables missing")
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

        Resolving every component of every path costs one lstat each; the
        folders are resolved once and only the file itself is checked for
        being a symlink.
        """
        absolute = os.path.abspath(path)
        folder, name = os.path.split(absolute)
        real_folder = self._realdirs.get(folder)
        if real_folder is None:
            real_folder = self._realdirs[folder] = os.path.realpath(folder)
        full = os.path.join(real_folder, name)
        if os.path.islink(full):
            full = os.path.realpath(full)
        return os.fsencode(full)

    # --- reading ---------------------------------------------------------------------------

    def lookup(
        self,
        files: Sequence[FileRecord],
        decode: str,
        bits: int,
        methods: Iterable[str],
        sig_version: int,
    ) -> dict[int, CachedImage]:
        """Entries valid for ``files`` (by index) holding every one of ``methods``."""
        if self.disabled or not files:
            return {}
        wanted = tuple(methods)
        keys: dict[bytes, list[int]] = {}
        for i, f in enumerate(files):
            try:
                keys.setdefault(self.real_path(f.path), []).append(i)
            except OSError:
                continue
        found: dict[int, CachedImage] = {}
        key_list = list(keys)
        try:
            for start in range(0, len(key_list), _LOOKUP_CHUNK):
                chunk = key_list[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                method_marks = ",".join("?" * len(wanted))
                # Only the wanted methods: each joined row repeats the signature.
                rows = self.conn.execute(
                    "SELECT i.path, i.size, i.mtime_ns, i.inode, i.dev, i.ctime_ns,"
                    " i.width, i.height, i.sig_version, i.signature, h.method, h.hash"
                    " FROM images i LEFT JOIN hashes h ON h.image_id = i.id AND h.bits = ?"
                    f" AND h.method IN ({method_marks})"
                    f" WHERE i.decode = ? AND i.path IN ({marks})",
                    (bits, *wanted, decode, *chunk),
                ).fetchall()
                partial: dict[bytes, CachedImage | None] = {}
                for path, size, mtime_ns, inode, dev, ctime_ns, w, h, sv, sig, method, blob in rows:
                    entry = partial.get(path, False)
                    if entry is None:
                        continue  # already found stale
                    if entry is False:
                        entry = None
                        for i in keys[path]:
                            f = files[i]
                            if f.stamp == (dev, inode, size, mtime_ns, ctime_ns):
                                if sv == sig_version:
                                    entry = CachedImage({}, w, h, sig)
                                break
                        partial[path] = entry
                        if entry is None:
                            continue
                    if method is not None:
                        entry.hashes[method] = blob
                for path, entry in partial.items():
                    if entry is not None and all(m in entry.hashes for m in wanted):
                        for i in keys[path]:
                            found[i] = entry
        except sqlite3.OperationalError as exc:
            self._warn(f"{self.path}: hash cache not read ({_reason(exc)}); hashing everything")
            return {}
        except sqlite3.DatabaseError as exc:
            self._rebuild_after(exc)
            return {}
        return found

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
            _Pending(key, file, decode, bits, dict(hashes), width, height, signature, sig_version)
        )
        if (
            len(self._pending) >= FLUSH_EVERY
            or time.monotonic() - self._last_flush >= FLUSH_SECONDS
        ):
            self.flush()

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
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for p in batch:
                key, f, decode, bits = p.key, p.file, p.decode, p.bits
                width, height, signature, sig_version = (
                    p.width,
                    p.height,
                    p.signature,
                    p.sig_version,
                )
                row = conn.execute(
                    "SELECT id, dev, inode, size, mtime_ns, ctime_ns FROM images"
                    " WHERE path = ? AND decode = ?",
                    (key, decode),
                ).fetchone()
                if row is None:
                    image_id = conn.execute(
                        "INSERT INTO images (path, decode, size, mtime_ns, inode, dev, ctime_ns,"
                        " width, height, sig_version, signature)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            key,
                            decode,
                            f.size,
                            f.mtime_ns,
                            f.ino,
                            f.dev,
                            f.ctime_ns,
                            width,
                            height,
                            sig_version,
                            signature,
                        ),
                    ).lastrowid
                else:
                    image_id = row[0]
                    if tuple(row[1:]) != f.stamp:
                        # The file changed: its old hashes (any method, any size) are wrong.
                        conn.execute("DELETE FROM hashes WHERE image_id = ?", (image_id,))
                    conn.execute(
                        "UPDATE images SET size = ?, mtime_ns = ?, inode = ?, dev = ?,"
                        " ctime_ns = ?, width = ?, height = ?, sig_version = ?, signature = ?"
                        " WHERE id = ?",
                        (
                            f.size,
                            f.mtime_ns,
                            f.ino,
                            f.dev,
                            f.ctime_ns,
                            width,
                            height,
                            sig_version,
                            signature,
                            image_id,
                        ),
                    )
                conn.executemany(
                    "INSERT OR REPLACE INTO hashes (image_id, method, bits, hash)"
                    " VALUES (?, ?, ?, ?)",
                    [(image_id, m, bits, h) for m, h in p.hashes.items()],
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM images").fetchone()[0]


@dataclass(slots=True)
class _Pending:
    key: bytes
    file: FileRecord
    decode: str
    bits: int
    hashes: dict[str, bytes]
    width: int
    height: int
    signature: bytes
    sig_version: int


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
