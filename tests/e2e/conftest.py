"""End-to-end tests: the installed ``upgrader`` command, as an operator runs it."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rig import (
    BUSYBOX,
    Feed,
    Rig,
    answer,
    default_signals,
    free_port,
    image_refs,
    read_volume,
    remove_project,
    stop_stale_registries,
    volume_exists,
)

UPGRADER = Path(sys.executable).with_name("upgrader")


def upgrader(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
             ) -> subprocess.CompletedProcess[str]:
    """Run the installed command; stdin closed, as under cron."""
    return subprocess.run(
        [str(UPGRADER), *args], capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, check=False,
    )


@pytest.fixture
def run_upgrader() -> Callable[..., subprocess.CompletedProcess[str]]:
    assert UPGRADER.exists(), f"{UPGRADER} is not installed: run make install"
    return upgrader


def status(root: Path, name: str) -> dict:
    result = upgrader("--root", str(root), "-n", name, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def vendor_root(tmp_path: Path) -> Path:
    """A server root laid out as a vendor ships it: its control script and one project."""
    shutil.copy(Path(__file__).with_name("fake_server.sh"), tmp_path / "server.sh")
    (tmp_path / "release-version").write_text("1.1.0\n")
    project = tmp_path / "projects" / "spacetech"
    project.mkdir(parents=True)
    (project / "project.yaml").write_text("workflow: vendor-scripts\n")
    server = tmp_path / "fake" / "spacetech"  # release 1.0.0 runs
    server.mkdir(parents=True)
    for part in ("export", "images", "running"):
        (server / part).write_text("1.0.0\n")
    return tmp_path


# -- The Docker tier: a registry, a feed and projects on the real Docker Engine ---------------------

@pytest.fixture(scope="session")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The registry on 127.0.0.1:5000 (started and owned by the rig) and the feed server, with the
    images of 1.0.0 and 1.1.0 built and pushed once per session."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail("the Docker Engine is not usable: run 'bash tests/provision.sh'")
    if not shutil.which("docker-registry") or not BUSYBOX.exists():
        pytest.fail("docker-registry or busybox-static is missing: run 'bash tests/provision.sh'")
    stop_stale_registries()  # a registry left by an earlier session: the rig must own its own
    started = Rig(tmp_path_factory.mktemp("rig")).start()
    try:
        for version in ("1.0.0", "1.1.0"):
            started.publish_images(version)
        yield started
    finally:
        started.stop()


@dataclass
class DockerProject:
    """One Compose project under its own server root, with its own feed and HTTP port."""

    root: Path
    name: str
    port: int
    feed: Feed
    rig: Rig
    spawned: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return self.root / "projects" / self.name

    @property
    def state(self) -> Path:
        return self.root / "state" / self.name

    @property
    def volume(self) -> str:
        return f"{self.name}_data"

    def configure(self, workflow: str | Path = "upgrade", **settings: object) -> None:
        """Write project.yaml: this project's feed, port and workflow, a 30 s health timeout."""
        document = {"feed": self.feed.url, "workflow": str(workflow), "health_timeout": 30,
                    "values": {"HTTP_PORT": str(self.port)}, **settings}
        (self.dir / "project.yaml").write_text(yaml.safe_dump(document))

    def publish(self, version: str, **options: object) -> dict[str, object]:
        """Put release ``version`` in this project's feed (see ``Rig.release``)."""
        return self.rig.release(version, feed=self.feed, **options)

    def upgrader(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return upgrader("--root", str(self.root), "-n", self.name, *args, timeout=timeout)

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start the command without waiting; its output goes to a file beside the project."""
        output = open(self.root / f"upgrader-{len(self.spawned)}.out", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [str(UPGRADER), "--root", str(self.root), "-n", self.name, *args], stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, text=True, preexec_fn=default_signals)
        output.close()
        self.spawned.append(process)
        return process

    def install(self, version: str = "1.0.0") -> None:
        """First install of ``version`` (published to the feed), checked to serve."""
        self.publish(version)
        result = self.upgrader("run", "--to", version)
        assert result.returncode == 0, result.stdout + result.stderr
        assert self.answer() == version

    def status(self) -> dict[str, Any]:
        return status(self.root, self.name)

    def check(self) -> dict[str, Any]:
        result = self.upgrader("check", "--json")
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    def history(self) -> list[dict[str, Any]]:
        result = self.upgrader("history", "--json")
        assert result.returncode == 0, result.stderr
        return list(json.loads(result.stdout))

    def installed(self) -> dict[str, Any]:
        return dict(json.loads((self.state / "installed.json").read_text()))

    def journal(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.state / "journal.jsonl").read_text().splitlines()]

    def answer(self) -> str | None:
        return answer(self.port)

    def versions(self) -> list[str]:
        """What the worker of each release that started has appended to the volume."""
        return read_volume(self.volume, "/data/versions", image_refs("1.0.0")["web"]).split()

    def assert_serves(self, version: str) -> list[str]:
        """``version`` answers, and the volume is still there with 1.0.0's data first; returns
        the versions the volume holds (see ``versions``)."""
        assert self.answer() == version
        assert volume_exists(self.volume), f"volume {self.volume} was removed"
        versions = self.versions()
        assert versions[:1] == ["1.0.0"]
        return versions

    def close(self) -> None:
        for process in self.spawned:
            if process.poll() is None:
                process.kill()
                process.wait()
        remove_project(self.name)


@pytest.fixture
def project(rig: Rig, tmp_path: Path) -> Iterator[DockerProject]:
    """A fresh project (unique name, free port, own feed) whose containers and volume go at the end."""
    name = f"e2e-{secrets.token_hex(4)}"
    root = tmp_path / "root"
    (root / "projects" / name).mkdir(parents=True)
    created = DockerProject(root, name, free_port(), rig.feed_for(name), rig)
    created.configure()
    try:
        yield created
    finally:
        created.close()


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it holds; fail the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting until {what}")
        time.sleep(interval)
