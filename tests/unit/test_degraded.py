"""What ``status`` and ``check --json`` still say when project.yaml or the feed fails
(``upgrader.commands.degraded``): the state files and why project.yaml is invalid; one JSON object
with an ``error``. No network: the feed's failure is in tests/integration/test_feed_transfer.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from upgrader import app, cli
from upgrader.project import Project

TYPO = "feed: https://updates.example.invalid/acme/\nalow: minor\n"


def write_project(root: Path, text: str = "{}\n", name: str = "acme") -> Project:
    folder = root / "projects" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(text, encoding="utf-8")
    return Project(root=root, name=name)


def test_status_shows_the_state_and_why_project_yaml_is_invalid(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    project = write_project(tmp_path, TYPO)
    state = project.state_dir
    state.mkdir(parents=True)
    (state / "installed.json").write_text(json.dumps({
        "schema": 1, "version": "1.0.0", "release": {"version": "1.0.0"}, "images": {},
        "installed_at": "2026-11-27T12:00:00.000Z"}))
    data = app.status(app.Options(root=tmp_path)).data
    assert data["installed"] == "1.0.0"
    assert data["config_error"] == f"{project.dir}/project.yaml: at '(top level)': unknown key 'alow'"
    assert cli.main(["--root", str(tmp_path), "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "project acme: installed 1.0.0"
    assert lines[1].startswith("project.yaml is invalid (run, resume, rollback and check refuse until it is fixed): ")
    assert "unknown key 'alow'" in lines[1]

    write_project(tmp_path, "{}\n")
    assert app.status(app.Options(root=tmp_path)).data["config_error"] is None


def test_check_json_prints_one_object_with_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path, TYPO)
    assert cli.main(["--root", str(tmp_path), "check", "--json"]) == 2
    captured = capsys.readouterr()
    printed: dict[str, Any] = json.loads(captured.out)
    assert printed == {"project": "acme", "installed": None, "target": None, "path": None, "major_available": None,
                       "quarantined": [], "up_to_date": None,
                       "error": f"{tmp_path}/projects/acme/project.yaml: at '(top level)': unknown key 'alow'"}
    assert captured.err == f"upgrader: error: {printed['error']}\n"


def test_check_json_without_a_project_still_prints_an_object(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "check", "--json"]) == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed["project"] is None and "no project under" in printed["error"]
