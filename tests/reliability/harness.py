"""The reliability suite's world: the real rig (registry, feed, Docker) and the invariant checked
after every fault.

A ``World`` (one per session) owns a registry on ``UPGRADER_RIG_REGISTRY`` (127.0.0.1:5002 unless
set, so that it never meets the registry of another suite running at the same time), a feed server
with faults (``tests.integration.feedrig.FeedServer``: throttle, drop, token) and a throttling TCP
proxy in front of the registry, so that a pull can be caught and cut in its middle.

A ``RelProject`` is one Compose project (name ``rel-…``) under its own server root, with its own
feed folder, HTTP port, a distinctive feed token in ``feed.token`` (the feed refuses requests
without it) and a seeded named volume. ``Baseline``/``check_invariant`` state the promise that
every case must keep:

    the server answers, on the target release or on the release it ran before; project.yaml,
    feed.token and every named volume are byte-identical to before (the worker's own append-only
    log excepted, whose earlier content must stay); ``status --json`` tells the truth; every
    state file validates against state/*.schema.json (0600, folder 0700); nothing was written
    outside the root.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Before tests.rig reads it: this suite's own registry address.
os.environ.setdefault("UPGRADER_RIG_REGISTRY", "127.0.0.1:5002")

from tests.integration.feedrig import FeedServer, snapshot
from tests.integration.support import UPGRADER, Outcome, assert_state_valid, process_gone
from tests.rig import (
    PRODUCT,
    REGISTRY,
    Registry,
    build_image,
    compose_file,
    default_signals,
    free_port,
    image_refs,
    push,
    remove_local_images,
    remove_project,
    stop_stale_registries,
)
from tests.rig import answer as rig_answer
from tests.rig.faults import HOLD_SCRIPT as HOLD_SCRIPT
from tests.rig.faults import Hold as Hold
from tests.rig.faults import hold_workflow as hold_workflow

# The environment a test must not hand to upgrader: proxies, credentials, another root.
_SCRUBBED = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "upgrader_feed_token", "upgrader_root",
             "requests_ca_bundle", "curl_ca_bundle")

INVARIANT = (
    "the server answers on the target or the previous release; project.yaml, feed.token and the "
    "named volume are byte-identical to before (the worker's append-only log may only grow, and "
    "after a rollback only by the start-up lines of the release that answers: the data snapshot put "
    "back what the rolled-back release wrote); "
    "`status --json` agrees with what answers (installed, state/outcome, not interrupted, lock "
    "free); every state file validates against state/*.schema.json and is 0600 in a 0700 folder; "
    "no file was written outside the root"
)


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
        time.sleep(interval)


# -- a throttling TCP proxy in front of the registry ---------------------------------------------


class SlowProxy:
    """127.0.0.1:<port> → ``upstream``, the downstream bytes throttled to ``rate`` bytes a second.

    ``sent`` counts the bytes handed to clients; ``sever()`` cuts every open connection.
    """

    def __init__(self, upstream: str, rate: float | None = None, port: int = 0) -> None:
        host, upstream_port = upstream.rsplit(":", 1)
        self.upstream = (host, int(upstream_port))
        self.rate = rate
        self.sent = 0
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._stopped:
                client.close()
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, downstream: bool) -> None:
        began = time.monotonic()
        moved = 0
        try:
            while True:
                chunk = source.recv(16384)
                if not chunk:
                    break
                target.sendall(chunk)
                if downstream:
                    moved += len(chunk)
                    with self.lock:
                        self.sent += len(chunk)
                    rate = self.rate
                    if rate:
                        ahead = moved / rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    end.close()

    def sever(self) -> None:
        with self.lock:
            connections, self.connections = self.connections, []
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.close()

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        with contextlib.suppress(OSError):
            self.listener.close()
        self.sever()


# -- the session's world ------------------------------------------------------------------------


@dataclass
class World:
    """The registry (owned: it may be stopped and started), the feed server, the slow proxy."""

    workdir: Path
    registry: Registry = field(init=False)
    feed: FeedServer = field(init=False)
    proxy: SlowProxy = field(init=False)
    site: Path = field(init=False)
    built: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.site = self.workdir / "site"
        self.site.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(self.workdir / "registry")

    def start(self) -> World:
        stop_stale_registries()  # an earlier session's registry on our address: we must own ours
        self.registry.start()
        self.feed = FeedServer(self.site).start()
        self.proxy = SlowProxy(REGISTRY)
        for version in ("1.0.0", "1.1.0"):
            self.publish_images(version)
        return self

    def stop(self) -> None:
        self.proxy.stop()
        self.feed.stop()
        self.registry.stop()

    def publish_images(self, version: str) -> dict[str, str]:
        refs = image_refs(version)
        for reference in refs.values():
            if reference not in self.built:
                build_image(reference, version, self.workdir)
                push(reference)
                self.built.add(reference)
        return refs

    def fat_images(self, tag: str, megabytes: int = 4) -> dict[str, str]:
        """Images of 1.1.0 with a random layer of ``megabytes`` (a new tag and new layers on every
        call), pushed to the registry and named by the slow proxy's address (so that pulling them
        goes through it, at its rate). The local copies are removed: using them needs a pull."""
        self.publish_images("1.1.0")
        tag = f"{tag}-{secrets.token_hex(3)}"  # new layers each time: none of them is local already
        direct = {service: f"{REGISTRY}/acme/{service}:{tag}" for service in ("web", "worker")}
        via = {service: f"{self.proxy.address}/acme/{service}:{tag}" for service in ("web", "worker")}
        if direct["web"] not in self.built:
            for service, reference in direct.items():
                context = self.workdir / f"fat-{service}-{tag}"
                context.mkdir(parents=True, exist_ok=True)
                (context / "blob").write_bytes(os.urandom(megabytes << 20))
                (context / "Dockerfile").write_text(f"FROM {image_refs('1.1.0')[service]}\nCOPY blob /blob\n")
                subprocess.run(["docker", "build", "-q", "-t", reference, str(context)], check=True,
                               stdout=subprocess.DEVNULL)
                push(reference)
                self.built.add(reference)
        remove_local_images([*direct.values(), *via.values()])
        return via


# -- release archives ---------------------------------------------------------------------------


def release_bytes(version: str, *, healthy: bool = True, images: Mapping[str, str] | None = None,
                  extra: Mapping[str, bytes] | None = None, product: str = PRODUCT,
                  layout: str = "standard") -> bytes:
    """A release package (DESIGN §4) of the rig's sample server, with ``extra`` files."""
    refs = dict(images or image_refs(version))
    files: dict[str, bytes] = {
        "release.json": json.dumps({"product": product, "version": version,
                                    "images": sorted(refs.values())}).encode(),
        "compose.yaml": compose_file(version, healthy=healthy, images=refs, layout=layout).encode(),
        "defaults.env": b"HTTP_PORT=18080\n",
        "config/app.conf": f"version={version}\n".encode(),
        **(extra or {}),
    }
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in folders:
                    folders.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# -- one project --------------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class RelProject:
    """One Compose project under its own root in ``tmp``; see the module's docstring."""

    world: World
    tmp: Path
    name: str
    root: Path
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: f"rel-TOKEN-{secrets.token_hex(12)}")
    product: str = PRODUCT
    spawned: list[subprocess.Popen[bytes]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.feed_dir.mkdir(parents=True, exist_ok=True)
        self.test_dir.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.write_index()
        token_file = self.dir / "feed.token"
        token_file.write_text(self.token + "\n")
        token_file.chmod(0o600)
        self.configure()

    # -- places ---------------------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return self.root / "projects" / self.name

    @property
    def state(self) -> Path:
        return self.root / "state" / self.name

    @property
    def feed_dir(self) -> Path:
        return self.world.site / self.name

    @property
    def feed_url(self) -> str:
        return self.world.feed.url(f"{self.name}/")

    @property
    def test_dir(self) -> Path:
        """The test's own files (hold markers, outputs): beside the root, never in it."""
        return self.tmp / f"test-{self.name}"

    @property
    def tmpdir(self) -> Path:
        """upgrader's TMPDIR: must stay empty."""
        return self.tmp / f"tmpdir-{self.name}"

    @property
    def volume(self) -> str:
        return f"{self.name}_data"

    def archive_path(self, version: str) -> str:
        return f"/{self.name}/{self.product}-{version}.tar.gz"

    # -- the feed -------------------------------------------------------------------------------

    def write_index(self) -> None:
        document = {"schema": 1, "product": self.product, "releases": self.entries}
        (self.feed_dir / "index.json").write_text(json.dumps(document, indent=2))
        self.behave(f"/{self.name}/index.json")

    def behave(self, path: str, **settings: Any) -> None:
        """What the feed does for ``path``; it always wants this project's token."""
        settings.setdefault("token", self.token)
        self.world.feed.behave(path, **settings)

    def publish(self, version: str, **options: Any) -> dict[str, Any]:
        """Put release ``version`` (see ``release_bytes``) in this project's feed."""
        if "images" not in options:
            self.world.publish_images(version)
        data = release_bytes(version, product=self.product, **options)
        path = self.feed_dir / f"{self.product}-{version}.tar.gz"
        path.write_bytes(data)
        entry = {"version": version, "archive": path.name, "sha256": _sha(data), "size": len(data)}
        self.behave(self.archive_path(version))
        self.entries = [e for e in self.entries if e["version"] != version] + [entry]
        self.write_index()
        return entry

    # -- project.yaml ---------------------------------------------------------------------------

    def configure(self, workflow: str | Path = "upgrade", **settings: Any) -> None:
        document = {"feed": self.feed_url, "token_file": "feed.token", "workflow": str(workflow),
                    "health_timeout": 30, "values": {"HTTP_PORT": str(self.port)}, **settings}
        (self.dir / "project.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    # -- the command ----------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key.lower() not in _SCRUBBED}
        env["TMPDIR"] = str(self.tmpdir)
        env.update(self.extra_env)
        return env

    def argv(self, *args: str) -> list[str]:
        return [str(UPGRADER), "--root", str(self.root), "-n", self.name, *args]

    def cli(self, *args: str, timeout: float = 240) -> Outcome:
        began = time.monotonic()
        try:
            result = subprocess.run(self.argv(*args), capture_output=True, text=True, check=False,
                                    stdin=subprocess.DEVNULL, timeout=timeout, env=self.env())
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"upgrader {' '.join(args)} still ran after {timeout:g} s:"
                                 f" {error.stdout!r} {error.stderr!r}") from None
        outcome = Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - began)
        self._keep(args, outcome.stdout + "\n" + outcome.stderr)
        return outcome

    def _keep(self, args: Iterable[str], text: str) -> None:
        path = self.test_dir / f"out-{len(self.outputs)}.txt"
        path.write_text(f"$ upgrader {' '.join(args)}\n{text}")
        self.outputs.append(path)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start the command without waiting; its output goes to a file of the test's."""
        path = self.test_dir / f"spawn-{len(self.spawned)}.txt"
        with open(path, "wb") as output:
            process = subprocess.Popen(self.argv(*args), stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, env=self.env(), preexec_fn=default_signals)
        named = path.with_name(f"out-{process.pid}.txt")
        path.rename(named)  # the open file follows its new name
        self.outputs.append(named)
        self.spawned.append(process)
        return process

    def output_of(self, process: subprocess.Popen[bytes]) -> str:
        """What a spawned command printed (stdout and stderr together)."""
        path = self.test_dir / f"out-{process.pid}.txt"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.outputs if path.exists())

    # -- what is --------------------------------------------------------------------------------

    def install(self, version: str = "1.0.0") -> None:
        self.publish(version)
        result = self.cli("run", "--to", version)
        assert result.returncode == 0, result.output
        assert self.answer() == version, result.output

    def answer(self, timeout: float = 0) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            got = rig_answer(self.port)
            if got is not None or time.monotonic() >= deadline:
                return got
            time.sleep(0.2)

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--json")
        assert result.returncode == 0, result.output
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def history(self) -> list[dict[str, Any]]:
        result = self.cli("history", "--json")
        assert result.returncode == 0, result.output
        data: list[dict[str, Any]] = json.loads(result.stdout)
        return data

    def journal(self) -> list[dict[str, Any]]:
        path = self.state / "journal.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def events(self, event: str, step: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """The journal's ``event`` entries (of ``step``), from entry number ``since`` on."""
        return [entry for entry in self.journal()[since:]
                if entry["event"] == event and (step is None or entry["step"] == step)]

    def seed_volume(self, files: int = 0) -> None:
        """Operator data in the named volume: a random database file and a small state file, and
        ``files`` more files of 1 MiB each."""
        image = image_refs("1.0.0")["web"]
        more = f"mkdir -p /data/bulk && for i in $(seq {files}); do head -c 1048576 /dev/urandom > /data/bulk/$i; done"
        subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "-v", f"{self.volume}:/data", image, "sh", "-c",
             "mkdir -p /data/db && head -c 131072 /dev/urandom > /data/db/blob && echo 42 > /data/db/state"
             + (f" && {more}" if files else "")],
            check=True, capture_output=True)

    def volume_digest(self) -> tuple[str | None, dict[str, str]]:
        """The volume's identity (None when it is gone) and path → sha256 of every file.

        The identity is its mountpoint and that folder's inode: a volume removed and
        created again has another. (Docker's CreatedAt is the mountpoint's ctime, which any
        file created at the volume's top level changes.)"""
        inspected = subprocess.run(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", self.volume],
                                   capture_output=True, text=True, check=False)
        if inspected.returncode != 0:
            return None, {}
        mountpoint = Path(inspected.stdout.strip())
        identity = f"{mountpoint} inode {mountpoint.stat().st_ino}"
        listing = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "-v", f"{self.volume}:/data:ro",
             image_refs("1.0.0")["web"], "sh", "-c",
             "cd /data && find . -type f | sort | while read f; do sha256sum \"$f\"; done; "
             "echo '--versions'; cat ./versions 2>/dev/null"],
            capture_output=True, text=True, check=True).stdout
        digests: dict[str, str] = {}
        head, _, versions = listing.partition("--versions\n")
        for line in head.splitlines():
            digest, path = line.split(None, 1)
            digests[path] = digest
        digests["./versions"] = versions  # the worker's own append-only log: its text
        return identity, digests

    def kill_everything(self) -> list[int]:
        """SIGKILL every upgrader process of this root and every process it started (a power cut)."""
        killed = []
        for pid in _pids_mentioning(str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        for process in self.spawned:
            if process.poll() is None:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        for pid in killed:
            wait_until(lambda pid=pid: process_gone(pid), 10, f"pid {pid} to be gone")
        return killed

    def close(self) -> None:
        for process in self.spawned:
            if process.poll() is None:
                process.kill()
                process.wait()
        remove_project(self.name)


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in arguments:
            pids.append(int(entry.name))
    return pids


# -- the invariant ------------------------------------------------------------------------------


@dataclass
class Baseline:
    """What must not change: the operator's files, the volume, everything outside the root."""

    project: RelProject
    files: dict[str, bytes]
    volume_created: str | None
    volume: dict[str, str]
    outside: dict[str, Any]

    @classmethod
    def take(cls, project: RelProject) -> Baseline:
        files = {name: (project.dir / name).read_bytes() for name in ("project.yaml", "feed.token")}
        created, volume = project.volume_digest()
        return cls(project, files, created, volume, outside_snapshot(project))


def outside_snapshot(project: RelProject) -> dict[str, Any]:
    """The watched places outside the root: the root's siblings (but the test's own folder),
    upgrader's TMPDIR, the feed's folder, and /tmp's top level entries that name this project
    or upgrader."""
    siblings = sorted(entry.name for entry in project.root.parent.iterdir()
                      if entry != project.root and entry != project.test_dir)
    tmp_top = sorted(entry.name for entry in Path("/tmp").iterdir()
                     if project.name in entry.name or "upgrader" in entry.name.lower())
    return {"siblings": siblings, "tmpdir": snapshot(project.tmpdir), "feed": snapshot(project.feed_dir),
            "/tmp": tmp_top}


def check_invariant(baseline: Baseline, *, versions: Iterable[str], outcome: str | Iterable[str] | None = None,
                    answer_timeout: float = 10) -> str:
    """Assert the invariant (see the module's docstring); returns the version that answers.

    ``versions``: the releases that may answer (the target, the previous one); ``outcome``: the
    statuses the last run may have (None: any finished one).
    """
    project = baseline.project
    allowed = set(versions)
    answered = project.answer(timeout=answer_timeout)
    context = f"\n--- outputs\n{project.all_output()[-6000:]}"
    assert answered in allowed, f"the server answers {answered!r}, expected one of {sorted(allowed)}{context}"

    for name, before in baseline.files.items():
        after = (project.dir / name).read_bytes()
        assert after == before, f"{project.dir / name} changed"

    created, volume = project.volume_digest()
    assert created is not None, f"volume {project.volume} is gone"
    assert created == baseline.volume_created, f"volume {project.volume} was recreated"
    before_versions = baseline.volume.get("./versions", "")
    after_versions = volume.get("./versions", "")
    assert after_versions.startswith(before_versions), "the volume's versions log was rewritten"
    status = project.status()
    run = status["run"]
    if run is not None and run["status"] == "rolled_back":
        # The data snapshot was restored (or never needed): what the release being rolled back
        # wrote is gone; only the release that answers may have added its own start-up line.
        written = after_versions[len(before_versions):].split()
        assert set(written) <= {answered}, f"after the rollback the volume holds lines {written} of other releases"
    changed = {path for path in set(volume) | set(baseline.volume)
               if path != "./versions" and volume.get(path) != baseline.volume.get(path)}
    assert not changed, f"volume {project.volume}: changed {sorted(changed)}"

    assert status["installed"] == answered, f"status says installed {status['installed']}, {answered} answers"
    assert not status["interrupted"], f"status says interrupted: {status}"
    assert status["lock"] is None, f"status says locked: {status}"
    assert run is not None
    statuses = {"completed", "rolled_back"} if outcome is None else (
        {outcome} if isinstance(outcome, str) else set(outcome))
    assert run["status"] in statuses, f"run status {run['status']}, expected {sorted(statuses)}: {run}"
    if run["status"] == "completed":
        assert (run["to"], run["state"]) == (answered, "healthy"), f"completed, but {answered} answers: {run}"
    elif run["status"] == "rolled_back":
        assert (run["from"], run["state"]) == (answered, "idle"), f"rolled back, but {answered} answers: {run}"

    # Stop and start in place leave containers behind by design; none may be of another release.
    # (The ``sidecar`` layout's service runs 1.0.0's image in every release.)
    listed = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project.name}",
                             "--format", '{{.Names}} {{.Image}} {{.Label "com.docker.compose.service"}}'],
                            capture_output=True, text=True, check=True)
    stale = [line for line in listed.stdout.splitlines() if not line.endswith(" sidecar")
             and not line.split(" ")[1].rsplit(":", 1)[-1].startswith(str(answered))]
    assert not stale, f"{answered} answers, but the project still has containers {stale}"

    assert_state_valid(project.root, project.name)
    _assert_private(project)
    after = outside_snapshot(project)
    for key, before in baseline.outside.items():
        assert after[key] == before, f"outside the root, {key} changed: {before} → {after[key]}"
    return str(answered)


def _assert_private(project: RelProject) -> None:
    """The logs folder 0700 and every log 0600 (state/ is checked by assert_state_valid)."""
    for folder in (project.root / "state", project.root / "logs"):
        if folder.exists():
            assert folder.stat().st_mode & 0o777 == 0o700, f"{folder}: {oct(folder.stat().st_mode & 0o777)}"
    logs = project.root / "logs"
    if logs.exists():
        for log in logs.iterdir():
            assert log.stat().st_mode & 0o777 == 0o600, f"{log}: {oct(log.stat().st_mode & 0o777)}"


def copy_tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
