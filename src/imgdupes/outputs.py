"""No output lands on an input: the report files a run writes are checked
against the files it reads before anything is written (or hashed)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .config import Config
from .errors import OutputError, opt
from .model import FileRecord


def output_files(config: Config) -> list[tuple[str, str]]:
    """(option, path) of every file this run writes by name."""
    named = (
        (opt("html"), config.html),
        (opt("csv"), config.csv),
        (opt("export_hashes"), config.export_hashes),
    )
    return [(option, path) for option, path in named if path]


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # not there yet: it cannot be an input
    return (st.st_dev, st.st_ino)


def refuse_inputs(config: Config, files: Iterable[FileRecord] = ()) -> None:
    """OutputError (one line) when an output names an input: a scanned image,
    the --hashes-from table, the --files-from list or the --query image.

    Compared by (device, inode), so another path to the same file, a hard link
    or a symlink to it is caught too."""
    outputs = [(o, p, _identity(p)) for o, p in output_files(config)]
    outputs = [(o, p, i) for o, p, i in outputs if i is not None]
    if not outputs:
        return
    inputs: dict[tuple[int, int], str] = {}
    for option, path in (
        (opt("hashes_from"), config.hashes_from),
        (opt("files_from"), config.files_from if config.files_from != "-" else None),
        (opt("query"), config.query),
    ):
        if path and (ident := _identity(path)) is not None:
            inputs.setdefault(ident, f"the {option} file")
    for rec in files:
        inputs.setdefault(rec.identity, "an image this run reads")
    for option, path, ident in outputs:
        if ident in inputs:
            raise OutputError(
                f"{option} {path}: is {inputs[ident]}; refusing to overwrite it", path
            )
