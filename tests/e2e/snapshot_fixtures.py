"""Fixtures and helpers of the data snapshot tests (test_snapshot_restore.py,
test_snapshot_postgres.py): the stacks' images, a project that cleans up its data, a poller of
the web service, a server root on a small tmpfs.

The fixtures are named ``pg``, ``stack_images`` and ``stack_project``; a test module imports their
functions (``…_fixture``) so that pytest finds them."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rig import Rig
from tests.rig.postgres import pg_image, remove_image
from tests.rig.stacks import publish_stack, stack_volume

from .conftest import DockerProject


@pytest.fixture(scope="session", name="pg")
def pg_fixture(rig: Rig) -> Iterator[str]:
    """The PostgreSQL 15 image in the rig's registry (built once and cached, see
    tests/rig/postgres.py); taken out of the local engine at the end of the session."""
    reference = pg_image(rig)
    try:
        yield reference
    finally:
        remove_image(reference)


@pytest.fixture(scope="session", name="stack_images")
def stack_images_fixture(rig: Rig) -> Iterator[None]:
    """The realistic stack's per-version images are built as releases are published; the local
    copies go at the end of the session."""
    yield
    built = sorted(reference for reference in rig.built if "/acme/app:" in reference)
    if built:
        subprocess.run(["docker", "rmi", "-f", *built], capture_output=True, check=False)


@pytest.fixture(name="stack_project")
def stack_project_fixture(project: DockerProject, stack_images: None) -> Iterator[DockerProject]:
    """``project``, whose data volumes (both stacks') and snapshots go at the end too."""
    try:
        yield project
    finally:
        project.close()  # containers first: a volume in use cannot be removed
        for kind in ("files", "postgres"):
            subprocess.run(["docker", "volume", "rm", "-f", stack_volume(project, kind)],
                           capture_output=True, check=False)
        shutil.rmtree(project.root / "snapshots", ignore_errors=True)


def install_stack(project: DockerProject, kind: str, version: str = "1.1.0") -> None:
    """First install of release ``version`` of stack ``kind``, checked to serve."""
    publish_stack(project, kind, version)
    result = project.upgrader("run", "--to", version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer() == version


def outcome(result: subprocess.CompletedProcess[str]) -> str:
    return f"\n--- exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def run_status(project: DockerProject) -> dict[str, Any]:
    run = project.status()["run"]
    assert run is not None
    return dict(run)


def journal_events(project: DockerProject, event: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """The journal's ``event`` entries of run ``run_id`` (the last run's by default)."""
    run_id = run_id or run_status(project)["id"]
    return [entry for entry in project.journal() if entry["event"] == event and entry["run_id"] == run_id]


def snapshots(project: DockerProject) -> list[dict[str, Any]]:
    """``upgrader snapshots --json``."""
    result = project.upgrader("snapshots", "--json")
    assert result.returncode == 0, outcome(result)
    return list(json.loads(result.stdout))


def manifest(project: DockerProject, run_id: str) -> dict[str, Any]:
    path = project.root / "snapshots" / project.name / run_id / "snapshot.json"
    assert path.is_file(), f"no manifest {path}"
    return dict(json.loads(path.read_text()))


def values_of(document: Any, key: str) -> list[Any]:
    """Every value of ``key`` anywhere in a JSON document."""
    found = []
    if isinstance(document, dict):
        for name, value in document.items():
            if name == key:
                found.append(value)
            found += values_of(value, key)
    elif isinstance(document, list):
        for item in document:
            found += values_of(item, key)
    return found


@contextlib.contextmanager
def tmpfs_root(project: DockerProject, size: str) -> Iterator[Path]:
    """The project's server root on a tmpfs of ``size`` (mounted over it; its project.yaml
    written again), unmounted at the end."""
    root = project.root
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(root)], check=True)
    try:
        project.dir.mkdir(parents=True)
        project.configure()
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


# One letter (16M, as df -h and numfmt write it) is taken as binary.
_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2,
          "mb": 1000**2, "mib": 1024**2, "g": 1024**3, "gb": 1000**3, "gib": 1024**3}


def byte_amounts(text: str) -> list[float]:
    """Every amount of bytes a text names (``41943040``, ``41943040 bytes``, ``40 MiB``, ``41.9 MB``,
    ``16M``), in bytes; a bare number counts when it is at least 1024 (not a count or a version)."""
    amounts = []
    for number, unit in re.findall(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?([KMG]i?B|[KMG]|bytes?|B)?(?![\w.])",
                                   text, flags=re.IGNORECASE):
        value = float(number.replace(",", ""))
        scale = _UNITS.get(unit.lower())
        if scale is None or (not unit and value < 1024):
            continue
        amounts.append(value * scale)
    return amounts
