"""Archive denial of service (security review, item 8): every check of a release archive costs
time linear in the archive, its entries are capped, and its header bytes count against the
expansion cap.

No test here holds a time limit. A refusal is "fast" when it stops reading where the cap says:
the headers tarfile parsed are counted. "Linear" means the lines of ``upgrader/package.py`` run
for an archive of 40,000 entries are four times those for 10,000 (a quadratic check in Python
would make them sixteen times), counted with ``sys.settrace``; as lines cannot see a quadratic
search inside one builtin call, the CPU times of the two are also compared with each other.

The archives are written header by header (``ustar``, ``pax``, GNU long names) rather than with
``tarfile``, which takes seconds for 200,000 entries.
"""

from __future__ import annotations

import gzip
import sys
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tests.unit.release_builders import COMPOSE, release_json
from upgrader import package
from upgrader.package import PackageError

ARCHIVE = "acme-server-1.1.0.tar.gz"
MTIME = 1_795_000_000


def header(name: bytes, size: int = 0, kind: bytes = b"0", linkname: bytes = b"", mode: int = 0o644) -> bytes:
    """One ustar header block (``name`` and ``linkname`` at most 100 bytes)."""
    block = b"".join([
        name.ljust(100, b"\0"), b"%07o\0" % mode, b"0000000\0", b"0000000\0", b"%011o\0" % size,
        b"%011o\0" % MTIME, b" " * 8, kind, linkname.ljust(100, b"\0"), b"ustar\x0000",
        b"root".ljust(32, b"\0"), b"root".ljust(32, b"\0"), b"\0" * 16, b"\0" * 167])
    return block[:148] + b"%06o\0 " % sum(block) + block[156:]


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def regular(name: str, data: bytes = b"") -> bytes:
    return header(name.encode(), len(data)) + padded(data)


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> bytes:
    return header(name.encode(), kind=kind, linkname=target.encode(), mode=0o777)


def pax(name: str, data: bytes = b"") -> bytes:
    """A regular file whose name is in a pax extended header (any length)."""
    record = b" path=" + name.encode() + b"\n"
    length = len(record) + len(str(len(record) + 3))
    record = str(length).encode() + record
    return header(b"PaxHeaders/x", len(record), tarfile.XHDTYPE) + padded(record) + regular(name[:99], data)


def gnu_long_name(name: str) -> bytes:
    """A regular file whose name is a GNU long-name block before its header."""
    raw = name.encode() + b"\0"
    return header(b"././@LongLink", len(raw), tarfile.GNUTYPE_LONGNAME) + padded(raw) + regular(name[:99])


def release() -> list[bytes]:
    return [regular("release.json", release_json()), regular("compose.yaml", COMPOSE)]


def write(path: Path, blocks: Iterable[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"".join(blocks) + b"\0" * 1024, compresslevel=6))
    return path


def legitimate(count: int) -> Iterator[bytes]:
    """What a big release could hold: files in folders of 100, with a symlink to a sibling and a
    hard link to an earlier file in every ten entries."""
    yield from release()
    for index in range(count):
        folder = f"config/site{index // 100:04d}"
        if index % 100 == 0:
            yield header(folder.encode(), kind=tarfile.DIRTYPE, mode=0o755)
        if index % 10 == 8:
            yield link(f"{folder}/alias{index:06d}", f"page{index - 1:06d}.html")
        elif index % 10 == 9:
            yield link(f"{folder}/copy{index:06d}", f"{folder}/page{index - 2:06d}.html", tarfile.LNKTYPE)
        else:
            yield regular(f"{folder}/page{index:06d}.html", b"<p>%d</p>\n" % index)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many headers tarfile parsed (a one-item list, counted as they come): its ``next`` is
    called once more than that (the first entry is parsed when the archive opens, then given
    again by the first call)."""
    count = [0]
    real = tarfile.TarFile.next

    def counting(self: tarfile.TarFile) -> tarfile.TarInfo | None:
        count[0] += getattr(self, "firstmember", None) is None
        return real(self)

    monkeypatch.setattr(tarfile.TarFile, "next", counting)
    return count


# -- the entry cap ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_hundred_thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """release.json, compose.yaml and 200,000 empty files: about 200 KB of gzip."""
    return write(tmp_path_factory.mktemp("entries") / ARCHIVE,
                 [*release(), *(regular(f"f/{index // 1000:03d}/{index:06d}") for index in range(200_000))])


def test_two_hundred_thousand_tiny_entries_are_refused_at_the_cap(two_hundred_thousand: Path,
                                                                  parsed: list[int]) -> None:
    """Refused at entry 100,001: the other 99,999 headers are never read."""
    assert two_hundred_thousand.stat().st_size < 2_000_000
    with pytest.raises(PackageError, match=rf"^{ARCHIVE}: entry 'f/099/099998' is past the limit of 100000 "
                                           r"entries; refusing the archive$") as caught:
        package.members(two_hundred_thousand)
    assert caught.value.release_fault is True and caught.value.retryable is False
    assert parsed[0] == package.MAX_ENTRIES + 1


def test_read_release_stops_at_the_cap_too(tmp_path: Path, parsed: list[int],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """read_release (run --package reads it before any check) does not walk an endless archive
    to find a release.json that comes last."""
    monkeypatch.setattr(package, "MAX_ENTRIES", 1_000)
    archive = write(tmp_path / ARCHIVE, [*(regular(f"f/{index:06d}") for index in range(5_000)), *release()])
    with pytest.raises(PackageError, match=r"entry 'f/001000' is past the limit of 1000 entries"):
        package.read_release(archive)
    assert parsed[0] == 1_001


# -- header bytes count against the expansion cap ------------------------------------------------------


def test_a_long_name_header_bomb_is_refused_by_the_expansion_cap(tmp_path: Path, parsed: list[int]) -> None:
    """40,000 entries with 1,000-character names and no data: their sizes add up to 0 bytes,
    their headers to 82 MB, from an archive of about half a megabyte. Refused when the tar stream
    passes 64 MiB, not after reading it all."""
    names = (f"{index:08d}" + "x" * 992 for index in range(40_000))
    archive = write(tmp_path / ARCHIVE, [*release(), *(pax(name) for name in names)])
    assert archive.stat().st_size * package.EXPANSION_RATIO < package.EXPANSION_FLOOR
    with pytest.raises(PackageError, match=rf"^{ARCHIVE}: expands to more than 67108864 bytes \(50 times its "
                                           r"size\) after entry '\d{8}x+'\.\.\.; refusing a likely gzip bomb$"):
        package.members(archive)
    # Each entry takes 2,048 bytes of the stream: 512 of pax header, 1,024 of records, 512 of ustar.
    assert parsed[0] <= package.EXPANSION_FLOOR // 2_048 + 2


def test_gnu_long_names_of_800_kb_are_refused_at_the_first(tmp_path: Path, parsed: list[int]) -> None:
    """The review's archive: 100 GNU long names of 800 KB (80 MB of headers, about 80 KB of gzip)."""
    archive = write(tmp_path / ARCHIVE, [*release(), *(gnu_long_name(f"{index:03d}" + "y" * 800_000)
                                                       for index in range(100))])
    with pytest.raises(PackageError, match=rf"^{ARCHIVE}: entry '000y+'\.\.\. has a name or link target longer "
                                           r"than 1024 characters$"):
        package.members(archive)
    assert parsed[0] == 3


def test_a_long_name_larger_than_a_mebibyte_is_refused_before_it_is_read(tmp_path: Path,
                                                                         parsed: list[int]) -> None:
    archive = write(tmp_path / ARCHIVE, [*release(), gnu_long_name("z" * (4 << 20))])
    with pytest.raises(PackageError, match=rf"^{ARCHIVE}: a header of 4194816 bytes after entry "
                                           r"'compose\.yaml' \(more than 1048576\); refusing a likely header bomb$"):
        package.members(archive)
    assert parsed[0] == 3


# -- linear time, counted -----------------------------------------------------------------------------


def lines_run(call: Callable[[], Any]) -> int:
    """How many lines of upgrader/package.py run during ``call()`` (``sys.settrace``)."""
    count = 0
    source = package.__file__

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == source else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return count


@pytest.fixture(scope="module")
def legitimate_archives(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("legitimate")
    return {count: write(folder / f"{count}-{ARCHIVE}", legitimate(count)) for count in (10_000, 40_000)}


def cpu_seconds(call: Callable[[], Any]) -> float:
    """The least CPU time of this thread over two calls of ``call()`` — only ever compared with
    another such measure, never with a number of seconds."""
    spent = []
    for _ in range(2):
        began = time.thread_time()
        call()
        spent.append(time.thread_time() - began)
    return min(spent)


def test_checking_an_archive_takes_linear_time(legitimate_archives: dict[int, Path]) -> None:
    """members (names, duplicates, every link against every other entry), expanded_size and
    check_images over 10,000 and 40,000 entries: four times the entries, four times the work."""
    def check(archive: Path) -> None:
        found = package.members(archive)
        package.expanded_size(found)
        package.check_images(archive, found, ["127.0.0.1:5000/acme/web:1.1.0"])

    small, large = (lines_run(partial(check, archive)) for archive in legitimate_archives.values())
    assert len(package.members(legitimate_archives[40_000])) == 40_002 + 400  # the folders too
    assert 3.8 < large / small < 4.2, (small, large)
    assert large < 40_000 * 200, large  # a generous bound: about 105 lines per entry
    # Lines do not see inside one call of C: the duplicate check this replaces ran one line per
    # entry (names.count(name)) and its lines grew 4 times too, while its work grew 16 times
    # (19 s per call at 40,000). So the two CPU times are compared as well, with each other only.
    fast, slow = (cpu_seconds(partial(check, archive)) for archive in legitimate_archives.values())
    assert slow / fast < 8, (fast, slow)
