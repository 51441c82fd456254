"""``--dask-scheduler ADDRESS``: the Dask cluster that hashes and searches.

Dask is an optional extra (``[dask]``), imported only when a scheduler is
named, so a run on one machine never pays for it.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from .config import ConfigError

CONNECT_TIMEOUT_S = 10


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` on ``address``; one line (ConfigError) when that cannot be."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "--dask-scheduler needs dask.distributed: pip install 'dask[distributed]' "
            "(or pip install '.[dask]' from imgdupes' source)"
        ) from None
    refused = _refused(address)
    if refused:
        raise ConfigError(f"--dask-scheduler {address}: cannot reach the scheduler ({refused})")
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"--dask-scheduler {address}: cannot reach the scheduler within {timeout:g} s ({why})"
        ) from None


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
