"""What a release asks of the host, and what a feed risks (DESIGN §15).

A release's compose.yaml runs as root on the server: ``privileged: true``, the host's network or
PID namespace, a bind mount of ``/etc`` or of the Docker socket each hand the release the whole
machine. upgrader would start such a release unattended, so it reads the Compose model — as
Compose itself resolves it, ``docker compose config --format json`` — and names every such
request (``risks``). project.yaml's ``refuse: [privileged, host_namespaces, host_mounts,
docker_socket]`` refuses a release asking for one of those kinds at the ``extract`` step, before
the server stops (the ``verify`` step sees only the archive; Compose needs the extracted files).
Without ``refuse``, ``check`` and ``doctor`` warn (``check_warnings``). They warn as well about a
feed whose releases nobody vouches for: unsigned, plain http, a token sent in clear
(``feed_warnings``).

The kinds:

- ``privileged``: ``privileged: true``, or ``cap_add`` of ``ALL``, ``SYS_ADMIN`` or ``SYS_MODULE``
  (with or without ``CAP_``): each lets the container mount the host's disks or load kernel code,
  which is root on the host. Other capabilities and ``security_opt`` are not counted.
- ``host_namespaces``: ``network_mode``, ``pid``, ``ipc``, ``uts``, ``userns_mode`` or ``cgroup``
  set to ``host``. ``service:<name>``, ``bridge``, ``none`` and ``shareable`` are the project's own.
- ``host_mounts``: a host path mounted into a container — a bind mount, a named volume of the
  ``local`` driver with ``o: bind``, a secret's or config's ``file:`` — at or under one of
  ``HOST_PATHS`` (``/`` itself, being above all of them, counts; so does ``/var``, above
  ``/var/lib/docker``). A path at or under the project's own folder (the export: the release's
  ``config/``, its data folders) never counts, wherever the server root lies.
- ``docker_socket``: the Docker socket (``/var/run/docker.sock``, ``/run/docker.sock``, any file
  named ``docker.sock``) or a folder holding it (``/run``, ``/var/run``, ``/var``, ``/``), by any
  of the mounts above or a ``devices:`` entry.

Short syntax (``"/etc:/host-etc:ro"``) and long syntax (``{type: bind, source: …}``) count alike;
Compose's resolved model has only the long one, hand-written models may have both.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upgrader.errors import UpgraderError
from upgrader.project import Project

KINDS = ("privileged", "host_namespaces", "host_mounts", "docker_socket")
# Host folders a container may not see (at, under, or above them). /lib* is any top-level /lib….
HOST_PATHS = ("/etc", "/root", "/boot", "/proc", "/sys", "/dev", "/var/lib/docker", "/home", "/usr",
              "/bin", "/sbin", "/lib")
SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
PRIVILEGED_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE"})
NAMESPACE_KEYS = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")


@dataclass(frozen=True)
class Risk:
    """One thing a service asks of the host: ``kind`` (one of ``KINDS``), the ``service``, and
    ``detail``, the setting as the Compose file has it (``network_mode: host``)."""

    kind: str
    service: str
    detail: str

    def __str__(self) -> str:
        return f"service {self.service} asks for {self.kind} ({self.detail})"


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _clean(path: str) -> str:
    """``path`` normalised (``..``, ``//`` and trailing ``/`` gone)."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("/") else cleaned


def _within(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder + "/")


def _host_path(source: str, own: str | None) -> str | None:
    """The absolute host path of a mount source, or None when it is the project's own (at or
    under ``own``; a relative source without ``own``) or not a path. ``~`` stands for /home."""
    if source.startswith("~"):
        return "/home"
    if not source.startswith("/"):
        if own is None:
            return None
        source = posixpath.join(own, source)
    path = _clean(source)
    return None if own is not None and _within(path, own) else path


def _mount_kinds(path: str) -> list[str]:
    """The kinds a mount of host ``path`` is: host_mounts, docker_socket, both or none."""
    kinds = []
    if any(_within(path, folder) or _within(folder, path) for folder in HOST_PATHS) \
            or path.split("/")[1].startswith("lib"):
        kinds.append("host_mounts")
    if posixpath.basename(path) == "docker.sock" or any(_within(socket, path) for socket in SOCKETS):
        kinds.append("docker_socket")
    return kinds


def _short(entry: str) -> tuple[str, str]:
    """``source:target[:mode]`` → (source, target); ("", entry) for an anonymous volume."""
    parts = entry.split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", entry)


def _volume_source(model: dict[str, Any], name: str) -> str | None:
    """The host folder a named volume binds (``local`` driver, ``o: bind``), else None."""
    volume = _mapping(model.get("volumes")).get(name)
    if not isinstance(volume, dict) or volume.get("driver") not in (None, "", "local"):
        return None
    options = _mapping(volume.get("driver_opts"))
    binds = {part.strip() for part in str(options.get("o") or "").split(",")} & {"bind", "rbind"}
    device = options.get("device")
    return device if binds and isinstance(device, str) and device else None


def _mounts(model: dict[str, Any], service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(host source, how the file says it) for every host path ``service`` mounts."""
    for entry in _list(service.get("volumes")):
        if isinstance(entry, str):
            source, target = _short(entry)
            kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
        elif isinstance(entry, dict):
            source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
            kind = str(entry.get("type") or ("bind" if source.startswith(("/", ".", "~")) else "volume"))
        else:
            continue
        if kind == "bind" and source:
            yield source, f"bind mount {source} → {target}"
        elif kind == "volume" and source:
            device = _volume_source(model, source)
            if device:
                yield device, f"volume {source} binds {device} → {target}"
    for key in ("secrets", "configs"):
        for entry in _list(service.get(key)):
            name = entry if isinstance(entry, str) else entry.get("source") if isinstance(entry, dict) else None
            declared = _mapping(model.get(key)).get(name) if isinstance(name, str) else None
            file = declared.get("file") if isinstance(declared, dict) else None
            if isinstance(file, str) and file:
                yield file, f"{key[:-1]} {name} from file {file}"


def _devices(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for entry in _list(service.get("devices")):
        if isinstance(entry, str):
            source, target = _short(entry)
        elif isinstance(entry, dict):
            source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
        else:
            continue
        if source:
            yield source, f"device {source} → {target}"


def risks(model: dict[str, Any], own: str | Path | None = None) -> list[Risk]:
    """Every risk of a Compose model (``docker compose config --format json``, or one written by
    hand), service by service, in the order the file has them; each (kind, service, detail) once.

    ``own`` is the project folder Compose ran in (the export): mounts at or under it are the
    release's own files and data folders, and relative sources are resolved against it (without
    it they are taken as the project's own). Pure: reads nothing, raises nothing.
    """
    own_path = _clean(str(own)) if own is not None else None
    found: list[Risk] = []
    for name, service in _mapping(model.get("services")).items():
        if not isinstance(service, dict):
            continue
        name = str(name)
        if service.get("privileged") is True:
            found.append(Risk("privileged", name, "privileged: true"))
        for capability in _list(service.get("cap_add")):
            bare = str(capability).upper().removeprefix("CAP_")
            if bare in PRIVILEGED_CAPS:
                found.append(Risk("privileged", name, f"cap_add: {capability}"))
        for key in NAMESPACE_KEYS:
            if str(service.get(key) or "").lower() == "host":
                found.append(Risk("host_namespaces", name, f"{key}: host"))
        for source, detail in _mounts(model, service):
            path = _host_path(source, own_path)
            for kind in _mount_kinds(path) if path else []:
                found.append(Risk(kind, name, detail))
        for source, detail in _devices(service):
            path = _host_path(source, own_path)
            if path and "docker_socket" in _mount_kinds(path):
                found.append(Risk("docker_socket", name, detail))
    return list(dict.fromkeys(found))


def release_risks(release_dir: Path, values: dict[str, Any]) -> list[Risk]:
    """The risks of an extracted release: its compose.yaml with defaults.env under ``values``, as
    the export step will write it (``datadirs.release_model``). Raises ``ActionError`` (the
    release's fault) when Compose refuses the file, or when Compose is missing or the copy fails."""
    from upgrader import datadirs

    return risks(*datadirs.release_model(release_dir, values))


def refused(project: Project, found: list[Risk]) -> list[Risk]:
    """The risks of ``found`` whose kind project.yaml's ``refuse`` lists."""
    kinds = project.config.get("refuse") or []
    return [risk for risk in found if risk.kind in kinds]


def refusal(version: str, found: list[Risk]) -> str:
    """The one line a refused release fails with: the first refused risk, and how many more."""
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (f"release {version} refused: service {first.service} asks for {first.kind} ({first.detail}), "
            f"which project.yaml's refuse: lists{more}")


def _token_source(project: Project) -> str | None:
    """Where the project's feed token would come from (a variable's name, or ``token_file``), or
    None; the token itself is not read."""
    from upgrader.runtime import process

    found = process.environment_token(project.name)
    if found:
        return found[0]
    if os.environ.get(process.TOKEN_VARIABLE, "").strip():
        return process.TOKEN_VARIABLE
    return "token_file" if project.config.get("token_file") else None


def feed_findings(project: Project) -> list[tuple[str, str]]:
    """(the risk, the fix) for each weakness of the project's feed (see ``feed_warnings``)."""
    from upgrader.project import feed_settings

    settings = feed_settings(project.config)
    if settings is None:
        return []
    url = settings.url
    found = []
    if settings.kind == "listing":
        # A listing is never signed (no public_key to set); what can check its archives is the
        # storage's checksum, which gs:// gives and https:// and file:// do not.
        if settings.scheme != "gs":
            beyond = "TLS" if settings.scheme == "https" else "the file system" if settings.scheme == "file" else \
                "nothing"
            found.append((f"the listing gives no checksum: downloads are not verified beyond {beyond}",
                          "ask the vendor for a gs:// bucket or an index.json feed with sha256"))
    elif not project.config.get("public_key"):
        found.append((f"feed {url} is unsigned: whoever controls the feed or its mirror can ship any release",
                      "set public_key in project.yaml to the publisher's Ed25519 key"))
    if str(url).startswith("http://"):
        found.append((f"feed {url} is plain http: anyone on the network can read and change what it serves",
                      "use the feed's https:// address"))
        token = _token_source(project)
        if token:
            found.append((f"the feed token ({token}) is sent in clear text over http: anyone on the network "
                          "can read it", "use the feed's https:// address, then have the token replaced"))
    return found


def feed_warnings(project: Project) -> list[str]:
    """One line per weakness of the project's feed, saying the risk and the fix: unsigned (no
    ``public_key``), plain ``http://``, a token (token_file or the environment) sent over it.
    Empty without a feed. Reads no token; raises nothing."""
    return [f"{risk} — fix: {fix}" for risk, fix in feed_findings(project)]


def export_findings(project: Project) -> list[tuple[str, str]]:
    """(the warning, the fix) for each risk of the installed export: all of them without
    ``refuse``; with it, those of a refused kind (the next upgrade refuses a release keeping
    them); a line when Compose cannot read the export."""
    from upgrader.runtime import compose

    export = project.export_dir
    if not (export / "compose.yaml").is_file():
        return []
    try:
        found = risks(compose.config(export), export)
    except UpgraderError as error:
        return [(f"cannot check export/compose.yaml: {error}", "see 'upgrader doctor'")]
    if "refuse" not in project.config:
        return [(f"installed release: {risk}", f"if that is not wanted, add 'refuse: [{risk.kind}]' to "
                 "project.yaml: upgrades to a release asking for it are then refused") for risk in found]
    return [(f"installed release: {risk}, which project.yaml refuses",
             "the next upgrade is refused unless its release drops it; ask the vendor")
            for risk in refused(project, found)]


def check_warnings(project: Project) -> list[str]:
    """What ``check`` warns about, one line each with its fix: the installed export's risks
    (see ``export_findings``), then ``feed_warnings``. Runs ``docker compose config`` on the
    export; raises nothing (a Compose failure is a line)."""
    return [f"{risk} — fix: {fix}" for risk, fix in [*export_findings(project), *feed_findings(project)]]
