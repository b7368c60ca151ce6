"""``upgrader prune``: remove superseded releases, their downloads and their images.

Superseded means older than the running release. The running release and the one before it
(what ``rollback`` goes back to) are never removed, nor an image either of them uses; besides
the running one, ``keep`` extracted releases stay (the previous one counts among them).
Releases newer than the running one (a rolled-back attempt) are left for the operator.
Projects of one root share ``releases/<version>/``: what another project runs, ran before or is
upgrading between is never removed, nor an image it uses.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from upgrader.package import remove_release
from upgrader.plan import parse_version
from upgrader.project import Project

logger = logging.getLogger(__name__)


def _release_images(folder: Path) -> set[str]:
    try:
        return set(json.loads((folder / "release.json").read_text(encoding="utf-8")).get("images", []))
    except (OSError, ValueError, AttributeError):
        return set()


def version_of(folder: str) -> str:
    """The release version a folder of ``releases/`` holds: ``1.2.0`` for ``1.2.0`` and ``1.2.0@<sha12>``."""
    return folder.partition("@")[0]


def _folders(releases: Path) -> dict[str, Any]:
    """Release folders (by name) → their parsed version; folders that are not releases are skipped."""
    found = {}
    for folder in releases.iterdir() if releases.is_dir() else []:
        if folder.is_dir() and not folder.name.startswith("."):
            try:
                found[folder.name] = parse_version(version_of(folder.name))
            except ValueError:
                continue
    return found


def versions_used(installed: dict[str, Any] | None, run: dict[str, Any] | None) -> set[str]:
    """The versions a project needs kept: the running and previous ones, and its last run's two."""
    used = set()
    if installed:
        used |= {installed["version"], (installed.get("previous") or {}).get("version")}
    if run:
        used |= {run.get("from_version"), run.get("to_version")}
    return {version for version in used if version}


def prune(project: Project, installed: dict[str, Any] | None, keep: int,
          others: tuple[set[str], set[str]] = (set(), set())) -> list[str]:
    """Remove what is superseded; returns the release folders removed.

    ``others`` are what the root's other projects use — (versions, images) — which are never
    removed: projects of one root share ``releases/<version>/`` when they run the same archive.
    """
    from upgrader.runtime import engine

    if installed is None:
        return []
    running = parse_version(installed["version"])
    previous = (installed.get("previous") or {}).get("version")
    protected = {version for version in (installed["version"], previous) if version}
    releases = project.releases_dir
    folders = _folders(releases)
    superseded = sorted(
        (name for name, version in folders.items()
         if version < running and version_of(name) not in protected),
        key=lambda name: (folders[name], name), reverse=True,
    )
    room = max(0, keep - (1 if previous and any(version_of(name) == previous for name in folders) else 0))
    kept = superseded[:room]
    doomed = [name for name in superseded[room:] if version_of(name) not in others[0]]
    in_use = (set(installed.get("images") or {}) | set((installed.get("previous") or {}).get("images") or {})
              | others[1])
    for name in folders.keys() - set(doomed):
        in_use |= _release_images(releases / name)
    removed = []
    for name in doomed:
        folder = releases / name
        images = _release_images(folder)
        remove_release(folder)
        for image in sorted(images - in_use):
            if not engine.remove_image(image):
                logger.info("image %s not removed (in use or gone)", image)
        removed.append(name)
    _prune_downloads(project.downloads_dir, running, protected | {version_of(name) for name in kept})
    return removed


def _prune_downloads(downloads: Path, running: Any, kept: set[str]) -> None:
    """Remove this project's downloads (``downloads/<name>/<version>/``) of superseded releases."""
    for folder in downloads.iterdir() if downloads.is_dir() else []:
        try:
            superseded = parse_version(folder.name) < running
        except ValueError:
            continue
        if folder.is_dir() and superseded and folder.name not in kept:
            shutil.rmtree(folder)
