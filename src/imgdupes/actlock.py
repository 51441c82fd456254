"""One acting run per folder at a time: advisory locks on the folders themselves.

Before an acting run removes or moves anything it takes an exclusive
``flock`` on every folder that holds a name it may act on or a file it may
keep.  The lock sits on the folder's inode, not on a path or a lock file in
some cache folder, so ``t``, ``./t``, ``/abs/t`` and a bind mount of ``t``
are one lock, whatever user, cache folder or ``/tmp`` each run has.  Folders
are locked in (device, inode) order, so two runs that need overlapping
folders never deadlock: the second one waits (one line on stderr) and
refuses after ``timeout`` seconds.

The locks are advisory: they exclude other imgdupes runs, not other
programs.  Removal itself (rename aside, re-check, unlink: see act.py)
guards against those.
"""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import time
from collections.abc import Callable, Iterable

from .errors import ActError

# Folders a run keeps open at most beyond the ones it needs: the rest of the
# process (hash store, journal, stdio) must still get file descriptors.
_SPARE_FDS = 64


class FolderLocks:
    """Exclusive locks on a set of folders, held until :meth:`release`."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self.unlocked: list[str] = []  # folders whose filesystem has no flock (one line each)

    def acquire(
        self,
        folders: Iterable[str],
        timeout: float,
        say: Callable[[str], None],
        poll: float = 0.05,
    ) -> None:
        opened: dict[tuple[int, int], str] = {}
        for folder in folders:
            try:
                st = os.stat(folder)
            except OSError:
                continue  # gone: nothing in it can be acted on, the re-checks will say so
            opened.setdefault((st.st_dev, st.st_ino), folder)
        _allow_fds(len(opened) + _SPARE_FDS)
        said = False
        deadline = time.monotonic() + timeout
        for _key, folder in sorted(opened.items()):
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                continue
            self._fds.append(fd)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                except OSError as exc:
                    if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EBADF, errno.EINVAL):
                        self.unlocked.append(folder)
                        break
                    raise
                if not said:
                    say(
                        f"waiting for another imgdupes run acting on {folder} "
                        f"(up to {timeout:.0f} s)"
                    )
                    said = True
                if time.monotonic() >= deadline:
                    self.release()
                    raise ActError(
                        f"another imgdupes run is still acting on {folder} after "
                        f"{timeout:.0f} s; nothing was changed",
                        folder,
                    )
                time.sleep(poll)

    def release(self) -> None:
        for fd in self._fds:
            os.close(fd)  # closing the last descriptor drops its flock
        self._fds = []

    def __enter__(self) -> FolderLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _allow_fds(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed <= soft:
        return
    if hard != resource.RLIM_INFINITY and needed > hard:
        raise ActError(
            f"acting on files in {needed - _SPARE_FDS} folders needs more open files than "
            f"this system allows ({hard}); raise 'ulimit -n' or act on fewer folders per run"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
