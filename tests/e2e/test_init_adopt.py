"""``upgrader init --adopt`` against the real Docker Engine (DESIGN §10, §14): a stack started by
hand with ``docker compose up`` from a folder is taken over — found by its images or named by
``--version`` — and upgraded by the first ``run`` with its volume's data intact; without the
adoption, a first install over it is refused and the stack is left alone."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import upgrader
from tests.rig import Feed, Rig, answer, compose_file, free_port, image_refs, read_volume, remove_project


@dataclass
class HandStack:
    """A stack of release 1.0.0 started by hand from ``folder`` as Compose project ``name``."""

    name: str
    folder: Path
    port: int
    root: Path
    feed: Feed

    def upgrader(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return upgrader("--root", str(self.root), "-n", self.name, *args, timeout=timeout)

    def containers(self) -> dict[str, str]:
        """Container id → name of every container of the Compose project."""
        found = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={self.name}",
                                "--format", "{{.ID}} {{.Names}}"], capture_output=True, text=True, check=True)
        return dict(line.split(" ", 1) for line in found.stdout.splitlines())

    def folder_digest(self) -> dict[str, str]:
        return {str(path.relative_to(self.folder)): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(self.folder.rglob("*")) if path.is_file()}

    def precious(self) -> str:
        return read_volume(f"{self.name}_data", "/data/precious", image_refs("1.0.0")["web"]).strip()


@pytest.fixture
def hand_stack(rig: Rig, tmp_path: Path) -> Iterator[HandStack]:
    from upgrader.runtime import compose

    name = f"adopt-{secrets.token_hex(4)}"
    folder = tmp_path / "by-hand"
    folder.mkdir()
    port = free_port()
    (folder / "compose.yaml").write_text(compose_file("1.0.0"))
    (folder / ".env").write_text(f"HTTP_PORT={port}\n")
    feed = rig.feed_for(name)
    for version in ("1.0.0", "1.1.0"):
        rig.release(version, feed=feed)
    root = tmp_path / "root"
    root.mkdir()
    stack = HandStack(name, folder, port, root, feed)
    try:
        subprocess.run([*compose.command(), "-p", name, "up", "-d", "--wait"], cwd=folder, check=True,
                       capture_output=True)
        subprocess.run(["docker", "exec", f"{name}-worker-1", "sh", "-c", "echo kept-by-hand > /data/precious"],
                       check=True, capture_output=True)
        assert answer(port) == "1.0.0"
        yield stack
    finally:
        remove_project(name)


def test_a_first_run_over_a_stack_started_by_hand_is_refused_and_leaves_it_alone(hand_stack: HandStack) -> None:
    hand_stack.root.joinpath("projects", hand_stack.name).mkdir(parents=True)
    hand_stack.root.joinpath("projects", hand_stack.name, "project.yaml").write_text(
        yaml.safe_dump({"feed": hand_stack.feed.url, "values": {"HTTP_PORT": str(hand_stack.port)}}))
    before = hand_stack.containers()

    result = hand_stack.upgrader("run", "--cron")

    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"Compose project {hand_stack.name} already runs here, not installed by upgrader" in result.stderr
            and f"upgrader init --adopt -n {hand_stack.name}" in result.stderr), result.stderr
    assert hand_stack.containers() == before
    assert answer(hand_stack.port) == "1.0.0"
    assert not (hand_stack.root / "state" / hand_stack.name / "installed.json").exists()
    assert not (hand_stack.root / "projects" / hand_stack.name / "export").exists()


def test_an_adopted_stack_is_found_by_its_images_and_upgraded_by_the_first_run(hand_stack: HandStack) -> None:
    folder_before = hand_stack.folder_digest()
    old = hand_stack.containers()

    adopted = hand_stack.upgrader("init", "--feed", hand_stack.feed.url, "--adopt", "--from-dir",
                                  str(hand_stack.folder))

    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "release 1.0.0 (by the images it runs)" in adopted.stdout
    assert f"wrote projects/{hand_stack.name}/export/" in adopted.stdout and "wrote releases/1.0.0/" in adopted.stdout
    assert "would install 1.1.0" in adopted.stdout
    assert "carried over from" in adopted.stdout and "HTTP_PORT" in adopted.stdout
    installed = json.loads((hand_stack.root / "state" / hand_stack.name / "installed.json").read_text())
    assert installed["version"] == "1.0.0"
    assert installed["adopted"]["matched_by"] == "images"
    assert installed["adopted"]["working_dir"] == str(hand_stack.folder)
    assert (hand_stack.root / "releases" / "1.0.0" / "compose.yaml").is_file()
    export = hand_stack.root / "projects" / hand_stack.name / "export"
    assert (export / ".env").read_text() == f"HTTP_PORT={hand_stack.port}\n"
    assert hand_stack.containers() == old  # not restarted
    assert hand_stack.folder_digest() == folder_before  # nothing in the folder changed
    project_file = hand_stack.root / "projects" / hand_stack.name / "project.yaml"
    # what .env set that the release's defaults do not (the port) is kept for the first run, in a
    # project.yaml that only root reads, since .env may hold secrets
    assert yaml.safe_load(project_file.read_text())["values"] == {"HTTP_PORT": str(hand_stack.port)}
    assert project_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(hand_stack.upgrader("check", "--json").stdout)["reconfigure_needed"] is False

    upgraded = hand_stack.upgrader("run")

    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert answer(hand_stack.port) == "1.1.0"
    assert hand_stack.precious() == "kept-by-hand"
    assert not set(old) & set(hand_stack.containers()), "a container of the stack started by hand is left"
    assert hand_stack.folder_digest() == folder_before


def test_adopt_takes_the_version_given_and_the_configuration_the_containers_name(hand_stack: HandStack,
                                                                                 rig: Rig) -> None:
    newer_only = rig.feed_for(f"{hand_stack.name}-newer")
    rig.release("1.1.0", feed=newer_only)
    unmatched = hand_stack.upgrader("init", "--feed", newer_only.url, "--adopt")
    assert unmatched.returncode == 2, unmatched.stdout + unmatched.stderr
    assert "no release of the feed runs the images" in unmatched.stderr and "--version V" in unmatched.stderr
    assert list(hand_stack.root.rglob("*")) == []  # what init wrote and downloaded is gone

    adopted = hand_stack.upgrader("init", "--feed", hand_stack.feed.url, "--adopt", "--version", "1.0.0")

    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "release 1.0.0 (as asked (--version))" in adopted.stdout
    installed = json.loads((hand_stack.root / "state" / hand_stack.name / "installed.json").read_text())
    assert installed["adopted"]["config_files"] == [str(hand_stack.folder / "compose.yaml")]
    assert set(installed["images"]) == set(image_refs("1.0.0").values())
    checked = json.loads(hand_stack.upgrader("check", "--json").stdout)
    assert (checked["installed"], checked["target"], checked["serving"]) == ("1.0.0", "1.1.0", True)

    again = hand_stack.upgrader("init", "--feed", hand_stack.feed.url, "--adopt")
    assert again.returncode == 2 and "exists; upgrader never writes over it" in again.stderr
