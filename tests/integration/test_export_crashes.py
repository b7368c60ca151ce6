"""The export step and its undo killed at every filesystem operation, on tmpfs and on ext4; and
the modes of what they write, under umask 000.

A kill is real: the action runs in a forked child whose ``os``/``shutil``/``open`` functions that
change the filesystem (rename, replace, unlink, rmdir, mkdir, open for writing, write, sendfile,
symlink, chmod, utime, …, and so every inner call of ``shutil.rmtree`` and ``copytree``) count
their calls; the Nth ends the child with ``os._exit`` before it happens, so no ``finally`` or
``except`` runs, as under SIGKILL. The child checkpoints ``run["data"]`` to a file, as the engine
does to run.json. Then a fresh context, from that checkpoint, runs the action (a resume) or its
undo (a rollback) again, and the project folder must be exactly what an uncrashed run leaves:
for every N from 1 until the child completes without reaching N.

tmpfs matters: there ``readdir`` lists the newest entry first, so ``rmtree`` deletes an
export's marker (written last) before anything else of it.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from upgrader.actions.base import Context
from upgrader.actions.export import MARKER, REMOVING, export, render_env, restore_export, values_digest
from upgrader.project import Project

COMPOSE = """services:
  web:
    image: 127.0.0.1:5000/acme/web:{version}
    env_file: [.env]
    volumes: ["./config/app.conf:/etc/app.conf:ro", "./config/nginx:/etc/nginx:ro", "./data:/data",
              "./a/b:/b", "./config/state:/state"]
"""
# A handful of config files: nested folders, an executable, a link inside config/.
CONFIG = {"app.conf": "version={version}\n", "nginx/site.conf": "server {{ listen 80; }} # {version}\n",
          "nginx/conf.d/extra.conf": "# {version}\n", "ca.pem": "-----CERT {version}-----\n",
          "reload.sh": "#!/bin/sh\necho {version}\n"}
DATA_FOLDERS = ["a/b", "config/state", "data"]
VALUES = {"DB_PASSWORD": "s3cret-Pa55", "HTTP_PORT": 18080, "DEBUG": False}
DEFAULTS = "HTTP_PORT=8080\nDB_PASSWORD=\nLOG_LEVEL=info\n"
# Every file of data starts so, and no file upgrader writes does: nothing may be lost or doubled.
DATA = "DATA:"

KILLED, COMPLETED, FAILED = 77, 0, 1
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
MUTATIONS = ("rename", "replace", "unlink", "remove", "rmdir", "mkdir", "symlink", "link", "chmod", "fchmod",
             "lchmod", "chown", "lchown", "fchown", "utime", "truncate", "ftruncate", "write", "sendfile",
             "copy_file_range", "setxattr", "removexattr")
REAL_OPEN = builtins.open
REAL_REPLACE = os.replace


# -- a server to crash ---------------------------------------------------------------------------


def write_release(releases: Path, version: str) -> Path:
    """``releases/<version>/`` as extraction leaves it: files read-only; its folders 0777, as
    under umask 000 (the export must not copy that)."""
    release = releases / version
    (release / "config").mkdir(parents=True)
    (release / "compose.yaml").write_text(COMPOSE.format(version=version))
    (release / "defaults.env").write_text(DEFAULTS)
    for rel, text in CONFIG.items():
        path = release / "config" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(version=version))
        path.chmod(0o555 if rel.endswith(".sh") else 0o444)
    (release / "config" / "current.conf").symlink_to("app.conf")
    for folder, _, _ in os.walk(release / "config"):
        os.chmod(folder, 0o777)  # noqa: S103 - what the export must not copy
    return release


def run_data(releases: Path, version: str) -> dict[str, Any]:
    """``run["data"]`` as extract leaves it for the export step."""
    return {"release_dir": str(releases / version), "data_folders": list(DATA_FOLDERS)}


def make_context(root: Path, version: str, data: dict[str, Any],
                 checkpoint: Callable[[dict[str, Any]], None] | None = None) -> Context:
    run: dict[str, Any] = {"run_id": f"run-{version}", "from_version": None, "to_version": version, "data": data}
    project = Project(root=root, name="demo", config={"values": VALUES})
    return Context(project=project, run=run, step="export", params={}, journal=lambda event, detail: None,
                   checkpoint=(lambda: checkpoint(data)) if checkpoint else lambda: None,
                   progress=lambda detail: None)


def write_legacy(folder: Path, version: str, data: dict[str, str]) -> None:
    """An export as an upgrader before data folders wrote it: the data inside it."""
    (folder / "config").mkdir(parents=True)
    (folder / "compose.yaml").write_text(COMPOSE.format(version=version))
    (folder / ".env").write_text(render_env(DEFAULTS, VALUES))
    (folder / ".env").chmod(0o600)
    for rel, text in CONFIG.items():
        (folder / "config" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "config" / rel).write_text(text.format(version=version))
    (folder / MARKER).write_text(json.dumps({"run_id": f"run-{version}", "version": version}) + "\n")
    for rel, text in data.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def build_server(root: Path, releases: Path, kind: str) -> None:
    """``projects/demo/`` with ``export/`` of 1.0.0 and ``export.prev/`` of 0.9.0, which holds a
    file put there by hand (the export step keeps it in lost+found). ``linked``: exports as this
    upgrader writes them, the data in ``data/``; ``legacy``: the data inside the exports."""
    project_dir = root / "projects" / "demo"
    project_dir.mkdir(parents=True)
    if kind == "linked":
        for version in ("0.9.0", "1.0.0"):
            export(make_context(root, version, run_data(releases, version)))
        for rel in DATA_FOLDERS:
            (project_dir / "data" / rel / "db.txt").write_text(f"{DATA} {rel} of 1.0.0\n")
    else:
        write_legacy(project_dir / "export.prev", "0.9.0", {f"{rel}/db.txt": f"{DATA} {rel} of 0.9.0\n"
                                                             for rel in DATA_FOLDERS})
        write_legacy(project_dir / "export", "1.0.0", {f"{rel}/db.txt": f"{DATA} {rel} of 1.0.0\n"
                                                       for rel in DATA_FOLDERS})
    (project_dir / "export.prev" / "notes.txt").write_text(f"{DATA} put there by hand\n")


Tree = dict[str, tuple[Any, ...]]


def tree(folder: Path) -> Tree:
    """Every entry under ``folder`` (links not followed): a file's mode and bytes, a folder's
    mode, a link's target; a lost+found folder's time stamp left out."""
    found: Tree = {}
    if not folder.exists():
        return found
    for parent, folders, names in os.walk(folder):
        for name in ["", *folders, *names]:
            path = os.path.join(parent, name) if name else parent
            rel = os.path.relpath(path, folder)
            if rel.startswith("lost+found/"):
                parts = rel.split("/")
                rel = "/".join(["lost+found", "*", *parts[2:]])
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("folder", oct(stat.S_IMODE(info.st_mode)))
            else:
                found[rel] = ("file", oct(stat.S_IMODE(info.st_mode)), Path(path).read_bytes())
    return found


def data_texts(folder: Path) -> list[str]:
    return sorted(text for entry in tree(folder).values() if entry[0] == "file"
                  for text in [entry[2].decode()] if text.startswith(DATA))


def subtree(whole: Tree, prefix: str) -> Tree:
    return {rel.removeprefix(prefix + "/") if rel != prefix else ".": entry for rel, entry in whole.items()
            if rel == prefix or rel.startswith(prefix + "/")}


# -- kills ---------------------------------------------------------------------------------------


def arm(crash_at: int, report: Path) -> None:
    """From now on (in this child), die at the ``crash_at``-th filesystem change."""
    calls = [0]

    def count(what: str, args: tuple[Any, ...]) -> None:
        calls[0] += 1
        if calls[0] == crash_at:
            with REAL_OPEN(report, "w") as stream:
                stream.write(f"killed before {what}{args!r}\n")
            os._exit(KILLED)

    def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name == "open":
                flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
                if flags & WRITE_FLAGS:
                    count(name, args)
            elif name == "builtins.open":
                mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
                if set(mode) & set("wax+"):
                    count(name, args)
            else:
                count(name, args)
            return real(*args, **kwargs)
        return wrapper

    for name in (*MUTATIONS, "open"):
        if hasattr(os, name):
            setattr(os, name, wrap(name, getattr(os, name)))
    opener = wrap("builtins.open", builtins.open)
    builtins.open = opener
    io.open = opener  # pathlib's


def run_killed(action: Callable[[Context], None], root: Path, version: str, state: Path, crash_at: int) -> int:
    """Run ``action`` in a child that dies at the ``crash_at``-th filesystem change; its context's
    data is read from, and checkpointed to, ``state``. Returns KILLED, COMPLETED or FAILED."""
    report = state.with_name("report.txt")
    report.unlink(missing_ok=True)
    data = json.loads(state.read_text())

    def checkpoint(current: dict[str, Any]) -> None:  # run.json: written whole, not counted
        with REAL_OPEN(f"{state}.tmp", "w") as stream:
            json.dump(current, stream)
        REAL_REPLACE(f"{state}.tmp", state)

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = FAILED
        try:
            arm(crash_at, report)
            action(make_context(root, version, data, checkpoint))
            code = COMPLETED
        except BaseException:
            with contextlib.suppress(BaseException), REAL_OPEN(report, "w") as stream:
                stream.write(traceback.format_exc())
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (KILLED, COMPLETED), f"{action.__name__} failed at kill point {crash_at}:\n" + (
        report.read_text() if report.exists() else f"exit {code}")
    return code


def resume(action: Callable[[Context], None], root: Path, version: str, state: Path) -> None:
    """Run ``action`` in this process (a new process, as it were) from the checkpoint a killed run
    left; what it checkpoints, and its data when it is done, go back to ``state``."""
    def checkpoint(current: dict[str, Any]) -> None:
        state.write_text(json.dumps(current))

    context = make_context(root, version, json.loads(state.read_text()), checkpoint)
    action(context)
    checkpoint(context.data)


@dataclass
class Rig:
    """One file system to crash on: a template server, the state an uncrashed export leaves, and
    a folder either is copied to for each kill."""

    base: Path
    kind: str

    def __post_init__(self) -> None:
        self.releases = self.base / "releases"
        for version in ("0.9.0", "1.0.0", "1.1.0"):
            write_release(self.releases, version)
        self.template = self.base / "template"
        build_server(self.template, self.releases, self.kind)
        self.before = tree(self.template / "projects" / "demo")
        self.work = self.base / "work"
        self.state = self.base / "state.json"
        self.fresh(exported=False)
        assert run_killed(export, self.work, "1.1.0", self.state, 0) == COMPLETED
        self.exported = tree(self.project_dir)
        self.exported_state = self.state.read_text()
        shutil.copytree(self.work, self.base / "exported", symlinks=True)

    @property
    def project_dir(self) -> Path:
        return self.work / "projects" / "demo"

    def fresh(self, exported: bool) -> None:
        """The work folder and checkpoint as before the export, or as the uncrashed export left them."""
        if self.work.exists():
            shutil.rmtree(self.work)
        if exported:
            shutil.copytree(self.base / "exported", self.work, symlinks=True)
            self.state.write_text(self.exported_state)
        else:
            shutil.copytree(self.template, self.work, symlinks=True)
            self.state.write_text(json.dumps(run_data(self.releases, "1.1.0")))


def assert_no_leftovers(project_dir: Path, where: str) -> None:
    names = sorted(entry.name for entry in project_dir.iterdir())
    assert "export.new" not in names and not [name for name in names if REMOVING in name], f"{where}: {names}"


def assert_exported(rig: Rig, where: str) -> None:
    """Exactly what the uncrashed export left: export/ the new export whole, export.prev/ the
    old one whole (its data moved out, when it held data), the data and lost+found."""
    assert_no_leftovers(rig.project_dir, where)
    now = tree(rig.project_dir)
    for prefix in ("export", "export.prev", "data", "lost+found"):
        assert subtree(now, prefix) == subtree(rig.exported, prefix), f"{where}: {prefix}/ differs"
    assert now == rig.exported, where


def assert_restored(rig: Rig, where: str) -> None:
    """export/ exactly the export the run replaced, byte for byte, mode for mode; no data lost;
    export.prev/ the old one, less what the export step moved to lost+found, or gone."""
    assert_no_leftovers(rig.project_dir, where)
    now = tree(rig.project_dir)
    assert subtree(now, "export") == subtree(rig.before, "export"), f"{where}: export/ is not the old export"
    previous, old = subtree(now, "export.prev"), subtree(rig.before, "export.prev")
    kept = subtree(now, "lost+found/*")
    assert all(old.get(rel) == entry for rel, entry in previous.items()), f"{where}: export.prev/ changed"
    if previous:
        assert all(rel in previous or kept.get(rel) == entry for rel, entry in old.items() if entry[0] == "file"), (
            f"{where}: export.prev/ lost files")
    assert data_texts(rig.project_dir) == data_texts(rig.template / "projects" / "demo"), where


def kill_points(rig: Rig, action: Callable[[Context], None], recover: Callable[[int], None]) -> dict[str, int]:
    """Kill ``action`` at the 1st, 2nd, … filesystem change; ``recover(n)`` after each. Returns
    how many kills there were at each kind of change. ``restore_export`` starts from the
    uncrashed export."""
    kinds: dict[str, int] = {}
    point = 1
    while True:
        rig.fresh(exported=action is restore_export)
        if run_killed(action, rig.work, "1.1.0", rig.state, point) == COMPLETED:
            return kinds
        kind = rig.state.with_name("report.txt").read_text().split()[2].split("(")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
        recover(point)
        point += 1


# -- the file systems ----------------------------------------------------------------------------


@pytest.fixture(params=["tmpfs", "ext4"])
def filesystem(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A folder on a small tmpfs mounted for the test (root only), or tmp_path."""
    if request.param == "ext4":
        yield tmp_path
        return
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        assert subprocess.run(["stat", "-f", "-c", "%T", str(mount)], capture_output=True, text=True,
                              check=True).stdout.strip() == "tmpfs"
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture(params=["linked", "legacy"])
def rig(request: pytest.FixtureRequest, filesystem: Path) -> Rig:
    return Rig(filesystem, request.param)


# -- the crash tests -----------------------------------------------------------------------------


def test_the_uncrashed_export_writes_the_new_export_whole_and_keeps_the_old_one(rig: Rig) -> None:
    new, old = subtree(rig.exported, "export"), subtree(rig.exported, "export.prev")
    release = rig.releases / "1.1.0"
    assert new["compose.yaml"] == ("file", "0o644", (release / "compose.yaml").read_bytes())
    env = new[".env"][2].decode()
    assert new[".env"][:2] == ("file", "0o600") and env == render_env(DEFAULTS, VALUES)
    assert "DB_PASSWORD=s3cret-Pa55\n" in env and "HTTP_PORT=18080\n" in env and "LOG_LEVEL=info\n" in env
    for rel, text in CONFIG.items():
        assert new[f"config/{rel}"][2] == text.format(version="1.1.0").encode()
    assert new["config/current.conf"] == ("link", "app.conf")
    assert json.loads(new[MARKER][2]) == {"run_id": "run-1.1.0", "version": "1.1.0", "data": DATA_FOLDERS,
                                          "values_sha256": values_digest(VALUES)}
    assert new["data"] == ("link", "../data/data") and new["a/b"] == ("link", "../../data/a/b")
    assert new["config/state"] == ("link", "../../data/config/state")
    if rig.kind == "linked":
        assert old == subtree(rig.before, "export")  # the old export, whole
    else:  # the old export without the data it held, which is in data/ now
        assert old == {rel: entry for rel, entry in subtree(rig.before, "export").items()
                       if not any(rel == folder or rel.startswith(folder + "/") for folder in DATA_FOLDERS)}
    assert data_texts(rig.work) == data_texts(rig.template)
    kept = {rel.removeprefix("lost+found/*/"): entry[2].decode() for rel, entry in rig.exported.items()
            if rel.startswith("lost+found/*/") and entry[0] == "file"}
    legacy = {f"{rel}/db.txt": f"{DATA} {rel} of 0.9.0\n" for rel in DATA_FOLDERS} if rig.kind == "legacy" else {}
    assert kept == {"notes.txt": f"{DATA} put there by hand\n", **legacy}


def test_export_killed_anywhere_then_resumed_or_rolled_back_converges(rig: Rig) -> None:
    crashed = rig.base / "crashed"

    def recover(point: int) -> None:
        shutil.copytree(rig.work, crashed, symlinks=True)
        state = rig.state.read_text()
        resume(export, rig.work, "1.1.0", rig.state)
        assert_exported(rig, f"export killed at change {point}, resumed")
        resume(restore_export, rig.work, "1.1.0", rig.state)
        assert_restored(rig, f"export killed at change {point}, resumed, rolled back")
        # The same crash, rolled back instead.
        shutil.rmtree(rig.work)
        crashed.rename(rig.work)
        rig.state.write_text(state)
        resume(restore_export, rig.work, "1.1.0", rig.state)
        assert_restored(rig, f"export killed at change {point}, rolled back")
        resume(restore_export, rig.work, "1.1.0", rig.state)
        assert_restored(rig, f"export killed at change {point}, rolled back twice")

    kinds = kill_points(rig, export, recover)
    # Into rmtree (unlink, rmdir), copytree (sendfile, utime) and every write of the export.
    assert {"rename", "mkdir", "open", "builtins.open", "write", "fchmod", "chmod", "sendfile", "utime", "symlink",
            "unlink", "rmdir"} <= set(kinds), kinds
    print(f"export ({rig.kind}): {sum(kinds.values())} kill points {kinds}")


def test_restore_export_killed_anywhere_then_run_again_converges(rig: Rig) -> None:
    def recover(point: int) -> None:
        resume(restore_export, rig.work, "1.1.0", rig.state)
        assert_restored(rig, f"restore_export killed at change {point}, run again")

    kinds = kill_points(rig, restore_export, recover)
    assert {"rename", "unlink", "rmdir"} <= set(kinds), kinds
    print(f"restore_export ({rig.kind}): {sum(kinds.values())} kill points {kinds}")


# -- modes ---------------------------------------------------------------------------------------


def expected_mode(rel: str, release: Path) -> str:
    """The mode the module docstring of upgrader.actions.export promises for ``rel`` of an export."""
    if rel == ".":
        return oct(0o700)  # closed to other users: .env is in it
    if rel == ".env":
        return oct(0o600)
    if rel in ("compose.yaml", MARKER):
        return oct(0o644)
    shipped = release / rel
    if not shipped.is_file():
        return oct(0o755)  # config/'s folders, folders of data folders' links: read by containers' users
    return oct((stat.S_IMODE(shipped.stat().st_mode) | 0o200) & 0o755)  # as shipped; only its owner writes


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_under_umask_000_every_file_and_folder_of_an_export_has_its_documented_mode(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    for version in ("1.0.0", "1.1.0"):
        write_release(releases, version)
        (releases / version / "config" / "ca.pem").chmod(0o640)  # a release may ship a file closed to others
        (releases / version / "config" / "nginx" / "site.conf").chmod(0o777)  # must not be copied
    root = tmp_path / "root"
    (root / "projects" / "demo").mkdir(parents=True)
    with umask(0):
        for version in ("1.0.0", "1.1.0"):
            export(make_context(root, version, run_data(releases, version)))
    project_dir = root / "projects" / "demo"
    for name, version in (("export", "1.1.0"), ("export.prev", "1.0.0")):
        modes = {rel: entry[1] for rel, entry in tree(project_dir / name).items() if entry[0] != "link"}
        wrong = {rel: mode for rel, mode in modes.items() if mode != expected_mode(rel, releases / version)}
        assert not wrong, f"{name}: {wrong}"
        assert modes["config/ca.pem"] == "0o640" and modes["config/nginx/site.conf"] == "0o755"
        assert modes["config/reload.sh"] == "0o755" and modes["config/app.conf"] == "0o644"
        assert len(modes) == 13, modes  # ., .env, compose.yaml, marker, a/, config/ and its 2 folders, 5 files
    data = {rel: entry[1] for rel, entry in tree(project_dir / "data").items()}
    assert set(data.values()) == {"0o755"}, data  # what Docker would create


POLLER = r"""
import json, os, stat, sys
stop, ready, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = {path: {} for path in paths}
open(ready, "w").close()
while not os.path.exists(stop):
    for path in paths:
        try:
            mode = oct(stat.S_IMODE(os.stat(path).st_mode))
        except OSError:
            continue
        seen[path][mode] = seen[path].get(mode, 0) + 1
print(json.dumps(seen))
"""


def test_env_is_never_readable_by_others_while_an_export_is_written(tmp_path: Path) -> None:
    """Another process polls the mode of ``export.new/.env`` (and of ``export.new/``, ``export/.env``,
    ``export.prev/.env``) while 200 exports run under umask 000: .env is only ever seen 0600."""
    releases = tmp_path / "releases"
    for version in ("1.0.0", "1.1.0"):
        write_release(releases, version)
    root = tmp_path / "root"
    project_dir = root / "projects" / "demo"
    project_dir.mkdir(parents=True)
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    watched = [project_dir / "export.new" / ".env", project_dir / "export.new", project_dir / "export" / ".env",
               project_dir / "export.prev" / ".env"]
    poller = subprocess.Popen([sys.executable, "-c", POLLER, str(stop), str(ready), *map(str, watched)],
                              stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not ready.exists():
            assert time.monotonic() < deadline and poller.poll() is None, "the poller did not start"
            time.sleep(0.01)
        with umask(0):
            for number in range(200):
                version = ("1.0.0", "1.1.0")[number % 2]
                context = make_context(root, version, run_data(releases, version))
                context.run["run_id"] = f"run-{number}"
                export(context)
        stop.touch()
        output, _ = poller.communicate(timeout=15)
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait()
    seen = {Path(path).relative_to(project_dir).as_posix(): modes for path, modes in json.loads(output).items()}
    assert set(seen["export.new/.env"]) <= {"0o600"}, seen
    assert set(seen["export.new"]) <= {"0o700"}, seen
    assert set(seen["export/.env"]) == set(seen["export.prev/.env"]) == {"0o600"}, seen
    assert seen["export.new/.env"], f"the poller never saw export.new/.env: {seen}"
    print(f"modes seen: {seen}")
