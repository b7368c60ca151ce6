"""The server root and its projects (DESIGN §2): where things are, and project.yaml.

project.yaml belongs to the operator: it is read and validated here, never written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upgrader import yamlsafe
from upgrader.errors import ConfigError, UsageError
from upgrader.validation import check, raise_if_errors

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_WORKFLOW = "upgrade"


@dataclass(frozen=True)
class Project:
    """One project under a server root, with its validated settings."""

    root: Path
    name: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.root / "projects" / self.name

    @property
    def export_dir(self) -> Path:
        return self.dir / "export"

    @property
    def state_dir(self) -> Path:
        return self.root / "state" / self.name

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def downloads_dir(self) -> Path:
        """``downloads/<name>/``: each project downloads (to ``<version>/<archive>``) under its own
        lock into its own folder, so two projects never write one ``.part`` file, nor replace each
        other's archive of the same name."""
        return self.root / "downloads" / self.name

    @property
    def log_path(self) -> Path:
        return self.root / "logs" / f"{self.name}.log"

    @property
    def workflow(self) -> str:
        return str(self.config.get("workflow", DEFAULT_WORKFLOW))


def find_root(option: str | None) -> Path:
    """The server root: ``--root``, else ``UPGRADER_ROOT``, else the current folder."""
    chosen = option or os.environ.get("UPGRADER_ROOT") or os.getcwd()
    root = Path(chosen).expanduser().absolute()
    if not root.is_dir():
        raise UsageError(f"server root {root} is not a folder (set --root or UPGRADER_ROOT)")
    return root


def project_names(root: Path) -> list[str]:
    """The projects under ``root/projects``, sorted: folders with a valid name and a project.yaml."""
    folder = root / "projects"
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if NAME.match(entry.name) and (entry / "project.yaml").is_file()
    )


def choose_name(root: Path, name: str | None) -> str:
    """The project a command is about: ``-n NAME``, or the only project under ``root``."""
    if name is not None:
        if not NAME.match(name):
            raise UsageError(
                f"project name {name!r} is invalid: use lower-case letters, digits, '-' and '_', "
                "starting with a letter or digit, at most 63 characters"
            )
        return name
    names = project_names(root)
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"no project under {root / 'projects'}: create projects/<name>/project.yaml")
    raise UsageError(
        f"{len(names)} projects under {root / 'projects'} ({', '.join(names)}): pick one with -n NAME"
    )


def load_project(root: Path, name: str) -> Project:
    """Read and validate ``projects/<name>/project.yaml``; raises ``ConfigError`` naming the key."""
    path = root / "projects" / name / "project.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; project {name!r} has no project.yaml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        document = yamlsafe.load(text)
    except yamlsafe.YAMLRefused as error:
        raise ConfigError(f"{path}: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: at '(top level)': must be a mapping of settings")
    raise_if_errors(str(path), check(document, "project.schema.json"))
    return Project(root=root, name=name, config=document)
