"""The actions a workflow step can run, one module per verb, registered by name."""

from upgrader.actions import command
from upgrader.actions.base import REGISTRY, Action, Context, register

__all__ = ["REGISTRY", "Action", "Context", "command", "register"]
