"""``upgrader prune``: remove superseded releases, their downloads and their images.

Superseded means older than the running release. The running release and the one before it
(what ``rollback`` goes back to) are never removed, nor an image either of them uses; besides
the running one, ``keep`` extracted releases stay (the previous one counts among them).
Releases newer than the running one (a rolled-back attempt) are left for the operator.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from upgrader.package import MARKER, remove_release
from upgrader.plan import parse_version
from upgrader.project import Project

logger = logging.getLogger(__name__)


def _release_images(folder: Path) -> set[str]:
    try:
        return set(json.loads((folder / "release.json").read_text(encoding="utf-8")).get("images", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _versions(releases: Path) -> list[str]:
    found = []
    for folder in releases.iterdir() if releases.is_dir() else []:
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                parse_version(folder.name)
            except ValueError:
                continue
            found.append(folder.name)
    return found


def prune(project: Project, installed: dict[str, Any] | None, keep: int) -> list[str]:
    """Remove what is superseded; returns the versions removed."""
    from upgrader.runtime import engine

    if installed is None:
        return []
    running = installed["version"]
    previous = (installed.get("previous") or {}).get("version")
    protected = {version for version in (running, previous) if version}
    releases = project.releases_dir
    versions = _versions(releases)
    superseded = sorted(
        (v for v in versions if parse_version(v) < parse_version(running) and v not in protected),
        key=parse_version, reverse=True,
    )
    room = max(0, keep - (1 if previous in versions else 0))
    doomed = superseded[room:]
    in_use = set(installed.get("images") or {}) | set((installed.get("previous") or {}).get("images") or {})
    for version in sorted(protected | set(superseded[:room])):
        in_use |= _release_images(releases / version)
    removed = []
    for version in doomed:
        folder = releases / version
        images = _release_images(folder)
        try:
            archive = json.loads((folder / MARKER).read_text(encoding="utf-8")).get("archive")
        except (OSError, ValueError):
            archive = None
        remove_release(folder)
        if archive and Path(archive).parent == project.downloads_dir:
            Path(archive).unlink(missing_ok=True)
        for image in sorted(images - in_use):
            if not engine.remove_image(image):
                logger.info("image %s not removed (in use or gone)", image)
        removed.append(version)
    return removed
