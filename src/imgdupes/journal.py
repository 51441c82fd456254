"""The ``--log`` journal of actions: append-only JSON lines.

Each action is written and flushed to disk *before* it happens (``"phase":
"intent"``) and its outcome after (``"done"`` or ``"failed"``), so that after
a crash the journal still tells which files may have been touched.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any


class Journal:
    """Opened on the first record, so a run that acts on nothing leaves no file."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._fh = None

    def record(self, **fields: Any) -> None:
        if self.path is None:
            return
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        doc = {"time": datetime.now().astimezone().isoformat(timespec="milliseconds"), **fields}
        # ensure_ascii keeps undecodable name bytes readable as \udcXX escapes
        self._fh.write(json.dumps(doc, ensure_ascii=True) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
