"""The version policy (DESIGN §3): which release ``run`` installs, and the stops on the way there.

``plan`` is pure, so every rule is a row of a table: the releases the feed lists, what is
installed, the options, and the plan expected. A release is written ``"1.3.0"``, or
``"1.3.0 from 1.2.0"`` for one whose ``min_from`` is 1.2.0.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

import pytest
import semver

from upgrader.errors import EXIT_USAGE, UsageError
from upgrader.plan import Plan, PlanError, admits, offered, parse_version, plan, rollout_bucket


def feed(*specs: str) -> list[dict[str, Any]]:
    """Index entries from ``"VERSION"`` or ``"VERSION from MIN_FROM"``."""
    entries = []
    for spec in specs:
        version, _, minimum = spec.partition(" from ")
        entry: dict[str, Any] = {"version": version, "archive": f"acme-server-{version}.tar.gz",
                                 "sha256": "a" * 64, "size": 1000}
        if minimum:
            entry["min_from"] = minimum
        entries.append(entry)
    return entries


STD = feed("1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.2.0", "2.0.0", "2.1.0")
# Upgrade stops: 1.3.0 and 1.4.0 may be installed only from 1.2.0 or later.
STOPS = feed("1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0 from 1.2.0", "1.4.0 from 1.2.0")


def expect(target: str | None, path: Sequence[str] = (), major: str | None = None,
           quarantined: Sequence[str] = ()) -> dict[str, Any]:
    return {"target": target, "path": tuple(path), "major_available": major,
            "quarantined": tuple(quarantined)}


def check(result: Plan, installed: str | None, expected: dict[str, Any]) -> None:
    assert result.installed == installed
    assert {
        "target": result.target, "path": result.path, "major_available": result.major_available,
        "quarantined": result.quarantined,
    } == expected
    assert result.up_to_date is (expected["target"] is None)
    if result.target is not None:
        assert result.path[-1] == result.target


# -- which release an unattended run takes ----------------------------------------------------

POLICY = [
    pytest.param(STD, "1.0.0", {"allow": "patch"}, expect("1.0.2", ["1.0.2"], "2.1.0"),
                 id="allow-patch-stays-on-the-minor"),
    pytest.param(STD, "1.0.0", {"allow": "minor"}, expect("1.2.0", ["1.2.0"], "2.1.0"),
                 id="allow-minor-stays-on-the-major"),
    pytest.param(STD, "1.0.0", {"allow": "major"}, expect("2.1.0", ["2.1.0"]),
                 id="allow-major-takes-the-newest"),
    pytest.param(STD, "1.0.0", {}, expect("1.2.0", ["1.2.0"], "2.1.0"),
                 id="default-allow-is-minor"),
    pytest.param(STD, "1.1.0", {}, expect("1.2.0", ["1.2.0"], "2.1.0"),
                 id="newest-above-the-installed"),
    pytest.param(STD, "1.0.1", {"allow": "patch"}, expect("1.0.2", ["1.0.2"], "2.1.0"),
                 id="patch-from-a-patch"),
    pytest.param(STD, "1.2.0", {"allow": "patch"}, expect(None, [], "2.1.0"),
                 id="patch-with-nothing-newer-on-the-minor"),
    pytest.param(STD, None, {}, expect("2.1.0", ["2.1.0"]),
                 id="first-install-takes-the-newest"),
    pytest.param(STD, None, {"allow": "patch"}, expect("2.1.0", ["2.1.0"]),
                 id="first-install-is-not-bound-by-allow"),
    pytest.param(STOPS, None, {}, expect("1.4.0", ["1.4.0"]),
                 id="first-install-ignores-min_from"),
    pytest.param(feed("1.0.0", "2.0.0-rc.1"), None, {}, expect("1.0.0", ["1.0.0"]),
                 id="first-install-skips-pre-releases"),
    pytest.param(feed("1.0.0", "1.1.0", "2.0.0", "2.1.0"), "1.0.0", {},
                 expect("1.1.0", ["1.1.0"], "2.1.0"),
                 id="major-held-back-minor-still-applied"),
    pytest.param(feed("1.0.0", "1.1.0", "2.0.0"), "1.1.0", {}, expect(None, [], "2.0.0"),
                 id="only-a-major-available"),
    pytest.param(STD, "2.1.0", {}, expect(None), id="up-to-date"),
    pytest.param(STD, "3.0.0", {}, expect(None), id="installed-newer-than-the-feed"),
    pytest.param(STD, "1.0.0", {"allow_major": True}, expect("2.1.0", ["2.1.0"]),
                 id="allow-major-flag-crosses"),
    pytest.param(STD, "1.0.0", {"allow": "patch", "allow_major": True}, expect("2.1.0", ["2.1.0"]),
                 id="allow-major-flag-overrides-allow-patch"),
    pytest.param(feed("1.1.0", "1.2.0-rc.1"), "1.1.0", {}, expect(None),
                 id="pre-release-never-chosen"),
    pytest.param(feed("1.0.0", "2.0.0-rc.1"), "1.0.0", {}, expect(None),
                 id="pre-release-major-is-not-announced"),
    pytest.param(feed("1.2.0-rc.1", "1.2.0"), "1.2.0-rc.1", {}, expect("1.2.0", ["1.2.0"]),
                 id="release-is-newer-than-its-pre-release"),
    pytest.param(feed("1.0.0", "1.1.0", "1.2.0"), "1.0.0", {"quarantined": ["1.2.0"]},
                 expect("1.1.0", ["1.1.0"], quarantined=["1.2.0"]),
                 id="quarantined-newest-skipped"),
    pytest.param(feed("1.0.0", "1.1.0", "1.2.0"), "1.0.0", {"quarantined": ["1.1.0"]},
                 expect("1.2.0", ["1.2.0"], quarantined=["1.1.0"]),
                 id="newer-release-than-the-quarantined-one-chosen"),
    pytest.param(feed("1.0.0", "1.2.0"), "1.0.0", {"quarantined": ["1.2.0"]},
                 expect(None, quarantined=["1.2.0"]),
                 id="only-a-quarantined-release-newer"),
    pytest.param(feed("1.0.0", "1.1.0"), None, {"quarantined": ["1.1.0"]},
                 expect("1.0.0", ["1.0.0"], quarantined=["1.1.0"]),
                 id="first-install-skips-quarantined"),
]


@pytest.mark.parametrize(("releases", "installed", "options", "expected"), POLICY)
def test_policy(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
                expected: dict[str, Any]) -> None:
    check(plan(releases, installed, **options), installed, expected)


# -- --to picks a release explicitly ----------------------------------------------------------

TO = [
    pytest.param(STD, "1.0.0", {"to": "1.1.0"}, expect("1.1.0", ["1.1.0"]),
                 id="to-an-older-than-newest-release"),
    pytest.param(STD, "1.0.0", {"to": "1.0.1"}, expect("1.0.1", ["1.0.1"]), id="to-a-patch"),
    pytest.param(STD, "1.1.0", {"to": "1.1.0"}, expect(None), id="to-the-installed-is-nothing-to-do"),
    pytest.param(STD, None, {"to": "1.1.0"}, expect("1.1.0", ["1.1.0"]), id="to-on-first-install"),
    pytest.param(STD, "1.0.0", {"to": "2.0.0", "allow_major": True}, expect("2.0.0", ["2.0.0"]),
                 id="to-across-a-major-with-allow-major"),
    pytest.param(STD, "1.0.0", {"to": "2.0.0", "allow": "major"}, expect("2.0.0", ["2.0.0"]),
                 id="to-across-a-major-under-allow-major-policy"),
    pytest.param(STD, "1.0.0", {"to": "1.1.0", "allow": "patch"}, expect("1.1.0", ["1.1.0"]),
                 id="to-a-minor-under-allow-patch"),
    pytest.param(feed("1.1.0", "1.2.0-rc.1"), "1.1.0", {"to": "1.2.0-rc.1"},
                 expect("1.2.0-rc.1", ["1.2.0-rc.1"]), id="to-a-pre-release"),
    pytest.param(feed("1.0.0", "1.1.0", "1.2.0"), "1.0.0", {"to": "1.2.0", "quarantined": ["1.2.0"]},
                 expect("1.2.0", ["1.2.0"], quarantined=["1.2.0"]), id="to-a-quarantined-release"),
]


@pytest.mark.parametrize(("releases", "installed", "options", "expected"), TO)
def test_to(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
            expected: dict[str, Any]) -> None:
    check(plan(releases, installed, **options), installed, expected)


@pytest.mark.parametrize(
    ("releases", "installed", "options", "match"),
    [
        pytest.param(STD, "1.2.0", {"to": "1.1.0"}, r"older than the installed 1\.2\.0.*upgrader rollback",
                     id="older-is-a-rollback"),
        pytest.param(feed("1.2.0-rc.1", "1.2.0"), "1.2.0", {"to": "1.2.0-rc.1"}, "rollback",
                     id="pre-release-of-the-installed-is-older"),
        pytest.param(STD, "1.0.0", {"to": "9.9.9"}, r"--to 9\.9\.9: the feed has no release 9\.9\.9",
                     id="unknown-version"),
        pytest.param(STD, None, {"to": "9.9.9"}, "no release 9.9.9", id="unknown-on-first-install"),
        pytest.param(STD, "1.0.0", {"to": "latest"}, r"^--to: 'latest' is not a semantic version",
                     id="not-a-version"),
        pytest.param(STD, "1.0.0", {"to": "2.0.0"}, r"crosses a major version; pass --allow-major",
                     id="crossing-a-major-needs-allow-major"),
        pytest.param(STD, "1.0.0", {"to": "2.0.0", "allow": "patch"}, "--allow-major",
                     id="crossing-a-major-under-allow-patch"),
    ],
)
def test_to_refused(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
                    match: str) -> None:
    with pytest.raises(PlanError, match=match) as caught:
        plan(releases, installed, **options)
    assert isinstance(caught.value, UsageError)
    assert caught.value.exit_code == EXIT_USAGE


# -- upgrade stops (min_from) -----------------------------------------------------------------

PATHS = [
    pytest.param(STOPS, "1.0.0", {}, expect("1.4.0", ["1.2.1", "1.4.0"]),
                 id="from-1.0.0-through-the-newest-stop"),
    pytest.param(STOPS, "1.1.0", {}, expect("1.4.0", ["1.2.1", "1.4.0"]), id="from-1.1.0"),
    pytest.param(STOPS, "1.2.0", {}, expect("1.4.0", ["1.4.0"]), id="from-1.2.0-straight"),
    pytest.param(STOPS, "1.2.1", {}, expect("1.4.0", ["1.4.0"]), id="from-1.2.1-straight"),
    pytest.param(STOPS, "1.3.0", {}, expect("1.4.0", ["1.4.0"]), id="from-1.3.0-straight"),
    pytest.param(STOPS, "1.0.0", {"to": "1.3.0"}, expect("1.3.0", ["1.2.1", "1.3.0"]),
                 id="to-with-a-stop"),
    pytest.param(feed("1.0.0", "1.1.0", "1.2.0 from 1.1.0", "1.3.0 from 1.2.0"), "1.0.0", {},
                 expect("1.3.0", ["1.1.0", "1.2.0", "1.3.0"]), id="chain-of-two-stops"),
    pytest.param(feed("1.0.0", "1.0.5", "1.1.0 from 1.0.5", "1.1.3 from 1.0.5", "1.2.0 from 1.1.3"),
                 "1.0.0", {}, expect("1.2.0", ["1.0.5", "1.1.3", "1.2.0"]),
                 id="each-hop-the-newest-reachable"),
    # min_from binds only its own release: a later one without it may be installed from anything.
    pytest.param(feed("1.0.0", "1.0.5", "1.1.0 from 1.0.5", "1.1.3"), "1.0.0", {},
                 expect("1.1.3", ["1.1.3"]), id="min_from-binds-only-its-own-release"),
    pytest.param(STOPS, "1.0.0", {"quarantined": ["1.2.1"]},
                 expect("1.4.0", ["1.2.0", "1.4.0"], quarantined=["1.2.1"]),
                 id="quarantined-release-is-not-a-stop"),
    pytest.param(STOPS, "1.0.0", {"to": "1.4.0", "quarantined": ["1.2.1"]},
                 expect("1.4.0", ["1.2.0", "1.4.0"], quarantined=["1.2.1"]),
                 id="quarantined-release-is-not-a-stop-with-to"),
    pytest.param(feed("1.0.0", "1.2.0", "1.2.5-rc.1", "1.4.0 from 1.2.0"), "1.0.0", {},
                 expect("1.4.0", ["1.2.0", "1.4.0"]), id="pre-release-is-not-a-stop"),
    pytest.param(feed("1.0.0", "1.5.0", "2.0.0 from 1.5.0"), "1.0.0", {"allow_major": True},
                 expect("2.0.0", ["1.5.0", "2.0.0"]), id="stop-before-a-major"),
]


@pytest.mark.parametrize(("releases", "installed", "options", "expected"), PATHS)
def test_upgrade_stops(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
                       expected: dict[str, Any]) -> None:
    check(plan(releases, installed, **options), installed, expected)


@pytest.mark.parametrize(
    ("releases", "options"),
    [
        pytest.param(feed("1.0.0", "1.3.0 from 1.2.0"), {}, id="no-release-in-between"),
        pytest.param(feed("1.0.0", "1.2.0 from 1.1.0", "1.3.0 from 1.2.0"), {},
                     id="the-stop-needs-a-stop-too"),
        pytest.param(feed("1.0.0", "1.2.0", "1.4.0 from 1.2.0"), {"quarantined": ["1.2.0"]},
                     id="the-only-stop-is-quarantined"),
        pytest.param(feed("1.0.0", "1.2.0-rc.1", "1.4.0 from 1.2.0-rc.1"), {},
                     id="the-only-stop-is-a-pre-release"),
        pytest.param(feed("1.0.0", "1.3.0 from 1.2.0"), {"to": "1.3.0"}, id="with-to"),
    ],
)
def test_impossible_path(releases: list[dict[str, Any]], options: dict[str, Any]) -> None:
    with pytest.raises(PlanError, match=r"^no upgrade path from 1\.0\.0 to 1\.[34]\.0: .* needs at least"):
        plan(releases, "1.0.0", **options)


# -- versions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["1.0", "v1.0.0", "../1.0.0", "1.0.0/../../x", "", "1.0.0.0", "01.0.0", "1.0.0-", " 1.0.0",
     "latest", None, 100],
    ids=["two-parts", "v-prefix", "dot-dot", "path", "empty", "four-parts", "leading-zero",
         "empty-pre-release", "leading-space", "word", "none", "int"],
)
def test_parse_version_refuses(text: Any) -> None:
    with pytest.raises(ValueError, match="is not a semantic version"):
        parse_version(text)


@pytest.mark.parametrize(
    ("text", "parts"),
    [("1.2.3", (1, 2, 3, None, None)), ("0.0.1", (0, 0, 1, None, None)),
     ("1.2.3-rc.1+build.5", (1, 2, 3, "rc.1", "build.5"))],
)
def test_parse_version(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_version(text).to_tuple() == parts


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("1.2.0-rc.1", "1.2.0"), ("1.2.0-alpha", "1.2.0-beta"), ("1.2.0-rc.2", "1.2.0-rc.10"),
     ("1.9.0", "1.10.0"), ("1.2.0", "1.2.1-rc.1")],
)
def test_version_order(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)


def test_plan_refuses_an_invalid_installed_version() -> None:
    with pytest.raises(ValueError, match=r"'1\.0' is not a semantic version"):
        plan(STD, "1.0")


@pytest.mark.parametrize(
    ("allow", "installed", "candidate", "admitted"),
    [("patch", "1.0.0", "1.0.5", True), ("patch", "1.0.0", "1.1.0", False),
     ("minor", "1.0.0", "1.9.0", True), ("minor", "1.0.0", "2.0.0", False),
     ("major", "1.0.0", "3.0.0", True)],
)
def test_admits(allow: str, installed: str, candidate: str, admitted: bool) -> None:
    assert admits(allow, semver.Version.parse(installed), semver.Version.parse(candidate)) is admitted


def test_quarantine_names_only_releases_the_feed_lists_oldest_first() -> None:
    result = plan(feed("1.0.0", "1.1.0", "1.10.0", "1.2.0"), "1.0.0",
                  quarantined=["1.10.0", "1.1.0", "0.9.0"])
    assert result.quarantined == ("1.1.0", "1.10.0")
    assert result.target == "1.2.0"


# -- one definition of a version (index.json, release.json, the plan) ---------------------------------


def _schema_patterns() -> dict[str, str]:
    from upgrader import resources

    index = resources.schema("index.schema.json")["properties"]["releases"]["items"]["properties"]
    release = resources.schema("release.schema.json")["properties"]
    return {"index version": index["version"]["pattern"], "index min_from": index["min_from"]["pattern"],
            "release version": release["version"]["pattern"]}


def test_the_schemas_and_the_plan_share_one_version_pattern() -> None:
    from upgrader.plan import version_pattern

    assert set(_schema_patterns().values()) == {version_pattern().pattern}


@pytest.mark.parametrize(
    "text",
    ["1.0.0-01", "1.0.0-rc.01", "1.0.0-alpha..1", "1.0.0-.a", "1.0.0-a.", "1.0.0+", "1.0.0+a..b", "1.0.0\n",
     "1.0.0-a\n", "1\u0661.0.0", "1.0.0-\u0661", "\u0661.0.0"],
)
def test_what_semver_refuses_the_schemas_refuse(text: str) -> None:
    from upgrader.validation import check

    with pytest.raises(ValueError):
        semver.Version.parse(text)
    with pytest.raises(ValueError, match="is not a semantic version"):
        parse_version(text)
    document = {"product": "acme", "version": text, "images": ["a:1"]}
    assert check(document, "release.schema.json") != [], text
    index = {"schema": 1, "product": "acme", "releases": [
        {"version": text, "archive": "a.tar.gz", "sha256": "a" * 64, "size": 1},
        {"version": "9.0.0", "archive": "b.tar.gz", "sha256": "a" * 64, "size": 1, "min_from": text}]}
    assert len(check(index, "index.schema.json")) == 2, text


@pytest.mark.parametrize("text", ["0.0.0", "1.0.0-0", "1.0.0-0a", "1.0.0-a-b.-1.0", "1.0.0--", "1.0.0+01.0a",
                                  "10.20.30-rc.1+build.5", "1.0.0-x.7.z.92"])
def test_what_semver_accepts_the_schemas_accept(text: str) -> None:
    from upgrader.validation import check

    assert str(parse_version(text)) == text
    assert check({"product": "acme", "version": text, "images": ["a:1"]}, "release.schema.json") == []


def test_anything_the_schemas_accept_parses() -> None:
    """Every string the version pattern matches (drawn by hypothesis from the pattern itself)
    passes both schemas and parses: no version that validates can crash the plan."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from upgrader.plan import version_pattern
    from upgrader.validation import check

    @settings(max_examples=300, deadline=None)
    @given(st.from_regex(version_pattern(), fullmatch=True).filter(lambda text: len(text) <= 128))
    def parses(text: str) -> None:
        assert check({"product": "acme", "version": text, "images": ["a:1"]}, "release.schema.json") == []
        assert str(parse_version(text)) == text

    parses()


# -- staged rollouts (phase) and withdrawals (yanked), DESIGN §10 ------------------------------------


def marked(releases: list[dict[str, Any]], **fields: dict[str, Any]) -> list[dict[str, Any]]:
    """``releases`` with extra index fields per version: ``marked(STD, **{"1.2.0": {"phase": 10}})``."""
    return [{**entry, **fields.get(entry["version"], {})} for entry in releases]


BUCKET = 42  # this server's place in every rollout, in these rows
OUT = {"phase": BUCKET}  # offered to buckets 0..41: not to this server
IN = {"phase": BUCKET + 1}
YANKED = {"yanked": "corrupts uploads\non ext4"}

HELD_BACK_PLANS = [
    pytest.param(marked(STD, **{"1.2.0": OUT}), "1.0.0", {}, expect("1.1.0", ["1.1.0"], "2.1.0"),
                 [("1.2.0", "phase")], id="phased-out-newest-falls-back"),
    pytest.param(marked(STD, **{"1.2.0": IN}), "1.0.0", {}, expect("1.2.0", ["1.2.0"], "2.1.0"), [],
                 id="phase-above-the-bucket-is-taken"),
    pytest.param(marked(STD, **{"1.2.0": {"phase": 0}}), "1.0.0", {"bucket": 0},
                 expect("1.1.0", ["1.1.0"], "2.1.0"), [("1.2.0", "phase")], id="phase-0-reaches-nobody"),
    pytest.param(marked(STD, **{"1.2.0": {"phase": 100}}), "1.0.0", {"bucket": 99},
                 expect("1.2.0", ["1.2.0"], "2.1.0"), [], id="phase-100-reaches-everybody"),
    pytest.param(marked(STD, **{"1.2.0": OUT}), "1.0.0", {"bucket": None},
                 expect("1.2.0", ["1.2.0"], "2.1.0"), [], id="no-bucket-no-phase-honoured"),
    pytest.param(marked(STD, **{"1.2.0": YANKED}), "1.0.0", {}, expect("1.1.0", ["1.1.0"], "2.1.0"),
                 [("1.2.0", "yanked")], id="yanked-newest-falls-back"),
    pytest.param(marked(STD, **{"2.1.0": YANKED}), "1.0.0", {}, expect("1.2.0", ["1.2.0"], "2.0.0"), [],
                 id="a-yanked-major-is-not-announced"),
    pytest.param(marked(STD, **{"2.1.0": YANKED}), None, {}, expect("2.0.0", ["2.0.0"]), [("2.1.0", "yanked")],
                 id="first-install-skips-yanked"),
    pytest.param(marked(STD, **{"2.1.0": OUT, "2.0.0": YANKED}), None, {}, expect("1.2.0", ["1.2.0"]),
                 [("2.0.0", "yanked"), ("2.1.0", "phase")], id="first-install-skips-both"),
    pytest.param(marked(STD, **{"1.1.0": YANKED, "1.2.0": OUT}), "1.0.0", {"quarantined": ["1.0.2"]},
                 expect("1.0.1", ["1.0.1"], "2.1.0", quarantined=["1.0.2"]),
                 [("1.0.2", "quarantined"), ("1.1.0", "yanked"), ("1.2.0", "phase")],
                 id="every-reason-oldest-first"),
    pytest.param(marked(STD, **{"1.2.0": {**YANKED, **OUT}}), "1.0.0", {"quarantined": ["1.2.0"]},
                 expect("1.1.0", ["1.1.0"], "2.1.0", quarantined=["1.2.0"]), [("1.2.0", "yanked")],
                 id="yanked-is-said-before-the-other-reasons"),
    pytest.param(marked(STD, **{"1.2.0": OUT}), "1.0.0", {"recent": {"1.2.0", "1.1.0"}},
                 expect("1.0.2", ["1.0.2"], "2.1.0"), [("1.1.0", "min_age"), ("1.2.0", "phase")],
                 id="phase-before-min-age"),
    pytest.param(marked(STD, **{"2.1.0": OUT}), "1.0.0", {"allow": "patch"}, expect("1.0.2", ["1.0.2"], "2.0.0"),
                 [], id="only-releases-allow-admits-are-held-back"),
    pytest.param(marked(STD, **{"1.0.1": OUT}), "1.0.2", {}, expect("1.2.0", ["1.2.0"], "2.1.0"), [],
                 id="older-than-the-installed-is-not-held-back"),
    # Upgrade stops: a held-back release is never a stop; the plan falls back to what a path reaches.
    pytest.param(marked(STOPS, **{"1.2.1": OUT}), "1.1.0", {}, expect("1.4.0", ["1.2.0", "1.4.0"]),
                 [("1.2.1", "phase")], id="phased-out-stop-is-passed-by-an-older-one"),
    pytest.param(marked(STOPS, **{"1.2.0": YANKED, "1.2.1": YANKED}), "1.1.0", {}, expect(None),
                 [("1.2.0", "yanked"), ("1.2.1", "yanked")], id="no-stop-left-nothing-reachable-is-up-to-date"),
    pytest.param(marked(feed("1.0.0", "1.4.0", "1.5.0", "2.0.0 from 1.5.0"), **{"1.5.0": OUT}), "1.0.0",
                 {"allow": "major"}, expect("1.4.0", ["1.4.0"]), [("1.5.0", "phase")],
                 id="a-phased-out-stop-leaves-the-server-on-the-way-not-stuck"),
]


@pytest.mark.parametrize(("releases", "installed", "options", "expected", "held_back"), HELD_BACK_PLANS)
def test_held_back(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
                   expected: dict[str, Any], held_back: list[tuple[str, str]]) -> None:
    result = plan(releases, installed, **{"bucket": BUCKET, **options})
    check(result, installed, expected)
    assert [(held.version, held.why) for held in result.held_back] == held_back
    assert result.rollout_bucket == options.get("bucket", BUCKET)


def test_held_back_says_why_in_words() -> None:
    result = plan(marked(STD, **{"1.1.0": YANKED, "1.2.0": {"phase": 20}}), "1.0.0", bucket=57,
                  quarantined=["1.0.2"], recent={"1.0.1"})
    assert [held.detail for held in result.held_back] == [
        "released more recently than project.yaml's min_age",
        "quarantined or held on this server",
        "withdrawn by its publisher: corrupts uploads on ext4",
        "staged rollout at 20% of servers, not yet this one (its rollout bucket is 57)",
    ]


TO_HELD_BACK = [
    pytest.param(marked(STD, **{"1.2.0": OUT}), "1.0.0", {"to": "1.2.0"}, expect("1.2.0", ["1.2.0"]),
                 id="to-installs-a-phased-out-release"),
    pytest.param(marked(STD, **{"1.2.0": YANKED}), "1.0.0", {"to": "1.2.0", "allow_yanked": True},
                 expect("1.2.0", ["1.2.0"]), id="to-installs-a-yanked-release-with-allow-yanked"),
    pytest.param(marked(STOPS, **{"1.2.1": OUT}), "1.0.0", {"to": "1.4.0"}, expect("1.4.0", ["1.2.0", "1.4.0"]),
                 id="to-never-stops-at-a-phased-out-release"),
    pytest.param(marked(STOPS, **{"1.2.1": YANKED}), "1.0.0", {"to": "1.4.0", "allow_yanked": True},
                 expect("1.4.0", ["1.2.0", "1.4.0"]), id="allow-yanked-is-not-a-yanked-stop"),
    pytest.param(marked(STOPS, **{"1.2.1": OUT}), "1.0.0", {"to": "1.2.1"}, expect("1.2.1", ["1.2.1"]),
                 id="to-a-phased-out-stop-itself"),
]


@pytest.mark.parametrize(("releases", "installed", "options", "expected"), TO_HELD_BACK)
def test_to_held_back(releases: list[dict[str, Any]], installed: str | None, options: dict[str, Any],
                      expected: dict[str, Any]) -> None:
    check(plan(releases, installed, bucket=BUCKET, **options), installed, expected)


def test_to_a_yanked_release_is_refused_in_one_line_naming_the_flag() -> None:
    with pytest.raises(PlanError) as caught:
        plan(marked(STD, **{"1.2.0": YANKED}), "1.0.0", to="1.2.0", bucket=BUCKET)
    assert str(caught.value) == ("--to 1.2.0: release 1.2.0 was withdrawn by its publisher: corrupts uploads on "
                                 "ext4; pass --allow-yanked to install it anyway")
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("stop", [pytest.param(YANKED, id="yanked"), pytest.param(OUT, id="phased-out")])
def test_to_through_only_a_held_back_stop_has_no_path(stop: dict[str, Any]) -> None:
    releases = marked(feed("1.0.0", "1.2.0", "1.4.0 from 1.2.0"), **{"1.2.0": stop})
    with pytest.raises(PlanError, match=r"^no upgrade path from 1\.0\.0 to 1\.4\.0"):
        plan(releases, "1.0.0", to="1.4.0", bucket=BUCKET, allow_yanked=True)


# -- the rollout bucket --------------------------------------------------------------------------


SERVERS = [hashlib.sha256(f"server-{number}".encode()).hexdigest()[:32] for number in range(10_000)]


@pytest.mark.parametrize("phase", [1, 10, 20, 50, 75, 99])
def test_the_share_that_takes_a_release_is_its_phase(phase: int) -> None:
    """Among 10 000 simulated servers, the share a release of phase P reaches is P ± 2 points."""
    entry = {"version": "1.1.0", "phase": phase}
    taking = sum(offered(entry, rollout_bucket(machine, "acme-server")) for machine in SERVERS)
    assert abs(taking / len(SERVERS) * 100 - phase) <= 2, taking


def test_raising_the_phase_only_adds_servers() -> None:
    def reached(phase: int) -> set[str]:
        return {machine for machine in SERVERS
                if offered({"phase": phase}, rollout_bucket(machine, "acme-server"))}

    shares = [reached(phase) for phase in (0, 5, 20, 50, 90, 100)]
    assert shares[0] == set() and shares[-1] == set(SERVERS)
    for smaller, larger in itertools.pairwise(shares):
        assert smaller < larger


def test_the_bucket_is_the_designs_formula_and_differs_per_product() -> None:
    machine = "3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert rollout_bucket(machine, "acme-server") == int(
        hashlib.sha256(b"3d1219c7c4c5404aaa1f6d2a48adfda4acme-server").hexdigest()[:8], 16) % 100
    # Each product rolls out to its own first servers: not always the same unlucky ones.
    same = sum(rollout_bucket(machine, "acme-server") == rollout_bucket(machine, "other-product")
               for machine in SERVERS[:1000])
    assert same < 50


def test_no_path_even_through_held_back_stops_is_still_an_error() -> None:
    releases = marked(feed("1.0.0", "1.2.0", "1.4.0 from 1.3.0"), **{"1.2.0": OUT})
    with pytest.raises(PlanError, match=r"^no upgrade path from 1\.0\.0 to 1\.4\.0"):
        plan(releases, "1.0.0", bucket=BUCKET)
