"""The live view of a run on a terminal (DESIGN §1 ui), and ``status --watch``.

The view is drawn from the run's checkpoint (the same dict the engine updates), the progress of
the current step (bytes downloaded, layers pulled) and the latest retry. The running process
draws it as it works; ``status --watch`` draws the same view from another terminal by reading
``run.json``, ``progress.json`` and the journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from upgrader.ui import describe_event

ACTIVE = ("running", "rolling_back")
_STEP_MARKS = {
    "pending": ("·", "dim"),
    "done": ("✓", "green"),
    "failed": ("✗", "red"),
    "rolled_back": ("↶", "magenta"),
    "undo_failed": ("✗", "red"),
}


def _seconds_since(timestamp: str | None, now: float) -> float:
    if not timestamp:
        return 0.0
    started = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    return max(0.0, now - started)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


class Aggregate:
    """Progress reports of the current step folded into bytes done and total, per item."""

    def __init__(self) -> None:
        self.step: str | None = None
        self.items: dict[str, dict[str, int]] = {}
        self._layers: dict[str, dict[str, tuple[int, int]]] = {}

    def reset(self, step: str | None) -> None:
        self.step = step
        self.items.clear()
        self._layers.clear()

    def add(self, step: str, detail: Mapping[str, Any]) -> None:
        if step != self.step:
            self.reset(step)
        if "bytes" in detail:  # a download, or a copy (``item`` names what is copied)
            self.items[str(detail.get("item") or "download")] = {
                "done": int(detail["bytes"]), "total": int(detail.get("total") or 0)}
            return
        image = detail.get("image")
        if not image:
            return
        layers = self._layers.setdefault(image, {})
        layer, status = detail.get("id"), str(detail.get("status") or "")
        progress = detail.get("progressDetail") or {}
        if layer and progress.get("total"):
            layers[layer] = (int(progress.get("current") or 0), int(progress["total"]))
        elif layer and status in ("Pull complete", "Already exists", "Download complete"):
            _, total = layers.get(layer, (0, 0))
            layers[layer] = (total, total)
        done = sum(current for current, _ in layers.values())
        total = sum(total for _, total in layers.values())
        self.items[image] = {"done": done, "total": total}

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "items": {key: dict(value) for key, value in self.items.items()}}


class View:
    """Renders a run: its steps as a checklist, progress bars, the latest retry."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("  {task.description}", markup=False),
            BarColumn(bar_width=30),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            expand=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self.note: str | None = None

    def update_progress(self, progress: Mapping[str, Any] | None) -> None:
        items = (progress or {}).get("items") or {}
        for key in list(self._tasks):
            if key not in items:
                self.progress.remove_task(self._tasks.pop(key))
        for key, item in items.items():
            if key not in self._tasks:
                label = "download" if key == "download" else key.rsplit("/", 1)[-1]
                self._tasks[key] = self.progress.add_task(label, total=item["total"] or None)
            self.progress.update(self._tasks[key], completed=item["done"], total=item["total"] or None)

    def render(self, run: Mapping[str, Any], now: float | None = None) -> RenderableType:
        now = time.time() if now is None else now
        versions = (f"{run['from_version'] or '(nothing)'} → {run['to_version']}"
                    if run.get("to_version") else "no release")
        header = Text.assemble((f"{run['project']}", "bold"), f": {versions} · workflow ",
                               (run["workflow"]["name"], "bold"), f" · {run['status'].replace('_', ' ')}")
        table = Table.grid(padding=(0, 1))
        table.add_column(width=2)
        table.add_column()
        table.add_column(style="dim")
        for step in run["steps"]:
            status = step["status"]
            detail = ""
            if status in ("running", "undoing"):
                mark: RenderableType = Spinner("dots", style="cyan" if status == "running" else "magenta")
                detail = _duration(_seconds_since(step.get("started_at"), now))
                if status == "undoing":
                    detail = "undoing"
                elif step.get("attempts", 0) > 1:
                    detail += f" · try {step['attempts']}"
            else:
                symbol, style = _STEP_MARKS.get(status, ("?", ""))
                mark = Text(symbol, style=style)
                if status == "done" and step.get("attempts", 1) > 1:
                    detail = f"{step['attempts']} tries"
            table.add_row(mark, step["name"], detail)
        parts: list[RenderableType] = [header, table]
        if self._tasks:
            parts.append(self.progress)
        if self.note:
            parts.append(Text(self.note, style="yellow"))
        return Group(*parts)


def summary(run: Mapping[str, Any], downtime: float | None) -> Text:
    """The last lines of a run: outcome, versions, total time and downtime."""
    status = run["status"]
    style = {"completed": "green", "rolled_back": "yellow", "paused": "yellow"}.get(status, "red")
    total = _seconds_since(run["started_at"], time.time()) if not run.get("finished_at") else (
        datetime.fromisoformat(run["finished_at"].replace("Z", "+00:00"))
        - datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))).total_seconds()
    versions = (f"{run['from_version'] or '(nothing)'} → {run['to_version']}" if run.get("to_version")
                else "workflow " + run["workflow"]["name"])
    text = Text.assemble((status.replace("_", " "), f"bold {style}"), f": {versions} in {_duration(total)}")
    if downtime is not None:
        text.append(f", downtime {downtime:.1f}s")
    if run.get("error"):
        text.append(f"\n{run['error']}", style=style)
    return text


class LiveReporter:
    """The engine's reporter on a terminal: a live checklist while the run works."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.view = View()
        self.aggregate = Aggregate()
        self.run: Mapping[str, Any] | None = None
        self.live: Live | None = None

    def begin(self, run: Mapping[str, Any]) -> None:
        self.run = run
        if self.live is None:
            self.live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8,
                             transient=False)
            self.live.start()

    def _render(self) -> RenderableType:
        return self.view.render(self.run) if self.run is not None else Text("")

    def event(self, entry: Mapping[str, Any]) -> None:
        name = entry["event"]
        if name in ("step_started", "undo_started", "step_done", "undo_done"):
            self.aggregate.reset(entry.get("step"))
            self.view.update_progress(None)
            self.view.note = None
        elif name in ("step_retry", "step_failed", "undo_failed"):
            self.view.note = describe_event(entry)
        if name in ("completed", "rolled_back", "paused", "failed"):
            self.end()

    def progress(self, step: str, detail: Mapping[str, Any]) -> None:
        self.aggregate.add(step, detail)
        self.view.update_progress(self.aggregate.to_dict())

    def end(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


class Recorder:
    """Wraps the reporter of a run: keeps ``progress.json`` current for ``status --watch``.

    ``sink`` persists the aggregated progress of the current step (None: the step is over); it
    is called at most every ``interval`` seconds while bytes move.
    """

    def __init__(self, inner: Any, sink: Callable[[dict[str, Any] | None], None],
                 interval: float = 0.25) -> None:
        self.inner = inner
        self.sink = sink
        self.interval = interval
        self.aggregate = Aggregate()
        self._written = 0.0
        self._dirty = False

    def begin(self, run: Mapping[str, Any]) -> None:
        if hasattr(self.inner, "begin"):
            self.inner.begin(run)

    def event(self, entry: Mapping[str, Any]) -> None:
        if entry["event"] in ("step_started", "undo_started", "step_done", "undo_done", "step_failed",
                              "completed", "rolled_back", "paused", "failed"):
            self.aggregate.reset(entry.get("step"))
            if self._dirty:
                self.sink(None)
                self._dirty = False
        self.inner.event(entry)

    def progress(self, step: str, detail: Mapping[str, Any]) -> None:
        self.aggregate.add(step, detail)
        self.inner.progress(step, detail)
        now = time.monotonic()
        if now - self._written >= self.interval:
            self._written = now
            self._dirty = True
            self.sink(self.aggregate.to_dict())


def watch(console: Console, read: Callable[[], tuple[Mapping[str, Any] | None, Mapping[str, Any] | None,
                                                   str | None, bool]],
          interval: float = 0.25) -> Mapping[str, Any] | None:
    """Draw a run another process works on until it ends; ``read`` gives (run, progress, note,
    active). Returns the last checkpoint seen."""
    view = View()
    run, progress, note, active = read()
    if run is None:
        return None
    with Live(get_renderable=lambda: view.render(run) if run else Text(""), console=console,
              refresh_per_second=8) as live:
        while True:
            view.update_progress(progress)
            view.note = note
            live.refresh()
            if not active:
                break
            time.sleep(interval)
            run, progress, note, active = read()
            if run is None:
                break
    return run

