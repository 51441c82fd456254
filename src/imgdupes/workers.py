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
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from .progress import sigint_held

START_METHOD_ENV = "IMGDUPES_START_METHOD"


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
    """Each worker's first step: the parent's slot, and Ctrl-C left to the parent.

    Ctrl-C reaches every process of the terminal's group; the workers leave it
    to the parent, which stops them, instead of each printing a traceback."""
    global _BIG_SLOT
    _BIG_SLOT = slot
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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
