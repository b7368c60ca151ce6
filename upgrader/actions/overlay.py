"""``action: overlay`` and its undo ``overlay_back``: lay the extracted release over the server
folder, and lay the old files back (DESIGN §12).

A vendor that ships its whole server folder as one zip (``appcircle-server/…``) has its customers
unpack it over the folder they run: the control script, helper tools and default variables change,
the customer's ``projects/`` and credentials stay. ``overlay`` does that from the extracted release
(``release_dir``), its single top folder stripped when it has exactly one, onto ``target``
(default ``{root}``; the workflow placeholders are expanded). Paths that match ``keep`` — glob
patterns relative to the target (``*`` within a name, ``**`` any depth), added to the defaults
``projects/**`` and ``cred.json`` — and upgrader's own folders (releases/, downloads/,
snapshots/, state/, logs/) are never written.

Undo first, then the change (certbot's reverter). Before the first file changes, the action
copies every file it will replace (byte for byte, mode, times and owner kept) into the run's
backup folder ``releases/.overlay-<name>/<run_id>/files/`` and then writes ``overlay.json`` there
(atomically, fsynced): the target, and every file it replaces or adds and every folder it adds.
Each file is then written to a temporary file beside it and renamed over the old one. Run again
(a resumed run), the action reuses its plan and lays the files again. ``overlay_back`` lays each
copy back the same way and removes what the release added (folders only when empty), and does
nothing when no plan was written (the action changed nothing). Both converge after a SIGKILL
anywhere. An adopted server's files were never extracted by upgrader, so the copies are the only
way back: they are kept until this project's next overlay, so that ``rollback`` of a completed
run still finds them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError
from upgrader.store import fsync_dir, make_dirs, write_atomic

DEFAULT_KEEP = ("projects/**", "cred.json")
OWN_FOLDERS = ("releases", "downloads", "snapshots", "state", "logs")
PLAN = "overlay.json"
RELEASE_MARKER = ".upgrader-release"
TEMPORARY = ".upgrader-overlay.tmp"


def keep_pattern(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regular expression matching a relative POSIX path that any of the glob ``patterns``
    keeps: ``*`` and ``?`` within one name, ``**`` across names; ``folder/**`` keeps the folder
    itself too, and anything that lies under a kept path is kept."""
    alternatives = []
    for pattern in patterns:
        parts = []
        # "folder/**" is the folder itself and all under it: the suffix every alternative gets.
        for index, piece in enumerate(re.split(r"(\*\*/?|\*|\?)", pattern.strip("/").removesuffix("/**"))):
            if index % 2 == 0:
                parts.append(re.escape(piece))
            elif piece.startswith("**"):
                parts.append("(?:.*/)?" if piece.endswith("/") else ".*")
            else:
                parts.append("[^/]*" if piece == "*" else "[^/]")
        alternatives.append("".join(parts))
    return re.compile(r"^(?:" + "|".join(alternatives) + r")(?:/.*)?$") if alternatives else re.compile(r"(?!)")


def kept(project_keep: Iterable[str]) -> re.Pattern[str]:
    """The paths an overlay never writes: the defaults, upgrader's own folders, and ``keep``."""
    return keep_pattern([*DEFAULT_KEEP, *(f"{folder}/**" for folder in OWN_FOLDERS), *project_keep])


def source_folder(release: Path) -> Path:
    """What is laid over the target: the release folder, or its one top folder when it has
    exactly one entry (besides upgrader's marker) and that entry is a folder."""
    entries = [entry for entry in release.iterdir() if entry.name != RELEASE_MARKER]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return release


@dataclass(frozen=True)
class Plan:
    target: Path
    source: Path
    replaced: list[str]
    added: list[str]
    folders: list[str]  # folders the overlay creates, parents first
    skipped: int  # release files under a kept path

    def document(self) -> dict[str, Any]:
        return {"schema": 1, "target": str(self.target), "source": str(self.source), "replaced": self.replaced,
                "added": self.added, "folders": self.folders, "skipped": self.skipped}


def backup_dir(context: Context) -> Path:
    return context.project.releases_dir / f".overlay-{context.project.name}" / str(context.run["run_id"])


def _refuse(message: str) -> ActionError:
    return ActionError(message, retryable=False)


def make_plan(source: Path, target: Path, keep: re.Pattern[str]) -> Plan:
    """What laying ``source`` over ``target`` changes; raises ``ActionError`` (nothing changed)
    when the release holds anything but files and folders, or the target has a link, or a
    folder where the release has a file (or the reverse)."""
    replaced, added, folders, skipped = [], [], [], 0
    for folder, names, files in os.walk(source):
        names.sort()
        relative_folder = Path(folder).relative_to(source)
        for name in sorted(files) + names:
            path = Path(folder) / name
            relative = (relative_folder / name).as_posix()
            if keep.match(relative):
                skipped += 1
                if name in names:
                    names.remove(name)  # nothing under a kept folder is written
                continue
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise _refuse(f"{path}: the release holds something other than a file or folder; "
                              "overlay lays files and folders only")
            there = target / relative
            if there.is_symlink():
                raise _refuse(f"{there} is a symbolic link; overlay writes no file through a link — move it aside")
            if path.is_dir():
                if there.exists() and not there.is_dir():
                    raise _refuse(f"{there} is a file where release has a folder; move it aside")
                if not there.exists():
                    folders.append(relative)
            elif there.exists():
                if not there.is_file():
                    raise _refuse(f"{there} is not a regular file where release has one; move it aside")
                replaced.append(relative)
            else:
                added.append(relative)
    return Plan(target, source, replaced, added, folders, skipped)


def _copy_durably(source: Path, destination: Path, mode: int, owner: tuple[int, int] | None) -> None:
    """Replace ``destination`` by a copy of ``source`` (``mode``, ``source``'s times, ``owner``
    when running as root) through a temporary file beside it: a crash leaves the old or the new
    file, whole."""
    temporary = destination.with_name(f".{destination.name}{TEMPORARY}")
    temporary.unlink(missing_ok=True)
    with open(source, "rb") as reader:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fchmod(writer.fileno(), mode)
            if owner is not None and os.geteuid() == 0:
                os.fchown(writer.fileno(), *owner)
            os.fsync(writer.fileno())
    shutil.copystat(source, temporary, follow_symlinks=False)
    os.chmod(temporary, mode)
    os.replace(temporary, destination)


def _read_plan(backup: Path) -> dict[str, Any] | None:
    try:
        document: dict[str, Any] = json.loads((backup / PLAN).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise _refuse(f"{backup / PLAN}: cannot be read ({error}); the overlay's copies are in {backup}") from None
    return document


def _remove_older_backups(backup: Path) -> None:
    """Earlier runs' copies: only the last run can still be rolled back."""
    for folder in backup.parent.iterdir() if backup.parent.is_dir() else []:
        if folder != backup and folder.is_dir() and not folder.name.startswith("."):
            doomed = folder.with_name(f".removing-{folder.name}")  # renamed first: never half-deleted in place
            os.replace(folder, doomed)
            shutil.rmtree(doomed)
        elif folder.name.startswith(".removing-"):
            shutil.rmtree(folder)


@register("overlay")
def overlay(context: Context) -> None:
    release = context.data.get("release_dir")
    if not release or not Path(release).is_dir():
        raise _refuse("nothing to overlay: no release was extracted in this run (put extract before overlay)")
    target = Path(context.expand(str(context.params.get("target", "{root}")))).absolute()
    if not target.is_dir():
        raise _refuse(f"overlay target {target} is not a folder")
    backup = backup_dir(context)
    document = _read_plan(backup)
    if document is None:
        plan = make_plan(source_folder(Path(release)), target, kept(context.params.get("keep") or ()))
        make_dirs(backup.parent)
        _remove_older_backups(backup)
        if backup.exists():
            shutil.rmtree(backup)  # copies a crash cut short before the plan was written
        make_dirs(backup / "files")
        for relative in plan.replaced:
            original = target / relative
            copy = backup / "files" / relative
            make_dirs(copy.parent)
            status = original.stat()
            _copy_durably(original, copy, stat.S_IMODE(status.st_mode), None)
        document = plan.document()
        document["owners"] = {relative: list(_owner(target / relative)) for relative in plan.replaced}
        write_atomic(backup / PLAN, (json.dumps(document, indent=1) + "\n").encode())
        context.journal("overlay_planned", {"target": str(target), "replaced": len(plan.replaced),
                                            "added": len(plan.added), "kept": plan.skipped, "backup": str(backup)})
    source, target = Path(document["source"]), Path(document["target"])
    for relative in document["folders"]:
        (target / relative).mkdir(mode=0o755, exist_ok=True)
    for relative in [*document["replaced"], *document["added"]]:
        mode = stat.S_IMODE((source / relative).stat().st_mode)
        # Releases are read-only once extracted; the server's files are its owner's to write.
        _copy_durably(source / relative, target / relative, (mode | 0o200) & 0o755, None)
    for folder in {(target / relative).parent for relative in [*document["replaced"], *document["added"]]}:
        fsync_dir(folder)
    context.data["overlay"] = {"target": str(target), "backup": str(backup)}


def _owner(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_uid, status.st_gid


@register("overlay_back")
def overlay_back(context: Context) -> None:
    backup = Path(context.data.get("overlay", {}).get("backup") or backup_dir(context))
    document = _read_plan(backup)
    if document is None:
        return  # the overlay never wrote its plan, so it changed nothing
    target = Path(document["target"])
    owners = document.get("owners") or {}
    for relative in document["replaced"]:
        copy = backup / "files" / relative
        status = copy.stat()
        owner = owners.get(relative)
        _copy_durably(copy, target / relative, stat.S_IMODE(status.st_mode), tuple(owner) if owner else None)
    for relative in document["added"]:
        (target / relative).unlink(missing_ok=True)
        (target / relative).with_name(f".{Path(relative).name}{TEMPORARY}").unlink(missing_ok=True)
    for relative in reversed(document["folders"]):
        folder = target / relative
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            context.journal("overlay_left", f"{folder} was added by the release and is not empty: left in place")
    for folder in {(target / relative).parent for relative in document["replaced"]} | {target}:
        if folder.is_dir():
            fsync_dir(folder)
    context.journal("overlay_undone", {"target": str(target), "restored": len(document["replaced"]),
                                       "removed": len(document["added"])})
