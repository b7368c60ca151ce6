"""``action: noop``: does nothing. For placeholders in a workflow being written, and to measure
what the engine itself costs per step (checkpoint and journal included)."""

from __future__ import annotations

from upgrader.actions.base import Context, register


@register("noop")
def noop(context: Context) -> None:
    return None
