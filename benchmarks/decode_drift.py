"""How far the fast decoding path's hashes are from full-decode (ImageHash) hashes.

    python benchmarks/decode_drift.py [--count 40] [--bits 64] [--photos DIR]

For each method it prints how many photos get the identical hash on both
paths and the mean / largest Hamming distance between them.  Photos are
generated in a temporary folder (see _photos.py) unless --photos names a
folder of your own JPEGs (read only).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

from _photos import make_photos  # noqa: E402

from imgdupes import hashes  # noqa: E402
from imgdupes.decode import decode  # noqa: E402
from imgdupes.hasher import HashSpec  # noqa: E402
from imgdupes.model import HASH_METHODS  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--photos", default=None)
    p.add_argument("--reduce-to", type=int, default=None, help="override the fast path's size")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="imgdupes-drift-") as tmp:
        if args.photos:
            paths = sorted(glob.glob(os.path.join(args.photos, "*.jp*g")))[: args.count]
        else:
            t = time.perf_counter()
            paths = make_photos(tmp, args.count)
            print(f"generated {len(paths)} photos in {time.perf_counter() - t:.0f} s")
        fast = HashSpec(HASH_METHODS, args.bits, full_decode=False)
        size = fast.hash_size
        reduce_to = args.reduce_to or fast.reduce_to
        dist: dict[str, list[int]] = {m: [] for m in (*HASH_METHODS, "whash (upsampled)")}
        for path in paths:
            full_img = decode(path, None)
            fast_img = decode(path, reduce_to)
            a = hashes.compute_all(
                HASH_METHODS, full_img.gray, size, (full_img.width, full_img.height)
            )
            orig = (fast_img.width, fast_img.height)
            b = hashes.compute_all(HASH_METHODS, fast_img.gray, size, orig, exact=False)
            # for reference: ImageHash's own whash on the reduced decode
            b["whash (upsampled)"] = hashes.whash(fast_img.gray, size, orig)
            a["whash (upsampled)"] = a["whash"]
            for m in dist:
                dist[m].append(int((a[m] != b[m]).sum()))
        print(f"{len(paths)} photos, {args.bits} bits, fast path decodes to >= {reduce_to} px")
        print(f"{'method':<18} {'identical':>10} {'mean':>6} {'max':>4}  distances")
        for m, d in dist.items():
            same = sum(1 for x in d if x == 0)
            hist = {k: d.count(k) for k in sorted(set(d))}
            print(f"{m:<18} {same:>4}/{len(d):<5} {sum(d) / len(d):>6.2f} {max(d):>4}  {hist}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
