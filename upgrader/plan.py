"""Which release to install, decided by pure functions over the feed's index (DESIGN §3).

``plan`` takes what is installed, the releases the feed lists, the project's ``allow`` policy,
the quarantined versions and the operator's ``--to``/``--allow-major``, and returns the target,
the path of upgrade stops that leads there, and any major upgrade that policy holds back. It does
no I/O, so every rule is tested by a table.

A release may be held back from this server (DESIGN §10): withdrawn by its publisher
(``yanked``), outside its staged rollout (``phase``: this server's ``rollout_bucket`` is not
below it), quarantined or held here, or younger than ``min_age``. A held-back release is neither
a target nor a stop on the way to one; ``--to`` installs it all the same, but for a withdrawn
one, which needs ``--allow-yanked`` too.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
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


def rollout_bucket(machine_id: str, product: str) -> int:
    """This server's place (0-99) in every staged rollout of ``product`` (DESIGN §10): a release
    of phase P reaches it when the bucket is below P. The same id and product always give the
    same bucket, so a raised phase only adds servers."""
    return int(hashlib.sha256((machine_id + product).encode()).hexdigest()[:8], 16) % 100


def phase_of(entry: Mapping[str, Any]) -> int:
    """The share (percent) of servers an index entry is offered to: its ``phase``, 100 without one."""
    phase = entry.get("phase")
    return 100 if phase is None else int(phase)


def offered(entry: Mapping[str, Any], bucket: int | None) -> bool:
    """Whether the staged rollout of ``entry`` reaches the server in ``bucket`` (None: a server
    that does not know its bucket, which every rollout reaches — there is no phase to honour)."""
    return bucket is None or bucket < phase_of(entry)


def one_line(text: str) -> str:
    """``text`` (a publisher's reason) on one line, its runs of whitespace made single spaces."""
    return " ".join(str(text).split())


HELD_BACK_REASONS = ("yanked", "quarantined", "phase", "min_age")  # when several hold, the first is said


@dataclass(frozen=True)
class HeldBack:
    """A release newer than the installed one that ``allow`` admits but this server does not
    take: ``why`` one of ``HELD_BACK_REASONS``, ``detail`` the same in words."""

    version: str
    why: str
    detail: str


@dataclass(frozen=True)
class Plan:
    """What ``run`` would do: ``path`` ends at ``target``; empty when there is nothing to do.
    ``held_back``: the admitted releases not taken, oldest first; ``rollout_bucket``: this
    server's bucket in the feed's staged rollouts (None when not known)."""

    installed: str | None
    target: str | None
    path: tuple[str, ...] = ()
    major_available: str | None = None
    quarantined: tuple[str, ...] = ()
    held_back: tuple[HeldBack, ...] = ()
    rollout_bucket: int | None = None

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
    bucket: int | None = None,
    allow_yanked: bool = False,
    stops: Collection[str] = (),
) -> Plan:
    """Decide the target release and the path to it; raises ``PlanError`` for an impossible ``to``.

    ``releases`` are index entries with ``version`` and optional ``min_from``, ``phase`` and
    ``yanked``; their versions have been validated. Pre-releases are chosen only when ``to``
    names one. Held back (see the module's docstring) and never a stop on the way: a ``yanked``
    release, one whose ``phase`` this server's ``bucket`` is not below, a ``quarantined`` one
    and a ``recent`` one (not yet public for the project's ``min_age``); ``to`` takes any of them
    as its target, a yanked one only with ``allow_yanked``. Without ``to`` the target is the
    newest admitted release not held back that a path reaches (a held-back upgrade stop can
    leave a newer release out of reach: the server stays on the way, not stuck); when only a
    phased-out or withdrawn stop is missing, there is nothing to do yet (no ``PlanError``).

    ``stops`` (project.yaml's) are upgrade stops the feed does not state: a stop S gives every
    release above S the ``min_from`` S for a server below S, so that such a server goes to S
    first. ``to`` may name a series, ``3.14``: the newest 3.14.x the feed has (not withdrawn,
    unless ``allow_yanked``; never a pre-release).
    """
    by_version = {parse_version(entry["version"]): _with_stops(entry, stops) for entry in releases}
    current = parse_version(installed) if installed else None
    policy = "major" if allow_major else allow
    held = tuple(sorted(
        (v for v in quarantined if v in {str(version) for version in by_version}),
        key=parse_version,
    ))
    held_back = _held_back(by_version, current, policy, held, recent, bucket)
    avoided = {str(version) for version, entry in by_version.items()
               if entry.get("yanked") or not offered(entry, bucket)}
    if to is not None:
        decided = _plan_to(by_version, current, installed, to, policy, held, avoided, allow_yanked)
        return replace(decided, held_back=held_back, rollout_bucket=bucket)

    skipped = {*held, *recent, *avoided}
    candidates = [
        version for version in by_version
        if not version.prerelease and str(version) not in skipped
        and (current is None or version > current)
    ]
    allowed = [v for v in candidates if current is None or admits(policy, current, v)]
    refused = [v for v in candidates if current is not None and not admits(policy, current, v)]
    major = max((v for v in refused if current is not None and v.major != current.major),
                default=None)
    if not allowed:
        return Plan(installed, None, (), _text(major), held, held_back, bucket)
    try:
        target, path = _newest_reachable(by_version, current, allowed, skipped)
    except PlanError:
        if not avoided:
            raise
        # Only a stop its publisher holds back from this server (phased out, withdrawn) is missing:
        # nothing to do until the rollout reaches it or a new stop is published — not an error
        # every night. (Raises when no path exists even through those.)
        _newest_reachable(by_version, current, allowed, {*held, *recent})
        return Plan(installed, None, (), _text(major), held, held_back, bucket)
    return Plan(installed, str(target), path, _text(major), held, held_back, bucket)


def _newest_reachable(by_version: Mapping[semver.Version, Mapping[str, Any]], current: semver.Version | None,
                      allowed: Sequence[semver.Version], skipped: Collection[str]) -> tuple[semver.Version,
                                                                                          tuple[str, ...]]:
    """The newest of ``allowed`` that a path of stops not ``skipped`` reaches, and that path;
    raises the ``PlanError`` of the newest when none is reachable."""
    newest_error: PlanError | None = None
    for target in sorted(allowed, reverse=True):
        try:
            return target, _path(by_version, current, target, skipped)
        except PlanError as error:
            newest_error = newest_error or error
    assert newest_error is not None  # noqa: S101 - allowed is never empty here
    raise newest_error


def _held_back(by_version: Mapping[semver.Version, Mapping[str, Any]], current: semver.Version | None,
               policy: str, held: Collection[str], recent: Collection[str], bucket: int | None) -> tuple[HeldBack, ...]:
    """The releases newer than ``current`` that ``policy`` admits (pre-releases aside) but that
    this server does not take, oldest first, each with its first reason of ``HELD_BACK_REASONS``."""
    found = []
    for version in sorted(by_version):
        if version.prerelease or (current is not None and (version <= current or not admits(policy, current, version))):
            continue
        entry, text = by_version[version], str(version)
        if entry.get("yanked"):
            found.append(HeldBack(text, "yanked", f"withdrawn by its publisher: {one_line(entry['yanked'])}"))
        elif text in held:
            found.append(HeldBack(text, "quarantined", "quarantined or held on this server"))
        elif not offered(entry, bucket):
            found.append(HeldBack(text, "phase", f"staged rollout at {phase_of(entry)}% of servers, not yet this "
                                                 f"one (its rollout bucket is {bucket})"))
        elif text in recent:
            found.append(HeldBack(text, "min_age", "released more recently than project.yaml's min_age"))
    return tuple(found)


SERIES = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


def newest_of_series(versions: Collection[semver.Version], series: str,
                     withdrawn: Collection[semver.Version] = ()) -> semver.Version | None:
    """The newest of ``versions`` in ``series`` (``3.14``: 3.14.x), pre-releases and
    ``withdrawn`` ones aside; None when there is none."""
    major, minor = (int(part) for part in series.split("."))
    found = [version for version in versions if (version.major, version.minor) == (major, minor)
             and not version.prerelease and version not in withdrawn]
    return max(found, default=None)


def _plan_to(by_version: dict[semver.Version, Mapping[str, Any]], current: semver.Version | None,
             installed: str | None, to: str, policy: str, held: tuple[str, ...], avoided: Collection[str],
             allow_yanked: bool) -> Plan:
    if SERIES.match(to):
        pulled = [] if allow_yanked else [v for v, entry in by_version.items() if entry.get("yanked")]
        newest = newest_of_series(list(by_version), to, pulled)
        if newest is None:
            raise PlanError(f"--to {to}: the feed has no {to}.x release" +
                            (" that was not withdrawn (--allow-yanked takes one)" if pulled and
                             newest_of_series(list(by_version), to) else ""))
        to = str(newest)
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
    withdrawn = by_version[wanted].get("yanked")
    if withdrawn and not allow_yanked:
        raise PlanError(f"--to {to}: release {to} was withdrawn by its publisher: {one_line(withdrawn)}; "
                        "pass --allow-yanked to install it anyway")
    # Intermediate stops skip quarantined, withdrawn and phased-out releases; the one named by
    # --to is taken anyway (the operator asked for it).
    path = _path(by_version, current, wanted, {v for v in (*held, *avoided) if v != to})
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
            stop = " (a stop in project.yaml's stops)" if by_version[target].get("min_from_stop") else ""
            raise PlanError(
                f"no upgrade path from {current} to {target}: {target} needs at least "
                f"{by_version[target].get('min_from')}{stop} and no release in between can be installed "
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


def _with_stops(entry: Mapping[str, Any], stops: Collection[str]) -> Mapping[str, Any]:
    """``entry`` with the ``min_from`` that ``stops`` give it: the highest stop below its version,
    when that is above its own ``min_from`` (a stop the feed states too changes nothing)."""
    if not stops:
        return entry
    version = parse_version(entry["version"])
    below = [parse_version(stop) for stop in stops if parse_version(stop) < version]
    if not below:
        return entry
    stop = max(below)
    stated = entry.get("min_from")
    if stated is not None and parse_version(stated) >= stop:
        return entry
    return {**entry, "min_from": str(stop), "min_from_stop": True}


def _may_come_from(entry: Mapping[str, Any], version: semver.Version) -> bool:
    minimum = entry.get("min_from")
    return minimum is None or version >= parse_version(minimum)


def _text(version: semver.Version | None) -> str | None:
    return None if version is None else str(version)
