"""Plain data passed between the pipeline stages.

Every stage takes and returns these records (or numpy arrays); none of them
does I/O, so the stages can be tested and reused on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .hashvalue import PLAIN, TONE, HashValue, forms_among, key_name

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


# Shared by every image hashed without --rotations: no dict per file.
NO_TURNS: Mapping[str, bytes] = MappingProxyType({})


@dataclass(slots=True)
class HashRecord:
    """Everything one decode of a file gave: its hashes (packed bits, big-endian,
    ImageHash order) under their :class:`~imgdupes.hashvalue.HashKey` names,
    every method and form computed, and its signature (see imgdupes.signature)."""

    hashes: dict[str, bytes]
    signature: bytes = b""

    def __getitem__(self, name: str) -> bytes:
        return self.hashes[name]

    def __contains__(self, name: object) -> bool:
        return name in self.hashes

    def get(self, method: str, form: str = PLAIN) -> bytes | None:
        return self.hashes.get(key_name(method, form))

    def value(self, method: str, nbits: int, form: str = PLAIN) -> HashValue:
        return HashValue(self.hashes[key_name(method, form)], nbits, method)


@dataclass(slots=True)
class HashedImage:
    """A file with its hashes of one method and its pixel size: the hash as
    shot, the tone-normalised one (DCT methods; None when not computed) and,
    with --rotations, the turned ones (form -> packed, see hashvalue.TURNS)."""

    file: FileRecord
    hash: bytes
    width: int
    height: int
    signature: bytes = b""  # see imgdupes.signature
    tone: bytes | None = None
    turned: Mapping[str, bytes] = field(default_factory=lambda: NO_TURNS)

    @classmethod
    def from_named(
        cls,
        file: FileRecord,
        method: str,
        named: Mapping[str, bytes],
        width: int,
        height: int,
        signature: bytes = b"",
    ) -> HashedImage:
        """The image of ``method``'s hashes among ``named`` (name -> packed, any
        methods and forms)."""
        tone_name, turns = forms_among(tuple(named), method)
        tone = named[tone_name] if tone_name else None
        turned = {form: named[name] for form, name in turns} if turns else NO_TURNS
        plain = named[key_name(method)]
        return cls(file, plain, width, height, signature, tone, turned)

    @classmethod
    def from_record(
        cls, file: FileRecord, method: str, record: HashRecord, width: int, height: int
    ) -> HashedImage:
        return cls.from_named(file, method, record.hashes, width, height, record.signature)

    def value(self, nbits: int, method: str = "", form: str = PLAIN) -> HashValue:
        """One of the hashes as a value (``a - b`` is their distance)."""
        packed = self.hash if form == PLAIN else self.tone if form == TONE else self.turned[form]
        if packed is None:
            raise KeyError(form)
        return HashValue(packed, nbits, method)


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
    nbits: int = 0  # bits in ``hash`` (0: unknown, an entry read back from a report)

    @property
    def value(self) -> HashValue:
        """The hash as a value: ``a.value - b.value`` is their Hamming distance,
        ``str(a.value) == a.hash_hex``."""
        return HashValue(self.hash, self.nbits)


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
