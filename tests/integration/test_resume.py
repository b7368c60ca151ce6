"""A run killed with SIGKILL at any point carries on from its last checkpoint (DESIGN §6, §7)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from .support import (
    EXIT_ATTENTION,
    EXIT_OK,
    STATES,
    STEPS,
    Server,
    assert_process_gone,
    chain_workflow,
    counts,
)

EXIT_INTERRUPTED = 130  # a shell's code for SIGINT


def steps_by_name(status: dict) -> dict[str, dict]:
    return {step["name"]: step for step in status["run"]["steps"]}


# "before": killed in state STATES[index], the step's command started but had done nothing yet.
# "after": killed in the middle of the step, its side effect done but the command not finished.
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("index", range(len(STEPS)), ids=STEPS)
def test_a_run_killed_at_any_state_resumes_to_completion(server: Server, index: int, when: str):
    project = server.add_project("app", chain_workflow())
    killed = STEPS[index]
    project.block("do", killed, when)

    run_id = project.crash(project.start("run"), "do", killed)

    status = project.status()
    assert status["interrupted"] is True
    assert status["lock"] is None
    assert status["run"]["id"] == run_id
    assert status["run"]["status"] == "running"
    assert status["run"]["state"] == STATES[index]
    assert [steps_by_name(status)[step]["status"] for step in STEPS] == (
        ["done"] * index + ["running"] + ["pending"] * (len(STEPS) - index - 1))

    project.unblock("do", killed)
    result = project.cli("resume")
    assert result.returncode == EXIT_OK, result.output

    status = project.status()
    assert status["run"]["id"] == run_id
    assert status["run"]["status"] == "completed"
    assert status["run"]["state"] == STATES[-1]
    assert status["run"]["error"] is None
    assert status["interrupted"] is False
    # Steps before the kill ran once, the killed one again from its start, later ones once.
    expected = [f"do:{step}" for step in STEPS]
    if when == "after":
        expected.insert(index, f"do:{killed}")
    assert project.effects() == expected
    # The killed try counts: the retry budget is kept in the checkpoint, not in the process.
    assert {step: record["attempts"] for step, record in steps_by_name(status).items()} == {
        step: 2 if step == killed else 1 for step in STEPS}
    history = project.history_file()
    assert [(entry["id"], entry["outcome"]) for entry in history] == [(run_id, "completed")]
    events = [event["event"] for event in project.journal()]
    assert events.count("run_started") == 1
    assert events.count("resumed") == 1
    assert events[-1] == "completed"
    project.assert_state_valid()


def test_run_refuses_an_interrupted_run_and_cron_carries_it_on(server: Server):
    project = server.add_project("app", chain_workflow())
    project.block("do", "migrate")
    run_id = project.crash(project.start("run"), "do", "migrate")
    project.unblock("do", "migrate")

    refused = project.cli("run")
    assert refused.returncode == EXIT_ATTENTION, refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.output
    assert "upgrader resume" in lines[0]
    assert "upgrader rollback" in lines[0]
    assert run_id in lines[0]
    assert "Traceback" not in refused.stdout + refused.stderr
    # Refused means untouched: no new run, no step run again.
    assert project.run_file()["run_id"] == run_id
    assert project.run_file()["status"] == "running"
    assert project.effects() == ["do:stop", "do:backup"]
    project.assert_state_valid()

    carried = project.cli("run", "--cron")
    assert carried.returncode == EXIT_OK, carried.output
    status = project.status()
    assert status["run"]["id"] == run_id
    assert status["run"]["status"] == "completed"
    assert counts(project.effects()) == {f"do:{step}": 1 for step in STEPS}
    assert [entry["id"] for entry in project.history()] == [run_id]
    project.assert_state_valid()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_lets_the_step_finish_then_rolls_back(server: Server, signum: int):
    project = server.add_project("app", chain_workflow())
    project.block("do", "migrate", "after")
    started = project.start("run")
    project.wait_blocked(started, "do", "migrate")

    os.kill(started.pid, signum)
    time.sleep(0.5)
    assert started.running(), "the first signal stopped upgrader in the middle of a step"
    project.unblock("do", "migrate")

    assert started.wait() == 1, started.output()  # rolled back: the release that ran before runs
    assert signal.Signals(signum).name in started.stderr()
    assert project.effects() == ["do:stop", "do:backup", "do:migrate", "undo:migrate", "undo:stop"]
    run = project.run_file()
    assert (run["status"], run["error"]) == ("rolled_back", f"interrupted by {signal.Signals(signum).name}")
    project.assert_state_valid()


def test_a_second_ctrl_c_stops_the_step_s_command_and_leaves_a_resumable_run(server: Server):
    project = server.add_project("app", chain_workflow())
    project.block("do", "migrate", "after")
    started = project.start("run")
    child = project.wait_blocked(started, "do", "migrate")

    os.kill(started.pid, signal.SIGINT)
    time.sleep(0.3)
    os.kill(started.pid, signal.SIGINT)

    assert started.wait() == EXIT_INTERRUPTED, started.output()
    assert "'upgrader resume'" in started.stderr() and "stopped at once by SIGINT" in started.stderr()
    assert "Traceback" not in started.stderr()
    assert_process_gone(child, "the step's command")
    project.assert_state_valid()
    status = project.status()
    assert status["interrupted"] is True
    assert status["lock"] is None
    assert (status["run"]["status"], status["run"]["state"]) == ("running", STATES[2])

    project.unblock("do", "migrate")
    result = project.cli("resume")
    assert result.returncode == EXIT_OK, result.output
    assert project.effects() == ["do:stop", "do:backup", "do:migrate", "do:migrate", "do:start"]
    assert project.run_file()["status"] == "completed"
    project.assert_state_valid()
