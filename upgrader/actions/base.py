"""What every action gets and how actions are registered by name (DESIGN §1, §5).

An action is a function ``action(context) -> None`` that does one verb, idempotently: run again
after a crash halfway through, it converges. It raises ``ActionError`` to fail its step. What it
hands to later steps goes into ``context.data``, which is persisted with the checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from upgrader.errors import ActionError
from upgrader.project import Project

Action = Callable[["Context"], None]

_PLACEHOLDER = re.compile(r"(?<!\$)\{(root|project|export|release|name|from_version|to_version)\}")


@dataclass
class Context:
    """One step's view of the run."""

    project: Project
    run: dict[str, Any]
    step: str
    params: Mapping[str, Any]
    journal: Callable[[str, str | dict[str, Any] | None], None]
    """Append an event of this step to the journal (and show it)."""
    checkpoint: Callable[[], None]
    """Persist ``data`` now, before a side effect a crash must not forget."""
    progress: Callable[[dict[str, Any]], None]
    """Report progress (bytes, layers) to the live view; not journaled."""

    def output(self, line: str) -> None:
        """Journal one line a command (Compose, a hook) printed."""
        self.journal("step_output", line)

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.run["data"]
        return data

    @property
    def from_version(self) -> str | None:
        return self.run.get("from_version")

    @property
    def to_version(self) -> str | None:
        return self.run.get("to_version")

    def placeholders(self) -> dict[str, str | None]:
        """The values of DESIGN §5's placeholders; None where this run has none."""
        to_version = self.to_version
        return {
            "root": str(self.project.root),
            "project": str(self.project.dir),
            "export": str(self.project.export_dir),
            "release": (self.data.get("release_dir") or str(self.project.releases_dir / to_version)
                        if to_version else None),
            "name": self.project.name,
            "from_version": self.from_version or "",
            "to_version": to_version or "",
        }

    def expand(self, text: str) -> str:
        """``text`` with its placeholders replaced; fails the step if one has no value."""
        values = self.placeholders()

        def replace(match: re.Match[str]) -> str:
            value = values[match.group(1)]
            if value is None:
                raise ActionError(
                    f"placeholder {{{match.group(1)}}} has no value: this run has no target release",
                    retryable=False,
                )
            return value

        return _PLACEHOLDER.sub(replace, text)


REGISTRY: dict[str, Action] = {}


def register(name: str) -> Callable[[Action], Action]:
    """Register an action under ``name``, the word a workflow's ``action:`` or ``undo:`` uses."""

    def decorate(function: Action) -> Action:
        if name in REGISTRY:
            raise ValueError(f"action {name!r} is registered twice")
        REGISTRY[name] = function
        return function

    return decorate
