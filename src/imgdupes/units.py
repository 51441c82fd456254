"""File sizes for people: one unit system (SI, 1000 bytes to the kB) for every output.

The prompt, the HTML report and the summaries all show a file's size through
these functions, so the same file never reads as ``773.00 kbyte`` in one place
and ``791.6 kB`` in another.  fdupes's own summary words (``kilobytes``) are
kept where fdupes prints them; the numbers are the same.
"""

from __future__ import annotations

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
