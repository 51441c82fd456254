"""Accuracy benchmark: pair precision and recall on a labelled data set.

    PYTHONPATH=src python benchmarks/accuracy.py [--split tune|holdout|both]
        [--methods phash,dhash] [--thresholds 0,4,6,10] [--verify on|off|both]
        [--rotations] [--quick]

It builds the data set of ``accuracy_data`` in a temporary folder (removed at
the end), runs ``imgdupes.find_duplicates`` on it for each hash method,
threshold and verification setting, and prints:

- **pair precision**: of all file pairs placed in one set, the fraction whose
  two files belong to the same family (an original and its copies).  This is
  what ``-dN`` acts on: a pair of unrelated pictures in one set means a
  picture deleted that had no copy.
- **pair recall**: of all same-family pairs, the fraction placed in one set.
- **recall per transform**: the fraction of copies made by that transform
  that land in their original's set.
- the false pairs at the thresholds people use, by kind of picture, with
  their Hamming distance: what a verification stage has to reject.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy_data as data  # noqa: E402

import imgdupes  # noqa: E402  (accuracy_data put src/ on the path)
from imgdupes.hasher import HashSpec, hash_path  # noqa: E402
from imgdupes.hashes import hamming  # noqa: E402

METHODS = ("ahash", "phash", "dhash", "whash", "phash_org")
THRESHOLDS = (0, 4, 6, 10)
# Thresholds whose per-transform recall and false pairs are printed.
DETAIL_THRESHOLDS = (4, 10)


# --------------------------------------------------------------------------
# metrics (pure functions of sets and labels; tests/test_accuracy_data.py)


@dataclass(frozen=True, slots=True)
class FalsePair:
    a: data.Item
    b: data.Item
    distance: int | None  # Hamming distance of their hashes, when known


@dataclass
class Scores:
    predicted_pairs: int = 0  # pairs of files placed in one set
    correct_pairs: int = 0  # ... of which share a family
    true_pairs: int = 0  # same-family pairs in the data set
    mixed_sets: int = 0  # sets holding more than one family
    # (group, transform) -> [copies found in their original's set, copies]
    per_transform: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    false_pairs: list[FalsePair] = field(default_factory=list)
    missed: list[data.Item] = field(default_factory=list)  # copies not in their original's set

    @property
    def precision(self) -> float | None:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else None

    @property
    def recall(self) -> float | None:
        return self.correct_pairs / self.true_pairs if self.true_pairs else None

    def worst(
        self, transforms: Iterable[str], group: str = "photo"
    ) -> tuple[float | None, str | None]:
        """(recall, transform) of the transform found least often; (None, None) if none ran."""
        found = [(r, t) for t in transforms if (r := self.transform_recall(group, t)) is not None]
        return min(found) if found else (None, None)

    def transform_recall(self, group: str, transform: str) -> float | None:
        found, total = self.per_transform.get((group, transform), (0, 0))
        return found / total if total else None


def group_of(item: data.Item) -> str:
    """``photo`` for detailed originals, ``low-detail`` for the hard negatives."""
    return "photo" if item.kind in data.PHOTO_KINDS else "low-detail"


def score(
    sets: Sequence[Sequence[str]],
    items: Iterable[data.Item],
    distance: dict[tuple[str, str], int] | None = None,
) -> Scores:
    """Score ``sets`` (lists of file names) against the labels in ``items``.

    ``distance`` maps a pair of names (either order) to their Hamming
    distance; false pairs carry it when given.
    """
    by_name = {it.name: it for it in items}
    s = Scores()
    family_size = Counter(it.family for it in by_name.values())
    s.true_pairs = sum(n * (n - 1) // 2 for n in family_size.values())

    set_of: dict[str, int] = {}
    for k, names in enumerate(sets):
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"files without a label: {', '.join(unknown[:3])}")
        for n in names:
            set_of[n] = k
        fams = Counter(by_name[n].family for n in names)
        s.predicted_pairs += len(names) * (len(names) - 1) // 2
        s.correct_pairs += sum(c * (c - 1) // 2 for c in fams.values())
        if len(fams) > 1:
            s.mixed_sets += 1
            for x, y in itertools.combinations(sorted(names), 2):
                a, b = by_name[x], by_name[y]
                if a.family != b.family:
                    d = None
                    if distance is not None:
                        d = distance.get((x, y), distance.get((y, x)))
                    s.false_pairs.append(FalsePair(a, b, d))

    original = {it.family: it.name for it in by_name.values() if it.transform == "original"}
    for it in by_name.values():
        if it.transform == "original":
            continue
        key = (group_of(it), it.transform)
        counts = s.per_transform.setdefault(key, [0, 0])
        counts[1] += 1
        home = set_of.get(original.get(it.family, ""))
        if home is not None and set_of.get(it.name) == home:
            counts[0] += 1
        else:
            s.missed.append(it)
    return s


# --------------------------------------------------------------------------
# running


@dataclass
class Run:
    split: str
    method: str
    threshold: int
    verify: bool
    scores: Scores
    seconds: float


def run_one(
    folder: str,
    items: list[data.Item],
    method: str,
    threshold: int,
    verify: bool,
    rotations: bool,
    num_proc: int,
) -> tuple[Scores, float]:
    start = time.perf_counter()
    sets = imgdupes.find_duplicates(
        folder,
        method,
        threshold,
        num_proc=num_proc,
        use_cache=False,
        verify=verify,
        rotations=rotations,
    )
    seconds = time.perf_counter() - start
    names = [[os.path.basename(p) for p in ds.paths] for ds in sets]
    distance = {}
    for ds in sets:
        ents = [(os.path.basename(e.path), e.hash) for e in ds.entries]
        for (x, hx), (y, hy) in itertools.combinations(ents, 2):
            distance[(x, y)] = hamming(hx, hy)
    return score(names, items, distance), seconds


# --------------------------------------------------------------------------
# printing (markdown tables)


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(r) for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def summary_table(runs: list[Run], verifies: Sequence[bool]) -> str:
    header = ["method", "t"]
    for v in verifies:
        tag = "verify" if v else "no-verify"
        header += [f"precision ({tag})", f"recall ({tag})", f"mixed sets ({tag})"]
    index = {(r.method, r.threshold, r.verify): r for r in runs}
    rows = []
    for method in dict.fromkeys(r.method for r in runs):
        for t in sorted({r.threshold for r in runs if r.method == method}):
            row = [method, str(t)]
            for v in verifies:
                r = index.get((method, t, v))
                if r is None:
                    row += ["", "", ""]
                else:
                    sc = r.scores
                    row += [_f(sc.precision), _f(sc.recall), str(sc.mixed_sets)]
            rows.append(row)
    return _table(header, rows)


def transform_table(runs: list[Run], threshold: int, verify: bool) -> str:
    chosen = [r for r in runs if r.threshold == threshold and r.verify == verify]
    header = ["transform", *(r.method for r in chosen)]
    rows = []
    groups = (
        ("photo", data.TRANSFORMS),
        ("low-detail", data.LOW_DETAIL_TRANSFORMS),
    )
    for group, transforms in groups:
        for t in transforms:
            cells = [r.scores.transform_recall(group, t) for r in chosen]
            if all(c is None for c in cells):
                continue
            label = t if group == "photo" else f"{t} (low-detail)"
            rows.append([label, *(_pct(c) for c in cells)])
    rows.append(["**worst benign**", *(_pct(r.scores.worst(data.BENIGN)[0]) for r in chosen)])
    # The --rotations target: mirror and 90-degree copies found too.
    rows.append(
        ["**worst mirror/rotate_90**", *(_pct(r.scores.worst(data.ROTATION)[0]) for r in chosen)]
    )
    return _table(header, rows)


def false_pair_report(run: Run, examples: int) -> str:
    sc = run.scores
    if not sc.false_pairs:
        return "no false pairs"
    kinds: Counter[tuple[str, str]] = Counter()
    direct: Counter[tuple[str, str]] = Counter()
    for fp in sc.false_pairs:
        key = tuple(sorted((fp.a.kind, fp.b.kind)))
        kinds[key] += 1
        if fp.distance is not None and fp.distance <= run.threshold:
            direct[key] += 1
    rows = [[f"{a} ~ {b}", str(n), str(direct[(a, b)])] for (a, b), n in kinds.most_common()]
    out = [_table(["kinds", "false pairs", f"direct (d <= {run.threshold})"], rows)]
    # Examples: the nearest direct match (an edge a verification has to
    # reject) for each pair of kinds, then more of the commonest kinds.
    ordered = sorted(
        (fp for fp in sc.false_pairs if fp.distance is not None and fp.distance <= run.threshold),
        key=lambda fp: (
            fp.distance,
            # at equal distance, show two originals rather than a copy
            (fp.a.transform, fp.b.transform) != ("original", "original"),
            fp.a.name,
            fp.b.name,
        ),
    )
    shown_kinds: set[tuple[str, str]] = set()
    shown_families: set[tuple[str, str]] = set()
    picked: list[FalsePair] = []
    for fp in ordered:
        kinds_key = tuple(sorted((fp.a.kind, fp.b.kind)))
        if kinds_key not in shown_kinds:
            shown_kinds.add(kinds_key)
            shown_families.add(tuple(sorted((fp.a.family, fp.b.family))))
            picked.append(fp)
    for fp in ordered:
        if len(picked) >= examples:
            break
        fam_key = tuple(sorted((fp.a.family, fp.b.family)))
        if fam_key not in shown_families:
            shown_families.add(fam_key)
            picked.append(fp)
    if picked:
        out.append("\nnearest direct false matches (one per pair of kinds first):\n")
        out.extend(
            f"    d={fp.distance:<2} {fp.a.name}  ~  {fp.b.name}" for fp in picked[:examples]
        )
    return "\n".join(out)


def missed_report(run: Run, folder: str, items: list[data.Item], transforms: Sequence[str]) -> str:
    """Copies made by ``transforms`` that are not in their original's set,
    with the Hamming distance between the copy's and the original's hash."""
    missed = [it for it in run.scores.missed if it.transform in transforms]
    if not missed:
        return "none"
    spec = HashSpec(methods=(run.method,), bits=64, full_decode=False)
    original = {it.family: it.name for it in items if it.transform == "original"}

    def hash_of(name: str) -> bytes | None:
        ok, payload, _, _ = hash_path(os.path.join(folder, name), spec)
        return payload[run.method] if ok and not isinstance(payload, str) else None

    rows = []
    for it in sorted(missed, key=lambda i: (i.family, i.transform)):
        a, b = hash_of(it.name), hash_of(original[it.family])
        d = "?" if a is None or b is None else str(hamming(a, b))
        rows.append([it.family, it.kind, it.transform, d])
    return _table(["family", "kind", "transform", "d to original"], rows)


def dataset_summary(items: list[data.Item]) -> str:
    fams = defaultdict(set)
    files = Counter()
    for it in items:
        fams[it.kind].add(it.family)
        files[it.kind] += 1
    parts = [f"{k} {len(fams[k])}/{files[k]}" for k in fams]
    return (
        f"{len(items)} files, {len({it.family for it in items})} families "
        f"(kind families/files: {', '.join(parts)})"
    )


# --------------------------------------------------------------------------


def _csv(value: str, cast=str) -> list:
    return [cast(v.strip()) for v in value.split(",") if v.strip()]


def build_split(root: str, split: str, quick: bool) -> tuple[list[data.Item], str]:
    """Write one split under ``root``, print its heading; (labels, folder)."""
    t0 = time.perf_counter()
    items = data.build(root, split, quick=quick)
    print(f"\n## split: {split}\n")
    print(f"{dataset_summary(items)}; built in {time.perf_counter() - t0:.0f} s\n")
    return items, os.path.join(root, split)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=(*data.SPLITS, "both"), default="both")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated hash methods")
    p.add_argument(
        "--thresholds",
        default=",".join(map(str, THRESHOLDS)),
        help="comma-separated Hamming distances",
    )
    p.add_argument("--verify", choices=("on", "off", "both"), default="both")
    p.add_argument("--rotations", action="store_true", help="run with rotations=True")
    p.add_argument(
        "--quick", action="store_true", help="a few families per kind, phash only, t=4,10"
    )
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--examples", type=int, default=12, help="false matches listed per run")
    p.add_argument(
        "--detail-methods",
        default="phash",
        help="methods whose false pairs and missed copies are listed ('all' for every one)",
    )
    args = p.parse_args(argv)

    methods = _csv(args.methods)
    thresholds = _csv(args.thresholds, int)
    if args.quick:
        if args.methods == p.get_default("methods"):
            methods = ["phash"]
        if args.thresholds == p.get_default("thresholds"):
            thresholds = [4, 10]
    verifies = {"on": [True], "off": [False], "both": [True, False]}[args.verify]
    splits = data.SPLITS if args.split == "both" else (args.split,)
    detail = [t for t in thresholds if t in DETAIL_THRESHOLDS] or thresholds[-1:]
    detail_methods = methods if args.detail_methods == "all" else _csv(args.detail_methods)
    detail_methods = [m for m in detail_methods if m in methods]

    print("# imgdupes accuracy benchmark")
    print(
        f"imgdupes {imgdupes.__version__}; methods {','.join(methods)}; "
        f"thresholds {','.join(map(str, thresholds))}; rotations={args.rotations}; "
        f"{'quick' if args.quick else 'full'} data set"
    )
    root = tempfile.mkdtemp(prefix="imgdupes-accuracy-")
    try:
        for split in splits:
            items, folder = build_split(root, split, args.quick)
            runs: list[Run] = []
            for method in methods:
                for t in thresholds:
                    for v in verifies:
                        sc, secs = run_one(
                            folder, items, method, t, v, args.rotations, args.num_proc
                        )
                        runs.append(Run(split, method, t, v, sc, secs))
                        print(
                            f"{split} {method} t={t} verify={v}: precision {_f(sc.precision)} "
                            f"recall {_f(sc.recall)} ({secs:.1f} s)",
                            file=sys.stderr,
                        )
            print("### Pair precision and recall\n")
            print(summary_table(runs, verifies))
            for t in detail:
                for v in verifies:
                    tag = "verify" if v else "no-verify"
                    print(f"\n### Recall per transform, t={t}, {tag}\n")
                    print(transform_table(runs, t, v))
            for v in verifies:
                tag = "verify" if v else "no-verify"
                for method in detail_methods:
                    for t in detail:
                        run = next(
                            r
                            for r in runs
                            if r.method == method and r.threshold == t and r.verify == v
                        )
                        sc = run.scores
                        print(
                            f"\n### False pairs: {method} t={t} {tag} "
                            f"({sc.predicted_pairs - sc.correct_pairs} of "
                            f"{sc.predicted_pairs} pairs, {sc.mixed_sets} mixed sets)\n"
                        )
                        print(false_pair_report(run, args.examples))
                        print(f"\n### Copies missed: {method} t={t} {tag}\n")
                        expected = data.BENIGN + (data.ROTATION if args.rotations else ())
                        print(missed_report(run, folder, items, expected))
            total = sum(r.seconds for r in runs)
            print(f"\n({len(runs)} runs in {total:.0f} s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
