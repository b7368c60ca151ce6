"""Scheduled runs: this project's lines in the invoking user's crontab (DESIGN §7 install/remove).

Two lines per project, each tagged with a comment naming the root and the project so that
``install`` replaces them and ``remove`` removes exactly them:

    0 3 * * 6 env PATH=… HTTPS_PROXY=… /abs/upgrader --root /srv/acme -n spacetech run --cron
    @reboot   env PATH=… /abs/upgrader --root /srv/acme -n spacetech resume --cron

Cron runs its lines with a bare environment, so the line carries the absolute path of this
``upgrader`` and the ``PATH`` and proxy settings the operator had at install time. Every word is
shell-quoted; ``%`` (a newline to cron) is escaped and line breaks are refused.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from upgrader.errors import UsageError

DEFAULT_TIME = "0 3 * * 6"
CARRIED = ("PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
           "DOCKER_HOST", "UPGRADER_ROOT")


@dataclass(frozen=True)
class Entry:
    schedule: str
    command: str


def tag(root: Path, name: str) -> str:
    return f"upgrader root={root} project={name}"


def validate_time(expression: str) -> list[datetime]:
    """The next three times of a five-field cron expression; ``UsageError`` when it is not one."""
    from croniter import croniter

    if "\n" in expression or len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise UsageError(f"--cron-time {expression!r}: not a cron expression of five fields "
                         "(minute hour day-of-month month day-of-week), e.g. '0 3 * * 6'")
    schedule = croniter(expression, datetime.now())
    return [schedule.get_next(datetime) for _ in range(3)]


def _word(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise UsageError(f"cannot put a line break into a cron line: {text!r}")
    # cron turns an unescaped % into a newline before the shell sees the line.
    return shlex.quote(text).replace("%", "\\%")


def command_line(root: Path, name: str, verb: str, upgrader: str,
                 environment: Mapping[str, str]) -> str:
    """The shell command of one cron line, every word quoted."""
    carried = [f"{key}={value}" for key in CARRIED if (value := environment.get(key))]
    words = ["env", *carried, upgrader, "--root", str(root), "-n", name, verb, "--cron"]
    return " ".join(_word(word) for word in words)


def entries(root: Path, name: str, schedule: str, upgrader: str | None = None,
            environment: Mapping[str, str] | None = None) -> list[Entry]:
    """The two lines ``install`` writes for a project."""
    program = upgrader or upgrader_path()
    env = os.environ if environment is None else environment
    return [
        Entry(schedule, command_line(root, name, "run", program, env)),
        Entry("@reboot", command_line(root, name, "resume", program, env)),
    ]


def upgrader_path() -> str:
    """The absolute path of the ``upgrader`` command this process runs as."""
    beside = Path(sys.executable).with_name("upgrader")
    if beside.is_file():
        return str(beside)
    argv0 = Path(sys.argv[0])
    if argv0.name == "upgrader" and argv0.exists():
        return str(argv0.absolute())
    raise UsageError("cannot find the absolute path of the upgrader command to put in the cron line")


def install(root: Path, name: str, schedule: str) -> list[Entry]:
    """Write (or replace) this project's lines in the user's crontab; returns them."""
    from crontab import CronTab

    lines = entries(root, name, schedule)
    table = _table(CronTab)
    table.remove_all(comment=tag(root, name))
    for entry in lines:
        job = table.new(command=entry.command, comment=tag(root, name))
        if entry.schedule == "@reboot":
            job.every_reboot()
        else:
            job.setall(entry.schedule)
    _write(table)
    return lines


def remove(root: Path, name: str) -> int:
    """Remove exactly this project's lines; how many there were."""
    from crontab import CronTab

    table = _table(CronTab)
    found = list(table.find_comment(tag(root, name)))
    if found:
        table.remove_all(comment=tag(root, name))
        _write(table)
    return len(found)


def installed(root: Path, name: str) -> list[str]:
    """This project's lines as they stand in the crontab (for doctor)."""
    from crontab import CronTab

    return [str(job) for job in _table(CronTab).find_comment(tag(root, name))]


def _table(cron_tab: type) -> Any:
    try:
        return cron_tab(user=True)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the crontab: {error} (is cron installed?)") from None


def _write(table: Any) -> None:
    try:
        table.write()
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot write the crontab: {error}") from None
