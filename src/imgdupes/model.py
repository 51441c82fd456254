"""Plain data passed between the pipeline stages.

Every stage takes and returns these records (or numpy arrays); none of them
does I/O, so the stages can be tested and reused on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HASH_METHODS = ("ahash", "phash", "dhash", "whash", "phash_org")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One real file, as discovery found it.

    ``path`` is the name the user gave or the walk found, unchanged, so that
    output shows exactly what the user typed.  ``aliases`` are the other names
    (symlinks, hard links, ``./a.jpg`` next to ``a.jpg``) that reach the same
    (dev, inode); they are never offered as duplicates of each other.
    """

    path: str
    size: int
    mtime_ns: int
    dev: int
    ino: int
    aliases: tuple[str, ...] = ()
    # ctime cannot be set back by a program (utime, cp -p, rsync -t set mtime
    # only), and a file removed and re-created under the same inode gets a new
    # one: with it, a file edited in place is never taken for the one hashed.
    ctime_ns: int = 0
    # An image inside a dataset shard (WebDataset .tar, Parquet): the shard's
    # path; ``path`` is then ``shard#member`` (or ``shard#row``/``shard#key``)
    # and dev, ino, mtime and ctime are the shard's.  "" for a file of its own.
    shard: str = ""

    @property
    def identity(self) -> tuple[int, int]:
        return (self.dev, self.ino)

    @property
    def stamp(self) -> tuple[int, int, int, int, int]:
        """(dev, inode, size, mtime_ns, ctime_ns): what must not change between
        hashing a file and acting on it."""
        return (self.dev, self.ino, self.size, self.mtime_ns, self.ctime_ns)


@dataclass(frozen=True, slots=True)
class ScanError:
    """A file left out of the run, with the one-line reason shown to the user."""

    path: str
    error: str


@dataclass(slots=True)
class HashedImage:
    """A file with its hash (packed bits, big-endian, ImageHash order) and pixel size."""

    file: FileRecord
    hash: bytes
    width: int
    height: int
    signature: bytes = b""  # see imgdupes.signature
    variants: dict[str, bytes] = field(default_factory=dict)  # --rotations: name -> packed


@dataclass(slots=True)
class SetEntry:
    """One file of a duplicate set as reported to the user."""

    path: str
    size: int
    width: int
    height: int
    mtime_ns: int
    hash_hex: str
    distance: int
    file: FileRecord | None = None
    hash: bytes = b""
    tone: bytes = b""  # hash of the tone-normalised picture (phash methods), else b""
    # verify.RULES name confirming this file against the set's first, "linked"
    # when only a chain through other files does; "" unverified or first
    rule: str = ""


@dataclass(slots=True)
class DupSet:
    """A set of near-duplicates, files in display (``--sort``) order; which one
    ``-N`` keeps is the plan's choice (imgdupes.plan)."""

    entries: list[SetEntry]

    @property
    def paths(self) -> list[str]:
        return [e.path for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)


@dataclass(slots=True)
class Result:
    """Everything a run found; the report and action stages read only this."""

    hash_method: str
    hash_bits: int
    threshold: int
    sets: list[DupSet] = field(default_factory=list)
    aliases: list[list[str]] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    query: str | None = None
    hashed: int = 0
