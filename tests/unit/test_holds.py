"""Holds (DESIGN §14): a quarantine entry whose reason is the operator's.

What the rollback of a completed run records (``app._after``), what ``hold`` and ``unhold`` do to
quarantine.json, how a hold steers the plan (the same way a quarantine does), and the ``held``
list that ``check`` and ``status`` show.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from unit_support import Recorder, linear_workflow, make_runner

from upgrader import app, engine, ui
from upgrader.commands import holds
from upgrader.errors import EXIT_USAGE, UsageError
from upgrader.plan import plan
from upgrader.project import Project
from upgrader.store import HELD_BY_OPERATOR, ProjectStore

RUN_ID = "20261127T120000Z-abc123"
FEED = [{"version": version, "archive": f"acme-{version}.tar.gz", "sha256": "a" * 64, "size": 1}
        for version in ("1.0.0", "1.1.0", "1.2.0")]


def a_run(project: Project, recorder: Recorder, *, to: str | None = "1.1.0") -> engine.Runner:
    """A runner of a two-step workflow from 1.0.0 to ``to``, with 1.0.0 installed."""
    store = ProjectStore(project.state_dir)
    store.write_installed({"version": "1.0.0", "release": None, "images": {}, "installed_at": "2026-11-27T12:00:00Z"})
    return make_runner(linear_workflow(["a", "b"], undo=["a"]), project, recorder, store=store,
                       run_id=RUN_ID, from_version="1.0.0", to_version=to)


def reasons(store: ProjectStore) -> dict[str, tuple[str | None, str | None]]:
    return {version: (entry["run_id"], entry["reason"]) for version, entry in store.read_quarantine().items()}


# -- the rollback of a completed run holds the version it left (app._after) -------------------


def test_the_rollback_of_a_completed_run_holds_the_version_it_left(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    runner = a_run(project, recorder)
    assert runner.start() == engine.COMPLETED
    app._after(project, store, runner.run)
    assert reasons(store) == {}

    # What app.rollback does with a completed run: mark it, roll it back, then _after.
    runner.run["data"]["rollback_of"] = "completed"
    assert runner.rollback() == engine.ROLLED_BACK
    app._after(project, store, runner.run)

    assert reasons(store) == {"1.1.0": (RUN_ID, HELD_BY_OPERATOR)}
    installed = store.read_installed()
    assert installed is not None and installed["version"] == "1.0.0"
    assert holds.held_notes(runner.run) == [
        "1.1.0 is held: unattended runs skip it until a newer release ('upgrader unhold 1.1.0' lifts the hold, "
        "'upgrader run --to 1.1.0' installs it again)"]


def test_an_interrupted_rollback_of_a_completed_run_holds_when_it_is_finished(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    """``resume`` (or a cron run) finishing the rollback also goes through ``_after``: the mark
    ``rollback_of`` is in the checkpoint, so the hold does not depend on which command ends it."""
    runner = a_run(project, recorder)
    runner.start()
    runner.run["data"]["rollback_of"] = "completed"
    runner.run["status"] = engine.ROLLING_BACK
    store.write_run(runner.run)
    app._after(project, store, runner.run)  # what a crash mid-rollback leaves: nothing yet
    assert reasons(store) == {}

    resumed = store.read_run()
    assert resumed is not None
    finishing = make_runner(linear_workflow(["a", "b"], undo=["a"]), project, recorder, run=resumed, store=store)
    assert finishing.rollback() == engine.ROLLED_BACK
    app._after(project, store, finishing.run)
    assert reasons(store) == {"1.1.0": (RUN_ID, HELD_BY_OPERATOR)}


def test_a_completed_run_that_had_paused_on_a_release_fault_is_held_not_quarantined(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    """``fault`` may linger from a pause that was resumed; the operator's rollback is what counts."""
    runner = a_run(project, recorder)
    runner.start()
    runner.run.update(fault="release")
    runner.run["data"]["rollback_of"] = "completed"
    runner.rollback()
    app._after(project, store, runner.run)
    assert reasons(store) == {"1.1.0": (RUN_ID, HELD_BY_OPERATOR)}


def test_a_run_that_failed_because_of_its_release_is_quarantined_as_before(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    runner = a_run(project, recorder)
    recorder.always_fail("b", engine_error("sha256 mismatch", release_fault=True))
    assert runner.start() == engine.ROLLED_BACK
    app._after(project, store, runner.run)
    run_id, reason = reasons(store)["1.1.0"]
    assert run_id == RUN_ID and reason is not None and "sha256 mismatch" in reason
    assert holds.held_notes(runner.run) == []


def test_a_run_that_failed_for_a_passing_reason_holds_nothing(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    runner = a_run(project, recorder)
    recorder.always_fail("b", engine_error("connection refused", release_fault=False))
    assert runner.start() == engine.ROLLED_BACK
    app._after(project, store, runner.run)
    assert reasons(store) == {}


def test_a_completed_install_releases_a_hold(project: Project, store: ProjectStore, recorder: Recorder) -> None:
    store.quarantine("1.1.0", None, HELD_BY_OPERATOR)
    store.quarantine("1.2.0", None, HELD_BY_OPERATOR)
    runner = a_run(project, recorder)
    runner.start()
    app._after(project, store, runner.run)
    assert reasons(store) == {"1.2.0": (None, HELD_BY_OPERATOR)}


def test_a_rolled_back_run_without_a_release_holds_nothing(
    project: Project, store: ProjectStore, recorder: Recorder,
) -> None:
    runner = a_run(project, recorder, to=None)  # a workflow run without a feed
    runner.start()
    runner.run["data"]["rollback_of"] = "completed"
    runner.rollback()
    app._after(project, store, runner.run)
    assert not store.quarantine_path.exists()
    assert holds.held_notes(runner.run) == []


def engine_error(message: str, *, release_fault: bool) -> Exception:
    from upgrader.errors import ActionError

    return ActionError(message, retryable=False, release_fault=release_fault)


# -- a hold steers the plan as a quarantine does ------------------------------------------------


def test_a_held_version_is_skipped_and_a_newer_release_passes_it(store: ProjectStore) -> None:
    store.quarantine("1.2.0", RUN_ID, HELD_BY_OPERATOR)
    held = store.read_quarantine()  # what decide() hands plan()
    assert plan(FEED[:3], "1.1.0", quarantined=held).up_to_date
    assert plan(FEED[:3], "1.0.0", quarantined=held).target == "1.1.0"
    newer = [*FEED, {**FEED[0], "version": "1.3.0"}]
    passing = plan(newer, "1.1.0", quarantined=held)
    assert (passing.target, passing.path, passing.quarantined) == ("1.3.0", ("1.3.0",), ("1.2.0",))


def test_to_installs_a_held_version(store: ProjectStore) -> None:
    store.quarantine("1.2.0", None, HELD_BY_OPERATOR)
    chosen = plan(FEED, "1.0.0", to="1.2.0", quarantined=store.read_quarantine())
    assert (chosen.target, chosen.path) == ("1.2.0", ("1.2.0",))


# -- hold and unhold ------------------------------------------------------------------------------


@pytest.fixture
def options(project: Project) -> app.Options:
    """A project on disk (the commands load project.yaml) with nothing installed."""
    project.dir.mkdir(parents=True)
    (project.dir / "project.yaml").write_text("workflow: upgrade\n", encoding="utf-8")
    return app.Options(root=project.root, name=project.name)


def test_hold_records_a_hold_by_hand(options: app.Options, store: ProjectStore) -> None:
    result = holds.hold(options, "1.2.0")
    assert result.exit_code == 0
    assert result.message == ("held 1.2.0: unattended runs skip it ('upgrader run --to 1.2.0' installs it anyway, "
                              "'upgrader unhold 1.2.0' lifts the hold)")
    assert result.details == []
    assert reasons(store) == {"1.2.0": (None, HELD_BY_OPERATOR)}
    assert not store.holder_path.exists(), "the lock was not released"


def test_hold_of_a_version_runs_skip_already_changes_nothing(options: app.Options, store: ProjectStore) -> None:
    store.quarantine("1.1.0", RUN_ID, "step verify failed: sha256 mismatch")
    holds.hold(options, "1.2.0")
    content = store.quarantine_path.read_bytes()

    again = holds.hold(options, "1.2.0")
    assert again.exit_code == 0
    assert again.message.startswith("1.2.0 is already held (pinned by the operator) since ")
    assert again.message.endswith(": nothing changed")
    failed = holds.hold(options, "1.1.0")
    assert failed.message.startswith(f"1.1.0 is already quarantined (failed run {RUN_ID}: step verify failed: "
                                     "sha256 mismatch) since ")
    assert store.quarantine_path.read_bytes() == content


@pytest.mark.parametrize(("installed", "where"), [
    ("1.2.0", "the installed version"), ("1.3.0", "older than the installed 1.3.0")])
def test_hold_of_a_version_runs_would_not_take_anyway_says_so(
    options: app.Options, store: ProjectStore, installed: str, where: str,
) -> None:
    """An operator who means apt-mark's hold (stay where you are) learns that this is not it."""
    store.write_installed({"version": installed, "release": None, "images": {}, "installed_at": "2026-11-27T12:00:00Z"})
    result = holds.hold(options, "1.2.0")
    assert result.details == [f"note: 1.2.0 is {where}; runs only move up, so the hold matters only after a "
                              "rollback below it — it does not stop upgrades to newer releases"]
    assert reasons(store) == {"1.2.0": (None, HELD_BY_OPERATOR)}


@pytest.mark.parametrize("command", [holds.hold, holds.unhold])
@pytest.mark.parametrize("text", ["1.2", "v1.2.0", "01.2.0", "1.2.0 ", "1.2.0\n", "", "1.2.0\n1.3.0", "x" * 200])
def test_a_version_that_is_not_exact_semver_is_refused_before_anything_is_touched(
    options: app.Options, store: ProjectStore, command: Any, text: str,
) -> None:
    with pytest.raises(UsageError) as raised:
        command(options, text)
    message = str(raised.value)
    assert raised.value.exit_code == EXIT_USAGE
    assert message.startswith(f"{command.__name__}: ") and "is not a semantic version" in message
    assert "\n" not in message
    assert not store.dir.exists(), "a refused version created the state folder (or its lock)"


def test_unhold_removes_a_hold_or_a_quarantine_and_says_which(options: app.Options, store: ProjectStore) -> None:
    store.quarantine("1.1.0", RUN_ID, "step verify failed: sha256 mismatch\nsome output")
    store.quarantine("1.2.0", RUN_ID, HELD_BY_OPERATOR)
    store.quarantine("1.3.0", None, HELD_BY_OPERATOR)

    messages = [holds.unhold(options, version).message for version in ("1.3.0", "1.2.0", "1.1.0")]
    assert messages == [
        "1.3.0 is no longer held (pinned by the operator): unattended runs may install it again",
        "1.2.0 is no longer held (rolled back by the operator): unattended runs may install it again",
        f"1.1.0 is no longer quarantined (failed run {RUN_ID}: step verify failed: sha256 mismatch): unattended "
        "runs may install it again",
    ]
    assert store.read_quarantine() == {}


def test_unhold_of_a_version_neither_held_nor_quarantined_is_no_error(
    options: app.Options, store: ProjectStore,
) -> None:
    result = holds.unhold(options, "1.2.0")
    assert (result.exit_code, result.message) == (0, "1.2.0 is neither held nor quarantined: nothing changed")
    assert not store.quarantine_path.exists()


# -- what check and status show ---------------------------------------------------------------------


def entry(run_id: str | None, reason: str | None, at: str = "2026-11-27T12:00:00.000Z") -> dict[str, Any]:
    return {"run_id": run_id, "reason": reason, "at": at}


def test_explain_says_why_each_version_is_skipped_lowest_first() -> None:
    versions = {
        "1.10.0": entry(None, HELD_BY_OPERATOR),
        "1.2.0": entry(RUN_ID, HELD_BY_OPERATOR),
        "1.1.0": entry(RUN_ID, "step extract failed: unsafe archive; last output:\nline 1\nline 2"),
        "1.0.1": entry("r0", None),
        "1.0.0": entry(None, None),
    }
    assert holds.explain(versions) == [
        {"version": "1.0.0", "by": "run", "reason": "failed run", "run_id": None,
         "since": "2026-11-27T12:00:00.000Z"},
        {"version": "1.0.1", "by": "run", "reason": "failed run r0", "run_id": "r0",
         "since": "2026-11-27T12:00:00.000Z"},
        {"version": "1.1.0", "by": "run", "reason": f"failed run {RUN_ID}: step extract failed: unsafe archive",
         "run_id": RUN_ID, "since": "2026-11-27T12:00:00.000Z"},
        {"version": "1.2.0", "by": "operator", "reason": "rolled back by the operator", "run_id": RUN_ID,
         "since": "2026-11-27T12:00:00.000Z"},
        {"version": "1.10.0", "by": "operator", "reason": "pinned by the operator", "run_id": None,
         "since": "2026-11-27T12:00:00.000Z"},
    ]


def test_explain_puts_a_key_that_is_no_version_last() -> None:
    versions = {"zz": entry(None, HELD_BY_OPERATOR), "2.0.0": entry(None, HELD_BY_OPERATOR)}
    assert [held["version"] for held in holds.explain(versions)] == ["2.0.0", "zz"]


def rendered(draw: Any, data: dict[str, Any]) -> list[str]:
    stream = io.StringIO()
    draw(Console(file=stream, width=200, highlight=False), data)
    return stream.getvalue().splitlines()


def test_check_and_status_text_say_held_or_quarantined(tmp_path: Path) -> None:
    held = holds.explain({"1.1.0": entry(RUN_ID, "step verify failed: sha256 mismatch"),
                          "1.2.0": entry(RUN_ID, HELD_BY_OPERATOR)})
    expected = [
        "skipped by unattended runs until a newer release ('run --to V' installs one, 'unhold V' lifts it):",
        f"  1.1.0: quarantined (failed run {RUN_ID}: step verify failed: sha256 mismatch) since 2026-11-27 12:00:00",
        "  1.2.0: held (rolled back by the operator) since 2026-11-27 12:00:00",
    ]
    check = {"project": "demo", "installed": "1.0.0", "up_to_date": True, "target": None, "path": [],
             "quarantined": ["1.1.0", "1.2.0"], "held": held}
    assert rendered(ui.print_check, check)[2:] == expected
    status = {"project": "demo", "installed": "1.0.0", "quarantined": ["1.1.0", "1.2.0"], "held": held,
              "run": None}
    assert rendered(ui.print_status, status)[1:] == [*expected, "no run yet"]
    assert "skipped" not in "\n".join(rendered(ui.print_check, {**check, "quarantined": [], "held": []}))
