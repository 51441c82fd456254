"""One validated configuration object: what the CLI parses and the API accepts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from .errors import ConfigError, OutputError
from .model import HASH_METHODS
from .search import ENGINES, EngineParams

__all__ = ["Config", "ConfigError"]


def check_output_path(option: str, path: str) -> None:
    """Refuse an output file that cannot be created, before the scan starts."""
    if os.path.isdir(path):
        raise OutputError(f"{option} {path}: is a directory", path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(f"{option} {path}: no such directory {parent}", path)


@dataclass
class Config:
    hash_method: str = "phash"
    threshold: int = 4
    targets: list[str] = field(default_factory=list)
    files_from: str | None = None
    null: bool = False  # --null: the --files-from list is NUL-separated
    paths: list[str] | None = None  # an explicit list of images (API)
    hashes_from: str | None = None
    recursive: bool = False
    hash_bits: int = 64
    query: str | None = None
    engine: str = "exact"
    params: EngineParams = field(default_factory=EngineParams)
    num_proc: int | None = None
    # hashing and cache
    use_cache: bool = True
    cache_dir: str | None = None
    full_decode: bool = False
    # datasets: read WebDataset .tar shards and Parquet files as sets of images
    shards: bool = False
    image_column: str | None = None  # Parquet column of image bytes (default: detected)
    key_column: str | None = None  # Parquet column naming each row (default: __key__/key)
    # grouping and precision
    verify: bool = True
    rotations: bool = False
    # presentation
    sort: list[str] = field(default_factory=lambda: ["filesize"])
    reverse: bool = False
    sameline: bool = False
    summarize: bool = False
    json: bool = False
    log: bool = False
    subdir_warning: bool = True
    quiet: bool = False
    progress: bool = False
    error_on_dupe: bool = False
    export_hashes: str | None = None
    export_sets: str | None = None  # a folder: the sets as a Parquet dataset
    dask_scheduler: str | None = None  # address of a Dask scheduler (tcp://host:8786)
    html: str | None = None
    csv: str | None = None
    # imgcat
    imgcat: bool = False
    imgcat_protocol: str | None = None
    size: str = "256x256"
    space: int = 0
    space_color: str = "black"
    tile_num: int = 4
    interpolation: str = "INTER_LINEAR"
    keep_aspect: bool = True
    # actions
    delete: bool = False
    noprompt: bool = False
    dry_run: bool = False
    trash: bool = False
    move_to: str | None = None
    references: list[str] = field(default_factory=list)
    # which copy -N keeps (imgdupes.plan.parse_keep); None: the default chain
    keep: str | None = None
    across: bool = False  # only sets spanning two or more of the folders given
    # seconds an acting run waits for another one acting on the same folders
    lock_wait: float = 600.0
    # warnings produced while validating (e.g. a non-square --hash-bits)
    notes: list[str] = field(default_factory=list)

    def validate(self) -> Config:
        if self.hash_method not in HASH_METHODS:
            raise ConfigError(
                f"invalid hash_method {self.hash_method!r} (choose from {', '.join(HASH_METHODS)})"
            )
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}")
        if self.hash_bits < 4:
            raise ConfigError(f"--hash-bits must be at least 4, got {self.hash_bits}")
        side = math.isqrt(self.hash_bits)
        if side * side != self.hash_bits:
            # The seed rounds down to a square and says so; keep that habit.
            self.notes.append(f"hash_bits must be the square of n. Use {side * side} as hash_bits")
            self.hash_bits = side * side
        if self.hash_method == "whash" and side & (side - 1):
            raise ConfigError(
                f"whash needs --hash-bits that is the square of a power of two "
                f"(16, 64, 256, 1024), got {self.hash_bits}"
            )
        if self.threshold < 0 or self.threshold > self.hash_bits:
            raise ConfigError(
                f"hamming_distance must be between 0 and {self.hash_bits}, got {self.threshold}"
            )
        if self.num_proc is not None and self.num_proc < 1:
            raise ConfigError("--num-proc must be at least 1")
        if self.delete and self.shards:
            raise ConfigError(
                "-d cannot delete images inside dataset shards; list the duplicates "
                "(--json or --csv name each as shard#key) and drop those keys from the dataset"
            )
        if (self.image_column or self.key_column) and not self.shards:
            raise ConfigError("--image-column and --key-column only work together with --shards")
        if self.delete and self.summarize:
            raise ConfigError("options --summarize and --delete are not compatible")
        if self.noprompt and not self.delete:
            raise ConfigError("-N/--noprompt only works together with -d/--delete")
        if self.trash and self.move_to:
            raise ConfigError("--trash and --move-to cannot be used together")
        if self.json and self.delete:
            raise ConfigError("--json lists what was found; it cannot be combined with -d")
        for flag, on in (
            ("--dry-run", self.dry_run),
            ("--trash", self.trash),
            ("--move-to", self.move_to),
        ):
            if on and not self.delete:
                raise ConfigError(f"{flag} only works together with -d/--delete")
        if self.across and len(self.targets) + len(self.references) < 2:
            raise ConfigError("--across needs two or more folders (targets or --reference)")
        # -c's own options are checked by imgcat.check_config, which the CLI
        # calls: the configuration imports no stage, so no stage imports it back.
        for option, target in (("--html", self.html), ("--csv", self.csv)):
            if target is not None:
                check_output_path(option, target)
        if self.export_sets is not None:
            from .hashio import check_sets_dir

            if why := check_sets_dir(self.export_sets):
                raise OutputError(why, self.export_sets)
        if self.dask_scheduler and self.hashes_from and self.export_hashes:
            raise ConfigError(
                "--export-hashes with --hashes-from and --dask-scheduler: the table stays on "
                "the cluster; it is already a dataset"
            )
        if not (self.targets or self.files_from or self.hashes_from or self.paths is not None):
            raise ConfigError(
                "target_dir is required unless --files-from or --hashes-from is given"
            )
        return self
