"""``upgrader release keygen|pack|publish|verify|phase|yank``: the publisher's side of the feed
(DESIGN §10).

``keygen`` makes the Ed25519 key a feed is signed with: the private key in a new file of mode
0600 (never over an existing file, never printed), its public key printed exactly as
project.yaml's ``public_key`` takes it.

``pack`` turns a release folder (compose.yaml, defaults.env, config/, hooks/, optionally a
release.json of its own) into the §4 package. release.json is written from the folder: ``images``
are every ``image:`` of compose.yaml as Compose itself resolves them with defaults.env, each with
an explicit tag (``--pin-digests``: with the digest the registry has, so that a client runs
exactly what was tested). The archive is reproducible: the same folder and version give the same
bytes (entries sorted, owner 0:0, one mtime, modes 0644/0755, a gzip header without a time or a
name). What it writes is then read back by the client's own checks (``upgrader.package``), so
a package ``pack`` makes is one a client accepts. ``pack --offline`` also writes the package with
``images/*.tar`` (one ``docker save`` per image, through ``upgrader.runtime.engine``).

``publish``, ``phase`` and ``yank`` change a feed folder (the packages, index.json and
index.json.sig) the way a client reads it: the package checked by the client's package checks,
the index by its ``parse_index`` and the signature by its ``verify_signature`` before anything
is renamed into place, the index before its signature. ``verify`` reads a feed (URL or folder)
with the client's ``Feed``: signature, index, then every archive. Every refusal is one line,
exit 2, and leaves nothing behind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from upgrader.feed import Feed

KEY_MODE = 0o600
MTIME = 946684800  # 2000-01-01T00:00:00Z: every entry's mtime, whatever the folder's
PARTS = ("compose.yaml", "defaults.env", "config", "hooks", "release.json")


class ReleaseError(UsageError):
    """A refusal of ``upgrader release``: one line, exit 2."""


# -- keygen -----------------------------------------------------------------------------------------


def keygen(keyfile: Path) -> str:
    """Write a new Ed25519 private key to ``keyfile`` (PEM, PKCS#8, mode 0600, created: never over
    a file that is there); returns its public key, base64 of the 32 raw bytes."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        descriptor = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             KEY_MODE)
    except FileExistsError:
        raise ReleaseError(f"{keyfile} exists: upgrader never writes a key over a file") from None
    except OSError as error:
        raise ReleaseError(f"{keyfile}: cannot create it ({error.strerror})") from None
    try:
        os.fchmod(descriptor, KEY_MODE)  # the umask may only have narrowed it; say it anyway
        with os.fdopen(descriptor, "wb", closefd=False) as stream:
            stream.write(pem)
            stream.flush()
            os.fsync(descriptor)
    except OSError as error:
        os.close(descriptor)
        keyfile.unlink(missing_ok=True)
        raise ReleaseError(f"{keyfile}: cannot write it ({error.strerror})") from None
    os.close(descriptor)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(public).decode("ascii")


# -- pack -------------------------------------------------------------------------------------------


def _walk(folder: Path) -> list[Path]:
    """Every entry of the release folder that goes into the package (the parts of §4), sorted;
    refuses a link that leaves ``folder``, a hook that is not executable, anything that is not
    a regular file, folder or link."""
    base = folder.resolve()
    found: list[Path] = []
    for part in PARTS:
        top = folder / part
        if not os.path.lexists(top):
            continue
        entries = [top] + (sorted(top.rglob("*")) if top.is_dir() and not top.is_symlink() else [])
        for entry in entries:
            relative = entry.relative_to(folder).as_posix()
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = (entry.parent / os.readlink(entry)).resolve()
                if target != base and base not in target.parents:
                    raise ReleaseError(f"{folder}: {relative} is a link that leaves the folder "
                                       f"({os.readlink(entry)}); a package holds only what is in it")
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ReleaseError(f"{folder}: {relative} is not a regular file, folder or link")
            elif relative.startswith("hooks/") and stat.S_ISREG(mode) and not mode & 0o111:
                raise ReleaseError(f"{folder}: {relative} is a hook that is not executable (chmod +x it)")
            found.append(entry)
    return sorted(found, key=lambda entry: entry.relative_to(folder).as_posix())


def _images(folder: Path) -> list[str]:
    """The image of every service of ``folder``'s compose.yaml, variables resolved from
    defaults.env as Compose resolves them; refuses a file Compose rejects, a service without an
    image and an image without an explicit tag or digest."""
    from upgrader.errors import ActionError
    from upgrader.runtime import compose

    # Interpolated from defaults.env alone (an empty file when there is none: never a `.env` of the
    # publisher's own) and a bare environment, as on a server whose values are the defaults.
    defaults = folder / "defaults.env"
    environment = {key: value for key, value in os.environ.items()
                   if key in ("PATH", "HOME") or key.startswith("DOCKER_")}
    try:
        model = compose.config(folder, env_file=defaults if defaults.is_file() else Path(os.devnull),
                               environment=environment)
    except ActionError as error:
        raise ReleaseError(str(error).splitlines()[0]) from None
    images: list[str] = []
    for name, service in sorted((model.get("services") or {}).items()):
        image = service.get("image") if isinstance(service, dict) else None
        if not image:
            raise ReleaseError(f"{folder / 'compose.yaml'}: service {name} has no image "
                               "(a package is run from images, never built on the server)")
        last = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and ":" not in last:
            raise ReleaseError(f"{folder / 'compose.yaml'}: service {name}'s image {image} has no explicit tag "
                               "(say which: a release that runs `latest` is a different release tomorrow)")
        if image not in images:
            images.append(image)
    if not images:
        raise ReleaseError(f"{folder / 'compose.yaml'}: no service")
    return sorted(images)


def _pinned(images: list[str]) -> list[str]:
    """``images`` as ``name:tag@sha256:…`` with the digest their registry has now."""
    from upgrader.runtime import engine

    pinned = []
    for image in images:
        if "@sha256:" in image:
            pinned.append(image)
            continue
        digest = engine.registry_digest(image)
        if digest is None:
            raise ReleaseError(f"{image}: not in its registry (push it first); --pin-digests pins "
                               "what the registry has")
        pinned.append(f"{image}@{digest}")
    return pinned


def _release_json(folder: Path, version: str, product: str | None, images: list[str]) -> bytes:
    from upgrader.package import PackageError, parse_release
    from upgrader.plan import parse_version

    try:
        parse_version(version)
    except ValueError:
        raise ReleaseError(f"--version {version}: not a semantic version (MAJOR.MINOR.PATCH)") from None
    document: dict[str, Any] = {}
    given = folder / "release.json"
    if given.is_file():
        try:
            document = json.loads(given.read_bytes())
        except ValueError as error:
            raise ReleaseError(f"{given}: not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise ReleaseError(f"{given}: not a JSON object")
        if document.get("version", version) != version:
            raise ReleaseError(f"{given} says version {document['version']}, --version says {version}")
        if product and document.get("product", product) != product:
            raise ReleaseError(f"{given} says product {document['product']}, --product says {product}")
    product = product or document.get("product")
    if not product:
        raise ReleaseError(f"{folder}: no product: give --product, or a release.json with \"product\"")
    document.update({"product": product, "version": version, "images": images})
    raw = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        parse_release(raw, "release.json")
    except PackageError as error:
        raise ReleaseError(str(error)) from None
    return raw


def _tar_info(name: str, *, kind: bytes = tarfile.REGTYPE, size: int = 0, mode: int = 0o644,
              link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.linkname = kind, size, mode, link
    info.mtime, info.uid, info.gid, info.uname, info.gname = MTIME, 0, 0, "", ""
    return info


def _add_entries(tar: tarfile.TarFile, folder: Path, entries: list[Path], release: bytes) -> None:
    """Add release.json and ``entries`` (of ``folder``) to ``tar``, each with the fixed owner,
    mtime and mode of ``_tar_info``."""
    tar.addfile(_tar_info("release.json", size=len(release)), io.BytesIO(release))
    for entry in entries:
        name = entry.relative_to(folder).as_posix()
        if name == "release.json":
            continue  # written from the folder's and the command line's
        mode = entry.lstat().st_mode
        if stat.S_ISLNK(mode):
            tar.addfile(_tar_info(name, kind=tarfile.SYMTYPE, mode=0o777, link=os.readlink(entry)))
        elif stat.S_ISDIR(mode):
            tar.addfile(_tar_info(name, kind=tarfile.DIRTYPE, mode=0o755))
        else:
            data = entry.read_bytes()
            tar.addfile(_tar_info(name, size=len(data), mode=0o755 if mode & 0o111 else 0o644),
                        io.BytesIO(data))


def _archive(folder: Path, entries: list[Path], release: bytes) -> bytes:
    """The package's bytes: the same for the same input, whenever and wherever it is made."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_entries(tar, folder, entries, release)
    return buffer.getvalue()


def _image_files(images: list[str]) -> list[tuple[str, str]]:
    """(``images/<name>.tar``, reference) for each image: the reference with every character
    that is not a letter, digit, ``.``, ``_`` or ``-`` made ``_``, numbered when two agree."""
    named: list[tuple[str, str]] = []
    taken: set[str] = set()
    for image in images:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", image).strip("._") or "image"
        name, number = stem, 2
        while name in taken:
            name, number = f"{stem}-{number}", number + 1
        taken.add(name)
        named.append((f"images/{name}.tar", image))
    return named


def _offline_images(images: list[str], pin_digests: bool) -> None:
    """Refuse ``--offline`` for images a client could not take from a package: a digest
    reference (``docker save`` names an image by its tag, so a client would not find the
    reference of release.json), and an image the local engine does not have."""
    from upgrader.runtime import engine

    if pin_digests or any("@" in image for image in images):
        raise ReleaseError("--offline with image digests (--pin-digests, or an image: with @sha256:): a docker "
                           "save archive names an image by its tag only, so a client could not match it to "
                           "release.json; make the offline package without digests")
    for image in images:
        if engine.image(image) is None:
            raise ReleaseError(f"{image}: not in the local Docker Engine (docker pull or build it first); "
                               "--offline saves the images the engine has")


def _write_offline(folder: Path, entries: list[Path], release: bytes, images: list[str], target: Path) -> None:
    """Write the offline package ``target``: the package's entries and ``images/*.tar``, one
    ``docker save`` of each image, named by its reference of release.json alone (what
    ``package.check_images`` accepts); read back with the client's checks before it gets its
    name. A file of that name with other bytes is refused (nothing written)."""
    from upgrader.package import PackageError, check_images, members, read_release
    from upgrader.runtime import engine

    out = target.parent
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=out)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            with gzip.GzipFile(filename="", fileobj=stream, mode="wb", mtime=0, compresslevel=6) as compressed, \
                    tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_entries(tar, folder, entries, release)
                tar.addfile(_tar_info("images", kind=tarfile.DIRTYPE, mode=0o755))
                for name, image in _image_files(images):
                    with tempfile.TemporaryFile(dir=out) as saved:
                        engine.save(image, saved)
                        size = saved.tell()
                        saved.seek(0)
                        tar.addfile(_tar_info(name, size=size), saved)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        try:
            found = members(Path(temporary))
            check_images(Path(temporary), found, read_release(Path(temporary))["images"])
        except PackageError as error:
            raise ReleaseError(f"the offline package made from {folder} would be refused by a client: "
                               f"{error}") from None
        if target.is_file() and _same_bytes(target, Path(temporary)):
            Path(temporary).unlink()
            return
        if os.path.lexists(target):
            raise ReleaseError(f"{target} exists with other bytes: upgrader never writes a package over "
                               "another (remove it, or give --out)")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _same_bytes(one: Path, other: Path) -> bool:
    from upgrader.feed import file_sha256

    return one.stat().st_size == other.stat().st_size and file_sha256(one) == file_sha256(other)


def offline_path(package: Path) -> Path:
    """Where ``pack --offline`` writes the offline package beside ``package``
    (``<product>-<version>-offline.tar.gz``)."""
    return package.with_name(package.name.removesuffix(".tar.gz") + "-offline.tar.gz")


def pack(folder: Path, version: str, *, product: str | None = None, out: Path | None = None,
         pin_digests: bool = False, offline: bool = False) -> Path:
    """Write ``<product>-<version>.tar.gz`` from ``folder`` into ``out`` (default: the current
    folder); returns its path. The same bytes there already: nothing is written.

    With ``offline``, also ``<product>-<version>-offline.tar.gz`` (see ``offline_path``): the
    same entries and ``images/*.tar``, one ``docker save`` per image of release.json from the
    local engine. Its bytes are those ``docker save`` gives, so they are reproducible only as far
    as the engine's are (the plain package's always are). An image the engine does not have, or
    images pinned by digest, are refused before anything is written."""
    from upgrader.package import PackageError, members, read_release

    folder = folder.absolute()
    if not folder.is_dir():
        raise ReleaseError(f"{folder}: not a folder")
    if not (folder / "compose.yaml").is_file():
        raise ReleaseError(f"{folder}: no compose.yaml (a release folder holds compose.yaml, defaults.env, "
                           "config/, hooks/)")
    entries = _walk(folder)
    images = _images(folder)
    if offline:
        _offline_images(images, pin_digests)
    if pin_digests:
        images = _pinned(images)
    release = _release_json(folder, version, product, images)
    name = json.loads(release)["product"]
    data = _archive(folder, entries, release)
    out = Path(out) if out is not None else Path.cwd()
    if not out.is_dir():
        raise ReleaseError(f"--out {out}: not a folder")
    target = out / f"{name}-{version}.tar.gz"
    same = target.is_file() and target.read_bytes() == data
    if not same and os.path.lexists(target):
        raise ReleaseError(f"{target} exists with other bytes: upgrader never writes a package over "
                           "another (remove it, or give --out)")
    if offline:
        _write_offline(folder, entries, release, images, offline_path(target))
    if same:
        return target
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=out)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        try:  # read back with the client's own checks before it gets its name
            members(Path(temporary))
            read_release(Path(temporary))
        except PackageError as error:
            raise ReleaseError(f"the package made from {folder} would be refused by a client: {error}") from None
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


# -- the feed: publish, phase, yank, verify ---------------------------------------------------------

FEED_MODE = 0o644  # a feed's files are served to every client: public, written by the publisher alone
KEY_LIMIT = 64 << 10  # bytes of a key file read at most (an Ed25519 PEM is 119)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ARCHIVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,254}$")  # a relative URL as it is


@dataclass(frozen=True)
class Outcome:
    """What a feed command did: ``message`` (stdout; may be empty), ``lines`` (stdout, one per
    release for ``verify``), ``warnings`` (stderr) and the exit code."""

    message: str = ""
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    exit_code: int = EXIT_OK


def load_signing_key(keyfile: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``keyfile`` (PEM, unencrypted). Refuses, each in one line that
    never shows the key: a file group or others may read or write, one that is not a regular
    file, and content that is not an Ed25519 private key."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:  # O_NONBLOCK: a FIFO put in the key's place is refused below, not waited on
        descriptor = os.open(keyfile, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise ReleaseError(f"--key {keyfile}: cannot read it ({error.strerror})") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise ReleaseError(f"--key {keyfile}: not a regular file")
    with os.fdopen(descriptor, "rb") as stream:
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            raise ReleaseError(f"--key {keyfile}: mode {mode:04o}: group or others may read or change the "
                               f"signing key; refused (chmod 600 it, and make a new key if others read it)")
        pem = stream.read(KEY_LIMIT + 1)
    not_a_key = f"--key {keyfile}: not an Ed25519 private key in PEM (upgrader release keygen writes one)"
    if len(pem) > KEY_LIMIT:
        raise ReleaseError(not_a_key)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ReleaseError(f"--key {keyfile}: the private key is encrypted; upgrader signs with an "
                           "unencrypted one (kept 0600)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ReleaseError(not_a_key) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReleaseError(not_a_key)
    return key


def public_key_of(key: Ed25519PrivateKey) -> str:
    """``key``'s public key as project.yaml's ``public_key`` takes it (base64 of 32 bytes)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _sign(raw: bytes, key: Ed25519PrivateKey) -> bytes:
    import base64

    return base64.b64encode(key.sign(raw)) + b"\n"


def _utc_time(text: str, option: str) -> str:
    """``text`` (ISO 8601; no zone: UTC, as a client reads it) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReleaseError(f"{option} {text}: not an ISO 8601 time (2026-11-20T10:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _percent(value: int) -> int:
    if not 0 <= value <= 100:
        raise ReleaseError(f"phase {value}: a share of servers, 0 to 100 (percent)")
    return value


def _expires(days: float | None, now: datetime) -> str | None:
    if days is None:
        return None
    if not 0 < days <= 3650:
        raise ReleaseError(f"--expires-in {days:g}: a number of days above 0, at most 3650")
    return (now + timedelta(days=days)).strftime(TIME_FORMAT)


@contextmanager
def _feed_lock(folder: Path) -> Iterator[None]:
    """Hold the feed folder (an OS lock on the folder itself, gone with the process): two
    publishers at once would each list their release in an index the other replaces."""
    import fcntl

    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReleaseError(f"--feed {folder}: another upgrader release command is changing this feed; "
                               "try again when it has finished") from None
        yield
    finally:
        os.close(descriptor)


@dataclass
class _FeedFolder:
    """A feed folder as a publisher finds it: its index (None: there is none yet), whether it is
    signed, and the key it will be signed with."""

    folder: Path
    document: dict[str, Any] | None
    signed: bool
    key: Ed25519PrivateKey | None

    @property
    def index_path(self) -> Path:
        return self.folder / "index.json"


def _feed_folder(folder: Path) -> Path:
    folder = Path(folder).absolute()
    if not folder.is_dir():
        what = "not a folder" if os.path.lexists(folder) else "no such folder"
        raise ReleaseError(f"--feed {folder}: {what} (create the feed's folder first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ReleaseError(f"--feed {folder}: cannot write in it (permission denied)")
    return folder


def _read_feed(folder: Path, keyfile: Path | None) -> _FeedFolder:
    """The feed in ``folder``, read as a client reads it; refuses an index a client would refuse,
    a signed feed without ``keyfile``, and a signature that does not verify with its key."""
    from upgrader.feed import INDEX_LIMIT, SIGNATURE_LIMIT, Feed, FeedError, parse_index, verify_signature

    key = load_signing_key(keyfile) if keyfile is not None else None
    reader = Feed(folder.as_uri() + "/")
    index_path, signature_path = folder / "index.json", folder / "index.json.sig"
    document: dict[str, Any] | None = None
    raw = b""
    if os.path.lexists(index_path):
        try:
            raw = reader.fetch(reader.resolve("index.json"), INDEX_LIMIT)
            parse_index(raw, str(index_path))
        except FeedError as error:
            raise ReleaseError(f"{error}; refused: a client would refuse this feed's index "
                               "(mend or move it first)") from None
        document = json.loads(raw)
    signed = os.path.lexists(signature_path)
    if signed and key is None:
        raise ReleaseError(f"{signature_path}: the feed is signed: give --key (its signing key); upgrader never "
                           "leaves a feed with a signature that does not match its index")
    if signed and document is not None and key is not None:
        try:
            signature = reader.fetch(reader.resolve("index.json.sig"), SIGNATURE_LIMIT)
            verify_signature(raw, signature, public_key_of(key), str(index_path))
        except FeedError:
            raise ReleaseError(f"{signature_path}: does not verify with --key {keyfile}: the feed is signed by "
                               "another key (or index.json was changed since it was signed); refused") from None
    return _FeedFolder(folder, document, signed, key)


def _stage(folder: Path, name: str, data: bytes) -> Path:
    """A temporary file in ``folder`` holding ``data`` (mode 0644, fsynced), to be renamed to
    ``name``; raises ``ReleaseError`` when the folder cannot be written."""
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    except OSError as error:
        raise ReleaseError(f"--feed {folder}: cannot write in it ({error.strerror})") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fchmod(stream.fileno(), FEED_MODE)
            os.fsync(stream.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _write_feed(feed: _FeedFolder, document: dict[str, Any], archive: tuple[Path, Path] | None = None,
                ) -> list[str]:
    """Write ``document`` as the feed's index.json and, with a key, its index.json.sig; with
    ``archive`` (a staged temporary file, its final path), rename the archive into place first.

    The index is checked with the client's ``parse_index`` and the signature with its
    ``verify_signature`` before either is renamed; then the archive, index.json and
    index.json.sig are renamed in that order (a client reading in between sees a signature that
    does not match yet, takes nothing and reads the feed again at its next run) and the folder
    is fsynced. Returns the warnings to show (an unsigned feed)."""
    from upgrader.feed import FeedError, parse_index, verify_signature

    raw = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    index_path = feed.index_path
    try:
        parse_index(raw, str(index_path))
    except FeedError as error:  # pragma: no cover - every field is checked before it is set
        raise ReleaseError(f"the index that would be written is one a client refuses: {error}") from None
    staged: list[tuple[Path, Path]] = [archive] if archive is not None else []
    try:
        staged.append((_stage(feed.folder, index_path.name, raw), index_path))
        warnings = []
        if feed.key is not None:
            signature = _sign(raw, feed.key)
            try:
                verify_signature(raw, signature, public_key_of(feed.key), str(index_path))
            except FeedError as error:  # pragma: no cover - a signature just made verifies
                raise ReleaseError(f"the new signature does not verify: {error}") from None
            staged.append((_stage(feed.folder, "index.json.sig", signature), feed.folder / "index.json.sig"))
        else:
            warnings.append(f"{feed.folder} is an unsigned feed: a client whose project.yaml has a public_key "
                            "refuses it (sign it with --key; upgrader release keygen makes a key)")
        for temporary, target in staged:
            os.replace(temporary, target)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    from upgrader.store import fsync_dir

    fsync_dir(feed.folder)
    return warnings


def _expiry_warnings(document: dict[str, Any], now: datetime) -> list[str]:
    expires = document.get("expires")
    if expires is None:
        return []
    moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    if (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)) > now:  # no zone: UTC, as clients read it
        return []
    return [f"index.json expired at {expires}: clients refuse it until it is signed with a later one "
            "(give --expires-in DAYS)"]


def _ordered(document: dict[str, Any]) -> dict[str, Any]:
    """``document``'s keys in the order a person reads an index: what it is, how fresh, what it lists."""
    order = ("schema", "product", "serial", "expires", "releases")
    return {key: document[key] for key in order if key in document}


def _sorted_releases(releases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from upgrader.plan import parse_version

    return sorted(releases, key=lambda entry: parse_version(entry["version"]))


def _copy_staged(archive: Path, folder: Path, sha256: str) -> Path:
    """``archive`` copied into a temporary file of ``folder`` (fsynced, 0644); refuses a copy
    whose sha256 is not ``sha256`` (the archive changed while it was read)."""
    import hashlib

    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{archive.name}.", dir=folder)
    except OSError as error:
        raise ReleaseError(f"--feed {folder}: cannot write in it ({error.strerror})") from None
    digest = hashlib.sha256()
    try:
        with open(archive, "rb") as source, os.fdopen(descriptor, "wb") as stream:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                stream.write(chunk)
            stream.flush()
            os.fchmod(stream.fileno(), FEED_MODE)
            os.fsync(stream.fileno())
        if digest.hexdigest() != sha256:
            raise ReleaseError(f"{archive}: changed while it was being copied; publish it again")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def _checked_archive(archive: Path, where: Path | None = None) -> dict[str, Any]:
    """release.json of ``archive`` (read at ``where``, a copy of it, when given), checked as a
    client checks a package before it installs it; raises ``ReleaseError`` naming what a client
    would refuse."""
    from upgrader.errors import ActionError
    from upgrader.package import PackageError, check_images, members, read_release

    path = where or archive
    try:
        found = members(path)
        release = read_release(path)
        check_images(path, found, release["images"])
    except PackageError as error:
        raise ReleaseError(f"{archive}: a client would refuse this package: "
                           f"{str(error).replace(path.name, archive.name)}") from None
    except ActionError as error:
        raise ReleaseError(str(error)) from None
    return release


def publish(archive: Path, folder: Path, *, keyfile: Path | None = None, min_from: str | None = None,
            notes: str | None = None, released: str | None = None, phase: int | None = None,
            expires_in: float | None = None, now: datetime | None = None) -> Outcome:
    """Publish the package ``archive`` into the feed folder ``folder``: copy it in, list it in
    index.json (made when there is none), sign the index with ``keyfile``.

    Every option is checked before anything is written; the archive as a client checks it; the
    feed as a client reads it (see ``_read_feed``). The same version listed with the same sha256
    changes nothing; with another, it is refused. Raises ``ReleaseError`` (exit 2) for every
    refusal, with nothing changed."""
    from upgrader.feed import file_sha256
    from upgrader.plan import parse_version

    now = now or datetime.now(UTC)
    if phase is not None:
        _percent(phase)
    released_at = _utc_time(released, "--released") if released is not None else now.strftime(TIME_FORMAT)
    if min_from is not None:
        try:
            parse_version(min_from)
        except ValueError:
            raise ReleaseError(f"--min-from {min_from}: not a semantic version (MAJOR.MINOR.PATCH)") from None
    if notes is not None and (not notes.strip() or not notes.isprintable()):
        raise ReleaseError("--notes: give the release notes' URL, one line")
    expires = _expires(expires_in, now)
    archive = Path(archive)
    if not archive.is_file():
        raise ReleaseError(f"{archive}: no such package (a file made by upgrader release pack)")
    if not ARCHIVE_NAME.match(archive.name) or archive.name.startswith("index.json"):
        raise ReleaseError(f"{archive}: its name is listed as it is in index.json: use letters, digits and "
                           "._+~- only (rename it)")
    release = _checked_archive(archive)
    product, version = release["product"], release["version"]
    if min_from is not None and parse_version(min_from) > parse_version(version):
        raise ReleaseError(f"--min-from {min_from} is above the release's own version {version}")
    folder = _feed_folder(folder)
    with _feed_lock(folder):
        feed = _read_feed(folder, keyfile)
        document = feed.document or {"schema": 1, "product": product, "releases": []}
        if document["product"] != product:
            raise ReleaseError(f"{archive.name} is a package of {product}, but {feed.index_path} is the feed of "
                               f"{document['product']}; refused (another product's feed)")
        sha256, size = file_sha256(archive), archive.stat().st_size
        listed = next((entry for entry in document["releases"] if entry["version"] == version), None)
        if listed is not None:
            if listed["sha256"] == sha256:
                return Outcome(f"{product} {version} is already published in {folder} (the same sha256); "
                               "nothing changed")
            raise ReleaseError(f"{product} {version} is already published in {folder} with other bytes "
                               f"(sha256 {listed['sha256'][:12]}…, this one {sha256[:12]}…); a version is "
                               "published once: give the new build a new version")
        other = next((entry for entry in document["releases"] if entry["archive"] == archive.name), None)
        if other is not None:
            raise ReleaseError(f"{folder / archive.name} is already listed as release {other['version']}; refused")
        target = folder / archive.name
        staged: tuple[Path, Path] | None = None
        if os.path.lexists(target):
            if not target.is_file() or target.is_symlink() or file_sha256(target) != sha256:
                raise ReleaseError(f"{target} exists with other bytes; upgrader never writes a package over "
                                   "another (move it aside)")
        else:
            temporary = _copy_staged(archive, folder, sha256)
            try:
                _checked_archive(archive, temporary)  # the very bytes that are published
            except BaseException:
                temporary.unlink()
                raise
            staged = (temporary, target)
        entry: dict[str, Any] = {"version": version, "archive": archive.name, "sha256": sha256, "size": size,
                                 "released": released_at}
        entry.update({key: value for key, value in (("notes", notes), ("min_from", min_from), ("phase", phase))
                      if value is not None})
        document = _ordered({**document, "serial": int(document.get("serial", 0)) + 1,
                             "releases": _sorted_releases([*document["releases"], entry]),
                             **({"expires": expires} if expires is not None else {})})
        try:
            warnings = _write_feed(feed, document, staged)
        except BaseException:
            if staged is not None:
                staged[0].unlink(missing_ok=True)
            raise
    signed = "signed" if feed.key is not None else "unsigned"
    return Outcome(f"published {product} {version} in {folder} (serial {document['serial']}, {signed})",
                   warnings=tuple(warnings + _expiry_warnings(document, now)))


def _amend(folder: Path, keyfile: Path, version: str, change: Callable[[dict[str, Any]], str | None],
           what: str, expires_in: float | None, now: datetime | None) -> Outcome:
    """Change the entry of ``version`` in the feed of ``folder`` with ``change`` (which returns
    why nothing needs to change, or None), raise the serial, re-sign with ``keyfile``."""
    now = now or datetime.now(UTC)
    expires = _expires(expires_in, now)
    folder = _feed_folder(folder)
    with _feed_lock(folder):
        feed = _read_feed(folder, keyfile)
        if feed.document is None:
            raise ReleaseError(f"{folder}: no index.json (publish a release first)")
        document = json.loads(json.dumps(feed.document))  # a copy: the entry is changed in place
        entry = next((entry for entry in document["releases"] if entry["version"] == version), None)
        if entry is None:
            listed = ", ".join(entry["version"] for entry in document["releases"]) or "none"
            raise ReleaseError(f"{feed.index_path} lists no release {version} (it lists: {listed})")
        unchanged = change(entry)
        if unchanged is not None and expires is None:
            return Outcome(f"{document['product']} {version} {unchanged}; nothing changed")
        document = _ordered({**document, "serial": int(document.get("serial", 0)) + 1,
                             **({"expires": expires} if expires is not None else {})})
        warnings = _write_feed(feed, document)
    return Outcome(f"{document['product']} {version} {what} in {folder} (serial {document['serial']})",
                   warnings=tuple(warnings + _expiry_warnings(document, now)))


def phase(folder: Path, version: str, percent: int, keyfile: Path, *, expires_in: float | None = None,
          now: datetime | None = None) -> Outcome:
    """Set release ``version``'s ``phase`` (the share of servers that take it) to ``percent``
    and re-sign the feed; raises ``ReleaseError``. Nothing else of the entry changes."""
    _percent(percent)

    def change(entry: dict[str, Any]) -> str | None:
        if entry.get("phase", 100) == percent:
            return f"is at phase {percent} already"
        entry["phase"] = percent
        return None

    return _amend(folder, keyfile, version, change, f"now at phase {percent}%", expires_in, now)


def yank(folder: Path, version: str, keyfile: Path, *, reason: str | None = None, undo: bool = False,
         expires_in: float | None = None, now: datetime | None = None) -> Outcome:
    """Withdraw release ``version`` (its entry's ``yanked`` = ``reason``), or with ``undo`` take
    the withdrawal back; re-sign the feed. Raises ``ReleaseError``. Nothing else of the entry
    changes."""
    if undo == (reason is not None):
        raise ReleaseError("release yank: give --reason TEXT (why it is withdrawn), or --undo")
    if reason is not None and (not reason.strip() or not reason.isprintable() or len(reason) > 1024):
        raise ReleaseError("--reason: one line of at most 1024 characters, saying why the release is withdrawn")

    def change(entry: dict[str, Any]) -> str | None:
        if undo:
            if "yanked" not in entry:
                return "is not yanked"
            del entry["yanked"]
            return None
        if entry.get("yanked") == reason:
            return "is yanked with this reason already"
        entry["yanked"] = reason
        return None

    return _amend(folder, keyfile, version, change, "yank withdrawn" if undo else "yanked", expires_in, now)


def _public_key_argument(text: str) -> str:
    """``--public-key``: the base64 public key, or a file holding it."""
    from upgrader.errors import ConfigError
    from upgrader.feed import load_public_key

    try:
        load_public_key(text)
        return text.strip()
    except ConfigError:
        pass
    path = Path(text)
    if path.is_file():
        try:
            content = path.read_text(encoding="ascii")[:4096].strip()
            load_public_key(content)
            return content
        except (ConfigError, UnicodeDecodeError, OSError):
            raise ReleaseError(f"--public-key {text}: the file does not hold a base64 Ed25519 public key") from None
    raise ReleaseError("--public-key: not a base64 Ed25519 public key (what release keygen printed), "
                       "nor a file holding one")


def _feed_url(source: str) -> str:
    """The URL of the feed ``source`` names (a URL, or a folder)."""
    from urllib.parse import urlsplit

    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source):
        if urlsplit(source).scheme not in ("http", "https", "file"):
            raise ReleaseError(f"{source}: a feed is an https://, http:// or file:// URL, or a folder")
        return source if source.endswith("/") else source + "/"
    folder = Path(source).absolute()
    if not folder.is_dir():
        raise ReleaseError(f"{source}: no such folder (a feed is a URL or a folder)")
    return folder.as_uri() + "/"


def verify(source: str, public_key: str | None = None, *, now: datetime | None = None) -> Outcome:
    """Check the feed ``source`` (URL or folder) as every client would, with the client's code:
    the signature (with ``public_key``), the index (schema, freshness), then each release's
    archive (downloaded to a temporary folder: size, sha256, every entry, release.json's product
    and version, images/). One line per release; exit 1 when anything fails (a signature or an
    index that fails: no release is checked, as no client would go on). Raises ``ReleaseError``
    for a bad argument."""
    from upgrader.feed import INDEX_LIMIT, SIGNATURE_LIMIT, Feed, FeedError, check_fresh, parse_index, verify_signature

    key = _public_key_argument(public_key) if public_key is not None else None
    reader = Feed(_feed_url(source))
    url = reader.resolve("index.json")
    lines: list[str] = []

    def failed(line: str) -> Outcome:
        return Outcome(lines=(*lines, line), exit_code=EXIT_FAILED)

    try:
        raw = reader.fetch(url, INDEX_LIMIT)
    except FeedError as error:
        return failed(f"FAIL index.json: {error}")
    if key is None:
        lines.append("signature not checked (no --public-key): a client with a public_key checks it")
    else:
        try:
            verify_signature(raw, reader.fetch(url + ".sig", SIGNATURE_LIMIT), key, url)
        except FeedError as error:
            return failed(f"FAIL signature: {error}")
        lines.append(f"signature ok: {url}.sig verifies with the public key")
    try:
        index = parse_index(raw, url)
        check_fresh(index, None, url, now or datetime.now(UTC))
    except FeedError as error:
        return failed(f"FAIL index.json: {error}")
    serial = "no serial" if index.serial is None else f"serial {index.serial}"
    lines.append(f"index ok: product {index.product}, {serial}, {len(index.releases)} releases")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="upgrader-verify-") as scratch:
        for entry in index.releases:
            problem = _check_release(reader, entry, index.product, Path(scratch))
            if problem is not None:
                failures += 1
                lines.append(f"FAIL {entry['version']}: {problem}")
                continue
            notes = [f"{entry['size']} bytes", f"sha256 {entry['sha256'][:12]}…"]
            if "phase" in entry:
                notes.append(f"phase {entry['phase']}%")
            if "yanked" in entry:
                notes.append(f"yanked: {entry['yanked']}")
            lines.append(f"ok {entry['version']} {entry['archive']} ({', '.join(notes)})")
    return Outcome(lines=tuple(lines), exit_code=EXIT_FAILED if failures else EXIT_OK)


def _check_release(reader: Feed, entry: dict[str, Any], product: str, scratch: Path) -> str | None:
    """Why a client would refuse release ``entry`` of the feed ``reader`` reads, or None."""
    from upgrader.errors import ActionError
    from upgrader.feed import archive_scheme_problem
    from upgrader.package import check_images, members, read_release

    url = reader.resolve(entry["archive"])
    problem = archive_scheme_problem(reader.url, url)
    if problem is not None:
        return problem
    destination = scratch / f"{entry['version']}.tar.gz"
    try:
        reader.download(url, destination, size=entry["size"], sha256=entry["sha256"])
        found = members(destination)
        release = read_release(destination)
        if release["product"] != product:
            return f"release.json says product {release['product']}, the index {product}"
        if release["version"] != entry["version"]:
            return f"release.json says version {release['version']}, the index {entry['version']}"
        check_images(destination, found, release["images"])
    except ActionError as error:
        return str(error)
    finally:
        destination.unlink(missing_ok=True)
        destination.with_name(destination.name + ".part").unlink(missing_ok=True)
    return None
