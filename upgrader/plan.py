"""Which release to install, decided by pure functions over the feed's index (DESIGN §3).

``plan`` takes what is installed, the releases the feed lists, the project's ``allow`` policy,
the quarantined versions and the operator's ``--to``/``--allow-major``, and returns the target,
the path of upgrade stops that leads there, and any major upgrade that policy holds back. It does
no I/O, so every rule is tested by a table.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import semver

from upgrader.errors import UsageError

ALLOW = ("patch", "minor", "major")


class PlanError(UsageError):
    """The operator asked for a release that cannot be installed as asked."""


@functools.cache
def version_pattern() -> re.Pattern[str]:
    """The one definition of a version: the pattern of index.schema.json's ``version`` — SemVer
    2.0.0's grammar exactly, in ASCII digits (release.json's ``version`` and the index's
    ``min_from`` carry the same pattern; a test holds them equal). Whatever matches it, the
    ``semver`` package parses."""
    from upgrader import resources

    schema = resources.schema("index.schema.json")
    return re.compile(schema["properties"]["releases"]["items"]["properties"]["version"]["pattern"])


def parse_version(text: str) -> semver.Version:
    """A semantic version (what the schemas of index.json and release.json accept), or
    ``ValueError`` naming it."""
    if not isinstance(text, str) or len(text) > 128 or not version_pattern().match(text):
        raise ValueError(f"{text!r} is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])")
    return semver.Version.parse(text)


def admits(allow: str, installed: semver.Version, candidate: semver.Version) -> bool:
    """Whether ``allow`` lets an unattended run move from ``installed`` to ``candidate``."""
    if allow == "major":
        return True
    if candidate.major != installed.major:
        return False
    return allow == "minor" or candidate.minor == installed.minor


@dataclass(frozen=True)
class Plan:
    """What ``run`` would do: ``path`` ends at ``target``; empty when there is nothing to do."""

    installed: str | None
    target: str | None
    path: tuple[str, ...] = ()
    major_available: str | None = None
    quarantined: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.target is None


def plan(
    releases: Sequence[Mapping[str, Any]],
    installed: str | None,
    *,
    allow: str = "minor",
    to: str | None = None,
    allow_major: bool = False,
    quarantined: Collection[str] = (),
    recent: Collection[str] = (),
) -> Plan:
    """Decide the target release and the path to it; raises ``PlanError`` for an impossible ``to``.

    ``releases`` are index entries with ``version`` and optional ``min_from``; their versions
    have been validated. Pre-releases are chosen only when ``to`` names one; quarantined
    versions are skipped unless ``to`` names them, and so are ``recent`` ones (not yet public
    for the project's ``min_age``).
    """
    by_version = {parse_version(entry["version"]): entry for entry in releases}
    current = parse_version(installed) if installed else None
    policy = "major" if allow_major else allow
    held = tuple(sorted(
        (v for v in quarantined if v in {str(version) for version in by_version}),
        key=parse_version,
    ))
    if to is not None:
        return _plan_to(by_version, current, installed, to, policy, held)

    candidates = [
        version for version in by_version
        if not version.prerelease and str(version) not in held and str(version) not in recent
        and (current is None or version > current)
    ]
    allowed = [v for v in candidates if current is None or admits(policy, current, v)]
    refused = [v for v in candidates if current is not None and not admits(policy, current, v)]
    major = max((v for v in refused if current is not None and v.major != current.major),
                default=None)
    if not allowed:
        return Plan(installed, None, (), _text(major), held)
    target = max(allowed)
    return Plan(installed, str(target), _path(by_version, current, target, (*held, *recent)),
                _text(major), held)


def _plan_to(by_version: dict[semver.Version, Mapping[str, Any]], current: semver.Version | None,
             installed: str | None, to: str, policy: str, held: tuple[str, ...]) -> Plan:
    try:
        wanted = parse_version(to)
    except ValueError as error:
        raise PlanError(f"--to: {error}") from None
    if wanted not in by_version:
        raise PlanError(f"--to {to}: the feed has no release {to}")
    if current is not None:
        if wanted == current:
            return Plan(installed, None, (), None, held)
        if wanted < current:
            raise PlanError(
                f"--to {to}: {to} is older than the installed {installed}; "
                "'upgrader rollback' goes back to the release that ran before"
            )
        # --to picks a release explicitly: only crossing a major still needs --allow-major.
        if wanted.major != current.major and policy != "major":
            raise PlanError(
                f"--to {to}: moving from {installed} to {to} crosses a major version; "
                "pass --allow-major once its release notes' manual steps are done"
            )
    # Intermediate stops skip quarantined releases; the one named by --to is taken anyway.
    path = _path(by_version, current, wanted, tuple(v for v in held if v != to))
    return Plan(installed, to, path, None, held)


def _path(by_version: Mapping[semver.Version, Mapping[str, Any]], current: semver.Version | None,
          target: semver.Version, held: Collection[str]) -> tuple[str, ...]:
    """The releases to install in turn to reach ``target`` from ``current``, honouring min_from.

    Each hop goes to the newest release up to ``target`` that may be installed straight from
    where the previous hop left the server (its ``min_from`` is at most that version).
    """
    if current is None:
        return (str(target),)
    hops: list[str] = []
    position = current
    while position < target:
        reachable = [
            version for version, entry in by_version.items()
            if position < version <= target and _may_come_from(entry, position)
            and (version == target or (not version.prerelease and str(version) not in held))
        ]
        if not reachable:
            raise PlanError(
                f"no upgrade path from {current} to {target}: {target} needs at least "
                f"{by_version[target].get('min_from')} and no release in between can be installed "
                f"from {position}"
            )
        position = max(reachable)
        hops.append(str(position))
    return tuple(hops)


def age_seconds(text: str) -> float:
    """``min_age`` (``30m``, ``12h``, ``3d``, ``1w``) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return float(text[:-1]) * units[text[-1]]


def too_recent(releases: Sequence[Mapping[str, Any]], min_age: str | None, now: datetime) -> set[str]:
    """The versions released less than ``min_age`` before ``now`` (those with a ``released``)."""
    if not min_age:
        return set()
    limit = age_seconds(min_age)
    recent = set()
    for entry in releases:
        if entry.get("released"):
            released = datetime.fromisoformat(entry["released"].replace("Z", "+00:00"))
            if released.tzinfo is None:
                released = released.replace(tzinfo=UTC)
            if (now - released).total_seconds() < limit:
                recent.add(entry["version"])
    return recent


def _may_come_from(entry: Mapping[str, Any], version: semver.Version) -> bool:
    minimum = entry.get("min_from")
    return minimum is None or version >= parse_version(minimum)


def _text(version: semver.Version | None) -> str | None:
    return None if version is None else str(version)
