"""imgdupes: find near-duplicate images by perceptual hash and remove them safely."""

from __future__ import annotations

__version__ = "0.2.0"

from .api import Found, find_duplicates  # noqa: E402
from .config import Config  # noqa: E402
from .errors import ConfigError, ImgdupesError, RunError  # noqa: E402
from .model import DupSet, SetEntry  # noqa: E402
from .options import (  # noqa: E402
    ActOptions,
    DiscoverOptions,
    HashOptions,
    ImgcatOptions,
    ReportOptions,
    SearchOptions,
)

__all__ = [
    "find_duplicates",
    "Found",
    "Config",
    "DiscoverOptions",
    "HashOptions",
    "SearchOptions",
    "ActOptions",
    "ReportOptions",
    "ImgcatOptions",
    "ImgdupesError",
    "ConfigError",
    "RunError",
    "DupSet",
    "SetEntry",
    "__version__",
]
