"""``action: command``: closed stdin, timeouts, output and placeholders (DESIGN §5)."""

from __future__ import annotations

import os
import subprocess
import time

from .support import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    Server,
    assert_process_gone,
    one_step_workflow,
    wait_for,
)


def test_a_prompting_command_fails_at_once_because_stdin_is_closed(server: Server):
    project = server.add_project("app", one_step_workflow({
        "name": "confirm",
        "run": ["sh", "-c", 'printf "Really upgrade? [y/N] "; read answer; test "$answer" = y'],
    }))
    # upgrader's own stdin stays open and silent: a command that read it would hang.
    began = time.monotonic()
    started = project.start("run", stdin=subprocess.PIPE)

    assert started.wait(timeout=10) == EXIT_FAILED, started.output()
    assert time.monotonic() - began < 5, started.output()
    error = project.run_file()["error"]
    assert "step confirm failed" in error
    assert "exited with status 1" in error
    assert "Really upgrade? [y/N]" in error
    project.assert_state_valid()


def test_a_timeout_fails_the_step_and_kills_the_command_s_process_group(server: Server):
    pid_file = server.root / "work" / "app" / "sleep.pid"
    project = server.add_project("app", one_step_workflow({
        "name": "migrate",
        # The sleep runs in the background: only a kill of the whole group reaches it.
        "run": ["sh", "-c", 'sleep 30 & echo "$!" > "$1"; echo "waiting for $!"; wait',
                "sh", "{root}/work/{name}/sleep.pid"],
        "timeout": 1,
    }))

    result = project.cli("run")

    assert result.returncode == EXIT_FAILED, result.output
    assert result.seconds < 5, result.output
    sleep_pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(),
                             "the sleep's pid"))
    assert_process_gone(sleep_pid, "the timed-out command's background sleep")
    status = project.status()
    assert status["run"]["status"] == "rolled_back"
    assert "timed out after 1 s" in status["run"]["error"]
    assert f"waiting for {sleep_pid}" in status["run"]["error"]
    project.assert_state_valid()


def test_a_failing_command_s_last_lines_are_its_error_and_every_line_is_journaled(server: Server):
    project = server.add_project("app", one_step_workflow({
        "name": "report",
        "run": ["sh", "-c", 'i=1; while [ "$i" -le 30 ]; do echo "line $i"; i=$((i + 1)); done; '
                            'exit 3'],
    }, on_failure="pause"))

    result = project.cli("run")

    assert result.returncode == EXIT_ATTENTION, result.output
    status = project.status()
    assert status["run"]["status"] == "paused"
    error = status["run"]["error"]
    assert "exited with status 3" in error
    error_lines = error.splitlines()
    assert error_lines[-3:] == ["line 28", "line 29", "line 30"]
    assert "line 1" not in error_lines  # the last lines, not the whole output
    output = [event for event in project.journal() if event["event"] == "step_output"]
    assert [event["detail"] for event in output] == [f"line {number}" for number in range(1, 31)]
    assert {(event["step"], event["state"], event["run_id"]) for event in output} == {
        ("report", "idle", status["run"]["id"])}
    project.assert_state_valid()


def test_env_values_and_placeholders_are_expanded(server: Server):
    project_dir = server.root / "projects" / "app"
    work = server.root / "work" / "app"
    show = 'printf "%s\\n" "$1" "$2" "$3" "$GREETING" "$WHERE" "$(pwd -P)" > "$4"'
    project = server.add_project("app", {
        "name": "placeholders", "initial": "idle", "final": "done",
        "states": ["idle", "shown", "done"],
        "steps": [
            {"name": "show", "from": "idle", "to": "shown", "action": "command",
             "run": ["sh", "-c", show, "sh", "{root}", "{name}", "{project}",
                     "{root}/work/{name}/default-cwd"],
             "env": {"GREETING": "hello {name}", "WHERE": "{project}/export"}},
            {"name": "show_cwd", "from": "shown", "to": "done", "action": "command",
             "run": ["sh", "-c", 'pwd -P > "$1"; echo "in $(pwd -P) as $USER_LABEL"',
                     "sh", "{root}/work/{name}/cwd"],
             "cwd": "{root}/work/{name}", "env": {"USER_LABEL": "{name}-{name}"}},
        ],
    })

    result = project.cli("run")

    assert result.returncode == EXIT_OK, result.output
    assert (work / "default-cwd").read_text().splitlines() == [
        str(server.root), "app", str(project_dir), "hello app", f"{project_dir}/export",
        os.path.realpath(project_dir),  # cwd defaults to {project}
    ]
    assert (work / "cwd").read_text().strip() == os.path.realpath(work)
    output = [event["detail"] for event in project.journal() if event["event"] == "step_output"]
    assert output == [f"in {os.path.realpath(work)} as app-app"]
    project.assert_state_valid()
