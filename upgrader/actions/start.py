"""``action: start``: ``compose up -d`` of the new export (its undo is ``stop``)."""

from __future__ import annotations

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError


@register("start")
def start(context: Context) -> None:
    from upgrader.runtime import compose

    export = context.project.export_dir
    if not (export / "compose.yaml").is_file():
        raise ActionError(f"{export}: no exported compose.yaml to start", retryable=False)
    compose.up(context.project.name, export, on_line=context.output)
