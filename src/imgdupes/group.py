"""Grouping stage: links -> components -> ordered duplicate sets.

The one home of grouping: connected components (and the union-find they
are built on), the sets made of them, the order of sets and of the files in
a set, and the ranking of ``--query`` results.  The search and verification
stages find and confirm the links; this module never imports them (they
import it), so the pipeline hands it the search as a function.

The order never depends on the input order or on the engine: files inside a
set follow the ``--sort`` keys with the path as the last tie-break, and sets
are ordered by the smallest path they hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from . import hashes
from .columns import ImageTable, Signatures
from .hashvalue import PLAIN, REGIONS, TEXTURES, TONE
from .model import DupSet, HashedImage, SetEntry
from .sorts import dense_ranks, stable_order

SORT_KEYS = ("filesize", "filepath", "imagesize", "width", "height", "mtime", "none")

# --- union-find and connected components ------------------------------------------------------
#
# Small graphs use a plain union-find; big ones hook and jump pointers on
# arrays a block of edges at a time (scipy's csgraph would cost a quarter of a
# second to import and a sparse matrix of every edge).

_SMALL = 200_000  # edges; below this the pure-Python union-find wins
_EDGES_PER_STEP = 1 << 18  # ~12 MB of temporaries per step


def find_roots(parent: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The root of each of ``x`` in the forest ``parent`` (parent[r] == r at a root)."""
    r = parent[x]
    while True:
        up = parent[r]
        if np.array_equal(up, r):
            return r
        r = up


def join_into(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Merge the trees of a[k] and b[k] in the forest ``parent`` (every node's
    parent is no larger than the node): each root is hooked under the smallest
    root it must join, until no edge joins two trees."""
    while len(a):
        ra, rb = find_roots(parent, a), find_roots(parent, b)
        apart = ra != rb
        if not apart.any():
            return
        a, b, ra, rb = a[apart], b[apart], ra[apart], rb[apart]
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))


def flatten(parent: np.ndarray) -> None:
    """Point every node straight at its root (pointer jumping)."""
    while True:
        up = parent[parent]
        if np.array_equal(up, parent):
            return
        parent[:] = up


def _link_in_order(n: int, i: list[int], j: list[int]) -> tuple[np.ndarray, bytearray]:
    """A union-find taking the links (i[k], j[k]) in order: the forest it leaves
    (every node's parent no larger than the node) and which links it used."""
    parent = list(range(n))
    used = bytearray(len(i))

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for k, (a, b) in enumerate(zip(i, j, strict=True)):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            used[k] = 1
    return np.array(parent, dtype=np.int64), used


def forest_components(root: np.ndarray) -> np.ndarray:
    """Component id per node of a flattened forest (:func:`flatten`), in root order."""
    return dense_ranks(root, len(root))


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Component id (0..k-1) of each of ``n`` nodes; edges (i[k], j[k]).

    Ids are numbered in the order of each component's smallest node."""
    if len(i) > _SMALL:
        # Big graphs (a dense folder's millions of pairs): hooking and pointer
        # jumping a block of edges at a time, in arrays; no scipy import, and
        # no sparse matrix of every edge.
        root = np.arange(n, dtype=np.int64)
        for lo in range(0, len(i), _EDGES_PER_STEP):
            join_into(root, i[lo : lo + _EDGES_PER_STEP], j[lo : lo + _EDGES_PER_STEP])
            flatten(root)
        return forest_components(root)
    root = np.arange(n, dtype=np.int64)
    if len(i):
        # only the nodes a link touches can have another root: the union-find
        # runs on those alone (a million-file scan with a few sets walks a few)
        nodes, inverse = np.unique(np.concatenate([i, j]), return_inverse=True)
        inverse = inverse.reshape(-1)
        local, _ = _link_in_order(
            len(nodes), inverse[: len(i)].tolist(), inverse[len(i) :].tolist()
        )
        flatten(local)
        root[nodes] = nodes[local]
    return forest_components(root)


def spanning(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which of the links (a[k], b[k]) a union-find taking them in order would use."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    inverse = inverse.reshape(-1)
    _, used = _link_in_order(len(nodes), inverse[: len(a)].tolist(), inverse[len(a) :].tolist())
    return np.frombuffer(bytes(used), dtype=np.uint8).astype(bool)


def set_labels(comp: np.ndarray) -> np.ndarray:
    """Component id per node, -1 for a node alone in its component (in no set)."""
    if len(comp) == 0:
        return np.asarray(comp, dtype=np.int64)
    sizes = np.bincount(comp)
    return np.where(sizes[comp] >= 2, comp, -1)


def join_rows(n: int, owner: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Set label per item 0..n-1 whose rows (row k belongs to item ``owner[k]``)
    fell into sets ``label[k]`` (-1: none): items that share a set through any
    of their rows are one set."""
    keep = label >= 0
    top = int(label[keep].max()) + 1 if keep.any() else 0
    return set_labels(components(n + top, owner[keep], n + label[keep])[:n])


def union_labels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Labels of the components either labelling puts together (-1: alone)."""
    n = len(a)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(n, dtype=np.int64)
    shift = int(a.max()) + 1
    return join_rows(
        n, np.concatenate([rows, rows]), np.concatenate([a, np.where(b >= 0, b + shift, -1)])
    )


# --- order ------------------------------------------------------------------------------------


def parse_sort(spec: str | None) -> list[str]:
    """``--sort`` value -> list of keys; default (None) is the seed's filesize."""
    if spec is None or spec == "":
        return ["filesize"]
    keys = [k.strip() for k in spec.split(",") if k.strip()]
    bad = [k for k in keys if k not in SORT_KEYS]
    if bad or not keys:
        raise ValueError(
            f"invalid --sort key {', '.join(bad) or spec!r}; choose from {', '.join(SORT_KEYS)}"
        )
    return keys


def path_key(path: str) -> bytes:
    # Compare as bytes so names with undecodable bytes still sort stably.
    return path.encode("utf-8", "surrogateescape")


def sort_entries(entries: list[SetEntry], keys: Sequence[str], reverse: bool = False) -> None:
    """Sort in place: numeric keys largest first, paths ascending (the seed's meaning)."""

    def key(e: SetEntry):
        parts: list = []
        for k in keys:
            if k == "filesize":
                parts.append(-e.size)
            elif k == "filepath":
                parts.append(path_key(e.path))
            elif k == "imagesize":
                parts.append(-(e.width + e.height))
            elif k == "width":
                parts.append(-e.width)
            elif k == "height":
                parts.append(-e.height)
            elif k == "mtime":
                parts.append(-e.mtime_ns)
        parts.append(path_key(e.path))
        return tuple(parts)

    entries.sort(key=key, reverse=reverse)


def order_sets(sets: list[DupSet]) -> list[DupSet]:
    """Sets ordered by the smallest path they hold, whatever found them.

    Two sets can only share their smallest path when a hash table lists a
    path twice; those are ordered by all their paths, so that no input order
    shows through."""
    keys = [min(path_key(e.path) for e in s.entries) for s in sets]
    order = sorted(range(len(sets)), key=keys.__getitem__)
    at = 0
    while at < len(order):
        end = at + 1
        while end < len(order) and keys[order[end]] == keys[order[at]]:
            end += 1
        if end - at > 1:
            order[at:end] = sorted(
                order[at:end], key=lambda k: sorted(path_key(e.path) for e in sets[k].entries)
            )
        at = end
    sets[:] = [sets[k] for k in order]
    return sets


# --- sets -------------------------------------------------------------------------------------


def make_entry(h: HashedImage, nbits: int) -> SetEntry:
    return SetEntry(
        path=h.file.path,
        size=h.file.size,
        width=h.width,
        height=h.height,
        mtime_ns=h.file.mtime_ns,
        hash_hex=hashes.to_hex(h.hash, nbits),
        distance=0,
        file=h.file,
        hash=h.hash,
        tone=h.tone or b"",
        nbits=nbits,
    )


def row_entry(path: str, size: int, mtime_ns: int, packed: bytes, nbits: int) -> SetEntry:
    """The entry of a hash-table row (``--hashes-from``): no file, no pixel size."""
    return SetEntry(
        path=path,
        size=size,
        width=0,
        height=0,
        mtime_ns=mtime_ns,
        hash_hex=hashes.to_hex(packed, nbits),
        distance=0,
        hash=packed,
        nbits=nbits,
    )


def best_form_distance(a: SetEntry, b: SetEntry) -> int:
    """Hamming distance as shot or tone-normalised, whichever is smaller
    (plain distance when either file has no tone hash)."""
    d = hashes.hamming(a.hash, b.hash)
    if a.tone and b.tone:
        d = min(d, hashes.hamming(a.tone, b.tone))
    return d


def form_distance(a: SetEntry, b: SetEntry, tone: bool, turned: Sequence[bytes] = ()) -> int:
    """``b``'s distance from ``a`` in the form nearest to it (as shot,
    tone-normalised when ``tone``, any of ``b``'s ``turned`` hashes): the form
    that can have linked them."""
    d = best_form_distance(a, b) if tone else hashes.hamming(a.hash, b.hash)
    for v in turned:
        d = min(d, hashes.hamming(a.hash, v))
    return d


def turned_forms(im: HashedImage) -> list[bytes]:
    """The hashes of ``im`` turned or mirrored (``--rotations``), [] without."""
    return list(im.turned.values())


def finish_set(entries: list[SetEntry], sort_keys: Sequence[str], reverse: bool) -> DupSet:
    """Put a set's files in display order and measure each from the first."""
    sort_entries(entries, sort_keys, reverse)
    first = entries[0].hash
    for e in entries:
        e.distance = hashes.hamming(first, e.hash)
    return DupSet(entries)


def label_members(labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(label, its rows ascending) of every label two rows or more share; -1 is no set."""
    labels = np.asarray(labels)
    rows = np.flatnonzero(labels >= 0)
    held = labels[rows]
    order = stable_order(held)
    rows, held = rows[order], held[order]
    starts = np.flatnonzero(np.diff(held)) + 1
    return [
        (int(held[lo]), members)
        for lo, members in zip([0, *starts.tolist()], np.split(rows, starts), strict=True)
        if len(members) >= 2
    ]


def labelled_sets(
    labels: np.ndarray,
    entry: Callable[[int], SetEntry],
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
) -> list[tuple[int, DupSet]]:
    """(label, set) of every label two rows or more share, in listing order;
    ``entry(k)`` makes row k's entry (only rows in a set are made)."""
    found = [
        (label, finish_set([entry(k) for k in members.tolist()], sort_keys, reverse))
        for label, members in label_members(labels)
    ]
    ident = {id(s): label for label, s in found}
    return [(ident[id(s)], s) for s in order_sets([s for _, s in found])]


def sets_of(
    labels: np.ndarray,
    entry: Callable[[int], SetEntry],
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
) -> list[DupSet]:
    """:func:`labelled_sets` without the labels."""
    return [s for _, s in labelled_sets(labels, entry, sort_keys, reverse)]


def build_sets(
    images: Sequence[HashedImage],
    labels: np.ndarray,
    nbits: int,
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
) -> list[DupSet]:
    return sets_of(labels, lambda i: make_entry(images[i], nbits), sort_keys, reverse)


# --- grouping hashed images -------------------------------------------------------------------

# (hashes as an (N, nbytes) matrix, signatures, order keys) -> set label per
# row (-1: alone): the search and, when it is on, the verification of every
# link it found.
Link = Callable[[np.ndarray, Sequence[bytes], Sequence[bytes]], np.ndarray]
# The same for the region pass, given also a label per row (-1: none) of the
# links already confirmed: rows that share one need no check between them.
RegionLink = Callable[[np.ndarray, Sequence[bytes], Sequence[bytes], np.ndarray], np.ndarray]
# (set label per row, signatures, order keys) -> labels with the components
# that verification says must come apart split (see imgdupes.bridges).
Split = Callable[[np.ndarray, Sequence[bytes], Sequence[bytes]], np.ndarray]


def form_matrix(images: Sequence[HashedImage], form: str, nbits: int) -> np.ndarray | None:
    """(N, nbytes) of every image's hash as shot (``PLAIN``) or tone-normalised
    (``TONE``): the search's input; None when some image has no such form.
    A scan's :class:`~imgdupes.columns.ImageTable` hands its matrix over as it is."""
    if isinstance(images, ImageTable):
        return images.form_matrix(form)
    if form == PLAIN:
        return hashes.as_matrix([im.hash for im in images], nbits)
    if form == TONE:
        found = [im.tone for im in images]
    elif form in REGIONS:
        at = REGIONS.index(form)
        found = [im.regions[at] if im.regions else None for im in images]
    else:
        found = [im.turned.get(form) for im in images]
    if any(v is None for v in found):
        return None
    return hashes.as_matrix(found, nbits)  # type: ignore[arg-type]


def group_images(
    images: Sequence[HashedImage],
    link: Link,
    nbits: int,
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
    verify: bool = True,
    rotations: bool = False,
    region_link: RegionLink | None = None,
    split: Split | None = None,
    texture_link: RegionLink | None = None,
    tone_link: RegionLink | None = None,
    keep: Callable[[np.ndarray, bool, bool], None] | None = None,
) -> list[DupSet]:
    """The duplicate sets of ``images``, linked by ``link`` in every form it
    searches (as shot; tone-normalised when verifying; turned with
    ``rotations``), and by ``region_link`` through their regions' hashes
    when it is given and every image has them (see :func:`region_labels`),
    and by ``texture_link`` through the texture hashes of the low-detail
    pictures (see :func:`texture_labels`; a scan's table only);
    ``split``, when verifying, then splits what all those links joined;
    ``tone_link``: ``link`` given the labels found so far, so the tone search
    does not check again the pairs the plain one joined (most of them).
    ``keep(labels, tones, regions)`` is handed what :func:`finish_labels`
    makes the sets of (a result snapshot keeps it)."""
    table = images if isinstance(images, ImageTable) else None
    signatures: Sequence[bytes] = []
    keys: Sequence[bytes] = []
    if verify:
        # a table's signatures are read from the store for the rows ``link`` asks for
        signatures = table.signatures if table else [im.signature for im in images]
        keys = table.path_keys() if table else [path_key(im.file.path) for im in images]
    if rotations:
        labels = turned_labels(images, link, nbits)
    else:
        labels = link(form_matrix(images, PLAIN, nbits), signatures, keys)  # type: ignore[arg-type]
    tones = form_matrix(images, TONE, nbits) if verify and images else None
    use_tones = tones is not None
    if use_tones:
        # The same search and verification on the tone-normalised hashes: a
        # brightened or contrast-stretched copy can be 5-8 bits from its
        # original in phash and within a bit or two in ranks.  Files are
        # joined when either form links them; each link was verified on its own.
        if tone_link is not None:
            found = tone_link(tones, signatures, keys, labels)  # type: ignore[arg-type]
        else:
            found = link(tones, signatures, keys)  # type: ignore[arg-type]
        labels = union_labels(labels, found)
    regions = [form_matrix(images, r, nbits) for r in REGIONS] if region_link and images else []
    use_regions = bool(regions) and all(m is not None for m in regions)
    if use_regions:
        plain = form_matrix(images, PLAIN, nbits)
        found = region_labels(plain, regions, region_link, signatures, keys, labels)  # type: ignore
        labels = union_labels(labels, found)
    if texture_link is not None and table is not None and len(table):
        forms = [table.form_matrix(form) for form in TEXTURES]
        if all(m is not None for m in forms):
            found = texture_labels(forms, texture_link, signatures, keys, labels)  # type: ignore[arg-type]
            labels = union_labels(labels, found)
    if split is not None and verify:
        labels = split(labels, signatures, keys)
    if keep is not None:
        keep(labels, use_tones, use_regions)
    return finish_labels(
        images, labels, nbits, sort_keys, reverse, rotations, use_tones, use_regions
    )


def finish_labels(
    images: Sequence[HashedImage],
    labels: np.ndarray,
    nbits: int,
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
    rotations: bool = False,
    tones: bool = False,
    regions: bool = False,
) -> list[DupSet]:
    """The sets of a set label per row of ``images`` (-1: alone), each file's
    distance measured in the forms that linked them (turned, ``tones``,
    ``regions``): the end of :func:`group_images`, and all of a result
    snapshot's grouping."""
    table = images if isinstance(images, ImageTable) else None
    if table is not None:
        table.prepare(np.flatnonzero(labels >= 0))  # the files of the sets, in one read
    sets = build_sets(images, labels, nbits, sort_keys, reverse)
    if table is not None:
        table.signatures.release()  # the sets' images hold theirs now
    if rotations or tones or regions:
        _distance_in_best_form(sets, images, rotations, tones, regions)
    return sets


def _distance_in_best_form(
    sets: list,
    images: Sequence[HashedImage],
    turned: bool,
    tone: bool,
    regions: bool = False,
) -> None:
    """A file's distance from the set's first file in the form nearest to it
    (as shot, turned, tone-normalised, a region's): the form that can have linked them."""
    by_file: dict[int, HashedImage] = {}
    if turned or regions:
        # a scan's table has made the images of the sets' files only
        members = images.made() if isinstance(images, ImageTable) else images
        by_file = {id(im.file): im for im in members}
    for s in sets:
        first = s.entries[0]
        head = by_file.get(id(first.file))
        for e in s.entries:
            im = by_file.get(id(e.file))
            forms = turned_forms(im) if turned and im is not None else []
            d = form_distance(first, e, tone, forms)
            if regions and im is not None and head is not None:
                d = min(d, region_distance(head, im))
            e.distance = d


def region_distance(a: HashedImage, b: HashedImage) -> int:
    """The nearest of a region hash of one to the plain or region hash of the other."""
    forms_a = [a.hash, *a.regions]
    forms_b = [b.hash, *b.regions]
    return min(
        hashes.hamming(x, y) for i, x in enumerate(forms_a) for j, y in enumerate(forms_b) if i or j
    )


def region_labels(
    plain: np.ndarray,
    regions: Sequence[np.ndarray],
    link: RegionLink,
    signatures: Sequence[bytes],
    keys: Sequence[bytes],
    known: np.ndarray,
) -> np.ndarray:
    """Labels where a file's region hashes (``regions``: an (N, nbytes)
    matrix per form of :data:`imgdupes.hashvalue.REGIONS`) meet another
    file's plain or region hash within the threshold: a copy cropped by 5% a
    side is its original's inner region, a bordered copy shares its inner
    region, a captioned one its upper part.  Every row carries its file's
    signature, so each link is verified as usual (the fine detail after
    aligning, see :mod:`imgdupes.verify`).  Files that ``known`` (the plain
    and tone searches' labels) already joins are not checked again; a region
    hash equal to another form of its file is left out (a flat picture's are
    all one)."""
    n = len(plain)
    rows, owners, tags = [plain], [np.arange(n, dtype=np.int64)], [np.zeros(n, dtype=np.uint8)]
    for r, matrix in enumerate(regions):
        fresh = ~(matrix == plain).all(axis=1)
        for earlier in regions[:r]:
            fresh &= ~(matrix == earlier).all(axis=1)
        who = np.flatnonzero(fresh)
        rows.append(matrix[who])
        owners.append(who)
        tags.append(np.full(len(who), r + 1, dtype=np.uint8))
    owner = np.concatenate(owners)
    return _link_rows(rows, owner, tags, link, signatures, keys, known)


def _link_rows(
    rows: list[np.ndarray],
    owner: np.ndarray,
    tags: list[np.ndarray],
    link: RegionLink,
    signatures: Sequence[bytes],
    keys: Sequence[bytes],
    known: np.ndarray,
) -> np.ndarray:
    """Labels per file of searching the extra ``rows`` (row k belongs to file
    ``owner[k]``, in the form ``tags``) with ``link``: the region and texture
    sources' common end.  Each row reads its file's signature (from the store
    as needed) and starts joined with its own file."""
    if isinstance(signatures, Signatures):
        row_sig: Sequence[bytes] = signatures.of_rows(owner)
    else:
        row_sig = [signatures[i] for i in owner.tolist()]
    row_key = _RowKeys(keys, owner, np.concatenate(tags))
    labels = link(np.concatenate(rows), row_sig, row_key, _own_rows_joined(known, owner))
    return join_rows(len(known), owner, labels)


def _own_rows_joined(known: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """``known[owner]``, with the rows of a file in no set given one label of
    their own: a photo's inner region is within a few bits of its own plain
    hash (nine in ten of a folder of photos' region matches), and a file
    needs no check against itself."""
    labels = known[owner]
    alone = labels < 0
    labels[alone] = (int(known.max()) + 1 if len(known) else 0) + owner[alone]
    return labels


def texture_labels(
    forms: Sequence[np.ndarray],
    link: RegionLink,
    signatures: Sequence[bytes],
    keys: Sequence[bytes],
    known: np.ndarray,
) -> np.ndarray:
    """Labels where the texture hashes of low-detail pictures (``forms``: an
    (N, nbytes) matrix per form of :data:`imgdupes.hashvalue.TEXTURES`, zeros
    for a picture that has none) meet, in either form, within the radius of
    that source (see :mod:`imgdupes.lowdetail`); only those pictures' rows are
    searched, each link verified.  ``known`` as in :func:`region_labels`."""
    n = len(known)
    rows, owners, tags = [], [], []
    for r, matrix in enumerate(forms):
        who = np.flatnonzero(matrix.any(axis=1))
        rows.append(matrix[who])
        owners.append(who)
        tags.append(np.full(len(who), r + 1, dtype=np.uint8))
    owner = np.concatenate(owners)
    if len(owner) < 2:
        return np.full(n, -1, dtype=np.int64)
    return _link_rows(rows, owner, tags, link, signatures, keys, known)


class _RowKeys(Sequence[bytes]):
    """Row k's order key: its owner's key, then its form (0: plain), made when
    asked (verification orders only the files it looks at)."""

    def __init__(self, keys: Sequence[bytes], owner: np.ndarray, tag: np.ndarray) -> None:
        self._keys, self._owner, self._tag = keys, owner, tag

    def __len__(self) -> int:
        return len(self._owner)

    def __getitem__(self, k):  # type: ignore[no-untyped-def]
        tag = int(self._tag[k])
        return self._keys[int(self._owner[k])] + b"\0" + (bytes([tag]) if tag else b"")


def turned_labels(images: Sequence[HashedImage], link: Link, nbits: int) -> np.ndarray:
    """Labels where a file may match another in any of the eight orientations.

    Every orientation of every file is a row of its own (with its turned
    signature); rows are matched and verified as usual, then the files whose
    rows met are joined.
    """
    from .rotations import VARIANTS, turned_signature

    row_hash: list[bytes] = []
    row_sig: list[bytes] = []
    row_owner: list[int] = []
    row_key: list[bytes] = []
    for i, im in enumerate(images):
        key = path_key(im.file.path)
        row_hash.append(im.hash)
        row_sig.append(im.signature)
        row_owner.append(i)
        row_key.append(key + b"\0")
        for k, (name, op) in enumerate(VARIANTS):
            turned = im.turned.get(name)
            if turned is None:
                continue
            row_hash.append(turned)
            row_sig.append(turned_signature(im.signature, op))
            row_owner.append(i)
            row_key.append(key + b"\0" + bytes([k + 1]))
    labels = link(hashes.as_matrix(row_hash, nbits), row_sig, row_key)
    return join_rows(len(images), np.asarray(row_owner, dtype=np.int64), labels)


# --- --query ----------------------------------------------------------------------------------

# (target hashes as an (N, nbytes) matrix, query hash, query signature) ->
# {row: distance} of the targets within the radius (and verified).
Probe = Callable[[np.ndarray, bytes, bytes], dict[int, int]]


def nearest(found: dict[int, int], more: Mapping[int, int]) -> None:
    """Add ``more`` to ``found``: each row keeps the smallest distance any search gave it."""
    for i, d in more.items():
        found[i] = min(d, found.get(i, d))


def nearest_first(
    entries: list[SetEntry], sort_keys: Sequence[str], reverse: bool = False
) -> list[SetEntry]:
    """``--query`` order: by distance to the query, ties in ``--sort`` order."""
    by_distance: dict[int, list[SetEntry]] = defaultdict(list)
    for e in entries:
        by_distance[e.distance].append(e)
    ordered: list[SetEntry] = []
    for d in sorted(by_distance):
        sort_entries(by_distance[d], sort_keys, reverse)
        ordered.extend(by_distance[d])
    return ordered


def ranked(
    found: Mapping[int, int],
    entry: Callable[[int], SetEntry | None],
    sort_keys: Sequence[str],
    reverse: bool = False,
) -> list[SetEntry]:
    """The ``--query`` result: ``entry(row)`` of every row found, at its
    distance, nearest first (``entry`` returns None for a row left out)."""
    entries = []
    for i, d in found.items():
        e = entry(i)
        if e is not None:
            e.distance = int(d)
            entries.append(e)
    return nearest_first(entries, sort_keys, reverse)


def query_images(
    images: Sequence[HashedImage],
    q: HashedImage,
    probe: Probe,
    nbits: int,
    sort_keys: Sequence[str] = ("filesize",),
    reverse: bool = False,
    verify: bool = True,
    rotations: bool = False,
    exclude: tuple[int, int] | None = None,
) -> list[SetEntry]:
    """Files ``probe`` finds near the query in any form it is searched in,
    nearest first (ties in ``--sort`` order); the file ``exclude`` (its
    (dev, inode): the query itself) is not its own duplicate."""
    matrix = form_matrix(images, PLAIN, nbits)
    assert matrix is not None
    found = probe(matrix, q.hash, q.signature)
    tone_matrix = form_matrix(images, TONE, nbits) if images else None
    if verify and q.tone is not None and tone_matrix is not None:
        # as in group_images(): a brightened copy is found through the ranks' hash
        nearest(found, probe(tone_matrix, q.tone, q.signature))
    if rotations:
        from .rotations import VARIANTS, turned_signature

        # A target that is a turned copy of the query matches one of its turns.
        for name, op in VARIANTS:
            turned = q.turned.get(name)
            if turned is None:
                continue
            nearest(found, probe(matrix, turned, turned_signature(q.signature, op)))

    def entry(i: int) -> SetEntry | None:
        im = images[i]
        return None if im.file.identity == exclude else make_entry(im, nbits)

    return ranked(found, entry, sort_keys, reverse)
