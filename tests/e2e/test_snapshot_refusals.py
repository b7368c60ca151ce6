"""What a snapshot that cannot be trusted, or a volume that is gone, does to a rollback (DESIGN §9):
a damaged snapshot is refused by ``rollback --restore-data`` in one line before anything is undone;
a volume removed behind upgrader's back is made again, with its labels, and filled from the copy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.rig import image_refs, remove_project
from upgrader.project import load_project
from upgrader.runtime import volumes
from upgrader.snapshot import items, tree
from upgrader.snapshot import manifest as store

from .conftest import DockerProject


def upgraded(project: DockerProject) -> str:
    """1.0.0 installed, then upgraded to 1.1.0; the run id of the upgrade (its snapshot's)."""
    project.install("1.0.0")
    project.publish("1.1.0")
    result = project.upgrader("run")
    assert result.returncode == 0, result.stdout + result.stderr
    snapshot: str = project.status()["snapshot"]
    assert snapshot
    return snapshot


@pytest.mark.parametrize(("damage", "says"), [
    (lambda path: (path / "snapshot.json").unlink(), "has no manifest"),
    (lambda path: (path / "snapshot.json").write_text("{"), "corrupt (not valid JSON)"),
    (lambda path: (path / "snapshot.json").write_text(
        (path / "snapshot.json").read_text().replace('"complete": true', '"complete": false')), "incomplete"),
    (lambda path: next(path.glob("*.listing")).write_text("garbage\n"), "cannot be restored"),
])
def test_a_damaged_snapshot_is_refused_before_anything_is_undone(project: DockerProject, damage, says: str):
    snapshot = upgraded(project)
    damage(project.root / "snapshots" / project.name / snapshot)
    before = project.status()

    result = project.upgrader("rollback", "--restore-data")

    assert result.returncode == 3, result.stdout + result.stderr
    error = result.stderr.strip()
    assert says in error and "\n" not in error, error
    assert project.answer() == "1.1.0"  # nothing was undone
    after = project.status()
    assert (after["run"]["status"], after["installed"]) == ("completed", "1.1.0") == (
        before["run"]["status"], before["installed"])


def test_rollback_without_restore_data_does_not_need_the_snapshot(project: DockerProject):
    """Today's data is kept, so a damaged snapshot is no reason to refuse going back."""
    snapshot = upgraded(project)
    (project.root / "snapshots" / project.name / snapshot / "snapshot.json").unlink()

    result = project.upgrader("rollback")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "today's data is kept" in result.stdout
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.1.0", "1.0.0"]


def test_a_volume_removed_behind_upgraders_back_is_made_again_from_the_copy(project: DockerProject, tmp_path: Path):
    """items.restore of the host method on a volume that vanished: created again with its driver,
    options and labels, its content the copy's."""
    project.install("1.0.0")
    name = project.volume
    found = volumes.inspect(name)
    assert found is not None and found.labels.get("com.docker.compose.project") == project.name
    snapshot = tmp_path / "snapshot"
    [item] = items.volume_items(load_project(project.root, project.name), items.Settings(method="host"))
    listing = items.copy(item, snapshot)
    item["digest"] = listing.digest()
    remove_project(project.name)  # containers and the volume gone
    assert volumes.inspect(name) is None

    items.restore(item, snapshot, items.check(item, snapshot), project.name)

    again = volumes.inspect(name)
    assert again is not None and (again.driver, again.labels, again.options) == (
        found.driver, found.labels, found.options)
    copy = tree.sync(Path(again.mountpoint), tmp_path / "check")
    assert copy.digest() == listing.digest()
    text = subprocess.run(["docker", "run", "--rm", "-v", f"{name}:/data:ro", image_refs("1.0.0")["web"], "cat",
                           "/data/versions"], capture_output=True, text=True, check=True).stdout
    assert text.split() == ["1.0.0"]


def test_snapshots_verify_finds_a_flipped_byte(project: DockerProject):
    snapshot = upgraded(project)
    path = project.root / "snapshots" / project.name / snapshot
    manifest = store.read(path)
    copy = path / manifest["volumes"][0]["dir"] / "versions"
    data = bytearray(copy.read_bytes())
    data[0] ^= 1
    copy.write_bytes(bytes(data))

    result = project.upgrader("snapshots", "--verify")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "DAMAGED" in result.stdout and "content differs" in result.stdout, result.stdout
    listed = json.loads(project.upgrader("snapshots", "--json", "--verify").stdout)
    assert listed[0]["problems"] and "versions" in listed[0]["problems"][0]
