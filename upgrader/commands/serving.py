"""Whether the installed release serves now: the server, not the record (DESIGN §14).

``status`` shows it (``services``, ``serving``), ``doctor`` fails a stack that does not serve,
and ``run`` says so when there is nothing to install instead of "up to date" alone; none of
them restarts anything (``reconfigure`` or ``resume`` does, when asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from upgrader.errors import UpgraderError
from upgrader.project import Project


@dataclass
class Look:
    """What one look at the project's stack found."""

    services: list[Any] | None = None  # runtime.stack.Service; None: nothing to look at
    error: str | None = None  # the engine could not be asked
    problems: list[str] = field(default_factory=list)

    @property
    def serving(self) -> bool | None:
        """True when every service serves; None when the project has no exported stack."""
        if self.services is None and self.error is None:
            return None
        return self.error is None and not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"services": None if self.services is None else [s.as_json() for s in self.services],
                "serving": self.serving}

    def summary(self) -> str:
        if self.error:
            return f"cannot tell whether the server serves: {self.error}"
        return "not serving: " + "; ".join(self.problems)


def look(project: Project) -> Look:
    """Each service of the project's export as its container is now. A project with no exported
    compose.yaml (nothing installed, or a workflow that drives a vendor's script) has nothing to
    look at."""
    export = project.export_dir
    if not (export / "compose.yaml").is_file():
        return Look()
    from upgrader.runtime import stack

    try:
        found = stack.services(project.name, stack.expected_services(export))
    except UpgraderError as error:
        return Look(error=str(error))
    return Look(found, problems=[service.describe() for service in found if not service.serving])


def fix(project: Project) -> str:
    """The command that brings the installed release back, for a person to run."""
    return (f"look at 'docker compose -p {project.name} ps -a' and the services' logs; "
            f"'upgrader -n {project.name} reconfigure' starts the installed release again")
