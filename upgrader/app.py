"""One function per command (DESIGN §7). Each returns a ``Result``; the cli renders it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upgrader import engine
from upgrader.actions import REGISTRY
from upgrader.errors import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    RunBlockedError,
    StateError,
    UsageError,
)
from upgrader.project import Project, choose_name, load_project, project_names
from upgrader.store import ProjectStore
from upgrader.workflow import Workflow, load_workflow, parse_workflow, resolve

logger = logging.getLogger(__name__)

EXIT_BY_STATUS = {
    engine.COMPLETED: EXIT_OK,
    engine.ROLLED_BACK: EXIT_FAILED,
    engine.PAUSED: EXIT_ATTENTION,
    engine.FAILED: EXIT_ATTENTION,
}


@dataclass
class Result:
    """What a command did: data to render and the exit code (DESIGN §7)."""

    kind: str
    data: Any = None
    exit_code: int = EXIT_OK
    message: str = ""
    details: list[str] = field(default_factory=list)


@dataclass
class Options:
    """The global options and the run options of one invocation."""

    root: Path
    name: str | None = None
    cron: bool = False
    wait_lock: float = 0
    dry_run: bool = False
    reporter: engine.Reporter | None = None


def _open(options: Options) -> tuple[Project, ProjectStore]:
    name = choose_name(options.root, options.name)
    project = load_project(options.root, name)
    return project, ProjectStore(project.state_dir)


def _project_workflow(project: Project) -> Workflow:
    return load_workflow(resolve(project.workflow, project.dir), REGISTRY)


def _run_result(run: dict[str, Any]) -> Result:
    status = run["status"]
    return Result("run", run, EXIT_BY_STATUS.get(status, EXIT_OK), message=_summary(run))


def _summary(run: dict[str, Any]) -> str:
    versions = ""
    if run["to_version"]:
        versions = f" {run['from_version'] or '(nothing)'} → {run['to_version']}"
    text = f"run {run['run_id']}{versions}: {run['status'].replace('_', ' ')}"
    return text + (f": {run['error']}" if run.get("error") else "")


def _blocked_message(run: dict[str, Any], interrupted: bool) -> str:
    what = "was interrupted" if interrupted else {
        engine.PAUSED: "is paused",
        engine.FAILED: "failed to roll back",
        engine.ROLLING_BACK: "was interrupted while rolling back",
    }.get(run["status"], f"is {run['status']}")
    why = f" ({run['error']})" if run.get("error") else ""
    return (
        f"run {run['run_id']} {what} at state {run['state']!r}{why}: "
        "'upgrader resume' continues it, 'upgrader rollback' undoes it"
    )


def run(options: Options) -> Result:
    """Start a run of the project's workflow; under cron, carry on an unfinished one instead."""
    project, store = _open(options)
    workflow = _project_workflow(project)
    if project.config.get("feed"):
        # Release selection is the feed's work; until it exists a feed is refused, not ignored.
        raise UsageError(
            f"{project.dir / 'project.yaml'}: at 'feed': release feeds are not supported by this "
            "upgrader yet; remove 'feed' to run the workflow without a release"
        )
    if options.dry_run:
        return Result("plan", {"project": project.name, "workflow": workflow.name,
                               "steps": [step.name for step in workflow.steps]})
    run_id = engine.new_run_id()
    with store.lock(run_id, options.wait_lock):
        previous = store.read_run()
        if previous is not None and previous["status"] in engine.UNFINISHED:
            if options.cron:
                return _carry_on(project, store, previous, options, rollback=False)
            interrupted = previous["status"] in (engine.RUNNING, engine.ROLLING_BACK)
            raise RunBlockedError(_blocked_message(previous, interrupted))
        installed = store.read_installed()
        checkpoint = engine.new_run(
            project.name, workflow, run_id=run_id,
            from_version=installed["version"] if installed else None,
        )
        runner = engine.Runner(workflow, checkpoint, store, project, REGISTRY, options.reporter)
        runner.start()
        return _run_result(runner.run)


def _snapshot_workflow(store: ProjectStore, run: dict[str, Any]) -> Workflow:
    """The workflow ``run`` started with, as kept beside its checkpoint."""
    try:
        text = store.workflow_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(
            f"{store.workflow_path} is missing: the workflow run {run['run_id']} started with is "
            "gone, so the run cannot be carried on"
        ) from None
    workflow = parse_workflow(text, Path(run["workflow"].get("path", store.workflow_path)), REGISTRY)
    if workflow.sha256 != run["workflow"]["sha256"]:
        raise StateError(
            f"{store.workflow_path} does not match run {run['run_id']} (sha256 differs); "
            "upgrader will not carry the run on with other steps than it started with"
        )
    return workflow


def _carry_on(project: Project, store: ProjectStore, run: dict[str, Any], options: Options,
              *, rollback: bool) -> Result:
    workflow = _snapshot_workflow(store, run)
    runner = engine.Runner(workflow, run, store, project, REGISTRY, options.reporter)
    runner.journal("resumed", detail={"status": run["status"], "rollback": rollback})
    if rollback:
        runner.rollback()
    else:
        runner.drive()
    return _run_result(runner.run)


def resume(options: Options) -> Result:
    """Continue an interrupted or paused run (or an interrupted rollback) from its checkpoint."""
    project, store = _open(options)
    with store.lock(None, options.wait_lock):
        run = store.read_run()
        if run is None or run["status"] not in engine.UNFINISHED:
            message = "nothing to resume" + (
                f": run {run['run_id']} is {run['status'].replace('_', ' ')}" if run else ""
            )
            return Result("message", message=message, exit_code=EXIT_OK)
        return _carry_on(project, store, run, options, rollback=False)


def rollback(options: Options) -> Result:
    """Undo the current run, or the last completed one (back to the release that ran before)."""
    project, store = _open(options)
    with store.lock(None, options.wait_lock):
        run = store.read_run()
        if run is None:
            return Result("message", message="nothing to roll back: no run yet", exit_code=EXIT_OK)
        if run["status"] == engine.ROLLED_BACK:
            return Result("message", message=f"run {run['run_id']} is already rolled back")
        result = _carry_on(project, store, run, options, rollback=True)
        # DESIGN §7: rollback exits 0 once the previous release runs again.
        if run["status"] == engine.ROLLED_BACK:
            result.exit_code = EXIT_OK
        return result


def status(options: Options) -> Result:
    """The project's installed version, its current or last run, and who holds its lock."""
    project, store = _open(options)
    run = store.read_run()
    installed = store.read_installed()
    holder = store.lock_holder()
    interrupted = bool(run and run["status"] in (engine.RUNNING, engine.ROLLING_BACK) and not holder)
    data: dict[str, Any] = {
        "project": project.name,
        "installed": installed["version"] if installed else None,
        "run": None if run is None else {
            "id": run["run_id"],
            "state": run["state"],
            "status": run["status"],
            "from": run["from_version"],
            "to": run["to_version"],
            "error": run["error"],
            "started_at": run["started_at"],
            "updated_at": run["updated_at"],
            "workflow": run["workflow"]["name"],
            "steps": [
                {"name": step["name"], "status": step["status"], "attempts": step["attempts"]}
                for step in run["steps"]
            ],
        },
        "interrupted": interrupted,
        "lock": holder.get("pid") if holder else None,
        "quarantined": [],
    }
    return Result("status", data)


def history(options: Options, limit: int | None = None) -> Result:
    """The finished runs, newest first."""
    _, store = _open(options)
    entries = [
        {key: entry.get(key) for key in (
            "id", "from", "to", "outcome", "started_at", "finished_at", "downtime_seconds", "error")}
        for entry in reversed(store.read_history())
    ]
    return Result("history", entries[:limit] if limit else entries)


def graph(options: Options, fmt: str, workflow_file: Path | None = None) -> Result:
    """The project's workflow (or ``workflow_file``) drawn as Mermaid or DOT source."""
    if workflow_file is None:
        name = choose_name(options.root, options.name)
        project = load_project(options.root, name)
        workflow_file = resolve(project.workflow, project.dir)
    workflow = load_workflow(workflow_file)
    from transitions.extensions.diagrams import GraphMachine

    class Model:
        state: str

    model = Model()
    engine.build_machine(
        workflow, model, machine_class=GraphMachine,
        graph_engine="mermaid" if fmt == "mermaid" else "graphviz",
        title=workflow.name, show_state_attributes=False,
    )
    drawn = model.get_graph()  # type: ignore[attr-defined]
    source = drawn.draw(None) if fmt == "mermaid" else drawn.source
    return Result("text", source)


def projects(options: Options) -> Result:
    return Result("projects", project_names(options.root))
