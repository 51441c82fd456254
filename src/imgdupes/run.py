"""What the command does once its configuration is valid: find, then report or act."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TextIO

from . import report
from .config import Config
from .pipeline import find

EXIT_OK = 0
EXIT_DUPES = 1


def run(
    config: Config, stdin: TextIO, out: TextIO, err: TextIO, warn: Callable[[str], None]
) -> int:
    if config.delete:
        from .act import check_ready

        check_ready(config)
    result, data = find(config, warn)

    if config.log and result.sets:
        source = config.files_from or (config.targets[0] if config.targets else "hashes")
        name = report.log_basename(
            "dup", config.engine, source, config.hash_method, config.hash_bits, config.threshold
        )
        report.write_dup_log(os.path.join(os.getcwd(), name), result, config.sameline)

    if config.delete:
        from .act import run_delete

        run_delete(config, result, data, stdin, out, err, warn)
    elif config.json:
        report.write_json(result, out)
    elif config.query is not None:
        entries = result.sets[0].entries if result.sets else []
        report.write_query(config.query, entries, out, config.sameline)
    else:
        report.write_sets(result.sets, out, config.sameline)

    if config.summarize and not config.json:
        out.write(report.summary_line(result.sets) + "\n")
    out.flush()
    if config.error_on_dupe and result.sets:
        return EXIT_DUPES
    return EXIT_OK
