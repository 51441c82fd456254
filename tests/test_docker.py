"""The Dockerfile: the seed's ``docker run -it -v $PWD:/app IMAGE -rdc target_dir phash 0``.

Slow (marked ``slow``; it runs in CI): it starts its own dockerd, makes a Debian
base image with debootstrap (no registry is reachable here), builds the image
with every extra and runs it.  The debootstrap result is cached under the
system's temporary folder, so a second run skips that part.  Where dockerd or
debootstrap cannot run (not root, not installed, no kernel support) it skips
and says why.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import run_subprocess

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# Debian's client, BuildKit built in (/usr/local/bin/docker lacks buildx)
DOCKER = "/usr/bin/docker"
CA = "/etc/ssl/certs/ca-certificates.crt"
CACHE = Path(tempfile.gettempdir()) / "imgdupes-test-docker"
BASE_TAG = "imgdupes-test-base:bookworm"
IMAGE_TAG = "imgdupes-test:latest"
OWNER = 4321  # not root, not the test's user: whose files they are in /app


def _cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "dockerd and debootstrap need root"
    for tool, package in (("dockerd", "docker.io"), ("debootstrap", "debootstrap")):
        if shutil.which(tool) is None:
            return f"{tool} is missing (apt-get install {package})"
    if not os.path.exists(DOCKER):
        return f"{DOCKER} is missing (apt-get install docker.io)"
    return None


def _mirror() -> str:
    """The Debian mirror this machine's apt uses."""
    try:
        text = Path("/etc/apt/sources.list.d/debian.sources").read_text()
    except OSError:
        return "http://deb.debian.org/debian"
    for block in text.split("\n\n"):
        fields = dict(
            line.split(":", 1) for line in block.splitlines() if ":" in line and line[0] != "#"
        )
        suites = fields.get("Suites", "").split()
        if "bookworm" in suites and "URIs" in fields:
            return fields["URIs"].split()[0]
    return "http://deb.debian.org/debian"


@pytest.fixture(scope="module")
def docker(tmp_path_factory):
    """A dockerd of our own on a socket in a temp dir; the env to reach it."""
    why = _cannot_run()
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("dockerd")
    sock = base / "docker.sock"
    log_path = base / "dockerd.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["dockerd", "--host", f"unix://{sock}", "--data-root", str(base / "data"),
             "--exec-root", str(base / "exec"), "--pidfile", str(base / "dockerd.pid"),
             "--bridge", "none", "--iptables=false", "--ip6tables=false"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_BUILDKIT="1")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
                pytest.skip(f"dockerd could not start: {' / '.join(tail)}")
            ok = subprocess.run([DOCKER, "info"], env=env, capture_output=True, timeout=30)
            if ok.returncode == 0:
                break
            if time.monotonic() > deadline:
                pytest.skip("dockerd did not answer within 60 s")
            time.sleep(0.5)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _sh(cmd: list[str], env: dict | None = None, timeout: float = 900, **kw):
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout, **kw)
    assert done.returncode == 0, (cmd, done.stderr.decode(errors="replace")[-3000:])
    return done


@pytest.fixture(scope="module")
def image(docker):
    """The Dockerfile built on a debootstrapped Debian bookworm with python3."""
    CACHE.mkdir(exist_ok=True)
    rootfs_tar = CACHE / "bookworm-python3.tar"
    if not rootfs_tar.exists():
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=CACHE))
        try:
            _sh(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,python3-pip",
                 "bookworm", str(rootfs), _mirror()], timeout=1200)  # fmt: skip
            partial = CACHE / "bookworm-python3.tar.part"
            _sh(["tar", "-C", str(rootfs), "-cf", str(partial), "."])
            partial.rename(rootfs_tar)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    _sh([DOCKER, "import", str(rootfs_tar), BASE_TAG], env=docker)
    build = [DOCKER, "build", "--network", "host", "--build-arg", f"BASE={BASE_TAG}",
             "-t", IMAGE_TAG, str(REPO)]  # fmt: skip
    if os.path.exists(CA):  # the TLS proxy's CA, for pip inside the build
        build[2:2] = ["--secret", f"id=pipcert,src={CA}"]
    _sh(build, env=docker, timeout=1800)
    return IMAGE_TAG


def _chown_tree(top: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.chown(name, uid, uid)


def _files(top: Path) -> dict[str, int]:
    """Relative path -> owner of every file and folder below ``top``."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            found[os.path.relpath(p, top)] = os.lstat(p).st_uid
    return found


def test_docker_run_gives_the_local_sets_and_keeps_owners(docker, image, dupe_tree, tmp_path):
    root, families = dupe_tree
    for fam in families:  # exact copies: what `phash 0` finds
        src = Path(fam[0])
        shutil.copy(src, src.with_name("copy_" + src.name))
    app, here = tmp_path / "app", tmp_path / "here"  # mounted on /app; the local run's twin
    shutil.copytree(root, app / "pics")
    shutil.copytree(root, here / "pics")
    _chown_tree(app, OWNER)
    run = [DOCKER, "run", "--rm", "-i", "--network", "none", "-v", f"{app}:/app", image]

    listing = _sh([*run, "-r", "pics", "phash", "4"], env=docker, timeout=300)
    local = run_subprocess("--no-cache", "-r", "pics", "phash", "4", cwd=str(here))
    assert local.code == 0 and len(local.sets) == 3
    assert listing.stdout.decode() == local.out
    # A file it writes in the mounted folder (checked below with the rest): logged
    # now, while the sets are all there (the -rdc run below may leave none).
    _sh([*run, "--log", "-r", "pics", "phash", "4"], env=docker, timeout=300)

    # The seed's usage, `docker run -it ... -rdc`: -it wants a terminal, so the
    # command runs under util-linux's `script`; keep the first of each set.
    if shutil.which("script") is None:
        pytest.skip("util-linux's script is missing to give docker run -it a terminal")
    answers = b"1\n" * 20
    seed_cmd = [DOCKER, "run", "--rm", "-it", "--network", "none", "-v", f"{app}:/app", image,
                "-rdc", "--imgcat-protocol", "kitty", "pics", "phash", "0"]  # fmt: skip
    seed = subprocess.run(
        ["script", "-qec", shlex.join(seed_cmd), "/dev/null"],
        input=answers, env=docker, capture_output=True, timeout=300,
    )  # fmt: skip
    assert seed.returncode == 0, seed.stdout.decode(errors="replace")[-2000:]
    assert b"\x1b_G" in seed.stdout  # kitty graphics on the terminal: the tiles were drawn
    twin = run_subprocess("--no-cache", "-rdc", "--imgcat-protocol", "kitty", "pics", "phash",
                          "0", stdin=answers, cwd=str(here))  # fmt: skip
    assert twin.code == 0
    assert sorted(os.listdir(app / "pics")) == sorted(os.listdir(here / "pics"))
    # the copies the phash-0 run joined went (exact copies, and the copies its region
    # hashes proposed at distance 0 and verification confirmed)
    assert len(os.listdir(app / "pics")) < 18

    # What it wrote in the mounted folder, and what it left there, is the owner's.
    owners = _files(app)
    assert any("_dup_" in p and p.endswith(".log") for p in owners), owners
    assert set(owners.values()) == {OWNER}, owners
