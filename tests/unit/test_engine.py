"""The engine: retry policy, pause and resume, the rollback saga, and resumes after a crash.

Every Runner here runs test actions (``Recorder``) against a state folder in ``tmp_path``; a
"crash" is a KeyboardInterrupt raised inside an action, after which a new Runner is built from
the run.json on disk, as ``upgrader resume`` would.
"""

from __future__ import annotations

import pytest
from unit_support import Recorder, linear_workflow, make_runner, resume_runner

from upgrader import engine
from upgrader.actions.base import Context
from upgrader.errors import ActionError, ConfigError
from upgrader.project import Project
from upgrader.store import ProjectStore, now
from upgrader.workflow import Retry

# -- retry_wait ------------------------------------------------------------------------------


def test_exponential_wait_doubles_up_to_max() -> None:
    policy = Retry(attempts=10, wait="exponential", initial=1, max=30)
    assert [engine.retry_wait(policy, attempt) for attempt in range(1, 8)] == [
        1, 2, 4, 8, 16, 30, 30,
    ]


def test_exponential_wait_from_a_larger_initial() -> None:
    policy = Retry(attempts=5, wait="exponential", initial=10, max=60)
    assert [engine.retry_wait(policy, attempt) for attempt in range(1, 5)] == [10, 20, 40, 60]


def test_fixed_wait_is_initial_every_time() -> None:
    policy = Retry(attempts=60, wait="fixed", initial=5, max=5)
    assert {engine.retry_wait(policy, attempt) for attempt in range(1, 60)} == {5}


def test_fixed_wait_is_capped_at_max() -> None:
    assert engine.retry_wait(Retry(attempts=3, wait="fixed", initial=10, max=4), 2) == 4


def test_zero_initial_waits_nothing() -> None:
    assert engine.retry_wait(Retry(attempts=3, initial=0), 3) == 0


# -- forward and retries ---------------------------------------------------------------------


def test_a_clean_run_completes_each_step_once(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["a", "b", "c"], undo=["b"])
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.COMPLETED
    assert recorder.calls == [("do", "a"), ("do", "b"), ("do", "c")]
    run = ProjectStore(project.state_dir).read_run()
    assert run is not None
    assert run["status"] == "completed" and run["state"] == "s3" and run["error"] is None
    assert [(step["status"], step["attempts"]) for step in run["steps"]] == [("done", 1)] * 3
    history = ProjectStore(project.state_dir).read_history()
    assert [(entry["id"], entry["outcome"]) for entry in history] == [(run["run_id"], "completed")]


def test_runner_refuses_a_workflow_whose_actions_it_lacks(
    project: Project, store: ProjectStore
) -> None:
    workflow = linear_workflow(["a", "b"], undo=["b"])
    run = engine.new_run(project.name, workflow)
    with pytest.raises(ConfigError, match=r"unknown action.*'undo_b'"):
        engine.Runner(workflow, run, store, project, actions={"a": print, "b": print})


def test_two_failures_then_success_within_three_attempts(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(
        ["a", "fetch"], retry={"fetch": {"attempts": 3, "initial": 1, "max": 30}}
    )
    recorder.script("fetch", ActionError("connection reset"), ActionError("connection reset"))
    sleeps: list[float] = []
    runner = make_runner(workflow, project, recorder, sleeps=sleeps)
    assert runner.start() == engine.COMPLETED
    assert recorder.count("do", "fetch") == 3
    assert sleeps == [1, 2]
    store = ProjectStore(project.state_dir)
    run = store.read_run()
    assert run is not None
    assert run["steps"][1]["attempts"] == 3 and run["steps"][1]["status"] == "done"
    retries = [event for event in store.read_journal() if event["event"] == "step_retry"]
    assert len(retries) == 2
    assert all(event["step"] == "fetch" for event in retries)
    assert [event["detail"]["attempt"] for event in retries] == [1, 2]
    assert "connection reset" in retries[0]["detail"]["error"]


def test_retries_run_out(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["fetch"], retry={"fetch": {"attempts": 4, "wait": "fixed"}})
    recorder.always_fail("fetch", ActionError("feed unreachable"))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.ROLLED_BACK
    assert recorder.count("do", "fetch") == 4
    assert runner.run["steps"][0]["attempts"] == 4
    assert runner.run["error"] == "step fetch failed: feed unreachable"


def test_a_non_retryable_failure_is_tried_once(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["fetch"], retry={"fetch": {"attempts": 5}})
    recorder.always_fail("fetch", ActionError("401 Unauthorized: bad token", retryable=False))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.ROLLED_BACK
    assert recorder.count("do", "fetch") == 1
    assert runner.run["steps"][0]["attempts"] == 1
    assert "bad token" in runner.run["error"]
    events = [event["event"] for event in ProjectStore(project.state_dir).read_journal()]
    assert "step_retry" not in events


def test_attempts_are_persisted_before_each_try(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["fetch"], retry={"fetch": {"attempts": 3}})
    seen: list[tuple[int, str]] = []

    def look(context: Context) -> None:
        run = ProjectStore(project.state_dir).read_run()
        assert run is not None
        seen.append((run["steps"][0]["attempts"], run["steps"][0]["status"]))
        raise ActionError("not yet")

    recorder.script("fetch", look, look)
    assert make_runner(workflow, project, recorder).start() == engine.COMPLETED
    assert seen == [(1, "running"), (2, "running")]
    assert recorder.count("do", "fetch") == 3


def test_a_resumed_run_gets_only_the_remaining_retry_budget(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "fetch"], retry={"fetch": {"attempts": 3}})
    recorder.script("fetch", ActionError("timeout"), KeyboardInterrupt())
    runner = make_runner(workflow, project, recorder)
    with pytest.raises(KeyboardInterrupt):
        runner.start()
    crashed = ProjectStore(project.state_dir).read_run()
    assert crashed is not None
    assert crashed["status"] == "running" and crashed["state"] == "s1"
    assert crashed["steps"][1]["attempts"] == 2

    recorder.calls.clear()
    recorder.always_fail("fetch", ActionError("timeout"))
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.ROLLED_BACK
    assert recorder.of_kind("do") == ["fetch"]  # 3 - 2 = 1 try left; step a is not run again
    assert resumed.run["steps"][1]["attempts"] == 3


def test_a_resumed_run_with_its_budget_spent_gets_one_more_try(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["fetch"], retry={"fetch": {"attempts": 3}})
    recorder.script("fetch", ActionError("timeout"), ActionError("timeout"), KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        make_runner(workflow, project, recorder).start()

    recorder.calls.clear()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.COMPLETED
    assert recorder.calls == [("do", "fetch")]
    assert resumed.run["steps"][0]["attempts"] == 4


def test_an_interrupted_step_is_run_again_and_the_done_ones_are_not(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "b", "c"])
    recorder.script("b", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        make_runner(workflow, project, recorder).start()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.COMPLETED
    assert recorder.of_kind("do") == ["a", "b", "b", "c"]


def test_data_an_action_checkpoints_survives_a_crash(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["download", "verify"])
    handed: list[str] = []

    def download(context: Context) -> None:
        context.data["archive"] = "/srv/downloads/acme-1.1.0.tar.gz"

    def crash_after_checkpoint(context: Context) -> None:
        context.data["verified"] = True
        context.checkpoint()
        raise KeyboardInterrupt

    recorder.script("download", download)
    recorder.script("verify", crash_after_checkpoint,
                    lambda context: handed.append(context.data["archive"]))
    with pytest.raises(KeyboardInterrupt):
        make_runner(workflow, project, recorder).start()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.COMPLETED
    assert handed == ["/srv/downloads/acme-1.1.0.tar.gz"]
    assert resumed.run["data"] == {"archive": "/srv/downloads/acme-1.1.0.tar.gz", "verified": True}


# -- the saga --------------------------------------------------------------------------------


def test_rollback_undoes_in_reverse_the_failed_step_first(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "b", "c", "d", "e"], undo=["a", "c", "d"])
    recorder.always_fail("d", ActionError("compose up failed"))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.ROLLED_BACK
    assert recorder.calls == [
        ("do", "a"), ("do", "b"), ("do", "c"), ("do", "d"),
        ("undo", "d"), ("undo", "c"), ("undo", "a"),
    ]
    store = ProjectStore(project.state_dir)
    run = store.read_run()
    assert run is not None
    assert run["status"] == "rolled_back"
    assert run["state"] == workflow.initial
    assert run["error"] == "step d failed: compose up failed"
    assert [step["status"] for step in run["steps"]] == [
        "rolled_back", "rolled_back", "rolled_back", "rolled_back", "pending",
    ]
    assert run["steps"][3]["error"] == "compose up failed"
    history = store.read_history()
    assert len(history) == 1
    assert history[0]["outcome"] == "rolled_back" and history[0]["id"] == run["run_id"]
    undone = [e["step"] for e in store.read_journal() if e["event"] == "undo_done"]
    assert undone == ["d", "c", "a"]


def test_a_failure_in_the_first_step_rolls_back_to_initial(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "b"], undo=["a", "b"])
    recorder.always_fail("a", ActionError("no"))
    assert make_runner(workflow, project, recorder).start() == engine.ROLLED_BACK
    assert recorder.calls == [("do", "a"), ("undo", "a")]


def test_on_failure_pause_keeps_the_state_and_resumes(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(
        ["a", "b", "c"], undo=["a", "b", "c"], on_failure="pause",
        retry={"b": {"attempts": 2}},
    )
    recorder.always_fail("b", ActionError("registry unreachable"))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.PAUSED
    run = ProjectStore(project.state_dir).read_run()
    assert run is not None
    assert run["status"] == "paused"
    assert run["state"] == workflow.step("b").source
    assert run["error"] == "step b failed: registry unreachable"
    assert run["steps"][1]["status"] == "failed" and run["steps"][1]["attempts"] == 2
    assert recorder.of_kind("undo") == []
    assert ProjectStore(project.state_dir).read_history() == []

    # The operator fixes the registry; b fails once more and then works: that needs the whole
    # budget of two tries again, not the 0 left over.
    recorder.heal("b")
    recorder.script("b", ActionError("still warming up"))
    recorder.calls.clear()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.COMPLETED
    assert recorder.calls == [("do", "b"), ("do", "b"), ("do", "c")]
    assert resumed.run["steps"][1]["attempts"] == 2
    assert resumed.run["error"] is None


def test_a_step_may_pause_while_the_workflow_rolls_back(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "b", "c"], undo=["a"], step_on_failure={"c": "pause"})
    assert workflow.step("b").on_failure == "rollback"
    recorder.always_fail("c", ActionError("no"))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.PAUSED
    assert runner.run["state"] == workflow.step("c").source
    assert recorder.of_kind("undo") == []


def test_rollback_of_a_paused_run(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["a", "b", "c"], undo=["a", "b"], on_failure="pause")
    recorder.always_fail("b", ActionError("no"))
    assert make_runner(workflow, project, recorder).start() == engine.PAUSED
    recorder.calls.clear()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.rollback() == engine.ROLLED_BACK
    assert recorder.calls == [("undo", "b"), ("undo", "a")]
    assert resumed.run["state"] == workflow.initial


def test_a_failed_undo_ends_failed_and_a_later_drive_finishes_the_rollback(
    project: Project, recorder: Recorder
) -> None:
    workflow = linear_workflow(["a", "b", "c", "d"], undo=["a", "b", "c"])
    recorder.always_fail("d", ActionError("unhealthy"))
    recorder.always_fail("undo_b", ActionError("compose down: permission denied"))
    runner = make_runner(workflow, project, recorder)
    assert runner.start() == engine.FAILED
    assert recorder.of_kind("undo") == ["c", "b"]  # a is not undone past a failed undo
    store = ProjectStore(project.state_dir)
    run = store.read_run()
    assert run is not None
    assert run["status"] == "failed"
    assert run["error"] == (
        "rollback failed: step b could not be undone: compose down: permission denied"
    )
    assert run["state"] == workflow.step("b").dest
    assert run["steps"][1]["status"] == "undo_failed"
    assert store.read_history()[-1]["outcome"] == "failed"

    recorder.heal("undo_b")
    recorder.calls.clear()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.ROLLED_BACK
    assert recorder.calls == [("undo", "b"), ("undo", "a")]
    run = store.read_run()
    assert run is not None
    assert run["status"] == "rolled_back" and run["state"] == workflow.initial
    assert [step["status"] for step in run["steps"]] == ["rolled_back"] * 4
    assert store.read_history()[-1]["outcome"] == "rolled_back"


def test_a_failed_undo_of_the_failed_step_itself(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["a", "b"], undo=["a", "b"])
    recorder.always_fail("b", ActionError("half done"))
    recorder.script("undo_b", ActionError("cannot undo"))
    assert make_runner(workflow, project, recorder).start() == engine.FAILED
    assert recorder.of_kind("undo") == ["b"]
    recorder.calls.clear()
    assert resume_runner(workflow, project, recorder).drive() == engine.ROLLED_BACK
    assert recorder.calls == [("undo", "b"), ("undo", "a")]


def test_history_has_one_line_per_run_after_a_failed_rollback_is_finished(
    project: Project, recorder: Recorder
) -> None:
    # DESIGN §6: history.jsonl has one line per finished run; history.schema.json: "appended
    # once when it completes, rolls back or fails". A run whose rollback failed and was then
    # finished by `upgrader rollback` is one run.
    workflow = linear_workflow(["a", "b"], undo=["a"])
    recorder.always_fail("b", ActionError("unhealthy"))
    recorder.script("undo_a", ActionError("cannot start the old release"))
    assert make_runner(workflow, project, recorder).start() == engine.FAILED
    assert resume_runner(workflow, project, recorder).drive() == engine.ROLLED_BACK
    history = ProjectStore(project.state_dir).read_history()
    assert [entry["outcome"] for entry in history] == ["rolled_back"]


@pytest.mark.parametrize("interrupted", ["b", "d"])
def test_an_interrupted_rollback_resumes_with_the_steps_not_yet_undone(
    project: Project, recorder: Recorder, interrupted: str
) -> None:
    workflow = linear_workflow(["a", "b", "c", "d", "e"], undo=["a", "b", "c", "d"])
    recorder.always_fail("d", ActionError("unhealthy"))
    recorder.script(f"undo_{interrupted}", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        make_runner(workflow, project, recorder).start()
    crashed = ProjectStore(project.state_dir).read_run()
    assert crashed is not None and crashed["status"] == "rolling_back"

    before = list(recorder.calls)
    recorder.calls.clear()
    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.ROLLED_BACK
    expected_order = ["d", "c", "b", "a"]
    already = expected_order[: expected_order.index(interrupted)]
    remaining = expected_order[expected_order.index(interrupted):]
    assert [step for kind, step in before if kind == "undo"] == [*already, interrupted]
    assert recorder.calls == [("undo", step) for step in remaining]
    assert resumed.run["state"] == workflow.initial
    assert recorder.of_kind("do") == []


def _installed(version: str) -> dict[str, object]:
    return {"version": version, "release": {"version": version}, "images": {}, "installed_at": now()}


def test_a_completed_run_records_installed_with_the_previous_one(
    project: Project, recorder: Recorder, store: ProjectStore
) -> None:
    store.write_installed(_installed("1.0.0"))
    workflow = linear_workflow(["a", "b"])
    runner = make_runner(
        workflow, project, recorder, from_version="1.0.0", to_version="1.1.0",
        release={"version": "1.1.0"},
    )
    assert runner.start() == engine.COMPLETED
    installed = store.read_installed()
    assert installed is not None
    assert installed["version"] == "1.1.0" and installed["run_id"] == runner.run["run_id"]
    assert installed["release"] == {"version": "1.1.0"}
    assert installed["previous"]["version"] == "1.0.0"
    assert "previous" not in installed["previous"]


def test_a_run_without_a_target_version_leaves_installed_alone(
    project: Project, recorder: Recorder, store: ProjectStore
) -> None:
    store.write_installed(_installed("1.0.0"))
    before = store.installed_path.read_bytes()
    assert make_runner(linear_workflow(["a"]), project, recorder).start() == engine.COMPLETED
    assert store.installed_path.read_bytes() == before


def test_rollback_of_a_completed_run_restores_the_previous_release(
    project: Project, recorder: Recorder, store: ProjectStore
) -> None:
    store.write_installed(_installed("1.0.0"))
    workflow = linear_workflow(["stop", "export", "start", "health"], undo=["stop", "export", "start"])
    runner = make_runner(workflow, project, recorder, from_version="1.0.0", to_version="1.1.0",
                         release={"version": "1.1.0"})
    assert runner.start() == engine.COMPLETED
    recorder.calls.clear()

    resumed = resume_runner(workflow, project, recorder)
    assert resumed.rollback() == engine.ROLLED_BACK
    assert recorder.calls == [("undo", "start"), ("undo", "export"), ("undo", "stop")]
    run = store.read_run()
    assert run is not None
    assert run["status"] == "rolled_back" and run["state"] == workflow.initial
    assert [step["status"] for step in run["steps"]] == ["rolled_back"] * 4
    installed = store.read_installed()
    assert installed is not None
    assert installed["version"] == "1.0.0"
    assert "previous" not in installed or installed["previous"] is None


def test_rollback_of_a_completed_first_install_removes_installed(
    project: Project, recorder: Recorder, store: ProjectStore
) -> None:
    workflow = linear_workflow(["a"], undo=["a"])
    runner = make_runner(workflow, project, recorder, to_version="1.0.0")
    assert runner.start() == engine.COMPLETED
    assert store.read_installed() is not None
    assert resume_runner(workflow, project, recorder).rollback() == engine.ROLLED_BACK
    assert store.read_installed() is None


def test_a_run_rolled_back_before_completing_leaves_installed_alone(
    project: Project, recorder: Recorder, store: ProjectStore
) -> None:
    store.write_installed(_installed("1.0.0"))
    before = store.installed_path.read_bytes()
    workflow = linear_workflow(["a", "b"], undo=["a"])
    recorder.always_fail("b", ActionError("no"))
    runner = make_runner(workflow, project, recorder, from_version="1.0.0", to_version="1.1.0")
    assert runner.start() == engine.ROLLED_BACK
    assert store.installed_path.read_bytes() == before


class _CrashOnFirstInstalledWrite(ProjectStore):
    """A store whose process dies (KeyboardInterrupt) as it is about to write installed.json."""

    crashed = False

    def write_installed(self, installed: dict[str, object]) -> None:
        if not self.crashed:
            self.crashed = True
            raise KeyboardInterrupt
        super().write_installed(installed)


def test_a_crash_while_finishing_still_records_the_installed_release(
    project: Project, recorder: Recorder
) -> None:
    # The run is checkpointed "completed" before installed.json and history.jsonl are written.
    # A crash in between must not leave a completed run whose release is not recorded as
    # installed (DESIGN §6: installed.json is the version that runs now) and no history line.
    workflow = linear_workflow(["a", "b"])
    store = _CrashOnFirstInstalledWrite(project.state_dir)
    runner = make_runner(workflow, project, recorder, store=store, from_version=None,
                         to_version="1.1.0", release={"version": "1.1.0"})
    with pytest.raises(KeyboardInterrupt):
        runner.start()

    resumed = resume_runner(workflow, project, recorder)
    assert resumed.drive() == engine.COMPLETED
    fresh = ProjectStore(project.state_dir)
    installed = fresh.read_installed()
    assert installed is not None and installed["version"] == "1.1.0"
    assert [entry["outcome"] for entry in fresh.read_history()] == ["completed"]
    assert recorder.of_kind("do") == ["a", "b"]
