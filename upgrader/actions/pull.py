"""``action: pull``: every image of ``release.json`` present locally, with its digest recorded.

Pulls in parallel (bounded), or loads ``images/*.tar`` from an offline package instead: each
tar is checked again right before it is loaded (``package.image_tags``: it may tag only images
of release.json, DESIGN §15), and the engine loads the very file that was checked. Used as
``prefetch`` in the ``upgrade`` workflow, where it runs while the old release still serves.
Hands ``images`` (reference → digest) to later steps and to installed.json.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError

PARALLEL_PULLS = 4


@register("pull")
def pull(context: Context) -> None:
    from upgrader.runtime import engine

    images: list[str] = context.data.get("release_images") or []
    if not images:
        raise ActionError("no images to pull: this run has no verified release", retryable=False)
    offline = set(context.data.get("offline_images") or [])
    release_dir = Path(context.data.get("release_dir")
                       or context.project.releases_dir / str(context.to_version))
    if offline:
        for archive in sorted((release_dir / "images").glob("*.tar")):
            context.journal("image_load", str(archive.name))
            _load_checked(archive, images)
    # After a prefetch the images are here already: a pull while the server is down would only
    # ask the registry again. Skip an image still at the digest this run recorded.
    recorded = context.data.get("images") or {}
    digests: dict[str, str] = {image: recorded[image] for image in images
                               if image not in offline and recorded.get(image)
                               and engine.digest(image) == recorded[image]}
    to_pull = [image for image in images if image not in offline and image not in digests]
    if to_pull:
        with ThreadPoolExecutor(max_workers=min(PARALLEL_PULLS, len(to_pull))) as pool:
            results = pool.map(lambda ref: (ref, engine.pull(ref, context.progress)), to_pull)
            digests.update(results)
    for image in offline:
        found = engine.digest(image)
        if found is None:
            raise ActionError(f"{image}: not present after loading the package's images/",
                              retryable=False, release_fault=True)
        digests[image] = found
    context.data["images"] = {image: digests[image] for image in images}


def _load_checked(archive: Path, images: Sequence[str]) -> None:
    """Load the docker save archive ``archive`` after checking, on the same open file, that it
    tags only ``images`` (release.json's); raises ``PackageError`` when it does not (nothing is
    loaded) or is not a regular file."""
    from upgrader import package
    from upgrader.runtime import engine

    try:
        descriptor = os.open(archive, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        raise package.PackageError(f"{archive}: cannot open it as a regular file ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise package.PackageError(f"{archive}: not a regular file")
        package.image_tags(stream, str(archive), images)
        stream.seek(0)
        engine.load(archive, stream)
