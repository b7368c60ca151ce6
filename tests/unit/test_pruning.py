"""Which release folders and downloads ``prune`` removes (the folders only: no release here
names an image, so no image is looked at)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from upgrader.project import Project
from upgrader.pruning import prune, version_of, versions_used

FOLDERS = ["1.0.0", "1.0.0@aaaaaaaaaaaa", "1.1.0", "1.2.0", "1.3.0", "1.4.0"]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(tmp_path, "acme")
    for name in FOLDERS:
        (project.releases_dir / name).mkdir(parents=True)
        (project.downloads_dir / version_of(name)).mkdir(parents=True, exist_ok=True)
        (project.downloads_dir / version_of(name) / "acme-server.tar.gz").write_bytes(b"x")
    (project.releases_dir / ".1.5.0.acme.partial").mkdir()  # another run's extraction: not a release
    (project.releases_dir / "notes").mkdir()  # not a release either
    return project


def installed(version: str, previous: str | None) -> dict[str, Any]:
    return {"version": version, "images": {},
            "previous": {"version": previous, "images": {}} if previous else None}


def left(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_superseded_releases_go_and_the_running_previous_and_newer_ones_stay(project: Project) -> None:
    removed = prune(project, installed("1.3.0", "1.2.0"), keep=1)
    # keep=1 is the previous release; 1.4.0 (newer: a rolled-back attempt) is the operator's.
    assert sorted(removed) == ["1.0.0", "1.0.0@aaaaaaaaaaaa", "1.1.0"]
    assert left(project.releases_dir) == [".1.5.0.acme.partial", "1.2.0", "1.3.0", "1.4.0", "notes"]
    assert left(project.downloads_dir) == ["1.2.0", "1.3.0", "1.4.0"]


def test_keep_counts_superseded_releases_newest_first(project: Project) -> None:
    assert sorted(prune(project, installed("1.3.0", "1.2.0"), keep=2)) == ["1.0.0", "1.0.0@aaaaaaaaaaaa"]
    assert left(project.releases_dir) == [".1.5.0.acme.partial", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "notes"]
    assert left(project.downloads_dir) == ["1.1.0", "1.2.0", "1.3.0", "1.4.0"]


def test_what_another_project_uses_stays(project: Project) -> None:
    """Another project of the root runs 1.0.0 (either folder of it may be its archive's)."""
    removed = prune(project, installed("1.3.0", "1.2.0"), keep=0, others=({"1.0.0"}, set()))
    assert removed == ["1.1.0"]
    assert left(project.releases_dir) == [".1.5.0.acme.partial", "1.0.0", "1.0.0@aaaaaaaaaaaa", "1.2.0",
                                          "1.3.0", "1.4.0", "notes"]
    # This project's own download of 1.0.0 is its cache alone: it goes.
    assert left(project.downloads_dir) == ["1.2.0", "1.3.0", "1.4.0"]


def test_nothing_is_pruned_before_a_first_install(project: Project) -> None:
    assert prune(project, None, keep=0) == []
    assert len(left(project.releases_dir)) == len(FOLDERS) + 2


@pytest.mark.parametrize(("installed_doc", "run", "used"), [
    (None, None, set()),
    (installed("1.3.0", "1.2.0"), None, {"1.3.0", "1.2.0"}),
    (installed("1.3.0", None), {"from_version": "1.3.0", "to_version": "1.4.0"}, {"1.3.0", "1.4.0"}),
    (None, {"from_version": None, "to_version": "1.0.0"}, {"1.0.0"}),
])
def test_versions_used_by_a_project(installed_doc: dict[str, Any] | None, run: dict[str, Any] | None,
                                    used: set[str]) -> None:
    assert versions_used(installed_doc, run) == used


def test_version_of_a_folder() -> None:
    assert version_of("1.2.0") == "1.2.0"
    assert version_of("1.2.0@0123456789ab") == "1.2.0"
    assert version_of("1.2.0+build.5@0123456789ab") == "1.2.0+build.5"
