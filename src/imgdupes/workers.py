"""Worker processes: how they start, and the pool every parallel stage uses.

The start method: ``fork`` on Linux, where it is safe and cheap (a worker
starts at once, sharing the decoders the parent loaded); ``spawn`` elsewhere:
Windows has no fork, and on macOS system libraries are not fork-safe (Python
itself spawns there since 3.8).  ``IMGDUPES_START_METHOD`` forces one (the
tests run hashing under ``spawn`` with it).  Under spawn a worker imports the
package afresh, so what it runs must be a top-level function of a module and
its arguments picklable; what the workers share (the one big-image slot) is
handed to them when they start.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from .progress import sigint_held

START_METHOD_ENV = "IMGDUPES_START_METHOD"

_M_TRIM_THRESHOLD = -1  # glibc's mallopt() parameter numbers
_M_MMAP_THRESHOLD = -3
HEAP_SLACK = 64 * 1024 * 1024  # freed heap top a worker keeps between two tasks


@functools.cache
def steady_heap(undo_trim_env: bool = False) -> None:
    """Once per hashing worker (local pool or Dask): glibc's malloc
    thresholds at the top of their sliding range (mmap 32 MiB, trim 64 MiB).

    A chunk's float blocks are a few MB; glibc's sliding thresholds sit about
    there, so the heap top was handed back after most chunks and faulted in
    again by the next: 20,000 96x72 JPEGs cold, whole command, 2.97-3.33 s of
    system time against 0.55-0.66 s with these thresholds (user time alike).
    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which
    freezes the mmap threshold at 128 KiB and trims whenever 64 KiB is free
    (1,500 small JPEGs in tasks of 125: 0.49-0.60 s of system time with it,
    0.04-0.08 s with these thresholds); ``undo_trim_env`` overrides that
    setting.  A worker keeps at most 64 MiB of freed memory at its heap's
    top.  Otherwise left alone where the user set either threshold."""
    trim_set = "MALLOC_TRIM_THRESHOLD_" in os.environ
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or (trim_set and not undo_trim_env):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, HEAP_SLACK // 2)
        libc.mallopt(_M_TRIM_THRESHOLD, HEAP_SLACK)
    except (OSError, AttributeError):  # not glibc
        pass


def start_method() -> str:
    forced = os.environ.get(START_METHOD_ENV)
    if forced in multiprocessing.get_all_start_methods():
        return forced  # type: ignore[return-value]
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def context() -> Any:
    return multiprocessing.get_context(start_method())


def _make_slot() -> Any:
    # Made at import, in the process that later starts the workers: they all
    # share it.  A process that cannot make one decodes without waiting.
    try:
        return context().BoundedSemaphore(1)
    except (ImportError, OSError, ValueError):
        return None


# One worker at a time decodes a very big picture (see decode.big_image_slot).
_BIG_SLOT = _make_slot()


def big_slot() -> Any:
    return _BIG_SLOT


def _start_worker(slot: Any) -> None:
    """Each worker's first step: the parent's slot, Ctrl-C left to the parent,
    and the worker's malloc thresholds (:func:`steady_heap`; set here, once
    per worker, never in the caller's own process when it hashes in-process).

    Ctrl-C reaches every process of the terminal's group; the workers leave it
    to the parent, which stops them, instead of each printing a traceback."""
    global _BIG_SLOT
    _BIG_SLOT = slot
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    steady_heap()


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[Any]:
    """A pool of ``workers`` processes; Ctrl-C stops them all and reaches the caller."""
    with sigint_held():
        pool = context().Pool(workers, initializer=_start_worker, initargs=(_BIG_SLOT,))
    with pool:
        try:
            yield pool
        except KeyboardInterrupt:
            pool.terminate()
            raise
