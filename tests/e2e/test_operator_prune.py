"""``upgrader prune [--keep N]`` (DESIGN §7): superseded releases go with their downloads; the
running release and the previous one (what rollback returns to) always stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .operator_rig import FETCH_WORKFLOW, PRODUCT, DiskFeed, add_project, text, upgrader

VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Releases 1.0.0 to 1.3.0 installed one after the other by real runs from a file:// feed; the
    images their release.json name exist nowhere (prune must take that in its stride)."""
    feed = DiskFeed(tmp_path / "feed")
    for version in VERSIONS:
        feed.publish(version)
    server = tmp_path / "srv"
    add_project(server, "acme", {"feed": feed.url}, workflow=FETCH_WORKFLOW)
    for version in VERSIONS:
        result = upgrader("--root", str(server), "-n", "acme", "run", "--to", version)
        assert result.returncode == 0, text(result)
    installed = json.loads((server / "state" / "acme" / "installed.json").read_text())
    assert installed["version"] == "1.3.0"
    assert installed["previous"]["version"] == "1.2.0"
    assert extracted(server) == set(VERSIONS)
    assert downloaded(server) == set(VERSIONS)
    return server


def extracted(root: Path) -> set[str]:
    return {path.name for path in (root / "releases").iterdir() if not path.name.startswith(".")}


def downloaded(root: Path) -> set[str]:
    prefix, suffix = f"{PRODUCT}-", ".tar.gz"
    return {path.name[len(prefix):-len(suffix)] for path in (root / "downloads" / "acme").glob("*/*")
            if path.name.startswith(prefix) and path.name.endswith(suffix)}


def prune(root: Path, keep: int):
    result = upgrader("--root", str(root), "-n", "acme", "prune", "--keep", str(keep))
    assert result.returncode == 0, text(result)
    return result


def test_keep_1_leaves_the_running_and_the_previous_release(root):
    result = prune(root, 1)
    assert b"removed 2 release(s)" in result.stdout, text(result)
    assert extracted(root) == {"1.2.0", "1.3.0"}
    assert downloaded(root) == {"1.2.0", "1.3.0"}
    # Nothing below that: the previous release is what rollback needs.
    again = prune(root, 0)
    assert b"removed 0 release(s)" in again.stdout, text(again)
    assert extracted(root) == {"1.2.0", "1.3.0"}


def test_keep_2_keeps_one_more_superseded_release(root):
    result = prune(root, 2)
    assert b"removed 1 release(s) and 0 snapshot(s): 1.0.0" in result.stdout, text(result)
    assert extracted(root) == {"1.1.0", "1.2.0", "1.3.0"}
    assert downloaded(root) == {"1.1.0", "1.2.0", "1.3.0"}
