"""The actions a workflow step can run, one module per verb, registered by name.

Importing an action module registers it; the modules import what they drive (requests,
tarfile, docker) only when they run, so commands that run no workflow stay light.
"""

from upgrader.actions import (
    command,
    download,
    export,
    extract,
    health,
    noop,
    preflight,
    pull,
    snapshot,
    start,
    stop,
    verify,
)
from upgrader.actions.base import REGISTRY, Action, Context, register

__all__ = ["REGISTRY", "Action", "Context", "command", "download", "export", "extract", "health",
           "noop", "preflight", "pull", "register", "snapshot", "start", "stop", "verify"]
