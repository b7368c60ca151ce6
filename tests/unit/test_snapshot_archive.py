"""archive: tar streams shaped as the Docker Engine's ``get_archive`` gives them, into folder trees
(exact, incremental, refusing what is unsafe), and trees back into streams (round trips)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import socket
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from upgrader.snapshot import archive, tree
from upgrader.snapshot.archive import ArchiveError, tar_to_tree, tree_to_tar

MTIME = 1_700_000_000
NON_UTF8 = os.fsdecode(b"bad\xffname")
ROOT = os.geteuid() == 0


# -- building streams the way Docker shapes them ----------------------------------------------------

_TYPE_BITS = {tarfile.DIRTYPE: stat.S_IFDIR, tarfile.REGTYPE: stat.S_IFREG, tarfile.SYMTYPE: stat.S_IFLNK,
              tarfile.LNKTYPE: stat.S_IFREG, tarfile.FIFOTYPE: stat.S_IFIFO, tarfile.CHRTYPE: stat.S_IFCHR}


def _header(info: tarfile.TarInfo) -> bytes:
    """The member's header blocks with the file-type bits in its mode field, as Go writes it
    (``tarfile`` masks them away)."""
    blocks = bytearray(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
    header = len(blocks) - tarfile.BLOCKSIZE
    blocks[header + 100:header + 108] = b"%07o\0" % (info.mode | _TYPE_BITS[info.type])
    blocks[header + 148:header + 156] = b" " * 8
    blocks[header + 148:header + 156] = b"%06o\0 " % sum(blocks[header:])
    return bytes(blocks)


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", *, mode: int | None = None,
           uid: int = 0, gid: int = 0, mtime: int = MTIME, link: str = "",
           pax: dict[str, str] | None = None, device: tuple[int, int] = (0, 0)) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode if mode is not None else (0o755 if kind == tarfile.DIRTYPE else 0o644)
    info.uid, info.gid, info.mtime = uid, gid, mtime
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.linkname = link
    info.devmajor, info.devminor = device
    info.pax_headers = pax or {}
    return _header(info) + data + bytes(-len(data) % tarfile.BLOCKSIZE)


def stream(*members: bytes, chunk: int = 1000) -> Iterator[bytes]:
    """The archive in chunks of an awkward size (as a socket hands them out)."""
    data = b"".join(members) + bytes(2 * tarfile.BLOCKSIZE)
    return (data[at:at + chunk] for at in range(0, len(data), chunk))


def root(mode: int = 0o755) -> bytes:
    return member(".", tarfile.DIRTYPE, mode=mode)


SPARSE_SIZE = (1 << 20) + 100


def tricky() -> list[bytes]:
    """A volume as Docker streams it: walk order (not listing order), a hard link whose group's
    first path in listing order is not the stream's, every type, odd names, modes and owners."""
    members = [
        root(0o1777),
        member("./a", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000),
        member("./a/f", data=b"hello\n", uid=1000, gid=1000),
        member("./a/link-in", tarfile.SYMTYPE, link="f", mode=0o777),
        member("./a-c", tarfile.LNKTYPE, link="./a/f", uid=1000, gid=1000),  # after a/f in the walk
        member("./empty", tarfile.DIRTYPE, mode=0o700),
        member("./fifo", tarfile.FIFOTYPE, mode=0o620),
        member("./link-out", tarfile.SYMTYPE, link="/etc/passwd", mode=0o777),
        member("./locked", data=b"secret\n", mode=0o000),
        member("./new\nline", data=b"newline\n"),
        member(f"./{NON_UTF8}", data=b"not utf-8\n"),
        member("./owned", data=b"theirs\n", uid=1234, gid=5678, mode=0o640),
        member("./setuid", data=b"#!/bin/sh\n", mode=0o4755),
        member("./zeros", data=bytes(SPARSE_SIZE)),
    ]
    if ROOT:
        members.append(member("./null", tarfile.CHRTYPE, mode=0o666, device=(1, 3)))
    return members


def member_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), encoding="utf-8", errors="surrogateescape") as opened:
        return opened.getnames()


def describe(top: Path) -> dict[bytes, tuple[Any, ...]]:
    """Everything a copy must keep of a tree, path → (type, mode, owner, mtime in seconds, content
    digest or link target, hard-link group); the root's own entry too."""
    found: dict[bytes, os.stat_result] = {}
    pending = [b""]
    while pending:
        folder = pending.pop()
        found[folder or b"."] = os.lstat(os.path.join(os.fsencode(top), folder) if folder else os.fsencode(top))
        for item in os.scandir(os.path.join(os.fsencode(top), folder) if folder else os.fsencode(top)):
            path = folder + b"/" + item.name if folder else item.name
            status = item.stat(follow_symlinks=False)
            if stat.S_ISDIR(status.st_mode):
                pending.append(path)
            else:
                found[path] = status
    groups: dict[int, list[bytes]] = {}
    for path, status in found.items():
        if stat.S_ISREG(status.st_mode):
            groups.setdefault(status.st_ino, []).append(path)
    result = {}
    for path, status in found.items():
        full = os.path.join(os.fsencode(top), path)
        if stat.S_ISREG(status.st_mode):
            detail: Any = hashlib.sha256(Path(os.fsdecode(full)).read_bytes()).hexdigest()
        elif stat.S_ISLNK(status.st_mode):
            detail = os.readlink(full)
        else:
            detail = status.st_rdev if stat.S_ISCHR(status.st_mode) else None
        group = sorted(groups.get(status.st_ino, [])) if stat.S_ISREG(status.st_mode) else []
        mode = None if stat.S_ISLNK(status.st_mode) else stat.S_IMODE(status.st_mode)
        result[path] = (stat.S_IFMT(status.st_mode), mode, status.st_uid, status.st_gid,
                        status.st_mtime_ns // 1_000_000_000, status.st_size, detail, group)
    return result


# -- tar → tree ---------------------------------------------------------------------------------------

def test_a_docker_stream_becomes_an_exact_copy(tmp_path: Path) -> None:
    dest = tmp_path / "snapshot" / "volume-data"
    listing = tar_to_tree(stream(*tricky()), dest)

    assert stat.S_IMODE(dest.stat().st_mode) == 0o1777
    assert (dest / "a" / "f").read_bytes() == b"hello\n"
    assert (dest / "a-c").stat().st_ino == (dest / "a" / "f").stat().st_ino
    assert os.readlink(dest / "a" / "link-in") == "f"
    assert os.readlink(dest / "link-out") == "/etc/passwd"
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert list((dest / "empty").iterdir()) == []
    assert (dest / "new\nline").read_bytes() == b"newline\n"
    assert (dest / NON_UTF8).read_bytes() == b"not utf-8\n"
    assert os.fsencode(NON_UTF8) in os.listdir(os.fsencode(dest))
    zeros = (dest / "zeros").stat()
    assert zeros.st_size == SPARSE_SIZE and zeros.st_blocks == 0  # holes, not a MiB of zeros
    if ROOT:
        assert (dest / "owned").stat()[4:6] == (1234, 5678)
        assert stat.S_IMODE((dest / "locked").stat().st_mode) == 0
        assert stat.S_IMODE((dest / "setuid").stat().st_mode) == 0o4755
        assert os.lstat(dest / "null").st_rdev == os.makedev(1, 3)
    assert all(status[4] == MTIME for status in describe(dest).values())

    entries = listing.entries
    assert list(entries)[:4] == [".", "a", "a-c", "a/f"]  # listing order: by the bytes of the path
    assert entries["."].type == "dir" and entries["."].mode == 0o1777
    # The group's "file" is its first path in listing order, whatever the stream's walk order was.
    assert entries["a-c"].type == "file" and entries["a-c"].size == 6
    assert entries["a-c"].sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert (entries["a/f"].type, entries["a/f"].target, entries["a/f"].size) == ("hardlink", "a-c", 0)
    assert (entries["a/f"].uid, entries["a/f"].mode) == (1000, 0o644)
    assert entries["a/link-in"].target == "f" and entries["link-out"].target == "/etc/passwd"
    assert entries["fifo"].type == "fifo" and entries["fifo"].mode == 0o620
    assert entries["locked"].mode == 0 and entries["setuid"].mode == 0o4755
    assert (entries["owned"].uid, entries["owned"].gid) == (1234, 5678)
    assert entries[NON_UTF8].type == "file" and entries["new\nline"].type == "file"
    assert entries["zeros"].sha256 == hashlib.sha256(bytes(SPARSE_SIZE)).hexdigest()
    assert all(entry.mtime_ns == MTIME * 1_000_000_000 for entry in entries.values())
    if ROOT:
        assert entries["null"].type == "chardev" and entries["null"].rdev == os.makedev(1, 3)
    assert tree.check(dest, listing) == [] and tree.verify(dest, listing) == []
    listing.dump(tmp_path / "volume-data.listing")  # a listing as tree's own: it loads back, checked
    assert tree.Listing.load(tmp_path / "volume-data.listing").entries == listing.entries
    assert stat.S_IMODE((tmp_path / "snapshot").stat().st_mode) == 0o700


def test_a_top_folder_prefix_and_exact_pax_mtimes(tmp_path: Path) -> None:
    listing = tar_to_tree(stream(member("upgrader-volume", tarfile.DIRTYPE),
                                 member("upgrader-volume/f", data=b"x", pax={"mtime": "1700000000.123456789"})),
                          tmp_path / "copy", top="upgrader-volume")
    assert list(listing) == [".", "f"]
    assert listing["f"].mtime_ns == 1_700_000_000_123_456_789
    assert (tmp_path / "copy" / "f").stat().st_mtime_ns == 1_700_000_000_123_456_789


@pytest.mark.parametrize(("text", "ns"), [("1700000000", 1_700_000_000_000_000_000), ("-1.5", -1_500_000_000),
                                         ("12.3", 12_300_000_000), ("7.1234567891", 7_123_456_789)])
def test_pax_mtimes_are_read_to_the_nanosecond(tmp_path: Path, text: str, ns: int) -> None:
    listing = tar_to_tree(stream(root(), member("./f", pax={"mtime": text})), tmp_path / "copy")
    assert listing["f"].mtime_ns == ns
    back = tar_to_tree(tree_to_tar(tmp_path / "copy", listing), tmp_path / "back", top="upgrader-volume")
    assert back["f"].mtime_ns == ns and os.lstat(tmp_path / "back" / "f").st_mtime_ns == ns


def test_an_invalid_pax_mtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="invalid PAX mtime"):
        tar_to_tree(stream(root(), member("./f", pax={"mtime": "1e9"})), tmp_path / "copy")


def _counting_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every file tar_to_tree writes."""
    written: list[int] = []

    def write_sparse(fd: int, chunks: Any) -> tuple[int, str]:
        result = tree.write_sparse(fd, chunks)
        written.append(result[0])
        return result

    monkeypatch.setattr(archive, "write_sparse", write_sparse)
    return written


def test_a_second_pass_writes_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "copy"
    big = os.urandom(3 << 20)
    first = [root(), member("./keep", data=b"same\n"), member("./big", data=big),
             member("./change", data=b"before\n"), member("./grow", data=b"short\n"),
             member("./gone", data=b"bye\n"), member("./gone-dir", tarfile.DIRTYPE),
             member("./gone-dir/f", data=b"x"), member("./retype", data=b"file\n"),
             member("./chmod", data=b"mode\n", mode=0o600), member("./link", tarfile.LNKTYPE, link="./keep")]
    previous = tar_to_tree(stream(*first), dest)
    before = {name: os.lstat(dest / name) for name in ("keep", "big", "change", "chmod", "link")}
    (dest / ".upgrader-partial-0123456789abcdef").write_bytes(b"a leftover of a pass cut short")

    at = (2 << 20) + 5  # a byte of its third MiB, flipped (a fixed b"!" there was big's own byte one time in 256)
    changed_big = big[:at] + bytes([big[at] ^ 0xFF]) + big[at + 1:]
    second = [root(), member("./keep", data=b"same\n"), member("./big", data=changed_big),
              member("./change", data=b"after!\n"), member("./grow", data=b"longer now\n"),
              member("./new", data=b"hello\n"), member("./retype", tarfile.DIRTYPE),
              member("./chmod", data=b"mode\n", mode=0o644), member("./link", tarfile.LNKTYPE, link="./keep")]
    written = _counting_writes(monkeypatch)
    listing = tar_to_tree(stream(*second, chunk=65536), dest, previous)

    assert sorted(written) == [6, 7, 11, len(big)]  # new, change, grow, big: nothing else
    for name in ("keep", "chmod", "link"):  # the same inode, never rewritten
        assert os.lstat(dest / name).st_ino == before[name].st_ino
    keep = os.lstat(dest / "keep")
    assert (keep.st_mtime_ns, keep.st_ctime_ns) == (before["keep"].st_mtime_ns, before["keep"].st_ctime_ns)
    assert stat.S_IMODE(os.lstat(dest / "chmod").st_mode) == 0o644
    assert os.lstat(dest / "change").st_ino != before["change"].st_ino
    assert (dest / "big").read_bytes() == changed_big and (dest / "change").read_bytes() == b"after!\n"
    assert (dest / "grow").read_bytes() == b"longer now\n" and (dest / "retype").is_dir()
    assert sorted(os.listdir(dest)) == ["big", "change", "chmod", "grow", "keep", "link", "new", "retype"]
    assert tree.verify(dest, listing) == []
    assert listing["keep"].sha256 == previous["keep"].sha256

    # A third pass of the same stream writes nothing at all.
    written.clear()
    assert tar_to_tree(stream(*second), dest, listing).digest() == listing.digest()
    assert written == []


def test_without_previous_every_file_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = [root(), member("./a", data=b"a"), member("./b", data=b"bb")]
    tar_to_tree(stream(*members), tmp_path / "copy")
    written = _counting_writes(monkeypatch)
    tar_to_tree(stream(*members), tmp_path / "copy")
    assert sorted(written) == [1, 2]


def test_a_file_that_is_linked_elsewhere_in_dest_is_not_kept_for_another_path(tmp_path: Path) -> None:
    dest = tmp_path / "copy"
    previous = tar_to_tree(stream(root(), member("./a", data=b"x"), member("./b", tarfile.LNKTYPE, link="./a")), dest)
    listing = tar_to_tree(stream(root(), member("./a", data=b"x"), member("./b", data=b"x")), dest, previous)
    assert os.lstat(dest / "a").st_ino != os.lstat(dest / "b").st_ino
    assert listing["b"].type == "file" and tree.check(dest, listing) == []


def test_hard_links_of_what_is_not_a_file_become_copies(tmp_path: Path) -> None:
    listing = tar_to_tree(stream(root(), member("./s", tarfile.SYMTYPE, link="x"),
                                 member("./t", tarfile.LNKTYPE, link="./s")), tmp_path / "copy")
    assert listing["t"].type == "symlink" and listing["t"].target == "x"
    assert os.readlink(tmp_path / "copy" / "t") == "x"


# -- refusals -----------------------------------------------------------------------------------------

REFUSED = {
    "absolute name": [member("/etc/evil", data=b"x")],
    "dot-dot": [member("./../evil", data=b"x")],
    "dot-dot deeper": [member("./a/../../evil", data=b"x")],
    "outside top": [member("other/evil", data=b"x")],
    "hard link outside": [member("./evil", tarfile.LNKTYPE, link="../../etc/passwd")],
    "hard link absolute": [member("./evil", tarfile.LNKTYPE, link="/etc/passwd")],
    "hard link to nothing earlier": [member("./evil", tarfile.LNKTYPE, link="./later")],
    "folder not listed": [member("./nowhere/evil", data=b"x")],
    "twice": [member("./keep", data=b"other")],
    "garbage header": [os.urandom(3 * tarfile.BLOCKSIZE)],
}


@pytest.fixture
def synced(tmp_path: Path) -> tuple[Path, tree.Listing, dict[bytes, tuple[Any, ...]]]:
    dest = tmp_path / "copy"
    listing = tar_to_tree(stream(member("upgrader-volume", tarfile.DIRTYPE),
                                 member("upgrader-volume/keep", data=b"kept"),
                                 member("upgrader-volume/old", data=b"old")), dest, top="upgrader-volume")
    return dest, listing, describe(dest)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_unsafe_stream_is_refused_and_changes_nothing(
        case: str, tmp_path: Path, synced: tuple[Path, tree.Listing, dict[bytes, tuple[Any, ...]]]) -> None:
    """The unsafe member follows an unchanged one: refused before anything is written for it."""
    dest, previous, before = synced
    outside = sorted(os.listdir(tmp_path))
    members = [member("upgrader-volume", tarfile.DIRTYPE), member("upgrader-volume/keep", data=b"kept"),
               *[_under_top(block) for block in REFUSED[case]]]
    with pytest.raises(ArchiveError) as refused:
        tar_to_tree(stream(*members), dest, previous, top="upgrader-volume")
    assert "\n" not in str(refused.value)
    assert describe(dest) == before
    assert sorted(os.listdir(tmp_path)) == outside


def _under_top(block: bytes) -> bytes:
    """The REFUSED members, written for top ".", under the top folder ``upgrader-volume``."""
    try:
        info = tarfile.TarInfo.frombuf(block[:tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return block
    name, link = info.name, info.linkname
    if name.startswith("./"):
        name = "upgrader-volume/" + name[2:]
    if link.startswith("./"):
        link = "upgrader-volume/" + link[2:]
    data = block[tarfile.BLOCKSIZE:tarfile.BLOCKSIZE + info.size]
    return member(name, info.type, data, link=link)


def test_a_stream_that_is_not_a_tar_is_refused(tmp_path: Path) -> None:
    for chunks in ([os.urandom(4096)], [b""], [], [bytes(1024)], [root()], [root() + os.urandom(512)]):
        with pytest.raises(ArchiveError):
            tar_to_tree(iter(chunks), tmp_path / "copy")
    cut_short = b"".join(stream(root(), member("./f", data=os.urandom(5000))))[:2000]
    with pytest.raises(ArchiveError, match=r"not a valid tar stream|cut short"):
        tar_to_tree(iter([cut_short]), tmp_path / "copy")
    assert os.listdir(tmp_path / "copy") == []  # the file being written was removed


def test_a_late_refusal_leaves_earlier_entries_and_touches_nothing_outside(tmp_path: Path) -> None:
    dest, outside = tmp_path / "copy", tmp_path / "outside"
    outside.mkdir()
    tar_to_tree(stream(root(), member("./old", data=b"old")), dest)
    with pytest.raises(ArchiveError, match="its folder is not an earlier folder"):
        tar_to_tree(stream(root(), member("./new", data=b"new"), member("./link", tarfile.SYMTYPE, link=str(outside)),
                           member("./link/evil", data=b"x")), dest)
    assert list(outside.iterdir()) == []
    assert sorted(os.listdir(dest)) == ["link", "new", "old"]  # half synced: nothing removed yet


def test_the_entry_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "ENTRY_LIMIT", 3)
    with pytest.raises(ArchiveError, match="more than 3 entries"):
        tar_to_tree(stream(root(), *[member(f"./f{number}") for number in range(5)]), tmp_path / "copy")


# -- tree → tar ---------------------------------------------------------------------------------------

def test_round_trip_gives_the_same_tree_and_listing(tmp_path: Path) -> None:
    first = tar_to_tree(stream(*tricky(), member("./ns", data=b"ns", pax={"mtime": "1700000000.000000042"})),
                        tmp_path / "first")
    chunks = list(tree_to_tar(tmp_path / "first", first))
    assert all(len(chunk) < (1 << 20) + (64 << 10) for chunk in chunks)
    names = member_names(b"".join(chunks))
    assert names[0] == "upgrader-volume" and f"upgrader-volume/{NON_UTF8}" in names
    assert "upgrader-volume/new\nline" in names

    second = tar_to_tree(iter(chunks), tmp_path / "second", top="upgrader-volume")
    assert second.digest() == first.digest()
    assert second.entries == first.entries
    assert describe(tmp_path / "second") == describe(tmp_path / "first")
    assert (tmp_path / "second" / "ns").stat().st_mtime_ns == 1_700_000_000_000_000_042


def test_round_trip_of_a_host_copy(tmp_path: Path) -> None:
    """A listing that ``tree.sync`` made (nanosecond mtimes, holes) streams back exactly."""
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "f").write_bytes(b"data")
    os.link(source / "sub" / "f", source / "a-link")
    with open(source / "holes", "wb") as holes:
        holes.seek(1 << 20)
        holes.write(b"end")
    os.symlink("../nowhere", source / "sub" / "dangling")
    os.utime(source / "sub" / "f", ns=(1, 1_600_000_000_123_456_789))
    listing = tree.sync(source, tmp_path / "host-copy")
    copy = tar_to_tree(tree_to_tar(tmp_path / "host-copy", listing), tmp_path / "copy", top="upgrader-volume")
    assert [replace_source(entry) for entry in copy.values()] == [replace_source(entry) for entry in listing.values()]
    assert copy.digest() == listing.digest()
    assert (tmp_path / "copy" / "holes").stat().st_blocks < 64  # written sparse on our side


def replace_source(entry: tree.Entry) -> tree.Entry:
    return dataclasses.replace(entry, source=None)


def test_tree_to_tar_refuses_a_copy_that_changed_since_its_listing(tmp_path: Path) -> None:
    listing = tar_to_tree(stream(root(), member("./f", data=b"12345")), tmp_path / "copy")
    (tmp_path / "copy" / "f").write_bytes(b"54321")
    with pytest.raises(ArchiveError, match="sha256"):
        list(tree_to_tar(tmp_path / "copy", listing))
    (tmp_path / "copy" / "f").write_bytes(b"123")
    with pytest.raises(ArchiveError, match="size"):
        list(tree_to_tar(tmp_path / "copy", listing))


def test_tree_to_tar_refuses_a_hard_link_before_its_file(tmp_path: Path) -> None:
    listing = tar_to_tree(stream(root(), member("./a", data=b"x"), member("./b", tarfile.LNKTYPE, link="./a")),
                          tmp_path / "copy")
    swapped = tree.Listing([listing["."], dataclasses.replace(listing["b"], path="a", target="b"),
                            dataclasses.replace(listing["a"], path="b")])
    with pytest.raises(ArchiveError, match="not an earlier file"):
        list(tree_to_tar(tmp_path / "copy", swapped))


def test_tree_to_tar_streams_in_chunks_and_leaves_sockets_out(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "big").write_bytes(os.urandom(3 << 20))
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(source / "socket"))
        listing = tree.sync(source, tmp_path / "copy")
    assert listing["socket"].type == "socket"
    chunks = tree_to_tar(tmp_path / "copy", listing)
    assert len(next(chunks)) >= 1 << 20  # lazily: the first chunk before the file is read whole
    assert 2 <= len(list(chunks)) <= 4
    names = member_names(b"".join(tree_to_tar(tmp_path / "copy", listing)))
    assert names == ["upgrader-volume", "upgrader-volume/big"]
