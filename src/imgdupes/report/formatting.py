"""Formatting every report shares: names made safe for a terminal, one set's
lines, file sizes.

File sizes use one unit system (SI, 1000 bytes to the kB) in every output:
the prompt, the HTML report and the summaries show a file's size through
these functions, so the same file never reads as ``773.00 kbyte`` in one place
and ``791.6 kB`` in another.  fdupes's own summary words (``kilobytes``) are
kept where fdupes prints them; the numbers are the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """A name made safe for a terminal: control characters (escape sequences,
    newlines) shown as ``\\xNN`` so a file name can never drive the terminal."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape_sameline(path: str) -> str:
    """fdupes's ``--sameline`` escaping: backslash before spaces and backslashes."""
    return path.replace("\\", "\\\\").replace(" ", "\\ ")


def set_lines(
    paths: Iterable[str],
    sameline: bool = False,
    shown: Callable[[str], str] | None = None,
    escape: bool = True,
) -> str:
    """One set as fdupes lists it, without the blank line after it: a path per
    line, or with ``sameline`` all on one line, spaces and backslashes escaped
    (unless not ``escape``: the seed's dup log).  ``shown`` turns each name
    into what is written (e.g. :func:`printable`)."""
    names = [shown(p) for p in paths] if shown else list(paths)
    if sameline:
        return " ".join(escape_sameline(p) if escape else p for p in names) + "\n"
    return "\n".join(names) + "\n"


def set_listing(
    paths: Iterable[str], sameline: bool = False, shown: Callable[[str], str] | None = None
) -> str:
    """One set with the blank line fdupes writes after it (none with ``sameline``)."""
    return set_lines(paths, sameline, shown) + ("" if sameline else "\n")


_SI = ("bytes", "kB", "MB", "GB", "TB")


def human_size(n: float) -> str:
    """``791.6 kB``: bytes below 1000, then one decimal in kB, MB, GB, TB."""
    for unit in _SI:
        if n < 1000 or unit == _SI[-1]:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def fdupes_size(n: float) -> str:
    """fdupes's summary wording: ``N bytes`` below 1024, then kilo/mega/gigabytes of 1000."""
    if n < 1024:
        return f"{n:.0f} bytes"
    if n <= 1000 * 1000:
        return f"{n / 1000:.1f} kilobytes"
    if n <= 1000 * 1000 * 1000:
        return f"{n / 1e6:.1f} megabytes"
    return f"{n / 1e9:.1f} gigabytes"
