"""``action: export`` and its undo ``restore_export`` (DESIGN §4).

Writes ``projects/<name>/export.new/`` from the extracted release (compose.yaml, config/,
``.env`` = defaults.env overlaid with project.yaml's ``values``, and ``compose.upgrader.yaml``,
the labels naming the root and project that own the containers), then swaps it in: ``export/``
becomes ``export.prev/``, ``export.new/`` becomes ``export/``. Data folders beside compose.yaml
live outside the exports, in ``projects/<name>/data/`` (see ``upgrader.datadirs``), so the swap
never moves data.

Crashes. Each export carries a marker ``.upgrader-export`` naming the run that wrote it, written
last: both the swap and its undo decide from the markers what they are looking at. That is only
sound while no folder can be half-deleted in place — ``shutil.rmtree`` may remove the marker
first (on tmpfs it always does), and a kill then leaves another run's files under a name that
says nothing. So no export folder is ever deleted where it stands: ``remove_folder`` renames it
to ``<name>.removing-<run>`` (one atomic step), then deletes it; both actions first finish such
removals a crash cut short. A folder in place is whole, a marker in it tells the truth, and
after a kill at any file operation the action, or its undo, run again converges.

Modes (upgrader may run as root under any umask, and ``.env`` holds the ``values``, often
secrets). Each mode is set explicitly, never left to the umask or copied from the release:

- ``export.new/`` is created 0700 (``mkdir`` with mode 0700: the umask can only narrow it), so
  nothing in it is ever reachable by another local user, and stays 0700 as ``export/`` and
  ``export.prev/``. Compose runs as upgrader's own user, and bind sources are resolved by the
  Docker daemon as root, which a 0700 folder does not stop; a container, whatever its user,
  sees a mounted file or folder with that file's or folder's own mode (checked with Docker
  20.10 and Compose v2.40: a container running as uid 1000 reads a 0644 file, a 0755 folder
  and a data folder's link mounted from a root-owned 0700 export).
- ``.env`` is created 0600 from its first byte (``O_CREAT|O_EXCL`` with mode 0600).
- Folders inside an export (``config/`` and its folders, folders holding data folders' links)
  are 0755, and compose.yaml and the marker 0644: containers often run as non-root users and
  must read the config they mount. Config files keep the mode the release shipped them with,
  made writable by their owner and by nobody else (``| 0o200``, ``& 0o755``: usually 0644).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError
from upgrader.project import Project
from upgrader.store import create_new

MARKER = ".upgrader-export"
REMOVING = ".removing-"  # export.removing-<run>: a folder being deleted, never read again
EXPORT_MODE = 0o700
FOLDER_MODE = 0o755
FILE_MODE = 0o644
SECRET_MODE = 0o600


def _marker(folder: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _written_by(folder: Path, run_id: str) -> bool:
    marker = _marker(folder)
    return marker is not None and marker.get("run_id") == run_id


def _folders(context: Context) -> tuple[Path, Path, Path]:
    """The project's ``export/``, ``export.new/`` and ``export.prev/``."""
    current = context.project.export_dir
    return current, current.with_name("export.new"), current.with_name("export.prev")


def remove_folder(folder: Path, run_id: str) -> None:
    """Delete ``folder`` (if there) so that a crash never leaves part of it under its own name:
    renamed to ``<name>.removing-<run_id>`` first, then deleted."""
    doomed = folder.with_name(f"{folder.name}{REMOVING}{run_id}")
    if os.path.lexists(folder):
        if os.path.lexists(doomed):
            shutil.rmtree(doomed)  # this run's earlier removal, cut short: a rename cannot go over it
        os.rename(folder, doomed)
    if os.path.lexists(doomed):
        shutil.rmtree(doomed)


def _finish_removals(context: Context) -> None:
    """Delete what ``remove_folder`` renamed but a crash kept it from deleting."""
    names = {folder.name for folder in _folders(context)}
    project_dir = context.project.export_dir.parent
    for entry in sorted(project_dir.iterdir()) if project_dir.is_dir() else []:
        if REMOVING in entry.name and entry.name.split(REMOVING, 1)[0] in names:
            shutil.rmtree(entry)


def values_digest(values: Any) -> str:
    """The digest of project.yaml's ``values`` (key order ignored), kept in the export's marker:
    ``check`` tells by it whether the export is older than project.yaml (``reconfigure``)."""
    text = json.dumps(values or {}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _env_value(value: object) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "\n" in text:
        raise ActionError(f"project.yaml: a value holds a line break: {text!r}", retryable=False)
    return text


def render_env(defaults: str, values: dict[str, Any]) -> str:
    """``.env``: the release's defaults.env with project.yaml's values set over it."""
    lines = []
    seen = set()
    for line in defaults.splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else None
        if key in values:
            lines.append(f"{key}={_env_value(values[key])}")
            seen.add(key)
        else:
            lines.append(line)
    lines += [f"{key}={_env_value(value)}" for key, value in values.items() if key not in seen]
    return "\n".join(lines) + "\n"


def _labels(context: Context, services: list[str]) -> bytes:
    return owner_labels(context.project, services)


def owner_labels(project: Project, services: list[str]) -> bytes:
    """``compose.upgrader.yaml``: the owner's labels on every service (DESIGN §14), JSON being
    YAML; Compose merges it over compose.yaml when it starts the export."""
    from upgrader.runtime.engine import OWNER_LABEL, ROOT_LABEL

    labels = {ROOT_LABEL: str(project.root), OWNER_LABEL: project.name}
    document = {"services": {service: {"labels": labels} for service in services}}
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _settle_modes(config: Path) -> None:
    """Folders 0755, files as shipped but writable by their owner only (see the module docstring):
    copytree copies the release's modes, and a release extracted under umask 000 has 0777 folders."""
    for folder, _, names in os.walk(config):  # links to folders are not walked into
        os.chmod(folder, FOLDER_MODE)
        for name in names:
            path = os.path.join(folder, name)
            if not os.path.islink(path):  # chmod would follow it
                os.chmod(path, (os.lstat(path).st_mode | 0o200) & 0o755)


def _write_new(context: Context, release: Path, new: Path) -> None:
    run_id = context.run["run_id"]
    remove_folder(new, run_id)  # not this run's, or not whole (no marker): of no use
    new.mkdir(mode=EXPORT_MODE)  # closed to others from the start: .env is written into it
    new.chmod(EXPORT_MODE)
    create_new(new / "compose.yaml", (release / "compose.yaml").read_bytes(), FILE_MODE)
    services = context.data.get("services")
    if isinstance(services, list) and services:
        from upgrader.runtime import LABELS

        create_new(new / LABELS, _labels(context, services), FILE_MODE)
    if (release / "config").is_dir():
        shutil.copytree(release / "config", new / "config", symlinks=True)
        _settle_modes(new / "config")
    defaults_file = release / "defaults.env"
    defaults = defaults_file.read_text(encoding="utf-8") if defaults_file.is_file() else ""
    env = render_env(defaults, dict(context.project.config.get("values") or {}))
    create_new(new / ".env", env.encode("utf-8"), SECRET_MODE)
    from upgrader import datadirs  # imported here: it imports this module

    # Found before the server stopped (by extract); asking Compose again here would be downtime.
    found = context.data.get("data_folders")
    data = list(found) if isinstance(found, list) else datadirs.kept_folders(new, release)
    datadirs.link(new, data)
    # Last: the marker says the folder is whole.
    marker = {"run_id": run_id, "version": context.to_version, "data": data,
              "values_sha256": values_digest(context.project.config.get("values"))}
    create_new(new / MARKER, (json.dumps(marker) + "\n").encode("utf-8"), FILE_MODE)


@register("export")
def export(context: Context) -> None:
    run_id = context.run["run_id"]
    current, new, previous = _folders(context)
    _finish_removals(context)
    if _written_by(current, run_id):
        return  # swapped already
    release = Path(context.data.get("release_dir", context.project.releases_dir / str(context.to_version)))
    if not (release / "compose.yaml").is_file():
        raise ActionError(f"{release}: no extracted release to export", retryable=False)
    if "export_before" not in context.data:
        # Registered before the swap: the undo must know whether an export was there, and which.
        marker = _marker(current) if current.exists() else None
        context.data["export_before"] = {"existed": current.exists(), "marker": marker}
        context.checkpoint()
    if not _written_by(new, run_id):
        _write_new(context, release, new)
    from upgrader import datadirs

    data = list((_marker(new) or {}).get("data") or [])
    if current.exists():
        datadirs.migrate(context, current, data)
    datadirs.create(new, data)  # after the migration, which an empty folder there would stop
    # The swap. A crash between its renames leaves no export/: run again, this continues with
    # the second rename (export.prev/ is then the export this run replaced).
    if current.exists():
        if previous.exists():
            datadirs.keep_leftovers(context, previous, _marker(previous), data)
            remove_folder(previous, run_id)
        os.replace(current, previous)
    os.replace(new, current)
    context.journal("export_swapped", {"export": str(current), "previous": str(previous)})


@register("restore_export")
def restore_export(context: Context) -> None:
    """Undo ``export``: put back the export that was there before this run's swap.

    Raises ``ActionError`` (not retryable) when that export is not there to put back, rather
    than report a rollback that left another configuration in place.
    """
    run_id = context.run["run_id"]
    current, new, previous = _folders(context)
    _finish_removals(context)
    remove_folder(new, run_id)  # a staging folder, this run's or a crashed one's: of no use now
    before = context.data.get("export_before")
    if before is None:
        return  # the export step never got as far as the swap
    if _written_by(current, run_id):
        remove_folder(current, run_id)
    if not before["existed"]:
        return
    if not current.exists():
        if not previous.is_dir() or _marker(previous) != before["marker"]:
            raise ActionError(f"cannot restore {current}: {previous} is not the export this run replaced "
                              f"(marker {before['marker']}); put that export back by hand", retryable=False)
        os.replace(previous, current)
    elif _marker(current) != before["marker"]:
        raise ActionError(f"cannot restore {current}: it is not the export this run replaced "
                          f"(marker {before['marker']}); put that export back by hand", retryable=False)
    from upgrader import datadirs

    datadirs.restore(context, current)  # data the export step moved out of it goes back
