"""Release packages (DESIGN §4): read ``release.json`` from an archive and extract it safely.

An archive is a gzip-compressed tar with ``release.json``, ``compose.yaml``, optional
``defaults.env``, ``config/``, ``hooks/`` and ``images/*.tar`` (``docker save`` archives for an
offline install). Extraction refuses absolute paths, ``..``, links that leave the release folder
or lead through another link, entries under a link, device files and anything that is not a
regular file, folder or safe link — ``tarfile``'s ``data_filter`` is the floor — caps what an
archive may expand to (headers included) and its number of entries, and extracts into a
temporary folder that is renamed into place only when complete.

A zip archive (detected by its first bytes, ``PK\x03\x04``, never by its name: a vendor's
``server-linux-x64-<version>-<build>.zip`` holds the whole server folder, DESIGN §12) gets the same
refusals: ``..``, absolute names, drive letters and backslashes, symbolic links (by the Unix mode
in the external attributes — refused outright: a server folder needs none, and none is safe to
create from a zip's untrusted bytes), devices and FIFOs, set-user-ID bits, encrypted entries,
duplicate names (also once normalised, and a file that another entry uses as a folder), names
longer than ``MAX_NAME``, more than ``MAX_ENTRIES`` entries (counted from the end record, before
the central directory is read), and more declared bytes than the expansion cap or a compression
ratio above ``MAX_ZIP_RATIO``. Files are written 0644, or 0755 when the zip gives them an execute
bit. A zip needs no release.json: see ``read_manifest``.

Every check costs time linear in the archive: names and paths are looked up in sets and dicts,
never searched in lists. An offline package loads only the image references its release.json
names (DESIGN §15): ``image_tags`` reads every name an image archive could tag.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import posixpath
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from upgrader.errors import ActionError
from upgrader.validation import check

# What an archive may expand to — every byte of the tar stream: data, headers, long names, pax
# records, padding: generous for real releases (image tars barely compress), fatal for a gzip bomb.
EXPANSION_RATIO = 50
EXPANSION_FLOOR = 64 << 20
# A release holds tens to a few thousand entries; 100,000 is far above any real one and reads in
# a few seconds (about 50 MB of tar headers). A tar of 200,000 empty entries is refused at entry
# 100,001, without reading the rest.
MAX_ENTRIES = 100_000
# Names and link targets: far below PATH_MAX once under releases/; a shallow tree keeps tarfile's
# own per-entry checks (realpath of every folder on the way) cheap.
MAX_NAME = 1024
MAX_DEPTH = 32
# One read of the tar stream (a pax header, a GNU long name) and one global pax header: a real
# one is a few hundred bytes and keys; tarfile copies the global keys into every entry.
MAX_READ = 1 << 20
MAX_GLOBAL_PAX_KEYS = 64
MAX_METADATA = 1 << 20  # release.json, and an image archive's manifest.json, repositories, index.json
MARKER = ".upgrader-release"
# A zip entry that claims to expand more than this many times its compressed size is a bomb's
# (deflate cannot exceed about 1032:1; real server folders are well below 20:1).
MAX_ZIP_RATIO = 200
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; an empty zip's end record
_DRIVE = re.compile(r"^[A-Za-z]:")
REQUIRED = ("release.json", "compose.yaml")
# The files of a docker save archive that name images, and the index.json annotations that do.
IMAGE_METADATA = ("manifest.json", "repositories", "index.json")
IMAGE_NAME, REF_NAME = "io.containerd.image.name", "org.opencontainers.image.ref.name"


class PackageError(ActionError):
    """The release package itself is bad: trying again will not help; the release is at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, release_fault=True)


@dataclass(frozen=True)
class Member:
    name: str  # normalised: no leading "./", no empty or "." components
    info: tarfile.TarInfo


def _shown(text: object) -> str:
    """``text`` quoted for a one-line message, cut when long."""
    if isinstance(text, str) and len(text) > 100:
        return repr(text[:100]) + "..."
    shown = repr(text)
    return shown if len(shown) <= 120 else shown[:117] + "..."


def _normalise(name: str) -> str:
    return "/".join(part for part in name.split("/") if part not in ("", "."))


class _Capped:
    """The uncompressed stream of a gzip archive for ``tarfile``: reading or seeking past
    ``limit`` bytes, or more than ``MAX_READ`` at once, raises ``PackageError``."""

    def __init__(self, archive: Path, limit: int) -> None:
        self.archive = archive
        self.limit = limit
        self.entry: str | None = None  # the last entry read, for the message
        self._gzip = gzip.GzipFile(archive, "rb")

    def _bomb(self) -> PackageError:
        after = f" after entry {_shown(self.entry)}" if self.entry is not None else ""
        return PackageError(f"{self.archive.name}: expands to more than {self.limit} bytes "
                            f"({EXPANSION_RATIO} times its size){after}; refusing a likely gzip bomb")

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > MAX_READ:
            after = f" after entry {_shown(self.entry)}" if self.entry is not None else ""
            raise PackageError(f"{self.archive.name}: a header of {'unbounded' if size < 0 else size} bytes"
                               f"{after} (more than {MAX_READ}); refusing a likely header bomb")
        position = self._gzip.tell()
        data = self._gzip.read(min(size, self.limit + 1 - position))
        if position + len(data) > self.limit:
            raise self._bomb()
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset + (self._gzip.tell() if whence == os.SEEK_CUR else 0)
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target > self.limit:
            raise self._bomb()
        return self._gzip.seek(target)

    def tell(self) -> int:
        return self._gzip.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._gzip.close()


def _limit(archive: Path) -> int:
    try:
        return max(EXPANSION_FLOOR, archive.stat().st_size * EXPANSION_RATIO)
    except FileNotFoundError:
        raise ActionError(f"{archive}: not found", retryable=False) from None


@contextmanager
def _open(archive: Path) -> Iterator[tarfile.TarFile]:
    """``archive`` opened for reading, through ``_Capped``; raises ``PackageError`` when it is not
    a gzip-compressed tar, ``ActionError`` when it is not there."""
    try:
        stream = _Capped(archive, _limit(archive))
    except OSError as error:
        raise ActionError(f"{archive}: cannot read it ({error.strerror})", retryable=False) from None
    try:
        try:
            tar = tarfile.open(fileobj=stream, mode="r:")  # type: ignore[call-overload]  # noqa: SIM115 - closed below
        except (tarfile.ReadError, OSError, EOFError, zlib.error) as error:
            raise PackageError(f"{archive.name}: not a gzip-compressed tar archive ({error})") from None
        with tar:
            yield tar
    finally:
        stream.close()


def _entries(tar: tarfile.TarFile, where: str) -> Iterator[tarfile.TarInfo]:
    """The entries of ``tar`` in order; raises ``PackageError`` past ``MAX_ENTRIES`` entries or
    ``MAX_GLOBAL_PAX_KEYS`` global pax keys (each costs tarfile a copy per entry)."""
    for count, info in enumerate(tar, 1):
        if count > MAX_ENTRIES:
            raise PackageError(f"{where}: entry {_shown(info.name)} is past the limit of {MAX_ENTRIES} "
                               "entries; refusing the archive")
        if len(tar.pax_headers) > MAX_GLOBAL_PAX_KEYS:
            raise PackageError(f"{where}: a global pax header before entry {_shown(info.name)} has more "
                               f"than {MAX_GLOBAL_PAX_KEYS} keys")
        if isinstance(tar.fileobj, _Capped):
            tar.fileobj.entry = info.name
        yield info


def _check_member(archive: Path, info: tarfile.TarInfo) -> str:
    """The member's safe relative name; raises ``PackageError`` for anything unsafe."""
    raw = info.name
    name = _normalise(raw)
    where = f"{archive.name}: entry {_shown(raw)}"
    if len(raw) > MAX_NAME or len(info.linkname) > MAX_NAME:
        raise PackageError(f"{where} has a name or link target longer than {MAX_NAME} characters")
    if raw.startswith("/"):
        raise PackageError(f"{where} is an absolute path")
    if "\\" in raw or "\x00" in raw:
        raise PackageError(f"{where} has a backslash or NUL in its name")
    if ".." in name.split("/"):
        raise PackageError(f"{where} climbs out of the release folder with '..'")
    if name.count("/") >= MAX_DEPTH:
        raise PackageError(f"{where} is more than {MAX_DEPTH} folders deep")
    if info.isdev() or info.isfifo():
        raise PackageError(f"{where} is a device or FIFO; a release holds only files, folders and links")
    if not (info.isfile() or info.isdir() or info.issym() or info.islnk()) or info.issparse():
        raise PackageError(f"{where} is not a regular file, folder or link")
    if info.issym() or info.islnk():
        target = info.linkname
        if not target:
            raise PackageError(f"{where} is a link with no target")
        if target.startswith("/"):
            raise PackageError(f"{where} is a link to the absolute path {_shown(target)}")
        if "\\" in target or "\x00" in target:
            raise PackageError(f"{where} is a link whose target has a backslash or NUL")
        base = posixpath.dirname(name) if info.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, _normalise(target)))
        if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
            raise PackageError(f"{where} is a link pointing outside the release folder ({_shown(target)})")
    if info.mode & (stat.S_ISUID | stat.S_ISGID):
        raise PackageError(f"{where} is set-user-ID or set-group-ID")
    return name


class _Paths:
    """Every path an archive names as a number, 0 the release folder: (parent, component) → number.

    Looking up a path costs its number of components, never the number of entries."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[int, str], int] = {}

    def child(self, parent: int, part: str) -> int:
        return self._numbers.setdefault((parent, part), len(self._numbers) + 1)

    def chain(self, parts: Iterable[str]) -> list[int]:
        """The numbers of every prefix of the path ``parts``: ``a``, ``a/b``, ``a/b/c``."""
        node, chain = 0, []
        for part in parts:
            node = self.child(node, part)
            chain.append(node)
        return chain


def _follow(paths: _Paths, links: dict[int, str], folder: list[int], target: str) -> tuple[int, str | None]:
    """Where the link target ``target`` leads from the folder whose chain is ``folder``, inside the
    release's own tree, and why it is unsafe (None: it is not): it climbs above the release folder
    with ``..``, or one of its components is a symbolic link of the archive (``links``)."""
    stack = list(folder)
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return 0, "a link pointing outside the release folder"
            stack.pop()
            continue
        node = paths.child(stack[-1] if stack else 0, part)
        if node in links:
            return node, f"a link through the link {_shown(links[node])} of the archive"
        stack.append(node)
    return (stack[-1] if stack else 0), None


def _check_links(archive: Path, found: list[Member]) -> None:
    """Refuse an entry under a symbolic link of the archive, a link that leads through another
    link or above the release folder, and a hard link to anything but an earlier regular file.

    Resolved against the archive's own entries, whatever their order, never against a folder on
    disk (the temporary folder has another name than the release's)."""
    paths = _Paths()
    chains = [paths.chain(member.name.split("/")) for member in found]
    links = {chain[-1]: member.name for member, chain in zip(found, chains, strict=True) if member.info.issym()}
    files: dict[int, int] = {}  # a regular file's number → its position in the archive
    for position, (member, chain) in enumerate(zip(found, chains, strict=True)):
        where = f"{archive.name}: entry {_shown(member.info.name)}"
        under = next((node for node in chain[:-1] if node in links), None)
        if under is not None:
            raise PackageError(f"{where} lies under the link {_shown(links[under])} of the archive")
        if member.info.isfile():
            files[chain[-1]] = position
        elif member.info.issym() or member.info.islnk():
            target, problem = _follow(paths, links, chain[:-1] if member.info.issym() else [],
                                      member.info.linkname)
            if problem is not None:
                raise PackageError(f"{where} is {problem} ({_shown(member.info.linkname)}); a link may lead "
                                   "neither through another link nor above the release folder")
            if member.info.islnk() and files.get(target, position) >= position:
                raise PackageError(f"{where} is a hard link to {_shown(member.info.linkname)}, which is "
                                   "not an earlier file of the archive")


def members(archive: Path) -> list[Member]:
    """Every entry of ``archive``, each checked, and the links among them; raises
    ``PackageError`` at the first bad one (or when the archive expands past its cap or has too
    many entries), ``ActionError`` when it is not there. Time and memory are linear in its size.

    A zip's entries come as ``Member``s too, their ``info`` a ``TarInfo`` made from the zip's entry
    (a file or a folder, its size, mode 0644 or 0755); see ``is_zip``."""
    if is_zip(archive):
        return _zip_members(archive)
    found: list[Member] = []
    seen: set[str] = set()
    with _open(archive) as tar:
        try:
            for info in _entries(tar, archive.name):
                name = _check_member(archive, info)
                if not name:
                    continue
                if name in seen:
                    raise PackageError(f"{archive.name}: entry {_shown(name)} appears twice")
                seen.add(name)
                found.append(Member(name, info))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise PackageError(f"{archive.name}: the archive is truncated or corrupt ({error})") from None
    _check_links(archive, found)
    for required in REQUIRED:
        if required not in seen:
            raise PackageError(f"{archive.name}: {required} is missing")
    return found


def expanded_size(found: list[Member]) -> int:
    """The bytes the regular files of ``found`` take once extracted."""
    return sum(member.info.size for member in found if member.info.isfile())


def read_release(archive: Path) -> dict[str, Any]:
    """``release.json`` from ``archive``, validated against its schema; raises ``PackageError``
    (also when a zip has none: see ``read_manifest`` for what a zip without one stands for)."""
    if is_zip(archive):
        found = _zip_release_json(archive)
        if found is None:
            raise PackageError(f"{archive.name}: release.json is missing")
        return found
    with _open(archive) as tar:
        try:
            for info in _entries(tar, archive.name):
                if _normalise(info.name) == "release.json" and info.isfile():
                    if info.size > MAX_METADATA:
                        raise PackageError(f"{archive.name}: release.json is larger than 1 MiB")
                    stream = tar.extractfile(info)
                    assert stream is not None  # noqa: S101 - a regular file
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


def _full_reference(reference: str) -> str:
    """``reference`` as the engine reads it: ``web:1`` and ``docker.io/web:1`` are both
    ``docker.io/library/web:1``; one with a registry host stays as it is."""
    first, slash, rest = reference.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost"):
        first, rest = "docker.io", reference
    if first == "index.docker.io":
        first = "docker.io"
    if first == "docker.io" and "/" not in rest:
        rest = "library/" + rest
    return f"{first}/{rest}"


def _fields(document: Any, name: str) -> list[Any]:
    """The values of ``document``'s keys that are ``name`` in any case: the engine's JSON reader
    (Go) fills a field from a key that matches it case-insensitively, the last one winning."""
    if not isinstance(document, dict):
        return []
    return [value for key, value in document.items() if key.casefold() == name.casefold()]


def _image_names(documents: dict[str, bytes], where: str) -> list[Any]:
    """Every image name the engine could tag from a docker save archive's ``documents``: the
    ``RepoTags`` of manifest.json, the legacy ``repositories`` file, an OCI index.json's names."""
    parsed: dict[str, Any] = {}
    for name, raw in documents.items():
        try:
            parsed[name] = json.loads(raw)
        except (ValueError, RecursionError):
            raise PackageError(f"{where}: {name} is not valid JSON") from None
    if "manifest.json" not in parsed:
        raise PackageError(f"{where}: not a docker save archive with a manifest.json (it has none)")
    manifest = parsed["manifest.json"]
    if not isinstance(manifest, list) or not manifest:
        raise PackageError(f"{where}: manifest.json lists no image")
    names: list[Any] = []
    for entry in manifest:
        tags = _fields(entry, "RepoTags")
        if not tags or not all(isinstance(value, list) and value for value in tags):
            raise PackageError(f"{where}: an image in manifest.json has no RepoTags")
        names.extend(tag for value in tags for tag in value)
    if "repositories" in parsed:
        repositories = parsed["repositories"]
        if not isinstance(repositories, dict) or not all(isinstance(tags, dict) for tags in repositories.values()):
            raise PackageError(f"{where}: repositories is not a map of repository to tags")
        names.extend(f"{repository}:{tag}" for repository, tags in repositories.items() for tag in tags)
    if "index.json" in parsed:
        listed = _fields(parsed["index.json"], "manifests")
        if not listed or not all(isinstance(value, list) for value in listed):
            raise PackageError(f"{where}: index.json lists no manifests")
        for descriptor in (item for value in listed for item in value):
            annotations = [value for value in _fields(descriptor, "annotations") if isinstance(value, dict)]
            if not annotations or not all(value.get(IMAGE_NAME) or value.get(REF_NAME) for value in annotations):
                raise PackageError(f"{where}: an image in index.json has no name")
            for value in annotations:
                full, ref = value.get(IMAGE_NAME), value.get(REF_NAME)
                # The engine names the image by the first; the second alone may be just a tag.
                names.extend(name for name in (full, ref) if name and (
                    name is full or not full or not isinstance(name, str) or "/" in name or ":" in name))
    return names


def image_tags(stream: IO[bytes], where: str, images: Sequence[str]) -> list[str]:
    """The references of release.json (``images``) that the ``docker save`` archive read from
    ``stream`` tags, in release.json's spelling.

    Raises ``PackageError`` (one line starting with ``where``) when the archive names an image
    release.json does not list (``docker load`` would tag it, replacing another project's
    image), an image with no tag, or when its names cannot be read for sure: no manifest.json,
    one of the files that name images twice, not a regular file or under a link, a path with
    ``..``, too many entries. ``stream`` is left anywhere: seek it back before loading it.
    """
    wanted = {_full_reference(image): image for image in images}
    documents: dict[str, bytes] = {}
    paths, links, entries = _Paths(), set(), []
    try:
        with tarfile.open(fileobj=stream, mode="r:") as tar:
            for info in _entries(tar, where):
                name = _normalise(info.name)
                if info.name.startswith("/") or ".." in name.split("/"):
                    raise PackageError(f"{where}: entry {_shown(info.name)} is outside the archive's folder")
                if not name:
                    continue
                chain = paths.chain(name.split("/"))
                entries.append((info.name, chain))
                if info.issym() or info.islnk():
                    links.add(chain[-1])
                if name in IMAGE_METADATA:
                    if name in documents or not info.isfile() or info.issparse() or info.size > MAX_METADATA:
                        raise PackageError(f"{where}: entry {_shown(info.name)} is not the one regular "
                                           f"{name} of at most {MAX_METADATA} bytes")
                    reader = tar.extractfile(info)
                    assert reader is not None  # noqa: S101 - a regular file
                    documents[name] = reader.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise PackageError(f"{where}: not a docker save archive with a manifest.json ({error})") from None
    for raw, chain in entries:
        if any(node in links for node in chain[:-1]):
            raise PackageError(f"{where}: entry {_shown(raw)} lies under a link of the archive")
    carried: dict[str, None] = {}
    for name in _image_names(documents, where):
        if not isinstance(name, str) or _full_reference(name) not in wanted:
            shown = name if isinstance(name, str) and name.isprintable() and len(name) <= 200 else _shown(name)
            raise PackageError(f"{where}: carries {shown}, which release.json does not list")
        carried[wanted[_full_reference(name)]] = None
    return list(carried)


def check_images(archive: Path, found: list[Member], images: list[str]) -> list[str]:
    """The references of release.json (``images``) the package's ``images/*.tar`` carry (docker
    save format); ``[]`` when it has none (the images are pulled).

    Raises ``PackageError`` when ``images`` is not a folder of regular ``<name>.tar`` files, when a
    tar names an image release.json does not list or none at all (see ``image_tags``), or when an
    image of release.json has no tar."""
    carried: dict[str, None] = {}
    tars = []
    for member in found:
        where = f"{archive.name}: {member.name}"
        if member.name == "images" and not member.info.isdir():
            raise PackageError(f"{where} is not a folder; images/ may hold only <name>.tar files (docker save)")
        if not member.name.startswith("images/") or (member.info.isdir() and not member.name.endswith(".tar")):
            continue
        if not member.info.isfile() or not member.name.endswith(".tar") or "/" in member.name[len("images/"):]:
            raise PackageError(f"{where}: images/ may hold only <name>.tar files (docker save)")
        tars.append(member)
    if not tars:
        return []
    if is_zip(archive):
        with _open_zip(archive) as zipped:
            for member in tars:
                try:
                    with zipped.open(member.info.name) as stream:
                        carried.update(dict.fromkeys(image_tags(stream, f"{archive.name}: {member.name}", images)))
                except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as error:
                    raise PackageError(f"{archive.name}: {member.name} cannot be read ({error})") from None
    else:
        _tar_images(archive, tars, images, carried)
    missing = [image for image in images if image not in carried]
    if missing:
        raise PackageError(f"{archive.name}: images/ carries no archive for {', '.join(missing)}")
    return list(carried)


def _tar_images(archive: Path, tars: list[Member], images: list[str], carried: dict[str, None]) -> None:
    with _open(archive) as tar:
        for member in tars:
            stream = tar.extractfile(member.info)
            assert stream is not None  # noqa: S101 - a regular file
            carried.update(dict.fromkeys(image_tags(stream, f"{archive.name}: {member.name}", images)))


def _same(member: Member | None, name: str, info: tarfile.TarInfo) -> bool:
    """Whether entry ``info`` (named ``name``) is still the ``member`` that ``members`` checked."""
    return member is not None and member.name == name and (
        member.info.type, member.info.linkname, member.info.size, member.info.mode) == (
        info.type, info.linkname, info.size, info.mode)


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
    interrupted extraction is removed first. Links were checked by ``members`` against the
    archive's own entries, so they hold under the final name as under the temporary one.

    Raises ``PackageError`` for a bad archive (nothing is left behind), ``ActionError`` when the
    disk is full or the release folder is taken.
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
        if is_zip(archive):
            _extract_zip(archive, found, temporary)
        else:
            _extract_tar(archive, found, temporary)
    except PackageError:
        remove_release(temporary)
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, KeyError) as error:
        remove_release(temporary)
        raise PackageError(f"{archive.name}: extraction failed ({error})") from None
    except OSError as error:
        remove_release(temporary)
        raise ActionError(f"extracting {archive.name} failed: {error.strerror}") from None
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


def _extract_tar(archive: Path, found: list[Member], temporary: Path) -> None:
    """The entries of the tar ``archive`` into ``temporary``, each checked again on the way."""
    with _open(archive) as tar:
        expected = iter(found)
        for info in _entries(tar, archive.name):
            name = _check_member(archive, info)  # the same checks again, on the entries we extract
            if name and not _same(next(expected, None), name, info):
                raise PackageError(f"{archive.name}: entry {_shown(info.name)} changed while it was "
                                   "being extracted")
            tar.extract(info, temporary, filter="data")
        if next(expected, None) is not None:
            raise PackageError(f"{archive.name}: lost entries while it was being extracted")




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


# -- zip archives (DESIGN §12) ----------------------------------------------------------------------

_ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})
# The central directory zipfile reads whole into memory: entries times (46 bytes + name + extra);
# 100,000 entries of real names and extras fit many times over.
MAX_ZIP_DIRECTORY = 64 << 20
_END, _LOCATOR, _END64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"


def is_zip(archive: Path) -> bool:
    """Whether ``archive`` is a zip, by its first bytes (a local file header, or an empty zip's
    end record); its name does not count. False when it cannot be read (the tar path says why)."""
    try:
        with open(archive, "rb") as stream:
            return stream.read(4) in ZIP_MAGIC
    except OSError:
        return False


def _zip_directory(stream: IO[bytes], size: int, name: str) -> tuple[int, int]:
    """(entries, central directory bytes) that the end record of the zip ``stream`` (``size``
    bytes) declares, zip64 included; raises ``PackageError`` when it has none."""
    tail_size = min(size, 22 + 0xFFFF)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        raise PackageError(f"{name}: not a gzip-compressed tar archive, nor a zip archive (it starts as one but has "
                           "no end of central directory record)")
    entries, directory = struct.unpack_from("<H", tail, at + 10)[0], struct.unpack_from("<I", tail, at + 12)[0]
    locator = at - 20
    if locator >= 0 and tail[locator:locator + 4] == _LOCATOR:
        offset = struct.unpack_from("<Q", tail, locator + 8)[0]
        if offset < size:
            stream.seek(offset)
            record = stream.read(56)
            if len(record) == 56 and record[:4] == _END64:
                entries, directory = struct.unpack_from("<QQ", record, 32)
    return entries, directory


@contextmanager
def _open_zip(archive: Path) -> Iterator[zipfile.ZipFile]:
    """The zip ``archive`` opened for reading, once its end record says it has at most
    ``MAX_ENTRIES`` entries and a central directory of at most ``MAX_ZIP_DIRECTORY`` bytes;
    raises ``PackageError`` when it is not a sound zip, ``ActionError`` when it cannot be read."""
    try:
        stream = open(archive, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise ActionError(f"{archive}: cannot read it ({error.strerror})", retryable=False) from None
    try:
        entries, directory = _zip_directory(stream, os.fstat(stream.fileno()).st_size, archive.name)
        if entries > MAX_ENTRIES:
            raise PackageError(f"{archive.name}: {entries} entries, past the limit of {MAX_ENTRIES}; "
                               "refusing the archive")
        if directory > MAX_ZIP_DIRECTORY:
            raise PackageError(f"{archive.name}: a central directory of {directory} bytes (more than "
                               f"{MAX_ZIP_DIRECTORY}); refusing a likely header bomb")
        stream.seek(0)
        try:
            zipped = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error,
                NotImplementedError) as error:
            raise PackageError(f"{archive.name}: not a gzip-compressed tar archive, nor a readable zip archive "
                               f"({error})") from None
        with zipped:
            yield zipped
    except OSError as error:
        raise ActionError(f"{archive}: cannot read it ({error.strerror})", retryable=False) from None
    finally:
        stream.close()


def _check_zip_entry(archive: Path, info: zipfile.ZipInfo) -> tuple[str, tarfile.TarInfo]:
    """The entry's safe relative name and what it is (a file or a folder, as a ``TarInfo`` with
    its size and the mode it gets: 0755 with an execute bit or a folder, else 0644); raises
    ``PackageError`` for anything unsafe."""
    raw = info.orig_filename  # before zipfile cuts a name at NUL
    where = f"{archive.name}: entry {_shown(raw)}"
    if len(raw) > MAX_NAME:
        raise PackageError(f"{where} has a name longer than {MAX_NAME} characters")
    if info.flag_bits & 0x1:
        raise PackageError(f"{where} is encrypted; a release package is not")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise PackageError(f"{where} is an absolute path")
    if "\\" in raw or "\x00" in raw:
        raise PackageError(f"{where} has a backslash or NUL in its name")
    name = _normalise(raw)
    if ".." in name.split("/"):
        raise PackageError(f"{where} climbs out of the release folder with '..'")
    if name.count("/") >= MAX_DEPTH:
        raise PackageError(f"{where} is more than {MAX_DEPTH} folders deep")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    folder = raw.endswith("/")
    if kind == stat.S_IFLNK:
        raise PackageError(f"{where} is a symbolic link; links are refused in zip packages")
    if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        raise PackageError(f"{where} is a device, FIFO or socket; a release holds only files and folders")
    # No Unix mode (a zip made on another system) says nothing; one that does must agree with the name.
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR) or (kind and (kind == stat.S_IFDIR) != folder):
        raise PackageError(f"{where} is not a regular file or folder")
    if mode & (stat.S_ISUID | stat.S_ISGID):
        raise PackageError(f"{where} is set-user-ID or set-group-ID")
    if info.compress_type not in _ZIP_METHODS:
        raise PackageError(f"{where} uses compression method {info.compress_type}, which upgrader does not read")
    if not folder and info.file_size > (1 << 20) and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
        raise PackageError(f"{where} expands {info.file_size} bytes from {info.compress_size} (more than "
                           f"{MAX_ZIP_RATIO} times); refusing a likely zip bomb")
    entry = tarfile.TarInfo(name)
    entry.type = tarfile.DIRTYPE if folder else tarfile.REGTYPE
    entry.size = 0 if folder else info.file_size
    entry.mode = 0o755 if folder or mode & 0o111 else 0o644
    return name, entry


def _zip_members(archive: Path) -> list[Member]:
    """``members`` of a zip: each entry checked, duplicates refused (also once normalised: ``a//b``
    is ``a/b``), a file another entry lies under refused, the sum of declared sizes capped."""
    limit = _limit(archive)
    found: list[Member] = []
    seen: set[str] = set()
    total = 0
    with _open_zip(archive) as zipped:
        for info in zipped.infolist():
            name, entry = _check_zip_entry(archive, info)
            if not name:
                continue
            if name in seen:
                raise PackageError(f"{archive.name}: entry {_shown(name)} appears twice")
            seen.add(name)
            total += entry.size
            if total > limit:
                raise PackageError(f"{archive.name}: expands to more than {limit} bytes ({EXPANSION_RATIO} "
                                   f"times its size) at entry {_shown(name)}; refusing a likely zip bomb")
            found.append(Member(name, entry))
    files = {member.name for member in found if member.info.isfile()}
    for member in found:
        parts = member.name.split("/")
        for cut in range(1, len(parts)):
            if "/".join(parts[:cut]) in files:
                raise PackageError(f"{archive.name}: entry {_shown(member.name)} lies under the file "
                                   f"{_shown('/'.join(parts[:cut]))}")
    if "release.json" in files and "compose.yaml" not in files:
        raise PackageError(f"{archive.name}: compose.yaml is missing (a package with a release.json needs one)")
    return found


def _zip_release_json(archive: Path) -> dict[str, Any] | None:
    """The validated release.json at the top of the zip ``archive``; None when it has none."""
    with _open_zip(archive) as zipped:
        for info in zipped.infolist():
            if _normalise(info.orig_filename) == "release.json" and not info.is_dir():
                if info.file_size > MAX_METADATA:
                    raise PackageError(f"{archive.name}: release.json is larger than 1 MiB")
                try:
                    raw = zipped.read(info)
                except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as error:
                    raise PackageError(f"{archive.name}: release.json cannot be read ({error})") from None
                return parse_release(raw, f"{archive.name}: release.json")
    return None


def read_manifest(archive: Path, *, version: str, product: str | None) -> tuple[dict[str, Any], bool]:
    """(release.json, True) of ``archive``; for a zip without one — a vendor's whole server
    folder — (``{"product": product, "version": version, "images": []}``, False): nothing in it
    says its product or images, the feed's entry says its version. Raises ``PackageError``."""
    if is_zip(archive):
        found = _zip_release_json(archive)
        if found is None:
            return {"product": product, "version": version, "images": []}, False
        return found, True
    return read_release(archive), True


def _extract_zip(archive: Path, found: list[Member], temporary: Path) -> None:
    """The entries of the zip ``archive`` into ``temporary``, each checked again on the way, files
    written 0644 or 0755 (never through a link: ``O_NOFOLLOW``, ``O_EXCL``)."""
    expected = iter(found)
    with _open_zip(archive) as zipped:
        for info in zipped.infolist():
            name, entry = _check_zip_entry(archive, info)
            if not name:
                continue
            member = next(expected, None)
            if member is None or (member.name, member.info.type, member.info.size, member.info.mode) != (
                    name, entry.type, entry.size, entry.mode):
                raise PackageError(f"{archive.name}: entry {_shown(info.orig_filename)} changed while it was "
                                   "being extracted")
            target = temporary / name
            if entry.isdir():
                target.mkdir(mode=0o755, parents=True, exist_ok=True)
                continue
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, entry.mode)
            with os.fdopen(descriptor, "wb") as output, zipped.open(info) as source:
                shutil.copyfileobj(source, output, 1 << 20)
            os.chmod(target, entry.mode)
    if next(expected, None) is not None:
        raise PackageError(f"{archive.name}: lost entries while it was being extracted")
