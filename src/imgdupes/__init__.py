"""imgdupes: find near-duplicate images by perceptual hash and remove them safely."""

from __future__ import annotations

__version__ = "0.2.0"

from .api import find_duplicates  # noqa: E402
from .model import DupSet, SetEntry  # noqa: E402

__all__ = ["find_duplicates", "DupSet", "SetEntry", "__version__"]
