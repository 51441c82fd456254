"""Peak memory of one hashing worker on huge images (issue #12).

Writes the issue's cases to a temporary folder, then hashes each one in a
fresh process (the fast path, as a worker does) and prints its peak RSS
(``VmHWM`` from /proc/self/status) and what it said.  Run: ``python3 benchmarks/decode_memory.py``.

Cases: a 16-bit 13000x13000 PNG (about 360 KB on disk), a lossless
12000x12000 WebP (a few KB), a 3 GB sparse ``.nef``, and an 8-bit
13000x13000 PNG.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SRC = str(Path(__file__).resolve().parent.parent / "src")

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from imgdupes.hasher import HashSpec, hash_path
ok, outcome, w, h = hash_path(sys.argv[2], HashSpec(("phash",), 64, full_decode=False))
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork+exec)
status = open("/proc/self/status").read()
peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
print(f"{peak:.0f}\t{ok}\t{w}x{h}\t{outcome if not ok else ''}")
"""


def _gradient(side: int, dtype) -> np.ndarray:
    # Smooth content compresses to almost nothing, like the files.
    row = np.linspace(0, np.iinfo(dtype).max, side).astype(dtype)
    return np.broadcast_to(row, (side, side))


def make_cases(folder: Path) -> dict[str, Path]:
    cases = {}
    p = folder / "png16_13000.png"
    Image.fromarray(np.ascontiguousarray(_gradient(13000, np.uint16))).save(p)
    cases["16-bit PNG 13000x13000"] = p
    p = folder / "png8_13000.png"
    Image.fromarray(np.ascontiguousarray(_gradient(13000, np.uint8))).convert("RGB").save(p)
    cases["8-bit RGB PNG 13000x13000"] = p
    p = folder / "webp_12000.webp"
    Image.new("RGB", (12000, 12000), (40, 90, 160)).save(p, lossless=True)
    cases["lossless WebP 12000x12000"] = p
    p = folder / "sparse.nef"
    with open(p, "wb") as fh:
        fh.truncate(3 << 30)
    cases["3 GB sparse .nef"] = p
    return cases


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cases = make_cases(Path(tmp))
        print("case\tfile KB\tpeak RSS MB\tok\tsize\tmessage")
        for name, path in cases.items():
            kb = os.stat(path).st_blocks * 512 / 1024
            out = subprocess.run(
                [sys.executable, "-c", CHILD, SRC, str(path)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            line = out.stdout.strip() or f"-\tcrashed: {out.stderr.strip()[-200:]}"
            print(f"{name}\t{kb:.0f}\t{line}")


if __name__ == "__main__":
    main()
