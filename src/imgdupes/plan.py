"""Plan stage: duplicate sets + keep rules -> typed actions.

What ``-N`` does, what the ``-d`` prompt suggests, what ``--dry-run`` prints,
the ``-N keeps``/``-N deletes`` marks and totals of the HTML, CSV and JSON
reports and what ``imgdupes apply`` reads are all this module's plan, so they
cannot disagree.  Each file of a set gets one :class:`Action` (keep, or
remove / trash / move) with the reason and, for a removal, the kept files it
goes on the account of, the way fclones' ``FsCommand``s are data.

Which file is kept follows an ordered rule chain (see docs/keeping.md):
most pixels, then the least processed file (colour, lossless, higher JPEG
quality, camera metadata), then the larger file, the older one, the path.
``--keep RULES`` puts rules of one's own in front.  Two rules are not
negotiable: a file reached only through symlinks is never kept in favour of a
real file, and ``-N`` removes a file only when the act-time confirmation
(:mod:`imgdupes.confirm`) says it is surely a copy of a kept one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from . import hashes
from .group import best_form_distance, form_distance, path_key, turned_forms
from .model import SetEntry
from .workers import start_method

KEEP = "keep"
REMOVE = "remove"  # delete
TRASH = "trash"
MOVE = "move"

DEFAULT_RULES = "pixels,quality,size,oldest,path"
RULE_HELP = (
    "pixels, fewest-pixels, quality, size, smallest, oldest, newest, path, under:DIR, not-under:DIR"
)
# Rules that decide the same question: a user's rule replaces the default one.
_OPPOSITES = {
    "pixels": "pixels",
    "fewest-pixels": "pixels",
    "size": "size",
    "smallest": "size",
    "oldest": "age",
    "newest": "age",
}
# A lossy file whose quality cannot be read (WebP, HEIC, AVIF) counts as this
# JPEG quality: what cameras and phones usually write.
UNKNOWN_QUALITY = 90
# Whether a file stored in colour is gray, by its 8x8 colour thumbnail: gray when
# no cell has a mean |chroma| of COLOUR_CELL (a grayscale conversion: 0.0 in every
# cell, 30 gray pictures as RGB JPEGs at q40 and q75); colour when its mean is
# COLOURFUL or more, or when its coloured cells hold COLOUR_SHARE[1] of its detail
# (the levels' distance from the median: a green nebula on black, mean 1.0, share
# 0.89); gray again below COLOUR_SHARE[0] (a coloured logo stamped on a gray
# picture: stellarium's have mean <= 2.1, share <= 0.36).  Between the two is
# unsure, and a set with an unsure file calls none gray by its thumbnail: a
# copy's codec or tone curve can move a file across any one bar (a gamma copy
# that strengthens a faint tint, a JPEG of a screenshot), and the colour rule
# then removed the original in favour of it.
COLOUR_CELL = 0.3
COLOUR_SHARE = (0.35, 0.65)  # below: gray; at or above: colour; between: unsure
COLOURFUL = 4.0
_LOSSLESS_FORMATS = {"PNG", "BMP", "PPM", "TIFF", "QOI", "TGA", "PCX", "SGI"}


@dataclass(frozen=True)
class Rule:
    name: str
    folder: str = ""  # under:/not-under:, as a real path

    def __str__(self) -> str:
        return f"{self.name}:{self.folder}" if self.folder else self.name


def parse_keep(spec: str | None) -> list[Rule]:
    """``--keep`` value -> the full rule chain (the user's rules, then the
    default rules they do not replace).  ValueError: one line to show."""
    text = spec if spec is not None else DEFAULT_RULES
    user: list[Rule] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"--keep {text!r}: empty rule (rules are separated by commas)")
        name, sep, arg = item.partition(":")
        name = name.strip().lower()
        if name in ("under", "not-under"):
            if not sep or not arg.strip():
                raise ValueError(f"--keep: {name} needs a folder, as in {name}:DIR")
            user.append(Rule(name, os.path.realpath(arg.strip())))
        elif sep or name not in _OPPOSITES and name not in ("quality", "path"):
            raise ValueError(f"--keep: unknown rule {item!r} (rules: {RULE_HELP})")
        else:
            user.append(Rule(name))
    decided = {_OPPOSITES.get(r.name, r.name) for r in user if not r.folder}
    chain = list(user)
    for name in DEFAULT_RULES.split(","):
        if _OPPOSITES.get(name, name) not in decided:
            chain.append(Rule(name))
    return chain


# --- what a file is ------------------------------------------------------------------------------


@dataclass
class Traits:
    """What the rules compare, read from the file's header (no pixel decoding)."""

    pixels: int
    colour: bool = True
    lossless: bool = False
    quality: int = UNKNOWN_QUALITY  # JPEG quality estimate; 100 for lossless
    camera: bool = False  # EXIF Make or Model present
    edited: bool = False  # EXIF modify date well after the date taken
    format: str = ""
    link_only: bool = False  # every name found is a symlink


# libjpeg's (IJG) base luminance table, natural order: quality q scales it.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


def _ijg_table(q: int) -> list[int]:
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return [min(255, max(1, (v * scale + 50) // 100)) for v in _IJG_LUMA]


_IJG_TABLES: np.ndarray | None = None  # (100, 64), row q-1: quality q


def jpeg_quality(luma: Sequence[int]) -> int:
    """The IJG quality whose luminance table is nearest to ``luma`` (1..100).
    Cameras use tables of their own; the nearest IJG quality still ranks them."""
    global _IJG_TABLES
    table = list(luma)[:64]
    if len(table) < 64:
        return UNKNOWN_QUALITY
    if _IJG_TABLES is None:
        _IJG_TABLES = np.array([_ijg_table(q) for q in range(1, 101)], dtype=np.int64)
    error = np.abs(_IJG_TABLES - np.asarray(table, dtype=np.int64)).sum(axis=1)
    # ties go to the higher quality (100 and 99 share a table of ones)
    return int(100 - np.argmin(error[::-1]))


def _names_all_links(entry: SetEntry) -> bool:
    names = [entry.path, *(entry.file.aliases if entry.file else ())]
    return all(os.path.islink(n) for n in names)


def read_traits(entry: SetEntry, gray: bool | None = None) -> Traits:
    t = Traits(pixels=entry.width * entry.height, link_only=_names_all_links(entry))
    try:
        from PIL import Image

        from .decode import pillow_quiet

        with pillow_quiet(), Image.open(entry.path) as img:
            t.format = img.format or ""
            t.colour = img.mode not in ("L", "LA", "1", "I", "I;16", "F", "La")
            if img.format == "JPEG":
                tables = getattr(img, "quantization", None) or {}
                t.quality = jpeg_quality(tables[0]) if 0 in tables else UNKNOWN_QUALITY
            elif img.format in _LOSSLESS_FORMATS:
                t.lossless = img.format != "TIFF" or img.info.get("compression") not in (
                    "jpeg",
                    "tiff_jpeg",
                )
            elif img.format == "WEBP":
                with open(entry.path, "rb") as fh:
                    t.lossless = fh.read(16)[12:16] == b"VP8L"
            if t.lossless:
                t.quality = 100
            # PNG keeps EXIF wherever it likes: Pillow would decode the picture to
            # look for it, so only what the header already holds is read.
            if img.format != "PNG" or "exif" in img.info:
                exif = img.getexif()
                t.camera = bool(exif.get(0x010F) or exif.get(0x0110))
                t.edited = _edited(exif)
    except Exception:  # noqa: BLE001 - an unreadable header only means "nothing known"
        pass
    if gray:
        t.colour = False  # stored as RGB, but gray
    return t


def _exif_time(value: object) -> datetime | None:
    try:
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _edited(exif) -> bool:
    """An editor that keeps the camera's metadata still sets DateTime (the
    modify date) to when it saved; a camera writes it equal to the date taken."""
    modified = _exif_time(exif.get(0x0132))
    taken = _exif_time(exif.get_ifd(0x8769).get(0x9003))
    return modified is not None and taken is not None and (modified - taken).total_seconds() > 60


# --- ranking ---------------------------------------------------------------------------------


def _under(path: str, folder: str) -> bool:
    real = os.path.realpath(path)
    try:
        return os.path.commonpath([real, folder]) == folder
    except ValueError:
        return False


def _rule_key(rule: Rule, e: SetEntry, t: Traits) -> tuple:
    n = rule.name
    if n == "pixels":
        return (-t.pixels,)
    if n == "fewest-pixels":
        return (t.pixels,)
    if n == "quality":
        return (not t.colour, not t.lossless, -t.quality, not t.camera, t.edited)
    if n == "size":
        return (-e.size,)
    if n == "smallest":
        return (e.size,)
    if n == "oldest":
        return (e.mtime_ns,)
    if n == "newest":
        return (-e.mtime_ns,)
    if n == "path":
        return (path_key(e.path),)
    if n == "under":
        return (not _under(e.path, rule.folder),)
    if n == "not-under":
        return (_under(e.path, rule.folder),)
    raise AssertionError(n)


def _day(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M")


def why_better(rule: Rule, a: SetEntry, ta: Traits, b: SetEntry, tb: Traits) -> str:
    """The clause saying why ``a`` wins over ``b`` by ``rule``."""
    n = rule.name
    if n in ("pixels", "fewest-pixels"):
        word = "more" if n == "pixels" else "fewer"
        return f"{word} pixels ({a.width}x{a.height} vs {b.width}x{b.height})"
    if n == "quality":
        if ta.colour != tb.colour:
            return "colour, the other is grayscale"
        if ta.lossless != tb.lossless:
            return f"lossless {ta.format}, the other is lossy {tb.format}".rstrip()
        if ta.quality != tb.quality:
            return f"less compressed (JPEG quality ~{ta.quality} vs ~{tb.quality})"
        if ta.camera != tb.camera:
            return "has the camera's metadata (EXIF make/model)"
        return "not edited after it was taken (EXIF dates)"
    if n in ("size", "smallest"):
        return f"{'larger' if n == 'size' else 'smaller'} file ({a.size} vs {b.size} bytes)"
    if n in ("oldest", "newest"):
        word = "older" if n == "oldest" else "newer"
        return f"{word} (modified {_day(a.mtime_ns)} vs {_day(b.mtime_ns)})"
    if n == "path":
        return "first by path"
    if n == "under":
        return f"under {rule.folder}"
    return f"not under {rule.folder}"


def order_best_first(
    entries: Sequence[SetEntry], rules: Sequence[Rule], traits: Sequence[Traits]
) -> list[int]:
    """Indices of ``entries``, the copy to keep first.  A file reached only
    through symlinks comes after every real file whatever the rules say."""

    def key(i: int) -> tuple:
        e, t = entries[i], traits[i]
        return (t.link_only, *(_rule_key(r, e, t) for r in rules), path_key(e.path))

    return sorted(range(len(entries)), key=key)


def deciding_clause(rules: Sequence[Rule], a: SetEntry, ta: Traits, b: SetEntry, tb: Traits) -> str:
    if ta.link_only != tb.link_only:
        return "a real file, the other is only a symlink"
    for r in rules:
        if _rule_key(r, a, ta) != _rule_key(r, b, tb):
            return why_better(r, a, ta, b, tb)
    return "first by path"


# --- the plan -------------------------------------------------------------------------------------


@dataclass
class Action:
    """What happens to one file of a set."""

    number: int  # 1-based position in the set as listed
    entry: SetEntry
    reference: bool
    kind: str = KEEP  # KEEP, REMOVE, TRASH or MOVE
    reason: str = ""
    # Kept files that vouch for this one, nearest first.  None: the user
    # confirmed removing the whole set, so no kept copy is required.
    kept_for: list[SetEntry] | None = field(default_factory=list)

    @property
    def remove(self) -> bool:
        return self.kind != KEEP

    @property
    def removable(self) -> bool:
        return self.entry.file is not None and not self.reference


Choice = Action  # the name act.py used before the plan was its own stage


@dataclass
class SetPlan:
    actions: list[Action]
    # One line per file kept although a kept file is near it: why -N left it.
    notes: list[str] = field(default_factory=list)

    @property
    def removed(self) -> list[Action]:
        return [a for a in self.actions if a.remove]

    @property
    def freed(self) -> int:
        return sum(a.entry.size for a in self.removed)


Similar = Callable[[SetEntry, SetEntry], bool]
Confirm = Callable[[SetEntry, SetEntry], "tuple[bool, str]"]

# Kept files a file is checked against, nearest first.  Every check costs a
# verification and a confirmation (milliseconds), and a set of files that
# are near each other but never confirmed (bursts, pages, unreadable files)
# keeps every file: checking each against all kept ones made a dense set's
# plan quadratic (a --json report of 2,000 files in 20 sets took 231 s).
# Stopping is always on the safe side: the file is kept.
SURE_ENOUGH = 3  # confirmed kept copies that vouch for a removed file
MAX_CHECKED = 8  # kept files checked before a file is kept unconfirmed


def _nearest_first(entry: SetEntry, kept: list[Action]) -> list[SetEntry]:
    order = sorted(range(len(kept)), key=lambda i: (best_form_distance(entry, kept[i].entry), i))
    return [kept[i].entry for i in order]


@dataclass
class Planner:
    """Plans sets for one run: the rules, the radius and the checks."""

    radius: int
    rules: list[Rule] = field(default_factory=lambda: parse_keep(None))
    verb: str = REMOVE
    similar: Similar | None = None  # the listing's pair verification
    confirm: Confirm | None = None  # the act-time confirmation (None: trust the listing)
    done_with_set: Callable[[], None] = lambda: None  # frees what confirm kept for a set
    # whether each of a set's files is gray by its thumbnail (None where unknown), in one
    # batch: deriving a signature's features costs about a millisecond whatever the batch size
    grays: Callable[[Sequence[SetEntry]], list[bool | None]] = lambda es: [None] * len(es)
    # why a file cannot be confirmed at all ("" when it can): no kept file is
    # then checked against it, nor it against them
    unconfirmable: Callable[[SetEntry], str] = lambda e: ""
    # --rotations: the distance in the nearest orientation (None: as shot / tone)
    distance: Callable[[SetEntry, SetEntry], int] | None = None

    def traits(self, entries: Sequence[SetEntry]) -> list[Traits]:
        return [read_traits(e, gray) for e, gray in zip(entries, self.grays(entries), strict=True)]

    def plan(self, entries: Sequence[SetEntry], references: Sequence[bool]) -> SetPlan:
        """``-N``: walk the set best copy first; a file within the radius of a
        kept one (and confirmed to be a copy of it) goes, any other is kept
        too.  References count as kept from the start.  So no file goes
        without a near copy kept, even along a chain A~B~C whose ends are far
        apart, and every set keeps at least one file."""
        actions = [
            Action(i, e, ref) for i, (e, ref) in enumerate(zip(entries, references, strict=True), 1)
        ]
        traits = self.traits(entries)
        order = order_best_first(entries, self.rules, traits)
        kept = [a for a in actions if a.reference]
        for a in kept:
            a.reason = "under a --reference folder"
        notes: list[str] = []
        for i in order:
            a = actions[i]
            if a.reference:
                continue
            if not a.removable:
                a.reason = "not found on disk in this run"
                continue
            near, refused = self._vouching(a, i, kept, traits)
            if near:
                a.kind = self.verb
                a.kept_for = _nearest_first(a.entry, near)
                best = a.kept_for[0]
                j = best_index(actions, best)
                why = (
                    "it is under a --reference folder"
                    if actions[j].reference
                    else deciding_clause(self.rules, best, traits[j], a.entry, traits[i])
                )
                a.reason = f"copy of {best.path}, which is kept: {why}"
            else:
                if refused:
                    a.reason = "kept: not surely a copy of " + refused[0]
                    notes.append(a.reason)
                elif not kept:
                    a.reason = "best copy"
                    j = next((j for j in order if j != i), None)
                    if j is not None:
                        clause = deciding_clause(
                            self.rules, a.entry, traits[i], entries[j], traits[j]
                        )
                        a.reason += f" ({clause})"
                else:
                    a.reason = "no kept file within the distance"
                kept.append(a)
        return SetPlan(actions, notes)

    def _vouching(
        self, a: Action, i: int, kept: list[Action], traits: list[Traits]
    ) -> tuple[list[Action], list[str]]:
        """The kept files ``a`` is surely a copy of (at most SURE_ENOUGH), and
        why the nearer ones that were checked were refused."""
        within = sorted(
            (d, k.number, k)
            for k in kept
            if (d := self._distance(a.entry, k.entry)) <= self.radius
            # a link's target may lie outside the run: never the only copy kept
            and not (traits[k.number - 1].link_only and not traits[i].link_only)
        )
        near: list[Action] = []
        if within and self.confirm is not None and (why := self.unconfirmable(a.entry)):
            return near, [f"{within[0][2].entry.path}: {why}"]  # no check can pass
        refused: list[str] = []
        for _, _, k in within[:MAX_CHECKED]:
            if self.confirm is not None and (why := self.unconfirmable(k.entry)):
                refused.append(f"{k.entry.path}: {why}")
                continue
            if self.similar is not None and not self.similar(a.entry, k.entry):
                continue
            if self.confirm is not None:
                ok, why = self.confirm(a.entry, k.entry)
                if not ok:
                    refused.append(f"{k.entry.path}: {why}")
                    continue
            near.append(k)
            if len(near) == SURE_ENOUGH:
                break
        return near, refused

    def _distance(self, a: SetEntry, b: SetEntry) -> int:
        if self.distance is not None:
            return self.distance(a, b)
        return hashes.hamming(a.hash, b.hash) if self.similar is None else best_form_distance(a, b)


def best_index(actions: Sequence[Action], entry: SetEntry) -> int:
    return next(k for k, a in enumerate(actions) if a.entry is entry)


def plan_answer(
    plan: SetPlan, kind: str, keep: frozenset[int], verb: str = REMOVE, all_removed: bool = False
) -> None:
    """A prompt answer replaces the suggestion: keep the numbered files and
    remove the others, or (``all_removed``) remove every removable file."""
    for a in plan.actions:
        go = a.removable and (all_removed or a.number not in keep)
        a.kind = verb if go else KEEP
        a.reason = "your answer"
    kept = [a for a in plan.actions if not a.remove and a.entry.file is not None]
    for a in plan.actions:
        if a.remove:
            a.kept_for = None if all_removed else _nearest_first(a.entry, kept)
    plan.notes = []


def verb_for(move_to: str | None, trash: bool) -> str:
    return MOVE if move_to else TRASH if trash else REMOVE


# --- one run's plan -------------------------------------------------------------------------------


def _shown(data: object) -> Sequence:
    """The scan's images behind the reported sets (pipeline.Scan.shown)."""
    shown = getattr(data, "shown", None)
    return shown() if shown is not None else getattr(data, "images", [])


def _signatures(data: object) -> dict[tuple[int, int], bytes]:
    return {im.file.identity: im.signature for im in _shown(data)}


def verified_similarity(data: object, rotations: bool = False) -> Similar:
    """The verification stage's pair check, on the signatures kept by the scan
    (with ``rotations``, in any of the eight orientations)."""
    from .verify import accept_query

    signatures = _signatures(data)
    turns = []
    if rotations:
        from .rotations import VARIANTS

        turns = [op for _, op in VARIANTS]

    def similar(a: SetEntry, b: SetEntry) -> bool:
        sig_a = signatures.get(a.file.identity, b"") if a.file else b""
        sig_b = signatures.get(b.file.identity, b"") if b.file else b""
        candidates = [sig_b]
        if turns and sig_b:
            from .rotations import turned_signature

            candidates += [turned_signature(sig_b, op) for op in turns]
        return bool(accept_query(sig_a, candidates).any())

    return similar


def turned_distance(data: object, tone: bool) -> Callable[[SetEntry, SetEntry], int]:
    """--rotations: the Hamming distance in the orientation nearest to ``a``."""
    variants = {im.file.identity: turned_forms(im) for im in _shown(data)}

    def distance(a: SetEntry, b: SetEntry) -> int:
        return form_distance(a, b, tone, variants.get(b.file.identity, []) if b.file else [])

    return distance


def _nothing() -> None:
    pass


def make_planner(config, data: object = None) -> Planner:  # config: Config
    """The planner a run of ``config`` uses (rules, radius, checks)."""
    from .confirm import Confirmer

    signatures = _signatures(data)

    def grays(entries: Sequence[SetEntry]) -> list[bool | None]:
        sigs = [signatures.get(e.file.identity) if e.file else None for e in entries]
        known = [sig for sig in sigs if sig]
        if not known:
            return [None] * len(entries)
        from .verify import Features

        f = Features(known)
        rows = np.arange(len(known))
        chroma = np.abs(f.chroma(rows)).mean(axis=2)  # (files, 64 cells)
        coloured = chroma >= COLOUR_CELL
        gray16 = f.gray(rows)
        detail = np.abs(gray16 - np.median(gray16, axis=1, keepdims=True))
        # 16x16 -> the colour thumbnail's 8x8 cells, plus a floor so a flat picture counts by area
        per_cell = detail.reshape(-1, 8, 2, 8, 2).mean(axis=(2, 4)).reshape(-1, 64) + 0.5
        share = (per_cell * coloured).sum(axis=1) / per_cell.sum(axis=1)
        strong = f.saturation >= COLOURFUL  # the cells' mean, as Features keeps it
        gray = ~coloured.any(axis=1) | ((share < COLOUR_SHARE[0]) & ~strong)
        colour = coloured.any(axis=1) & ((share >= COLOUR_SHARE[1]) | strong)
        if not (gray | colour).all():  # an unsure file (see COLOUR_SHARE)
            return [None] * len(entries)
        values = iter(gray.tolist())
        return [next(values) if sig else None for sig in sigs]

    # Always on, --no-verify too: that option lets the hash alone decide what is
    # *listed*; what -N removes unattended must still be surely a copy
    # (pages of one letterhead share a hash and are not copies).
    confirmer = Confirmer(rotations=config.rotations)
    done: Callable[[], None] = confirmer.forget

    def confirm(a: SetEntry, b: SetEntry) -> tuple[bool, str]:
        outcome = confirmer.same_picture(a.path, b.path)
        return outcome.ok, outcome.why

    def unconfirmable(e: SetEntry) -> str:
        return confirmer.unreadable(e.path)

    return Planner(
        radius=config.threshold,
        rules=parse_keep(config.keep),
        verb=verb_for(config.move_to, config.trash),
        similar=verified_similarity(data, config.rotations) if config.verify else None,
        confirm=confirm,
        unconfirmable=unconfirmable,
        done_with_set=done,
        grays=grays,
        distance=turned_distance(data, config.verify) if config.rotations else None,
    )


# Planning decodes the files of each set again (the confirmation): spread over
# processes when there are enough sets to pay for starting them.
PARALLEL_MIN_SETS = 64
_WORKER: tuple[Planner, list] | None = None


def _plan_chunk(
    bounds: tuple[int, int],
) -> list[tuple[list[tuple[str, str, list[int]]], list[str]]]:
    """Plans of sets [lo, hi) as plain data: per file (kind, reason, kept_for
    as file indices), and the notes; the parent rebuilds them on its entries."""
    assert _WORKER is not None
    planner, jobs = _WORKER
    out = []
    for entries, refs in jobs[bounds[0] : bounds[1]]:
        plan = planner.plan(entries, refs)
        where = {id(e): k for k, e in enumerate(entries)}
        out.append(
            (
                [
                    (a.kind, a.reason, [where[id(k)] for k in a.kept_for or []])
                    for a in plan.actions
                ],
                plan.notes,
            )
        )
    return out


def plan_sets(config, result, data: object = None) -> list[SetPlan]:
    """The plan of every set of ``result``, as ``-N`` would carry it out."""
    global _WORKER
    from .refpaths import is_reference, reference_roots

    planner = make_planner(config, data)
    roots = reference_roots(config.references)
    jobs = [
        (s.entries, [e.file is not None and is_reference(e.file, roots) for e in s.entries])
        for s in result.sets
    ]
    workers = min(config.num_proc or os.cpu_count() or 1, len(jobs) // 8 or 1)
    # The workers inherit the planner (and its pictures) by fork; where
    # workers are spawned instead (workers.py) the sets are planned here.
    if (
        workers <= 1
        or len(jobs) < PARALLEL_MIN_SETS
        or planner.confirm is None
        or start_method() != "fork"
    ):
        return [planner.plan(entries, refs) for entries, refs in jobs]
    import multiprocessing

    step = max(1, min(64, len(jobs) // (workers * 4)))
    chunks = [(lo, min(lo + step, len(jobs))) for lo in range(0, len(jobs), step)]
    _WORKER = (planner, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = pool.map(_plan_chunk, chunks)
    finally:
        _WORKER = None
    plans = []
    for (entries, refs), decided in zip(jobs, (p for part in done for p in part), strict=True):
        actions = [
            Action(i, e, ref) for i, (e, ref) in enumerate(zip(entries, refs, strict=True), 1)
        ]
        for a, (kind, reason, kept) in zip(actions, decided[0], strict=True):
            a.kind, a.reason = kind, reason
            a.kept_for = [entries[k] for k in kept]
        plans.append(SetPlan(actions, decided[1]))
    return plans


def across_folders(sets, targets: Sequence[str], references: Sequence[str]) -> list:
    """``--across``: only the sets holding files from two or more of the
    folders given (targets and ``--reference`` folders)."""
    roots = sorted({os.path.realpath(r) for r in [*targets, *references]}, key=len, reverse=True)

    def root_of(e: SetEntry) -> str | None:
        names = [e.path, *(e.file.aliases if e.file else ())]
        for name in names:
            for r in roots:  # the deepest folder holding it
                if _under(name, r):
                    return r
        return None

    return [s for s in sets if len({root_of(e) for e in s.entries} - {None}) >= 2]
