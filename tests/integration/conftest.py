"""Fixtures of the integration tier: a server root in ``tmp_path`` and cleanup of its processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import UPGRADER, Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """An empty server root; every process started in it is killed when the test ends."""
    assert UPGRADER.exists(), f"{UPGRADER} is not installed: run make install"
    root = tmp_path / "root"
    logs = tmp_path / "logs"
    root.mkdir()
    logs.mkdir()
    server = Server(root, logs)
    try:
        yield server
    finally:
        server.cleanup()
