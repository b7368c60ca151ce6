"""What ``status`` and ``check --json`` still say when something they need fails.

One typo in project.yaml must not hide what the state files say (``status``); and a script
reading ``check --json`` gets one JSON object, with an ``error``, even when the feed or
project.yaml cannot be read. (``doctor`` goes further, in ``upgrader.doctor.examine``: each
failure is a check of its own, and the checks that do not need what failed still run.)
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from upgrader import trust
from upgrader.errors import ConfigError, UpgraderError
from upgrader.project import Project, choose_name, find_root, load_project
from upgrader.store import ProjectStore


def open_despite_config(root: Path, name: str | None) -> tuple[Project, ProjectStore, str | None]:
    """The project named ``name`` (or the only one) under ``root``, its store, and why its
    project.yaml is invalid (None when it is valid).

    With an invalid project.yaml the project comes without settings (``config`` empty): enough
    for the state files, whose places do not depend on them. Raises ``UsageError`` when no project
    can be chosen, and — as root — ``ConfigError`` for a file that may not be trusted
    (``trust.check_project``, as every command does before it reads the state).
    """
    chosen = choose_name(root, name)
    problem: str | None = None
    try:
        project = load_project(root, chosen)
    except ConfigError as error:
        project, problem = Project(root=root, name=chosen), str(error)
    trust.check_project(project)
    return project, ProjectStore(project.state_dir), problem


def check_failure(root_option: str | None, name: str | None, error: UpgraderError) -> dict[str, Any]:
    """``check --json``'s object when the check failed with ``error``: every key a check has
    (DESIGN §7), null where it could not be learnt, and ``error``, the one-line message.

    ``project``, ``installed`` and ``quarantined`` come from the state files when they can be
    read; nothing here raises."""
    data: dict[str, Any] = {"project": None, "installed": None, "target": None, "path": None,
                            "major_available": None, "quarantined": None, "up_to_date": None,
                            "error": str(error)}
    try:
        root = find_root(root_option)
        data["project"] = chosen = choose_name(root, name)
    except UpgraderError:
        return data
    store = ProjectStore(Project(root=root, name=chosen).state_dir)
    with suppress(UpgraderError):
        data["installed"] = (store.read_installed() or {}).get("version")
    with suppress(UpgraderError):
        data["quarantined"] = sorted(store.read_quarantine())
    return data
