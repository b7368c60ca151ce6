"""The shipped vendor-scripts workflow drives a vendor's own control script, resumably."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from upgrader.workflow import resolve

from .conftest import status


def calls(root: Path) -> list[str]:
    return (root / "fake" / "spacetech" / "calls.log").read_text().split()


def fast_checks(root: Path) -> None:
    """The shipped workflow, with its retries 0.1 s apart instead of seconds."""
    document = yaml.safe_load(resolve("vendor-scripts", root).read_text())
    for step in document["steps"]:
        for retry in (step.get("retry"), (step.get("undo") or {}).get("retry")):
            if retry:
                retry.update(initial=0.1, max=0.1)
    (root / "fast.yaml").write_text(yaml.safe_dump(document))
    (root / "projects" / "spacetech" / "project.yaml").write_text(f"workflow: {root / 'fast.yaml'}\n")


def test_upgrade_through_the_vendor_script_polls_check_until_healthy(vendor_root, run_upgrader):
    fast_checks(vendor_root)
    result = run_upgrader("--root", str(vendor_root), "run", env={"FAKE_CHECK_AFTER": "3"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(vendor_root) == ["down", "export", "upgrade", "up", "check", "check", "check"]
    assert (vendor_root / "fake" / "spacetech" / "running").read_text() == "1.1.0\n"
    data = status(vendor_root, "spacetech")
    assert data["run"]["status"] == "completed"
    assert data["run"]["state"] == "healthy"
    check = next(step for step in data["run"]["steps"] if step["name"] == "check")
    assert check["attempts"] == 3
    journal = [json.loads(line) for line in
               (vendor_root / "state" / "spacetech" / "journal.jsonl").read_text().splitlines()]
    assert [e["detail"] for e in journal if e["event"] == "step_output" and e["step"] == "up"] == [
        "started 1.1.0"]


def test_a_failed_start_brings_the_server_back_up(vendor_root, run_upgrader):
    fast_checks(vendor_root)
    result = run_upgrader("--root", str(vendor_root), "run", env={"FAKE_FAIL": "up"})
    assert result.returncode == 1, result.stdout + result.stderr
    # up failed; its undo (down) runs first, export has no undo, then down's undo (up).
    assert calls(vendor_root) == ["down", "export", "upgrade", "up", "down", "up"]
    # The vendor's `up` starts what is exported: the new configuration, as the vendor intends.
    assert (vendor_root / "fake" / "spacetech" / "running").exists()
    data = status(vendor_root, "spacetech")
    assert data["run"]["status"] == "rolled_back"
    assert "step up failed" in data["run"]["error"]
    assert "up: something went wrong" in data["run"]["error"]


def test_a_script_that_prompts_fails_its_step_instead_of_hanging(vendor_root, run_upgrader):
    fast_checks(vendor_root)
    started = time.monotonic()
    result = run_upgrader("--root", str(vendor_root), "run", "--cron", env={"FAKE_PROMPT": "down"},
                          timeout=30)
    assert time.monotonic() - started < 20
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no answer on stdin" in result.stderr
    assert status(vendor_root, "spacetech")["run"]["status"] == "rolled_back"


def test_cron_run_is_silent_when_it_succeeds(vendor_root, run_upgrader):
    fast_checks(vendor_root)
    result = run_upgrader("--root", str(vendor_root), "run", "--cron")
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


def test_graph_of_classic_lists_its_states_in_order(tmp_path, run_upgrader):
    result = run_upgrader("--root", str(tmp_path), "graph", "--workflow", "classic")
    assert result.returncode == 0, result.stderr
    forward = [line.split("-->")[1].split(":")[0].strip() for line in result.stdout.splitlines()
               if "-->" in line and ": do_" in line]
    assert forward == ["downloaded", "verified", "extracted", "checked", "warmed", "stopped", "snapshotted", "exported",
                       "pulled", "started", "healthy"]
    dot = run_upgrader("--root", str(tmp_path), "graph", "--workflow", "classic", "--format", "dot")
    assert dot.returncode == 0 and "digraph classic" in dot.stdout


def test_a_release_workflow_without_a_feed_is_refused_before_it_runs(tmp_path, run_upgrader):
    project = tmp_path / "projects" / "acme"
    project.mkdir(parents=True)
    (project / "project.yaml").write_text("workflow: classic\n")
    result = run_upgrader("--root", str(tmp_path), "run")
    assert result.returncode == 2
    assert "at 'feed'" in result.stderr and "installs releases" in result.stderr
    assert not (tmp_path / "state" / "acme" / "run.json").exists()
