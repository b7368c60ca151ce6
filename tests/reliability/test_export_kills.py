"""A real ``upgrader`` process SIGKILLed at the Nth call of an ``os`` function, for every N, while
it swaps exports: the next ``rollback`` (or ``resume``) converges on the right configuration.

The server's workflow is the export step between command-free release steps — download, verify
and extract of an offline package (``run --package``), ``export`` (undo ``restore_export``), and a
``command`` step — so no Docker Engine is needed (extract asks the Compose CLI for the data
folders: ``docker compose config``, which reads files only). Each kill is the kill point of
``tests.rig.faults`` (SIGKILL of the whole process group at the call's entry), on
``os.rename``, ``os.replace``, ``os.unlink``, ``os.rmdir``, ``os.mkdir``, ``os.open``,
``os.symlink``, ``os.chmod``, ``os.fchmod`` and ``os.write``: calls of the whole process, so the
engine's checkpoints, journal and lock are killed too, not only the export's own files.

- ``rollback`` of a completed upgrade to 1.1.0, killed at every call, then run again: exit 0,
  installed.json says 1.0.0, and ``export/`` is 1.0.0's export byte for byte.
- ``run --package 1.1.0`` killed at every call, then ``rollback``: the same; or then ``resume``:
  exit 0, installed.json says 1.1.0, ``export/`` 1.1.0's export whole and ``export.prev/``
  1.0.0's.

The matrix takes minutes: ``slow``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rig import write_package
from tests.rig.faults import KillPoint, run_with_kill_point

pytestmark = pytest.mark.slow

UPGRADER = Path(sys.executable).with_name("upgrader")
TARGETS = ("os.rename", "os.replace", "os.unlink", "os.rmdir", "os.mkdir", "os.open", "os.symlink", "os.chmod",
           "os.fchmod", "os.write")
NAME = "demo"
VALUES = {"DB_PASSWORD": "s3cret-Pa55", "HTTP_PORT": "18080"}
COMPOSE = """services:
  web:
    image: 127.0.0.1:5000/acme/web:{version}
    env_file: [.env]
    volumes: ["./config/app.conf:/etc/app.conf:ro", "./config/nginx:/etc/nginx:ro", "./data:/data"]
"""
WORKFLOW = {
    "name": "export-kills", "initial": "idle", "final": "checked", "on_failure": "rollback",
    "states": ["idle", "downloaded", "verified", "extracted", "exported", "checked"],
    "steps": [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download"},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
        {"name": "export", "from": "extracted", "to": "exported", "action": "export", "undo": "restore_export"},
        {"name": "check", "from": "exported", "to": "checked", "action": "command", "run": ["true"]},
    ],
}


def package(folder: Path, version: str) -> Path:
    """An offline release package with its ``.sha256`` beside it."""
    path = folder / f"acme-server-{version}.tar.gz"
    files = {
        "release.json": json.dumps({"product": "acme-server", "version": version,
                                    "images": [f"127.0.0.1:5000/acme/web:{version}"]}),
        "compose.yaml": COMPOSE.format(version=version),
        "defaults.env": "HTTP_PORT=8080\nDB_PASSWORD=\n",
        "config/app.conf": f"version={version}\n",
        "config/nginx/site.conf": f"server {{ listen 80; }} # {version}\n",
        "config/nginx/conf.d/extra.conf": f"# {version}\n",
        "config/ca.pem": f"-----CERT {version}-----\n",
    }
    entry = write_package(path, files)
    path.with_name(path.name + ".sha256").write_text(f"{entry['sha256']}  {path.name}\n")
    return path


Tree = dict[str, tuple[Any, ...]]


def tree(folder: Path) -> Tree:
    """Every entry under ``folder``, links not followed: mode and bytes, mode, or link target. The
    marker's ``run_id`` left out (each run has its own)."""
    found: Tree = {}
    for parent, folders, names in os.walk(folder):
        for name in ["", *folders, *names]:
            path = os.path.join(parent, name) if name else parent
            rel = os.path.relpath(path, folder)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("folder", oct(stat.S_IMODE(info.st_mode)))
            else:
                content = Path(path).read_bytes()
                if rel == ".upgrader-export":
                    content = json.dumps({**json.loads(content), "run_id": None}).encode()
                found[rel] = ("file", oct(stat.S_IMODE(info.st_mode)), content)
    return found


@dataclass
class Server:
    """A server root; ``installed`` (1.0.0) and ``upgraded`` (then 1.1.0) are copies of it as they
    were, put back in its place (absolute paths are in its state) before each kill."""

    base: Path

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def project_dir(self) -> Path:
        return self.root / "projects" / NAME

    def argv(self, *args: str) -> list[str]:
        return ["--root", str(self.root), "-n", NAME, *args]

    def upgrader(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(UPGRADER), *self.argv(*args)], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120, check=False)

    def package(self, version: str) -> str:
        return str(self.base / "packages" / f"acme-server-{version}.tar.gz")

    def keep(self, name: str) -> None:
        shutil.copytree(self.root, self.base / name, symlinks=True)

    def put_back(self, name: str) -> None:
        shutil.rmtree(self.root)
        shutil.copytree(self.base / name, self.root, symlinks=True)

    def installed(self) -> str:
        return str(json.loads((self.root / "state" / NAME / "installed.json").read_text())["version"])

    def run_file(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.root / "state" / NAME / "run.json").read_text())
        return document


@dataclass
class Expected:
    server: Server
    old: Tree  # export/ of 1.0.0
    new: Tree  # export/ of 1.1.0
    data: bytes


def build(base: Path) -> Expected:
    """Install 1.0.0 (and write data through its link), then upgrade to 1.1.0; keep both states."""
    server = Server(base)
    (server.base / "packages").mkdir()
    for version in ("1.0.0", "1.1.0"):
        package(server.base / "packages", version)
    server.project_dir.mkdir(parents=True)
    workflow = server.base / "workflow.yaml"
    workflow.write_text(yaml.safe_dump(WORKFLOW, sort_keys=False))
    (server.project_dir / "project.yaml").write_text(yaml.safe_dump({"workflow": str(workflow), "values": VALUES}))
    installed = server.upgrader("run", "--package", server.package("1.0.0"))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    data = hashlib.sha256(os.urandom(64)).hexdigest().encode()
    (server.project_dir / "export" / "data" / "db.txt").write_bytes(data)  # through the link, into data/
    old = tree(server.project_dir / "export")
    server.keep("installed")
    upgraded = server.upgrader("run", "--package", server.package("1.1.0"))
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    new = tree(server.project_dir / "export")
    assert tree(server.project_dir / "export.prev") == old
    assert b"DB_PASSWORD=s3cret-Pa55\n" in new[".env"][2] and new[".env"][1] == "0o600"
    assert b"acme/web:1.1.0" in new["compose.yaml"][2] and new["data"] == ("link", "../data/data")
    server.keep("upgraded")
    return Expected(server, old, new, data)


@pytest.fixture(scope="module", params=["tmpfs", "ext4"])
def expected(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Expected]:
    """The server on a tmpfs mounted for the module (where ``rmtree`` deletes a folder's newest
    entry, an export's marker, first), or on the disk."""
    base = tmp_path_factory.mktemp(f"export-kills-{request.param}")
    if request.param == "ext4":
        yield build(base)
        return
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0700", "tmpfs", str(base)], check=True)
    try:
        yield build(base)
    finally:
        subprocess.run(["umount", str(base)], check=True)


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> Expected:
    return build(tmp_path_factory.mktemp("export-kills-run"))


def assert_rolled_back(expected: Expected, where: str) -> None:
    server = expected.server
    assert server.installed() == "1.0.0", where
    assert tree(server.project_dir / "export") == expected.old, f"{where}: export/ is not 1.0.0's export"
    names = sorted(entry.name for entry in server.project_dir.iterdir())
    assert "export.new" not in names and not [name for name in names if ".removing-" in name], f"{where}: {names}"
    assert (server.project_dir / "data" / "data" / "db.txt").read_bytes() == expected.data, where


def assert_upgraded(expected: Expected, where: str) -> None:
    server = expected.server
    assert server.installed() == "1.1.0", where
    assert tree(server.project_dir / "export") == expected.new, f"{where}: export/ is not 1.1.0's export"
    assert tree(server.project_dir / "export.prev") == expected.old, f"{where}: export.prev/ is not 1.0.0's"
    names = sorted(entry.name for entry in server.project_dir.iterdir())
    assert "export.new" not in names and not [name for name in names if ".removing-" in name], f"{where}: {names}"
    assert (server.project_dir / "data" / "data" / "db.txt").read_bytes() == expected.data, where


def kills(expected: Expected, start: str, args: tuple[str, ...], target: str) -> Iterator[tuple[int, bool]]:
    """Put ``start`` back, run ``upgrader ARGS`` killed at the 1st, 2nd, … call of ``target``; yield
    (N, whether it was killed) after each, until a run no longer reaches the Nth call."""
    server = expected.server
    report = server.base / "kill.json"
    call = 1
    while True:
        server.put_back(start)
        outcome = run_with_kill_point(KillPoint(target, call), server.argv(*args), report, timeout=120)
        if not outcome.killed:
            assert outcome.returncode == 0, f"{target}:{call}: {outcome.output}"
            assert "never a" in outcome.stderr, outcome.output
        yield call, outcome.killed
        if not outcome.killed:
            return
        call += 1


@pytest.mark.parametrize("target", TARGETS)
def test_a_rollback_killed_at_any_call_then_run_again_restores_the_old_export(expected: Expected, target: str) -> None:
    server = expected.server
    points = 0
    for call, killed in kills(expected, "upgraded", ("rollback",), target):
        where = f"rollback killed at call {call} of {target}"
        if killed:
            points += 1
            again = server.upgrader("rollback")
            assert again.returncode == 0, f"{where}: {again.stdout}{again.stderr}"
        assert server.run_file()["status"] == "rolled_back", where
        assert_rolled_back(expected, where)
    print(f"rollback: {points} kill points at {target}")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("then", ["rollback", "resume"])
def test_a_run_killed_at_any_call_then_rolled_back_or_resumed_converges(
        on_disk: Expected, target: str, then: str) -> None:
    """On the disk only: most of these kills are in download, verify and extract."""
    expected = on_disk
    server = expected.server
    points = 0
    for call, killed in kills(expected, "installed", ("run", "--package", server.package("1.1.0")), target):
        where = f"run killed at call {call} of {target}, then {then}"
        if killed:
            points += 1
            run = server.run_file()
            if run["to_version"] != "1.1.0":  # killed before the run began: nothing to carry on
                assert_rolled_back(expected, where)
                continue
            if run["status"] == "completed" and then == "resume":  # killed after the run ended
                assert_upgraded(expected, where)
                continue
            again = server.upgrader(then)
            assert again.returncode == 0, f"{where}: {again.stdout}{again.stderr}"
            if then == "rollback":
                assert_rolled_back(expected, where)
                continue
        assert_upgraded(expected, where)
    print(f"run then {then}: {points} kill points at {target}")
