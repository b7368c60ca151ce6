"""Helpers of the unit tier: release archives built in ``tmp_path`` with ``tarfile``, hostile ones too.

An archive is described as a list of ``Entry`` values (a ``TarInfo`` and, for a regular file, its
bytes or a stream), so a test can craft exactly the entry it means: an absolute name, a link out of
the release folder, a device file, a member that says it is 200 MB of zeros.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

VERSION = "1.1.0"
PRODUCT = "acme-server"
WEB = "127.0.0.1:5000/acme/web:1.1.0"
DB = "127.0.0.1:5000/acme/db:1.1.0"
COMPOSE = b"services:\n  web:\n    image: 127.0.0.1:5000/acme/web:1.1.0\n"
MTIME = 1_795_000_000  # a fixed time, so that archives built twice are identical


@dataclass(frozen=True)
class Entry:
    info: tarfile.TarInfo
    data: bytes | IO[bytes] | None = None


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = MTIME
    info.uname = info.gname = "root"
    return info


def file(name: str, data: bytes = b"", mode: int = 0o644) -> Entry:
    info = _info(name, tarfile.REGTYPE, mode)
    info.size = len(data)
    return Entry(info, data)


def stream(name: str, size: int, source: IO[bytes], mode: int = 0o644) -> Entry:
    """A regular file of ``size`` bytes read from ``source`` while the archive is written."""
    info = _info(name, tarfile.REGTYPE, mode)
    info.size = size
    return Entry(info, source)


def folder(name: str, mode: int = 0o755) -> Entry:
    return Entry(_info(name, tarfile.DIRTYPE, mode))


def symlink(name: str, target: str) -> Entry:
    info = _info(name, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    return Entry(info)


def hardlink(name: str, target: str) -> Entry:
    info = _info(name, tarfile.LNKTYPE, 0o644)
    info.linkname = target
    return Entry(info)


def special(name: str, kind: bytes, mode: int = 0o644) -> Entry:
    """A character device, a block device or a FIFO (``tarfile.CHRTYPE``/``BLKTYPE``/``FIFOTYPE``)."""
    info = _info(name, kind, mode)
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return Entry(info)


def release_json(version: str = VERSION, images: Sequence[str] = (WEB,), **extra: Any) -> bytes:
    return json.dumps({"product": PRODUCT, "version": version, "images": list(images), **extra}).encode()


def basic(version: str = VERSION, images: Sequence[str] = (WEB,)) -> list[Entry]:
    """The two entries every release has: release.json and compose.yaml."""
    return [file("release.json", release_json(version, images)), file("compose.yaml", COMPOSE)]


def tar_bytes(entries: Iterable[Entry]) -> bytes:
    """An uncompressed tar of ``entries``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, entries)
    return buffer.getvalue()


def write_archive(path: Path, entries: Iterable[Entry], *, compresslevel: int = 6) -> Path:
    """A gzip-compressed tar of ``entries`` at ``path``."""
    with tarfile.open(path, "w:gz", compresslevel=compresslevel, format=tarfile.PAX_FORMAT,
                      copybufsize=1 << 20) as tar:
        _add(tar, entries)
    return path


def _add(tar: tarfile.TarFile, entries: Iterable[Entry]) -> None:
    for entry in entries:
        data = io.BytesIO(entry.data) if isinstance(entry.data, bytes) else entry.data
        tar.addfile(entry.info, data)


class Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as they are read (a gzip bomb's payload, never in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        count = self.left if size < 0 else min(size, self.left)
        self.left -= count
        return bytes(count)


def docker_save(tags: Sequence[str] | None, *, manifest: Any = None) -> bytes:
    """A ``docker save`` archive whose manifest.json names ``tags`` (None: no manifest.json)."""
    entries = [file("x.json", b"{}")]
    if tags is not None:
        document = manifest if manifest is not None else [
            {"Config": "x.json", "RepoTags": list(tags), "Layers": []}]
        entries.append(file("manifest.json", json.dumps(document).encode()))
    return tar_bytes(entries)


def tree(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (not following links) and what it is: what a test compares."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            found[relative] = "link -> " + str(path.readlink())
        elif path.is_dir():
            found[relative] = "dir"
        else:
            found[relative] = f"file {path.stat().st_size}"
    return found
