"""Two misbehaving image decoders, loaded into the test cluster's workers (Dask preload).

Real Pillow plugins, registered for made-up formats no other plugin accepts:

* ``KILLME...``: opening it ends the process (``os._exit``), as a crashing
  native decoder would; every worker the nanny restarts has it again.
* ``RAISEME...``: opening it raises an exception no decoder should (a bug in
  a plugin), on every attempt;
* ``SLOWME`` + a JSON line + raw 8-bit gray pixels: decodes to that picture
  after writing ``started-<pid>`` into the JSON's ``marker_dir`` and sleeping
  ``sleep`` seconds, so a test knows which worker to kill while it works.

The test process itself never loads this file (test_cluster.py writes such files).
"""

from __future__ import annotations

import json
import os
import time

from PIL import Image, ImageFile

KILL = b"KILLME"
RAISE = b"RAISEM"
SLOW = b"SLOWME"


class KillingImageFile(ImageFile.ImageFile):
    format = "KILLTEST"
    format_description = "kills the process that opens it"

    def _open(self) -> None:
        os._exit(3)


class RaisingImageFile(ImageFile.ImageFile):
    format = "RAISETEST"
    format_description = "a decoder with a bug"

    def _open(self) -> None:
        raise RuntimeError("a bug in a decoder plugin")


class SlowImageFile(ImageFile.ImageFile):
    format = "SLOWTEST"
    format_description = "raw gray pixels, decoded slowly"

    def _open(self) -> None:
        self.fp.read(len(SLOW))
        line = self.fp.readline()
        meta = json.loads(line)
        marker = os.path.join(meta["marker_dir"], f"started-{os.getpid()}")
        with open(marker, "a") as fh:
            fh.write("x")
        time.sleep(meta["sleep"])
        w, h = meta["w"], meta["h"]
        self._mode = "L"
        self._size = (w, h)
        self.tile = [("raw", (0, 0, w, h), len(SLOW) + len(line), ("L", 0, 1))]


Image.register_open(KillingImageFile.format, KillingImageFile, lambda head: head[:6] == KILL)
Image.register_open(RaisingImageFile.format, RaisingImageFile, lambda head: head[:6] == RAISE)
Image.register_open(SlowImageFile.format, SlowImageFile, lambda head: head[:6] == SLOW)
