"""-c/--imgcat: tiled pictures sent to the terminal with the iTerm2 or kitty protocol."""

from __future__ import annotations

import base64
import io
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imgdupes.config import Config
from imgdupes.model import SetEntry
from imgdupes.report.tiles import (
    BLANK_TILE,
    caption_text,
    detect_multiplexer,
    detect_protocol,
    show_set,
)
from imgdupes.samples import resized

SRC = str(Path(__file__).resolve().parent.parent / "src")

ITERM2 = re.compile(
    r"\x1b\]1337;File=size=(\d+);inline=1;preserveAspectRatio=1:([A-Za-z0-9+/=]+)\x07"
)
KITTY = re.compile(r"\x1b_G([A-Za-z0-9=,]+);([A-Za-z0-9+/=]*)\x1b\\")


def _entry(path: str) -> SetEntry:
    return SetEntry(path, 0, 0, 0, 0, "", 0)


def _iterm2_images(text: str) -> list[Image.Image]:
    images = []
    for size, data in ITERM2.findall(text):
        png = base64.b64decode(data)
        assert int(size) == len(png)  # the size= key must be the PNG's byte count
        images.append(Image.open(io.BytesIO(png)).convert("RGB"))
    return images


def _kitty_images(text: str) -> list[Image.Image]:
    """Reassemble kitty's chunked transmissions (m=1 ... m=0) into pictures."""
    images, data = [], ""
    for keys, chunk in KITTY.findall(text):
        opts = dict(kv.split("=") for kv in keys.split(","))
        assert len(chunk) <= 4096
        if data == "":
            assert opts.get("a") == "T" and opts.get("f") == "100" and opts.get("q") == "2"
        data += chunk
        if opts["m"] == "0":
            images.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
            data = ""
    assert data == "", "a kitty transmission was left unfinished"
    return images


def _show(config: Config, paths: list[str], env: dict | None = None) -> str:
    out = io.StringIO()
    show_set(config, [_entry(p) for p in paths], out, env=env or {})
    return out.getvalue()


def test_tiles_follow_size_space_colour_and_tile_num(tmp_path, photo):
    paths = []
    for n in range(5):
        p = tmp_path / f"p{n}.jpg"
        photo(n).save(p)
        paths.append(str(p))
    cfg = Config(imgcat=True, size="120x90", space=6, space_color="#ff8800", tile_num=3)
    [img] = _iterm2_images(_show(cfg, paths))
    # 3 tiles per row, 2 rows, with the space around and between tiles
    assert img.size == (3 * 120 + 4 * 6, 2 * 90 + 3 * 6)
    assert img.getpixel((2, 2)) == (255, 136, 0)  # space colour
    # the 6th cell of the grid is empty: filled with the space colour
    assert img.getpixel((img.width - 20, img.height - 20)) == (255, 136, 0)
    named = Config(imgcat=True, space=2, space_color="rebeccapurple", tile_num=1, size="64x64")
    [img] = _iterm2_images(_show(named, paths[:2]))
    assert img.size == (64 + 4, 2 * 64 + 6)
    assert img.getpixel((0, 0)) == (102, 51, 153)


def test_each_tile_carries_its_number(tmp_path, photo):
    # Same picture, same base name in two folders: the captions can only differ by [n].
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        photo(1).save(tmp_path / sub / "x.jpg")
    paths = [str(tmp_path / "a" / "x.jpg"), str(tmp_path / "b" / "x.jpg")]
    [img] = _iterm2_images(_show(Config(imgcat=True, size="128x128"), paths))
    first = img.crop((0, 0, 64, 22))
    second = img.crop((128, 0, 128 + 64, 22))
    assert first.tobytes() != second.tobytes()
    for cap in (first, second):
        colours = {c for _, c in cap.getcolors(1 << 16)}
        # light text on the black caption bar
        assert (0, 0, 0) in colours and any(min(c) > 200 for c in colours)
    assert caption_text("[2]", paths[1]) == "[2] x.jpg"


def test_keep_aspect_pads_and_no_keep_aspect_stretches(tmp_path):
    p = tmp_path / "wide.png"
    Image.new("RGB", (400, 100), (200, 0, 0)).save(p)
    kept = Config(imgcat=True, size="100x100", space_color="blue")
    [img] = _iterm2_images(_show(kept, [str(p)]))
    assert img.getpixel((50, 95)) == (0, 0, 255)  # padding below the 100x25 picture
    assert img.getpixel((50, 50)) == (200, 0, 0)
    stretched = Config(imgcat=True, size="100x100", space_color="blue", keep_aspect=False)
    [img] = _iterm2_images(_show(stretched, [str(p)]))
    assert img.getpixel((50, 95)) == (200, 0, 0)


@pytest.mark.parametrize(
    "name", ["INTER_NEAREST", "INTER_LINEAR", "INTER_AREA", "INTER_CUBIC", "INTER_LANCZOS4"]
)
def test_every_seed_interpolation_name_works(imgdupes_tty, dupe_tree, name):
    root, _ = dupe_tree
    res = imgdupes_tty("-c", "--interpolation", name, "--size", "32x32", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert len(_iterm2_images(res.out)) == 3


def test_nearest_and_lanczos_give_different_tiles(tmp_path, photo):
    p = tmp_path / "p.jpg"
    photo(3).save(p)
    near = _iterm2_images(_show(Config(imgcat=True, interpolation="INTER_NEAREST"), [str(p)]))
    lanc = _iterm2_images(_show(Config(imgcat=True, interpolation="INTER_LANCZOS4"), [str(p)]))
    assert near[0].tobytes() != lanc[0].tobytes()


def test_unreadable_image_is_a_blank_tile(tmp_path, photo):
    good = tmp_path / "good.jpg"
    photo(2).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    gone = tmp_path / "deleted-meanwhile.jpg"
    cfg = Config(imgcat=True, size="64x64")
    [img] = _iterm2_images(_show(cfg, [str(good), str(bad), str(gone)]))
    assert img.size == (3 * 64, 64)
    assert img.getpixel((64 + 32, 50)) == BLANK_TILE
    assert img.getpixel((128 + 32, 50)) == BLANK_TILE
    assert img.getpixel((32, 50)) != BLANK_TILE


@pytest.mark.parametrize(
    "argv, words",
    [
        (("--size", "big"), "--size"),
        (("--size", "0x10"), "--size"),
        (("--space-color", "notacolour"), "--space-color"),
        (("--interpolation", "INTER_MAGIC"), "--interpolation"),
        (("--tile-num", "0"), "--tile-num"),
        (("--space", "-3"), "--space"),
        (("--json",), "--json"),
    ],
)
def test_bad_tile_options_are_one_line_usage_errors(imgdupes, tmp_path, argv, words):
    res = imgdupes("-c", *argv, str(tmp_path), "phash", "4")
    assert res.code == 2
    assert len(res.err.strip().splitlines()) == 1 and words in res.err
    assert res.out == ""


def test_protocol_from_environment():
    assert detect_protocol({}) == "iterm2"  # no TERM at all: no KeyError, the seed's default
    assert detect_protocol({"TERM_PROGRAM": "iTerm.app"}) == "iterm2"
    assert detect_protocol({"LC_TERMINAL": "iTerm2", "TERM": "screen"}) == "iterm2"
    assert detect_protocol({"TERM": "xterm-kitty"}) == "kitty"
    assert detect_protocol({"TERM": "tmux-256color", "KITTY_WINDOW_ID": "3"}) == "kitty"
    assert detect_multiplexer({}) is None
    assert detect_multiplexer({"TERM": "screen-256color", "TMUX": "/tmp/x,1,0"}) == "tmux"
    assert detect_multiplexer({"TERM": "screen"}) == "tmux"  # the seed's rule
    assert detect_multiplexer({"TERM": "screen.xterm-256color", "STY": "1.pts-0"}) == "screen"


def _run_in_pty(argv: list[str], env: dict[str, str], cwd: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as stdin/stdout/stderr; all it wrote."""
    master, slave = os.openpty()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": SRC,
        "XDG_CACHE_HOME": os.path.join(cwd, ".cache"),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgdupes", *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full_env,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                proc.kill()
                raise AssertionError("no output from the command for 120 s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    code = proc.wait(timeout=60)
    # the terminal's line discipline turns "\n" into "\r\n"
    return code, b"".join(chunks).decode("utf-8", "surrogateescape").replace("\r\n", "\n")


def _pty_tree(tmp_path, photo) -> str:
    root = tmp_path / "pics"
    root.mkdir()
    img = photo(7)
    img.save(root / "a.jpg", quality=95)
    resized(img, 0.5).save(root / "a_small.png")
    # big enough that kitty needs several chunks
    photo(8, size=(900, 700)).save(root / "b.png")
    photo(8, size=(900, 700)).save(root / "b.jpg", quality=60)
    return str(root)


def test_imgcat_through_a_pty_iterm2_kitty_and_tmux(tmp_path, photo):
    root = _pty_tree(tmp_path, photo)
    base = ["-c", "--size", "160x160", root, "phash", "4"]
    cwd = str(tmp_path)

    # TERM unset (the seed raised KeyError): iTerm2 sequences, no multiplexer wrapping
    code, text = _run_in_pty(base, {}, cwd)
    assert code == 0, text
    assert "Traceback" not in text
    tiles = _iterm2_images(text)
    assert len(tiles) == 2 and all(t.size == (2 * 160, 160) for t in tiles)
    assert "\x1bPtmux;" not in text
    # each tile comes right before its set's listing
    assert re.search(r"\x07\n" + re.escape(os.path.join(root, "a")), text)

    code, text = _run_in_pty(base, {"TERM": "xterm-kitty"}, cwd)
    assert code == 0, text
    assert "1337;File" not in text
    tiles = _kitty_images(text)
    assert len(tiles) == 2 and all(t.size == (2 * 160, 160) for t in tiles)
    assert text.count("a=T,f=100") == 2  # one transmission per set ...
    assert text.count("\x1b_Gm=1;") >= 1  # ... the big one in several chunks

    # forced protocol wins over the environment
    code, text = _run_in_pty(
        ["--imgcat-protocol", "kitty", *base], {"TERM_PROGRAM": "iTerm.app"}, cwd
    )
    assert len(_kitty_images(text)) == 2

    # inside tmux: DCS passthrough with every ESC of the payload doubled
    code, text = _run_in_pty(
        base, {"TERM": "screen-256color", "TMUX": f"{tmp_path}/no-such-tmux,1,0"}, cwd
    )
    assert code == 0, text
    wrapped = re.findall(r"\x1bPtmux;\x1b\x1b\]1337;File=size=\d+;[^\x07]*\x07\x1b\\", text)
    assert len(wrapped) == 2
    unwrapped = text.replace("\x1bPtmux;\x1b\x1b", "\x1b").replace("\x07\x1b\\", "\x07")
    assert len(_iterm2_images(unwrapped)) == 2

    code, text = _run_in_pty(
        base, {"TERM": "xterm-kitty", "TMUX": f"{tmp_path}/no-such-tmux,1,0"}, cwd
    )
    chunks = re.findall(r"\x1bPtmux;\x1b\x1b_G[^\x1b]*\x1b\x1b\\\x1b\\", text)
    assert len(chunks) == text.count("\x1bPtmux;") >= 3


def test_query_tile_comes_first(imgdupes_tty, tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    img = photo(4)
    img.save(root / "orig.jpg", quality=95)
    img.save(root / "copy.jpg", quality=60)
    query = tmp_path / "query.png"
    img.resize((640, 240)).save(query)  # a squashed copy: same hash, other shape
    res = imgdupes_tty(
        "-c", "--size", "100x100", "--space-color", "lime", "--query", str(query),
        str(root), "phash", "6",
    )  # fmt: skip
    assert res.code == 0, res.err
    [tiles] = _iterm2_images(res.out)
    assert tiles.size == (300, 100)  # query + its two matches
    # the squashed query is 100x37 in its tile: lime padding at y=80; the 4:3 copies are not
    assert tiles.getpixel((50, 80)) == (0, 255, 0)
    assert tiles.getpixel((150, 80)) != (0, 255, 0)
    assert tiles.getpixel((250, 80)) != (0, 255, 0)
    assert res.out.index("\x07") < res.out.index("Query: ")

    alone = tmp_path / "alone.png"
    photo(99).save(alone)
    res = imgdupes_tty("-c", "--size", "100x100", "--query", str(alone), str(root), "phash", "2")
    assert res.code == 0
    [tile] = _iterm2_images(res.out)
    assert tile.size == (100, 100)  # no matches: the query is still shown


def test_hostile_names_are_escaped_in_captions_and_listing(imgdupes_tty, tmp_path, photo):
    root = tmp_path / "pics"
    root.mkdir()
    img = photo(5)
    evil = "\x1b]0;pwned\x07\x1b[31mred\nline.jpg"
    img.save(root / evil, format="JPEG", quality=95)
    img.save(root / "plain.jpg", quality=70)
    res = imgdupes_tty("-c", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert len(_iterm2_images(res.out)) == 1
    # Only our own image sequence may contain ESC; the name is shown escaped.
    listing = ITERM2.sub("", res.out)
    assert "\x1b" not in listing and "\x07" not in listing
    assert "\\x1b]0;pwned\\x07\\x1b[31mred\\x0aline.jpg" in listing
    caption = caption_text("[1]", str(root / evil))
    assert caption == "[1] \\x1b]0;pwned\\x07\\x1b[31mred\\x0aline.jpg"
    assert not any(ord(c) < 32 for c in caption)
