"""``imgdupes review``: look at the sets in the browser, decide, save, apply.

``imgdupes review [--save FILE] [--port N] [--no-browser] [--trash | --move-to DIR]
(REPORT.json | the arguments of a run)`` serves the sets on 127.0.0.1 only,
behind a random token in every URL: a request without it is refused (403), so
neither another origin nor another local user can read or act.  The decisions
start as the plan's (what ``-N`` would do) and are kept as a ``--json``
report: Save writes it, Apply carries it out through ``imgdupes apply``'s code
(every re-check of ``-d``).  "Not duplicates" remembers the set in the hash
store (see :mod:`imgdupes.ignored`).

Sets are sent to the page 50 at a time and thumbnails made when the browser
asks for them, so 10,000 sets open as quickly as ten.  Files are served by
their number in the report only, never by a path the request names.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .config import Config

PAGE_SETS = 50
# Formats every browser shows as they are; others are sent re-encoded as PNG.
_BROWSER_FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "BMP"}


class Review:
    """The decisions of one review: a --json report document, changed by clicks."""

    def __init__(self, doc: dict, config: Config, save_path: str, cache_dir: str | None = None):
        self.doc = doc
        self.config = config
        self.save_path = save_path
        self.cache_dir = cache_dir
        self.lock = threading.Lock()
        self.thumbs: dict[tuple[int, int], bytes | None] = {}

    # --- reading ---------------------------------------------------------------------------

    def file(self, s: int, f: int) -> dict:
        return self.doc["sets"][s]["files"][f]

    def totals(self) -> dict:
        removed = [f for s in self.doc["sets"] for f in s["files"] if f.get("keep") is False]
        return {
            "total": len(self.doc["sets"]),
            "removed": len(removed),
            "freed": sum(int(f.get("size", 0)) for f in removed),
        }

    def sets(self, start: int, count: int) -> dict:
        out = []
        for k in range(start, min(start + count, len(self.doc["sets"]))):
            s = self.doc["sets"][k]
            out.append(
                {
                    "index": k,
                    "not_duplicates": bool(s.get("not_duplicates")),
                    "files": [
                        {
                            "path": f["path"],
                            "size": f.get("size", 0),
                            "width": f.get("width", 0),
                            "height": f.get("height", 0),
                            "distance": f.get("distance", 0),
                            "keep": f.get("keep", True) is not False,
                            "reference": f.get("reference") is True,
                            "reason": f.get("reason", ""),
                        }
                        for f in s["files"]
                    ],
                }
            )
        return {**self.totals(), "start": start, "sets": out}

    # --- deciding --------------------------------------------------------------------------

    def mark(self, s: int, f: int, keep: bool) -> dict:
        with self.lock:
            entry = self.file(s, f)
            if entry.get("reference") and not keep:
                raise ValueError("a --reference file is never removed")
            entry["keep"] = bool(keep)
            entry["reason"] = "your decision on the review page"
            return {**self.totals(), "set": self.sets(s, 1)["sets"][0]}

    def not_duplicates(self, s: int, files: list[int] | None = None) -> dict:
        """Remember the set (or two of its files, ``files``) as not duplicates.
        A whole set is kept and left out of the saved report; a pair's two
        files are kept and later runs no longer link them."""
        from .apply import _entry
        from .ignored import IgnoredPairs

        with self.lock:
            group = self.doc["sets"][s]
            picked = list(range(len(group["files"]))) if files is None else sorted(set(files))
            if len(picked) < 2 or not all(0 <= k < len(group["files"]) for k in picked):
                raise ValueError("mark two or more files of the set")
            if files is None:
                group["not_duplicates"] = True
            for k in picked:
                group["files"][k]["keep"] = True
                group["files"][k]["reason"] = "not duplicates"
            remembered = False
            store = IgnoredPairs.open(self.cache_dir, lambda m: None)
            if store is not None:
                try:
                    entries = [_entry(group["files"][k], "review") for k in picked]
                    remembered = store.add(entries) > 0
                finally:
                    store.close()
            return {**self.totals(), "remembered": remembered, "set": self.sets(s, 1)["sets"][0]}

    def save(self) -> str:
        with self.lock:
            doc = dict(self.doc)
            doc["sets"] = [s for s in self.doc["sets"] if not s.get("not_duplicates")]
            tmp = self.save_path + ".part"
            with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:
                json.dump(doc, fh, ensure_ascii=True, indent=1)
                fh.write("\n")
            os.replace(tmp, self.save_path)
        return self.save_path

    def apply(self, dry_run: bool) -> tuple[int, str]:
        from .apply import run_apply

        path = self.save()
        config = Config(
            delete=True,
            dry_run=dry_run,
            trash=self.config.trash,
            move_to=self.config.move_to,
            log=self.config.log,
        )
        out = io.StringIO()
        code = run_apply(config, path, out, lambda m: out.write(m + "\n"))
        return code, out.getvalue()

    # --- pictures --------------------------------------------------------------------------

    def thumbnail(self, s: int, f: int) -> bytes | None:
        from .report.html_report import thumbnail

        key = (s, f)
        if key not in self.thumbs:
            self.thumbs[key] = thumbnail(self.file(s, f)["path"], side=200)
        return self.thumbs[key]

    def full(self, s: int, f: int) -> tuple[bytes, str] | None:
        from PIL import Image

        path = self.file(s, f)["path"]
        try:
            with Image.open(path) as img:
                fmt = img.format or ""
                if fmt in _BROWSER_FORMATS:
                    with open(path, "rb") as fh:
                        return fh.read(), Image.MIME.get(fmt, "application/octet-stream")
        except OSError:
            pass
        from .decode import DecodeError, decode

        try:
            img = decode(path).color
        except DecodeError:
            return None
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue(), "image/png"


# --- the server ----------------------------------------------------------------------------------


def _asset(name: str) -> str:
    from . import review_page

    return {
        "review.html": review_page.HTML,
        "review.js": review_page.JS,
        "review.css": review_page.CSS,
    }[name]


class _Handler(BaseHTTPRequestHandler):
    review: Review
    token: str
    server_version = "imgdupes-review"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet server
        pass

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        )
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went on (a thumbnail scrolled away): nothing to tell

    def _json(self, doc: object, status: int = 200) -> None:
        self._send(status, json.dumps(doc, ensure_ascii=True).encode(), "application/json")

    def _route(self) -> tuple[str, dict] | None:
        """The path after the token, or None (403 sent) without the right token
        or from a page that is not ours (a Host other than 127.0.0.1/localhost)."""
        parts = urlsplit(self.path)
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        prefix = f"/{self.token}/"
        ok_token = secrets.compare_digest(parts.path[: len(prefix)], prefix)
        if not ok_token or host not in ("127.0.0.1", "localhost"):
            self._send(HTTPStatus.FORBIDDEN, b"forbidden\n", "text/plain; charset=utf-8")
            return None
        return parts.path[len(prefix) :], parse_qs(parts.query)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        route = self._route()
        if route is None:
            return
        path, query = route
        r = self.review
        try:
            if path == "":
                self._send(200, _asset("review.html").encode(), "text/html; charset=utf-8")
            elif path in ("review.js", "review.css"):
                ctype = mimetypes.types_map[os.path.splitext(path)[1]]
                self._send(200, _asset(path).encode(), ctype + "; charset=utf-8")
            elif path == "api/sets":
                start = int(query.get("start", ["0"])[0])
                count = min(int(query.get("count", [str(PAGE_SETS)])[0]), 500)
                self._json(r.sets(max(0, start), max(0, count)))
            elif path.startswith(("thumb/", "full/")):
                kind, s, f = path.split("/")
                if kind == "thumb":
                    data = r.thumbnail(int(s), int(f))
                    found = None if data is None else (data, _thumb_mime())
                else:
                    found = r.full(int(s), int(f))
                if found is None:
                    self._send(404, b"cannot show this picture\n", "text/plain; charset=utf-8")
                else:
                    self._send(200, found[0], found[1], cache=True)
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")
        except (ValueError, IndexError, KeyError):
            self._send(400, b"bad request\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        route = self._route()
        if route is None:
            return
        path, _ = route
        r = self.review
        try:
            length = min(int(self.headers.get("Content-Length") or 0), 1 << 16)
            body = json.loads(self.rfile.read(length) or b"{}")
            if path == "api/mark":
                self._json(r.mark(int(body["set"]), int(body["file"]), bool(body["keep"])))
            elif path == "api/notdup":
                files = body.get("files")
                picked = None if files is None else [int(k) for k in files]
                self._json(r.not_duplicates(int(body["set"]), picked))
            elif path == "api/save":
                self._json({"saved": r.save()})
            elif path == "api/apply":
                code, text = r.apply(bool(body.get("dry_run", True)))
                self._json({"code": code, "output": text, "saved": r.save_path})
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            self._json({"error": str(exc)}, 400)


def _thumb_mime() -> str:
    from .report.html_report import THUMB_MIME

    return THUMB_MIME


def serve(review: Review, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving on 127.0.0.1 (in a thread); returns the server and its URL."""
    token = secrets.token_urlsafe(24)
    handler = type("ReviewHandler", (_Handler,), {"review": review, "token": token})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/{token}/"


def default_save_path(now: datetime | None = None) -> str:
    stamp = (now or datetime.now()).strftime("%Y%m%d%H%M%S")
    return os.path.join(os.getcwd(), f"{stamp}_review.json")


def start_review(
    argv: list[str], warn: Callable[[str], None], run_config: Callable[[list[str]], Config]
):
    """Parse ``imgdupes review``'s arguments (``run_config`` turns a run's
    arguments into its Config), find or read the sets and start serving:
    (server, url, review, open_browser)."""
    import argparse

    from .config import ConfigError

    if argv[:1] in (["-h"], ["--help"]):
        raise ConfigError(
            "usage: imgdupes review [--save FILE] [--port N] [--no-browser] "
            "[--trash | --move-to DIR] (REPORT.json | [options] target_dir ... hash_method "
            "hamming_distance); see docs/review.md"
        )
    p = argparse.ArgumentParser(prog="imgdupes review", add_help=False)
    p.add_argument("--save", default=None)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--trash", action="store_true")
    p.add_argument("--move-to", default=None)
    ns, rest = p.parse_known_args(argv)
    if ns.trash and ns.move_to:
        raise ConfigError("--trash and --move-to cannot be used together")
    cache_dir = None
    if len(rest) == 1 and rest[0].endswith(".json") and os.path.isfile(rest[0]):
        from .apply import read_report

        read_report(rest[0], "remove")  # one clear line for a bad report
        with open(rest[0], encoding="utf-8", errors="surrogateescape") as fh:
            doc = json.load(fh)
        config = Config()
    else:
        from .pipeline import find
        from .plan import plan_sets
        from .report.json_report import result_json

        config = run_config(rest)
        result, data = find(config, warn)
        doc = result_json(result, plan_sets(config, result, data))
        cache_dir = config.cache_dir
    # what the page's "apply" does with the files it removes
    config = Config(delete=True, trash=ns.trash, move_to=ns.move_to, log=config.log)
    if ns.trash or ns.move_to:
        from .act import check_ready

        check_ready(config)
    review = Review(doc, config, ns.save or default_save_path(), cache_dir)
    server, url = serve(review, ns.port)
    return server, url, review, not ns.no_browser


def run_review(
    argv: list[str], out, warn: Callable[[str], None], run_config: Callable[[list[str]], Config]
) -> int:  # pragma: no cover - waits for Ctrl-C; start_review is tested
    server, url, review, browse = start_review(argv, warn, run_config)
    # Ctrl-C is the way to stop, so it is a clean exit from the moment the address is printed: a
    # reader may act on that line before this thread reaches the wait.
    try:
        out.write(f"Reviewing {len(review.doc['sets'])} sets at {url}\n(Ctrl-C to stop)\n")
        out.flush()
        if browse:
            import webbrowser

            webbrowser.open(url)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0
