"""Peer comparison: imgdupes against other duplicate finders on the accuracy data set.

    python3 -m venv /tmp/venv-peers
    /tmp/venv-peers/bin/pip install imagededup difPy
    apt-get install -y findimagedupes
    PYTHONPATH=src python benchmarks/peers.py [--split tune|holdout|both] [--quick]
        [--peer-python /tmp/venv-peers/bin/python] [--num-proc 2]

The peers are kept out of the project's environment: imagededup pulls in
torch, so imagededup and difPy live in a virtual environment of their own
(``--peer-python``) and run there in a subprocess that prints its result as
JSON; findimagedupes is Debian's Perl script.  A peer that is not installed is
reported as ``skipped: <peer>: <why>`` and the others still run.

It builds the labelled data set of ``accuracy_data`` in a temporary folder
(removed at the end), runs every tool on each split, turns each tool's output
into sets of files and scores them with ``accuracy.score``:

- **pair precision** and **pair recall**, as in ``accuracy.py``;
- the **worst benign transform** of the photo group (the lowest recall among
  ``accuracy_data.BENIGN``) and the recall of every benign transform, plus
  the crop and text edits.

The seconds are wall time around the call (imgdupes, in this process) or
around the subprocess (the peers: interpreter start and imports included);
the peers' own time inside the call is printed below the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy  # noqa: E402
import accuracy_data as data  # noqa: E402

import imgdupes  # noqa: E402  (accuracy_data put src/ on the path)

DEFAULT_PEER_PYTHON = "/tmp/venv-peers/bin/python"
# Per-transform table: the benign list plus the two edits people ask about.
DETAIL_TRANSFORMS = (*data.BENIGN, "crop_5pct", "text")
# A peer that hangs must not hold the whole benchmark.
PEER_TIMEOUT = 3600
# The subprocesses print other things on stdout (difPy prints load errors
# there); the result is the one line that starts with this.
MARKER = "PEERS-JSON "

# Run in the peer environment: argv[1] is a JSON object of arguments.  Each
# prints {"version", "edges" (pairs of file names), "seconds" (time inside the
# call, without interpreter start and imports)}.
IMAGEDEDUP_SCRIPT = """
import importlib.metadata, json, sys, time
from imagededup.methods import DHash, PHash

args = json.loads(sys.argv[1])
hasher = {"PHash": PHash, "DHash": DHash}[args["method"]](verbose=False)
start = time.perf_counter()
found = hasher.find_duplicates(
    image_dir=args["folder"],
    max_distance_threshold=args["threshold"],
    num_enc_workers=args["workers"],
    num_dist_workers=args["workers"],
)
seconds = time.perf_counter() - start
edges = [[k, v] for k, dups in found.items() for v in dups]
out = {"version": importlib.metadata.version("imagededup"), "edges": edges, "seconds": seconds}
print("PEERS-JSON " + json.dumps(out))
"""

DIFPY_SCRIPT = """
import importlib.metadata, json, sys, time
import difPy

if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    start = time.perf_counter()
    dif = difPy.build(args["folder"], show_progress=False, processes=args["workers"])
    found = difPy.search(
        dif, show_progress=False, processes=args["workers"], **args["search"]
    ).result
    seconds = time.perf_counter() - start
    # union mode: {primary path: [[match path, mse], ...]}
    edges = [[k, m[0]] for k, matches in found.items() for m in matches]
    out = {"version": importlib.metadata.version("difPy"), "edges": edges, "seconds": seconds}
    print("PEERS-JSON " + json.dumps(out))
"""


class Skip(Exception):
    """A peer (or one of its settings) could not run; the message says why."""


@dataclass
class Outcome:
    tool: str
    setting: str
    scores: accuracy.Scores
    seconds: float  # wall time around the call or the subprocess
    call_seconds: float | None = None  # the peer's own time inside the call

    @property
    def label(self) -> str:
        return f"{self.tool} {self.setting}"


@dataclass
class Peer:
    name: str
    version: str | None = None
    skip: str | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------
# turning results into sets


def components(edges: Iterable[Sequence[str]]) -> list[list[str]]:
    """Connected components (two files or more) of a graph given as name pairs.

    imagededup and difPy report, per file, the files matching it, not a
    partition: in imagededup's every file is a key and each match is listed
    both ways; in difPy's a file is listed under the first primary that
    matched it only (its result drops later pairs naming it).  Joining
    every listed match gives sets the way imgdupes's own graph stage does
    before verification (single linkage).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(os.path.basename(a)), find(os.path.basename(b))
        if ra != rb:
            parent[ra] = rb
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def parse_findimagedupes(stdout: str) -> list[list[str]]:
    """One set per line, paths separated by spaces (its default VIEW script
    echoes the quoted names, so the shell has already unquoted them; the data
    set's names have no spaces)."""
    return [[os.path.basename(p) for p in line.split()] for line in stdout.splitlines() if line]


# --------------------------------------------------------------------------
# peers


def _peer_env() -> dict[str, str]:
    # The peer venv must not see this checkout's src/ (PYTHONPATH=src).
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"


def check_python_peer(python: str, module: str, dist: str) -> Peer:
    peer = Peer(dist)
    if not os.path.exists(python):
        peer.skip = f"no interpreter at {python} (see the install steps in the docstring)"
        return peer
    code = f"import importlib.metadata, {module}; print(importlib.metadata.version({dist!r}))"
    try:
        proc = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, env=_peer_env(), timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        peer.skip = str(exc)
        return peer
    if proc.returncode != 0:
        peer.skip = f"import {module} failed in {python}: {_last_line(proc.stderr)}"
    else:
        peer.version = proc.stdout.strip()
    return peer


def check_findimagedupes() -> Peer:
    peer = Peer("findimagedupes")
    exe = shutil.which("findimagedupes")
    if exe is None:
        peer.skip = "not on PATH (apt-get install -y findimagedupes)"
        return peer
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
    peer.version = proc.stdout.strip().removeprefix("findimagedupes ") or "?"
    return peer


def run_script(python: str, script: str, args: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [python, "-c", script, json.dumps(args)],
            capture_output=True,
            text=True,
            env=_peer_env(),
            timeout=PEER_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        raise Skip(f"timed out after {PEER_TIMEOUT} s") from exc
    seconds = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :]), seconds
    raise Skip(f"exit {proc.returncode}: {_last_line(proc.stderr or proc.stdout)}")


def run_imagededup(
    python: str, folder: str, items: list[data.Item], method: str, threshold: int, workers: int
) -> Outcome:
    args = {"folder": folder, "method": method, "threshold": threshold, "workers": workers}
    out, seconds = run_script(python, IMAGEDEDUP_SCRIPT, args)
    sc = accuracy.score(components(out["edges"]), items)
    return Outcome("imagededup", f"{method} t={threshold}", sc, seconds, out["seconds"])


def run_difpy(
    python: str, folder: str, items: list[data.Item], setting: str, search: dict, workers: int
) -> Outcome:
    args = {"folder": folder, "search": search, "workers": workers}
    out, seconds = run_script(python, DIFPY_SCRIPT, args)
    sc = accuracy.score(components(out["edges"]), items)
    return Outcome("difPy", setting, sc, seconds, out["seconds"])


def run_findimagedupes(folder: str, items: list[data.Item], threshold: str, peer: Peer) -> Outcome:
    cmd = ["findimagedupes", "-t", threshold, "--", folder]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PEER_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        raise Skip(f"timed out after {PEER_TIMEOUT} s") from exc
    seconds = time.perf_counter() - start
    # 1 means "there were warnings" (an image it could not fingerprint).
    if proc.returncode not in (0, 1):
        raise Skip(f"exit {proc.returncode}: {_last_line(proc.stderr)}")
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("Warning")]
    if warnings:
        peer.notes.append(
            f"findimagedupes -t {threshold} on {os.path.basename(folder)}: "
            f"{len(warnings)} warnings, first: {warnings[0]}"
        )
    sc = accuracy.score(parse_findimagedupes(proc.stdout), items)
    return Outcome("findimagedupes", f"-t {threshold}", sc, seconds)


def run_imgdupes(folder: str, items: list[data.Item], threshold: int, workers: int) -> Outcome:
    start = time.perf_counter()
    sets = imgdupes.find_duplicates(folder, "phash", threshold, num_proc=workers, use_cache=False)
    seconds = time.perf_counter() - start
    names = [[os.path.basename(p) for p in ds.paths] for ds in sets]
    return Outcome("imgdupes", f"phash t={threshold}", accuracy.score(names, items), seconds)


# --------------------------------------------------------------------------
# printing


def _worst_benign(sc: accuracy.Scores) -> str:
    v, t = sc.worst(data.BENIGN)
    return "-" if v is None else f"{accuracy._pct(v)} ({t})"


def summary_table(outcomes: list[Outcome]) -> str:
    header = [
        "tool",
        "setting",
        "pair precision",
        "pair recall",
        "worst benign transform (photo group)",
        "seconds",
    ]
    rows = [
        [
            o.tool,
            o.setting,
            accuracy._f(o.scores.precision),
            accuracy._f(o.scores.recall),
            _worst_benign(o.scores),
            f"{o.seconds:.1f}",
        ]
        for o in outcomes
    ]
    return accuracy._table(header, rows)


def transform_table(outcomes: list[Outcome]) -> str:
    header = ["transform (photo group)", *(o.label for o in outcomes)]
    rows = [
        [t, *(accuracy._pct(o.scores.transform_recall("photo", t)) for o in outcomes)]
        for t in DETAIL_TRANSFORMS
    ]
    return accuracy._table(header, rows)


# --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=(*data.SPLITS, "both"), default="both")
    p.add_argument("--quick", action="store_true", help="a few families per kind (a smoke run)")
    p.add_argument(
        "--peer-python",
        default=DEFAULT_PEER_PYTHON,
        help="interpreter of the virtual environment holding imagededup and difPy",
    )
    p.add_argument(
        "--num-proc",
        type=int,
        default=2,
        help="worker processes for every tool that takes a number (findimagedupes has one)",
    )
    args = p.parse_args(argv)
    splits = data.SPLITS if args.split == "both" else (args.split,)

    imagededup = check_python_peer(args.peer_python, "imagededup.methods", "imagededup")
    difpy = check_python_peer(args.peer_python, "difPy", "difPy")
    fid = check_findimagedupes()
    peers = (imagededup, difpy, fid)

    print("# imgdupes against peer duplicate finders")
    versions = [f"imgdupes {imgdupes.__version__}"]
    versions += [f"{pr.name} {pr.version}" for pr in peers if pr.skip is None]
    print(
        f"{'; '.join(versions)}; {'quick' if args.quick else 'full'} data set; "
        f"--num-proc {args.num_proc}"
    )
    for pr in peers:
        if pr.skip is not None:
            print(f"skipped: {pr.name}: {pr.skip}")

    # (peer, setting label, thunk) for one split's folder and labels
    def runs(folder: str, items: list[data.Item]):
        n = args.num_proc
        py = args.peer_python
        for t in (4, 10):
            yield None, f"imgdupes phash t={t}", lambda t=t: run_imgdupes(folder, items, t, n)
        for method in ("PHash", "DHash"):
            for t in (4, 10):
                yield (
                    imagededup,
                    f"imagededup {method} t={t}",
                    lambda m=method, t=t: run_imagededup(py, folder, items, m, t, n),
                )
        difpy_settings = (
            ("default (duplicates)", {}),
            ("similar", {"similarity": "similar"}),
            # same_dim=True (the default) never compares a resized copy
            # with its original; this shows what the MSE test does then.
            ("similar, same_dim=False", {"similarity": "similar", "same_dim": False}),
        )
        for label, search in difpy_settings:
            yield (
                difpy,
                f"difPy {label}",
                lambda s=search, lb=label: run_difpy(py, folder, items, lb, s, n),
            )
        # 90% (25 of 256 bits) is its default.
        for t in ("90%", "95%"):
            yield (
                fid,
                f"findimagedupes -t {t}",
                lambda t=t: run_findimagedupes(folder, items, t, fid),
            )

    with tempfile.TemporaryDirectory(prefix="imgdupes-peers-") as root:
        for split in splits:
            items, folder = accuracy.build_split(root, split, args.quick)
            outcomes: list[Outcome] = []
            for peer, label, thunk in runs(folder, items):
                if peer is not None and peer.skip is not None:
                    continue
                try:
                    o = thunk()
                except Skip as exc:
                    print(f"skipped: {label}: {exc}")
                    continue
                outcomes.append(o)
                print(
                    f"{split} {o.label}: precision {accuracy._f(o.scores.precision)} "
                    f"recall {accuracy._f(o.scores.recall)} ({o.seconds:.1f} s)",
                    file=sys.stderr,
                )
            print("### Pair precision and recall\n")
            print(summary_table(outcomes))
            print("\n### Recall per transform, photo group\n")
            print(transform_table(outcomes))
            inner = [
                f"{o.label} {o.call_seconds:.1f} s" for o in outcomes if o.call_seconds is not None
            ]
            if inner:
                print("\nPeers' time inside the call (no interpreter start, imports):")
                print("; ".join(inner))
            for pr in peers:
                for note in pr.notes:
                    print(f"note: {note}")
                pr.notes.clear()

    print(
        "\nHow sets were made: imgdupes's own sets; imagededup and difPy report the "
        "matches of each file, joined here into connected components (union-find; "
        "difPy lists a matched file under the first primary only, so pairs it dropped "
        "cannot join sets); findimagedupes prints its groups (it joins matches into "
        "connected components itself).  imgdupes runs with its defaults (verification on)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
