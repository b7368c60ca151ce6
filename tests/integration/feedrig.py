"""The release-feed rig of the integration tier: an HTTP feed server, release archives, signatures.

- ``FeedServer``: a threaded HTTP server on 127.0.0.1 serving a folder. It records every request
  (path, headers, status, body bytes sent) and plays per-path behaviours a test sets: require a
  bearer token (401 without, 403 with a wrong one), answer a fixed status, answer some statuses
  (500 twice, 429 with ``Retry-After``) or other bodies (an old signature) first and then the
  file, drop the connection after K body bytes on the first request, throttle, and honour
  ``Range: bytes=N-`` with 206.
- Release archives: ``write_archive`` / ``release_files`` build the tar.gz of DESIGN §4, good or
  deliberately bad; ``Publisher`` writes them into a feed folder with index.json (DESIGN §3) and
  signs it with a real Ed25519 key.
- ``Tinyproxy``: Debian's tinyproxy in the foreground on a free port, its log in a tmp folder.
- ``Rig``: one test's world: a server root with project ``acme`` whose workflow is download →
  verify → extract, the feed server, the ``upgrader`` command, tree snapshots; ``close()`` stops
  every server and process it started.

Every address is 127.0.0.1; nothing here talks to any other host.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import random
import re
import socket
import stat
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .support import DEADLINE, UPGRADER, Outcome, wait_for

HOST = "127.0.0.1"
PRODUCT = "acme-server"
PROJECT = "acme"
SEND_CHUNK = 64 << 10

# The workflow every feed test runs: the three feed actions, with a quick retry on download.
FETCH_WORKFLOW: dict[str, Any] = {
    "name": "fetch",
    "initial": "idle",
    "final": "extracted",
    "on_failure": "rollback",
    "states": ["idle", "downloaded", "verified", "extracted"],
    "steps": [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download",
         "retry": {"attempts": 5, "wait": "fixed", "initial": 0.1}},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
    ],
}

# Variables that would send the subprocess's requests elsewhere or hand it credentials.
_SCRUBBED = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy",
             "upgrader_feed_token", "upgrader_root", "requests_ca_bundle", "curl_ca_bundle")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# -- the feed server -----------------------------------------------------------------------------


@dataclass
class Behaviour:
    """What the server does for one path (set by a test; consumed under the server's lock)."""

    token: str | None = None
    """Require ``Authorization: Bearer <token>``: 401 without it, 403 with another."""
    status: int | None = None
    """Always answer this status (404, 403, 401 ...), never the file."""
    first: list[int] = field(default_factory=list)
    """Statuses to answer, one per request, before serving the file (e.g. [500, 500])."""
    retry_after: str | None = None
    """The ``Retry-After`` header sent with the statuses of ``first``."""
    bodies: list[bytes] = field(default_factory=list)
    """Bodies to answer (200), one per request, before serving the file (e.g. an old signature)."""
    drop_after: int | None = None
    """On the first request of the file only: send the full Content-Length, K body bytes, close."""
    rate: float | None = None
    """Throttle the body to about this many bytes a second."""
    ignore_range: bool = False
    dropped: bool = False


@dataclass
class Record:
    """One request the server answered."""

    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    sent: int = 0  # body bytes written to the socket
    complete: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def range(self) -> str | None:
        return self.headers.get("range")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        record = Record("GET", path, {key.lower(): value for key, value in self.headers.items()})
        rig = self.server.rig
        with rig.lock:
            rig.records.append(record)
            behaviour = rig.behaviours.get(path, Behaviour())
            token = behaviour.token or rig.token
            first = behaviour.first.pop(0) if behaviour.first else None
            body = behaviour.bodies.pop(0) if behaviour.bodies and first is None else None
        try:
            self._answer(record, behaviour, token, first, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _answer(self, record: Record, behaviour: Behaviour, token: str | None, first: int | None,
                body: bytes | None = None) -> None:
        if token is not None:
            given = record.authorization
            if given is None:
                return self._status(record, 401, {"WWW-Authenticate": "Bearer"})
            if given != f"Bearer {token}":
                return self._status(record, 403)
        if behaviour.status is not None:
            return self._status(record, behaviour.status)
        if first is not None:
            extra = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
            return self._status(record, first, extra)
        file = self.server.rig.file_for(record.path)
        if file is None and body is None:
            return self._status(record, 404)
        data = body if body is not None else file.read_bytes() if file is not None else b""
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", record.range or "")
        if match and not behaviour.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                return self._status(record, 416, {"Content-Range": f"bytes */{len(data)}"})
        body = data[start:]
        record.status = 206 if start else 200
        self.send_response(record.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        with self.server.rig.lock:
            drop = behaviour.drop_after is not None and not behaviour.dropped
            behaviour.dropped = behaviour.dropped or drop
        limit = behaviour.drop_after if drop else None
        self._send_body(record, body if limit is None else body[:limit], behaviour.rate)
        if limit is not None:
            # Cut the transfer short: the client was promised len(body) bytes.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        record.complete = True

    def _send_body(self, record: Record, body: bytes, rate: float | None) -> None:
        began = time.monotonic()
        for offset in range(0, len(body), SEND_CHUNK):
            chunk = body[offset:offset + SEND_CHUNK]
            self.wfile.write(chunk)
            record.sent += len(chunk)
            if rate:
                ahead = record.sent / rate - (time.monotonic() - began)
                if ahead > 0:
                    time.sleep(ahead)
        self.wfile.flush()

    def _status(self, record: Record, code: int, headers: Mapping[str, str] | None = None) -> None:
        body = f"{code} {self.responses.get(code, ('',))[0]}\n".encode()
        record.status = code
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        record.complete = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    rig: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (a killed upgrader, a dropped keep-alive) is no news


class FeedServer:
    """An HTTP server on 127.0.0.1:<free port> serving ``folder``; ``start()``, then ``stop()``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.lock = threading.Lock()
        self.records: list[Record] = []
        self.behaviours: dict[str, Behaviour] = {}
        self.token: str | None = None
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FeedServer:
        self._httpd = _Server((HOST, 0), _Handler)
        self._httpd.rig = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"feed-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the feed server is not started"
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str = "") -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def file_for(self, path: str) -> Path | None:
        file = (self.folder / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.folder) or not file.is_file():
            return None
        return file

    def behave(self, path: str, **settings: Any) -> Behaviour:
        """Set what the server does for ``path`` (e.g. ``/acme/index.json``)."""
        with self.lock:
            behaviour = self.behaviours[path] = Behaviour(**settings)
        return behaviour

    def requests(self, path: str | None = None) -> list[Record]:
        with self.lock:
            return [record for record in self.records if path is None or record.path == path]

    def sent(self, path: str) -> int:
        return sum(record.sent for record in self.requests(path))

    def clear(self) -> None:
        with self.lock:
            self.records.clear()


# -- release archives ----------------------------------------------------------------------------


def release_json(version: str, product: str = PRODUCT) -> bytes:
    document = {"product": product, "version": version,
                "images": [f"127.0.0.1:5000/acme/web:{version}"]}
    return (json.dumps(document, indent=2) + "\n").encode()


def release_files(version: str, product: str = PRODUCT, *, payload: int = 0) -> dict[str, bytes]:
    """The entries of a good release package; ``payload`` random bytes in config/blob.bin."""
    files = {
        "release.json": release_json(version, product),
        "compose.yaml": (
            "services:\n  web:\n"
            f"    image: 127.0.0.1:5000/acme/web:{version}\n"
            "    ports: [\"127.0.0.1:${HTTP_PORT}:8080\"]\n"
            "    volumes: [\"./config:/etc/acme:ro\"]\n"
        ).encode(),
        "defaults.env": b"HTTP_PORT=18080\nLOG_LEVEL=info\n",
        "config/app.conf": f"# acme {version}\nlisten = 8080\n".encode(),
    }
    if payload:
        files["config/blob.bin"] = random.Random(version).randbytes(payload)
    return files


def member(name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE, linkname: str = "",
           mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes | None]:
    """One raw tar entry, as it is (no name cleaning): for building bad archives."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1_700_000_000
    info.linkname = linkname
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


def write_archive(path: Path, files: Mapping[str, bytes],
                  extra: Iterable[tuple[tarfile.TarInfo, bytes | None]] = (), *,
                  compresslevel: int = 6) -> Path:
    """A gzip-compressed tar of ``files`` (folders added as needed) plus raw ``extra`` entries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=compresslevel, format=tarfile.PAX_FORMAT) as tar:
        folders: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    tar.addfile(member(folder, kind=tarfile.DIRTYPE, mode=0o755)[0])
            info, _ = member(name, data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


class Publisher:
    """A feed folder: release archives, index.json and (when signed) index.json.sig."""

    def __init__(self, folder: Path, product: str = PRODUCT) -> None:
        self.folder = folder
        self.product = product
        self.entries: list[dict[str, Any]] = []
        self.key = new_key()
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key)

    @property
    def index_path(self) -> Path:
        return self.folder / "index.json"

    def archive_path(self, version: str) -> Path:
        return self.folder / f"{self.product}-{version}.tar.gz"

    def build(self, version: str, *, payload: int = 0, files: Mapping[str, bytes] | None = None,
              extra: Iterable[tuple[tarfile.TarInfo, bytes | None]] = (), compresslevel: int = 6) -> Path:
        """Write the archive of ``version`` (good by default) into the feed folder."""
        contents = dict(files) if files is not None else release_files(version, self.product, payload=payload)
        return write_archive(self.archive_path(version), contents, extra, compresslevel=compresslevel)

    def add(self, version: str, archive: Path | None = None, *, href: str | None = None,
            min_from: str | None = None, **overrides: Any) -> dict[str, Any]:
        """List ``version`` in the index (building a good archive unless given one)."""
        path = archive if archive is not None else self.build(version)
        entry: dict[str, Any] = {
            "version": version, "archive": href or path.name, "sha256": sha256_of(path),
            "size": path.stat().st_size, "released": "2026-11-20T10:00:00Z",
        }
        if min_from:
            entry["min_from"] = min_from
        entry.update(overrides)
        self.entries.append(entry)
        return entry

    def publish(self, *, sign: bool = False, schema: int = 1, raw: bytes | None = None) -> bytes:
        """Write index.json (``raw`` as it is, if given); with ``sign``, index.json.sig too."""
        data = raw if raw is not None else (json.dumps(
            {"schema": schema, "product": self.product, "releases": self.entries}, indent=2) + "\n").encode()
        self.index_path.write_bytes(data)
        if sign:
            self.sign(data)
        return data

    def sign(self, data: bytes | None = None, key: Ed25519PrivateKey | None = None) -> None:
        data = self.index_path.read_bytes() if data is None else data
        signature = (key or self.key).sign(data)
        (self.folder / "index.json.sig").write_bytes(base64.b64encode(signature) + b"\n")


# -- tinyproxy ----------------------------------------------------------------------------------


class Tinyproxy:
    """Debian's tinyproxy, in the foreground, listening on 127.0.0.1:<free port>."""

    BINARY = "/usr/bin/tinyproxy"

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.log = folder / "tinyproxy.log"
        self.conf = folder / "tinyproxy.conf"
        self.conf.write_text(
            f"Port {self.port}\nListen {HOST}\nTimeout 30\nMaxClients 20\n"
            f"LogFile \"{self.log}\"\nLogLevel Info\nAllow {HOST}\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Tinyproxy:
        output = open(self.folder / "tinyproxy.out", "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen([self.BINARY, "-d", "-c", str(self.conf)],
                                        stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        output.close()

        def listening() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"tinyproxy exited {self.process.returncode}: {self.log_text()}")
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                return probe.connect_ex((HOST, self.port)) == 0

        wait_for(listening, f"tinyproxy on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def requested(self) -> list[str]:
        """The URLs tinyproxy's log says it was asked for ("Request (file descriptor N): GET URL")."""
        return re.findall(r"Request \(file descriptor \d+\): \w+ (\S+)", self.log_text())


# -- snapshots of a folder tree -------------------------------------------------------------------


def snapshot(base: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``base``: relative path → (kind, content digest or link target)."""
    entries: dict[str, tuple[str, str]] = {}
    for folder, folders, files in os.walk(base):
        for name in folders + files:
            path = Path(folder) / name
            relative = path.relative_to(base).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                entries[relative] = ("link", os.readlink(path))
            elif stat.S_ISDIR(mode):
                entries[relative] = ("dir", "")
            else:
                entries[relative] = ("file", sha256_of(path))
    return entries


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    return {path for path in set(before) | set(after) if before.get(path) != after.get(path)}


# -- one test's world -----------------------------------------------------------------------------


class Rig:
    """A server root with project ``acme``, the feed server, and everything a feed test starts."""

    def __init__(self, tmp: Path, name: str = PROJECT) -> None:
        self.tmp = tmp
        self.name = name
        self.root = tmp / "root"
        self.project_dir = self.root / "projects" / name
        self.project_dir.mkdir(parents=True)
        self.state = self.root / "state" / name
        self.releases = self.root / "releases"
        self.downloads = self.root / "downloads" / name  # downloads/<project>/<version>/<archive>
        self.site = tmp / "site"
        self.feed = Publisher(self.site / name)
        self.workflow_path = tmp / "workflow.yaml"
        self.workflow_path.write_text(yaml.safe_dump(FETCH_WORKFLOW, sort_keys=False), encoding="utf-8")
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self._servers: list[FeedServer] = []
        self._proxies: list[Tinyproxy] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        self.server = self.new_server(self.site)

    # -- lifecycle ----------------------------------------------------------------------------

    def new_server(self, folder: Path) -> FeedServer:
        server = FeedServer(folder).start()
        self._servers.append(server)
        return server

    def new_proxy(self) -> Tinyproxy:
        proxy = Tinyproxy(self.tmp / f"proxy{len(self._proxies)}")
        self._proxies.append(proxy)
        return proxy.start()

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=DEADLINE)
        for proxy in self._proxies:
            proxy.stop()
        for server in self._servers:
            server.stop()

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the project ----------------------------------------------------------------------------

    @property
    def feed_url(self) -> str:
        return self.server.url(f"{self.name}/")

    @property
    def index_path(self) -> str:
        return f"/{self.name}/index.json"

    def archive_path(self, version: str) -> str:
        """The URL path of ``version``'s archive on the feed server."""
        return f"/{self.name}/{self.feed.archive_path(version).name}"

    def configure(self, feed: str | None = "", **settings: Any) -> Path:
        """Write project.yaml: ``feed`` (default: the feed server), the fetch workflow, ``settings``."""
        document: dict[str, Any] = {}
        if feed is not None:
            document["feed"] = feed or self.feed_url
        document["workflow"] = str(self.workflow_path)
        document.update(settings)
        path = self.project_dir / "project.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    def write_token(self, token: str, name: str = "feed.token") -> Path:
        path = self.project_dir / name
        path.write_text(token + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    # -- the command ----------------------------------------------------------------------------

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The environment of ``upgrader``: ours without proxies or feed credentials, plus ``overrides``."""
        env = {key: value for key, value in os.environ.items() if key.lower() not in _SCRUBBED}
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def argv(self, *args: str) -> list[str]:
        return [str(UPGRADER), "--root", str(self.root), "-n", self.name, *args]

    def cli(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 30) -> Outcome:
        began = time.monotonic()
        try:
            result = subprocess.run(self.argv(*args), capture_output=True, text=True, check=False,
                                    stdin=subprocess.DEVNULL, timeout=timeout,
                                    env=dict(env) if env is not None else self.env())
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"upgrader {' '.join(args)} still ran after {timeout:g} s:"
                                 f" {error.stdout!r} {error.stderr!r}") from None
        return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - began)

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``upgrader ARGS`` in the background, its output in logs/; killed by ``close()``."""
        number = len(self._processes)
        with (open(self.logs / f"{number}.out", "wb") as out,
              open(self.logs / f"{number}.err", "wb") as err):
            process = subprocess.Popen(self.argv(*args), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       env=dict(env) if env is not None else self.env())
        self._processes.append(process)
        return process

    def check(self, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        result = self.cli("check", "--json", *args, env=env)
        assert result.returncode == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def history(self) -> list[dict[str, Any]]:
        result = self.cli("history", "--json")
        assert result.returncode == 0, result.output
        data: list[dict[str, Any]] = json.loads(result.stdout)
        return data

    def installed(self) -> str | None:
        path = self.state / "installed.json"
        if not path.exists():
            return None
        version: str = json.loads(path.read_text(encoding="utf-8"))["version"]
        return version

    def run_file(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "run.json").read_text(encoding="utf-8"))
        return data

    def downloaded(self) -> list[str]:
        return sorted(path.name for path in self.downloads.glob("*/*"))

    def extracted(self) -> list[str]:
        return sorted(path.name for path in self.releases.iterdir()) if self.releases.is_dir() else []


# -- assertions ---------------------------------------------------------------------------------


def error_line(outcome: Outcome, *needles: str) -> str:
    """The one line that reports a failed command, holding every one of ``needles``.

    An error raised before any run is one ``upgrader: error: ...`` line on stderr; a run that
    rolled back ends its output with one ``run ID ...: rolled back: ...`` line.
    """
    stderr = outcome.stderr.splitlines()
    if stderr:
        assert len(stderr) == 1, f"the error takes {len(stderr)} lines\n{outcome.output}"
        line = stderr[0]
        assert line.startswith("upgrader: error: "), outcome.output
    else:
        lines = outcome.stdout.splitlines()
        assert lines, outcome.output
        line = lines[-1]
        assert line.startswith("run ") and "rolled back" in line, (
            f"the last line is not the run's outcome: {line!r}\n{outcome.output}")
    missing = [needle for needle in needles if needle not in line]
    assert not missing, f"{missing} not in the error line {line!r}\n{outcome.output}"
    return line


def files_holding(folder: Path, text: str) -> list[str]:
    """The files under ``folder`` whose bytes contain ``text``."""
    needle = text.encode()
    return sorted(str(path) for path in folder.rglob("*")
                  if path.is_file() and not path.is_symlink() and needle in path.read_bytes())
