"""upgrader.snapshot.tree: faithful, incremental copies of folder trees, their listings and their restore.

The trees are built in ``tmp_path`` with what a Docker volume may hold (names of any bytes, every file type,
modes, owners, sparse files, hard links, deep nesting); ``describe`` reads a tree back, by bytes paths, so that
two trees compare with everything a copy must keep. The CI runs as root; as another user only the owner
assertions are skipped.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from upgrader.snapshot import tree
from upgrader.snapshot.tree import Entry, Listing, ListingError, TreeError, check, digest, restore, sync, usage, verify

ROOT = os.geteuid() == 0
MIB = 1 << 20
SPARSE_SIZE = 64 * MIB
DEPTH = 200
WEIRD_NAMES = [b"new\nline", b"with space", b"-leading-dash", b"\xff\xfe-not-utf8", b"caf\xc3\xa9", b"a-c", b"a"]


# -- building and describing trees -----------------------------------------------------------------


def write(path: Path | bytes, content: bytes = b"", mode: int | None = None, mtime_ns: int | None = None) -> None:
    with open(path, "wb") as stream:
        stream.write(content)
    if mode is not None:
        os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def set_mode(path: Path, mode: int) -> None:
    """os.chmod, the mode given as a variable: the modes a volume holds are the point here, not a risk."""
    os.chmod(path, mode)


def make_sparse(path: Path) -> None:
    """64 MiB with 4 KiB of data at 1 MiB and 4 KiB at the end; the rest holes."""
    with open(path, "wb") as stream:
        stream.truncate(SPARSE_SIZE)
        stream.seek(MIB)
        stream.write(b"\x01" * 4096)
        stream.seek(SPARSE_SIZE - 4096)
        stream.write(b"\x02" * 4096)


def build(root: Path) -> None:
    """A tree with everything hard to copy."""
    root.mkdir()
    write(root / "plain.txt", b"plain content\n" * 100, mtime_ns=1_600_000_000_123_456_789)
    write(root / "empty")
    (root / "emptydir").mkdir()
    (root / "sub" / "nested").mkdir(parents=True)
    write(root / "sub" / "nested" / "file", b"nested")
    os.symlink("plain.txt", root / "link-relative")
    os.symlink("/etc/passwd", root / "link-absolute")
    os.symlink("../../outside/of/the/tree", root / "link-outside")
    os.symlink("nope/missing", root / "link-dangling")
    os.symlink("sub", root / "link-to-folder")
    write(root / "hard-a", b"linked content")
    os.link(root / "hard-a", root / "hard-c")
    os.link(root / "hard-a", root / "sub" / "hard-b")
    make_sparse(root / "sparse.img")
    write(root / "mode0000", b"secret", mode=0o000)
    write(root / "setuid", b"#!/bin/sh\n", mode=0o4755)
    write(root / "setgid", b"#!/bin/sh\n", mode=0o2755)
    (root / "sticky").mkdir()
    set_mode(root / "sticky", 0o1777)
    (root / "setgid-dir").mkdir()
    set_mode(root / "setgid-dir", 0o2755)
    (root / "closed").mkdir()
    write(root / "closed" / "inside", b"behind a 0000 folder")
    set_mode(root / "closed", 0o000)
    if ROOT:
        write(root / "owned", b"someone else's")
        os.chown(root / "owned", 1234, 5678)
        set_mode(root / "owned", 0o6750)  # chown cleared setuid/setgid: set them after
        (root / "owned-dir").mkdir()
        os.chown(root / "owned-dir", 4321, 8765)
        os.symlink("owned", root / "owned-link")
        os.chown(root / "owned-link", 1111, 2222, follow_symlinks=False)
    weird = root / "weird"
    weird.mkdir()
    for name in WEIRD_NAMES:
        write(os.path.join(os.fsencode(weird), name), name * 3)
    os.mkdir(os.path.join(os.fsencode(weird), b"dir-\xff"))
    write(os.path.join(os.fsencode(weird), b"dir-\xff", b"\n"), b"a name that is a newline")
    (root / "a").mkdir()
    write(root / "a" / "b", b"sorts after a-c")
    write(root / "a-c", b"sorts before a/b")
    os.mkfifo(root / "pipe", 0o640)
    os.mknod(root / "socket", 0o600 | stat.S_IFSOCK)
    if ROOT:
        os.mknod(root / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    deep = root / "deep"
    deep.mkdir()
    path = os.fsencode(deep)
    for _ in range(DEPTH):
        path = os.path.join(path, b"d")
        os.mkdir(path)
    write(os.path.join(path, b"leaf"), b"at the bottom")
    os.utime(root / "link-relative", ns=(1_500_000_000_000_000_001,) * 2, follow_symlinks=False)
    os.utime(root / "sub", ns=(1_400_000_000_999_999_999,) * 2)


def describe(root: Path) -> dict[bytes, tuple[Any, ...]]:
    """Every path of the tree (bytes, relative) → what a copy must keep: type, mode, owner, size, mtime, symlink
    target, content hash, device number and the first path of its hard-link group."""
    base = os.fsencode(root)
    statuses: dict[bytes, os.stat_result] = {b".": os.lstat(base)}
    for folder, folders, files in os.walk(base):
        for name in folders + files:
            full = os.path.join(folder, name)
            statuses[os.path.relpath(full, base)] = os.lstat(full)
    groups: dict[int, bytes] = {}
    for path in sorted(statuses):
        status = statuses[path]
        if stat.S_ISREG(status.st_mode) and status.st_nlink > 1:
            groups.setdefault(status.st_ino, path)
    result = {}
    for path, status in statuses.items():
        full = os.path.join(base, path)
        regular = stat.S_ISREG(status.st_mode)
        result[path] = (
            stat.S_IFMT(status.st_mode),
            stat.S_IMODE(status.st_mode),
            (status.st_uid, status.st_gid) if ROOT else None,
            status.st_size if regular else None,
            status.st_mtime_ns,
            os.readlink(full) if stat.S_ISLNK(status.st_mode) else None,
            hashlib.sha256(Path(os.fsdecode(full)).read_bytes()).hexdigest() if regular else None,
            status.st_rdev if stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode) else None,
            groups.get(status.st_ino) if regular else None,
        )
    return result


def assert_same(source: Path, copy: Path) -> None:
    """``copy`` holds exactly what ``source`` holds, and stays sparse where it is."""
    expected, found = describe(source), describe(copy)
    assert sorted(found) == sorted(expected)
    for path in expected:
        assert found[path] == expected[path], path
    for path in expected:
        source_status = os.lstat(os.path.join(os.fsencode(source), path))
        if stat.S_ISREG(source_status.st_mode):
            copy_status = os.lstat(os.path.join(os.fsencode(copy), path))
            assert copy_status.st_blocks <= source_status.st_blocks + 16, path


def make_readable(root: Path) -> None:
    """The folder of mode 0000: as root it is no obstacle; for tests that edit it, open it."""
    set_mode(root / "closed", 0o755)


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """These trees are written just before they are synced: with the racy window (RACY_NS) every entry would be
    copied again by the next pass. ``test_an_entry_changed_just_before_the_walk_is_copied_again`` tests it."""
    monkeypatch.setattr(tree, "RACY_NS", 0)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    build(tmp_path / "source")
    return tmp_path / "source"


def inode(path: Path) -> tuple[int, int]:
    status = os.lstat(path)
    return status.st_ino, status.st_ctime_ns


class CopySpy:
    """Counts the files whose content is copied, and fails after ``fail_after`` of them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after
        self.original: Callable[..., str | None] = tree._copy_content
        monkeypatch.setattr(tree, "_copy_content", self)

    def __call__(self, source_fd: int, dest_fd: int, size: int, *, hashing: bool) -> str | None:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.calls += 1
        return self.original(source_fd, dest_fd, size, hashing=hashing)


# -- sync --------------------------------------------------------------------------------------------


def test_sync_to_an_empty_dest_copies_everything_faithfully(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "snapshots" / "demo" / "run" / "item"
    reports: list[tuple[int, int]] = []
    listing = sync(source, dest, progress=lambda files, size: reports.append((files, size)))
    assert_same(source, dest)
    assert oct(os.stat(tmp_path / "snapshots").st_mode & 0o777) == oct(0o700)

    assert next(iter(listing)) == "."
    assert list(listing) == sorted(listing, key=lambda path: (path != ".", os.fsencode(path)))
    assert listing["a-c"].path == "a-c" and list(listing).index("a-c") < list(listing).index("a/b")
    assert listing["hard-a"].type == "file" and listing["hard-a"].sha256 is not None
    assert listing["hard-c"] == dataclasses.replace(listing["hard-c"], type="hardlink", target="hard-a", size=0,
                                                    sha256=None)
    assert listing["sub/hard-b"].type == "hardlink" and listing["sub/hard-b"].target == "hard-a"
    assert listing["link-outside"].target == "../../outside/of/the/tree"
    assert listing["link-to-folder"].type == "symlink"
    assert listing["pipe"].type == "fifo" and listing["socket"].type == "socket"
    assert listing["plain.txt"].sha256 == hashlib.sha256(b"plain content\n" * 100).hexdigest()
    assert listing["plain.txt"].mtime_ns == 1_600_000_000_123_456_789
    assert listing["sparse.img"].sha256 == hashlib.sha256((source / "sparse.img").read_bytes()).hexdigest()
    assert listing["mode0000"].mode == 0 and listing["setuid"].mode == 0o4755 and listing["sticky"].mode == 0o1777
    assert os.fsdecode(b"weird/\xff\xfe-not-utf8") in listing
    assert listing["weird/new\nline"].size == len(b"new\nline") * 3
    assert os.stat(dest / "sparse.img").st_blocks * 512 < 256 * 1024
    if ROOT:
        assert listing["null"].type == "chardev" and listing["null"].rdev == os.makedev(1, 3)
        assert (listing["owned"].uid, listing["owned"].gid, listing["owned"].mode) == (1234, 5678, 0o6750)
    status = os.lstat(source / "plain.txt")
    assert listing["plain.txt"].source == (status.st_dev, status.st_ino, status.st_ctime_ns, status.st_nlink)
    assert listing.files == sum(1 for entry in listing.values() if entry.type == "file")
    assert listing.bytes == sum(entry.size for entry in listing.values())
    assert reports and reports[-1] == (listing.files, listing.bytes)
    assert check(dest, listing) == [] and verify(dest, listing) == []


def test_sync_with_previous_copies_only_what_changed(source: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "copy"
    first = sync(source, dest)
    untouched = {name: inode(dest / name) for name in ("plain.txt", "sparse.img", "hard-a", "sub/nested/file")}
    make_readable(source)
    write(source / "setuid", b"#!/bin/bash\n")  # changed in place, same size
    with open(source / "empty", "ab") as stream:  # grows
        stream.write(b"grown")
    os.unlink(source / "mode0000")  # deleted
    write(source / "added", b"new file")  # added
    os.unlink(source / "link-relative")  # a symlink pointing elsewhere
    os.symlink("empty", source / "link-relative")
    os.unlink(source / "setgid")  # a file replaced by a folder
    (source / "setgid").mkdir()
    write(source / "setgid" / "inside", b"in the new folder")
    for child in (source / "sub").rglob("*"):  # a folder replaced by a symlink
        if child.is_file():
            child.unlink()
    (source / "sub" / "nested").rmdir()
    (source / "sub").rmdir()
    os.symlink("emptydir", source / "sub")
    set_mode(source / "setgid-dir", 0o750)  # metadata only
    os.rename(source / "pipe", source / "pipe-renamed")
    write(os.path.join(os.fsencode(source), b"weird", b"\xff\xfe-not-utf8"), b"other bytes")
    # Same size, same mtime: only the ctime tells.
    write(source / "a" / "b", b"SORTS AFTER A-C", mtime_ns=os.lstat(source / "a" / "b").st_mtime_ns)

    spy = CopySpy(monkeypatch)
    second = sync(source, dest, first)
    assert_same(source, dest)
    # setuid, empty, added, setgid/inside, the non-UTF-8 file, a/b; hard-a lost sub/hard-b (its nlink changed).
    assert spy.calls == 7
    for name in ("plain.txt", "sparse.img", "sub/nested/file"):
        if (source / name).exists():
            assert inode(dest / name) == untouched[name], name
            assert second[name].sha256 == first[name].sha256
    assert "mode0000" not in second and second["setgid"].type == "dir" and second["sub"].type == "symlink"
    assert second["hard-c"].type == "hardlink" and check(dest, second) == [] and verify(dest, second) == []
    # An incremental pass gives the same listing as a full one.
    assert second == sync(source, tmp_path / "full")
    # Nothing changed: nothing copied.
    spy.calls = 0
    assert sync(source, dest, second) == second
    assert spy.calls == 0


def test_sync_with_previous_follows_hard_link_changes(tmp_path: Path) -> None:
    source, dest = tmp_path / "source", tmp_path / "copy"
    source.mkdir()
    write(source / "a", b"group one")
    os.link(source / "a", source / "b")
    write(source / "c", b"alone")
    write(source / "d", b"group two")
    os.link(source / "d", source / "e")
    first = sync(source, dest)
    os.unlink(source / "b")  # b leaves a's group for a file of its own
    write(source / "b", b"independent")
    os.link(source / "c", source / "f")  # c gains a link
    write(source / "d", b"GROUP TWO")  # written in place: e sees it too
    second = sync(source, dest, first)
    assert_same(source, dest)
    assert (dest / "a").read_bytes() == b"group one"
    assert (second["b"].type, second["f"].type, second["f"].target, second["e"].target) == (
        "file", "hardlink", "c", "d")
    assert os.stat(dest / "d").st_ino == os.stat(dest / "e").st_ino
    # A copy damaged since (its size is wrong): rewritten, and its hard links follow.
    os.truncate(dest / "d", 1)
    assert sync(source, dest, second) == second
    assert_same(source, dest)


def test_sync_converges_after_being_interrupted(source: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "copy"
    dest.mkdir()
    write(dest / "left-over", b"from some earlier attempt")
    (dest / "sub").mkdir()
    write(dest / "sub" / "nested", b"a file where the source has a folder")
    CopySpy(monkeypatch, fail_after=5)
    with pytest.raises(TreeError) as raised:
        sync(source, dest)
    assert raised.value.errno == errno.ENOSPC and "No space left on device" in str(raised.value)
    monkeypatch.undo()
    first = sync(source, dest)
    assert_same(source, dest)

    make_readable(source)
    for name in ("plain.txt", "hard-a", "setuid", "weird/a"):
        write(source / name, b"changed " + name.encode())
    os.unlink(source / "empty")
    CopySpy(monkeypatch, fail_after=2)
    with pytest.raises(TreeError):
        sync(source, dest, first)
    monkeypatch.undo()
    assert sync(source, dest, first) == sync(source, tmp_path / "reference")
    assert_same(source, dest)

    CopySpy(monkeypatch, fail_after=1)
    write(source / "plain.txt", b"changed again")
    with pytest.raises(TreeError):
        sync(source, dest, first)
    monkeypatch.undo()
    sync(source, dest)
    assert_same(source, dest)


def test_sync_leaves_out_what_vanishes_while_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, dest = tmp_path / "source", tmp_path / "copy"
    source.mkdir()
    for name in ("gone", "swapped", "stays", "link"):
        write(source / name, name.encode())
    original = tree._prune

    def prune_while_the_server_writes(dest_root: str, found: dict[str, int]) -> dict[str, os.stat_result]:
        # After the walk, before the copy: the way a running server deletes and replaces files.
        (source / "gone").unlink()
        (source / "swapped").unlink()
        (source / "swapped").mkdir()
        return original(dest_root, found)

    monkeypatch.setattr(tree, "_prune", prune_while_the_server_writes)
    listing = sync(source, dest)
    assert sorted(listing) == [".", "link", "stays"]
    assert sorted(os.listdir(dest)) == ["link", "stays"]
    monkeypatch.undo()
    assert sync(source, dest, listing)["swapped"].type == "dir"
    assert_same(source, dest)


def test_an_entry_changed_just_before_the_walk_is_copied_again(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A file changed in the tick of its lstat may change again in that tick, after its copy, its stat unchanged:
    its entry has no ``source``, so the next pass copies it again even though its stat is the same."""
    source = tmp_path / "source"
    source.mkdir()
    write(source / "old", b"changed long ago")
    time.sleep(0.05)  # a timestamp tick is a jiffy at most (10 ms)
    write(source / "db", b"page 1")
    old = os.lstat(source / "old")
    monkeypatch.setattr(tree, "RACY_NS", time.time_ns() - old.st_ctime_ns - 1)  # "db" is in the window, "old" not
    first = sync(source, tmp_path / "copy")
    assert first["db"].source is None and first["old"].source is not None
    monkeypatch.setattr(tree, "RACY_NS", 0)
    spy = CopySpy(monkeypatch)
    second = sync(source, tmp_path / "copy", first)
    assert spy.calls == 1 and second["db"].source is not None and second["old"] is first["old"]
    assert sync(source, tmp_path / "copy", second) == second and spy.calls == 1


def test_sync_does_not_cross_into_another_filesystem(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "mounted").mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(source / "mounted")],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        write(source / "mounted" / "elsewhere", b"on the tmpfs")
        listing = sync(source, tmp_path / "copy")
        assert listing["mounted"].type == "dir" and "mounted/elsewhere" not in listing
        assert os.listdir(tmp_path / "copy" / "mounted") == []
        assert usage(source) == (0, 0)
    finally:
        subprocess.run(["umount", str(source / "mounted")], check=True)


def test_sync_refuses_what_is_not_a_folder_or_overlaps(source: Path, tmp_path: Path) -> None:
    with pytest.raises(TreeError, match="not a folder"):
        sync(source / "plain.txt", tmp_path / "copy")
    with pytest.raises(TreeError, match="not a folder") as raised:
        sync(tmp_path / "missing", tmp_path / "copy")
    assert not isinstance(raised.value, OSError)
    with pytest.raises(TreeError, match="overlaps"):
        sync(source, source / "sub" / "copy")
    with pytest.raises(TreeError, match="overlaps"):
        sync(source / "sub", source)
    write(tmp_path / "a-file")
    with pytest.raises(TreeError, match="not a folder"):
        sync(source, tmp_path / "a-file")


def test_progress_is_throttled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for number in range(50):
        write(source / f"file{number}", b"x" * number)
    reports: list[tuple[int, int]] = []
    monkeypatch.setattr(tree, "PROGRESS_INTERVAL", 3600)
    sync(source, tmp_path / "copy", progress=lambda files, size: reports.append((files, size)))
    assert reports == [(50, sum(range(50)))]  # within the interval: only the final report
    monkeypatch.setattr(tree, "PROGRESS_INTERVAL", 0)
    reports.clear()
    sync(source, tmp_path / "copy2", progress=lambda files, size: reports.append((files, size)))
    assert reports[0] == (1, 0) and reports[-1] == (50, sum(range(50)))


# -- restore -----------------------------------------------------------------------------------------


def test_restore_into_a_folder_holding_other_content(source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    listing = sync(source, copy)
    reference = tmp_path / "reference"
    sync(source, reference)
    # The upgrade changed the data: restore into the same folder puts it back.
    make_readable(source)
    write(source / "plain.txt", b"migrated")
    write(source / "extra", b"written by the new version")
    (source / "extra-dir" / "deeper").mkdir(parents=True)
    os.unlink(source / "link-absolute")
    set_mode(source / "setuid", 0o644)
    os.unlink(source / "sub" / "hard-b")
    write(source / "sub" / "hard-b", b"no longer linked")
    os.utime(source, ns=(1, 1))
    restore(copy, listing, source)
    assert_same(reference, source)
    assert verify(source, listing) == []


def test_restore_into_a_missing_folder_and_after_an_interruption(source: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "copy"
    listing = sync(source, copy)
    dest = tmp_path / "missing" / "volume"
    restore(copy, listing, dest)
    assert_same(copy, dest)
    spy = CopySpy(monkeypatch, fail_after=3)
    with pytest.raises(TreeError) as raised:
        restore(copy, listing, tmp_path / "interrupted")
    assert raised.value.errno == errno.ENOSPC and spy.calls == 3
    monkeypatch.undo()
    restore(copy, listing, tmp_path / "interrupted")
    assert_same(copy, tmp_path / "interrupted")


def test_restore_names_the_path_it_cannot_restore(source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    listing = sync(source, copy)
    (copy / "plain.txt").unlink()
    with pytest.raises(TreeError, match=r"copy/plain\.txt: missing from the copy"):
        restore(copy, listing, tmp_path / "dest")
    assert check(copy, listing) == ["plain.txt: missing"]


# -- listings ----------------------------------------------------------------------------------------


def test_listing_round_trips_through_dump_and_load(source: Path, tmp_path: Path) -> None:
    listing = sync(source, tmp_path / "copy")
    path = tmp_path / "listing.jsonl"
    listing.dump(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["copy", "listing.jsonl", "source"]
    text = path.read_bytes()
    assert text.isascii() and b"\\udcff\\udcfe-not-utf8" in text and b'"weird/new\\nline"' in text
    assert len(text.splitlines()) == len(listing)
    loaded = Listing.load(path)
    assert loaded == listing and list(loaded) == list(listing)
    assert loaded.digest() == listing.digest() == digest(loaded)
    assert loaded["plain.txt"].source == listing["plain.txt"].source
    assert isinstance(loaded["plain.txt"].source, tuple)


def entry_line(**fields: Any) -> str:
    base: dict[str, Any] = {"path": "f", "type": "file", "mode": 0o644, "uid": 0, "gid": 0, "size": 1,
                            "mtime_ns": 5, "target": None, "sha256": "0" * 64, "rdev": None, "source": None}
    return json.dumps({**base, **fields})


ROOT_LINE = entry_line(path=".", type="dir", size=0, sha256=None)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "not a listing"),
    (ROOT_LINE.encode(), "truncated"),
    (f"{ROOT_LINE}\n{entry_line()}".encode(), "truncated"),
    (f"{ROOT_LINE}\n{entry_line()[:30]}\n".encode(), "not valid JSON"),
    (b"\xff\xfe\n", "not valid JSON"),
    (f"{ROOT_LINE}\n".encode() + b"[" * (MIB + 10) + b"\n", "longer than 1 MiB"),
    (f"{ROOT_LINE}\n".encode() + b"[" * 200_000 + b"]" * 200_000 + b"\n", "nested too deeply"),
    (b"[1, 2]\n", "not a JSON object"),
    (f"{ROOT_LINE}\n{entry_line(mode='644')}\n".encode(), "'mode'"),
    (f"{ROOT_LINE}\n{entry_line(uid=True)}\n".encode(), "'uid'"),
    (f"{ROOT_LINE}\n{entry_line(size=-1)}\n".encode(), "'size'"),
    (f"{ROOT_LINE}\n{entry_line(mode=0o17777)}\n".encode(), "out of range"),
    (f"{ROOT_LINE}\n{entry_line(colour='red')}\n".encode(), "unknown field 'colour'"),
    (f"{ROOT_LINE}\n" + json.dumps({"path": "f", "type": "file"}) + "\n", "no 'mode'"),
    (f"{ROOT_LINE}\n{entry_line(type='door')}\n".encode(), "'type'"),
    (f"{ROOT_LINE}\n{entry_line(sha256='xyz')}\n".encode(), "'sha256'"),
    (f"{ROOT_LINE}\n{entry_line(type='dir', size=0, sha256='0' * 64)}\n".encode(), "'sha256'"),
    (f"{ROOT_LINE}\n{entry_line(type='chardev', size=0, sha256=None)}\n".encode(), "'rdev'"),
    (f"{ROOT_LINE}\n{entry_line(source=[1, 2, 3])}\n".encode(), "'source'"),
    (f"{ROOT_LINE}\n{entry_line(path='../escape')}\n".encode(), "'path'"),
    (f"{ROOT_LINE}\n{entry_line(path='/etc/passwd')}\n".encode(), "'path'"),
    (f"{ROOT_LINE}\n{entry_line(path='a//b')}\n".encode(), "'path'"),
    (f"{ROOT_LINE}\n" + entry_line(path="\ud800") + "\n", "'path'"),
    (f"{ROOT_LINE}\n{entry_line(type='symlink', size=0, sha256=None)}\n".encode(), "'target'"),
    (f"{ROOT_LINE}\n{entry_line()}\n{entry_line()}\n".encode(), "listed twice"),
    (f"{entry_line()}\n".encode(), 'no root entry "."'),
    (f"{ROOT_LINE}\n{entry_line(path='missing/f')}\n".encode(), "its folder is not listed"),
    (f"{ROOT_LINE}\n{entry_line(path='link', type='symlink', size=0, sha256=None, target='/etc')}\n"
     f"{entry_line(path='link/passwd')}\n".encode(), "its folder is not listed"),
    (f"{ROOT_LINE}\n{entry_line(path='a', type='hardlink', size=0, sha256=None, target='b')}\n"
     f"{entry_line(path='b')}\n".encode(), "not an earlier file"),
])
def test_listing_load_refuses_what_is_not_a_listing(tmp_path: Path, content: bytes | str, reason: str) -> None:
    path = tmp_path / "bad listing.jsonl"
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    with pytest.raises(ListingError) as raised:
        Listing.load(path)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and reason in message
    assert isinstance(raised.value, ValueError)


def test_listing_load_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ListingError, match=r"nothing\.jsonl: cannot read: No such file or directory$"):
        Listing.load(tmp_path / "nothing.jsonl")


def test_listing_load_takes_a_valid_minimal_listing(tmp_path: Path) -> None:
    path = tmp_path / "listing.jsonl"
    link = entry_line(path="g", type="hardlink", size=0, sha256=None, target="f")
    path.write_text(f"{ROOT_LINE}\n{entry_line()}\n{link}\n")
    listing = Listing.load(path)
    assert list(listing) == [".", "f", "g"] and listing.files == 1 and listing.bytes == 1


def test_digest_is_the_documented_serialization_and_sees_every_field(tmp_path: Path) -> None:
    entries = [Entry(".", "dir", 0o755, 0, 0, 0, 10), Entry("f\xff", "file", 0o4755, 1, 2, 3, -4, sha256="a" * 64),
               Entry("l", "symlink", 0o777, 0, 0, 0, 5, target="/x", source=(1, 2, 3, 4))]
    listing = Listing(entries)
    expected = hashlib.sha256(b"".join([
        b".\0dir\x00755\x000\x000\x000\x0010\x00\x00\0\n",
        b"f\xc3\xbf\0file\x004755\x001\x002\x003\x00-4\x00\x00" + b"a" * 64 + b"\0\n",
        b"l\0symlink\x00777\x000\x000\x000\x005\x00/x\x00\0\n",
    ])).hexdigest()
    assert digest(listing) == listing.digest() == expected
    changes: dict[str, Any] = {"path": "g", "type": "hardlink", "mode": 0o755, "uid": 9, "gid": 9, "size": 4,
                               "mtime_ns": 7, "target": "other", "sha256": "b" * 64}
    for name, value in changes.items():
        changed = Listing([entries[0], dataclasses.replace(entries[1], **{name: value}), entries[2]])
        assert digest(changed) != expected, name
    unseen: dict[str, Any] = {"source": (9, 9, 9, 9), "rdev": 3}
    for name, value in unseen.items():
        same = Listing([entries[0], dataclasses.replace(entries[1], **{name: value}), entries[2]])
        assert digest(same) == expected, name
    path = tmp_path / "listing.jsonl"
    listing.dump(path)
    assert Listing.load(path).digest() == expected


# -- check, verify, usage, sparse helpers ------------------------------------------------------------


def test_check_and_verify_find_what_differs(source: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    listing = sync(source, copy)
    (copy / "plain.txt").unlink()
    with open(copy / "hard-a", "ab") as stream:
        stream.write(b"longer")
    content = bytearray((copy / "setgid").read_bytes())
    content[0] ^= 0xFF
    (copy / "setgid").write_bytes(bytes(content))
    set_mode(copy / "setgid", 0o2755)
    os.utime(copy / "setgid", ns=(listing["setgid"].mtime_ns,) * 2)
    os.unlink(copy / "link-relative")
    os.symlink("elsewhere", copy / "link-relative")
    os.unlink(copy / "hard-c")
    write(copy / "hard-c", b"")
    problems = check(copy, listing)
    assert problems == [
        "hard-a: holds 20 bytes, not 14",
        "hard-c: is not a hard link of hard-a",
        "link-relative: points to elsewhere, not plain.txt",
        "plain.txt: missing",
    ]
    verified = verify(copy, listing)
    assert "setgid: content differs (sha256)" in verified and set(problems) <= set(verified)
    if ROOT:
        set_mode(copy / "sticky", 0o755)
        assert "sticky: mode 0755, not 1777" in verify(copy, listing)
        assert "sticky: mode 0755, not 1777" not in check(copy, listing)
    for number in range(30):
        write(copy / f"x{number}")
    many = Listing([*listing.values(), *(Entry(f"x{number}", "file", 0o644, 0, 0, 5, 0, sha256="0" * 64)
                                         for number in range(30))])
    lines = check(copy, many)
    assert len(lines) == 21 and lines[-1] == f"… and {len(check(copy, listing)) + 30 - 20} more"


def test_check_names_weird_paths_on_one_line(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    write(os.path.join(os.fsencode(source), b"new\nline\xff"), b"x")
    listing = sync(source, tmp_path / "copy")
    os.unlink(os.path.join(os.fsencode(tmp_path / "copy"), b"new\nline\xff"))
    assert check(tmp_path / "copy", listing) == ["new\\nline\\xff: missing"]


def test_usage_counts_blocks_and_hard_links_once(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    make_sparse(root / "sparse")
    write(root / "data", b"x" * 100_000)
    os.link(root / "data", root / "link")
    os.symlink("data", root / "symlink")
    files, size = usage(root)
    assert files == 2
    assert size == (os.stat(root / "sparse").st_blocks + os.stat(root / "data").st_blocks) * 512
    assert size < 1 * MIB
    with pytest.raises(TreeError, match="No such file"):
        usage(tmp_path / "missing")


def test_write_sparse_and_data_ranges(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    chunks = [bytes(MIB), b"\x07" * 10 + bytes(MIB - 10), bytes(3 * MIB), b"end"]
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        size, sha256 = tree.write_sparse(fd, chunks)
        assert size == 5 * MIB + 3 and sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
        assert os.fstat(fd).st_blocks * 512 <= 64 * 1024
        ranges = list(tree.data_ranges(fd, size))
        assert ranges[0][0] == MIB and ranges[-1][0] + ranges[-1][1] == size
        assert sum(length for _, length in ranges) <= 64 * 1024
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(chunks)


def test_a_reflink_is_cut_to_the_walked_size_and_the_copy_hashed(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """ext4 has no reflinks: a fake FICLONE, cloning the file as it is when cloned (grown since the walk)."""
    source = tmp_path / "source"
    source.mkdir()
    write(source / "log", b"first line\n")
    clones: list[int] = []

    def fake_ioctl(dest_fd: int, request: int, source_fd: int) -> int:
        assert request == tree.FICLONE
        with open(source / "log", "ab") as stream:
            stream.write(b"written while copied\n")
        content = os.pread(source_fd, 1 << 16, 0)
        os.pwrite(dest_fd, content, 0)
        clones.append(len(content))
        return 0

    monkeypatch.setattr(fcntl, "ioctl", fake_ioctl)
    listing = sync(source, tmp_path / "copy")
    assert clones == [len(b"first line\nwritten while copied\n")]
    assert (tmp_path / "copy" / "log").read_bytes() == b"first line\n"
    assert listing["log"].size == 11 and listing["log"].sha256 == hashlib.sha256(b"first line\n").hexdigest()
    monkeypatch.undo()
    assert sync(source, tmp_path / "copy", listing)["log"].size == clones[0]
    assert_same(source, tmp_path / "copy")
