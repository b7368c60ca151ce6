"""Zip packages (DESIGN §12): detected by content, extracted with the refusals of tar, executable
bits kept, a vendor's server folder without release.json read as the feed's version.

Each hostile zip is made with ``zipfile`` in the test (``tests.rig.zips``). A refused zip leaves
no release folder and no temporary folder behind.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.rig.zips import ZipEntry, write_zip, zfile, zfolder
from tests.unit.release_builders import COMPOSE, VERSION, basic, release_json, write_archive
from upgrader import package
from upgrader.package import PackageError, extract, is_zip, members, read_manifest, read_release

SHA = "b" * 64


def make(tmp_path: Path, *entries: ZipEntry, name: str = "server-linux-x64-1.1.0-7.zip") -> Path:
    path = tmp_path / name
    write_zip(path, entries)
    return path


def releases(tmp_path: Path) -> Path:
    folder = tmp_path / "releases"
    folder.mkdir(exist_ok=True)
    return folder


def refused(tmp_path: Path, archive: Path, match: str) -> None:
    """``members`` and ``extract`` both refuse ``archive``, and nothing is left behind."""
    with pytest.raises(PackageError, match=match):
        members(archive)
    with pytest.raises(PackageError, match=match):
        extract(archive, releases(tmp_path), sha256=SHA, version=VERSION, owner="acme")
    assert sorted(os.listdir(tmp_path / "releases")) == []


HOSTILE = [
    pytest.param([zfile("../evil", "x")], r"climbs out of the release folder", id="slip"),
    pytest.param([zfile("a/../../evil", "x")], r"climbs out", id="slip-nested"),
    pytest.param([zfile("/etc/evil", "x")], r"is an absolute path", id="absolute"),
    pytest.param([zfile("C:/evil", "x")], r"is an absolute path", id="drive-letter"),
    pytest.param([zfile("..\\evil", "x")], r"backslash", id="backslash"),
    pytest.param([ZipEntry("link", b"/etc/passwd", stat.S_IFLNK | 0o777)], r"is a symbolic link", id="symlink"),
    pytest.param([ZipEntry("inside", b"VERSION", stat.S_IFLNK | 0o777)], r"is a symbolic link", id="safe-symlink"),
    pytest.param([ZipEntry("tty", b"", stat.S_IFCHR | 0o666)], r"device, FIFO or socket", id="device"),
    pytest.param([ZipEntry("pipe", b"", stat.S_IFIFO | 0o644)], r"device, FIFO or socket", id="fifo"),
    pytest.param([zfile("run", "x", 0o4755)], r"set-user-ID", id="setuid"),
    pytest.param([zfile("secret", "x", encrypted=True)], r"is encrypted", id="encrypted"),
    pytest.param([zfile("a", "1"), zfile("a", "2")], r"'a' appears twice", id="duplicate"),
    pytest.param([zfile("a/b", "1"), zfile("./a//b", "2")], r"'a/b' appears twice", id="duplicate-normalised"),
    pytest.param([zfolder("a"), zfile("a", "2")], r"'a' appears twice", id="file-and-folder"),
    pytest.param([zfile("a", "1"), zfile("a/b", "2")], r"'a/b' lies under the file 'a'", id="file-as-folder"),
    pytest.param([zfile("x" * 1100, "1")], r"name longer than 1024", id="long-name"),
    pytest.param([zfile("zeros", bytes(4 << 20))], r"expands 4194304 bytes from .*likely zip bomb", id="ratio"),
    pytest.param([ZipEntry("dir-by-mode", b"", stat.S_IFDIR | 0o755)], r"not a regular file or folder",
                 id="folder-mode-file-name"),
    pytest.param([zfile("release.json", release_json())], r"compose.yaml is missing", id="release-json-alone"),
]


@pytest.mark.parametrize("entries, match", HOSTILE)
def test_a_hostile_zip_is_refused_and_leaves_nothing(tmp_path, entries, match):
    refused(tmp_path, make(tmp_path, zfile("VERSION", "1.1.0\n"), *entries), match)


def test_past_the_expansion_cap_the_zip_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(package, "EXPANSION_FLOOR", 3000)
    monkeypatch.setattr(package, "EXPANSION_RATIO", 1)
    archive = make(tmp_path, *(zfile(f"part{index}", bytes(1000)) for index in range(5)))
    refused(tmp_path, archive, r"expands to more than .* at entry 'part3'; refusing a likely zip bomb")


def test_past_the_entry_cap_the_zip_is_refused_from_its_end_record(tmp_path, monkeypatch):
    monkeypatch.setattr(package, "MAX_ENTRIES", 5)
    archive = make(tmp_path, *(zfile(f"file{index}", "x") for index in range(6)))
    refused(tmp_path, archive, r"6 entries, past the limit of 5")


def test_a_truncated_zip_is_refused(tmp_path):
    archive = make(tmp_path, zfile("VERSION", "1.1.0\n"), zfile("big", os.urandom(5000)))
    archive.write_bytes(archive.read_bytes()[:-30])
    refused(tmp_path, archive, r"nor a (readable )?zip archive")


def test_a_zip_is_known_by_its_bytes_not_its_name(tmp_path):
    zipped = make(tmp_path, *(zfile(entry.name, entry.data) for entry in ()), zfile("VERSION", "1\n"),
                  name="release.tar.gz")
    tarred = write_archive(tmp_path / "release.zip", basic())
    assert is_zip(zipped) and not is_zip(tarred)
    assert [member.name for member in members(zipped)] == ["VERSION"]
    assert read_release(tarred)["version"] == VERSION


def test_a_server_folder_keeps_its_execute_bits_and_nothing_else(tmp_path):
    archive = make(
        tmp_path, zfolder("appcircle-server"),
        zfile("appcircle-server/ac-self-hosted.sh", "#!/bin/sh\n", 0o775),
        zfile("appcircle-server/helper-tools/tool", "#!/bin/sh\n", 0o700),
        zfile("appcircle-server/global.yaml", "a: 1\n", 0o666),
    )
    folder = extract(archive, releases(tmp_path), sha256=SHA, version=VERSION, owner="acme")
    assert folder == tmp_path / "releases" / VERSION
    top = folder / "appcircle-server"
    modes = {path.relative_to(folder).as_posix(): stat.S_IMODE(path.stat().st_mode)
             for path in folder.rglob("*") if path.name != package.MARKER}
    # Releases are read-only once extracted; the execute bits are the zip's, nothing else is.
    assert modes == {"appcircle-server": 0o755, "appcircle-server/ac-self-hosted.sh": 0o555,
                     "appcircle-server/helper-tools": 0o755, "appcircle-server/helper-tools/tool": 0o555,
                     "appcircle-server/global.yaml": 0o444}
    assert (top / "global.yaml").read_text() == "a: 1\n"
    assert json.loads((folder / package.MARKER).read_text())["sha256"] == SHA
    # Idempotent: the same archive again is the same folder.
    assert extract(archive, tmp_path / "releases", sha256=SHA, version=VERSION, owner="acme") == folder


def test_a_zip_without_release_json_stands_for_the_feeds_version(tmp_path):
    archive = make(tmp_path, zfile("appcircle-server/VERSION", "3.29.1\n"))
    assert read_manifest(archive, version="3.29.1", product="appcircle") == (
        {"product": "appcircle", "version": "3.29.1", "images": []}, False)
    with pytest.raises(PackageError, match=r"release\.json is missing"):
        read_release(archive)


def test_a_zipped_release_package_is_read_as_a_tar_one_is(tmp_path):
    archive = make(tmp_path, zfile("release.json", release_json()), zfile("compose.yaml", COMPOSE),
                   zfile("hooks/pre", "#!/bin/sh\n", 0o755))
    manifest, described = read_manifest(archive, version="9.9.9", product=None)
    assert described and manifest["version"] == VERSION
    assert package.check_images(archive, members(archive), manifest["images"]) == []
    folder = extract(archive, releases(tmp_path), sha256=SHA, version=VERSION, owner="acme")
    assert (folder / "compose.yaml").read_bytes() == COMPOSE
    assert os.access(folder / "hooks" / "pre", os.X_OK)
