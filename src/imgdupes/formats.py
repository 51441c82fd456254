"""What the file formats look like: the facts discovery and decoding both need.

Discovery picks images by these (an extension, a HEIF brand in the first
bytes); decoding chooses its reader by the same ones, so the two cannot
disagree about what a file is.
"""

from __future__ import annotations

# camera RAW: decoded through LibRaw, or hashed through their embedded preview
RAW_EXTENSIONS = frozenset(
    ".dng .cr2 .cr3 .crw .nef .nrw .arw .srf .sr2 .orf .rw2 .raf .pef .srw .x3f .3fr .iiq"
    " .erf .kdc .mrw .rwl".split()
)

# ISO base media files (``....ftyp<brand>``) holding HEIF or AVIF pictures
HEIF_BRANDS = frozenset(
    (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
)


def is_heif(head: bytes) -> bool:
    """True when a file's first 12 bytes name a HEIF/AVIF brand."""
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS
