"""End-to-end tests: the installed ``upgrader`` command, as an operator runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

UPGRADER = Path(sys.executable).with_name("upgrader")


def upgrader(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
             ) -> subprocess.CompletedProcess[str]:
    """Run the installed command; stdin closed, as under cron."""
    return subprocess.run(
        [str(UPGRADER), *args], capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, check=False,
    )


@pytest.fixture
def run_upgrader() -> Callable[..., subprocess.CompletedProcess[str]]:
    assert UPGRADER.exists(), f"{UPGRADER} is not installed: run make install"
    return upgrader


def status(root: Path, name: str) -> dict:
    result = upgrader("--root", str(root), "-n", name, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def vendor_root(tmp_path: Path) -> Path:
    """A server root laid out as a vendor ships it: its control script and one project."""
    shutil.copy(Path(__file__).with_name("fake_server.sh"), tmp_path / "server.sh")
    (tmp_path / "release-version").write_text("1.1.0\n")
    project = tmp_path / "projects" / "spacetech"
    project.mkdir(parents=True)
    (project / "project.yaml").write_text("workflow: vendor-scripts\n")
    server = tmp_path / "fake" / "spacetech"  # release 1.0.0 runs
    server.mkdir(parents=True)
    for part in ("export", "images", "running"):
        (server / part).write_text("1.0.0\n")
    return tmp_path
