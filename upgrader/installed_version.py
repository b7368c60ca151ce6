"""project.yaml ``installed_version``: the version a server upgrader did not install runs (DESIGN §12).

A vendor's server installed by hand, or by the vendor's own updater, has no
``state/<name>/installed.json``; without one, ``run`` would install the newest release over it.
When project.yaml sets ``installed_version: {run: [...], cwd?, timeout?}`` (a vendor's
``ac-self-hosted.sh -v``), the first semantic version that command prints is the installed
version: ``check`` reports it, and the first ``run`` upgrades from it. installed.json, once that
run completes, says where the version before it came from (its ``previous`` is
``reported_by: installed_version``); from then on installed.json is the record and the command
is not run again.

The command is run as a workflow's ``command`` step runs one: never through a shell, standard
input closed, the placeholders ``{root}``, ``{project}`` and ``{name}`` expanded, and as root its
program must pass the §15 trust checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from upgrader.errors import ConfigError
from upgrader.project import Project

DEFAULT_TIMEOUT = 60
REPORTED_BY = "installed_version"
# A semantic version as a program prints it ("3.28.0", "v3.28.0-rc.1", "Version: 3.28.0+42").
_VERSION = re.compile(r"(?<![0-9A-Za-z.])v?((?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
                      r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)(?![0-9A-Za-z.])")
_PLACEHOLDER = re.compile(r"(?<!\$)\{(root|project|name)\}")


@dataclass(frozen=True)
class Current:
    """The installed version (None: nothing installed) and what says so: ``installed.json``,
    ``installed_version`` (the command, which printed ``output``), or None."""

    version: str | None
    source: str | None
    command: tuple[str, ...] = ()

    def record(self) -> dict[str, Any] | None:
        """What a run keeps in its data, for installed.json's ``previous`` once it completes."""
        if self.source != REPORTED_BY:
            return None
        return {"version": self.version, "reported_by": REPORTED_BY, "command": list(self.command)}


def _expand(project: Project, text: str) -> str:
    values = {"root": str(project.root), "project": str(project.dir), "name": project.name}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def first_version(output: str) -> str | None:
    """The first semantic version in ``output`` (a leading ``v`` dropped), or None."""
    found = _VERSION.search(output)
    return found.group(1) if found else None


def reported(project: Project) -> Current:
    """The version project.yaml's ``installed_version`` command reports; raises ``ConfigError``
    (exit 2, nothing changed) when it cannot be run, fails, or prints no version — a run must not
    take such a server for an empty one and install over it."""
    from upgrader import trust
    from upgrader.errors import ActionError
    from upgrader.runtime import process

    settings: Mapping[str, Any] = project.config["installed_version"]
    where = f"{project.dir / 'project.yaml'}: at 'installed_version'"
    argv = [_expand(project, argument) for argument in settings["run"]]
    cwd = _expand(project, settings.get("cwd", "{project}"))
    timeout = float(settings.get("timeout", DEFAULT_TIMEOUT))
    trust.check_program(argv[0], "program of installed_version", cwd=cwd)
    lines: list[str] = []
    try:
        result = process.run(argv, cwd=cwd, timeout=timeout, on_line=lines.append)
    except ActionError as error:
        raise ConfigError(f"{where}: {error}; the installed version is unknown, nothing was changed") from None
    shown = " / ".join(line.strip() for line in lines[-3:] if line.strip())[:300]
    if result.returncode != 0:
        why = f"timed out after {timeout:g} s" if result.timed_out else f"exited with status {result.returncode}"
        raise ConfigError(f"{where}: {argv[0]} {why}" + (f" ({shown})" if shown else "")
                          + "; the installed version is unknown, nothing was changed")
    version = first_version("\n".join(lines))
    if version is None:
        raise ConfigError(f"{where}: {argv[0]} printed no version (x.y.z)" + (f": {shown}" if shown else "")
                          + "; the installed version is unknown, nothing was changed")
    return Current(version, REPORTED_BY, tuple(argv))


def current(project: Project, installed: Mapping[str, Any] | None) -> Current:
    """The installed version: installed.json's (``installed``), else — when project.yaml sets
    ``installed_version`` — what that command reports (see ``reported``), else None."""
    if installed is not None:
        return Current(str(installed["version"]), "installed.json")
    if project.config.get("installed_version"):
        return reported(project)
    return Current(None, None)
