"""The whole loop a vendor and an operator go through, with upgrader's commands only (DESIGN §10):
keygen → pack 1.0.0 → publish → init → run → pack 1.1.0 → publish → run, the feed served over
HTTP on 127.0.0.1 and its signature checked by the client; then a feed tampered with after
publishing, refused by `release verify` and by the client alike, each naming what."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import upgrader
from tests.rig import PRODUCT, Rig, answer, compose_file, free_port, remove_project


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def release_folder(where: Path, version: str, port: int) -> Path:
    """What a vendor keeps in version control for one release: compose.yaml, defaults.env, config/."""
    folder = where / f"src-{version}"
    (folder / "config").mkdir(parents=True)
    (folder / "compose.yaml").write_text(compose_file(version))
    (folder / "defaults.env").write_text(f"HTTP_PORT={port}\n")
    (folder / "config" / "app.conf").write_text(f"version={version}\n")
    return folder


class Vendor:
    """A publisher's desk: a signing key, a dist folder, and the feed folder the rig serves."""

    def __init__(self, rig: Rig, where: Path, name: str) -> None:
        self.where = where
        self.key = where / "feed.key"
        self.dist = where / "dist"
        self.dist.mkdir()
        self.feed = rig.feed_dir / name
        self.feed.mkdir()
        self.url = f"{rig.feed.url}{name}/"
        self.public_key = ok(upgrader("release", "keygen", str(self.key))).strip()

    def ship(self, version: str, port: int) -> Path:
        folder = release_folder(self.where, version, port)
        ok(upgrader("release", "pack", str(folder), "--version", version, "--product", PRODUCT,
                    "--out", str(self.dist), "--pin-digests"))
        archive = self.dist / f"{PRODUCT}-{version}.tar.gz"
        ok(upgrader("release", "publish", str(archive), "--feed", str(self.feed), "--key", str(self.key)))
        return archive


@pytest.fixture
def name() -> Iterator[str]:
    chosen = f"loop-{secrets.token_hex(4)}"
    try:
        yield chosen
    finally:
        remove_project(chosen)


def test_from_a_compose_folder_to_an_upgraded_server_with_upgrader_alone(rig: Rig, tmp_path: Path, name: str):
    for version in ("1.0.0", "1.1.0"):
        rig.publish_images(version)  # building and pushing images is the vendor's own CI, not upgrader's
    port = free_port()
    vendor = Vendor(rig, tmp_path, name)
    root = tmp_path / "root"
    root.mkdir()

    vendor.ship("1.0.0", port)
    init = upgrader("--root", str(root), "init", "-n", name, "--feed", vendor.url,
                    "--public-key", vendor.public_key)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "1.0.0" in init.stdout  # what check says: 1.0.0 would be installed
    ok(upgrader("--root", str(root), "-n", name, "run", timeout=180))
    assert answer(port) == "1.0.0"

    vendor.ship("1.1.0", port)
    ok(upgrader("--root", str(root), "-n", name, "run", timeout=180))
    assert answer(port) == "1.1.0"
    installed = json.loads((root / "state" / name / "installed.json").read_text())
    assert installed["version"] == "1.1.0"
    assert all("@sha256:" in reference for reference in installed["images"]), installed["images"]
    verified = upgrader("release", "verify", vendor.url, "--public-key", vendor.public_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [line.split()[:2] for line in verified.stdout.splitlines() if line.startswith("ok")] == [
        ["ok", "1.0.0"], ["ok", "1.1.0"]]


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("target", ["archive", "index", "signature"])
def test_a_feed_altered_after_publishing_is_refused_by_verify_and_by_the_client(
        rig: Rig, tmp_path: Path, name: str, target: str):
    rig.publish_images("1.0.0")
    vendor = Vendor(rig, tmp_path, name)
    archive = vendor.ship("1.0.0", free_port())
    root = tmp_path / "root"
    (root / "projects" / name).mkdir(parents=True)
    (root / "projects" / name / "project.yaml").write_text(
        f"feed: {vendor.url}\npublic_key: {vendor.public_key}\nhealth_timeout: 30\n")

    if target == "archive":
        flip(vendor.feed / archive.name, 100)
    elif target == "index":
        index = vendor.feed / "index.json"
        index.write_bytes(b"{ " + index.read_bytes()[1:])  # the same JSON, other bytes
    else:
        signature = vendor.feed / "index.json.sig"
        raw = bytearray(base64.b64decode(signature.read_bytes()))
        raw[10] ^= 0x01
        signature.write_bytes(base64.b64encode(bytes(raw)) + b"\n")

    verified = upgrader("release", "verify", vendor.url, "--public-key", vendor.public_key)
    assert verified.returncode == 1, verified.stdout + verified.stderr
    said = verified.stdout + verified.stderr
    if target == "archive":
        assert "1.0.0" in said and "sha256" in said, said
    else:
        assert "signature" in said or ".sig" in said, said

    run = upgrader("--root", str(root), "-n", name, "run", "--cron", timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    if target == "archive":
        assert "sha256" in run.stderr, run.stderr
    else:
        assert "index.json.sig" in run.stderr or "signature" in run.stderr, run.stderr
        assert not (root / "downloads" / name).exists() or not any((root / "downloads" / name).rglob("*.tar.gz"))
    assert not (root / "state" / name / "installed.json").exists()
