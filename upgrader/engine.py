"""The engine: drive a workflow run as a persisted state machine (DESIGN §1, §5, §6).

A run is a ``transitions`` machine built from the workflow: a trigger ``do_<step>`` per step from
its ``from`` to its ``to`` state, and ``undo_<step>`` back. For the current state the engine runs
the step's action under the step's ``tenacity`` retry policy, then fires the trigger; the
machine's ``after_state_change`` writes the checkpoint. On failure it pauses (the run stays
resumable) or rolls back: the ``undo`` of every completed step, newest first (a saga), each
journaled and checkpointed, so an interrupted rollback resumes where it stopped.

The engine knows nothing of Docker, HTTP or tar files: it runs actions by name.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import tenacity
    from transitions import Machine

from upgrader.actions.base import Action, Context
from upgrader.errors import ActionError, ConfigError, UpgraderError
from upgrader.project import Project
from upgrader.store import SCHEMA, ProjectStore, now
from upgrader.workflow import Retry, Step, Undo, Workflow

logger = logging.getLogger(__name__)

# The statuses of a run (DESIGN §6) and which of them a process may still work on.
RUNNING, PAUSED, ROLLING_BACK = "running", "paused", "rolling_back"
COMPLETED, ROLLED_BACK, FAILED = "completed", "rolled_back", "failed"
UNFINISHED = frozenset({RUNNING, PAUSED, ROLLING_BACK, FAILED})


class Reporter(Protocol):
    """Whoever shows a run to a person: every journal event, and progress that is not journaled."""

    def begin(self, run: Mapping[str, Any]) -> None: ...

    def event(self, entry: Mapping[str, Any]) -> None: ...

    def progress(self, step: str, detail: Mapping[str, Any]) -> None: ...


class NullReporter:
    def begin(self, run: Mapping[str, Any]) -> None:
        pass

    def event(self, entry: Mapping[str, Any]) -> None:
        pass

    def progress(self, step: str, detail: Mapping[str, Any]) -> None:
        pass


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def new_run(
    project: str,
    workflow: Workflow,
    *,
    run_id: str | None = None,
    from_version: str | None = None,
    to_version: str | None = None,
    release: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint of a run that has not started its first step."""
    started = now()
    return {
        "schema": SCHEMA,
        "run_id": run_id or new_run_id(),
        "project": project,
        "workflow": {"name": workflow.name, "sha256": workflow.sha256, "path": str(workflow.path)},
        "from_version": from_version,
        "to_version": to_version,
        "release": release,
        "state": workflow.initial,
        "status": RUNNING,
        "steps": [
            {"name": step.name, "status": "pending", "attempts": 0, "started_at": None,
             "finished_at": None, "error": None}
            for step in workflow.steps
        ],
        "data": {},
        "error": None,
        "fault": None,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": started,
        "updated_at": started,
        "finished_at": None,
    }


def retry_wait(policy: Retry, attempt: int) -> float:
    """Seconds to wait after failed try number ``attempt`` (1-based) before the next one."""
    if policy.wait == "fixed":
        return min(policy.initial, policy.max) if policy.max else policy.initial
    return float(min(policy.initial * 2 ** (attempt - 1), policy.max))


def _describe(error: BaseException) -> str:
    if isinstance(error, UpgraderError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _retryable(error: BaseException) -> bool:
    if isinstance(error, ActionError):
        return error.retryable
    return isinstance(error, OSError)


class _Model:
    """The object the ``transitions`` machine moves; its ``state`` is the run's state.

    The machine adds ``trigger`` (and the ``do_<step>``/``undo_<step>`` events) to it.
    """

    state: str
    trigger: Callable[[str], bool]


class Runner:
    """Drives one run of one workflow: forward, resume, rollback.

    ``run`` is the checkpoint (as ``new_run`` makes it, or as read back from ``run.json``); the
    caller holds the project's lock while a Runner works.
    """

    def __init__(
        self,
        workflow: Workflow,
        run: dict[str, Any],
        store: ProjectStore,
        project: Project,
        actions: Mapping[str, Action],
        reporter: Reporter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        interrupted: Callable[[], str | None] = lambda: None,
    ) -> None:
        missing = sorted(workflow.actions() - set(actions))
        if missing:
            raise ConfigError(
                f"{workflow.path}: unknown action(s) {', '.join(map(repr, missing))}; this upgrader "
                f"knows: {', '.join(sorted(actions))}"
            )
        if run["state"] not in workflow.states:
            raise ConfigError(
                f"{store.run_path}: state {run['state']!r} is not a state of workflow {workflow.name!r}"
            )
        self.workflow = workflow
        self.run = run
        self.store = store
        self.project = project
        self.actions = actions
        self.reporter = reporter or NullReporter()
        self.sleep = sleep
        self.interrupted = interrupted
        """The name of a signal that asked the run to end (``upgrader.signals``), or None."""
        self._finishing = False
        self.model = _Model()
        self.machine = build_machine(
            workflow, self.model, initial=run["state"], after_state_change=self._state_changed
        )
        self.reporter.begin(self.run)

    # -- bookkeeping --------------------------------------------------------------------------

    @property
    def status(self) -> str:
        status: str = self.run["status"]
        return status

    def _record(self, step: Step) -> dict[str, Any]:
        record: dict[str, Any] = next(r for r in self.run["steps"] if r["name"] == step.name)
        return record

    def _save(self) -> None:
        self.run["pid"] = os.getpid()
        self.store.write_run(self.run)

    def _state_changed(self, *_: Any) -> None:
        self.run["state"] = self.model.state
        self._save()

    def journal(self, event: str, step: str | None = None,
                 detail: str | dict[str, Any] | None = None) -> None:
        entry = self.store.append_journal(self.run["run_id"], event, self.model.state, step, detail)
        self.reporter.event(entry)

    def _context(self, step: Step, params: Mapping[str, Any]) -> Context:
        return Context(
            project=self.project,
            run=self.run,
            step=step.name,
            params=params,
            journal=lambda event, detail: self.journal(event, step.name, detail),
            checkpoint=self._save,
            progress=lambda detail: self.reporter.progress(step.name, detail),
        )

    def _attempt(self, step: Step, action: str, params: Mapping[str, Any], policy: Retry,
                 counter: str) -> None:
        """Run ``action`` under ``policy``; each try is counted in the checkpoint first."""
        import tenacity

        record = self._record(step)
        done = record.get(counter, 0)
        # A resumed run continues its retry budget; it always gets at least one more try.
        remaining = max(1, policy.attempts - done)

        def before(state: tenacity.RetryCallState) -> None:
            record[counter] = record.get(counter, 0) + 1
            self._save()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0
            self.journal("step_retry", step.name, {
                "attempt": record[counter], "of": done + remaining, "wait": wait,
                "error": _describe(error) if error else None, "undo": counter != "attempts",
            })

        def stop(state: tenacity.RetryCallState) -> bool:
            # Asked to end: no more tries forward (an undo always gets its whole budget).
            asked = counter == "attempts" and self.interrupted() is not None
            return state.attempt_number >= remaining or asked

        retrying = tenacity.Retrying(
            stop=stop,
            wait=lambda state: retry_wait(policy, done + state.attempt_number),
            retry=tenacity.retry_if_exception(_retryable),
            before=before,
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        retrying(self.actions[action], self._context(step, params))

    # -- driving ------------------------------------------------------------------------------

    def drive(self) -> str:
        """Carry the run on from its checkpoint, whatever its status; returns the final status."""
        if self.status in (RUNNING, PAUSED):
            return self.forward()
        if self.status in (ROLLING_BACK, FAILED):
            return self.rollback()
        return self.status

    def start(self) -> str:
        """Begin a new run: keep its workflow, journal its start, and drive it."""
        self.store.save_workflow(self.workflow.text)
        self._save()
        self.journal("run_started", detail={
            "workflow": self.workflow.name, "from": self.run["from_version"],
            "to": self.run["to_version"],
        })
        return self.forward()

    def forward(self) -> str:
        """Run steps from the current state to ``final``; pause or roll back on failure."""
        if self.status == PAUSED:
            # A person asked to go on: the failed step gets its whole retry budget again.
            step = self.workflow.step_from(self.model.state)
            if step is not None:
                self._record(step)["attempts"] = 0
        if self.status != RUNNING:
            self.run["status"] = RUNNING
            self.run["error"] = None
            self._save()
        while self.model.state != self.workflow.final:
            signal = self.interrupted()
            if signal is not None and self._undoable_ahead():
                return self._interrupted(signal)
            if signal is not None and not self._finishing:
                self._finishing = True
                self.journal("interrupted", detail={"signal": signal, "then": "finish"})
            step = self.workflow.step_from(self.model.state)
            assert step is not None  # noqa: S101 - the loader proved final is reachable
            record = self._record(step)
            record.update(status="running", started_at=record["started_at"] or now(), error=None)
            self._save()
            self.journal("step_started", step.name, {"action": step.action})
            try:
                self._attempt(step, step.action, step.params, step.retry, "attempts")
            except Exception as error:
                return self._step_failed(step, error)
            record.update(status="done", finished_at=now())
            self.journal("step_done", step.name, {"to": step.dest, "attempts": record["attempts"]})
            self.model.trigger(f"do_{step.name}")  # fires the checkpoint
        return self._finish(COMPLETED)

    def _undoable_ahead(self) -> bool:
        """Whether a step left between here and ``final`` has an undo: if none has (the health
        wait), an interrupted run is finished rather than rolled back."""
        state = self.model.state
        while state != self.workflow.final:
            step = self.workflow.step_from(state)
            if step is None:
                return False
            if step.undo is not None:
                return True
            state = step.dest
        return False

    def _interrupted(self, signal: str) -> str:
        """A signal asked the run to end between two steps: roll it back (not the release's fault)."""
        self.run["error"] = f"interrupted by {signal}"
        self.run["fault"] = None
        self.journal("interrupted", detail={"signal": signal, "then": "rollback"})
        self.run["status"] = ROLLING_BACK
        self._save()
        self.journal("rollback_started", detail=self.run["error"])
        return self.rollback()

    def _step_failed(self, step: Step, error: Exception) -> str:
        message = _describe(error)
        record = self._record(step)
        record.update(status="failed", error=message, finished_at=now())
        self.run["error"] = f"step {step.name} failed: {message}"
        self.run["fault"] = "release" if getattr(error, "release_fault", False) else None
        self.journal("step_failed", step.name, {"error": message, "attempts": record["attempts"]})
        if step.on_failure == "pause":
            self.run["status"] = PAUSED
            self._save()
            self.journal("paused", step.name, self.run["error"])
            return PAUSED
        self.run["status"] = ROLLING_BACK
        self._save()
        self.journal("rollback_started", step.name, self.run["error"])
        return self.rollback()

    def rollback(self) -> str:
        """Undo every step this run started, newest first, and end ``rolled_back`` or ``failed``.

        Resumable: the state walks back one step per undo, each checkpointed, so a rollback
        that is interrupted continues with the step it had not finished undoing.
        """
        if self.status in (RUNNING, PAUSED, COMPLETED, FAILED):
            self.run["finished_at"] = None
        if self.status in (RUNNING, PAUSED, COMPLETED):
            self.run["status"] = ROLLING_BACK
            self._save()
            self.journal("rollback_started", detail=self.run.get("error"))
        elif self.status == FAILED:
            self.run["status"] = ROLLING_BACK
            self._save()
            self.journal("rollback_resumed", detail=self.run.get("error"))
        while True:
            # First the step that was under way here (failed or interrupted): its undo must
            # tolerate a step that had not happened.
            step = self.workflow.step_from(self.model.state)
            if step is not None and self._record(step)["status"] in (
                "running", "failed", "undoing", "undo_failed"
            ):
                if not self._undo(step):
                    return FAILED
                self._save()
                continue
            step = self.workflow.step_to(self.model.state)
            if step is None:
                break
            if not self._undo(step):
                return FAILED
            self.model.trigger(f"undo_{step.name}")  # fires the checkpoint
        return self._finish(ROLLED_BACK)

    def _undo(self, step: Step) -> bool:
        """Run ``step``'s undo (if it has one); False when it failed and the run is ``failed``."""
        record = self._record(step)
        undo: Undo | None = step.undo
        if undo is not None:
            record["status"] = "undoing"
            self._save()
            self.journal("undo_started", step.name, {"action": undo.action})
            try:
                self._attempt(step, undo.action, undo.params, undo.retry, "undo_attempts")
            except Exception as error:
                message = _describe(error)
                record.update(status="undo_failed", error=message)
                self.run["status"] = FAILED
                self.run["error"] = f"rollback failed: step {step.name} could not be undone: {message}"
                self.journal("undo_failed", step.name, {"error": message})
                self._finish(FAILED)
                return False
            self.journal("undo_done", step.name, None)
        record["status"] = "rolled_back"
        return True

    def _finish(self, status: str) -> str:
        """End the run: installed.json and history first, the checkpoint last.

        A crash before the checkpoint leaves the run unfinished at its last state, and driving
        it again finishes it again; both earlier writes are safe to repeat.
        """
        self.run["finished_at"] = self.run.get("finished_at") or now()
        if status == COMPLETED:
            self.run["error"] = None
        self._update_installed(status)
        self._append_history(status)
        self.run["status"] = status
        self._save()
        self.journal(status, detail=self.run["error"])
        return status

    def _append_history(self, status: str) -> None:
        if any(entry["id"] == self.run["run_id"] and entry["outcome"] == status
               for entry in self.store.read_history()):
            return
        self.store.append_history({
            "id": self.run["run_id"],
            "workflow": self.workflow.name,
            "from": self.run["from_version"],
            "to": self.run["to_version"],
            "outcome": status,
            "started_at": self.run["started_at"],
            "finished_at": self.run["finished_at"],
            "downtime_seconds": downtime(self.run["data"]),
            "error": self.run["error"],
            "snapshot": self.run["data"].get("snapshot"),
        })

    def _update_installed(self, status: str) -> None:
        """installed.json changes only when a run completes or the rollback of a completed run ends."""
        installed = self.store.read_installed()
        if installed is not None and installed.get("run_id") == self.run["run_id"] and status == COMPLETED:
            return  # written already, by a process that crashed before its checkpoint
        if status == COMPLETED and self.run["to_version"]:
            if installed is not None:
                installed.pop("previous", None)
            elif self.run["data"].get("installed_before"):
                # Nothing recorded ran before, but something reported its version (installed_version).
                before = self.run["data"]["installed_before"]
                installed = {"schema": SCHEMA, "version": before["version"], "release": None, "images": {},
                             "installed_at": self.run["started_at"], "run_id": None,
                             "reported_by": before["reported_by"], "command": before.get("command") or []}
            self.store.write_installed({
                "version": self.run["to_version"],
                "release": self.run["release"],
                "images": self.run["data"].get("images", {}),
                "installed_at": now(),
                "run_id": self.run["run_id"],
                "previous": installed,
            })
        elif status == ROLLED_BACK and installed and installed.get("run_id") == self.run["run_id"]:
            # This run had completed and was rolled back: what ran before runs again.
            before = installed.get("previous")
            if before:
                self.store.write_installed(before)
            else:
                self.store.installed_path.unlink()


def downtime(data: Mapping[str, Any]) -> float | None:
    """Seconds between the ``downtime_started_at`` and ``downtime_ended_at`` actions recorded."""
    started, ended = data.get("downtime_started_at"), data.get("downtime_ended_at")
    if not started or not ended:
        return None
    seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    return round(max(seconds, 0.0), 3)


def build_machine(workflow: Workflow, model: Any, initial: str | None = None,
                  machine_class: type[Machine] | None = None, **options: Any) -> Machine:
    """The ``transitions`` machine of ``workflow``: ``do_<step>`` forward, ``undo_<step>`` back."""
    # Imported here: a cron run with nothing to do never builds a machine.
    from transitions import Machine

    factory = machine_class or Machine
    transitions: list[dict[str, Any]] = []
    for step in workflow.steps:
        transitions.append({"trigger": f"do_{step.name}", "source": step.source, "dest": step.dest})
        transitions.append({"trigger": f"undo_{step.name}", "source": step.dest, "dest": step.source})
    return factory(
        model=model,
        states=list(workflow.states),
        transitions=transitions,
        initial=initial or workflow.initial,
        auto_transitions=False,
        send_event=False,
        **options,
    )
