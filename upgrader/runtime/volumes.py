"""Docker volumes through the Engine: a Compose project's volumes, who uses them, and their content.

A volume's content is read and written as a tar stream through the Engine's archive API, from a
helper container that mounts the volume at ``/upgrader-volume`` and is created but never started:
so a snapshot needs no root on the host, no shell in the image (any image the project already has
will do, as nothing runs), and works against a remote engine. Helpers carry the label
``io.upgrader.helper=snapshot`` and are removed after use; ``remove_leftover_helpers`` takes away
those a killed process left.

The archive API cannot delete anything: a restore removes the volume and creates it again (same
name, driver, options and labels) before it writes the copy into it.

Every Docker failure is one ``ActionError`` naming the volume; a lost engine is ``engine.lost``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import secrets
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from upgrader.errors import ActionError
from upgrader.runtime import engine

logger = logging.getLogger(__name__)

HELPER_LABEL = "io.upgrader.helper"
HELPER_VOLUME_LABEL = "io.upgrader.volume"
HELPER_KIND = "snapshot"
MOUNT_POINT = "/upgrader-volume"
# Never run: an image without a CMD needs one only for the container to be created.
HELPER_COMMAND = ["upgrader-snapshot"]
# An empty volume's tar stream is its root's header and the end marker: far less than this.
_EMPTY_STREAM_LIMIT = 64 << 10


@dataclass(frozen=True)
class Volume:
    """A named volume, with what it takes to create it again as it was."""

    name: str
    driver: str
    labels: dict[str, str]
    options: dict[str, str]
    mountpoint: str
    scope: str


def _volume(attrs: dict[str, Any]) -> Volume:
    return Volume(name=str(attrs["Name"]), driver=str(attrs.get("Driver") or "local"),
                  labels=dict(attrs.get("Labels") or {}), options=dict(attrs.get("Options") or {}),
                  mountpoint=str(attrs.get("Mountpoint") or ""), scope=str(attrs.get("Scope") or "local"))


@contextlib.contextmanager
def _engine(what: str) -> Iterator[None]:
    """Docker's failures inside as one ``ActionError`` line starting with ``what``."""
    import docker.errors
    import requests
    import urllib3.exceptions

    try:
        yield
    except docker.errors.APIError as error:
        cause = str(error.explanation or error).strip().splitlines()
        raise ActionError(f"{what}: {cause[0] if cause else type(error).__name__}") from None
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, docker.errors.DockerException,
            OSError) as error:
        raise engine.lost(type(error).__name__) from None


def project_volumes(project: str) -> list[Volume]:
    """Every volume labelled as Compose project ``project``'s, sorted by name."""
    with _engine(f"listing the volumes of project {project}"):
        found = engine.client().volumes.list(filters={"label": f"{engine.PROJECT_LABEL}={project}"})
    return sorted((_volume(volume.attrs) for volume in found), key=lambda volume: volume.name)


def inspect(name: str) -> Volume | None:
    """The volume ``name``, or None when it does not exist."""
    import docker.errors

    with _engine(f"volume {name}"):
        try:
            return _volume(engine.client().volumes.get(name).attrs)
        except docker.errors.NotFound:
            return None


def create(volume: Volume) -> Volume:
    """Create ``volume`` with its name, driver, driver options and labels (the one there already
    when it exists with the same driver); the volume as created."""
    with _engine(f"volume {volume.name}: creating it"):
        created = engine.client().volumes.create(name=volume.name, driver=volume.driver,
                                                 driver_opts=volume.options or None, labels=volume.labels or None)
    logger.info("created volume %s (driver %s)", volume.name, volume.driver)
    return _volume(created.attrs)


def users(name: str) -> list[tuple[str, str | None, bool]]:
    """The containers that mount volume ``name``: (container name, its Compose project or None,
    running — or paused or restarting, as the engine counts them), sorted by name."""
    with _engine(f"volume {name}: listing the containers that use it"):
        found = engine.client().containers.list(all=True, filters={"volume": name}, ignore_removed=True)
    result = []
    for container in found:
        # The filter also matches a mount's destination; keep the containers that mount this volume.
        mounts = container.attrs.get("Mounts") or []
        if not any(mount.get("Type") == "volume" and mount.get("Name") == name for mount in mounts):
            continue
        running = bool((container.attrs.get("State") or {}).get("Running"))
        result.append((str(container.name), container.labels.get(engine.PROJECT_LABEL), running))
    return sorted(result)


def _create_helper(volume: str, image: str, *, read_only: bool) -> Any:
    import docker.types

    mount = docker.types.Mount(MOUNT_POINT, volume, type="volume", read_only=read_only, no_copy=True)
    with _engine(f"volume {volume}: creating a helper container from image {image}"):
        helper = engine.client().containers.create(
            image, command=HELPER_COMMAND, name=f"upgrader-snapshot-{secrets.token_hex(6)}", mounts=[mount],
            network_disabled=True, labels={HELPER_LABEL: HELPER_KIND, HELPER_VOLUME_LABEL: volume})
    logger.debug("created helper container %s for volume %s", helper.name, volume)
    return helper


def _remove_helper(helper: Any, volume: str) -> None:
    """Remove a helper after use; a failure is only logged (``remove_leftover_helpers`` retries)."""
    try:
        with _engine(f"volume {volume}: removing helper container {helper.name}"):
            helper.remove(force=True, v=True)  # v: an anonymous volume of the image's; never a named one
    except ActionError as error:
        logger.warning("%s", error)


def remove_leftover_helpers(volume: str | None = None) -> int:
    """Remove the helper containers (of ``volume``, or of every volume) that a killed process left
    behind; how many. Only while no other upgrader works on those volumes: it takes any helper."""
    import docker.errors

    labels = [f"{HELPER_LABEL}={HELPER_KIND}"] + ([f"{HELPER_VOLUME_LABEL}={volume}"] if volume else [])
    what = f"volume {volume}" if volume else "snapshot helpers"
    with _engine(f"{what}: listing leftover helper containers"):
        found = engine.client().containers.list(all=True, filters={"label": labels}, sparse=True)
    removed = 0
    for helper in found:
        with _engine(f"{what}: removing leftover helper container {helper.id[:12]}"):
            try:
                helper.remove(force=True, v=True)
            except docker.errors.NotFound:
                continue
        removed += 1
    if removed:
        logger.info("%s: removed %d leftover helper container(s)", what, removed)
    return removed


def _guarded(stream: Iterable[bytes], volume: str) -> Iterator[bytes]:
    """``stream``, with a failure to read it as ``_engine`` reports it (and nothing else)."""
    chunks = iter(stream)
    while True:
        with _engine(f"volume {volume}: reading its content"):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


@contextlib.contextmanager
def read_archive(volume: str, image: str) -> Iterator[Iterator[bytes]]:
    """The content of ``volume`` as a tar stream (entries ``.``, ``./a``, … with owners, modes and
    whole-second mtimes; hard links as links; sparse files dense), read through a helper container
    created from ``image`` and removed on exit, also after an exception."""
    remove_leftover_helpers(volume)
    if inspect(volume) is None:
        # Creating the helper would create an empty volume of that name, and copy it.
        raise ActionError(f"volume {volume} does not exist", retryable=False)
    helper = _create_helper(volume, image, read_only=True)
    try:
        with _engine(f"volume {volume}: reading its content"):
            stream, _ = helper.get_archive(f"{MOUNT_POINT}/.")
        yield _guarded(stream, volume)
    finally:
        _remove_helper(helper, volume)


def _holds_data(helper: Any, volume: str) -> bool:
    """Whether the volume that ``helper`` mounts holds anything besides its root folder."""
    head = b""
    with _engine(f"volume {volume}: reading its content"):
        stream, _ = helper.get_archive(f"{MOUNT_POINT}/.")
        for chunk in stream:
            head += chunk
            if len(head) >= _EMPTY_STREAM_LIMIT:
                return True
    try:
        with tarfile.open(fileobj=io.BytesIO(head), mode="r:") as archive:
            return len(archive.getmembers()) != 1
    except tarfile.TarError:
        return True


def write_archive(volume: Volume, image: str, chunks: Iterable[bytes], project: str) -> None:
    """Restore ``volume`` to exactly the tar stream ``chunks`` (entries ``upgrader-volume``,
    ``upgrader-volume/…``): the volume is removed and created again as ``volume`` describes it
    (name, driver, driver options, labels), then the stream is written into it through a helper
    container created from ``image``.

    Refused (``ActionError`` naming the container) while a running container uses the volume, or
    a stopped one of another Compose project than ``project``; stopped containers of ``project``
    that use it are removed (``compose up`` creates them again; their anonymous volumes stay).
    Refused too when the volume created again is not empty (a driver or options that keep data
    outside Docker, as a bind mount does): the copy could not replace what it holds.
    Run again after a failure or a crash at any point, it converges.
    """
    import docker.errors

    remove_leftover_helpers(volume.name)
    found = users(volume.name)
    for name, owner, running in found:
        if running:
            raise ActionError(f"volume {volume.name}: in use by running container {name}; "
                              "a restore needs every container that uses it stopped", retryable=False)
        if owner != project:
            whose = f"of Compose project {owner}" if owner else "of no Compose project"
            raise ActionError(f"volume {volume.name}: used by container {name} {whose}; remove that "
                              "container to restore the volume", retryable=False)
    client = engine.client()
    for name, _, _ in found:
        with (_engine(f"volume {volume.name}: removing stopped container {name}"),
              contextlib.suppress(docker.errors.NotFound)):
            client.containers.get(name).remove(v=False)
        logger.info("volume %s: removed stopped container %s to restore it", volume.name, name)
    # Not there: removed already by a restore cut short.
    with _engine(f"volume {volume.name}: removing it to restore it"), contextlib.suppress(docker.errors.NotFound):
        client.volumes.get(volume.name).remove()
    create(volume)
    helper = _create_helper(volume.name, image, read_only=False)
    try:
        if _holds_data(helper, volume.name):
            raise ActionError(f"volume {volume.name}: still holds data once created again (driver {volume.driver}, "
                              f"options {volume.options}): it cannot be restored through the Docker Engine",
                              retryable=False)
        with _engine(f"volume {volume.name}: writing its content"):
            helper.put_archive("/", chunks)
    finally:
        _remove_helper(helper, volume.name)
    logger.info("volume %s: restored through the Docker Engine", volume.name)


def image_for(project: str, candidates: Iterable[str]) -> str | None:
    """An image to create helpers from: the first of ``candidates`` present in the engine, else
    the image (id) of any container of ``project``; None when there is none."""
    for reference in candidates:
        if engine.image(reference) is not None:
            return reference
    for container in engine.containers(project):
        if container.image_id:
            return container.image_id
    return None
