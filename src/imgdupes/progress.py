"""fdupes-style progress line on stderr: ``\\rProgress [i/n] p%``, with rate and time left.

The line is drawn as soon as the bar starts (a person should see at once that
something runs), and cleared when it ends, also on Ctrl-C or an error, so the
next line of output starts on a clean line.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import TextIO


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl-C back while worker processes are forked: a worker forked
    with it blocked cannot be hit before it ignores Ctrl-C (workers.py), and the
    parent receives a Ctrl-C pressed meanwhile as soon as the pool exists."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no fork, no group signal
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _clock(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1:02:05``."""
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``total`` steps; ``advance()`` after each, ``skip()`` for steps that cost
    nothing (cache hits), so the rate and the time left count only real work."""

    def __init__(
        self,
        total: int,
        label: str = "Progress",
        enabled: bool = True,
        stream: TextIO | None = None,
        clock=time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self.done = 0
        self._free = 0  # steps skipped without work
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self._width = 0  # length of the line on screen, to clear it
        self._draw()

    def line(self) -> str:
        pct = 100 * self.done // self.total if self.total else 100
        text = f"{self.label} [{self.done}/{self.total}] {pct}%"
        worked = self.done - self._free
        elapsed = self._clock() - self._start
        # The first files say little about the rate: wait for a second's worth.
        if worked > 0 and elapsed >= 1.0:
            rate = worked / elapsed
            text += f"  {rate:.1f}/s" if rate < 100 else f"  {rate:.0f}/s"
            if self.done < self.total:
                text += f"  {_clock((self.total - self.done) / rate)} left"
        return text

    def _draw(self) -> None:
        if not self.enabled:
            return
        self._last = self._clock()
        text = self.line()
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()

    def skip(self, n: int) -> None:
        """``n`` steps already done (e.g. found in the cache)."""
        self._free += n
        self.advance(n)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        # Redrawing costs a syscall; ten times a second is enough for a person,
        # but the first file done shows at once.
        first = n > 0 and self.done - n == self._free
        if first or self._clock() - self._last >= 0.1 or self.done >= self.total:
            self._draw()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
