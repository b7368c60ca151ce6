"""``action: preflight``, and what a run checks before it changes anything (DESIGN §14).

What would make a run fail while the server is down is looked at while it still serves:

- the Docker Engine answers (``before_run``, before a run is even recorded: a run that cannot
  reach the engine changes nothing and has nothing to roll back);
- one owner per stack: the Compose project of this name runs only containers this root's
  project started. Every container upgrader starts carries ``io.upgrader.root`` and
  ``io.upgrader.project`` (the export's ``compose.upgrader.yaml``); a container started by an
  earlier upgrader is known by the folder Compose records (``<root>/projects/<name>/export``).
  A stack another root runs, or that someone started by hand, is never stopped or replaced —
  unless ``upgrader init --adopt`` took it over: installed.json's ``adopted`` names the folder it
  was started from, and its containers, known by that folder, are this project's. A first install
  (nothing installed) over such a stack that runs is refused with the ``init --adopt`` hint;
- the ports the new release publishes are free, or held by this project's own containers
  (which the stop frees).

A failed check is a configuration error (exit 2) before the run starts; inside the run (the
``preflight`` step, after ``extract``) it rolls the run back before anything was stopped.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError, ConfigError, UpgraderError
from upgrader.project import Project

if TYPE_CHECKING:
    from upgrader.runtime.engine import Container
    from upgrader.workflow import Workflow

# The actions that drive the project's Compose stack: a workflow with none of them (a vendor's
# own script, §12) is checked by nothing here.
DOCKER_ACTIONS = frozenset({"stop", "start", "start_previous", "ensure_running", "pull",
                            "wait_healthy", "preflight"})
RANGE_LIMIT = 1024  # published port ranges longer than this are not probed port by port

Port = tuple[str, int, str]  # (host ip, port, protocol)


def owner(container: Container) -> tuple[str, str] | None:
    """(root, project) of the upgrader that started ``container``, or None (started otherwise)."""
    from upgrader.runtime import engine

    labels = container.labels
    if labels.get(engine.ROOT_LABEL) and labels.get(engine.OWNER_LABEL):
        return labels[engine.ROOT_LABEL], labels[engine.OWNER_LABEL]
    folder = Path(labels.get(engine.WORKING_DIR_LABEL) or "/")
    if folder.name == "export" and folder.parent.parent.name == "projects":
        return str(folder.parent.parent.parent), folder.parent.name
    return None


def _same_root(first: str, second: str | Path) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)


def adopted_from(installed: dict[str, Any] | None) -> str | None:
    """The folder the stack ``init --adopt`` took over was started from, while the installed
    release (or the one before it, which a rollback brings back) is that adopted one; else None."""
    for entry in (installed, (installed or {}).get("previous")):
        adopted = (entry or {}).get("adopted")
        if isinstance(adopted, dict) and adopted.get("working_dir"):
            return str(adopted["working_dir"])
    return None


def unadopted(project: Project, containers: Iterable[Container]) -> str | None:
    """Why a first install (nothing installed) may not go over what runs as Compose project
    ``project.name``: a container of it runs that no upgrader started; None when none does."""
    from upgrader.runtime import engine

    for container in containers:
        if container.status == "running" and owner(container) is None:
            started = container.labels.get(engine.WORKING_DIR_LABEL)
            return (f"Compose project {project.name} already runs here, not installed by upgrader "
                    f"({container.name}, started from {started or 'an unknown folder'}): adopt it with "
                    f"`upgrader init --adopt -n {project.name} …` (or stop it)")
    return None


def foreign_owner(project: Project, containers: Iterable[Container], adopted: str | None = None) -> str | None:
    """Why the Compose project of ``project``'s name is not this project's to touch, or None.

    ``adopted`` (see ``adopted_from``): the folder of a stack ``init --adopt`` took over, whose
    containers are this project's."""
    from upgrader.runtime import engine

    for container in containers:
        found = owner(container)
        started = container.labels.get(engine.WORKING_DIR_LABEL)
        if found is None and adopted is not None and started and _same_root(started, adopted):
            continue
        if found is None:
            return (f"the Compose project {project.name!r} runs containers upgrader did not start "
                    f"({container.name}, from {started or 'an unknown folder'}); upgrader will not "
                    f"stop or replace them: stop them ('docker compose -p {project.name} down') or "
                    "give this project another name")
        root, name = found
        if name != project.name or not _same_root(root, project.root):
            return (f"the Compose project {project.name!r} belongs to another server root: {root} "
                    f"(project {name}, container {container.name}); upgrader will not stop or "
                    "replace it: give this project another name, or upgrade it from that root")
    return None


def check_owner(project: Project) -> None:
    """Raise ``ConfigError`` naming the owner when this project's stack is not its own, and, for
    a first install, when a stack of its name runs that upgrader did not install (``unadopted``)."""
    from upgrader.runtime import engine
    from upgrader.store import ProjectStore

    installed = ProjectStore(project.state_dir).read_installed()
    found = engine.containers(project.name)
    problem = unadopted(project, found) if installed is None else None
    problem = problem or foreign_owner(project, found, adopted_from(installed))
    if problem is not None:
        raise ConfigError(problem)


def before_run(project: Project, workflow: Workflow) -> None:
    """Before a run is recorded: the engine answers (else ``UpgraderError``, exit 1: nothing was
    changed) and the stack is this project's (else ``ConfigError``, exit 2)."""
    if not workflow.actions() & DOCKER_ACTIONS:
        return
    from upgrader.runtime import engine

    try:
        engine.client()
    except engine.RuntimeUnavailable as error:
        raise UpgraderError(f"{error}; nothing was changed: the server was never stopped") from None
    check_owner(project)


def published_ports(model: dict[str, Any]) -> list[Port]:
    """The host ports a Compose model (``docker compose config --format json``) publishes."""
    found: set[Port] = set()
    for service in (model.get("services") or {}).values():
        for port in (service or {}).get("ports") or ():
            if not isinstance(port, dict) or not port.get("published"):
                continue
            first, _, last = str(port["published"]).partition("-")
            try:
                numbers = range(int(first), int(last or first) + 1)
            except ValueError:
                continue
            if len(numbers) > RANGE_LIMIT:
                continue
            for number in numbers:
                found.add((str(port.get("host_ip") or ""), number, str(port.get("protocol") or "tcp")))
    return sorted(found)


def _in_use(host_ip: str, port: int, protocol: str) -> str | None:
    """Why ``host_ip:port`` cannot be bound now (in use, not an address of this host), or None
    when it can (or this user may not tell: a port below 1024 without root)."""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    address = host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0")  # noqa: S104 - a probe
    with socket.socket(family, kind) as probe:
        # As servers bind (Docker's proxy too): connections of an earlier listener lingering in
        # TIME_WAIT do not hold the port, only something listening (or bound, for UDP) does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "in use"
            if error.errno == errno.EADDRNOTAVAIL:
                return "not an address of this host"
            return None
    return None


def busy_ports(ports: Iterable[Port], own: Iterable[Container]) -> list[str]:
    """The ports of ``ports`` that are taken by something else than ``own`` containers."""
    held = {(port, protocol) for container in own for _, port, protocol in container.ports}
    busy = []
    for host_ip, port, protocol in ports:
        why = _in_use(host_ip, port, protocol)
        if why == "in use" and (port, protocol) in held:
            continue  # this project's own container: the stop frees it
        if why:
            busy.append(f"{host_ip or '*'}:{port}/{protocol} ({why})")
    return busy


@register("preflight")
def preflight(context: Context) -> None:
    """The checks of this module, with the release extracted: fails before the server stops."""
    from upgrader.runtime import engine
    from upgrader.store import ProjectStore

    found = engine.containers(context.project.name)
    problem = foreign_owner(context.project, found,
                            adopted_from(ProjectStore(context.project.state_dir).read_installed()))
    if problem is not None:
        raise ActionError(problem, retryable=False)
    ports = [(str(host), int(port), str(protocol))
             for host, port, protocol in context.data.get("published_ports") or ()]
    busy = busy_ports(ports, [c for c in found if c.status == "running"])
    if busy:
        raise ActionError(f"release {context.to_version} publishes ports that something else holds: "
                          + ", ".join(busy) + "; free them, or change the ports in project.yaml's values",
                          retryable=False)
    context.journal("preflight", {"ports": len(ports), "containers": len(found)})
