"""Helpers of the unit tier: workflows written in a few lines, and actions that record.

Nothing here touches Docker, the network or the upgrader command: a workflow is parsed from YAML
text, a run lives in a ``tmp_path`` state folder, and the engine's ``Runner`` is given test
actions that append what they did to a list and fail when a test tells them to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from upgrader import engine
from upgrader.actions.base import Action, Context
from upgrader.project import Project
from upgrader.store import ProjectStore
from upgrader.workflow import Workflow, parse_workflow

# What a scripted call does: None succeeds, an exception is raised, a callable is called.
Behaviour = BaseException | Callable[[Context], None] | None


def linear_workflow_text(
    names: Sequence[str],
    *,
    undo: Iterable[str] = (),
    on_failure: str = "rollback",
    retry: Mapping[str, Mapping[str, Any]] | None = None,
    step_on_failure: Mapping[str, str] | None = None,
) -> str:
    """A workflow whose steps run one after the other from ``s0`` to ``s<len(names)>``.

    Step ``name`` runs action ``name``; a step in ``undo`` is undone by action ``undo_<name>``.
    """
    undo = set(undo)
    retry = retry or {}
    step_on_failure = step_on_failure or {}
    states = [f"s{index}" for index in range(len(names) + 1)]
    lines = [
        "name: test",
        "initial: s0",
        f"final: {states[-1]}",
        f"on_failure: {on_failure}",
        f"states: [{', '.join(states)}]",
        "steps:",
    ]
    for index, name in enumerate(names):
        fields = [f"name: {name}", f"from: s{index}", f"to: s{index + 1}", f"action: {name}"]
        if name in undo:
            fields.append(f"undo: undo_{name}")
        if name in retry:
            policy = ", ".join(f"{key}: {value}" for key, value in retry[name].items())
            fields.append(f"retry: {{{policy}}}")
        if name in step_on_failure:
            fields.append(f"on_failure: {step_on_failure[name]}")
        lines.append("  - {" + ", ".join(fields) + "}")
    return "\n".join(lines) + "\n"


def linear_workflow(names: Sequence[str], **options: Any) -> Workflow:
    return parse_workflow(linear_workflow_text(names, **options), Path("test.yaml"))


class Recorder:
    """Test actions that record each call as ``(kind, step)`` (kind ``do`` or ``undo``).

    ``script(key, ...)`` queues what the next calls of ``key`` do (``key`` is a step name, or
    ``undo_<step>``); once the queue is empty, a call succeeds unless ``always_fail`` says so.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._scripts: dict[str, list[Behaviour]] = {}
        self._always: dict[str, BaseException] = {}

    def script(self, key: str, *behaviours: Behaviour) -> None:
        self._scripts.setdefault(key, []).extend(behaviours)

    def always_fail(self, key: str, error: BaseException) -> None:
        self._always[key] = error

    def heal(self, key: str) -> None:
        """Make ``key`` succeed from now on."""
        self._scripts.pop(key, None)
        self._always.pop(key, None)

    def count(self, kind: str, step: str) -> int:
        return self.calls.count((kind, step))

    def of_kind(self, kind: str) -> list[str]:
        return [step for call_kind, step in self.calls if call_kind == kind]

    def action(self, key: str) -> Action:
        kind, step = ("undo", key[len("undo_"):]) if key.startswith("undo_") else ("do", key)

        def run(context: Context) -> None:
            assert context.step == step
            self.calls.append((kind, step))
            queue = self._scripts.get(key)
            behaviour = queue.pop(0) if queue else self._always.get(key)
            if isinstance(behaviour, BaseException):
                raise behaviour
            if behaviour is not None:
                behaviour(context)

        return run

    def actions(self, workflow: Workflow) -> dict[str, Action]:
        """An action for every action name ``workflow`` uses."""
        return {name: self.action(name) for name in workflow.actions()}


def make_runner(
    workflow: Workflow,
    project: Project,
    recorder: Recorder,
    *,
    run: dict[str, Any] | None = None,
    store: ProjectStore | None = None,
    sleeps: list[float] | None = None,
    **run_options: Any,
) -> engine.Runner:
    """A Runner over ``project``'s state folder; without ``run``, a new run of ``workflow``."""
    store = store or ProjectStore(project.state_dir)
    if run is None:
        run = engine.new_run(project.name, workflow, **run_options)
    sleep = sleeps.append if sleeps is not None else (lambda seconds: None)
    return engine.Runner(
        workflow, run, store, project, actions=recorder.actions(workflow), reporter=None,
        sleep=sleep,
    )


def resume_runner(workflow: Workflow, project: Project, recorder: Recorder) -> engine.Runner:
    """A Runner built afresh from the run.json on disk, as ``upgrader resume`` would build it."""
    store = ProjectStore(project.state_dir)
    run = store.read_run()
    assert run is not None, "no run.json to resume from"
    return make_runner(workflow, project, recorder, run=run, store=store)
