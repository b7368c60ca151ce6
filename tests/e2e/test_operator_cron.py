"""``upgrader install`` / ``remove`` on the real user crontab (DESIGN §7 and its cron paragraph).

Every test keeps the crontab as it found it and puts it back byte for byte. The lines written are
executed the way cron executes them (``%`` processing, ``/bin/sh -c``, a bare environment).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from croniter import croniter

from .operator_rig import (
    UPGRADER,
    add_project,
    chain,
    cron_command,
    crontab_text,
    preserved_crontab,
    run_like_cron,
    set_crontab,
    sh,
    split_cron_line,
    status,
    tagged_lines,
    text,
    upgrader,
)

PROXY = "http://127.0.0.1:3128"
# Records its argv (and the PATH it got) in the file named by $0: proves what upgrader ran with.
RECORD = 'printf "%s\\n" "$@" > "$0"; printf "PATH=%s\\n" "$PATH" >> "$0"'


@pytest.fixture
def user_crontab() -> Iterator[None]:
    with preserved_crontab():
        yield


def recording_project(root: Path, name: str, record: Path) -> None:
    add_project(root, name, workflow=chain("record", [("record", sh(RECORD, str(record), "{root}", "{name}"))]))


def words(line: str) -> list[str]:
    """The shell words of a crontab line's command, as /bin/sh will see them (comment dropped)."""
    _, command = split_cron_line(line)
    shell, _ = cron_command(command)
    return shlex.split(shell, comments=True)


def lines_of(content: str) -> list[str]:
    return [line for line in content.splitlines() if line.strip()]


def root_of(line: str) -> str:
    found = words(line)
    return found[found.index("--root") + 1]


def install(root: Path, name: str, *args: str, env: dict[str, str] | None = None):
    return upgrader("--root", str(root), "-n", name, "install", *args, env=env)


def test_install_writes_the_schedule_and_the_reboot_line_carrying_path_and_proxy(tmp_path, user_crontab):
    root = tmp_path / "srv"
    recording_project(root, "acme", tmp_path / "argv.txt")
    result = install(root, "acme", env={"HTTPS_PROXY": PROXY})
    assert result.returncode == 0, text(result)

    lines = tagged_lines(root, "acme")
    assert len(lines) == 2, crontab_text()
    schedule, reboot = (next(line for line in lines if not line.startswith("@reboot")),
                        next(line for line in lines if line.startswith("@reboot")))
    assert split_cron_line(schedule)[0].split() == ["0", "3", "*", "*", "6"]
    for line, verb in ((schedule, "run"), (reboot, "resume")):
        found = words(line)
        assert found[0] == "env", line
        program = found.index(str(UPGRADER))
        assert Path(found[program]).is_absolute()
        assert found[program + 1:] == ["--root", str(root), "-n", "acme", verb, "--cron"], line
        carried = found[1:program]
        assert f"PATH={os.environ['PATH']}" in carried, line
        assert f"HTTPS_PROXY={PROXY}" in carried, line

    # The next three run times, as croniter counts them from now.
    moments = croniter("0 3 * * 6", datetime.now())
    expected = ", ".join(moments.get_next(datetime).strftime("%Y-%m-%d %H:%M") for _ in range(3))
    assert f"next runs: {expected}" in result.stdout.decode(), text(result)


def test_install_twice_leaves_one_entry_and_a_new_time_replaces_it(tmp_path, user_crontab):
    root = tmp_path / "srv"
    recording_project(root, "acme", tmp_path / "argv.txt")
    assert install(root, "acme").returncode == 0
    first = tagged_lines(root, "acme")
    again = install(root, "acme")
    assert again.returncode == 0, text(again)
    assert tagged_lines(root, "acme") == first
    assert len(first) == 2

    daily = install(root, "acme", "--cron-time", "0 3 * * *")
    assert daily.returncode == 0, text(daily)
    lines = tagged_lines(root, "acme")
    assert len(lines) == 2, crontab_text()
    schedules = sorted(split_cron_line(line)[0] for line in lines)
    assert schedules == ["0 3 * * *", "@reboot"], lines
    assert "0 3 * * 6" not in crontab_text()


@pytest.mark.parametrize("expression", ["0 3 * *", "61 * * * *", "@daily\n* * * * * evil"])
def test_an_invalid_cron_time_is_refused_and_the_crontab_is_unchanged(tmp_path, user_crontab, expression):
    root = tmp_path / "srv"
    recording_project(root, "acme", tmp_path / "argv.txt")
    assert install(root, "acme").returncode == 0
    before = crontab_text()
    result = install(root, "acme", "--cron-time", expression)
    assert result.returncode == 2, text(result)
    assert b"cron" in result.stderr
    assert crontab_text() == before
    assert "evil" not in crontab_text()


def test_remove_takes_only_this_projects_two_lines(tmp_path, user_crontab):
    seed = ("MAILTO=ops@example.invalid\n"
            "30 2 * * * tar czf /var/backups/etc-$(date +\\%F).tgz /etc\n")
    set_crontab(seed)
    first, second = tmp_path / "srv-a", tmp_path / "srv-b"
    recording_project(first, "acme", tmp_path / "a.txt")
    recording_project(second, "acme", tmp_path / "b.txt")  # same name, another root: another entry
    assert install(second, "acme").returncode == 0
    before = crontab_text()
    assert install(first, "acme").returncode == 0
    assert len(tagged_lines(first, "acme")) == 2

    result = upgrader("--root", str(first), "-n", "acme", "remove")
    assert result.returncode == 0, text(result)
    assert b"removed 2 cron line(s)" in result.stdout
    # Every other line, in its order (blank lines aside: the strict test below holds those).
    assert lines_of(crontab_text()) == lines_of(before)
    assert tagged_lines(first, "acme") == []
    assert len(tagged_lines(second, "acme")) == 2
    for line in seed.splitlines():
        assert line in crontab_text().splitlines()


def test_install_and_remove_leave_the_operators_crontab_text_as_it_was(tmp_path, user_crontab):
    """The operator's own lines survive byte for byte: comments where they were, columns aligned
    as they aligned them (the Debian template's header among them)."""
    seed = ("# m h  dom mon dow   command\n"
            "MAILTO=ops@example.invalid\n"
            "0  4  *  *  1   /usr/local/bin/weekly-report   # aligned by hand\n"
            "30 2 * * * tar czf /var/backups/etc-$(date +\\%F).tgz /etc\n")
    set_crontab(seed)
    root = tmp_path / "srv"
    recording_project(root, "acme", tmp_path / "argv.txt")
    assert install(root, "acme").returncode == 0
    result = upgrader("--root", str(root), "-n", "acme", "remove")
    assert result.returncode == 0, text(result)
    assert crontab_text() == seed


def test_a_root_with_a_hash_sign_is_replaced_and_removed_cleanly(tmp_path, user_crontab):
    root = tmp_path / "srv #2"
    recording_project(root, "acme", tmp_path / "argv.txt")
    assert install(root, "acme").returncode == 0
    assert install(root, "acme").returncode == 0
    lines = tagged_lines(root, "acme")
    assert len(lines) == 2, crontab_text()
    assert all(root_of(line) == str(root) for line in lines), lines
    result = upgrader("--root", str(root), "-n", "acme", "remove")
    assert result.returncode == 0, text(result)
    assert str(root) not in crontab_text()


def test_the_cron_line_runs_under_crons_bare_environment(tmp_path, user_crontab):
    root = tmp_path / "srv"
    record = tmp_path / "argv.txt"
    recording_project(root, "acme", record)
    assert install(root, "acme").returncode == 0
    schedule = next(line for line in tagged_lines(root, "acme") if not line.startswith("@reboot"))

    result = run_like_cron(schedule, cwd=tmp_path)
    assert result.returncode == 0, text(result)
    assert (result.stdout, result.stderr) == (b"", b"")
    assert status(root, "acme")["run"]["status"] == "completed"
    assert record.read_text().splitlines() == [str(root), "acme", f"PATH={os.environ['PATH']}"]

    reboot = next(line for line in tagged_lines(root, "acme") if line.startswith("@reboot"))
    resumed = run_like_cron(reboot, cwd=tmp_path)
    assert resumed.returncode == 0, text(resumed)
    assert (resumed.stdout, resumed.stderr) == (b"", b"")


# Shell metacharacters a root path may hold; each would create a canary file if the shell ran it.
METACHARACTERS = "we ird 'q' \"dq\"; touch canary-semicolon; $(touch canary-dollar) `touch canary-tick` && x"


@pytest.mark.parametrize("folder", [METACHARACTERS, METACHARACTERS + " 100%x %s"],
                         ids=["quotes-semicolon-substitution", "and-percent-signs"])
def test_a_hostile_root_path_reaches_upgrader_intact_and_runs_nothing_else(tmp_path, user_crontab, folder):
    root = tmp_path / "srv" / folder
    record = tmp_path / "argv.txt"
    recording_project(root, "acme", record)
    result = install(root, "acme")
    assert result.returncode == 0, text(result)
    lines = tagged_lines(root, "acme")
    assert len(lines) == 2, crontab_text()

    workdir = tmp_path / "cwd"
    workdir.mkdir()
    for line in sorted(lines, key=lambda line: line.startswith("@reboot")):  # the run, then resume
        ran = run_like_cron(line, cwd=workdir)
        assert not [path for path in tmp_path.rglob("canary*")], "the root path was executed by the shell"
        assert ran.returncode == 0, text(ran) + "\nthe line: " + line
        assert (ran.stdout, ran.stderr) == (b"", b""), line
    assert list(workdir.iterdir()) == []
    assert record.read_text().splitlines()[:2] == [str(root), "acme"]
    assert status(root, "acme")["run"]["status"] == "completed"

    removed = upgrader("--root", str(root), "-n", "acme", "remove")
    assert removed.returncode == 0, text(removed)
    assert tagged_lines(root, "acme") == []


def test_a_root_with_a_line_break_is_refused(tmp_path, user_crontab):
    root = tmp_path / "srv\n* * * * * touch evil"
    recording_project(root, "acme", tmp_path / "argv.txt")
    before = crontab_text()
    result = install(root, "acme")
    assert result.returncode == 2, text(result)
    assert b"line break" in result.stderr
    assert crontab_text() == before
