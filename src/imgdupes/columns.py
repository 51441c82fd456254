"""Column tables for the scan: the walk's files and their hashes as arrays.

A warm run over a million files must not make a Python object per file for
files the output never shows.  :class:`FileTable` holds discovery's results
(paths in one list, the stamps in one int64 array) and :class:`ImageTable`
the hashing stage's (a matrix per hash key); both are sequences whose items
(:class:`~imgdupes.model.FileRecord`, :class:`~imgdupes.model.HashedImage`)
are made on demand, only for the rows something asks for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO, overload

import numpy as np

from .errors import RunError
from .hashvalue import REGIONS, forms_among, key_name
from .model import NO_TURNS, FileRecord, HashedImage
from .sorts import unique_sorted

# FileTable.stamps columns, in FileRecord.stamp order
DEV, INO, SIZE, MTIME, CTIME = range(5)


class FileTable(Sequence[FileRecord]):
    """Discovered files as columns; ``table[i]`` is the i-th :class:`FileRecord`.

    ``folders``/``folder_of``/``name_at`` describe rows found by a walk as a
    plain (non-symlink) entry of a folder: their path is the folder's prefix
    followed by the name from ``name_at`` on, so the hash store can key them
    by the folder's real path without resolving each file (-1: resolve it).
    """

    __slots__ = ("paths", "stamps", "aliases", "folders", "folder_of", "name_at", "_records")

    def __init__(
        self,
        paths: list[str],
        stamps: np.ndarray,
        aliases: dict[int, tuple[str, ...]] | None = None,
        folders: list[str] | None = None,
        folder_of: np.ndarray | None = None,
        name_at: np.ndarray | None = None,
        records: list[FileRecord] | None = None,
    ) -> None:
        self.paths = paths
        self.stamps = stamps.reshape(len(paths), 5)
        self.aliases = aliases or {}
        self.folders = folders or []
        n = len(paths)
        self.folder_of = folder_of if folder_of is not None else np.full(n, -1, dtype=np.int32)
        self.name_at = name_at if name_at is not None else np.zeros(n, dtype=np.int32)
        self._records = records

    @classmethod
    def from_records(cls, records: Sequence[FileRecord]) -> FileTable:
        if isinstance(records, FileTable):
            return records
        records = list(records)
        stamps = np.array([r.stamp for r in records], dtype=np.int64).reshape(-1, 5)
        return cls([r.path for r in records], stamps, records=records)

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, i: int) -> FileRecord: ...
    @overload
    def __getitem__(self, i: slice) -> list[FileRecord]: ...
    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if self._records is not None:
            return self._records[i]
        if i < 0:
            i += len(self.paths)
        dev, ino, size, mtime, ctime = self.stamps[i].tolist()
        return FileRecord(
            path=self.paths[i],
            size=size,
            mtime_ns=mtime,
            dev=dev,
            ino=ino,
            aliases=self.aliases.get(i, ()),
            ctime_ns=ctime,
        )

    def __iter__(self) -> Iterator[FileRecord]:
        return (self[i] for i in range(len(self.paths)))

    def identities(self) -> Iterable[tuple[int, int]]:
        return zip(self.stamps[:, DEV].tolist(), self.stamps[:, INO].tolist(), strict=True)

    def alias_lists(self) -> list[list[str]]:
        """[primary, *aliases] of every file with other names, in row order."""
        if self._records is not None:
            return [[f.path, *f.aliases] for f in self._records if f.aliases]
        return [[self.paths[i], *names] for i, names in sorted(self.aliases.items())]


class SignatureSpill:
    """The signatures of the rows hashed in this run, kept out of memory.

    A cold run over a million files would hold 1.7 GB of signatures in the
    parent until verification asks for a few of them; they are written, as
    each chunk arrives, to an unnamed temporary file (gone when the run
    ends, however it ends) and read back by row.  Rows the file cannot take
    (no temporary folder, disk full) are held in memory instead: a
    signature is never lost, so verification sees every one it would have.
    """

    def __init__(self, width: int, directory: str | None = None) -> None:
        self.width = width
        self._directory = directory
        self._file: BinaryIO | None = None
        self._broken = False  # the file failed once: later rows stay in memory
        self._count = 0
        self._starts: list[int] = []  # first slot of each segment, ascending
        self._held: list[np.ndarray | None] = []  # a segment's rows when not in the file

    def __len__(self) -> int:
        return self._count

    def append(self, rows: np.ndarray) -> np.ndarray:
        """Keep ``rows`` ((K, width) uint8); returns their slots."""
        rows = np.ascontiguousarray(rows, dtype=np.uint8).reshape(-1, self.width)
        start = self._count
        self._count += len(rows)
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        self._starts.append(start)
        self._held.append(None if self._write(rows, start) else rows.copy())
        return np.arange(start, start + len(rows), dtype=np.int64)

    def _write(self, rows: np.ndarray, start: int) -> bool:
        if self._broken:
            return False
        try:
            if self._file is None:
                import tempfile

                self._file = tempfile.TemporaryFile(prefix="imgdupes-", dir=self._directory)
            self._write_at(memoryview(rows).cast("B"), start * self.width)
            return True
        except OSError:
            self._broken = True
            return False

    def _write_at(self, data: memoryview, offset: int) -> None:
        assert self._file is not None
        self._file.seek(offset)
        self._file.write(data)
        self._file.flush()  # a full disk says so here, not at a later read

    def _read_at(self, size: int, offset: int) -> bytes:
        assert self._file is not None
        self._file.seek(offset)
        return self._file.read(size)

    def read(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(len(slots), width) uint8 rows of ``slots`` and whether each was read
        (not where the temporary file failed to read back)."""
        slots = np.asarray(slots, dtype=np.int64)
        out = np.zeros((len(slots), self.width), dtype=np.uint8)
        found = np.zeros(len(slots), dtype=bool)
        if not len(slots):
            return out, found
        order = np.argsort(slots, kind="stable")
        ordered = slots[order]
        segment = np.searchsorted(np.asarray(self._starts), ordered, side="right") - 1
        in_file = np.array([h is None for h in self._held])[segment]
        for k in np.unique(segment[~in_file]).tolist():
            pick = np.flatnonzero(segment == k)
            out[order[pick]] = self._held[k][ordered[pick] - self._starts[k]]  # type: ignore[index]
            found[order[pick]] = True
        pick = np.flatnonzero(in_file)
        if len(pick):
            got, ok = self._read_file(ordered[pick])
            out[order[pick]], found[order[pick]] = got, ok
        return out, found

    # rows read at once when the asked ones lie close together, one read each otherwise
    _SPAN = 1024

    def _read_file(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ascending ``slots`` from the file: a span of rows in one read
        where at least one in eight of them is asked for."""
        w = self.width
        out = np.zeros((len(slots), w), dtype=np.uint8)
        found = np.zeros(len(slots), dtype=bool)
        k = 0
        try:
            while k < len(slots):
                lo = int(slots[k])
                end = int(np.searchsorted(slots, lo + self._SPAN, side="left"))
                hi = int(slots[end - 1]) + 1
                if 8 * (end - k) >= hi - lo:
                    span = np.frombuffer(self._read_at((hi - lo) * w, lo * w), dtype=np.uint8)
                    if len(span) == (hi - lo) * w:
                        out[k:end] = span.reshape(-1, w)[slots[k:end] - lo]
                        found[k:end] = True
                    k = end
                    continue
                row = self._read_at(w, lo * w)
                if len(row) == w:
                    out[k] = np.frombuffer(row, dtype=np.uint8)
                    found[k] = True
                k += 1
        except OSError:
            pass  # what could not be read stays "not read" (Signatures.need stops the run)
        return out, found

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Signatures:
    """Signatures of an :class:`ImageTable`'s rows, fetched in bulk when asked.

    Rows hashed in this run are read from their :class:`SignatureSpill`
    (``spill_at``: each row's slot there, -1 for none) or held in memory
    (``fresh_rows``/``fresh``); rows read from the hash store are fetched
    from it by entry id (``fetch(ids) -> (len(ids), S) uint8``), only for
    the rows verification or the output need."""

    def __init__(
        self,
        count: int,
        width: int,
        fresh_rows: np.ndarray,
        fresh: np.ndarray,
        store_ids: np.ndarray,
        fetch: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None,
        spill: SignatureSpill | None = None,
        spill_at: np.ndarray | None = None,
    ) -> None:
        self.width = width
        self._slot = np.full(count, -1, dtype=np.int64)
        self._slot[fresh_rows] = np.arange(len(fresh_rows))
        self._rows: np.ndarray = fresh
        self._present = np.ones(len(fresh_rows), dtype=bool)
        self._ids = store_ids  # (count,) int64, -1 where not from the store
        self._fetch = fetch
        self._spill = spill
        self._spill_at = spill_at if spill is not None else None
        self._fresh = len(fresh_rows)  # slots below this hold rows hashed in this run

    @classmethod
    def unread(
        cls,
        count: int,
        width: int,
        store_ids: np.ndarray,
        fetch: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None,
        spill: SignatureSpill | None = None,
        spill_at: np.ndarray | None = None,
    ) -> Signatures:
        """Signatures none of which is held yet: each read from the store or
        the spill when asked, and let go again by :meth:`release`."""
        none = np.zeros(0, dtype=np.int64)
        held = np.zeros((0, width), dtype=np.uint8)
        return cls(count, width, none, held, store_ids, fetch, spill, spill_at)

    def need(self, rows: np.ndarray) -> None:
        """Make sure ``rows`` are at hand (one bulk read for those that are not)."""
        rows = np.asarray(rows, dtype=np.int64)
        missing = unique_sorted(rows[self._slot[rows] < 0])
        if not len(missing):
            return
        ids = self._ids[missing]
        known = ids >= 0
        if self._fetch is not None and known.all():
            got, present = self._fetch(ids)  # as read: no second copy of them
        else:
            got = np.zeros((len(missing), self.width), dtype=np.uint8)
            present = np.zeros(len(missing), dtype=bool)
            if self._fetch is not None and known.any():
                got[known], present[known] = self._fetch(ids[known])
            if self._spill is not None and self._spill_at is not None:
                at = self._spill_at[missing]
                spilled = at >= 0
                if spilled.any():
                    got[spilled], present[spilled] = self._spill.read(at[spilled])
                    if not present[spilled].all():
                        # a missing signature would let its pairs through unverified
                        raise RunError(
                            "cannot read back the signatures this run put in its temporary file"
                        )
        self._slot[missing] = len(self._rows) + np.arange(len(missing))
        if len(self._rows):
            self._rows = np.concatenate([self._rows.reshape(-1, self.width), got])
            self._present = np.concatenate([self._present, present])
        else:  # the first read (a warm run's only one): no second copy of it
            self._rows, self._present = got, present

    def release(self) -> None:
        """Let go of the rows read from the store or the spill (read again if
        asked): once the sets are made, their images hold their own
        signatures, and a dense folder's sets hold every file."""
        if len(self._rows) > self._fresh and (self._fetch is not None or self._spill is not None):
            self._slot[self._slot >= self._fresh] = -1
            self._rows = self._rows.reshape(-1, self.width)[: self._fresh].copy()
            self._present = self._present[: self._fresh].copy()

    def matrix(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(len(rows), width) uint8 signatures of ``rows`` and whether each
        was read: a view of what is held when ``rows`` are held in that
        order (verification asks for the rows it had read, ascending), else a copy."""
        rows = np.asarray(rows, dtype=np.int64)
        self.need(rows)
        slots = self._slot[rows]
        if len(slots) and slots[-1] - slots[0] == len(slots) - 1:
            if np.array_equal(slots, np.arange(slots[0], slots[-1] + 1)):
                lo, hi = int(slots[0]), int(slots[-1]) + 1
                return self._rows.reshape(-1, self.width)[lo:hi], self._present[lo:hi]
        return self._rows.reshape(-1, self.width)[slots], self._present[slots]

    def __getitem__(self, row: int) -> bytes:
        if self._slot[row] < 0:
            self.need(np.array([row]))
        slot = self._slot[row]
        # b"": not read (verification accepts nothing without a signature)
        return self._rows[slot].tobytes() if self._present[slot] else b""

    def __len__(self) -> int:
        return len(self._slot)

    def of_rows(self, owner: np.ndarray) -> Signatures:
        """The signatures of rows that each stand for row ``owner[k]`` of this
        table (the region pass's rows), read through it."""
        return _OwnedSignatures(self, owner)


class _OwnedSignatures(Signatures):
    def __init__(self, base: Signatures, owner: np.ndarray) -> None:
        self.width = base.width
        self._base = base
        self._owner = np.asarray(owner, dtype=np.int64)

    def need(self, rows: np.ndarray) -> None:
        self._base.need(self._owner[np.asarray(rows, dtype=np.int64)])

    def release(self) -> None:
        self._base.release()

    def matrix(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._base.matrix(self._owner[np.asarray(rows, dtype=np.int64)])

    def __getitem__(self, row: int) -> bytes:
        return self._base[int(self._owner[row])]

    def __len__(self) -> int:
        return len(self._owner)


class ImageTable(Sequence[HashedImage]):
    """The hashing stage's results as columns, in file order.

    Row k is file ``files[file_row[k]]``; ``hashes[key][k]`` its packed hash
    for each hash name (see :class:`~imgdupes.hashvalue.HashKey`).  ``table[k]`` makes (and
    keeps) the :class:`HashedImage` of row k for ``method``; :meth:`made`
    lists the ones made so far: the files the output was built from.
    """

    def __init__(
        self,
        files: Sequence[FileRecord],
        file_row: np.ndarray,
        method: str,
        hashes: dict[str, np.ndarray],
        width: np.ndarray,
        height: np.ndarray,
        signatures: Signatures,
    ) -> None:
        self.files = files
        self.file_row = file_row
        self.method = method
        self.hashes = hashes
        self.width = width
        self.height = height
        self.signatures = signatures
        self._tone, self._turns, self._regions = forms_among(tuple(hashes), method)
        if len(self._regions) != len(REGIONS):
            self._regions = ()
        self._made: dict[int, HashedImage] = {}

    def __len__(self) -> int:
        return len(self.file_row)

    @overload
    def __getitem__(self, k: int) -> HashedImage: ...
    @overload
    def __getitem__(self, k: slice) -> list[HashedImage]: ...
    def __getitem__(self, k):  # type: ignore[no-untyped-def]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self.file_row)
        im = self._made.get(k)
        if im is None:
            tone = self.hashes[self._tone][k].tobytes() if self._tone else None
            turned = (
                {form: self.hashes[key][k].tobytes() for form, key in self._turns}
                if self._turns
                else NO_TURNS
            )
            im = self._made[k] = HashedImage(
                file=self.files[int(self.file_row[k])],
                hash=self.hashes[key_name(self.method)][k].tobytes(),
                width=int(self.width[k]),
                height=int(self.height[k]),
                signature=self.signatures[k],
                tone=tone,
                turned=turned,
                regions=tuple(self.hashes[key][k].tobytes() for _, key in self._regions),
            )
        return im

    def __iter__(self) -> Iterator[HashedImage]:
        return (self[k] for k in range(len(self.file_row)))

    def prepare(self, rows: np.ndarray) -> None:
        """Fetch the signatures of ``rows`` in one go before their items are made."""
        self.signatures.need(rows)

    def made(self) -> list[HashedImage]:
        return list(self._made.values())

    def matrix(self, key: str) -> np.ndarray | None:
        return self.hashes.get(key)

    def form_matrix(self, form: str) -> np.ndarray | None:
        """(N, nbytes) of ``method``'s hashes in ``form`` (see hashvalue); None
        when they were not computed."""
        return self.hashes.get(key_name(self.method, form))

    def path_keys(self) -> _PathKeys:
        return _PathKeys(self)


class _PathKeys(Sequence[bytes]):
    """Row -> the path's bytes (verification's order key), made when asked."""

    def __init__(self, table: ImageTable) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, k):  # type: ignore[no-untyped-def]
        t = self._table
        path = t.files.paths[int(t.file_row[k])] if isinstance(t.files, FileTable) else None
        if path is None:
            path = t.files[int(t.file_row[k])].path
        return path.encode("utf-8", "surrogateescape")


def plain_prefix(folder: str) -> int:
    """Length of ``os.path.join(folder, name)`` before the name."""
    return len(os.path.join(folder, "x")) - 1
