"""Scheduled runs: this project's lines in the invoking user's crontab (DESIGN §7 install/remove).

Two lines per project, each ending with a tag naming the root and the project, so that
``install`` replaces them and ``remove`` removes exactly them:

    0 3 * * 6 env PATH=… /abs/upgrader --root /srv/acme -n spacetech run --cron # upgrader root=…
    @reboot env PATH=… /abs/upgrader --root /srv/acme -n spacetech resume --cron # upgrader root=…

Cron runs its lines with a bare environment, so the line carries the absolute path of this
``upgrader`` and the ``PATH`` and proxy settings the operator had at install time. Every word is
shell-quoted; ``%`` (a newline to cron) is escaped and line breaks are refused. The crontab is
edited as text through the ``crontab`` command: every other line stays byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from upgrader.errors import UsageError

DEFAULT_TIME = "0 3 * * 6"
CARRIED = ("PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
           "DOCKER_HOST")


@dataclass(frozen=True)
class Entry:
    schedule: str
    command: str

    @property
    def line(self) -> str:
        return f"{self.schedule} {self.command}"


def tag(root: Path, name: str) -> str:
    """The comment that marks this project's lines; the root is hashed, so no character of the
    path can break the comment (a ``#`` or ``%`` in a folder name)."""
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return f"# upgrader root={digest} project={name}"


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
    """The two lines ``install`` writes for a project (without their tag)."""
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


def _read() -> list[str]:
    try:
        import subprocess

        result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30,
                                stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise UsageError("the crontab command is not installed (apt-get install cron)") from None
    if result.returncode != 0:
        if "no crontab" in result.stderr:
            return []
        raise UsageError(f"cannot read the crontab: {result.stderr.strip()}")
    return result.stdout.splitlines()


def _write(lines: list[str]) -> None:
    text = "".join(f"{line}\n" for line in lines)
    import subprocess

    result = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, timeout=30,
                            check=False)
    if result.returncode != 0:
        raise UsageError(f"cannot write the crontab: {result.stderr.strip()}")


def _ours(line: str, marker: str) -> bool:
    return line.rstrip().endswith(marker)


def install(root: Path, name: str, schedule: str) -> list[Entry]:
    """Write (or replace) this project's lines in the user's crontab; returns them."""
    lines = entries(root, name, schedule)
    marker = tag(root, name)
    kept = [line for line in _read() if not _ours(line, marker)]
    _write([*kept, *(f"{entry.line} {marker}" for entry in lines)])
    return lines


def remove(root: Path, name: str) -> int:
    """Remove exactly this project's lines; how many there were."""
    marker = tag(root, name)
    current = _read()
    kept = [line for line in current if not _ours(line, marker)]
    if len(kept) != len(current):
        _write(kept)
    return len(current) - len(kept)


def installed(root: Path, name: str) -> list[str]:
    """This project's lines as they stand in the crontab (for doctor), without their tag."""
    marker = tag(root, name)
    return [line.rstrip()[: -len(marker)].rstrip() for line in _read() if _ours(line, marker)]


DAEMONS = frozenset({"cron", "crond"})  # Debian's and Ubuntu's cron; cronie's and busybox's crond


def daemon_pids(proc: Path = Path("/proc")) -> list[int] | None:
    """The pids of the cron daemons running on this machine (a process whose ``/proc/PID/comm``
    is ``cron`` or ``crond``), sorted; None when ``proc`` does not show every process (it cannot
    be read, or it is mounted with ``hidepid`` so that other users' processes — root's cron —
    are hidden: then nobody here can tell)."""
    try:
        (proc / "1" / "comm").read_text(encoding="utf-8")
        entries = list(proc.iterdir())
    except OSError:
        return None
    found = []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text(encoding="utf-8").strip()
        except OSError:
            continue  # it ended while we looked
        if name in DAEMONS:
            found.append(int(entry.name))
    return sorted(found)
