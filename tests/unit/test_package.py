"""Release packages (DESIGN §4): safe extraction of hostile archives, release.json, images/*.tar.

Every archive is built in ``tmp_path`` with ``tarfile`` (see ``release_builders``); the hostile
ones are crafted entry by entry with ``TarInfo``. A refused archive must leave no
``releases/<version>`` folder, no ``.<version>.partial`` folder and nothing else behind.
"""

from __future__ import annotations

import io
import json
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from release_builders import (
    COMPOSE,
    DB,
    VERSION,
    WEB,
    Entry,
    Zeros,
    basic,
    docker_save,
    file,
    folder,
    hardlink,
    release_json,
    special,
    stream,
    symlink,
    tar_bytes,
    tree,
    write_archive,
)

from upgrader import package
from upgrader.errors import ActionError
from upgrader.package import MARKER, PackageError, check_images, extract, members, read_release

SHA = "a" * 64
ARCHIVE = "acme-server-1.1.0.tar.gz"

Builder = Callable[[Path], Any]


def archive_of(*entries: Entry) -> Builder:
    return lambda path: write_archive(path, entries)


def release_with(*entries: Entry) -> Builder:
    """release.json and compose.yaml, then ``entries``."""
    return archive_of(*basic(), *entries)


def truncated(path: Path) -> None:
    write_archive(path, [*basic(), file("config/data.bin", bytes(range(256)) * 400)])
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def not_gzip(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is a zip file, not a gzip-compressed tar\n" * 20)


def gzip_of_text(path: Path) -> None:
    import gzip

    path.write_bytes(gzip.compress(b"this is not a tar archive\n" * 100))


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    folder = tmp_path / "root" / "releases"
    folder.mkdir(parents=True)
    return folder


# -- hostile archives -----------------------------------------------------------------------------

HOSTILE = [
    pytest.param(release_with(file("../evil", b"x")), r"entry '\.\./evil' climbs out", id="dot-dot"),
    pytest.param(release_with(file("config/../../evil", b"x")), r"entry 'config/\.\./\.\./evil'",
                 id="dot-dot-inside-a-path"),
    pytest.param(release_with(file("/etc/evil", b"x")), r"entry '/etc/evil' is an absolute path",
                 id="absolute-path"),
    pytest.param(release_with(folder("config"), symlink("config/passwd", "/etc/passwd")),
                 r"entry 'config/passwd' is a link to the absolute path '/etc/passwd'",
                 id="symlink-to-an-absolute-path"),
    pytest.param(release_with(folder("config"), symlink("config/out", "../../outside")),
                 r"entry 'config/out' is a link pointing outside the release folder",
                 id="symlink-out-of-the-release"),
    pytest.param(release_with(symlink("out", "..")), r"entry 'out' is a link pointing outside",
                 id="symlink-to-the-parent"),
    # config/up -> .. is harmless alone; escape -> config/up/.. then resolves to releases/.
    pytest.param(release_with(folder("config"), symlink("config/up", ".."),
                              symlink("escape", "config/up/..")),
                 r"'escape'", id="symlink-chain-escaping"),
    # The same chain with the escaping link first: when it is written, config/up does not exist yet.
    pytest.param(release_with(symlink("escape", "config/up/.."), folder("config"),
                              symlink("config/up", "..")),
                 r"'escape'", id="symlink-chain-escaping-link-first"),
    pytest.param(release_with(folder("config"), symlink("config/up", ".."),
                              hardlink("stolen", "config/up/../../outside")),
                 r"'stolen'", id="hardlink-through-a-symlink"),
    pytest.param(release_with(hardlink("config", "../outside")),
                 r"entry 'config' is a link pointing outside the release folder",
                 id="hardlink-out-of-the-release"),
    pytest.param(release_with(hardlink("passwd", "/etc/passwd")),
                 r"entry 'passwd' is a link to the absolute path '/etc/passwd'",
                 id="hardlink-to-an-absolute-path"),
    pytest.param(release_with(hardlink("config.conf", "no-such-member")), r"'config\.conf'",
                 id="hardlink-to-a-missing-member"),
    pytest.param(release_with(special("config/null", tarfile.CHRTYPE)),
                 r"entry 'config/null' is a device or FIFO", id="character-device"),
    pytest.param(release_with(special("config/disk", tarfile.BLKTYPE)),
                 r"entry 'config/disk' is a device or FIFO", id="block-device"),
    pytest.param(release_with(special("config/pipe", tarfile.FIFOTYPE)),
                 r"entry 'config/pipe' is a device or FIFO", id="fifo"),
    pytest.param(release_with(file("hooks/root-shell", b"#!/bin/sh\n", mode=0o4755)),
                 r"entry 'hooks/root-shell' is set-user-ID", id="setuid"),
    pytest.param(release_with(file("hooks/group-shell", b"#!/bin/sh\n", mode=0o2755)),
                 r"entry 'hooks/group-shell' is set-user-ID or set-group-ID", id="setgid"),
    pytest.param(release_with(file("config\\..\\..\\evil", b"x")), r"entry 'config\\\\\.\.\\\\.*backslash",
                 id="backslash"),
    pytest.param(release_with(file("compose.yaml", b"services: {}\n")),
                 r"entry 'compose\.yaml' appears twice", id="duplicate"),
    pytest.param(release_with(file("./release.json", release_json())),
                 r"entry 'release\.json' appears twice", id="duplicate-with-dot-slash"),
    pytest.param(archive_of(file("compose.yaml", COMPOSE)), r"release\.json is missing",
                 id="missing-release-json"),
    pytest.param(archive_of(file("release.json", release_json())), r"compose\.yaml is missing",
                 id="missing-compose-yaml"),
    pytest.param(archive_of(), r"release\.json is missing", id="empty-tar"),
    # A link is resolved inside the release's own tree, never against the temporary folder it is
    # extracted to: with b -> ., a -> b/../.1.1.0.acme.partial/compose.yaml stayed inside the
    # temporary folder (releases/.1.1.0.acme.partial), then dangled once it was renamed.
    pytest.param(release_with(symlink("b", "."), symlink("a", f"b/../.{VERSION}.acme.partial/compose.yaml")),
                 r"entry 'a' is a link through the link 'b' of the archive "
                 r"\('b/\.\./\.1\.1\.0\.acme\.partial/compose\.yaml'\); "
                 r"a link may lead neither through another link nor above the release folder$",
                 id="link-through-a-link-into-the-temporary-folder"),
    pytest.param(release_with(symlink("a", f"b/../.{VERSION}.acme.partial/compose.yaml"), symlink("b", ".")),
                 r"entry 'a' is a link through the link 'b'", id="link-through-a-later-link-into-the-temporary-folder"),
    pytest.param(release_with(folder("config"), symlink("config/a", f"../b/../.{VERSION}.acme.partial/x"),
                              symlink("b", ".")),
                 r"entry 'config/a' is a link through the link 'b'", id="link-from-a-folder-through-a-link"),
    pytest.param(release_with(symlink("a", f"../.{VERSION}.acme.partial/compose.yaml")),
                 r"entry 'a' is a link pointing outside the release folder", id="link-to-the-temporary-folder"),
    pytest.param(release_with(folder("config"), symlink("config/a", f"../config/../../.{VERSION}.acme.partial")),
                 r"entry 'config/a' is a link pointing outside", id="link-climbing-to-the-temporary-folder"),
    pytest.param(release_with(symlink("b", "."), hardlink("h", "b/compose.yaml")),
                 r"entry 'h' is a link through the link 'b'", id="hardlink-through-a-link"),
    pytest.param(release_with(folder("config"), symlink("config/up", ".."), hardlink("h", "config/up/../compose.yaml")),
                 r"entry 'h' is a link through the link 'config/up'", id="hardlink-through-a-link-back-inside"),
    pytest.param(release_with(folder("config"), file("config/x.conf", b"x"), symlink("config/current", "x.conf"),
                              symlink("config/alias", "current")),
                 r"entry 'config/alias' is a link through the link 'config/current'", id="link-to-a-link"),
    pytest.param(release_with(symlink("loop", "loop")), r"entry 'loop' is a link through the link 'loop'",
                 id="link-to-itself"),
    pytest.param(release_with(folder("config"), symlink("d", "config"), file("d/x.conf", b"x")),
                 r"entry 'd/x\.conf' lies under the link 'd' of the archive", id="file-under-a-link"),
    pytest.param(release_with(file("d/x.conf", b"x"), symlink("d/y", "x.conf"), symlink("d", ".")),
                 r"entry 'd/x\.conf' lies under the link 'd'", id="file-under-a-later-link"),
    pytest.param(release_with(file("config//x.conf", b"x"), file("config/./x.conf", b"y")),
                 r"entry 'config/x\.conf' appears twice", id="duplicate-with-empty-and-dot-components"),
    pytest.param(release_with(file("config/" + "x" * 1100, b"x")), r"longer than 1024 characters",
                 id="name-too-long"),
    pytest.param(release_with(symlink("config", "x" * 1100)), r"entry 'config' has a name or link target longer",
                 id="link-target-too-long"),
    pytest.param(release_with(file("a/" * 40 + "x", b"x")), r"is more than 32 folders deep", id="too-deep"),
    pytest.param(release_with(symlink("config", "")), r"entry 'config' is a link with no target", id="empty-link"),
    pytest.param(truncated, rf"{ARCHIVE}: the archive is truncated or corrupt", id="truncated-gzip"),
    pytest.param(not_gzip, rf"{ARCHIVE}: not a gzip-compressed tar archive", id="not-gzip"),
    pytest.param(gzip_of_text, rf"{ARCHIVE}: not a gzip-compressed tar archive", id="gzip-of-not-a-tar"),
]


OWNER = "acme"


@pytest.mark.parametrize(("build", "match"), HOSTILE)
def test_extract_refuses_a_hostile_archive(tmp_path: Path, releases: Path, build: Builder,
                                           match: str) -> None:
    archive = tmp_path / ARCHIVE
    build(archive)
    before = tree(tmp_path)
    with pytest.raises(PackageError, match=match) as caught:
        extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    assert caught.value.retryable is False
    assert caught.value.release_fault is True
    # No releases/1.1.0, no .1.1.0.partial, nothing written anywhere else under tmp_path.
    assert tree(tmp_path) == before
    assert list(releases.iterdir()) == []
    assert not Path("/etc/evil").exists()


@pytest.fixture(scope="module")
def gzip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """release.json, compose.yaml and one member of 200 MB of zeros: about 200 KB of gzip."""
    path = tmp_path_factory.mktemp("bomb") / ARCHIVE
    size = 200_000_000
    write_archive(path, [*basic(), stream("images/zeros.tar", size, Zeros(size))], compresslevel=9)
    return path


def test_members_refuses_a_gzip_bomb(gzip_bomb: Path) -> None:
    assert gzip_bomb.stat().st_size < 1_000_000
    with pytest.raises(PackageError, match=r"expands to more than 67108864 bytes.*gzip bomb") as caught:
        members(gzip_bomb)
    assert caught.value.retryable is False and caught.value.release_fault is True


def test_extract_refuses_a_gzip_bomb_and_leaves_nothing(gzip_bomb: Path, releases: Path) -> None:
    with pytest.raises(PackageError, match="gzip bomb"):
        extract(gzip_bomb, releases, sha256=SHA, version=VERSION, owner=OWNER)
    assert list(releases.iterdir()) == []


def test_the_expansion_cap_is_fifty_times_the_archive_above_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = write_archive(tmp_path / ARCHIVE, [*basic(), file("config/zeros", bytes(1_000_000))])
    assert len(members(archive)) == 3  # under the 64 MiB floor
    monkeypatch.setattr(package, "EXPANSION_FLOOR", 0)
    assert archive.stat().st_size * package.EXPANSION_RATIO < 1_000_000
    with pytest.raises(PackageError, match=r"\(50 times its size\)"):
        members(archive)


def test_header_bytes_count_against_the_expansion_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries with long names and no data: their sizes add up to 0, their headers (a pax
    header and its records before every entry) to about 150 times the archive."""
    names = [f"{index:06d}" + "x" * 990 for index in range(2_000)]
    archive = write_archive(tmp_path / ARCHIVE, [*basic(), *(file(name) for name in names)])
    assert len(members(archive)) == 2_002  # under the 64 MiB floor
    monkeypatch.setattr(package, "EXPANSION_FLOOR", 0)
    assert archive.stat().st_size * package.EXPANSION_RATIO < 2_000 * 1_000
    with pytest.raises(PackageError, match=r"expands to more than \d+ bytes \(50 times its size\) after "
                                           r"entry '\d+x+'\.\.\.; refusing a likely gzip bomb$") as caught:
        members(archive)
    assert caught.value.release_fault is True


def test_an_archive_with_too_many_entries_is_refused_at_the_first_one_past_the_cap(
    tmp_path: Path, releases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package, "MAX_ENTRIES", 5)
    archive = write_archive(tmp_path / ARCHIVE, [*(file(f"config/{index}") for index in range(5)), *basic()])
    match = rf"^{ARCHIVE}: entry 'release\.json' is past the limit of 5 entries; refusing the archive$"
    for read in (members, read_release,
                 lambda path: extract(path, releases, sha256=SHA, version=VERSION, owner=OWNER)):
        with pytest.raises(PackageError, match=match):
            read(archive)
    assert list(releases.iterdir()) == []


def test_a_huge_pax_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    bomb = file("config/x.conf", b"x")
    bomb.info.pax_headers = {"comment": "x" * (2 << 20)}
    archive = write_archive(tmp_path / ARCHIVE, [*basic(), bomb])
    with pytest.raises(PackageError, match=rf"^{ARCHIVE}: a header of \d+ bytes after entry 'compose\.yaml' "
                                           r"\(more than 1048576\); refusing a likely header bomb$"):
        members(archive)


def test_a_global_pax_header_with_many_keys_is_refused(tmp_path: Path) -> None:
    """tarfile copies the global pax keys into every entry: 64 keys at most."""
    archive = tmp_path / ARCHIVE
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT,
                      pax_headers={f"comment{index}": "x" for index in range(100)}) as tar:
        for entry in basic():
            tar.addfile(entry.info, io.BytesIO(entry.data if isinstance(entry.data, bytes) else b""))
    with pytest.raises(PackageError, match=r"a global pax header before entry 'release\.json' has more than 64 keys"):
        members(archive)


def test_a_sparse_file_is_refused(tmp_path: Path) -> None:
    sparse = file("config/sparse", b"")
    sparse.info.type = tarfile.GNUTYPE_SPARSE
    archive = tmp_path / ARCHIVE
    with tarfile.open(archive, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        for entry in [*basic(), sparse]:
            tar.addfile(entry.info, io.BytesIO(entry.data if isinstance(entry.data, bytes) else b""))
    with pytest.raises(PackageError, match=r"entry 'config/sparse' is not a regular file, folder or link"):
        members(archive)


def test_an_archive_that_changes_between_the_check_and_the_extraction_is_refused(
    tmp_path: Path, releases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """extract reads the archive twice: the entries it extracts must be those members checked."""
    checked = write_archive(tmp_path / "checked.tar.gz", safe_release(""))
    archive = write_archive(tmp_path / ARCHIVE, [*safe_release("")[:5], symlink("config/current", "../compose.yaml"),
                                                 *safe_release("")[6:]])
    real_members = package.members
    monkeypatch.setattr(package, "members", lambda path: real_members(checked))
    with pytest.raises(PackageError, match=r"entry 'config/current' changed while it was being extracted"):
        extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    assert list(releases.iterdir()) == []


def test_a_missing_archive_is_an_action_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / ARCHIVE
    with pytest.raises(ActionError, match=rf"{missing}: not found") as caught:
        members(missing)
    assert caught.value.retryable is False


# -- safe archives --------------------------------------------------------------------------------


def safe_release(prefix: str) -> list[Entry]:
    entries = [
        file(prefix + "release.json", release_json()),
        file(prefix + "compose.yaml", COMPOSE),
        file(prefix + "defaults.env", b"HTTP_PORT=8080\n"),
        folder(prefix + "config"),
        file(prefix + "config/x.conf", b"listen 8080;\n", mode=0o664),
        symlink(prefix + "config/current", "x.conf"),
        symlink(prefix + "config/self", "../config/x.conf"),
        folder(prefix + "hooks"),
        file(prefix + "hooks/pre-stop", b"#!/bin/sh\nexit 0\n", mode=0o755),
    ]
    return [folder("./"), *entries] if prefix else entries


@pytest.mark.parametrize("prefix", ["", "./"], ids=["plain-names", "dot-slash-names"])
def test_extract_a_safe_release(tmp_path: Path, releases: Path, prefix: str) -> None:
    archive = write_archive(tmp_path / ARCHIVE, safe_release(prefix))
    names = {member.name for member in members(archive)}
    assert {"release.json", "compose.yaml", "config/current", "hooks/pre-stop"} <= names
    assert not any(name.startswith("./") for name in names)

    destination = releases / VERSION
    assert extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER) == destination
    assert tree(releases) == {
        "1.1.0": "dir",
        f"1.1.0/{MARKER}": f"file {(destination / MARKER).stat().st_size}",
        "1.1.0/compose.yaml": f"file {len(COMPOSE)}",
        "1.1.0/config": "dir",
        "1.1.0/config/current": "link -> x.conf",
        "1.1.0/config/self": "link -> ../config/x.conf",
        "1.1.0/config/x.conf": "file 13",
        "1.1.0/defaults.env": "file 15",
        "1.1.0/hooks": "dir",
        "1.1.0/hooks/pre-stop": "file 17",
        "1.1.0/release.json": f"file {len(release_json())}",
    }
    assert (destination / "config" / "current").read_text() == "listen 8080;\n"
    assert (destination / "config" / "current").resolve() == (destination / "config" / "x.conf").resolve()
    marker = json.loads((destination / MARKER).read_text())
    assert {key: marker[key] for key in ("sha256", "version")} == {"sha256": SHA, "version": VERSION}
    assert marker["archive"].endswith(".tar.gz")  # prune finds the download by it
    assert stat.S_IMODE((destination / "hooks" / "pre-stop").stat().st_mode) & 0o111 == 0o111
    for path in destination.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, f"{path} is writable"


def test_extract_twice_is_a_no_op(tmp_path: Path, releases: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    destination = releases / VERSION
    extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    before = tree(releases)
    marker_time = (destination / MARKER).stat().st_mtime_ns
    archive.unlink()  # the second call must not even read the archive
    assert extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER) == destination
    assert tree(releases) == before
    assert (destination / MARKER).stat().st_mtime_ns == marker_time


def test_a_stale_partial_folder_is_removed(tmp_path: Path, releases: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    stale = releases / f".{VERSION}.{OWNER}.partial"
    (stale / "config").mkdir(parents=True)
    (stale / "config" / "half-written.conf").write_text("lis")
    (stale / "config" / "half-written.conf").chmod(0o444)
    (stale / "config").chmod(0o555)
    destination = releases / VERSION
    extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    assert not stale.exists()
    assert not (destination / "config" / "half-written.conf").exists()
    assert sorted(path.name for path in releases.iterdir()) == [VERSION]


def test_another_archive_of_the_same_version_goes_beside_it(tmp_path: Path, releases: Path) -> None:
    """Another project's package of the same version (another product, another organisation's
    build) never replaces nor blocks the first: it goes to releases/<version>@<sha12>."""
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    first = extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    before = tree(releases)
    other = "b" * 64
    second = extract(archive, releases, sha256=other, version=VERSION, owner="beta")
    assert (first, second) == (releases / VERSION, releases / f"{VERSION}@bbbbbbbbbbbb")
    assert {key: value for key, value in tree(releases).items() if key.startswith(f"{VERSION}/")} == \
        {key: value for key, value in before.items() if key.startswith(f"{VERSION}/")}
    assert json.loads((second / MARKER).read_text())["sha256"] == other
    # Each converges on its own folder when run again; a third archive has its own as well.
    assert extract(archive, releases, sha256=other, version=VERSION, owner="beta") == second
    assert extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER) == first
    assert extract(archive, releases, sha256="c" * 64, version=VERSION, owner="gamma") == \
        releases / f"{VERSION}@cccccccccccc"


def test_a_project_that_loses_the_race_uses_the_release_the_winner_extracted(
    tmp_path: Path, releases: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects extract the same archive at once, each into its own temporary folder: the one
    whose rename comes second finds the release in place and uses it; its temporary folder goes."""
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    real_members = package.members

    def winner_first(path: Path) -> list[package.Member]:
        monkeypatch.setattr(package, "members", real_members)
        extract(archive, releases, sha256=SHA, version=VERSION, owner="winner")
        return real_members(path)

    monkeypatch.setattr(package, "members", winner_first)
    assert extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER) == releases / VERSION
    assert sorted(path.name for path in releases.iterdir()) == [VERSION]


def test_a_destination_not_extracted_by_upgrader_is_refused(tmp_path: Path, releases: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    (releases / VERSION).mkdir()
    (releases / VERSION / "compose.yaml").write_text("mine\n")
    with pytest.raises(ActionError, match="not extracted by upgrader") as caught:
        extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    assert caught.value.retryable is False
    assert (releases / VERSION / "compose.yaml").read_text() == "mine\n"


def test_remove_release_deletes_a_read_only_release(tmp_path: Path, releases: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, safe_release(""))
    destination = extract(archive, releases, sha256=SHA, version=VERSION, owner=OWNER)
    package.remove_release(destination)
    assert not destination.exists()
    package.remove_release(destination)  # gone already: nothing to do


# -- release.json -------------------------------------------------------------------------------


def test_read_release(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, [*basic(images=(WEB, DB)), file("./x", b"")])
    assert read_release(archive) == {"product": "acme-server", "version": VERSION, "images": [WEB, DB]}


def test_read_release_with_a_dot_slash_name(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, [file("./release.json", release_json())])
    assert read_release(archive)["version"] == VERSION


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(None, r"release\.json is missing", id="missing"),
        pytest.param(b"{\"product\": ", r"release\.json: not valid JSON", id="not-json"),
        pytest.param(b"[]", r"release\.json: at '\(top level\)': must be of type object", id="array"),
        pytest.param(release_json(version="1.1"), r"at 'version': '1\.1' is not a semantic version", id="version-1.1"),
        pytest.param(release_json(version="v1.1.0"), r"at 'version'", id="version-v-prefix"),
        pytest.param(release_json(version="../1.1.0"), r"at 'version'", id="version-dot-dot"),
        pytest.param(release_json(images=[]), r"at 'images': must have at least 1 item", id="no-images"),
        pytest.param(release_json(images=["127.0.0.1:5000/acme/web"]), r"at 'images\[0\]'",
                     id="image-without-a-tag"),
        pytest.param(release_json(images=["127.0.0.1:5000/acme/web:latest", "Acme/Web:1"]),
                     r"at 'images\[1\]'", id="image-in-upper-case"),
        pytest.param(release_json(images=[WEB, WEB]), r"at 'images'", id="image-twice"),
        pytest.param(release_json(publisher="acme"), r"at '\(top level\)': unknown key 'publisher'",
                     id="extra-key"),
        pytest.param(json.dumps({"version": VERSION, "images": [WEB]}).encode(), r"'product' is required",
                     id="no-product"),
    ],
)
def test_read_release_refuses(tmp_path: Path, content: bytes | None, match: str) -> None:
    entries = [file("compose.yaml", COMPOSE)]
    if content is not None:
        entries.append(file("release.json", content))
    archive = write_archive(tmp_path / ARCHIVE, entries)
    with pytest.raises(PackageError, match=match) as caught:
        read_release(archive)
    assert str(caught.value).startswith(ARCHIVE + ": ")
    assert caught.value.retryable is False and caught.value.release_fault is True


def test_read_release_accepts_a_digest_reference(tmp_path: Path) -> None:
    image = "127.0.0.1:5000/acme/web@sha256:" + "0" * 64
    archive = write_archive(tmp_path / ARCHIVE, [file("release.json", release_json(images=[image]))])
    assert read_release(archive)["images"] == [image]


def test_read_release_refuses_a_huge_release_json(tmp_path: Path) -> None:
    huge = release_json(description="x" * (1 << 20))
    archive = write_archive(tmp_path / ARCHIVE, [file("release.json", huge)])
    with pytest.raises(PackageError, match="larger than 1 MiB"):
        read_release(archive)


# -- images/*.tar (docker save) -------------------------------------------------------------------


def images_archive(tmp_path: Path, images: tuple[str, ...], *extra: Entry) -> tuple[Path, list[str]]:
    archive = write_archive(tmp_path / ARCHIVE, [*basic(images=images), folder("images"), *extra])
    return archive, list(images)


def test_check_images_returns_the_carried_tags(tmp_path: Path) -> None:
    archive, images = images_archive(tmp_path, (WEB, DB), file("images/web.tar", docker_save([WEB])),
                                     file("images/db.tar", docker_save([DB])))
    assert check_images(archive, members(archive), images) == [WEB, DB]


def test_check_images_with_one_tar_carrying_every_image(tmp_path: Path) -> None:
    archive, images = images_archive(tmp_path, (WEB, DB), file("images/all.tar", docker_save([WEB, DB])))
    assert sorted(check_images(archive, members(archive), images)) == sorted([WEB, DB])


def test_check_images_without_images_folder(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, basic())
    assert check_images(archive, members(archive), [WEB]) == []


@pytest.mark.parametrize(
    ("images", "extra", "match"),
    [
        pytest.param((WEB,), [file("images/web.tar", docker_save([WEB, "127.0.0.1:5000/acme/miner:1"]))],
                     r"images/web\.tar: carries 127\.0\.0\.1:5000/acme/miner:1, which release\.json does "
                     r"not list", id="an-image-release-json-does-not-list"),
        pytest.param((WEB, DB), [file("images/web.tar", docker_save([WEB]))],
                     r"images/ carries no archive for 127\.0\.0\.1:5000/acme/db:1\.1\.0", id="missing-image"),
        pytest.param((WEB,), [file("images/web.tar", docker_save(None))],
                     r"images/web\.tar: not a docker save archive with a manifest\.json",
                     id="no-manifest"),
        pytest.param((WEB,), [file("images/web.tar", docker_save([WEB], manifest={"RepoTags": [WEB]}))],
                     r"images/web\.tar: manifest\.json lists no image", id="manifest-not-a-list"),
        pytest.param((WEB,), [file("images/web.tar", docker_save([WEB], manifest=[{"Config": "x.json"}]))],
                     r"images/web\.tar: an image in manifest\.json has no RepoTags", id="no-repo-tags"),
        pytest.param((WEB,), [file("images/web.tar", b"not a tar at all" * 64)],
                     r"images/web\.tar: not a docker save archive", id="not-a-tar"),
        pytest.param((WEB,), [file("images/web.tar.gz", docker_save([WEB]))],
                     r"images/web\.tar\.gz: images/ may hold only <name>\.tar files", id="not-a-tar-name"),
        pytest.param((WEB,), [folder("images/more"), file("images/more/web.tar", docker_save([WEB]))],
                     r"images/more/web\.tar: images/ may hold only", id="nested"),
    ],
)
def test_check_images_refuses(tmp_path: Path, images: tuple[str, ...], extra: list[Entry],
                              match: str) -> None:
    archive, listed = images_archive(tmp_path, images, *extra)
    with pytest.raises(PackageError, match=match) as caught:
        check_images(archive, members(archive), listed)
    assert caught.value.retryable is False and caught.value.release_fault is True


OTHER = "127.0.0.1:5000/other/web:1.0"


def image_tar(*entries: Entry) -> bytes:
    """A docker save archive of its config and ``entries`` (a manifest.json, repositories …)."""
    return tar_bytes([file("x.json", b"{}"), *entries])


def manifest(*tags: str, **fields: Any) -> Entry:
    return file("manifest.json", json.dumps([{"Config": "x.json", "RepoTags": list(tags), "Layers": [],
                                              **fields}]).encode())


def index_json(*annotations: dict[str, str]) -> Entry:
    return file("index.json", json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "0" * 64, "size": 1,
         "annotations": value} for value in annotations]}).encode())


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), file("repositories", json.dumps(
            {"127.0.0.1:5000/other/web": {"1.0": "0" * 64}}).encode())))],
            rf"images/web\.tar: carries {OTHER}, which release\.json does not list", id="legacy-repositories"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), file("./manifest.json", json.dumps(
            [{"Config": "x.json", "RepoTags": [OTHER]}]).encode())))],
            r"images/web\.tar: entry '\./manifest\.json' is not the one regular manifest\.json", id="manifest-twice"),
        pytest.param([file("images/web.tar", image_tar(file("other.json", json.dumps(
            [{"Config": "x.json", "RepoTags": [OTHER]}]).encode()), symlink("manifest.json", "other.json")))],
            r"images/web\.tar: entry 'manifest\.json' is not the one regular manifest\.json", id="manifest-a-link"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), symlink("d", "."),
                                                       file("d/repositories", b"{}")))],
            r"images/web\.tar: entry 'd/repositories' lies under a link of the archive", id="written-through-a-link"),
        pytest.param([file("images/web.tar", image_tar(file("../manifest.json", b"[]"), manifest(WEB)))],
            r"images/web\.tar: entry '\.\./manifest\.json' is outside the archive's folder", id="dot-dot"),
        # The engine reads manifest.json with Go, whose JSON fills RepoTags from any key equal to
        # it in any case (the last one wins), the long s (U+017F) and the Kelvin sign folding to s and k.
        pytest.param([file("images/web.tar", image_tar(manifest(WEB, repotags=[OTHER])))],
                     rf"carries {OTHER}, which", id="repotags-in-another-case"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB, **{"RepoTag\u017f": [OTHER]})))],
                     rf"carries {OTHER}, which", id="repotags-with-a-long-s"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), index_json(
            {"io.containerd.image.name": OTHER})))], rf"carries {OTHER}, which", id="oci-index-name"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), index_json(
            {"org.opencontainers.image.ref.name": "other/web:1.0"})))],
            r"carries other/web:1\.0, which", id="oci-index-ref-name"),
        pytest.param([file("images/web.tar", image_tar(manifest(WEB), index_json({"x": "y"})))],
                     r"images/web\.tar: an image in index\.json has no name", id="oci-index-untagged"),
        pytest.param([file("images/web.tar", image_tar(manifest()))],
                     r"images/web\.tar: an image in manifest\.json has no RepoTags", id="untagged"),
        pytest.param([file("images/web.tar", image_tar(file("manifest.json", json.dumps(
            [{"RepoTags": [WEB]}]).encode() + json.dumps([{"RepoTags": [OTHER]}]).encode())))],
            r"images/web\.tar: manifest\.json is not valid JSON", id="two-json-documents"),
        pytest.param([file("images/web.tar", image_tar(manifest("127.0.0.1:5000/acme/web:1.1.0\nx")))],
                     r"carries '127\.0\.0\.1:5000/acme/web:1\.1\.0\\nx', which", id="tag-with-a-newline"),
        pytest.param([file("config/web.tar", docker_save([OTHER])), symlink("images/web.tar", "../config/web.tar")],
                     r"images/web\.tar: images/ may hold only <name>\.tar files", id="tar-a-symlink"),
        pytest.param([file("config/web.tar", docker_save([OTHER])), hardlink("images/web.tar", "config/web.tar")],
                     r"images/web\.tar: images/ may hold only <name>\.tar files", id="tar-a-hard-link"),
        pytest.param([folder("images/web.tar")], r"images/web\.tar: images/ may hold only", id="tar-a-folder"),
    ],
)
def test_check_images_refuses_an_image_release_json_does_not_name(tmp_path: Path, extra: list[Entry],
                                                                 match: str) -> None:
    """DESIGN §15: an offline package loads only the image references its release.json names;
    whatever could make ``docker load`` tag another one is refused at verify, in one line."""
    archive, listed = images_archive(tmp_path, (WEB,), *extra)
    with pytest.raises(PackageError, match=match) as caught:
        check_images(archive, members(archive), listed)
    assert "\n" not in str(caught.value)
    assert caught.value.retryable is False and caught.value.release_fault is True


def test_images_must_be_a_folder(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / ARCHIVE, [*basic(), folder("config"),
                                                 file("config/web.tar", docker_save([OTHER])),
                                                 symlink("images", "config")])
    with pytest.raises(PackageError, match=rf"{ARCHIVE}: images is not a folder"):
        check_images(archive, members(archive), [WEB])


def test_check_images_accepts_what_docker_save_writes_and_answers_in_release_json_spelling(tmp_path: Path) -> None:
    """A recent docker save: manifest.json, repositories and an OCI index.json whose ref.name is
    the tag alone; a familiar name (nginx:1.25) is the same image as docker.io/library/nginx:1.25."""
    nginx = "docker.io/library/nginx:1.25"
    saved = image_tar(manifest(WEB), file("repositories", json.dumps({"127.0.0.1:5000/acme/web": {
        "1.1.0": "0" * 64}}).encode()), file("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), index_json(
        {"io.containerd.image.name": WEB, "org.opencontainers.image.ref.name": "1.1.0"}))
    archive, images = images_archive(tmp_path, (WEB, nginx), file("images/web.tar", saved),
                                     file("images/nginx.tar", image_tar(manifest("nginx:1.25"))))
    assert check_images(archive, members(archive), images) == [WEB, nginx]


# -- the pull action loads only what it checked, right before loading it ---------------------------


def pull_context(project: Any, release_dir: Path) -> Any:
    from upgrader.actions.base import Context

    data = {"release_images": [WEB], "offline_images": [WEB], "release_dir": str(release_dir)}
    return Context(project=project, run={"from_version": "1.0.0", "to_version": VERSION, "data": data},
                   step="prefetch", params={}, journal=lambda event, detail: None, checkpoint=lambda: None,
                   progress=lambda detail: None)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, bytes]]:
    """What the (fake) engine was given to load; every image is there afterwards."""
    from upgrader.runtime import engine

    loaded: list[tuple[Path, bytes]] = []

    def load(archive: Path, stream: Any = None) -> list[str]:
        loaded.append((archive, stream.read()))
        return [WEB]

    monkeypatch.setattr(engine, "load", load)
    monkeypatch.setattr(engine, "digest", lambda reference: "sha256:" + "1" * 64)
    return loaded


def test_pull_loads_the_very_file_it_checked(project: Any, tmp_path: Path, loads: list[tuple[Path, bytes]]) -> None:
    from upgrader.actions.pull import pull

    release = tmp_path / "releases" / VERSION
    (release / "images").mkdir(parents=True)
    (release / "images" / "web.tar").write_bytes(saved := docker_save([WEB]))
    context = pull_context(project, release)
    pull(context)
    assert loads == [(release / "images" / "web.tar", saved)]
    assert context.data["images"] == {WEB: "sha256:" + "1" * 64}


@pytest.mark.parametrize("kind", ["foreign-tag", "symlink"])
def test_pull_checks_each_tar_again_and_loads_nothing_foreign(project: Any, tmp_path: Path, kind: str,
                                                               loads: list[tuple[Path, bytes]]) -> None:
    """The tar on disk could differ from the one verify read: pull refuses it before the engine
    sees a byte."""
    from upgrader.actions.pull import pull

    release = tmp_path / "releases" / VERSION
    (release / "images").mkdir(parents=True)
    tar = release / "images" / "web.tar"
    if kind == "symlink":
        (release / "other.tar").write_bytes(docker_save([WEB]))
        tar.symlink_to("../other.tar")
        match = rf"{tar}: cannot open it as a regular file"
    else:
        tar.write_bytes(docker_save([WEB, OTHER]))
        match = rf"^{tar}: carries {OTHER}, which release\.json does not list$"
    with pytest.raises(PackageError, match=match) as caught:
        pull(pull_context(project, release))
    assert caught.value.release_fault is True and caught.value.retryable is False
    assert loads == []
