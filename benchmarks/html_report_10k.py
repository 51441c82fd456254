"""How big and how fast is ``--html`` with 10,000 sets?

    python benchmarks/html_report_10k.py [--sets 10000] [--distinct 300] [--workdir DIR]

Writes ``--distinct`` generated 640x480 JPEGs, then a result of ``--sets`` sets
(2-3 files each; hard links give every file its own path).  Thumbnailing speed
is measured on the distinct pictures; the 10k-set page reuses their thumbnails
(same bytes per thumbnail as real photos of that kind), so the page's size and
load time are what a real run of that size would give.  It then opens the
page in headless Chromium and reads back, from the page itself, how long the
first screen of sets took (``data-first-render-ms``).
For comparison it also writes the obvious alternative: every thumbnail as an
``<img loading=lazy src=data:...>`` in static markup.
"""

from __future__ import annotations

import argparse
import base64
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from imgdupes.model import DupSet, Result, SetEntry  # noqa: E402
from imgdupes.report.html_report import THUMB_MIME, render_html, thumbnails  # noqa: E402
from imgdupes.samples import synthetic_photo  # noqa: E402


def make_pictures(folder: str, n: int) -> list[str]:
    paths = []
    for k in range(n):
        p = os.path.join(folder, f"src_{k:04d}.jpg")
        synthetic_photo(10_000 + k).save(p, quality=90)
        paths.append(p)
    return paths


def make_result(folder: str, sources: list[str], nsets: int) -> tuple[Result, dict[str, str]]:
    """The result, and each file's source picture."""
    sets = []
    origin: dict[str, str] = {}
    for s in range(nsets):
        entries = []
        for j in range(2 + s % 2):
            src = sources[(s * 3 + j) % len(sources)]
            link = os.path.join(folder, f"set{s:05d}_{j}.jpg")
            os.link(src, link)
            origin[link] = src
            entries.append(SetEntry(link, os.path.getsize(src), 640, 480, 0, "f0f0f0f0f0f0f0f0", j))
        sets.append(DupSet(entries))
    return Result("phash", 64, 4, sets=sets, hashed=sum(len(s) for s in sets)), origin


def static_variant(result: Result, thumbs: dict[str, bytes | None]) -> str:
    rows = []
    for k, s in enumerate(result.sets, start=1):
        cards = "".join(
            f'<figure><img loading="lazy" width="160" height="120" '
            f'src="data:{THUMB_MIME};base64,{base64.b64encode(thumbs[e.path] or b"").decode()}">'
            f"<figcaption>[{i}] {html.escape(e.path)} {e.size} bytes</figcaption></figure>"
            for i, e in enumerate(s.entries, start=1)
        )
        rows.append(f"<section><h2>Set {k}</h2>{cards}</section>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>static</title></head><body>"
        + "".join(rows)
        # at the very end: in this variant the sets are in the DOM once the page is read
        + "<script>document.body.dataset.firstRenderMs=String(Math.round(performance.now()))"
        + "</script></body></html>"
    )


def open_in_chromium(browser: str, page: str, profile: str) -> tuple[float, dict[str, str]]:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--dump-dom",
        "file://" + page,
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, timeout=600)
    wall = time.perf_counter() - t0
    m = re.search(rb"<body([^>]*)>", proc.stdout)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', m.group(1).decode())) if m else {}
    return wall, attrs


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sets", type=int, default=10_000)
    p.add_argument("--distinct", type=int, default=300)
    p.add_argument("--workdir", default=None)
    p.add_argument("--num-proc", type=int, default=1)
    args = p.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="imgdupes-html-bench-")
    os.makedirs(work, exist_ok=True)
    pics = os.path.join(work, "pics")
    shutil.rmtree(pics, ignore_errors=True)
    os.makedirs(pics)

    sources = make_pictures(pics, args.distinct)
    t0 = time.perf_counter()
    made = thumbnails(sources, num_proc=args.num_proc)
    dt = time.perf_counter() - t0
    sizes = [len(t) for t in made if t]
    print(
        f"thumbnails: {len(sources)} 640x480 JPEGs in {dt:.2f} s "
        f"({1000 * dt / len(sources):.1f} ms each, {args.num_proc} process(es)); "
        f"mean {sum(sizes) / len(sizes) / 1000:.1f} kB per thumbnail"
    )
    by_source = dict(zip(sources, made, strict=True))
    result, origin = make_result(pics, sources, args.sets)
    thumbs = {link: by_source[src] for link, src in origin.items()}
    nfiles = sum(len(s) for s in result.sets)

    t0 = time.perf_counter()
    page = render_html(result, None, thumbs)
    dt = time.perf_counter() - t0
    ours = os.path.join(work, "report.html")
    with open(ours, "w", encoding="utf-8") as fh:
        fh.write(page)
    print(f"report: {args.sets} sets, {nfiles} files, rendered in {dt:.2f} s (thumbnails given)")
    static = os.path.join(work, "static.html")
    with open(static, "w", encoding="utf-8") as fh:
        fh.write(static_variant(result, thumbs))

    browser = next(
        (shutil.which(b) for b in ("chromium", "google-chrome") if shutil.which(b)), None
    )
    for label, path in (("json+script (chosen)", ours), ("static <img loading=lazy>", static)):
        size = os.path.getsize(path)
        line = f"{label}: {size / 1e6:.1f} MB"
        if browser:
            wall, attrs = open_in_chromium(browser, path, os.path.join(work, "profile"))
            # performance.now() as the page recorded it: ms since navigation started
            line += f"; first sets in the DOM at {attrs.get('first-render-ms', '?')} ms"
            if "all-data-ms" in attrs:
                line += f", whole page read at {attrs['all-data-ms']} ms"
            line += f" (chromium --dump-dom took {wall:.1f} s in all, dumping included)"
        print(line)
    print(f"files kept in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
