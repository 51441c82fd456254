"""Does resample.py pay?  Its batched shrink against Pillow's own resizes.

    python benchmarks/resample_speed.py [--batch 64] [--rounds 5]

For stacks of same-size grey pictures (the sizes the fast path decodes to:
96x72 thumbnails, 384x256 and 512x384 drafts), times the three hash
resizes (8x8, 9x8, 32x32) done by :func:`imgdupes.resample.shrink_batch`
(one BLAS thread, as in the workers) and by Pillow's ``Image.resize``
(LANCZOS) picture by picture, and counts the pixels where the two differ.
Best of ``--rounds``, microseconds per picture.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from imgdupes import resample  # noqa: E402
from imgdupes.hasher import _one_blas_thread  # noqa: E402

LANCZOS = Image.Resampling.LANCZOS
SIZES = [(8, 8), (9, 8), (32, 32)]


def pictures(shape: tuple[int, int], count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        small = Image.fromarray(rng.integers(0, 256, (9, 12), dtype=np.uint8))
        out.append(np.asarray(small.resize(shape[::-1], Image.Resampling.BILINEAR)))
    return out


def best(action, rounds: int, count: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) / count * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64, help="pictures per stack (a chunk: 64)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with _one_blas_thread():
        for shape in [(72, 96), (256, 384), (384, 512)]:
            arrays = pictures(shape, args.batch, shape[0])
            stack = np.stack(arrays)
            images = [Image.fromarray(a) for a in arrays]
            ours = best(
                lambda stack=stack: resample.shrink_batch(stack, SIZES), args.rounds, args.batch
            )
            pillow = best(
                lambda images=images: [
                    [np.asarray(i.resize(s, LANCZOS)) for s in SIZES] for i in images
                ],
                args.rounds,
                args.batch,
            )
            got = resample.shrink_batch(stack, SIZES)[0]
            want = [np.stack([np.asarray(im.resize(s, LANCZOS)) for im in images]) for s in SIZES]
            differ = sum(int((g != w).sum()) for g, w in zip(got, want, strict=True))
            total = sum(w.size for w in want)
            print(
                f"  {shape[1]}x{shape[0]}: shrink_batch {ours:7.1f} us/picture,"
                f" Pillow resize x3 {pillow:7.1f} ({pillow / ours:.1f}x);"
                f" {differ} of {total} pixels differ"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
