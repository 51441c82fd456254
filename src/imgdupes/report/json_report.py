"""``--json``: the sets, each file's identity and the plan's marks, as one document
(docs/json.md); ``imgdupes apply`` and ``imgdupes review`` read it back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from ..model import Result, SetEntry

if TYPE_CHECKING:
    from ..plan import SetPlan

JSON_VERSION = 1


def entry_json(e: SetEntry, action=None) -> dict:  # action: plan.Action | None
    doc = {
        "path": e.path,
        "size": e.size,
        "width": e.width,
        "height": e.height,
        "hash": e.hash_hex,
        "distance": e.distance,
    }
    if e.rule:
        doc["verified"] = e.rule
    if e.file is not None:
        # The file's identity as hashed: `imgdupes apply` acts only on a file
        # that still has all of it.
        f = e.file
        doc.update(
            dev=f.dev,
            inode=f.ino,
            mtime_ns=f.mtime_ns,
            ctime_ns=f.ctime_ns,
            aliases=list(f.aliases),
        )
    if action is not None:
        doc["keep"] = not action.remove
        doc["reason"] = action.reason
        if action.reference:
            doc["reference"] = True
    if e.file is not None and e.file.shard:
        # an image inside a dataset shard: the key to drop from that shard
        doc["shard"] = e.file.shard
        doc["key"] = e.path[len(e.file.shard) + 1 :]
    return doc


def result_json(result: Result, plans: Sequence[SetPlan] | None = None) -> dict:
    doc: dict = {
        "version": JSON_VERSION,
        "hash_method": result.hash_method,
        "hash_bits": result.hash_bits,
        "threshold": result.threshold,
    }
    if result.query is not None:
        doc["query"] = result.query
    sets = []
    for k, s in enumerate(result.sets):
        actions = plans[k].actions if plans is not None else [None] * len(s.entries)
        sets.append({"files": [entry_json(e, a) for e, a in zip(s.entries, actions, strict=True)]})
    doc["sets"] = sets
    doc["aliases"] = [list(a) for a in result.aliases]
    doc["errors"] = [{"path": e.path, "error": e.error} for e in result.errors]
    return doc


def write_json(result: Result, out: TextIO, plans: Sequence[SetPlan] | None = None) -> None:
    # ensure_ascii keeps undecodable name bytes (surrogates) as \\udcXX escapes
    # instead of failing; a reader can map them back with surrogateescape.
    json.dump(result_json(result, plans), out, ensure_ascii=True, indent=1)
    out.write("\n")
