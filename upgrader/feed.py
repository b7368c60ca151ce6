"""The release feed (DESIGN §3): its index, its signature, and the archives it lists.

Talks HTTP(S) with ``requests`` (proxies from ``HTTP(S)_PROXY``/``NO_PROXY``, TLS verified,
optionally against the project's CA bundle) or reads ``file://`` mirrors; requests is imported
only when HTTP is spoken, so that a cron run reading a ``file://`` feed stays light. The bearer token is
sent only to the feed's own origin and never appears in a message, a log or the journal.

What the feed sends is untrusted until verified (DESIGN §3, §15): index.json is read up to 16 MiB
and its signature up to 1 KiB; an archive's URL keeps the feed's scheme (http(s) for an http(s)
feed, file:// for a file:// one); a ``file://`` path is opened only when it is a regular file;
an index is refused when its ``product`` is not the project's, when its ``serial`` is below one
the project accepted (a replay), or when it has ``expires``d.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import socket
import stat
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import unquote, urljoin, urlsplit

from upgrader.errors import ActionError, ConfigError
from upgrader.project import Project, feed_settings
from upgrader.runtime import process
from upgrader.validation import check

if TYPE_CHECKING:  # imported where HTTP is spoken: a run reading a file:// feed never needs them
    import requests

    from upgrader.gcs import ServiceAccount

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT = (10, 60)  # connect, read (seconds between bytes)
TOKEN_ENV = process.TOKEN_VARIABLE
INDEX_ATTEMPTS = 4
INDEX_LIMIT = 16 << 20  # bytes of index.json read at most, before its signature is checked
SIGNATURE_LIMIT = 1 << 10  # bytes of index.json.sig
METADATA_LIMIT = 1 << 20  # bytes of a gs:// object's metadata
MISMATCH_PAUSE = 1.0  # seconds before index.json and its signature are read again when they disagree
DOWNLOAD_MODE = 0o600
_T = TypeVar("_T")


class FeedError(ActionError):
    """The feed could not be read; ``retryable`` says whether trying later may help.

    ``cause`` is what went wrong and ``fix`` (may be empty) what the operator can do about it;
    the message is both, ``cause — fix``, so that a one-line error names them together while
    ``doctor`` shows them apart. ``not_found`` says the file is not there (HTTP 404, or no such
    file under a ``file://`` feed); ``mismatch`` that a signature (base64, of the right key) does
    not verify the index it was fetched with.
    """

    def __init__(self, cause: str, *, retryable: bool = True, release_fault: bool = False, fix: str = "",
                 not_found: bool = False, mismatch: bool = False) -> None:
        super().__init__(f"{cause} — {fix}" if fix else cause, retryable=retryable, release_fault=release_fault)
        self.cause = cause
        self.fix = fix
        self.not_found = not_found
        self.mismatch = mismatch


@dataclass(frozen=True)
class Index:
    """A validated (and, with a key, verified) index.json."""

    url: str
    product: str
    releases: tuple[dict[str, Any], ...]
    raw: bytes
    serial: int | None = None
    expires: datetime | None = None
    refused: tuple[str, ...] = ()
    """Why listed releases are not offered (an archive URL of another scheme), one line each."""
    kind: str = "index"
    """``index`` (an index.json: it names its product) or ``listing`` (a list of names: none)."""
    pending: frozenset[str] = frozenset()
    """The versions whose storage metadata (size, checksums, time) is not read yet (a listing's:
    see ``Feed.describe``)."""

    def release(self, version: str) -> dict[str, Any] | None:
        return next((entry for entry in self.releases if entry["version"] == version), None)


def _status_error(url: str, response: requests.Response, *, credentials: str,
                  token_hint: str = f"{TOKEN_ENV}_<NAME>") -> FeedError:
    """The ``FeedError`` of an HTTP error status. ``credentials`` says what the request carried:
    ``"sent"`` (the feed token), ``"withheld"`` (a token is configured, but ``url`` is not on the
    feed's origin, where alone it is sent) or ``"none"`` (no token is configured): a 401 or 403
    means something else to the operator in each case."""
    code = response.status_code
    configure = f"put it in a file named by token_file in project.yaml (mode 0600), or in {token_hint}"
    if code in (401, 403) and credentials == "none":
        what = "401 Unauthorized" if code == 401 else "403 Forbidden"
        return FeedError(f"{url}: {what}: the feed needs a token and none is configured", fix=configure,
                         retryable=False)
    if code in (401, 403) and credentials == "withheld":
        what = "401 Unauthorized" if code == 401 else "403 Forbidden"
        return FeedError(f"{url}: {what}: this server asks for credentials, but the feed token is sent only to "
                         "the feed's own host", fix="have the publisher serve it from the feed's host, or "
                         "without credentials", retryable=False)
    if code == 401:
        return FeedError(f"{url}: 401 Unauthorized: the feed refused the token "
                         f"(check token_file or {token_hint})", retryable=False)
    if code == 403:
        return FeedError(f"{url}: 403 Forbidden: the token is not allowed to read this feed",
                         retryable=False)
    if code == 404:
        return FeedError(f"{url}: 404 Not Found: no such feed or file", retryable=False, not_found=True)
    retryable = code >= 500 or code in (408, 429)
    error = FeedError(f"{url}: HTTP {code} {response.reason}", retryable=retryable)
    error.retry_after = _retry_after(response) if code in (429, 503) else None  # type: ignore[attr-defined]
    return error


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 300.0) if value.isdigit() else None


def _redact(text: str, token: str | None) -> str:
    if not token:
        return text
    return text.replace(token, "***").replace(repr(token)[1:-1], "***")


def _too_large(url: str, limit: int) -> FeedError:
    size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
    return FeedError(f"{url}: larger than {size} ({limit} bytes), the most upgrader reads of it; "
                     "refused before verification", retryable=False)


def archive_scheme_problem(feed_url: str, url: str) -> str | None:
    """Why ``url`` may not be an archive of the feed at ``feed_url`` (None: it may): an archive
    keeps the feed's scheme — http or https for an http(s) feed, file for a file:// feed, gs for
    a gs:// one."""
    feed_scheme, scheme = urlsplit(feed_url).scheme, urlsplit(url).scheme
    allowed = (feed_scheme,) if feed_scheme in ("file", "gs") else ("http", "https")
    if scheme in allowed:
        return None
    return (f"{url}: an archive of the {feed_scheme}:// feed {feed_url} must be a "
            f"{' or '.join(name + '://' for name in allowed)} URL; refused")


@dataclass(frozen=True)
class Downloaded:
    """An archive ``Feed.fetch_archive`` put in place, and the sha256 of its bytes."""

    path: Path
    sha256: str


class Feed:
    """One project's feed client: an index feed (DESIGN §3); ``listing.ListingFeed`` is the other
    kind. It reads ``file://``, ``http(s)://`` and — with a ``service_account``, or anonymously —
    ``gs://`` URLs (through the Cloud Storage JSON API, ``upgrader.gcs``)."""

    kind = "index"

    def __init__(self, url: str, *, token: str | None = None, ca_bundle: str | None = None,
                 public_key: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 token_hint: str = f"{TOKEN_ENV}_<NAME>", service_account: ServiceAccount | None = None) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._token = token
        self._token_hint = token_hint
        self._public_key = public_key
        self._sleep = sleep
        self._ca_bundle = ca_bundle
        self._service_account = service_account

    def _secret(self) -> str | None:
        """What must never be shown: the feed token, or the storage token in memory."""
        return self._token or (self._service_account.token if self._service_account else None)

    @cached_property
    def session(self) -> requests.Session:
        """The HTTP session, made on first use: reading a ``file://`` feed never imports requests."""
        import requests

        session = requests.Session()
        session.verify = self._ca_bundle if self._ca_bundle else True
        session.headers["User-Agent"] = "upgrader"
        return session

    # -- plumbing -----------------------------------------------------------------------------

    def resolve(self, reference: str) -> str:
        """An archive's URL: ``reference`` relative to the feed, or absolute."""
        if urlsplit(self.url).scheme == "gs":  # urljoin knows no gs://: a name under the folder, or a URL
            return reference if "://" in reference else self.url + reference.lstrip("/")
        return urljoin(self.url, reference)

    def _headers(self, url: str, extra: dict[str, str] | None = None, *, renew: bool = False) -> dict[str, str]:
        """The headers of a request for ``url``: ``extra``, and the credentials this feed sends
        there — its token to its own origin, the service account's token to its gs:// objects."""
        headers = dict(extra or {})
        if urlsplit(url).scheme == "gs":
            if self._service_account is not None:
                headers["Authorization"] = self._service_account.authorization(self.session, renew=renew)
        elif self._token and _origin(url) == _origin(self.url):
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    @contextmanager
    def _open(self, url: str, offset: int = 0) -> Iterator[tuple[IO[bytes] | requests.Response, int, bool]]:
        """Open ``url`` from byte ``offset``: yields (stream, status, resumed).

        A ``file://`` path that is not a regular file (a FIFO, a device, a folder) is refused
        before it is opened; a ``gs://`` object is read through the JSON API (``?alt=media``)."""
        if urlsplit(url).scheme == "file":
            stream = _open_regular(url, _file_path(url))
            with stream:
                stream.seek(offset)
                yield stream, 206 if offset else 200, bool(offset)
            return
        request_url = self._request_url(url, media=True)
        response, headers = self._request("GET", url, request_url, {"Range": f"bytes={offset}-"} if offset else {})
        with response:
            if response.status_code == 416 and offset:
                yield response, 416, False
                return
            if response.status_code >= 400:
                raise self._refusal(url, response, headers)
            yield response, response.status_code, response.status_code == 206

    def _request_url(self, url: str, *, media: bool) -> str:
        """The http(s) URL that serves ``url``: itself, or a gs:// object's JSON API address
        (its bytes with ``media``, else its metadata)."""
        scheme = urlsplit(url).scheme
        if scheme == "gs":
            from upgrader.gcs import Location

            location = Location.of(url)
            return location.media_url() if media else location.metadata_url()
        if scheme not in ("http", "https"):
            raise FeedError(f"{url}: only https://, http://, file:// and gs:// are supported", retryable=False)
        return url

    def _request(self, method: str, url: str, request_url: str,
                 extra: dict[str, str]) -> tuple[requests.Response, dict[str, str]]:
        """Send ``method`` to ``request_url`` (which serves ``url``), streaming; gives the response
        (any status) and the headers sent. A gs:// request carries the service account's token,
        and is sent once more with a new token when the storage answers 401 (an expired or revoked
        one). Raises ``FeedError`` when no answer comes."""
        import requests

        for attempt in (1, 2):
            headers = self._headers(url, extra, renew=attempt == 2)
            try:
                send = self.session.head if method == "HEAD" else self.session.get
                response = send(request_url, headers=headers, stream=True, timeout=TIMEOUT, allow_redirects=True)
            except requests.exceptions.SSLError as error:
                raise FeedError(f"{url}: TLS verification failed ({_short(error, self._secret())}); "
                                "set ca_bundle in project.yaml for a private CA", retryable=False) from None
            except requests.exceptions.ProxyError as error:
                raise FeedError(f"{url}: the proxy failed: {_short(error, self._secret())}") from None
            except requests.exceptions.ConnectionError as error:
                proxy = "HTTPS_PROXY" if urlsplit(request_url).scheme == "https" else "HTTP_PROXY"
                raise FeedError(f"cannot connect to {url}: {_connection_cause(error, request_url, self._secret())}",
                                fix=f"is the feed's address right, and does this host need a proxy ({proxy})?"
                                ) from None
            except requests.exceptions.Timeout:
                raise FeedError(f"{url}: the server accepted the connection but sent no answer within "
                                f"{TIMEOUT[1]} seconds") from None
            except requests.exceptions.RequestException as error:
                raise FeedError(f"{url}: {_short(error, self._secret())}") from None
            if response.status_code == 401 and attempt == 1 and "Authorization" in headers \
                    and self._service_account is not None:
                response.close()
                logger.info("%s: the storage refused the token; asking for a new one", url)
                continue
            return response, headers
        raise AssertionError("unreachable")  # pragma: no cover

    def _refusal(self, url: str, response: requests.Response, headers: dict[str, str]) -> FeedError:
        """The ``FeedError`` of an error status answered for ``url``."""
        if urlsplit(url).scheme == "gs" and response.status_code in (401, 403):
            from upgrader.gcs import Location

            if self._service_account is not None:
                return cast(FeedError, self._service_account.refused(url, Location.of(url), response.status_code))
            return FeedError(f"{url}: {response.status_code} {response.reason}: the bucket is not public and no "
                             "service-account key is configured", retryable=False,
                             fix="set feed.credentials in project.yaml to the key file the vendor gave")
        credentials = "none" if not self._token else "sent" if "Authorization" in headers else "withheld"
        return _status_error(url, response, credentials=credentials, token_hint=self._token_hint)

    def fetch(self, url: str, limit: int = INDEX_LIMIT) -> bytes:
        """The whole body at ``url`` (a small file: the index or its signature), read as it
        arrives and never more than ``limit`` + 1 bytes of it; raises a non-retryable
        ``FeedError`` naming the limit when there is more."""
        with self._open(url) as (stream, _status, _resumed):
            if urlsplit(url).scheme == "file":
                data = cast(IO[bytes], stream).read(limit + 1)
                if len(data) > limit:
                    raise _too_large(url, limit)
                return data
            import requests

            assert isinstance(stream, requests.Response)  # noqa: S101 - for mypy: not a file:// URL
            declared = stream.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(url, limit)
            body = bytearray()
            try:
                while chunk := _read_some(stream, min(CHUNK, limit + 1 - len(body))):
                    body += chunk
                    if len(body) > limit:
                        raise _too_large(url, limit)
            except requests.exceptions.RequestException as error:
                raise FeedError(f"{url}: {_short(error, self._secret())}") from None
            return bytes(body)

    # -- the index ----------------------------------------------------------------------------

    def index(self) -> Index:
        """Fetch, verify and validate ``index.json``, retrying transient failures.

        The releases whose archive URL leaves the feed's scheme are not offered: each is logged
        as a warning and named in ``Index.refused``. Raises ``FeedError``.
        """
        url = self.resolve("index.json")

        raw = self._retrying(url, lambda: self.fetch(url, INDEX_LIMIT))
        if self._public_key:
            raw = self._verified(url, raw, self._public_key)
        index = parse_index(raw, url)
        offered, refused = [], []
        for entry in index.releases:
            problem = archive_scheme_problem(self.url, self.resolve(entry["archive"]))
            if problem is None:
                offered.append(entry)
            else:
                refused.append(f"release {entry['version']} is not offered: {problem}")
                logger.warning("%s", refused[-1])
        return replace(index, releases=tuple(offered), refused=tuple(refused)) if refused else index

    def describe(self, index: Index, versions: Collection[str]) -> Index:
        """``index`` with the storage's metadata of ``versions`` read, where it is not yet (see
        ``Index.pending``): an index.json states everything, so this gives ``index`` itself."""
        return index

    def _verified(self, url: str, raw: bytes, public_key: str) -> bytes:
        """The bytes of index.json at ``url`` once its signature verifies with ``public_key``:
        ``raw``, or — when the signature fetched for them does not verify — both files read again
        once after ``MISMATCH_PAUSE`` seconds (a publisher writes the index, then its signature:
        a client that reads between the two sees a pair that does not match).

        Raises ``FeedError``: retryable when the pair read again still does not match (a publish
        in progress, or an index altered: either way nothing is downloaded, and the next run tries
        again), not retryable for a signature that is missing or not base64; ``ConfigError`` for
        a ``public_key`` that is not a key."""
        signature = _signature(lambda: self._retrying(url, lambda: self.fetch(url + ".sig", SIGNATURE_LIMIT)), url)
        try:
            verify_signature(raw, signature, public_key, url)
            return raw
        except FeedError as error:
            logger.info("%s; reading index.json and its signature again in %g s", error, MISMATCH_PAUSE)
        self._sleep(MISMATCH_PAUSE)
        raw = self._retrying(url, lambda: self.fetch(url, INDEX_LIMIT))
        signature = _signature(lambda: self._retrying(url, lambda: self.fetch(url + ".sig", SIGNATURE_LIMIT)), url)
        try:
            verify_signature(raw, signature, public_key, url)
        except FeedError as error:
            if not error.mismatch:
                raise
            raise FeedError(f"{url}.sig: the signature does not verify with the project's public_key: index.json "
                            "and index.json.sig do not match (a publish in progress, or the index was altered); "
                            "nothing is downloaded, the next run tries again", retryable=True, mismatch=True) from None
        return raw

    def _retrying(self, url: str, attempt: Callable[[], _T]) -> _T:
        """``attempt()``, tried up to ``INDEX_ATTEMPTS`` times while it raises a retryable
        ``FeedError``: waiting what the server asked (``Retry-After``), else 0.5 s doubling up to 8 s,
        and logging each retry; the last error is raised."""
        number = 1
        while True:
            try:
                return attempt()
            except FeedError as error:
                if not error.retryable or number >= INDEX_ATTEMPTS:
                    raise
                hinted = getattr(error, "retry_after", None)
                delay = float(hinted) if hinted is not None else min(0.5 * 2 ** (number - 1), 8.0)
                logger.info("retrying %s: %s", url, error)
                self._sleep(delay)
                number += 1

    # -- archives -----------------------------------------------------------------------------

    def download(self, url: str, destination: Path, *, size: int, sha256: str,
                 progress: Callable[[int, int], None] | None = None, source: str = "the index") -> Path:
        """``fetch_archive`` of an index entry (its size and sha256 known): the archive's path."""
        return self.fetch_archive(url, destination, size=size, sha256=sha256, progress=progress, source=source).path

    def fetch_archive(self, url: str, destination: Path, *, size: int | None = None, sha256: str | None = None,
                      md5: str | None = None, crc32c: str | None = None,
                      progress: Callable[[int, int], None] | None = None, source: str = "the index") -> Downloaded:
        """Download ``url`` to ``destination``, resuming ``destination.part``; check what is known
        of it — its size, and its sha256, md5 or crc32c (see ``Checks``) — as the bytes arrive.

        An archive already at ``destination`` whose known checksums match is not fetched again;
        what is written is mode 0600. Gives its path and sha256. Raises ``FeedError`` (retryable
        for a broken transfer; not for a wrong size or checksum, nor for a URL that leaves the
        feed's scheme).
        """
        problem = archive_scheme_problem(self.url, url)
        if problem is not None:
            raise FeedError(problem, retryable=False)
        checks = Checks(sha256=sha256, md5=md5, crc32c=crc32c)
        if checks.expected and destination.is_file():
            held = checks.fresh()
            _hash_file(destination, held)
            if held.mismatch() is None and (size is None or destination.stat().st_size == size):
                return Downloaded(destination, held.sha256_hex())
        part = destination.with_name(destination.name + ".part")
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            part.unlink()
            offset = 0
        if offset:
            _hash_file(part, checks)
        if size is None or offset < size:
            try:
                offset = self._transfer(url, part, offset, size, checks, progress)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                # Give the space back at once: the run must still record that it failed, and a
                # retry would fill the disk again (its partial download is worth less than that).
                part.unlink(missing_ok=True)
                free = shutil.disk_usage(part.parent).free
                raise FeedError(f"{part.parent}: No space left on device while downloading {url} "
                                f"({size if size is not None else 'unknown'} bytes, {free} free once the partial "
                                "download was removed)", retryable=False) from None
        elif progress:
            progress(offset, size)
        if size is not None and offset != size:
            raise FeedError(f"{url}: got {offset} bytes, {source} says {size}")
        wrong = checks.mismatch()
        if wrong is not None:
            name, expected, actual = wrong
            part.unlink()
            raise FeedError(f"{url}: {name} mismatch: {source} says {expected}, the archive is {actual}",
                            retryable=False, release_fault=True)
        if not part.exists():  # an empty archive: nothing was written
            part.touch(mode=DOWNLOAD_MODE)
        os.replace(part, destination)
        return Downloaded(destination, checks.sha256_hex())

    def _transfer(self, url: str, part: Path, offset: int, size: int | None, checks: Checks,
                  progress: Callable[[int, int], None] | None) -> int:
        with self._open(url, offset) as (stream, status, resumed):
            if status == 416:
                if size is not None and offset < size:
                    raise FeedError(f"{url}: the server has only {offset} bytes, the index says {size}",
                                    retryable=False, release_fault=True)
                return offset  # the server has nothing past what we hold
            if not resumed and offset:
                logger.info("%s: server ignored the range request; fetching from the start", url)
                offset = 0
                checks.reset()
            flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if offset else os.O_TRUNC)
            fd = os.open(part, flags, DOWNLOAD_MODE)
            os.fchmod(fd, DOWNLOAD_MODE)  # a .part an older upgrader left may be 0644
            with os.fdopen(fd, "ab" if offset else "wb") as output:
                import requests

                try:
                    chunks = (_arrived(stream) if isinstance(stream, requests.Response)
                              else iter(lambda: stream.read(CHUNK), b""))
                    for chunk in chunks:
                        if size is not None and offset + len(chunk) > size:
                            raise FeedError(f"{url}: the archive is larger than the index's {size} bytes",
                                            retryable=False, release_fault=True)
                        output.write(chunk)
                        checks.update(chunk)
                        offset += len(chunk)
                        if progress:
                            progress(offset, size if size is not None else 0)
                except requests.exceptions.RequestException as error:
                    raise FeedError(f"{url}: transfer broke off at byte {offset}: "
                                    f"{_short(error, self._secret())}") from None
                finally:
                    output.flush()
                    os.fsync(output.fileno())
        return offset

    # -- what the storage says of a file ---------------------------------------------------------

    def stat(self, url: str) -> dict[str, Any]:
        """What the storage says of the file at ``url`` without reading it, as release-entry keys:
        ``size`` (bytes), ``md5`` and ``crc32c`` (lower-case hex), ``released`` (ISO 8601, Z),
        each only when known. A gs:// object: its metadata (size, md5Hash, crc32c, timeCreated);
        a file:// path: its size and mtime; an http(s) URL: HEAD's Content-Length and
        Last-Modified. Retries transient failures; raises ``FeedError``."""
        scheme = urlsplit(url).scheme
        if scheme == "file":
            path = _file_path(url)
            try:
                found = os.stat(path)
            except FileNotFoundError:
                raise FeedError(f"{url}: no such file", retryable=False, not_found=True) from None
            except OSError as error:
                raise FeedError(f"{url}: cannot read: {error.strerror}", retryable=False) from None
            if not stat.S_ISREG(found.st_mode):
                raise FeedError(f"{url}: not a regular file (a FIFO, device or folder is not read)", retryable=False)
            return {"size": found.st_size, "released": _iso(datetime.fromtimestamp(found.st_mtime, UTC))}
        if scheme == "gs":
            return self._retrying(url, lambda: _object_metadata(url, self._metadata_document(url)))
        return self._retrying(url, lambda: self._head(url))

    def _metadata_document(self, url: str) -> Any:
        """The JSON document of a gs:// object's metadata (at most 1 MiB)."""
        request_url = self._request_url(url, media=False)
        response, headers = self._request("GET", url, request_url, {})
        with response:
            if response.status_code >= 400:
                raise self._refusal(url, response, headers)
            body = bytearray()
            import requests

            try:
                while chunk := _read_some(response, min(CHUNK, METADATA_LIMIT + 1 - len(body))):
                    body += chunk
                    if len(body) > METADATA_LIMIT:
                        raise _too_large(url + " (its metadata)", METADATA_LIMIT)
            except requests.exceptions.RequestException as error:
                raise FeedError(f"{url}: {_short(error, self._secret())}") from None
        try:
            return json.loads(bytes(body))
        except ValueError:
            raise FeedError(f"{url}: the storage's metadata is not JSON") from None

    def _head(self, url: str) -> dict[str, Any]:
        response, headers = self._request("HEAD", url, url, {})
        with response:
            if response.status_code in (405, 501):  # a server without HEAD: nothing is known in advance
                return {}
            if response.status_code >= 400:
                raise self._refusal(url, response, headers)
            found: dict[str, Any] = {}
            length = response.headers.get("Content-Length", "")
            if length.isdigit():
                found["size"] = int(length)
            modified = response.headers.get("Last-Modified")
            if modified:
                from email.utils import parsedate_to_datetime

                try:
                    found["released"] = _iso(parsedate_to_datetime(modified))
                except (TypeError, ValueError):
                    logger.debug("%s: Last-Modified %r is not a date", url, modified)
            return found


class Checks:
    """The digests of an archive computed as its bytes arrive, and the ones it must have.

    sha256 is always computed (later steps name the release by it) and checked when the entry
    states one; md5 is checked when stated; crc32c only when no md5 is (Cloud Storage gives
    composite objects no md5Hash) and the ``google-crc32c`` package is importable — without it
    the check is skipped, and a debug line says so."""

    def __init__(self, *, sha256: str | None = None, md5: str | None = None, crc32c: str | None = None) -> None:
        self.expected: dict[str, str] = {}
        self._stated = {"sha256": sha256, "md5": md5, "crc32c": crc32c}
        if sha256:
            self.expected["sha256"] = sha256.lower()
        if md5:
            self.expected["md5"] = md5.lower()
        elif crc32c:
            try:
                import google_crc32c  # noqa: F401 - only whether it is there
            except ImportError:
                logger.debug("google-crc32c is not installed: the crc32c %s is not checked", crc32c)
            else:
                self.expected["crc32c"] = crc32c.lower()
        self.reset()

    def fresh(self) -> Checks:
        return Checks(**self._stated)

    def reset(self) -> None:
        """Start again from the first byte."""
        self._digests: dict[str, Any] = {"sha256": hashlib.sha256()}
        if "md5" in self.expected:
            self._digests["md5"] = hashlib.md5(usedforsecurity=False)
        if "crc32c" in self.expected:
            import google_crc32c

            self._digests["crc32c"] = google_crc32c.Checksum()  # type: ignore[no-untyped-call]

    def update(self, chunk: bytes) -> None:
        for digest in self._digests.values():
            digest.update(chunk)

    def sha256_hex(self) -> str:
        return str(self._digests["sha256"].hexdigest())

    def mismatch(self) -> tuple[str, str, str] | None:
        """(name, expected, actual) of the first checksum that does not match; None when all do."""
        for name, expected in self.expected.items():
            actual = self._digests[name].digest().hex()
            if actual != expected:
                return name, expected, actual
        return None


def _hash_file(path: Path, checks: Checks) -> None:
    with open(path, "rb") as existing:
        for chunk in iter(lambda: existing.read(CHUNK), b""):
            checks.update(chunk)


def _iso(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC, to the second, with a Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _object_metadata(url: str, document: Any) -> dict[str, Any]:
    """The release-entry keys of a Cloud Storage object resource: ``size`` (an int from its
    string), ``md5`` (md5Hash, base64, as hex), ``crc32c`` (base64 of 4 big-endian bytes, as 8 hex
    digits), ``released`` (timeCreated). Raises a non-retryable ``FeedError`` for a resource that
    is not one."""
    if not isinstance(document, dict):
        raise FeedError(f"{url}: the storage's metadata is not an object resource", retryable=False)
    found: dict[str, Any] = {}
    size = document.get("size")
    if isinstance(size, (str, int)) and str(size).isdigit():
        found["size"] = int(size)
    for key, name, length in (("md5Hash", "md5", 16), ("crc32c", "crc32c", 4)):
        value = document.get(key)
        if not value:
            continue
        try:
            raw = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != length:
            raise FeedError(f"{url}: the storage's {key} {str(value)[:40]!r} is not base64 of {length} bytes",
                            retryable=False)
        found[name] = raw.hex()
    created = document.get("timeCreated")
    if isinstance(created, str):
        try:
            found["released"] = _iso(_time(url, "timeCreated", created))
        except FeedError:
            logger.debug("%s: timeCreated %r is not a date", url, created)
    return found


def describe_failure(error: BaseException, url: str) -> str:
    """Why a request to ``url`` got no answer, as a short phrase (see ``_connection_cause``),
    from ``error`` or the ``requests`` error it wraps (google-auth's ``TransportError``)."""
    import requests

    found: BaseException | None = error
    while found is not None and not isinstance(found, requests.exceptions.RequestException):
        found = found.__cause__ or found.__context__
    if isinstance(found, requests.exceptions.ConnectionError):
        return _connection_cause(found, url, None)
    return _short(found or error, None)


def _signature(fetch: Callable[[], bytes], url: str) -> bytes:
    """The bytes of ``url``'s signature, as ``fetch`` reads them; a signature that is not there
    raises a ``FeedError`` saying so (not the generic "no such feed or file", whose fix — the feed's
    address, its token — is not this one's)."""
    try:
        return fetch()
    except FeedError as error:
        if not error.not_found:
            raise
        missing = "404 Not Found" if urlsplit(url).scheme in ("http", "https") else "no such file"
        raise FeedError(f"{url}.sig: {missing}: the feed publishes no signature at {url}.sig, and the public_key "
                        "in project.yaml requires one", retryable=False, not_found=True,
                        fix="have the publisher sign index.json, or check that 'feed' is the publisher's "
                        "signed feed") from None


def _arrived(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: whatever came in, up to CHUNK bytes at a time.

    ``iter_content`` waits to fill a whole chunk, so a connection that breaks loses what came
    after the last full one, and the resumed download fetches it again.
    """
    import requests
    import urllib3.exceptions

    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # an older urllib3
        yield from response.iter_content(64 << 10)
        return
    while True:
        try:
            chunk = read1(CHUNK, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise requests.exceptions.ConnectionError(error) from None
        if not chunk:
            return
        yield chunk


def _read_some(response: requests.Response, amount: int) -> bytes:
    """Up to ``amount`` bytes of the body (decoded), b"" at its end; a broken connection is a
    ``requests`` ``ConnectionError``."""
    import requests
    import urllib3.exceptions
    from urllib3.response import HTTPResponse

    raw = response.raw
    try:
        if isinstance(raw, HTTPResponse):
            return raw.read(amount, decode_content=True)
        data: bytes = raw.read(amount)
        return data
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise requests.exceptions.ConnectionError(error) from None


def _open_regular(url: str, path: Path) -> IO[bytes]:
    """``path`` opened for reading; a FIFO, device or folder is refused before it is opened (a
    FIFO would hang the run, a device may act on being opened)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise FeedError(f"{url}: not a regular file (a FIFO, device or folder is not read)", retryable=False)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FeedError(f"{url}: no such file", retryable=False, not_found=True) from None
    except OSError as error:
        raise FeedError(f"{url}: cannot read: {error.strerror}", retryable=False) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the stat
        os.close(fd)
        raise FeedError(f"{url}: not a regular file (a FIFO, device or folder is not read)", retryable=False)
    return os.fdopen(fd, "rb")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FeedError(f"{url}: a file:// URL must name a local path", retryable=False)
    return Path(unquote(parts.path))


def _short(error: BaseException, token: str | None) -> str:
    """A one-line reason from a requests exception, without its nested reprs or the token."""
    text = str(error)
    # urllib3 2 quotes a reason holding a quote with "…" (its repr), older ones with '…' after
    # the object's <repr>: NewConnectionError("HTTPConnection(host='h', port=9): Failed …").
    match = re.search(r"""\(Caused by \w+\((?:<[^>]*>, )?(["']?)(.*?)\1(?:\)|, )""", text)
    reason = match.group(2) if match else text
    # ('Connection broken: IncompleteRead(10 bytes read, 20 more expected)', IncompleteRead(...))
    nested = re.match(r"^\('([^']*)',", reason)
    if nested:
        reason = nested.group(1)
    reason = re.sub(r"^\w+\(host=[^)]*\): ", "", reason)  # the connection's repr before the reason
    return _redact(reason.strip().rstrip(":"), token) or type(error).__name__


def _connection_cause(error: requests.exceptions.ConnectionError, url: str, token: str | None) -> str:
    """Why no connection to ``url`` could be made, as a short phrase ("connection refused",
    "the host name h does not resolve"), from the operating system's error that ``error`` wraps
    (urllib3 keeps it as the cause of its own); ``_short`` of the message when there is none."""
    found: BaseException | None = error
    seen: set[int] = set()
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        if isinstance(found, socket.gaierror):
            return f"the host name {urlsplit(url).hostname} does not resolve ({found.strerror})"
        if isinstance(found, (TimeoutError, socket.timeout)) or type(found).__name__ == "ConnectTimeoutError":
            return f"no answer within {TIMEOUT[0]} seconds"
        if isinstance(found, OSError) and found.errno is not None and found.strerror:
            return found.strerror[:1].lower() + found.strerror[1:]
        reason = getattr(found, "reason", None)  # urllib3's MaxRetryError
        arguments = [argument for argument in getattr(found, "args", ()) if isinstance(argument, BaseException)]
        found = (reason if isinstance(reason, BaseException) else None) or (arguments[0] if arguments else None) \
            or found.__cause__ or found.__context__
    return _short(error, token)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_signature(raw: bytes, signature: bytes, public_key: str, url: str) -> None:
    """Check the base64 Ed25519 ``signature`` of ``raw``; raises a non-retryable ``FeedError``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = load_public_key(public_key)
    try:
        decoded = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise FeedError(f"{url}.sig: not a base64 signature", retryable=False) from None
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(decoded, raw)
    except (InvalidSignature, ValueError):
        raise FeedError(f"{url}.sig: the signature does not verify with the project's public_key; "
                        "nothing is downloaded from an index that is not signed by its publisher",
                        retryable=False, mismatch=True) from None


def load_public_key(text: str) -> bytes:
    """The 32 raw bytes of a base64 Ed25519 public key; raises ``ConfigError``."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("project.yaml: at 'public_key': not base64") from None
    if len(key) != 32:
        raise ConfigError(f"project.yaml: at 'public_key': an Ed25519 public key is 32 bytes, not {len(key)}")
    return key


def index_beside(folder: Path, public_key: str) -> Index:
    """The signed ``index.json`` lying in ``folder`` (an offline package's, DESIGN §15): read as
    the feed's is (at most 16 MiB, its ``index.json.sig`` 1 KiB, regular files only), verified
    with ``public_key`` and validated. Its archive URLs are not looked at: it vouches for the
    sha256 of a package at hand. Raises ``FeedError``."""
    reader = Feed(folder.as_uri() + "/")
    url = reader.resolve("index.json")
    raw = reader.fetch(url, INDEX_LIMIT)
    verify_signature(raw, reader.fetch(url + ".sig", SIGNATURE_LIMIT), public_key, url)
    return parse_index(raw, url)


def parse_index(raw: bytes, url: str) -> Index:
    """Validate index.json's bytes; raises a non-retryable ``FeedError`` naming what is wrong."""
    try:
        document = json.loads(raw)
    except RecursionError:
        raise FeedError(f"{url}: not valid JSON: nested too deeply", retryable=False) from None
    except ValueError as error:
        raise FeedError(f"{url}: not valid JSON: {error}", retryable=False) from None
    if isinstance(document, dict) and isinstance(document.get("schema"), int) and document["schema"] != 1:
        raise FeedError(f"{url}: unknown index schema {document['schema']}; this upgrader reads schema 1 "
                        "(a newer upgrader may be needed)", retryable=False)
    errors = check(document, "index.schema.json")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise FeedError(f"{url}: {errors[0]}{more}", retryable=False)
    for number, entry in enumerate(document["releases"]):
        if "released" in entry:
            _time(url, f"releases[{number}].released", entry["released"])
    versions = [entry["version"] for entry in document["releases"]]
    duplicates = sorted({version for version in versions if versions.count(version) > 1})
    if duplicates:
        raise FeedError(f"{url}: release {duplicates[0]} is listed twice", retryable=False)
    serial = document.get("serial")
    return Index(url=url, product=document["product"], releases=tuple(document["releases"]), raw=raw,
                 serial=None if serial is None else int(serial),
                 expires=_time(url, "expires", document["expires"]) if "expires" in document else None)


def _time(url: str, key: str, text: str) -> datetime:
    """The ISO 8601 time ``text`` at ``key`` of the index (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FeedError(f"{url}: at '{key}': {text!r} is not an ISO 8601 date-time", retryable=False) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_fresh(index: Index, accepted: Mapping[str, Any] | None, feed: str, now: datetime, *,
                reset: str = "state/<name>/feed.json") -> None:
    """Refuse ``index`` when it is older than one this project accepted from ``feed``, or expired.

    ``accepted`` is what the store remembers (feed.json: ``feed``, ``serial``, ``seen_at``; None
    when nothing, and no ``serial`` before an index with one); a serial remembered of another
    feed does not count. A serial below the one accepted, or none after one, raises a
    non-retryable ``FeedError`` (the index was replayed or the feed rolled back; ``reset`` is the
    file to remove when the publisher did so on purpose);
    an index past its ``expires`` raises a retryable one (the publisher must re-sign).
    """
    if accepted is not None and accepted["feed"] == feed and "serial" in accepted:
        highest = accepted["serial"]
        if index.serial is None or index.serial < highest:
            has = "has no serial" if index.serial is None else f"has serial {index.serial}"
            raise FeedError(
                f"{index.url}: {has}, but this project accepted serial {highest} from this feed on "
                f"{accepted['seen_at']}: the index was replayed or the feed rolled back; refused (if the "
                f"publisher rolled it back on purpose, remove {reset})", retryable=False)
    if index.expires is not None and index.expires <= now:
        raise FeedError(
            f"{index.url}: expired at {index.expires.isoformat().replace('+00:00', 'Z')}; refused for now, a "
            "later run tries again (warning: the publisher must re-sign the index)", retryable=True)


def pinned_product(project: Project, installed: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(product, where it is pinned) of ``project``: project.yaml's ``product``, else the product
    of the installed release (``installed``: installed.json); None when neither says (a first
    install, which takes the feed's and records it in installed.json)."""
    configured = project.config.get("product")
    if configured:
        return str(configured), "project.yaml 'product'"
    release = (installed or {}).get("release") or {}
    product = release.get("product") if isinstance(release, Mapping) else None
    if isinstance(product, str) and product:
        return product, f"the installed release {installed['version'] if installed else ''}".rstrip()
    return None


def product_refusal(what: str, product: str, pinned: tuple[str, str] | None) -> str | None:
    """The one-line refusal of ``what`` (an index, a release.json) of ``product`` when the
    project is ``pinned`` to another one; None when it is the project's (or nothing pins it)."""
    if pinned is None or product == pinned[0]:
        return None
    return f"{what} is for product {product!r}, but this project runs {pinned[0]!r} ({pinned[1]}); refused"


def feed_for(project: Project, *, warn: bool = True) -> Feed:
    """The feed client of ``project`` — an index feed, or a listing feed (``listing.ListingFeed``)
    — with its token, CA bundle, key or service account; raises ``ConfigError`` for a token or
    key file that cannot be used (see ``read_token``, and its ``warn``)."""
    config = project.config
    settings = feed_settings(config)
    if settings is None:
        raise ConfigError(f"{project.dir / 'project.yaml'}: at 'feed': no feed is configured")
    options: dict[str, Any] = {
        "token": read_token(project, warn=warn),
        "ca_bundle": str(project.dir / config["ca_bundle"]) if config.get("ca_bundle") else None,
        "token_hint": process.token_variable(project.name),
    }
    if settings.kind == "index":
        return Feed(settings.url, public_key=config.get("public_key"), **options)
    from upgrader.listing import ListingFeed

    if settings.credentials:
        from upgrader.gcs import ServiceAccount

        options["service_account"] = ServiceAccount(project.dir / settings.credentials)
    return ListingFeed(settings, **options)


def _printable(token: str) -> bool:
    """Whether ``token`` is one word of printable ASCII: no whitespace, no control character."""
    return bool(token) and all("!" <= character <= "~" for character in token)


def token_file_exposure(path: Path) -> str | None:
    """Why the token file at ``path`` is open to others than its owner (``"mode 0644: group and
    others can read it"``), or None: it is not (0600, 0400), or it cannot be looked at (whoever
    reads it reports that)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    who = [name for name, bits in (("group", 0o070), ("others", 0o007)) if mode & bits]
    if not who:
        return None
    verb = "read" if mode & 0o044 else "change"
    return f"mode {mode:04o}: {' and '.join(who)} can {verb} it"


_warned_exposed: set[Path] = set()  # token files already warned about by this process


def read_token(project: Project, *, warn: bool = True) -> str | None:
    """The feed token of ``project``, or None.

    ``UPGRADER_FEED_TOKEN_<NAME>`` (the project name upper-cased, ``-`` → ``_``); else the plain
    ``UPGRADER_FEED_TOKEN`` when the command named this project with ``-n`` (never another
    project's); else the project's ``token_file``. Raises ``ConfigError`` — never showing the
    token — for a token file that cannot be read, and for a token holding whitespace or a control
    character (a header that would break, and echo the token in requests' error).

    A token file that group or others can read is used, with a warning logged (once per process:
    a run reads the token more than once) and ``chmod 600`` as its fix; ``warn=False`` leaves the
    warning to the caller (``doctor`` fails a check instead). Refusing it would stop the cron runs
    that worked until now, for a file whose owner alone can make it private.
    """
    found = process.environment_token(project.name)
    if found is not None:
        variable, token = found
        if not _printable(token):
            raise ConfigError(f"{variable}: the token holds whitespace, a control or a non-ASCII character; "
                              "a token is one word of printable ASCII")
        return token
    name: str | None = project.config.get("token_file")
    if not name:
        return None
    path = project.dir / name
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{path}: token_file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the token file: {error}") from None
    if not _printable(text):
        raise ConfigError(f"{path}: the token file must hold one token, on one line "
                          "(printable ASCII, no whitespace or control characters)")
    exposure = token_file_exposure(path) if warn and path not in _warned_exposed else None
    if exposure is not None:
        _warned_exposed.add(path)
        logger.warning("%s: the feed token file is %s — fix: chmod 600 %s", path, exposure, shlex.quote(str(path)))
    return text
