"""Discovery: target directories or a list of paths -> one record per real file.

Images are recognised by content (magic bytes) as well as by extension, in
any case.  Several names of one real file (symlinks, hard links, ``./a.jpg``
beside ``a.jpg``) collapse to one :class:`FileRecord` whose other names are
kept as aliases, so a file is never offered as its own duplicate.
"""

from __future__ import annotations

import os
import stat
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

from .columns import FileTable
from .formats import RAW_EXTENSIONS, is_heif
from .model import FileRecord, ScanError

IMAGE_EXTENSIONS = (
    frozenset(
        ext.lower()
        for ext in (
            ".jpg .jpeg .jpe .jfif .png .apng .gif .webp .bmp .dib .tif .tiff .heic .heif .hif"
            " .avif .jxl .ico .ppm .pgm .pbm .pnm .tga .psd .jp2 .j2k"
        ).split()
    )
    | RAW_EXTENSIONS
)

# (offset, magic) pairs for formats we can decode; HEIF/AVIF are matched on
# their ftyp brand below.
_MAGIC = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),
    (0, b"II*\x00"),  # TIFF little-endian (and most RAW)
    (0, b"MM\x00*"),  # TIFF big-endian
)


def sniff_image(head: bytes) -> bool:
    """True when the first bytes of a file look like an image format we read."""
    for offset, magic in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return is_heif(head)


def has_image_extension(path: str) -> bool:
    # rpartition instead of splitext: called once per file of a million-file walk
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext or os.sep in ext:
        return False
    name = stem.rpartition(os.sep)[2]
    return bool(name.strip(".")) and ("." + ext.lower()) in IMAGE_EXTENSIONS


def _read_head(path: str) -> bytes | None:
    # Non-blocking and checked on the handle: a FIFO swapped in after the
    # stat would otherwise hang discovery.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, 32)
    except OSError:
        return None
    finally:
        os.close(fd)


@dataclass
class Discovery:
    # a FileTable when the targets were folders (the columns a warm run needs)
    files: list[FileRecord] | FileTable = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each, for the user

    @property
    def aliases(self) -> list[list[str]]:
        if isinstance(self.files, FileTable):
            return self.files.alias_lists()
        return [[f.path, *f.aliases] for f in self.files if f.aliases]


DirKey = tuple[int, int]
_NAME = attrgetter("name")


def _dir_key(path: str) -> DirKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def walk(
    directory: str,
    recursive: bool,
    on_error: Callable[[str, str], None],
    seen: dict[DirKey, str] | None = None,
    skip: dict[DirKey, str] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> Iterator[str]:
    """Yield file paths below ``directory`` in a stable (sorted) order.

    Symlinked directories are not followed while recursing: following them can
    loop and would report one folder twice under two names.  A folder reached
    again under another path (a bind mount, even of a folder inside itself) is
    walked once: ``seen`` maps (device, inode) to the path it was walked as.
    Folders in ``skip`` are left out (``on_skip(path, why)`` says so).
    """
    for folder, entries in _walk_folders(directory, recursive, on_error, seen, skip, on_skip):
        prefix = _prefix(folder)
        for entry in entries:
            yield prefix + entry.name


def _prefix(folder: str) -> str:
    """What ``os.path.join(folder, name)`` puts before the name."""
    return os.path.join(folder, "")


def _walk_folders(
    directory: str,
    recursive: bool,
    on_error: Callable[[str, str], None],
    seen: dict[DirKey, str] | None = None,
    skip: dict[DirKey, str] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """(folder, its entries that are not folders, sorted by name), as :func:`walk` orders them."""
    seen = {} if seen is None else seen
    key = _dir_key(directory)
    if key is not None:
        if skip and key in skip:
            if on_skip:
                on_skip(directory, skip[key])
            return
        if key in seen:
            if on_skip:
                on_skip(directory, f"the same folder as {seen[key]}; searched once")
            return
        seen[key] = directory
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=_NAME)
    except OSError as exc:
        on_error(directory, f"cannot read directory: {exc.strerror or exc}")
        return
    subdirs = []
    files = []
    prefix = _prefix(directory)
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            if recursive:
                subdirs.append(prefix + entry.name)
            continue
        files.append(entry)
    yield directory, files
    for sub in subdirs:
        yield from _walk_folders(sub, recursive, on_error, seen, skip, on_skip)


def images_below(directory: str, budget: int = 20_000) -> bool:
    """Whether a subfolder of ``directory`` holds a file named as an image.

    Asked only to suggest ``-r`` when a run without it found nothing, so it
    looks at no more than ``budget`` entries (a huge tree answers no rather
    than keeping the user waiting) and does not follow symlinked folders."""
    try:
        with os.scandir(directory) as it:
            pending = [e.path for e in it if e.is_dir(follow_symlinks=False)]
    except OSError:
        return False
    seen = 0
    while pending and seen < budget:
        try:
            with os.scandir(pending.pop()) as it:
                for entry in it:
                    seen += 1
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif has_image_extension(entry.name):
                        return True
        except OSError:
            continue
    return False


def read_path_list(source: str | bytes, null: bool = False) -> list[str]:
    """Paths from a ``--files-from`` file (or the bytes of one), one per line.

    Read as bytes and decoded with the filesystem encoding so that names with
    non-UTF-8 bytes survive; blank lines are skipped.  With ``null`` (``--null``,
    as tar's) names end with NUL bytes instead, as ``find -print0`` writes them;
    a list holding any NUL is read that way too, since no name can contain one.
    """
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as fh:
            data = fh.read()
    if null or b"\0" in data:
        # every other byte, newlines included, belongs to the name
        return [os.fsdecode(raw) for raw in data.split(b"\0") if raw]
    paths = []
    for raw in data.split(b"\n"):
        raw = raw.rstrip(b"\r")
        if raw.strip():
            paths.append(os.fsdecode(raw))
    return paths


def _examine(
    path: str, explicit: bool, on_error: Callable[[str, str], None]
) -> tuple[os.stat_result, bool] | None:
    """(stat, is a symlink) of a candidate that is an image file, else None
    (with the reason through ``on_error`` where the user should hear it)."""
    named_image = has_image_extension(path)
    try:
        lst = os.lstat(path)
    except OSError as exc:
        on_error(path, f"cannot read: {exc.strerror or exc}")
        return None
    is_link = stat.S_ISLNK(lst.st_mode)
    try:
        st = os.stat(path) if is_link else lst
    except OSError:
        if named_image or explicit:
            on_error(path, "broken symlink")
        return None
    if stat.S_ISDIR(st.st_mode):
        # only a --files-from list names folders here, and `find photos` lists
        # every folder it walks: not worth a warning line each
        return None
    if not stat.S_ISREG(st.st_mode):
        if named_image or explicit:
            on_error(path, "not a regular file")
        return None
    if not named_image:
        head = _read_head(path)
        if head is None:
            if explicit:
                on_error(path, "permission denied")
            return None
        if not sniff_image(head):
            if explicit:
                on_error(path, "not an image")
            return None
    return st, is_link


def discover(
    targets: Iterable[str] = (),
    *,
    recursive: bool = False,
    files: Iterable[str] | None = None,
    skip_dirs: dict[str, str] | None = None,
) -> Discovery:
    """Find candidate images.

    ``targets`` are directories (or single files); ``files`` is an explicit
    list (``--files-from``).  A file named explicitly, or whose name claims an
    image format, is reported when it is not usable; other non-image files in
    a directory are skipped quietly.

    ``skip_dirs``: folder -> why; their files are left out (``--move-to``).
    """
    result = Discovery()

    def on_error(path: str, reason: str) -> None:
        result.errors.append(ScanError(path, reason))

    def on_skip(path: str, reason: str) -> None:
        result.notes.append(f"{path}: {reason}")

    skip = {}
    for folder, why in (skip_dirs or {}).items():
        key = _dir_key(folder)
        if key is not None:
            skip[key] = why
    seen: dict[DirKey, str] = {}
    targets = list(targets)
    if files is None and targets and all(os.path.isdir(t) for t in targets):
        _discover_folders(targets, recursive, result, seen, skip, on_skip)
        return result
    candidates: list[tuple[str, bool]] = []  # (path, named explicitly)
    if files is not None:
        candidates.extend((p, True) for p in files)
    else:
        for target in targets:
            if os.path.isdir(target):
                candidates.extend(
                    (p, False) for p in walk(target, recursive, on_error, seen, skip, on_skip)
                )
            elif os.path.lexists(target):
                candidates.append((target, True))
            else:
                on_error(target, "no such file or directory")

    by_identity: dict[tuple[int, int], list[tuple[str, os.stat_result, bool]]] = {}
    order: list[tuple[int, int]] = []
    folder_keys: dict[str, DirKey | None] = {}
    entries_seen: set[tuple[DirKey, str]] = set()
    for path, explicit in candidates:
        # ``t/x.jpg`` and ``./t/x.jpg`` (or the same name through a bind mount)
        # are one directory entry, not two names of a file: removing one
        # removes the other, so only the first is kept.
        folder, base = os.path.split(path)
        if folder not in folder_keys:
            folder_keys[folder] = _dir_key(folder or os.curdir)
        fkey = folder_keys[folder]
        if fkey is not None:
            if (fkey, base) in entries_seen:
                continue
            entries_seen.add((fkey, base))
        found = _examine(path, explicit, on_error)
        if found is None:
            continue
        st, is_link = found
        key = (st.st_dev, st.st_ino)
        if key not in by_identity:
            by_identity[key] = []
            order.append(key)
        by_identity[key].append((path, st, is_link))

    for key in order:
        names = by_identity[key]
        # The name kept as primary is a real (non-symlink) name when there is one,
        # then the shortest normalised path, so the choice does not depend on order.
        if len(names) > 1:
            names.sort(key=lambda n: (n[2], os.path.normpath(n[0]), n[0]))
        primary, st, _ = names[0]
        seen = {primary}
        aliases = []
        for name, _, _ in names[1:]:
            if name not in seen:
                seen.add(name)
                aliases.append(name)
        result.files.append(
            FileRecord(
                path=primary,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                dev=st.st_dev,
                ino=st.st_ino,
                aliases=tuple(aliases),
                ctime_ns=st.st_ctime_ns,
            )
        )
    return result


def _discover_folders(
    targets: list[str],
    recursive: bool,
    result: Discovery,
    seen: dict[DirKey, str],
    skip: dict[DirKey, str],
    on_skip: Callable[[str, str], None],
) -> None:
    """:func:`discover` for folder targets, straight into columns.

    The same files, names and order as the general loop, without its
    per-file objects: an entry whose type (from the listing) is a regular
    file named as an image costs one ``lstat``, like a bare walk; only
    symlinks, files named otherwise and files reached under two names go
    through :func:`_examine` and the merging of names.  No entry of a walk
    can be met twice (folders are walked once), so no name check is needed.
    """
    file_errors: list[ScanError] = []

    def on_dir_error(path: str, reason: str) -> None:
        result.errors.append(ScanError(path, reason))

    def on_file_error(path: str, reason: str) -> None:
        file_errors.append(ScanError(path, reason))

    paths: list[str] = []
    # dev, ino, size, mtime_ns, ctime_ns of each row, as machine integers: a
    # list of Python ints held 180 MB for a million files, this holds 40
    nums = array("q")
    add = nums.extend
    links: set[int] = set()
    folders: list[str] = []
    counts: list[int] = []
    image_ext: dict[str, bool] = {}
    is_reg = stat.S_ISREG
    for target in targets:
        for folder, entries in _walk_folders(target, recursive, on_dir_error, seen, skip, on_skip):
            start = len(paths)
            prefix = _prefix(folder)
            for entry in entries:
                name = entry.name
                path = prefix + name
                # has_image_extension(path), cached by extension
                dot = name.rfind(".")
                ext = name[dot:] if dot > 0 else ""
                named = image_ext.get(ext)
                if named is None:
                    named = image_ext[ext] = ext.lower() in IMAGE_EXTENSIONS
                try:
                    plain = named and entry.is_file(follow_symlinks=False)
                except OSError:
                    plain = False
                if plain and name[:dot].strip("."):
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError as exc:
                        on_file_error(path, f"cannot read: {exc.strerror or exc}")
                        continue
                    if is_reg(st.st_mode):
                        paths.append(path)
                        add((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
                        continue
                found = _examine(path, False, on_file_error)
                if found is None:
                    continue
                st, is_link = found
                if is_link:
                    links.add(len(paths))
                paths.append(path)
                add((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            folders.append(folder)
            counts.append(len(paths) - start)
    result.errors.extend(file_errors)
    stamps = np.frombuffer(nums, dtype=np.int64).reshape(-1, 5)
    folder_of = np.repeat(np.arange(len(folders), dtype=np.int32), counts)
    name_at = np.repeat(
        np.array([len(_prefix(f)) for f in folders], dtype=np.int32), counts
    ).astype(np.int32)
    if links:
        folder_of[list(links)] = -1  # a symlink's real path is not its folder's
    aliases: dict[int, tuple[str, ...]] = {}
    keep = _merge_names(paths, stamps, links, folder_of, name_at, aliases)
    if keep is not None:
        rows = np.flatnonzero(keep)
        position = np.cumsum(keep) - 1
        aliases = {int(position[r]): names for r, names in aliases.items()}
        paths = [paths[r] for r in rows.tolist()]
        stamps, folder_of, name_at = stamps[rows], folder_of[rows], name_at[rows]
    result.files = FileTable(paths, stamps, aliases, folders, folder_of, name_at)


def _merge_names(
    paths: list[str],
    stamps: np.ndarray,
    links: set[int],
    folder_of: np.ndarray,
    name_at: np.ndarray,
    aliases: dict[int, tuple[str, ...]],
) -> np.ndarray | None:
    """Rows of one real file (hard links, symlinks) become one: its first
    row, holding the primary name (as the general loop chooses it) and the
    others as ``aliases``.  Returns the rows kept (None: all of them)."""
    if len(paths) < 2:
        return None
    key = stamps[:, :2]
    order = np.lexsort((key[:, 1], key[:, 0]))
    ordered = key[order]
    same = (ordered[1:] == ordered[:-1]).all(axis=1)
    if not same.any():
        return None
    rows = np.unique(np.concatenate([order[1:][same], order[:-1][same]]))
    groups: dict[tuple[int, int], list[int]] = {}
    for r in rows.tolist():
        groups.setdefault((int(stamps[r, 0]), int(stamps[r, 1])), []).append(r)
    keep = np.ones(len(paths), dtype=bool)
    for members in groups.values():
        names = sorted(members, key=lambda r: (r in links, os.path.normpath(paths[r]), paths[r], r))
        first, primary = members[0], names[0]
        others = []
        seen = {paths[primary]}
        for r in names[1:]:
            if paths[r] not in seen:
                seen.add(paths[r])
                others.append(paths[r])
        paths[first] = paths[primary]
        stamps[first] = stamps[primary]
        folder_of[first] = folder_of[primary]
        name_at[first] = name_at[primary]
        keep[members[1:]] = False
        if others:
            aliases[first] = tuple(others)
    return keep
