"""``--html FILE``: one self-contained page to look at the duplicate sets.

Everything is in the one file: thumbnails are WebP data inside a JSON block,
and a small inline script turns sets into DOM nodes as the reader scrolls
(a batch at a time), so a report of 10,000 sets opens as fast as one of ten.
A Content-Security-Policy allows only that script (by hash) and data: images:
the page loads nothing from the network, and file names, which are data, are
only ever set as text (``textContent``), never parsed as markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING

from PIL import Image, features

from .. import __version__
from ..decode import DecodeError, decode, image_size
from ..model import FileRecord, Result, SetEntry
from ..progress import Progress
from ..workers import worker_pool
from .formatting import human_size, printable

if TYPE_CHECKING:
    from ..config import Config
    from ..plan import SetPlan

THUMB_SIDE = 160  # CSS pixels of a thumbnail's longer side
# WebP (every current browser shows it) is about 40% smaller than JPEG at the
# same look, which is what keeps a 10,000-set report near 70 MB instead of
# 120; method=2 encodes about twice as fast as the default for 5% more bytes.
# Pillow built without WebP falls back to JPEG.
if features.check("webp"):
    THUMB_MIME, THUMB_SAVE = "image/webp", {"format": "WEBP", "quality": 60, "method": 2}
else:  # pragma: no cover - depends on how Pillow was built
    THUMB_MIME, THUMB_SAVE = "image/jpeg", {"format": "JPEG", "quality": 70}
BATCH = 40  # sets turned into DOM nodes per step while scrolling
BLOCK = 200  # sets per JSON block: the first one is shown while the rest is still read


# --- thumbnails ------------------------------------------------------------------------


def thumbnail(path: str, side: int = THUMB_SIDE) -> bytes | None:
    """Thumbnail bytes (``THUMB_MIME``) of ``path`` scaled to fit ``side`` x ``side``,
    or None if unreadable."""
    try:
        img = decode(path, reduce_to=side).color
    except DecodeError:
        return None
    img.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, **THUMB_SAVE)
    return buf.getvalue()


def _item_thumbnails(items: Sequence[FileRecord], config: Config | None) -> dict[str, bytes]:
    """Thumbnails of images inside dataset shards: each shard read once, in order."""
    from ..decode import decode_bytes
    from ..shards import ShardOptions, item_bytes

    options = ShardOptions(config.image_column, config.key_column) if config else ShardOptions()
    by_shard: dict[str, list[str]] = {}
    for f in items:
        by_shard.setdefault(f.shard, []).append(f.path[len(f.shard) + 1 :])
    found: dict[str, bytes] = {}
    for shard, keys in by_shard.items():
        for key, data in item_bytes(shard, keys, options).items():
            try:
                img = decode_bytes(data, reduce_to=THUMB_SIDE).color
            except DecodeError:
                continue
            found[f"{shard}#{key}"] = _encode_thumbnail(img)
    return found


def _encode_thumbnail(img: Image.Image, side: int = THUMB_SIDE) -> bytes:
    img.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    img.save(buf, **THUMB_SAVE)
    return buf.getvalue()


def _thumb_work(args: tuple[int, str]) -> tuple[int, bytes | None]:
    index, path = args
    return index, thumbnail(path)


def thumbnails(
    paths: Sequence[str], num_proc: int | None = None, progress: bool = False
) -> list[bytes | None]:
    """Thumbnails of ``paths`` in order, decoded in parallel like the hashing stage."""
    found: list[bytes | None] = [None] * len(paths)
    workers = num_proc or max(1, os.cpu_count() or 1)
    tasks = list(enumerate(paths))
    with Progress(len(tasks), label="Thumbnails", enabled=progress) as bar:
        if workers <= 1 or len(tasks) < 16:
            for task in tasks:
                i, data = _thumb_work(task)
                found[i] = data
                bar.advance()
        else:
            chunk = max(1, min(32, len(tasks) // (workers * 8)))
            with worker_pool(workers) as pool:
                for i, data in pool.imap_unordered(_thumb_work, tasks, chunksize=chunk):
                    found[i] = data
                    bar.advance()
    return found


# --- what -N keeps ---------------------------------------------------------------------


def plan_flags(plan: SetPlan) -> list[int]:
    """Per file of a set's plan: 0 = a ``-N`` run removes it, 1 = kept,
    2 = kept because it lies under a ``--reference`` folder."""
    return [0 if a.remove else 2 if a.reference else 1 for a in plan.actions]


# --- the page --------------------------------------------------------------------------


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _file_doc(e: SetEntry, keep: int, thumb: bytes | None, reason: str = "") -> dict:
    doc: dict = {
        "p": e.path,  # exact name (what --json says), used for the tooltip
        "s": e.size,
        "z": human_size(e.size),  # as the prompt and the summaries show it
        "w": e.width,
        "h": e.height,
        "x": e.hash_hex,
        "d": e.distance,
        "k": keep,
        "t": _b64(thumb),
    }
    if reason:
        doc["r"] = reason
    shown = printable(e.path)
    if shown != e.path:
        doc["n"] = shown  # control characters escaped for display
    return doc


def _script_json(doc: object) -> str:
    """JSON that can sit inside <script>: no '<', '>' or '&' can end the element."""
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# The page's style and script, kept as files of their own (package data) so
# they read as CSS and JavaScript; the script's hash goes into the page's CSP.
STYLE = resources.files(__package__).joinpath("html_report.css").read_text(encoding="utf-8")

SCRIPT = resources.files(__package__).joinpath("html_report.js").read_text(encoding="utf-8")


def render_html(
    result: Result,
    config: Config | None,
    thumbs: dict[str, bytes | None],
    now: datetime | None = None,
    plans: Sequence[SetPlan] | None = None,
) -> str:
    """The report page as text; ``thumbs`` maps a path to its thumbnail (see thumbnail()).
    The marks and the total are ``plans``' (computed here when not given)."""
    if plans is None:
        plans = _plans(result, config)
    sets_doc = []
    nfiles = 0
    freed = 0
    nremoved = 0
    for s, plan in zip(result.sets, plans, strict=True):
        flags = plan_flags(plan)
        nfiles += len(s.entries)
        freed += plan.freed
        nremoved += len(plan.removed)
        sets_doc.append(
            [
                _file_doc(e, k, thumbs.get(e.path), a.reason)
                for e, k, a in zip(s.entries, flags, plan.actions, strict=True)
            ]
        )
    doc: dict = {"mime": THUMB_MIME, "total": len(sets_doc), "sets": sets_doc[:BLOCK]}
    if result.query is not None:
        qw, qh = image_size(result.query)
        q = SetEntry(result.query, _size(result.query), qw, qh, 0, "", 0)
        qdoc = _file_doc(q, 0, thumbs.get(result.query))
        qdoc["d"] = None
        qdoc["x"] = ""
        doc["query"] = qdoc

    script = SCRIPT.replace("BATCH_SIZE", str(BATCH))
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src {_csp_hash(STYLE)}; script-src {_csp_hash(script)}; "
        "base-uri 'none'; form-action 'none'"
    )
    assert '"' not in csp and "&" not in csp  # it sits in an attribute as it is
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    e = html.escape
    summary = (
        f"{len(result.sets)} sets, {nfiles} files. -N would remove {nremoved} "
        f"{'file' if nremoved == 1 else 'files'}: that would free {e(human_size(freed))} "
        f"({freed} bytes)."
        if result.sets
        else "No duplicates found."
    )
    meta = (
        f"hash {e(result.hash_method)}, {result.hash_bits} bits, "
        f"Hamming distance at most {result.threshold}; {result.hashed} images compared; "
        f"imgdupes {e(__version__)}, {e(stamp)}"
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        "<title>imgdupes report</title>\n",
        f"<style>{STYLE}</style>\n</head>\n<body>\n<header>\n",
        "<h1>imgdupes: near-duplicate images</h1>\n",
        f'<p class="big" id="summary">{summary}</p>\n',
        f"<p>{meta}</p>\n",
    ]
    if result.query is not None:
        parts.append(f'<p>Query: <span class="path">{e(printable(result.query))}</span></p>\n')
    if result.errors:
        items = "".join(
            f"<li>{e(printable(err.path))}: {e(printable(err.error))}</li>" for err in result.errors
        )
        parts.append(
            f"<details><summary>{len(result.errors)} "
            f"{'file' if len(result.errors) == 1 else 'files'} could not be read</summary>"
            f"<ul>{items}</ul></details>\n"
        )
    parts += [
        "</header>\n",
        '<div id="query" class="row"></div>\n' if result.query is not None else "",
        '<main id="sets"></main>\n',
        '<div id="more">Loading sets\u2026</div>\n',
        "<noscript><p>This report needs JavaScript to show its sets.</p></noscript>\n",
        f'<script type="application/json" id="report-data">{_script_json(doc)}</script>\n',
        f"<script>{script}</script>\n",
    ]
    for k in range(BLOCK, len(sets_doc), BLOCK):
        block = _script_json(sets_doc[k : k + BLOCK])
        parts.append(f'<script type="application/json" class="report-sets">{block}</script>\n')
    parts.append("</body>\n</html>\n")
    return "".join(parts)


def _plans(result: Result, config: Config | None) -> list[SetPlan]:
    from ..config import Config
    from ..plan import plan_sets

    if config is None:
        config = Config(
            hash_method=result.hash_method, hash_bits=result.hash_bits, threshold=result.threshold
        )
    return plan_sets(config, result)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def write_html(
    path: str,
    result: Result,
    config: Config | None = None,
    warn: Callable[[str], None] | None = None,
    plans: Sequence[SetPlan] | None = None,
) -> bool:
    """Write the report to ``path``; False (after one warning naming the path) on failure."""
    paths: list[str] = []
    seen: set[str] = set()
    wanted = [e.path for s in result.sets for e in s.entries]
    if result.query is not None:
        wanted.insert(0, result.query)
    for p in wanted:
        if p not in seen:
            seen.add(p)
            paths.append(p)
    progress = bool(config and config.progress and not config.quiet)
    num_proc = config.num_proc if config is not None else None
    entries = [e for s in result.sets for e in s.entries]
    items = {e.path: e.file for e in entries if e.file is not None and e.file.shard}
    loose = [p for p in paths if p not in items]
    thumbs = dict(zip(loose, thumbnails(loose, num_proc, progress), strict=True))
    if items:
        thumbs.update(_item_thumbnails(list(items.values()), config))
    page = render_html(result, config, thumbs, plans=plans)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(page)
    except OSError as exc:
        if warn:
            warn(f"{path}: cannot write the HTML report: {exc.strerror or exc}")
        return False
    return True
