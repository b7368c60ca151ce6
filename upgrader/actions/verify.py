"""``action: verify``: the archive is the release the (signed) index describes, and it is sound.

Checks the archive's size (when the entry gives one) and its sha256 against the feed's entry —
or, for a listing feed's entry, which has none, its md5 (DESIGN §12); with neither, the journal
says that nothing vouches for the bytes — then every entry of the tar or zip (safe names and
types, the expansion cap), ``release.json`` (valid; product and version those of the feed, and
the product the project's: project.yaml ``product``, else the installed release's; images
listed), any ``images/*.tar`` (docker save archives of the listed images), and that the disk has
room to extract it. A zip without release.json (a vendor's whole server folder) stands for the
feed's version with no images, and its product is not checked: the journal says so. Hands
``sha256`` (of the archive: it names ``releases/<version>@<sha12>``), ``release_images`` and
``offline_images`` to later steps.

Another product is not the release's fault (it may be a good release of that product): its step
fails without retries and the version is not quarantined.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.actions.download import release_entry
from upgrader.errors import ActionError
from upgrader.store import ProjectStore, make_dirs


@register("verify")
def verify(context: Context) -> None:
    from upgrader import package
    from upgrader.feed import pinned_product, product_refusal

    release = release_entry(context)
    if "archive" not in context.data:
        raise ActionError("nothing to verify: no archive was downloaded in this run", retryable=False)
    archive = Path(context.data["archive"])
    if not archive.is_file():
        raise ActionError(f"{archive}: the downloaded archive is gone", retryable=False)
    source = release.get("checksum_from") or "the feed"
    size = archive.stat().st_size
    if release.get("size") is not None and size != release["size"]:
        raise package.PackageError(f"{archive.name}: {size} bytes, {source} says {release['size']}")
    digest, md5 = _digests(archive)
    if release.get("sha256"):
        if digest != release["sha256"]:
            raise package.PackageError(f"{archive.name}: sha256 is {digest}, {source} says {release['sha256']}")
    elif release.get("md5"):
        if md5 != release["md5"]:
            raise package.PackageError(f"{archive.name}: md5 is {md5}, {source} says {release['md5']}")
    else:
        vouched = ("only the crc32c the download checked (not a cryptographic digest)" if release.get("crc32c")
                   else "nothing")
        context.journal("unverified", {"warning": f"{archive.name}: the feed gives no sha256 or md5 for release "
                                       f"{context.to_version}; {vouched} vouches for its bytes"})
    context.data["sha256"] = digest
    found = package.members(archive)
    installed = ProjectStore(context.project.state_dir).read_installed()
    pinned = pinned_product(context.project, installed)
    manifest, described = package.read_manifest(archive, version=str(context.to_version),
                                                product=pinned[0] if pinned else None)
    if manifest["version"] != context.to_version:
        raise package.PackageError(f"{archive.name}: release.json says version {manifest['version']}, "
                                   f"the feed says {context.to_version}")
    product = release.get("product")
    if not described:
        context.journal("no_release_json", f"{archive.name} has no release.json: release {context.to_version} as "
                        "the feed names it, its product not checked, no images listed")
    for pinned_by in ((str(product), "the feed's index") if product else None, pinned) if described else ():
        problem = product_refusal(f"{archive.name}: release.json", manifest["product"], pinned_by)
        if problem:
            raise ActionError(problem, retryable=False)
    offline = package.check_images(archive, found, manifest["images"])
    make_dirs(context.project.releases_dir)
    needed = package.expanded_size(found)
    free = shutil.disk_usage(context.project.releases_dir).free
    if needed > free:
        raise ActionError(f"not enough disk space to extract {archive.name}: needs {needed} bytes, "
                          f"{free} free in {context.project.releases_dir}", retryable=False)
    context.data["release_images"] = manifest["images"]
    context.data["offline_images"] = offline


def _digests(archive: Path) -> tuple[str, str]:
    """(sha256, md5) of ``archive``, in one read."""
    sha256, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 - md5 is what a listing feed gives
    with open(archive, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()
