"""Act stage: review each duplicate set, then delete, trash or move files.

Which files of a set go is decided first (by the prompt or by ``-N``); then
each removal re-checks, right before it happens, that

- the file is still the one that was hashed (same inode, size and mtime),
- a file kept for it is still there, unchanged, and is a different real file,
- each of its names (symlinks, hard links found in this run) still reaches it.

A file found under several names is removed under all of them, symlinks
first (as links; their target is never followed), so no found name is left
dangling.  Files under ``--reference`` folders and files not found on disk
in this run are never touched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from .actlock import FolderLocks
from .config import Config
from .errors import ActError
from .journal import Journal, JournalError
from .model import FileRecord, Result, SetEntry
from .plan import Action, SetPlan, make_planner, plan_answer, verb_for
from .prompt import EOF, GARBLED, KEEP, NONE, NOTDUP, QUIT, Answers, ask
from .references import is_reference, reference_roots
from .report.formatting import fdupes_size, human_size, printable
from .report.logs import log_namer
from .report.text import subdir_warning

TRASH_HINT = "pip install send2trash"

# Errors from os.link that mean "this filesystem cannot hard-link here": copy instead.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


class Refused(Exception):
    """An action not taken because taking it could lose or overwrite data."""


def _load_send2trash() -> Callable[[str], None]:
    try:
        from send2trash import send2trash
    except ImportError:
        raise ActError(f"--trash needs the send2trash package: {TRASH_HINT}") from None
    return send2trash


def check_ready(config: Config) -> None:
    """Refuse an action that cannot work before spending time on the scan."""
    if config.trash:
        _load_send2trash()
    if config.move_to:
        folder = config.move_to
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise ActError(f"--move-to {folder}: not a directory", folder)
        parent = os.path.dirname(os.path.abspath(folder))
        # a mistyped path stops the run instead of growing a new tree somewhere
        if not os.path.lexists(folder) and not os.path.isdir(parent):
            raise ActError(f"--move-to {folder}: no such folder, nor its parent {parent}", folder)


def make_move_to(config: Config, warn: Callable[[str], None]) -> None:
    """Create a missing ``--move-to`` folder (its parent was checked before the
    scan), saying so; a dry run only says it would."""
    folder = config.move_to
    if not folder or os.path.lexists(folder):
        return
    if config.dry_run:
        warn(f"--move-to {folder} does not exist; a real run would create it")
        return
    try:
        os.mkdir(folder)
    except OSError as exc:
        raise ActError(
            f"--move-to {folder}: cannot create it: {exc.strerror or exc}", folder
        ) from None
    warn(f"--move-to {folder} did not exist: created it")


# --- checking ---------------------------------------------------------------------------------


def file_state(rec: FileRecord) -> str | None:
    """None when ``rec.path`` still reaches the file as hashed, else why not."""
    try:
        st = os.stat(rec.path)
    except FileNotFoundError:
        return "vanished"
    except OSError as exc:
        return f"cannot check: {exc.strerror or exc}"
    if not stat.S_ISREG(st.st_mode) or not unchanged(st, rec):
        return "changed since scan"
    return None


def unchanged(st: os.stat_result, rec: FileRecord, ctime: bool = True) -> bool:
    """Whether ``st`` is the file ``rec`` was when it was hashed (see FileRecord.stamp).

    ``ctime=False`` for the names of a file this run is already acting on:
    removing one of its hard links changes the inode's ctime."""
    now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return now == rec.stamp if ctime else now[:4] == rec.stamp[:4]


def _still_kept(kept: SetEntry, victim: FileRecord) -> bool:
    return (
        kept.file is not None
        and kept.file.identity != victim.identity
        and file_state(kept.file) is None
    )


def name_state(name: str, rec: FileRecord) -> str | None:
    """None when ``name`` (a real name or a symlink) still reaches ``rec`` unchanged."""
    return _look(name, rec)[0]


def _look(name: str, rec: FileRecord) -> tuple[str | None, os.stat_result | None]:
    """(why ``name`` no longer reaches ``rec``, or None; its own lstat when it does)."""
    try:
        lst = os.lstat(name)
        st = os.stat(name) if stat.S_ISLNK(lst.st_mode) else lst
    except FileNotFoundError:
        return ("vanished" if not os.path.islink(name) else "changed since scan"), None
    except OSError as exc:
        return (exc.strerror or str(exc)), None
    if not stat.S_ISREG(st.st_mode) or not unchanged(st, rec, ctime=False):
        return "changed since scan", None
    return None, lst


@dataclass
class Names:
    links: list[str] = field(default_factory=list)
    reals: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    nlink: int = 0


def current_names(rec: FileRecord) -> Names:
    """The names of ``rec`` that still reach it now, symlinks and real names apart."""
    names = Names()
    for name in (rec.path, *rec.aliases):
        # One lstat decides both: a second look could find the name gone (another
        # program, another run) and crash on it.
        reason, lst = _look(name, rec)
        if reason or lst is None:
            names.skipped.append((name, reason or "vanished"))
        elif stat.S_ISLNK(lst.st_mode):
            names.links.append(name)
        else:
            names.reals.append(name)
            names.nlink = lst.st_nlink
    return names


def _guarded(name: str, rec: FileRecord, op: Callable[[], None]) -> Callable[[], None]:
    """``op`` preceded by one more look at ``name``, the last moment before acting."""

    def run() -> None:
        reason = name_state(name, rec)
        if reason:
            raise Refused(reason)
        op()

    return run


KEPT_GONE = "the file kept for it is gone or changed; left"


def _kept_check(kept: SetEntry | None, rec: FileRecord) -> Callable[[], str | None]:
    def check() -> str | None:
        return None if kept is None or _still_kept(kept, rec) else KEPT_GONE

    return check


# --- removing: rename aside, re-check, unlink --------------------------------------------------

_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> Callable[..., int] | None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def rename_noreplace(src: str, dest: str) -> None:
    """Rename that fails with FileExistsError instead of replacing ``dest``."""
    if _RENAMEAT2 is not None:
        import ctypes

        if (
            _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dest), _RENAME_NOREPLACE)
            == 0
        ):
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), src)
    # No renameat2 here: the random name makes a clash practically impossible.
    if os.path.lexists(dest):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dest)
    os.rename(src, dest)


def aside_name(name: str) -> str:
    """A hidden, unique name beside ``name`` (same folder, so the rename is atomic)."""
    folder, base = os.path.split(name)
    short = os.fsencode(base)[:100].decode(errors="ignore") if base else "file"
    return os.path.join(folder, f".{short}.imgdupes-{os.getpid()}-{secrets.token_hex(6)}")


def _put_back(aside: str, name: str) -> None:
    """Undo a rename aside without ever replacing a file that took ``name`` meanwhile."""
    try:
        rename_noreplace(aside, name)
    except FileExistsError:
        raise Refused(
            f"a new file took its name meanwhile; the old one is kept as {aside}"
        ) from None


def remove_aside(
    name: str,
    rec: FileRecord,
    check_kept: Callable[[], str | None],
    remove: Callable[[str], None] = os.unlink,
    first: bool = False,
) -> None:
    """Remove ``name`` the fclones way: rename it aside (from then on no program
    can open, replace or edit it by its name), re-check it and the file kept for
    it, then remove it; any failure puts it back.

    ``first``: no other name of the file was removed yet, so its ctime must still
    be the one hashed (an edit in place with the mtime put back shows only there)."""
    if first:
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            raise Refused("vanished") from None
        if not stat.S_ISREG(st.st_mode) or not unchanged(st, rec):
            raise Refused("changed since scan")
    aside = aside_name(name)
    try:
        rename_noreplace(name, aside)
    except FileNotFoundError:
        raise Refused("vanished") from None
    try:
        # The rename changed the inode's ctime: compare without it.
        reason = name_state(aside, rec) or check_kept()
        if reason:
            raise Refused(reason)
        remove(aside)
    except BaseException:
        _put_back(aside, name)
        raise


# --- acting -----------------------------------------------------------------------------------


def move_destination(move_to: str, name: str) -> str:
    """Where ``--move-to`` puts ``name``: its path as shown, below ``move_to``.

    A relative path that stays below the current folder is kept as it is
    (``pics/a/x.jpg`` -> ``DIR/pics/a/x.jpg``); any other path keeps its whole
    absolute path without the leading separator, so two files never share a
    destination."""
    norm = os.path.normpath(name)
    if not os.path.isabs(norm) and norm != os.pardir and not norm.startswith(os.pardir + os.sep):
        return os.path.join(move_to, norm)
    drive, tail = os.path.splitdrive(os.path.abspath(name))
    parts = [drive.rstrip(":\\/")] if drive else []
    return os.path.join(move_to, *parts, tail.lstrip("\\/"))


def _digest(path: str) -> bytes:
    h = hashlib.sha256()
    with os.fdopen(_open_regular(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def _open_regular(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refused("not a regular file")
    return fd


def _copy_verified(src: str, dest: str) -> None:
    """Copy to a hidden temporary name beside ``dest``, check it, then link it into
    place: a copy that fails (disk full, killed) never shows up as ``dest``."""
    if os.path.lexists(dest):
        raise Refused(f"destination exists: {dest}")
    tmp = aside_name(dest)
    try:
        with os.fdopen(_open_regular(src), "rb") as fi, open(tmp, "xb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
            fo.flush()
            os.fsync(fo.fileno())
        shutil.copystat(src, tmp)
        if _digest(src) != _digest(tmp):
            raise Refused("the copy did not match the original")
        try:
            os.link(tmp, dest)  # fails, atomically, if dest appeared meanwhile
        except FileExistsError:
            raise Refused(f"destination exists: {dest}") from None
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            try:
                rename_noreplace(tmp, dest)
            except FileExistsError:
                raise Refused(f"destination exists: {dest}") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def move_file(src: str, dest: str) -> None:
    """Move a real file to ``dest`` without ever overwriting: a hard link (atomic,
    fails if ``dest`` exists) then unlink, or across filesystems a verified copy."""
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    try:
        os.link(src, dest, follow_symlinks=False)
    except FileExistsError:
        raise Refused(f"destination exists: {dest}") from None
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        _copy_verified(src, dest)
    try:
        os.unlink(src)
    except OSError:
        os.unlink(dest)  # our own new name: taking it back leaves things as they were
        raise


def move_link(link: str, dest: str, target: str) -> None:
    """Move a symlink: a new link at ``dest`` to ``target``, then the old one goes."""
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    try:
        os.symlink(target, dest)
    except FileExistsError:
        raise Refused(f"destination exists: {dest}") from None
    try:
        os.unlink(link)
    except OSError:
        os.unlink(dest)
        raise


@dataclass
class Tally:
    files: int = 0
    freed: int = 0
    skipped: int = 0
    removed_names: list[str] = field(default_factory=list)


class StopActing(Exception):
    """The run must not act any more (the journal cannot be written)."""


class Actor:
    """Carries out removals for one run: delete, trash or move, or only say so."""

    def __init__(self, config: Config, journal: Journal) -> None:
        self.config = config
        self.journal = journal
        self.tally = Tally()
        # why the run stopped acting (None: it did not)
        self.stopped: str | None = None
        if config.move_to:
            self.action = "move"
        elif config.trash:
            self.action = "trash"
        else:
            self.action = "delete"
        self.verb = verb_for(config.move_to, config.trash)
        self._send2trash = _load_send2trash() if config.trash and not config.dry_run else None

    # one name -----------------------------------------------------------------------------

    def _journal(self, **fields: object) -> None:
        try:
            self.journal.record(**fields)
        except JournalError as exc:
            self.stopped = str(exc)
            raise StopActing(str(exc)) from None

    def _do(self, name: str, entry: SetEntry, kept: SetEntry | None, dest: str | None, op) -> str:
        """Journal, act, journal; returns the line to print."""
        p = printable
        shown = f"{p(name)} -> {p(dest)}" if dest else p(name)
        if self.config.dry_run:
            if dest and os.path.lexists(dest):
                raise Refused(f"destination exists: {dest}")
            return f"   [-] {shown}"
        record = {
            "action": self.action,
            "path": name,
            "file": entry.path,
            "size": entry.size,
            "hash": entry.hash_hex,
            "kept": kept.path if kept else None,
        }
        if dest:
            record["dest"] = dest
        self._journal(phase="intent", **record)  # no intent on disk: no action
        try:
            op()
        except Refused as exc:
            self._journal_after(phase="failed", error=str(exc), **record)
            raise
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._journal_after(phase="failed", error=reason, **record)
            raise Refused(reason) from None
        self._journal_after(phase="done", **record)
        self.tally.removed_names.append(name)
        return f"   [-] {shown}"

    def _journal_after(self, **fields: object) -> None:
        """The outcome of an action already taken: a failure to write it stops
        the run after this name, it does not hide what was done."""
        try:
            self.journal.record(**fields)
        except JournalError as exc:
            self.stopped = str(exc)

    # one file -----------------------------------------------------------------------------

    def remove(self, c: Action) -> list[str]:
        p = printable
        rec = c.entry.file
        assert rec is not None
        reason = file_state(rec)
        if reason:
            self.tally.skipped += 1
            return [f"   [!] {p(rec.path)} -- {reason}"]
        kept = None
        if c.kept_for is not None:
            kept = next((k for k in c.kept_for if _still_kept(k, rec)), None)
            if kept is None:
                self.tally.skipped += 1
                return [f"   [!] {p(rec.path)} -- {KEPT_GONE}"]
        names = current_names(rec)
        notes = [f"   [!] {p(n)} -- {why}" for n, why in names.skipped]
        steps = self._steps(rec, names, kept if c.kept_for is not None else None)
        if not steps:
            self.tally.skipped += 1
            return notes or [f"   [!] {p(rec.path)} -- vanished"]
        shown: dict[str, str] = {}
        for name, dest, op in steps:
            if self.stopped:
                shown[name] = f"   [!] {p(name)} -- not removed: stopped"
                self.tally.skipped += 1
                break
            try:
                shown[name] = self._do(name, c.entry, kept, dest, op)
            except StopActing as exc:
                shown[name] = f"   [!] {p(name)} -- not removed: {exc}"
                self.tally.skipped += 1
                break
            except Refused as exc:
                # Stop at the first failure: for a delete the links went first, so the
                # file they point to stays; for a move the file is safe where it is.
                shown[name] = f"   [!] {p(name)} -- {exc}"
                self.tally.skipped += 1
                break
        else:
            self.tally.files += 1
            if names.reals and names.nlink <= len(names.reals):
                self.tally.freed += rec.size
        order = [n for n in (rec.path, *rec.aliases) if n in shown]
        return [shown[n] for n in order] + notes

    def _steps(
        self, rec: FileRecord, names: Names, kept: SetEntry | None
    ) -> list[tuple[str, str | None, Callable]]:
        """(name, destination, action) in a safe order."""
        check_kept = _kept_check(kept, rec)
        if self.action == "delete":
            # Links first: if one cannot go, the file it points to stays.  A link
            # is only a name, so unlinking it cannot lose a picture; a real name
            # is renamed aside and re-checked first.
            return [(n, None, _guarded(n, rec, lambda n=n: os.unlink(n))) for n in names.links] + [
                (n, None, lambda n=n, k=k: remove_aside(n, rec, check_kept, first=k == 0))
                for k, n in enumerate(names.reals)
            ]
        if self.action == "trash":
            trash = self._send2trash
            assert trash is not None or self.config.dry_run

            def trash_op(name: str) -> Callable[[], None]:
                def op() -> None:
                    # Trashed under its own name (a renamed file could not be
                    # restored to where it was), so the checks come just before.
                    reason = name_state(name, rec) or check_kept()
                    if reason:
                        raise Refused(reason)
                    trash(name)  # type: ignore[misc]

                return op

            return [(n, None, trash_op(n)) for n in names.links + names.reals]
        move_to = self.config.move_to
        assert move_to is not None
        steps: list[tuple[str, str | None, Callable]] = []
        new_home = None
        # Real names first, so the picture is at its destination before a link moves.
        for name in names.reals:
            dest = move_destination(move_to, name)
            op = _guarded(name, rec, lambda n=name, d=dest: move_file(n, d))
            steps.append((name, dest, op))
            new_home = new_home or os.path.abspath(dest)
        for link in names.links:
            dest = move_destination(move_to, link)
            target = new_home or os.path.realpath(link)
            # the link is checked before the file moves: afterwards it no longer reaches it
            steps.append((link, dest, lambda n=link, d=dest, t=target: move_link(n, d, t)))
        return steps


# --- the review -------------------------------------------------------------------------------


def _listing_line(c: Action) -> str:
    e = c.entry
    number = f"[{c.number}]"
    info = f"{human_size(e.size):>14} {f'{e.width}x{e.height}':>9}  d={e.distance:<3} "
    line = number + info[len(number) :] + printable(e.path)
    if c.reference:
        line += "  (reference)"
    return line


def _write_listing(out: TextIO, choices: list[Action]) -> None:
    for c in choices:
        out.write(_listing_line(c) + "\n")
        if c.entry.file is not None:
            for alias in c.entry.file.aliases:
                out.write(f"{'':>14} also as  {printable(alias)}\n")
    out.write("\n")


_VERB_WORDS = {"keep": "keep", "remove": "delete", "trash": "trash", "move": "move"}


def describe_plan(plans: Sequence[SetPlan]) -> str:
    """The plan as ``--dry-run`` prints it first: a total, then every file's
    action and reason."""
    removed = [a for p in plans for a in p.actions if a.remove]
    kept = sum(len(p.actions) for p in plans) - len(removed)
    freed = sum(a.entry.size for a in removed)
    held = sum(len(p.notes) for p in plans)
    verb = _VERB_WORDS[removed[0].kind] if removed else "delete"

    def count(n: int, what: str) -> str:
        return f"{n} {what}" + ("" if n == 1 else "s")

    lines = [
        f"Plan: {count(len(plans), 'set')}; keep {count(kept, 'file')}, {verb} "
        f"{len(removed)} ({fdupes_size(freed)}); {held} kept because not surely a copy"
    ]
    for n, p in enumerate(plans, start=1):
        lines.append(f"  set {n}")
        for a in p.actions:
            word = _VERB_WORDS[a.kind]
            lines.append(f"    {word:<7} {printable(a.entry.path)} -- {printable(a.reason)}")
    return "\n".join(lines) + "\n\n"


def summary(config: Config, tally: Tally) -> str:
    files = f"{tally.files} file" + ("" if tally.files == 1 else "s")
    size = fdupes_size(tally.freed)
    if config.move_to:
        text = f"moved {files} to {printable(config.move_to)}, freeing {size} here"
    elif config.trash:
        text = f"trashed {files}, freeing {size} once the trash is emptied"
    else:
        text = f"deleted {files}, freed {size}"
    if config.dry_run:
        text = "Dry run, nothing changed: would have " + text.replace("freed", "freeing")
    else:
        text = text[0].upper() + text[1:]
    if tally.skipped:
        text += f"; {tally.skipped} left as they were (see [!] lines)"
    return text + "."


def folders_acted_on(result: Result) -> list[str]:
    """Every folder holding a name this run may remove or a file it may keep."""
    folders: dict[str, None] = {}
    for dupset in result.sets:
        for e in dupset.entries:
            if e.file is not None:
                for name in (e.file.path, *e.file.aliases):
                    folders.setdefault(os.path.dirname(name) or os.curdir)
    return list(folders)


def _write_removed_log(
    config: Config, journal: Journal, now: datetime, names: list[str], bits: int
) -> None:
    from .journal import create_unique

    name_for = log_namer(config, "del", now, ".log", bits)
    if journal.path is not None:
        # the same stem as this run's journal, so the two are found together
        stem = os.path.basename(journal.path)[: -len(".jsonl")]
        first = stem + ".log"

        def paired(suffix: str) -> str:
            return first if not suffix else name_for(suffix)

        fd, _ = create_unique(os.getcwd(), paired)
    else:
        fd, _ = create_unique(os.getcwd(), name_for)
    with open(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("".join(name + "\n" for name in names))


def run_delete(
    config: Config,
    result: Result,
    data: object,
    stdin: TextIO,
    out: TextIO,
    err: TextIO,
    warn: Callable[[str], None],
    plans: list[SetPlan] | None = None,
    not_duplicates: Callable[[list], None] | None = None,
) -> bool:
    """Review every set (prompt or ``-N``) and act on the files not kept.

    ``plans`` (from :func:`imgdupes.plan.plan_sets`) is what ``-N`` does and
    what the prompt suggests; the reports were written from the same one.
    ``not_duplicates(entries)`` remembers a set answered ``x``.

    Returns False when the run stopped acting on an error (see the warning)."""
    now = datetime.now()
    logging = config.log and not config.dry_run
    journal = Journal(
        os.getcwd() if logging else None,
        log_namer(config, "del", now, ".jsonl", result.hash_bits),
    )
    actor = Actor(config, journal)
    planner = None
    if plans is None:
        planner = make_planner(config, data)
        roots = reference_roots(config.references)
    total = len(result.sets)
    if config.dry_run and total:
        out.write(
            "Dry run: nothing will be changed; the lines below say what a real run would do.\n\n"
        )
    if result.query is not None:
        out.write(f"Query: {printable(result.query)}\n\n")
    if config.dry_run and plans is not None:
        out.write(describe_plan(plans))
    locks = FolderLocks()
    if not config.dry_run and total:
        out.flush()
        locks.acquire(folders_acted_on(result), config.lock_wait, warn)
        for folder in locks.unlocked:
            warn(f"{folder}: this filesystem cannot be locked; other runs are not kept out")
    answers = Answers(stdin)
    warning = subdir_warning(result.sets) if config.subdir_warning else None
    if warning:
        err.write(warning + "\n")
        err.flush()
    try:
        for number, dupset in enumerate(result.sets, start=1):
            if actor.stopped:
                break
            if plans is not None:
                plan = plans[number - 1]
            else:
                assert planner is not None
                refs = [e.file is not None and is_reference(e.file, roots) for e in dupset]
                plan = planner.plan(dupset.entries, refs)
            choices = plan.actions
            if config.imgcat:
                from .report.tiles import show_set

                show_set(config, dupset.entries, out)
            _write_listing(out, choices)
            removable = sum(c.removable for c in choices)
            if removable == 0:
                out.write(f"Set {number} of {total}: nothing here may be removed\n")
            elif config.noprompt:
                out.write(f"Set {number} of {total}\n")
                for note in plan.notes:
                    out.write(f"   [!] {printable(note)}\n")
            else:
                suggested = ",".join(str(c.number) for c in choices if not c.remove)
                out.write(f"Suggested (what -N would keep): {suggested}; x: not duplicates\n")
                answer = ask(answers, out, number, total, len(choices), removable)
                if answer.kind == EOF:
                    warn("end of input: stopping, nothing more is removed")
                    break
                if answer.kind == GARBLED:
                    warn(
                        f"{answer.tries} unusable answers in a row: stopping, "
                        "nothing more is removed"
                    )
                    break
                if answer.kind == QUIT:
                    break
                if answer.kind == NOTDUP:
                    if not_duplicates is not None:
                        not_duplicates(dupset.entries)
                        out.write("Marked as not duplicates: not offered again.\n")
                    else:
                        out.write("Not duplicates (not remembered: the hash cache is off).\n")
                    answer = type(answer)(KEEP, frozenset(c.number for c in choices))
                assert answer.kind in (KEEP, NONE)
                plan_answer(plan, answer.kind, answer.keep, actor.verb, answer.kind == NONE)
            out.write("\n")
            for c in choices:
                if c.remove and not actor.stopped:
                    lines = actor.remove(c)
                elif c.remove:
                    lines = [f"   [!] {printable(c.entry.path)} -- not removed: stopped"]
                else:
                    lines = [f"   [+] {printable(c.entry.path)}"]
                out.write("".join(line + "\n" for line in lines))
                out.flush()
            out.write("\n")
    finally:
        locks.release()
        journal.close()
        if logging and actor.tally.removed_names:
            try:
                _write_removed_log(
                    config, journal, now, actor.tally.removed_names, result.hash_bits
                )
            except OSError as exc:
                warn(f"--log: cannot write the log of removed files: {exc.strerror or exc}")
    if actor.stopped:
        warn(f"{actor.stopped}: stopping, nothing more is removed")
    if total:
        out.write(summary(config, actor.tally) + "\n")
    return actor.stopped is None
