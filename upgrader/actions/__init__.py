"""The actions a workflow step can run, one module per verb, registered by name.

Importing an action module registers it; ``REGISTRY`` (the name → action map a run uses) imports
every one of them on first use. ``NAMES`` says which names they register without importing them,
so that a command that only loads a workflow — a cron run with nothing to do — stays light (a
test checks that it names exactly what the modules register). The modules import what they drive
(requests, tarfile, docker) only when they run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from upgrader.actions.base import Action, Context, register

if TYPE_CHECKING:
    from upgrader.actions.base import REGISTRY

MODULES = ("command", "download", "export", "extract", "health", "noop", "overlay", "preflight", "pull", "snapshot",
           "start", "stop", "verify")
NAMES = frozenset({
    "command", "download", "export", "restore_export", "extract", "wait_healthy", "noop", "overlay", "overlay_back",
    "preflight", "pull",
    "warm_snapshot", "snapshot", "restore_snapshot", "discard_snapshot", "start", "stop", "start_previous",
    "ensure_running", "verify",
})


def __getattr__(name: str) -> Any:
    """``REGISTRY``, once every action module is imported (and so registered)."""
    if name != "REGISTRY":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")
    from upgrader.actions.base import REGISTRY

    globals()["REGISTRY"] = REGISTRY
    return REGISTRY


__all__ = ["MODULES", "NAMES", "REGISTRY", "Action", "Context", "register"]
