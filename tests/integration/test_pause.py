"""on_failure: pause keeps a failed run where it stopped until a person resumes it (DESIGN §5, §7)."""

from __future__ import annotations

from .support import EXIT_ATTENTION, EXIT_OK, STATES, STEPS, Server, chain_workflow


def test_a_paused_run_resumes_once_its_cause_is_fixed(server: Server):
    fixed = "{root}/work/{name}/fixed"
    project = server.add_project("app", chain_workflow(on_failure="pause", overrides={
        "migrate": {"env": {"REQUIRE": fixed},
                    "retry": {"attempts": 2, "wait": "fixed", "initial": 0.05, "max": 0.05}},
    }))

    paused = project.cli("run")

    assert paused.returncode == EXIT_ATTENTION, paused.output
    status = project.status()
    run_id = status["run"]["id"]
    assert status["run"]["status"] == "paused"
    assert status["run"]["state"] == STATES[2]
    assert status["interrupted"] is False
    assert status["lock"] is None
    assert "step migrate failed" in status["run"]["error"]
    assert f"{project.work / 'fixed'} is missing" in status["run"]["error"]
    migrate = next(step for step in status["run"]["steps"] if step["name"] == "migrate")
    assert (migrate["status"], migrate["attempts"]) == ("failed", 2)
    # Paused, not rolled back: nothing was undone.
    assert project.effects() == ["do:stop", "do:backup"]
    retries = [event for event in project.journal() if event["event"] == "step_retry"]
    assert [(event["step"], event["detail"]["wait"]) for event in retries] == [("migrate", 0.05)]
    project.assert_state_valid()

    (project.work / "fixed").touch()
    resumed = project.cli("resume")

    assert resumed.returncode == EXIT_OK, resumed.output
    status = project.status()
    assert status["run"]["id"] == run_id
    assert status["run"]["status"] == "completed"
    assert status["run"]["state"] == STATES[-1]
    assert status["run"]["error"] is None
    assert project.effects() == [f"do:{step}" for step in STEPS]
    history = project.history()
    assert [(entry["id"], entry["outcome"]) for entry in history] == [(run_id, "completed")]
    project.assert_state_valid()


def test_run_refuses_a_paused_run_in_one_line(server: Server):
    project = server.add_project("app", chain_workflow(on_failure="pause"))
    project.fail("do", "backup")
    assert project.cli("run").returncode == EXIT_ATTENTION
    run_id = project.run_file()["run_id"]

    refused = project.cli("run")

    assert refused.returncode == EXIT_ATTENTION, refused.output
    assert "paused" in refused.stderr
    assert "upgrader resume" in refused.stderr
    assert "upgrader rollback" in refused.stderr
    # One sentence, even though the step's error holds the last lines of its output.
    assert len(refused.stderr.strip().splitlines()) == 1, refused.output
    assert project.run_file()["run_id"] == run_id
    assert project.effects() == ["do:stop"]
    project.assert_state_valid()
