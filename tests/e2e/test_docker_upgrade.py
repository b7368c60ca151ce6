"""Upgrades on the real Docker Engine: first install, 1.0.0 → 1.1.0 through both shipped workflows,
and ``rollback`` of a completed upgrade (DESIGN §4, §5, §7)."""

from __future__ import annotations

import json

import pytest

from tests.rig import image_refs

from .conftest import DockerProject


def events(project: DockerProject, *names: str) -> list[tuple[str, str | None]]:
    return [(entry["event"], entry["step"]) for entry in project.journal() if entry["event"] in names]


def test_first_install_starts_the_release_and_records_it(project: DockerProject):
    project.publish("1.0.0")

    result = project.upgrader("run", "--to", "1.0.0")

    assert result.returncode == 0, result.stdout + result.stderr
    assert project.assert_serves("1.0.0") == ["1.0.0"]
    installed = project.installed()
    assert installed["version"] == "1.0.0"
    assert installed["previous"] is None
    assert set(installed["images"]) == set(image_refs("1.0.0").values())
    assert all(digest.startswith("sha256:") for digest in installed["images"].values())
    [entry] = project.history()
    assert (entry["from"], entry["to"], entry["outcome"]) == (None, "1.0.0", "completed")
    assert entry["downtime_seconds"] is None  # nothing ran before: no downtime
    assert project.status()["run"]["status"] == "completed"
    assert (project.dir / "export" / ".env").read_text().splitlines()[-1] == f"HTTP_PORT={project.port}"
    assert not (project.dir / "export.prev").exists()


@pytest.mark.parametrize("workflow", ["upgrade", "classic"])
def test_upgrade_swaps_in_the_new_release_and_keeps_the_volume(project: DockerProject, workflow: str):
    project.configure(workflow)
    project.install("1.0.0")
    project.publish("1.1.0")

    result = project.upgrader("run")  # the newest release the policy allows: 1.1.0

    assert result.returncode == 0, result.stdout + result.stderr
    # The worker of each release that started appended its version to the volume.
    assert project.assert_serves("1.1.0") == ["1.0.0", "1.1.0"]
    installed = project.installed()
    assert installed["version"] == "1.1.0"
    assert installed["previous"]["version"] == "1.0.0"
    assert set(installed["images"]) == set(image_refs("1.1.0").values())
    assert all(digest.startswith("sha256:") for digest in installed["images"].values())
    newest, first = project.history()
    assert (first["from"], first["to"], first["outcome"]) == (None, "1.0.0", "completed")
    assert (newest["from"], newest["to"], newest["outcome"]) == ("1.0.0", "1.1.0", "completed")
    assert newest["downtime_seconds"] is not None and newest["downtime_seconds"] > 0
    assert "acme/web:1.0.0" in (project.dir / "export.prev" / "compose.yaml").read_text()
    assert "acme/web:1.1.0" in (project.dir / "export" / "compose.yaml").read_text()
    status = project.status()
    assert (status["run"]["status"], status["run"]["workflow"]) == ("completed", workflow)
    run = [name for name, _ in events(project, "run_started", "completed")]
    assert run == ["run_started", "completed", "run_started", "completed"]
    steps = [step for _, step in events(project, "step_done")][-len(status["run"]["steps"]):]
    if workflow == "upgrade":
        # The images were pulled and the data copied while 1.0.0 still served: before stop.
        assert steps[steps.index("prefetch"):steps.index("stop") + 1] == ["prefetch", "warm", "stop"]
    else:
        assert steps[steps.index("stop"):] == ["stop", "snapshot", "export", "pull", "start", "health"]
    # The data as 1.0.0 left it, copied while the server was stopped (DESIGN §9).
    assert status["snapshot"] == newest["snapshot"] == status["run"]["id"]
    [snapshot] = json.loads(project.upgrader("snapshots", "--json").stdout)
    assert (snapshot["run_id"], snapshot["from"], snapshot["to"], snapshot["complete"]) == (
        status["run"]["id"], "1.0.0", "1.1.0", True)
    assert [(item["kind"], item["name"], item["method"]) for item in snapshot["volumes"]] == [
        ("volume", project.volume, "host")]
    # A copy of the data is as private as the state: its folders 0700, manifest and listing 0600.
    folder = project.root / "snapshots" / project.name / snapshot["run_id"]
    for path in (folder.parent.parent, folder.parent, folder):
        assert path.stat().st_mode & 0o777 == 0o700, path
    for path in (folder / "snapshot.json", *folder.glob("*.listing")):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_rollback_after_a_completed_upgrade_brings_the_previous_release_back(project: DockerProject):
    project.install("1.0.0")
    project.publish("1.1.0")
    upgraded = project.upgrader("run")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert project.answer() == "1.1.0"

    result = project.upgrader("rollback")

    assert result.returncode == 0, result.stdout + result.stderr
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.1.0", "1.0.0"]
    installed = project.installed()
    assert installed["version"] == "1.0.0"
    assert set(installed["images"]) == set(image_refs("1.0.0").values())
    assert "acme/web:1.0.0" in (project.dir / "export" / "compose.yaml").read_text()
    assert project.status()["run"]["status"] == "rolled_back"
    # The upgrade counts once in the history, with its newest outcome.
    assert [(entry["from"], entry["to"], entry["outcome"]) for entry in project.history()] == [
        ("1.0.0", "1.1.0", "rolled_back"), (None, "1.0.0", "completed")]
