"""project.yaml ``jitter`` (a random delay before a cron run, never before a run by hand) and
``min_age`` (a release is taken unattended only once it has been public that long)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from .operator_rig import FETCH_WORKFLOW, DiskFeed, add_project, chain, sh, status, text, upgrader


def test_jitter_delays_only_cron_runs_and_breaks_nothing(tmp_path):
    add_project(tmp_path, "acme", {"jitter": 2}, workflow=chain("noop", [("noop", sh("exit 0"))]))
    started = time.monotonic()
    cron = upgrader("--root", str(tmp_path), "-n", "acme", "run", "--cron")
    elapsed = time.monotonic() - started
    assert cron.returncode == 0, text(cron)
    assert (cron.stdout, cron.stderr) == (b"", b"")
    assert elapsed < 2 + 15, f"a cron run with jitter 2 took {elapsed:.1f} s"
    assert status(tmp_path, "acme")["run"]["status"] == "completed"

    # By hand nobody waits: with ten minutes of jitter the run still ends at once.
    add_project(tmp_path, "acme", {"jitter": 600}, workflow=chain("noop", [("noop", sh("exit 0"))]))
    started = time.monotonic()
    by_hand = upgrader("--root", str(tmp_path), "-n", "acme", "run", timeout=60)
    elapsed = time.monotonic() - started
    assert by_hand.returncode == 0, text(by_hand)
    assert elapsed < 20, f"a run by hand slept: {elapsed:.1f} s"


def check(root, *args: str) -> dict:
    result = upgrader("--root", str(root), "-n", "acme", "check", "--json", *args)
    assert result.returncode == 0, text(result)
    return dict(json.loads(result.stdout))


def test_min_age_holds_back_a_fresh_release_until_asked_for(tmp_path):
    now = datetime.now(UTC)
    feed = DiskFeed(tmp_path / "feed")
    feed.publish("1.0.0", released=now - timedelta(days=30))
    feed.publish("1.1.0", released=now)
    root = tmp_path / "srv"
    add_project(root, "acme", {"feed": feed.url, "min_age": "3d"}, workflow=FETCH_WORKFLOW)

    planned = check(root)
    assert planned["installed"] is None
    assert planned["target"] == "1.0.0", planned
    assert planned["path"] == ["1.0.0"], planned

    first = upgrader("--root", str(root), "-n", "acme", "run", "--cron")
    assert first.returncode == 0, text(first)
    assert status(root, "acme")["installed"] == "1.0.0"
    held = check(root)
    assert held["target"] is None and held["up_to_date"] is True, held

    asked = check(root, "--to", "1.1.0")
    assert asked["target"] == "1.1.0", asked
    explicit = upgrader("--root", str(root), "-n", "acme", "run", "--to", "1.1.0")
    assert explicit.returncode == 0, text(explicit)
    assert status(root, "acme")["installed"] == "1.1.0"
