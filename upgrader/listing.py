"""A listing feed (DESIGN §12): a folder of archives and a plain list of their names.

``<url>/<listing>`` (``index.txt`` by default) holds one archive name a line, oldest first; blank
lines and ``#`` comments are ignored. Each name is matched against the feed's
``version_pattern``: its group ``version`` is the release's version, its optional group
``build`` (digits) tells builds of one version apart — the highest build wins. Names that do
not match are skipped (a debug line each), as are names that would leave the folder.

The listing states no checksum, size or date: the storage does, per object (a gs:// object's
metadata, a file's stat, an http(s) HEAD). Reading that for every line of a long listing would
cost a request each, so it is read in two phases: ``index()`` gives every release with only its
version, build, archive and URL (``Index.pending`` names them), and ``describe()`` reads the
storage's word for the few releases a plan may install — its target and the stops on the way
(see ``decide``). A listing has no product: nothing is bound to one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from upgrader.feed import INDEX_LIMIT, Feed, FeedError, Index
from upgrader.plan import parse_version
from upgrader.project import FeedSettings

logger = logging.getLogger(__name__)

NAME_LIMIT = 255
_UNSAFE = re.compile(r"[/\\?#%\x00-\x1f\x7f]")


def archive_name_problem(name: str) -> str | None:
    """Why ``name`` may not be an archive of the listing's folder (None: it may): it must be one
    plain file name there — no folder part, no ``?``, ``#`` or ``%`` that a URL would read
    otherwise, no control character, not hidden."""
    if len(name) > NAME_LIMIT:
        return f"longer than {NAME_LIMIT} characters"
    if name.startswith("."):
        return "starts with '.'"
    if _UNSAFE.search(name):
        return "holds '/', '\\', '?', '#', '%' or a control character"
    return None


def _build_key(build: str | None) -> tuple[int, str]:
    if build is None:
        return (-1, "")
    return (int(build), "") if build.isdigit() else (-1, build)


def parse_listing(raw: bytes, url: str, pattern: re.Pattern[str],
                  resolve: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The releases of the listing ``raw`` read from ``url``, and why lines were refused.

    Each release is ``{"version", "build" (when the pattern has it), "archive", "url"}``
    (``resolve(name)`` gives the URL), ordered by version; of two names of one version the
    higher build wins, and of the same build the later line. Raises a non-retryable
    ``FeedError`` for a listing that is not UTF-8 text.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedError(f"{url}: not UTF-8 text (byte {error.start})", retryable=False) from None
    chosen: dict[str, dict[str, Any]] = {}
    refused: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        match = pattern.search(name)
        if match is None or match.group("version") is None:
            logger.debug("%s line %d: %r does not match version_pattern; skipped", url, number, name[:200])
            continue
        problem = archive_name_problem(name)
        if problem is not None:
            refused.append(f"{url} line {number}: {name[:200]!r} is not offered: the name {problem}")
            logger.warning("%s", refused[-1])
            continue
        version = match.group("version")
        try:
            parse_version(version)
        except ValueError:
            logger.debug("%s line %d: %r is not a semantic version; skipped", url, number, version[:100])
            continue
        build = match.groupdict().get("build")
        entry: dict[str, Any] = {"version": version, "archive": name, "url": resolve(name)}
        if build is not None:
            entry["build"] = build
        known = chosen.get(version)
        if known is None or _build_key(build) >= _build_key(known.get("build")):
            chosen[version] = entry
    return sorted(chosen.values(), key=lambda entry: parse_version(entry["version"])), refused


class ListingFeed(Feed):
    """The client of a listing feed (``feed: {kind: listing, ...}``)."""

    kind = "listing"

    def __init__(self, settings: FeedSettings, **options: Any) -> None:
        super().__init__(settings.url, **options)
        self.settings = settings
        self.pattern = re.compile(settings.version_pattern)

    def archive_url(self, name: str) -> str:
        """The URL of the archive ``name`` in the listing's folder (a gs:// object name is taken as
        written; an http(s) or file:// URL has it percent-encoded)."""
        return self.resolve(name if urlsplit(self.url).scheme == "gs" else quote(name))

    def index(self) -> Index:
        """The listing, read (at most 16 MiB, retrying transient failures) and parsed; every
        release is ``pending`` until ``describe`` reads its storage metadata. Raises
        ``FeedError``."""
        url = self.archive_url(self.settings.listing)
        raw = self._retrying(url, lambda: self.fetch(url, INDEX_LIMIT))
        releases, refused = parse_listing(raw, url, self.pattern, self.archive_url)
        logger.debug("%s: %d releases", url, len(releases))
        return Index(url=url, product="", releases=tuple(releases), raw=raw, refused=tuple(refused),
                     kind=self.kind, pending=frozenset(entry["version"] for entry in releases))

    def describe(self, index: Index, versions: Collection[str]) -> Index:
        """``index`` with what the storage says (size, md5, crc32c, time) of each of ``versions``
        still pending; one metadata request each. Raises ``FeedError``."""
        wanted = set(versions) & index.pending
        if not wanted:
            return index
        releases = []
        for entry in index.releases:
            if entry["version"] in wanted:
                entry = {**entry, **self.stat(entry["url"])}
            releases.append(entry)
        return replace(index, releases=tuple(releases), pending=index.pending - wanted)
