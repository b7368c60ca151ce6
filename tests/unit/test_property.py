"""Properties of the engine over random linear workflows, failures and crashes (hypothesis).

The actions record what they did into one list, so each property is a statement about that
record: what ran, how often, and in which order, whatever the workflow, the failing step or the
moment the process died.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit_support import Recorder, linear_workflow

from upgrader import engine
from upgrader.actions.base import Action, Context
from upgrader.errors import ActionError
from upgrader.project import Project
from upgrader.store import ProjectStore
from upgrader.workflow import Workflow

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Scenario:
    names: tuple[str, ...]
    undo: frozenset[str]
    on_failure: str
    failing: int | None = None
    """The index of the step whose action fails (every try), or None."""
    undo_failing: int | None = None
    """The index of a step whose undo fails (every try), or None."""

    def workflow(self) -> Workflow:
        return _workflow(self.names, self.undo, self.on_failure)

    def undo_order(self, started: int) -> list[str]:
        """The undos a rollback runs after steps 0..started-1 began: newest first."""
        return [name for name in reversed(self.names[:started]) if name in self.undo]


@functools.cache
def _workflow(names: tuple[str, ...], undo: frozenset[str], on_failure: str) -> Workflow:
    # Parsing YAML is most of an example's time; a Workflow is immutable, so share it.
    return linear_workflow(names, undo=undo, on_failure=on_failure)


@st.composite
def shapes(draw: st.DrawFn) -> Scenario:
    """A linear workflow of 2..8 steps, some with an undo, rolling back or pausing."""
    count = draw(st.integers(min_value=2, max_value=8))
    names = tuple(f"p{index}" for index in range(count))
    with_undo = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    undo = frozenset(name for name, has in zip(names, with_undo, strict=True) if has)
    on_failure = draw(st.sampled_from(["rollback", "pause"]))
    return Scenario(names, undo, on_failure)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A shape with no failure, a failing step, or a failing step and a failing undo."""
    shape = draw(shapes())
    failing = draw(st.none() | st.integers(min_value=0, max_value=len(shape.names) - 1))
    undo_failing: int | None = None
    if failing is not None and shape.on_failure == "rollback":
        undone = [i for i in range(failing + 1) if shape.names[i] in shape.undo]
        if undone:
            undo_failing = draw(st.none() | st.sampled_from(undone))
    return Scenario(shape.names, shape.undo, shape.on_failure, failing, undo_failing)


@contextmanager
def a_project() -> Iterator[Project]:
    # hypothesis runs many examples per test: each gets its own folder, not one tmp_path.
    with tempfile.TemporaryDirectory() as folder:
        yield Project(root=Path(folder), name="demo")


def runner_for(workflow: Workflow, project: Project, actions: dict[str, Action],
               store: ProjectStore | None = None, run: dict[str, Any] | None = None
               ) -> engine.Runner:
    store = store or ProjectStore(project.state_dir)
    run = run if run is not None else store.read_run()
    assert run is not None
    return engine.Runner(workflow, run, store, project, actions=actions, sleep=lambda s: None)


def persisted(project: Project) -> dict[str, Any]:
    run = ProjectStore(project.state_dir).read_run()  # validated against run.schema.json
    assert run is not None
    return run


def squeeze(items: Sequence[str]) -> list[str]:
    """``items`` with runs of equal neighbours reduced to one."""
    return [item for index, item in enumerate(items) if index == 0 or items[index - 1] != item]


# -- failures --------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_completed_rolled_back_or_paused_each_as_the_saga_says(scenario: Scenario) -> None:
    names = list(scenario.names)
    workflow = scenario.workflow()
    recorder = Recorder()
    if scenario.failing is not None:
        recorder.always_fail(names[scenario.failing], ActionError("step broke"))
    if scenario.undo_failing is not None:
        recorder.always_fail(f"undo_{names[scenario.undo_failing]}", ActionError("undo broke"))

    with a_project() as project:
        run = engine.new_run(project.name, workflow)
        status = runner_for(workflow, project, recorder.actions(workflow), run=run).start()
        run = persisted(project)
        assert run["status"] == status

        if scenario.failing is None:
            assert status == engine.COMPLETED
            assert recorder.of_kind("do") == names
            assert recorder.of_kind("undo") == []
            assert run["state"] == workflow.final
            return

        failing = scenario.failing
        assert recorder.of_kind("do") == names[: failing + 1]
        expected_undos = scenario.undo_order(failing + 1)

        if scenario.on_failure == "pause":
            assert status == engine.PAUSED
            assert run["state"] == workflow.steps[failing].source
            assert recorder.of_kind("undo") == []
            recorder.heal(names[failing])
            recorder.calls.clear()
            resumed = runner_for(workflow, project, recorder.actions(workflow))
            assert resumed.drive() == engine.COMPLETED
            assert recorder.of_kind("do") == names[failing:]  # only the failed step again
            assert recorder.of_kind("undo") == []
            assert persisted(project)["state"] == workflow.final
            return

        if scenario.undo_failing is None:
            assert status == engine.ROLLED_BACK
            assert recorder.of_kind("undo") == expected_undos
            assert run["state"] == workflow.initial
            assert [step["status"] for step in run["steps"]] == (
                ["rolled_back"] * (failing + 1) + ["pending"] * (len(names) - failing - 1)
            )
            return

        # An undo failed: the rollback stops there, and a later drive finishes it.
        broken = names[scenario.undo_failing]
        assert status == engine.FAILED
        assert recorder.of_kind("undo") == expected_undos[: expected_undos.index(broken) + 1]
        assert run["error"].startswith(f"rollback failed: step {broken} could not be undone: ")
        recorder.heal(f"undo_{broken}")
        recorder.calls.clear()
        resumed = runner_for(workflow, project, recorder.actions(workflow))
        assert resumed.drive() == engine.ROLLED_BACK
        assert recorder.of_kind("undo") == expected_undos[expected_undos.index(broken):]
        assert recorder.of_kind("do") == []
        assert persisted(project)["state"] == workflow.initial


# -- crashes ---------------------------------------------------------------------------------


class Crash:
    """Counts the points where a process could die and raises KeyboardInterrupt at one of them."""

    def __init__(self, at: int | None) -> None:
        self.at = at
        self.points = 0

    def point(self) -> None:
        self.points += 1
        if self.at is not None and self.points - 1 == self.at:
            raise KeyboardInterrupt


class CrashingStore(ProjectStore):
    """A store whose process may die as it is about to write a checkpoint or a line."""

    def __init__(self, state_dir: Path, crash: Crash) -> None:
        super().__init__(state_dir)
        self.crash = crash

    def write_run(self, run: dict[str, Any]) -> None:
        self.crash.point()
        super().write_run(run)

    def append_journal(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.crash.point()
        return super().append_journal(*args, **kwargs)

    def append_history(self, entry: dict[str, Any]) -> None:
        self.crash.point()
        super().append_history(entry)


def crashing_actions(workflow: Workflow, recorder: Recorder, crash: Crash) -> dict[str, Action]:
    """The recorder's actions, each of which may die halfway through (after it was recorded)."""

    def wrap(action: Action) -> Action:
        def run(context: Context) -> None:
            action(context)
            crash.point()

        return run

    return {name: wrap(action) for name, action in recorder.actions(workflow).items()}


def run_with_crash(scenario: Scenario, project: Project, recorder: Recorder,
                   crash: Crash) -> dict[str, Any] | None:
    """Drive a new run with ``crash``; the run.json it left when it died, or None if it did not."""
    workflow = scenario.workflow()
    plain = ProjectStore(project.state_dir)
    run = engine.new_run(project.name, workflow)
    plain.save_workflow(workflow.text)
    plain.write_run(run)  # as Runner.start does, before anything can go wrong
    store = CrashingStore(project.state_dir, crash)
    runner = runner_for(workflow, project, crashing_actions(workflow, recorder, crash), store, run)
    try:
        runner.drive()
    except KeyboardInterrupt:
        return persisted(project)
    return None


def crash_points(scenario: Scenario) -> int:
    """How many points a run of ``scenario`` passes where it could die."""
    recorder = Recorder()
    if scenario.failing is not None:
        recorder.always_fail(scenario.names[scenario.failing], ActionError("step broke"))
    crash = Crash(at=None)
    with a_project() as project:
        assert run_with_crash(scenario, project, recorder, crash) is None
    return crash.points


@SETTINGS
@given(shape=shapes(), data=st.data())
def test_a_run_killed_anywhere_resumes_to_completion(shape: Scenario, data: st.DataObject) -> None:
    names = list(shape.names)
    workflow = shape.workflow()
    at = data.draw(st.integers(min_value=0, max_value=crash_points(shape) - 1), label="crash at")
    recorder = Recorder()
    with a_project() as project:
        crashed = run_with_crash(shape, project, recorder, Crash(at))
        assert crashed is not None, "the crash point was never reached"
        interrupted = workflow.step_from(crashed["state"])

        resumed = runner_for(workflow, project, recorder.actions(workflow))
        assert resumed.drive() == engine.COMPLETED
        assert persisted(project)["status"] == engine.COMPLETED
        assert persisted(project)["state"] == workflow.final

    done = recorder.of_kind("do")
    assert recorder.of_kind("undo") == []
    assert squeeze(done) == names  # in order, each at least once
    rerun = {name for name in names if done.count(name) > 1}
    assert rerun <= ({interrupted.name} if interrupted else set())
    assert all(done.count(name) <= 2 for name in names)


@st.composite
def failing_scenarios(draw: st.DrawFn) -> Scenario:
    shape = draw(shapes())
    failing = draw(st.integers(min_value=0, max_value=len(shape.names) - 1))
    return Scenario(shape.names, shape.undo, "rollback", failing)


@SETTINGS
@given(scenario=failing_scenarios(), data=st.data())
def test_a_rollback_killed_anywhere_resumes_to_rolled_back(
    scenario: Scenario, data: st.DataObject
) -> None:
    names = list(scenario.names)
    failing = scenario.failing
    assert failing is not None
    workflow = scenario.workflow()
    at = data.draw(st.integers(min_value=0, max_value=crash_points(scenario) - 1),
                   label="crash at")
    recorder = Recorder()
    recorder.always_fail(names[failing], ActionError("step broke"))
    with a_project() as project:
        crashed = run_with_crash(scenario, project, recorder, Crash(at))
        assert crashed is not None, "the crash point was never reached"
        resumed = runner_for(workflow, project, recorder.actions(workflow))
        assert resumed.drive() == engine.ROLLED_BACK
        assert persisted(project)["state"] == workflow.initial

    done, undone = recorder.of_kind("do"), recorder.of_kind("undo")
    expected_undos = scenario.undo_order(failing + 1)
    # Everything that had to happen happened, in order; one thing at most happened twice.
    assert squeeze(done) == names[: failing + 1]
    assert squeeze(undone) == expected_undos
    assert len(done) + len(undone) <= failing + 1 + len(expected_undos) + 1
