"""Helpers of the operator-facing end-to-end tests (cron, cron output, live view, doctor, notify,
jitter/min_age, prune): the installed ``upgrader`` run with byte-exact output, the real user crontab
kept and restored, a cron line executed the way cron executes it, release feeds on disk, small HTTP
servers on 127.0.0.1, and tmux as a pseudo-terminal.

Every address is 127.0.0.1; nothing here talks to any other host.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.integration.support import wait_for

UPGRADER = Path(sys.executable).with_name("upgrader")
FAKE_SERVER = Path(__file__).resolve().with_name("fake_server.sh")
HOST = "127.0.0.1"
PRODUCT = "acme-server"
# What cron gives a job on Debian: PATH and nothing else we rely on.
CRON_PATH = "/usr/bin:/bin"
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's "dots" frames


# -- the command --------------------------------------------------------------------------------

def upgrader(*args: str, env: Mapping[str, str] | None = None, timeout: float = 60,
             cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed command to its end, stdin closed (as under cron); output as bytes."""
    try:
        return subprocess.run(
            [str(UPGRADER), *args], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"upgrader {' '.join(args)} still ran after {timeout:g} s: "
                             f"{error.stdout!r} {error.stderr!r}") from None


def text(result: subprocess.CompletedProcess[bytes]) -> str:
    """A result's exit code and output, for assertion messages."""
    return (f"exit {result.returncode}\n--- stdout\n{result.stdout.decode(errors='replace')}"
            f"--- stderr\n{result.stderr.decode(errors='replace')}")


def status(root: Path, name: str) -> dict[str, Any]:
    result = upgrader("--root", str(root), "-n", name, "status", "--json")
    assert result.returncode == 0, text(result)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


# -- projects and workflows ---------------------------------------------------------------------

def add_project(root: Path, name: str, settings: Mapping[str, Any] | None = None,
                workflow: Mapping[str, Any] | None = None) -> Path:
    """``root/projects/<name>/project.yaml``; ``workflow`` (a document) is written beside it as
    ``workflow.yaml`` and named by a relative path."""
    folder = root / "projects" / name
    folder.mkdir(parents=True, exist_ok=True)
    document = dict(settings or {})
    if workflow is not None:
        (folder / "workflow.yaml").write_text(yaml.safe_dump(dict(workflow), sort_keys=False))
        document["workflow"] = "workflow.yaml"
    (folder / "project.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def command_step(name: str, source: str, target: str, argv: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "from": source, "to": target, "action": "command", "run": list(argv), **extra}


def chain(name: str, steps: Sequence[tuple[str, Sequence[str]]], **extra: Any) -> dict[str, Any]:
    """A workflow of ``command`` steps run one after the other: (step name, argv) each."""
    states = ["idle", *[f"after_{step}" for step, _ in steps]]
    return {
        "name": name, "initial": states[0], "final": states[-1], "on_failure": "rollback",
        "states": states,
        "steps": [command_step(step, states[index], states[index + 1], argv, timeout=60)
                  for index, (step, argv) in enumerate(steps)],
        **extra,
    }


def sh(script: str, *args: str) -> list[str]:
    """The argv of ``/bin/sh -c SCRIPT ARGS…`` ($0 is the first of ``args``)."""
    return ["/bin/sh", "-c", script, *args]


def gate_argv(folder: Path, then: Sequence[str] = ()) -> list[str]:
    """A step that writes ``folder/started``, waits until ``folder/gate`` exists, then execs ``then``."""
    script = ('touch "$0/started"; while [ ! -e "$0/gate" ]; do sleep 0.05; done; '
              + ('exec "$@"' if then else "exit 0"))
    return sh(script, str(folder), *then)


FETCH_WORKFLOW: dict[str, Any] = {
    "name": "fetch",
    "initial": "idle",
    "final": "extracted",
    "on_failure": "rollback",
    "states": ["idle", "downloaded", "verified", "extracted"],
    "steps": [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download",
         "retry": {"attempts": 2, "wait": "fixed", "initial": 0.1}},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
    ],
}


# -- release feeds on disk ------------------------------------------------------------------------

def release_archive(path: Path, version: str, images: Sequence[str]) -> Path:
    """A release package (DESIGN §4): release.json and compose.yaml in a tar.gz."""
    files = {
        "release.json": json.dumps({"product": PRODUCT, "version": version, "images": list(images)}).encode(),
        "compose.yaml": ("services:\n  web:\n    image: " + images[0] + "\n").encode(),
    }
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_795_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DiskFeed:
    """A release feed in a folder, reached as ``file://``; images are unique refs no engine has."""

    folder: Path
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.folder.as_uri() + "/"

    def image(self, version: str) -> str:
        return f"upgrader-operator-{self.tag}/web:{version}"

    def publish(self, version: str, released: datetime | None = None) -> dict[str, Any]:
        self.folder.mkdir(parents=True, exist_ok=True)
        archive = release_archive(self.folder / f"{PRODUCT}-{version}.tar.gz", version, [self.image(version)])
        data = archive.read_bytes()
        entry: dict[str, Any] = {"version": version, "archive": archive.name,
                                 "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        if released is not None:
            entry["released"] = iso(released)
        self.entries.append(entry)
        self.write_index()
        return entry

    def index(self) -> dict[str, Any]:
        return {"schema": 1, "product": PRODUCT, "releases": self.entries}

    def write_index(self) -> None:
        (self.folder / "index.json").write_text(json.dumps(self.index(), indent=2))


# -- small HTTP servers on 127.0.0.1 ------------------------------------------------------------

class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with a handler class; stopped by ``close``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer((HOST, 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class _WebhookHandler(_Quiet):
    def do_POST(self) -> None:
        receiver: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with receiver.lock:
            receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            code = receiver.answers.pop(0) if receiver.answers else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


class WebhookReceiver(LocalServer):
    """Records every POST; answers the statuses of ``answers`` first, then 200."""

    def __init__(self, answers: Sequence[int] = ()) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.answers = list(answers)
        super().__init__(_WebhookHandler)

    @property
    def url(self) -> str:
        return self.base + "/hooks/upgrader"

    def bodies(self) -> list[Any]:
        with self.lock:
            return [json.loads(request["body"]) for request in self.requests]


class _FeedHandler(_Quiet):
    def do_GET(self) -> None:
        feed: TokenFeedServer = self.server.owner  # type: ignore[attr-defined]
        authorization = self.headers.get("Authorization")
        if authorization is None:
            code, body = 401, b"token required\n"
        elif authorization != f"Bearer {feed.token}":
            code, body = 403, b"wrong token\n"
        elif self.path == "/feed/index.json":
            code, body = 200, feed.index
        else:
            code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TokenFeedServer(LocalServer):
    """Serves ``/feed/index.json`` to requests carrying ``Bearer <token>``: 401 without, 403 wrong."""

    def __init__(self, token: str, index: Mapping[str, Any]) -> None:
        self.token = token
        self.index = json.dumps(index).encode()
        super().__init__(_FeedHandler)

    @property
    def url(self) -> str:
        return self.base + "/feed/"


# -- the user's crontab ---------------------------------------------------------------------------

def crontab_text() -> str:
    """``crontab -l`` ('' when the user has none)."""
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else ""


def set_crontab(content: str) -> None:
    subprocess.run(["crontab", "-"], input=content, text=True, check=True, capture_output=True)


@contextlib.contextmanager
def preserved_crontab() -> Iterator[None]:
    """Keep the user's crontab as it is now and put it back, byte for byte, whatever happens."""
    saved = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    had = saved.returncode == 0
    try:
        yield
    finally:
        if had:
            set_crontab(saved.stdout)
        else:
            subprocess.run(["crontab", "-r"], capture_output=True, check=False)
        after = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        assert (after.returncode == 0) == had and (after.stdout if had else "") == (saved.stdout if had else ""), (
            "the crontab could not be restored")


def tagged_lines(root: Path, name: str, content: str | None = None) -> list[str]:
    """The crontab lines tagged for project ``name`` under ``root``."""
    from upgrader.cron import tag as cron_tag

    tag = cron_tag(root, name)
    return [line for line in (crontab_text() if content is None else content).splitlines()
            if line.endswith(tag)]


_SCHEDULE = re.compile(r"^\s*(@\w+|\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$")


def split_cron_line(line: str) -> tuple[str, str]:
    """A crontab line's schedule and its command part (everything after the time fields)."""
    match = _SCHEDULE.match(line)
    assert match, f"not a cron job line: {line!r}"
    return match.group(1), match.group(2)


def cron_command(command: str) -> tuple[str, str]:
    """What cron makes of a line's command part (Vixie cron's do_command): ``\\%`` becomes ``%``,
    the first unescaped ``%`` ends the command, and what follows it, with ``%`` as line breaks,
    is the command's standard input. Returns (shell command, stdin)."""
    shell: list[str] = []
    escaped = False
    for index, character in enumerate(command):
        if escaped:
            if character == "%":
                shell[-1] = "%"
            else:
                shell.append(character)
            escaped = False
            continue
        if character == "%":
            stdin: list[str] = []
            rest_escaped = False
            for later in command[index + 1:]:
                if rest_escaped:
                    if later != "%":
                        stdin.append("\\")
                elif later == "%":
                    later = "\n"
                rest_escaped = later == "\\"
                if not rest_escaped:
                    stdin.append(later)
            return "".join(shell), "".join(stdin)
        shell.append(character)
        escaped = character == "\\"
    return "".join(shell), ""


def run_like_cron(line: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """Execute a crontab line's command as cron does: ``/bin/sh -c`` under a bare environment."""
    _, command = split_cron_line(line)
    shell, stdin = cron_command(command)
    return subprocess.run(["env", "-i", f"PATH={CRON_PATH}", "/bin/sh", "-c", shell], cwd=cwd,
                          input=stdin.encode(), capture_output=True, timeout=timeout, check=False)


# -- tmux as a pseudo-terminal --------------------------------------------------------------------

class Tmux:
    """A private tmux server (its own socket); every session 100 by 30. ``close`` ends the server."""

    def __init__(self) -> None:
        self.socket = f"upgrader-operator-{secrets.token_hex(4)}"

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-u", "-L", self.socket, *args], capture_output=True, text=True,
                              check=False, env={**os.environ, "LANG": "C.UTF-8"})

    def start(self, session: str, argv: Sequence[str], cwd: Path,
              env: Mapping[str, str] | None = None) -> None:
        """Run ``argv`` in a new session; when it ends the pane shows ``[exit N]`` and stays."""
        assignments = " ".join(shlex.quote(f"{key}={value}") for key, value in (env or {}).items())
        command = (f"env LANG=C.UTF-8 {assignments} {shlex.join(argv)}; "
                   'echo "[exit $?]"; exec sleep 600')
        result = self._tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", session, "-c", str(cwd),
                            command)
        assert result.returncode == 0, result.stderr

    def screen(self, session: str) -> str:
        result = self._tmux("capture-pane", "-p", "-t", session)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def wait_screen(self, session: str, condition: Callable[[str], bool], what: str,
                    timeout: float = 20) -> str:
        last = ""

        def check() -> str | None:
            nonlocal last
            last = self.screen(session)
            return last if condition(last) else None

        try:
            return str(wait_for(check, what, timeout=timeout))
        except AssertionError as error:
            raise AssertionError(f"{error}; the screen:\n{last}") from None

    def close(self) -> None:
        self._tmux("kill-server")
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (folder / self.socket).unlink(missing_ok=True)


def step_line(screen: str, step: str) -> str:
    """The line of the live checklist that names ``step``."""
    for line in screen.splitlines():
        words = line.split()
        if len(words) >= 2 and words[1] == step:
            return line
    raise AssertionError(f"no line for step {step!r} on the screen:\n{screen}")
