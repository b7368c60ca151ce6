"""``action: verify``: the archive is the release the (signed) index describes, and it is sound.

Checks the archive's size and sha256 against the index entry, every entry of the tar (safe
names and types, the expansion cap), ``release.json`` (valid; product and version those of the
feed, and the product the project's: project.yaml ``product``, else the installed release's;
images listed), any ``images/*.tar`` (docker save archives of the listed images), and that the
disk has room to extract it. Hands ``release_images`` and ``offline_images`` to later steps.

Another product is not the release's fault (it may be a good release of that product): its step
fails without retries and the version is not quarantined.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.actions.download import release_entry
from upgrader.errors import ActionError
from upgrader.store import ProjectStore, make_dirs


@register("verify")
def verify(context: Context) -> None:
    from upgrader import package
    from upgrader.feed import file_sha256, pinned_product, product_refusal

    release = release_entry(context)
    if "archive" not in context.data:
        raise ActionError("nothing to verify: no archive was downloaded in this run", retryable=False)
    archive = Path(context.data["archive"])
    if not archive.is_file():
        raise ActionError(f"{archive}: the downloaded archive is gone", retryable=False)
    source = release.get("checksum_from") or "the index"
    size = archive.stat().st_size
    if size != release["size"]:
        raise package.PackageError(f"{archive.name}: {size} bytes, {source} says {release['size']}")
    digest = file_sha256(archive)
    if digest != release["sha256"]:
        raise package.PackageError(
            f"{archive.name}: sha256 is {digest}, {source} says {release['sha256']}")
    found = package.members(archive)
    manifest = package.read_release(archive)
    if manifest["version"] != context.to_version:
        raise package.PackageError(f"{archive.name}: release.json says version {manifest['version']}, "
                                   f"the feed says {context.to_version}")
    product = release.get("product")
    installed = ProjectStore(context.project.state_dir).read_installed()
    for pinned in ((str(product), "the feed's index") if product else None,
                   pinned_product(context.project, installed)):
        problem = product_refusal(f"{archive.name}: release.json", manifest["product"], pinned)
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
