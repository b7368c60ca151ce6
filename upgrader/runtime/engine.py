"""The Docker Engine, through the ``docker`` SDK: pulls with progress, images, containers.

Every failure to reach the engine is one ``RuntimeUnavailable`` naming the cause and the fix.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from upgrader.errors import ActionError

logger = logging.getLogger(__name__)

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
# Set by upgrader on every container it starts (DESIGN §14): which server root and project own it.
ROOT_LABEL = "io.upgrader.root"
OWNER_LABEL = "io.upgrader.project"


class RuntimeUnavailable(ActionError):
    """The Docker Engine cannot be used: not running, or this user may not use its socket."""


def _explain(error: Exception) -> RuntimeUnavailable:
    text = str(error)
    if "Permission denied" in text or "PermissionError" in text:
        return RuntimeUnavailable(
            "cannot use the Docker Engine's socket: permission denied; add this user to the "
            "'docker' group (then log in again) or run upgrader as root", retryable=False)
    if "No such file" in text or "Connection refused" in text or "FileNotFoundError" in text:
        return RuntimeUnavailable(
            "the Docker Engine is not reachable (is dockerd running? 'systemctl start docker'); "
            "DOCKER_HOST may point elsewhere")
    return RuntimeUnavailable(f"the Docker Engine is not usable: {text.splitlines()[0] if text else error}")


# An engine lost in the middle of a run (``systemctl restart docker``, an engine upgrade) is
# waited for this long before the step fails; an engine that was never there fails at once.
ENGINE_WAIT = 60.0
_lost_at: float | None = None


@functools.cache
def client() -> Any:
    """The engine's client (cached); raises ``RuntimeUnavailable``."""
    global _lost_at
    import docker
    import docker.errors

    while True:
        try:
            engine = docker.from_env(timeout=120)
            engine.ping()
            break
        except (docker.errors.DockerException, OSError) as error:
            if _lost_at is None or time.monotonic() - _lost_at > ENGINE_WAIT:
                raise _explain(error) from None
            time.sleep(0.5)
    if _lost_at is not None:
        logger.info("the Docker Engine answers again after %.1f s", time.monotonic() - _lost_at)
    _lost_at = None
    return engine


def split_reference(reference: str) -> tuple[str, str]:
    """``127.0.0.1:5000/acme/web:1.1.0`` → (``127.0.0.1:5000/acme/web``, ``1.1.0``)."""
    if "@" in reference:
        repository, digest = reference.split("@", 1)
        return repository, digest
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1:]
    return reference, "latest"


def pull(reference: str, progress: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Pull ``reference`` (always with its explicit tag), streaming layer progress; its digest."""
    import docker.errors
    import urllib3.exceptions

    repository, tag = split_reference(reference)
    api = client().api
    try:
        for event in api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in event:
                raise ActionError(f"pulling {reference}: {event['error']}")
            if progress is not None:
                progress({"image": reference,
                          **{key: event.get(key) for key in ("id", "status", "progressDetail")}})
    except docker.errors.NotFound as error:
        raise ActionError(f"pulling {reference}: not found in its registry ({error.explanation})",
                          release_fault=True) from None
    except docker.errors.APIError as error:
        raise ActionError(f"pulling {reference}: {error.explanation or error}") from None
    except docker.errors.DockerException as error:
        raise _explain(error) from None
    except (OSError, urllib3.exceptions.HTTPError) as error:  # the engine went away mid-pull
        raise lost(type(error).__name__) from None
    return digest(reference) or ""


def load(archive: Path, stream: IO[bytes] | None = None) -> list[str]:
    """Load a ``docker save`` archive — read from ``stream`` when given (the open file a caller
    checked), else from ``archive`` — and give the references it carried."""
    import docker.errors

    try:
        if stream is not None:
            images = client().images.load(stream)
        else:
            with open(archive, "rb") as own:
                images = client().images.load(own)
    except docker.errors.APIError as error:
        raise ActionError(f"loading {archive.name}: {error.explanation or error}",
                          release_fault=True) from None
    return [tag for image in images for tag in image.tags]


def image(reference: str) -> Any | None:
    import docker.errors
    import requests

    try:
        return client().images.get(reference)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as error:
        raise ActionError(f"inspecting {reference}: {error.explanation or error}") from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise lost(type(error).__name__) from None


def digest(reference: str) -> str | None:
    """The registry digest of a local image (``repo@sha256:…``), else its image id, else None."""
    found = image(reference)
    if found is None:
        return None
    repository, _ = split_reference(reference)
    for repo_digest in found.attrs.get("RepoDigests") or []:
        if repo_digest.split("@")[0] == repository:
            return str(repo_digest.split("@", 1)[1])
    return str(found.id)


def repo_digests(image_id: str) -> list[str]:
    """The registry digests (``repo@sha256:…``) the engine knows for the local image ``image_id``;
    empty when it knows none (an image built here, never pushed or pulled) or the image is gone."""
    found = image(image_id)
    return [str(entry) for entry in (found.attrs.get("RepoDigests") or [])] if found is not None else []


def registry_digest(reference: str) -> str | None:
    """The digest (``sha256:…``) ``reference``'s registry has for it now, asked through the
    engine (its credentials and proxy); None when the registry does not have it."""
    import docker.errors

    try:
        return str(client().images.get_registry_data(reference).id)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as error:
        if error.status_code in (401, 403, 404) or "not found" in str(error).lower():
            return None
        raise ActionError(f"asking the registry for {reference}: {error.explanation or error}") from None


def tag(image_id: str, reference: str) -> None:
    """Point ``reference`` at ``image_id`` again (bring back exactly what ran before)."""
    repository, tag_name = split_reference(reference)
    found = client().images.get(image_id)
    found.tag(repository, tag_name)


@dataclass(frozen=True)
class Container:
    """What ``wait_healthy`` needs to know of one container."""

    name: str
    service: str
    status: str  # created | running | restarting | exited | paused | dead
    exit_code: int
    health: str | None  # starting | healthy | unhealthy | None without a healthcheck
    restarts: int
    started_at: str
    image: str
    image_id: str
    labels: dict[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str, int, str], ...] = ()
    """The host addresses it publishes now: (host ip, port, protocol)."""


def lost(cause: str) -> RuntimeUnavailable:
    """The engine went away mid-run: the next ``client()`` connects afresh, waiting for it."""
    global _lost_at
    client.cache_clear()
    _lost_at = _lost_at or time.monotonic()
    return RuntimeUnavailable(f"lost the Docker Engine ({cause}); it may be restarting")


def containers(project: str) -> list[Container]:
    """The containers of Compose project ``project`` (one-off ``run`` containers excluded)."""
    import docker.errors
    import requests

    try:
        found = client().containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    except docker.errors.APIError as error:
        raise ActionError(f"listing containers: {error.explanation or error}") from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise lost(type(error).__name__) from None
    result = []
    for container in found:
        labels = container.labels
        if labels.get(ONEOFF_LABEL) == "True":
            continue
        state = container.attrs.get("State", {})
        health = state.get("Health")
        result.append(Container(
            name=container.name,
            service=labels.get(SERVICE_LABEL, container.name),
            status=state.get("Status", "unknown"),
            exit_code=int(state.get("ExitCode", 0)),
            health=health.get("Status") if health else None,
            restarts=int(container.attrs.get("RestartCount", 0)),
            started_at=state.get("StartedAt", ""),
            image=container.attrs.get("Config", {}).get("Image", ""),
            image_id=container.attrs.get("Image", ""),
            labels=dict(labels),
            ports=_published(container.attrs.get("NetworkSettings", {}).get("Ports")),
        ))
    return result


def _published(ports: Any) -> tuple[tuple[str, int, str], ...]:
    """``NetworkSettings.Ports`` (``{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}``) as
    (host ip, host port, protocol) triples."""
    found = []
    for key, bindings in (ports or {}).items() if isinstance(ports, dict) else ():
        protocol = str(key).partition("/")[2] or "tcp"
        for binding in bindings or ():
            try:
                found.append((str(binding.get("HostIp") or ""), int(binding.get("HostPort")), protocol))
            except (TypeError, ValueError):
                continue
    return tuple(found)


def logs(name: str, lines: int = 10) -> list[str]:
    """The last ``lines`` lines a container logged."""
    import docker.errors

    try:
        raw = client().containers.get(name).logs(tail=lines)
    except docker.errors.DockerException:
        return []
    return [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]


def remove_image(reference: str) -> bool:
    """Remove a local image by reference; False when it is in use or already gone."""
    import docker.errors

    try:
        client().images.remove(reference)
    except docker.errors.DockerException:
        return False
    return True


def save(reference: str, stream: IO[bytes]) -> None:
    """Write the ``docker save`` archive of the local image ``reference`` to ``stream``, named by
    that reference alone (its manifest tags ``reference``, no other tag the image has); raises
    ``ActionError`` when the engine does not have it or fails."""
    import docker.errors
    import requests

    try:
        for chunk in client().api.get_image(reference):
            stream.write(chunk)
    except docker.errors.ImageNotFound:
        raise ActionError(f"{reference}: not in the local Docker Engine", retryable=False) from None
    except docker.errors.APIError as error:
        raise ActionError(f"saving {reference}: {error.explanation or error}") from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise lost(type(error).__name__) from None
