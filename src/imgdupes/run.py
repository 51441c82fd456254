"""What the command does once its configuration is valid: find, then report or act."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import TextIO

from .config import Config
from .errors import OutputError
from .model import Result
from .pipeline import find, unsearched_folders
from .report.json_report import write_json
from .report.logs import log_namer, write_dup_log
from .report.text import summary_line, write_query, write_sets

EXIT_OK = 0
EXIT_DUPES = 1
EXIT_ERROR = 1  # fdupes: 1 on errors (here: a report that could not be written)


def run(
    config: Config, stdin: TextIO, out: TextIO, err: TextIO, warn: Callable[[str], None]
) -> int:
    if config.delete:
        from .act import check_ready

        check_ready(config)
    if config.log:
        check_log_folder(os.getcwd())
    if config.imgcat:
        from .report.tiles import pictures_reach_terminal

        # said before the scan, not after minutes of hashing
        if not pictures_reach_terminal(out, warn):
            config = config.replace(imgcat=False)  # this run lists the sets as text
    result, data = find(config, warn)
    if not result.sets and result.hashed:
        # the images may sit in subfolders (no -r: only the top folder was read)
        if folders := unsearched_folders(config):
            warn(
                f"nothing found in the top folder of {folders[0]}; its subfolders hold"
                " images too: add -r to search them"
            )
    ignored = _remembered(config, result, data, warn)
    if config.across:
        from .plan import across_folders

        result.sets = across_folders(result.sets, config.targets, config.references)
    # One plan: -N, the prompt's suggestion and every report's marks read it.
    plans = None
    # The prompt plans each set as it comes (no wait before the first question)
    # unless a report or -N/--dry-run needs the whole plan first.
    if (
        config.json
        or config.html
        or config.csv
        or (config.delete and (config.noprompt or config.dry_run))
    ):
        from .plan import plan_sets

        plans = plan_sets(config, result, data)
    # Reports before any action: -d may delete the files the thumbnails come from.
    reports_ok = _write_reports(config, result, warn, plans)

    if config.log and result.sets:
        reports_ok = _write_dup_log(config, result, warn) and reports_ok

    if config.delete:
        from .act import make_move_to, run_delete

        make_move_to(config, warn)
        try:
            reports_ok = (
                run_delete(
                    config,
                    result,
                    data,
                    stdin,
                    out,
                    err,
                    warn,
                    plans,
                    ignored.add if ignored is not None else None,
                )
                and reports_ok
            )
        finally:
            if ignored is not None:
                ignored.close()
    elif config.json:
        write_json(result, out, plans)
    elif config.imgcat:
        from .report.tiles import show_listing

        show_listing(config, result, out)
    elif config.query is not None:
        entries = result.sets[0].entries if result.sets else []
        write_query(config.query, entries, out, config.sameline)
    else:
        write_sets(result.sets, out, config.sameline)

    if config.summarize and not config.json:
        out.write(summary_line(result.sets) + "\n")
    out.flush()
    if config.error_on_dupe and result.sets:
        return EXIT_DUPES
    return EXIT_OK if reports_ok else EXIT_ERROR


def _remembered(config: Config, result: Result, data, warn: Callable[[str], None]):
    """Take the pairs marked "not duplicates" out of the sets; the open table
    when ``-d`` may mark more (else None)."""
    if not config.use_cache or result.query is not None or not result.sets:
        return None
    from .ignored import IgnoredPairs, split_sets

    store = IgnoredPairs.open(config.cache_dir, lambda m: None)
    if store is None:
        return None
    pairs = store.pairs()
    if pairs:
        from .group import best_form_distance, finish_set
        from .plan import verified_similarity

        similar = verified_similarity(data) if config.verify else None

        def linked(a, b) -> bool:
            return best_form_distance(a, b) <= config.threshold and (
                similar is None or similar(a, b)
            )

        result.sets = split_sets(
            result.sets, pairs, linked, lambda es: finish_set(es, config.sort, config.reverse)
        )
    if config.delete and not config.noprompt:
        return store
    store.close()
    return None


def check_log_folder(folder: str) -> None:
    """--log writes in the current folder: find out now, before any work, that it can."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(
            f"--log: cannot write logs in the current folder {folder}: {exc.strerror or exc}",
            folder,
        ) from None


def _write_dup_log(config: Config, result: Result, warn: Callable[[str], None]) -> bool:
    from datetime import datetime

    from .journal import create_unique

    try:
        fd, _ = create_unique(
            os.getcwd(), log_namer(config, "dup", datetime.now(), bits=result.hash_bits)
        )
        write_dup_log(fd, result, config.sameline)
    except OSError as exc:
        warn(f"--log: cannot write the duplicate log: {exc.strerror or exc}")
        return False
    return True


def _write_reports(
    config: Config, result: Result, warn: Callable[[str], None], plans: list | None = None
) -> bool:
    ok = True
    if config.html:
        from .report.html_report import write_html

        ok = write_html(config.html, result, config, warn, plans) and ok
    if config.csv:
        from .report.csv_report import write_csv

        ok = write_csv(config.csv, result, warn, plans) and ok
    return ok
