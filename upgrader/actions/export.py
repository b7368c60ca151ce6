"""``action: export`` and its undo ``restore_export`` (DESIGN §4).

Writes ``projects/<name>/export.new/`` from the extracted release (compose.yaml, config/, and
``.env`` = defaults.env overlaid with project.yaml's ``values``), then swaps it in: ``export/``
becomes ``export.prev/``, ``export.new/`` becomes ``export/``. Each export carries a marker with
the run that wrote it, so that both the swap and its undo know what they are looking at after a
crash at any point. Data folders beside compose.yaml live outside the exports, in
``projects/<name>/data/`` (see ``upgrader.datadirs``), so the swap never moves data.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError

MARKER = ".upgrader-export"


def _marker(folder: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found


def _written_by(folder: Path, run_id: str) -> bool:
    marker = _marker(folder)
    return marker is not None and marker.get("run_id") == run_id


def _folders(context: Context) -> tuple[Path, Path, Path]:
    """The project's ``export/``, ``export.new/`` and ``export.prev/``."""
    current = context.project.export_dir
    return current, current.with_name("export.new"), current.with_name("export.prev")


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


def _write_new(context: Context, release: Path, new: Path) -> None:
    if new.exists():
        shutil.rmtree(new)
    new.mkdir(mode=0o755)
    shutil.copy2(release / "compose.yaml", new / "compose.yaml")
    if (release / "config").is_dir():
        shutil.copytree(release / "config", new / "config", symlinks=True)
        for path in (new / "config").rglob("*"):
            if path.is_file() and not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
    defaults_file = release / "defaults.env"
    defaults = defaults_file.read_text(encoding="utf-8") if defaults_file.is_file() else ""
    env = new / ".env"
    env.write_text(render_env(defaults, dict(context.project.config.get("values") or {})), encoding="utf-8")
    env.chmod(0o600)
    from upgrader import datadirs  # imported here: it imports this module

    # Found before the server stopped (by extract); asking Compose again here would be downtime.
    found = context.data.get("data_folders")
    data = list(found) if isinstance(found, list) else datadirs.kept_folders(new, release)
    datadirs.link(new, data)
    (new / MARKER).write_text(json.dumps({
        "run_id": context.run["run_id"], "version": context.to_version, "data": data}) + "\n", encoding="utf-8")


@register("export")
def export(context: Context) -> None:
    run_id = context.run["run_id"]
    current, new, previous = _folders(context)
    if _written_by(current, run_id):
        return  # swapped already
    release = Path(context.data.get("release_dir", context.project.releases_dir / str(context.to_version)))
    if not (release / "compose.yaml").is_file():
        raise ActionError(f"{release}: no extracted release to export", retryable=False)
    if "export_before" not in context.data:
        # Registered before the swap: the undo must know whether an export was there.
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
    if current.exists():
        if previous.exists():
            datadirs.keep_leftovers(context, previous, _marker(previous), data)
            shutil.rmtree(previous)
        os.replace(current, previous)
    os.replace(new, current)
    context.journal("export_swapped", {"export": str(current), "previous": str(previous)})


@register("restore_export")
def restore_export(context: Context) -> None:
    """Undo ``export``: put back the export that was there before this run's swap."""
    run_id = context.run["run_id"]
    current, new, previous = _folders(context)
    before = context.data.get("export_before")
    if _written_by(new, run_id):
        shutil.rmtree(new)
    if before is None:
        return  # the export step never got as far as the swap
    if _written_by(current, run_id):
        shutil.rmtree(current)
    if not current.exists() and before["existed"] and previous.exists():
        os.replace(previous, current)
    if current.exists() and not _written_by(current, run_id):
        from upgrader import datadirs

        datadirs.restore(context, current)  # data the export step moved out of it goes back
