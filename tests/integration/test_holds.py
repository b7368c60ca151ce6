"""Holds (DESIGN §14) through the real command, against a feed on 127.0.0.1: the rollback of a
completed run holds the version it left, so the next (cron) run does not reinstall it; ``hold V``
and ``unhold V`` pin by hand; ``check`` and ``status`` say why each version is skipped.

The workflow is the feed rig's download → verify → extract, so a completed run and its rollback
need no Docker (the rollback has no undo to run: installed.json goes back to the release before).
The same through the Docker workflow is the e2e tier's.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock
import pytest

from .feedrig import Rig, changes, snapshot
from .support import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, Outcome

NOT_SEMVER = "is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        world.configure()
        yield world


def publish(rig: Rig, *versions: str) -> None:
    for version in versions:
        rig.feed.add(version)
    rig.feed.publish()


def ok(outcome: Outcome) -> list[str]:
    """The lines of a command that succeeded without a word on stderr."""
    assert (outcome.returncode, outcome.stderr) == (EXIT_OK, ""), outcome.output
    return outcome.stdout.splitlines()


def entries(rig: Rig) -> dict[str, dict[str, Any]]:
    path = rig.state / "quarantine.json"
    return json.loads(path.read_text(encoding="utf-8"))["versions"] if path.exists() else {}


def status(rig: Rig) -> dict[str, Any]:
    data: dict[str, Any] = json.loads("\n".join(ok(rig.cli("status", "--json"))))
    return data


def install_then_roll_back(rig: Rig) -> str:
    """1.0.0 installed, upgraded to 1.1.0, and that completed run rolled back; its run id."""
    publish(rig, "1.0.0", "1.1.0")
    ok(rig.cli("run", "--to", "1.0.0"))
    ok(rig.cli("run"))
    assert rig.installed() == "1.1.0"
    run_id: str = rig.run_file()["run_id"]
    lines = ok(rig.cli("rollback"))
    assert rig.installed() == "1.0.0"
    assert rig.run_file()["status"] == "rolled_back"
    assert lines[-1] == ("1.1.0 is held: unattended runs skip it until a newer release ('upgrader unhold 1.1.0' "
                         "lifts the hold, 'upgrader run --to 1.1.0' installs it again)"), lines
    return run_id


# -- the rollback of a completed run holds ---------------------------------------------------------


def test_after_a_rollback_of_a_completed_run_check_and_cron_leave_the_release_alone(rig: Rig):
    run_id = install_then_roll_back(rig)

    held = entries(rig)
    assert {version: (entry["run_id"], entry["reason"]) for version, entry in held.items()} == {
        "1.1.0": (run_id, "operator")}
    plan = rig.check()
    assert (plan["installed"], plan["target"], plan["path"], plan["up_to_date"]) == ("1.0.0", None, [], True)
    assert plan["quarantined"] == ["1.1.0"]
    assert plan["held"] == [{"version": "1.1.0", "by": "operator", "reason": "rolled back by the operator",
                             "run_id": run_id, "since": held["1.1.0"]["at"]}]
    lines = ok(rig.cli("check"))
    assert any(line.startswith("  1.1.0: held (rolled back by the operator) since ") for line in lines), lines
    shown = status(rig)
    assert (shown["quarantined"], shown["held"]) == (plan["quarantined"], plan["held"])
    assert any(line.startswith("  1.1.0: held (rolled back by the operator)") for line in ok(rig.cli("status")))

    # Saturday's cron run: nothing to do, silent, the archive not fetched again.
    rig.server.clear()
    assert ok(rig.cli("run", "--cron")) == []
    assert [record.path for record in rig.server.requests()] == [rig.index_path]
    assert rig.installed() == "1.0.0"
    assert ok(rig.cli("run")) == ["acme is up to date (1.0.0)"]

    # A newer release passes the hold; the hold stays (it is 1.1.0's, not a block on what is above).
    publish(rig, "1.2.0")
    assert rig.check()["path"] == ["1.2.0"]
    ok(rig.cli("run"))
    assert rig.installed() == "1.2.0"
    assert list(entries(rig)) == ["1.1.0"]
    assert [(entry["from"], entry["to"], entry["outcome"]) for entry in rig.history()] == [
        ("1.0.0", "1.2.0", "completed"), ("1.0.0", "1.1.0", "rolled_back"), (None, "1.0.0", "completed")]


def test_run_to_installs_a_held_release_and_that_releases_the_hold(rig: Rig):
    install_then_roll_back(rig)

    ok(rig.cli("run", "--to", "1.1.0"))

    assert rig.installed() == "1.1.0"
    assert entries(rig) == {}
    assert (rig.check()["held"], status(rig)["held"]) == ([], [])


def test_the_rollback_of_a_run_that_failed_holds_nothing(rig: Rig):
    """A rollback that a failure began quarantines (or not) as before: here a passing reason."""
    publish(rig, "1.0.0", "1.1.0")
    ok(rig.cli("run", "--to", "1.0.0"))
    rig.feed.archive_path("1.1.0").unlink()  # the feed lost the archive: 404, not the release's fault

    failed = rig.cli("run")

    assert failed.returncode == EXIT_FAILED, failed.output
    assert rig.run_file()["status"] == "rolled_back"
    assert "held" not in failed.stdout
    assert entries(rig) == {}
    assert rig.check()["target"] == "1.1.0"


# -- hold and unhold ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["hold", "unhold"])
@pytest.mark.parametrize("text", ["1.2", "v1.2.0", "1.2.0-", "01.2.0", ""])
def test_a_version_that_is_not_exact_semver_is_refused_and_nothing_changes(rig: Rig, command: str, text: str):
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    ok(rig.cli("hold", "1.5.0"))
    before = snapshot(rig.tmp)

    refused = rig.cli(command, text)

    assert refused.returncode == EXIT_USAGE, refused.output
    assert refused.stdout == ""
    assert refused.stderr == f"upgrader: error: {command}: {text!r} {NOT_SEMVER}\n"
    assert changes(before, snapshot(rig.tmp)) == set()


def test_hold_keeps_runs_off_a_release_and_unhold_lets_them_take_it(rig: Rig):
    publish(rig, "1.0.0", "1.1.0", "1.2.0")
    ok(rig.cli("run", "--to", "1.0.0"))

    assert ok(rig.cli("hold", "1.2.0")) == [
        "held 1.2.0: unattended runs skip it ('upgrader run --to 1.2.0' installs it anyway, "
        "'upgrader unhold 1.2.0' lifts the hold)"]
    held = entries(rig)
    assert {version: (entry["run_id"], entry["reason"]) for version, entry in held.items()} == {
        "1.2.0": (None, "operator")}
    content = (rig.state / "quarantine.json").read_bytes()
    again = ok(rig.cli("hold", "1.2.0"))
    assert again == [f"1.2.0 is already held (pinned by the operator) since {held['1.2.0']['at']}: nothing changed"]
    assert (rig.state / "quarantine.json").read_bytes() == content

    plan = rig.check()
    assert (plan["target"], plan["path"], plan["quarantined"]) == ("1.1.0", ["1.1.0"], ["1.2.0"])
    assert plan["held"] == [{"version": "1.2.0", "by": "operator", "reason": "pinned by the operator",
                             "run_id": None, "since": held["1.2.0"]["at"]}]
    ok(rig.cli("run"))
    assert rig.installed() == "1.1.0", "the run took the held release"
    assert ok(rig.cli("run")) == ["acme is up to date (1.1.0)"]

    assert ok(rig.cli("unhold", "1.2.0")) == [
        "1.2.0 is no longer held (pinned by the operator): unattended runs may install it again"]
    assert entries(rig) == {}
    content = (rig.state / "quarantine.json").read_bytes()
    assert ok(rig.cli("unhold", "1.2.0")) == ["1.2.0 is neither held nor quarantined: nothing changed"]
    assert (rig.state / "quarantine.json").read_bytes() == content
    assert rig.check()["held"] == []
    ok(rig.cli("run"))
    assert rig.installed() == "1.2.0"


def test_check_tells_a_quarantined_release_from_a_held_one_and_unhold_lifts_either(rig: Rig):
    rig.feed.add("1.0.0")
    rig.feed.add("1.1.0", sha256="e" * 64)  # the index lies about its archive: the release's fault
    rig.feed.publish()
    assert rig.cli("run").returncode == EXIT_FAILED
    failed_run = rig.run_file()["run_id"]
    ok(rig.cli("hold", "1.3.0"))  # a release not even published yet

    plan = rig.check()
    assert plan["quarantined"] == ["1.1.0"], "check lists the quarantined releases of the feed"
    by = {entry["version"]: (entry["by"], entry["run_id"]) for entry in plan["held"]}
    assert by == {"1.1.0": ("run", failed_run), "1.3.0": ("operator", None)}
    assert plan["held"][0]["reason"].startswith(f"failed run {failed_run}: step download failed: ")
    lines = ok(rig.cli("check"))
    assert any(line.startswith(f"  1.1.0: quarantined (failed run {failed_run}: step download failed: ")
               for line in lines), lines
    assert any(line.startswith("  1.3.0: held (pinned by the operator) since ") for line in lines), lines

    held = ok(rig.cli("hold", "1.1.0"))
    assert held[0].startswith(f"1.1.0 is already quarantined (failed run {failed_run}: step download failed: ")
    assert held[0].endswith(": nothing changed")
    unheld = ok(rig.cli("unhold", "1.1.0"))
    assert unheld[0].startswith(f"1.1.0 is no longer quarantined (failed run {failed_run}: ")
    assert unheld[0].endswith("): unattended runs may install it again")
    assert list(entries(rig)) == ["1.3.0"]


def test_hold_and_unhold_take_the_project_lock(rig: Rig):
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    before = snapshot(rig.tmp)
    # Another upgrader, as far as the command can tell; released from a timer's thread.
    other = filelock.FileLock(rig.state / "lock", thread_local=False)
    other.acquire()
    try:
        for command in ("hold", "unhold"):
            refused = rig.cli(command, "1.2.0")
            assert refused.returncode == EXIT_LOCKED, refused.output
            assert refused.stderr.startswith("upgrader: error: project 'acme' is locked by ")
            assert refused.stderr.count("\n") == 1, refused.output
        assert changes(before, snapshot(rig.tmp)) == set()
        threading.Timer(0.5, other.release).start()
        ok(rig.cli("hold", "1.2.0", "--wait-lock", "20"))
    finally:
        if other.is_locked:
            other.release()
    assert list(entries(rig)) == ["1.2.0"]
