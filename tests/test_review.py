"""imgdupes review: the page served on 127.0.0.1 behind a token, driven in real
headless Chromium (Debian's chromium + chromium-driver, through Selenium)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from imgdupes.config import Config
from imgdupes.review import Review, serve
from imgdupes.samples import make_samples

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def reviewed(imgdupes, tmp_path):
    root = tmp_path / "samples"
    make_samples(str(root), originals=3)  # two sets of four files, one single
    cache = str(tmp_path / "cache")
    res = imgdupes("--cache-dir", cache, "--json", "-r", str(root), "phash", "4")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    review = Review(doc, Config(), str(tmp_path / "decisions.json"), cache)
    server, url = serve(review)
    yield root, doc, review, url, cache
    server.shutdown()
    server.server_close()


def _status(url: str, data: bytes | None = None, host: str | None = None) -> int:
    req = urllib.request.Request(url, data=data)
    if host:
        req.add_header("Host", host)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_without_the_token_are_refused(reviewed):
    root, doc, review, url, _ = reviewed
    base, token = url.rstrip("/").rsplit("/", 1)
    assert _status(url + "api/sets") == 200
    assert _status(base + "/") == 403
    assert _status(base + "/api/sets") == 403
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert _status(base + "/" + wrong + "/api/sets") == 403
    before = json.dumps(review.doc)
    body = json.dumps({"set": 0, "file": 0, "keep": True}).encode()
    assert _status(base + "/api/mark", body) == 403
    assert _status(base + "/thumb/0/0") == 403
    # a page of another origin that found the port (DNS rebinding) names another host
    assert _status(url + "api/sets", host="evil.example:80") == 403
    assert json.dumps(review.doc) == before
    assert base.startswith("http://127.0.0.1:")


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM)):
        pytest.skip("chromium and chromium-driver are needed (Debian: apt install chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def _figure(driver, path: str):
    # fresh each time: a click re-renders its set
    return driver.execute_script(
        "return [...document.querySelectorAll('figure')]"
        ".find(f => f.dataset.path === arguments[0])",
        path,
    )


def _keep(driver, path: str) -> str:
    return driver.execute_script(
        "var f = [...document.querySelectorAll('figure')]"
        ".find(f => f.dataset.path === arguments[0]); return f && f.dataset.keep",
        path,
    )


def test_clicks_change_what_apply_removes(reviewed, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root, doc, review, url, cache = reviewed
    d = browser
    d.get(url)
    _wait(d, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == "2")
    # the page starts from the plan: what -N would do
    for s in doc["sets"]:
        for f in s["files"]:
            assert _keep(d, f["path"]) == ("1" if f["keep"] else "0")
    small = str(root / "copies" / "photo_00_small.png")
    orig = str(root / "photo_00.jpg")
    assert _keep(d, small) == "0"
    _figure(d, small).click()  # keep the small PNG ...
    _wait(d, lambda d: _keep(d, small) == "1")
    _figure(d, orig).click()  # ... and remove the original
    _wait(d, lambda d: _keep(d, orig) == "0")
    # thumbnails came from the server, behind the token
    _wait(
        d,
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('figure img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        ),
    )

    # keys: j to the next set, c to compare side by side, zoom, Esc
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    _wait(d, lambda d: body.get_attribute("data-current") == "1")
    body.send_keys("c")
    overlay = d.find_element(By.ID, "compare")
    _wait(d, lambda d: overlay.is_displayed())
    a = d.find_element(By.ID, "cmp-a")
    _wait(d, lambda d: d.execute_script("return arguments[0].naturalWidth", a) == 640)
    b = d.find_element(By.ID, "cmp-b")
    _wait(d, lambda d: d.execute_script("return arguments[0].naturalWidth", b) > 0)

    def width(img) -> float:
        return d.execute_script("return arguments[0].getBoundingClientRect().width", img)

    assert width(a) == width(b)  # fitted alike: the half-size copy as large as its original
    fitted = width(a)
    d.find_element(By.ID, "zoom-in").click()
    assert width(a) == width(b) > fitted * 1.4
    d.find_element(By.ID, "zoom-1").click()  # 1:1 pixels
    assert width(a) == 640
    body.send_keys(Keys.ESCAPE)
    _wait(d, lambda d: not overlay.is_displayed())
    body.send_keys("x")  # set 2: not duplicates
    _wait(
        d,
        lambda d: "notdup" in d.execute_script("return document.getElementById('set-2').className"),
    )

    d.find_element(By.ID, "dry").click()
    _wait(d, lambda d: body.get_attribute("data-applied") == "dry")
    assert "would have deleted 3 files" in d.find_element(By.ID, "output").text
    d.find_element(By.ID, "apply").click()
    from selenium.webdriver.support import expected_conditions

    _wait(d, expected_conditions.alert_is_present()).accept()
    _wait(d, lambda d: body.get_attribute("data-applied") == "real")

    shot = tmp_path / "review.png"
    d.save_screenshot(str(shot))
    print(f"\nscreenshot of the review page: {shot}")
    # what was removed is what the clicks said
    set1 = [f["path"] for f in doc["sets"][0]["files"]]
    assert [p for p in set1 if os.path.exists(p)] == [small]
    assert all(os.path.exists(f["path"]) for f in doc["sets"][1]["files"])
    saved = json.loads(Path(review.save_path).read_text())
    assert len(saved["sets"]) == 1  # the set marked not duplicates is not in the report
    assert {f["path"]: f["keep"] for f in saved["sets"][0]["files"]}[small] is True
    # and the set marked not duplicates is remembered in the hash store
    from conftest import run_inproc

    shown = run_inproc("--cache-dir", cache, "--show-ignored")
    assert len(shown.sets) == 6


def test_ten_thousand_sets_load_a_page_at_a_time(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from imgdupes.samples import synthetic_photo

    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    synthetic_photo(1, (64, 48)).save(a)
    synthetic_photo(1, (64, 48)).save(b, quality=60)
    files = [
        {"path": str(p), "size": 100, "width": 64, "height": 48, "distance": 0, "keep": k}
        for p, k in ((a, True), (b, False))
    ]
    doc = {"version": 1, "sets": [{"files": [dict(f) for f in files]} for _ in range(10_000)]}
    review = Review(doc, Config(), str(tmp_path / "d.json"))
    server, url = serve(review)
    try:
        d = browser
        d.get(url)
        body = d.find_element(By.TAG_NAME, "body")
        _wait(d, lambda d: body.get_attribute("data-loaded") == "50")
        assert "10000 sets" in d.find_element(By.ID, "totals").text
        assert len(d.find_elements(By.CSS_SELECTOR, "section.set")) == 50
        d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        _wait(d, lambda d: int(body.get_attribute("data-loaded")) >= 100)
        assert int(body.get_attribute("data-loaded")) < 10_000
    finally:
        server.shutdown()
        server.server_close()


def test_review_of_a_saved_report_and_of_a_run(imgdupes, tmp_path):
    from imgdupes.cli import build_parser, config_from_args
    from imgdupes.review import start_review

    def run_config(rest):
        return config_from_args(build_parser().parse_intermixed_args(rest))

    root = tmp_path / "samples"
    make_samples(str(root), originals=2)
    report = tmp_path / "report.json"
    report.write_text(imgdupes("--json", "-r", str(root), "phash", "4").out)
    for argv in (
        ["--no-browser", str(report)],
        ["--no-browser", "--save", str(tmp_path / "d.json"), "-r", str(root), "phash", "4"],
    ):
        server, url, review, browse = start_review(argv, lambda m: None, run_config)
        try:
            assert not browse and url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(url + "api/sets", timeout=10) as r:
                page = json.loads(r.read())
            assert page["total"] == 2 and page["removed"] == 6
        finally:
            server.shutdown()
            server.server_close()
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    res = imgdupes("review", "--no-browser", str(bad))
    assert res.code == 2 and 'no "sets" list' in res.err


def test_review_command_serves_until_interrupted(imgdupes, tmp_path):
    import signal
    import subprocess
    import sys

    from conftest import SRC

    root = tmp_path / "samples"
    make_samples(str(root), originals=2)
    report = tmp_path / "report.json"
    report.write_text(imgdupes("--json", "-r", str(root), "phash", "4").out)
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgdupes", "review", "--no-browser", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(tmp_path),
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Reviewing 2 sets at http://127.0.0.1:")
        url = line.split(" at ", 1)[1].strip()
        assert _status(url + "api/sets") == 200
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0
