"""Data folders beside compose.yaml (``upgrader.datadirs``): the ``export`` action and its undo
``restore_export`` on real files, with the real ``docker compose config``.

A crash is simulated by raising at the n-th ``os.rename``/``os.replace`` of the action; what the
next attempt sees of ``run["data"]`` is what was checkpointed before the crash, as after a real
kill. Whatever happened, the action (resumed) or its undo converges, and no byte of data is lost.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from upgrader.actions.base import Context
from upgrader.actions.export import MARKER, export, restore_export
from upgrader.datadirs import DataFolder, data_folders, release_data_folders
from upgrader.errors import ActionError
from upgrader.project import Project

# Short and long syntax, a folder nested in a shipped one, a path from .env, and what is no
# data folder: a shipped file, a host path outside the export, a named volume.
COMPOSE = """services:
  worker:
    image: 127.0.0.1:5000/acme/worker:{version}
    volumes:
      - ./data:/data
      - type: bind
        source: ./a/b
        target: /b
      - ./config/state:/state
      - ${{LOGS}}:/logs
      - ./config/app.conf:/etc/app.conf:ro
      - /srv/outside-the-export:/outside
      - cache:/cache
volumes:
  cache: {{}}
"""
FOLDERS = ["a/b", "config/state", "data", "var/logs"]
LEGACY = {"data/log": "1.0.0\n", "a/b/file": "b of 1.0.0\n", "config/state/db": "state of 1.0.0\n",
          "var/logs/app.log": "logged by 1.0.0\n"}


class Run:
    """One run's ``run.json`` as far as the export step sees it: ``data``, and what of it was
    checkpointed (all a crashed process leaves behind)."""

    def __init__(self, project: Project, to_version: str = "1.1.0") -> None:
        self.project = project
        self.run: dict[str, Any] = {"run_id": f"run-{to_version}", "from_version": "1.0.0",
                                    "to_version": to_version, "data": {}}
        self.saved: dict[str, Any] = {}
        self.events: list[tuple[str, Any]] = []

    def context(self) -> Context:
        return Context(project=self.project, run=self.run, step="export", params={},
                       journal=lambda event, detail: self.events.append((event, detail)),
                       checkpoint=self.checkpoint, progress=lambda detail: None)

    def checkpoint(self) -> None:
        self.saved = copy.deepcopy(self.run["data"])

    def crashed(self) -> None:
        """The process died: the next attempt reads the last checkpoint."""
        self.run["data"] = copy.deepcopy(self.saved)


class Crash(Exception):
    """The simulated kill."""


@pytest.fixture
def crash_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[int | None], list[str]]:
    """``crash_at(n)``: from now on the n-th (0-based) os.rename/os.replace raises ``Crash``
    instead of renaming (None: never); returns the list the renames are recorded in."""

    def arm(when: int | None) -> list[str]:
        calls: list[str] = []
        for name in ("rename", "replace"):
            real = getattr(os, name)

            def fake(source: Any, target: Any, *args: Any, _real: Any = real, **kwargs: Any) -> None:
                if when is not None and len(calls) == when:
                    calls.append(f"crash before {source} -> {target}")
                    raise Crash(f"{source} -> {target}")
                calls.append(f"{source} -> {target}")
                _real(source, target, *args, **kwargs)

            monkeypatch.setattr(os, name, fake)
        return calls

    return arm


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "root"
    (root / "projects" / "demo").mkdir(parents=True)
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        release = root / "releases" / version
        (release / "config").mkdir(parents=True)
        (release / "compose.yaml").write_text(COMPOSE.format(version=version))
        (release / "defaults.env").write_text("LOGS=./logs\n")
        (release / "config" / "app.conf").write_text(f"version={version}\n")
    return Project(root=root, name="demo", config={"values": {"LOGS": "./var/logs"}})


def files(folder: Path) -> dict[str, str]:
    """Every regular file under ``folder`` (symlinks not followed) → its text."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = path.read_text()
    return found


def data_texts(project: Project) -> list[str]:
    """The text of every data file anywhere under the project, sorted (config/app.conf, .env,
    compose.yaml and markers left out: the export step writes those)."""
    return sorted(text for rel, text in files(project.dir).items()
                  if not rel.endswith(("compose.yaml", ".env", "app.conf", MARKER, "project.yaml")))


def write_legacy_export(project: Project, folder: str = "export", version: str = "1.0.0") -> Path:
    """An export as upgrader wrote it before data folders: the data inside it."""
    export_dir = project.dir / folder
    (export_dir / "config").mkdir(parents=True)
    (export_dir / "compose.yaml").write_text(COMPOSE.format(version=version))
    (export_dir / ".env").write_text("LOGS=./var/logs\n")
    (export_dir / "config" / "app.conf").write_text(f"version={version}\n")
    (export_dir / MARKER).write_text(json.dumps({"run_id": f"run-{version}", "version": version}) + "\n")
    for rel, text in LEGACY.items():
        (export_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (export_dir / rel).write_text(text)
    return export_dir


def install(project: Project, version: str = "1.0.0") -> Run:
    run = Run(project, version)
    run.run["from_version"] = None
    export(run.context())
    return run


def assert_linked(project: Project, *names: str) -> None:
    """``export/`` (and the export folders ``names``) reach the data folders through relative links."""
    for name in ("export", *names):
        folder = project.dir / name
        for rel in FOLDERS:
            link = folder / rel
            assert link.is_symlink(), f"{link} is not a link"
            assert not os.readlink(link).startswith("/")
            assert link.resolve() == (project.dir / "data" / rel).resolve()


# -- which folders are data --------------------------------------------------------------------


def test_release_data_folders_reads_both_syntaxes_and_values_over_defaults(project: Project) -> None:
    release = project.releases_dir / "1.1.0"
    assert release_data_folders(release, {"LOGS": "./var/logs"}) == FOLDERS
    assert release_data_folders(release, {}) == ["a/b", "config/state", "data", "logs"]
    assert sorted(path.name for path in project.releases_dir.iterdir()) == ["1.0.0", "1.1.0", "1.2.0"]


def test_release_data_folders_of_a_bad_compose_file_is_the_release_s_fault(project: Project) -> None:
    release = project.releases_dir / "1.2.0"
    (release / "compose.yaml").write_text("services:\n  web:\n    imag: x\n")
    with pytest.raises(ActionError, match=r"1\.2\.0/compose\.yaml is not a valid Compose file: .*imag") as caught:
        release_data_folders(release, {})
    assert caught.value.release_fault and not caught.value.retryable
    assert "\n" not in str(caught.value)


def test_a_folder_inside_a_data_folder_is_part_of_it(project: Project) -> None:
    release = project.releases_dir / "1.2.0"
    (release / "compose.yaml").write_text(
        "services:\n  w:\n    image: x:1\n    volumes: ['./data:/data', './data/sub:/sub', '.:/all']\n")
    assert release_data_folders(release, {}) == ["data"]


# -- install, upgrade, rollback ------------------------------------------------------------------


def test_first_install_links_empty_data_folders(project: Project) -> None:
    install(project)
    export_dir = project.export_dir
    assert os.readlink(export_dir / "data") == "../data/data"
    assert os.readlink(export_dir / "a" / "b") == "../../data/a/b"
    assert os.readlink(export_dir / "config" / "state") == "../../data/config/state"
    for rel in FOLDERS:
        folder = project.dir / "data" / rel
        assert folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir())
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert json.loads((export_dir / MARKER).read_text())["data"] == FOLDERS
    assert data_folders(project) == [DataFolder(rel, (project.dir / "data" / rel).resolve()) for rel in FOLDERS]


def test_upgrade_and_its_undo_never_move_the_data(project: Project) -> None:
    install(project)
    (project.export_dir / "data" / "log").write_text("1.0.0\n")
    inode = (project.dir / "data" / "data").stat().st_ino
    run = Run(project)
    export(run.context())
    assert (project.export_dir / "data" / "log").read_text() == "1.0.0\n"
    assert (project.dir / "export.prev" / "data" / "log").read_text() == "1.0.0\n"
    assert_linked(project, "export.prev")
    restore_export(run.context())
    assert json.loads((project.export_dir / MARKER).read_text())["version"] == "1.0.0"
    assert (project.export_dir / "data" / "log").read_text() == "1.0.0\n"
    assert (project.dir / "data" / "data").stat().st_ino == inode
    assert_linked(project)
    assert not any(event == "export_kept" for event, _ in run.events)


def test_no_export_has_no_data_folders(project: Project) -> None:
    assert data_folders(project) == []


def test_an_absolute_path_outside_the_export_is_left_alone(project: Project) -> None:
    install(project)
    assert [folder.rel for folder in data_folders(project)] == FOLDERS
    assert not (project.dir / "data" / "srv").exists()
    assert not Path("/srv/outside-the-export").exists()


# -- migration of an export written before data folders ---------------------------------------


def test_migration_moves_the_data_out_and_its_undo_moves_it_back(project: Project) -> None:
    legacy = write_legacy_export(project)
    # Not config/state: inside config/, a real folder cannot be told from one the release ships.
    assert data_folders(project) == [DataFolder(rel, legacy / rel) for rel in FOLDERS if rel != "config/state"]
    run = Run(project)
    export(run.context())
    assert run.run["data"]["data_moved"] == FOLDERS
    assert run.saved["data_moved"] == FOLDERS  # checkpointed: a crash would not forget
    for rel, text in LEGACY.items():
        assert (project.dir / "data" / rel).read_text() == text
        assert (project.export_dir / rel).read_text() == text
    assert_linked(project)
    assert [event for event, _ in run.events].count("data_moved") == len(FOLDERS)
    restore_export(run.context())
    assert files(project.export_dir) == files_of_legacy(project)
    assert not (project.dir / "export.prev").exists()
    assert data_texts(project) == sorted(LEGACY.values())


def files_of_legacy(project: Project, version: str = "1.0.0") -> dict[str, str]:
    return {"compose.yaml": COMPOSE.format(version=version), ".env": "LOGS=./var/logs\n",
            "config/app.conf": f"version={version}\n",
            MARKER: json.dumps({"run_id": f"run-{version}", "version": version}) + "\n", **LEGACY}


def test_data_in_both_places_fails_naming_both_and_moves_nothing(project: Project) -> None:
    legacy = write_legacy_export(project)
    (project.dir / "data" / "data").mkdir(parents=True)
    (project.dir / "data" / "data" / "log").write_text("other\n")
    before = files(project.dir)
    run = Run(project)
    with pytest.raises(ActionError) as caught:
        export(run.context())
    message = str(caught.value)
    assert str(legacy / "data") in message and str(project.dir / "data" / "data") in message
    assert "\n" not in message and not caught.value.retryable
    written = {rel: text for rel, text in files(project.dir).items() if not rel.startswith("export.new/")}
    assert written == before  # checked before anything moved: a/b and config/state too
    assert "data_moved" not in run.saved
    restore_export(run.context())
    assert files(project.dir) == before


# -- nothing is lost when export.prev/ is removed ---------------------------------------------


def test_what_an_old_export_prev_holds_goes_to_lost_and_found(project: Project) -> None:
    install(project)
    export(Run(project, "1.1.0").context())
    previous = project.dir / "export.prev"
    (previous / "data").unlink()
    (previous / "data").mkdir()
    (previous / "data" / "log").write_text("legacy line\n")
    (previous / "notes.txt").write_text("by hand\n")
    (previous / "a" / "c").write_text("beside a data folder's link\n")
    run = Run(project, "1.2.0")
    export(run.context())
    kept = [event for event in run.events if event[0] == "export_kept"]
    assert len(kept) == 1
    target = Path(kept[0][1]["to"])
    assert target.parent == project.dir / "lost+found" and target.name.endswith("-1.0.0")
    assert files(target) == {"data/log": "legacy line\n", "notes.txt": "by hand\n",
                             "a/c": "beside a data folder's link\n"}
    assert kept[0][1]["entries"] == ["a/c", "data", "notes.txt"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert_linked(project)


def test_a_prev_export_without_marker_is_kept_as_unknown(project: Project) -> None:
    install(project)
    previous = write_legacy_export(project, "export.prev")
    (previous / MARKER).unlink()
    run = Run(project)
    export(run.context())
    target = Path(run.run["data"]["export_kept"])
    assert target.name.endswith("-unknown")
    assert files(target) == LEGACY


# -- crashes at every rename -------------------------------------------------------------------


def legacy_server(project: Project) -> None:
    """A server from before data folders: data in export/, and an export.prev/ with data too."""
    write_legacy_export(project)
    previous = write_legacy_export(project, "export.prev", "0.9.0")
    for rel in LEGACY:
        (previous / rel).write_text(f"0.9.0's {rel}\n")


def renames_of(action: Callable[[Context], None], run: Run, crash_at: Callable[[int | None], list[str]]) -> int:
    calls = crash_at(None)
    action(run.context())
    return len(calls)


def crash_points(project: Project, crash_at: Callable[[int | None], list[str]]) -> range:
    """0, 1, … up to the number of renames the export of a legacy server does."""
    legacy_server(project)
    count = renames_of(export, Run(project), crash_at)
    crash_at(None)
    assert count == len(FOLDERS) * 2 + 3  # migrations, lost+found, export.prev renamed to be removed, the swap
    return range(count)


def fresh(project: Project) -> None:
    """The project folder as before the test: only project.yaml."""
    for name in ("export", "export.prev", "export.new", "data", "lost+found"):
        shutil.rmtree(project.dir / name, ignore_errors=True)


def all_texts() -> list[str]:
    return sorted([*LEGACY.values(), *(f"0.9.0's {rel}\n" for rel in LEGACY)])


def assert_upgraded(project: Project) -> None:
    assert json.loads((project.export_dir / MARKER).read_text())["version"] == "1.1.0"
    for rel, text in LEGACY.items():
        assert (project.export_dir / rel).read_text() == text
    assert_linked(project)
    assert not (project.dir / "export.new").exists()
    assert data_texts(project) == all_texts()
    [kept] = (project.dir / "lost+found").iterdir()  # one folder, also when resumed after a crash
    assert files(kept) == {rel: f"0.9.0's {rel}\n" for rel in LEGACY}


def assert_restored(project: Project) -> None:
    assert files(project.export_dir) == files_of_legacy(project)
    assert not (project.dir / "export.new").exists()
    assert data_texts(project) == all_texts()


def test_export_crashed_at_every_rename_then_resumed_converges(
        project: Project, crash_at: Callable[[int | None], list[str]]) -> None:
    for point in crash_points(project, crash_at):
        fresh(project)
        legacy_server(project)
        run = Run(project)
        crash_at(point)
        with pytest.raises(Crash):
            export(run.context())
        crash_at(None)
        run.crashed()
        assert data_texts(project) == all_texts(), f"crash at rename {point}"
        export(run.context())
        assert_upgraded(project)


def test_export_crashed_at_every_rename_then_rolled_back_converges(
        project: Project, crash_at: Callable[[int | None], list[str]]) -> None:
    for point in crash_points(project, crash_at):
        fresh(project)
        legacy_server(project)
        run = Run(project)
        crash_at(point)
        with pytest.raises(Crash):
            export(run.context())
        crash_at(None)
        run.crashed()
        restore_export(run.context())
        assert_restored(project)
        restore_export(run.context())  # a rollback run again changes nothing
        assert_restored(project)


def test_restore_export_crashed_at_every_rename_then_run_again_converges(
        project: Project, crash_at: Callable[[int | None], list[str]]) -> None:
    legacy_server(project)
    run = Run(project)
    export(run.context())
    count = renames_of(restore_export, run, crash_at)
    assert count == 2 + len(FOLDERS)  # export renamed to be removed, export.prev back, the data back
    for point in range(count):
        fresh(project)
        legacy_server(project)
        run = Run(project)
        export(run.context())
        crash_at(point)
        with pytest.raises(Crash):
            restore_export(run.context())
        crash_at(None)
        run.crashed()
        assert data_texts(project) == all_texts(), f"crash at rename {point}"
        restore_export(run.context())
        assert_restored(project)
