"""``upgrader hold V`` and ``upgrader unhold V`` (DESIGN §14), and why ``check`` and ``status``
say each skipped version is skipped.

A hold is a quarantine entry (``state/<name>/quarantine.json``) whose ``reason`` is the
operator's (``store.HELD_BY_OPERATOR``), so it works exactly as a quarantine does: unattended
runs skip the version, a newer release passes it, ``run --to V`` installs it, and a completed
install of V removes the entry. ``rollback`` of a completed run holds the version it left (in
``app._after``, with the run's id); ``hold`` pins one by hand (``run_id`` null); ``unhold``
removes a hold or a quarantine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import semver

from upgrader.app import Options, Result, _open
from upgrader.errors import UsageError
from upgrader.plan import parse_version
from upgrader.store import HELD_BY_OPERATOR


def hold(options: Options, version: str) -> Result:
    """Keep unattended runs off ``version``; changes nothing (and says so) when they skip it
    already. Raises ``UsageError`` for a version that is not exact SemVer, before anything is
    touched, and ``LockedError`` while another upgrader holds the project."""
    wanted = _parse("hold", version)
    _, store = _open(options)
    with store.lock(None, options.wait_lock):
        entry = store.read_quarantine().get(version)
        if entry is not None:
            return Result("message", message=f"{version} is already {_describe(entry)} since "
                                             f"{entry['at']}: nothing changed")
        installed = store.read_installed()
        store.quarantine(version, None, HELD_BY_OPERATOR)
    notes = []
    if installed is not None and wanted <= parse_version(installed["version"]):
        # `hold` is not apt-mark's: it keeps runs off this version, it does not keep the server
        # where it is. Say so when the hold cannot matter until a rollback.
        where = "the installed version" if version == installed["version"] else \
            f"older than the installed {installed['version']}"
        notes.append(f"note: {version} is {where}; runs only move up, so the hold matters only after a "
                     "rollback below it — it does not stop upgrades to newer releases")
    return Result("message", details=notes, message=(
        f"held {version}: unattended runs skip it ('upgrader run --to {version}' installs it anyway, "
        f"'upgrader unhold {version}' lifts the hold)"))


def unhold(options: Options, version: str) -> Result:
    """Let unattended runs take ``version`` again: remove its hold, or its quarantine. A version
    that is neither is not an error (exit 0: what was asked for is so). Raises as ``hold``."""
    _parse("unhold", version)
    _, store = _open(options)
    with store.lock(None, options.wait_lock):
        removed = store.release_quarantine(version)
    if removed is None:
        return Result("message", message=f"{version} is neither held nor quarantined: nothing changed")
    return Result("message", message=f"{version} is no longer {_describe(removed)}: unattended runs may "
                                     "install it again")


def held_notes(run: Mapping[str, Any]) -> list[str]:
    """What a rollback that ended says about the hold ``app._after`` recorded: one line when it
    undid a completed run (whose release is now held), none otherwise."""
    version = run["to_version"]
    if run["data"].get("rollback_of") != "completed" or not version or run["from_version"] == version:
        return []  # (a reconfigure taken back holds nothing: its version is the installed one)
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


def _parse(command: str, version: str) -> semver.Version:
    """``version`` parsed, or ``UsageError`` naming the command and the text (exit 2)."""
    try:
        return parse_version(version)
    except ValueError as error:
        raise UsageError(f"{command}: {error}") from None


def _order(version: str) -> tuple[int, Any]:
    """Sort key: versions in SemVer order; anything else (a hand-edited file) after them, by text."""
    try:
        return (0, parse_version(version))
    except ValueError:
        return (1, version)
