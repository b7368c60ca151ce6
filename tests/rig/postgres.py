"""Debian's PostgreSQL 15 as an image, with no image registry on the internet.

``debootstrap --variant=minbase --include=postgresql-15,busybox bookworm`` from the machine's own
Debian mirror (the first ``URIs:`` of /etc/apt/sources.list.d/debian.sources) makes a root file
system, which ``docker import`` turns into an image and the rig pushes to its registry. The root
file system is cached as a tarball (``pg15-bookworm.tar`` in ``$UPGRADER_TEST_CACHE``, by default
``~/.cache/upgrader-tests/``), built in a temporary folder beside it and renamed when complete, so
that a build killed halfway never leaves a bad cache; later sessions only import it (seconds).

What the image holds: the cluster ``15/main`` the package initialised (data
``/var/lib/postgresql/15/main``, configuration ``/etc/postgresql/15/main/``), the server and client
binaries in ``/usr/lib/postgresql/15/bin/`` (``BIN``), Debian's dynamic busybox (``busybox httpd``,
``busybox wget``), ``sh``, and ``/run/postgresql`` writable by the user ``postgres``. It has no
CMD: a Compose file gives ``command:`` (see ``server_command``), runs the server as ``user:
postgres`` with ``init: true``, and ships its own pg_hba.conf (Debian's matches only local peer and
127.0.0.1 connections first) through ``-c hba_file=…``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.rig import REGISTRY, Rig, push

IMAGE = f"{REGISTRY}/acme/pg:15"
BIN = "/usr/lib/postgresql/15/bin"
DATA = "/var/lib/postgresql/15/main"
CONFIG = "/etc/postgresql/15/main/postgresql.conf"
SUITE = "bookworm"
PACKAGES = ("postgresql-15", "busybox")
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
CACHE_NAME = "pg15-bookworm.tar"
LABEL = "io.upgrader.test.rootfs"  # which cached tarball an imported image came from


def cache_file() -> Path:
    """Where the root file system's tarball is cached: ``$UPGRADER_TEST_CACHE`` (a folder; a path
    ending in ``.tar`` is taken as the file itself), else ``~/.cache/upgrader-tests/``."""
    configured = os.environ.get("UPGRADER_TEST_CACHE")
    if configured and configured.endswith(".tar"):
        return Path(configured).expanduser()
    folder = Path(configured).expanduser() if configured else Path.home() / ".cache" / "upgrader-tests"
    return folder / CACHE_NAME


def mirror() -> str:
    """The first ``URIs:`` of the machine's Debian sources (deb822), else deb.debian.org."""
    with contextlib.suppress(OSError):
        for line in SOURCES.read_text().splitlines():
            if line.strip().lower().startswith("uris:"):
                uris = line.split(":", 1)[1].split()
                if uris:
                    return uris[0]
    return "http://deb.debian.org/debian"


def server_command(hba_file: str, *settings: str) -> list[str]:
    """The argv that runs the cluster in the foreground (as the user ``postgres``), listening on
    every address, with ``hba_file`` and more ``name=value`` settings."""
    argv = [f"{BIN}/postgres", "-D", DATA, "-c", f"config_file={CONFIG}", "-c", f"hba_file={hba_file}",
            "-c", "listen_addresses=*", "-c", "ssl=off", "-c", "jit=off"]
    for setting in settings:
        argv += ["-c", setting]
    return argv


# -- the root file system ------------------------------------------------------------------------


def _ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def _mounts_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder`` (debootstrap mounts /proc and /sys in its target)."""
    prefix = str(folder.resolve())
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


def _processes_in(folder: Path) -> list[int]:
    """Processes whose root is ``folder`` (a package's maintainer script that started a daemon)."""
    target = str(folder.resolve())
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == target:
                    pids.append(int(entry.name))
    return pids


def _discard(folder: Path) -> None:
    """Remove a build folder: first whatever runs or is mounted inside it (only ever below it)."""
    if not folder.exists():
        return
    for pid in _processes_in(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    for point in _mounts_under(folder):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    if _mounts_under(folder):
        raise RuntimeError(f"{folder}: still has mounts below it; not removing it")
    shutil.rmtree(folder, ignore_errors=True)


def _postgres_ids(rootfs: Path) -> tuple[int, int]:
    for line in (rootfs / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "postgres":
            return int(fields[2]), int(fields[3])
    raise RuntimeError(f"{rootfs}: no user postgres (did postgresql-15 install?)")


# What the image does not need (about half of the root file system): apt's downloads and lists,
# documentation and translations, locale sources, and the LLVM that only PostgreSQL's JIT loads
# (the server runs with jit=off; without llvmjit.so it could not load it anyway).
_TRIMMED = ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_*", "usr/share/doc/*", "usr/share/man/*",
            "usr/share/info/*", "usr/share/locale/*", "usr/share/i18n/*", "usr/lib/x86_64-linux-gnu/libLLVM-*",
            "usr/lib/aarch64-linux-gnu/libLLVM-*", "usr/lib/*/libz3.so*", "usr/lib/postgresql/15/lib/llvmjit*",
            "usr/lib/postgresql/15/lib/bitcode")


def _trim(rootfs: Path) -> None:
    for pattern in _TRIMMED:
        for entry in rootfs.glob(pattern):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def build_rootfs(cache: Path | None = None) -> Path:
    """Build the root file system's tarball into the cache unless it is there; returns its path.

    About 40 s to a few minutes, by the mirror's speed. The tarball appears only complete.
    """
    cache = cache or cache_file()
    if cache.is_file():
        return cache
    _ensure_debootstrap()
    cache.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".pg15-build-", dir=cache.parent))
    rootfs = work / "rootfs"
    try:
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs),
             mirror()],
            capture_output=True, text=True, check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                               f"{result.stderr[-3000:]}")
        for pid in _processes_in(rootfs):  # a maintainer script may have started the cluster
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        uid, gid = _postgres_ids(rootfs)
        run = rootfs / "run" / "postgresql"
        run.mkdir(parents=True, exist_ok=True)
        os.chown(run, uid, gid)
        run.chmod(0o2775)
        for stale in ("15-main.pid", ".s.PGSQL.5432", ".s.PGSQL.5432.lock"):
            (run / stale).unlink(missing_ok=True)
        (rootfs / DATA.lstrip("/") / "postmaster.pid").unlink(missing_ok=True)
        _trim(rootfs)
        partial = work / CACHE_NAME
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial),
                        "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "."], check=True)
        with open(partial, "rb") as stream:
            os.fsync(stream.fileno())
        partial.rename(cache)
    finally:
        _discard(work)
    return cache


# -- the image ------------------------------------------------------------------------------------


def _cache_id(cache: Path) -> str:
    stat = cache.stat()
    return f"{stat.st_size}-{stat.st_mtime_ns}"


def _local_label(reference: str) -> str | None:
    result = subprocess.run(["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}',
                             reference], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def import_image(reference: str = IMAGE, cache: Path | None = None) -> str:
    """``docker import`` the cached root file system as ``reference`` (unless that image is
    already this tarball's), then check once that it runs PostgreSQL. Returns ``reference``."""
    cache = build_rootfs(cache)
    wanted = _cache_id(cache)
    if _local_label(reference) == wanted:
        return reference
    with open(cache, "rb") as stream:
        subprocess.run(["docker", "import", "--change", f"LABEL {LABEL}={wanted}",
                        "--change", "ENV LANG=C.UTF-8", "-", reference],
                       stdin=stream, check=True, stdout=subprocess.DEVNULL)
    verify_image(reference)
    return reference


def verify_image(reference: str = IMAGE, timeout: float = 60) -> None:
    """Start the image's cluster in a throwaway container and ask psql for ``select 1``."""
    name = f"pg-verify-{os.getpid()}-{int(time.monotonic() * 1000)}"
    subprocess.run(["docker", "run", "-d", "--rm", "--init", "--network", "none", "--name", name,
                    "--user", "postgres", reference,
                    *server_command("/etc/postgresql/15/main/pg_hba.conf")],
                   check=True, capture_output=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            asked = subprocess.run(["docker", "exec", "-u", "postgres", name, f"{BIN}/psql", "-XtAc",
                                    "select 1"], capture_output=True, text=True, check=False)
            if asked.returncode == 0 and asked.stdout.strip() == "1":
                return
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
                raise RuntimeError(f"{reference}: PostgreSQL did not answer in {timeout:g} s: "
                                   f"{asked.stderr.strip()}\n{logs.stdout}{logs.stderr}")
            time.sleep(0.3)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def pg_image(registry_rig: Rig, reference: str = IMAGE) -> str:
    """The PostgreSQL 15 image, in the local engine and pushed to ``registry_rig``'s registry
    (built or imported as needed, pushed once per rig); its reference."""
    if reference in registry_rig.built:
        return reference
    import_image(reference)
    push(reference)
    registry_rig.built.add(reference)
    return reference


def remove_image(reference: str = IMAGE) -> None:
    """Take the imported image out of the local engine (the cached tarball stays)."""
    subprocess.run(["docker", "rmi", "-f", reference], capture_output=True, check=False)


if __name__ == "__main__":  # build the cache ahead: python -m tests.rig.postgres
    began = time.monotonic()
    path = build_rootfs()
    print(f"{path} ({path.stat().st_size >> 20} MiB) in {time.monotonic() - began:.1f} s")
