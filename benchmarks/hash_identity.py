"""Every hash bit, signature byte and region hash of this checkout against another's.

    python benchmarks/hash_identity.py --against OTHER/src [--count 1500] [--bits 64,256]

Writes ``--count`` pictures to a temporary folder (22 sizes from 64x64 to
2048x1536, tall and wide; noise, gradients with shapes, bordered, nearly flat;
baseline, progressive, 4:4:4, grayscale and CMYK JPEGs and PNGs), hashes them
with the fast path (``hasher.hash_chunk``, chunks of 64) with this checkout's
``src`` and with ``--against``, each in its own process, and prints the files
whose results differ, key by key.  A change meant to leave the hashes alone
(speed work) should print "identical" for every hash size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")

SIZES = (
    [(96, 72)] * 6
    + [(256, 192)] * 3
    + [
        (72, 96),
        (64, 64),
        (128, 96),
        (300, 300),
        (640, 480),
        (1024, 768),
        (2048, 1536),
        (100, 300),
        (500, 333),
        (333, 500),
        (1200, 900),
        (257, 255),
    ]
)


def _picture(rng: np.random.Generator, w: int, h: int, kind: int) -> Image.Image:
    if kind == 0:  # blurred blocks, as benchmarks/throughput.py's
        small = rng.integers(0, 256, size=(9, 12, 3), dtype=np.uint8)
        return Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    if kind == 1:  # gradients and shapes
        y, x = np.mgrid[0:h, 0:w]
        a = (x * 255 // max(1, w - 1)).astype(np.uint8)
        b = (y * 255 // max(1, h - 1)).astype(np.uint8)
        img = Image.fromarray(np.stack([a, a[:, ::-1], b], axis=2))
        draw = ImageDraw.Draw(img)
        for _ in range(5):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            draw.ellipse([x0, y0, x0 + w // 4, y0 + h // 4], fill=fill)
        return img
    if kind == 2:  # a white border around a picture
        inner = _picture(rng, max(4, w * 3 // 4), max(4, h * 3 // 4), 0)
        img = Image.new("RGB", (w, h), (255, 255, 255))
        img.paste(inner, ((w - inner.size[0]) // 2, (h - inner.size[1]) // 3))
        return img
    if kind == 3:  # nearly flat
        base = rng.integers(0, 256, 3)
        return Image.fromarray(np.clip(base + rng.normal(0, 2, (h, w, 3)), 0, 255).astype(np.uint8))
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def make_corpus(root: str, count: int) -> None:
    rng = np.random.default_rng(7)
    for i in range(count):
        w, h = SIZES[i % len(SIZES)]
        img = _picture(rng, w, h, int(rng.integers(0, 5)))
        path = os.path.join(root, f"f{i:05d}")
        kind = i % 13
        if kind == 1:
            img.convert("L").save(path + ".jpg", quality=90)
        elif kind == 2:
            img.save(path + ".jpg", quality=80, progressive=True)
        elif kind == 3:
            img.save(path + ".png")
        elif kind == 4:
            img.convert("CMYK").save(path + ".jpg", quality=85)
        elif kind == 5:
            img.save(path + ".jpg", quality=70, subsampling=0)
        else:
            img.save(path + ".jpg", quality=85)


def dump(folder: str, bits: int, out: str) -> None:
    """Runs in a child whose ``sys.path`` starts with the ``src`` measured."""
    from imgdupes.hasher import HashSpec, _one_blas_thread, hash_chunk

    paths = sorted(os.path.join(folder, n) for n in os.listdir(folder))
    spec = HashSpec(("phash",), bits, full_decode=False)
    got: dict[str, list[np.ndarray]] = {}
    with _one_blas_thread():
        for lo in range(0, len(paths), 64):
            chunk = hash_chunk(paths[lo : lo + 64], spec)
            for key, packed in chunk.hashes.items():
                got.setdefault("hash " + key, []).append(packed)
            got.setdefault("signature", []).append(chunk.signature)
            got.setdefault("ok", []).append(chunk.ok)
            got.setdefault("size", []).append(np.stack([chunk.width, chunk.height], axis=1))
    np.savez(out, **{key: np.concatenate(parts) for key, parts in got.items()})


def run_dump(src: str, folder: str, bits: int, out: str) -> dict[str, np.ndarray]:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
        "import hash_identity; hash_identity.dump(sys.argv[3], int(sys.argv[4]), sys.argv[5])"
    )
    cmd = [sys.executable, "-c", code, os.path.abspath(src), HERE, folder, str(bits), out]
    subprocess.run(cmd, check=True)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--against", required=True, help="another checkout's src folder")
    p.add_argument("--count", type=int, default=1500)
    p.add_argument("--bits", default="64,256")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgdupes-identity-") as tmp:
        folder = os.path.join(tmp, "pictures")
        os.mkdir(folder)
        make_corpus(folder, args.count)
        for bits in (int(b) for b in args.bits.split(",")):
            ours = run_dump(SRC, folder, bits, os.path.join(tmp, "ours.npz"))
            theirs = run_dump(args.against, folder, bits, os.path.join(tmp, "theirs.npz"))
            differ = []
            for key in sorted(set(ours) | set(theirs)):
                a, b = ours.get(key), theirs.get(key)
                if a is None or b is None or a.shape != b.shape:
                    differ.append(f"{key}: only one side has it, or shapes differ")
                    continue
                rows = np.flatnonzero((a != b).reshape(len(a), -1).any(axis=1))
                if len(rows):
                    differ.append(f"{key}: {len(rows)} files differ (rows {rows[:10].tolist()})")
            hashed = int(ours["ok"].sum())
            verdict = "identical" if not differ else f"{len(differ)} keys differ"
            print(f"{bits} bits, {args.count} files ({hashed} hashed), {len(ours)} keys: {verdict}")
            for line in differ:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
