"""The optional search engines (--ngt, --hnsw, --faiss-flat) on the real libraries.

Each engine only proposes candidate pairs; the sets must come out exactly as
the exact engine's once k is large enough, and no engine may ever put two
images more than r apart in a set by a direct match.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import needs

from imgdupes.search import EngineParams, collapse, find_matches, query_matches
from imgdupes.search.bitops import as_words, distances

NEEDS_NGT = needs("ngtpy", "pip install ngt")
NEEDS_HNSW = needs("hnswlib", "pip install hnswlib")
NEEDS_FAISS = needs("faiss", "pip install faiss-cpu")
ENGINES = [
    pytest.param("ngt", marks=NEEDS_NGT),
    pytest.param("hnsw", marks=NEEDS_HNSW),
    pytest.param("faiss-flat", marks=NEEDS_FAISS),
]
# k options large enough that every neighbour within r is among the k nearest.
BIG_K = {
    "ngt": ["--ngt-k", "50"],
    "hnsw": ["--hnsw-k", "50"],
    "faiss-flat": ["--faiss-flat-k", "50"],
}
MODULES = {"ngt": "ngtpy", "hnsw": "hnswlib", "faiss-flat": "faiss"}


def planted_hashes(n: int, nbits: int, radius: int, seed: int) -> np.ndarray:
    """Random hashes with planted clusters of 2-6 near copies (a few bits flipped).

    Random 64-bit hashes lie ~32 bits apart, so the planted copies are
    the only pairs within a small r; chains of copies also make pairs beyond r.
    """
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, nbits), dtype=np.uint8)
    row = 0
    while row < n // 2:
        size = int(rng.integers(2, 7))
        centre = bits[row].copy()
        for member in range(row + 1, min(row + size, n)):
            flip = rng.choice(nbits, size=int(rng.integers(0, radius + 2)), replace=False)
            bits[member] = centre
            bits[member, flip] ^= 1
        row += size
    return np.packbits(bits[rng.permutation(n)], axis=1)


def partition(labels: np.ndarray) -> set[frozenset[int]]:
    sets: dict[int, set[int]] = {}
    for row, label in enumerate(labels.tolist()):
        if label >= 0:
            sets.setdefault(label, set()).add(row)
    return {frozenset(s) for s in sets.values()}


def params(**kw) -> EngineParams:
    # One thread: graph builds are then reproducible from run to run.
    base = dict(num_proc=1, ngt_k=50, hnsw_k=50, faiss_flat_k=50)
    base.update(kw)
    return EngineParams(**base)


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_finds_the_exact_engines_sets_on_photos(imgdupes, dupe_tree, engine):
    root, families = dupe_tree
    exact = imgdupes(str(root), "phash", "4")
    res = imgdupes(f"--{engine}", *BIG_K[engine], str(root), "phash", "4")
    assert res.code == 0, res.err
    assert res.out == exact.out
    assert sorted(sorted(s) for s in res.sets) == sorted(families)


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_default_k_finds_the_planted_families(imgdupes, dupe_tree, engine):
    root, families = dupe_tree
    res = imgdupes(f"--{engine}", "-r", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert sorted(sorted(s) for s in res.sets) == sorted(families)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("nbits", "radius"), [(64, 4), (256, 10)])
def test_engine_with_large_k_gives_exact_sets_on_planted_hashes(engine, nbits, radius):
    matrix = planted_hashes(3000, nbits, radius, seed=nbits)
    exact = find_matches(matrix, nbits, radius, "exact")
    got = find_matches(matrix, nbits, radius, engine, params())
    assert len(exact.pairs_i) > 1000  # the planted clusters really are there
    assert partition(got.labels) == partition(exact.labels)
    assert len(got.pairs_i) == len(exact.pairs_i)


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_with_tiny_k_never_links_beyond_r(engine):
    nbits, radius = 64, 4
    matrix = planted_hashes(3000, nbits, radius, seed=7)
    small = dict(ngt_k=2, hnsw_k=2, faiss_flat_k=2, hnsw_ef=2, ngt_epsilon=0.0)
    got = find_matches(matrix, nbits, radius, engine, params(**small))
    exact = find_matches(matrix, nbits, radius, "exact")
    words = as_words(collapse(matrix)[0])  # pairs index the unique table
    assert len(got.pairs_i) > 0
    assert distances(words, got.pairs_i, got.pairs_j).max() <= radius
    # Every pair an engine reports is a true pair, so its sets can only be
    # pieces of the exact engine's sets, never merge two of them.
    exact_sets = partition(exact.labels)
    for s in partition(got.labels):
        assert any(s <= e for e in exact_sets)


@pytest.mark.parametrize("engine", ENGINES)
def test_query_with_engine_lists_what_exact_lists(imgdupes, dupe_tree, engine):
    root, families = dupe_tree
    query = families[1][0]
    exact = imgdupes("--query", query, str(root), "phash", "4")
    res = imgdupes(f"--{engine}", "--query", query, str(root), "phash", "4")
    assert res.code == 0, res.err
    assert res.out == exact.out
    listed = [line for line in res.out.splitlines()[1:] if line]
    assert sorted(listed) == sorted(p for p in families[1] if p != query)


@pytest.mark.parametrize("engine", ENGINES)
def test_query_on_hashes_matches_exact(engine):
    nbits, radius = 64, 4
    matrix = planted_hashes(2000, nbits, radius, seed=3)
    for row in (0, 17, 1999):
        q = matrix[row].tobytes()
        want = query_matches(matrix, nbits, q, radius, "exact")
        got = query_matches(matrix, nbits, q, radius, engine, params())
        assert got[0].tolist() == want[0].tolist()
        assert got[1].tolist() == want[1].tolist()


@pytest.mark.parametrize("engine", ["ngt", "hnsw", "faiss-flat"])
def test_missing_library_is_one_line_naming_the_extra(imgdupes, monkeypatch, tmp_path, engine):
    # None in sys.modules makes `import` fail exactly as if the package were absent.
    monkeypatch.setitem(sys.modules, MODULES[engine], None)
    package = {"ngt": "ngt", "hnsw": "hnswlib", "faiss-flat": "faiss-cpu"}[engine]
    # A target that does not exist: the engine check must come before any file work.
    res = imgdupes(f"--{engine}", str(tmp_path / "nowhere"), "phash", "4")
    assert res.code == 2
    assert res.err.count("\n") == 1
    assert res.err.rstrip().endswith(f"pip install {package}")
    assert "not installed" in res.err
    assert "Traceback" not in res.err
    assert res.out == ""


def test_broken_library_shows_the_real_import_error(imgdupes, monkeypatch, tmp_path):
    # A package that is present but cannot import something it needs.
    pkg = tmp_path / "site" / "hnswlib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("import libhnsw_native_part_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "hnswlib", raising=False)
    res = imgdupes("--hnsw", str(tmp_path), "phash", "4")
    assert res.code == 2
    assert "libhnsw_native_part_that_is_missing" in res.err
    assert res.err.rstrip().endswith("pip install hnswlib")
    assert res.err.count("\n") == 1


@pytest.mark.parametrize(
    "option",
    [
        ["--ngt", "--ngt-k", "0"],
        ["--ngt", "--ngt-edges", "0"],
        ["--ngt", "--ngt-epsilon", "-1"],
        ["--hnsw", "--hnsw-m", "1"],
        ["--hnsw", "--hnsw-ef", "0"],
        ["--faiss-flat", "--faiss-flat-k", "0"],
    ],
)
def test_bad_tuning_value_is_a_usage_error(imgdupes, dupe_tree, option):
    root, _ = dupe_tree
    res = imgdupes(*option, str(root), "phash", "4")
    assert res.code == 2
    assert option[1] in res.err
    assert res.err.count("\n") == 1


@NEEDS_FAISS
def test_faiss_cuda_without_gpu_says_so_and_runs_on_cpu(imgdupes, dupe_tree):
    import faiss

    if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        pytest.skip("a GPU is present here; the CPU fallback is not taken")
    root, families = dupe_tree
    res = imgdupes("--faiss-cuda", "--cuda-device", "0", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert res.err.count("no CUDA GPU found; running faiss on the CPU") == 1
    assert sorted(sorted(s) for s in res.sets) == sorted(families)


@NEEDS_NGT
def test_ngt_leaves_no_index_files_behind(imgdupes, dupe_tree, monkeypatch, tmp_path):
    root, families = dupe_tree
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    cwd_before = sorted(os.listdir(os.getcwd()))
    res = imgdupes("--ngt", str(root), "phash", "4")
    assert res.code == 0, res.err
    assert len(res.sets) == len(families)
    assert os.listdir(scratch) == []
    assert sorted(os.listdir(os.getcwd())) == cwd_before


@NEEDS_NGT
def test_ngt_index_is_removed_on_ctrl_c(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = textwrap.dedent(
        """
        import numpy as np
        from imgdupes.search import EngineParams, ngt
        rng = np.random.default_rng(0)
        m = rng.integers(0, 256, size=(60_000, 8), dtype=np.uint8)
        try:
            ngt.candidate_pairs(m, 64, 4, EngineParams(num_proc=1))
        except KeyboardInterrupt:
            raise SystemExit(130)
        raise SystemExit(0)
        """
    )
    env = dict(os.environ, TMPDIR=str(scratch))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent / "src")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 120
        while not os.listdir(scratch) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.listdir(scratch), "NGT never created its index directory"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130  # interrupted while the index existed
    assert os.listdir(scratch) == []
