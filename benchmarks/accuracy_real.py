"""Accuracy on real pictures and documents (the ``real`` split, see real_data.py).

    PYTHONPATH=src python benchmarks/accuracy_real.py [--thresholds 4,10]
        [--verify on|off|both] [--per-source N] [--method phash]

Prints, for each threshold and verification setting: pair precision overall
and per kind of picture (photo, low-detail art, document), the document
pairs confirmed (target: none), recall per transform with issue 14's
targets, which rule confirmed the links (verified runs), and the time of a
run against the same run without verification.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy as acc  # noqa: E402
import real_data as real  # noqa: E402

import imgdupes  # noqa: E402


def kind_precision(sets: list[list[str]], by_name: dict) -> dict[str, tuple[int, int]]:
    """kind -> (correct pairs, pairs) over the pairs with a file of that kind."""
    out = {k: [0, 0] for k in real.KINDS}
    for names in sets:
        for x, y in itertools.combinations(names, 2):
            a, b = by_name[x], by_name[y]
            for kind in {a.kind, b.kind}:
                out[kind][1] += 1
                out[kind][0] += a.family == b.family
    return {k: (c, n) for k, (c, n) in out.items()}


def recall_by(sets: list[list[str]], items) -> dict[str, tuple[int, int]]:
    """transform -> (copies in their original's set, copies); documents apart."""
    set_of = {n: k for k, names in enumerate(sets) for n in names}
    original = {it.family: it.name for it in items if it.transform == "original"}
    out: dict[str, list[int]] = {}
    for it in items:
        if it.transform == "original":
            continue
        key = "document copies" if it.kind == "document" else it.transform
        k = set_of.get(it.name)
        hit = k is not None and set_of.get(original[it.family]) == k
        for cell in (out.setdefault(key, [0, 0]), out.setdefault(f"{key}/{it.kind}", [0, 0])):
            cell[1] += 1
            cell[0] += hit
    return {k: (f, n) for k, (f, n) in out.items()}


def run(folder, items, method, t, verify, num_proc):
    start = time.perf_counter()
    sets = imgdupes.find_duplicates(
        folder, method, t, num_proc=num_proc, use_cache=False, verify=verify
    )
    secs = time.perf_counter() - start
    names = [[os.path.basename(p) for p in ds.paths] for ds in sets]
    return acc.score(names, items), names, secs, None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--thresholds", default="4,10")
    p.add_argument("--verify", choices=("on", "off", "both"), default="both")
    p.add_argument("--per-source", type=int, default=0, help="originals per source (0: all)")
    p.add_argument("--method", default="phash")
    p.add_argument("--num-proc", type=int, default=2)
    p.add_argument("--keep", help="build the data set into this folder and keep it")
    args = p.parse_args(argv)
    thresholds = [int(x) for x in args.thresholds.split(",")]
    verifies = {"on": [True], "off": [False], "both": [True, False]}[args.verify]

    root = args.keep or tempfile.mkdtemp(prefix="imgdupes-accuracy-real-")
    try:
        print(f"# imgdupes {imgdupes.__version__}: accuracy on real pictures ({args.method})\n")
        t0 = time.perf_counter()
        items = real.build(root, args.per_source)
        by_name = {it.name: it for it in items}
        fams = Counter(it.kind for it in items if it.transform == "original")
        print(
            f"\n{len(items)} files; originals: {dict(fams)}; built in "
            f"{time.perf_counter() - t0:.0f} s\n"
        )
        folder = os.path.join(root, real.SPLIT)
        results = {}
        for t in thresholds:
            for v in verifies:
                results[t, v] = run(folder, items, args.method, t, v, args.num_proc)
                print(f"t={t} verify={v}: {results[t, v][2]:.1f} s", file=sys.stderr)

        tag = {True: "verify", False: "no-verify"}
        print("## Pair precision per kind of picture\n")
        header = ["t", "setting", "all", *real.KINDS, "document pairs confirmed"]
        rows = []
        for (t, v), (sc, names, _, _) in results.items():
            per = kind_precision(names, by_name)
            cells = [f"{c / n:.3f} ({n - c}/{n})" if n else "- (0/0)" for c, n in per.values()]
            doc_pairs = sum(
                by_name[x].kind == by_name[y].kind == "document"
                and by_name[x].family != by_name[y].family
                for ns in names
                for x, y in itertools.combinations(ns, 2)
            )
            rows.append([str(t), tag[v], acc._f(sc.precision), *cells, str(doc_pairs)])
        print(acc._table(header, rows))

        print("\n## Recall per transform (photo and art originals)\n")
        header = ["transform"] + [f"t={t} {tag[v]}" for t, v in results] + ["target t=10/t=4"]
        rows = []
        found = {k: recall_by(names, items) for k, (_, names, _, _) in results.items()}
        for tr in real.TRANSFORMS + ("document copies",):
            cells = []
            for k in results:
                f, n = found[k].get(tr, (0, 0))
                cell = f"{100 * f / n:.0f}% ({f}/{n})" if n else "-"
                if tr != "document copies":  # photos apart: the art is mostly paper textures
                    fp, n_p = found[k].get(f"{tr}/photo", (0, 0))
                    cell += f", photo {fp}/{n_p}" if n_p else ""
                cells.append(cell)
            goal = f"{real.TARGETS_10.get(tr, 0):.0%} / {real.TARGETS_4.get(tr, 0):.0%}"
            rows.append([tr, *cells, goal if tr in real.TARGETS_10 else ""])
        print(acc._table(header, rows))

        print("\n## Missed copies and false pairs (verified runs)\n")
        for (t, v), (sc, *_) in results.items():
            if not v:
                continue
            missed = ", ".join(sorted(m.name for m in sc.missed)[:60])
            print(f"- t={t}: missed {len(sc.missed)}: {missed}")
            fps = [f"{fp.a.name} ~ {fp.b.name}" for fp in sc.false_pairs[:15]]
            print(f"- t={t}: false pairs {len(sc.false_pairs)}: {'; '.join(fps)}")

        print("\n## Time (same machine, same run)\n")
        for t in thresholds:
            if (t, True) in results and (t, False) in results:
                on, off = results[t, True][2], results[t, False][2]
                print(
                    f"- t={t}: verified {on:.1f} s, hash alone {off:.1f} s "
                    f"({100 * (on / off - 1):+.0f}%)"
                )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
