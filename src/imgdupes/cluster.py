"""``--dask-scheduler ADDRESS``: the Dask cluster that hashes and searches.

Dask is an optional extra (``[dask]``), imported only when a scheduler is
named, so a run on one machine never pays for it.
"""

from __future__ import annotations

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
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"--dask-scheduler {address}: cannot reach the scheduler within {timeout:g} s ({why})"
        ) from None
