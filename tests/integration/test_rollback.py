"""A failed step rolls the run back, newest step first; a killed rollback finishes (DESIGN §5-§7)."""

from __future__ import annotations

import pytest

from .support import (
    EXIT_FAILED,
    EXIT_OK,
    STATES,
    STEPS,
    UNDOABLE,
    Server,
    chain_workflow,
)


def undo_order(started: tuple[str, ...] | list[str]) -> list[str]:
    """The undo effects a rollback of ``started`` steps has: newest first, undoable ones only."""
    return [f"undo:{step}" for step in reversed(started) if step in UNDOABLE]


@pytest.mark.parametrize("failing", STEPS)
def test_a_failed_step_rolls_back_every_started_step_in_reverse(server: Server, failing: str):
    project = server.add_project("app", chain_workflow(on_failure="rollback"))
    project.fail("do", failing)

    result = project.cli("run")

    assert result.returncode == EXIT_FAILED, result.output
    index = STEPS.index(failing)
    started = STEPS[: index + 1]
    # The failed step is undone too: its undo must tolerate a step that did not happen.
    assert project.effects() == [f"do:{step}" for step in STEPS[:index]] + undo_order(started)
    status = project.status()
    assert status["run"]["status"] == "rolled_back"
    assert status["run"]["state"] == STATES[0]
    assert f"step {failing} failed" in status["run"]["error"]
    assert "failing as the test asked" in status["run"]["error"]
    assert status["interrupted"] is False
    assert [step["status"] for step in status["run"]["steps"]] == (
        ["rolled_back"] * len(started) + ["pending"] * (len(STEPS) - len(started)))
    journal = project.journal()
    assert [event["step"] for event in journal if event["event"] == "undo_done"] == [
        step for step in reversed(started) if step in UNDOABLE]
    assert journal[-1]["event"] == "rolled_back"
    assert [entry["outcome"] for entry in project.history_file()] == ["rolled_back"]
    project.assert_state_valid()


@pytest.mark.parametrize(("killed", "when"), [
    ("stop", "after"), ("backup", "before"), ("migrate", "after"), ("start", "before"),
])
def test_a_run_killed_at_any_state_rolls_back_on_request(server: Server, killed: str, when: str):
    project = server.add_project("app", chain_workflow())
    project.block("do", killed, when)
    run_id = project.crash(project.start("run"), "do", killed)
    project.unblock("do", killed)

    result = project.cli("rollback")

    assert result.returncode == EXIT_OK, result.output
    index = STEPS.index(killed)
    done = [f"do:{step}" for step in STEPS[:index]] + ([f"do:{killed}"] if when == "after" else [])
    # The killed step is undone too, whether or not its side effect had happened.
    assert project.effects() == done + undo_order(STEPS[: index + 1])
    run = project.run_file()
    assert (run["run_id"], run["status"], run["state"]) == (run_id, "rolled_back", STATES[0])
    assert [(entry["id"], entry["outcome"]) for entry in project.history_file()] == [
        (run_id, "rolled_back")]
    project.assert_state_valid()


# The start step fails, so the rollback undoes start, migrate and stop (backup has no undo);
# the run is killed while one of those undos blocks, before or after its side effect.
@pytest.mark.parametrize("command", ["resume", "rollback"])
@pytest.mark.parametrize(("blocked", "when"), [
    ("start", "after"), ("migrate", "before"), ("stop", "after"),
])
def test_a_rollback_killed_midway_finishes_and_undoes_nothing_twice(
    server: Server, command: str, blocked: str, when: str,
):
    project = server.add_project("app", chain_workflow(on_failure="rollback"))
    project.fail("do", "start")
    project.block("undo", blocked, when)

    run_id = project.crash(project.start("run"), "undo", blocked)

    status = project.status()
    assert status["interrupted"] is True
    assert status["lock"] is None
    assert status["run"]["status"] == "rolling_back"
    undos = undo_order(STEPS)
    done_before_kill = undos[: undos.index(f"undo:{blocked}") + (1 if when == "after" else 0)]
    assert project.effects() == ["do:stop", "do:backup", "do:migrate", *done_before_kill]

    project.unblock("undo", blocked)
    result = project.cli(command)

    # resume finishes the rollback the failure began: the upgrade failed (1); rollback was asked
    # for, and the release that ran before runs again (0).
    assert result.returncode == (EXIT_FAILED if command == "resume" else EXIT_OK), result.output
    status = project.status()
    assert status["run"]["id"] == run_id
    assert status["run"]["status"] == "rolled_back"
    assert status["run"]["state"] == STATES[0]
    assert status["interrupted"] is False
    # Every undo once, except the interrupted one, which ran again from its start.
    expected = ["do:stop", "do:backup", "do:migrate", *undos]
    if when == "after":
        expected.insert(expected.index(f"undo:{blocked}"), f"undo:{blocked}")
    assert project.effects() == expected
    assert [(entry["id"], entry["outcome"]) for entry in project.history_file()] == [
        (run_id, "rolled_back")]
    project.assert_state_valid()
