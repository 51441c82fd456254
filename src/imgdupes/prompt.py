"""The ``-d`` prompt: ask which files of a set to keep, the fdupes way.

Answers: file numbers separated by commas or spaces, ranges (``1-3``),
``all``/``a``, ``none``/``n`` (asked to confirm), ``quit``/``q``,
``x``/``not`` (not duplicates: remembered, never offered again).  Numbers
outside the set are ignored; an answer that keeps nothing valid, or that
cannot be read, asks again.  End of input stops the review, and so do a few
unusable answers in a row from something that is not a terminal (``yes |
imgdupes -d``): a program that answers garbage must not be asked forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TextIO

KEEP = "keep"  # keep the numbered files, remove the others
NONE = "none"  # remove every file the user may remove (confirmed)
QUIT = "quit"  # stop, remove nothing more
EOF = "eof"  # input ended: same as quit
NOTDUP = "notdup"  # not duplicates: keep every file, never offer the set again
GARBLED = "garbled"  # too many unusable answers from a non-terminal: same as quit

# Unusable answers in a row after which a non-terminal input stops the review.
MAX_UNUSABLE = 5
# Digits beyond these make a number far outside any set (and int() of thousands
# of digits is refused by Python itself).
_MAX_DIGITS = 9

_HELP = (
    "Please answer with file numbers (1,3 or 1-3), all, none, quit,"
    " or x (not duplicates: keep all, never offer this set again).\n"
)
_NUMBER = re.compile(r"(\d+)(?:-(\d+))?")


@dataclass(frozen=True)
class Answer:
    kind: str
    keep: frozenset[int] = frozenset()  # 1-based file numbers, with KEEP
    tries: int = 0  # with GARBLED: how many unusable answers came


class Answers:
    """The input answers come from, and whether a person is typing them."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        try:
            self.interactive = bool(stream.isatty())
        except (AttributeError, ValueError, OSError):
            self.interactive = False

    def readline(self) -> str:
        return self.stream.readline()


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_answer(text: str, count: int) -> Answer | None:
    """One answer line -> Answer, or None when it should be asked again."""
    t = text.strip().lower()
    if t in ("all", "a"):
        return Answer(KEEP, frozenset(range(1, count + 1)))
    if t in ("none", "n"):
        return Answer(NONE)
    if t in ("quit", "q"):
        return Answer(QUIT)
    if t in ("x", "not"):
        return Answer(NOTDUP)
    tokens = [tok for tok in re.split(r"[,\s]+", t) if tok]
    if not tokens:
        return None
    keep: set[int] = set()
    for tok in tokens:
        m = _NUMBER.fullmatch(tok)
        if m is None:
            return None
        lo = _number(m.group(1))
        hi = _number(m.group(2)) if m.group(2) else lo
        if lo > hi:
            lo, hi = hi, lo
        # fdupes ignores numbers outside the set rather than refusing the answer
        keep.update(range(max(lo, 1), min(hi, count) + 1))
    if not keep:
        return None
    return Answer(KEEP, frozenset(keep))


def ask(
    stdin: TextIO | Answers,
    out: TextIO,
    set_number: int,
    set_count: int,
    count: int,
    removable: int,
) -> Answer:
    """Prompt until a usable answer (or the end of input) arrives."""
    answers = stdin if isinstance(stdin, Answers) else Answers(stdin)
    unusable = 0

    def give_up() -> bool:
        nonlocal unusable
        unusable += 1
        return not answers.interactive and unusable >= MAX_UNUSABLE

    while True:
        out.write(
            f"Set {set_number} of {set_count}, preserve files [1 - {count}, all, none, quit]: "
        )
        out.flush()
        line = answers.readline()
        if line == "":
            out.write("\n")
            return Answer(EOF)
        answer = parse_answer(line, count)
        if answer is None:
            out.write(_HELP)
            if give_up():
                return Answer(GARBLED, tries=unusable)
            continue
        if answer.kind == NONE:
            # Removing a whole set leaves no copy of the picture: ask twice.
            out.write(f"Remove all {removable} removable files of this set? [y/N]: ")
            out.flush()
            line = answers.readline()
            if line == "":
                out.write("\n")
                return Answer(EOF)
            if line.strip().lower() not in ("y", "yes"):
                if give_up():
                    return Answer(GARBLED, tries=unusable)
                continue
        return answer
