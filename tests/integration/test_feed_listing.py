"""Listing feeds (DESIGN §12): a vendor's per-organisation folder in a Cloud Storage bucket, read
with a service-account key, and a plain folder (file://) of archives with an index.txt.

The storage is gcp-storage-emulator behind a token-checking gate, the token endpoint checks the
JWT's RS256 signature against the test's own key (tests/integration/gcsrig.py). The workflow is
download alone: what the archives hold is the zip tests' concern, not the feed's.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .feedrig import Rig, error_line, files_holding, free_port
from .gcsrig import BUCKET, Gatekeeper, TokenServer

ORG = "org-42"
PATTERN = r"^server-linux-x64-(?P<version>\d+\.\d+\.\d+)-(?P<build>\d+)\.zip$"
LISTING = """# packages of organisation org-42, oldest first
server-linux-x64-3.27.0-100.zip
server-linux-x64-3.28.0-110.zip
release-notes.txt
server-linux-x64-3.29.0-120.zip

server-linux-x64-3.29.1-130.zip
server-linux-x64-3.29.2-140.zip
server-linux-x64-3.29.2-139.zip
server-linux-x64-4.0.0-200.zip
"""
DOWNLOAD_WORKFLOW: dict[str, Any] = {
    "name": "fetch", "initial": "idle", "final": "downloaded", "on_failure": "rollback",
    "states": ["idle", "downloaded"],
    "steps": [{"name": "download", "from": "idle", "to": "downloaded", "action": "download",
               "retry": {"attempts": 3, "wait": "fixed", "initial": 0.1}}],
}


def package(name: str) -> bytes:
    """The bytes of the package ``name`` (random, 300 kB: the feed does not look inside)."""
    return random.Random(name).randbytes(300_000)


def object_name(version: str, build: str) -> str:
    return f"{ORG}/server-linux-x64-{version}-{build}.zip"


@dataclass
class World:
    rig: Rig
    tokens: TokenServer
    gate: Gatekeeper
    key_file: Path

    def env(self, **more: str | None) -> dict[str, str]:
        return self.rig.env(STORAGE_EMULATOR_HOST=self.gate.host, **more)

    def cli(self, *args: str, **more: str | None) -> Any:
        return self.rig.cli(*args, env=self.env(**more))

    def check(self, *args: str) -> dict[str, Any]:
        return self.rig.check(*args, env=self.env())

    def metadata_reads(self) -> set[str]:
        return {seen.object for seen in self.gate.seen if seen.object and not seen.media}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    tokens = TokenServer()
    gate = Gatekeeper(tokens)
    rig = Rig(tmp_path)
    try:
        gate.upload(f"{ORG}/index.txt", LISTING.encode())
        for line in LISTING.splitlines():
            if line.endswith(".zip"):
                gate.upload(f"{ORG}/{line}", package(line))
        key_file = tokens.key.write(rig.project_dir / "cred.json")
        workflow = tmp_path / "download.yaml"
        workflow.write_text(yaml.safe_dump(DOWNLOAD_WORKFLOW, sort_keys=False), encoding="utf-8")
        rig.configure(feed={"kind": "listing", "url": f"gs://{BUCKET}/{ORG}/", "version_pattern": PATTERN,
                            "credentials": "cred.json"},
                      workflow=str(workflow), stops=["3.29.0"])
        yield World(rig, tokens, gate, key_file)
    finally:
        rig.close()
        gate.stop()
        tokens.stop()


def secrets_of(world: World) -> list[str]:
    """What must never be shown: every token issued, and the private key's lines."""
    key_lines = [line for line in world.tokens.key.pem.splitlines() if line and "PRIVATE KEY" not in line]
    return [*world.tokens.issued, *key_lines[1:4]]


def assert_secret(world: World, *outputs: str) -> None:
    for secret in secrets_of(world):
        for output in outputs:
            assert secret not in output
        holding = [path for path in files_holding(world.rig.root, secret) if Path(path) != world.key_file]
        assert holding == [], f"a secret is written in {holding}"


# -- the plan ---------------------------------------------------------------------------------------


def test_a_listing_in_a_bucket_plans_through_the_stop_and_reads_only_what_the_plan_needs(world: World):
    first = world.cli("run", "--to", "3.28.0", "--debug")
    assert first.returncode == 0, first.output
    assert world.rig.installed() == "3.28.0"
    world.gate.seen.clear()

    plan = world.check()
    assert plan["installed"] == "3.28.0"
    assert (plan["target"], plan["path"]) == ("3.29.2", ["3.29.0", "3.29.2"])  # the stop first; build 140 wins
    assert plan["major_available"] == "4.0.0"
    # The storage's word is read for the path alone: not for 3.27.0, 3.29.1, 4.0.0 or build 139.
    assert world.metadata_reads() == {object_name("3.29.0", "120"), object_name("3.29.2", "140")}
    assert world.check("--to", "3.29")["target"] == "3.29.2"
    assert world.check("--to", "3.29.1")["path"] == ["3.29.0", "3.29.1"]

    upgraded = world.cli("run")
    assert upgraded.returncode == 0, upgraded.output
    assert world.rig.installed() == "3.29.2"
    versions = [(entry["from"], entry["to"]) for entry in reversed(world.rig.history())][-2:]
    assert versions == [("3.28.0", "3.29.0"), ("3.29.0", "3.29.2")]

    run = world.rig.run_file()
    name = "server-linux-x64-3.29.2-140.zip"
    data = package(name)
    release = run["release"]
    assert release["url"] == f"gs://{BUCKET}/{ORG}/{name}"
    assert (release["archive"], release["build"], release["size"]) == (name, "140", len(data))
    assert release["md5"] == hashlib.md5(data).hexdigest()  # noqa: S324 - what the storage states
    assert len(release["crc32c"]) == 8 and release["released"].endswith("Z")
    assert "sha256" not in release and "product" not in release
    assert run["data"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert (world.rig.downloads / "3.29.2" / name).read_bytes() == data
    # The storage saw a token on every request, and only the token server's.
    assert all(seen.token in world.tokens.issued for seen in world.gate.seen)
    assert_secret(world, first.output, upgraded.output)


# -- what goes wrong ------------------------------------------------------------------------------


def test_an_archive_whose_md5_does_not_match_is_refused_without_retries(world: World):
    name = object_name("3.29.2", "140")
    world.gate.spoil(name)
    result = world.cli("run", "--to", "3.29.2")
    assert result.returncode == 1, result.output
    line = error_line(result, "md5 mismatch", hashlib.md5(package(name.split("/")[1])).hexdigest())  # noqa: S324
    assert line.count(" says ") == 1 and "the archive is " in line
    download = next(step for step in world.rig.run_file()["steps"] if step["name"] == "download")
    assert download["attempts"] == 1
    assert world.rig.installed() is None


def test_a_download_cut_off_resumes_with_a_range_request(world: World):
    name = object_name("3.29.2", "140")
    size = len(package(name.split("/")[1]))
    world.gate.cut_once(name, size // 2)
    result = world.cli("run", "--to", "3.29.2")
    assert result.returncode == 0, result.output
    media = world.gate.requests_for(name, media=True)
    assert [(seen.range, seen.status) for seen in media] == [(None, 200), (f"bytes={size // 2}-", 206)]
    assert sum(seen.sent for seen in media) == size
    assert world.rig.run_file()["data"]["sha256"] == hashlib.sha256(package(name.split("/")[1])).hexdigest()


def test_a_wrong_key_is_one_line_naming_the_key_file(world: World):
    from cryptography.hazmat.primitives.asymmetric import rsa

    world.tokens.key.write(world.key_file, private=rsa.generate_private_key(65537, 2048))
    result = world.cli("check")
    assert result.returncode != 0
    error_line(result, str(world.key_file), "refused the key", world.tokens.key.client_email, "invalid_grant")
    assert world.tokens.refusals and world.gate.seen == []
    assert "PRIVATE KEY" not in result.output


def test_a_refused_token_is_asked_for_again_once_then_named_with_bucket_and_account(world: World):
    world.gate.refuse_all = True
    result = world.cli("check")
    assert result.returncode != 0
    error_line(result, "401", BUCKET, world.tokens.key.client_email)
    index = world.gate.requests_for(f"{ORG}/index.txt")
    assert len(index) == 2 and index[0].token != index[1].token  # a fresh token, once; not retried
    assert_secret(world, result.output)


def test_an_expired_token_is_replaced_and_the_run_goes_on(world: World):
    world.gate.uses_per_token = 2
    result = world.cli("run", "--to", "3.29.2")
    assert result.returncode == 0, result.output
    assert world.rig.installed() == "3.29.2"
    assert len(world.tokens.issued) >= 2
    assert_secret(world, result.output)


def test_a_token_endpoint_out_of_reach_is_a_passing_failure(world: World):
    key = json.loads(world.key_file.read_text())
    key["token_uri"] = f"http://127.0.0.1:{free_port()}/token"
    world.key_file.write_text(json.dumps(key))
    result = world.cli("check")
    assert result.returncode != 0
    error_line(result, f"cannot get a token from {key['token_uri']}", "connection refused")
    assert world.gate.seen == []


def test_the_bucket_and_the_token_endpoint_are_reached_through_the_proxy(world: World):
    proxy = world.rig.new_proxy()
    result = world.cli("run", "--to", "3.29.2", HTTP_PROXY=proxy.url, http_proxy=proxy.url)
    assert result.returncode == 0, result.output
    asked = proxy.requested()
    assert world.tokens.url in asked
    assert any(url.startswith(world.gate.host + f"/storage/v1/b/{BUCKET}/o/") and "alt=media" in url
               for url in asked), asked


# -- a folder ---------------------------------------------------------------------------------------


def test_a_file_listing_offers_its_newest_and_warns_that_nothing_checks_it(tmp_path: Path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "index.txt").write_text("acme-1.0.0.tar.gz\nacme-1.1.0.tar.gz\n# acme-1.2.0.tar.gz\n", encoding="utf-8")
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        (folder / f"acme-{version}.tar.gz").write_bytes(package(version))
    with Rig(tmp_path / "world") as rig:
        workflow = tmp_path / "download.yaml"
        workflow.write_text(yaml.safe_dump(DOWNLOAD_WORKFLOW, sort_keys=False), encoding="utf-8")
        rig.configure(feed={"kind": "listing", "url": folder.as_uri() + "/"}, workflow=str(workflow))
        plan = rig.check()
        assert plan["target"] == "1.1.0"
        assert any("the listing gives no checksum" in line for line in plan["warnings"])
        result = rig.cli("run")
        assert result.returncode == 0, result.output
        release = rig.run_file()["release"]
        assert release["size"] == len(package("1.1.0")) and "md5" not in release
        assert release["url"] == (folder / "acme-1.1.0.tar.gz").as_uri()
        assert rig.run_file()["data"]["sha256"] == hashlib.sha256(package("1.1.0")).hexdigest()


def test_an_http_listing_without_head_downloads_what_it_names(tmp_path: Path):
    with Rig(tmp_path) as rig:
        folder = rig.site / rig.name
        (folder / "index.txt").write_text("acme 1.0.0.tar.gz\nacme 1.1.0.tar.gz\n", encoding="utf-8")
        for version in ("1.0.0", "1.1.0"):
            (folder / f"acme {version}.tar.gz").write_bytes(package(version))
        workflow = tmp_path / "download.yaml"
        workflow.write_text(yaml.safe_dump(DOWNLOAD_WORKFLOW, sort_keys=False), encoding="utf-8")
        rig.configure(feed={"kind": "listing", "url": rig.feed_url,
                            "version_pattern": r"^acme (?P<version>\d+\.\d+\.\d+)\.tar\.gz$"}, workflow=str(workflow))
        result = rig.cli("run")
        assert result.returncode == 0, result.output
        release = rig.run_file()["release"]
        # This server answers HEAD with 501: nothing is known in advance, the bytes are taken as they come.
        assert release["url"] == rig.feed_url + "acme%201.1.0.tar.gz" and "size" not in release
        assert rig.run_file()["data"]["sha256"] == hashlib.sha256(package("1.1.0")).hexdigest()
        assert [record.method for record in rig.server.requests(f"/{rig.name}/acme 1.1.0.tar.gz")] == ["GET"]
