"""Failures on the real Docker Engine: a release that never gets healthy, images missing from the
registry, the registry down during the pull, and ``upgrader run`` killed at each state of the
server's downtime, then resumed or rolled back (DESIGN §3, §5, §7). After each of them the release
that ran before serves again and the project's volume is still there."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

from tests.rig import REGISTRY, Poller, answer, image_refs, local_image, registry_up, remove_local_images
from tests.rig.faults import hold_workflow

from .conftest import DockerProject, wait_until


def journal_events(project: DockerProject, event: str) -> list[dict]:
    """The journal's ``event`` entries of the project's last run."""
    run_id = project.status()["run"]["id"]
    return [entry for entry in project.journal() if entry["event"] == event and entry["run_id"] == run_id]


def step_status(project: DockerProject) -> dict[str, str]:
    return {step["name"]: step["status"] for step in project.status()["run"]["steps"]}


def never_pushed() -> dict[str, str]:
    """Image references that no registry has and this engine has never seen."""
    tag = f"missing-{secrets.token_hex(4)}"
    refs = {"web": f"{REGISTRY}/acme/web:{tag}", "worker": f"{REGISTRY}/acme/worker:{tag}"}
    assert not any(local_image(reference) for reference in refs.values())
    return refs


def test_a_release_that_never_gets_healthy_is_rolled_back_and_quarantined(project: DockerProject):
    project.install("1.0.0")
    project.publish("1.2.0", healthy=False)

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 1, result.stdout + result.stderr
    # 1.2.0's worker wrote its line; the rollback restored the data snapshot taken when 1.0.0 was
    # stopped, so only the restarted 1.0.0's line follows (DESIGN §9).
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.0.0"]
    run = project.status()["run"]
    assert run["status"] == "rolled_back"
    assert "step health failed" in run["error"] and "service web" in run["error"], run["error"]
    assert [entry["step"] for entry in journal_events(project, "snapshot_restored")] == ["snapshot"]
    assert project.installed()["version"] == "1.0.0"
    assert "acme/web:1.0.0" in (project.dir / "export" / "compose.yaml").read_text()
    check = project.check()
    assert check["quarantined"] == ["1.2.0"]
    assert check["target"] is None  # an unattended run leaves the quarantined release alone
    assert project.history()[0]["outcome"] == "rolled_back"


def test_restore_on_failure_false_keeps_the_data_the_failed_release_wrote(project: DockerProject):
    project.configure(snapshot={"restore_on_failure": False})
    project.install("1.0.0")
    project.publish("1.2.0", healthy=False)

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 1, result.stdout + result.stderr
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.2.0", "1.0.0"]
    assert "restore_on_failure is false" in result.stdout
    assert not journal_events(project, "snapshot_restored")
    [snapshot] = json.loads(project.upgrader("snapshots", "--json").stdout)
    assert snapshot["run_id"] == project.status()["snapshot"] and snapshot["complete"]


def test_missing_images_fail_the_prefetch_while_the_old_release_serves_on(project: DockerProject):
    project.install("1.0.0")
    project.publish("1.4.0", images=never_pushed())

    with Poller(project.port).running() as poller:
        result = project.upgrader("run", "--to", "1.4.0")

    assert result.returncode == 1, result.stdout + result.stderr
    assert len(poller.answers) > 10
    assert set(poller.answers) == {"1.0.0"}, "the web service stopped answering during the run"
    run = project.status()["run"]
    assert run["status"] == "rolled_back"
    assert "step prefetch failed" in run["error"] and "missing-" in run["error"], run["error"]
    steps = step_status(project)
    assert steps["stop"] == steps["start"] == "pending"  # the server was never stopped
    assert not journal_events(project, "stopping")
    assert project.assert_serves("1.0.0") == ["1.0.0"]  # the worker was never restarted either
    assert project.installed()["version"] == "1.0.0"


def test_a_rollback_starts_the_release_before_when_something_else_stopped_it(project: DockerProject):
    """The old release was stopped behind upgrader's back (an engine restart, a person): a run
    that fails before its own stop must not end 'rolled back' with nothing running. The
    rollback's last undo, ensure_running, starts it and waits until it is healthy."""
    project.install("1.0.0")
    project.publish("1.4.0", images=never_pushed())
    ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project.name}"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(ids) == 2
    subprocess.run(["docker", "stop", "-t", "1", *ids], capture_output=True, check=True)
    assert answer(project.port, timeout=1) is None

    result = project.upgrader("run", "--to", "1.4.0")

    assert result.returncode == 1, result.stdout + result.stderr
    assert project.status()["run"]["status"] == "rolled_back"
    assert [entry["step"] for entry in journal_events(project, "undo_done")] == ["download"]
    started = journal_events(project, "ensure_running")
    assert len(started) == 1 and "not running: web, worker" in str(started[0]), started
    assert set(project.assert_serves("1.0.0")) == {"1.0.0"}
    assert project.installed()["version"] == "1.0.0"


def test_missing_images_under_the_classic_workflow_roll_back_to_the_old_release(project: DockerProject):
    project.configure("classic")
    project.install("1.0.0")
    project.publish("1.4.0", images=never_pushed())

    result = project.upgrader("run", "--to", "1.4.0")

    assert result.returncode == 1, result.stdout + result.stderr
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.0.0"]
    run = project.status()["run"]
    assert run["status"] == "rolled_back"
    assert "step pull failed" in run["error"] and "missing-" in run["error"], run["error"]
    assert [entry["step"] for entry in journal_events(project, "undo_done")] == [
        "export", "snapshot", "stop", "warm", "download"]
    # The snapshot was complete, so it was put back: whatever ran after it (a workflow may run a
    # migration as a command step) is undone too.
    assert [entry["step"] for entry in journal_events(project, "snapshot_restored")] == ["snapshot"]
    assert "acme/web:1.0.0" in (project.dir / "export" / "compose.yaml").read_text()
    assert project.installed()["version"] == "1.0.0"


@pytest.mark.parametrize(("workflow", "pull_step"), [("upgrade", "prefetch"), ("classic", "pull")])
def test_registry_down_during_the_pull_retries_then_rolls_back(project: DockerProject, workflow: str,
                                                                pull_step: str):
    if not project.rig.registry.owned:
        pytest.skip("the registry on 127.0.0.1:5000 was not started by this rig; it cannot stop it")
    project.configure(workflow)
    project.install("1.0.0")
    project.publish("1.3.0")
    refs = list(image_refs("1.3.0").values())
    remove_local_images(refs)
    assert not any(local_image(reference) for reference in refs)
    project.rig.registry.stop()
    try:
        assert not registry_up()
        result = project.upgrader("run", "--to", "1.3.0")
    finally:
        project.rig.registry.start()

    assert result.returncode == 1, result.stdout + result.stderr
    project.assert_serves("1.0.0")
    retries = [entry for entry in journal_events(project, "step_retry") if entry["step"] == pull_step]
    assert [entry["detail"]["attempt"] for entry in retries] == [1, 2]  # 3 attempts in all
    run = project.status()["run"]
    assert run["status"] == "rolled_back"
    assert f"step {pull_step} failed" in run["error"], run["error"]
    # The registry being down is a passing reason: nothing is quarantined, the next run tries again.
    check = project.check()
    assert check["quarantined"] == []
    assert check["target"] == "1.3.0"
    assert project.installed()["version"] == "1.0.0"


@pytest.mark.parametrize("follow_up", ["resume", "rollback"])
@pytest.mark.parametrize("state", ["stopped", "exported", "pulled", "started"])
def test_a_run_killed_at_a_state_is_resumed_or_rolled_back(project: DockerProject, tmp_path: Path,
                                                           state: str, follow_up: str):
    project.configure("classic")
    project.install("1.0.0")
    project.publish("1.1.0")
    hold = hold_workflow("classic", state, tmp_path)
    project.configure(hold.path)

    process = project.spawn("run")
    wait_until(lambda: hold.reached() or process.poll() is not None, 60, f"the run holds at {state}")
    assert process.poll() is None, f"upgrader run ended ({process.returncode}) before {state}"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    status = project.status()
    assert status["interrupted"]
    assert (status["run"]["status"], status["run"]["state"]) == ("running", state)
    if state != "started":
        assert project.answer() is None  # the server is down at this state
    result = project.upgrader(follow_up)

    assert result.returncode == 0, result.stdout + result.stderr
    expected = {"resume": "1.1.0", "rollback": "1.0.0"}[follow_up]
    project.assert_serves(expected)
    installed = project.installed()
    assert installed["version"] == expected
    assert set(installed["images"]) == set(image_refs(expected).values())
    assert f"acme/web:{expected}" in (project.dir / "export" / "compose.yaml").read_text()
    assert project.status()["run"]["status"] == {"resume": "completed", "rollback": "rolled_back"}[follow_up]
    assert project.history()[0]["outcome"] == {"resume": "completed", "rollback": "rolled_back"}[follow_up]
