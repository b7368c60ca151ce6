"""``action: wait_healthy``: every service of the export runs and is healthy, in time.

A container with a healthcheck counts once ``healthy``; one without counts once it has run for
``GRACE`` seconds without restarting; a one-shot container once it exited 0. A container that
exits non-zero, restarts or turns unhealthy fails the step at once with the service's name and
the last lines of its log. Compose's own exit code is not trusted for any of this.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError

GRACE = 3.0
CREATED_GRACE = 5.0  # a container still only "created" this long after `up` will not start
POLL = 0.25
DEFAULT_TIMEOUT = 300.0


def _started(started_at: str) -> float | None:
    """Docker's ``StartedAt`` as a time.time() (to the microsecond: Docker's nanoseconds are
    more than Python parses), None when it is not a time."""
    match = re.match(r"^(.*?\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", started_at or "")
    if match is None:
        return None
    try:
        started = datetime.fromisoformat(match[1] + (match[3] or "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    return started.timestamp() + float(f"0.{(match[2] or '0')[:6]}")


def _running_for(started_at: str) -> float:
    """Seconds since Docker's ``StartedAt``."""
    started = _started(started_at)
    return 0.0 if started is None else max(0.0, time.time() - started)


def _failure(service: str, name: str, why: str) -> ActionError:
    from upgrader.runtime import engine

    tail = "\n".join(engine.logs(name))
    return ActionError(f"service {service} {why}" + (f"; its last log lines:\n{tail}" if tail else ""),
                       retryable=False, release_fault=True)


def failed_since(project: str, export: Path, began: float) -> ActionError | None:
    """The failure of a service of ``export`` whose container started at ``began`` (a time.time())
    or later and then exited non-zero, restarted or turned unhealthy, with its last log lines;
    None when no container of this start failed (what failed was Compose, not a service)."""
    from upgrader.runtime import compose, engine

    expected = set(compose.services(export))
    for container in engine.containers(project):
        if container.service not in expected or _running_for(container.started_at) > time.time() - began + 1:
            continue  # not a service of this export, or a container that ran before this start
        if container.status in ("exited", "dead") and container.exit_code != 0:
            return _failure(container.service, container.name, f"exited with status {container.exit_code}")
        if container.restarts > 0 or container.status == "restarting":
            return _failure(container.service, container.name, "is restarting")
        if container.health == "unhealthy":
            return _failure(container.service, container.name, "is unhealthy")
    return None


def wait_until_healthy(context: Context, export: Path) -> str:
    """Poll the project's containers until every service of ``export`` is healthy; gives the
    moment (``store.now`` format) the last of them began to serve: for a service with a
    healthcheck the first poll that saw it healthy, for one without the moment its container
    started (not ``GRACE`` later: the grace only shows that it stays up), one-shot services aside.
    That is where a downtime ends."""
    from upgrader.runtime import compose, engine

    expected = compose.services(export)
    timeout = float(context.project.config.get("health_timeout", DEFAULT_TIMEOUT))
    deadline = time.monotonic() + timeout
    waiting: dict[str, str] = {}
    serving: dict[str, float] = {}
    began = time.monotonic()
    while True:
        try:
            found = engine.containers(context.project.name)
        except engine.RuntimeUnavailable:
            # The engine restarted under us: keep polling until it answers, or the deadline.
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
            continue
        waiting = {service: "has no container" for service in expected}
        for container in found:
            if container.service not in waiting:
                continue
            if container.restarts > 0 or container.status == "restarting":
                raise _failure(container.service, container.name, "is restarting")
            if container.status in ("exited", "dead"):
                if container.exit_code != 0:
                    raise _failure(container.service, container.name,
                                   f"exited with status {container.exit_code}")
                del waiting[container.service]  # a one-shot service that did its job
            elif container.health == "unhealthy":
                raise _failure(container.service, container.name, "is unhealthy")
            elif container.status == "created" and time.monotonic() - began > CREATED_GRACE:
                raise _failure(container.service, container.name, "was created but never started")
            elif container.status != "running":
                waiting[container.service] = f"is {container.status}"
            elif container.health == "starting":
                waiting[container.service] = "is starting (health check)"
            elif container.health is None and _running_for(container.started_at) < GRACE:
                waiting[container.service] = "has just started"
            else:
                del waiting[container.service]
                started = _started(container.started_at) if container.health is None else None
                serving.setdefault(container.service, started if started is not None else time.time())
        if not waiting:
            end = max(serving.values(), default=time.time())
            return datetime.fromtimestamp(end, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if time.monotonic() > deadline:
            service, why = next(iter(waiting.items()))
            name = next((c.name for c in found if c.service == service), "")
            raise _failure(service, name, f"{why} after {timeout:g} s") if name else ActionError(
                f"service {service} {why} after {timeout:g} s", retryable=False, release_fault=True)
        time.sleep(POLL)


@register("wait_healthy")
def wait_healthy(context: Context) -> None:
    context.data["downtime_ended_at"] = wait_until_healthy(context, context.project.export_dir)
