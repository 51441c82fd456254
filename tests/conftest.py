"""Shared fixtures: generated images in tmp_path and ways to run the command.

The tests import the package from this checkout's ``src`` (not whatever
``imgdupes`` happens to be installed), and every file they touch lives under
a temporary directory pytest made.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parent.parent / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from imgdupes import cli  # noqa: E402

# A suite started in the background of a shell without job control (`cmd &` in a
# script, some CI runners) inherits an ignored SIGINT, and so would every run the
# Ctrl-C tests start: a program rightly keeps ignoring it then.  Those tests are
# about Ctrl-C at a terminal, so the suite restores the terminal's default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
from imgdupes.samples import brightened, resized, synthetic_photo  # noqa: E402


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def sets(self) -> list[list[str]]:
        """The fdupes-style listing parsed back into sets of paths."""
        blocks = [b for b in self.out.split("\n\n") if b.strip()]
        return [b.strip("\n").split("\n") for b in blocks]


def run_inproc(*argv: str, stdin: str = "") -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


class TerminalIO(io.StringIO):
    """A stdout that says it is a terminal: ``-c`` draws only on one."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(*argv: str, stdin: str = "") -> CliResult:
    out, err = TerminalIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_subprocess(
    *argv: str,
    stdin: bytes | str = b"",
    cwd: str | None = None,
    env: dict | None = None,
    timeout: float = 300,
) -> CliResult:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    if isinstance(stdin, str):
        stdin = stdin.encode()
    proc = subprocess.run(
        [sys.executable, "-m", "imgdupes", *argv],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )
    return CliResult(
        proc.returncode,
        proc.stdout.decode("utf-8", "surrogateescape"),
        proc.stderr.decode("utf-8", "surrogateescape"),
    )


def run_without_file_override(*argv: str, cwd: str | None = None) -> CliResult:
    """Run the command so that file permissions apply even when tests run as root.

    Root ignores a file's mode; dropping the two capabilities that grant that
    (with util-linux's setpriv) makes a chmod 000 file really unreadable.
    """
    import shutil

    cmd = [sys.executable, "-m", "imgdupes", *argv]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root reads every file and setpriv is missing to drop that power")
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env, timeout=300)
    return CliResult(
        proc.returncode,
        proc.stdout.decode("utf-8", "surrogateescape"),
        proc.stderr.decode("utf-8", "surrogateescape"),
    )


def brightening_chain(folder: Path, size: tuple[int, int] = (320, 240)) -> list[Path]:
    """One photo, brightened x1.12 and x1.25, as a.png, b.png, c.png: plain phash
    a~b 2 bits, b~c 4, a~c 6, so at 4 with --no-verify (the plain hash only) a
    chain whose ends are apart.  Each is a real copy, so the act-time
    confirmation lets -N remove what its walk over the hashes picks."""
    img = synthetic_photo(1, size)
    paths = []
    for name, factor in zip("abc", (1.0, 1.12, 1.25), strict=True):
        p = folder / f"{name}.png"
        brightened(img, factor).save(p)
        paths.append(p)
    return paths


def needs(module: str, install: str) -> pytest.MarkDecorator:
    """Skip a test, saying what to install, where an optional library is missing:
    the suite also runs on a core-only install."""
    import importlib.util

    missing = importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"needs {module} ({install})")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    # The hash cache must never land in the user's real cache folder during tests.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg-cache"))


@pytest.fixture
def forbid_decoding(monkeypatch):
    """Call it to make every image decode fail from then on (forked hashing
    workers inherit it): only answers from the hash store still work.

    Overwriting a file and putting its mtime back no longer hides a change
    (the store compares ctime too), so this is how a test proves the store
    answered."""

    def forbid() -> None:
        from imgdupes import hasher
        from imgdupes.decode import DecodeError

        def refuse(path, *args, **kwargs):
            raise DecodeError("decoded although the hash store holds it")

        monkeypatch.setattr(hasher, "decode", refuse)
        monkeypatch.setattr(hasher, "decode_pixels", refuse)  # the fast path's

    return forbid


@pytest.fixture
def imgdupes():
    """Run the command in-process: ``imgdupes("dir", "phash", "4")`` -> CliResult."""
    return run_inproc


@pytest.fixture
def imgdupes_tty(monkeypatch):
    """As ``imgdupes``, with a stdout that is a terminal (outside any tmux)."""
    monkeypatch.delenv("TMUX", raising=False)
    return run_on_terminal


@pytest.fixture
def imgdupes_proc():
    """Run ``python -m imgdupes`` in a subprocess (real stdin/stdout/exit code)."""
    return run_subprocess


@pytest.fixture
def photo():
    """``photo(seed, size=(w, h))`` -> a detailed generated PIL image."""
    return synthetic_photo


@pytest.fixture
def dupe_tree(tmp_path):
    """A folder with 3 planted families (original + resized, recompressed,
    brightened copies) and 3 unrelated pictures.  Returns (root, families)."""
    root = tmp_path / "pics"
    root.mkdir()
    families: list[list[str]] = []
    for n in range(3):
        img = synthetic_photo(100 + n)
        orig = root / f"fam{n}_orig.jpg"
        img.save(orig, quality=95)
        small = root / f"fam{n}_small.png"
        resized(img, 0.5).save(small)
        q = root / f"fam{n}_q50.jpg"
        img.save(q, quality=50)
        bright = root / f"fam{n}_bright.jpg"
        brightened(img, 1.15).save(bright, quality=90)
        families.append(sorted(str(p) for p in (orig, small, q, bright)))
    for n in range(3):
        synthetic_photo(500 + n).save(root / f"single{n}.jpg", quality=90)
    return root, families
