"""``verify`` of a listing feed's entry (DESIGN §12): no sha256, an md5 instead, or nothing at all;
``keep`` patterns of ``overlay``; the version ``installed_version`` finds in a program's output."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.rig.zips import write_zip, zfile
from tests.unit.test_actions import a_context
from upgrader.actions.overlay import kept
from upgrader.actions.verify import verify
from upgrader.installed_version import first_version
from upgrader.package import PackageError
from upgrader.project import Project


def zipped(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "server-linux-x64-1.1.0-3.zip"
    write_zip(path, [zfile("appcircle-server/VERSION", "1.1.0\n")])
    return path, path.read_bytes()


def verified(project: Project, archive: Path, entry: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    events: list[Any] = []
    context = a_context(project, journal=events)
    context.run.update(release={"version": "1.1.0", "archive": archive.name, "url": archive.as_uri(), **entry},
                       run_id="r1")
    context.data["archive"] = str(archive)
    verify(context)
    return context.data, events


def test_an_md5_vouches_for_an_entry_without_sha256(project, tmp_path):
    archive, data = zipped(tmp_path)
    found, events = verified(project, archive, {"md5": hashlib.md5(data).hexdigest(), "size": len(data)})  # noqa: S324
    assert found["sha256"] == hashlib.sha256(data).hexdigest()
    assert found["release_images"] == []
    assert [event for event, _ in events] == ["no_release_json"]


def test_a_wrong_md5_is_the_release_s_fault(project, tmp_path):
    archive, _ = zipped(tmp_path)
    with pytest.raises(PackageError, match=r"md5 is [0-9a-f]{32}, the feed says 0{32}") as caught:
        verified(project, archive, {"md5": "0" * 32})
    assert caught.value.release_fault


def test_an_entry_with_no_digest_is_said_to_be_unvouched(project, tmp_path):
    archive, _ = zipped(tmp_path)
    _, events = verified(project, archive, {})
    warnings = [detail["warning"] for event, detail in events if event == "unverified"]
    assert len(warnings) == 1 and "nothing vouches for its bytes" in warnings[0]


@pytest.mark.parametrize("path, expected", [
    ("projects", True), ("projects/spacetech/export/x", True), ("cred.json", True), ("state/x/run.json", True),
    ("releases", True), ("global.yaml", False), ("helper-tools/a.sh", False), ("ssl/key.pem", True),
    ("conf/a.env", True), ("conf/deeper/a.env", False), ("x/cred.json", False)])
def test_keep_patterns(path, expected):
    assert bool(kept(["ssl/**", "conf/*.env"]).match(path)) is expected


@pytest.mark.parametrize("output, version", [
    ("Appcircle server version: 3.28.0\n", "3.28.0"), ("v3.29.1-rc.1 (build 42)", "3.29.1-rc.1"),
    ("2026.01 edition, 3.28.0\n", "3.28.0"), ("no version here", None), ("1.2.3.4", None)])
def test_the_first_semantic_version_printed(output, version):
    assert first_version(output) == version
