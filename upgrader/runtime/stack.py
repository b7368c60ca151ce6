"""What the project's stack is doing now, read with one call to the Docker Engine (DESIGN §14).

``status``, ``doctor`` and an idle ``run --cron`` report the server, not the record: each
service's container state and health, and whether the installed release is *serving* (every
service running and healthy, a one-shot service exited 0). They must stay light, so the engine
is asked over its Unix socket with the standard library (``GET /containers/json``), not
through the docker SDK, whose import alone costs more than the whole look; an engine reached
another way (``DOCKER_HOST=tcp://…``, ``ssh://``) goes through ``runtime.engine``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from upgrader.errors import ActionError
from upgrader.runtime.engine import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL

TIMEOUT = 10.0


@dataclass(frozen=True)
class Service:
    """One service of the installed release, as its container is now."""

    name: str
    state: str  # running | exited | created | restarting | paused | dead | missing
    health: str | None  # healthy | unhealthy | starting | None (no healthcheck)
    image: str | None
    exit_code: int | None = None

    @property
    def serving(self) -> bool:
        if self.state == "exited":
            return self.exit_code == 0  # a one-shot service (a migration) that did its job
        return self.state == "running" and self.health in (None, "healthy")

    def describe(self) -> str:
        if self.state == "missing":
            return f"{self.name} has no container"
        if self.state == "exited":
            return f"{self.name} exited ({self.exit_code})"
        return f"{self.name} is {self.state}" + (f" ({self.health})" if self.health else "")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("exit_code")
        return data


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=TIMEOUT)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(self.path)


def _socket_path() -> str | None:
    """The engine's Unix socket, or None when DOCKER_HOST names another kind of address."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return host[len("unix://"):] if host.startswith("unix://") else None


def _unreachable(cause: str) -> ActionError:
    return ActionError(f"the Docker Engine is not reachable ({cause}); is dockerd running? "
                       "('systemctl start docker'); DOCKER_HOST may point elsewhere")


def _list(project: str) -> list[dict[str, Any]]:
    """The engine's summary of every container of Compose project ``project``."""
    path = _socket_path()
    if path is None:
        return _list_through_sdk(project)
    query = urllib.parse.urlencode({"all": "1", "filters": json.dumps({"label": [f"{PROJECT_LABEL}={project}"]})})
    connection = _UnixConnection(path)
    try:
        connection.request("GET", f"/containers/json?{query}")
        response = connection.getresponse()
        body = response.read()
    except OSError as error:
        raise _unreachable(f"{path}: {error.strerror or error}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise ActionError(f"the Docker Engine refused to list containers (HTTP {response.status})")
    found = json.loads(body)
    return found if isinstance(found, list) else []


def _list_through_sdk(project: str) -> list[dict[str, Any]]:
    from upgrader.runtime import engine

    return [{"Labels": container.labels, "State": container.status, "Image": container.image,
             "Status": f"({container.health})" if container.health else "",
             "ExitCode": container.exit_code}
            for container in engine.containers(project)]


_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXITED = re.compile(r"Exited \((-?\d+)\)")


def _service(name: str, summary: dict[str, Any] | None) -> Service:
    if summary is None:
        return Service(name, "missing", None, None)
    text = str(summary.get("Status") or "")
    health = _HEALTH.search(text)
    exit_code = summary.get("ExitCode")
    if exit_code is None:
        exited = _EXITED.search(text)
        exit_code = int(exited.group(1)) if exited else None
    return Service(name, str(summary.get("State") or "unknown"),
                   {"health: starting": "starting"}.get(health.group(1), health.group(1)) if health else None,
                   str(summary.get("Image") or "") or None, exit_code)


def services(project: str, expected: list[str]) -> list[Service]:
    """Each service of ``expected`` (every service of the installed release) as it is now, and
    any other container of the project. Raises ``ActionError`` when the engine cannot be asked."""
    by_service: dict[str, dict[str, Any]] = {}
    for summary in _list(project):
        labels = summary.get("Labels") or {}
        if labels.get(ONEOFF_LABEL) == "True":
            continue
        by_service.setdefault(str(labels.get(SERVICE_LABEL, "")), summary)
    names = list(expected) + sorted(set(by_service) - set(expected) - {""})
    return [_service(name, by_service.get(name)) for name in names]


def expected_services(export: Path) -> list[str]:
    """The services of an export: from the labels file upgrader wrote beside its compose.yaml
    (no Compose call), else from Compose. Raises ``ActionError`` when neither can tell."""
    from upgrader.runtime import LABELS

    try:
        document = json.loads((export / LABELS).read_text(encoding="utf-8"))
        return sorted(document["services"])
    except (OSError, ValueError, KeyError, TypeError):
        from upgrader.runtime import compose

        return compose.services(export)
