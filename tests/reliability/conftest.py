"""Fixtures of the reliability suite: the session's ``World`` and projects that clean up after
themselves (containers, volumes, mounts). The suite's own registry address is set in ``harness``
before ``tests.rig`` reads it."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import RelProject, World
from tests.rig import BUSYBOX


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: part of the full matrix (make reliability), not of make test")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.fail("the Docker Engine is not usable: run 'bash tests/provision.sh'")
    if not shutil.which("docker-registry") or not BUSYBOX.exists():
        pytest.fail("docker-registry or busybox-static is missing: run 'bash tests/provision.sh'")
    started = World(tmp_path_factory.mktemp("world")).start()
    try:
        yield started
    finally:
        started.stop()


ProjectFactory = Callable[..., RelProject]


@pytest.fixture
def make_project(world: World, tmp_path: Path) -> Iterator[ProjectFactory]:
    """Projects named ``rel-<hex>`` (or ``rel<label>-<hex>``) under ``tmp_path/root`` unless a
    root is given; their containers and volumes are removed at the end."""
    made: list[RelProject] = []

    def make(label: str = "", root: Path | None = None, **options: object) -> RelProject:
        name = f"rel{label}-{secrets.token_hex(3)}"
        project = RelProject(world, tmp_path, name, root or tmp_path / "root", **options)  # type: ignore[arg-type]
        made.append(project)
        return project

    try:
        yield make
    finally:
        for project in made:
            project.close()


@pytest.fixture
def project(make_project: ProjectFactory) -> RelProject:
    return make_project()
