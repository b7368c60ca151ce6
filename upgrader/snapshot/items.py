"""What a snapshot holds and how each part is copied and put back (DESIGN §9).

An item is one named volume or one host folder. Volumes are every volume of the Compose project
(by its label) plus project.yaml's ``snapshot.volumes``; host folders are ``snapshot.paths`` plus
the project's data folders beside compose.yaml (``upgrader.datadirs``). Each is copied by one of
two methods:

- ``host``: read the volume's mountpoint (or the folder) directly, with ``tree.sync``: needs read
  access there (root), copies only what changed since the previous pass;
- ``engine``: stream the volume through the Docker Engine's archive API from a helper container
  that is created and never started (``runtime.volumes``, ``archive``): no root, remote engines
  work, but every pass reads the whole volume (the API has no "changed since").

``auto`` takes ``host`` where the mountpoint is readable by this process on this machine, else
``engine``. Host folders are always copied on the host.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upgrader.errors import ActionError, ConfigError
from upgrader.project import Project
from upgrader.snapshot import manifest as store
from upgrader.snapshot import tree

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Settings:
    """project.yaml's ``snapshot:`` with its defaults."""

    enabled: bool = True
    volumes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    method: str = "auto"
    keep: int = 1
    restore_on_failure: bool = True

    @classmethod
    def of(cls, project: Project) -> Settings:
        document = project.config.get("snapshot") or {}
        return cls(
            enabled=bool(document.get("enabled", True)),
            volumes=tuple(document.get("volumes") or ()),
            paths=tuple(document.get("paths") or ()),
            method=str(document.get("method", "auto")),
            keep=int(document.get("keep", 1)),
            restore_on_failure=bool(document.get("restore_on_failure", True)),
        )


def _local_engine() -> bool:
    """Whether the Docker Engine runs on this machine (its mountpoints are our paths)."""
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


def host_path(volume: Any) -> str | None:
    """Where a volume's data lies on this machine, or None when it cannot be read here: the
    mountpoint of a plain ``local`` volume, the folder of a ``local`` bind volume (``o: bind``,
    whose mountpoint is empty while no container mounts it); not a plugin's volume, nor a
    ``local`` one with other options (nfs, tmpfs: mounted only while in use)."""
    if volume.driver != "local" or not _local_engine():
        return None
    options = volume.options or {}
    if not options:
        path = volume.mountpoint
    elif "bind" in str(options.get("o", "")).split(",") and options.get("device"):
        path = options["device"]
    else:
        return None
    return str(path) if path and os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK) else None


def _volume_item(volume: Any, method: str) -> dict[str, Any]:
    if method == "auto":
        method = "host" if host_path(volume) else "engine"
    elif method == "host" and not host_path(volume):
        raise ActionError(
            f"volume {volume.name}: its data cannot be read on this machine (driver {volume.driver}, mountpoint "
            f"{volume.mountpoint or '(none)'}); snapshot method 'host' needs root on the Docker Engine's machine "
            "and a local volume: use method 'engine' or 'auto'", retryable=False)
    return {"kind": "volume", "name": volume.name, "dir": store.item_dir("volume", volume.name),
            "method": method, "driver": volume.driver, "labels": dict(volume.labels),
            "options": dict(volume.options), "image": None, "files": 0, "bytes": 0, "digest": None,
            "complete": False}


def _path_item(path: str) -> dict[str, Any]:
    return {"kind": "path", "name": path, "dir": store.item_dir("path", path), "method": "host",
            "driver": None, "labels": None, "options": None, "image": None, "files": 0, "bytes": 0,
            "digest": None, "complete": False}


def volume_items(project: Project, settings: Settings) -> list[dict[str, Any]]:
    """The named volumes to copy: the Compose project's and ``snapshot.volumes``; raises
    ``ConfigError`` for a listed volume that does not exist."""
    from upgrader.runtime import volumes

    found = {volume.name: volume for volume in volumes.project_volumes(project.name)}
    for name in settings.volumes:
        if name not in found:
            volume = volumes.inspect(name)
            if volume is None:
                raise ConfigError(f"{project.dir / 'project.yaml'}: at 'snapshot.volumes': volume {name!r} "
                                  "does not exist")
            found[name] = volume
    return [_volume_item(found[name], settings.method) for name in sorted(found)]


def path_items(project: Project, settings: Settings, data_folders: Iterable[Path]) -> list[dict[str, Any]]:
    """The host folders to copy: ``snapshot.paths`` and the data folders; raises ``ConfigError``
    for a listed path that is not a folder."""
    paths: list[str] = []
    for listed in settings.paths:
        path = Path(listed)
        if not path.is_dir():
            what = "does not exist" if not path.exists() else "is not a folder"
            raise ConfigError(f"{project.dir / 'project.yaml'}: at 'snapshot.paths': {listed} {what}")
        paths.append(os.path.realpath(path))
    for data_folder in data_folders:
        if data_folder.is_dir():
            paths.append(os.path.realpath(data_folder))
    unique = sorted(set(paths))
    return [_path_item(path) for path in unique]


def source_of(item: dict[str, Any]) -> Path:
    """Where a host-method item's data is now; raises ``ActionError`` when a volume vanished."""
    if item["kind"] == "path":
        return Path(item["name"])
    from upgrader.runtime import volumes

    volume = volumes.inspect(item["name"])
    if volume is None:
        raise ActionError(f"volume {item['name']} vanished during the snapshot", retryable=False)
    path = host_path(volume)
    if path is None:
        raise ActionError(f"volume {item['name']}: its data can no longer be read on this machine", retryable=False)
    return Path(path)


def needed_bytes(items: Iterable[dict[str, Any]], snapshot: Path) -> int:
    """What copying ``items`` into ``snapshot`` will still take on disk (host-method items only:
    an engine's volume size is not known before it is streamed; a full disk fails it then)."""
    needed = 0
    for item in items:
        if item["method"] != "host":
            continue
        _, size = tree.usage(source_of(item))
        copy = snapshot / item["dir"]
        already = tree.usage(copy)[1] if copy.is_dir() else 0
        needed += max(0, size - already)
    return needed


def _listing_path(snapshot: Path, item: dict[str, Any]) -> Path:
    return snapshot / f"{item['dir']}.listing"


# The listings this process wrote, by file, with the file's (size, mtime): the second pass (downtime)
# need not read back what the first pass of the same process wrote.
_written: dict[Path, tuple[tuple[int, int], tree.Listing]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _previous_listing(snapshot: Path, item: dict[str, Any]) -> tree.Listing | None:
    """The listing the last pass left, or None (then everything is copied again)."""
    path = _listing_path(snapshot, item)
    if not path.exists():
        return None
    kept = _written.get(path)
    if kept is not None and kept[0] == _stamp(path):
        return kept[1]
    try:
        return tree.Listing.load(path)
    except tree.ListingError as error:
        logger.warning("%s; copying %s in full", error, item["name"])
        return None


def _save_listing(path: Path, listing: tree.Listing, previous: tree.Listing | None) -> None:
    if previous is None or listing != previous or not path.exists():  # unchanged: already on disk
        listing.dump(path)
    _written[path] = (_stamp(path), listing)


def copy(item: dict[str, Any], snapshot: Path, progress: Progress | None = None) -> tree.Listing:
    """One pass over ``item``: its copy in ``snapshot`` made equal to the data now (only what
    changed since the previous pass is written) and its listing saved; returns the listing."""
    previous = _previous_listing(snapshot, item)
    destination = snapshot / item["dir"]
    try:
        if item["method"] == "host":
            listing = tree.sync(source_of(item), destination, previous, progress=progress)
        else:
            from upgrader.runtime import volumes
            from upgrader.snapshot import archive

            with volumes.read_archive(item["name"], item["image"]) as chunks:
                listing = archive.tar_to_tree(chunks, destination, previous)
        _save_listing(_listing_path(snapshot, item), listing, previous)
    except tree.TreeError as error:
        raise _copy_failed(item, error) from None
    except OSError as error:  # writing the listing
        raise _copy_failed(item, tree.TreeError.from_os(error, str(_listing_path(snapshot, item)))) from None
    item.update(files=listing.files, bytes=listing.bytes)
    return listing


class DiskFull(ActionError):
    """The disk that holds the snapshots filled up during a copy (a passing reason, not the release's)."""


def _copy_failed(item: dict[str, Any], error: tree.TreeError) -> ActionError:
    what = f"volume {item['name']}" if item["kind"] == "volume" else f"folder {item['name']}"
    if getattr(error, "errno", None) == errno.ENOSPC:
        return DiskFull(f"the disk filled up while copying {what} into the snapshot: {error}", retryable=False)
    return ActionError(f"copying {what} into the snapshot failed: {error}", retryable=False)


def check(item: dict[str, Any], snapshot: Path) -> tree.Listing:
    """The listing of ``item``'s copy, once its copy is whole (every entry there, of the right type and
    size) and its listing matches the manifest's digest; raises ``SnapshotError`` otherwise."""
    what = f"volume {item['name']}" if item["kind"] == "volume" else f"folder {item['name']}"
    try:
        listing = tree.Listing.load(_listing_path(snapshot, item))
    except tree.ListingError as error:
        raise store.SnapshotError(f"{what}: its copy cannot be restored: {error}") from None
    if listing.digest() != item["digest"]:
        raise store.SnapshotError(f"{what}: the listing of its copy in {snapshot} does not match the manifest")
    problems = tree.check(snapshot / item["dir"], listing)
    if problems:
        raise store.SnapshotError(f"{what}: its copy in {snapshot} is damaged: {problems[0]}")
    return listing


def restore(item: dict[str, Any], snapshot: Path, listing: tree.Listing, project: str) -> None:
    """Put ``item``'s copy back, byte for byte; the volume keeps its name, driver, options and
    labels (made again with them when it vanished). Raises ``ActionError`` naming the volume."""
    from upgrader.runtime import volumes

    copy_dir = snapshot / item["dir"]
    what = f"volume {item['name']}" if item["kind"] == "volume" else f"folder {item['name']}"
    try:
        if item["kind"] == "path":
            tree.restore(copy_dir, listing, Path(item["name"]))
            return
        recorded = volumes.Volume(name=item["name"], driver=item["driver"] or "local",
                                  labels=item["labels"] or {}, options=item["options"] or {},
                                  mountpoint="", scope="local")
        if item["method"] == "engine":
            from upgrader.snapshot import archive

            volumes.write_archive(recorded, item["image"], archive.tree_to_tar(copy_dir, listing), project)
            return
        running = [name for name, _, up in volumes.users(item["name"]) if up]
        if running:
            raise ActionError(f"{what} is in use by running container {running[0]}; "
                              "a restore needs every writer stopped", retryable=False)
        current = volumes.inspect(item["name"]) or volumes.create(recorded)
        path = host_path(current)
        if path is None:
            raise ActionError(f"{what}: its data cannot be written on this machine (driver {current.driver})",
                              retryable=False)
        tree.restore(copy_dir, listing, Path(path))
    except tree.TreeError as error:
        raise ActionError(f"restoring {what} failed: {error}", retryable=False) from None
