"""fdupes-style progress line on stderr: ``\\rProgress [i/n] p%``."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self,
        total: int,
        label: str = "Progress",
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self.done = 0
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        # Redrawing costs a syscall; ten times a second is enough for a person.
        if now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            pct = 100 * self.done // self.total
            self.stream.write(f"\r{self.label} [{self.done}/{self.total}] {pct}% ")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (len(self.label) + 2 * len(str(self.total)) + 12) + "\r")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
