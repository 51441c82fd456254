"""Hashing stage: files -> hashes, in parallel, one decode per file.

A file that cannot be decoded is reported and left out; it never receives a
placeholder hash (the original gave every unreadable file the same value,
so they all "matched" each other).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from . import hashes, lowdetail, signature, thumbs
from .cache import HashStore
from .decode import (
    Decoded,
    DecodeError,
    Pixels,
    decode,
    decode_bytes,
    decode_pixels,
    decode_pixels_bytes,
)
from .hashvalue import names_for, texture_names
from .model import HASH_METHODS, FileRecord, HashedImage, HashRecord, ScanError
from .progress import Progress
from .sorts import stable_order
from .workers import worker_pool

if TYPE_CHECKING:
    from .columns import FileTable, ImageTable

# Computed on every fast-path decode whatever was asked for, so that switching
# method later reads no image: on a 12 MP JPEG decoded at 1/8 scale all five
# together cost a few ms next to the decode's tens of ms (benchmarks/).
ALWAYS_COMPUTED = HASH_METHODS
# Bumped whenever the fast path changes what it produces (cache key).
FAST_DECODE_VERSION = 4


@dataclass(frozen=True, slots=True)
class HashSpec:
    """What to compute: one decode serves every method listed."""

    methods: tuple[str, ...]
    bits: int
    full_decode: bool = True
    all_methods: bool = True  # fast path: also compute (and cache) the other methods
    rotations: bool = False  # also hash the seven turned/mirrored orientations

    @property
    def hash_size(self) -> int:
        return hashes.hash_size_for_bits(self.bits)

    @property
    def reduce_to(self) -> int | None:
        """Shorter side the fast path decodes down to (None: full decode)."""
        if self.full_decode:
            return None
        # At least 8x phash's working side (32 px for 64 bits), so the final
        # Lanczos resize still averages many decoded pixels per output pixel:
        # a 12 MP JPEG decodes at 1/8 scale, a 1080p one at 1/4.
        return max(256, 32 * self.hash_size)

    @property
    def wanted(self) -> tuple[str, ...]:
        """Hash names a cached entry must hold to spare a decode."""
        return names_for(self.methods, tones=True, turns=self.rotations, regions=True)

    @property
    def decode_mode(self) -> str:
        """Cache key part: hashes from the two decode paths are never mixed."""
        return "full" if self.full_decode else f"fast{FAST_DECODE_VERSION}"

    @property
    def computed(self) -> tuple[str, ...]:
        """Every method one decode computes: the requested ones and the rest.

        With --full-decode only the requested ones: there each method resizes
        the full-size picture itself (as ImageHash does), which costs about as
        much as the decode, so storing all five would make that mode 3-4x slower.
        """
        if self.full_decode or not self.all_methods:
            return tuple(self.methods)
        extra = [m for m in ALWAYS_COMPUTED if m not in self.methods]
        if self.hash_size & (self.hash_size - 1) and "whash" in extra:
            extra.remove("whash")  # whash needs a power-of-two side
        return tuple(self.methods) + tuple(extra)


# result of one file: (ok, its hashes | reason, width, height)
_Outcome = tuple[bool, "HashRecord | str", int, int]


@dataclass(slots=True)
class ChunkHashes:
    """Every result of a chunk of files as arrays: what a worker sends back.

    Row k is the k-th path given to :func:`hash_chunk`; rows of files that
    failed (``ok[k]`` false, ``reasons[k]`` says why) hold zeros."""

    ok: np.ndarray  # (B,) bool
    reasons: list[str]  # "" where ok
    width: np.ndarray  # (B,) int64, the original size after EXIF orientation
    height: np.ndarray
    hashes: dict[str, np.ndarray]  # hash name (see hashvalue.HashKey) -> (B, nbytes) uint8
    signature: np.ndarray  # (B, SIGNATURE_BYTES) uint8

    def __len__(self) -> int:
        return len(self.ok)

    def outcome(self, k: int) -> _Outcome:
        """Row k in :func:`hash_path`'s form."""
        if not self.ok[k]:
            return (False, self.reasons[k], 0, 0)
        out = {key: packed[k].tobytes() for key, packed in self.hashes.items()}
        record = HashRecord(out, self.signature[k].tobytes())
        return (True, record, int(self.width[k]), int(self.height[k]))


def hash_path(path: str, spec: HashSpec, data: bytes | None = None) -> _Outcome:
    """Decode once and compute every method of ``spec.computed``.  Runs in worker processes.

    ``data``: the image's bytes, for an image inside a dataset shard (``path``
    is then only its name)."""
    return hash_chunk([path], spec, None if data is None else [data]).outcome(0)


def hash_chunk(
    paths: Sequence[str], spec: HashSpec, data: Sequence[bytes] | None = None
) -> ChunkHashes:
    """Decode each of ``paths`` once, then compute every hash of ``spec.computed``
    (and the signature) for all of them together: on the fast path one
    batched resize, DCT, median and rank per picture size
    (:func:`imgdupes.hashes.compute_batch`); with ``--full-decode`` each
    picture goes through ImageHash's own steps (bit-identical)."""
    count = len(paths)
    reasons = [""] * count
    width = np.zeros(count, dtype=np.int64)
    height = np.zeros(count, dtype=np.int64)
    nbytes = hashes.nbytes_for_bits(spec.hash_size**2)
    keys = names_for(spec.computed, tones=True, turns=False, regions=True)
    textures = set(texture_names(spec.computed))  # 64 bits whatever the hash size
    packed = {
        key: np.zeros((count, lowdetail.NBYTES if key in textures else nbytes), dtype=np.uint8)
        for key in keys
    }
    sigs = np.zeros((count, signature.SIGNATURE_BYTES), dtype=np.uint8)
    rows: list[int] = []
    decoded: list[Decoded | Pixels] = []
    pixels = 0

    def flush() -> None:
        try:
            _fill(packed, sigs, rows, decoded, spec)
        except (ValueError, MemoryError) as exc:
            # the batch failed as a whole; find which pictures cannot be hashed
            if len(decoded) == 1:
                reasons[rows[0]] = f"cannot hash: {exc}"
            else:
                for k, img in zip(rows, decoded, strict=True):
                    try:
                        _fill(packed, sigs, [k], [img], spec)
                    except (ValueError, MemoryError) as one:
                        reasons[k] = f"cannot hash: {one}"
        rows.clear()
        decoded.clear()

    for k, path in enumerate(paths):
        img: Decoded | Pixels
        try:
            if spec.full_decode:
                img = decode(path, spec.reduce_to) if data is None else decode_bytes(data[k])
            elif data is None:
                img = decode_pixels(path, spec.reduce_to)
            else:  # images inside a dataset shard: named by path, held in memory
                img = decode_pixels_bytes(data[k], spec.reduce_to)
        except DecodeError as exc:
            reasons[k] = str(exc)
            continue
        rows.append(k)
        decoded.append(img)
        width[k], height[k] = img.width, img.height
        # A chunk is sized by file bytes; a few small files can still decode
        # big (PNG), so decoded pictures are hashed once they hold this much.
        pixels += img.width * img.height if isinstance(img, Decoded) else img.color.size // 3
        if pixels >= CHUNK_PIXELS:
            flush()
            pixels = 0
    if decoded:
        flush()
    ok = np.array([not r for r in reasons], dtype=bool)
    width[~ok] = 0
    height[~ok] = 0
    return ChunkHashes(ok, reasons, width, height, packed, sigs)


def _fill(
    packed: dict[str, np.ndarray],
    sigs: np.ndarray,
    rows: list[int],
    decoded: list[Decoded | Pixels],
    spec: HashSpec,
) -> None:
    """Hashes and signatures of ``decoded`` into rows ``rows`` of the chunk's arrays."""
    if spec.full_decode:
        _fill_exact(packed, sigs, rows, decoded, spec)  # type: ignore[arg-type]
    else:
        _fill_fast(packed, sigs, rows, decoded, spec)  # type: ignore[arg-type]
    if spec.rotations:
        from .rotations import variant_hashes

        for k, img in zip(rows, decoded, strict=True):
            if isinstance(img, Decoded):
                gray = img.gray
            else:
                gray = Image.fromarray(thumbs.luma(img.color) if img.gray is None else img.gray)
            original = (img.width, img.height)
            turned = variant_hashes(gray, spec.methods, spec.hash_size, original)
            for key, value in turned.items():
                if key not in packed:
                    packed[key] = np.zeros((len(sigs), len(value)), dtype=np.uint8)
                packed[key][k] = np.frombuffer(value, dtype=np.uint8)


def _fill_exact(
    packed: dict[str, np.ndarray],
    sigs: np.ndarray,
    rows: list[int],
    decoded: list[Decoded],
    spec: HashSpec,
) -> None:
    """--full-decode: each picture through ImageHash's own steps."""
    where = np.asarray(rows)
    for k, img in zip(rows, decoded, strict=True):
        original = (img.width, img.height)
        bits = hashes.compute_all(spec.computed, img.gray, spec.hash_size, original)
        for key, b in bits.items():
            packed[key][k] = np.packbits(b.ravel())
    # Always kept: verification needs it.  Its thumbnails are at most 32 px,
    # so a whole-factor box reduction first saves most of the Lanczos work;
    # down to >= 128 px, not 64: from 64 the box's aliasing moves the 32x32
    # thumbnail's fine detail (0.94 from its copy instead of 0.999).
    colors, small = [], []
    for img in decoded:
        factor = min(img.gray.size) // 128
        if factor >= 2:
            colors.append(_pixels(img.color.reduce(factor)))
            small.append(_pixels(img.gray.reduce(factor)))
        else:
            colors.append(_pixels(img.color))
            small.append(_pixels(img.gray))
    sigs[where] = signature.compute_batch(colors, small)
    # The regions' hashes (extra candidates for crops, borders, caption
    # bands) from the same reduced picture: a 32x32 of a region of it.
    for key, b in hashes.region_hashes(spec.computed, small, spec.hash_size).items():
        packed[key][where] = hashes.pack_rows(b)
    names = texture_names(spec.computed)
    chosen = np.flatnonzero(lowdetail.selected(sigs[where]))
    if names and len(chosen):
        picked = [small[k] for k in chosen.tolist()]
        trimmed = np.concatenate([thumbs.trimmed_boxes(g[None]) for g in picked])
        got = lowdetail.texture_hashes(picked, trimmed)
        for at, name in enumerate(names):
            packed[name][where[chosen]] = got[:, at % 2]


def _fill_fast(
    packed: dict[str, np.ndarray],
    sigs: np.ndarray,
    rows: list[int],
    decoded: list[Pixels],
    spec: HashSpec,
) -> None:
    """The fast path: pictures of one size (and whash working size) go through
    one shared reduction (:func:`imgdupes.thumbs.reduce_stack`) that yields
    the hashes' resized pictures, the signature's thumbnails (taken, as with
    --full-decode, from the picture box-reduced to >= 128 px) and the
    regions' (the picture less a uniform border, its top 80%)."""
    methods = spec.computed
    n = spec.hash_size
    hashes.check_batch(methods, n)
    whash = "whash" in methods
    # JPEGs decoded by simplejpeg come without their gray: the reduction makes it
    groups: dict[tuple[tuple[int, ...], int, bool], list[int]] = {}
    for k, img in enumerate(decoded):
        scale = hashes.whash_scale((img.width, img.height), n) if whash else 0
        groups.setdefault((img.color.shape, scale, img.gray is None), []).append(k)
    regions = any(m in hashes.TONE_METHODS for m in methods)
    for (_, scale, no_gray), members in groups.items():
        grays = None if no_gray else np.stack([decoded[k].gray for k in members])  # type: ignore[misc]
        small = thumbs.reduce_stack(
            grays, np.stack([decoded[k].color for k in members]), n, scale, regions
        )
        where = np.asarray([rows[k] for k in members])
        bits = hashes.bits_from_thumbnails(methods, small, n)
        for key, b in bits.items():
            packed[key][where] = hashes.pack_rows(b)
        sigs[where] = signature.from_thumbnails(
            small["color"], small["gray"], small["fine"], small["texture"]
        )
        if thumbs.TEXTURE_HASH in small:
            for at, name in enumerate(texture_names(methods)):
                packed[name][where] = small[thumbs.TEXTURE_HASH][:, at % 2]


def _pixels(img: Image.Image) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 of a mode L or RGB picture (a little quicker than asarray)."""
    w, h = img.size
    shape = (h, w) if img.mode == "L" else (h, w, 3)
    return np.frombuffer(img.tobytes(), dtype=np.uint8).reshape(shape)


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """BLAS limited to one thread while hashing (restored afterwards).

    The fast path's resizes are a matrix product per picture; with one
    hashing process per core, a BLAS that also starts a thread per core in
    each of them made the whole stage 2.4x slower than the plain decode
    instead of 1.2x (benchmarks/hash_throughput.py).  Forked workers inherit
    the limit."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a broken install: slower, still correct
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _work(args: tuple[list[int], list[str], HashSpec]) -> tuple[list[int], ChunkHashes]:
    indices, paths, spec = args
    return indices, hash_chunk(paths, spec)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


# A chunk holds up to this many files and bytes: enough small files that the
# batched hash math and the trip back to the parent cost little per file,
# and one big photo alone so that no worker sits idle behind a long chunk.
CHUNK_FILES = 64
CHUNK_BYTES = 1 << 20
CHUNK_PIXELS = 1 << 23  # decoded pixels held at once by a worker (8 M: ~32 MB)


def _chunks(
    files: Sequence[FileRecord], todo: list[int], workers: int
) -> list[tuple[list[int], list[str]]]:
    from .columns import SIZE, FileTable

    table = FileTable.from_records(files)
    sizes = table.stamps[:, SIZE].tolist()
    paths = table.paths
    # Biggest files first: the last chunks handed out are then the
    # quickest, and no worker waits long for the others at the end.
    todo = sorted(todo, key=lambda i: -sizes[i])
    limit = max(1, min(CHUNK_FILES, len(todo) // (workers * 8)))
    out: list[tuple[list[int], list[str]]] = []
    indices: list[int] = []
    total = 0
    for i in todo:
        indices.append(i)
        total += sizes[i]
        if len(indices) >= limit or total >= CHUNK_BYTES:
            out.append((indices, [paths[k] for k in indices]))
            indices, total = [], 0
    if indices:
        out.append((indices, [paths[k] for k in indices]))
    return out


# Hashes (index, path) pairs elsewhere, yielding (indices, ChunkHashes | reason) as they finish.
Runner = Callable[
    [list[tuple[int, str]], HashSpec], Iterable[tuple[list[int], "ChunkHashes | str"]]
]


def hash_files(
    files: Sequence[FileRecord],
    spec: HashSpec,
    *,
    num_proc: int | None = None,
    progress: bool = False,
    store: HashStore | None = None,
    runner: Runner | None = None,
) -> tuple[list[tuple[FileRecord, HashRecord, int, int]], list[ScanError]]:
    """Hash ``files``; returns (file, its hashes, width, height) in input order.

    With a ``store``, files it already holds (unchanged, every requested
    method present) are not read at all, and each new result is written to
    it as it arrives, so an interrupted run keeps what it computed.
    Workers hash chunks of files (:func:`hash_chunk`) and send back arrays.
    ``runner`` hashes the (index, path) pairs elsewhere (a Dask cluster, see
    cluster.py), yielding (indices, ChunkHashes or the reason they failed).
    :func:`hash_table` does the same into columns.
    """
    outcomes: list[_Outcome | None] = [None] * len(files)
    if store is not None:
        hits = store.lookup_arrays(
            files, spec.decode_mode, spec.bits, spec.wanted, signature.SIGNATURE_VERSION
        )
        # one bytes object per hash and file: what the output (HashedImage) holds
        columns = [(m, [row.tobytes() for row in packed]) for m, packed in hits.hashes.items()]
        raw, read = store.signatures(hits.ids)
        sigs = [row.tobytes() if r else b"" for row, r in zip(raw, read.tolist(), strict=True)]
        names = [m for m, _ in columns]
        for k, (i, w, h) in enumerate(
            zip(hits.index.tolist(), hits.width.tolist(), hits.height.tolist(), strict=True)
        ):
            found = dict(zip(names, [c[k] for _, c in columns], strict=True))
            outcomes[i] = (True, HashRecord(found, sigs[k]), w, h)

    def record(indices: list[int], chunk: ChunkHashes | str) -> None:
        for k, i in enumerate(indices):
            outcomes[i] = (False, chunk, 0, 0) if isinstance(chunk, str) else chunk.outcome(k)

    todo = [i for i in range(len(files)) if outcomes[i] is None]
    _hash_todo(files, todo, spec, num_proc, progress, store, runner, record)
    done: list[tuple[FileRecord, HashRecord, int, int]] = []
    errors: list[ScanError] = []
    for f, outcome in zip(files, outcomes, strict=True):
        assert outcome is not None
        ok, payload, w, h = outcome
        if ok:
            assert isinstance(payload, HashRecord)
            done.append((f, payload, w, h))
        else:
            errors.append(ScanError(f.path, str(payload)))
    return done, errors


def hash_table(
    files: Sequence[FileRecord],
    spec: HashSpec,
    method: str,
    *,
    num_proc: int | None = None,
    progress: bool = False,
    store: HashStore | None = None,
    runner: Runner | None = None,
) -> tuple[ImageTable, list[ScanError]]:
    """:func:`hash_files` into columns: the hashes of ``spec.wanted`` as one
    matrix per key, in input order, as an :class:`~imgdupes.columns.ImageTable`
    whose items are ``method``'s :class:`HashedImage`.  Stored signatures
    stay in the store until the output asks for them; nothing is made per
    file that was already stored."""
    from .columns import FileTable, ImageTable, Signatures, SignatureSpill

    table = FileTable.from_records(files)
    wanted = spec.wanted
    parts: list[tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]] = []
    # the fresh signatures go to a temporary file as they come (a cold run's
    # parent would hold 1.7 KB per file until the end otherwise)
    spill = SignatureSpill(signature.SIGNATURE_BYTES)
    fresh: list[tuple[np.ndarray, np.ndarray]] = []  # (file rows, their slots in the spill)
    failed: dict[int, str] = {}
    pending = np.ones(len(table), dtype=bool)
    if store is not None:
        hits = store.lookup_arrays(
            table, spec.decode_mode, spec.bits, wanted, signature.SIGNATURE_VERSION
        )
        parts.append((hits.index, hits.hashes, hits.width, hits.height, hits.ids))
        pending[hits.index] = False

    def record(indices: list[int], chunk: ChunkHashes | str) -> None:
        if isinstance(chunk, str):
            failed.update(dict.fromkeys(indices, chunk))
            return
        for k in np.flatnonzero(~chunk.ok).tolist():
            failed[indices[k]] = chunk.reasons[k]
        ok = np.flatnonzero(chunk.ok)
        rows = np.asarray(indices, dtype=np.int64)[ok]
        keep = {key: chunk.hashes[key][ok] for key in wanted}
        none = np.full(len(rows), -1, dtype=np.int64)
        parts.append((rows, keep, chunk.width[ok], chunk.height[ok], none))
        fresh.append((rows, spill.append(chunk.signature[ok])))

    todo = np.flatnonzero(pending).tolist()
    _hash_todo(table, todo, spec, num_proc, progress, store, runner, record)
    nbytes = hashes.nbytes_for_bits(spec.hash_size**2)
    parts = [p for p in parts if len(p[0])]
    file_row = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    order = stable_order(file_row)

    def joined(column: list[np.ndarray], shape: tuple[int, ...], dtype: type) -> np.ndarray:
        return np.concatenate(column)[order] if column else np.zeros(shape, dtype=dtype)

    matrices = {key: joined([p[1][key] for p in parts], (0, nbytes), np.uint8) for key in wanted}
    width = joined([p[2] for p in parts], (0,), np.int64)
    height = joined([p[3] for p in parts], (0,), np.int64)
    ids = joined([p[4] for p in parts], (0,), np.int64)
    file_row = file_row[order]
    # where each fresh file landed, for its signature
    position = np.full(len(table), -1, dtype=np.int64)
    position[file_row] = np.arange(len(file_row))
    spill_at = np.full(len(file_row), -1, dtype=np.int64)
    for r, slots in fresh:
        spill_at[position[r]] = slots
    sigs = Signatures.unread(
        len(file_row),
        signature.SIGNATURE_BYTES,
        ids,
        store.signatures if store is not None else None,
        spill if len(spill) else None,
        spill_at,
    )
    errors = [ScanError(table.paths[i], failed[i]) for i in sorted(failed)]
    return ImageTable(table, file_row, method, matrices, width, height, sigs), errors


def stored_table(
    files: FileTable, rows: np.ndarray, spec: HashSpec, method: str, store: HashStore
) -> ImageTable | None:
    """The :class:`~imgdupes.columns.ImageTable` of walked rows ``rows``
    (ascending) alone, every hash and signature read from the ``store``
    (a result snapshot's files); None unless the store holds them all."""
    from .columns import FileTable, ImageTable, Signatures

    part = FileTable(
        [files.paths[r] for r in rows.tolist()],
        files.stamps[rows],
        folders=files.folders,
        folder_of=files.folder_of[rows],
        name_at=files.name_at[rows],
    )
    hits = store.lookup_arrays(
        part, spec.decode_mode, spec.bits, spec.wanted, signature.SIGNATURE_VERSION
    )
    # (np.unique would import numpy.ma: a fifth of what a hit costs beyond the walk)
    if len(hits) != len(rows) or (len(rows) and np.bincount(hits.index).max() > 1):
        return None
    order = np.argsort(hits.index, kind="stable")
    # read when the sets are made, and let go once their images hold them, as
    # a full run does: a dense folder's sets hold every file (the look-up
    # above counts an entry without its signature as missing)
    held = Signatures.unread(
        len(rows), signature.SIGNATURE_BYTES, hits.ids[order], store.signatures
    )
    hashes = {key: m[order] for key, m in hits.hashes.items()}
    return ImageTable(files, rows, method, hashes, hits.width[order], hits.height[order], held)


def _hash_todo(
    files: Sequence[FileRecord],
    todo: list[int],
    spec: HashSpec,
    num_proc: int | None,
    progress: bool,
    store: HashStore | None,
    runner: Runner | None,
    record: Callable[[list[int], ChunkHashes | str], None],
) -> None:
    """Hash ``files[i]`` for i in ``todo``, handing each chunk's results (or
    the reason the whole chunk failed) to ``record`` and to the ``store``."""
    sig_version = signature.SIGNATURE_VERSION

    def done(indices: list[int], chunk: ChunkHashes | str) -> None:
        record(indices, chunk)
        if store is not None and not isinstance(chunk, str):
            store.put_chunk(
                [files[i] for i in indices],
                spec.decode_mode,
                spec.bits,
                chunk.hashes,
                chunk.width,
                chunk.height,
                chunk.signature,
                chunk.ok,
                sig_version,
            )

    workers = num_proc or default_workers()
    tasks = [(indices, paths, spec) for indices, paths in _chunks(files, todo, workers)]
    try:
        # (nothing to hash, a warm run: no BLAS to hold back, no threadpoolctl import)
        limit = _one_blas_thread() if todo else contextlib.nullcontext()
        with limit, Progress(len(files), enabled=progress) as bar:
            bar.skip(len(files) - len(todo))
            if runner is not None:
                # Biggest files first, as _chunks does for the pool below.
                todo = sorted(todo, key=lambda i: -files[i].size)
                for indices, chunk in runner([(i, files[i].path) for i in todo], spec):
                    done(indices, chunk)
                    bar.advance(len(indices))
            elif workers <= 1 or len(todo) < 8:
                for task in tasks:
                    done(*_work(task))
                    bar.advance(len(task[0]))
            else:
                # imported once here, not in every worker (under fork)
                hashes.preload(spec.computed, exact=spec.full_decode)

                with worker_pool(workers) as pool:
                    for indices, chunk in pool.imap_unordered(_work, tasks):
                        done(indices, chunk)
                        bar.advance(len(indices))
    finally:
        if store is not None:
            store.flush()  # Ctrl-C keeps what was computed


def to_hashed(
    rows: list[tuple[FileRecord, HashRecord, int, int]], method: str
) -> list[HashedImage]:
    return [HashedImage.from_record(f, method, rec, w, h) for f, rec, w, h in rows]
