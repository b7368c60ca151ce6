"""The snapshot store (upgrader/snapshot/manifest.py) and the decisions about snapshots that
commands make (upgrader/commands/snapshots.py): manifests refused when missing, incomplete,
corrupt or another's; which snapshots a retention keeps; what a rollback says it will do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from upgrader import engine
from upgrader.commands.snapshots import protected, retain, rollback_notices
from upgrader.errors import ConfigError, UsageError
from upgrader.project import Project
from upgrader.snapshot import items, tree
from upgrader.snapshot import manifest as store
from upgrader.store import ProjectStore

NAME = "acme"


def run_id(second: int) -> str:
    return f"20261130T0300{second:02d}Z-abcdef"


def make_snapshot(root: Path, identifier: str, *, complete: bool = True, files: dict[str, bytes] | None = None,
                  project: str = NAME) -> dict[str, Any]:
    """A snapshot of one host folder holding ``files``, as the snapshot actions leave it."""
    path = store.folder(root, NAME, identifier)
    source = root / "source" / identifier
    source.mkdir(parents=True)
    for name, content in (files or {"a.txt": b"hello\n"}).items():
        (source / name).write_bytes(content)
    manifest = store.new(project, identifier, "1.0.0", "1.1.0")
    item = {"kind": "path", "name": str(source), "dir": store.item_dir("path", str(source)), "method": "host",
            "driver": None, "labels": None, "options": None, "image": None, "files": 0, "bytes": 0,
            "digest": None, "complete": complete}
    listing = tree.sync(source, path / item["dir"])
    listing.dump(path / f"{item['dir']}.listing")
    item.update(files=listing.files, bytes=listing.bytes, digest=listing.digest())
    manifest.update(volumes=[item], complete=complete, stopped_at=manifest["created_at"],
                    completed_at=manifest["created_at"] if complete else None)
    store.write(path, manifest)
    return manifest


def project_at(root: Path, **snapshot: object) -> Project:
    return Project(root=root, name=NAME, config={"snapshot": snapshot} if snapshot else {})


# -- manifests ---------------------------------------------------------------------------------


def test_a_complete_snapshot_loads(tmp_path: Path) -> None:
    written = make_snapshot(tmp_path, run_id(1))
    assert store.load(tmp_path, NAME, run_id(1)) == written


@pytest.mark.parametrize(("damage", "message"), [
    (lambda path: (path / "snapshot.json").unlink(), "has no manifest"),
    (lambda path: (path / "snapshot.json").write_text('{"schema": 1, "proj'), "corrupt (not valid JSON)"),
    (lambda path: (path / "snapshot.json").write_text('{"schema": 1}'), "corrupt: at '(top level)'"),
    (lambda path: (path / "snapshot.json").write_text('{"schema": 9}'), "written by a newer upgrader"),
    (lambda path: (path / "snapshot.json").write_bytes(b" " * (store.MAX_MANIFEST + 1)), "larger than"),
])
def test_a_damaged_manifest_is_refused_in_one_line(tmp_path: Path, damage: Any, message: str) -> None:
    make_snapshot(tmp_path, run_id(1))
    damage(store.folder(tmp_path, NAME, run_id(1)))
    with pytest.raises(store.SnapshotError) as raised:
        store.load(tmp_path, NAME, run_id(1))
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert raised.value.exit_code == 3


def test_an_incomplete_snapshot_is_never_restored(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1), complete=False)
    with pytest.raises(store.SnapshotError, match="incomplete"):
        store.load(tmp_path, NAME, run_id(1))


def test_a_snapshot_of_another_project_or_run_is_refused(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1), project="other")
    with pytest.raises(store.SnapshotError, match="snapshot of project 'other'"):
        store.load(tmp_path, NAME, run_id(1))
    make_snapshot(tmp_path, run_id(2))
    moved = store.folder(tmp_path, NAME, run_id(3))
    store.folder(tmp_path, NAME, run_id(2)).rename(moved)  # copied under another run's name
    with pytest.raises(store.SnapshotError, match=f"run {run_id(2)}, not of 'acme', run {run_id(3)}"):
        store.load(tmp_path, NAME, run_id(3))


def test_a_manifest_that_would_not_validate_is_never_written(tmp_path: Path) -> None:
    manifest = store.new(NAME, run_id(1), None, "1.0.0")
    manifest["complete"] = "yes"
    with pytest.raises(ValueError, match="snapshot manifest"):
        store.write(tmp_path / "snap", manifest)
    assert not (tmp_path / "snap" / "snapshot.json").exists()


def test_summaries_list_newest_first_and_show_a_damaged_one(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1))
    make_snapshot(tmp_path, run_id(2), complete=False)
    make_snapshot(tmp_path, run_id(3))
    (store.folder(tmp_path, NAME, run_id(3)) / "snapshot.json").write_text("garbage")
    found = store.summaries(tmp_path, NAME)
    assert [summary["run_id"] for summary in found] == [run_id(3), run_id(2), run_id(1)]
    assert [summary["complete"] for summary in found] == [False, False, True]
    assert "corrupt" in found[0]["error"] and found[1]["error"] is None
    assert found[2]["volumes"][0]["files"] == 1 and found[2]["bytes"] > 0


def test_a_removal_cut_short_never_leaves_something_that_looks_like_a_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_snapshot(tmp_path, run_id(1))

    def cut(*_: object, **__: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(store.shutil, "rmtree", cut)
    with pytest.raises(OSError):
        store.remove(tmp_path, NAME, run_id(1))
    assert store.run_ids(tmp_path, NAME) == []  # renamed out of the way before anything was deleted
    monkeypatch.undo()
    store.remove_leftovers(tmp_path, NAME)
    assert list(store.project_folder(tmp_path, NAME).iterdir()) == []


# -- which snapshots stay ------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProjectStore:
    """A project store whose run.json and installed.json are whatever a test says."""
    documents: dict[str, Any] = {"run": None, "installed": None}
    found = ProjectStore(tmp_path / "state" / NAME)
    monkeypatch.setattr(found, "read_run", lambda: documents["run"])
    monkeypatch.setattr(found, "read_installed", lambda: documents["installed"])
    found.documents = documents  # type: ignore[attr-defined]
    return found


def test_retention_keeps_the_newest_and_never_the_ones_a_rollback_may_need(tmp_path: Path, state: Any) -> None:
    for second in (1, 2, 3, 4):
        make_snapshot(tmp_path, run_id(second))
    make_snapshot(tmp_path, run_id(5), complete=False)  # a rolled-back run whose snapshot never completed
    state.documents["installed"] = {"version": "1.1.0", "run_id": run_id(2)}  # the last completed upgrade
    state.documents["run"] = {"run_id": run_id(5), "status": engine.ROLLED_BACK, "data": {}}

    removed = retain(project_at(tmp_path, keep=1), state)

    assert sorted(removed) == [run_id(1), run_id(3), run_id(5)]
    assert store.run_ids(tmp_path, NAME) == [run_id(4), run_id(2)]


def test_retention_never_removes_the_snapshot_of_a_run_in_progress(tmp_path: Path, state: Any) -> None:
    make_snapshot(tmp_path, run_id(1))
    make_snapshot(tmp_path, run_id(2), complete=False)
    state.documents["run"] = {"run_id": run_id(2), "status": engine.RUNNING, "data": {}}
    assert protected(state) == {run_id(2)}
    assert retain(project_at(tmp_path, keep=0), state) == [run_id(1)]
    assert store.run_ids(tmp_path, NAME) == [run_id(2)]


# -- what a rollback says, and refuses ------------------------------------------------------------


def a_run(status: str, snapshot: str | None) -> dict[str, Any]:
    return {"run_id": run_id(1), "status": status, "data": {"snapshot": snapshot} if snapshot else {}}


def test_a_rollback_of_a_completed_run_keeps_todays_data_and_names_the_snapshot(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1))
    [notice] = rollback_notices(project_at(tmp_path), a_run(engine.COMPLETED, run_id(1)), restore_data=False)
    assert notice.startswith("today's data is kept") and run_id(1) in notice


def test_restore_data_says_first_what_will_be_lost(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1))
    [notice] = rollback_notices(project_at(tmp_path), a_run(engine.COMPLETED, run_id(1)), restore_data=True)
    assert "everything written to them since is lost" in notice and "when 1.0.0 was stopped" in notice


def test_restore_data_without_a_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="took no data snapshot"):
        rollback_notices(project_at(tmp_path), a_run(engine.COMPLETED, None), restore_data=True)


def test_a_damaged_copy_is_refused_before_anything_is_undone(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1), files={"a.txt": b"hello\n", "b.bin": b"x" * 100})
    manifest = store.read(store.folder(tmp_path, NAME, run_id(1)))
    copy = store.folder(tmp_path, NAME, run_id(1)) / manifest["volumes"][0]["dir"]
    (copy / "b.bin").write_bytes(b"x" * 99)
    with pytest.raises(store.SnapshotError, match="damaged"):
        rollback_notices(project_at(tmp_path), a_run(engine.RUNNING, run_id(1)), restore_data=False)


def test_restore_on_failure_false_keeps_the_data_and_says_so(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1), complete=False)  # not even looked at: nothing is restored
    [notice] = rollback_notices(project_at(tmp_path, restore_on_failure=False), a_run(engine.RUNNING, run_id(1)),
                                restore_data=False)
    assert "restore_on_failure is false" in notice


def test_a_listing_that_does_not_match_the_manifest_is_refused(tmp_path: Path) -> None:
    make_snapshot(tmp_path, run_id(1))
    path = store.folder(tmp_path, NAME, run_id(1))
    manifest = json.loads((path / "snapshot.json").read_text())
    manifest["volumes"][0]["digest"] = "0" * 64
    (path / "snapshot.json").write_text(json.dumps(manifest))
    with pytest.raises(store.SnapshotError, match="does not match the manifest"):
        rollback_notices(project_at(tmp_path), a_run(engine.RUNNING, run_id(1)), restore_data=False)


# -- where a volume's data is read from -------------------------------------------------------------


def volume(tmp_path: Path, driver: str = "local", **options: str) -> Any:
    from upgrader.runtime.volumes import Volume

    mountpoint = tmp_path / "mountpoint"
    mountpoint.mkdir(exist_ok=True)
    return Volume(name="acme_data", driver=driver, labels={}, options=dict(options), mountpoint=str(mountpoint),
                  scope="local")


def test_the_host_reads_a_plain_local_volume_at_its_mountpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert items.host_path(volume(tmp_path)) == str(tmp_path / "mountpoint")


def test_a_local_bind_volume_is_read_at_its_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its mountpoint is empty while no container mounts it: copying that would copy nothing."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (tmp_path / "srv").mkdir()
    found = volume(tmp_path, type="none", o="bind", device=str(tmp_path / "srv"))
    assert items.host_path(found) == str(tmp_path / "srv")


@pytest.mark.parametrize(("driver", "options", "docker_host"), [
    ("local", {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}, None),  # mounted only while in use
    ("local", {"type": "tmpfs", "device": "tmpfs"}, None),
    ("rexray", {}, None),  # a plugin's volume
    ("local", {}, "tcp://10.0.0.2:2376"),  # a remote engine: its paths are not ours
])
def test_other_volumes_go_through_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str,
                                             options: dict[str, str], docker_host: str | None) -> None:
    if docker_host:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    else:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert items.host_path(volume(tmp_path, driver, **options)) is None


def test_a_listed_path_that_is_not_a_folder_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for listed, why in ((tmp_path / "file", "is not a folder"), (tmp_path / "nowhere", "does not exist")):
        with pytest.raises(ConfigError, match=f"at 'snapshot.paths': {listed} {why}"):
            items.path_items(project_at(tmp_path), items.Settings(paths=(str(listed),)), [])


def test_a_data_folder_also_listed_by_the_operator_is_copied_once(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    found = items.path_items(project_at(tmp_path), items.Settings(paths=(str(tmp_path / "link"),)),
                             [tmp_path / "data"])
    assert [item["name"] for item in found] == [str(tmp_path / "data")]
