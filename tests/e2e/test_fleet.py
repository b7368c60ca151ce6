"""A fleet rolled out with Ansible (DESIGN §11): the real ``ansible-playbook upgrader.fleet.rollout``
against four servers on this machine, each its own server root and Compose project on the Docker
rig. Three are reached with ``ansible_connection: local``; the DMZ server of the site ``acme`` over
real SSH (an sshd of this test's own on 127.0.0.2, its own host key, a key made here), running the
upgrader of the venv the play points at.

The tests run in order on one fleet (each moves it on from where the one before left it):
check mode → rollout to 1.1.0 and again (changed=0) → 1.2.0 failing on the DMZ server (the site
rolled back, the next batch untouched) → different policies (the fleet target is the lowest; a pin
overrides) → a run SIGKILLed on one server, resumed by the next rollout before anything else."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import UPGRADER, DockerProject, wait_until
from tests.rig import Rig, free_port, image_refs
from tests.rig.faults import hold_workflow

REPOSITORY = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
SSHD = Path("/usr/sbin/sshd")
SSH_ADDRESS = "127.0.0.2"
HOSTS = ("main", "dmz", "s1", "s2")  # inventory order: the site acme first, then two standalone servers

pytestmark = pytest.mark.skipif(not ANSIBLE_PLAYBOOK.exists(), reason="ansible-core is in the test extras")


@dataclass
class Sshd:
    """An sshd of the test's own: 127.0.0.2:<port>, root by key only."""

    port: int
    key: Path
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists():
        pytest.fail("openssh-server is missing: run 'bash tests/provision.sh'")
    folder = tmp_path_factory.mktemp("sshd")
    folder.chmod(0o700)
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True)
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"ListenAddress {SSH_ADDRESS}\nPort {port}\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # its privilege separation folder
    log = open(folder / "sshd.log", "wb")  # noqa: SIM115 - the daemon's, for as long as it runs
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def listening() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex((SSH_ADDRESS, port)) == 0

    try:
        wait_until(lambda: listening() or process.poll() is not None, 20, "sshd listens")
        assert process.poll() is None, (folder / "sshd.log").read_text()
        yield Sshd(port, folder / "client_key", process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Fleet:
    servers: dict[str, DockerProject]
    folder: Path
    inventory: Path

    def rollout(self, *arguments: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """``ansible-playbook upgrader.fleet.rollout`` on the fleet: its result and the report."""
        report = self.folder / f"report-{secrets.token_hex(3)}.json"
        environment = {
            **os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPOSITORY / "ansible"), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_LOCAL_TEMP": str(self.folder / "ansible-local"),
            "ANSIBLE_HOME": str(self.folder / "ansible-home"), "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_REMOTE_TEMP": str(self.folder / "ansible-remote"), "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.folder / "ansible-cp"),
        }
        result = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "upgrader.fleet.rollout", "-i", str(self.inventory),
             "-e", f"upgrader_report={report}", *arguments],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=environment,
            check=False)
        assert report.exists(), result.stdout[-4000:] + result.stderr
        return result, json.loads(report.read_text())

    def installed(self) -> dict[str, str | None]:
        return {host: server.status()["installed"] for host, server in self.servers.items()}

    def publish(self, version: str, **options: object) -> None:
        for server in self.servers.values():
            server.publish(version, **options)


def recap(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    """PLAY RECAP: per host, its counts (ok, changed, failed, …)."""
    counts = {}
    for line in result.stdout.splitlines():
        found = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if found and "changed=" in line:
            counts[found[1]] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found[2])}
    return counts


def where(report: dict[str, Any]) -> dict[str, tuple[str | None, str | None, str]]:
    return {host: (entry["from"], entry["to"], entry["outcome"]) for host, entry in report["hosts"].items()}


@pytest.fixture(scope="module")
def fleet(rig: Rig, sshd: Sshd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("fleet")
    servers: dict[str, DockerProject] = {}
    inventory: dict[str, Any] = {}
    try:
        for host in HOSTS:
            name = f"fleet-{host}-{secrets.token_hex(3)}"
            root = folder / host
            (root / "projects" / name).mkdir(parents=True)
            server = DockerProject(root, name, free_port(), rig.feed_for(name), rig)
            servers[host] = server
            server.configure()
            server.install("1.0.0")
            variables: dict[str, Any] = {"upgrader_root": str(root), "upgrader_name": name,
                                         "upgrader_executable": str(UPGRADER)}
            if host in ("main", "dmz"):
                variables["upgrader_site"] = "acme"
            if host == "dmz":  # over SSH: the same machine, reached as another server would be
                variables.update(ansible_host=SSH_ADDRESS, ansible_port=sshd.port, ansible_user="root",
                                 ansible_ssh_private_key_file=str(sshd.key),
                                 ansible_ssh_common_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                                 ansible_python_interpreter="/usr/bin/python3")
            else:
                variables.update(ansible_connection="local",
                                 ansible_python_interpreter="{{ ansible_playbook_python }}")
            inventory[host] = variables
        path = folder / "inventory.yml"
        path.write_text(yaml.safe_dump({"all": {"hosts": inventory}}, sort_keys=False))
        yield Fleet(servers, folder, path)
    finally:
        for server in servers.values():
            server.close()


def test_check_mode_shows_the_plan_and_changes_nothing(fleet: Fleet) -> None:
    fleet.publish("1.1.0")
    result, report = fleet.rollout("-e", "upgrader_batch=2", "--check", "--diff")
    assert result.returncode == 0, result.stdout[-4000:]
    assert report["check_mode"] is True and report["target"] == "1.1.0"
    assert report["batches"] == [["main", "dmz"], ["s1", "s2"]]
    assert where(report) == {host: ("1.0.0", "1.1.0", "would_upgrade") for host in HOSTS}
    assert "-installed: 1.0.0" in result.stdout and "+installed: 1.1.0" in result.stdout  # --diff
    assert fleet.installed() == dict.fromkeys(HOSTS, "1.0.0")
    for server in fleet.servers.values():
        assert [entry["to"] for entry in server.history()] == ["1.0.0"]  # no run started
        assert server.answer() == "1.0.0"


def test_rollout_in_batches_then_again_changes_nothing(fleet: Fleet) -> None:
    result, report = fleet.rollout("-e", "upgrader_batch=2")
    assert result.returncode == 0, result.stdout[-4000:]
    assert report["target"] == "1.1.0" and report["stopped"] is False and report["pinned"] is False
    assert where(report) == {host: ("1.0.0", "1.1.0", "upgraded") for host in HOSTS}
    for host, server in fleet.servers.items():
        assert server.answer() == "1.1.0", host
        assert report["hosts"][host]["downtime_seconds"] == server.history()[0]["downtime_seconds"]
        assert report["hosts"][host]["downtime_seconds"] > 0
    assert report["hosts"]["dmz"]["site"] == "acme" and report["hosts"]["s1"]["site"] is None

    again, report = fleet.rollout("-e", "upgrader_batch=2")
    assert again.returncode == 0, again.stdout[-4000:]
    counts = recap(again)
    assert set(counts) == set(HOSTS) and all(count["changed"] == 0 for count in counts.values()), counts
    assert where(report) == {host: ("1.1.0", "1.1.0", "unchanged") for host in HOSTS}
    assert all(len(server.history()) == 2 for server in fleet.servers.values())


def test_a_failure_rolls_the_site_back_and_stops_the_rollout(fleet: Fleet) -> None:
    fleet.publish("1.2.0", images=image_refs("1.1.0"))  # 1.1.0's images, its own compose file
    dmz = fleet.servers["dmz"]
    before = {host: server.status()["run"]["id"] for host, server in fleet.servers.items()}
    with socket.socket() as taken:  # the DMZ server's new port is held: its start fails
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        dmz.configure(values={"HTTP_PORT": str(taken.getsockname()[1])})
        result, report = fleet.rollout("-e", "upgrader_batch=2")
    dmz.configure()  # its own port again (what the release before still runs with)

    assert result.returncode != 0, result.stdout[-4000:]
    assert "dmz: " in result.stdout and "the rollout stopped there" in result.stdout
    assert report["stopped"] is True and report["target"] == "1.2.0"
    assert where(report) == {"main": ("1.1.0", "1.1.0", "rolled_back"), "dmz": ("1.1.0", "1.1.0", "failed"),
                             "s1": ("1.1.0", "1.1.0", "not_started"), "s2": ("1.1.0", "1.1.0", "not_started")}, (
        json.dumps(report, indent=1) + result.stdout[-6000:])
    assert report["hosts"]["dmz"]["error"]
    main = fleet.servers["main"]  # its run to 1.2.0 completed, then was rolled back by the rollout
    assert [(entry["to"], entry["outcome"]) for entry in main.history()] == [
        ("1.2.0", "rolled_back"), ("1.1.0", "completed"), ("1.0.0", "completed")]
    assert (dmz.history()[0]["to"], dmz.history()[0]["outcome"]) == ("1.2.0", "rolled_back")
    for host, server in fleet.servers.items():
        assert server.status()["installed"] == "1.1.0", host
        assert server.answer() == "1.1.0", host
    for host in ("s1", "s2"):  # the later batch: no run started there
        assert fleet.servers[host].status()["run"]["id"] == before[host]


def test_the_fleet_target_is_the_lowest_and_a_pin_overrides_it(fleet: Fleet) -> None:
    fleet.publish("1.1.1", images=image_refs("1.1.0"))
    # 1.2.0 was taken back on main (held) and failed on dmz (quarantined): let it be planned again.
    assert fleet.servers["main"].upgrader("unhold", "1.2.0").returncode == 0
    fleet.servers["dmz"].upgrader("unhold", "1.2.0")
    fleet.servers["s1"].configure(allow="patch")  # 1.1.1 at most; the others reach 1.2.0

    result, report = fleet.rollout("-e", "upgrader_batch=2", "--check")
    assert result.returncode == 0, result.stdout[-4000:]
    assert report["target"] == "1.1.1"
    assert where(report) == {host: ("1.1.0", "1.1.1", "would_upgrade") for host in HOSTS}

    result, report = fleet.rollout("-e", "upgrader_batch=2", "-e", "upgrader_to=1.2.0", "--check")
    assert result.returncode == 0, result.stdout[-4000:]
    assert report["target"] == "1.2.0" and report["pinned"] is True
    assert where(report) == {host: ("1.1.0", "1.2.0", "would_upgrade") for host in HOSTS}

    result, report = fleet.rollout("-e", "upgrader_to=3.0.0", "--check")  # in no feed: reported, not forced
    assert result.returncode == 0, result.stdout[-4000:]
    assert {entry["outcome"] for entry in report["hosts"].values()} == {"not_allowed"}
    assert "no release 3.0.0" in report["hosts"]["s1"]["error"]
    assert fleet.installed() == dict.fromkeys(HOSTS, "1.1.0")


def test_a_killed_run_is_resumed_before_anything_else(fleet: Fleet) -> None:
    s2 = fleet.servers["s2"]
    hold = hold_workflow("upgrade", "stopped", fleet.folder)
    s2.configure(hold.path)
    process = s2.spawn("run", "--to", "1.1.1")
    try:
        wait_until(lambda: hold.reached() or process.poll() is not None, 120, "the run holds at stopped")
        assert process.poll() is None, f"run ended ({process.returncode}) before it was killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        hold.let_go()  # the orphaned hold step of the killed run ends (and lets the lock go)
    wait_until(lambda: s2.status()["interrupted"], 30, "status says the run was interrupted")
    assert s2.answer() is None  # killed while the server was stopped

    result, report = fleet.rollout("-e", "upgrader_batch=2")
    assert result.returncode == 0, result.stdout[-4000:]
    resumed = result.stdout.index("TASK [Resume a run an earlier rollout left interrupted]")
    assert resumed < result.stdout.index("TASK [Ask each server what its policy would install]")
    assert report["hosts"]["s2"]["resumed"] is True and report["hosts"]["s2"]["from"] == "1.1.1"
    assert report["target"] == "1.1.1"  # s1's policy (patch) is the lowest
    assert where(report) == {"main": ("1.1.0", "1.1.1", "upgraded"), "dmz": ("1.1.0", "1.1.1", "upgraded"),
                             "s1": ("1.1.0", "1.1.1", "upgraded"), "s2": ("1.1.1", "1.1.1", "unchanged")}
    assert s2.history()[0]["outcome"] == "completed" and s2.history()[0]["to"] == "1.1.1"
    assert fleet.installed() == dict.fromkeys(HOSTS, "1.1.1")
    for server in fleet.servers.values():
        assert server.answer() == "1.1.0"  # 1.1.1 runs 1.1.0's images, which serve "1.1.0"
