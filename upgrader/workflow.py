"""Workflows: YAML files that declare an upgrade as a chain of states and steps (DESIGN §5).

``load_workflow`` reads a file, validates it against ``workflows/workflow.schema.json`` and then
checks the graph (every state reachable from ``initial``, ``final`` reachable, one step per
``from`` state, retry values consistent, placeholders known). Every problem is reported at once,
naming the file and the key path; nothing runs from a workflow that did not load.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upgrader import resources, yamlsafe
from upgrader.errors import ConfigError
from upgrader.validation import check, raise_if_errors

PLACEHOLDERS = frozenset(
    {"root", "project", "export", "release", "name", "from_version", "to_version"}
)
# A placeholder is {word}; a shell's ${word} in a `sh -c` script is left alone.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMAND_KEYS = ("run", "cwd", "timeout", "env")
_OVERLAY_KEYS = ("target", "keep")


@dataclass(frozen=True)
class Retry:
    """A step's retry policy: ``attempts`` tries in all, waiting ``initial`` seconds, then more."""

    attempts: int = 1
    wait: str = "exponential"
    initial: float = 1.0
    max: float = 30.0


@dataclass(frozen=True)
class Undo:
    """How a step is undone: a registered action by name, or a command (``action == 'command'``)."""

    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    retry: Retry = Retry()


@dataclass(frozen=True)
class Step:
    name: str
    source: str
    dest: str
    action: str
    params: Mapping[str, Any]
    retry: Retry
    on_failure: str
    undo: Undo | None


@dataclass(frozen=True)
class Workflow:
    """A validated workflow: its steps are in the order a run takes them."""

    name: str
    path: Path
    sha256: str
    text: str
    initial: str
    final: str
    on_failure: str
    states: tuple[str, ...]
    steps: tuple[Step, ...]
    description: str = ""

    def step_from(self, state: str) -> Step | None:
        """The step that leaves ``state``, or None at the final state."""
        return next((step for step in self.steps if step.source == state), None)

    def step_to(self, state: str) -> Step | None:
        """The step that reaches ``state``, or None at the initial state."""
        return next((step for step in self.steps if step.dest == state), None)

    def step(self, name: str) -> Step:
        return next(step for step in self.steps if step.name == name)

    def actions(self) -> set[str]:
        """Every action the workflow names, undo actions included."""
        names = {step.action for step in self.steps}
        names.update(step.undo.action for step in self.steps if step.undo)
        return names


def resolve(reference: str, base: Path) -> Path:
    """The file a project's ``workflow:`` names: a shipped workflow by name, or a path."""
    if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", reference):
        return resources.workflows_dir() / f"{reference}.yaml"
    path = Path(reference).expanduser()
    return path if path.is_absolute() else base / path


def load_workflow(path: Path, known_actions: Collection[str] | None = None) -> Workflow:
    """Read and validate the workflow at ``path``.

    With ``known_actions``, every action and undo action must be one of them. Raises
    ``ConfigError`` naming the file and every problem found.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: workflow file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read workflow: {error}") from None
    return parse_workflow(text, path, known_actions)


def parse_workflow(
    text: str, path: Path, known_actions: Collection[str] | None = None
) -> Workflow:
    """Validate workflow YAML ``text`` (read from ``path``); see ``load_workflow``."""
    try:
        document = yamlsafe.load(text)
    except yamlsafe.YAMLRefused as error:
        raise ConfigError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: at '(top level)': must be a mapping of workflow keys")
    raise_if_errors(str(path), check(document, "workflow.schema.json"))
    raise_if_errors(str(path), graph_errors(document, known_actions))
    return _build(document, text, path)


def graph_errors(document: dict[str, Any], known_actions: Collection[str] | None) -> list[str]:
    """The problems of a schema-valid workflow document that a schema cannot express."""
    errors: list[str] = []
    states: list[str] = document["states"]
    steps: list[dict[str, Any]] = document["steps"]
    for key in ("initial", "final"):
        if document[key] not in states:
            errors.append(f"at '{key}': state {document[key]!r} is not in 'states'")
    if document["initial"] == document["final"]:
        errors.append("at 'final': must differ from 'initial'")

    names: dict[str, int] = {}
    leaving: dict[str, int] = {}
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if step["name"] in names:
            errors.append(
                f"at '{where}.name': {step['name']!r} is also the name of steps[{names[step['name']]}]"
            )
        names.setdefault(step["name"], index)
        for key in ("from", "to"):
            if step[key] not in states:
                errors.append(f"at '{where}.{key}': state {step[key]!r} is not in 'states'")
        if step["from"] == step["to"]:
            errors.append(f"at '{where}.to': a step must lead to another state than its 'from'")
        if step["from"] in leaving:
            errors.append(
                f"at '{where}.from': steps[{leaving[step['from']]}] already leaves state "
                f"{step['from']!r}; one step per state"
            )
        leaving.setdefault(step["from"], index)
        if step["from"] == document["final"]:
            errors.append(f"at '{where}.from': no step may leave the final state {step['from']!r}")
        errors.extend(_action_errors(step, where, known_actions))

    if not errors:
        errors.extend(_reachability_errors(document))
    return errors


def _action_errors(
    step: dict[str, Any], where: str, known_actions: Collection[str] | None
) -> list[str]:
    errors = []
    is_command = step["action"] == "command"
    if is_command and "run" not in step:
        errors.append(f"at '{where}.run': action 'command' needs 'run', the command to run")
    if not is_command:
        errors.extend(
            f"at '{where}.{key}': only action 'command' takes {key!r}"
            for key in _COMMAND_KEYS
            if key in step
        )
    if step["action"] != "overlay":
        errors.extend(f"at '{where}.{key}': only action 'overlay' takes {key!r}"
                      for key in _OVERLAY_KEYS if key in step)
    if known_actions is not None and step["action"] not in known_actions:
        errors.append(f"at '{where}.action': unknown action {step['action']!r}")
    undo = step.get("undo")
    if isinstance(undo, str) and known_actions is not None and undo not in known_actions:
        errors.append(f"at '{where}.undo': unknown undo action {undo!r}")
    for key, retry in (("retry", step.get("retry")), ("undo.retry", _get(undo, "retry"))):
        if retry and retry.get("max", 30) < retry.get("initial", 1):
            errors.append(f"at '{where}.{key}.max': must be ≥ initial ({retry.get('initial', 1)})")
    for key, command in (("", step), ("undo.", undo if isinstance(undo, dict) else {})):
        errors.extend(_placeholder_errors(command, f"{where}.{key}"))
    return errors


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _placeholder_errors(command: Mapping[str, Any], where: str) -> list[str]:
    texts: list[tuple[str, str]] = []
    texts += [(f"run[{i}]", arg) for i, arg in enumerate(command.get("run", []))]
    for key in ("cwd", "target"):
        if key in command:
            texts.append((key, command[key]))
    texts += [(f"env.{key}", value) for key, value in command.get("env", {}).items()]
    return [
        f"at '{where}{key}': unknown placeholder {{{name}}}; known: "
        + " ".join(f"{{{known}}}" for known in sorted(PLACEHOLDERS))
        for key, text in texts
        for name in _PLACEHOLDER.findall(text)
        if name not in PLACEHOLDERS
    ]


def _reachability_errors(document: dict[str, Any]) -> list[str]:
    following = {step["from"]: step["to"] for step in document["steps"]}
    seen = [document["initial"]]
    while seen[-1] in following:
        nxt = following[seen[-1]]
        if nxt in seen:
            return [f"at 'steps': the steps loop back to state {nxt!r}; 'final' is never reached"]
        seen.append(nxt)
    errors = []
    if seen[-1] != document["final"]:
        errors.append(
            f"at 'final': state {document['final']!r} is not reachable from "
            f"{document['initial']!r}; the steps end at {seen[-1]!r}"
        )
    unreachable = [state for state in document["states"] if state not in seen]
    if unreachable and not errors:
        errors.append(
            "at 'states': not reachable from 'initial': " + ", ".join(map(repr, unreachable))
        )
    return errors


def _retry(document: Mapping[str, Any] | None) -> Retry:
    return Retry(**document) if document else Retry()


def _build(document: dict[str, Any], text: str, path: Path) -> Workflow:
    on_failure = document.get("on_failure", "rollback")
    by_source = {step["from"]: step for step in document["steps"]}
    ordered = []
    state = document["initial"]
    while state in by_source:
        ordered.append(by_source[state])
        state = by_source[state]["to"]
    steps = []
    for step in ordered:
        undo_document = step.get("undo")
        undo = None
        if isinstance(undo_document, str):
            undo = Undo(action=undo_document)
        elif isinstance(undo_document, dict):
            params = {key: undo_document[key] for key in _COMMAND_KEYS if key in undo_document}
            undo = Undo(action="command", params=params, retry=_retry(undo_document.get("retry")))
        steps.append(
            Step(
                name=step["name"],
                source=step["from"],
                dest=step["to"],
                action=step["action"],
                params={key: step[key] for key in (*_COMMAND_KEYS, *_OVERLAY_KEYS) if key in step},
                retry=_retry(step.get("retry")),
                on_failure=step.get("on_failure", on_failure),
                undo=undo,
            )
        )
    return Workflow(
        name=document["name"],
        path=path,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text=text,
        initial=document["initial"],
        final=document["final"],
        on_failure=on_failure,
        states=tuple(document["states"]),
        steps=tuple(steps),
        description=document.get("description", ""),
    )
