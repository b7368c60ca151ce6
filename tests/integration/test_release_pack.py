"""``upgrader release keygen`` and ``release pack`` (DESIGN §10), through the installed command
(Compose resolves the images; no Docker Engine is needed without ``--pin-digests``)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from upgrader import feed, package

UPGRADER = Path(sys.executable).with_name("upgrader")

COMPOSE = """services:
  web:
    image: 127.0.0.1:5000/acme/web:${TAG}
    ports: ["127.0.0.1:${HTTP_PORT}:8080"]
    volumes: ["./config/app.conf:/etc/app.conf:ro"]
  worker:
    image: 127.0.0.1:5000/acme/worker:1.0.0
"""


def upgrader(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPGRADER), *args], capture_output=True, text=True, cwd=cwd, timeout=60,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, check=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A release folder as a vendor keeps it."""
    app = tmp_path / "app"
    (app / "config").mkdir(parents=True)
    (app / "hooks").mkdir()
    (app / "compose.yaml").write_text(COMPOSE)
    (app / "defaults.env").write_text("TAG=1.0.0\nHTTP_PORT=18080\n")
    (app / "config" / "app.conf").write_text("x=1\n")
    (app / "hooks" / "migrate").write_text("#!/bin/sh\necho migrating\n")
    (app / "hooks" / "migrate").chmod(0o755)
    return app


def pack(folder: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    out.mkdir(exist_ok=True)
    return upgrader("release", "pack", str(folder), "--version", "1.0.0", "--product", "acme-server",
                    "--out", str(out), *extra, env=env)


# -- keygen -------------------------------------------------------------------------------------------


def test_keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_public_key(tmp_path: Path):
    from cryptography.hazmat.primitives import serialization

    result = upgrader("release", "keygen", str(tmp_path / "feed.key"))

    assert result.returncode == 0, result.stderr
    public = result.stdout.strip()
    assert result.stdout == public + "\n" and len(base64.b64decode(public)) == 32
    keyfile = tmp_path / "feed.key"
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert public not in keyfile.read_text() and "PRIVATE KEY" not in result.stdout
    key = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    signature = base64.b64encode(key.sign(b"index"))  # type: ignore[call-arg, union-attr]
    feed.verify_signature(b"index", signature, public, "index.json")  # as a client checks it


def test_keygen_never_writes_over_a_file(tmp_path: Path):
    keyfile = tmp_path / "feed.key"
    keyfile.write_text("the vendor's key\n")

    result = upgrader("release", "keygen", str(keyfile))

    assert result.returncode == 2
    assert result.stderr.strip() == f"upgrader: error: {keyfile} exists: upgrader never writes a key over a file"
    assert keyfile.read_text() == "the vendor's key\n"


# -- pack ---------------------------------------------------------------------------------------------


def test_pack_writes_a_package_a_client_accepts_with_release_json_from_the_folder(folder: Path, tmp_path: Path):
    result = pack(folder, tmp_path / "out")

    assert result.returncode == 0, result.stderr
    archive = tmp_path / "out" / "acme-server-1.0.0.tar.gz"
    assert result.stdout.strip() == str(archive)
    assert package.read_release(archive) == {
        "product": "acme-server", "version": "1.0.0",
        "images": ["127.0.0.1:5000/acme/web:1.0.0", "127.0.0.1:5000/acme/worker:1.0.0"]}
    names = {member.name: member.info for member in package.members(archive)}
    assert set(names) == {"release.json", "compose.yaml", "defaults.env", "config", "config/app.conf", "hooks",
                          "hooks/migrate"}
    assert names["hooks/migrate"].mode == 0o755 and names["config/app.conf"].mode == 0o644
    assert {(info.uid, info.gid, info.mtime) for info in names.values()} == {(0, 0, 946684800)}
    releases = tmp_path / "releases"
    releases.mkdir()
    sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
    extracted = package.extract(archive, releases, sha256=sha256, version="1.0.0", owner="test")
    assert (extracted / "compose.yaml").read_text() == COMPOSE


def test_pack_gives_the_same_bytes_for_the_same_folder(folder: Path, tmp_path: Path):
    first = pack(folder, tmp_path / "one")
    os.utime(folder / "config" / "app.conf", (1, 1))  # what a checkout does to mtimes
    (folder / "config" / "app.conf").chmod(0o600)  # and to modes
    second = pack(folder, tmp_path / "two", env={"TAG": "not-from-the-shell"})

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    one = (tmp_path / "one" / "acme-server-1.0.0.tar.gz").read_bytes()
    assert one == (tmp_path / "two" / "acme-server-1.0.0.tar.gz").read_bytes()
    again = pack(folder, tmp_path / "one")  # the same bytes there already: nothing changes
    assert again.returncode == 0, again.stderr


def test_a_release_json_in_the_folder_gives_the_product_and_its_description(folder: Path, tmp_path: Path):
    (folder / "release.json").write_text(json.dumps({"product": "acme-server", "description": "Acme 1.0"}))
    (tmp_path / "out").mkdir()

    result = upgrader("release", "pack", str(folder), "--version", "1.0.0", "--out", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    release = package.read_release(tmp_path / "out" / "acme-server-1.0.0.tar.gz")
    assert release["description"] == "Acme 1.0" and release["product"] == "acme-server"


def untagged(folder: Path) -> None:
    (folder / "compose.yaml").write_text(COMPOSE.replace("worker:1.0.0", "worker"))


def not_compose(folder: Path) -> None:
    (folder / "compose.yaml").write_text("services: [\n")


def no_image(folder: Path) -> None:
    (folder / "compose.yaml").write_text(COMPOSE + "  builder:\n    build: .\n")


def hook_not_executable(folder: Path) -> None:
    (folder / "hooks" / "migrate").chmod(0o644)


def link_out(folder: Path) -> None:
    (folder / "config" / "passwd").symlink_to("/etc/passwd")


def other_version(folder: Path) -> None:
    (folder / "release.json").write_text('{"product": "acme-server", "version": "2.0.0"}')


@pytest.mark.parametrize(("spoil", "says"), [
    (untagged, "service worker's image 127.0.0.1:5000/acme/worker has no explicit tag"),
    (not_compose, "compose.yaml is not a valid Compose file"),
    (no_image, "service builder has no image"),
    (hook_not_executable, "hooks/migrate is a hook that is not executable"),
    (link_out, "config/passwd is a link that leaves the folder (/etc/passwd)"),
    (other_version, "release.json says version 2.0.0, --version says 1.0.0"),
], ids=lambda value: getattr(value, "__name__", "said"))
def test_pack_refuses_in_one_line_and_writes_nothing(folder: Path, tmp_path: Path, spoil, says: str):
    spoil(folder)

    result = pack(folder, tmp_path / "out")

    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(("arguments", "says"), [
    (["--version", "1.0"], "--version 1.0: not a semantic version"),
    (["--version", "1.0.0"], "no product: give --product"),
])
def test_pack_refuses_a_bad_command_line(folder: Path, tmp_path: Path, arguments: list[str], says: str):
    result = upgrader("release", "pack", str(folder), *arguments, "--out", str(tmp_path))

    assert result.returncode == 2 and says in result.stderr, result.stderr


def test_pack_never_writes_over_another_package(folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "acme-server-1.0.0.tar.gz").write_bytes(b"another build")

    result = pack(folder, out)

    assert result.returncode == 2 and "exists with other bytes" in result.stderr, result.stderr
    assert (out / "acme-server-1.0.0.tar.gz").read_bytes() == b"another build"
    assert sorted(entry.name for entry in out.iterdir()) == ["acme-server-1.0.0.tar.gz"]


def test_the_package_lists_links_inside_the_folder_as_links(folder: Path, tmp_path: Path):
    (folder / "config" / "current.conf").symlink_to("app.conf")

    result = pack(folder, tmp_path / "out")

    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / "out" / "acme-server-1.0.0.tar.gz") as tar:
        link = tar.getmember("config/current.conf")
    assert link.issym() and link.linkname == "app.conf"
