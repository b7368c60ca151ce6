"""The integration tier's harness: server roots, the real ``upgrader`` command, real signals.

Every test gets a server root in ``tmp_path`` with projects whose workflows are ``command`` steps
running ``step.sh`` (beside this file). A step records its side effect as one line in
``<root>/work/<name>/effects`` and is steered by files there: ``block/VERB-STEP`` makes it wait
(it writes ``pids/`` and ``started/`` first), ``fail/VERB-STEP`` makes it exit 1. Tests start
``upgrader`` as a real process, SIGKILL it while a step blocks, and check what ``resume`` and
``rollback`` make of the state it left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from jsonschema import Draft202012Validator

from tests.rig import default_signals

UPGRADER = Path(sys.executable).with_name("upgrader")
STEP_SCRIPT = Path(__file__).resolve().with_name("step.sh")
REPOSITORY = Path(__file__).resolve().parents[2]
STATE_SCHEMAS = REPOSITORY / "state"
WORKFLOW_SCHEMA = REPOSITORY / "workflows" / "workflow.schema.json"

# DESIGN §7's exit codes.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ATTENTION, EXIT_LOCKED = 0, 1, 2, 3, 75

# The workflow most tests run: four command steps, of which stop, migrate and start have an undo.
STEPS = ("stop", "backup", "migrate", "start")
STATES = ("idle", "stopped", "backed_up", "migrated", "started")
UNDOABLE = ("stop", "migrate", "start")

# Hard deadlines (seconds) for things that take well under one second on an idle machine.
DEADLINE = 15.0
CHILD_GRACE = 2.0


def step_command(verb: str, step: str) -> list[str]:
    """The argv of ``step.sh`` doing ``verb`` (do or undo) for ``step`` in its project's work dir."""
    return ["sh", str(STEP_SCRIPT), "{root}/work/{name}", verb, step]


def chain_workflow(*, on_failure: str = "rollback",
                   overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The four-step workflow of ``STEPS``; ``overrides`` adds or replaces keys of named steps."""
    steps = []
    for index, name in enumerate(STEPS):
        step: dict[str, Any] = {
            "name": name, "from": STATES[index], "to": STATES[index + 1],
            "action": "command", "run": step_command("do", name),
        }
        if name in UNDOABLE:
            step["undo"] = {"run": step_command("undo", name)}
        step.update((overrides or {}).get(name, {}))
        steps.append(step)
    return {"name": "chain", "initial": STATES[0], "final": STATES[-1], "on_failure": on_failure,
            "states": list(STATES), "steps": steps}


def one_step_workflow(step: dict[str, Any], *, on_failure: str = "rollback") -> dict[str, Any]:
    """A workflow of one ``command`` step from ``idle`` to ``done``."""
    return {"name": "single", "initial": "idle", "final": "done", "on_failure": on_failure,
            "states": ["idle", "done"],
            "steps": [{"from": "idle", "to": "done", "action": "command", **step}]}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE,
             interval: float = 0.02) -> Any:
    """Poll ``condition`` until it is truthy and return its value; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def process_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs (gone, or a zombie that nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    # The state follows the command name in parentheses, which may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def assert_process_gone(pid: int, what: str) -> None:
    wait_for(lambda: process_gone(pid), f"{what} (pid {pid}) to be gone", timeout=CHILD_GRACE)


# -- the state files ----------------------------------------------------------------------------

_validators: dict[Path, Draft202012Validator] = {}


def _validator(path: Path) -> Draft202012Validator:
    if path not in _validators:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        _validators[path] = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _validators[path]


def _assert_valid(document: Any, schema: Path, where: str) -> None:
    errors = sorted(_validator(schema).iter_errors(document), key=lambda error: error.path)
    assert not errors, f"{where} does not match {schema.name}: " + "; ".join(
        f"at {'/'.join(map(str, error.path)) or '(top)'}: {error.message}" for error in errors)


def _jsonl(path: Path) -> list[Any]:
    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n"), f"{path}: the last line is torn (no newline)"
    entries = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except ValueError as error:
            raise AssertionError(f"{path}:{number} is not JSON: {error}: {line!r}") from None
    return entries


def assert_state_valid(root: Path, name: str) -> None:
    """Every state file of project ``name`` matches its schema in ``state/`` and is private.

    run.json, installed.json and quarantine.json (once written), each line of journal.jsonl and
    history.jsonl, and the kept workflow.yaml; every file in ``state/<name>/`` is mode 0600 and
    the folder 0700.
    """
    folder = root / "state" / name
    assert folder.is_dir(), f"{folder} is missing"
    for required in ("run.json", "journal.jsonl", "workflow.yaml"):
        assert (folder / required).exists(), f"{folder / required} is missing"
    # The documents: run.json always; installed.json and quarantine.json once written.
    for file_name, schema in (("run.json", "run.schema.json"),
                              ("installed.json", "installed.schema.json"),
                              ("quarantine.json", "quarantine.schema.json")):
        path = folder / file_name
        if path.exists():
            _assert_valid(json.loads(path.read_text(encoding="utf-8")), STATE_SCHEMAS / schema,
                          str(path))
    for file_name, schema in (("journal.jsonl", "journal.schema.json"),
                              ("history.jsonl", "history.schema.json")):
        path = folder / file_name
        if path.exists():
            for number, entry in enumerate(_jsonl(path), start=1):
                _assert_valid(entry, STATE_SCHEMAS / schema, f"{path}:{number}")
    workflow_path = folder / "workflow.yaml"
    _assert_valid(yaml.safe_load(workflow_path.read_text(encoding="utf-8")), WORKFLOW_SCHEMA,
                  str(workflow_path))
    modes = {entry.name: oct(entry.stat().st_mode & 0o777)
             for entry in folder.iterdir() if entry.is_file()}
    assert modes, f"{folder} holds no files"
    assert all(mode == oct(0o600) for mode in modes.values()), f"{folder}: modes {modes}"
    assert folder.stat().st_mode & 0o777 == 0o700, f"{folder}: mode {oct(folder.stat().st_mode)}"


# -- the command ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one ``upgrader`` invocation ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return (f"exit {self.returncode} after {self.seconds:.2f} s\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")


@dataclass
class Started:
    """An ``upgrader`` started in the background; its output goes to files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    streams: list[IO[bytes]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        def text(path: Path) -> str:
            return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return f"--- stdout\n{text(self.stdout_path)}--- stderr\n{text(self.stderr_path)}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait(self, timeout: float = DEADLINE) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"upgrader pid {self.pid} still runs after {timeout:g} s\n{self.output()}") from None

    def kill(self) -> None:
        """SIGKILL the process (a crash, a power cut) and reap it."""
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.running():
            self.kill()
        for stream in self.streams:
            stream.close()
        if self.process.stdin is not None:
            self.process.stdin.close()


class Server:
    """A server root in a tmp folder, and every process a test started there."""

    def __init__(self, root: Path, logs: Path) -> None:
        self.root = root
        self.logs = logs
        self.started: list[Started] = []
        self.projects: dict[str, Project] = {}

    def add_project(self, name: str, workflow: dict[str, Any]) -> Project:
        """``projects/<name>/project.yaml`` naming ``workflow``, written beside it, by absolute path."""
        folder = self.root / "projects" / name
        folder.mkdir(parents=True)
        workflow_path = folder / "workflow.yaml"
        workflow_path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
        (folder / "project.yaml").write_text(f"workflow: {workflow_path}\n", encoding="utf-8")
        project = Project(self, name)
        project.work.mkdir(parents=True)
        self.projects[name] = project
        return project

    def cleanup(self) -> None:
        """Kill what still runs: upgrader processes, and step scripts a broken test left behind."""
        for started in self.started:
            started.close()
        for project in self.projects.values():
            for pid_file in (project.work / "pids").glob("*"):
                pid = int(pid_file.read_text().strip() or 0)
                try:
                    alive = str(STEP_SCRIPT) in Path(f"/proc/{pid}/cmdline").read_text()
                except OSError:
                    continue
                if alive and not process_gone(pid):
                    os.kill(pid, signal.SIGKILL)


@dataclass
class Project:
    """One project of a ``Server``: the command run on it, and its step switches and effects."""

    server: Server
    name: str

    @property
    def root(self) -> Path:
        return self.server.root

    @property
    def work(self) -> Path:
        return self.root / "work" / self.name

    @property
    def state(self) -> Path:
        return self.root / "state" / self.name

    def argv(self, *args: str) -> list[str]:
        return [str(UPGRADER), "--root", str(self.root), "-n", self.name, *args]

    def cli(self, *args: str, timeout: float = DEADLINE) -> Outcome:
        """Run ``upgrader ARGS`` on this project to its end (stdin closed, as under cron)."""
        began = time.monotonic()
        try:
            result = subprocess.run(self.argv(*args), capture_output=True, text=True,
                                    stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"upgrader {' '.join(args)} still ran after {timeout:g} s:"
                                 f" {error.stdout!r} {error.stderr!r}") from None
        return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - began)

    def start(self, *args: str, stdin: int = subprocess.DEVNULL) -> Started:
        """Start ``upgrader ARGS`` on this project in the background."""
        number = len(self.server.started)
        stdout_path = self.server.logs / f"{number}-{self.name}.out"
        stderr_path = self.server.logs / f"{number}-{self.name}.err"
        stdout, stderr = open(stdout_path, "wb"), open(stderr_path, "wb")  # noqa: SIM115
        process = subprocess.Popen(self.argv(*args), stdin=stdin, stdout=stdout, stderr=stderr,
                                   preexec_fn=default_signals)
        started = Started(process, stdout_path, stderr_path, [stdout, stderr])
        self.server.started.append(started)
        return started

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--json")
        assert result.returncode == EXIT_OK, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def history(self) -> list[dict[str, Any]]:
        result = self.cli("history", "--json")
        assert result.returncode == EXIT_OK, result.output
        data: list[dict[str, Any]] = json.loads(result.stdout)
        return data

    def run_file(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "run.json").read_text(encoding="utf-8"))
        return data

    def journal(self) -> list[dict[str, Any]]:
        return _jsonl(self.state / "journal.jsonl")

    def history_file(self) -> list[dict[str, Any]]:
        path = self.state / "history.jsonl"
        return _jsonl(path) if path.exists() else []

    def assert_state_valid(self) -> None:
        assert_state_valid(self.root, self.name)

    # -- the steps' switches and side effects --------------------------------------------------

    def effects(self) -> list[str]:
        """The side effects the steps had, in order: ``do:STEP`` and ``undo:STEP`` lines."""
        path = self.work / "effects"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def _switch(self, kind: str, verb: str, step: str) -> Path:
        return self.work / kind / f"{verb}-{step}"

    def block(self, verb: str, step: str, when: str = "before") -> None:
        """Make ``verb`` of ``step`` block, ``before`` or ``after`` its side effect."""
        path = self._switch("block", verb, step)
        path.parent.mkdir(exist_ok=True)
        path.write_text(when)

    def unblock(self, verb: str, step: str) -> None:
        self._switch("block", verb, step).unlink()

    def fail(self, verb: str, step: str) -> None:
        path = self._switch("fail", verb, step)
        path.parent.mkdir(exist_ok=True)
        path.touch()

    def wait_blocked(self, started: Started, verb: str, step: str) -> int:
        """Wait until ``verb`` of ``step`` blocks under ``started``; the blocked script's pid."""
        signal_file = self._switch("started", verb, step)

        def blocked() -> bool:
            if not started.running():
                raise AssertionError(
                    f"upgrader ended (exit {started.process.returncode}) before {verb} {step} "
                    f"blocked\n{started.output()}")
            return signal_file.exists()

        wait_for(blocked, f"{verb} {step} to block")
        pid_file = self._switch("pids", verb, step)
        return int(wait_for(lambda: pid_file.read_text().strip(), f"{pid_file} to be written"))

    def crash(self, started: Started, verb: str, step: str) -> int:
        """SIGKILL ``started`` while ``verb`` of ``step`` blocks; check the step's script died too.

        Returns the run id the killed process left in run.json.
        """
        child = self.wait_blocked(started, verb, step)
        started.kill()
        assert started.process.returncode == -signal.SIGKILL, started.output()
        assert_process_gone(child, f"the blocked script of {verb} {step}")
        self.assert_state_valid()
        run_id: str = self.run_file()["run_id"]
        return run_id


def counts(lines: Iterable[str]) -> dict[str, int]:
    result: dict[str, int] = {}
    for line in lines:
        result[line] = result.get(line, 0) + 1
    return result
