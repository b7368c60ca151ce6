"""Data folders: the operator's data a release keeps in a folder beside its compose.yaml.

A release's compose.yaml often bind-mounts a folder beside itself (``volumes: ["./data:/data"]``).
Compose runs with ``--project-directory projects/<name>/export``, and every upgrade replaces that
folder (``export/`` → ``export.prev/``, ``export.new/`` → ``export/``; the next upgrade removes
``export.prev/``), so data kept inside it would be left behind at the first upgrade and deleted
at the second. Hence:

- A bind mount whose source lies under the export and is not a file or folder the release ships
  is a *data folder*. It lives in ``projects/<name>/data/<relative path>``; every export holds a
  relative symlink at ``<relative path>`` to it (``export/data -> ../data/data``), so ``export``,
  ``export.prev`` and ``export.new`` reach the same folder and swapping exports never moves data.
- An export written before this layout holds the data itself: the export step moves it to
  ``data/<relative path>`` (the server is stopped then), and its undo moves it back.
- Whatever an old ``export.prev/`` holds that the export step does not write is moved to
  ``projects/<name>/lost+found/<UTC time>-<version>/`` before that folder is removed.

Which bind mounts there are is asked of Compose itself (``compose.config``): it resolves
``.env``, the short and the long syntax alike.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from upgrader.actions.base import Context
from upgrader.actions.export import MARKER, render_env
from upgrader.errors import ActionError
from upgrader.project import Project
from upgrader.runtime import LABELS, compose

STORE = "data"  # projects/<name>/data/
LOST_FOUND = "lost+found"  # projects/<name>/lost+found/
# What the export step writes into an export: never the operator's data (config/ only when the
# release ships it, so a data folder may be there).
WRITTEN = frozenset({"compose.yaml", ".env", "config", LABELS, MARKER})
OWN_FILES = WRITTEN - {"config"}
FOLDER_MODE = 0o755  # what Docker gives a bind source it creates
LEFTOVER_AGE = 3600  # seconds after which a release copy for Compose is a killed run's leftover


@dataclass(frozen=True)
class DataFolder:
    """One data folder of an export: ``rel`` beside compose.yaml, its data in folder ``path``."""

    rel: str
    path: Path


def _store(export: Path) -> Path:
    """``projects/<name>/data/``: beside the export folders, so one link serves all of them."""
    return export.parent / STORE


def _bind_sources(model: dict[str, Any], export: Path) -> set[str]:
    """The relative paths (POSIX, normalised) of the bind sources strictly under ``export``."""
    found = set()
    for service in (model.get("services") or {}).values():
        for volume in service.get("volumes") or []:
            if not isinstance(volume, dict) or volume.get("type") != "bind":
                continue  # a named volume, a tmpfs
            source = volume.get("source")
            if not isinstance(source, str) or not os.path.isabs(source):
                continue  # nothing Compose resolved to a host path
            relative = os.path.relpath(os.path.normpath(source), export)
            if relative != "." and relative != ".." and not relative.startswith("../"):
                found.add(PurePosixPath(relative).as_posix())
    return found


def _outermost(rels: Iterable[str]) -> list[str]:
    """``rels`` without those inside another of them (its data is in the outer one), sorted."""
    chosen = set(rels)
    return sorted(rel for rel in chosen
                  if not any(parent.as_posix() in chosen for parent in PurePosixPath(rel).parents))


def _not_shipped(rels: Iterable[str], release: Path) -> list[str]:
    """The ``rels`` that are data folders: not the export step's own files, not in ``release``."""
    return _outermost(rel for rel in rels
                      if rel not in OWN_FILES and not os.path.lexists(release / rel))


def kept_folders(export: Path, release: Path) -> list[str]:
    """The data folders of ``export`` (being written from ``release``): relative paths, sorted.

    Runs ``docker compose config`` on ``export``; raises ``ActionError`` when Compose refuses it.
    """
    return _not_shipped(_bind_sources(compose.config(export), export), release)


@contextlib.contextmanager
def release_copy(release_dir: Path, values: dict[str, Any]) -> Iterator[Path]:
    """A folder holding ``release_dir``'s compose.yaml and the ``.env`` the export step will
    write (defaults.env under project.yaml's ``values``), ``config/`` linked: run Compose on it.

    The folder is ``releases/.<version>.compose.XXXX/export``, as deep below the server root as
    ``projects/<name>/export``, so a source climbing out (``../../../x``) resolves to the same host
    path as from the export; it is removed afterwards (the release itself is read-only). An
    ``ActionError`` raised inside names the release's folder, not the copy. Raises
    ``ActionError`` when the copy cannot be written.
    """
    defaults_file = release_dir / "defaults.env"
    defaults = defaults_file.read_text(encoding="utf-8") if defaults_file.is_file() else ""
    prefix = f".{release_dir.name}.compose."
    for leftover in release_dir.parent.glob(prefix + "*"):
        # A copy a killed run left (its .env may hold secrets). Projects share releases/, so only
        # an old one: another project's run may be reading its own right now.
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > LEFTOVER_AGE:
                shutil.rmtree(leftover, ignore_errors=True)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=release_dir.parent))
    except OSError as error:
        raise ActionError(f"{release_dir.parent}: cannot write a temporary folder: {error.strerror}") from None
    folder = scratch / "export"
    try:
        try:
            folder.mkdir()
            shutil.copyfile(release_dir / "compose.yaml", folder / "compose.yaml")
            (folder / ".env").touch(mode=0o600)
            (folder / ".env").write_text(render_env(defaults, values), encoding="utf-8")
            if (release_dir / "config").is_dir():
                (folder / "config").symlink_to(release_dir / "config")
        except OSError as error:
            raise ActionError(f"{folder}: cannot copy the release's compose.yaml: {error.strerror}") from None
        try:
            yield folder
        except ActionError as error:
            raise ActionError(str(error).replace(str(folder), str(release_dir)), retryable=error.retryable,
                              release_fault=error.release_fault) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def release_model(release_dir: Path, values: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """Compose's model (``docker compose config``) of ``release_dir``'s compose.yaml as the export
    step will write it, and the folder it was read in (removed by then: its path is what relative
    sources were resolved against). Raises ``ActionError`` (the release's fault) when Compose
    refuses the file, or when Compose is missing or the copy fails."""
    with release_copy(release_dir, values) as folder:
        return compose.config(folder), folder


def kept_in(model: dict[str, Any], folder: Path, release_dir: Path) -> list[str]:
    """The data folders (relative paths, sorted) of a release whose model ``release_model`` gave."""
    return _not_shipped(_bind_sources(model, folder), release_dir)


def release_data_folders(release_dir: Path, values: dict[str, Any]) -> list[str]:
    """Which folders ``release_dir`` keeps as data (relative paths, sorted), its compose.yaml read
    with defaults.env under project.yaml's ``values``, as the export step will write it. Raises
    ``ActionError`` as ``release_model`` does."""
    model, folder = release_model(release_dir, values)
    return kept_in(model, folder, release_dir)


def _make_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each 0755 (as Docker would)."""
    missing = []
    for path in (folder, *folder.parents):
        if os.path.lexists(path):
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
            path.chmod(FOLDER_MODE)  # mkdir's mode is masked by the umask
        except FileExistsError:
            continue  # made meanwhile: what we wanted
        except OSError as error:
            raise ActionError(f"{path}: cannot create folder: {error.strerror}", retryable=False) from None


def _move(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` (same filesystem: atomic, nothing copied)."""
    _make_folder(target.parent)
    try:
        os.rename(source, target)
    except OSError as error:
        raise ActionError(f"{source}: cannot move it to {target}: {error.strerror}", retryable=False) from None


def link(export: Path, rels: Iterable[str]) -> None:
    """Put a relative symlink at ``export/<rel>`` to ``projects/<name>/data/<rel>`` for each
    ``rel`` (the data folder itself may not exist yet). Raises ``ActionError`` naming the path
    when something is in the way."""
    for rel in rels:
        where = export / rel
        target = os.path.relpath(_store(export) / rel, where.parent)
        if where.is_symlink() and os.readlink(where) == target:
            continue
        _make_folder(where.parent)
        try:
            where.symlink_to(target)
        except OSError as error:
            raise ActionError(f"{where}: cannot link the data folder: {error.strerror}", retryable=False) from None


def create(export: Path, rels: Iterable[str]) -> None:
    """Create each data folder ``projects/<name>/data/<rel>`` that does not exist yet, empty."""
    for rel in rels:
        _make_folder(_store(export) / rel)


def migrate(context: Context, current: Path, rels: Iterable[str]) -> None:
    """Move the data an export written before data folders holds (a real file or folder at
    ``current/<rel>``) to ``projects/<name>/data/<rel>``; the server is stopped.

    Each move is recorded in ``context.data["data_moved"]`` and checkpointed before it happens,
    so ``restore`` can move it back after a crash at any point. Raises ``ActionError`` (not
    retryable) when both places hold something: nothing is merged or deleted.
    """
    moving = [rel for rel in rels if os.path.lexists(current / rel) and not (current / rel).is_symlink()]
    for rel in moving:  # all checked before any moves
        if os.path.lexists(_store(current) / rel):
            raise ActionError(f"{current / rel} and {_store(current) / rel} both hold data; move one of them aside",
                              retryable=False)
    moved: list[str] = context.data.setdefault("data_moved", [])
    for rel in moving:
        source, target = current / rel, _store(current) / rel
        if rel not in moved:
            moved.append(rel)
            context.checkpoint()
        _move(source, target)
        context.journal("data_moved", {"from": str(source), "to": str(target)})


def restore(context: Context, current: Path) -> None:
    """Undo ``migrate``: move what it moved back into ``current`` (the export restored).

    Converges when run again; raises ``ActionError`` (not retryable) when both places hold data.
    """
    for rel in reversed(context.data.get("data_moved") or []):
        source, target = _store(current) / rel, current / rel
        if target.is_symlink():
            target.unlink()  # a link to the data folder is no data; the data goes back in its place
        if os.path.lexists(target):
            if os.path.lexists(source):
                raise ActionError(f"{source} and {target} both hold data; move one of them aside",
                                  retryable=False)
            continue  # moved back already, or never moved
        if os.path.lexists(source):
            _move(source, target)


def _holds_data(path: Path) -> bool:
    """Whether ``path`` is a file, or a folder with a file (no symlink) somewhere in it."""
    if not path.is_dir():
        return True
    return any(not os.path.islink(os.path.join(folder, name))
               for folder, _, names in os.walk(path) for name in names)


def _leftovers(previous: Path, data: set[str]) -> list[str]:
    """What in ``previous`` holds data the export step did not write (relative paths, sorted):
    anything but a symlink beside compose.yaml, .env, config/ and the marker, and anything at a
    data folder's path ``data`` (inside config/ too); folders made to hold data folders' links
    are looked into, and a folder without any file in it holds nothing."""
    holders = {parent.as_posix() for rel in data for parent in PurePosixPath(rel).parents} - {"."}
    found = []

    def walk(folder: Path, prefix: str) -> None:
        for entry in sorted(folder.iterdir()):
            rel = prefix + entry.name
            if entry.is_symlink():
                continue
            if rel in holders and rel not in data and entry.is_dir():
                walk(entry, rel + "/")
            elif (rel in data or PurePosixPath(rel).parts[0] not in WRITTEN) and _holds_data(entry):
                found.append(rel)

    walk(previous, "")
    return found


def keep_leftovers(context: Context, previous: Path, marker: dict[str, Any] | None, data: Iterable[str]) -> None:
    """Before ``previous`` (an old ``export.prev/``, its marker ``marker``) is removed: move what
    it holds that the export step did not write — a data folder from before data folders (at a
    path of its own data folders or of ``data``, the new export's), a file put there by hand —
    to ``projects/<name>/lost+found/<UTC time>-<its version>/``, and journal where it went."""
    kept_data = [rel for rel in (marker or {}).get("data") or [] if isinstance(rel, str)]
    leftovers = _leftovers(previous, {*kept_data, *data})
    if not leftovers:
        return
    if "export_kept" not in context.data:  # one folder for this run, also after a crash
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        version = str((marker or {}).get("version") or "unknown")
        context.data["export_kept"] = str(previous.parent / LOST_FOUND / f"{stamp}-{version}")
        context.checkpoint()
    kept = Path(context.data["export_kept"])
    for folder in (kept.parent, kept):  # 0700: what was left there may be secret
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as error:
            raise ActionError(f"{folder}: cannot create folder: {error.strerror}", retryable=False) from None
    for rel in leftovers:
        if os.path.lexists(kept / rel):
            raise ActionError(f"{previous / rel} cannot be kept: {kept / rel} exists", retryable=False)
        _move(previous / rel, kept / rel)
    context.journal("export_kept", {
        "warning": f"{previous} held what upgrader does not write; moved to {kept}",
        "from": str(previous), "to": str(kept), "entries": leftovers})


def data_folders(project: Project) -> list[DataFolder]:
    """The data folders of the project's current export (``export/``), from one ``docker compose
    config``: a bind source under it that links into ``projects/<name>/data/`` (``path`` the
    folder resolved), or a real entry there the export step did not write (an export from
    before data folders: ``path`` is that entry). Empty when there is no export. Raises
    ``ActionError`` when Compose refuses the export's compose.yaml."""
    export = project.export_dir
    if not (export / "compose.yaml").is_file():
        return []
    store = _store(export).resolve()
    found: dict[str, Path] = {}
    for rel in _bind_sources(compose.config(export), export):
        entry = export / rel
        if entry.is_symlink():
            if entry.resolve().is_relative_to(store):
                found[rel] = entry.resolve()
        elif os.path.lexists(entry) and PurePosixPath(rel).parts[0] not in WRITTEN:
            found[rel] = entry
    return [DataFolder(rel, found[rel]) for rel in _outermost(found)]
