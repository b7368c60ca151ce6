"""Faithful, incremental copies of a folder tree, and their restore (DESIGN §9).

A data snapshot copies each Docker volume (read from its mountpoint, as root) and each data folder
with ``sync``: once while the old server still runs and writes, then, with the server stopped,
again with the first pass's ``Listing`` as ``previous``, so that only what changed since is copied
(that second pass is downtime). ``restore`` puts such a copy back, byte for byte; ``check`` (cheap,
structure only) and ``verify`` (content and metadata too) say whether a copy still matches its
listing; ``usage`` says how much room a copy will take.

What a copy keeps: folders, files, symlinks (never followed, wherever they point), hard links (as
links), fifos, sockets and devices; modes including setuid/setgid/sticky, owners, mtimes to the
nanosecond, the holes of sparse files, and names of any bytes (``str`` paths are Python's, with
surrogateescape for bytes that are not UTF-8). What it does not keep: atimes (set to the mtime),
extended attributes and ACLs, and anything under a folder on another filesystem (that folder is
copied empty). A copy is not fsynced file by file (``flush`` syncs once at the end).

``Listing`` describes a tree: a mapping path → ``Entry`` in listing order; ``dump`` writes it as
JSON lines (one object per entry, with the ``Entry`` field names; paths with ``json``'s ASCII
escapes, so that the lone surrogates of non-UTF-8 names round-trip as ``\\udcXX``),
``Listing.load`` reads it back. An entry's ``source`` (the source's device, inode, ctime and link
count when copied) is what tells the next pass that it has not changed since; it is None when the
entry changed too close to the walk to be sure (RACY_NS), so that the next pass copies it again.

``digest(listing)`` is the sha256 (hex) of a canonical serialization, to be reimplemented
elsewhere: for each entry in listing order ("." first, then by the bytes of the path), its nine
fields path, type, mode, uid, gid, size, mtime_ns, target, sha256 as bytes — path and target as
``os.fsencode`` gives them (target b"" when None), mode in octal digits without a prefix (b"4755",
b"0"), uid, gid, size and mtime_ns in decimal, sha256 as its hex (b"" when None), type as its
ASCII name — joined by b"\\0", the entry followed by b"\\0\\n". ``rdev`` and ``source`` are not part
of it: they describe the source at copy time, not what is restored.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeGuard

from upgrader.store import make_dirs, write_atomic

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
BLOCK = 4096  # write_sparse: a block of this size holding only zeros becomes a hole
MAX_LINE = 1 << 20  # Listing.load refuses longer lines
MAX_PROBLEMS = 20
FICLONE = 0x40049409
PROGRESS_INTERVAL = 0.1
# A file whose ctime is this close to the start of the walk may change again within the same timestamp tick
# (a jiffy; a second on coarse filesystems) after its copy, leaving its stat as it was: its entry gets no
# ``source``, so that the next pass copies it again (git's "racily clean" entries).
RACY_NS = 2_000_000_000

_ZEROS = memoryview(bytes(CHUNK))
_NO_REFLINK = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY}
_NO_COPY_RANGE = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}
# What the source side of a live tree may answer for an entry deleted or replaced since the walk
# (EINVAL: readlink of what is no longer a symlink; ENXIO: open of what became a socket).
_VANISHED = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO, errno.EINVAL}
_TYPES = {stat.S_IFDIR: "dir", stat.S_IFREG: "file", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo",
          stat.S_IFSOCK: "socket", stat.S_IFCHR: "chardev", stat.S_IFBLK: "blockdev"}
_FORMATS = {name: kind for kind, name in _TYPES.items()} | {"hardlink": stat.S_IFREG}
_SHA256 = re.compile("[0-9a-f]{64}")
_ROOT_ONLY = {"socket", "chardev", "blockdev"}  # os.mknod: created only when running as root


class TreeError(Exception):
    """A copy, restore or walk that failed; the message (one line) names the path and the OS's reason.

    ``errno`` is the OS error number when there is one (ENOSPC: the disk is full).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code

    @classmethod
    def from_os(cls, error: OSError, path: str) -> TreeError:
        where = error.filename if isinstance(error.filename, str | bytes) else path
        return cls(f"{_show(where)}: {error.strerror or error}", error.errno)


class ListingError(ValueError):
    """A listing file that is missing, truncated, corrupt or not a listing; the message names it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One path of a tree. ``path`` is relative to the tree's root: "." for the root, "a/b" below."""

    path: str
    type: str  # dir | file | symlink | hardlink | fifo | socket | chardev | blockdev
    mode: int  # st_mode & 0o7777
    uid: int
    gid: int
    size: int  # bytes of a "file", else 0
    mtime_ns: int
    target: str | None = None  # symlink: its target; hardlink: the path of its group's "file"
    sha256: str | None = None  # "file": hex sha256 of the content (holes read as zeros)
    rdev: int | None = None  # chardev, blockdev: st_rdev
    source: tuple[int, int, int, int] | None = None  # the source's (st_dev, st_ino, st_ctime_ns, st_nlink)
    # when copied; None when unknown (or within RACY_NS of the walk)


_FIELDS = tuple(field.name for field in fields(Entry))
_REQUIRED = ("path", "type", "mode", "uid", "gid", "size", "mtime_ns")


def _key(path: str) -> tuple[bool, bytes]:
    """Listing order: "." first, then by the bytes of the path (a folder before what it holds)."""
    return path != ".", os.fsencode(path)


class Listing(Mapping[str, Entry]):
    """A tree's entries, path → ``Entry``, in listing order (see ``_key``)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self.entries: dict[str, Entry] = {entry.path: entry for entry in sorted(entries, key=lambda e: _key(e.path))}

    def __getitem__(self, path: str) -> Entry:
        return self.entries[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"Listing({len(self)} entries, {self.files} files, {self.bytes} bytes)"

    @property
    def files(self) -> int:
        """How many "file" entries (a hard-link group counts once)."""
        return sum(1 for entry in self.entries.values() if entry.type == "file")

    def digest(self) -> str:
        """``digest(self)``."""
        return digest(self)

    def dump(self, path: Path) -> None:
        """Write the listing to ``path`` as JSON lines, atomically and durably, mode 0600."""
        lines = (json.dumps({name: getattr(entry, name) for name in _FIELDS}, separators=(",", ":"))
                 for entry in self.entries.values())
        write_atomic(path, "".join(f"{line}\n" for line in lines).encode("ascii"))

    @classmethod
    def load(cls, path: Path) -> Listing:
        """The listing ``dump`` wrote to ``path``; raise ``ListingError`` naming the file (and line) when it is
        missing, unreadable, truncated, corrupt or not a listing."""
        entries: list[Entry] = []
        seen: set[str] = set()
        shown = _show(path)
        try:
            with open(path, "rb") as stream:
                while line := stream.readline(MAX_LINE + 1):
                    where = f"{shown}:{len(entries) + 1}"
                    if not line.endswith(b"\n"):
                        reason = "longer than 1 MiB" if len(line) > MAX_LINE else "truncated (no newline at its end)"
                        raise ListingError(f"{where}: {reason}")
                    entry = _parse(line, where)
                    if entry.path in seen:
                        raise ListingError(f"{where}: {_show(entry.path)} listed twice")
                    seen.add(entry.path)
                    entries.append(entry)
        except OSError as error:
            raise ListingError(f"{shown}: cannot read: {error.strerror}") from None
        listing = cls(entries)
        problem = _structure_problem(listing)
        if problem:
            raise ListingError(f"{shown}: not a listing: {problem}")
        return listing

    # Last: in the class body, a property named "bytes" would shadow the builtin for what follows.
    @property
    def bytes(self) -> int:
        """The sum of the entries' sizes (a hard-link group's content counts once)."""
        return sum(entry.size for entry in self.entries.values())


def digest(listing: Listing) -> str:
    """The sha256 (hex) of ``listing``'s canonical serialization (see the module's docstring)."""
    hasher = hashlib.sha256()
    for entry in listing.values():
        parts = (os.fsencode(entry.path), entry.type.encode(), f"{entry.mode:o}".encode(), str(entry.uid).encode(),
                 str(entry.gid).encode(), str(entry.size).encode(), str(entry.mtime_ns).encode(),
                 os.fsencode(entry.target or ""), (entry.sha256 or "").encode())
        hasher.update(b"\0".join(parts) + b"\0\n")
    return hasher.hexdigest()


def _parse(line: bytes, where: str) -> Entry:
    try:
        document = json.loads(line)
    except RecursionError:
        raise ListingError(f"{where}: nested too deeply") from None
    except ValueError as error:
        raise ListingError(f"{where}: not valid JSON ({error})") from None
    problem = _entry_problem(document)
    if problem:
        raise ListingError(f"{where}: {problem}")
    source = document.get("source")
    return Entry(**{**document, "source": tuple(source) if source is not None else None})


def _integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _canonical(path: Any) -> bool:
    """A str as Python's os functions give it on Linux: no NUL, and the one spelling of its bytes."""
    try:
        return isinstance(path, str) and "\0" not in path and os.fsdecode(os.fsencode(path)) == path
    except UnicodeError:  # a surrogate that surrogateescape did not make
        return False


def _relative(path: Any) -> bool:
    return path == "." or (_canonical(path) and all(part not in ("", ".", "..") for part in path.split("/")))


def _entry_problem(document: Any) -> str | None:
    """Why ``document`` (one decoded line) is not an ``Entry``, or None."""
    if not isinstance(document, dict):
        return "not a JSON object"
    unknown = sorted(document.keys() - set(_FIELDS))
    if unknown:
        return f"unknown field {unknown[0]!r}"
    missing = [name for name in _REQUIRED if name not in document]
    if missing:
        return f"no {missing[0]!r}"
    kind, target = document["type"], document.get("target")
    if not _relative(document["path"]):
        return "'path' is not a relative path"
    if kind not in _FORMATS:
        return f"'type' is not one of {', '.join(sorted(_FORMATS))}"
    for name in ("mode", "uid", "gid", "size", "mtime_ns"):
        if not _integer(document[name]) or (name != "mtime_ns" and document[name] < 0):
            return f"{name!r} is not a valid integer"
    if document["mode"] > 0o7777 or (kind != "file" and document["size"] != 0):
        return "'mode' or 'size' out of range"
    if kind == "symlink" and not (_canonical(target) and target):
        return "a symlink without a valid 'target'"
    if kind == "hardlink" and not (_relative(target) and target != "."):
        return "a hard link without a valid 'target'"
    if kind not in ("symlink", "hardlink") and target is not None:
        return f"a {kind} with a 'target'"
    sha256, rdev = document.get("sha256"), document.get("rdev")
    if not (isinstance(sha256, str) and _SHA256.fullmatch(sha256) if kind == "file" else sha256 is None):
        return "'sha256' is not a hex sha256 for a file, null for others"
    if not (_integer(rdev) and rdev >= 0 if kind in ("chardev", "blockdev") else rdev is None):
        return "'rdev' is not an integer for a device, null for others"
    source = document.get("source")
    if source is not None and not (isinstance(source, list) and len(source) == 4 and all(map(_integer, source))):
        return "'source' is not null or 4 integers"
    return None


def _structure_problem(listing: Listing) -> str | None:
    """Why ``listing`` is not a tree, or None: it must start at a "." folder, every entry's folder must be
    listed (so that nothing is written through a symlink), and a hard link must point to an earlier file."""
    root = listing.get(".")
    if root is None or root.type != "dir":
        return 'no root entry "." that is a dir'
    for entry in listing.values():
        if entry.path == ".":
            continue
        parent = listing.get(os.path.dirname(entry.path) or ".")
        if parent is None or parent.type != "dir":
            return f"{_show(entry.path)}: its folder is not listed as a dir"
        if entry.type == "hardlink":
            first = listing.get(entry.target or "")
            if first is None or first.type != "file" or _key(first.path) >= _key(entry.path):
                return f"{_show(entry.path)}: a hard link to {_show(entry.target)}, not an earlier file"
    return None


# -- the shared parts of sync, restore, check and usage ------------------------------------------


def _show(path: object) -> str:
    """``path`` for a one-line message: bytes that are not UTF-8 and control characters escaped."""
    raw = os.fsencode(path) if isinstance(path, str | bytes | os.PathLike) else str(path).encode()
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode() for char in text)


def _root() -> bool:
    return os.geteuid() == 0


def _join(root: str, path: str) -> str:
    return root if path == "." else f"{root}/{path}"


@contextmanager
def _reported(path: str) -> Iterator[None]:
    """Turn an ``OSError`` into a ``TreeError`` naming its path (``path`` when the error names none)."""
    try:
        yield
    except OSError as error:
        raise TreeError.from_os(error, path) from None


def _walk(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """(path, lstat) of ``root`` (as ".", followed when it is a symlink) and of everything under it, each folder
    before what it holds; symlinks are not followed and a folder on another filesystem is not entered. What
    vanishes while walked is left out: the tree may be in use."""
    top = os.stat(root)
    yield ".", top
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                children = list(scan)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for child in children:
            try:
                status = child.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            path = prefix + child.name
            yield path, status
            if stat.S_ISDIR(status.st_mode) and status.st_dev == top.st_dev:
                pending.append((f"{path}/", child.path))


def _remove(path: str) -> None:
    """Remove ``path``, a folder with all it holds; nothing when it is missing."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(status.st_mode):
        os.unlink(path)
        return
    if not _root():  # a folder of mode 0555 (or 0000) must be opened up before what it holds can go
        os.chmod(path, 0o700)
    with os.scandir(path) as scan:
        children = [child.path for child in scan]
    for child in children:
        _remove(child)
    os.rmdir(path)


def _open_source(path: str) -> int | None:
    """A read-only descriptor of the regular file at ``path``, or None when it is no longer one."""
    try:
        # O_NONBLOCK: what became a fifo since the walk must not block the copy.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in _VANISHED:
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _disk_mode(entry: Entry, accessible: bool) -> int:
    """The mode to give ``entry``'s copy: its own, or as non-root one that this user can still read and write."""
    return entry.mode | (0o700 if entry.type == "dir" else 0o600) if accessible else entry.mode


def _set_metadata(path: str, entry: Entry, accessible: bool) -> None:
    if _root():
        os.chown(path, entry.uid, entry.gid, follow_symlinks=False)
    if entry.type != "symlink":  # after chown, which clears setuid/setgid
        os.chmod(path, _disk_mode(entry, accessible))
    os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns), follow_symlinks=False)


def _write_entry(entry: Entry, path: str, dest_root: str, source_fd: int | None, copy: os.stat_result | None, *,
                 hashing: bool, accessible: bool) -> str | None:
    """Make ``path`` (under ``dest_root``) what ``entry`` describes, content read from ``source_fd`` for a file,
    with its owner, mode and mtime; a folder is only created (``_finish_folders`` sets its metadata once what it
    holds is written). ``copy`` is the lstat of what ``path`` holds now (None: nothing). Returns the sha256 of a
    file's content when ``hashing``."""
    if entry.type == "dir":
        if copy is None:
            os.mkdir(path, 0o700)
        return None
    if copy is not None and not (entry.type == "file" and stat.S_ISREG(copy.st_mode) and copy.st_nlink == 1):
        os.unlink(path)  # not a file to rewrite in place: with other links, O_TRUNC would write through them
    sha256 = None
    if entry.type == "file":
        if source_fd is None:
            raise ValueError(f"{_show(path)}: a file to write without its content")
        # O_RDWR, not O_WRONLY: the copy of a reflink is read back to be hashed.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            sha256 = _copy_content(source_fd, fd, entry.size, hashing=hashing)
        finally:
            os.close(fd)
    elif entry.type == "hardlink":
        os.link(_join(dest_root, entry.target or ""), path)
        return None  # the inode of the group's first copy, whose metadata is set
    elif entry.type == "symlink":
        os.symlink(entry.target or "", path)
    elif entry.type == "fifo":
        os.mkfifo(path, 0o600)
    elif not _root():
        logger.debug("%s: a %s, not created (only root can)", _show(path), entry.type)
        return None
    else:
        os.mknod(path, 0o600 | _FORMATS[entry.type], entry.rdev or 0)
    _set_metadata(path, entry, accessible)
    return sha256


def _finish_folders(entries: Iterable[Entry], dest_root: str, accessible: bool) -> None:
    """Give the folders among ``entries`` their mode, owner and mtime where they differ, deepest first: writing
    what a folder holds changes its mtime (and listing order reversed puts what a folder holds before it)."""
    for entry in reversed(list(entries)):
        if entry.type != "dir":
            continue
        path = _join(dest_root, entry.path)
        copy = os.lstat(path)
        if (stat.S_IMODE(copy.st_mode) != _disk_mode(entry, accessible) or copy.st_mtime_ns != entry.mtime_ns
                or (_root() and (copy.st_uid, copy.st_gid) != (entry.uid, entry.gid))):
            _set_metadata(path, entry, accessible)


# -- content ---------------------------------------------------------------------------------------


def data_ranges(fd: int, size: int) -> Iterator[tuple[int, int]]:
    """The (offset, length) ranges of the first ``size`` bytes of ``fd`` that hold data, in order: between them
    are holes, which read as zeros. Asks the filesystem (SEEK_DATA, SEEK_HOLE; this moves ``fd``'s offset); one
    range of everything where it cannot tell. Stops early when the file is shorter than ``size``."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno == errno.ENXIO:  # only a hole from offset to the end
                return
            if error.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
            yield offset, size - offset
            return
        if start >= size:
            return
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        yield start, end - start
        offset = end


def write_sparse(fd: int, chunks: Iterable[bytes]) -> tuple[int, str]:
    """Write ``chunks`` one after the other from the start of ``fd``, a new empty file, leaving a hole wherever a
    block of 4 KiB (counted from the chunk's start) holds only zeros, then set the file's size to their total.
    Returns (size, sha256 hex of the content)."""
    hasher = hashlib.sha256()
    position = 0
    for chunk in chunks:
        hasher.update(chunk)
        view = memoryview(chunk)
        run: int | None = None  # where the data not yet written starts in this chunk
        for block in range(0, len(chunk), BLOCK):
            end = min(block + BLOCK, len(chunk))
            if chunk.count(0, block, end) == end - block:
                if run is not None:
                    _write_all(fd, view[run:block], position + run)
                run = None
            elif run is None:
                run = block
        if run is not None:
            _write_all(fd, view[run:], position + run)
        position += len(chunk)
    os.ftruncate(fd, position)
    return position, hasher.hexdigest()


def _write_all(fd: int, data: memoryview | bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _hash_zeros(hasher: hashlib._Hash | None, count: int) -> None:
    while hasher is not None and count > 0:
        step = min(count, CHUNK)
        hasher.update(_ZEROS[:step])
        count -= step


def _copy_content(source_fd: int, dest_fd: int, size: int, *, hashing: bool) -> str | None:
    """Make ``dest_fd`` (an empty file) hold the first ``size`` bytes of ``source_fd``: a reflink where the
    filesystem can (btrfs, xfs), else a copy of the data ranges, holes left holes. Returns the sha256 of what the
    copy holds when ``hashing``."""
    try:
        fcntl.ioctl(dest_fd, FICLONE, source_fd)
    except OSError as error:
        if error.errno not in _NO_REFLINK:
            raise
        _transfer(source_fd, dest_fd, size, None)  # in the kernel (copy_file_range) where it can
    else:
        os.ftruncate(dest_fd, size)  # a clone takes the whole file as it is now: cut it to the listed size
    if not hashing:
        return None
    # The copy itself is hashed, not the source, which may have changed since; it is in the page cache.
    hasher = hashlib.sha256()
    _transfer(dest_fd, None, size, hasher)
    return hasher.hexdigest()


def _transfer(source_fd: int, dest_fd: int | None, size: int, hasher: hashlib._Hash | None) -> None:
    """Copy to ``dest_fd`` (unless None) and feed ``hasher`` (unless None) the first ``size`` bytes of
    ``source_fd``, data range by data range, holes as zeros; a source that shrank reads as zeros up to ``size``."""
    position = 0
    for offset, length in data_ranges(source_fd, size):
        _hash_zeros(hasher, offset - position)
        position = _transfer_range(source_fd, dest_fd, offset, offset + length, hasher)
        if position < offset + length:  # the source's end came early: it shrank while copied
            break
    _hash_zeros(hasher, size - position)
    if dest_fd is not None:
        os.ftruncate(dest_fd, size)


def _transfer_range(source_fd: int, dest_fd: int | None, position: int, end: int,
                    hasher: hashlib._Hash | None) -> int:
    """``_transfer`` from ``position`` to ``end``, all data; returns where it stopped (before ``end``: at the
    source's end). Without hashing, ``os.copy_file_range`` moves the bytes in the kernel."""
    if hasher is None and dest_fd is not None:
        try:
            while position < end:
                copied = os.copy_file_range(source_fd, dest_fd, end - position, position, position)
                if copied == 0:
                    return position
                position += copied
            return position
        except OSError as error:
            if error.errno not in _NO_COPY_RANGE:
                raise
    while position < end:
        chunk = os.pread(source_fd, min(CHUNK, end - position), position)
        if not chunk:
            break
        if hasher is not None:
            hasher.update(chunk)
        if dest_fd is not None:
            _write_all(dest_fd, chunk, position)
        position += len(chunk)
    return position


def _hash_file(path: str, size: int) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        hasher = hashlib.sha256()
        _transfer(fd, None, size, hasher)
        return hasher.hexdigest()
    finally:
        os.close(fd)


# -- sync ------------------------------------------------------------------------------------------


class _Progress:
    """Counts the files done and calls ``report`` with the totals, at most every PROGRESS_INTERVAL seconds."""

    def __init__(self, report: Callable[[int, int], None] | None) -> None:
        self.report, self.files, self.bytes, self.last = report, 0, 0, time.monotonic()

    def add(self, size: int) -> None:
        self.files, self.bytes = self.files + 1, self.bytes + size
        if self.report is not None and time.monotonic() - self.last >= PROGRESS_INTERVAL:
            self.report(self.files, self.bytes)
            self.last = time.monotonic()

    def finish(self) -> None:
        if self.report is not None:
            self.report(self.files, self.bytes)


def _entry(path: str, status: os.stat_result, kind: str, target: str | None, racy_after: int) -> Entry:
    """The entry of ``path`` as ``status`` describes it, without its sha256; without ``source`` when its ctime is
    ``racy_after`` or later (see RACY_NS)."""
    device = kind in ("chardev", "blockdev")
    racy = status.st_ctime_ns >= racy_after
    return Entry(path, kind, stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid,
                 status.st_size if kind == "file" else 0, status.st_mtime_ns, target, None,
                 status.st_rdev if device else None,
                 None if racy else (status.st_dev, status.st_ino, status.st_ctime_ns, status.st_nlink))


def _prune(dest_root: str, found: dict[str, int]) -> dict[str, os.stat_result]:
    """Remove from the copy what the source no longer holds (``found``: path → S_IFMT) or holds as another type;
    returns what remains of the copy, path → lstat."""
    kept: dict[str, os.stat_result] = {}
    removed: set[str] = set()
    for path, status in _walk(dest_root):  # a folder before what it holds
        if path == ".":
            kept[path] = status
        elif os.path.dirname(path) in removed:  # gone with its folder
            removed.add(path)
        elif found.get(path) != stat.S_IFMT(status.st_mode):
            _remove(_join(dest_root, path))
            removed.add(path)
        else:
            kept[path] = status
    return kept


def _comparable(entry: Entry) -> tuple[Any, ...]:
    """All of ``entry`` but its sha256 (quicker than ``dataclasses.replace``, which counts in the downtime)."""
    return (entry.path, entry.type, entry.mode, entry.uid, entry.gid, entry.size, entry.mtime_ns, entry.target,
            entry.rdev, entry.source)


def sync(source: Path, dest: Path, previous: Listing | None = None, *,
         progress: Callable[[int, int], None] | None = None) -> Listing:
    """Make ``dest`` (created, parents 0700, if missing) a copy of the folder ``source`` and return its listing.

    With ``previous``, the listing of an earlier sync to the same ``dest``, an entry whose source has not changed
    since (same type, size, mtime, mode, owner, target, and inode, ctime and link count; not changed within
    RACY_NS of that sync's walk) and whose copy is still there is kept as it is, sha256 included. What ``dest``
    holds that ``source`` does not is removed, so a sync that was interrupted converges when run again, with or
    without ``previous``. What vanishes from ``source`` while copied is left out. Nothing is fsynced (see
    ``flush``). ``progress(files, bytes)`` is called now and then with the files done so far. Raise
    ``TreeError`` naming the path when something cannot be copied.
    """
    source_root, dest_root = os.fspath(source), os.fspath(dest)
    try:
        if not stat.S_ISDIR(os.stat(source_root).st_mode):
            raise TreeError(f"{source}: not a folder")
    except OSError as error:
        raise TreeError(f"{source}: not a folder", error.errno) from None
    upper, lower = sorted((source.resolve(), dest.resolve()), key=lambda path: len(path.parts))
    if upper == lower or upper in lower.parents:
        raise TreeError(f"{dest}: overlaps {source}, a copy cannot hold its source nor the reverse")
    started = time.monotonic()
    copier = _Pass(source_root, dest_root, previous, time.time_ns() - RACY_NS)
    with _reported(dest_root):
        make_dirs(dest)
        if not dest.is_dir():
            raise TreeError(f"{dest}: not a folder")
        found = sorted(_walk(source_root), key=lambda item: _key(item[0]))
        copier.existing = _prune(dest_root, {path: stat.S_IFMT(status.st_mode) for path, status in found})
    entries: list[Entry] = []
    counter = _Progress(progress)
    for path, status in found:
        entry = copier.copy(path, status)
        if entry is not None:
            entries.append(entry)
            if entry.type == "file":
                counter.add(entry.size)
    with _reported(dest_root):
        _finish_folders(entries, dest_root, copier.accessible)
    counter.finish()
    logger.debug("synced %s to %s: %d entries, %d files rewritten, in %.3fs", _show(source_root),
                 _show(dest_root), len(entries), len(copier.rewritten), time.monotonic() - started)
    return Listing(entries)


class _Pass:
    """One ``sync``: what it knows of the copy and of the hard-link groups, entry after entry."""

    def __init__(self, source_root: str, dest_root: str, previous: Listing | None, racy_after: int) -> None:
        self.source_root, self.dest_root, self.racy_after = source_root, dest_root, racy_after
        self.before = previous.entries if previous is not None else {}
        self.accessible = not _root()
        self.existing: dict[str, os.stat_result] = {}  # what the copy held before this pass, path → lstat
        self.firsts: dict[tuple[int, int], str] = {}  # (st_dev, st_ino) → the path of its hard-link group's file
        self.rewritten: set[str] = set()  # the files copied in this pass

    def copy(self, path: str, status: os.stat_result) -> Entry | None:
        """Bring the copy of ``path`` (``status``: its lstat) up to date; returns its entry, None when it vanished
        (or is of no known type). Raise ``TreeError`` naming both paths."""
        source_path, dest_path = _join(self.source_root, path), _join(self.dest_root, path)
        kind = _TYPES.get(stat.S_IFMT(status.st_mode))
        if kind is None:
            logger.warning("%s: of an unknown type, not copied", _show(source_path))
            return None
        group = (status.st_dev, status.st_ino) if kind == "file" and status.st_nlink > 1 else None
        target = self.firsts.get(group) if group is not None else None
        try:
            if kind == "symlink":
                target = os.readlink(source_path)
            elif target is not None:
                kind = "hardlink"
            entry = self._copy(_entry(path, status, kind, target, self.racy_after), source_path, dest_path)
        except OSError as error:
            if error.errno in _VANISHED and error.filename == source_path:  # readlink of a changed symlink
                entry = None
            else:  # an error of a descriptor names no path: name both
                raise TreeError.from_os(error, f"{source_path} → {dest_path}") from None
        if entry is None:
            logger.debug("%s: vanished while copied, left out", _show(source_path))
            with _reported(dest_path):
                _remove(dest_path)
        elif group is not None and entry.type == "file":
            self.firsts[group] = path
        return entry

    def _copy(self, entry: Entry, source_path: str, dest_path: str) -> Entry | None:
        before, copy = self.before.get(entry.path), self.existing.get(entry.path)
        if before is not None and self._unchanged(before, entry, copy):
            return before  # equal to entry but for its sha256, which it has
        if entry.type != "file":
            _write_entry(entry, dest_path, self.dest_root, None, copy, hashing=True, accessible=self.accessible)
            return entry
        source_fd = _open_source(source_path)
        if source_fd is None:
            return None
        try:
            sha256 = _write_entry(entry, dest_path, self.dest_root, source_fd, copy, hashing=True,
                                  accessible=self.accessible)
        finally:
            os.close(source_fd)
        self.rewritten.add(entry.path)
        return replace(entry, sha256=sha256)

    def _unchanged(self, before: Entry, entry: Entry, copy: os.stat_result | None) -> bool:
        """Whether ``entry``'s copy, made from ``before`` in an earlier pass, is still right. The source's inode
        and ctime are part of ``source``: any change to the content or the metadata moves the ctime."""
        if copy is None or entry.source is None or _comparable(before) != _comparable(entry):
            return False
        if entry.type == "file":
            return copy.st_size == entry.size
        if entry.type == "hardlink":  # still a link of its group's first copy, which was not rewritten
            first = self.existing.get(entry.target or "")
            return entry.target not in self.rewritten and first is not None and first.st_ino == copy.st_ino
        return True  # _prune left only a copy of the same type


def flush(path: Path) -> None:
    """Make the copies written so far (``path``: where) durable.

    ``sync`` and ``restore`` do not fsync file by file: thousands of fsyncs, each waiting for the disk, would cost
    the second pass (downtime) far more than the copy itself. One ``syncfs`` of ``path``'s filesystem at the end
    writes everything back at once — and only that filesystem's dirty data, not every disk's (``os.sync``, the
    fallback where libc has no ``syncfs``, would wait for other services' writes too).
    """
    logger.debug("flushing %s", _show(path))
    libc = _libc()
    syncfs = getattr(libc, "syncfs", None) if libc is not None else None
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise TreeError(f"{_show(path)}: cannot flush it to disk: {os.strerror(error)}", error)
    finally:
        os.close(fd)


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - a platform without a C library to load
        return None


# -- restore, check, verify, usage ---------------------------------------------------------------


def restore(tree: Path, listing: Listing, dest: Path) -> None:
    """Make ``dest`` hold exactly what ``listing`` describes, the content taken from ``tree`` (the copy that
    ``sync`` made with that listing) and the metadata from the listing.

    Everything inside ``dest`` is removed first (``dest`` itself stays: it may be a mountpoint; it is created
    when missing), so a restore that was interrupted converges when run again. Raise ``TreeError`` naming the
    path when something cannot be restored.
    """
    tree_root, dest_root = os.fspath(tree), os.fspath(dest)
    with _reported(dest_root):
        make_dirs(dest)
        if not dest.is_dir():
            raise TreeError(f"{dest}: not a folder")
        with os.scandir(dest_root) as scan:
            children = [child.path for child in scan]
        for child in children:
            _remove(child)
    for entry in listing.values():
        if entry.path == ".":
            continue
        tree_path, dest_path = _join(tree_root, entry.path), _join(dest_root, entry.path)
        with _reported(f"{tree_path} → {dest_path}"):
            source_fd = _open_source(tree_path) if entry.type == "file" else None
            if entry.type == "file" and source_fd is None:
                raise TreeError(f"{_show(tree_path)}: missing from the copy (not a file)")
            try:
                _write_entry(entry, dest_path, dest_root, source_fd, None, hashing=False, accessible=False)
            finally:
                if source_fd is not None:
                    os.close(source_fd)
    with _reported(dest_root):
        _finish_folders(listing.values(), dest_root, accessible=False)


def _problem(root: str, entry: Entry, full: bool) -> str | None:
    """What is wrong with ``entry``'s copy under ``root``, or None: its type, size, target or link (lstat only);
    with ``full`` also its content, and its mode, owner and mtime when running as root."""
    path = _join(root, entry.path)
    try:
        copy = os.lstat(path)
        if stat.S_IFMT(copy.st_mode) != _FORMATS[entry.type]:
            return f"is a {_TYPES.get(stat.S_IFMT(copy.st_mode), 'thing of unknown type')}, not a {entry.type}"
        if entry.type == "file" and copy.st_size != entry.size:
            return f"holds {copy.st_size} bytes, not {entry.size}"
        if entry.type == "symlink" and os.readlink(path) != entry.target:
            return f"points to {_show(os.readlink(path))}, not {_show(entry.target)}"
        if entry.type == "hardlink" and os.lstat(_join(root, entry.target or "")).st_ino != copy.st_ino:
            return f"is not a hard link of {_show(entry.target)}"
        if not full:
            return None
        if entry.type == "file" and _hash_file(path, entry.size) != entry.sha256:
            return "content differs (sha256)"
    except FileNotFoundError as error:
        if error.filename == path and entry.type in _ROOT_ONLY and not _root():
            return None  # not created by a sync as non-root
        return "missing" if error.filename == path else f"is not a hard link of {_show(entry.target)}"
    except OSError as error:
        return f"cannot read: {error.strerror}"
    if _root() and entry.type != "hardlink":
        if entry.type != "symlink" and stat.S_IMODE(copy.st_mode) != entry.mode:
            return f"mode {stat.S_IMODE(copy.st_mode):04o}, not {entry.mode:04o}"
        if (copy.st_uid, copy.st_gid) != (entry.uid, entry.gid):
            return f"owner {copy.st_uid}:{copy.st_gid}, not {entry.uid}:{entry.gid}"
        if copy.st_mtime_ns != entry.mtime_ns:
            return f"mtime {copy.st_mtime_ns}, not {entry.mtime_ns}"
    return None


def _problems(tree: Path, listing: Listing, full: bool) -> list[str]:
    root = os.fspath(tree)
    problems = [f"{_show(entry.path)}: {problem}" for entry in listing.values()
                if (problem := _problem(root, entry, full)) is not None]
    if len(problems) > MAX_PROBLEMS:
        return [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS} more"]
    return problems


def check(tree: Path, listing: Listing) -> list[str]:
    """What keeps ``tree`` from being the copy ``listing`` describes, cheaply (lstat, no content read): entries
    missing or of the wrong type, files of the wrong size, symlinks with the wrong target, hard links that are
    not. One line per problem (at most MAX_PROBLEMS, then how many more); empty when sound."""
    return _problems(tree, listing, full=False)


def verify(tree: Path, listing: Listing) -> list[str]:
    """``check``, plus each file's content hashed against its sha256 and, when running as root (who wrote the
    copy with its true metadata), each entry's mode, owner and mtime. Same return as ``check``."""
    return _problems(tree, listing, full=True)


def usage(source: Path) -> tuple[int, int]:
    """(files, bytes) of the tree ``source``: bytes is the room its files take on disk (st_blocks, so holes
    count for nothing), what a copy will need; a hard-link group counts once. Raise ``TreeError`` when it
    cannot be walked."""
    files = total = 0
    groups: set[tuple[int, int]] = set()
    with _reported(os.fspath(source)):
        for _path, status in _walk(os.fspath(source)):
            if not stat.S_ISREG(status.st_mode):
                continue
            if status.st_nlink > 1:
                if (status.st_dev, status.st_ino) in groups:
                    continue
                groups.add((status.st_dev, status.st_ino))
            files, total = files + 1, total + status.st_blocks * 512
    return files, total
