"""``imgdupes apply REPORT``: carry out a ``--json`` report, as written or edited.

The report is the contract between finding and acting (fclones' ``group`` ->
``remove``): each file carries its identity (dev, inode, size, mtime_ns,
ctime_ns) and ``"keep": true|false``.  Applying it goes through the same
:class:`~imgdupes.act.Actor` as ``-d``: every removal re-checks the file and a
kept file of its set right before acting, journals first with ``--log``, and
never follows a symlink.  So

- a file changed or vanished since the report is left, with a ``[!]`` line;
- a set whose marks keep nothing (or whose kept files are all gone) is left
  whole, with one line;
- applying the same report twice changes nothing the second time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from .act import Actor, summary
from .actlock import FolderLocks
from .config import Config
from .errors import InputError
from .journal import Journal
from .model import FileRecord, SetEntry
from .plan import KEEP, Action, SetPlan, verb_for
from .report.formatting import printable
from .report.logs import clean_name

_IDENTITY = ("dev", "inode", "size", "mtime_ns", "ctime_ns")


class ReportError(InputError):
    """A report that cannot be applied; the message names the file and the place."""


def _entry(doc: dict, where: str) -> SetEntry:
    path = doc.get("path")
    if not isinstance(path, str):
        raise ReportError(f"{where}: no path")
    rec = None
    if all(isinstance(doc.get(k), int) and not isinstance(doc.get(k), bool) for k in _IDENTITY):
        aliases = doc.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ReportError(f"{where}: aliases must be a list of paths")
        rec = FileRecord(
            path,
            doc["size"],
            doc["mtime_ns"],
            doc["dev"],
            doc["inode"],
            tuple(aliases),
            doc["ctime_ns"],
        )
    return SetEntry(
        path=path,
        size=doc.get("size", 0) if isinstance(doc.get("size"), int) else 0,
        width=doc.get("width", 0) if isinstance(doc.get("width"), int) else 0,
        height=doc.get("height", 0) if isinstance(doc.get("height"), int) else 0,
        mtime_ns=doc.get("mtime_ns", 0) if isinstance(doc.get("mtime_ns"), int) else 0,
        hash_hex=str(doc.get("hash", "")),
        distance=doc.get("distance", 0) if isinstance(doc.get("distance"), int) else 0,
        file=rec,
    )


def read_report(path: str, verb: str) -> list[SetPlan]:
    """The report's sets as plans: ``"keep": false`` -> ``verb``, anything else kept."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise ReportError(f"{path}: cannot read the report: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a JSON report (imgdupes --json): {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sets"), list):
        raise ReportError(f'{path}: not an imgdupes --json report (no "sets" list)')
    plans = []
    for n, s in enumerate(doc["sets"], start=1):
        files = s.get("files") if isinstance(s, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise ReportError(f'{path}: set {n} has no "files" list')
        actions = []
        for k, f in enumerate(files, start=1):
            entry = _entry(f, f"{path}: set {n}, file {k}")
            keep = f.get("keep", True)
            if not isinstance(keep, bool):
                raise ReportError(f'{path}: set {n}, file {k}: "keep" must be true or false')
            reference = f.get("reference") is True
            a = Action(k, entry, reference, reason=str(f.get("reason", "")))
            if not keep and not reference:
                a.kind = verb
            actions.append(a)
        plans.append(SetPlan(actions))
    return plans


def run_apply(config: Config, report_path: str, out: TextIO, warn: Callable[[str], None]) -> int:
    """Carry out the report; 0, or 1 when something was left (see the [!] lines)."""
    verb = verb_for(config.move_to, config.trash)
    plans = read_report(report_path, verb)
    now = datetime.now()
    logging = config.log and not config.dry_run
    stamp = f"{now.strftime('%Y%m%d%H%M%S')}_apply_{clean_name(os.path.basename(report_path))}"
    journal = Journal(os.getcwd() if logging else None, lambda suffix: f"{stamp}{suffix}.jsonl")
    actor = Actor(config, journal)
    p = printable
    locks = FolderLocks()
    if not config.dry_run and plans:
        folders: dict[str, None] = {}
        for plan in plans:
            for a in plan.actions:
                for name in (a.entry.path, *(a.entry.file.aliases if a.entry.file else ())):
                    folders.setdefault(os.path.dirname(name) or os.curdir)
        out.flush()
        locks.acquire(list(folders), config.lock_wait, warn)
    try:
        for n, plan in enumerate(plans, start=1):
            if actor.stopped:
                break
            kept = [a for a in plan.actions if a.kind == KEEP]
            out.write(f"Set {n} of {len(plans)}\n")
            if not plan.removed:
                for a in plan.actions:
                    out.write(f"   [+] {p(a.entry.path)}\n")
                out.write("\n")
                continue
            if not kept:
                out.write(f"   [!] set {n}: its marks keep no file; left whole\n\n")
                actor.tally.skipped += len(plan.actions)
                continue
            for a in plan.actions:
                if a.remove and actor.stopped:
                    lines = [f"   [!] {p(a.entry.path)} -- not removed: stopped"]
                elif a.remove:
                    if a.entry.file is None:
                        lines = [
                            f"   [!] {p(a.entry.path)} -- no file identity in the report; left"
                        ]
                        actor.tally.skipped += 1
                    else:
                        a.kept_for = [k.entry for k in kept]
                        lines = actor.remove(a)
                else:
                    lines = [f"   [+] {p(a.entry.path)}"]
                out.write("".join(line + "\n" for line in lines))
                out.flush()
            out.write("\n")
    finally:
        locks.release()
        journal.close()
        if logging and actor.tally.removed_names:
            from .journal import create_unique

            try:
                fd, _ = create_unique(os.getcwd(), lambda suffix: f"{stamp}{suffix}.log")
                with open(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                    fh.write("".join(name + "\n" for name in actor.tally.removed_names))
            except OSError as exc:
                warn(f"--log: cannot write the log of removed files: {exc.strerror or exc}")
    if actor.stopped:
        warn(f"{actor.stopped}: stopping, nothing more is removed")
    out.write(summary(config, actor.tally) + "\n")
    return 1 if actor.tally.skipped or actor.stopped else 0
