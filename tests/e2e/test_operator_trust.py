"""What the server really is (issue 13, DESIGN §14), each defect an operator found, on the real rig:
one owner per stack, checks before anything stops, signals, the server rather than the record,
and ``reconfigure``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.rig import free_port, image_refs
from tests.rig.faults import hold_workflow

from .conftest import DockerProject, upgrader, wait_until

pytestmark = pytest.mark.usefixtures("rig")


def _running(name: str) -> list[str]:
    """The services of Compose project ``name`` whose containers run."""
    found = subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project={name}",
                            "--format", '{{.Label "com.docker.compose.service"}}'],
                           capture_output=True, text=True, check=True).stdout.split()
    return sorted(found)


def test_a_second_root_with_the_same_name_is_refused_and_the_first_keeps_serving(
        project: DockerProject, tmp_path: Path) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    second = tmp_path / "root2"
    (second / "projects" / project.name).mkdir(parents=True)
    (second / "projects" / project.name / "project.yaml").write_text(yaml.safe_dump(
        {"feed": project.feed.url, "values": {"HTTP_PORT": str(free_port())}}))
    result = upgrader("--root", str(second), "-n", project.name, "run", timeout=180)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "belongs to another server root" in result.stderr and str(project.root) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (second / "state" / project.name / "run.json").exists()  # no run was even recorded
    assert project.answer() == "1.0.0"
    assert project.status()["serving"] is True
    # What upgrader starts names its owner.
    labels = subprocess.run(
        ["docker", "inspect", "--format", '{{index .Config.Labels "io.upgrader.root"}}',
         f"{project.name}-web-1"], capture_output=True, text=True, check=True).stdout.strip()
    assert labels == str(project.root)


def test_a_stack_started_by_hand_is_not_replaced(project: DockerProject, tmp_path: Path) -> None:
    by_hand = tmp_path / "by-hand"
    by_hand.mkdir()
    (by_hand / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {image_refs('1.0.0')['web']}\n    init: true\n"
        "    command: [sleep, '2147483647']\n")
    from upgrader.runtime import compose

    subprocess.run([*compose.command(), "-p", project.name, "up", "-d"], cwd=by_hand,
                   capture_output=True, check=True)
    project.publish("1.0.0")
    result = project.upgrader("run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not installed by upgrader" in result.stderr and str(by_hand) in result.stderr
    assert f"upgrader init --adopt -n {project.name}" in result.stderr
    assert _running(project.name) == ["app"]


def test_an_engine_that_does_not_answer_changes_nothing(project: DockerProject) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    result = upgrader("--root", str(project.root), "-n", project.name, "run",
                      env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the server was never stopped" in result.stderr
    assert project.status()["run"]["to"] == "1.0.0"  # the install is still the last run
    assert project.check()["quarantined"] == []
    assert project.answer() == "1.0.0"
    result = project.upgrader("run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer() == "1.1.0"


def test_a_port_the_new_release_cannot_have_is_found_before_the_stop(project: DockerProject) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = yaml.safe_load((project.dir / "project.yaml").read_text())
        settings["values"]["HTTP_PORT"] = str(port)
        (project.dir / "project.yaml").write_text(yaml.safe_dump(settings))
        result = project.upgrader("run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"127.0.0.1:{port}/tcp (in use)" in result.stdout + result.stderr
    assert "the server was never stopped" in result.stdout + result.stderr
    assert project.answer() == "1.0.0"
    assert project.check()["quarantined"] == []  # not the release's fault
    assert project.history()[0]["downtime_seconds"] is None


@pytest.mark.parametrize(("state", "signum", "code", "serves"), [
    ("stopped", signal.SIGINT, 1, "1.0.0"),
    ("exported", signal.SIGTERM, 1, "1.0.0"),
    ("started", signal.SIGINT, 0, "1.1.0"),
], ids=["SIGINT-stopped", "SIGTERM-exported", "SIGINT-started"])
def test_a_signal_during_the_downtime_ends_with_the_server_serving(
        project: DockerProject, state: str, signum: int, code: int, serves: str) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    hold = hold_workflow("upgrade", state, project.root)
    project.configure(workflow=hold.path)
    running = project.spawn("run")
    wait_until(hold.reached, 120, f"the run reached {state}")
    running.send_signal(signum)
    time.sleep(0.3)
    hold.let_go()
    assert running.wait(timeout=180) == code
    output = (project.root / "upgrader-0.out").read_text()
    assert signal.Signals(signum).name in output
    assert project.answer() == serves
    last = project.history()[0]
    assert last["outcome"] == ("completed" if code == 0 else "rolled_back")
    assert last["downtime_seconds"] is not None  # an interrupted run's downtime is recorded too
    assert project.check()["quarantined"] == []
    assert project.status()["serving"] is True


def test_a_second_signal_stops_at_once_and_says_the_server_is_down(project: DockerProject) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    hold = hold_workflow("upgrade", "stopped", project.root)
    project.configure(workflow=hold.path)
    running = project.spawn("run")
    wait_until(hold.reached, 120, "the run reached stopped")
    running.send_signal(signal.SIGINT)
    time.sleep(0.3)
    running.send_signal(signal.SIGINT)
    assert running.wait(timeout=60) == 130
    output = (project.root / "upgrader-0.out").read_text()
    assert "the server is DOWN" in output and "'upgrader resume'" in output
    hold.let_go()
    assert project.status()["serving"] is False
    result = project.upgrader("resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer() == "1.1.0"


def test_the_server_not_the_record(project: DockerProject) -> None:
    project.install("1.0.0")
    subprocess.run(["docker", "stop", f"{project.name}-web-1"], capture_output=True, check=True)
    status = project.status()
    assert status["run"]["status"] == "completed"
    assert status["serving"] is False
    web = next(service for service in status["services"] if service["name"] == "web")
    assert web["state"] == "exited"
    result = project.upgrader("run", "--cron")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "not serving: web exited" in result.stderr
    assert _running(project.name) == ["worker"]  # reported, not silently restarted
    assert project.check()["serving"] is False
    doctor = project.upgrader("doctor", "--json")
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    server = next(check for check in json.loads(doctor.stdout)["checks"] if check["name"] == "server")
    assert (server["ok"], server["severity"]) == (False, "error") and "web exited" in server["detail"]
    assert "reconfigure" in server["fix"]
    result = project.upgrader("reconfigure")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.status()["serving"] is True
    assert project.answer() == "1.0.0"


def test_reconfigure_applies_changed_values(project: DockerProject) -> None:
    project.install("1.0.0")
    assert project.check()["reconfigure_needed"] is False
    old_port, project.port = project.port, free_port()
    project.configure()
    assert project.check()["reconfigure_needed"] is True
    result = project.upgrader("run")
    assert result.returncode == 0 and "up to date" in result.stdout  # values alone install nothing
    result = project.upgrader("reconfigure")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer() == "1.0.0"
    assert project.port != old_port
    assert project.check()["reconfigure_needed"] is False
    last = project.history()[0]
    assert (last["from"], last["to"], last["outcome"]) == ("1.0.0", "1.0.0", "completed")
    env = (project.dir / "export" / ".env").read_text()
    assert f"HTTP_PORT={project.port}" in env
    # Rolled back, the reconfigure puts the old export back, and quarantines nothing.
    result = project.upgrader("rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"HTTP_PORT={old_port}" in (project.dir / "export" / ".env").read_text()
    assert project.check()["quarantined"] == []
    status = json.loads(project.upgrader("status", "--json").stdout)
    assert status["installed"] == "1.0.0"



def test_a_manual_rollback_sticks(project: DockerProject) -> None:
    project.install("1.0.0")
    project.publish("1.1.0")
    assert project.upgrader("run").returncode == 0
    result = project.upgrader("rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1.1.0 is held" in result.stdout
    check = project.check()
    assert check["target"] is None and check["up_to_date"] is True
    assert [(entry["version"], entry["by"]) for entry in check["held"]] == [("1.1.0", "operator")]
    cron = project.upgrader("run", "--cron")
    assert (cron.returncode, cron.stdout, cron.stderr) == (0, "", "")
    assert project.answer() == "1.0.0"
