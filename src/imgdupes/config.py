"""The bundle of the stages' options that the pipeline takes.

Each stage's options object (:mod:`imgdupes.options`) checks its own fields
when it is built; :class:`Config` adds the checks between two stages and
then never changes.  ``Config(threshold=10, delete=True, ...)`` takes the
stages' fields by name and routes each to its stage; ``config.threshold``
reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, opt
from .options import (
    STAGES,
    ActOptions,
    DiscoverOptions,
    HashOptions,
    ImgcatOptions,
    ReportOptions,
    SearchOptions,
    field_names,
)

__all__ = ["Config", "ConfigError"]

# field name -> the stage holding it
_HOME = {name: stage for stage, cls in STAGES for name in field_names(cls)}
assert len(_HOME) == sum(len(field_names(cls)) for _, cls in STAGES), "a field in two stages"


class Config:
    """Every stage's options, checked together once; frozen."""

    __slots__ = tuple(stage for stage, _ in STAGES)
    discover: DiscoverOptions
    hashing: HashOptions
    search: SearchOptions
    act: ActOptions
    report: ReportOptions
    tiles: ImgcatOptions

    def __init__(
        self,
        *,
        discover: DiscoverOptions | None = None,
        hashing: HashOptions | None = None,
        search: SearchOptions | None = None,
        act: ActOptions | None = None,
        report: ReportOptions | None = None,
        tiles: ImgcatOptions | None = None,
        **values: Any,
    ) -> None:
        given = {
            "discover": discover,
            "hashing": hashing,
            "search": search,
            "act": act,
            "report": report,
            "tiles": tiles,
        }
        unknown = sorted(set(values) - set(_HOME))
        if unknown:
            raise TypeError(f"Config() got unexpected keyword arguments: {', '.join(unknown)}")
        for stage, cls in STAGES:
            mine = {k: v for k, v in values.items() if _HOME[k] == stage}
            options = given[stage]
            if options is None:
                options = cls(**mine)
            elif mine:
                raise TypeError(f"Config(): give {', '.join(mine)} in {stage}, not beside it")
            object.__setattr__(self, stage, options)
        self._check()

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Config:
        """A Config from any mapping (the CLI's parsed arguments): the keys that
        name a stage's field are used, the others ignored."""
        return cls(**{k: v for k, v in values.items() if k in _HOME})

    def replace(self, **changes: Any) -> Config:
        """A new Config with some fields changed: the stages they belong to are
        built (and checked) anew, the others are taken as they are."""
        unknown = sorted(set(changes) - set(_HOME))
        if unknown:
            raise TypeError(f"Config.replace() got unexpected fields: {', '.join(unknown)}")
        stages: dict[str, Any] = {}
        for stage, cls in STAGES:
            old = getattr(self, stage)
            mine = {k: v for k, v in changes.items() if _HOME[k] == stage}
            stages[stage] = (
                cls(**{**{n: getattr(old, n) for n in field_names(cls)}, **mine}) if mine else old
            )
        return Config(**stages)

    def values(self) -> dict[str, Any]:
        """Every field by name, as ``Config(**values)`` takes them."""
        return {name: getattr(self, name) for name in _HOME}

    @property
    def notes(self) -> tuple[str, ...]:
        """Warnings the checks produced (e.g. a non-square hash_bits rounded down)."""
        return self.hashing.notes

    def validate(self) -> Config:
        """Checked when built; kept so older callers of ``Config(...).validate()`` work."""
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Config is frozen: build a new one (config.replace({name}=...))")

    def __repr__(self) -> str:
        inner = ", ".join(repr(getattr(self, stage)) for stage, _ in STAGES)
        return f"Config({inner})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and all(
            getattr(self, s) == getattr(other, s) for s, _ in STAGES
        )

    __hash__ = None  # type: ignore[assignment]

    def _check(self) -> None:
        """The checks between two stages' options."""
        if self.threshold < 0 or self.threshold > self.hash_bits:
            raise ConfigError(
                f"{opt('threshold')} must be between 0 and {self.hash_bits}, got {self.threshold}"
            )
        if self.delete and self.shards:
            raise ConfigError(
                f"{opt('delete', 'short')} cannot delete images inside dataset shards; list the "
                f"duplicates ({opt('json')} or {opt('csv')} name each as shard#key) and drop "
                "those keys from the dataset"
            )
        if self.delete and self.summarize:
            raise ConfigError(f"options {opt('summarize')} and {opt('delete')} are not compatible")
        if self.json and self.delete:
            raise ConfigError(
                f"{opt('json')} lists what was found; it cannot be combined with "
                f"{opt('delete', 'short')}"
            )
        if self.across and len(self.targets) + len(self.references) < 2:
            raise ConfigError(
                f"{opt('across')} needs two or more folders (targets or {opt('references')})"
            )
        if self.dask_scheduler and self.hashes_from and self.export_hashes:
            raise ConfigError(
                f"{opt('export_hashes')} with {opt('hashes_from')} and {opt('dask_scheduler')}: "
                "the table stays on the cluster; it is already a dataset"
            )


def _reader(stage: str, name: str) -> property:
    return property(lambda self: getattr(getattr(self, stage), name), doc=f"{stage}.{name}")


for _name, _stage in _HOME.items():
    setattr(Config, _name, _reader(_stage, _name))
del _name, _stage
