"""What ``--cron`` prints (DESIGN §1 ui, §7): nothing when nothing needs a person, the failure on
stderr when something does, and timestamped lines in ``logs/<name>.log`` either way."""

from __future__ import annotations

import re

from .operator_rig import FETCH_WORKFLOW, DiskFeed, add_project, status, text, upgrader

STAMPED = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} .")


def log_lines(root, name="spacetech") -> list[str]:
    return (root / "logs" / f"{name}.log").read_text().splitlines()


def test_a_successful_cron_run_prints_nothing_and_logs_timestamped_lines(vendor_root):
    result = upgrader("--root", str(vendor_root), "run", "--cron")
    assert result.returncode == 0, text(result)
    assert result.stdout == b""
    assert result.stderr == b""
    lines = log_lines(vendor_root)
    assert lines, "the cron run logged nothing"
    assert all(STAMPED.match(line) for line in lines), lines
    run_id = status(vendor_root, "spacetech")["run"]["id"]
    assert any(f"run {run_id} started" in line for line in lines), lines
    assert any("check done" in line for line in lines), lines
    assert "completed" in lines[-1], lines


def test_a_failing_cron_run_says_why_on_stderr_only(vendor_root):
    result = upgrader("--root", str(vendor_root), "run", "--cron", env={"FAKE_FAIL": "up"})
    assert result.returncode == 1, text(result)
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert stderr.strip(), "a failed cron run must tell the operator (cron mails stderr)"
    assert "step up failed" in stderr, stderr
    assert "up: something went wrong" in stderr, stderr
    assert "rolled back" in stderr, stderr
    assert status(vendor_root, "spacetech")["run"]["status"] == "rolled_back"
    lines = log_lines(vendor_root)
    assert STAMPED.match(lines[0]), lines
    assert any("up failed" in line for line in lines), lines


def test_every_log_line_of_a_failed_cron_run_is_timestamped(vendor_root):
    """A step's error carries the script's last output over several lines; in the log each of
    them is a line of its own with its time, so that the log reads (and greps) line by line."""
    result = upgrader("--root", str(vendor_root), "run", "--cron", env={"FAKE_FAIL": "up"})
    assert result.returncode == 1, text(result)
    lines = log_lines(vendor_root)
    assert any("up: something went wrong" in line for line in lines), lines
    unstamped = [line for line in lines if not STAMPED.match(line)]
    assert unstamped == [], f"log lines without a timestamp: {unstamped}"


def test_an_up_to_date_cron_run_is_silent(tmp_path):
    feed = DiskFeed(tmp_path / "feed")
    feed.publish("1.0.0")
    root = tmp_path / "srv"
    add_project(root, "acme", {"feed": feed.url}, workflow=FETCH_WORKFLOW)
    first = upgrader("--root", str(root), "-n", "acme", "run", "--cron")
    assert first.returncode == 0, text(first)
    assert (first.stdout, first.stderr) == (b"", b"")
    assert status(root, "acme")["installed"] == "1.0.0"

    again = upgrader("--root", str(root), "-n", "acme", "run", "--cron")
    assert again.returncode == 0, text(again)
    assert (again.stdout, again.stderr) == (b"", b"")
    # The same run at a prompt does say so.
    by_hand = upgrader("--root", str(root), "-n", "acme", "run")
    assert by_hand.returncode == 0, text(by_hand)
    assert b"up to date" in by_hand.stdout
