"""A pytest plugin that writes the reliability report (docs/reliability.md) from the session's
results: every case of tests/reliability and tests/corpus, counted and tabled, with the invariant
each family checks and the first line of every failure. Generated, never hand-written:

    pytest -p tests.reliability.report --reliability-report docs/reliability.md tests/reliability tests/corpus
"""

from __future__ import annotations

import datetime
import platform
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.harness import INVARIANT

# The families of cases, by test module: their title and the promise each case checks.
FAMILIES = {
    "test_faults": ("Fault injection on the real rig", INVARIANT),
    "test_concurrency": ("Concurrency", "one upgrade per project at a time: the others exit 75 with one line "
                         "naming the holder; projects of one root do not wait for or break each other; "
                         "then the invariant above for every project"),
    "test_secrets": ("Secrets and permissions", "the feed token is in no file under the root (but feed.token), no "
                     "output, no webhook payload, no container configuration, no cron line; state/ and logs/ "
                     "0700 with files 0600 even under umask 000; shell syntax anywhere is passed as text, no "
                     "canary is created; the cron line runs exactly upgrader on the root, whatever its path"),
    "test_inputs": ("Bad input corpus", "one line naming the file and what is wrong (exit 2 for the operator's "
                    "files, 1 for the feed's and the package's), no traceback, no token; nothing changes "
                    "(before a run: not even the state folder, but the project's lock file; a refused archive: "
                    "nothing extracted, nothing outside the root, no partial folder, the release quarantined)"),
    "test_state_files": ("State files damaged at every byte", "run.json / installed.json cut or spoiled: refused "
                         "in one line naming the file (exit 3), no state file changes; a torn last line of "
                         "journal/history tolerated (whole lines kept, the torn tail dropped at the next "
                         "append); damage a run would meet at its end is refused at its start"),
    "test_fuzz": ("Fuzzing the loaders (hypothesis)", "any input gives a valid result or upgrader's own "
                  "one-sentence error, never another exception, never a change to the file read"),
}


@dataclass
class Case:
    nodeid: str
    module: str
    name: str
    params: str
    doc: str
    outcome: str = "not run"
    seconds: float = 0.0
    failure: str = ""


@dataclass(eq=False)  # a plugin must be hashable
class Collector:
    path: Path
    began: float = field(default_factory=time.monotonic)
    cases: dict[str, Case] = field(default_factory=dict)
    selection: str = ""

    # -- pytest hooks ------------------------------------------------------------------------------

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            function = getattr(item, "function", None)
            doc = ((function.__doc__ or "").strip().split("\n\n")[0] if function else "").replace("\n", " ")
            callspec = getattr(item, "callspec", None)
            self.cases[item.nodeid] = Case(
                nodeid=item.nodeid, module=Path(str(item.fspath)).stem, name=item.originalname  # type: ignore[attr-defined]
                if hasattr(item, "originalname") else item.name,
                params=callspec.id if callspec else "", doc=" ".join(doc.split()))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = self.cases.get(report.nodeid)
        if case is None:
            return
        case.seconds += report.duration
        if report.when == "call" or report.outcome != "passed":
            if report.outcome == "failed":
                case.outcome = "failed" if report.when == "call" else "error"
                case.failure = _first_line(report)
            elif case.outcome not in ("failed", "error"):
                case.outcome = report.outcome
                if report.skipped and isinstance(report.longrepr, tuple):
                    case.failure = str(report.longrepr[2]).removeprefix("Skipped: ")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.selection = shlex.join(session.config.invocation_params.args)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(), encoding="utf-8")

    # -- the report --------------------------------------------------------------------------------

    def render(self) -> str:
        cases = [case for case in self.cases.values() if case.outcome != "not run"]
        run = [case for case in cases if case.outcome != "skipped"]
        passed = [case for case in run if case.outcome == "passed"]
        failed = [case for case in run if case.outcome in ("failed", "error")]
        skipped = [case for case in cases if case.outcome == "skipped"]
        minutes = (time.monotonic() - self.began) / 60
        lines = [
            "# Reliability report",
            "",
            "<!-- Generated by `make reliability` (tests/reliability/report.py); do not edit by hand. -->",
            "",
            f"Generated {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')} on "
            f"{platform.node()} ({platform.machine()}, Python {platform.python_version()}), "
            f"commit `{_commit()}`, Docker Engine {_docker_version()}; the run took {minutes:.1f} minutes.",
            "",
            f"**{len(cases)} cases: {len(run)} run, {len(passed)} passed, {len(failed)} failed, "
            f"{len(skipped)} skipped.**",
            "",
            f"Selection: `pytest {self.selection}`",
            "",
            "| family | run | passed | failed | skipped |",
            "|---|---:|---:|---:|---:|",
        ]
        for module, (title, _) in FAMILIES.items():
            family = [case for case in cases if case.module == module]
            if family:
                lines.append(f"| {title} | {sum(c.outcome != 'skipped' for c in family)} | "
                             f"{sum(c.outcome == 'passed' for c in family)} | "
                             f"{sum(c.outcome in ('failed', 'error') for c in family)} | "
                             f"{sum(c.outcome == 'skipped' for c in family)} |")
        if failed:
            lines += ["", "## Failures (each one a defect found, or a case that could not run)", ""]
            for case in failed:
                lines.append(f"- `{case.name}[{case.params}]`: {_cell(case.failure, 400)}")
        for module, (title, invariant) in FAMILIES.items():
            family = [case for case in cases if case.module == module]
            if not family:
                continue
            lines += ["", f"## {title}", "", f"Checked after every case: {invariant}.", "",
                      "| case | parameters | result | seconds |", "|---|---|---|---:|"]
            for case in family:
                mark = {"passed": "passed", "failed": "**FAILED**", "error": "**ERROR**"}.get(case.outcome,
                                                                                          case.outcome)
                lines.append(f"| {_cell(case.doc or case.name, 160)} | `{case.params or '-'}` | {mark} | "
                             f"{case.seconds:.1f} |")
        if skipped:
            lines += ["", "## Skipped", ""]
            lines += [f"- `{case.name}[{case.params}]`: {_cell(case.failure or 'skipped', 300)}" for case in skipped]
        return "\n".join(lines) + "\n"


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # An assertion that carries a command's output: its error line says more than its first line.
    telling = [line for line in lines if "upgrader: error:" in line or " failed: " in line
               or line.startswith(("AssertionError", "TypeError", "RecursionError"))]
    reasons = [line for line in telling if not line.startswith("AssertionError: exit ")]
    return (reasons or lines or [""])[0]


def _cell(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True, check=False).stdout.strip()
    return (found.stdout.strip() or "unknown") + (" + local changes" if dirty else "")


def _docker_version() -> str:
    found = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                           text=True, check=False)
    return found.stdout.strip() or "unknown"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reliability-report", metavar="PATH",
                     help="write the reliability report (Markdown) of this session to PATH")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--reliability-report")
    if path:
        config.pluginmanager.register(Collector(Path(path)), "reliability-report")
