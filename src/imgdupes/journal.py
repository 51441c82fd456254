"""The ``--log`` journal of actions: append-only JSON lines.

Each action is written and flushed to disk *before* it happens (``"phase":
"intent"``) and its outcome after (``"done"`` or ``"failed"``), so that after
a crash the journal still tells which files may have been touched.  A line
that cannot be written whole (disk full) is cut back off, so the journal
never ends in half a line, and the caller stops acting.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any


class JournalError(Exception):
    """The journal could not be written; ``str()`` is the one line to show."""


def create_unique(
    folder: str, name_for: Callable[[str], str], mode: int = 0o644, tries: int = 1000
) -> tuple[int, str]:
    """Create a new file ``folder/name_for(suffix)``, never reusing an existing name.

    ``suffix`` is "" first, then "-2", "-3", ...: two runs started in the same
    second (log names carry the time to the second) get a file each."""
    for n in range(1, tries + 1):
        path = os.path.join(folder, name_for("" if n == 1 else f"-{n}"))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        return fd, path
    raise FileExistsError(f"{tries} log files of this second exist already in {folder}")


class Journal:
    """Opened on the first record, so a run that acts on nothing leaves no file.

    ``name_for(suffix)`` gives the file name in ``folder`` (None: no journal)."""

    def __init__(self, folder: str | None, name_for: Callable[[str], str] | None = None) -> None:
        self.folder = folder
        self.name_for = name_for
        self.path: str | None = None
        self._fd: int | None = None

    def record(self, **fields: Any) -> None:
        if self.folder is None or self.name_for is None:
            return
        try:
            if self._fd is None:
                self._fd, self.path = create_unique(self.folder, self.name_for)
        except OSError as exc:
            raise JournalError(f"cannot create the journal: {exc.strerror or exc}") from None
        doc = {"time": datetime.now().astimezone().isoformat(timespec="milliseconds"), **fields}
        # ensure_ascii keeps undecodable name bytes readable as \udcXX escapes
        line = (json.dumps(doc, ensure_ascii=True) + "\n").encode("ascii")
        start = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            done = 0
            while done < len(line):
                done += os.write(self._fd, line[done:])
            os.fsync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise JournalError(
                f"cannot write the journal {self.path}: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
