"""Zip packages as a vendor ships them (DESIGN §12), made with ``zipfile``: the whole server folder
``appcircle-server/`` (the control script, its helper tools, a Compose file, a VERSION file), and
hostile zips crafted entry by entry for the refusals of ``upgrader.package``.

``ZipEntry`` says one entry: its name, bytes, Unix mode (type bits included: ``S_IFLNK`` makes a
symbolic link, as Info-ZIP records one) and whether the zip says it is encrypted.
"""

from __future__ import annotations

import hashlib
import stat
import struct
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STAND_IN = Path(__file__).with_name("ac-self-hosted.sh")
TOP = "appcircle-server"


@dataclass(frozen=True)
class ZipEntry:
    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644
    encrypted: bool = False
    compress: int = zipfile.ZIP_DEFLATED


def zfile(name: str, data: bytes | str = b"", mode: int = 0o644, **options: object) -> ZipEntry:
    raw = data.encode() if isinstance(data, str) else data
    return ZipEntry(name, raw, stat.S_IFREG | mode, **options)  # type: ignore[arg-type]


def zfolder(name: str) -> ZipEntry:
    return ZipEntry(name.rstrip("/") + "/", b"", stat.S_IFDIR | 0o755)


def write_zip(path: Path, entries: Iterable[ZipEntry]) -> dict[str, object]:
    """Write ``entries`` to the zip ``path``; returns its index entry fields (archive, sha256, size)."""
    encrypted = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name; some tests want one
        with zipfile.ZipFile(path, "w") as archive:
            for entry in entries:
                info = zipfile.ZipInfo(entry.name, date_time=(2026, 1, 1, 0, 0, 0))
                info.create_system = 3  # Unix: the high 16 bits of external_attr are its mode
                info.external_attr = (entry.mode & 0xFFFF) << 16
                info.compress_type = zipfile.ZIP_STORED if entry.name.endswith("/") else entry.compress
                archive.writestr(info, entry.data)
                if entry.encrypted:
                    encrypted.append(entry.name)
    if encrypted:
        _mark_encrypted(path, set(encrypted))
    data = path.read_bytes()
    return {"archive": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _mark_encrypted(path: Path, names: set[str]) -> None:
    """Set the 'encrypted' flag bit of ``names`` in the central directory (zipfile writes none)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length, extra, comment = struct.unpack_from("<HHH", data, at + 28)
        name = bytes(data[at + 46:at + 46 + length]).decode()
        if name in names:
            flags = struct.unpack_from("<H", data, at + 8)[0]
            struct.pack_into("<H", data, at + 8, flags | 0x1)
        at = data.find(b"PK\x01\x02", at + 46 + length + extra + comment)
    path.write_bytes(bytes(data))


def server_zip(path: Path, version: str, compose: str, *, script: Path = STAND_IN,
               extra: dict[str, str] | None = None) -> dict[str, object]:
    """The vendor's server folder of ``version`` as one zip (``appcircle-server/`` at its top):
    the stand-in control script and a helper tool (executable), the Compose file it drives, a
    VERSION file, default variables, and ``extra`` (name under the top folder → text). Returns
    the index entry (version, archive, sha256, size)."""
    entries = [
        zfolder(TOP),
        zfile(f"{TOP}/ac-self-hosted.sh", script.read_bytes(), 0o755),
        zfolder(f"{TOP}/helper-tools"),
        zfile(f"{TOP}/helper-tools/auto-update.sh", "#!/bin/sh\necho 'use upgrader'\n", 0o755),
        zfile(f"{TOP}/docker-compose.yml", compose),
        zfile(f"{TOP}/VERSION", version + "\n"),
        zfile(f"{TOP}/global.yaml", f"# default variables of {version}\nimageTag: {version}\n"),
        *(zfile(f"{TOP}/{name}", text) for name, text in (extra or {}).items()),
    ]
    return {"version": version, **write_zip(path, entries)}
