"""``--hashes-from DATASET --dask-scheduler ADDRESS``: the exact search on a Dask cluster.

The same answer as :func:`imgdupes.fromhashes.group_table`, computed where
the hashes are.  Every stage is a task-based shuffle between plain
functions on numpy arrays (no dataframe layer), so what moves and what is
held is visible here:

1. **read** each file on a worker (the same reader as one machine:
   :func:`hashio.read_hashes`), route each row by a mix of its hash to one of
   P partitions;
2. **collapse** identical hashes per partition: a unique hash gets a global
   id ``uid = partition << 40 | row``, and its rows (file, row in file) are
   kept where it lives.  One blank image with millions of rows is one uid
   from here on, never a quadratic block;
3. **join**, once per chunk ``c`` of ``r + 1`` disjoint chunks of the bits:
   route each uid by (c, chunk value) and run the single-machine exact engine
   on each partition.  Two hashes within ``r`` share at least one chunk
   exactly (pigeonhole), so they meet in some round; a pair is kept only in
   the first chunk in which its values are equal, so it counts once and no
   global sort deduplicates anything;
4. **components**: each join task's edges become a spanning forest on its
   worker; forests are merged in a tree (fan-in 8) on the workers, and the
   last merge (one row per unique hash that has a neighbour) is held by one
   worker.  The client sees counts only;
5. **members**: each partition labels its rows with their set (the smallest
   uid of the component); each file is read again on a worker and its rows
   in sets are taken out (its size and mtime must not have changed since the
   first read); then either the client builds the sets with the grouping
   code every other path uses (when they fit), or workers write them as a
   Parquet dataset (``--export-sets``), set by set in that same order.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import hashio
from .config import Config
from .errors import InputError, RunError, opt
from .group import components, labelled_sets, row_entry
from .model import DupSet, SetEntry
from .search import collapse
from .search.bitops import as_words
from .search.mih import Chunk, chunk_keys, find_pairs_mih

Warn = Callable[[str], None]

UID_SHIFT = 40  # uid = partition << 40 | row in partition; ref = file << 40 | row in file
ROWS_PER_PARTITION = 2_000_000  # unique hashes a join task holds, roughly
MAX_CHUNK_BITS = 40
FOREST_FAN_IN = 8
CLIENT_ROWS = 2_000_000  # files in sets that the listing and --json may bring to the client


class ClusterRunError(RunError):
    """The cluster could not finish; the message says what, and no result is shown."""


# --- worker side: plain functions of numpy arrays -------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: spreads hash-like keys evenly over partitions."""
    z = x.astype(np.uint64) + _GOLD
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _route_words(words: np.ndarray) -> np.ndarray:
    h = np.zeros(words.shape[0], dtype=np.uint64)
    for k in range(words.shape[1]):
        h = _mix(h ^ words[:, k])
    return h


def _split(dest: np.ndarray, parts: int, *arrays: np.ndarray) -> list[tuple]:
    """Rows of ``arrays`` grouped by ``dest`` (0..parts-1): one tuple of arrays per part."""
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(parts + 1))
    sorted_arrays = [a[order] for a in arrays]
    return [tuple(a[bounds[p] : bounds[p + 1]] for a in sorted_arrays) for p in range(parts)]


def read_part(path: str, file_index: int, algorithm: str | None, parts: int) -> tuple:
    """Stage 1 map: ``(meta, piece_0, ..., piece_{P-1})``, a piece = (words, refs)."""
    notes: list[str] = []
    try:
        st = os.stat(path)
        table = hashio.read_hashes(path, algorithm, notes.append)
    except hashio.HashFileError as exc:
        return ({"error": str(exc)},) + tuple(
            (np.zeros((0, 1), np.uint64), np.zeros(0, np.int64)) for _ in range(parts)
        )
    except OSError as exc:
        return ({"error": f"{path}: {exc.strerror or exc}"},) + tuple(
            (np.zeros((0, 1), np.uint64), np.zeros(0, np.int64)) for _ in range(parts)
        )
    n = len(table)
    words = as_words(table.matrix) if n else np.zeros((0, 1), np.uint64)
    refs = (np.int64(file_index) << np.int64(UID_SHIFT)) | np.arange(n, dtype=np.int64)
    dest = (_route_words(words) % np.uint64(parts)).astype(np.int64)
    meta = {
        "rows": n,
        "nbits": table.nbits,
        "notes": notes[:3],
        "more_notes": max(0, len(notes) - 3),
        "stamp": (st.st_size, st.st_mtime_ns),
    }
    return (meta, *_split(dest, parts, words, refs))


@dataclass
class Part:
    """Stage 1 reduce: one partition's unique hashes and the rows that hold each."""

    index: int
    words: np.ndarray  # (U, W) uint64, sorted
    counts: np.ndarray  # (U,) rows per unique hash
    refs: np.ndarray  # (N,) refs grouped by unique hash, in uid order

    @property
    def uids(self) -> np.ndarray:
        return (np.int64(self.index) << np.int64(UID_SHIFT)) | np.arange(
            len(self.counts), dtype=np.int64
        )


def collapse_part(index: int, width: int, *pieces: tuple) -> Part:
    words = [w for w, _ in pieces if len(w)]
    refs = [r for _, r in pieces if len(r)]
    if not words:
        return Part(
            index, np.zeros((0, width), np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        )
    w = np.concatenate(words)
    r = np.concatenate(refs)
    del words, refs
    unique, inverse = collapse(w.view(np.uint8).reshape(len(w), -1))
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique)).astype(np.int64)
    return Part(index, as_words(unique), counts, r[order])


def part_size(part: Part) -> tuple[int, int]:
    return len(part.counts), len(part.refs)


def route_chunk(part: Part, chunk_index: int, chunk: Chunk, parts: int) -> tuple:
    """Join map: (uids, words) of the partition, by (chunk index, chunk value)."""
    keys = chunk_keys(part.words, chunk).astype(np.uint64)
    salt = np.uint64(((chunk_index + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    dest = (_mix(keys ^ salt) % np.uint64(parts)).astype(np.int64)
    return tuple(_split(dest, parts, part.uids, part.words))


def join_chunk(chunks: list[Chunk], chunk_index: int, radius: int, *pieces: tuple) -> tuple:
    """Join reduce: (uid_a, uid_b) of every pair within ``radius`` first met in this chunk.

    The single-machine exact engine searches the partition; it also finds
    pairs whose values of this chunk differ (they met here by chance) and
    pairs that share an earlier chunk: both are left to the round that owns them.
    """
    nonempty = [p for p in pieces if len(p[0])]
    if not nonempty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    uids = np.concatenate([u for u, _ in nonempty])
    words = np.concatenate([w for _, w in nonempty])
    del nonempty
    # A hash alone with its value of this chunk has no pair to find in this round
    # (with wide chunks, 256-bit hashes, that is most of them).
    chunk = chunks[chunk_index]
    keys = chunk_keys(words, chunk)
    if chunk.width <= 24:
        shared = np.bincount(keys, minlength=1 << chunk.width)[keys] >= 2
    else:
        _, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
        shared = count[inverse.reshape(-1)] >= 2
    if not shared.all():
        uids, words = uids[shared], words[shared]
    del keys, shared
    if len(uids) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 0
    matrix = words.view(np.uint8).reshape(len(words), -1)
    i, j, _ = find_pairs_mih(matrix, radius)
    found = len(i)
    if found:
        wi, wj = words[i], words[j]
        mine = chunk_keys(wi, chunks[chunk_index]) == chunk_keys(wj, chunks[chunk_index])
        for c in chunks[:chunk_index]:
            mine &= chunk_keys(wi, c) != chunk_keys(wj, c)
        i, j = i[mine], j[mine]
    return uids[i], uids[j], found


def forest(*edge_sets: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Edges (a, b) -> the same components as a star forest (node, smallest node)."""
    a = np.concatenate([e[0] for e in edge_sets] or [np.zeros(0, np.int64)])
    b = np.concatenate([e[1] for e in edge_sets] or [np.zeros(0, np.int64)])
    if len(a) == 0:
        return a, b
    nodes, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    inv = inv.reshape(-1)
    comp = components(len(nodes), inv[: len(a)], inv[len(a) :])
    # nodes are sorted, so the first node seen in each component is its smallest
    _, first = np.unique(comp, return_index=True)
    root = nodes[first][comp]
    keep = nodes != root
    return nodes[keep], root[keep]


def split_forest(tree: tuple[np.ndarray, np.ndarray], parts: int) -> tuple:
    """Per partition: (uid, label) of its uids that have a neighbour; a root labels itself."""
    node, root = tree
    roots = np.unique(root)
    uid = np.concatenate([node, roots])
    label = np.concatenate([root, roots])
    dest = (uid >> np.int64(UID_SHIFT)).astype(np.int64)
    return tuple(_split(dest, parts, uid, label))


def label_rows(part: Part, nfiles: int, linked: tuple) -> tuple:
    """Refs of the partition's rows in sets with their set label, grouped by file.

    A uid is in a set when it has a neighbour or more than one row.
    """
    uids = part.uids
    label = np.full(len(uids), -1, dtype=np.int64)
    luid, llabel = linked
    if len(luid):
        label[luid & np.int64((1 << UID_SHIFT) - 1)] = llabel
    alone = (label < 0) & (part.counts >= 2)
    label[alone] = uids[alone]
    row_label = np.repeat(label, part.counts)
    keep = row_label >= 0
    refs, row_label = part.refs[keep], row_label[keep]
    dest = (refs >> np.int64(UID_SHIFT)).astype(np.int64)
    return (len(refs), *_split(dest, nfiles, refs & np.int64((1 << UID_SHIFT) - 1), row_label))


def member_rows(path: str, algorithm: str | None, stamp: tuple, *pieces: tuple) -> dict:
    """The rows of one file that are in sets, read again: label, path, hash, size, mtime."""
    rows = np.concatenate([p[0] for p in pieces])
    labels = np.concatenate([p[1] for p in pieces])
    if len(rows) == 0:
        return {"label": labels, "path": [], "matrix": None, "size": rows, "mtime": rows}
    st = os.stat(path)
    if (st.st_size, st.st_mtime_ns) != tuple(stamp):
        raise RuntimeError(f"{path} changed while it was being searched")
    table = hashio.read_hashes(path, algorithm, lambda msg: None)
    paths = table.paths.take(rows) if hasattr(table.paths, "take") else None
    return {
        "label": labels,
        "path": paths.to_pylist() if paths is not None else [table.paths[k] for k in rows],
        "matrix": table.matrix[rows],
        "size": table.size[rows],
        "mtime": table.mtime_ns[rows],
    }


def route_members(members: dict, parts: int) -> tuple:
    dest = (_mix(members["label"].astype(np.uint64)) % np.uint64(parts)).astype(np.int64)
    order = np.argsort(dest, kind="stable")
    bounds = np.searchsorted(dest[order], np.arange(parts + 1))
    out = []
    for p in range(parts):
        sel = order[bounds[p] : bounds[p + 1]]
        out.append(
            {
                "label": members["label"][sel],
                "path": [members["path"][k] for k in sel.tolist()],
                "matrix": None if members["matrix"] is None else members["matrix"][sel],
                "size": members["size"][sel],
                "mtime": members["mtime"][sel],
            }
        )
    return tuple(out)


def build_sets(
    nbits: int, sort: list[str], reverse: bool, members: list[dict]
) -> list[tuple[int, DupSet]]:
    """(label, set) in the order of every other path (``order_sets``)."""
    parts = [m for m in members if len(m["label"])]
    if not parts:
        return []
    labels = np.concatenate([m["label"] for m in parts])
    paths = [p for m in parts for p in m["path"]]
    matrix = np.concatenate([m["matrix"] for m in parts])
    size = np.concatenate([m["size"] for m in parts])
    mtime = np.concatenate([m["mtime"] for m in parts])

    def entry(k: int) -> SetEntry:
        return row_entry(paths[k], int(size[k]), int(mtime[k]), matrix[k].tobytes(), nbits)

    return labelled_sets(labels, entry, sort, reverse)


def write_sets_part(
    directory: str, index: int, nbits: int, sort: list[str], reverse: bool, *members: dict
) -> tuple[int, int]:
    """One file of ``--export-sets``: its sets in listing order, the first file of each first."""
    import pyarrow.parquet as pq

    sets = build_sets(nbits, sort, reverse, list(members))
    table = sets_table(sets)
    os.makedirs(directory, exist_ok=True)
    pq.write_table(table, os.path.join(directory, f"part-{index:05d}.parquet"))
    return len(sets), table.num_rows


def sets_table(sets: list[tuple[int, DupSet]]):
    import pyarrow as pa

    cols: dict[str, list] = {k: [] for k in ("set_id", "path", "distance", "hash", "size", "mtime")}
    for label, s in sets:
        for e in s.entries:
            cols["set_id"].append(label)
            cols["path"].append(e.path)
            cols["distance"].append(e.distance)
            cols["hash"].append(e.hash_hex)
            cols["size"].append(e.size)
            cols["mtime"].append(e.mtime_ns / 1e9)
    return pa.table(
        {
            "set_id": pa.array(cols["set_id"], pa.int64()),
            "path": pa.array(cols["path"], pa.string()),
            "distance": pa.array(cols["distance"], pa.int32()),
            "hash": pa.array(cols["hash"], pa.string()),
            "size": pa.array(cols["size"], pa.int64()),
            "mtime": pa.array(cols["mtime"], pa.float64()),
        }
    )


# --- client side ------------------------------------------------------------------------------


def plan_chunks(nbits: int, radius: int) -> list[Chunk]:
    """``r + 1`` disjoint chunks of the hash's whole bytes (a half byte is left out:
    pigeonhole holds for any disjoint chunks); one chunk of no bits when the
    radius leaves less than a bit per chunk (everything then meets in one task)."""
    usable = 8 * (nbits // 8)
    width = min(usable // (radius + 1), MAX_CHUNK_BITS)
    if width < 1:
        return [Chunk(0, 0, 0)]
    return [Chunk(k * width, width, 0) for k in range(radius + 1)]


@dataclass
class ClusterStats:
    """What a run did, for ``--summarize`` lines and the benchmark."""

    files: int = 0
    rows: int = 0
    unique: int = 0
    partitions: int = 0
    chunks: int = 0
    candidates: int = 0
    edges: int = 0
    linked: int = 0
    rows_in_sets: int = 0
    sets_exported: int = 0
    seconds: dict = field(default_factory=dict)  # wall time per stage

    def lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now


def _gather(client, futures, what: str):
    try:
        return client.gather(futures)
    except Exception as exc:  # any task failure, a worker lost beyond Dask's retries
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterRunError(
            f"the cluster could not finish {what} ({type(exc).__name__}: {why}); no result is shown"
        ) from None


def search(
    client,
    spec: str,
    config: Config,
    warn: Warn,
    export_dir: str | None = None,
    partitions: int | None = None,
    stats: ClusterStats | None = None,
) -> tuple[int, list[DupSet] | None]:
    """(bits, sets) of the dataset ``spec``; sets is None when only exported."""
    stats = stats if stats is not None else ClusterStats()
    submit = client.submit
    t = time.perf_counter()
    try:
        files = submit(list_files, spec, pure=False).result()
    except hashio.HashFileError as exc:
        raise InputError(str(exc), spec) from None
    except Exception as exc:
        raise ClusterRunError(
            f"the cluster could not list {opt('hashes_from')} {spec}: {exc}"
        ) from None
    nfiles = len(files)
    threads = sum(client.nthreads().values()) or 1
    P = partitions or max(2 * threads, nfiles)
    stats.files, stats.partitions = nfiles, P

    # 1. read and route by hash
    maps = [submit(read_part, f, k, config.hash_method, P, pure=False) for k, f in enumerate(files)]
    metas = _gather(client, [submit(operator.getitem, m, 0) for m in maps], "reading the files")
    bad = [m["error"] for m in metas if "error" in m]
    for m, f in zip(metas, files, strict=True):
        for note in m.get("notes", []):
            warn(note)
        if m.get("more_notes"):
            warn(f"{f}: {m['more_notes']} more rows skipped")
    used = [(m["nbits"], f) for m, f in zip(metas, files, strict=True) if m.get("rows")]
    try:
        hashio.check_dataset(spec, nfiles, bad, [b for b, _ in used], [f for _, f in used], warn)
    except hashio.HashFileError as exc:
        client.cancel(maps)
        raise InputError(str(exc), spec) from None
    stats.rows = sum(m.get("rows", 0) for m in metas)
    t = stats.lap("read", t)
    nbits = used[0][0] if used else config.hash_bits
    width = max(1, (nbits + 63) // 64)

    # 2. collapse identical hashes
    parts = [
        submit(collapse_part, p, width, *[submit(operator.getitem, m, 1 + p) for m in maps])
        for p in range(P)
    ]
    sizes = _gather(client, [submit(part_size, x) for x in parts], "collapsing identical hashes")
    del maps
    stats.unique = sum(u for u, _ in sizes)
    t = stats.lap("collapse", t)

    # 3. the join, one round per chunk; each round's edges become forests at once
    chunks = plan_chunks(nbits, config.threshold) if config.threshold > 0 else []
    stats.chunks = len(chunks)
    forests = []
    for ci, chunk in enumerate(chunks):
        routed = [submit(route_chunk, x, ci, chunk, P) for x in parts]
        joins = [
            submit(
                join_chunk,
                chunks,
                ci,
                config.threshold,
                *[submit(operator.getitem, r, q) for r in routed],
            )
            for q in range(P)
        ]
        counts = _gather(
            client,
            [submit(lambda e: (len(e[0]), e[2]), j) for j in joins],
            f"the join on chunk {ci + 1} of {len(chunks)}",
        )
        stats.edges += sum(e for e, _ in counts)
        stats.candidates += sum(c for _, c in counts)
        forests += [submit(forest, j) for j in joins]
        del routed, joins
        t = stats.lap("join", t)
    while len(forests) > 1:
        forests = [
            submit(forest, *forests[k : k + FOREST_FAN_IN])
            for k in range(0, len(forests), FOREST_FAN_IN)
        ]
    tree = forests[0] if forests else submit(forest)
    stats.linked = _gather(client, [submit(lambda f: len(f[0]), tree)], "the components")[0]
    t = stats.lap("components", t)

    # 4. label the rows in sets, fetch them per file
    linked = submit(split_forest, tree, P)
    labelled = [
        submit(label_rows, x, nfiles, submit(operator.getitem, linked, p))
        for p, x in enumerate(parts)
    ]
    in_sets = _gather(client, [submit(operator.getitem, x, 0) for x in labelled], "the labels")
    stats.rows_in_sets = sum(in_sets)
    t = stats.lap("labels", t)
    members = [
        submit(
            member_rows,
            f,
            config.hash_method,
            metas[k]["stamp"],
            *[submit(operator.getitem, x, 1 + k) for x in labelled],
            pure=False,
        )
        for k, f in enumerate(files)
    ]
    fits = stats.rows_in_sets <= CLIENT_ROWS
    if export_dir is not None:
        S = P
        routed = [submit(route_members, m, S) for m in members]
        written = [
            submit(
                write_sets_part,
                export_dir,
                s,
                nbits,
                config.sort,
                config.reverse,
                *[submit(operator.getitem, r, s) for r in routed],
                pure=False,
            )
            for s in range(S)
        ]
        done = _gather(client, written, f"writing the sets to {export_dir}")
        stats.sets_exported = sum(n for n, _ in done)
        t = stats.lap("export", t)
    if not fits:
        if export_dir is None:
            raise ClusterRunError(
                f"{stats.rows_in_sets} files are in sets, more than a listing holds "
                f"({CLIENT_ROWS}); write them with {opt('export_sets')} DIR"
            )
        return nbits, None
    rows = _gather(client, members, "fetching the files in sets")
    t = stats.lap("fetch", t)
    sets = [s for _, s in build_sets(nbits, config.sort, config.reverse, rows)]
    stats.lap("sets on the client", t)
    return nbits, sets


def list_files(spec: str) -> list[str]:
    """The files of ``--hashes-from``, listed on a worker: the client may not see them."""
    if hashio.is_dataset(spec):
        return hashio.dataset_files(spec)
    if not os.path.isfile(spec):
        raise hashio.HashFileError(f"{opt('hashes_from')} {spec}: no such file")
    return [spec]
