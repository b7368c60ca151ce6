"""The release feed (DESIGN §3): its index, its signature, and the archives it lists.

Talks HTTP(S) with ``requests`` (proxies from ``HTTP(S)_PROXY``/``NO_PROXY``, TLS verified,
optionally against the project's CA bundle) or reads ``file://`` mirrors. The bearer token is
sent only to the feed's own origin and never appears in a message, a log or the journal.
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
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
import tenacity

from upgrader.errors import ActionError, ConfigError
from upgrader.project import Project
from upgrader.validation import check

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT = (10, 60)  # connect, read (seconds between bytes)
TOKEN_ENV = "UPGRADER_FEED_TOKEN"  # noqa: S105 - the name of a variable, not a secret
INDEX_ATTEMPTS = 4


class FeedError(ActionError):
    """The feed could not be read; ``retryable`` says whether trying later may help."""


@dataclass(frozen=True)
class Index:
    """A validated (and, with a key, verified) index.json."""

    url: str
    product: str
    releases: tuple[dict[str, Any], ...]
    raw: bytes

    def release(self, version: str) -> dict[str, Any] | None:
        return next((entry for entry in self.releases if entry["version"] == version), None)


def _status_error(url: str, response: requests.Response) -> FeedError:
    code = response.status_code
    if code == 401:
        return FeedError(f"{url}: 401 Unauthorized: the feed refused the token "
                         f"(check token_file or {TOKEN_ENV})", retryable=False)
    if code == 403:
        return FeedError(f"{url}: 403 Forbidden: the token is not allowed to read this feed",
                         retryable=False)
    if code == 404:
        return FeedError(f"{url}: 404 Not Found: no such feed or file", retryable=False)
    retryable = code >= 500 or code in (408, 429)
    error = FeedError(f"{url}: HTTP {code} {response.reason}", retryable=retryable)
    error.retry_after = _retry_after(response) if code in (429, 503) else None  # type: ignore[attr-defined]
    return error


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 300.0) if value.isdigit() else None


def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


class Feed:
    """One project's feed client."""

    def __init__(self, url: str, *, token: str | None = None, ca_bundle: str | None = None,
                 public_key: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._token = token
        self._public_key = public_key
        self._sleep = sleep
        self.session = requests.Session()
        self.session.verify = ca_bundle if ca_bundle else True
        self.session.headers["User-Agent"] = "upgrader"

    # -- plumbing -----------------------------------------------------------------------------

    def resolve(self, reference: str) -> str:
        """An archive's URL: ``reference`` relative to the feed, or absolute."""
        return urljoin(self.url, reference)

    def _headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token and _origin(url) == _origin(self.url):
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    @contextmanager
    def _open(self, url: str, offset: int = 0) -> Iterator[tuple[IO[bytes] | requests.Response, int, bool]]:
        """Open ``url`` from byte ``offset``: yields (stream, status, resumed)."""
        if urlsplit(url).scheme == "file":
            path = _file_path(url)
            try:
                stream = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise FeedError(f"{url}: no such file", retryable=False) from None
            except OSError as error:
                raise FeedError(f"{url}: cannot read: {error.strerror}", retryable=False) from None
            with stream:
                stream.seek(offset)
                yield stream, 206 if offset else 200, bool(offset)
            return
        if urlsplit(url).scheme not in ("http", "https"):
            raise FeedError(f"{url}: only https://, http:// and file:// are supported", retryable=False)
        headers = self._headers(url, {"Range": f"bytes={offset}-"} if offset else None)
        try:
            response = self.session.get(url, headers=headers, stream=True, timeout=TIMEOUT)
        except requests.exceptions.SSLError as error:
            raise FeedError(f"{url}: TLS verification failed ({_short(error, self._token)}); "
                            "set ca_bundle in project.yaml for a private CA", retryable=False) from None
        except requests.exceptions.ProxyError as error:
            raise FeedError(f"{url}: the proxy failed: {_short(error, self._token)}") from None
        except requests.exceptions.RequestException as error:
            raise FeedError(f"{url}: {_short(error, self._token)}") from None
        with response:
            if response.status_code == 416 and offset:
                yield response, 416, False
                return
            if response.status_code >= 400:
                raise _status_error(url, response)
            yield response, response.status_code, response.status_code == 206

    def fetch(self, url: str) -> bytes:
        """The whole body at ``url`` (a small file: the index or its signature)."""
        with self._open(url) as (stream, _status, _resumed):
            try:
                if isinstance(stream, requests.Response):
                    return stream.content
                return stream.read()
            except requests.exceptions.RequestException as error:
                raise FeedError(f"{url}: {_short(error, self._token)}") from None

    # -- the index ----------------------------------------------------------------------------

    def index(self) -> Index:
        """Fetch, verify and validate ``index.json``, retrying transient failures."""
        url = self.resolve("index.json")

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            return float(hinted) if hinted is not None else min(0.5 * 2 ** (state.attempt_number - 1), 8.0)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(INDEX_ATTEMPTS),
            wait=wait,
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, FeedError) and e.retryable),
            before_sleep=lambda state: logger.info(
                "retrying %s: %s", url, state.outcome and state.outcome.exception()),
            reraise=True,
            sleep=self._sleep,
        )
        raw = retrying(self.fetch, url)
        if self._public_key:
            signature = retrying(self.fetch, url + ".sig")
            verify_signature(raw, signature, self._public_key, url)
        return parse_index(raw, url)

    # -- archives -----------------------------------------------------------------------------

    def download(self, url: str, destination: Path, *, size: int, sha256: str,
                 progress: Callable[[int, int], None] | None = None, source: str = "the index") -> Path:
        """Download ``url`` to ``destination``, resuming ``destination.part``; check size and sha256.

        An archive already at ``destination`` with the right sha256 is not fetched again.
        Raises ``FeedError`` (retryable for a broken transfer; not for a wrong checksum).
        """
        if destination.exists() and file_sha256(destination) == sha256:
            return destination
        part = destination.with_name(destination.name + ".part")
        offset = part.stat().st_size if part.exists() else 0
        if offset > size:
            part.unlink()
            offset = 0
        digest = hashlib.sha256()
        if offset:
            with open(part, "rb") as existing:
                for chunk in iter(lambda: existing.read(CHUNK), b""):
                    digest.update(chunk)
        if offset < size:
            try:
                offset = self._transfer(url, part, offset, size, digest, progress)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                # Give the space back at once: the run must still record that it failed, and a
                # retry would fill the disk again (its partial download is worth less than that).
                part.unlink(missing_ok=True)
                free = shutil.disk_usage(part.parent).free
                raise FeedError(f"{part.parent}: No space left on device while downloading {url} ({size} bytes, "
                                f"{free} free once the partial download was removed)", retryable=False) from None
        elif progress:
            progress(offset, size)
        if offset != size:
            raise FeedError(f"{url}: got {offset} bytes, {source} says {size}")
        if digest.hexdigest() != sha256:
            part.unlink()
            raise FeedError(
                f"{url}: sha256 mismatch: {source} says {sha256}, the archive is {digest.hexdigest()}",
                retryable=False, release_fault=True,
            )
        os.replace(part, destination)
        return destination

    def _transfer(self, url: str, part: Path, offset: int, size: int, digest: Any,
                  progress: Callable[[int, int], None] | None) -> int:
        with self._open(url, offset) as (stream, status, resumed):
            if status == 416:
                if offset < size:
                    raise FeedError(f"{url}: the server has only {offset} bytes, the index says {size}",
                                    retryable=False, release_fault=True)
                return offset  # the server has nothing past what we hold
            if not resumed and offset:
                logger.info("%s: server ignored the range request; fetching from the start", url)
                offset = 0
                digest.__init__()  # a fresh sha256
            mode = "ab" if offset else "wb"
            with open(part, mode) as output:
                try:
                    chunks = (_arrived(stream) if isinstance(stream, requests.Response)
                              else iter(lambda: stream.read(CHUNK), b""))
                    for chunk in chunks:
                        if offset + len(chunk) > size:
                            raise FeedError(f"{url}: the archive is larger than the index's {size} bytes",
                                            retryable=False, release_fault=True)
                        output.write(chunk)
                        digest.update(chunk)
                        offset += len(chunk)
                        if progress:
                            progress(offset, size)
                except requests.exceptions.RequestException as error:
                    raise FeedError(f"{url}: transfer broke off at byte {offset}: "
                                    f"{_short(error, self._token)}") from None
                finally:
                    output.flush()
                    os.fsync(output.fileno())
        return offset


def _arrived(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: whatever came in, up to CHUNK bytes at a time.

    ``iter_content`` waits to fill a whole chunk, so a connection that breaks loses what came
    after the last full one, and the resumed download fetches it again.
    """
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
    match = re.search(r"\(Caused by \w+\((?:<[^>]*>, )?'?([^']*)", text)
    reason = match.group(1) if match else text
    # ('Connection broken: IncompleteRead(10 bytes read, 20 more expected)', IncompleteRead(...))
    nested = re.match(r"^\('([^']*)',", reason)
    if nested:
        reason = nested.group(1)
    return _redact(reason.strip().rstrip(":"), token) or type(error).__name__


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
                        retryable=False) from None


def load_public_key(text: str) -> bytes:
    """The 32 raw bytes of a base64 Ed25519 public key; raises ``ConfigError``."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("project.yaml: at 'public_key': not base64") from None
    if len(key) != 32:
        raise ConfigError(f"project.yaml: at 'public_key': an Ed25519 public key is 32 bytes, not {len(key)}")
    return key


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
            try:
                datetime.fromisoformat(entry["released"].replace("Z", "+00:00"))
            except ValueError:
                raise FeedError(f"{url}: at 'releases[{number}].released': {entry['released']!r} is not "
                                "an ISO 8601 date-time", retryable=False) from None
    versions = [entry["version"] for entry in document["releases"]]
    duplicates = sorted({version for version in versions if versions.count(version) > 1})
    if duplicates:
        raise FeedError(f"{url}: release {duplicates[0]} is listed twice", retryable=False)
    return Index(url=url, product=document["product"], releases=tuple(document["releases"]), raw=raw)


def feed_for(project: Project) -> Feed:
    """The feed client of ``project``, with its token, CA bundle and key."""
    config = project.config
    return Feed(
        config["feed"],
        token=read_token(project),
        ca_bundle=str(project.dir / config["ca_bundle"]) if config.get("ca_bundle") else None,
        public_key=config.get("public_key"),
    )


def read_token(project: Project) -> str | None:
    """The feed token: ``UPGRADER_FEED_TOKEN``, else the project's ``token_file``, else None."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
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
    if not text or any(character.isspace() for character in text):
        raise ConfigError(f"{path}: the token file must hold one token, on one line")
    return text
