"""Holds (DESIGN §14), and why ``check`` and ``status`` say each skipped version is skipped.

A hold is a quarantine entry (``state/<name>/quarantine.json``) whose ``reason`` is the
operator's (``store.HELD_BY_OPERATOR``), so it works exactly as a quarantine does: unattended
runs skip the version, a newer release passes it, ``run --to V`` installs it, and a completed
install of V removes the entry. ``rollback`` of a completed run holds the version it left (in
``app._after``, with the run's id); holds by hand (``run_id`` null) are written by commands
to come.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from upgrader.plan import parse_version
from upgrader.store import HELD_BY_OPERATOR


def held_notes(run: Mapping[str, Any]) -> list[str]:
    """What a rollback that ended says about the hold ``app._after`` recorded: one line when it
    undid a completed run (whose release is now held), none otherwise."""
    version = run["to_version"]
    if run["data"].get("rollback_of") != "completed" or not version:
        return []
    return [f"{version} is held: unattended runs skip it until a newer release ('upgrader unhold {version}' "
            f"lifts the hold, 'upgrader run --to {version}' installs it again)"]


def explain(versions: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``held`` list of ``check --json`` and ``status --json``: for every version of
    quarantine.json (lowest first), ``version``, ``by`` (``operator``: held; ``run``: quarantined
    by a run that failed because of the release), ``reason`` (one line for a person),
    ``run_id`` (null for a hold by hand) and ``since``."""
    return [
        {"version": version, "by": "operator" if _held(entry) else "run", "reason": reason(entry),
         "run_id": entry["run_id"], "since": entry["at"]}
        for version, entry in sorted(versions.items(), key=lambda item: _order(item[0]))
    ]


def reason(entry: Mapping[str, Any]) -> str:
    """Why runs skip a version, in a few words: ``rolled back by the operator``, ``pinned by the
    operator``, or ``failed run ID: the first line of its error``."""
    if _held(entry):
        return "rolled back by the operator" if entry["run_id"] else "pinned by the operator"
    lines = (entry["reason"] or "").splitlines()
    # A command's output follows its error on later lines; the first says what failed.
    first = lines[0].removesuffix("; last output:") if lines else ""
    run = f"failed run {entry['run_id']}" if entry["run_id"] else "failed run"
    return f"{run}: {first}" if first else run


def _describe(entry: Mapping[str, Any]) -> str:
    """``held (rolled back by the operator)`` or ``quarantined (failed run …)``."""
    return f"{'held' if _held(entry) else 'quarantined'} ({reason(entry)})"


def _held(entry: Mapping[str, Any]) -> bool:
    return bool(entry["reason"] == HELD_BY_OPERATOR)


def _order(version: str) -> tuple[int, Any]:
    """Sort key: versions in SemVer order; anything else (a hand-edited file) after them, by text."""
    try:
        return (0, parse_version(version))
    except ValueError:
        return (1, version)
