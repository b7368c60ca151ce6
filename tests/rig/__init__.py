"""The test rig: a real registry on 127.0.0.1, busybox images built FROM scratch, release
packages and a feed served over HTTP on 127.0.0.1. Used by the Docker tests and ``make demo``.

Nothing here is fetched from the internet: the images are built around Debian's static busybox.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

# Suites that run at the same time (tests, benchmarks, reliability) each take their own port.
REGISTRY = os.environ.get("UPGRADER_RIG_REGISTRY", "127.0.0.1:5000")
PRODUCT = "acme-server"
BUSYBOX = Path("/bin/busybox")


def default_signals() -> None:  # pragma: no cover - runs in the child, as preexec_fn
    """SIGINT and SIGTERM as at an operator's prompt. A test session started in the background of
    a script inherits SIGINT ignored, and upgrader leaves an ignored signal ignored (``nohup``);
    a test that sends one to the command must start it with the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def registry_up() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Registry:
    """Debian's docker-registry serving on 127.0.0.1:5000 from a folder of ours."""

    root: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Registry:
        if registry_up():
            return self  # one is serving already (an earlier session or test)
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "storage:\n  filesystem:\n    rootdirectory: " + str(self.root / "data") + "\n"
            "  delete:\n    enabled: true\n"
            "http:\n  addr: " + REGISTRY + "\n"
            "log:\n  level: warn\n"
        )
        log = open(self.root / "registry.log", "ab")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for(f"http://{REGISTRY}/v2/")
        return self

    @property
    def owned(self) -> bool:
        """Whether this rig started the registry that serves (and so may stop and restart it)."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the registry this rig started (one it reused is left alone)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        deadline = time.monotonic() + 10
        while registry_up() and time.monotonic() < deadline:
            time.sleep(0.1)


def stale_registries() -> list[int]:
    """The pids of ``docker-registry`` processes serving this rig's address (REGISTRY)."""
    found = subprocess.run(["pgrep", "-x", "docker-registry"], capture_output=True, text=True,
                           check=False)
    pids = []
    for pid in (int(word) for word in found.stdout.split()):
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            config = Path(arguments[2].decode()).read_text()
        except (OSError, IndexError, UnicodeDecodeError):
            continue
        if f"addr: {REGISTRY}" in config:
            pids.append(pid)
    return pids


_CLAIM: list[int] = []  # the descriptor of this process's claim on the registry's address


def claim_registry() -> None:
    """Wait until no other test session owns the registry's address, then own it until this
    process ends (``flock`` on a file in /tmp, released by the kernel with the process): two
    sessions at once (two worktrees, say) would otherwise stop each other's registry."""
    import fcntl

    if _CLAIM:
        return
    claim = f"/tmp/upgrader-tests-registry-{REGISTRY.replace(':', '-')}.lock"
    descriptor = os.open(claim, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another test session to release {REGISTRY}", flush=True)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    _CLAIM.append(descriptor)


def stop_stale_registries(timeout: float = 10) -> list[int]:
    """Stop the ``docker-registry`` processes left by earlier sessions (each by its pid), so
    that the rig starts and owns the registry on 127.0.0.1:5000; the pids it stopped. A session
    that still runs is waited for first (``claim_registry``)."""
    claim_registry()
    pids = stale_registries()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (stopped, not yet reaped by its parent) no longer serves.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    return True


def build_image(reference: str, version: str, workdir: Path, payload_bytes: int = 0) -> None:
    """Build ``reference`` FROM scratch around busybox, serving ``version`` at /www/version.

    With ``payload_bytes``, the image gets one more layer: ``/payload``, that many bytes of
    random (incompressible) data of its own, so that pulling it moves that many bytes.
    """
    context = workdir / f"ctx-{hashlib.sha1(reference.encode()).hexdigest()[:10]}"  # noqa: S324
    if context.exists():
        shutil.rmtree(context)
    (context / "www").mkdir(parents=True)
    shutil.copy(BUSYBOX, context / "busybox")
    (context / "www" / "version").write_text(version + "\n")
    dockerfile = (
        "FROM scratch\n"
        "COPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        "COPY www /www\n"
    )
    if payload_bytes > 0:
        write_random(context / "payload", payload_bytes)
        dockerfile += "COPY payload /payload\n"
    (context / "Dockerfile").write_text(dockerfile)
    try:
        subprocess.run(["docker", "build", "-q", "-t", reference, str(context)], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        if payload_bytes > 0:
            shutil.rmtree(context, ignore_errors=True)  # the payload is in the image now


def write_random(path: Path, size: int, chunk: int = 1 << 22) -> None:
    """Write ``size`` bytes of random (incompressible) data to ``path``."""
    with open(path, "wb") as stream:
        left = size
        while left > 0:
            stream.write(os.urandom(min(chunk, left)))
            left -= min(chunk, left)


def push(reference: str) -> None:
    subprocess.run(["docker", "push", "-q", reference], check=True, stdout=subprocess.DEVNULL)


def image_refs(version: str) -> dict[str, str]:
    return {"web": f"{REGISTRY}/acme/web:{version}", "worker": f"{REGISTRY}/acme/worker:{version}"}


LAYOUTS = ("standard", "renamed", "network", "sidecar")


def compose_file(version: str, *, healthy: bool = True, images: dict[str, str] | None = None,
                 data: str = "data", layout: str = "standard") -> str:
    """The release's compose.yaml: a web service with a healthcheck, a worker that appends its
    version to /data/versions at each start. ``data`` is what /data is: the named volume ``data``,
    or a folder beside compose.yaml (``./data``). ``layout`` (one of ``LAYOUTS``) changes the
    project's shape: ``renamed``, the worker is the service ``jobs``; ``network``, the default
    network gets a driver option (an MTU); ``sidecar``, one more service, the same in every
    release (1.0.0's web image, sleeping), which Compose therefore starts again unchanged."""
    refs = images or image_refs(version)
    port = "8080" if healthy else "8081"  # a broken release serves on the wrong port
    named = "" if data.startswith(".") else f"volumes:\n  {data}: {{}}\n"
    worker = "jobs" if layout == "renamed" else "worker"
    if layout == "network":
        named += "networks:\n  default:\n    driver_opts:\n      com.docker.network.driver.mtu: \"1400\"\n"
    sidecar = (f"""  sidecar:
    image: {image_refs("1.0.0")["web"]}
    init: true
    command: ["sleep", "2147483647"]
""" if layout == "sidecar" else "")
    return f"""services:
  web:
    image: {refs['web']}
    init: true
    command: ["httpd", "-f", "-p", "{port}", "-h", "/www"]
    ports: ["127.0.0.1:${{HTTP_PORT}}:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/version"]
      interval: 1s
      timeout: 2s
      retries: 3
  {worker}:
    image: {refs['worker']}
    init: true
    command: ["sh", "-c", "echo {version} >> /data/versions; exec sleep 2147483647"]
    volumes: ["{data}:/data"]
{sidecar}""" + named


def write_package(path: Path, files: dict[str, str]) -> dict[str, object]:
    """A release package (gzip tar) of ``files`` (name → text); its index entry (relative archive)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    data = path.read_bytes()
    return {"archive": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def release_archive(path: Path, version: str, *, healthy: bool = True,
                    images: dict[str, str] | None = None, product: str = PRODUCT,
                    data: str = "data", layout: str = "standard") -> dict[str, object]:
    """Write a release package of the sample server to ``path``, made as a vendor makes it:
    ``upgrader release pack`` of a release folder (compose.yaml, defaults.env, config/); returns
    its index entry. Written over whatever ``path`` held (a test may replace a release)."""
    from upgrader.commands import release

    refs = images or image_refs(version)
    with tempfile.TemporaryDirectory(prefix=".pack-", dir=path.parent) as work:
        folder = Path(work) / "release"
        (folder / "config").mkdir(parents=True)
        (folder / "compose.yaml").write_text(compose_file(version, healthy=healthy, images=refs, data=data,
                                                          layout=layout))
        (folder / "defaults.env").write_text("HTTP_PORT=18080\n")
        (folder / "config" / "app.conf").write_text(f"version={version}\n")
        os.replace(release.pack(folder, version, product=product, out=Path(work)), path)
    packed = path.read_bytes()
    return {"version": version, "archive": path.name, "sha256": hashlib.sha256(packed).hexdigest(),
            "size": len(packed)}


def write_index(feed: Path, entries: list[dict[str, object]], product: str = PRODUCT) -> None:
    (feed / "index.json").write_text(json.dumps({"schema": 1, "product": product, "releases": entries},
                                                indent=2))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class FeedServer:
    """A folder served over HTTP on 127.0.0.1 (a free port)."""

    folder: Path
    server: http.server.ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> FeedServer:
        handler = partial(_QuietHandler, directory=str(self.folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@dataclass
class Feed:
    """A feed of its own (a sub-folder of the served folder with its own index.json)."""

    folder: Path
    url: str
    entries: list[dict[str, object]] = field(default_factory=list)

    def add(self, entry: dict[str, object]) -> dict[str, object]:
        """List a release entry (its archive in ``folder``) in the index; returns it."""
        self.entries = [e for e in self.entries if e["version"] != entry["version"]] + [entry]
        write_index(self.folder, self.entries)
        return entry


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Rig:
    """A registry with the sample images, and a feed of sample releases."""

    workdir: Path
    registry: Registry = field(init=False)
    feed_dir: Path = field(init=False)
    feed: FeedServer = field(init=False)
    built: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.registry = Registry(self.workdir / "registry")
        self.feed_dir = self.workdir / "feed"
        self.feed_dir.mkdir(parents=True, exist_ok=True)
        self.feed = FeedServer(self.feed_dir)

    def start(self) -> Rig:
        self.registry.start()
        self.feed.start()
        return self

    def stop(self) -> None:
        self.feed.stop()
        self.registry.stop()

    def publish_images(self, version: str, *, images: dict[str, str] | None = None,
                       payload_bytes: int = 0) -> dict[str, str]:
        """Build and push the images of ``version`` (``images``: other references than the
        sample's; ``payload_bytes``: a random layer of that size in each, see ``build_image``)."""
        refs = images or image_refs(version)
        for reference in refs.values():
            if reference not in self.built:
                build_image(reference, version, self.workdir, payload_bytes)
                push(reference)
                self.built.add(reference)
        return refs

    def release(self, version: str, *, feed: Feed | None = None, **options: object) -> dict[str, object]:
        """Publish images (unless ``images`` is given) and a package of ``version``; with ``feed``,
        the package goes into that feed's folder and is listed in its index."""
        if "images" not in options:
            self.publish_images(version)
        folder = feed.folder if feed is not None else self.feed_dir
        entry = release_archive(folder / f"{PRODUCT}-{version}.tar.gz", version, **options)  # type: ignore[arg-type]
        return feed.add(entry) if feed is not None else entry

    def feed_for(self, name: str) -> Feed:
        """An empty feed of its own, served at ``<feed url>/<name>/``."""
        folder = self.feed_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        feed = Feed(folder, f"{self.feed.url}{name}/")
        write_index(folder, [])
        return feed


def answer(port: int, path: str = "/version", timeout: float = 2) -> str | None:
    """What the web service on 127.0.0.1:``port`` answers, or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return str(response.read().decode().strip())
    except OSError:
        return None


class Poller:
    """Asks the web service on 127.0.0.1:``port`` for its version every 50 ms, in a thread, and
    keeps every answer (None: nothing answered)."""

    def __init__(self, port: int) -> None:
        self.answers: list[str | None] = []
        self._port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.answers.append(answer(self._port, timeout=1))
            self._stop.wait(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[Poller]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


@contextlib.contextmanager
def temporary_rig() -> Iterator[Rig]:
    with tempfile.TemporaryDirectory(prefix="upgrader-rig-") as folder:
        rig = Rig(Path(folder)).start()
        try:
            yield rig
        finally:
            rig.stop()


def remove_local_images(references: list[str]) -> None:
    """Remove images from the local engine (so that using them needs a pull)."""
    subprocess.run(["docker", "rmi", "-f", *references], capture_output=True, check=False)


def local_image(reference: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", reference], capture_output=True,
                          check=False).returncode == 0


def volume_exists(name: str) -> bool:
    return subprocess.run(["docker", "volume", "inspect", name], capture_output=True,
                          check=False).returncode == 0


def read_volume(volume: str, path: str, image: str) -> str:
    """The text of ``path`` inside named volume ``volume`` (mounted at /data), read with ``image``."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{volume}:/data:ro", image, "cat", path],
        capture_output=True, text=True, check=True,
    ).stdout


def remove_project(name: str) -> None:
    """Take a test project's containers and volumes away (tests only; upgrader never does)."""
    from upgrader.runtime import compose

    subprocess.run([*compose.command(), "-p", name, "down", "-v", "--remove-orphans"],
                   capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", "-f", f"{name}_data"], capture_output=True, check=False)


os.environ.setdefault("DOCKER_CLI_HINTS", "false")
