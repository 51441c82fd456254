"""The seed's ``--log`` files: their names and the duplicate log."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ..model import Result
from .formatting import set_lines

if TYPE_CHECKING:
    from ..config import Config


def clean_name(text: str) -> str:
    return re.sub(r"(?u)[^-\w.]", "", text.strip().replace(" ", "_"))


# Longest file name most filesystems take, in bytes.
NAME_MAX = 255
# Room left in a log's name for a "-N" suffix and a longer extension (.jsonl).
_LOG_SPARE = 12


def log_namer(
    config: Config, kind: str, now: datetime, ext: str = ".log", bits: int | None = None
) -> Callable[[str], str]:
    """The seed's log file name for this run (``kind``: dup or del), with a
    suffix to make it unique (see journal.create_unique); ``bits``: the
    result's, which a --hashes-from table decides."""
    source = config.files_from or (config.targets[0] if config.targets else "hashes")

    def name_for(suffix: str) -> str:
        return log_basename(
            kind,
            config.engine,
            source,
            config.hash_method,
            bits or config.hash_bits,
            config.threshold,
            now,
            suffix=suffix,
            ext=ext,
        )

    return name_for


def log_basename(
    kind: str,
    engine: str,
    source: str,
    method: str,
    bits: int,
    threshold: int,
    now: datetime | None = None,
    suffix: str = "",
    ext: str = ".log",
) -> str:
    """``YYYYmmddHHMMSS_{dup|del}_{engine}_{target}_{method}_{bits}_{r}.log`` as the seed.

    ``suffix`` follows the time stamp (``-2``: a second run in the same second);
    the target's part is shortened so the name stays within NAME_MAX bytes."""
    stamp = (now or datetime.now()).strftime("%Y%m%d%H%M%S")
    engine_tag = {"exact": "std", "faiss-flat": "faiss_flat"}.get(engine, engine)
    head = f"{stamp}{suffix}_{kind}_{engine_tag}_"
    tail = f"_{method}_{bits}_{threshold}{ext}"
    room = NAME_MAX - _LOG_SPARE - len(os.fsencode(head + tail))
    target = os.fsencode(clean_name(source))[: max(room, 0)].decode("utf-8", "ignore")
    return head + target + tail


def write_dup_log(fd: int, result: Result, sameline: bool = False) -> None:
    """Write the seed's dup log to ``fd`` (a new file; see journal.create_unique)."""
    with open(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        if result.query is not None:
            fh.write(f"Query: {result.query}\n\n")
        # the seed's layout: names as they are (no escaping), no blank line after the last set
        blank = "" if sameline else "\n"
        fh.write(blank.join(set_lines(s.paths, sameline, escape=False) for s in result.sets))
