"""Fixtures of the unit tier: a project in ``tmp_path``, its store, and recording actions."""

from __future__ import annotations

from pathlib import Path

import pytest
from unit_support import Recorder

from upgrader.project import Project
from upgrader.store import ProjectStore


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path, name="demo")


@pytest.fixture
def store(project: Project) -> ProjectStore:
    return ProjectStore(project.state_dir)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
