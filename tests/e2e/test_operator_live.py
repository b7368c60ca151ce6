"""The live view on a terminal (DESIGN §1 ui) and ``status --watch``, under a real pseudo-terminal
(tmux): the checklist with a spinner on the running step, ✓ for the steps done, and the summary."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .operator_rig import SPINNER, UPGRADER, Tmux, add_project, gate_argv, status, step_line, wait_for

STEPS = ("down", "export", "upgrade", "up", "check")
SUMMARY = re.compile(r"completed: workflow gated in (\d+m\d{2}s|\d+(\.\d)?s)")


def gated_workflow(gate: Path) -> dict:
    """The vendor-scripts workflow whose ``upgrade`` step waits for ``gate/gate`` (a slow pull)."""
    def script(verb: str) -> list[str]:
        return ["{root}/server.sh", "-n", "{name}", verb]

    states = ["idle", "stopped", "exported", "upgraded", "started", "healthy"]
    runs = {"down": script("down"), "export": script("export"),
            "upgrade": gate_argv(gate, script("upgrade")), "up": script("up"), "check": script("check")}
    steps = []
    for index, name in enumerate(STEPS):
        step = {"name": name, "from": states[index], "to": states[index + 1], "action": "command",
                "run": runs[name], "timeout": 60}
        if name == "down":
            step["undo"] = {"run": script("up")}
        if name == "up":
            step["undo"] = {"run": script("down")}
        steps.append(step)
    return {"name": "gated", "initial": "idle", "final": "healthy", "on_failure": "rollback",
            "states": states, "steps": steps}


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    terminal = Tmux()
    try:
        yield terminal
    finally:
        terminal.close()


@pytest.fixture
def gate(vendor_root: Path) -> Path:
    folder = vendor_root / "gate"
    folder.mkdir()
    add_project(vendor_root, "spacetech", workflow=gated_workflow(folder))
    return folder


def spinning(screen: str, step: str) -> bool:
    try:
        line = step_line(screen, step)
    except AssertionError:
        return False
    return line.lstrip()[:1] in SPINNER


def mark(screen: str, step: str) -> str:
    return step_line(screen, step).split()[0]


def assert_final(screen: str) -> None:
    assert [mark(screen, step) for step in STEPS] == ["✓"] * len(STEPS), screen
    assert "completed" in screen, screen
    assert SUMMARY.search(screen), screen


def test_run_on_a_terminal_draws_the_checklist_live(vendor_root, gate, tmux):
    tmux.start("run", [str(UPGRADER), "--root", str(vendor_root), "run"], cwd=vendor_root)
    middle = tmux.wait_screen("run", lambda screen: spinning(screen, "upgrade"), "the upgrade step to spin")
    assert (gate / "started").exists()
    assert [mark(middle, step) for step in ("down", "export")] == ["✓", "✓"], middle
    assert [mark(middle, step) for step in ("up", "check")] == ["·", "·"], middle
    assert "running" in middle, middle
    assert not SUMMARY.search(middle), middle

    (gate / "gate").touch()
    final = tmux.wait_screen("run", lambda screen: "[exit " in screen, "the run to end")
    assert "[exit 0]" in final, final
    assert_final(final)
    assert status(vendor_root, "spacetech")["run"]["status"] == "completed"


def test_status_watch_follows_a_cron_run_and_ends_with_it(vendor_root, gate, tmux, tmp_path):
    output = open(tmp_path / "cron-run.out", "wb")  # noqa: SIM115 - closed below
    run = subprocess.Popen([str(UPGRADER), "--root", str(vendor_root), "run", "--cron"],
                           stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (gate / "started").exists() or run.poll() is not None, "the cron run to reach upgrade")
        assert run.poll() is None, (tmp_path / "cron-run.out").read_text()

        tmux.start("watch", [str(UPGRADER), "--root", str(vendor_root), "status", "--watch"], cwd=vendor_root)
        middle = tmux.wait_screen("watch", lambda screen: spinning(screen, "upgrade"),
                                  "status --watch to show the running step")
        assert [mark(middle, step) for step in ("down", "export")] == ["✓", "✓"], middle
        assert "running" in middle, middle
        assert "[exit " not in middle, "status --watch ended while the run worked:\n" + middle

        (gate / "gate").touch()
        final = tmux.wait_screen("watch", lambda screen: "[exit " in screen, "status --watch to end by itself")
        assert "[exit 0]" in final, final
        assert_final(final)
        assert run.wait(timeout=15) == 0
        assert (tmp_path / "cron-run.out").read_bytes() == b""
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        output.close()
