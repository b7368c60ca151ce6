"""The snapshot store: ``<root>/snapshots/<project>/<run_id>/`` and its manifest (DESIGN §9).

One snapshot is a folder named after the run that took it::

    snapshot.json      the manifest (state/snapshot.schema.json): written when the first pass
                       begins, rewritten after each pass, and last of all when it is complete
    <dir>/             the copy of one volume or folder (``volume-<name>`` or ``path-<hash>``)
    <dir>.listing      its listing: every entry's metadata and content sha256 (``tree.Listing``)

Only this module and the copies it names (``tree``, ``archive``) write there. A snapshot is
``complete`` only once its second pass ran while every writer was stopped: only such a snapshot
may be restored. A snapshot is removed by renaming it out of the way first, so that a removal
cut short never leaves something that looks like a snapshot without being one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from upgrader.errors import StateError
from upgrader.store import make_dirs, now, write_atomic
from upgrader.validation import check

logger = logging.getLogger(__name__)

SCHEMA = 1
MANIFEST = "snapshot.json"
MAX_MANIFEST = 16 << 20
_REMOVING = ".removing-"


class SnapshotError(StateError):
    """A snapshot is missing, incomplete, corrupt, or not the one asked for (exit 3)."""


def project_folder(root: Path, name: str) -> Path:
    """``<root>/snapshots/<name>/``: every snapshot of one project."""
    return root / "snapshots" / name


def folder(root: Path, name: str, run_id: str) -> Path:
    return project_folder(root, name) / run_id


def item_dir(kind: str, name: str) -> str:
    """The folder of one item inside a snapshot: volumes by name, host folders by a hash of their
    path (a path may hold any byte; the folder name must not)."""
    if kind == "volume":
        return f"volume-{name}"
    return "path-" + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def new(project: str, run_id: str, from_version: str | None, to_version: str | None) -> dict[str, Any]:
    """The manifest of a snapshot whose first pass begins now."""
    return {
        "schema": SCHEMA, "project": project, "run_id": run_id, "from": from_version, "to": to_version,
        "created_at": now(), "stopped_at": None, "completed_at": None, "complete": False, "volumes": [],
    }


def write(path: Path, manifest: dict[str, Any]) -> None:
    """Write ``path/snapshot.json`` atomically and durably (the folder is created 0700)."""
    errors = check(manifest, "snapshot.schema.json")
    if errors:  # a bug of ours, never an operator's: refuse to write a manifest we could not read back
        raise ValueError(f"snapshot manifest: {errors[0]}")
    make_dirs(path)
    write_atomic(path / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


def read(path: Path) -> dict[str, Any]:
    """The manifest of the snapshot at ``path``; raises ``SnapshotError`` (one line, naming the file)
    when it is missing, too large, not JSON, not valid, or written by a newer upgrader."""
    file = path / MANIFEST
    try:
        with open(file, "rb") as stream:
            raw = stream.read(MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise SnapshotError(f"{file}: missing; the snapshot at {path} has no manifest") from None
    except OSError as error:
        raise SnapshotError(f"{file}: cannot read: {error.strerror}") from None
    if len(raw) > MAX_MANIFEST:
        raise SnapshotError(f"{file}: larger than {MAX_MANIFEST} bytes; not a snapshot manifest")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise SnapshotError(f"{file}: corrupt (not valid JSON)") from None
    if isinstance(document, dict) and isinstance(document.get("schema"), int) and document["schema"] > SCHEMA:
        raise SnapshotError(f"{file} was written by a newer upgrader (schema {document['schema']})")
    errors = check(document, "snapshot.schema.json")
    if errors:
        raise SnapshotError(f"{file}: corrupt: {errors[0]}")
    manifest: dict[str, Any] = document
    return manifest


def load(root: Path, name: str, run_id: str) -> dict[str, Any]:
    """The COMPLETE snapshot run ``run_id`` of project ``name`` took, ready to be restored; raises
    ``SnapshotError`` naming what is wrong (missing, incomplete, corrupt, another project's or run's)."""
    path = folder(root, name, run_id)
    manifest = read(path)
    if manifest["project"] != name or manifest["run_id"] != run_id:
        raise SnapshotError(f"{path / MANIFEST}: it is the snapshot of project {manifest['project']!r}, run "
                            f"{manifest['run_id']}, not of {name!r}, run {run_id}; refusing to restore it")
    if not manifest["complete"] or not all(item["complete"] for item in manifest["volumes"]):
        raise SnapshotError(f"{path}: the snapshot is incomplete (its second pass never finished while "
                            "the server was stopped); refusing to restore it")
    return manifest


def run_ids(root: Path, name: str) -> list[str]:
    """The run ids of the project's snapshot folders, newest first (run ids begin with their time)."""
    base = project_folder(root, name)
    if not base.is_dir():
        return []
    return sorted((entry.name for entry in base.iterdir()
                   if entry.is_dir() and not entry.name.startswith(".")), reverse=True)


def summaries(root: Path, name: str) -> list[dict[str, Any]]:
    """Every snapshot of the project, newest first, as ``snapshots --json`` prints it; a damaged
    one is listed with its ``error`` rather than hiding the others."""
    found: list[dict[str, Any]] = []
    for run_id in run_ids(root, name):
        path = folder(root, name, run_id)
        size = disk_bytes(path)
        try:
            manifest = read(path)
        except SnapshotError as error:
            found.append({"run_id": run_id, "from": None, "to": None, "created_at": None, "bytes": size,
                          "complete": False, "volumes": [], "path": str(path), "error": str(error)})
            continue
        found.append({
            "run_id": run_id, "from": manifest["from"], "to": manifest["to"],
            "created_at": manifest["created_at"], "stopped_at": manifest["stopped_at"],
            "completed_at": manifest["completed_at"], "bytes": size,
            "complete": manifest["complete"], "path": str(path),
            "volumes": [{key: item[key] for key in ("kind", "name", "method", "files", "bytes", "digest")}
                        for item in manifest["volumes"]],
            "error": None if manifest["run_id"] == run_id and manifest["project"] == name else
            f"its manifest names project {manifest['project']!r}, run {manifest['run_id']}",
        })
    return found


def remove(root: Path, name: str, run_id: str) -> None:
    """Remove one snapshot: renamed out of the way first, then deleted (see the module docstring)."""
    path = folder(root, name, run_id)
    doomed = path.with_name(f"{_REMOVING}{run_id}")
    if path.exists():
        os.replace(path, doomed)
    if doomed.exists():
        _make_deletable(doomed)
        shutil.rmtree(doomed)


def remove_leftovers(root: Path, name: str) -> None:
    """Finish removals that a crash cut short."""
    base = project_folder(root, name)
    for entry in base.iterdir() if base.is_dir() else []:
        if entry.name.startswith(_REMOVING):
            _make_deletable(entry)
            shutil.rmtree(entry, ignore_errors=True)


def _make_deletable(path: Path) -> None:
    """A copy keeps modes: as a user other than root, a folder of mode 0500 in it could not be emptied."""
    if os.geteuid() == 0 or not path.exists():
        return
    for folder_path, _, _ in os.walk(path):
        os.chmod(folder_path, 0o700)


def disk_bytes(path: Path) -> int:
    """What a folder occupies on disk (allocated blocks, each hard-linked file once)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for folder_path, _, names in os.walk(path):
        for entry_name in names:
            try:
                info = os.lstat(os.path.join(folder_path, entry_name))
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            total += info.st_blocks * 512
    return total
