"""Formats and hostile files: every format is hashed, every bad file is one warning."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image

from imgdupes import decode as decode_mod
from imgdupes import hashes, thumbs
from imgdupes.discover import discover
from imgdupes.hasher import HashSpec, hash_files, hash_path
from imgdupes.samples import synthetic_photo

# --- real files of each format ------------------------------------------------------------


def write_dng(path: Path, preview: Image.Image, raw_size: tuple[int, int] = (64, 48)) -> None:
    """A minimal but real DNG 1.4 (LibRaw reads and develops it): IFD0 holds a
    baseline JPEG preview, as cameras embed one, and its SubIFD a 16-bit RGGB
    Bayer mosaic, the sensor data."""
    out = io.BytesIO()
    preview.convert("RGB").save(out, "JPEG", quality=92)
    jpeg = out.getvalue()
    rw, rh = raw_size
    mosaic = np.random.default_rng(0).integers(0, 4096, size=(rh, rw)).astype("<u2").tobytes()
    byte, ascii_, short, long_, rational, srational = 1, 2, 3, 4, 5, 10

    def pack_ifd(entries: list, offset: int) -> bytes:
        entries = sorted(entries)
        extra_at = offset + 2 + 12 * len(entries) + 4
        body, extra = b"", b""
        for tag, typ, vals in entries:
            if typ == ascii_:
                raw, count = vals.encode() + b"\0", len(vals) + 1
            elif typ == byte:
                raw, count = bytes(vals), len(vals)
            elif typ == short:
                raw, count = struct.pack(f"<{len(vals)}H", *vals), len(vals)
            elif typ == long_:
                raw, count = struct.pack(f"<{len(vals)}I", *vals), len(vals)
            else:
                flat = [x for v in vals for x in v]
                code = "I" if typ == rational else "i"
                raw, count = struct.pack(f"<{len(flat)}{code}", *flat), len(vals)
            if len(raw) <= 4:
                field = raw.ljust(4, b"\0")
            else:
                field = struct.pack("<I", extra_at + len(extra))
                extra += raw + b"\0" * (len(raw) % 2)
            body += struct.pack("<HHI", tag, typ, count) + field
        return struct.pack("<H", len(entries)) + body + struct.pack("<I", 0) + extra

    def build(jpeg_at: int, raw_at: int, sub_at: int) -> tuple[bytes, bytes]:
        identity = [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]
        ifd0 = [
            (254, long_, [1]),
            (256, long_, [preview.width]),
            (257, long_, [preview.height]),
            (258, short, [8, 8, 8]),
            (259, short, [7]),
            (262, short, [6]),
            (271, ascii_, "imgdupes"),
            (272, ascii_, "test camera"),
            (273, long_, [jpeg_at]),
            (277, short, [3]),
            (278, long_, [preview.height]),
            (279, long_, [len(jpeg)]),
            (330, long_, [sub_at]),
            (50706, byte, [1, 4, 0, 0]),
            (50707, byte, [1, 1, 0, 0]),
            (50708, ascii_, "imgdupes test camera"),
            (50721, srational, identity),
            (50728, rational, [(1, 1), (1, 1), (1, 1)]),
            (50778, short, [21]),
        ]
        sub = [
            (254, long_, [0]),
            (256, long_, [rw]),
            (257, long_, [rh]),
            (258, short, [16]),
            (259, short, [1]),
            (262, short, [32803]),
            (273, long_, [raw_at]),
            (277, short, [1]),
            (278, long_, [rh]),
            (279, long_, [len(mosaic)]),
            (284, short, [1]),
            (33421, short, [2, 2]),
            (33422, byte, [0, 1, 1, 2]),
            (50717, long_, [4095]),
        ]
        first = pack_ifd(ifd0, 8)
        return first, pack_ifd(sub, 8 + len(first))

    first, sub = build(0, 0, 0)
    sub_at = 8 + len(first)
    jpeg_at = sub_at + len(sub)
    first, sub = build(jpeg_at, jpeg_at + len(jpeg), sub_at)
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + first + sub + jpeg + mosaic)


def _save_heif(img: Image.Image, path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason="the [heif] extra is not installed")
    pillow_heif.register_heif_opener()
    img.save(path, quality=90)


def _save_avif(img: Image.Image, path: Path) -> None:
    from PIL import features

    if not features.check("avif"):
        pillow_heif = pytest.importorskip("pillow_heif")
        if not hasattr(pillow_heif, "register_avif_opener"):
            pytest.skip("neither Pillow nor pillow-heif here can write AVIF")
        pillow_heif.register_avif_opener()
    img.save(path, quality=90)


def _save_gif_first_frame(img: Image.Image, path: Path) -> None:
    other = synthetic_photo(999, img.size)
    img.save(path, save_all=True, append_images=[other], duration=100, loop=0)


WRITERS = {
    "jpg": lambda img, p: img.save(p, quality=85),
    "png": lambda img, p: img.save(p),
    "webp": lambda img, p: img.save(p, quality=85),
    "bmp": lambda img, p: img.save(p),
    "tiff": lambda img, p: img.save(p, compression="tiff_lzw"),
    "gif": _save_gif_first_frame,
    "heic": _save_heif,
    "avif": _save_avif,
    "dng": lambda img, p: write_dng(p, img),
}


@pytest.mark.parametrize("ext", list(WRITERS))
def test_each_format_is_hashed_and_found_as_a_duplicate(imgdupes, tmp_path, ext):
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(11, (400, 300))
    img.save(root / "reference.png")
    synthetic_photo(12, (400, 300)).save(root / "unrelated.png")
    WRITERS[ext](img, root / f"copy.{ext}")
    res = imgdupes(str(root), "phash", "6")
    assert res.code == 0
    assert res.err == ""
    assert sorted(sorted(s) for s in res.sets) == [
        sorted([str(root / f"copy.{ext}"), str(root / "reference.png")])
    ]


def test_raw_without_rawpy_uses_the_embedded_jpeg(tmp_path):
    img = synthetic_photo(13, (400, 300))
    write_dng(tmp_path / "shot.dng", img)
    with open(tmp_path / "shot.dng", "rb") as fh:
        offset = decode_mod._largest_embedded_jpeg_offset(fh)
        assert offset is not None
        fh.seek(offset)
        data = fh.read()
    with Image.open(io.BytesIO(data)) as preview:
        assert preview.size == (400, 300)
        assert (
            hashes.hamming(
                hashes.pack(hashes.phash(preview.convert("L"), 8)),
                hashes.pack(hashes.phash(img.convert("L"), 8)),
            )
            <= 2
        )


def test_png_modes_sixteen_bit_palette_and_transparency(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    base = synthetic_photo(21, (320, 240))
    gray = base.convert("L")
    gray.save(root / "gray8.png")
    wide = np.asarray(gray, dtype=np.uint16) * 257
    Image.fromarray(wide).save(root / "gray16.png")
    with Image.open(root / "gray16.png") as check:
        assert check.mode.startswith("I")
    base.quantize(256).save(root / "palette.png")

    # a picture with a transparent border: the hidden colour under alpha=0
    # must not matter, and it equals the picture flattened on the fixed background
    alpha = np.zeros((240, 320), dtype=np.uint8)
    alpha[40:200, 50:270] = 255
    for name, hidden in (("alpha_red", (255, 0, 0)), ("alpha_blue", (0, 0, 255))):
        under = Image.new("RGB", base.size, hidden)
        under.paste(base, mask=Image.fromarray(alpha))
        rgba = under.copy()
        rgba.putalpha(Image.fromarray(alpha))
        rgba.save(root / f"{name}.png")
    flat = Image.new("RGB", base.size, decode_mod.TRANSPARENT_BACKGROUND)
    flat.paste(base, mask=Image.fromarray(alpha))
    flat.save(root / "flattened.jpg", quality=95)

    res = imgdupes(str(root), "phash", "4")
    assert res.code == 0 and res.err == ""
    got = sorted(sorted(os.path.basename(p) for p in s) for s in res.sets)
    assert got == [
        ["alpha_blue.png", "alpha_red.png", "flattened.jpg"],
        ["gray16.png", "gray8.png", "palette.png"],
    ]


@pytest.mark.parametrize("method", ["ahash", "phash", "dhash", "whash"])
def test_full_decode_is_bit_identical_to_imagehash(tmp_path, method):
    reference = {
        "ahash": imagehash.average_hash,
        "phash": imagehash.phash,
        "dhash": imagehash.dhash,
        "whash": imagehash.whash,
    }[method]
    spec = HashSpec((method,), 64, full_decode=True)
    for n, (ext, size) in enumerate(
        (("jpg", (1600, 1200)), ("png", (640, 480)), ("webp", (500, 333)), ("gif", (300, 200)))
    ):
        path = tmp_path / f"p{n}.{ext}"
        synthetic_photo(30 + n, size).save(path)
        ok, payload, w, h = hash_path(str(path), spec)
        assert ok and (w, h) == size
        with Image.open(path) as im:
            expected = str(reference(im))
        assert hashes.to_hex(payload[method], 64) == expected, path.name


def test_fast_path_whash_uses_the_original_size(tmp_path):
    path = tmp_path / "big.jpg"
    synthetic_photo(41, (3000, 2000)).save(path, quality=90)
    fast = HashSpec(("whash",), 64, full_decode=False)
    reduced = decode_mod.decode(str(path), fast.reduce_to)
    assert max(reduced.gray.size) < 1000  # the JPEG was decoded at a reduced scale
    assert (reduced.width, reduced.height) == (3000, 2000)
    ok, payload, _, _ = hash_path(str(path), fast)
    with Image.open(path) as im:
        full = imagehash.whash(im)  # working size 1024, from the 2000 px side
    assert ok
    assert hashes.hamming(payload["whash"], hashes.from_hex(str(full), 64)) <= 2
    # the same reduced picture hashed at its own size drifts further
    small_scale = hashes.pack(hashes.whash(reduced.gray, 8, reduced.gray.size))
    assert hashes.hamming(payload["whash"], hashes.from_hex(str(full), 64)) <= hashes.hamming(
        small_scale, hashes.from_hex(str(full), 64)
    )


# --- hostile files --------------------------------------------------------------------------


def _png_bomb(path: Path, side: int = 20000) -> None:
    """A tiny file that claims 20000 x 20000 pixels (400 MP)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (side + 1) * 4)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_hostile_files_get_one_warning_each_and_the_run_goes_on(imgdupes, tmp_path):
    root = tmp_path / "pics"
    root.mkdir()
    img = synthetic_photo(51, (400, 300))
    img.save(root / "good.jpg", quality=90)
    img.save(root / "good_copy.png")
    _png_bomb(root / "bomb.png")
    img.save(root / "whole.jpg", quality=90)
    data = (root / "whole.jpg").read_bytes()
    (root / "whole.jpg").unlink()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_text("not a picture at all")
    bad_name = os.fsdecode(b"broken-\xff\xfe.jpg")
    with open(os.path.join(root, bad_name), "wb") as fh:
        fh.write(b"\xff\xd8\xff\xe0 not really a jpeg")
    odd_good = os.fsdecode(b"caf\xe9.jpg")
    img.save(os.path.join(root, odd_good), quality=80)

    res = imgdupes(str(root), "phash", "4")
    assert res.code == 0
    lines = res.err.splitlines()
    assert len(lines) == 5, res.err
    by_file = {
        name: [ln for ln in lines if name in ln]
        for name in ("bomb.png", "truncated.jpg", "empty.jpg", "text.png", "broken-")
    }
    assert all(len(v) == 1 for v in by_file.values()), by_file
    assert "decompression bomb" in by_file["bomb.png"][0]
    assert "truncated" in by_file["truncated.jpg"][0]
    assert "empty" in by_file["empty.jpg"][0]
    assert [sorted(s) for s in res.sets] == [
        sorted([str(root / "good.jpg"), str(root / "good_copy.png"), os.path.join(root, odd_good)])
    ]


def test_a_file_that_vanishes_before_hashing_is_one_error(tmp_path):
    for n in range(3):
        synthetic_photo(60 + n, (200, 150)).save(tmp_path / f"p{n}.jpg")
    found = discover([str(tmp_path)])
    os.unlink(tmp_path / "p1.jpg")
    rows, errors = hash_files(found.files, HashSpec(("phash",), 64, False), num_proc=1)
    assert [os.path.basename(r[0].path) for r in rows] == ["p0.jpg", "p2.jpg"]
    assert len(errors) == 1 and errors[0].path.endswith("p1.jpg")
    assert "vanished" in errors[0].error


def test_permission_denied_is_one_warning(imgdupes, tmp_path):
    """As root, mode 000 does not stop reading; the check then runs in a forked
    child that has dropped to an unprivileged user."""
    from imgdupes import cli

    folder = tempfile.mkdtemp(prefix="imgdupes-perm-")
    try:
        os.chmod(folder, 0o755)
        img = synthetic_photo(70, (200, 150))
        for name in ("a.jpg", "b.png", "secret.jpg"):
            img.save(os.path.join(folder, name))
            os.chmod(os.path.join(folder, name), 0o644)
        os.chmod(os.path.join(folder, "secret.jpg"), 0)
        argv = ["--no-cache", "--num-proc", "1", folder, "phash", "4"]
        if os.geteuid() != 0:
            res = imgdupes(*argv)
            code, out, err = res.code, res.out, res.err
        else:
            # The unprivileged child cannot import from root's interpreter
            # folder: a first run here loads every module the run needs.
            assert imgdupes(*argv).err == ""
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: drop privileges, run, report through the pipe
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    o, e = io.StringIO(), io.StringIO()
                    c = cli.main(argv, stdin=io.StringIO(""), stdout=o, stderr=e)
                    os.write(write_end, f"{c}\0{o.getvalue()}\0{e.getvalue()}".encode())
                except BaseException as exc:  # report it to the parent, never run on
                    os.write(write_end, f"99\0\0child failed: {exc!r}".encode())
                finally:
                    os._exit(0)
            os.close(write_end)
            with os.fdopen(read_end, "rb") as fh:
                payload = fh.read().decode()
            os.waitpid(pid, 0)
            code_s, out, err = payload.split("\0")
            code = int(code_s)
        assert code == 0
        assert err.count("\n") == 1 and "secret.jpg" in err and "permission denied" in err
        assert sorted(out.strip().split("\n")) == [
            os.path.join(folder, "a.jpg"),
            os.path.join(folder, "b.png"),
        ]
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


# --- the fast path's JPEG decoder ----------------------------------------------------------


def _jpeg_kinds(folder: Path, size: tuple[int, int]) -> dict[str, Path]:
    img = synthetic_photo(80, size)
    out = {}
    for name, kw in {
        "baseline420": {"quality": 85},
        "444": {"quality": 90, "subsampling": 0},
        "progressive": {"quality": 85, "progressive": True},
    }.items():
        out[name] = folder / f"{name}_{size[0]}.jpg"
        img.save(out[name], **kw)
    out["gray"] = folder / f"gray_{size[0]}.jpg"
    img.convert("L").save(out["gray"], quality=85)
    exif = img.getexif()
    exif[0x0112] = 1
    out["exif_upright"] = folder / f"upright_{size[0]}.jpg"
    img.save(out["exif_upright"], quality=85, exif=exif)
    exif[0x0112] = 6
    out["rotated"] = folder / f"rotated_{size[0]}.jpg"
    img.save(out["rotated"], quality=85, exif=exif)
    out["cmyk"] = folder / f"cmyk_{size[0]}.jpg"
    img.convert("CMYK").save(out["cmyk"], quality=85)
    return out


# 96x72 and 256x192: decoded whole; 1024x768 and 2400x1800: at 1/2 and 1/4 (draft)
@pytest.mark.parametrize("size", [(96, 72), (256, 192), (1024, 768), (2400, 1800)])
def test_fast_jpeg_decode_gives_pillows_pixels(tmp_path, size):
    """simplejpeg (where it takes a file) and Pillow's draft decode give the same
    pixels; EXIF-turned and CMYK files go through Pillow, which turns and converts."""
    pytest.importorskip("simplejpeg")
    for kind, path in _jpeg_kinds(tmp_path, size).items():
        want = decode_mod.decode(str(path), 256)
        got = decode_mod.decode_pixels(str(path), 256)
        fast = decode_mod._simplejpeg_decode(path.read_bytes(), 256) is not None
        assert fast == (kind not in ("rotated", "cmyk")), kind
        assert (got.width, got.height) == (want.width, want.height), kind
        assert np.array_equal(got.color, np.asarray(want.color)), kind
        gray = got.gray if got.gray is not None else thumbs.luma(got.color)
        assert np.array_equal(gray, np.asarray(want.gray)), kind
    rotated = decode_mod.decode_pixels(str(tmp_path / f"rotated_{size[0]}.jpg"), 256)
    assert (rotated.width, rotated.height) == (size[1], size[0])
    if size == (2400, 1800):  # a file this big has its turn found by walking its headers
        assert (tmp_path / "rotated_2400.jpg").stat().st_size > decode_mod._FIND_APP1_BYTES


def test_fast_jpeg_decode_refuses_what_pillow_refuses(tmp_path, monkeypatch):
    """A truncated or corrupt JPEG gives the same one-line error either way, and
    without simplejpeg the same pictures come out of Pillow."""
    paths = _jpeg_kinds(tmp_path, (96, 72))
    data = paths["baseline420"].read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "corrupt.jpg").write_bytes(data[:300] + b"\xff\xd9" + bytes(200))
    (tmp_path / "noise.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2)
    for name in ("truncated.jpg", "corrupt.jpg", "noise.jpg"):
        path = str(tmp_path / name)
        with pytest.raises(decode_mod.DecodeError) as pillow:
            decode_mod.decode(path, 256)
        with pytest.raises(decode_mod.DecodeError) as ours:
            decode_mod.decode_pixels(path, 256)
        assert str(ours.value) == str(pillow.value)
        assert "\n" not in str(ours.value)
    with_it = decode_mod.decode_pixels(str(paths["baseline420"]), 256)
    monkeypatch.setattr(decode_mod, "_simplejpeg", False)  # as if it were not installed
    without = decode_mod.decode_pixels(str(paths["baseline420"]), 256)
    assert np.array_equal(with_it.color, without.color)
    assert without.gray is not None
