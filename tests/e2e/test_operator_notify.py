"""Notifications when a run ends (project.yaml ``notify``): a webhook on 127.0.0.1 receiving the
documented JSON object, ``when``, retries, an unreachable receiver, and a ``command`` notifier."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from upgrader import __version__

from .operator_rig import (
    FETCH_WORKFLOW,
    DiskFeed,
    WebhookReceiver,
    add_project,
    chain,
    free_port,
    sh,
    status,
    text,
    upgrader,
)

FIELDS = {"event", "project", "host", "run_id", "outcome", "from", "to", "error", "started_at",
          "finished_at", "downtime_seconds", "upgrader"}
# Never through a proxy, whatever the machine's environment says.
LOCAL = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    try:
        yield server
    finally:
        server.close()


def run(root: Path, *args: str):
    return upgrader("--root", str(root), "-n", "acme", "run", *args, env=LOCAL, timeout=90)


def history(root: Path) -> list[dict]:
    result = upgrader("--root", str(root), "-n", "acme", "history", "--json")
    assert result.returncode == 0, text(result)
    return list(json.loads(result.stdout))


def failing_when_told(root: Path, notify: dict) -> Path:
    """A one-step project whose step fails while ``<root>/fail`` exists."""
    switch = root / "fail"
    add_project(root, "acme", {"notify": notify},
                workflow=chain("switch", [("work", sh('[ ! -e "$0" ]', str(switch)))]))
    return switch


def test_the_webhook_gets_one_documented_object_per_finished_run(tmp_path, receiver):
    feed = DiskFeed(tmp_path / "feed")
    feed.publish("1.0.0")
    feed.publish("1.1.0")
    root = tmp_path / "srv"
    add_project(root, "acme", {"feed": feed.url, "notify": {"webhook": receiver.url, "when": "always"}},
                workflow=FETCH_WORKFLOW)
    first = run(root, "--to", "1.0.0")
    assert first.returncode == 0, text(first)
    second = run(root)
    assert second.returncode == 0, text(second)
    nothing = run(root)  # up to date: no run, no notification
    assert nothing.returncode == 0, text(nothing)

    bodies = receiver.bodies()
    assert len(bodies) == 2, bodies
    assert all(request["headers"].get("Content-Type") == "application/json" for request in receiver.requests)
    finished = list(reversed(history(root)))
    for body, entry, versions in zip(bodies, finished, [(None, "1.0.0"), ("1.0.0", "1.1.0")], strict=True):
        assert set(body) == FIELDS, body
        assert body["event"] == "upgrader.run"
        assert body["project"] == "acme"
        assert body["host"] == socket.gethostname()
        assert body["run_id"] == entry["id"]
        assert body["outcome"] == "completed"
        assert (body["from"], body["to"]) == versions
        assert body["error"] is None
        assert body["started_at"] == entry["started_at"]
        assert body["finished_at"] == entry["finished_at"]
        assert body["downtime_seconds"] == entry["downtime_seconds"]
        assert body["upgrader"] == __version__


def test_when_failure_reports_only_the_rolled_back_run(tmp_path, receiver):
    switch = failing_when_told(tmp_path, {"webhook": receiver.url, "when": "failure"})
    good = run(tmp_path)
    assert good.returncode == 0, text(good)
    assert receiver.bodies() == []

    switch.touch()
    bad = run(tmp_path)
    assert bad.returncode == 1, text(bad)
    bodies = receiver.bodies()
    assert len(bodies) == 1, bodies
    assert bodies[0]["outcome"] == "rolled_back"
    assert bodies[0]["run_id"] == status(tmp_path, "acme")["run"]["id"]
    assert "step work failed" in bodies[0]["error"]


def test_a_receiver_failing_twice_gets_the_message_on_the_third_try(tmp_path):
    server = WebhookReceiver(answers=[500, 500])
    try:
        failing_when_told(tmp_path, {"webhook": server.url, "when": "always"})
        result = run(tmp_path)
        assert result.returncode == 0, text(result)
        assert len(server.requests) == 3
        bodies = server.bodies()
        assert len({body["run_id"] for body in bodies}) == 1
        assert bodies[-1]["outcome"] == "completed"
    finally:
        server.close()


@pytest.mark.parametrize("cron", [False, True], ids=["at-a-prompt", "under-cron"])
def test_an_unreachable_webhook_changes_nothing_about_the_run(tmp_path, cron):
    failing_when_told(tmp_path, {"webhook": f"http://127.0.0.1:{free_port()}/hook", "when": "always"})
    started = time.monotonic()
    result = run(tmp_path, *(["--cron"] if cron else []))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, text(result)
    assert elapsed < 30, f"the run took {elapsed:.1f} s"
    assert status(tmp_path, "acme")["run"]["status"] == "completed"


def test_a_command_notifier_gets_the_message_in_its_environment(tmp_path):
    out = tmp_path / "notification.json"
    notifier = sh('printf "%s" "$UPGRADER_NOTIFICATION" > "$0"', str(out))
    failing_when_told(tmp_path / "srv", {"command": notifier, "when": "always"})
    root = tmp_path / "srv"
    result = run(root)
    assert result.returncode == 0, text(result)
    message = json.loads(out.read_text())
    assert set(message) == FIELDS, message
    assert message["outcome"] == "completed"
    assert message["run_id"] == status(root, "acme")["run"]["id"]
