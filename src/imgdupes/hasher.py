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

from . import hashes, signature
from .cache import HashStore
from .decode import DecodeError, decode, decode_bytes
from .model import HASH_METHODS, FileRecord, HashedImage, ScanError
from .progress import Progress, quiet_worker, sigint_held

SIGNATURE_KEY = "signature"


# Computed on every fast-path decode whatever was asked for, so that switching
# method later reads no image: on a 12 MP JPEG decoded at 1/8 scale all five
# together cost a few ms next to the decode's tens of ms (benchmarks/).
ALWAYS_COMPUTED = HASH_METHODS
# Bumped whenever the fast path changes what it produces (cache key).
FAST_DECODE_VERSION = 3


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
        """Keys a cached entry must hold to spare a decode."""
        tones = [hashes.tone_key(m) for m in self.methods if m in hashes.TONE_METHODS]
        if not self.rotations:
            return (*self.methods, *tones)
        from .rotations import VARIANTS, variant_key

        turned = [variant_key(m, name) for m in self.methods for name, _ in VARIANTS]
        return (*self.methods, *tones, *turned)

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


# result of one file: (ok, {method: packed} | reason, width, height)
_Outcome = tuple[bool, "dict[str, bytes] | str", int, int]


def hash_path(path: str, spec: HashSpec, data: bytes | None = None) -> _Outcome:
    """Decode once and compute every method of ``spec.computed``.  Runs in worker processes.

    ``data``: the image's bytes, for an image inside a dataset shard (``path``
    is then only its name)."""
    try:
        img = decode(path, spec.reduce_to) if data is None else decode_bytes(data, spec.reduce_to)
    except DecodeError as exc:
        return (False, str(exc), 0, 0)
    try:
        bits = hashes.compute_all(
            spec.computed,
            img.gray,
            spec.hash_size,
            (img.width, img.height),
            exact=spec.full_decode,
        )
        out = {method: hashes.pack(b) for method, b in bits.items()}
        if spec.rotations:
            from .rotations import variant_hashes

            out.update(
                variant_hashes(img.gray, spec.methods, spec.hash_size, (img.width, img.height))
            )
        # Always kept: verification needs it.  Its thumbnails are at most 16 px,
        # so a whole-factor box reduction first (down to >= 64 px) changes
        # nothing that matters and saves most of the Lanczos work.
        factor = min(img.gray.size) // 64
        if factor >= 2:
            out[SIGNATURE_KEY] = signature.compute(
                img.color.reduce(factor), img.gray.reduce(factor)
            )
        else:
            out[SIGNATURE_KEY] = signature.compute(img.color, img.gray)
    except (ValueError, MemoryError) as exc:
        return (False, f"cannot hash: {exc}", 0, 0)
    return (True, out, img.width, img.height)


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


# Hashes (index, path, spec) tasks somewhere else, yielding (index, outcome) as they finish.
Runner = Callable[[list[tuple[int, str, HashSpec]]], Iterable[tuple[int, _Outcome]]]


def _work(args: tuple[int, str, HashSpec]) -> tuple[int, _Outcome]:
    index, path, spec = args
    return index, hash_path(path, spec)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def hash_files(
    files: Sequence[FileRecord],
    spec: HashSpec,
    *,
    num_proc: int | None = None,
    progress: bool = False,
    store: HashStore | None = None,
    runner: Runner | None = None,
) -> tuple[list[tuple[FileRecord, dict[str, bytes], int, int]], list[ScanError]]:
    """Hash ``files``; returns (file, {method: packed}, width, height) in input order.

    With a ``store``, files it already holds (unchanged, every requested
    method present) are not read at all, and each new result is written to
    it as it arrives, so an interrupted run keeps what it computed.

    ``runner`` hashes the (index, path, spec) tasks elsewhere (a Dask
    cluster, see cluster.py) and yields (index, outcome) as results arrive,
    in place of the local pool.
    """
    outcomes: list[_Outcome | None] = [None] * len(files)
    sig_version = signature.SIGNATURE_VERSION
    if store is not None:
        for i, hit in store.lookup(
            files, spec.decode_mode, spec.bits, spec.wanted, sig_version
        ).items():
            outcomes[i] = (
                True,
                {**hit.hashes, SIGNATURE_KEY: hit.signature},
                hit.width,
                hit.height,
            )

    def record(i: int, outcome: _Outcome) -> None:
        outcomes[i] = outcome
        ok, payload, w, h = outcome
        if store is not None and ok:
            assert isinstance(payload, dict)
            methods = {m: v for m, v in payload.items() if m != SIGNATURE_KEY}
            store.put(
                files[i],
                spec.decode_mode,
                spec.bits,
                methods,
                w,
                h,
                payload[SIGNATURE_KEY],
                sig_version,
            )

    workers = num_proc or default_workers()
    tasks = [(i, f.path, spec) for i, f in enumerate(files) if outcomes[i] is None]
    try:
        with _one_blas_thread(), Progress(len(files), enabled=progress) as bar:
            bar.skip(len(files) - len(tasks))
            if runner is not None:
                # Biggest files first, as for the pool below.
                tasks.sort(key=lambda t: -files[t[0]].size)
                for i, outcome in runner(tasks):
                    record(i, outcome)
                    bar.advance()
            elif workers <= 1 or len(tasks) < 8:
                for task in tasks:
                    record(*_work(task))
                    bar.advance()
            else:
                import multiprocessing

                # imported once here, not in every worker
                hashes.preload(spec.computed, exact=spec.full_decode)

                # Small chunks: with big photos a last chunk of many files
                # leaves the other workers idle; tiny files get bigger ones.
                chunk = max(1, min(16, len(tasks) // (workers * 32)))
                # Biggest files first: the last ones handed out are then the
                # quickest, and no worker waits long for the others at the end.
                tasks.sort(key=lambda t: -files[t[0]].size)
                with sigint_held():
                    pool = multiprocessing.get_context("fork").Pool(
                        workers, initializer=quiet_worker
                    )
                with pool:
                    try:
                        for i, outcome in pool.imap_unordered(_work, tasks, chunksize=chunk):
                            record(i, outcome)
                            bar.advance()
                    except KeyboardInterrupt:
                        pool.terminate()
                        raise
    finally:
        if store is not None:
            store.flush()  # Ctrl-C keeps what was computed
    done: list[tuple[FileRecord, dict[str, bytes], int, int]] = []
    errors: list[ScanError] = []
    for f, outcome in zip(files, outcomes, strict=True):
        assert outcome is not None
        ok, payload, w, h = outcome
        if ok:
            assert isinstance(payload, dict)
            done.append((f, payload, w, h))
        else:
            errors.append(ScanError(f.path, str(payload)))
    return done, errors


def to_hashed(
    rows: list[tuple[FileRecord, dict[str, bytes], int, int]], method: str
) -> list[HashedImage]:
    prefix = method + "@"
    return [
        HashedImage(
            file=f,
            hash=h[method],
            width=w,
            height=hh,
            signature=h.get(SIGNATURE_KEY, b""),
            variants={k[len(prefix) :]: v for k, v in h.items() if k.startswith(prefix)},
        )
        for f, h, w, hh in rows
    ]
