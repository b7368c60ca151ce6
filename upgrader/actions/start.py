"""``action: start``: the new export brought up in place (its undo is ``stop``), DESIGN §13.

``stop`` left the project's containers and network in place (``compose stop``), so ``compose up
-d --remove-orphans`` of the next export recreates only what changed, keeps the network, and
removes the services the release no longer has. That is faster than taking the project down and
starting it again, and it is what ``start_previous`` and ``ensure_running`` do in the other
direction. Where Compose refuses the in-place path (a stopped container whose network is gone, an
orphan that will not go, anything the in-place ``up`` stumbles on), ``start_export`` falls back to
``compose down`` + ``up`` for that start and journals why; only when that fails too does the step
fail. An engine that is not there is not a refusal: that error goes up as it is.
"""

from __future__ import annotations

import time
from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError


def _up(context: Context, export: Path) -> None:
    """``compose up`` of ``export``; when it fails because a service it started failed (a one-shot
    job that exited non-zero, a dependency that turned unhealthy), that service's failure with its
    last log lines, as the health wait says it, rather than Compose's words."""
    from upgrader.actions.health import failed_since
    from upgrader.runtime import compose, engine

    began = time.time()
    try:
        compose.up(context.project.name, export, on_line=context.output)
    except engine.RuntimeUnavailable:
        raise
    except ActionError as error:
        failed = failed_since(context.project.name, export, began)
        if failed is not None:
            raise failed from None
        raise error from None


def start_export(context: Context, export: Path) -> None:
    """``compose up`` of ``export`` in place; ``down`` + ``up`` when Compose refuses that. A
    service that started and failed is not a refusal: the release (or its data) failed, and doing
    it all again would only run it twice."""
    from upgrader.runtime import compose, engine

    try:
        _up(context, export)
    except engine.RuntimeUnavailable:
        raise
    except ActionError as error:
        if error.release_fault:
            raise
        reason = str(error).splitlines()[-1].strip()
        context.journal("start_fallback", {"export": str(export), "reason": reason})
        compose.down(context.project.name, on_line=context.output)
        _up(context, export)


@register("start")
def start(context: Context) -> None:
    export = context.project.export_dir
    if not (export / "compose.yaml").is_file():
        raise ActionError(f"{export}: no exported compose.yaml to start", retryable=False)
    start_export(context, export)
