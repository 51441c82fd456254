"""--html FILE: a self-contained report, checked as a browser shows it.

The browser test renders the page in headless Chromium (Debian's ``chromium``
package; ``.ci/run`` installs it) and skips only where no such browser exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from PIL import Image

from imgdupes.config import Config
from imgdupes.model import DupSet, Result, SetEntry
from imgdupes.report.formatting import printable
from imgdupes.report.html_report import render_html, thumbnail, write_html

HOSTILE = [
    "<img src=x onerror=alert(1)>.jpg",
    "<svg onload=document.title='pwned'>.jpg",
    "<script>alert(2)<script><b>bold<b>.jpg",
    "esc\x1b[31m red\nnew line.jpg",
    "&amp; \"q\" 'a'.jpg",
]


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(browser: str, tmp_path, url: str, *args: str) -> str:
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
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,2400",
        "--virtual-time-budget=10000",
        *args,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, timeout=180)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode("utf-8")


class _Dom(HTMLParser):
    """What a reader of the rendered page sees: cards, images, visible path text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cards: list[str] = []
        self.images: list[dict] = []
        self.tags: list[str] = []
        self.path_texts: list[str] = []
        self.sections: list[str] = []
        self.title = ""
        self.body: dict = {}
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if tag == "figure":
            self.cards.append(a.get("data-path", ""))
        elif tag == "img":
            self.images.append(a)
        elif tag == "body":
            self.body = a
        if tag == "title":
            self._in = "title"
        elif tag == "div" and a.get("class") == "path":
            self._in = "path"
            self.path_texts.append("")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title += data
        elif self._in == "path":
            self.path_texts[-1] += data


def _tree_with_hostile_names(root, photo) -> None:
    img = photo(21)
    for n, name in enumerate(HOSTILE):
        img.save(root / name, format="JPEG", quality=90 - 5 * n)


def _report(imgdupes, tmp_path, *argv: str) -> tuple[dict, str]:
    page = tmp_path / "report.html"
    res = imgdupes("--json", "--html", str(page), *argv)
    assert res.code == 0, res.err
    return json.loads(res.out), page.read_text(encoding="utf-8")


def _embedded(page: str) -> dict:
    """The report's data: its first block, with the sets of every later block appended."""
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m
    doc = json.loads(m.group(1))
    for block in re.findall(
        r'<script type="application/json" class="report-sets">(.*?)</script>', page, re.S
    ):
        doc["sets"].extend(json.loads(block))
    assert len(doc["sets"]) == doc["total"]
    return doc


def test_report_in_headless_chromium(imgdupes, dupe_tree, tmp_path, photo):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium/Chrome on this machine to render the report (CI installs it)")
    root, _ = dupe_tree
    _tree_with_hostile_names(root, photo)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    doc, page = _report(imgdupes, tmp_path, str(root), "phash", "4")
    json_paths = [f["path"] for s in doc["sets"] for f in s["files"]]
    assert len(doc["sets"]) == 4 and len(json_paths) == 12 + len(HOSTILE)

    url = "file://" + str(tmp_path / "report.html")
    dom = _Dom()
    dom.feed(_chromium(browser, tmp_path, url, "--dump-dom"))

    # every file of the JSON output appears once, with its name shown (escaped) as text
    assert sorted(dom.cards) == sorted(json_paths)
    assert sorted(dom.path_texts) == sorted(printable(p) for p in json_paths)
    assert any("\\x1b[31m red\\x0anew line.jpg" in t for t in dom.path_texts)
    # every thumbnail decoded in the browser, and no file name turned into markup
    assert len(dom.images) == len(json_paths)
    assert all(img.get("data-state") == "ok" for img in dom.images), dom.images
    assert not {"svg", "b"} & set(dom.tags) and dom.tags.count("script") == 2
    assert dom.title == "imgdupes report"
    assert dom.body.get("data-first-render-ms") is not None  # the script ran to its end

    shot = tmp_path / "report-screenshot.png"
    _chromium(browser, tmp_path, url, f"--screenshot={shot}")
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        assert len(img.convert("RGB").getcolors(1 << 20) or []) > 100  # thumbnails, not blank
    print(f"\nscreenshot of the HTML report for a person to look at: {shot}")


def test_report_is_self_contained_and_escapes_names(imgdupes, tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    _tree_with_hostile_names(root, photo)
    doc, page = _report(imgdupes, tmp_path, str(root), "phash", "4")
    # nothing from the network: no src/href attributes in the markup, a CSP that forbids it
    markup = re.sub(r'(?s)<script type="application/json".*?</script>', "", page)
    assert not re.search(r"\s(src|href)\s*=", markup)
    assert "default-src 'none'" in page and "img-src data:" in page
    assert "unsafe-inline" not in page
    # a name never appears as markup anywhere in the file
    for name in HOSTILE:
        assert name not in page
    assert "<img" not in page and "<svg" not in page and "<b>" not in page
    assert page.count("</script>") == 2
    data = _embedded(page)
    assert sorted(f["p"] for s in data["sets"] for f in s) == sorted(
        f["path"] for s in doc["sets"] for f in s["files"]
    )


def test_summary_and_marks_are_what_n_does(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    doc, page = _report(imgdupes, tmp_path, "--sort", "filepath", str(root), "phash", "4")
    files = sum(len(s["files"]) for s in doc["sets"])
    data = _embedded(page)
    for s, js in zip(data["sets"], doc["sets"], strict=True):
        # the page's marks are the plan's, as --json gives it
        assert [f["k"] for f in s] == [int(f["keep"]) for f in js["files"]]
        assert all(f["t"] for f in s)  # each file has a thumbnail
        assert [(f["s"], f["w"], f["h"], f["x"], f["d"]) for f in s] == [
            (f["size"], f["width"], f["height"], f["hash"], f["distance"]) for f in js["files"]
        ]
    marked = {f["p"] for s in data["sets"] for f in s if f["k"] == 0}
    freed = sum(f["s"] for s in data["sets"] for f in s if f["k"] == 0)
    assert f"3 sets, {files} files." in page and f"({freed} bytes)" in page
    # and -N removes exactly the files the page marks "-N deletes"
    res = imgdupes("-dN", "--sort", "filepath", str(root), "phash", "4")
    assert res.code == 0, res.err
    gone = {f["path"] for s in doc["sets"] for f in s["files"] if not os.path.exists(f["path"])}
    assert gone == marked and len(gone) == 9
    assert f"freed {freed / 1000:.1f} kilobytes" in res.out


def test_html_with_query_shows_the_query(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    query = families[1][0]
    doc, page = _report(imgdupes, tmp_path, "--query", query, str(root), "phash", "4")
    data = _embedded(page)
    assert data["query"]["p"] == query and data["query"]["t"]
    assert data["query"]["w"] > 0
    assert sorted(f["p"] for f in data["sets"][0]) == sorted(set(families[1]) - {query})


def test_html_combines_with_list_mode_and_unreadable_files(imgdupes, dupe_tree, tmp_path):
    root, families = dupe_tree
    page = tmp_path / "r.html"
    res = imgdupes("--html", str(page), "-m", str(root), "phash", "4")
    assert res.code == 0
    assert sorted(sorted(s) for s in res.sets[:-1]) == sorted(families)  # listing unchanged
    assert "duplicate files (in 3 sets)" in res.out
    assert page.stat().st_size > 0

    # a file that vanishes between the scan and the report gets no thumbnail, no crash
    from imgdupes.pipeline import find

    result, _ = find(Config(targets=[str(root)], threshold=4, num_proc=1))
    gone = result.sets[0].entries[1].path
    os.remove(gone)
    assert write_html(str(page), result)
    files = _embedded(page.read_text(encoding="utf-8"))["sets"][0]
    assert files[1]["t"] is None and files[0]["t"]


def test_no_duplicates_report(imgdupes, tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    photo(1).save(root / "a.jpg")
    photo(2).save(root / "b.jpg")
    doc, page = _report(imgdupes, tmp_path, str(root), "phash", "2")
    assert doc["sets"] == [] and "No duplicates found." in page


def test_html_into_missing_folder_is_refused_before_the_scan(imgdupes, dupe_tree, tmp_path):
    root, _ = dupe_tree
    res = imgdupes("--html", str(tmp_path / "missing" / "r.html"), str(root), "phash", "4")
    assert res.code == 2 and "--html" in res.err and len(res.err.strip().splitlines()) == 1


def test_large_report_reads_every_block_and_jumps_to_a_set(tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium/Chrome on this machine to render the report (CI installs it)")
    Image.new("RGB", (40, 30), (30, 120, 200)).save(tmp_path / "one.png")
    thumb = thumbnail(str(tmp_path / "one.png"))
    nsets = 450  # three data blocks
    sets = [
        DupSet([SetEntry(f"/photos/s{k}_{j}.jpg", 1000 + j, 40, 30, 0, "ab", j) for j in range(2)])
        for k in range(nsets)
    ]
    thumbs = {e.path: thumb for s in sets for e in s.entries}
    page = tmp_path / "big.html"
    page.write_text(render_html(Result("phash", 64, 4, sets=sets), None, thumbs), encoding="utf-8")
    assert page.read_text(encoding="utf-8").count('class="report-sets"') == 2

    dom = _Dom()
    dom.feed(_chromium(browser, tmp_path, "file://" + str(page) + "#set-450", "--dump-dom"))
    # reaching set 450 means every block was read, in order, and nothing skipped
    assert dom.sections == [f"set-{k}" for k in range(1, nsets + 1)]
    assert dom.cards[-2:] == ["/photos/s449_0.jpg", "/photos/s449_1.jpg"]
    assert all(img.get("data-state") == "ok" for img in dom.images)

    # without a #set link only the first screens are drawn: the rest waits for scrolling
    dom = _Dom()
    dom.feed(_chromium(browser, tmp_path, "file://" + str(page), "--dump-dom"))
    assert 0 < len(dom.sections) < nsets
    assert dom.sections == [f"set-{k}" for k in range(1, len(dom.sections) + 1)]
