"""A vendor's Cloud Storage distribution on 127.0.0.1 (DESIGN §12), for the listing-feed tests.

- ``gcp-storage-emulator`` (PyPI) serves the Cloud Storage JSON API from memory, in this process.
  It checks no credentials, so the storage upgrader talks to is a ``Gatekeeper`` in front of it:
  a small reverse proxy that lets a request through only with a bearer token the ``TokenServer``
  issued and has not expired, records every request (path, Range, status, the token), and plays
  what a test asks (cut a download after K bytes once, spoil a download's bytes, refuse every
  token, let each token serve only N requests).
- ``TokenServer``: an OAuth token endpoint checking the JWT assertion of a service-account key —
  its RS256 signature against the test's own RSA public key, its issuer, audience and scope —
  and answering ``invalid_grant`` to any other key.
- ``ServiceAccountKey``: an RSA key made by the test and the JSON key file naming the token
  server as its ``token_uri``.

Every address is 127.0.0.1; nothing here talks to any other host.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .feedrig import HOST, free_port

BUCKET = "vendor-packages"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - an address, not a secret


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


# -- the token endpoint ---------------------------------------------------------------------------


@dataclass
class ServiceAccountKey:
    """An RSA key pair and its service-account key file's fields."""

    client_email: str
    token_uri: str
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    @property
    def pem(self) -> str:
        return self.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()

    def write(self, path: Path, *, private: rsa.RSAPrivateKey | None = None) -> Path:
        """The JSON key file at ``path`` (mode 0600); ``private``: sign with another key."""
        pem = self.pem if private is None else private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        document = {"type": "service_account", "project_id": "vendor", "private_key_id": "k1",
                    "private_key": pem, "client_email": self.client_email, "client_id": "1",
                    "token_uri": self.token_uri}
        path.write_text(json.dumps(document), encoding="utf-8")
        path.chmod(0o600)
        return path


class _TokenHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Quiet

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        tokens: TokenServer = self.server.tokens  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        status, answer = tokens.answer(form.get("grant_type", [""])[0], form.get("assertion", [""])[0])
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TokenServer:
    """An OAuth 2.0 token endpoint for one service account, on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/token"
        self.key = ServiceAccountKey("updater@vendor.iam.gserviceaccount.com", self.url)
        self.lock = threading.Lock()
        self.issued: list[str] = []
        self.refusals: list[str] = []
        self._httpd = _Quiet((HOST, self.port), _TokenHandler)
        self._httpd.tokens = self  # type: ignore[attr-defined]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, grant_type: str, assertion: str) -> tuple[int, dict[str, Any]]:
        """(status, JSON) for a token request: a token for a well-signed assertion of the account."""
        def refuse(description: str) -> tuple[int, dict[str, Any]]:
            with self.lock:
                self.refusals.append(description)
            return 400, {"error": "invalid_grant", "error_description": description}

        if grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {"error": "unsupported_grant_type"}
        try:
            header, claims, signature = assertion.split(".")
            public = self.key.private.public_key()
            public.verify(_b64url_decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                          hashes.SHA256())
            decoded = json.loads(_b64url_decode(claims))
        except (ValueError, InvalidSignature):
            return refuse("Invalid JWT Signature.")
        if json.loads(_b64url_decode(header)).get("alg") != "RS256":
            return refuse("Invalid JWT: alg")
        # google-auth addresses the assertion to Google's token endpoint whatever token_uri says.
        if decoded.get("iss") != self.key.client_email or decoded.get("aud") not in (self.url, GOOGLE_TOKEN_URI):
            return refuse("Invalid JWT: iss or aud")
        if SCOPE not in str(decoded.get("scope", "")).split():
            return refuse("Invalid JWT: scope")
        if not decoded.get("exp", 0) > time.time() - 60:
            return refuse("Invalid JWT: expired")
        token = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.issued.append(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}


# -- the storage, behind a gate that checks tokens ----------------------------------------------------


@dataclass
class Seen:
    """One request the gatekeeper answered."""

    path: str
    query: str
    range: str | None
    token: str | None
    status: int = 0
    sent: int = 0

    @property
    def media(self) -> bool:
        return "alt=media" in self.query

    @property
    def object(self) -> str:
        """The object name of a JSON API object request ("" for another)."""
        parts = self.path.split("/o/", 1)
        return unquote(parts[1]) if len(parts) == 2 else ""


class _GateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Quiet

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        gate: Gatekeeper = self.server.gate  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        authorization = self.headers.get("Authorization") or ""
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        seen = Seen(parts.path, parts.query, self.headers.get("Range"), token)
        with gate.lock:
            gate.seen.append(seen)
        if not gate.admits(token):
            return self._answer(seen, 401, b'{"error": {"code": 401, "message": "Invalid Credentials"}}', {})
        status, headers, body = gate.forward(self.path, self.headers.get("Range"))
        if seen.media and status in (200, 206):
            body = gate.spoiled(seen.object, body)
            cut = gate.cut(seen.object)
            if cut is not None:
                self._answer(seen, status, body, headers, send=cut)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        self._answer(seen, status, body, headers)

    def _answer(self, seen: Seen, status: int, body: bytes, headers: dict[str, str], send: int | None = None) -> None:
        seen.status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        chunk = body if send is None else body[:send]
        self.wfile.write(chunk)
        self.wfile.flush()
        seen.sent = len(chunk)


class Gatekeeper:
    """The Cloud Storage JSON API as upgrader sees it: the emulator behind a token check."""

    def __init__(self, tokens: TokenServer) -> None:
        from gcp_storage_emulator.server import create_server

        self.tokens = tokens
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.refuse_all = False
        self.uses_per_token: int | None = None
        self._uses: dict[str, int] = {}
        self._cuts: dict[str, int] = {}
        self._spoil: set[str] = set()
        self.emulator_port = free_port()
        self._emulator = create_server(HOST, self.emulator_port, in_memory=True, default_bucket=BUCKET)
        self._emulator.start()
        self.port = free_port()
        self._httpd = _Quiet((HOST, self.port), _GateHandler)
        self._httpd.gate = self  # type: ignore[attr-defined]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def host(self) -> str:
        """What STORAGE_EMULATOR_HOST is set to."""
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._emulator.stop()

    # -- the bucket ---------------------------------------------------------------------------

    def upload(self, name: str, data: bytes) -> dict[str, Any]:
        """Put ``data`` at ``name`` in the bucket (straight into the emulator); its object resource."""
        response = requests.post(f"http://{HOST}:{self.emulator_port}/upload/storage/v1/b/{BUCKET}/o",
                                 params={"uploadType": "media", "name": name}, data=data, timeout=10)
        response.raise_for_status()
        resource: dict[str, Any] = response.json()
        return resource

    # -- behaviours ----------------------------------------------------------------------------

    def cut_once(self, name: str, after: int) -> None:
        """The next download of object ``name`` breaks off after ``after`` bytes."""
        with self.lock:
            self._cuts[name] = after

    def spoil(self, name: str) -> None:
        """Downloads of object ``name`` get one byte changed (its metadata stays right)."""
        with self.lock:
            self._spoil.add(name)

    def cut(self, name: str) -> int | None:
        with self.lock:
            return self._cuts.pop(name, None)

    def spoiled(self, name: str, body: bytes) -> bytes:
        with self.lock:
            if name not in self._spoil or not body:
                return body
        return bytes([body[0] ^ 0xFF]) + body[1:]

    def admits(self, token: str | None) -> bool:
        """Whether ``token`` is one the token server issued, not refused and not used up."""
        with self.lock:
            if token is None or self.refuse_all or token not in self.tokens.issued:
                return False
            self._uses[token] = self._uses.get(token, 0) + 1
            return self.uses_per_token is None or self._uses[token] <= self.uses_per_token

    def forward(self, path: str, range_header: str | None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(HOST, self.emulator_port, timeout=10)
        try:
            connection.request("GET", path, headers={"Range": range_header} if range_header else {})
            response = connection.getresponse()
            body = response.read()
            kept = {key: value for key, value in response.getheaders()
                    if key.lower() in ("content-type", "content-range")}
            return response.status, kept, body
        finally:
            connection.close()

    def requests_for(self, name: str, *, media: bool | None = None) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.object == name and (media is None or seen.media == media)]
