"""Command line: parse arguments into one Config, run the stages, print.

``imgdupes [options] target_dir [target_dir ...] hash_method hamming_distance``
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import TextIO

from . import __version__
from .config import Config, ConfigError
from .errors import ImgdupesError, RunError, render
from .group import SORT_KEYS, parse_sort
from .model import HASH_METHODS
from .report.formatting import printable, set_listing
from .search import EngineParams, EngineUnavailable
from .search.libs import check_engine

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


USAGE = "imgdupes [options] target_dir [target_dir ...] hash_method hamming_distance"
EXAMPLE = "imgdupes -r photos phash 10"

DESCRIPTION = f"""\
Find near-duplicate images by perceptual hash, review them and delete the
ones you do not want, the fdupes way.

examples:
  {EXAMPLE}                  list the duplicate sets below photos/
  imgdupes -r -d photos phash 10               review each set, choose what to keep
  imgdupes -r -dN --dry-run photos phash 10    what -N would remove; nothing changes
  imgdupes -r --html dupes.html photos phash 10    a page of thumbnails to look at
  find photos -print0 | imgdupes --null -T - phash 10

Start with phash 10 (the suggested threshold): with the match verification (on by
default) it finds resized, recompressed, brightened and slightly cropped copies and
puts no two different pictures in one set on the benchmark (docs/accuracy.md).
Use phash 4 for near-identical files only.  Before -dN removes anything without
asking, --dry-run shows what it would do (README.md and docs/ say more)."""


class UsageError(ConfigError):
    """A command line that cannot be run: shown with the usage line and an example."""

    def __init__(self, message: str, example: str = EXAMPLE) -> None:
        super().__init__(message)
        self.example = example


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option shows its default; flags read "(default: off)"; the
    description (examples) keeps its line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return text + " (default: off)"
        if action.default is None or action.default == []:
            return text
        return text + " (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, as argparse but shorter
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="imgdupes",
        usage=USAGE,
        description=DESCRIPTION,
        epilog="Also: imgdupes apply REPORT [--dry-run] [--trash | --move-to DIR] [--log] "
        "carries out a --json report; imgdupes review (REPORT | the arguments of a run) "
        "shows the sets in the browser (docs/review.md).",
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "positionals",
        nargs="*",
        metavar="target_dir hash_method hamming_distance",
        help=f"folders to search, then the hash method ({', '.join(HASH_METHODS)}) "
        "and the largest Hamming distance that counts as a duplicate",
    )
    p.add_argument("--version", action="version", version=f"imgdupes {__version__}")

    g = p.add_argument_group("input")
    g.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="search images recursively below each target directory",
    )
    g.add_argument(
        "-T",
        "--files-from",
        metavar="FILE",
        default=None,
        help="read the images to check from FILE, one path per line ('-' = stdin)",
    )
    # No "-0" short form: with it argparse reads "--space -1" as two options.
    g.add_argument(
        "--null",
        action="store_true",
        help="with -T: names in FILE end with NUL bytes, as find -print0 writes them"
        " (as tar's --null; a list holding NUL bytes is read so anyway)",
    )
    g.add_argument(
        "--hashes-from",
        metavar="FILE",
        default=None,
        help="search precomputed hashes from a CSV or Parquet file (path,hash columns), "
        "or a folder or glob of Parquet files, instead of reading images",
    )
    g.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        default=None,
        help="run on the Dask cluster at ADDRESS (tcp://host:8786): the workers hash the "
        "images (they must see them under the same paths); with --hashes-from the exact "
        "search runs on the workers",
    )
    g.add_argument(
        "--query",
        metavar="IMAGE",
        default=None,
        help="list the images within the distance of IMAGE",
    )
    g.add_argument(
        "--reference",
        metavar="DIR",
        dest="references",
        action="append",
        default=[],
        help="also search DIR, but never delete or move files under it (repeatable; default: none)",
    )

    g.add_argument(
        "--shards",
        action="store_true",
        help="also read dataset shards among the targets: WebDataset .tar files and Parquet "
        "files with a column of image bytes; each image inside is named shard#member",
    )
    g.add_argument(
        "--image-column",
        metavar="NAME",
        default=None,
        help="with --shards: the Parquet column holding the image bytes "
        "(default: the first binary column, or a struct column's 'bytes' field)",
    )
    g.add_argument(
        "--key-column",
        metavar="NAME",
        default=None,
        help="with --shards: the Parquet column naming each row "
        "(default: __key__ or key when present, else the row number)",
    )

    g = p.add_argument_group("hashing")
    g.add_argument(
        "--hash-bits",
        type=int,
        default=64,
        help="bits of the perceptual hash, a square: 64 (8x8), 144, 256, ...",
    )
    g.add_argument(
        "--num-proc", type=int, default=None, help="hashing processes (default: all cores)"
    )
    g.add_argument(
        "--no-cache",
        dest="use_cache",
        action="store_false",
        help="neither read nor write the hash cache",
    )
    g.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="where the hash cache lives (default: the platform's cache folder)",
    )
    g.add_argument(
        "--full-decode",
        action="store_true",
        help="decode every image at full size: slower, bit-identical to ImageHash",
    )
    g.add_argument(
        "--export-hashes",
        metavar="FILE",
        default=None,
        help="write the hashes of this run to a CSV or Parquet file",
    )

    g = p.add_argument_group("matching")
    g.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="trust the hash alone: do not confirm matches with a second signal, and"
        " search the plain hash only (not also the tone-normalised and region ones)",
    )
    g.add_argument(
        "--across",
        action="store_true",
        help="only sets holding files from two or more of the target folders "
        "(or a --reference folder and a target)",
    )
    g.add_argument(
        "--show-ignored",
        action="store_true",
        help="list the pairs marked 'not duplicates' (answer x at the -d prompt) and exit",
    )
    g.add_argument(
        "--forget-ignored",
        action="store_true",
        help="forget every pair marked 'not duplicates' and exit",
    )
    g.add_argument(
        "--rotations",
        action="store_true",
        help="also match copies rotated by 90/180/270 degrees or mirrored",
    )

    g = p.add_argument_group("output")
    g.add_argument(
        "--sort",
        default=None,
        metavar="KEY[,KEY...]",
        help=f"order of files in a set: {', '.join(SORT_KEYS)} "
        "(numbers largest first, paths ascending; default: filesize)",
    )
    g.add_argument("--reverse", action="store_true", help="reverse the sort order")
    g.add_argument(
        "--sameline",
        action="store_true",
        help="list each set on one line, spaces and backslashes escaped",
    )
    g.add_argument("-m", "--summarize", action="store_true", help="summarize dupe information")
    g.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    g.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="write a self-contained HTML report with thumbnails",
    )
    g.add_argument("--csv", metavar="FILE", default=None, help="write one CSV row per file")
    g.add_argument(
        "--export-sets",
        metavar="DIR",
        default=None,
        help="write the sets to a new folder as Parquet (set_id, path, distance to the set's "
        "first file, hash, size, mtime); with --dask-scheduler the workers write it",
    )
    g.add_argument(
        "--log", action="store_true", help="write timestamped logs of duplicate and deleted files"
    )
    g.add_argument(
        "--no-subdir-warning",
        dest="subdir_warning",
        action="store_false",
        help="stop warnings when similar images are in different subdirectories",
    )
    g.add_argument(
        "--error-on-dupe",
        action="store_true",
        help="exit with status 1 when any duplicate set is found",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    g.add_argument(
        "--progress", action="store_true", help="show progress even when stderr is not a terminal"
    )

    g = p.add_argument_group("deleting")
    g.add_argument(
        "-d",
        "--delete",
        action="store_true",
        help="prompt for files to preserve and delete the others",
    )
    g.add_argument(
        "-N",
        "--noprompt",
        action="store_true",
        help="with --delete: no prompt; keep the best copy of each set (see --keep) and remove "
        "a file only when it is surely a copy of a kept file within the distance",
    )
    g.add_argument(
        "--keep",
        metavar="RULES",
        default=None,
        help="which copy -N keeps and the prompt suggests, rules tried in order, comma-separated: "
        "pixels, fewest-pixels, quality, size, smallest, oldest, newest, path, under:DIR, "
        "not-under:DIR; the default chain follows (default: pixels,quality,size,oldest,path)",
    )
    g.add_argument(
        "--dry-run", action="store_true", help="print what would be done, change nothing"
    )
    g.add_argument(
        "--trash",
        action="store_true",
        help="move files to the platform's trash instead of deleting",
    )
    g.add_argument(
        "--move-to",
        metavar="DIR",
        default=None,
        help="move files into DIR (keeping their relative path) instead of deleting",
    )

    g = p.add_argument_group("imgcat (-c)")
    g.add_argument(
        "-c",
        "--imgcat",
        action="store_true",
        help="show each set as tiled images in the terminal (iTerm2, kitty)",
    )
    g.add_argument(
        "--imgcat-protocol",
        choices=["iterm2", "kitty"],
        default=None,
        help="terminal image protocol (default: from the environment)",
    )
    g.add_argument("--size", default="256x256", help="tile size WxH")
    g.add_argument("--space", type=int, default=0, help="space between tiles in pixels")
    g.add_argument("--space-color", default="black", help="colour of the space between tiles")
    g.add_argument("--tile-num", type=int, default=4, help="tiles per row")
    g.add_argument(
        "--interpolation",
        default="INTER_LINEAR",
        help="resize filter: INTER_NEAREST, INTER_LINEAR, INTER_AREA, INTER_CUBIC, INTER_LANCZOS4",
    )
    g.add_argument(
        "--no-keep-aspect",
        dest="keep_aspect",
        action="store_false",
        help="stretch images to the tile instead of keeping their aspect",
    )

    g = p.add_argument_group("search engine and its tuning (default: exact, which needs no tuning)")
    g.add_argument("--ngt", action="store_true", help="approximate search with NGT")
    g.add_argument("--ngt-k", type=int, default=20, help="neighbours searched per image (NGT)")
    g.add_argument("--ngt-epsilon", type=float, default=0.1, help="NGT search range")
    g.add_argument(
        "--ngt-edges", type=int, default=10, help="NGT initial edges per node at graph build"
    )
    g.add_argument("--ngt-edges-for-search", type=int, default=40, help="NGT edges at search time")
    g.add_argument("--hnsw", action="store_true", help="approximate search with hnswlib")
    g.add_argument("--hnsw-k", type=int, default=20, help="neighbours searched per image (hnsw)")
    g.add_argument(
        "--hnsw-ef-construction",
        type=int,
        default=100,
        help="hnsw build-time quality/speed trade-off",
    )
    g.add_argument("--hnsw-m", type=int, default=16, help="hnsw graph degree")
    g.add_argument("--hnsw-ef", type=int, default=50, help="hnsw search-time recall knob")
    g.add_argument(
        "--faiss-flat", action="store_true", help="exact k-nearest search with faiss IndexFlatL2"
    )
    g.add_argument(
        "--faiss-flat-k", type=int, default=20, help="neighbours searched per image (faiss-flat)"
    )
    g.add_argument(
        "--faiss-cuda", action="store_true", help="run faiss on a CUDA GPU when one is available"
    )
    g.add_argument(
        "--cuda-device", type=int, default=-1, help="CUDA device for faiss (-1: every visible GPU)"
    )
    return p


# The positionals, by the name the library gives them.
_POSITIONALS = {
    "targets": "target_dir",
    "hash_method": "hash_method",
    "threshold": "hamming_distance",
}


def flag_namer(parser: argparse.ArgumentParser):
    """How the command line names an option in a message (errors.opt): its flag,
    long (``--delete``), both (``-d/--delete``) or short (``-d``)."""
    flags = {a.dest: a.option_strings for a in parser._actions if a.option_strings}

    def flag_of(name: str, style: str) -> str:
        if name in _POSITIONALS:
            return _POSITIONALS[name]
        strings = flags.get(name) or ["--" + name.replace("_", "-")]
        long = next((f for f in strings if f.startswith("--")), strings[-1])
        short = next((f for f in strings if not f.startswith("--")), long)
        return {"long": long, "both": "/".join(strings), "short": short}[style]

    return flag_of


def config_from_args(ns: argparse.Namespace) -> Config:
    pos = list(ns.positionals)
    _check_order(pos)
    if len(pos) < 2:
        raise UsageError("hash_method and hamming_distance are missing (they come last)")
    *targets, method, dist = pos
    try:
        threshold = int(dist)
    except ValueError:
        raise UsageError(f"hamming_distance must be a whole number, got {dist!r}") from None
    if method not in HASH_METHODS:
        raise UsageError(f"invalid hash_method {method!r} (choose from {', '.join(HASH_METHODS)})")
    if not targets and not (ns.files_from or ns.hashes_from):
        raise UsageError("target_dir is required unless --files-from or --hashes-from is given")
    if ns.null and not ns.files_from:
        raise UsageError("--null only works together with -T/--files-from")
    engines = [
        name
        for name, on in (
            ("ngt", ns.ngt),
            ("hnsw", ns.hnsw),
            ("faiss-flat", ns.faiss_flat or ns.faiss_cuda),
        )
        if on
    ]
    if len(engines) > 1:
        raise UsageError(f"choose one search engine, not {' and '.join('--' + e for e in engines)}")
    try:
        sort = parse_sort(ns.sort)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    given = vars(ns)
    params = EngineParams(
        **{
            f.name: given[f.name]
            for f in fields(EngineParams)
            if f.name in given.keys() - {"num_proc"}
        },
        num_proc=ns.num_proc or (os.cpu_count() or 1),
    )
    # Every option whose dest names a field goes to its stage as parsed; these
    # are the ones the command line spells differently.
    return Config.from_values(
        {
            **given,
            "hash_method": method,
            "threshold": threshold,
            "targets": targets,
            "engine": engines[0] if engines else "exact",
            "params": params,
            "sort": sort,
            "progress": ns.progress or (not ns.quiet and sys.stderr.isatty()),
        }
    )


def _is_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _check_order(pos: list[str]) -> None:
    """``imgdupes phash 10 photos``: say that the method and distance come last,
    with the user's own words in the right order as the example."""
    if len(pos) >= 2 and pos[-2] in HASH_METHODS and _is_number(pos[-1]):
        return

    def example(*words: str) -> str:
        return "imgdupes " + " ".join(shlex.quote(w) for w in words)

    if pos and pos[-1] in HASH_METHODS:
        if len(pos) >= 2 and _is_number(pos[-2]):
            rest = pos[:-2] or ["photos"]
            raise UsageError(
                "hash_method comes before hamming_distance",
                example=example(*rest, pos[-1], pos[-2]),
            )
        raise UsageError(
            "hamming_distance is missing after the hash method (10 is a good start)",
            example=example(*(pos[:-1] or ["photos"]), pos[-1], "10"),
        )
    for k in range(len(pos) - 1):
        if pos[k] in HASH_METHODS and _is_number(pos[k + 1]):
            rest = pos[:k] + pos[k + 2 :] or ["photos"]
            raise UsageError(
                "hash_method and hamming_distance come last, after the folders",
                example=example(*rest, pos[k], pos[k + 1]),
            )


class _ApplyParser(_Parser):
    def error(self, message: str) -> None:  # one line, status 2, with apply's own usage
        raise ConfigError(f"apply: {message} (usage: {self.usage})")


def build_apply_parser() -> argparse.ArgumentParser:
    p = _ApplyParser(
        prog="imgdupes apply",
        usage="imgdupes apply REPORT [--dry-run] [--trash | --move-to DIR] [--log]",
        description='Carry out a --json report (as written, or with its "keep" marks edited): '
        "remove the files marked false, with the same re-checks as -d.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("report", metavar="REPORT", help="a report written by imgdupes --json")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be done, change nothing"
    )
    p.add_argument("--trash", action="store_true", help="move files to the trash instead")
    p.add_argument("--move-to", metavar="DIR", default=None, help="move files into DIR instead")
    p.add_argument("--log", action="store_true", help="write a journal and a log of removed files")
    return p


def _apply(argv: Sequence[str], out: TextIO, warn) -> int:
    ns = build_apply_parser().parse_args(list(argv))
    if ns.trash and ns.move_to:
        raise ConfigError("--trash and --move-to cannot be used together")
    config = Config(delete=True, dry_run=ns.dry_run, trash=ns.trash, move_to=ns.move_to, log=ns.log)
    from .act import check_ready
    from .apply import run_apply

    check_ready(config)
    return run_apply(config, ns.report, out, warn)


def _ignored(ns: argparse.Namespace, out: TextIO, warn) -> int:
    from .ignored import IgnoredPairs

    store = IgnoredPairs.open(ns.cache_dir, warn)
    if store is None:
        raise RunError("the hash cache cannot be used, so no pairs are remembered")
    try:
        if ns.show_ignored:
            for pair in store.listing():
                out.write(set_listing(pair, shown=printable))
        if ns.forget_ignored:
            out.write(f"Forgot {store.forget()} pairs marked not duplicates.\n")
    finally:
        store.close()
    return EXIT_OK


def _text_stream(stream: TextIO) -> TextIO:
    """stdout that writes undecodable name bytes back as the same bytes."""
    if isinstance(stream, io.TextIOWrapper):
        try:
            stream.reconfigure(errors="surrogateescape")
        except (AttributeError, ValueError):
            pass
    return stream


def main(
    argv: Sequence[str] | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    out = _text_stream(stdout or sys.stdout)
    err = _text_stream(stderr or sys.stderr)
    inp = stdin or sys.stdin
    flag_of = flag_namer(build_parser())

    def warn(message: str) -> None:
        err.write(f"imgdupes: {printable(render(message, flag_of))}\n")
        err.flush()

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["apply"]:
            return _apply(args[1:], out, warn)
        if args[:1] == ["review"]:
            from .review import run_review

            def run_config(rest: list[str]) -> Config:
                return config_from_args(build_parser().parse_intermixed_args(rest))

            return run_review(args[1:], out, warn, run_config)
        ns = build_parser().parse_intermixed_args(args)
        if ns.show_ignored or ns.forget_ignored:
            return _ignored(ns, out, warn)
        config = config_from_args(ns)
        if config.imgcat:
            from .report.tiles import check_config

            check_config(config)
        # Load the engine's optional library before hashing: a missing extra fails at once.
        for note in [*config.notes, *check_engine(config.engine, config.params)]:
            warn(note)
        if config.files_from == "-":
            from .discover import read_path_list

            raw = (
                inp.buffer.read()
                if hasattr(inp, "buffer")
                else inp.read().encode("utf-8", "surrogateescape")
            )
            config = config.replace(paths=read_path_list(raw, config.null))
        from .run import run

        return run(config, inp, out, err, warn)
    except UsageError as exc:
        err.write(
            f"imgdupes: {printable(str(exc))}\n"
            f"usage: {USAGE}\n"
            f"example: {printable(exc.example)}   (imgdupes --help for more)\n"
        )
        return EXIT_USAGE
    except EngineUnavailable as exc:
        err.write(f"imgdupes: {exc}\n")
        return exc.exit_status
    except ImgdupesError as exc:  # usage (ConfigError) and runtime (RunError) errors alike
        err.write(f"imgdupes: {printable(exc.render(flag_of))}\n")
        return exc.exit_status
    except KeyboardInterrupt:
        err.write("\nimgdupes: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `imgdupes ... | head`: the reader left; that is not an error.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        except OSError:
            pass
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
