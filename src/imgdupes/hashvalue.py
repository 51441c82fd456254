"""Hashes as values, and the names they are stored under.

A hash travels as packed bytes (ImageHash's bit order, first bit the high
bit of byte 0) in arrays and dicts, so that millions of them cost no Python
object each.  :class:`HashValue` wraps one for the places where a person or
a caller meets it (ImageHash's value object is the model: ``a - b`` is the
Hamming distance, ``str()`` the hex ImageHash prints).  :class:`HashKey`
names a hash by method and form; its ``name`` (``phash``, ``phash@tone``,
``phash@rot90``, ``phash@inner``) is the text the hash store, the hashing workers and the
arrays use, built and parsed here only.

This module sits at the bottom of the package: it imports none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# --- forms ------------------------------------------------------------------------------------

PLAIN = ""  # the picture as shot
TONE = "tone"  # its tone-normalised version (the ranks of its pixels; DCT methods only)
# --rotations: the seven other orientations of the square's symmetry group
TURNS = ("rot90", "rot180", "rot270", "mirror", "flip", "transpose", "transverse")
# Regions of the upright picture (extra candidates; the DCT methods, as the tone form):
INNER = "inner"  # less a uniform border (letterbox, frame), then less 5% of each side
UPPER = "upper"  # the top 80%: what a caption band over the bottom leaves alone
REGIONS = (INNER, UPPER)
# Low-detail pictures' texture hashes, whole and inner (extra candidates of
# their own radius, see imgdupes.lowdetail; zeros for other pictures):
TEXTURES = ("texture", "texture_inner")
FORMS = (PLAIN, TONE, *TURNS, *REGIONS, *TEXTURES)
TONE_METHODS = ("phash", "phash_org")  # the methods that also get a tone form and regions


@dataclass(frozen=True, slots=True)
class HashKey:
    """Which hash: a method in one form of the picture."""

    method: str
    form: str = PLAIN

    @property
    def name(self) -> str:
        """The stored name: ``method``, or ``method@form`` for a form other than plain."""
        return _name(self.method, self.form)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def parse(cls, name: str) -> HashKey:
        method, at, form = name.partition("@")
        if not method or (at and form not in FORMS[1:]):
            raise ValueError(f"not a hash name: {name!r}")
        return cls(method, form)


@lru_cache(maxsize=256)
def _name(method: str, form: str) -> str:
    # one string per key, shared by every dict and array that uses it
    return f"{method}@{form}" if form else method


def key_name(method: str, form: str = PLAIN) -> str:
    """``HashKey(method, form).name``."""
    return _name(method, form)


Named = tuple[tuple[str, str], ...]  # (form, name) pairs
Forms = tuple[str | None, Named, Named]


@lru_cache(maxsize=256)
def forms_among(names: tuple[str, ...], method: str) -> Forms:
    """Among stored ``names``, ``method``'s tone name (None: absent), its
    turned ones and its regions' (in :data:`REGIONS` order) as (form, name).
    Remembered: a scan asks once per file, and its files hold the same few names."""
    tone = None
    turned = []
    regions = []
    for name in names:
        key = HashKey.parse(name)
        if key.method != method or not key.form:
            continue
        if key.form == TONE:
            tone = name
        elif key.form in REGIONS:
            regions.append((key.form, name))
        elif key.form in TEXTURES:
            continue  # read by name, as matrices (see imgdupes.group.texture_labels)
        else:
            turned.append((key.form, name))
    regions.sort(key=lambda pair: REGIONS.index(pair[0]))
    return tone, tuple(turned), tuple(regions)


def region_names(methods: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the region hashes of ``methods`` (DCT methods only), then their texture hashes'."""
    regions = [key_name(m, r) for m in methods if m in TONE_METHODS for r in REGIONS]
    return regions + texture_names(methods)


def texture_names(methods: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the texture hashes of ``methods`` (DCT methods only), in
    :data:`TEXTURES` order per method."""
    return [key_name(m, r) for m in methods if m in TONE_METHODS for r in TEXTURES]


def names_for(
    methods: tuple[str, ...] | list[str], tones: bool, turns: bool, regions: bool = False
) -> tuple[str, ...]:
    """Names of the plain hashes of ``methods``, then their tone forms
    (``tones``: DCT methods only), their regions' (``regions``: the same
    methods), then their turned forms (``turns``)."""
    out = [key_name(m) for m in methods]
    if tones:
        out += [key_name(m, TONE) for m in methods if m in TONE_METHODS]
    if regions:
        out += region_names(methods)
    if turns:
        out += [key_name(m, t) for m in methods for t in TURNS]
    return tuple(out)


# --- packed bits ------------------------------------------------------------------------------


def nbytes_for_bits(nbits: int) -> int:
    return (nbits + 7) // 8


def to_hex(packed: bytes, nbits: int) -> str:
    """The hex string ImageHash prints for the same bits (``str(ImageHash)``)."""
    value = int.from_bytes(packed, "big") >> (len(packed) * 8 - nbits)
    return format(value, f"0{(nbits + 3) // 4}x")


def from_hex(text: str, nbits: int | None = None) -> bytes:
    """Inverse of :func:`to_hex`; ``nbits`` defaults to four bits per hex digit."""
    text = text.strip().lower()
    if not text:
        raise ValueError("empty hash")
    value = int(text, 16)
    if nbits is None:
        nbits = 4 * len(text)
    if value >> nbits:
        raise ValueError(f"hash {text!r} has more than {nbits} bits")
    nbytes = nbytes_for_bits(nbits)
    return (value << (nbytes * 8 - nbits)).to_bytes(nbytes, "big")


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


@dataclass(frozen=True, slots=True)
class HashValue:
    """One hash: ``nbits`` bits packed in ``packed``, computed by ``method``.

    ``a - b`` is the Hamming distance and ``str(a)`` the hex ImageHash
    prints; :meth:`from_hex` reads that hex back, as ``imagehash.hex_to_hash``
    does.  Values are equal when their method and bits are."""

    packed: bytes
    nbits: int
    method: str = ""

    def __post_init__(self) -> None:
        if len(self.packed) != nbytes_for_bits(self.nbits):
            raise ValueError(f"{len(self.packed)} bytes do not hold {self.nbits} bits")

    def __sub__(self, other: HashValue) -> int:
        if not isinstance(other, HashValue):
            return NotImplemented
        if other.nbits != self.nbits:
            raise TypeError(f"hashes of {self.nbits} and {other.nbits} bits cannot be compared")
        return hamming(self.packed, other.packed)

    def __len__(self) -> int:
        return self.nbits

    def __str__(self) -> str:
        return to_hex(self.packed, self.nbits)

    def __repr__(self) -> str:
        return f"HashValue({self.method or '?'}:{self})"

    @classmethod
    def from_hex(cls, text: str, method: str = "", nbits: int | None = None) -> HashValue:
        text = text.strip()
        bits = 4 * len(text) if nbits is None else nbits
        return cls(from_hex(text, bits), bits, method)

    @property
    def bits(self) -> np.ndarray:
        """The bits as booleans, in ImageHash's order (a flat array)."""
        return np.unpackbits(np.frombuffer(self.packed, dtype=np.uint8))[: self.nbits].astype(bool)
