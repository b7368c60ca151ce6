"""The version policy (DESIGN §3): which release ``run`` installs, and the stops on the way there.

``plan`` is pure, so every rule is a row of a table: the releases the feed lists, what is
installed, the options, and the plan expected. A release is written ``"1.3.0"``, or
``"1.3.0 from 1.2.0"`` for one whose ``min_from`` is 1.2.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import semver

from upgrader.errors import EXIT_USAGE, UsageError
from upgrader.plan import Plan, PlanError, admits, parse_version, plan


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
