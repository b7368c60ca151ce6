"""Showing runs and results to a person: rich on a terminal, plain lines under cron (DESIGN §1).

Commands return data; this module renders it once, as text, tables or JSON.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # rich is imported where it draws: a cron run never needs it
    from rich.console import Console
    from rich.table import Table

    from upgrader.doctor import Check

_MARKS = {
    "step_started": ("…", "cyan"),
    "step_done": ("✓", "green"),
    "step_retry": ("↻", "yellow"),
    "step_failed": ("✗", "red"),
    "undo_started": ("↶", "magenta"),
    "undo_done": ("✓", "magenta"),
    "undo_failed": ("✗", "red"),
    "paused": ("‖", "yellow"),
    "rolled_back": ("↶", "yellow"),
    "completed": ("✓", "green bold"),
    "failed": ("✗", "red bold"),
}


def describe_event(entry: Mapping[str, Any]) -> str | None:
    """One line for a journal event a person wants to see, or None for the others."""
    event, step, detail = entry["event"], entry.get("step"), entry.get("detail")
    info = detail if isinstance(detail, dict) else {}
    if event == "run_started":
        target = f" → {info['to']}" if info.get("to") else ""
        return f"run {entry['run_id']} started: workflow {info.get('workflow')}{target}"
    if event == "resumed":
        return f"carrying on run {entry['run_id']} from state {entry['state']}"
    if event == "step_started":
        return f"{step}: {info.get('action')}"
    if event == "step_done":
        tries = f" ({info['attempts']} tries)" if info.get("attempts", 1) > 1 else ""
        return f"{step} done{tries}"
    if event == "step_retry":
        reason = str(info.get("error") or "").splitlines()[0].removesuffix("; last output:")
        return (f"{step}: try {info.get('attempt')} of {info.get('of')} failed ({reason}); "
                f"retrying in {info.get('wait', 0):g} s")
    if event == "step_output":
        return f"  {step} | {detail}"
    if event in ("step_failed", "undo_failed"):
        return f"{step} failed: {info.get('error')}"
    if event == "rollback_started":
        return "rolling back"
    if event == "undo_started":
        return f"undoing {step}: {info.get('action')}"
    if event == "undo_done":
        return f"{step} undone"
    if event == "notice" or event in ("snapshot_off", "snapshot_kept"):
        return str(detail)
    if event == "snapshot_copy":
        return f"  {step}: copying {info.get('kind')} {info.get('name')} ({info.get('method')})"
    if event == "snapshot_complete":
        return f"  {step}: snapshot {info.get('snapshot')} complete ({_size(info.get('bytes') or 0)})"
    if event == "snapshot_restore":
        return f"  {step}: restoring {info.get('kind')} {info.get('name')} ({info.get('method')})"
    if event == "snapshot_restored":
        return f"  {step}: data restored from snapshot {info.get('snapshot')}"
    if event == "data_folders":
        return f"  release {info.get('release')} keeps as data: " + ", ".join(
            f"./{folder}" for folder in info.get("folders") or [])
    if event == "export_kept":
        return f"  {step}: {info.get('warning')}"
    if event == "data_moved":
        return f"  {step}: data folder moved from {info.get('from')} to {info.get('to')}"
    if event in ("paused", "rolled_back", "completed", "failed"):
        return f"run {event.replace('_', ' ')}" + (f": {detail}" if isinstance(detail, str) else "")
    return None


class TerminalReporter:
    """Prints each event of a run as it happens."""

    def __init__(self, console: Console, show_output: bool = True) -> None:
        self.console = console
        self.show_output = show_output

    def begin(self, run: Mapping[str, Any]) -> None:
        pass

    def event(self, entry: Mapping[str, Any]) -> None:
        if entry["event"] == "step_output" and not self.show_output:
            return
        line = describe_event(entry)
        if line is None:
            return
        mark, style = _MARKS.get(entry["event"], (" ", "dim"))
        if entry["event"] == "step_output":
            self.console.print(line, style="dim", markup=False, highlight=False)
        else:
            self.console.print(f"[{style}]{mark}[/] ", end="")
            self.console.print(line, markup=False, highlight=False)

    def progress(self, step: str, detail: Mapping[str, Any]) -> None:
        pass


class QuietReporter:
    """Under cron: nothing on the terminal while it works, timestamped lines in the project's
    log (rotated); the cli prints the outcome if a person must act."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.lines: list[str] = []
        self.logger = cron_logger(log_path) if log_path else None

    def begin(self, run: Mapping[str, Any]) -> None:
        pass

    def event(self, entry: Mapping[str, Any]) -> None:
        line = describe_event(entry)
        if line is not None:
            self.lines.append(f"{entry['ts']} {line}")
            if self.logger is not None:
                self.logger.info("%s", line)

    def progress(self, step: str, detail: Mapping[str, Any]) -> None:
        pass


class _Stamped(logging.Formatter):
    """Every line of a record stamped, continuation lines (a command's output) included."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        stamp = self.formatTime(record)  # 2026-11-27 03:00:01,234
        return "\n".join(f"{stamp} {line}" for line in text.splitlines())


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """Every log file it opens — the first and each one after a rotation — is 0600, whatever
    the umask (a log names releases, hosts and errors; it is the operator's alone)."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding)


def cron_logger(path: Path) -> logging.Logger:
    """A logger writing timestamped lines to ``path``, rotated at 1 MiB, five kept."""
    from upgrader.store import make_dirs

    logger = logging.getLogger(f"upgrader.cron.{path}")
    if not logger.handlers:
        make_dirs(path.parent)
        handler = _PrivateRotatingHandler(path, maxBytes=1 << 20, backupCount=5, encoding="utf-8")
        handler.setFormatter(_Stamped())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """``data`` as indented JSON on ``stream``, by default the ``sys.stdout`` of the moment."""
    (stream or sys.stdout).write(json.dumps(data, indent=2) + "\n")


def print_status(console: Console, data: Mapping[str, Any]) -> None:
    """``status`` for a person: the installed version, then the run's steps as a table."""
    console.print(f"project {data['project']}: installed {data['installed'] or '(nothing)'}",
                  markup=False)
    if data.get("config_error"):
        console.print(f"project.yaml is invalid (run, resume, rollback and check refuse until it is fixed): "
                      f"{data['config_error']}", markup=False)
    if data.get("serving") is not None:
        # The server as it is now, before the record of the last run (which may be older news).
        if data["serving"]:
            console.print("server: serving (" + ", ".join(s["name"] for s in data["services"]) + ")",
                          markup=False)
        else:
            console.print(f"server: {data.get('serving_problem')}", style="red", markup=False)
    for warning in data.get("warnings") or []:
        console.print(f"warning: {warning}", style="yellow", markup=False)
    print_held(console, data["held"])
    if data["run"] is None:
        console.print("no run yet")
        return
    console.print(status_table(data))
    run = data["run"]
    interrupted = " (interrupted: 'upgrader resume' or 'upgrader rollback')" if data["interrupted"] else ""
    versions = f" {run['from'] or '(nothing)'} → {run['to']}" if run["to"] else ""
    console.print(f"run {run['id']}{versions}: {run['status']} at state {run['state']}{interrupted}",
                  markup=False)
    if run["error"]:
        console.print(run["error"], markup=False)
    if data.get("snapshot"):
        console.print(f"data snapshot: {data['snapshot']}", markup=False)
    if data["lock"]:
        console.print(f"locked by upgrader pid {data['lock']}", markup=False)


def print_checks(console: Console, checks: list[Check]) -> None:
    """``doctor`` for a person: one line a check — ✓ passed, ✗ a failed error, ! a failed warning —
    with the fix of a failed one."""
    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[yellow]![/]" if check.severity == "warning" else "[red]✗[/]"
        console.print(f"{mark} ", end="")
        fix = f" — fix: {check.fix}" if not check.ok and check.fix else ""
        console.print(f"{check.name}: {check.detail}{fix}", markup=False, soft_wrap=True)


def print_check(console: Console, data: Mapping[str, Any]) -> None:
    """``check`` for a person: installed, target, the path of upgrade stops, the releases held
    back from this server (one line each), the quarantine."""
    console.print(f"project {data['project']}: installed {data['installed'] or '(nothing)'}", markup=False)
    if data["up_to_date"]:
        console.print("up to date: no release to install", markup=False)
    else:
        console.print(f"would install {data['target']} via {' → '.join(data['path'])}", markup=False)
    for held in data.get("held_back") or []:
        console.print(f"held back: {held['version']}: {held['detail']}", markup=False)
    if data.get("data_folders"):
        console.print("keeps as data (projects/<name>/data/): " + ", ".join(
            f"./{folder}" for folder in data["data_folders"]), markup=False)
    if data.get("serving") is False:
        console.print("the installed release is not serving now ('upgrader status' says why)", style="red",
                      markup=False)
    if data.get("reconfigure_needed"):
        console.print("project.yaml's values changed since the export was written: "
                      "'upgrader reconfigure' applies them", markup=False)
    print_held(console, data["held"])


def print_held(console: Console, held: list[Mapping[str, Any]]) -> None:
    """The versions unattended runs skip, each with why: ``held (rolled back by the operator)``,
    ``quarantined (failed run …)``; nothing when there are none."""
    if not held:
        return
    console.print("skipped by unattended runs until a newer release ('run --to V' installs one, "
                  "'unhold V' lifts it):", markup=False)
    for entry in held:
        kind = "held" if entry["by"] == "operator" else "quarantined"
        console.print(f"  {entry['version']}: {kind} ({entry['reason']}) since {_short_time(entry['since'])}",
                      markup=False)


def status_table(data: Mapping[str, Any]) -> Table:
    from rich.table import Table

    run = data["run"]
    table = Table()
    for column in ("step", "status", "tries"):
        table.add_column(column)
    styles = {"done": "green", "failed": "red", "undo_failed": "red", "running": "cyan",
              "rolled_back": "magenta", "undoing": "magenta"}
    for step in run["steps"]:
        table.add_row(step["name"], f"[{styles.get(step['status'], 'dim')}]{step['status']}[/]",
                      str(step["attempts"]))
    return table


def history_table(entries: list[Mapping[str, Any]]) -> Table:
    from rich.table import Table

    table = Table(title="finished runs, newest first", title_justify="left")
    for column in ("run", "from", "to", "outcome", "started", "finished", "downtime"):
        table.add_column(column, no_wrap=True)
    styles = {"completed": "green", "rolled_back": "yellow", "failed": "red"}
    for entry in entries:
        downtime = entry["downtime_seconds"]
        table.add_row(
            entry["id"], entry["from"] or "-", entry["to"] or "-",
            f"[{styles.get(entry['outcome'], '')}]{entry['outcome']}[/]",
            _short_time(entry["started_at"]), _short_time(entry["finished_at"]),
            "-" if downtime is None else f"{downtime:.1f} s",
        )
    return table


def print_snapshots(console: Console, found: list[Mapping[str, Any]]) -> None:
    """``snapshots`` for a person: one line per snapshot, its items below, problems of --verify."""
    if not found:
        console.print("no snapshots", markup=False)
        return
    for snapshot in found:
        state = "complete" if snapshot["complete"] else "incomplete"
        versions = f"{snapshot['from'] or '(nothing)'} → {snapshot['to'] or '-'}"
        when = _short_time(snapshot["created_at"]) if snapshot["created_at"] else "?"
        verdict = ""
        if "problems" in snapshot:
            verdict = ": verified" if not snapshot["problems"] else ": DAMAGED"
        console.print(f"{snapshot['run_id']}  {versions}  {when}  {_size(snapshot['bytes'])}  {state}{verdict}",
                      markup=False)
        if snapshot.get("error") and "problems" not in snapshot:
            console.print(f"  {snapshot['error']}", markup=False)
        for item in snapshot["volumes"]:
            console.print(f"  {item['kind']} {item['name']} ({item['method']}): {item['files']} files, "
                          f"{_size(item['bytes'])}", markup=False)
        for problem in snapshot.get("problems") or []:
            console.print(f"  ✗ {problem}", markup=False)


def _size(count: int) -> str:
    """Bytes for a person: ``512 B``, ``1.5 GiB``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _short_time(timestamp: str) -> str:
    """``2026-11-27T12:08:43.448Z`` → ``2026-11-27 12:08:43``."""
    return timestamp.replace("T", " ")[:19]
