"""The ``engine`` snapshot method on the real Docker Engine: a volume read through a never-started
helper container into a copy, and the copy written back into the volume, byte for byte.

The volume's mountpoint (/var/lib/docker/volumes/<name>/_data) is read directly, as root, to
check both directions. Every container, volume and image made here has a random suffix and goes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.rig import build_image
from upgrader.errors import ActionError
from upgrader.runtime import volumes
from upgrader.snapshot import tree
from upgrader.snapshot.archive import ArchiveError, tar_to_tree, tree_to_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="reads volume mountpoints as root")

SPARSE_SIZE = (64 << 20) + 4  # "head", a 64 MiB hole, "tail"
FILL = r"""
set -e
cd /v
mkdir -p dir/sub empty
printf 'hello\n' > dir/f
ln dir/f hard
ln -s f dir/link-in
ln -s /etc/passwd link-out
mkfifo fifo
printf 'head' > sparse
dd if=/dev/zero of=sparse bs=4096 seek=16384 count=0 2>/dev/null
printf 'tail' >> sparse
printf 'secret\n' > locked
chmod 0000 locked
printf 'theirs\n' > owned
chown 1234:5678 owned
chmod 0640 owned
chown -h 42:43 dir/link-in
chown 1000:1000 dir/sub
printf '#!/bin/sh\n' > setuid
chmod 4755 setuid
printf 'newline\n' > "$(printf 'new\nline')"
printf 'not utf-8\n' > "$(printf 'bad\377name')"
touch -d '2001-02-03 04:05:06' dir/f
"""


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def describe(top: str | Path) -> dict[bytes, tuple[Any, ...]]:
    """Path → (type, mode, uid, gid, mtime in whole seconds, size, content sha256 or link target,
    hard-link group) of everything under ``top``, the root included."""
    base = os.fsencode(top)
    found: dict[bytes, os.stat_result] = {b".": os.lstat(base)}
    pending = [b""]
    while pending:
        folder = pending.pop()
        for item in os.scandir(os.path.join(base, folder) if folder else base):
            path = folder + b"/" + item.name if folder else item.name
            found[path] = item.stat(follow_symlinks=False)
            if item.is_dir(follow_symlinks=False):
                pending.append(path)
    groups: dict[int, list[bytes]] = {}
    for path, status in found.items():
        if stat.S_ISREG(status.st_mode):
            groups.setdefault(status.st_ino, []).append(path)
    result = {}
    for path, status in found.items():
        full = os.path.join(base, path) if path != b"." else base
        detail: Any = None
        if stat.S_ISREG(status.st_mode):
            with open(full, "rb") as content:
                detail = hashlib.file_digest(content, "sha256").hexdigest()
        elif stat.S_ISLNK(status.st_mode):
            detail = os.readlink(full)
        group = sorted(groups[status.st_ino]) if stat.S_ISREG(status.st_mode) else []
        mode = None if stat.S_ISLNK(status.st_mode) else stat.S_IMODE(status.st_mode)
        size = status.st_size if not stat.S_ISDIR(status.st_mode) else None
        result[path] = (stat.S_IFMT(status.st_mode), mode, status.st_uid, status.st_gid,
                        status.st_mtime_ns // 1_000_000_000, size, detail, group)
    return result


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if docker("info", check=False).returncode != 0:
        pytest.fail("the Docker Engine is not usable: run 'bash tests/provision.sh'")
    reference = f"upgrader-snapshot-test-{secrets.token_hex(4)}:1"
    build_image(reference, "1", tmp_path_factory.mktemp("image"))
    try:
        yield reference
    finally:
        docker("rmi", "-f", reference, check=False)


@dataclass
class Engine:
    """What one test makes on the engine, all removed at its end."""

    image: str
    suffix: str = field(default_factory=lambda: secrets.token_hex(4))
    made_volumes: list[str] = field(default_factory=list)
    made_containers: list[str] = field(default_factory=list)

    @property
    def project(self) -> str:
        return f"upgrader-snap-{self.suffix}"

    def volume(self, purpose: str, options: dict[str, str] | None = None) -> str:
        name = f"{self.project}_{purpose}"
        labels = {"com.docker.compose.project": self.project, "com.docker.compose.volume": purpose,
                  "io.example.kept": "yes"}
        arguments = [f"--label={key}={value}" for key, value in labels.items()]
        arguments += [f"--opt={key}={value}" for key, value in (options or {}).items()]
        self.made_volumes.append(name)
        docker("volume", "create", *arguments, name)
        return name

    def run(self, volume: str, script: str) -> None:
        docker("run", "--rm", "--network", "none", "-v", f"{volume}:/v", self.image, "sh", "-c", script)

    def container(self, volume: str, *, running: bool, project: str | None) -> str:
        name = f"upgrader-snap-{self.suffix}-{len(self.made_containers)}"
        self.made_containers.append(name)
        labels = ["--label", f"com.docker.compose.project={project}"] if project else []
        command = ["sleep", "600"] if running else ["true"]
        docker("run" if running else "create", *(["-d"] if running else []), "--name", name, *labels,
               "--network", "none", "-v", f"{volume}:/v", self.image, *command)
        return name

    def helpers(self, volume: str) -> list[str]:
        return docker("ps", "-aq", "--filter", "label=io.upgrader.helper=snapshot",
                      "--filter", f"label=io.upgrader.volume={volume}").stdout.split()

    def inspect(self, volume: str) -> dict[str, Any]:
        return dict(json.loads(docker("volume", "inspect", volume).stdout)[0])

    def close(self) -> None:
        for name in self.made_containers:
            docker("rm", "-f", name, check=False)
        for volume in self.made_volumes:
            for helper in self.helpers(volume):
                docker("rm", "-f", helper, check=False)
            docker("volume", "rm", "-f", volume, check=False)


@pytest.fixture
def engine_rig(image: str) -> Iterator[Engine]:
    made = Engine(image)
    try:
        yield made
    finally:
        made.close()


def snapshot(rig: Engine, volume: str, dest: Path, previous: tree.Listing | None = None) -> tree.Listing:
    with volumes.read_archive(volume, rig.image) as chunks:
        return tar_to_tree(chunks, dest, previous)


def test_a_volume_is_copied_exactly_and_restored_exactly(engine_rig: Engine, tmp_path: Path) -> None:
    volume = engine_rig.volume("data")
    engine_rig.run(volume, FILL)
    mountpoint = engine_rig.inspect(volume)["Mountpoint"]
    dest = tmp_path / "snapshot" / "volume-data"

    listing = snapshot(engine_rig, volume, dest)

    original = describe(mountpoint)
    assert describe(dest) == original
    assert b"new\nline" in original and b"bad\xffname" in original and original[b"locked"][1] == 0
    assert original[b"owned"][2:4] == (1234, 5678) and original[b"dir/link-in"][2:4] == (42, 43)
    assert original[b"hard"][7] == [b"dir/f", b"hard"] and original[b"setuid"][1] == 0o4755
    assert stat.S_ISFIFO(original[b"fifo"][0]) and original[b"link-out"][6] == b"/etc/passwd"
    assert (dest / "sparse").stat().st_blocks < 64 and (dest / "sparse").stat().st_size == SPARSE_SIZE
    assert listing["hard"].type == "hardlink" and listing["hard"].target == "dir/f"
    assert listing["dir/f"].mtime_ns == 981173106 * 1_000_000_000
    assert tree.verify(dest, listing) == []
    assert engine_rig.helpers(volume) == []

    # A second pass over an unchanged volume writes nothing and lists the same.
    again = snapshot(engine_rig, volume, dest, listing)
    assert again.digest() == listing.digest()

    engine_rig.run(volume, "echo extra > /v/extra; echo changed > /v/dir/f; rm /v/owned; rmdir /v/empty; "
                           "chmod 0700 /v/dir; mkdir /v/more; echo x > /v/more/y")
    assert describe(mountpoint) != original

    recorded = volumes.inspect(volume)
    assert recorded is not None
    volumes.write_archive(recorded, engine_rig.image, tree_to_tar(dest, listing), engine_rig.project)

    after = engine_rig.inspect(volume)
    assert describe(after["Mountpoint"]) == original
    assert after["Labels"] == {"com.docker.compose.project": engine_rig.project,
                               "com.docker.compose.volume": "data", "io.example.kept": "yes"}
    assert after["Driver"] == "local" and engine_rig.helpers(volume) == []
    # Docker's extractor writes the holes of a sparse file as zeros (see tree_to_tar).
    assert os.stat(os.path.join(after["Mountpoint"], "sparse")).st_size == SPARSE_SIZE
    assert after["Mountpoint"] == mountpoint


def test_restore_refuses_a_volume_in_use(engine_rig: Engine, tmp_path: Path) -> None:
    volume = engine_rig.volume("data")
    engine_rig.run(volume, "echo one > /v/f")
    listing = snapshot(engine_rig, volume, tmp_path / "copy")
    engine_rig.run(volume, "echo two > /v/f")
    recorded = volumes.inspect(volume)
    assert recorded is not None
    before = (engine_rig.inspect(volume), describe(recorded.mountpoint))

    running = engine_rig.container(volume, running=True, project=engine_rig.project)
    assert (running, engine_rig.project, True) in volumes.users(volume)
    with pytest.raises(ActionError, match=f"in use by running container {running}"):
        volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert (engine_rig.inspect(volume), describe(recorded.mountpoint)) == before
    docker("rm", "-f", running)

    stranger = engine_rig.container(volume, running=False, project=None)
    with pytest.raises(ActionError, match=f"used by container {stranger} of no Compose project"):
        volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    other = engine_rig.container(volume, running=False, project="someone-else")
    docker("rm", "-f", stranger)
    with pytest.raises(ActionError, match=f"used by container {other} of Compose project someone-else"):
        volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert (engine_rig.inspect(volume), describe(recorded.mountpoint)) == before
    docker("rm", "-f", other)

    ours = engine_rig.container(volume, running=False, project=engine_rig.project)
    volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert docker("container", "inspect", ours, check=False).returncode != 0  # removed: compose up makes it again
    assert (Path(recorded.mountpoint) / "f").read_text() == "one\n"


def test_restore_converges_after_a_cut_and_after_the_volume_vanished(engine_rig: Engine, tmp_path: Path) -> None:
    volume = engine_rig.volume("data")
    engine_rig.run(volume, "for n in 1 2 3 4; do dd if=/dev/urandom of=/v/f$n bs=1M count=1 2>/dev/null; done")
    listing = snapshot(engine_rig, volume, tmp_path / "copy")
    recorded = volumes.inspect(volume)
    assert recorded is not None

    def cut_short() -> Iterator[bytes]:
        chunks = tree_to_tar(tmp_path / "copy", listing)
        yield next(chunks)
        yield next(chunks)
        raise RuntimeError("the upgrader was killed")

    with pytest.raises(RuntimeError, match="killed"):
        volumes.write_archive(recorded, engine_rig.image, cut_short(), engine_rig.project)
    assert engine_rig.helpers(volume) == []

    damaged = tmp_path / "copy" / "f3"  # a copy that changed since its listing is refused mid-stream
    good = damaged.read_bytes()
    damaged.write_bytes(bytes(len(good)))
    with pytest.raises(ArchiveError, match="sha256"):
        volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert engine_rig.helpers(volume) == []
    damaged.write_bytes(good)
    os.utime(damaged, ns=(listing["f3"].mtime_ns, listing["f3"].mtime_ns))
    volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert describe(recorded.mountpoint) == describe(tmp_path / "copy")

    docker("volume", "rm", volume)
    volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert engine_rig.inspect(volume)["Labels"] == recorded.labels
    assert describe(recorded.mountpoint) == describe(tmp_path / "copy")


def test_restore_keeps_driver_options_and_refuses_a_volume_that_keeps_data(engine_rig: Engine, tmp_path: Path) -> None:
    source = engine_rig.volume("source")
    engine_rig.run(source, "echo restored > /v/f")
    listing = snapshot(engine_rig, source, tmp_path / "copy")

    options = {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}
    in_memory = engine_rig.volume("tmpfs", options)
    recorded = volumes.inspect(in_memory)
    assert recorded is not None and recorded.options == options
    volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    again = volumes.inspect(in_memory)
    assert again is not None
    assert (again.driver, again.options, again.labels) == ("local", options, recorded.labels)
    assert engine_rig.helpers(in_memory) == []

    # A bind of a host folder: removing the volume leaves its data, so a copy could not replace it.
    folder = tmp_path / "bound"
    folder.mkdir()
    (folder / "stays").write_text("host data\n")
    bound = engine_rig.volume("bound", {"type": "none", "o": "bind", "device": str(folder)})
    recorded = volumes.inspect(bound)
    assert recorded is not None
    with pytest.raises(ActionError, match="still holds data once created again"):
        volumes.write_archive(recorded, engine_rig.image, tree_to_tar(tmp_path / "copy", listing), engine_rig.project)
    assert sorted(os.listdir(folder)) == ["stays"] and engine_rig.helpers(bound) == []
    assert engine_rig.inspect(bound)["Options"] == recorded.options


def test_helpers_are_removed_and_volumes_listed(engine_rig: Engine, tmp_path: Path) -> None:
    volume, other = engine_rig.volume("data"), engine_rig.volume("other")
    engine_rig.run(volume, "echo x > /v/f")
    with pytest.raises(RuntimeError), volumes.read_archive(volume, engine_rig.image) as chunks:
        next(chunks)
        assert len(engine_rig.helpers(volume)) == 1
        raise RuntimeError("the copy failed")
    assert engine_rig.helpers(volume) == []

    for name in (volume, volume, other):  # what a killed process would leave
        docker("create", "--label", "io.upgrader.helper=snapshot", "--label", f"io.upgrader.volume={name}",
               "--network", "none", "-v", f"{name}:/upgrader-volume:ro", engine_rig.image, "upgrader-snapshot")
    assert volumes.remove_leftover_helpers(volume) == 2
    assert engine_rig.helpers(volume) == [] and len(engine_rig.helpers(other)) == 1
    snapshot(engine_rig, other, tmp_path / "other")  # removes its leftover first
    assert engine_rig.helpers(other) == []

    assert [found.name for found in volumes.project_volumes(engine_rig.project)] == sorted([volume, other])
    assert volumes.project_volumes(f"{engine_rig.project}-none") == []
    assert volumes.inspect(f"{engine_rig.project}_missing") is None
    with pytest.raises(ActionError, match="does not exist"):
        snapshot(engine_rig, f"{engine_rig.project}_missing", tmp_path / "missing")
    assert docker("volume", "inspect", f"{engine_rig.project}_missing", check=False).returncode != 0

    missing = f"{engine_rig.project}:missing"
    assert volumes.image_for(engine_rig.project, [missing, engine_rig.image]) == engine_rig.image
    assert volumes.image_for(engine_rig.project, []) is None
    engine_rig.container(volume, running=False, project=engine_rig.project)
    image_id = docker("image", "inspect", "-f", "{{.Id}}", engine_rig.image).stdout.strip()
    assert volumes.image_for(engine_rig.project, [missing]) == image_id
