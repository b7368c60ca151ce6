"""Installing from the release feed (DESIGN §3, §4, §7): first install, up to date, upgrade stops,
a held-back major, a file:// mirror, and an offline package.

Every test runs the installed ``upgrader`` on a server root whose workflow is download → verify →
extract, against a feed served over HTTP on 127.0.0.1 by ``feedrig.FeedServer``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .feedrig import PRODUCT, Publisher, Rig, changes, error_line, release_files, sha256_of, snapshot


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        yield world


def archive_requests(rig: Rig) -> list[str]:
    return [record.path for record in rig.server.requests() if record.path.endswith(".tar.gz")]


def test_first_install_takes_the_newest_allowed_release_and_a_second_run_is_up_to_date(rig: Rig):
    rig.feed.add("1.0.0")
    rig.feed.add("1.1.0")
    rig.feed.add("1.2.0-rc.1")  # a pre-release is taken only when --to names it
    rig.feed.publish()
    rig.configure()

    before = rig.check()
    warnings = before.pop("warnings")
    assert [" is unsigned:" in warnings[0], " is plain http:" in warnings[1]] == [True, True], warnings
    bucket = before.pop("rollout_bucket")  # this machine's: see tests/unit/test_plan.py
    assert isinstance(bucket, int) and 0 <= bucket < 100, bucket
    assert before == {"project": "acme", "installed": None, "target": "1.1.0", "path": ["1.1.0"],
                      "major_available": None, "quarantined": [], "held": [], "up_to_date": False, "data_folders": [],
                      "reconfigure_needed": None, "serving": None, "held_back": [], "withdrawn": None,
                      "installed_from": None}
    assert archive_requests(rig) == [], "check downloaded an archive"
    assert not rig.downloads.exists() and not rig.releases.exists(), "check changed the root"

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert "completed" in result.stdout.splitlines()[-1], result.output

    # releases/1.1.0 holds the package's files, byte for byte; downloads/<project>/1.1.0/ the archive.
    folder = rig.releases / "1.1.0"
    for name, data in release_files("1.1.0").items():
        assert (folder / name).read_bytes() == data, name
    assert rig.extracted() == ["1.1.0"]
    archive = rig.feed.archive_path("1.1.0")
    assert rig.downloaded() == [archive.name]
    assert sha256_of(rig.downloads / "1.1.0" / archive.name) == sha256_of(archive)
    assert rig.installed() == "1.1.0"
    assert archive_requests(rig) == [rig.archive_path("1.1.0")]

    after = rig.check()
    assert after.pop("warnings") == warnings
    assert after.pop("rollout_bucket") == bucket, "the same server, the same bucket"
    assert after == {"project": "acme", "installed": "1.1.0", "target": None, "path": [],
                     "major_available": None, "quarantined": [], "held": [], "up_to_date": True, "data_folders": [],
                     "reconfigure_needed": None, "serving": None, "held_back": [], "withdrawn": None,
                      "installed_from": "installed.json"}

    rig.server.clear()
    again = rig.cli("run")
    assert again.returncode == 0, again.output
    assert "up to date (1.1.0)" in again.stdout, again.output
    assert [record.path for record in rig.server.requests()] == [rig.index_path], (
        "an up-to-date run fetched more than the index")
    history = (rig.state / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["outcome"] for line in history] == ["completed"], "the idle run left history"


def test_upgrade_stops_are_installed_in_turn(rig: Rig):
    rig.feed.add("1.0.0")
    rig.feed.add("1.2.0")
    rig.feed.add("1.4.0", min_from="1.2.0")
    rig.feed.publish()
    rig.configure()

    first = rig.cli("run", "--to", "1.0.0")
    assert first.returncode == 0, first.output
    assert rig.installed() == "1.0.0"

    plan = rig.check()
    assert plan["installed"] == "1.0.0"
    assert plan["target"] == "1.4.0"
    assert plan["path"] == ["1.2.0", "1.4.0"]
    assert plan["up_to_date"] is False

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.4.0"
    history = rig.history()
    assert [(entry["from"], entry["to"], entry["outcome"]) for entry in history] == [
        ("1.2.0", "1.4.0", "completed"),
        ("1.0.0", "1.2.0", "completed"),
        (None, "1.0.0", "completed"),
    ]
    assert rig.extracted() == ["1.0.0", "1.2.0", "1.4.0"]


def test_a_major_release_is_reported_and_held_back(rig: Rig):
    rig.feed.add("1.0.0")
    rig.feed.add("1.1.0")
    rig.feed.add("2.0.0")
    rig.feed.publish()
    rig.configure(allow="minor")
    assert rig.cli("run", "--to", "1.0.0").returncode == 0

    plan = rig.check()
    assert plan["target"] == "1.1.0"
    assert plan["path"] == ["1.1.0"]
    assert plan["major_available"] == "2.0.0"

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert "major upgrade 2.0.0 is available" in result.stdout, result.output
    assert rig.installed() == "1.1.0"

    # Only the major is left: nothing to do, exit 0, and it is still reported.
    rig.server.clear()
    again = rig.cli("run")
    assert again.returncode == 0, again.output
    assert "major upgrade 2.0.0 is available" in again.stdout, again.output
    assert archive_requests(rig) == []
    assert "2.0.0" not in rig.extracted()
    assert rig.installed() == "1.1.0"


def test_a_file_mirror_works_end_to_end(rig: Rig, tmp_path: Path):
    mirror = Publisher(tmp_path / "mirror" / "acme")
    mirror.add("1.0.0")
    mirror.add("1.3.0")
    mirror.publish(sign=True)
    rig.configure(feed=mirror.folder.as_uri() + "/", public_key=mirror.public_key)

    assert rig.check()["path"] == ["1.3.0"]
    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.3.0"
    assert (rig.releases / "1.3.0" / "compose.yaml").read_bytes() == release_files("1.3.0")["compose.yaml"]
    assert rig.downloaded() == [mirror.archive_path("1.3.0").name]
    assert rig.server.requests() == [], "a file:// feed made HTTP requests"


# -- offline packages ---------------------------------------------------------------------------


def offline_package(tmp_path: Path, version: str = "1.3.0") -> Path:
    publisher = Publisher(tmp_path / "usb")
    return publisher.build(version)


def write_checksum(archive: Path, digest: str | None = None) -> Path:
    path = archive.with_name(archive.name + ".sha256")
    path.write_text(f"{digest or sha256_of(archive)}  {archive.name}\n", encoding="utf-8")
    return path


def test_an_offline_package_with_its_sha256_installs_without_a_feed(rig: Rig, tmp_path: Path):
    package = offline_package(tmp_path)
    write_checksum(package)
    rig.configure(feed=None)

    result = rig.cli("run", "--package", str(package))
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.3.0"
    assert (rig.releases / "1.3.0" / "release.json").read_bytes() == release_files("1.3.0")["release.json"]
    assert rig.server.requests() == []
    installed = json.loads((rig.state / "installed.json").read_text(encoding="utf-8"))
    assert installed["release"]["product"] == PRODUCT


def test_an_offline_package_without_its_sha256_is_a_usage_error(rig: Rig, tmp_path: Path):
    package = offline_package(tmp_path)
    rig.configure(feed=None)
    before = snapshot(tmp_path)

    result = rig.cli("run", "--package", str(package))
    assert result.returncode == 2, result.output
    error_line(result, f"{package.name}.sha256 not found")
    changed = changes(before, snapshot(tmp_path))
    assert {path for path in changed if not path.startswith("root/state")} == set(), changed
    assert rig.installed() is None
    assert rig.extracted() == []


def test_an_offline_package_with_a_wrong_sha256_is_rolled_back(rig: Rig, tmp_path: Path):
    package = offline_package(tmp_path)
    write_checksum(package, "0" * 64)
    rig.configure(feed=None)

    result = rig.cli("run", "--package", str(package))
    assert result.returncode == 1, result.output
    assert rig.run_file()["status"] == "rolled_back"
    assert rig.installed() is None
    assert not (rig.releases / "1.3.0").exists()
    error_line(result, "sha256")
