"""Google Cloud Storage for a ``gs://`` listing feed (DESIGN §12): where its JSON API is, and the
bearer token a service-account key file is exchanged for.

Objects are read through the JSON API, ``GET {endpoint}/storage/v1/b/{bucket}/o/{object}`` (the
object's metadata) and the same with ``?alt=media`` (its bytes); ``feed.Feed`` sends those
requests, with its proxies, CA bundle, retries and Range resume. The endpoint is
``https://storage.googleapis.com``, or ``STORAGE_EMULATOR_HOST`` when it is set, as Google's own
clients read it (``http://host:port``, or ``host:port`` meaning http).

The token comes from ``google-auth``: the key file's JWT, signed with its private key, is sent to
its ``token_uri`` (scope devstorage.read_only) over the feed's own ``requests`` session, and the
token is kept in this process's memory only. Neither the key nor a token appears in a message:
errors name the key file and the service account's ``client_email``. google-auth is imported
only here, and this module only for a ``gs://`` feed, so a cron run of another feed never
loads it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from upgrader.errors import ConfigError

if TYPE_CHECKING:
    import requests
    from google.oauth2.service_account import Credentials

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"
KEY_LIMIT = 64 << 10  # bytes of a key file read at most: a service-account key is about 2.3 KiB
KEY_FIELDS = ("type", "client_email", "private_key", "token_uri")

# One Credentials per key file for the life of this process: a run asks for a token once and
# keeps it until google-auth says it is about to expire; nothing is written to disk.
_credentials: dict[Path, Credentials] = {}


def endpoint() -> str:
    """The JSON API's base URL: ``STORAGE_EMULATOR_HOST`` (with ``http://`` when it names no
    scheme), else Google's."""
    host = os.environ.get(EMULATOR_VARIABLE, "").strip()
    if not host:
        return DEFAULT_ENDPOINT
    return (host if "://" in host else f"http://{host}").rstrip("/")


@dataclass(frozen=True)
class Location:
    """A ``gs://bucket/object`` URL split into its bucket and object name."""

    bucket: str
    name: str

    @classmethod
    def of(cls, url: str) -> Location:
        """The bucket and object of ``url`` (``gs://bucket/folder/name.zip``); the object name is
        taken as written (Cloud Storage names are not URL-encoded in a gs:// URL)."""
        rest = url[len("gs://"):] if url.lower().startswith("gs://") else url
        bucket, _, name = rest.partition("/")
        return cls(bucket, name)

    def metadata_url(self) -> str:
        return f"{endpoint()}/storage/v1/b/{quote(self.bucket, safe='')}/o/{quote(self.name, safe='')}"

    def media_url(self) -> str:
        return self.metadata_url() + "?alt=media"


class ServiceAccount:
    """A service-account key file and the tokens it is exchanged for."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self.client_email, self.token_uri = _read_key(key_file)

    def authorization(self, session: requests.Session, *, renew: bool = False) -> str:
        """The ``Authorization`` header value: a bearer token for the key, asked for when there is
        none yet, when it is about to expire, or when ``renew`` (the storage refused the last
        one). Raises ``feed.FeedError``: not retryable when the token endpoint refuses the key
        (naming the key file), retryable when it cannot be reached or answers with a passing
        error."""
        credentials = self._credentials()
        if renew or not credentials.valid:
            self._refresh(credentials, session)
        return f"Bearer {credentials.token}"

    @property
    def token(self) -> str | None:
        """The token in memory (to redact from messages), or None."""
        credentials = _credentials.get(self.key_file)
        return None if credentials is None else credentials.token

    def _credentials(self) -> Credentials:
        found = _credentials.get(self.key_file)
        if found is None:
            from google.auth import exceptions
            from google.oauth2 import service_account

            try:
                found = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    str(self.key_file), scopes=[SCOPE])
            except (exceptions.GoogleAuthError, ValueError, TypeError, OSError):
                # google-auth's own message may quote the key: say what is wrong in our words.
                raise ConfigError(f"{self.key_file}: the service-account key file cannot be used: its private_key "
                                  "is not a PEM private key (download a new JSON key for the service account)"
                                  ) from None
            _credentials[self.key_file] = found
        return found

    def _refresh(self, credentials: Credentials, session: requests.Session) -> None:
        from google.auth import exceptions
        from google.auth.transport.requests import Request

        from upgrader.feed import FeedError

        try:
            credentials.refresh(Request(session=session))  # type: ignore[no-untyped-call]
        except exceptions.RefreshError as error:
            answer = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
            code = str(answer.get("error") or "refused")
            said = " ".join(str(answer.get("error_description") or "").split())[:200]
            said = f" ({said})" if said else ""
            retryable = bool(getattr(error, "retryable", False))
            if retryable:
                raise FeedError(f"{self.token_uri}: the token endpoint failed for service account "
                                f"{self.client_email}: {code}{said}; a later try may pass") from None
            raise FeedError(f"{self.key_file}: the token endpoint {self.token_uri} refused the key of service "
                            f"account {self.client_email}: {code}{said}", retryable=False,
                            fix="the key may be revoked or replaced: download a new JSON key for the service "
                                "account and put it at this path") from None
        except exceptions.TransportError as error:
            from upgrader.feed import describe_failure

            raise FeedError(f"cannot get a token from {self.token_uri} (service account {self.client_email}): "
                            f"{describe_failure(error, self.token_uri)}",
                            fix="is this host allowed to reach it, or does it need a proxy (HTTPS_PROXY)?") from None

    def refused(self, url: str, location: Location, status: int) -> Exception:
        """The error of a 401 or 403 from the storage for ``url``: one line naming the bucket and
        the service account, never the token."""
        from upgrader.feed import FeedError

        if status == 401:
            return FeedError(f"{url}: 401 Unauthorized: Cloud Storage refused the token of service account "
                             f"{self.client_email} for bucket {location.bucket}", retryable=False,
                             fix=f"check that {self.key_file} is the key the vendor gave for this bucket")
        return FeedError(f"{url}: 403 Forbidden: service account {self.client_email} may not read "
                         f"gs://{location.bucket}/{location.name}", retryable=False,
                         fix="ask the vendor to grant it read access to the bucket (Storage Object Viewer)")


def _read_key(path: Path) -> tuple[str, str]:
    """(client_email, token_uri) of the service-account key file at ``path``; raises
    ``ConfigError`` naming the file and the missing field, never its content."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigError(f"{path}: feed.credentials is not a regular file")
        with open(path, "rb") as stream:
            raw = stream.read(KEY_LIMIT + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: feed.credentials not found (the service-account key file, relative to "
                          "the project folder)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the service-account key file: {error.strerror}") from None
    if len(raw) > KEY_LIMIT:
        raise ConfigError(f"{path}: larger than {KEY_LIMIT >> 10} KiB: not a service-account key file")
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError(f"{path}: not a JSON service-account key file") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a JSON service-account key file")
    missing = [key for key in KEY_FIELDS if not isinstance(document.get(key), str) or not document[key]]
    if missing:
        raise ConfigError(f"{path}: not a service-account key file: no {missing[0]} (download a JSON key for the "
                          "service account)")
    if document["type"] != "service_account":
        raise ConfigError(f"{path}: a key of type {str(document['type'])[:40]!r}, not 'service_account'")
    token_uri = str(document["token_uri"])
    if not token_uri.startswith(("https://", "http://")):
        raise ConfigError(f"{path}: token_uri is not an http(s) URL")
    return str(document["client_email"]), token_uri
