"""One options object per stage, each checking its own fields when it is built.

They sit here, below every stage, because most stages read the
:class:`~imgdupes.config.Config` that bundles them (and so import it): an
options class inside such a stage would make the import graph cycle.  Each
class is frozen and validated in ``__post_init__``: an options object that
exists is a valid one, and nothing changes it afterwards.  Checks between two
stages' options (the distance against the hash bits, ``-d`` against
``--json``) belong to the bundle, :class:`~imgdupes.config.Config`.

Messages name options with :func:`~imgdupes.errors.opt`: the library shows
the parameter name, the command line its flag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

from .errors import ConfigError, OutputError, opt
from .model import HASH_METHODS
from .outpath import check_output_path
from .search.params import ENGINES, EngineParams


def _set(obj: object, name: str, value: object) -> None:
    # a frozen dataclass normalising its own fields while it is being built
    object.__setattr__(obj, name, value)


def _tuple(obj: object, name: str) -> None:
    value = getattr(obj, name)
    if value is not None and not isinstance(value, tuple):
        _set(obj, name, tuple(value))


@dataclass(frozen=True)
class DiscoverOptions:
    """What to read: folders, a list of files, shards, a hash table, the query image."""

    targets: Sequence[str] = ()
    paths: Sequence[str] | None = None  # an explicit list of images (API)
    files_from: str | None = None
    null: bool = False  # --null: the --files-from list is NUL-separated
    recursive: bool = False
    references: Sequence[str] = ()
    # datasets: read WebDataset .tar shards and Parquet files as sets of images
    shards: bool = False
    image_column: str | None = None  # Parquet column of image bytes (default: detected)
    key_column: str | None = None  # Parquet column naming each row (default: __key__/key)
    hashes_from: str | None = None
    query: str | None = None
    dask_scheduler: str | None = None  # address of a Dask scheduler (tcp://host:8786)

    def __post_init__(self) -> None:
        for name in ("targets", "paths", "references"):
            _tuple(self, name)
        if (self.image_column or self.key_column) and not self.shards:
            raise ConfigError(
                f"{opt('image_column')} and {opt('key_column')} only work together with "
                f"{opt('shards')}"
            )


@dataclass(frozen=True)
class HashOptions:
    """How to hash: the method and bits, processes, the cache, the export."""

    hash_method: str = "phash"
    hash_bits: int = 64
    num_proc: int | None = None
    use_cache: bool = True
    cache_dir: str | None = None
    full_decode: bool = False
    rotations: bool = False
    export_hashes: str | None = None
    # warnings produced while checking (e.g. a non-square hash_bits)
    notes: tuple[str, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        if self.hash_method not in HASH_METHODS:
            raise ConfigError(
                f"invalid {opt('hash_method')} {self.hash_method!r} "
                f"(choose from {', '.join(HASH_METHODS)})"
            )
        if self.hash_bits < 4:
            raise ConfigError(f"{opt('hash_bits')} must be at least 4, got {self.hash_bits}")
        side = math.isqrt(self.hash_bits)
        if side * side != self.hash_bits:
            # The seed rounds down to a square and says so; keep that habit.
            _set(
                self,
                "notes",
                (f"hash_bits must be the square of n. Use {side * side} as hash_bits",),
            )
            _set(self, "hash_bits", side * side)
        if self.hash_method == "whash" and side & (side - 1):
            raise ConfigError(
                f"whash needs {opt('hash_bits')} that is the square of a power of two "
                f"(16, 64, 256, 1024), got {self.hash_bits}"
            )
        if self.num_proc is not None and self.num_proc < 1:
            raise ConfigError(f"{opt('num_proc')} must be at least 1")


@dataclass(frozen=True)
class SearchOptions:
    """How to match: the distance, the engine and its tuning, the verification."""

    threshold: int = 4
    engine: str = "exact"
    params: EngineParams = field(default_factory=EngineParams)
    verify: bool = True
    across: bool = False  # only sets spanning two or more of the folders given

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}")


@dataclass(frozen=True)
class ActOptions:
    """What to do with the copies: delete, move or trash, and which to keep."""

    delete: bool = False
    noprompt: bool = False
    dry_run: bool = False
    trash: bool = False
    move_to: str | None = None
    # which copy -N keeps (imgdupes.plan.parse_keep); None: the default chain
    keep: str | None = None
    log: bool = False
    # seconds an acting run waits for another one acting on the same folders
    lock_wait: float = 600.0

    def __post_init__(self) -> None:
        if self.noprompt and not self.delete:
            raise ConfigError(
                f"{opt('noprompt', 'both')} only works together with {opt('delete', 'both')}"
            )
        if self.trash and self.move_to:
            raise ConfigError(f"{opt('trash')} and {opt('move_to')} cannot be used together")
        for name, on in (
            ("dry_run", self.dry_run),
            ("trash", self.trash),
            ("move_to", self.move_to),
        ):
            if on and not self.delete:
                raise ConfigError(f"{opt(name)} only works together with {opt('delete', 'both')}")
        if self.keep is not None:
            from .plan import parse_keep

            try:
                parse_keep(self.keep)
            except ValueError as exc:  # one line: the rule, not the positional usage
                # plan's messages start with the flag; the caller's name for it instead
                raise ConfigError(str(exc).replace("--keep", opt("keep"), 1)) from None


@dataclass(frozen=True)
class ReportOptions:
    """How to show what was found: order, listing style, report files, progress."""

    sort: Sequence[str] = ("filesize",)
    reverse: bool = False
    sameline: bool = False
    summarize: bool = False
    json: bool = False
    html: str | None = None
    csv: str | None = None
    export_sets: str | None = None  # a folder: the sets as a Parquet dataset
    subdir_warning: bool = True
    quiet: bool = False
    progress: bool = False
    error_on_dupe: bool = False

    def __post_init__(self) -> None:
        _tuple(self, "sort")
        for name in ("html", "csv"):
            if (target := getattr(self, name)) is not None:
                check_output_path(name, target)
        if self.export_sets is not None:
            from .hashio import check_sets_dir

            if why := check_sets_dir(self.export_sets):
                raise OutputError(why, self.export_sets)


@dataclass(frozen=True)
class ImgcatOptions:
    """``-c``: sets drawn as tiles in the terminal.  imgcat.check_config checks
    these where they are used, and the CLI calls it before the scan."""

    imgcat: bool = False
    imgcat_protocol: str | None = None
    size: str = "256x256"
    space: int = 0
    space_color: str = "black"
    tile_num: int = 4
    interpolation: str = "INTER_LINEAR"
    keep_aspect: bool = True


STAGES: tuple[tuple[str, type], ...] = (
    ("discover", DiscoverOptions),
    ("hashing", HashOptions),
    ("search", SearchOptions),
    ("act", ActOptions),
    ("report", ReportOptions),
    ("tiles", ImgcatOptions),
)


def field_names(cls: type) -> tuple[str, ...]:
    """The fields a caller may give ``cls`` (those it builds itself left out)."""
    return tuple(f.name for f in fields(cls) if f.init)
