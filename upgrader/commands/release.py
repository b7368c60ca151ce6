"""``upgrader release keygen|pack``: the publisher's side of the feed (DESIGN §10).

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
a package ``pack`` makes is one a client accepts. Every refusal is one line, exit 2, and leaves
nothing behind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from upgrader.errors import UsageError

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


def _archive(folder: Path, entries: list[Path], release: bytes) -> bytes:
    """The package's bytes: the same for the same input, whenever and wherever it is made."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
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
    return buffer.getvalue()


def pack(folder: Path, version: str, *, product: str | None = None, out: Path | None = None,
         pin_digests: bool = False) -> Path:
    """Write ``<product>-<version>.tar.gz`` from ``folder`` into ``out`` (default: the current
    folder); returns its path. The same bytes there already: nothing is written."""
    from upgrader.package import PackageError, members, read_release

    folder = folder.absolute()
    if not folder.is_dir():
        raise ReleaseError(f"{folder}: not a folder")
    if not (folder / "compose.yaml").is_file():
        raise ReleaseError(f"{folder}: no compose.yaml (a release folder holds compose.yaml, defaults.env, "
                           "config/, hooks/)")
    entries = _walk(folder)
    images = _images(folder)
    if pin_digests:
        images = _pinned(images)
    release = _release_json(folder, version, product, images)
    name = json.loads(release)["product"]
    data = _archive(folder, entries, release)
    out = Path(out) if out is not None else Path.cwd()
    if not out.is_dir():
        raise ReleaseError(f"--out {out}: not a folder")
    target = out / f"{name}-{version}.tar.gz"
    if target.is_file() and target.read_bytes() == data:
        return target
    if os.path.lexists(target):
        raise ReleaseError(f"{target} exists with other bytes: upgrader never writes a package over "
                           "another (remove it, or give --out)")
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
