"""Data snapshots on the real Docker Engine (DESIGN §9), with the realistic stack of
tests/rig/stacks.py: a release's migration job writes its schema into the named volume, the old
release's migration refuses a newer schema and its web is unhealthy on it. So a rollback that did
not put the data back could not even start the release before: the data must come back byte for
byte (``volume_digest``: every path, type, mode, owner, size and content).

Also the tests of the kill point tool (tests/rig/faults.py) on what exists today.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.rig import Poller
from tests.rig.faults import EXIT_NOT_ARMED, Hold, KillPoint, hold_workflow, run_with_kill_point
from tests.rig.stacks import (
    digest_difference,
    fill_volume,
    mountpoint,
    publish_stack,
    read_data,
    seed_user_files,
    stack_volume,
    volume_digest,
)

from .conftest import DockerProject, wait_until
from .snapshot_fixtures import (  # noqa: F401 - the fixtures
    byte_amounts,
    install_stack,
    journal_events,
    manifest,
    outcome,
    run_status,
    snapshots,
    stack_images_fixture,
    stack_project_fixture,
    tmpfs_root,
    values_of,
)

# The function that puts a volume's copy back with the host method (upgrader/snapshot/tree.py,
# restore(tree, listing, dest)); the engine method's is Volumes.write_archive.
RESTORE_HOST = "upgrader.snapshot.tree.restore"
MiB = 1 << 20
ROOM = 48 * MiB  # the server root's tmpfs in the test of a disk too small for the snapshot


def assert_same_data(volume: str, before: dict, when: str) -> None:
    after = volume_digest(volume)
    difference = digest_difference(before, after)
    assert not difference, f"volume {volume} {when}: {difference}"


def kill_at_state(project: DockerProject, hold: Hold, *args: str) -> None:
    """Run ``upgrader ARGS`` until it holds at the hold's state, then SIGKILL it there."""
    process = project.spawn(*args)
    wait_until(lambda: hold.reached() or process.poll() is not None, 120, "the run holds at its state")
    output = project.root / f"upgrader-{len(project.spawned) - 1}.out"
    assert process.poll() is None, f"upgrader ended ({process.returncode}) before the hold:\n{output.read_text()}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    hold.let_go()  # the killed run's hold step (its sh lives on as an orphan) ends


# -- the kill point tool, on what exists today ------------------------------------------------------


def test_a_kill_point_that_cannot_be_armed_says_why(tmp_path: Path):
    killed = run_with_kill_point(KillPoint("upgrader.no_such_module.restore"), ["--root", str(tmp_path), "status"],
                                 tmp_path / "kill.json", timeout=60)

    assert killed.returncode == EXIT_NOT_ARMED, killed.output
    assert "cannot arm upgrader.no_such_module.restore" in killed.stderr
    assert "upgrader.no_such_module" in killed.stderr
    assert killed.report is None


def test_a_kill_point_on_entry_kills_the_run_there(project: DockerProject, tmp_path: Path):
    project.install("1.0.0")
    project.publish("1.1.0")

    killed = run_with_kill_point(KillPoint("upgrader.runtime.compose.up", 1),
                                 ["--root", str(project.root), "-n", project.name, "run", "--to", "1.1.0"],
                                 tmp_path / "kill.json")

    assert killed.killed, killed.output
    assert killed.report == {**killed.report, "target": "upgrader.runtime.compose.up", "call": 1, "inside": True}
    status = project.status()
    assert status["interrupted"], status
    assert (status["run"]["status"], status["run"]["state"]) == ("running", "pulled")  # in `start`
    assert project.answer() is None  # stopped, and the new release never started
    result = project.upgrader("resume")
    assert result.returncode == 0, outcome(result)
    project.assert_serves("1.1.0")


def test_a_kill_point_some_seconds_into_a_call_kills_in_its_middle(project: DockerProject, tmp_path: Path):
    project.install("1.0.0")
    project.publish("1.1.0")

    killed = run_with_kill_point(KillPoint("upgrader.actions.health.wait_until_healthy", 1, 0.5),
                                 ["--root", str(project.root), "-n", project.name, "run", "--to", "1.1.0"],
                                 tmp_path / "kill.json")

    assert killed.killed, killed.output
    assert killed.report is not None and killed.report["inside"], killed.report
    assert "still running" in killed.stderr
    status = project.status()
    assert (status["interrupted"], status["run"]["state"]) == (True, "started"), status
    result = project.upgrader("rollback")
    assert result.returncode == 0, outcome(result)
    project.assert_serves("1.0.0")
    assert run_status(project)["status"] == "rolled_back"


# -- (a) a broken release that migrated the data --------------------------------------------------


def test_a_broken_release_that_migrated_the_data_is_rolled_back_with_the_data(stack_project: DockerProject):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    seed_user_files(volume)
    assert read_data(volume, "schema") == "1.1.0\n"
    before = volume_digest(volume)
    publish_stack(project, "files", "1.2.0", healthy=False)

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 1, outcome(result)
    assert_same_data(volume, before, "after the rollback")
    assert project.answer() == "1.1.0"
    status = project.status()
    run = status["run"]
    assert run["status"] == "rolled_back", run
    assert "step health failed" in run["error"] and "service web" in run["error"], run["error"]
    assert status["installed"] == "1.1.0"
    assert status["snapshot"] == run["id"], status
    assert [entry["step"] for entry in journal_events(project, "undo_done") if entry["step"] == "snapshot"] \
        == ["snapshot"]
    listed = [item for item in snapshots(project) if item["run_id"] == run["id"]]
    assert len(listed) == 1 and listed[0]["complete"], listed
    assert (listed[0]["from"], listed[0]["to"]) == ("1.1.0", "1.2.0"), listed
    assert volume in str(listed[0]["volumes"]), listed
    verified = project.upgrader("snapshots", "--verify")
    assert verified.returncode == 0, outcome(verified)


def test_without_a_snapshot_the_release_before_cannot_start_on_migrated_data(stack_project: DockerProject):
    """The control of (a): what a rollback is without the data (``snapshot: {enabled: false}``).
    The 1.1.0 migration refuses 1.2.0's schema, so the release before does not start again and the
    rollback fails: the stack is one where only putting the data back makes a rollback."""
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    publish_stack(project, "files", "1.2.0", healthy=False)
    project.configure(snapshot={"enabled": False})

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 3, outcome(result)
    assert read_data(volume, "schema") == "1.2.0\n"
    assert "newer than 1.1.0" in result.stdout + result.stderr, outcome(result)
    assert run_status(project)["status"] == "failed"
    assert project.status()["snapshot"] is None


# -- (b) killed at a state, then rollback or resume -----------------------------------------------


@pytest.mark.parametrize(("state", "follow_up"), [("started", "rollback"), ("snapshotted", "rollback"),
                                                  ("snapshotted", "resume")])
def test_a_run_killed_at_a_state_is_rolled_back_with_its_data_or_resumed(stack_project: DockerProject,
                                                                        tmp_path: Path, state: str,
                                                                        follow_up: str):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    seed_user_files(volume)
    before = volume_digest(volume)
    publish_stack(project, "files", "1.2.0")
    hold = hold_workflow("upgrade", state, tmp_path)
    project.configure(hold.path)

    kill_at_state(project, hold, "run", "--to", "1.2.0")

    status = project.status()
    assert status["interrupted"], status
    assert (status["run"]["status"], status["run"]["state"]) == ("running", state), status
    if state == "started":
        assert read_data(volume, "schema") == "1.2.0\n", "1.2.0's migration should have run"
    else:
        assert project.answer() is None  # stopped, nothing of 1.2.0 ran yet
    result = project.upgrader(follow_up)

    assert result.returncode == 0, outcome(result)
    if follow_up == "rollback":
        assert_same_data(volume, before, f"after a run killed at {state} was rolled back")
        assert project.answer() == "1.1.0"
        assert run_status(project)["status"] == "rolled_back"
    else:
        assert project.answer() == "1.2.0"
        run = run_status(project)
        assert (run["status"], run["state"]) == ("completed", "healthy"), run
        assert read_data(volume, "schema") == "1.2.0\n"
        log = read_data(volume, "log").splitlines()
        assert log == ["1.1.0 migrated", "1.1.0 worked", "1.2.0 migrated", "1.2.0 worked"], log
        assert project.status()["snapshot"] == run["id"]


# -- (c) a restore killed halfway -----------------------------------------------------------------


def test_a_restore_killed_halfway_is_started_over_by_rollback(stack_project: DockerProject, tmp_path: Path):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    fill_volume(volume, 300, MiB)  # the broken release's migration rewrites each: ~0.4 s to restore
    seed_user_files(volume)
    before = volume_digest(volume)
    publish_stack(project, "files", "1.2.0", healthy=False, rewrites="blobs")

    killed = run_with_kill_point(KillPoint(RESTORE_HOST, 1, 0.1),
                                 ["--root", str(project.root), "-n", project.name, "run", "--to", "1.2.0"],
                                 tmp_path / "kill.json")

    assert killed.killed, killed.output
    assert killed.report is not None and killed.report["inside"], (
        f"the restore had returned before the kill: {killed.report}")
    assert project.status()["interrupted"]
    result = project.upgrader("rollback")

    assert result.returncode == 0, outcome(result)
    assert_same_data(volume, before, "after a restore killed halfway was started over")
    assert project.answer() == "1.1.0"
    assert run_status(project)["status"] == "rolled_back"


# -- (d) rollback of a completed upgrade ----------------------------------------------------------


def test_rollback_of_a_completed_upgrade_keeps_todays_data_and_names_the_snapshot(stack_project: DockerProject):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    publish_stack(project, "files", "1.2.0", schema="1.1.0")  # leaves the schema as it is
    result = project.upgrader("run", "--to", "1.2.0")
    assert result.returncode == 0, outcome(result)
    assert project.answer() == "1.2.0"
    run_id = run_status(project)["id"]
    assert project.status()["snapshot"] == run_id
    (mountpoint(volume) / "written-under-1.2.0.txt").write_text("an upload\n")
    today = volume_digest(volume)

    result = project.upgrader("rollback")

    assert result.returncode == 0, outcome(result)
    assert project.answer() == "1.1.0"
    assert "1.2.0 worked" in read_data(volume, "log").splitlines()
    assert_same_data(volume, today, "after the rollback of a completed upgrade (today's data is kept)")
    assert run_id in result.stdout + result.stderr, f"the output does not name the snapshot {run_id}" + outcome(
        result)


def test_rollback_with_restore_data_brings_back_the_data_of_the_upgrades_stop(stack_project: DockerProject):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    seed_user_files(volume)
    at_stop = volume_digest(volume)  # nothing of 1.1.0 writes once it has started
    publish_stack(project, "files", "1.2.0")
    result = project.upgrader("run", "--to", "1.2.0")
    assert result.returncode == 0, outcome(result)
    assert project.answer() == "1.2.0"
    (mountpoint(volume) / "written-under-1.2.0.txt").write_text("an upload\n")

    result = project.upgrader("rollback", "--restore-data")

    assert result.returncode == 0, outcome(result)
    lines = (result.stdout + result.stderr).splitlines()
    warned = next((index for index, line in enumerate(lines) if "lost" in line.lower()), None)
    assert warned is not None, "no warning that the data written since the upgrade is lost" + outcome(result)
    restoring = [index for index, line in enumerate(lines) if "restor" in line.lower() and index != warned]
    assert not restoring or warned < restoring[0], "the warning comes after the restore" + outcome(result)
    assert_same_data(volume, at_stop, "after rollback --restore-data")
    assert project.answer() == "1.1.0"


# -- (e) the engine method ------------------------------------------------------------------------


def test_the_engine_method_rolls_the_data_back_too(stack_project: DockerProject):
    project = stack_project
    install_stack(project, "files", "1.1.0")
    volume = stack_volume(project, "files")
    seed_user_files(volume)
    before = volume_digest(volume)
    publish_stack(project, "files", "1.2.0", healthy=False)
    project.configure(snapshot={"method": "engine"})

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 1, outcome(result)
    assert_same_data(volume, before, "after the rollback (method engine)")
    assert project.answer() == "1.1.0"
    run = run_status(project)
    assert run["status"] == "rolled_back", run
    assert set(values_of(manifest(project, run["id"]), "method")) == {"engine"}


# -- (f) no room for the snapshot -----------------------------------------------------------------


def test_no_room_for_the_snapshot_fails_the_run_before_the_server_stops(stack_project: DockerProject):
    project = stack_project
    with tmpfs_root(project, f"{ROOM >> 20}m") as root:
        install_stack(project, "files", "1.1.0")
        volume = stack_volume(project, "files")
        data_bytes = fill_volume(volume, 80, MiB)
        before = volume_digest(volume)
        publish_stack(project, "files", "1.2.0")
        free_before = shutil.disk_usage(root).free

        with Poller(project.port).running() as poller:
            result = project.upgrader("run", "--to", "1.2.0")

        assert result.returncode == 1, outcome(result)
        assert len(poller.answers) > 5
        assert set(poller.answers) == {"1.1.0"}, "the web service stopped answering during the run"
        run = run_status(project)
        steps = {step["name"]: step["status"] for step in run["steps"]}
        assert steps["stop"] == "pending", steps
        assert not journal_events(project, "stopping")
        assert run["status"] == "rolled_back", run
        text = result.stdout + result.stderr
        amounts = byte_amounts(text)
        assert any(amount >= 0.95 * data_bytes for amount in amounts), (
            f"the output does not name the bytes needed (≥ {data_bytes}): {amounts}" + outcome(result))
        assert any(amount <= ROOM for amount in amounts), (
            f"the output does not name the bytes free (≤ {ROOM}): {amounts}" + outcome(result))
        assert shutil.disk_usage(root).free >= free_before - MiB, "the failed snapshot left the disk full"
        assert_same_data(volume, before, "after a run that never stopped the server")
        assert project.answer() == "1.1.0"
        project.close()  # its containers before the root goes

