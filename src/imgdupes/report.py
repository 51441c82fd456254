"""Report stage: sets -> text in fdupes's layout, JSON, summaries, the seed's logs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from .model import DupSet, Result, SetEntry
from .units import fdupes_size

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import Config
    from .plan import SetPlan

JSON_VERSION = 1


def escape_sameline(path: str) -> str:
    """fdupes's ``--sameline`` escaping: backslash before spaces and backslashes."""
    return path.replace("\\", "\\\\").replace(" ", "\\ ")


def write_sets(sets: Sequence[DupSet], out: TextIO, sameline: bool = False) -> None:
    for s in sets:
        if sameline:
            out.write(" ".join(escape_sameline(p) for p in s.paths) + "\n")
        else:
            out.write("\n".join(s.paths) + "\n\n")


def write_query(
    query: str, entries: Sequence[SetEntry], out: TextIO, sameline: bool = False
) -> None:
    out.write(f"Query: {query}\n\n")
    if not entries:
        return
    if sameline:
        out.write(" ".join(escape_sameline(e.path) for e in entries) + "\n")
    else:
        out.write("\n".join(e.path for e in entries) + "\n\n")


def summary_line(sets: Sequence[DupSet]) -> str:
    """fdupes ``-m`` wording: counts and bytes of the files beyond each set's first."""
    if not sets:
        return "No duplicates found."
    nfiles = sum(len(s) - 1 for s in sets)
    nbytes = sum(e.size for s in sets for e in s.entries[1:])
    head = f"{nfiles} duplicate files (in {len(sets)} sets), occupying "
    # fdupes ends the line with a full stop only when it counts bytes
    return head + fdupes_size(nbytes) + ("." if nbytes < 1024 else "")


def entry_json(e: SetEntry, action=None) -> dict:  # action: plan.Action | None
    doc = {
        "path": e.path,
        "size": e.size,
        "width": e.width,
        "height": e.height,
        "hash": e.hash_hex,
        "distance": e.distance,
    }
    if e.file is not None:
        # The file's identity as hashed: `imgdupes apply` acts only on a file
        # that still has all of it.
        f = e.file
        doc.update(
            dev=f.dev,
            inode=f.ino,
            mtime_ns=f.mtime_ns,
            ctime_ns=f.ctime_ns,
            aliases=list(f.aliases),
        )
    if action is not None:
        doc["keep"] = not action.remove
        doc["reason"] = action.reason
        if action.reference:
            doc["reference"] = True
    if e.file is not None and e.file.shard:
        # an image inside a dataset shard: the key to drop from that shard
        doc["shard"] = e.file.shard
        doc["key"] = e.path[len(e.file.shard) + 1 :]
    return doc


def result_json(result: Result, plans: Sequence[SetPlan] | None = None) -> dict:
    doc: dict = {
        "version": JSON_VERSION,
        "hash_method": result.hash_method,
        "hash_bits": result.hash_bits,
        "threshold": result.threshold,
    }
    if result.query is not None:
        doc["query"] = result.query
    sets = []
    for k, s in enumerate(result.sets):
        actions = plans[k].actions if plans is not None else [None] * len(s.entries)
        sets.append({"files": [entry_json(e, a) for e, a in zip(s.entries, actions, strict=True)]})
    doc["sets"] = sets
    doc["aliases"] = [list(a) for a in result.aliases]
    doc["errors"] = [{"path": e.path, "error": e.error} for e in result.errors]
    return doc


def write_json(result: Result, out: TextIO, plans: Sequence[SetPlan] | None = None) -> None:
    # ensure_ascii keeps undecodable name bytes (surrogates) as \\udcXX escapes
    # instead of failing; a reader can map them back with surrogateescape.
    json.dump(result_json(result, plans), out, ensure_ascii=True, indent=1)
    out.write("\n")


def _folders(s: DupSet) -> set[str]:
    return {os.path.dirname(p) or "." for p in s.paths}


def subdir_warning(sets: Sequence[DupSet]) -> str | None:
    """The seed's warning when sets span several folders (``-d`` mode), once per
    run: the seed repeated three lines of it before every set."""
    spanning = sum(len(_folders(s)) > 1 for s in sets)
    if not spanning:
        return None
    return (
        "WARNING! Found similar images in different subdirectories: "
        f"{spanning} of {len(sets)} sets span several folders (--no-subdir-warning hides this)"
    )


# --- the seed's --log files ---------------------------------------------------------------


def _clean_name(text: str) -> str:
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
    target = os.fsencode(_clean_name(source))[: max(room, 0)].decode("utf-8", "ignore")
    return head + target + tail


def write_dup_log(fd: int, result: Result, sameline: bool = False) -> None:
    """Write the seed's dup log to ``fd`` (a new file; see journal.create_unique)."""
    with open(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        if result.query is not None:
            fh.write(f"Query: {result.query}\n\n")
        for k, s in enumerate(result.sets):
            if sameline:
                fh.write(" ".join(s.paths) + "\n")
            else:
                fh.write("\n".join(s.paths) + "\n")
                if k != len(result.sets) - 1:
                    fh.write("\n")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """A name made safe for a terminal: control characters (escape sequences,
    newlines) shown as ``\\xNN`` so a file name can never drive the terminal."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
