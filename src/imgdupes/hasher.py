"""Hashing stage: files -> hashes, in parallel, one decode per file.

A file that cannot be decoded is reported and left out; it never receives a
placeholder hash (the original gave every unreadable file the same value,
so they all "matched" each other).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from . import hashes, signature
from .decode import DecodeError, decode
from .model import FileRecord, HashedImage, ScanError
from .progress import Progress

SIGNATURE_KEY = "signature"


@dataclass(frozen=True, slots=True)
class HashSpec:
    """What to compute: one decode serves every method listed."""

    methods: tuple[str, ...]
    bits: int
    full_decode: bool = True

    @property
    def hash_size(self) -> int:
        return hashes.hash_size_for_bits(self.bits)

    @property
    def reduce_to(self) -> int | None:
        if self.full_decode:
            return None
        # phash works on 4x the hash side; keep a margin above it so the
        # Lanczos resize still averages several source pixels per output pixel.
        return 4 * self.hash_size * 2


# result of one file: (ok, {method: packed} | reason, width, height)
_Outcome = tuple[bool, "dict[str, bytes] | str", int, int]


def hash_path(path: str, spec: HashSpec) -> _Outcome:
    """Decode once and compute every requested method.  Runs in worker processes."""
    try:
        img = decode(path, spec.reduce_to)
    except DecodeError as exc:
        return (False, str(exc), 0, 0)
    out: dict[str, bytes] = {}
    try:
        for method in spec.methods:
            bits = hashes.compute(method, img.gray, spec.hash_size, (img.width, img.height))
            out[method] = hashes.pack(bits)
        # Always kept: verification needs it and it costs two tiny resizes.
        out[SIGNATURE_KEY] = signature.compute(img.color, img.gray)
    except (ValueError, MemoryError) as exc:
        return (False, f"cannot hash: {exc}", 0, 0)
    return (True, out, img.width, img.height)


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
) -> tuple[list[tuple[FileRecord, dict[str, bytes], int, int]], list[ScanError]]:
    """Hash ``files``; returns (file, {method: packed}, width, height) in input order."""
    outcomes: list[_Outcome | None] = [None] * len(files)
    workers = num_proc or default_workers()
    tasks = [(i, f.path, spec) for i, f in enumerate(files)]
    with Progress(len(tasks), enabled=progress) as bar:
        if workers <= 1 or len(tasks) < 8:
            for task in tasks:
                i, outcome = _work(task)
                outcomes[i] = outcome
                bar.advance()
        else:
            import multiprocessing

            chunk = max(1, min(32, len(tasks) // (workers * 8)))
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                try:
                    for i, outcome in pool.imap_unordered(_work, tasks, chunksize=chunk):
                        outcomes[i] = outcome
                        bar.advance()
                except KeyboardInterrupt:
                    pool.terminate()
                    raise
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
    return [
        HashedImage(file=f, hash=h[method], width=w, height=hh, signature=h.get(SIGNATURE_KEY, b""))
        for f, h, w, hh in rows
    ]
