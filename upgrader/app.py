"""One function per command (DESIGN §7). Each returns a ``Result``; the cli renders it."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upgrader import actions, engine, signals, trust
from upgrader.commands import serving
from upgrader.decide import Target, decide
from upgrader.errors import (
    EXIT_ATTENTION,
    EXIT_FAILED,
    EXIT_OK,
    RunBlockedError,
    StateError,
    UpgraderError,
    UsageError,
)
from upgrader.plan import Plan
from upgrader.project import NAME, Project, choose_name, load_project, project_names
from upgrader.store import HELD_BY_OPERATOR, ProjectStore
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
    to: str | None = None
    allow_major: bool = False
    allow_yanked: bool = False
    package: Path | None = None
    restore_data: bool = False
    reporter: engine.Reporter | None = None


def _reporter(options: Options, store: ProjectStore) -> engine.Reporter:
    """The run's reporter, keeping progress.json current for ``status --watch``."""
    from upgrader.live import Recorder

    return Recorder(options.reporter or engine.NullReporter(), store.write_progress)


def _open(options: Options) -> tuple[Project, ProjectStore]:
    name = choose_name(options.root, options.name)
    project = load_project(options.root, name)
    # As root, nothing another user could have written may steer what runs (DESIGN §15): checked
    # before the state is even opened.
    trust.check_project(project)
    return project, ProjectStore(project.state_dir)


def _project_workflow(project: Project) -> Workflow:
    # The names alone: the action modules are imported when a run starts (see ``_runner``).
    return load_workflow(resolve(project.workflow, project.dir), actions.NAMES)


def _run_result(run: dict[str, Any]) -> Result:
    status = run["status"]
    return Result("run", run, EXIT_BY_STATUS.get(status, EXIT_OK), message=_summary(run))


def _summary(run: dict[str, Any]) -> str:
    versions = ""
    if run["to_version"]:
        versions = f" {run['from_version'] or '(nothing)'} → {run['to_version']}"
    text = f"run {run['run_id']}{versions}: {run['status'].replace('_', ' ')}"
    text += f": {run['error']}" if run.get("error") else ""
    if run["status"] == engine.ROLLED_BACK and run["from_version"] and "previous" not in run["data"]:
        text += f" (the server was never stopped: {run['from_version']} kept running)"
    return text


def _blocked_message(run: dict[str, Any], interrupted: bool) -> str:
    what = "was interrupted" if interrupted else {
        engine.PAUSED: "is paused",
        engine.FAILED: "failed to roll back",
        engine.ROLLING_BACK: "was interrupted while rolling back",
    }.get(run["status"], f"is {run['status']}")
    # One line: a command's output, which the error carries, stays for `status` to show.
    first = run["error"].splitlines()[0].removesuffix("; last output:") if run.get("error") else ""
    why = f" ({first})" if first else ""
    return (
        f"run {run['run_id']} {what} at state {run['state']!r}{why}: "
        "'upgrader resume' continues it, 'upgrader rollback' undoes it"
    )


def run(options: Options) -> Result:
    """Upgrade: install each release of the plan in turn, one full workflow run per hop.

    Under cron an unfinished earlier run is carried on instead; otherwise it blocks the run.
    """
    project, store = _open(options)
    workflow = _project_workflow(project)
    if options.dry_run:
        decided, targets = decide(project, store, options, workflow)
        return Result("plan", {
            "project": project.name, "workflow": workflow.name,
            "steps": [step.name for step in workflow.steps],
            "check": None if decided is None else _plan_data(project.name, decided, store),
        })
    jitter = float(project.config.get("jitter") or 0)
    if options.cron and jitter > 0:
        # A fleet started by the same cron line does not hit the feed at the same second.
        time.sleep(random.uniform(0, jitter))  # noqa: S311 - a delay, not a secret
    run_id = engine.new_run_id()
    with store.lock(run_id, options.wait_lock):
        previous = store.read_run()
        _preflight(store)
        if previous is not None and previous["status"] in engine.UNFINISHED:
            if options.cron:
                store.claim(previous["run_id"])
                return _carry_on(project, store, previous, options, rollback=False)
            interrupted = previous["status"] in (engine.RUNNING, engine.ROLLING_BACK)
            raise RunBlockedError(_blocked_message(previous, interrupted))
        decided, targets = decide(project, store, options, workflow, accept=True)
        notes = _plan_notes(decided)
        if not targets:
            installed = decided.installed if decided else None
            message = f"{project.name} is up to date ({installed or 'nothing installed'})"
            look = serving.look(project)
            if look.serving is False:
                # Said, not mended: starting a stack that someone stopped is for a person to decide.
                return Result("message", exit_code=EXIT_ATTENTION, details=notes,
                              message=f"{message}, but {look.summary()} — fix: {serving.fix(project)}")
            return Result("message", exit_code=EXIT_OK, details=notes, message=message)
        from upgrader.actions import preflight

        preflight.before_run(project, workflow)
        result = Result("message", exit_code=EXIT_FAILED,
                        message="interrupted before the run started: nothing was changed")
        with signals.protected():  # between two hops too: the first signal ends after this one
            for target in targets:
                if signals.requested() is not None:
                    break
                store.claim(run_id)
                result = _start(project, store, workflow, options, target, run_id)
                run_id = engine.new_run_id()
                if result.exit_code != EXIT_OK:
                    break
        result.details = notes
        return result


def _start(project: Project, store: ProjectStore, workflow: Workflow, options: Options,
           target: Target, run_id: str) -> Result:
    from upgrader.installed_version import current

    running = current(project, store.read_installed())
    checkpoint = engine.new_run(
        project.name, workflow, run_id=run_id, from_version=running.version,
        to_version=target.version, release=target.release,
    )
    if running.record() is not None:
        # For installed.json's 'previous' once the run completes: where the version before came from.
        checkpoint["data"]["installed_before"] = running.record()
    runner = _runner(workflow, checkpoint, store, project, options)
    with _marked(runner):
        runner.start()
    _after(project, store, runner.run)
    return _run_result(runner.run)


def _runner(workflow: Workflow, run: dict[str, Any], store: ProjectStore, project: Project,
            options: Options) -> engine.Runner:
    return engine.Runner(workflow, run, store, project, actions.REGISTRY, _reporter(options, store),
                         interrupted=_signal_requested)


def _signal_requested() -> str | None:
    requested = signals.requested()
    return None if requested is None else signals.name(requested)


@contextmanager
def _marked(runner: engine.Runner) -> Iterator[None]:
    """While ``runner`` works, the first signal is only recorded; a second one that stops the
    process at once carries the run, for the command line to say where it was left."""
    try:
        with signals.protected():
            yield
    except signals.Interrupted as interrupted:
        interrupted.run = runner.run
        raise


def _after(project: Project, store: ProjectStore, run: dict[str, Any]) -> None:
    """Quarantine a release that made its run fail, hold one whose completed run the operator
    rolled back (DESIGN §14), release one that installed; notify."""
    from upgrader import notify

    if run["status"] != engine.RUNNING and run["status"] != engine.ROLLING_BACK:
        problems = notify.send(project.config.get("notify"),
                               notify.message(run, engine.downtime(run["data"])))
        for problem in problems:
            logger.warning("%s", problem)
    version = run["to_version"]
    if not version:
        return
    # (A run from a version to itself, ``reconfigure``, fails or is undone by its configuration:
    # the installed release is never held or quarantined for it.)
    reconfigured = run["from_version"] == version
    if run["status"] == engine.ROLLED_BACK and run["data"].get("rollback_of") == "completed" and not reconfigured:
        # The operator took this release back after it ran: the next cron run must not reinstall it.
        store.quarantine(version, run["run_id"], HELD_BY_OPERATOR)
    elif run["status"] == engine.ROLLED_BACK and run.get("fault") == "release" and not reconfigured:
        store.quarantine(version, run["run_id"], run["error"])
    elif run["status"] == engine.COMPLETED:
        store.release_quarantine(version)
    if run["status"] == engine.COMPLETED and run["data"].get("snapshot"):
        from upgrader.commands.snapshots import retain

        for removed in retain(project, store):
            logger.info("removed snapshot %s (snapshot.keep)", removed)


def _plan_notes(decided: Plan | None) -> list[str]:
    if decided is None or decided.major_available is None:
        return []
    return [f"major upgrade {decided.major_available} is available; it may need manual steps — "
            "see its release notes (then run with --to and --allow-major)"]


def _plan_data(name: str, decided: Plan, store: ProjectStore) -> dict[str, Any]:
    from upgrader.commands.holds import explain

    return {
        "project": name,
        "installed": decided.installed,
        "target": decided.target,
        "path": list(decided.path),
        "major_available": decided.major_available,
        "quarantined": list(decided.quarantined),
        "held": explain(store.read_quarantine()),
        "up_to_date": decided.up_to_date,
        "held_back": [{"version": held.version, "why": held.why, "detail": held.detail} for held in decided.held_back],
        "rollout_bucket": decided.rollout_bucket,
    }


def check(options: Options) -> Result:
    """What ``run`` would do now (DESIGN §7 ``check --json``); changes nothing.

    It refuses what ``run`` would refuse (another product's index, a replayed or expired one) but
    records no serial: it holds no lock, and a check leaves the state as it found it."""
    project, store = _open(options)
    if not project.config.get("feed") and options.package is None:
        raise UsageError(f"{project.dir / 'project.yaml'}: no 'feed': there is nothing to check")
    decided, _ = decide(project, store, options)
    assert decided is not None  # noqa: S101 - a feed or a package always gives a plan
    data = _plan_data(project.name, decided, store)
    from upgrader.installed_version import current

    data["installed_from"] = current(project, store.read_installed()).source
    data["data_folders"] = _data_folders(project)
    from upgrader.commands.reconfigure import needed

    data["reconfigure_needed"] = needed(project)
    data["serving"] = serving.look(project).serving  # what runs now, beside what the record says
    from upgrader import policy
    from upgrader.decide import withdrawal, withdrawal_warning

    withdrawn = withdrawal(store)
    data["withdrawn"] = None if withdrawn is None else {"version": withdrawn[0], "reason": withdrawn[1]}
    data["warnings"] = [*([withdrawal_warning(withdrawn)] if withdrawn else []), *policy.check_warnings(project)]
    return Result("check", data, details=[*_plan_notes(decided), *(f"warning: {line}" for line in data["warnings"])])


def _data_folders(project: Project) -> list[str] | None:
    """The folders beside compose.yaml the installed release keeps as data (``./data``); None when
    Compose cannot tell (it is missing, or refuses the export)."""
    from upgrader import datadirs

    try:
        return [folder.rel for folder in datadirs.data_folders(project)]
    except UpgraderError as error:
        logger.warning("cannot tell the data folders: %s", error)
        return None


def _snapshot_workflow(store: ProjectStore, run: dict[str, Any]) -> Workflow:
    """The workflow ``run`` started with, as kept beside its checkpoint."""
    try:
        text = store.workflow_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(
            f"{store.workflow_path} is missing: the workflow run {run['run_id']} started with is "
            "gone, so the run cannot be carried on"
        ) from None
    workflow = parse_workflow(text, Path(run["workflow"].get("path", store.workflow_path)), actions.NAMES)
    if workflow.sha256 != run["workflow"]["sha256"]:
        raise StateError(
            f"{store.workflow_path} does not match run {run['run_id']} (sha256 differs); "
            "upgrader will not carry the run on with other steps than it started with"
        )
    return workflow


def _preflight(store: ProjectStore) -> None:
    """Read every state file a run writes at its end, so that a damaged one stops the run
    before it changes anything, not after the server was stopped."""
    store.read_installed()
    store.read_history()
    store.read_quarantine()


def _carry_on(project: Project, store: ProjectStore, run: dict[str, Any], options: Options,
              *, rollback: bool, notices: list[str] | None = None) -> Result:
    _preflight(store)
    workflow = _snapshot_workflow(store, run)
    runner = _runner(workflow, run, store, project, options)
    runner.journal("resumed", detail={"status": run["status"], "rollback": rollback})
    for notice in notices or []:
        runner.journal("notice", detail=notice)
    with _marked(runner):
        if rollback:
            runner.rollback()
        else:
            runner.drive()
    _after(project, store, runner.run)
    return _run_result(runner.run)


def resume(options: Options) -> Result:
    """Continue an interrupted or paused run (or an interrupted rollback) from its checkpoint."""
    project, store = _open(options)
    with store.lock(None, options.wait_lock):
        run = store.read_run()
        if run is not None:
            store.claim(run["run_id"])
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
        store.claim(run["run_id"])
        if run["status"] == engine.ROLLED_BACK:
            return Result("message", message=f"run {run['run_id']} is already rolled back")
        from upgrader.commands.holds import held_notes
        from upgrader.commands.snapshots import rollback_notices

        # Decided, and a snapshot that cannot be restored refused, before anything is undone.
        notices = rollback_notices(project, run, options.restore_data)
        if run["status"] == engine.COMPLETED:
            run["data"]["rollback_of"] = "completed"
        if options.restore_data:
            run["data"]["restore_data"] = True
        result = _carry_on(project, store, run, options, rollback=True, notices=notices)
        # DESIGN §7: rollback exits 0 once the previous release runs again.
        if run["status"] == engine.ROLLED_BACK:
            result.exit_code = EXIT_OK
            result.details += held_notes(run)
        return result


def status(options: Options) -> Result:
    """The project's installed version, its current or last run, and who holds its lock; with an
    invalid project.yaml, all that still, and ``config_error`` saying why it is invalid."""
    from upgrader.commands.degraded import open_despite_config
    from upgrader.commands.holds import explain

    project, store, config_error = open_despite_config(options.root, options.name)
    run = store.read_run()
    installed = store.read_installed()
    quarantine = store.read_quarantine()
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
            "snapshot": run["data"].get("snapshot"),
            "steps": [
                {"name": step["name"], "status": step["status"], "attempts": step["attempts"]}
                for step in run["steps"]
            ],
        },
        "interrupted": interrupted,
        "lock": holder.get("pid") if holder else None,
        "quarantined": sorted(quarantine),
        "held": explain(quarantine),
        "snapshot": run["data"].get("snapshot") if run else None,
        "config_error": config_error,
    }
    from upgrader.decide import withdrawal, withdrawal_warning

    withdrawn = withdrawal(store)  # as the last index read said: status reads no feed
    data["withdrawn"] = None if withdrawn is None else {"version": withdrawn[0], "reason": withdrawn[1]}
    data["warnings"] = [withdrawal_warning(withdrawn)] if withdrawn else []
    look = serving.look(project)
    data.update(look.as_json())
    if look.serving is False:
        data["serving_problem"] = look.summary()
    return Result("status", data)


def watch_source(options: Options) -> Callable[[], tuple[dict[str, Any] | None, dict[str, Any] | None,
                                                      str | None, bool]]:
    """What ``status --watch`` reads, again and again: (run, progress, latest note, active)."""
    from upgrader.ui import describe_event

    _, store = _open(options)

    def read() -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None, bool]:
        run = store.read_run()
        if run is None:
            return None, None, None, False
        active = run["status"] in (engine.RUNNING, engine.ROLLING_BACK) and store.lock_holder() is not None
        note = None
        for event in reversed(store.journal_tail()):
            if event.get("run_id") != run["run_id"]:
                break
            if event["event"] in ("step_started", "undo_started", "step_done", "undo_done"):
                break
            if event["event"] in ("step_retry", "step_failed", "undo_failed"):
                note = describe_event(event)
                break
        return run, store.read_progress() if active else None, note, active

    return read


def history(options: Options, limit: int | None = None) -> Result:
    """The finished runs, newest first."""
    _, store = _open(options)
    entries = [
        {key: entry.get(key) for key in (
            "id", "from", "to", "outcome", "started_at", "finished_at", "downtime_seconds", "error",
            "snapshot")}
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


def install(options: Options, cron_time: str) -> Result:
    """Schedule this project's unattended runs in the user's crontab (+ an @reboot resume)."""
    from upgrader import cron

    project, _ = _open(options)
    upcoming = cron.validate_time(cron_time)
    lines = cron.install(options.root, project.name, cron_time)
    return Result("install", {"project": project.name,
                              "lines": [entry.line for entry in lines],
                              "next": [moment.strftime("%Y-%m-%d %H:%M") for moment in upcoming]})


def remove(options: Options) -> Result:
    from upgrader import cron

    project, _ = _open(options)
    removed = cron.remove(options.root, project.name)
    return Result("message", message=f"removed {removed} cron line(s) of {project.name}")


def doctor(options: Options) -> Result:
    """Every precondition of an unattended upgrade; exit 1 when an error-level check fails."""
    from upgrader.doctor import examine, failed

    checks = examine(options.root, options.name)
    return Result("doctor", checks, EXIT_FAILED if failed(checks) else EXIT_OK)


def prune(options: Options, keep: int | None) -> Result:
    """Remove superseded releases, their downloads and images, never the running or previous one;
    and the data snapshots beyond ``snapshot.keep`` (see ``commands.snapshots.retain``).

    Projects of one root share ``releases/``: prune holds every other project's lock too, so none
    of them starts a run on a release while it is being removed.
    """
    from upgrader import pruning

    project, store = _open(options)
    with store.lock(None, options.wait_lock), ExitStack() as held:
        run = store.read_run()
        if run is not None and run["status"] in engine.UNFINISHED:
            raise RunBlockedError(_blocked_message(run, run["status"] in (engine.RUNNING, engine.ROLLING_BACK)))
        others = _other_stores(project)
        for other in others:
            held.enter_context(other.lock(None, options.wait_lock))
        keep_count = keep if keep is not None else int(project.config.get("keep_releases", 2))
        removed = pruning.prune(project, store.read_installed(), keep_count, _used_by(others))
        from upgrader.commands.snapshots import retain

        snapshots = retain(project, store)
    return Result("prune", removed + [f"snapshot {run_id}" for run_id in snapshots],
                  message=f"removed {len(removed)} release(s) and {len(snapshots)} snapshot(s)")


def _other_stores(project: Project) -> list[ProjectStore]:
    """The state folders of the root's other projects (also of projects whose folder is gone)."""
    folder = project.root / "state"
    return [ProjectStore(entry) for entry in sorted(folder.iterdir() if folder.is_dir() else [])
            if entry.name != project.name and NAME.match(entry.name) and entry.is_dir()]


def _used_by(stores: list[ProjectStore]) -> tuple[set[str], set[str]]:
    """The versions and images these projects use (see ``pruning.prune``). A state file that
    cannot be read stops the prune: what it protects is unknown."""
    from upgrader import pruning

    versions: set[str] = set()
    images: set[str] = set()
    for other in stores:
        installed = other.read_installed()
        versions |= pruning.versions_used(installed, other.read_run())
        for entry in (installed, (installed or {}).get("previous")):
            images |= set((entry or {}).get("images") or {})
    return versions, images


def projects(options: Options) -> Result:
    return Result("projects", project_names(options.root))
