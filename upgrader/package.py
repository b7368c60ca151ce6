"""Release packages (DESIGN §4): read ``release.json`` from an archive and extract it safely.

An archive is a gzip-compressed tar with ``release.json``, ``compose.yaml``, optional
``defaults.env``, ``config/``, ``hooks/`` and ``images/*.tar`` (``docker save`` archives for an
offline install). Extraction refuses absolute paths, ``..``, links that leave the release folder,
device files and anything that is not a regular file, folder or safe link — ``tarfile``'s
``data_filter`` is the floor — caps what an archive may expand to, and extracts into a temporary
folder that is renamed into place only when complete.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from upgrader.errors import ActionError
from upgrader.validation import check

# What an archive may expand to: generous for real releases (image tars barely compress),
# fatal for a gzip bomb.
EXPANSION_RATIO = 50
EXPANSION_FLOOR = 64 << 20
MARKER = ".upgrader-release"
REQUIRED = ("release.json", "compose.yaml")


class PackageError(ActionError):
    """The release package itself is bad: trying again will not help; the release is at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, release_fault=True)


@dataclass(frozen=True)
class Member:
    name: str  # normalised: no leading "./"
    info: tarfile.TarInfo


def _normalise(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _check_member(archive: Path, info: tarfile.TarInfo) -> str:
    """The member's safe relative name; raises ``PackageError`` for anything unsafe."""
    raw = info.name
    name = _normalise(raw)
    where = f"{archive.name}: entry {raw!r}"
    if raw.startswith("/") or PurePosixPath(raw).is_absolute():
        raise PackageError(f"{where} is an absolute path")
    if "\\" in raw or "\x00" in raw:
        raise PackageError(f"{where} has a backslash or NUL in its name")
    if ".." in PurePosixPath(name).parts:
        raise PackageError(f"{where} climbs out of the release folder with '..'")
    if info.isdev() or info.isfifo():
        raise PackageError(f"{where} is a device or FIFO; a release holds only files, folders and links")
    if not (info.isfile() or info.isdir() or info.issym() or info.islnk()):
        raise PackageError(f"{where} is not a regular file, folder or link")
    if info.issym() or info.islnk():
        target = info.linkname
        if target.startswith("/"):
            raise PackageError(f"{where} is a link to the absolute path {target!r}")
        base = posixpath.dirname(name) if info.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, _normalise(target)))
        if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
            raise PackageError(f"{where} is a link pointing outside the release folder ({target!r})")
    if info.mode & (stat.S_ISUID | stat.S_ISGID):
        raise PackageError(f"{where} is set-user-ID or set-group-ID")
    return name


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except FileNotFoundError:
        raise ActionError(f"{archive}: not found", retryable=False) from None
    except (tarfile.ReadError, OSError, EOFError, zlib.error) as error:
        raise PackageError(f"{archive.name}: not a gzip-compressed tar archive ({error})") from None


def members(archive: Path) -> list[Member]:
    """Every entry of ``archive``, each checked; raises ``PackageError`` at the first bad one."""
    try:
        limit = max(EXPANSION_FLOOR, archive.stat().st_size * EXPANSION_RATIO)
    except FileNotFoundError:
        raise ActionError(f"{archive}: not found", retryable=False) from None
    total = 0
    found: list[Member] = []
    files: set[str] = set()
    with _open(archive) as tar:
        try:
            for info in tar:
                name = _check_member(archive, info)
                if not name:
                    continue
                if info.islnk() and posixpath.normpath(_normalise(info.linkname)) not in files:
                    raise PackageError(f"{archive.name}: entry {info.name!r} is a hard link to "
                                       f"{info.linkname!r}, which is not an earlier file of the archive")
                if info.isfile():
                    files.add(name)
                total += info.size
                if total > limit:
                    raise PackageError(f"{archive.name}: expands to more than {limit} bytes "
                                       f"({EXPANSION_RATIO} times its size); refusing a likely gzip bomb")
                found.append(Member(name, info))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise PackageError(f"{archive.name}: the archive is truncated or corrupt ({error})") from None
    names = [member.name for member in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise PackageError(f"{archive.name}: entry {duplicates[0]!r} appears twice")
    for required in REQUIRED:
        if required not in names:
            raise PackageError(f"{archive.name}: {required} is missing")
    return found


def expanded_size(found: list[Member]) -> int:
    return sum(member.info.size for member in found)


def read_release(archive: Path) -> dict[str, Any]:
    """``release.json`` from ``archive``, validated against its schema."""
    with _open(archive) as tar:
        try:
            for info in tar:
                if _normalise(info.name) == "release.json" and info.isfile():
                    stream = tar.extractfile(info)
                    assert stream is not None  # noqa: S101 - a regular file
                    if info.size > 1 << 20:
                        raise PackageError(f"{archive.name}: release.json is larger than 1 MiB")
                    return parse_release(stream.read(), f"{archive.name}: release.json")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise PackageError(f"{archive.name}: the archive is truncated or corrupt ({error})") from None
    raise PackageError(f"{archive.name}: release.json is missing")


def parse_release(raw: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except RecursionError:
        raise PackageError(f"{where}: not valid JSON (nested too deeply)") from None
    except ValueError as error:
        raise PackageError(f"{where}: not valid JSON ({error})") from None
    errors = check(document, "release.schema.json")
    if errors:
        raise PackageError(f"{where}: {errors[0]}")
    release: dict[str, Any] = document
    return release


def check_images(archive: Path, found: list[Member], images: list[str]) -> list[str]:
    """The image references the package's ``images/*.tar`` carry (docker save format).

    Each tar must hold a ``manifest.json`` whose ``RepoTags`` name only images of release.json.
    """
    carried: list[str] = []
    tars = [m for m in found if m.name.startswith("images/") and m.info.isfile()]
    if not tars:
        return carried
    with _open(archive) as tar:
        for member in tars:
            where = f"{archive.name}: {member.name}"
            if not member.name.endswith(".tar") or "/" in member.name[len("images/"):]:
                raise PackageError(f"{where}: images/ may hold only <name>.tar files (docker save)")
            stream = tar.extractfile(member.info)
            assert stream is not None  # noqa: S101 - a regular file
            try:
                with tarfile.open(fileobj=stream, mode="r:") as image:
                    manifest_info = image.getmember("manifest.json")
                    manifest_stream = image.extractfile(manifest_info)
                    manifest = json.loads(manifest_stream.read()) if manifest_stream else None
            except (KeyError, tarfile.TarError, ValueError, OSError) as error:
                raise PackageError(
                    f"{where}: not a docker save archive with a manifest.json ({error})") from None
            if not isinstance(manifest, list) or not manifest:
                raise PackageError(f"{where}: manifest.json lists no image")
            for entry in manifest:
                tags = entry.get("RepoTags") if isinstance(entry, dict) else None
                if not tags:
                    raise PackageError(f"{where}: an image in manifest.json has no RepoTags")
                for tag in tags:
                    if tag not in images:
                        raise PackageError(f"{where}: carries {tag}, which release.json does not list")
                    carried.append(tag)
    missing = [image for image in images if image not in carried]
    if missing:
        raise PackageError(f"{archive.name}: images/ carries no archive for {', '.join(missing)}")
    return carried


def release_folders(releases: Path, version: str, sha256: str) -> tuple[Path, Path]:
    """Where an archive of ``version`` is extracted: ``releases/<version>``, or, when that holds
    another archive of the same version (another project's package), ``releases/<version>@<sha12>``.

    Projects of one root share a release folder only when they run the very same archive.
    """
    return releases / version, releases / f"{version}@{sha256[:12]}"


def _holds(destination: Path, sha256: str) -> bool | None:
    """True when ``destination`` holds the release of this archive, False when it holds another
    archive's, None when there is nothing there."""
    marker = destination / MARKER
    if marker.is_file():
        return bool(json.loads(marker.read_text(encoding="utf-8")).get("sha256") == sha256)
    if destination.exists():
        raise ActionError(f"{destination} exists but was not extracted by upgrader; move it aside",
                          retryable=False)
    return None


def _taken(folder: Path, version: str) -> ActionError:
    return ActionError(f"{folder} holds another archive of release {version}; move it aside to extract this one",
                       retryable=False)


def extract(archive: Path, releases: Path, *, sha256: str, version: str, owner: str) -> Path:
    """Extract ``archive`` into ``releases`` (see ``release_folders``) safely and atomically;
    returns the release folder.

    Idempotent: a folder already holding this archive's release is used as it is. The temporary
    folder is ``owner``'s own (the project name: each project holds its own lock), so another
    project extracting at the same time never touches it; a temporary folder left by an
    interrupted extraction is removed first.
    """
    candidates = release_folders(releases, version, sha256)
    held = [_holds(folder, sha256) for folder in candidates]
    for folder, holds in zip(candidates, held, strict=True):
        if holds:
            return folder
    if None not in held:
        raise _taken(candidates[-1], version)
    found = members(archive)
    needed = expanded_size(found)
    free = shutil.disk_usage(releases).free
    if needed > free:
        raise ActionError(f"not enough disk space to extract {archive.name}: needs {needed} bytes, "
                          f"{free} free in {releases}", retryable=False)
    temporary = releases / f".{version}.{owner}.partial"
    if temporary.exists():
        remove_release(temporary)
    temporary.mkdir(mode=0o755)
    try:
        with _open(archive) as tar:
            for info in tar:
                _check_member(archive, info)  # the same checks again, on the entries we extract
                tar.extract(info, temporary, filter="data")
    except PackageError:
        remove_release(temporary)
        raise
    except (tarfile.TarError, EOFError, zlib.error, KeyError) as error:
        remove_release(temporary)
        raise PackageError(f"{archive.name}: extraction failed ({error})") from None
    except OSError as error:
        remove_release(temporary)
        raise ActionError(f"extracting {archive.name} failed: {error.strerror}") from None
    # Links are checked one by one as text; a chain of them (a -> b/.., then b -> ..) can still
    # lead out once all exist. Resolve every link of the finished tree.
    inside = temporary.resolve()
    for path in temporary.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            remove_release(temporary)
            raise PackageError(f"{archive.name}: entry {str(path.relative_to(temporary))!r} is a link "
                               "pointing outside the release folder")
    (temporary / MARKER).write_text(
        json.dumps({"sha256": sha256, "version": version, "archive": str(archive)}) + "\n")
    _make_read_only(temporary)
    for folder in candidates:
        try:
            os.rename(temporary, folder)  # refused when a folder is there (another project was first)
            return folder
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                remove_release(temporary)
                raise ActionError(f"extracting {archive.name} failed: {error.strerror}") from None
            if _holds(folder, sha256):
                remove_release(temporary)
                return folder
    remove_release(temporary)
    raise _taken(candidates[-1], version)


def _make_read_only(folder: Path) -> None:
    """Releases are read-only once extracted: files lose their write bits."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)


def _make_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


def remove_release(folder: Path) -> None:
    """Delete an extracted release (prune): restore write bits, then remove."""
    if folder.exists():
        _make_writable(folder)
        shutil.rmtree(folder)
