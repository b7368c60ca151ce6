"""The workflow loader: every bad workflow is refused naming the file, the key path and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader import resources
from upgrader.errors import ConfigError
from upgrader.workflow import Undo, load_workflow, parse_workflow, resolve

FILE = Path("/srv/test/my-workflow.yaml")

GOOD = """\
name: t
initial: a
final: c
states: [a, b, c]
steps:
  - {name: one, from: a, to: b, action: x}
  - {name: two, from: b, to: c, action: y}
"""


def with_first_step(extra: str) -> str:
    """GOOD with ``extra`` (``, key: value``) added to the first step."""
    return GOOD.replace("action: x}", f"action: x{extra}}}")


def refused(text: str, known_actions: set[str] | None = None) -> str:
    """The message of the ConfigError that loading ``text`` raises."""
    with pytest.raises(ConfigError) as caught:
        parse_workflow(text, FILE, known_actions)
    message = str(caught.value)
    assert message.startswith(f"{FILE}: "), message
    return message


def test_good_workflow_loads_with_steps_in_run_order() -> None:
    text = GOOD.replace(
        "  - {name: one, from: a, to: b, action: x}\n  - {name: two, from: b, to: c, action: y}\n",
        "  - {name: two, from: b, to: c, action: y}\n  - {name: one, from: a, to: b, action: x}\n",
    )
    workflow = parse_workflow(text, FILE)
    assert [step.name for step in workflow.steps] == ["one", "two"]
    assert workflow.initial == "a" and workflow.final == "c"
    assert workflow.on_failure == "rollback"
    assert workflow.steps[0].retry.attempts == 1


def test_not_yaml() -> None:
    message = refused("name: [a\n")
    assert "not valid YAML" in message
    assert "line 2" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "", "just a string\n"])
def test_not_a_mapping(text: str) -> None:
    assert refused(text) == f"{FILE}: at '(top level)': must be a mapping of workflow keys"


def test_missing_required_top_level_key() -> None:
    assert refused(GOOD.replace("final: c\n", "")) == f"{FILE}: at '(top level)': 'final' is required"


def test_missing_required_step_key() -> None:
    message = refused(GOOD.replace(", action: y}", "}"))
    assert message == f"{FILE}: at 'steps[1]': 'action' is required"


def test_unknown_top_level_key() -> None:
    assert refused(GOOD + "colour: blue\n") == f"{FILE}: at '(top level)': unknown key 'colour'"


def test_unknown_step_key() -> None:
    assert refused(with_first_step(", retires: 3")) == f"{FILE}: at 'steps[0]': unknown key 'retires'"


def test_unknown_retry_key() -> None:
    message = refused(with_first_step(", retry: {attempts: 2, tries: 3}"))
    assert message == f"{FILE}: at 'steps[0].retry': unknown key 'tries'"


def test_unknown_key_in_a_command_undo_is_named() -> None:
    # An undo is a name or a mapping: a mapping with a typo must be reported as the typo, not
    # as "must be a string" (the branch of the oneOf the operator did not mean).
    message = refused(with_first_step(", undo: {run: [/bin/true], timout: 5}"))
    assert message == f"{FILE}: at 'steps[0].undo': unknown key 'timout'"


@pytest.mark.parametrize(
    ("retry", "where", "reason"),
    [
        ("{attempts: 0}", "steps[0].retry.attempts", "must be ≥ 1"),
        ("{attempts: 101}", "steps[0].retry.attempts", "must be ≤ 100"),
        ("{attempts: two}", "steps[0].retry.attempts", "must be of type integer"),
        ("{initial: -1}", "steps[0].retry.initial", "must be ≥ 0"),
        ("{max: -0.5}", "steps[0].retry.max", "must be ≥ 0"),
        ("{wait: linear}", "steps[0].retry.wait", "must be one of 'exponential', 'fixed'"),
        ("{initial: 10, max: 5}", "steps[0].retry.max", "must be ≥ initial (10)"),
        ("{initial: 31}", "steps[0].retry.max", "must be ≥ initial (31)"),
    ],
)
def test_bad_retry_values(retry: str, where: str, reason: str) -> None:
    assert refused(with_first_step(f", retry: {retry}")) == f"{FILE}: at '{where}': {reason}"


def test_bad_retry_of_a_second_step_names_its_index() -> None:
    text = GOOD.replace("action: y}", "action: y, retry: {attempts: 0}}")
    assert refused(text) == f"{FILE}: at 'steps[1].retry.attempts': must be ≥ 1"


def test_bad_retry_of_a_command_undo() -> None:
    message = refused(with_first_step(", undo: {run: [/bin/true], retry: {initial: 9, max: 3}}"))
    assert message == f"{FILE}: at 'steps[0].undo.retry.max': must be ≥ initial (9)"


def test_on_failure_must_be_rollback_or_pause() -> None:
    message = refused(GOOD.replace("final: c\n", "final: c\non_failure: retry\n"))
    assert message == f"{FILE}: at 'on_failure': must be one of 'rollback', 'pause'"


def test_step_state_not_in_states() -> None:
    message = refused(GOOD.replace("to: c, action: y", "to: d, action: y"))
    assert message == f"{FILE}: at 'steps[1].to': state 'd' is not in 'states'"


def test_initial_not_in_states() -> None:
    message = refused(GOOD.replace("initial: a", "initial: z"))
    assert f"{FILE}: " in message
    assert "at 'initial': state 'z' is not in 'states'" in message


def test_final_not_in_states() -> None:
    message = refused(GOOD.replace("final: c", "final: z"))
    assert "at 'final': state 'z' is not in 'states'" in message


def test_initial_equals_final() -> None:
    message = refused(GOOD.replace("final: c", "final: a"))
    assert "at 'final': must differ from 'initial'" in message


def test_two_steps_from_one_state() -> None:
    message = refused(GOOD.replace("from: b, to: c", "from: a, to: c"))
    assert message == f"{FILE}: at 'steps[1].from': steps[0] already leaves state 'a'; one step per state"


def test_step_from_the_final_state() -> None:
    message = refused(GOOD + "  - {name: three, from: c, to: a, action: z}\n")
    assert message == f"{FILE}: at 'steps[2].from': no step may leave the final state 'c'"


def test_step_to_its_own_state() -> None:
    message = refused(GOOD.replace("from: b, to: c", "from: b, to: b"))
    assert "at 'steps[1].to': a step must lead to another state than its 'from'" in message


def test_unreachable_state() -> None:
    message = refused(GOOD.replace("[a, b, c]", "[a, b, c, d]"))
    assert message == f"{FILE}: at 'states': not reachable from 'initial': 'd'"


def test_unreachable_states_with_their_own_steps() -> None:
    text = GOOD.replace("[a, b, c]", "[a, b, c, d, e]") + "  - {name: side, from: d, to: e, action: z}\n"
    assert refused(text) == f"{FILE}: at 'states': not reachable from 'initial': 'd', 'e'"


def test_final_not_reachable() -> None:
    text = GOOD.replace("final: c", "final: d").replace("[a, b, c]", "[a, b, c, d]")
    message = refused(text)
    assert message == f"{FILE}: at 'final': state 'd' is not reachable from 'a'; the steps end at 'c'"


def test_loop() -> None:
    text = (
        GOOD.replace("final: c", "final: d")
        .replace("[a, b, c]", "[a, b, c, d]")
        .replace("from: b, to: c", "from: b, to: a")
    )
    message = refused(text)
    assert message == f"{FILE}: at 'steps': the steps loop back to state 'a'; 'final' is never reached"


def test_duplicate_step_names() -> None:
    message = refused(GOOD.replace("name: two", "name: one"))
    assert message == f"{FILE}: at 'steps[1].name': 'one' is also the name of steps[0]"


def test_unknown_action_when_known_actions_given() -> None:
    message = refused(GOOD, known_actions={"x"})
    assert message == f"{FILE}: at 'steps[1].action': unknown action 'y'"


def test_unknown_undo_action_when_known_actions_given() -> None:
    message = refused(with_first_step(", undo: nope"), known_actions={"x", "y"})
    assert message == f"{FILE}: at 'steps[0].undo': unknown undo action 'nope'"


def test_actions_are_not_checked_without_known_actions() -> None:
    workflow = parse_workflow(with_first_step(", undo: nope"), FILE, None)
    assert workflow.actions() == {"x", "y", "nope"}
    assert workflow.steps[0].undo is not None and workflow.steps[0].undo.action == "nope"


def test_command_without_run() -> None:
    message = refused(GOOD.replace("action: x", "action: command"))
    assert message == f"{FILE}: at 'steps[0].run': action 'command' needs 'run', the command to run"


@pytest.mark.parametrize(
    ("extra", "key"),
    [(", run: [/bin/true]", "run"), (", cwd: /tmp", "cwd"), (", timeout: 5", "timeout"),
     (", env: {A: b}", "env")],
)
def test_command_keys_on_a_non_command_action(extra: str, key: str) -> None:
    message = refused(with_first_step(extra))
    assert message == f"{FILE}: at 'steps[0].{key}': only action 'command' takes '{key}'"


def test_unknown_placeholder_in_run() -> None:
    text = GOOD.replace("action: x", "action: command, run: ['{release}/hooks/x', '{foo}']")
    message = refused(text)
    assert message.startswith(f"{FILE}: at 'steps[0].run[1]': unknown placeholder {{foo}}; known: ")
    assert "{release}" in message and "{to_version}" in message


def test_unknown_placeholders_in_cwd_env_and_undo_are_each_named() -> None:
    text = GOOD.replace(
        "action: x",
        "action: command, run: [a], cwd: '{home}', env: {A: '{user}'}, "
        "undo: {run: ['{bar}']}",
    )
    message = refused(text)
    assert message.startswith(f"{FILE}: 3 errors:")
    assert f"{FILE}: at 'steps[0].cwd': unknown placeholder {{home}}" in message
    assert f"{FILE}: at 'steps[0].env.A': unknown placeholder {{user}}" in message
    assert f"{FILE}: at 'steps[0].undo.run[0]': unknown placeholder {{bar}}" in message


def test_shell_variables_in_a_script_are_not_placeholders() -> None:
    text = GOOD.replace(
        "action: x",
        "action: command, run: [sh, -c, 'echo ${HOME} ${PATH} > {project}/out'], "
        "cwd: '{root}', env: {A: '{name}-{to_version}', B: '${HOME}'}",
    )
    workflow = parse_workflow(text, FILE, {"command", "y"})
    step = workflow.steps[0]
    assert step.action == "command"
    assert step.params["run"] == ["sh", "-c", "echo ${HOME} ${PATH} > {project}/out"]
    assert step.params["cwd"] == "{root}"


def test_several_schema_errors_are_reported_at_once() -> None:
    text = with_first_step(", retry: {attempts: 0}").replace("final: c\n", "") + "colour: blue\n"
    message = refused(text)
    assert message.startswith(f"{FILE}: 3 errors:\n")
    lines = message.splitlines()[1:]
    assert len(lines) == 3
    assert all(line.startswith(f"  {FILE}: at '") for line in lines)
    assert any("at '(top level)': 'final' is required" in line for line in lines)
    assert any("at '(top level)': unknown key 'colour'" in line for line in lines)
    assert any("at 'steps[0].retry.attempts': must be ≥ 1" in line for line in lines)


def test_several_graph_errors_are_reported_at_once() -> None:
    text = GOOD.replace("name: two", "name: one").replace("to: c, action: y", "to: d, action: y")
    message = refused(text, known_actions={"y"})
    assert message.startswith(f"{FILE}: 3 errors:\n")
    assert "at 'steps[1].name': 'one' is also the name of steps[0]" in message
    assert "at 'steps[1].to': state 'd' is not in 'states'" in message
    assert "at 'steps[0].action': unknown action 'x'" in message


def test_load_workflow_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: workflow file not found"):
        load_workflow(missing)


def test_load_workflow_reads_the_file_and_hashes_it(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD, encoding="utf-8")
    workflow = load_workflow(path)
    assert workflow.path == path
    assert workflow.text == GOOD
    assert len(workflow.sha256) == 64
    assert workflow.sha256 != parse_workflow(GOOD + "\n", path).sha256


# -- the shipped workflows -------------------------------------------------------------------


def test_resolve_names_a_shipped_workflow_or_a_path(tmp_path: Path) -> None:
    assert resolve("classic", tmp_path) == resources.workflows_dir() / "classic.yaml"
    assert resolve("mine.yaml", tmp_path) == tmp_path / "mine.yaml"
    assert resolve("/etc/flow.yaml", tmp_path) == Path("/etc/flow.yaml")


@pytest.mark.parametrize("name", ["upgrade", "classic", "vendor-scripts"])
def test_shipped_workflows_load(name: str, tmp_path: Path) -> None:
    workflow = load_workflow(resolve(name, tmp_path), known_actions=None)
    assert workflow.name == name
    assert workflow.steps[0].source == workflow.initial
    assert workflow.steps[-1].dest == workflow.final
    # Every state is visited, in the order the steps take.
    assert [workflow.initial, *(step.dest for step in workflow.steps)] == list(workflow.states)


def test_classic_runs_the_plain_sequence(tmp_path: Path) -> None:
    workflow = load_workflow(resolve("classic", tmp_path))
    assert [step.dest for step in workflow.steps] == [
        "downloaded", "verified", "extracted", "checked", "warmed", "stopped", "snapshotted", "exported", "pulled",
        "started", "healthy",
    ]
    assert [step.name for step in workflow.steps if step.undo] == [
        "download", "warm", "stop", "snapshot", "export", "start"]


@pytest.mark.parametrize("name", ["upgrade", "classic"])
def test_the_data_is_copied_while_the_server_serves_and_finished_once_it_is_stopped(name: str, tmp_path: Path) -> None:
    """DESIGN §9: warm right before stop, the snapshot right after it and before anything of the
    new release (its export) is put in place; the snapshot's undo restores it."""
    workflow = load_workflow(resolve(name, tmp_path))
    names = [step.name for step in workflow.steps]
    assert names[names.index("stop") - 1: names.index("stop") + 3] == ["warm", "stop", "snapshot", "export"]
    assert workflow.step("snapshot").dest == "snapshotted"
    assert workflow.step("snapshot").undo == Undo("restore_snapshot")
    assert workflow.step("warm").undo == Undo("discard_snapshot")


@pytest.mark.parametrize("name", ["upgrade", "classic"])
def test_a_rollback_ends_by_making_sure_the_release_before_runs(name: str, tmp_path: Path) -> None:
    """The first step's undo is the last thing a rollback does: ensure_running."""
    workflow = load_workflow(resolve(name, tmp_path))
    first = workflow.steps[0]
    assert first.undo is not None and first.undo.action == "ensure_running"


def test_upgrade_prefetches_before_it_stops(tmp_path: Path) -> None:
    workflow = load_workflow(resolve("upgrade", tmp_path))
    names = [step.name for step in workflow.steps]
    assert names.index("prefetch") < names.index("stop")
    assert workflow.step("download").retry.attempts == 5


def test_vendor_scripts_needs_only_the_command_action(tmp_path: Path) -> None:
    workflow = load_workflow(resolve("vendor-scripts", tmp_path), known_actions={"command"})
    assert workflow.actions() == {"command"}
    down = workflow.step("down")
    assert down.undo is not None and down.undo.action == "command"
    assert down.undo.retry.attempts == 3
    assert workflow.step("check").retry.wait == "fixed"


def test_upgrade_with_only_the_command_action_is_refused(tmp_path: Path) -> None:
    path = resolve("upgrade", tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_workflow(path, known_actions={"command"})
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for action in ("download", "verify", "extract", "pull", "stop", "export", "start",
                   "wait_healthy"):
        assert f"unknown action '{action}'" in message
    for undo in ("start_previous", "restore_export"):
        assert f"unknown undo action '{undo}'" in message
