"""Terminal image tiles (``-c``): one tiled picture per set, sent inline to the terminal.

Tiles are drawn with Pillow (no OpenCV) and numbered ``[n]`` like the listing and
the ``-d`` prompt, so a user can answer by looking.  Two protocols are spoken:
iTerm2 inline images (also understood by WezTerm, VS Code's terminal, ...) and
the kitty graphics protocol, each wrapped for tmux or GNU screen when needed.
"""

from __future__ import annotations

import io
import math
import os
from base64 import b64encode
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from PIL import Image, ImageColor, ImageDraw, ImageFont

from ..decode import DecodeError, decode
from ..errors import ConfigError
from ..model import Result, SetEntry
from .formatting import printable, set_listing

if TYPE_CHECKING:
    from ..config import Config

PROTOCOLS = ("iterm2", "kitty")

# The seed passed these OpenCV names to cv2.resize; each maps to the Pillow
# filter that does the same job.  INTER_AREA is OpenCV's pixel-area averaging,
# which is what Pillow's BOX filter computes.
INTERPOLATIONS: dict[str, Image.Resampling] = {
    "INTER_NEAREST": Image.Resampling.NEAREST,
    "INTER_NEAREST_EXACT": Image.Resampling.NEAREST,
    "INTER_LINEAR": Image.Resampling.BILINEAR,
    "INTER_LINEAR_EXACT": Image.Resampling.BILINEAR,
    "INTER_AREA": Image.Resampling.BOX,
    "INTER_CUBIC": Image.Resampling.BICUBIC,
    "INTER_LANCZOS4": Image.Resampling.LANCZOS,
}

BLANK_TILE = (96, 96, 96)  # an unreadable picture: visibly empty, not the space colour
CAPTION_BG = (0, 0, 0)
CAPTION_FG = (255, 255, 255)
QUERY_LABEL = "[Q]"

# kitty accepts at most 4096 bytes of base64 per escape sequence.
KITTY_CHUNK = 4096
# GNU screen drops DCS strings longer than its buffer; iTerm2's own imgcat
# script sends 768-byte pieces through it.
SCREEN_CHUNK = 768


@dataclass(frozen=True, slots=True)
class TileOptions:
    width: int
    height: int
    space: int
    space_color: tuple[int, int, int]
    tile_num: int
    resample: Image.Resampling
    keep_aspect: bool


def _error(message: str) -> Exception:
    return ConfigError(message)


def parse_size(text: str) -> tuple[int, int]:
    """``WxH`` -> (w, h); both at least 16 pixels so a caption fits."""
    parts = text.lower().split("x")
    try:
        if len(parts) != 2:
            raise ValueError
        w, h = int(parts[0]), int(parts[1])
    except ValueError:
        raise _error(f"--size must look like 256x256, got {text!r}") from None
    if w < 16 or h < 16 or w > 4096 or h > 4096:
        raise _error(f"--size: each side must be between 16 and 4096 pixels, got {text!r}")
    return w, h


def parse_color(text: str) -> tuple[int, int, int]:
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise _error(
            f"--space-color: unknown colour {text!r} (use a CSS name such as 'black' or #rrggbb)"
        ) from None
    return (rgb[0], rgb[1], rgb[2])


def tile_options(config: Config) -> TileOptions:
    """The ``-c`` options checked and converted; a bad one raises ConfigError."""
    w, h = parse_size(config.size)
    if config.space < 0 or config.space > 1024:
        raise _error(f"--space must be between 0 and 1024 pixels, got {config.space}")
    if config.tile_num < 1:
        raise _error(f"--tile-num must be at least 1, got {config.tile_num}")
    name = config.interpolation.strip().upper()
    if name not in INTERPOLATIONS:
        raise _error(
            f"--interpolation: unknown method {config.interpolation!r} "
            f"(choose from {', '.join(INTERPOLATIONS)})"
        )
    if config.imgcat_protocol is not None and config.imgcat_protocol not in PROTOCOLS:
        raise _error(f"--imgcat-protocol must be one of {', '.join(PROTOCOLS)}")
    return TileOptions(
        width=w,
        height=h,
        space=config.space,
        space_color=parse_color(config.space_color),
        tile_num=config.tile_num,
        resample=INTERPOLATIONS[name],
        keep_aspect=config.keep_aspect,
    )


def check_config(config: Config) -> None:
    """Called by Config.validate when ``-c`` is on."""
    tile_options(config)
    if config.json:
        raise _error("-c/--imgcat cannot be combined with --json (both write to stdout)")


# --- drawing ---------------------------------------------------------------------------


def _picture(path: str, opts: TileOptions) -> Image.Image | None:
    """The picture scaled into one tile (EXIF orientation applied), or None if unreadable."""
    try:
        # Only a tile's worth of pixels is needed: JPEGs decode at reduced scale.
        img = decode(path, reduce_to=max(opts.width, opts.height)).color
    except DecodeError:
        return None
    if not opts.keep_aspect:
        return img.resize((opts.width, opts.height), opts.resample)
    scale = min(opts.width / img.width, opts.height / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    fitted = img.resize(size, opts.resample)
    tile = Image.new("RGB", (opts.width, opts.height), opts.space_color)
    tile.paste(fitted, ((opts.width - size[0]) // 2, (opts.height - size[1]) // 2))
    return tile


def _font(opts: TileOptions) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = max(10, min(24, min(opts.width, opts.height) // 14))
    return ImageFont.load_default(size=size)


def _fit_text(text: str, font, max_width: int, keep: int) -> str:
    """``text`` cut (with '...') to ``max_width`` pixels; the first ``keep`` characters
    (the ``[n]`` label) always stay."""
    if font.getlength(text) <= max_width:
        return text
    for end in range(len(text) - 1, keep - 1, -1):
        candidate = text[:end] + "..."
        if font.getlength(candidate) <= max_width:
            return candidate
    return text[:keep]


def caption_text(label: str, path: str, unreadable: bool = False) -> str:
    """``[n] name``: the file's base name, control characters shown as ``\\xNN``."""
    name = os.path.basename(path) or path
    return f"{label} {printable(name)}" + (" (unreadable)" if unreadable else "")


def _caption(tile: Image.Image, label: str, path: str, font, unreadable: bool) -> None:
    text = _fit_text(caption_text(label, path, unreadable), font, tile.width - 6, len(label))
    draw = ImageDraw.Draw(tile)
    left, top, right, bottom = draw.textbbox((3, 2), text, font=font)
    draw.rectangle((0, 0, right + 3, bottom + 3), fill=CAPTION_BG)
    draw.text((3, 2), text, font=font, fill=CAPTION_FG)


def build_tiles(items: Sequence[tuple[str, str]], opts: TileOptions) -> Image.Image:
    """One image of ``(label, path)`` tiles, ``opts.tile_num`` per row, in order."""
    n = max(1, len(items))
    cols = min(n, opts.tile_num)
    rows = math.ceil(n / cols)
    sp = opts.space
    canvas = Image.new(
        "RGB",
        (cols * opts.width + (cols + 1) * sp, rows * opts.height + (rows + 1) * sp),
        opts.space_color,
    )
    font = _font(opts)
    for k, (label, path) in enumerate(items):
        tile = _picture(path, opts)
        unreadable = tile is None
        if tile is None:
            tile = Image.new("RGB", (opts.width, opts.height), BLANK_TILE)
        _caption(tile, label, path, font, unreadable)
        r, c = divmod(k, cols)
        canvas.paste(tile, (sp + c * (opts.width + sp), sp + r * (opts.height + sp)))
    return canvas


def set_items(config: Config, entries: Sequence[SetEntry]) -> list[tuple[str, str]]:
    """Labels and paths of one set's tiles: ``[1]..[n]`` as in the listing and prompt;
    in ``--query`` mode the query picture comes first, labelled ``[Q]``."""
    items = [(f"[{i}]", e.path) for i, e in enumerate(entries, start=1)]
    if config.query is not None:
        items.insert(0, (QUERY_LABEL, config.query))
    return items


def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=3)  # speed over size: it goes to a terminal
    return buf.getvalue()


# --- protocols -------------------------------------------------------------------------


def detect_protocol(env: Mapping[str, str]) -> str:
    """iTerm2 or kitty, from the terminal's environment (iTerm2 when unknown, as the seed)."""
    if env.get("TERM_PROGRAM") == "iTerm.app" or env.get("LC_TERMINAL") == "iTerm2":
        return "iterm2"
    if env.get("TERM", "") == "xterm-kitty" or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    return "iterm2"


def detect_multiplexer(env: Mapping[str, str]) -> str | None:
    """'tmux', 'screen' or None: which wrapper the sequences need to reach the terminal."""
    term = env.get("TERM", "")  # .get: the seed raised KeyError when TERM was unset
    if env.get("TMUX"):
        return "tmux"
    if term.startswith("screen") and env.get("STY"):
        return "screen"
    if term.startswith(("screen", "tmux")):
        # tmux sets TERM=screen by default; the seed treated every screen* as tmux.
        return "tmux"
    return None


def _wrap(seq: str, multiplexer: str | None) -> str:
    if multiplexer == "tmux":
        # tmux passes a DCS "tmux;" string through with every ESC doubled.
        # (tmux >= 3.3 needs `set -g allow-passthrough on`.)
        return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    if multiplexer == "screen":
        return "".join(
            "\x1bP" + seq[i : i + SCREEN_CHUNK] + "\x1b\\" for i in range(0, len(seq), SCREEN_CHUNK)
        )
    return seq


def iterm2_sequence(png: bytes, multiplexer: str | None = None) -> str:
    data = b64encode(png).decode("ascii")
    seq = f"\x1b]1337;File=size={len(png)};inline=1;preserveAspectRatio=1:{data}\a"
    return _wrap(seq, multiplexer) + "\n"


def kitty_sequence(png: bytes, multiplexer: str | None = None) -> str:
    data = b64encode(png).decode("ascii")
    chunks = [data[i : i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)] or [""]
    parts = []
    for k, chunk in enumerate(chunks):
        more = 1 if k < len(chunks) - 1 else 0
        # a=T: transmit and show; f=100: PNG; q=2: no replies, which would
        # otherwise arrive on stdin and be read as the answer to the prompt.
        keys = f"a=T,f=100,q=2,m={more}" if k == 0 else f"m={more}"
        parts.append(_wrap(f"\x1b_G{keys};{chunk}\x1b\\", multiplexer))
    return "".join(parts) + "\n"


def image_sequence(png: bytes, protocol: str, env: Mapping[str, str]) -> str:
    mux = detect_multiplexer(env)
    if protocol == "kitty":
        return kitty_sequence(png, mux)
    return iterm2_sequence(png, mux)


# --- can pictures reach a person? ------------------------------------------------------

PASSTHROUGH_HINT = "tmux set -g allow-passthrough on"


def tmux_passthrough_off(env: Mapping[str, str]) -> bool:
    """True when the tmux we run in would swallow the pictures (tmux >= 3.3 with
    ``allow-passthrough`` off, its default).  Older tmux has no such option and
    passes them; a tmux that cannot be asked is given the benefit of the doubt."""
    import subprocess

    pane = env.get("TMUX_PANE")
    cmd = ["tmux", "show-options", "-Av", *(["-t", pane] if pane else []), "allow-passthrough"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=dict(env), timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0 and res.stdout.strip() == "off"


def pictures_reach_terminal(
    out: TextIO, warn: Callable[[str], None], env: Mapping[str, str] | None = None
) -> bool:
    """Whether ``-c`` should draw: say in one line why not when it should not.

    Pictures are escape sequences for a terminal: written to a file or a pipe
    they are megabytes of noise, and inside tmux without passthrough nothing."""
    env = os.environ if env is None else env
    isatty = getattr(out, "isatty", None)
    if not (isatty and isatty()):
        warn("-c: stdout is not a terminal, so no pictures are drawn")
        return False
    if env.get("TMUX") and tmux_passthrough_off(env):
        warn(f"-c: tmux does not pass pictures through; turn that on with: {PASSTHROUGH_HINT}")
        return False
    return True


# --- what the command calls ------------------------------------------------------------


def show_tiles(
    config: Config,
    items: Sequence[tuple[str, str]],
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    env = os.environ if env is None else env
    opts = tile_options(config)
    png = to_png(build_tiles(items, opts))
    protocol = config.imgcat_protocol or detect_protocol(env)
    out.write(image_sequence(png, protocol, env))
    out.flush()


def show_set(
    config: Config,
    entries: Sequence[SetEntry],
    out: TextIO,
    env: Mapping[str, str] | None = None,
) -> None:
    """Show one set as a tiled image on the terminal (before its listing or prompt).

    Tiles are numbered ``[1]..[n]`` in the order of ``entries``; with ``--query``
    the query picture is the first tile, labelled ``[Q]``.
    """
    show_tiles(config, set_items(config, entries), out, env)


def write_listing(paths: Sequence[str], out: TextIO, sameline: bool = False) -> None:
    """One set in fdupes's layout with control characters shown escaped: with ``-c``
    stdout is a terminal showing pictures, and a file name must not drive it."""
    out.write(set_listing(paths, sameline, shown=printable))


def show_listing(config: Config, result: Result, out: TextIO) -> None:
    """List mode with ``-c``: each set's tiles, then its listing (names shown escaped)."""
    if config.query is not None:
        entries = result.sets[0].entries if result.sets else []
        show_set(config, entries, out)  # the query picture is the first tile
        out.write(f"Query: {printable(config.query)}\n\n")
        if entries:
            write_listing([e.path for e in entries], out, config.sameline)
        return
    for s in result.sets:
        show_set(config, s.entries, out)
        write_listing(s.paths, out, config.sameline)
