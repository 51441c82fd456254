"""Hashing on an existing Dask ``distributed`` cluster (``--dask-scheduler ADDRESS``).

The stage is the same as on one machine: workers call ``hasher.hash_chunk`` on
chunks of files they read under the same paths (shared storage), or read one
dataset shard each; results stream back as they finish and go through the
local hash store and progress line exactly as the local pool's do.

Failures, from cheapest to dearest:

* a task that raises is retried by Dask (``RETRIES``);
* a task whose worker died (the scheduler's ``KilledWorker``: a decoder that
  crashed the process, the OOM killer) or that still fails is split into one
  task per file, so the one file that kills workers is named and left out
  while the rest of its chunk is hashed.  One task per file rather than
  halving: each attempt at a killing task costs (allowed-failures + 1) x
  (retries + 1) worker restarts, and halving pays that once per level.

Nothing here is imported unless ``--dask-scheduler`` is given.
"""

from __future__ import annotations

import math
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import __version__
from .errors import RunError
from .hasher import ChunkHashes, HashSpec, Runner, hash_chunk
from .workers import steady_heap

if TYPE_CHECKING:
    from distributed import Client

# Seconds to reach the scheduler before giving up with one line.
CONNECT_TIMEOUT_S = 5.0
# Dask retries a failed task this many times before it reaches us as failed.
RETRIES = 1
# Files per task: large enough that the scheduler's few ms per task vanish
# (benchmarks/cluster_hashing.py), small enough that a lost worker costs little
# and the last tasks do not leave most workers idle.
MAX_CHUNK = 128
TASKS_PER_THREAD = 8


INSTALL_HINT = "pip install 'dask[distributed]' (or pip install '.[dask]' in imgdupes' source)"


LOST_SCHEDULER = "lost the Dask scheduler; what was hashed so far is kept in the hash cache"


class ClusterError(RunError):
    """The cluster cannot be used (unreachable, lost, wrong workers): one line, exit 2."""


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(f"--dask-scheduler needs Dask's distributed: {INSTALL_HINT}") from None
    return distributed


def connect(address: str) -> Client:
    """A client of the scheduler at ``address``; ClusterError (one line) when unusable."""
    distributed = _distributed()
    from distributed.comm import parse_address
    from distributed.comm.registry import get_backend

    try:
        scheme, _ = parse_address(address)
        get_backend(scheme)  # an unknown scheme would otherwise surface as a timeout
    except (ValueError, TypeError) as exc:
        raise ClusterError(f"--dask-scheduler {address}: not a scheduler address ({exc})") from None
    refused = _refused(address)
    if refused:
        raise ClusterError(f"--dask-scheduler {address}: cannot reach the scheduler ({refused})")
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError) as exc:  # TimeoutError is an OSError
        raise ClusterError(
            f"--dask-scheduler {address}: cannot reach the scheduler ({exc or type(exc).__name__})"
        ) from None
    try:
        versions = client.run(_worker_version)
    except Exception as exc:  # whatever a worker raised while loading us
        client.close()
        raise ClusterError(
            f"--dask-scheduler {address}: the workers cannot run imgdupes "
            f"({type(exc).__name__}: {exc}); install the same imgdupes on every worker"
        ) from None
    other = sorted({v for v in versions.values() if v != __version__})
    if other:
        client.close()
        raise ClusterError(
            f"--dask-scheduler {address}: workers run imgdupes {', '.join(other)}, "
            f"this is {__version__}; hashes must come from the same version"
        )
    return client


def _refused(address: str) -> str | None:
    """Why a plain TCP scheduler address refuses connections, at once; None when it
    answers or is not plain TCP (Dask's own retries then decide, up to the timeout)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname:
        return None
    try:
        port = parts.port or 8786
    except ValueError:
        return "not a host:port address"
    try:
        with socket.create_connection((parts.hostname, port), timeout=2):
            return None
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror as exc:
        return f"unknown host: {exc.strerror or exc}"
    except OSError:
        return None


def _worker_version() -> str:
    return __version__


def close(client: Client) -> None:
    try:
        client.close()
    except Exception:  # the scheduler went away; nothing left to tidy
        pass


def _threads(client: Client) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:
        return 1


# --- the generic part: tasks over parts, results streamed, failures narrowed ------------


def _reason(exc: BaseException | None) -> str:
    name = type(exc).__name__ if exc is not None else "unknown error"
    if name == "KilledWorker":
        return "the Dask worker reading it died (a crash in a decoder?); left out"
    return f"failed on the Dask cluster ({name}: {exc})"


def stream(
    client: Client,
    func: Callable[..., list[Any]],
    parts: Sequence[list[Any]],
    args: tuple,
    lost: Callable[[Any, str], Any],
) -> Iterator[Any]:
    """Run ``func(part, *args)`` for every part on the cluster; yield the
    elements of each returned list as tasks finish.

    A part that fails (after Dask's retries, or as ``KilledWorker``) is
    resubmitted one element per task.  An element that fails alone becomes a
    suspect; suspects run one at a time, because a worker's death also fails
    the tasks queued beside it, so only a suspect that fails with no other
    suspect running yields ``lost(element, reason)``.  Pending tasks are
    cancelled when the caller stops (Ctrl-C included).
    """
    distributed = _distributed()
    token = uuid.uuid4().hex[:12]
    part_of: dict[str, tuple[list[Any], bool]] = {}  # key -> (part, run alone)
    serial = 0
    pending: set = set()
    queue = distributed.as_completed([], loop=client.loop)
    suspects: list[Any] = []
    alone_running = False

    def submit(batch: Sequence[list[Any]], alone: bool = False) -> None:
        nonlocal serial
        keys = [f"imgdupes-{func.__name__}-{token}-{serial + k}" for k in range(len(batch))]
        serial += len(batch)
        columns = [[a] * len(batch) for a in args]
        futures = client.map(func, list(batch), *columns, key=keys, retries=RETRIES)
        for fut, part in zip(futures, batch, strict=True):
            part_of[fut.key] = (part, alone)
            pending.add(fut)
            queue.add(fut)

    submit(parts)
    try:
        while pending or suspects:
            if suspects and not alone_running:
                submit([[suspects.pop(0)]], alone=True)
                alone_running = True
            fut = next(queue)
            pending.discard(fut)
            part, alone = part_of.pop(fut.key)
            alone_running = alone_running and not alone
            if fut.status == "finished":
                try:
                    yield from fut.result()
                    continue
                except distributed.CancelledError:
                    raise ClusterError(LOST_SCHEDULER) from None
            if fut.status == "cancelled":
                raise ClusterError(LOST_SCHEDULER)
            if len(part) > 1:
                submit([[x] for x in part])
            elif not alone:
                suspects.append(part[0])
            else:
                yield lost(part[0], _reason(fut.exception()))
    finally:
        if pending:
            try:
                client.cancel(list(pending))
            except Exception:
                pass


def chunked(items: Sequence[Any], threads: int) -> list[list[Any]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(items) / (threads * TASKS_PER_THREAD))))
    return [list(items[k : k + size]) for k in range(0, len(items), size)]


# --- files ------------------------------------------------------------------------------


def hash_files_task(
    items: list[tuple[int, str]], spec: HashSpec
) -> list[tuple[list[int], ChunkHashes]]:
    """Runs on a worker: the same chunk hashing as the local pool (hasher.hash_chunk)."""
    steady_heap(undo_trim_env=True)
    return [([i for i, _ in items], hash_chunk([path for _, path in items], spec))]


def file_runner(client: Client) -> Runner:
    """A ``hasher.hash_files`` runner that hashes the tasks on the cluster."""

    def run(items: list[tuple[int, str]], spec: HashSpec):
        if not items:
            return
        yield from stream(
            client,
            hash_files_task,
            chunked(items, _threads(client)),
            (spec,),
            lost=lambda item, reason: ([item[0]], reason),
        )

    return run


# --- shards -----------------------------------------------------------------------------


def shard_task(
    shards: list[tuple[int, str]], spec: HashSpec, options: Any
) -> list[tuple[int, Any]]:
    """Runs on a worker: every image of the shard (one per task), read in order."""
    from .shards import hash_shard

    steady_heap(undo_trim_env=True)
    return [(index, hash_shard(path, spec, options)) for index, path in shards]


def shard_runner(client: Client) -> Callable[..., Iterable[tuple[int, Any]]]:
    """Yields (shard index, hash_shard() result) as the shards finish, one task each."""

    def run(shards: list[tuple[int, str]], spec: HashSpec, options: Any):
        from .shards import ShardResult

        yield from stream(
            client,
            shard_task,
            [[s] for s in shards],
            (spec, options),
            lost=lambda shard, reason: (shard[0], ShardResult([], reason)),
        )

    return run
