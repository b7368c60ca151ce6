"""Tar streams to folder trees and back: the ``engine`` way to copy a volume (DESIGN §9).

The Docker Engine's archive API hands a volume's content out as a tar stream and takes one back;
this module turns such a stream into an exact copy in a folder of ours (``tar_to_tree``, with the
``Listing`` of what it holds) and a copy back into a stream (``tree_to_tar``). Pure ``tarfile``
and filesystem work, no Docker: ``upgrader.runtime.volumes`` moves the streams.

Both sides stream: neither the archive nor a file is ever held whole in memory. A snapshot taken
again over an earlier copy rewrites only what changed, so an unchanged volume costs reads only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import logging
import os
import re
import secrets
import shutil
import stat
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Self

from upgrader.snapshot.tree import Entry, Listing, TreeError, write_sparse
from upgrader.store import make_dirs

logger = logging.getLogger(__name__)

ENTRY_LIMIT = 10_000_000
CHUNK = 1 << 20
_NS = 1_000_000_000
_TEMPORARY = ".upgrader-partial-"
_PAX_TIME = re.compile(r"(-?)([0-9]+)(?:\.([0-9]*))?")

_TYPES = {tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink",
          tarfile.FIFOTYPE: "fifo", tarfile.CHRTYPE: "chardev", tarfile.BLKTYPE: "blockdev"}
_TAR_TYPES = {kind: type_flag for type_flag, kind in _TYPES.items()} | {"file": tarfile.REGTYPE}
_DEVICE_MODES = {"chardev": stat.S_IFCHR, "blockdev": stat.S_IFBLK}


class ArchiveError(TreeError):
    """A tar stream that is unsafe or not a tar, or a copy that cannot be written (one line).

    A ``TreeError``: whoever copies trees handles both alike (``errno`` 28: the disk is full).
    """


def _show(path: str) -> str:
    """A path on one line, whatever bytes it holds."""
    return ascii(path)


# -- tar → tree ---------------------------------------------------------------------------------------

class _ChunkReader(io.RawIOBase):
    """A file object reading an iterable of chunks, one chunk in memory at a time."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


# tarfile's own names for a header block of zeros and for no header block at all (not in its __all__).
_END_MARKER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
_NO_MORE_BYTES: type[Exception] = tarfile.EmptyHeaderError  # type: ignore[attr-defined]


class _StrictTarInfo(tarfile.TarInfo):
    """A header reader that refuses what ``tarfile`` forgives in a stream: a block that is not a
    header, or a stream that stops without its end marker, would otherwise end the archive
    silently there, and the copy would lose everything after it."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile_)
        except _END_MARKER:
            raise  # a complete archive
        except _NO_MORE_BYTES:
            raise ArchiveError("the tar stream ends without its end marker (cut short?)") from None
        except tarfile.HeaderError as error:
            raise ArchiveError(f"not a tar stream at byte {tarfile_.offset}: {error}") from None


def _sort_key(path: str) -> tuple[bool, bytes]:
    return path != ".", os.fsencode(path)


def _mtime_ns(member: tarfile.TarInfo) -> int:
    """The member's mtime in ns, exactly: ``tarfile`` turns a PAX mtime into a float."""
    text = member.pax_headers.get("mtime")
    if text is None:
        return int(member.mtime) * _NS
    found = _PAX_TIME.fullmatch(text)
    if found is None:
        raise ArchiveError(f"{_show(member.name)}: an invalid PAX mtime {_show(text)}")
    sign, seconds, fraction = found.groups()
    value = int(seconds) * _NS + int(((fraction or "") + "000000000")[:9])
    return -value if sign else value


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _clear(path: str, status: os.stat_result | None) -> None:
    if status is None:
        return
    if stat.S_ISDIR(status.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


class _Sync:
    """One pass of ``tar_to_tree``: every member is checked before anything is written for it."""

    def __init__(self, dest: Path, previous: Listing | None, top: str) -> None:
        self.dest = dest
        self.previous = previous
        self.top_parts = [part for part in top.split("/") if part not in ("", ".")]
        self.as_root = os.geteuid() == 0
        self.entries: dict[str, Entry] = {}
        self.folders: list[str] = []
        self.groups: dict[str, list[str]] = {}  # the "file" of a hard-link group → its other paths
        self.absent: set[str] = set()  # listed, but not made (a device, when not root)
        self.claimed: set[tuple[int, int]] = set()  # inodes of the files kept or written this pass
        self.written = self.kept = 0

    def relative(self, name: str) -> str:
        """The member's path inside the tree; refuses a name that would leave it."""
        if name.startswith("/"):
            raise ArchiveError(f"refusing the absolute name {_show(name)}")
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise ArchiveError(f"refusing the name {_show(name)}: it goes up with '..'")
        if parts[:len(self.top_parts)] != self.top_parts:
            raise ArchiveError(f"refusing the name {_show(name)}: it is outside {_show('/'.join(self.top_parts))}")
        return "/".join(parts[len(self.top_parts):]) or "."

    def target(self, path: str) -> str:
        return str(self.dest) if path == "." else os.path.join(self.dest, path)

    def add(self, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        if len(self.entries) >= ENTRY_LIMIT:
            raise ArchiveError(f"refusing a tar stream of more than {ENTRY_LIMIT} entries")
        path = self.relative(member.name)
        kind = "file" if member.isreg() else _TYPES.get(member.type)
        if kind is None:
            raise ArchiveError(f"{_show(path)}: unsupported tar entry type {member.type!r}")
        if path in self.entries:
            raise ArchiveError(f"{_show(path)}: appears twice in the tar stream")
        if not self.entries and (path != "." or kind != "dir"):
            raise ArchiveError(f"the tar stream does not begin with its top folder but with {_show(path)}")
        parent = path.rpartition("/")[0] or "."
        # Only a folder this stream made may hold an entry: never a symlink that a member put there.
        if path != "." and (parent not in self.entries or self.entries[parent].type != "dir"):
            raise ArchiveError(f"{_show(path)}: its folder is not an earlier folder of the tar stream")
        if kind == "hardlink":
            entry = self.hard_link(path, member.linkname)  # checked before anything is written
        else:
            entry = Entry(path=path, type=kind, mode=member.mode & 0o7777, uid=member.uid, gid=member.gid,
                          size=0, mtime_ns=_mtime_ns(member),
                          target=member.linkname if kind == "symlink" else None,
                          rdev=os.makedev(member.devmajor, member.devminor) if kind in _DEVICE_MODES else None)
        try:
            entry = self.make(entry, member, archive)
        except OSError as error:
            raise ArchiveError(f"{_show(path)}: {error.strerror or error}", error.errno) from None
        self.entries[path] = entry

    def hard_link(self, path: str, linkname: str) -> Entry:
        """The entry of a hard link: to a file, a "hardlink" of its group; to anything else (Docker
        links symlinks and fifos too), a copy of its own, as a listing has hard links of files only."""
        try:
            first = self.relative(linkname)
        except ArchiveError:
            raise ArchiveError(f"{_show(path)}: refusing a hard link to {_show(linkname)}, outside the tree") from None
        found = self.entries.get(first)
        if found is None or found.type == "dir":
            raise ArchiveError(f"{_show(path)}: a hard link to {_show(linkname)}, which is no earlier entry")
        if found.type == "hardlink":
            first = found.target or ""
            found = self.entries[first]
        if found.type != "file":
            return dataclasses.replace(found, path=path)
        self.groups.setdefault(first, []).append(path)
        return dataclasses.replace(found, path=path, type="hardlink", target=first, size=0, sha256=None)

    def make(self, entry: Entry, member: tarfile.TarInfo, archive: tarfile.TarFile) -> Entry:
        """Make ``entry`` in dest, keeping what is there already when it is the same."""
        target = self.target(entry.path)
        existing = _lstat(target)
        if entry.type == "dir":
            if entry.path == "." and existing is None:
                make_dirs(self.dest)  # new folders 0700, parents too
            elif existing is None or not stat.S_ISDIR(existing.st_mode):
                _clear(target, existing)
                os.mkdir(target, 0o700)
            self.folders.append(entry.path)  # its metadata at the end: what it holds changes its mtime
            return entry
        if entry.type == "file":
            return self.file(entry, member, archive, target, existing)
        if entry.type == "hardlink":
            first = os.lstat(self.target(entry.target or ""))
            if existing is None or (existing.st_dev, existing.st_ino) != (first.st_dev, first.st_ino):
                _clear(target, existing)
                os.link(self.target(entry.target or ""), target, follow_symlinks=False)
            return entry  # the group's inode, whose metadata is set
        if entry.type == "symlink":
            if existing is None or not stat.S_ISLNK(existing.st_mode) or os.readlink(target) != entry.target:
                _clear(target, existing)
                os.symlink(entry.target or "", target)
        elif entry.type == "fifo":
            if existing is None or not stat.S_ISFIFO(existing.st_mode):
                _clear(target, existing)
                os.mkfifo(target, 0o600)
        elif not self.as_root:  # a device: only root may make one
            _clear(target, existing)
            self.absent.add(entry.path)
            return entry
        elif (existing is None or stat.S_IFMT(existing.st_mode) != _DEVICE_MODES[entry.type]
              or existing.st_rdev != entry.rdev):
            _clear(target, existing)
            os.mknod(target, 0o600 | _DEVICE_MODES[entry.type], entry.rdev or 0)
        self.settle(target, entry)
        return entry

    def file(self, entry: Entry, member: tarfile.TarInfo, archive: tarfile.TarFile, target: str,
             existing: os.stat_result | None) -> Entry:
        """Read the member's content, hashing it; write it only where it differs from dest's copy:
        then into a new file beside it (sparse), renamed over it once whole."""
        source = archive.extractfile(member)
        if source is None:
            raise ArchiveError(f"{_show(entry.path)}: a file member without content")
        stream = iter(lambda: source.read(CHUNK), b"")
        old_fd = None
        if self.comparable(entry.path, member.size, existing):
            # O_NOATIME (for root: the owner or not): comparing must not write the copy's atimes.
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_NOATIME if self.as_root else 0)
            old_fd = os.open(target, flags)
        elif existing is not None and not stat.S_ISREG(existing.st_mode):
            _clear(target, existing)  # a folder or a link in the way of the file
        try:
            chunks: Iterable[bytes] = stream
            if old_fd is not None:
                sha256, offset, chunk = _compare(old_fd, stream)
                if sha256 is not None:
                    self.kept += 1
                    entry = dataclasses.replace(entry, size=member.size, sha256=sha256)
                    self.settle(target, entry)
                    return self.claim(target, entry)
                # What the stream confirmed of dest's copy, the chunk that differs, then the rest.
                chunks = itertools.chain(_read(old_fd, offset), [chunk], stream)
            entry = self.write(target, entry, chunks)
        finally:
            if old_fd is not None:
                os.close(old_fd)
        return self.claim(target, entry)

    def claim(self, target: str, entry: Entry) -> Entry:
        status = os.lstat(target)
        self.claimed.add((status.st_dev, status.st_ino))
        return entry

    def write(self, target: str, entry: Entry, chunks: Iterable[bytes]) -> Entry:
        temporary = os.path.join(os.path.dirname(target), _TEMPORARY + secrets.token_hex(8))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            size, sha256 = write_sparse(fd, chunks)
            entry = dataclasses.replace(entry, size=size, sha256=sha256)
            self.settle(fd, entry)
        except BaseException:
            os.close(fd)
            os.unlink(temporary)
            raise
        os.close(fd)
        os.replace(temporary, target)
        self.written += 1
        return entry

    def comparable(self, path: str, size: int, existing: os.stat_result | None) -> bool:
        """Whether dest's copy may be kept if its bytes are the same: only a file that ``previous``
        lists (so never a cut-short pass's leftover), of the same size, and no other path's file."""
        if self.previous is None or existing is None or not stat.S_ISREG(existing.st_mode):
            return False
        listed = self.previous.get(path)
        if listed is not None and listed.type == "hardlink":
            listed = self.previous.get(listed.target or "")
        return (listed is not None and listed.type == "file" and existing.st_size == size
                and (existing.st_dev, existing.st_ino) not in self.claimed)

    def settle(self, target: str | int, entry: Entry) -> None:
        """Give ``target`` (a path, or a descriptor) the entry's owner, mode and mtime where they
        differ: chown first (it clears set-id bits), then chmod, then the mtime (and the atime to
        it, as ``tree`` does). Not root, modes keep this user's access (as ``tree`` does)."""
        status = os.fstat(target) if isinstance(target, int) else os.lstat(target)
        symlink = stat.S_ISLNK(status.st_mode)
        owner_changed = False
        if self.as_root and (status.st_uid, status.st_gid) != (entry.uid, entry.gid):
            os.chown(target, entry.uid, entry.gid, **({} if isinstance(target, int) else {"follow_symlinks": False}))
            owner_changed = True
        mode = entry.mode if self.as_root else entry.mode | (0o700 if entry.type == "dir" else 0o600)
        if not symlink and (owner_changed or stat.S_IMODE(status.st_mode) != mode):
            os.chmod(target, mode)
        if status.st_mtime_ns != entry.mtime_ns:
            if isinstance(target, int):
                os.utime(target, ns=(entry.mtime_ns, entry.mtime_ns))
            else:
                os.utime(target, ns=(entry.mtime_ns, entry.mtime_ns), follow_symlinks=False)

    def finish(self) -> Listing:
        if not self.entries:
            raise ArchiveError("the tar stream holds no entry, not even its top folder")
        removed = self.remove_others()
        for first, linked in self.groups.items():
            # A group's "file" is its first path in listing order (the stream's is the first in the
            # engine's walk), so that a hard link always follows its target, as listings have it.
            leader = min([first, *linked], key=_sort_key)
            if leader != first:
                found = self.entries[first]
                self.entries[leader] = dataclasses.replace(found, path=leader)
                for path in (first, *linked):
                    if path != leader:
                        self.entries[path] = dataclasses.replace(found, path=path, type="hardlink", target=leader,
                                                                 size=0, sha256=None)
        for path in reversed(self.folders):  # what a folder holds before the folder
            try:
                self.settle(self.target(path), self.entries[path])
            except OSError as error:
                raise ArchiveError(f"{_show(path)}: {error.strerror or error}", error.errno) from None
        logger.info("%s: %d entries, %d files written, %d kept, %d other entries removed",
                    self.dest, len(self.entries), self.written, self.kept, removed)
        return Listing(self.entries.values())

    def remove_others(self) -> int:
        """Remove what dest holds beyond the stream's entries (a cut-short pass's leftovers too)."""
        removed = 0
        pending = ["."]
        while pending:
            folder = pending.pop()
            with os.scandir(self.target(folder)) as found:
                for item in found:
                    path = item.name if folder == "." else f"{folder}/{item.name}"
                    entry = self.entries.get(path)
                    if entry is None or path in self.absent:
                        _clear(item.path, item.stat(follow_symlinks=False))
                        removed += 1
                    elif entry.type == "dir":
                        pending.append(path)
        return removed


def _compare(old_fd: int, stream: Iterator[bytes]) -> tuple[str | None, int, bytes]:
    """Read ``stream`` against the file ``old_fd``: (sha256, size, b"") when they hold the same,
    else (None, offset, chunk) of the first chunk that differs, ``stream`` left just after it."""
    digest = hashlib.sha256()
    offset = 0
    for chunk in stream:
        if os.pread(old_fd, len(chunk), offset) != chunk:
            return None, offset, chunk
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest(), offset, b""


def _read(fd: int, length: int) -> Iterator[bytes]:
    """The first ``length`` bytes of ``fd``, in chunks."""
    offset = 0
    while offset < length:
        data = os.pread(fd, min(CHUNK, length - offset), offset)
        if not data:
            raise ArchiveError(f"a file of the copy shrank while read (at byte {offset})")
        yield data
        offset += len(data)


def tar_to_tree(chunks: Iterable[bytes], dest: Path, previous: Listing | None = None, *, top: str = ".") -> Listing:
    """Make ``dest`` an exact copy of the tar stream ``chunks`` whose entries lie under ``top``
    (``.`` and ``./x`` as Docker's ``get_archive`` gives them, or ``upgrader-volume/x``); the
    ``Listing`` of what it then holds.

    Like an incremental sync: ``previous`` is the listing of an earlier copy in ``dest``; a file it
    lists whose bytes and metadata the stream repeats is kept as it is (compared chunk by chunk
    while the stream is read, so an unchanged volume costs no writes); a changed or new file is
    written beside its path (sparse: zero 4 KiB blocks become holes) and renamed over it; what
    ``dest`` holds beyond the stream is removed at the end. Without ``previous`` every file is
    written. Owners are applied as root only; devices are made as root only (listed anyway).

    Every member is checked before anything is written for it, so nothing outside ``dest`` is
    ever touched. A stream refused (``ArchiveError``) or cut short leaves ``dest`` half synced:
    the entries before the refused one are copied, nothing is removed yet, folder metadata is
    not applied. ``dest`` is a copy only once this returns; taking it again converges.
    """
    sync = _Sync(dest, previous, top)
    try:
        with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|", tarinfo=_StrictTarInfo,
                          encoding="utf-8", errors="surrogateescape") as archive:
            while (member := archive.next()) is not None:
                archive.members = []  # type: ignore[attr-defined]  # millions of entries: keep none
                sync.add(member, archive)
    except tarfile.TarError as error:
        raise ArchiveError(f"not a valid tar stream: {error}") from None
    try:
        return sync.finish()
    except OSError as error:
        raise ArchiveError(f"{dest}: {error.strerror or error}", error.errno) from None


# -- tree → tar ---------------------------------------------------------------------------------------

def _pax_time(ns: int) -> str:
    seconds, fraction = divmod(abs(ns), _NS)
    return f"{'-' if ns < 0 else ''}{seconds}.{fraction:09d}"


def _header(entry: Entry, top: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(top if entry.path == "." else f"{top}/{entry.path}")
    info.type = _TAR_TYPES[entry.type]
    info.mode = entry.mode
    info.uid, info.gid = entry.uid, entry.gid
    info.uname = info.gname = ""
    info.mtime = entry.mtime_ns // _NS
    if entry.mtime_ns % _NS or entry.mtime_ns < 0:
        info.pax_headers = {"mtime": _pax_time(entry.mtime_ns)}  # exact, where tarfile would use a float
    if entry.type == "file":
        info.size = entry.size
    elif entry.type == "symlink":
        info.linkname = entry.target or ""
    elif entry.type == "hardlink":
        info.linkname = f"{top}/{entry.target}"
    elif entry.type in _DEVICE_MODES:
        info.devmajor, info.devminor = os.major(entry.rdev or 0), os.minor(entry.rdev or 0)
    return info


def _content(tree: Path, entry: Entry) -> Iterator[bytes]:
    """The file's bytes as its listing says them: a file that changed since is refused."""
    path = os.path.join(tree, entry.path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise ArchiveError(f"{_show(entry.path)}: {error.strerror or error}", error.errno) from None
    digest = hashlib.sha256()
    left = entry.size
    try:
        while left > 0:
            data = _read_some(fd, min(CHUNK, left), entry.path)
            if not data:
                break
            digest.update(data)
            left -= len(data)
            yield data
        if left or _read_some(fd, 1, entry.path):
            raise ArchiveError(f"{_show(entry.path)}: its size differs from its listing's ({entry.size} bytes)")
    finally:
        os.close(fd)
    if entry.sha256 is not None and digest.hexdigest() != entry.sha256:
        raise ArchiveError(f"{_show(entry.path)}: its content differs from its listing's sha256")


def _read_some(fd: int, size: int, path: str) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as error:  # not the engine's failure: the copy's (EIO)
        raise ArchiveError(f"{_show(path)}: {error.strerror or error}", error.errno) from None


def tree_to_tar(tree: Path, listing: Listing, top: str = "upgrader-volume") -> Iterator[bytes]:
    """A PAX tar stream of every entry of ``listing``, in its order, in chunks of about 1 MiB.

    The content comes from ``tree`` (each file checked against the listing's size and sha256 as it
    is read: a copy that changed is refused, mid-stream); metadata comes from the listing: mode,
    owner, mtime in ns (a PAX record where it has a fraction), link targets, devices. The root is
    the folder ``top``, the others ``top/path``; hard links point to ``top/<leader>``. Names and
    targets may hold any byte (PAX records, ``hdrcharset=BINARY`` when not UTF-8).

    Sparse files are written dense: Docker's extractor accepts PAX 1.0 sparse entries but writes
    their holes as zeros (Go's ``archive/tar`` reader fills them; engine 20.10), so holes would
    save bytes on the socket only. Sockets cannot be in a tar: they are left out (Docker's own
    ``get_archive`` leaves them out too).
    """
    if top.startswith("/") or ".." in top.split("/"):
        raise ArchiveError(f"refusing the top folder {_show(top)}")
    buffer = bytearray()
    for entry in listing.entries.values():
        if entry.type == "socket":
            logger.warning("%s: a socket cannot be in a tar stream: left out", _show(entry.path))
            continue
        if entry.type == "hardlink":  # Docker's extractor links to what it has extracted already
            first = listing.get(entry.target or "")
            if first is None or first.type != "file" or _sort_key(first.path) >= _sort_key(entry.path):
                raise ArchiveError(f"{_show(entry.path)}: a hard link to {_show(entry.target or '')}, "
                                   "which is not an earlier file of the listing")
        buffer += _header(entry, top).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        if entry.type == "file":
            for data in _content(tree, entry):
                buffer += data
                if len(buffer) >= CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
            buffer += bytes(-entry.size % tarfile.BLOCKSIZE)
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    buffer += bytes(2 * tarfile.BLOCKSIZE)  # the end marker
    yield bytes(buffer)
