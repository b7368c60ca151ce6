"""``action: download``: fetch the release archive into ``downloads/``, resumably.

Streams to ``downloads/<project>/<version>/<archive>.part`` (mode 0600) with the sha256 computed
as bytes arrive, continues an interrupted download with an HTTP Range request, checks the size
and checksum of the (signed) index, and renames the file when complete. An archive already there
with the right sha256 is not fetched again. The archive's URL keeps the feed's scheme (http(s) for
an http(s) feed, file:// for a file:// feed); an offline package (``run --package``) is read from
its file. A listing's release (DESIGN §12) states no sha256: its md5 (or crc32c) and size from
the storage are checked instead, where the storage gives them. Hands ``archive`` (its path) and
``sha256`` (of the bytes downloaded, always) to later steps.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError
from upgrader.store import make_dirs

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")


def archive_name(url: str, version: str) -> str:
    """The file name under ``downloads/``: the URL's own, when it is a plain safe name."""
    name = unquote(Path(urlsplit(url).path).name)
    if _SAFE_NAME.match(name) and not name.endswith(".part"):
        return name
    return f"release-{version}.tar.gz"


def release_entry(context: Context) -> dict[str, object]:
    release = context.run.get("release")
    if not release or not context.to_version:
        raise ActionError("this run has no target release: the download, verify and extract actions "
                          "need a feed or --package", retryable=False)
    entry: dict[str, object] = release
    return entry


@register("download")
def download(context: Context) -> None:
    from upgrader.feed import Feed, feed_for

    release = release_entry(context)
    url = str(release["url"])
    version = str(release["version"])
    offline = bool(release.get("offline")) or not context.project.config.get("feed")
    client = Feed("file:///") if offline else feed_for(context.project)
    folder = context.project.downloads_dir / version
    make_dirs(folder)
    destination = folder / archive_name(url, version)
    size = int(str(release["size"])) if release.get("size") is not None else None
    context.journal("download", {"url": url, "bytes": size, "to": str(destination)})
    # An index entry states its sha256; a listing's (DESIGN §12) only what the storage says of
    # the object (md5, crc32c, size), when it says anything.
    source = release.get("checksum_from") or ("the index" if "sha256" in release else "the storage's metadata")
    downloaded = client.fetch_archive(
        url, destination, size=size,
        sha256=_text(release.get("sha256")), md5=_text(release.get("md5")), crc32c=_text(release.get("crc32c")),
        progress=lambda done, total: context.progress({"bytes": done, "total": total}),
        source=str(source),
    )
    context.data["archive"] = str(destination)
    context.data["sha256"] = downloaded.sha256


def _text(value: object) -> str | None:
    return None if value is None else str(value)
