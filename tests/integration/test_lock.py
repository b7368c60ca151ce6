"""One run per project at a time: the project lock (DESIGN §1, §7; STYLE: fail fast, one line)."""

from __future__ import annotations

import time

from .support import EXIT_LOCKED, EXIT_OK, STEPS, Server, chain_workflow, counts, wait_for


def test_a_second_run_is_refused_at_once_or_waits_with_wait_lock(server: Server):
    project = server.add_project("app", chain_workflow())
    project.block("do", "backup")
    first = project.start("run")
    project.wait_blocked(first, "do", "backup")
    run_id = project.run_file()["run_id"]

    status = project.status()
    assert status["lock"] == first.pid
    assert status["interrupted"] is False
    assert status["run"]["status"] == "running"

    refused = project.cli("run")
    assert refused.returncode == EXIT_LOCKED, refused.output
    assert refused.seconds < 2.5, refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.output
    assert f"pid {first.pid}" in lines[0]
    assert run_id in lines[0]
    # The refused run changed nothing.
    assert project.run_file()["run_id"] == run_id
    assert project.run_file()["status"] == "running"
    project.assert_state_valid()

    began = time.monotonic()
    waiting = project.start("run", "--wait-lock", "30")
    # Still there well after a refusal would have come: it waits for the lock.
    wait_for(lambda: time.monotonic() - began > refused.seconds + 0.5, "the second run to wait")
    assert waiting.running(), waiting.output()
    assert first.running(), first.output()

    project.unblock("do", "backup")
    assert first.wait() == EXIT_OK, first.output()
    assert waiting.wait() == EXIT_OK, waiting.output()

    history = project.history_file()
    assert [entry["outcome"] for entry in history] == ["completed", "completed"]
    assert history[0]["id"] == run_id
    assert history[1]["id"] != run_id
    # ISO 8601 UTC timestamps of one format compare as strings.
    assert history[1]["started_at"] >= history[0]["finished_at"]
    assert counts(project.effects()) == {f"do:{step}": 2 for step in STEPS}
    assert project.status()["lock"] is None
    project.assert_state_valid()


def test_a_run_is_refused_naming_the_run_a_resume_carries_on(server: Server):
    project = server.add_project("app", chain_workflow())
    project.block("do", "backup")
    run_id = project.crash(project.start("run"), "do", "backup")
    project.unblock("do", "backup")
    project.block("do", "migrate")
    resume = project.start("resume")
    project.wait_blocked(resume, "do", "migrate")

    refused = project.cli("run")

    assert refused.returncode == EXIT_LOCKED, refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.output
    assert f"pid {resume.pid}" in lines[0]
    assert run_id in lines[0]
    project.unblock("do", "migrate")
    assert resume.wait() == EXIT_OK, resume.output()
    assert project.effects() == [f"do:{step}" for step in STEPS]
    project.assert_state_valid()


def test_two_projects_in_one_root_run_at_the_same_time(server: Server):
    projects = [server.add_project(name, chain_workflow()) for name in ("alpha", "beta")]
    for project in projects:
        project.block("do", "backup")
    runs = [project.start("run") for project in projects]
    # Both block in their step at once: neither waits for the other's lock.
    for project, started in zip(projects, runs, strict=True):
        project.wait_blocked(started, "do", "backup")
    for project, started in zip(projects, runs, strict=True):
        status = project.status()
        assert status["lock"] == started.pid
        assert status["run"]["status"] == "running"

    for project in projects:
        project.unblock("do", "backup")
    for project, started in zip(projects, runs, strict=True):
        assert started.wait() == EXIT_OK, started.output()
        assert project.effects() == [f"do:{step}" for step in STEPS]
        assert project.run_file()["status"] == "completed"
        project.assert_state_valid()
