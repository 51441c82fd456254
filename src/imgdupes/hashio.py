"""Hash tables on disk: ``--hashes-from`` reads them, ``--export-hashes`` writes them.

Columns ``path,hash`` (hex as ImageHash prints it; bits = 4 x hex length),
optional ``algorithm``, ``bits``, ``size`` (bytes) and ``mtime`` (seconds
since the epoch).  CSV or Parquet, chosen by the file's extension.

Millions of rows stay columnar: the hex column becomes one (N, nbytes)
uint8 matrix in a few vectorised steps, paths stay in an Arrow array (or a
plain list when pyarrow is missing, CSV only), and Python objects are made
only for the rows that end up in a duplicate set.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import hashes
from .errors import OutputError, opt
from .model import HashedImage
from .outpath import check_output_path

Warn = Callable[[str], None]

COLUMNS = ("path", "hash", "algorithm", "bits", "size", "mtime")
_ROWS_PER_STEP = 1 << 20  # rows decoded per numpy step; bounds temporaries for 10M rows


class HashFileError(ValueError):
    """The file cannot be used at all; the message names it."""


def is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def _pyarrow():
    try:
        import pyarrow
    except ImportError:
        return None
    return pyarrow


def _need_pyarrow(path: str):
    pa = _pyarrow()
    if pa is None:
        raise HashFileError(f"{path}: Parquet needs pyarrow: pip install pyarrow") from None
    return pa


@dataclass
class HashTable:
    """Hashes read from a file: row k is ``paths[k]`` with ``matrix[k]``."""

    paths: Sequence  # Arrow string array or list of str
    matrix: np.ndarray  # (N, nbytes) uint8, packed like the hashing stage's output
    nbits: int
    size: np.ndarray  # (N,) int64 bytes, 0 where unknown
    mtime_ns: np.ndarray  # (N,) int64, 0 where unknown

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def path(self, k: int) -> str:
        value = self.paths[k]
        return value if isinstance(value, str) else value.as_py()


# --- hex <-> packed bits, vectorised ---------------------------------------------------

_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _k, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _k
for _k, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _k


def hex_to_matrix(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, L) ASCII hex digits -> ((N, ceil(L/2)) packed bytes, (N,) bool: row is valid hex)."""
    nib = _NIBBLE[digits]
    ok = ~(nib == 255).any(axis=1)
    if nib.shape[1] % 2:
        nib = np.concatenate([nib, np.zeros((nib.shape[0], 1), np.uint8)], axis=1)
    packed = (nib[:, 0::2] << 4) | (nib[:, 1::2] & 15)
    return packed.astype(np.uint8), ok


def matrix_to_hex(matrix: np.ndarray, nbits: int) -> list[str]:
    """The hex ImageHash prints for each row."""
    if nbits % 4:
        return [hashes.to_hex(row.tobytes(), nbits) for row in matrix]
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    nib = np.empty((matrix.shape[0], 2 * matrix.shape[1]), dtype=np.uint8)
    nib[:, 0::2] = digits[matrix >> 4]
    nib[:, 1::2] = digits[matrix & 15]
    text = nib[:, : nbits // 4].copy().view(f"S{nbits // 4}").ravel()
    return text.astype(str).tolist()


# --- reading ----------------------------------------------------------------------------


# A CSV up to this size is read without pyarrow: for 30,000 rows importing
# pyarrow (and the pandas it pulls in) costs ten times the reading.
_PLAIN_CSV_BYTES = 64 << 20


def _read_arrow(path: str):
    if not is_parquet(path):
        try:
            if os.path.getsize(path) <= _PLAIN_CSV_BYTES:
                return None
        except OSError:
            pass  # reported by the reader
    pa = _need_pyarrow(path) if is_parquet(path) else _pyarrow()
    if pa is None:
        return None
    try:
        if is_parquet(path):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            import pyarrow.csv as pcsv

            strings = {c: pa.string() for c in ("path", "hash", "algorithm")}
            table = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(column_types=strings))
    except OSError as exc:
        raise HashFileError(f"{path}: {exc.strerror or exc}") from None
    except pa.ArrowInvalid as exc:
        raise HashFileError(f"{path}: not a readable {_kind(path)} file: {exc}") from None
    return table


def _text_column(column, path: str, name: str):
    """A column that must hold text, as an Arrow string column: dictionary-encoded
    (pandas ``category``) and large strings are decoded; anything else is one line."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    raise HashFileError(
        f"{path}: column {name!r} must hold text, found {kind}"
        + (" (hex digits as ImageHash prints them)" if name == "hash" else "")
    )


def _kind(path: str) -> str:
    return "Parquet" if is_parquet(path) else "CSV"


def _read_csv_plain(path: str) -> dict[str, list]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise HashFileError(f"{path}: {exc.strerror or exc}") from None
    if b'"' not in data:
        header = data.split(b"\n", 1)[0].decode("utf-8", errors="surrogateescape")
        _check_names(path, [h.strip() for h in header.rstrip("\r").split(",")])
        cols = _split_unquoted(data)
        if cols is not None:
            if not cols:
                raise HashFileError(f"{path}: empty file, expected a header with path,hash")
            return cols
    try:
        with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise HashFileError(f"{path}: empty file, expected a header with path,hash")
            names = [h.strip() for h in header]
            _check_names(path, names)
            cols: dict[str, list] = {n: [] for n in names}
            for row in reader:
                for name, value in zip(names, row + [""] * (len(names) - len(row)), strict=False):
                    cols[name].append(value)
    except OSError as exc:
        raise HashFileError(f"{path}: {exc.strerror or exc}") from None
    return cols


def _check_names(path: str, names: list[str]) -> None:
    twice = sorted({c for c in names if names.count(c) > 1 and c})
    if twice:
        raise HashFileError(f"{path}: column {twice[0]!r} appears more than once")


def _split_unquoted(data: bytes) -> dict[str, list] | None:
    """A CSV without quotes, split with bytes operations (no per-field parsing);
    None when its rows do not all have the header's number of fields."""
    text = data.decode("utf-8", errors="surrogateescape")
    if not text:
        return {}
    # "\n" only (and a "\r" before it), as the csv module splits rows
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    names = [h.strip() for h in lines[0].split(",")]
    blank = [""] * len(names)  # the csv module reads a blank line as a row of nothing
    rows = [line.split(",") if line else blank for line in lines[1:]]
    if any(len(r) != len(names) for r in rows):
        return None
    if not rows:
        return {n: [] for n in names}
    return {n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)}


def _hex_digits(column, arrow: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Hex column -> ((N, L) uint8 digits of the rows of the common length L,
    (N,) bool for those rows, L)."""
    if arrow:
        import pyarrow.compute as pc

        column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
        lengths = pc.utf8_length(pc.utf8_trim_whitespace(column)).fill_null(0)
        lengths = lengths.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        column = [h.strip() for h in column]
        lengths = np.fromiter(map(len, column), dtype=np.int64, count=len(column))
    n = len(lengths)
    if n == 0 or not lengths.any():
        return np.zeros((n, 0), np.uint8), np.zeros(n, bool), 0
    width = int(np.bincount(lengths[lengths > 0]).argmax())
    fits = lengths == width
    digits = np.zeros((n, width), dtype=np.uint8)
    rows = np.flatnonzero(fits)
    if arrow:
        trimmed = pc.utf8_trim_whitespace(column)
        for lo in range(0, len(rows), _ROWS_PER_STEP):
            part = rows[lo : lo + _ROWS_PER_STEP]
            chunk = trimmed.take(part)
            data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
            offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
            offsets = offsets[chunk.offset : chunk.offset + len(chunk)]
            digits[part] = data[offsets[:, None] + np.arange(width)]
    else:
        picked = np.array([column[k] for k in rows], dtype=f"S{width}")
        digits[rows] = picked.view(np.uint8).reshape(len(rows), width)
    return digits, fits, width


def _numbers(column, arrow: bool, n: int, scale: float, path: str, name: str, warn: Warn):
    """A numeric column as int64 (times ``scale``), 0 where missing or unreadable.

    A Parquet timestamp column comes back in nanoseconds whatever ``scale`` says.
    """
    if column is None:
        return np.zeros(n, np.int64)
    if arrow:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.timestamp("ns")).cast(pa.int64())
            return column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        try:
            column = pc.cast(column, pa.float64())
        except pa.ArrowInvalid:
            warn(f"{path}: column {name!r} is not numeric; ignored")
            return np.zeros(n, np.int64)
        values = column.fill_null(0).to_numpy(zero_copy_only=False)
    else:
        try:
            values = np.array([float(v) if v.strip() else 0.0 for v in column])
        except ValueError:
            warn(f"{path}: column {name!r} is not numeric; ignored")
            return np.zeros(n, np.int64)
    return np.round(values * scale).astype(np.int64)


def read_hashes(path: str, algorithm: str | None, warn: Warn) -> HashTable:
    """Read a CSV/Parquet hash table; bad rows are reported (row number = data row, from 1)."""
    if not os.path.isfile(path):
        raise HashFileError(f"{opt('hashes_from')} {path}: no such file")
    table = _read_arrow(path)
    arrow = table is not None
    if arrow:
        names = table.column_names
        twice = sorted({c for c in names if names.count(c) > 1})
        if twice:
            raise HashFileError(f"{path}: column {twice[0]!r} appears more than once")
        cols = {c: table.column(c) for c in names}
        for c in ("path", "hash", "algorithm"):
            if c in cols:
                cols[c] = _text_column(cols[c], path, c)
    else:
        cols = _read_csv_plain(path)
        names = list(cols)
    missing = [c for c in ("path", "hash") if c not in names]
    if missing:
        raise HashFileError(
            f"{path}: no {' or '.join(missing)} column (need path,hash; found {','.join(names)})"
        )
    n = len(cols["path"])
    keep = np.ones(n, dtype=bool)

    if "algorithm" in cols and algorithm:
        if arrow:
            import pyarrow.compute as pc

            same = pc.fill_null(pc.equal(cols["algorithm"], algorithm), True)
            same = same.to_numpy(zero_copy_only=False)
        else:
            same = np.array([a in ("", algorithm) for a in cols["algorithm"]], dtype=bool)
        other = int((~same).sum())
        if other:
            warn(f"{path}: {other} rows hold other algorithms than {algorithm}; skipped")
        keep &= same

    digits, fits, width = _hex_digits(cols["hash"], arrow)
    matrix, valid = hex_to_matrix(digits)
    valid &= fits
    if arrow:
        import pyarrow.compute as pc

        null_path = pc.fill_null(pc.equal(pc.utf8_length(cols["path"]), 0), True)
        null_path = null_path.to_numpy(zero_copy_only=False)
    else:
        null_path = np.array([p == "" for p in cols["path"]], dtype=bool)
    for k in np.flatnonzero(keep & ~valid).tolist():
        raw = cols["hash"][k]
        raw = raw.as_py() if arrow else raw
        if not raw or not str(raw).strip():
            warn(f"{path}: row {k + 1}: no hash; skipped")
        elif len(str(raw).strip()) != width:
            warn(
                f"{path}: row {k + 1}: hash {raw!r} has {len(str(raw).strip())} hex digits, "
                f"expected {width}; skipped"
            )
        else:
            warn(f"{path}: row {k + 1}: hash {raw!r} is not hexadecimal; skipped")
    for k in np.flatnonzero(keep & valid & null_path).tolist():
        warn(f"{path}: row {k + 1}: no path; skipped")
    keep &= valid & ~null_path

    size = _numbers(cols.get("size"), arrow, n, 1, path, "size", warn)
    mtime = _numbers(cols.get("mtime"), arrow, n, 1e9, path, "mtime", warn)
    rows = np.flatnonzero(keep)
    if arrow:
        paths = cols["path"].combine_chunks().take(rows)
    else:
        paths = [cols["path"][k] for k in rows.tolist()]
    return HashTable(
        paths=paths,
        matrix=np.ascontiguousarray(matrix[rows]),
        nbits=4 * width,
        size=size[rows],
        mtime_ns=mtime[rows],
    )


# --- datasets: a folder or glob of Parquet files ---------------------------------------


def is_dataset(spec: str) -> bool:
    """A folder, or a glob pattern that is not itself a file."""
    return os.path.isdir(spec) or (not os.path.exists(spec) and glob.has_magic(spec))


def dataset_files(spec: str) -> list[str]:
    """The Parquet files of a dataset, in path order.

    A folder is searched recursively (Hive-style ``key=value`` subfolders, as
    Spark and Dask write them); names starting with ``_`` or ``.`` are the
    writers' bookkeeping (``_SUCCESS``, ``_metadata``, ``.crc``) and skipped.
    """
    if os.path.isdir(spec):
        found = []
        for root, dirs, names in os.walk(spec):
            dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
            found += [
                os.path.join(root, n)
                for n in names
                if is_parquet(n) and not n.startswith(("_", "."))
            ]
        what = "folder"
    else:
        found = [f for f in glob.glob(spec, recursive=True) if os.path.isfile(f) and is_parquet(f)]
        what = "pattern"
    if not found:
        raise HashFileError(
            f"{opt('hashes_from')} {spec}: no Parquet files (*.parquet, *.pq) in this {what}"
        )
    return sorted(found)


def read_dataset(spec: str, algorithm: str | None, warn: Warn) -> HashTable:
    """Every file of a dataset as one table, in file order.

    A file that cannot be used is named on a line of its own, all of them,
    and then the read fails: a search over part of a dataset would present
    missing sets as if there were none.
    """
    files = dataset_files(spec)
    tables, bad, used = [], [], []
    for f in files:
        try:
            tables.append(read_hashes(f, algorithm, warn))
        except HashFileError as exc:
            bad.append(str(exc))
            continue
        if len(tables[-1]):
            used.append(f)
    widths = [t.nbits for t in tables if len(t)]
    check_dataset(spec, len(files), bad, widths, used, warn)
    return concat_tables(tables)


def check_dataset(
    spec: str, nfiles: int, bad: list[str], nbits: list[int], files: list[str], warn: Warn
) -> None:
    """Raise (after one line per bad file) unless every file is usable and the widths agree."""
    for line in bad:
        warn(line)
    if bad:
        raise HashFileError(
            f"{opt('hashes_from')} {spec}: {len(bad)} of {nfiles} files cannot be used; "
            "nothing was searched"
        )
    widths = sorted(set(nbits))
    if len(widths) > 1:
        first = {b: files[nbits.index(b)] for b in widths}
        raise HashFileError(
            f"{opt('hashes_from')} {spec}: files hold hashes of different widths: "
            + ", ".join(f"{b} bits ({first[b]})" for b in widths)
        )


def concat_tables(tables: list[HashTable]) -> HashTable:
    nbits = tables[0].nbits if tables else 0
    nonempty = [t for t in tables if len(t)] or tables[:1]
    if not nonempty:
        return HashTable(
            [], np.zeros((0, 0), np.uint8), 0, np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
    if len(nonempty) == 1:
        return nonempty[0]
    pa = _pyarrow()
    assert pa is not None  # datasets are Parquet
    paths = pa.concat_arrays(
        [
            t.paths if isinstance(t.paths, pa.Array) else pa.array(t.paths, pa.string())
            for t in nonempty
        ]
    )
    return HashTable(
        paths=paths,
        matrix=np.concatenate([t.matrix for t in nonempty]),
        nbits=nbits,
        size=np.concatenate([t.size for t in nonempty]),
        mtime_ns=np.concatenate([t.mtime_ns for t in nonempty]),
    )


def read_source(spec: str, algorithm: str | None, warn: Warn) -> HashTable:
    """``--hashes-from``: one CSV/Parquet file, or a dataset of Parquet files."""
    if is_dataset(spec):
        return read_dataset(spec, algorithm, warn)
    return read_hashes(spec, algorithm, warn)


# --- writing ----------------------------------------------------------------------------


def write_hashes(
    path: str,
    paths: Sequence[str],
    matrix: np.ndarray,
    nbits: int,
    algorithm: str,
    size: np.ndarray,
    mtime_ns: np.ndarray,
) -> None:
    """Write path,hash,algorithm,bits,size,mtime as CSV or Parquet (by extension)."""
    hexes = matrix_to_hex(matrix, nbits)
    if is_parquet(path):
        pa = _need_pyarrow(path)
        import pyarrow.parquet as pq

        n = len(hexes)
        table = pa.table(
            {
                "path": pa.array(paths, type=pa.string()),
                "hash": pa.array(hexes, type=pa.string()),
                "algorithm": pa.array([algorithm] * n, type=pa.string()),
                "bits": pa.array(np.full(n, nbits, np.int32)),
                "size": pa.array(np.asarray(size, np.int64)),
                "mtime": pa.array(np.asarray(mtime_ns, np.int64) / 1e9),
            }
        )
        pq.write_table(table, path)
        return
    with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for p, h, s, t in zip(paths, hexes, size.tolist(), mtime_ns.tolist(), strict=True):
            writer.writerow((p, h, algorithm, nbits, s, f"{t // 10**9}.{t % 10**9:09d}"))


def write_images(path: str, images: Sequence[HashedImage], algorithm: str, nbits: int) -> None:
    from .columns import MTIME, SIZE, FileTable, ImageTable

    if isinstance(images, ImageTable) and isinstance(images.files, FileTable):
        # straight from the columns: no object per file
        rows = images.file_row
        stamps = images.files.stamps[rows]
        paths = images.files.paths
        matrix = images.matrix(images.method)
        assert matrix is not None
        write_hashes(
            path,
            [paths[r] for r in rows.tolist()],
            matrix,
            nbits,
            algorithm,
            stamps[:, SIZE].copy(),
            stamps[:, MTIME].copy(),
        )
        return
    write_hashes(
        path,
        [im.file.path for im in images],
        hashes.as_matrix([im.hash for im in images], nbits),
        nbits,
        algorithm,
        np.array([im.file.size for im in images], dtype=np.int64),
        np.array([im.file.mtime_ns for im in images], dtype=np.int64),
    )


def write_table(path: str, table: HashTable, algorithm: str) -> None:
    paths = [table.path(k) for k in range(len(table))]
    write_hashes(path, paths, table.matrix, table.nbits, algorithm, table.size, table.mtime_ns)


def check_sets_dir(path: str) -> str | None:
    """Why ``--export-sets`` cannot write to ``path``, or None: it must be a new or empty
    folder, so no part file of an earlier run is ever read as part of this one."""
    if _pyarrow() is None:
        return f"{opt('export_sets')} {path}: Parquet needs pyarrow: pip install pyarrow"
    if os.path.isdir(path):
        if os.listdir(path):
            return f"{opt('export_sets')} {path}: the folder is not empty; name a new or empty one"
        return None
    if os.path.exists(path):
        return f"{opt('export_sets')} {path}: exists and is not a folder"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"{opt('export_sets')} {path}: no such directory {parent}"
    return None


def check_writable(path: str) -> None:
    """Refuse an --export-hashes table that cannot be written, before a long run starts."""
    check_output_path("export_hashes", path, folder_ok=True)
    if is_parquet(path) and _pyarrow() is None:
        raise OutputError(
            f"{opt('export_hashes')} {path}: Parquet needs pyarrow: pip install pyarrow", path
        )
