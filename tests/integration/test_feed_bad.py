"""Bad feeds and bad release packages are refused (DESIGN §3, §4): each run ends non-zero with one
clear line, writes nothing outside ROOT/releases, ROOT/downloads and ROOT/state, leaves
project.yaml and feed.token as they were, and never creates ``releases/<version>/`` for the bad
release. A release whose own content failed is quarantined; a later run skips it until ``--to``.
"""

from __future__ import annotations

import gzip
import json
import random
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .feedrig import (
    Rig,
    changes,
    error_line,
    files_holding,
    member,
    release_files,
    release_json,
    snapshot,
    write_archive,
)
from .support import Outcome

TOKEN = "tok-bad-inputs-2b7d"  # noqa: S105 - a test token
ALLOWED = ("root/releases", "root/downloads", "root/state")
BAD = "1.1.0"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        world.server.token = TOKEN
        world.configure(token_file=world.write_token(TOKEN).name)
        yield world


@dataclass
class Attempt:
    outcome: Outcome
    changed: set[str]


def attempt(rig: Rig, *args: str) -> Attempt:
    """Run ``upgrader ARGS``; check it wrote only where it may and kept the operator's files."""
    project_yaml = (rig.project_dir / "project.yaml").read_bytes()
    token = (rig.project_dir / "feed.token").read_bytes()
    before = snapshot(rig.tmp)
    outcome = rig.cli(*args)
    changed = changes(before, snapshot(rig.tmp))
    outside = sorted(path for path in changed
                     if not any(path == top or path.startswith(top + "/") for top in ALLOWED))
    assert outside == [], f"written outside {ALLOWED}: {outside}\n{outcome.output}"
    assert (rig.project_dir / "project.yaml").read_bytes() == project_yaml
    assert (rig.project_dir / "feed.token").read_bytes() == token
    assert TOKEN not in outcome.stdout + outcome.stderr, outcome.output
    assert files_holding(rig.root / "state", TOKEN) == []
    return Attempt(outcome, changed)


def quarantined(rig: Rig) -> list[str]:
    path = rig.state / "quarantine.json"
    return sorted(json.loads(path.read_text(encoding="utf-8"))["versions"]) if path.exists() else []


def assert_refused_release(rig: Rig, result: Attempt, version: str = BAD) -> None:
    assert result.outcome.returncode == 1, result.outcome.output
    assert rig.run_file()["status"] == "rolled_back"
    assert rig.run_file()["to_version"] == version
    assert not (rig.releases / version).exists()
    assert not [path for path in result.changed if path.startswith(f"root/releases/{version}")]
    assert rig.installed() is None


# -- the release lies or the archive is bad --------------------------------------------------------


def test_an_archive_whose_sha256_the_index_lies_about_is_quarantined(rig: Rig):
    rig.feed.add("1.0.0")
    rig.feed.add(BAD, sha256="e" * 64)
    rig.feed.publish()

    result = attempt(rig, "run")
    assert_refused_release(rig, result)
    plan = rig.check()
    assert plan["quarantined"] == [BAD]
    assert plan["target"] == "1.0.0", "the next run should take the older allowed release"

    # The next unattended run skips it and installs the older allowed release ...
    older = attempt(rig, "run")
    assert older.outcome.returncode == 0, older.outcome.output
    assert rig.installed() == "1.0.0"
    # ... and after that there is nothing to do: exit 0, the bad archive is not fetched again.
    rig.server.clear()
    idle = attempt(rig, "run")
    assert idle.outcome.returncode == 0, idle.outcome.output
    assert "up to date (1.0.0)" in idle.outcome.stdout
    assert [record.path for record in rig.server.requests()] == [rig.index_path]
    assert quarantined(rig) == [BAD]

    # --to asks for it again: it is fetched again, and fails again.
    again = attempt(rig, "run", "--to", BAD)
    assert again.outcome.returncode == 1, again.outcome.output
    assert rig.archive_path(BAD) in [record.path for record in rig.server.requests()]
    assert not (rig.releases / BAD).exists()
    assert rig.installed() == "1.0.0"

    error_line(result.outcome, "sha256 mismatch")


def test_an_archive_larger_than_the_index_says_is_refused(rig: Rig):
    rig.feed.add(BAD, size=200)  # the real archive is larger
    rig.feed.publish()

    result = attempt(rig, "run")
    assert_refused_release(rig, result)
    assert quarantined(rig) == [BAD]
    error_line(result.outcome, "larger than the index")


def test_an_archive_smaller_than_the_index_says_is_refused(rig: Rig):
    entry = rig.feed.add(BAD)
    entry["size"] += 1000
    rig.feed.publish()

    result = attempt(rig, "run")
    assert_refused_release(rig, result)
    error_line(result.outcome, f"the index says {entry['size']}")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def _not_a_tar(path: Path) -> None:
    path.write_bytes(gzip.compress(random.Random(7).randbytes(4000)))


def _build(files: dict[str, bytes] | None = None,
           extra: list[tuple[tarfile.TarInfo, bytes | None]] | None = None) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        write_archive(path, release_files(BAD) if files is None else files, extra or [])
    return build


def _without(name: str) -> dict[str, bytes]:
    files = release_files(BAD)
    del files[name]
    return files


@dataclass(frozen=True)
class BadPackage:
    spoil: Callable[[Path], None]
    says: tuple[str, ...]


BAD_PACKAGES = {
    "truncated-gzip": BadPackage(_truncated, ("truncated or corrupt",)),
    "not-a-tar": BadPackage(_not_a_tar, ("not a gzip-compressed tar archive",)),
    "dotdot-entry": BadPackage(_build(extra=[member("../evil", b"pwned\n")]), ("'../evil'", "..")),
    "absolute-entry": BadPackage(_build(extra=[member("/tmp/evil-upgrader", b"pwned\n")]),
                                 ("absolute path",)),
    "symlink-out": BadPackage(
        _build(extra=[member("config/escape", kind=tarfile.SYMTYPE, linkname="../../../etc/passwd")]),
        ("pointing outside",)),
    "no-release-json": BadPackage(_build(_without("release.json")), ("release.json is missing",)),
    "other-version": BadPackage(
        _build({**release_files(BAD), "release.json": release_json("9.9.9")}),
        ("release.json says version 9.9.9", f"the feed says {BAD}")),
}


@pytest.mark.parametrize("case", BAD_PACKAGES, ids=list(BAD_PACKAGES))
def test_a_bad_package_is_refused_and_quarantined(rig: Rig, case: str):
    bad = BAD_PACKAGES[case]
    archive = rig.feed.build(BAD)
    bad.spoil(archive)
    rig.feed.add(BAD, archive)  # the (signed) index vouches for exactly these bytes
    rig.feed.publish()

    result = attempt(rig, "run")
    assert_refused_release(rig, result)
    assert not (rig.root.parent / "evil").exists()
    assert not Path("/tmp/evil-upgrader").exists()
    assert [path for path in result.changed if "partial" in path] == []
    assert quarantined(rig) == [BAD]
    error_line(result.outcome, *bad.says)


# -- the index is bad ------------------------------------------------------------------------------


def _index_case(rig: Rig, case: str) -> tuple[str, ...]:
    """Spoil the feed as ``case`` says; the words the error must hold."""
    if case == "malformed-json":
        rig.feed.add(BAD)
        rig.feed.publish(raw=b'{"schema": 1, "product": "acme-server", "releases": [')
        return ("index.json", "not valid JSON")
    if case == "schema-2":
        rig.feed.add(BAD)
        rig.feed.publish(schema=2)
        return ("index.json", "unknown index schema 2")
    if case == "forbidden":
        rig.feed.add(BAD)
        rig.feed.publish()
        rig.server.behave(rig.index_path, status=403)
        return ("index.json", "403")
    if case == "unsafe-version":
        rig.feed.add("../../x", rig.feed.build(BAD))
        rig.feed.publish()
        return ("index.json", "../../x")
    raise AssertionError(case)


INDEX_CASES = ("malformed-json", "schema-2", "forbidden", "unsafe-version")


@pytest.mark.parametrize("case", INDEX_CASES)
def test_a_bad_index_is_refused_before_anything_is_downloaded(rig: Rig, case: str):
    says = _index_case(rig, case)

    result = attempt(rig, "run")
    assert result.outcome.returncode == 1, result.outcome.output
    assert [record.path for record in rig.server.requests()] == [rig.index_path]
    assert rig.downloaded() == []
    assert rig.extracted() == []
    assert rig.installed() is None
    assert not (rig.tmp / "x").exists() and not (rig.root / "x").exists()
    assert not (rig.state / "run.json").exists(), "a run started on a bad index"
    error_line(result.outcome, *says)
