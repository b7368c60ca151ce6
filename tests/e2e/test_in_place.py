"""Stop and start in place (DESIGN §13): ``stop`` is ``compose stop`` (containers and network
stay), ``start`` is ``compose up -d --remove-orphans`` of the new export, which recreates what
changed; ``down`` + ``up`` only where Compose refuses that, journaled."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DockerProject
from tests.rig import image_refs

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def network_id(project: DockerProject) -> str:
    return subprocess.run(["docker", "network", "inspect", "-f", "{{.Id}}", f"{project.name}_default"],
                          capture_output=True, text=True, check=True).stdout.strip()


def containers(project: DockerProject) -> dict[str, str]:
    """Every container of the project (running or not): its service → its image."""
    result = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project.name}",
         "--format", '{{.Label "com.docker.compose.service"}} {{.Image}}'],
        capture_output=True, text=True, check=True)
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if line)


@contextmanager
def container_events(project: DockerProject) -> Iterator[list[dict[str, Any]]]:
    """The Docker Engine's container events of the project while the block runs, in order (read
    from the engine's own stream: the ``docker events`` command buffers its output)."""
    import docker

    client = docker.from_env()
    stream = client.events(since=int(time.time()) - 1, decode=True,
                           filters={"type": "container", "label": f"com.docker.compose.project={project.name}"})
    found: list[dict[str, Any]] = []

    def read() -> None:
        with contextlib.suppress(Exception):  # the stream closed under it
            found.extend(stream)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield found
        time.sleep(1)  # the last events reach the stream
    finally:
        stream.close()
        reader.join(timeout=10)
        client.close()


def release_of(image: str) -> str:
    return image.rsplit(":", 1)[-1]


def side_by_side(events: list[dict[str, Any]]) -> list[str]:
    """Each moment a container of one release started while one of another release ran."""
    running: dict[str, str] = {}  # container id → release
    overlaps = []
    for event in events:
        attributes = event["Actor"]["Attributes"]
        if attributes.get("com.docker.compose.service") == "sidecar":
            continue
        if event["Action"] == "start":
            release = release_of(attributes["image"])
            others = {other for other in running.values() if other != release}
            if others:
                overlaps.append(f"{attributes['name']} ({release}) started while {sorted(others)} ran")
            running[event["Actor"]["ID"]] = release
        elif event["Action"] == "die":
            running.pop(event["Actor"]["ID"], None)
    return overlaps


@pytest.mark.parametrize("healthy", [True, False], ids=["completed", "rolled-back"])
def test_an_upgrade_recreates_in_place_and_never_runs_two_releases_side_by_side(project: DockerProject,
                                                                               healthy: bool):
    project.install("1.0.0")
    network = network_id(project)
    project.publish("1.1.0", healthy=healthy)

    with container_events(project) as events:
        result = project.upgrader("run")

    assert result.returncode == (0 if healthy else 1), result.stdout + result.stderr
    expected = "1.1.0" if healthy else "1.0.0"
    project.assert_serves(expected)
    assert network_id(project) == network, "the project's network was taken down and made again"
    assert not [e for e in project.journal() if e["event"] == "start_fallback"]
    starts = [e for e in events if e["Action"] == "start"]
    assert {release_of(e["Actor"]["Attributes"]["image"]) for e in starts} == {"1.1.0"} | (
        set() if healthy else {"1.0.0"}), events
    assert side_by_side(events) == []
    assert set(containers(project).values()) == set(image_refs(expected).values())


@pytest.mark.parametrize("layout", ["renamed", "network"])
def test_a_release_that_renames_a_service_or_changes_the_network_goes_in_and_back(project: DockerProject,
                                                                                 layout: str):
    project.install("1.0.0")
    project.publish("1.1.0", layout=layout)

    result = project.upgrader("run")
    assert result.returncode == 0, result.stdout + result.stderr
    project.assert_serves("1.1.0")
    services = containers(project)
    mtu = subprocess.run(["docker", "network", "inspect", "-f",
                          '{{index .Options "com.docker.network.driver.mtu"}}', f"{project.name}_default"],
                         capture_output=True, text=True, check=True).stdout.strip()
    if layout == "renamed":
        assert sorted(services) == ["jobs", "web"], services  # the old worker went as an orphan
    else:
        assert mtu == "1400"

    result = project.upgrader("rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.assert_serves("1.0.0") == ["1.0.0", "1.1.0", "1.0.0"]
    assert sorted(containers(project)) == ["web", "worker"]


def test_a_start_compose_refuses_in_place_falls_back_to_down_and_up(project: DockerProject, tmp_path: Path):
    """A stopped container whose network is gone (here removed between ``pull`` and ``start``, as
    ``docker network prune`` does to a stopped project) cannot be started again in place: the
    start takes the project down and up, and the journal says why."""
    workflow = (WORKFLOWS / "upgrade.yaml").read_text().replace(
        "states: [", "states: [pruned, ").replace(
        "  - {name: start,     from: pulled,",
        '  - {name: prune, from: pulled, to: pruned, action: command,'
        f' run: [docker, network, rm, "{project.name}_default"]}}\n'
        "  - {name: start,     from: pruned,")
    (tmp_path / "prune.yaml").write_text(workflow)
    project.publish("1.0.0", layout="sidecar")
    result = project.upgrader("run", "--to", "1.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    project.configure(tmp_path / "prune.yaml")
    project.publish("1.1.0", layout="sidecar")

    result = project.upgrader("run")

    assert result.returncode == 0, result.stdout + result.stderr
    project.assert_serves("1.1.0")
    fallbacks = [e for e in project.journal() if e["event"] == "start_fallback"]
    assert len(fallbacks) == 1 and fallbacks[0]["step"] == "start", fallbacks
    assert "not found" in fallbacks[0]["detail"]["reason"], fallbacks
    assert sorted(containers(project)) == ["sidecar", "web", "worker"]
