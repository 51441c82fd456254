"""Accuracy on pictures nobody tuned on: any folders you name, as a held-out check.

    PYTHONPATH=src python benchmarks/accuracy_holdout.py \
        --source photo:'/usr/share/stellarium/nebulae/default/*.png' \
        --source art:'/usr/share/stellarium/skycultures/*/*.png' \
        [--originals 30] [--distractors 150] [--thresholds 4,10] [--min-side 256]

Each ``--source KIND:GLOB`` (KIND is photo or art) gives ``--originals``
pictures (every n-th of the sorted matches, so the pick does not depend on
the order a folder lists) that get every copy of ``real_data.TRANSFORMS``, and
``--distractors`` other pictures of the same source with no copy (distinct
pictures that must not be linked: what a real folder holds most). Files
smaller than ``--min-side`` on their longer side (icons, masks) and pictures
of one colour are left out. The default run (``find_duplicates``, verified,
no cache) is scored at each threshold as ``accuracy_real.py`` scores its split:
pair precision per kind, recall per transform, with copies that came out
blank and originals that are one picture in gray counted apart and named.

Nothing here is used to tune the tool: run it on folders the tool's own
benchmarks do not read (Debian's stellarium-data is one: astrophotographs
with black skies and saturated stars, panoramic landscape photos, planet
maps, drawn constellation art; ``apt-get download stellarium-data && dpkg -x
stellarium-data_*.deb DIR`` needs no install).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy as acc  # noqa: E402
import accuracy_data as data  # noqa: E402
import accuracy_real as ar  # noqa: E402
import real_data as real  # noqa: E402

import imgdupes  # noqa: E402

SPLIT = "holdout"


def _usable(path: str, min_side: int) -> Image.Image | None:
    try:
        with Image.open(path) as im:
            if max(im.size) < min_side:
                return None
            im.load()
            img = real._bounded(real._rgb(im))
    except Exception:  # a file Pillow cannot read is left out
        return None
    if min(img.size) < 32 or max(img.size) > 8 * min(img.size):
        return None  # a strip (a 1-D texture), not a picture
    lo, hi = img.convert("L").getextrema()
    return img if hi - lo >= 16 else None  # one colour: nothing to recognise


def _look(img: Image.Image) -> np.ndarray:
    small = img.convert("L").resize((32, 32), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32).ravel()


def _distinct(usable: list[tuple[str, Image.Image]]) -> tuple[list, int]:
    """The pictures less those that look like one kept before (a folder that
    ships one drawing twice): 32x32 gray within 6 levels on average, and
    correlated >= 0.97 where both vary. Such a pair would be a true duplicate
    that the labels call distinct."""
    kept: list[tuple[str, Image.Image]] = []
    looks: list[np.ndarray] = []
    dropped = 0
    for path, img in usable:
        v = _look(img)
        same = False
        for w in looks:
            if np.abs(v - w).mean() <= 6:
                same = True
            elif v.std() > 1 and w.std() > 1 and np.corrcoef(v, w)[0, 1] >= 0.97:
                same = True
            if same:
                break
        if same:
            dropped += 1
            continue
        kept.append((path, img))
        looks.append(v)
    return kept, dropped


def _pick(paths: list[str], n: int) -> list[str]:
    """n paths spread over the sorted list (every k-th)."""
    if n <= 0 or not paths:
        return []
    step = max(1, len(paths) // n)
    return paths[::step][:n]


def build(
    root: str, sources: list[tuple[str, str]], originals: int, distractors: int, min_side: int
) -> list[data.Item]:
    folder = os.path.join(root, SPLIT)
    os.makedirs(folder, exist_ok=True)
    items: list[data.Item] = []
    seed = 0
    for s, (kind, pattern) in enumerate(sources):
        paths = sorted(set(glob.glob(pattern)))
        usable = []
        for p in paths:
            img = _usable(p, min_side)
            if img is not None:
                usable.append((p, img))
        usable, dropped = _distinct(usable)
        chosen = set(_pick([p for p, _ in usable], originals))
        rest = [p for p, _ in usable if p not in chosen]
        extra = set(_pick(rest, distractors))
        made = 0
        for p, img in usable:
            if p not in chosen and p not in extra:
                continue
            fam = f"{kind}{s}_{made:04d}_{Path(p).stem}"
            name = f"{fam}__original.png"
            data._save(img, os.path.join(folder, name), "PNG")
            items.append(data.Item(name, fam, kind, "original", SPLIT))
            if p in chosen:
                for t in real.TRANSFORMS:
                    out = real.write_copy(img, t, f"{fam}__{t}", folder, seed)
                    items.append(data.Item(out, fam, kind, t, SPLIT))
                seed += 1
            made += 1
        print(
            f"- {kind}:{pattern}: {len(paths)} files, {len(usable)} usable, "
            f"{len(chosen)} originals with copies, {len(extra)} distractors"
        )
    return items


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", action="append", required=True, help="KIND:GLOB (photo or art)")
    p.add_argument("--originals", type=int, default=30, help="originals with copies per source")
    p.add_argument("--distractors", type=int, default=150, help="distinct pictures per source")
    p.add_argument("--thresholds", default="4,10")
    p.add_argument("--min-side", type=int, default=256)
    p.add_argument("--method", default="phash")
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--keep", help="build into this folder and keep it")
    args = p.parse_args(argv)
    sources = []
    for spec in args.source:
        kind, _, pattern = spec.partition(":")
        if kind not in ("photo", "art") or not pattern:
            p.error(f"--source {spec!r}: want photo:GLOB or art:GLOB")
        sources.append((kind, pattern))
    thresholds = [int(x) for x in args.thresholds.split(",")]
    root = args.keep or tempfile.mkdtemp(prefix="imgdupes-holdout-")
    try:
        print(f"# imgdupes {imgdupes.__version__}: held-out accuracy ({args.method})\n")
        t0 = time.perf_counter()
        items = build(root, sources, args.originals, args.distractors, args.min_side)
        by_name = {it.name: it for it in items}
        folder = os.path.join(root, SPLIT)
        print(f"\n{len(items)} files, built in {time.perf_counter() - t0:.0f} s\n")
        apart = ar.alike_in_gray(folder, items)
        blank = ar.blank_copies(folder, items)
        print(f"originals one picture in gray: {len(apart)} pairs of families")
        print(f"copies with no picture left: {len(blank)} ({', '.join(sorted(blank))})\n")
        results = {}
        for t in thresholds:
            results[t] = ar.run(folder, items, args.method, t, True, args.num_proc)
            print(f"t={t}: {results[t][2]:.1f} s", file=sys.stderr)
        # the hash alone at the largest threshold: a miss it has too was never proposed
        top = max(thresholds)
        bare = ar.run(folder, items, args.method, top, False, args.num_proc)

        print("## Pair precision (default run, verified)\n")
        header = ["t", "all", "photo", "art", "one-in-gray and blank apart"]
        rows = []
        for t, (sc, names, _, _) in results.items():
            per = ar.kind_precision(names, by_name)
            cells = [
                f"{c / n:.3f} ({n - c}/{n})" if n else "- (0/0)"
                for k, (c, n) in per.items()
                if k != "document"
            ]
            both = ar.kind_precision(names, by_name, apart, blank)
            c = sum(v[0] for k, v in both.items() if k != "document")
            n = sum(v[1] for k, v in both.items() if k != "document")
            cells.append(f"{c / n:.3f} ({n - c}/{n})" if n else "- (0/0)")
            rows.append([str(t), acc._f(sc.precision), *cells])
        print(acc._table(header, rows))

        print("\n## Recall per transform\n")
        header = ["transform"] + [f"t={t}" for t in results]
        header += [f"t={top} hash alone", "target t=10/t=4"]
        rows = []
        found = {t: ar.recall_by(names, items, blank) for t, (_, names, _, _) in results.items()}
        alone = ar.recall_by(bare[1], items, blank)
        for tr in real.TRANSFORMS:
            cells = []
            for t in results:
                f, n = found[t].get(tr, (0, 0))
                cell = f"{100 * f / n:.1f}% ({f}/{n})" if n else "-"
                for kind in ("photo", "art"):
                    fk, nk = found[t].get(f"{tr}/{kind}", (0, 0))
                    cell += f", {kind} {fk}/{nk}" if nk else ""
                fv, nv = found[t].get(f"{tr}/visible", (0, 0))
                cell += f", not blank {fv}/{nv}" if nv != n else ""
                cells.append(cell)
            f, n = alone.get(tr, (0, 0))
            cells.append(f"{100 * f / n:.1f}% ({f}/{n})" if n else "-")
            goal = f"{real.TARGETS_10.get(tr, 0):.0%} / {real.TARGETS_4.get(tr, 0):.0%}"
            rows.append([tr, *cells, goal if tr in real.TARGETS_10 else ""])
        print(acc._table(header, rows))

        print("\n## Missed copies and false pairs\n")
        proposed = {m.name for m in bare[0].missed}
        for t, (sc, *_) in results.items():
            names = sorted(m.name for m in sc.missed)
            gone = [n for n in names if n not in proposed]
            print(
                f"- t={t}: missed {len(names)}, of which {len(gone)} the hash alone finds at "
                f"t={top} (lost in verification, or a larger distance than t):"
                f" {', '.join(gone[:60])}"
            )
            print(
                f"  not found by the hash alone at t={top} either: "
                f"{', '.join(n for n in names if n in proposed)[:4000]}"
            )
            fams = Counter(
                " ~ ".join(sorted((by_name[fp.a.name].family, by_name[fp.b.name].family)))
                for fp in sc.false_pairs
            )
            print(
                f"- t={t}: false pairs {len(sc.false_pairs)}, by the families they join: "
                + "; ".join(f"{k} ({n})" for k, n in fams.most_common())
            )
        pairs = sum(len(ns) * (len(ns) - 1) // 2 for _, ns, _, _ in results.values())
        kinds = {it.kind for it in items}
        print(
            f"\n({len(items)} files of kinds {sorted(kinds)}; {pairs} pairs reported in all runs)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
