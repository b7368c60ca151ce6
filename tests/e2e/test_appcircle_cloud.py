"""The Appcircle server as its customers have it (DESIGN §12), end to end: the vendor's packages in
a per-organisation folder of a Cloud Storage bucket (gcp-storage-emulator behind a token-checking
gate, tokens from an endpoint that checks the service-account key's JWT: tests/integration/gcsrig.py),
``index.txt`` listing the zips of the whole server folder, an upgrade stop no metadata states
(3.29.0), a major (4.0.0) in the listing; the server running 3.28.0, installed by the vendor's own
tool (no installed.json: ``installed_version`` asks the script's ``-v``), upgraded by the shipped
``appcircle`` workflow through the stop to the newest 3.29.x, the customer's files untouched."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.gcsrig import BUCKET, Gatekeeper, TokenServer
from tests.rig import Rig, answer, free_port, remove_project
from tests.rig.zips import TOP, server_zip

from .conftest import upgrader
from .test_appcircle import COMPOSE, compose_file, fast_workflow, tree

ORG = "7e1f-spacetech"
VERSIONS = ("3.28.0", "3.29.0", "3.29.1", "4.0.0")


@dataclass
class Customer:
    root: Path
    name: str
    port: int
    gate: Gatekeeper
    tokens: TokenServer

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return upgrader("--root", str(self.root), "-n", self.name, *args, timeout=timeout,
                        env={"COMPOSE": COMPOSE, "STORAGE_EMULATOR_HOST": self.gate.host})

    def files(self) -> dict[str, tuple[int, str]]:
        return {**tree(self.root, "projects"), **tree(self.root, "cred.json")}


@pytest.fixture
def customer(rig: Rig, tmp_path: Path) -> Iterator[Customer]:
    tokens = TokenServer()
    gate = Gatekeeper(tokens)
    name = f"spacetech-{secrets.token_hex(3)}"
    root = tmp_path / TOP
    port = free_port()
    try:
        listing = []
        for build, version in enumerate(VERSIONS, start=100):
            archive = f"server-linux-x64-{version}-{build}.zip"
            server_zip(tmp_path / archive, version, compose_file())
            gate.upload(f"{ORG}/{archive}", (tmp_path / archive).read_bytes())
            listing.append(archive)
        gate.upload(f"{ORG}/index.txt", ("\n".join(listing) + "\n").encode())
        with zipfile.ZipFile(tmp_path / listing[0]) as archive:  # 3.28.0, as the vendor's tool unpacked it
            for info in archive.infolist():
                archive.extract(info, tmp_path)
                mode = 0o755 if info.is_dir() or (info.external_attr >> 16) & 0o111 else 0o644
                (tmp_path / info.filename).chmod(mode)
        tokens.key.write(root / "cred.json")  # the customer's service-account key, beside the script
        project = root / "projects" / name
        (project / "export" / "ssl").mkdir(parents=True)
        (project / "global.yaml").write_text(f"port: {port}\n")
        (project / "export" / "ssl" / "cert.pem").write_text("-----BEGIN CERTIFICATE----- the customer's\n")
        (project / "project.yaml").write_text(yaml.safe_dump({
            "feed": {"kind": "listing", "url": f"gs://{BUCKET}/{ORG}/", "credentials": str(root / "cred.json")},
            "stops": ["3.29.0"],
            "workflow": str(fast_workflow(tmp_path)),
            "installed_version": {"run": ["{root}/ac-self-hosted.sh", "-v"]}}))
        for verb in ("export", "up"):
            subprocess.run([str(root / "ac-self-hosted.sh"), "-n", name, verb], check=True, capture_output=True,
                           stdin=subprocess.DEVNULL, env={**os.environ, "COMPOSE": COMPOSE})
        for _ in range(50):
            if answer(port) == "3.28.0":
                break
            subprocess.run(["sleep", "0.2"], check=True)
        assert answer(port) == "3.28.0"
        yield Customer(root, name, port, gate, tokens)
    finally:
        remove_project(name)
        gate.stop()
        tokens.stop()


def test_the_server_goes_through_the_stop_to_the_newest_3_29_with_the_customers_files_untouched(customer):
    before = customer.files()
    key = json.loads((customer.root / "cred.json").read_text())["private_key"]

    checked = customer.cli("check", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    plan = json.loads(checked.stdout)
    assert (plan["installed"], plan["installed_from"]) == ("3.28.0", "installed_version")
    assert (plan["target"], plan["path"], plan["major_available"]) == ("3.29.1", ["3.29.0", "3.29.1"], "4.0.0")
    pinned = customer.cli("check", "--json", "--to", "3.29")  # the vendor's own tool's way: the newest 3.29.x
    assert json.loads(pinned.stdout)["target"] == "3.29.1", pinned.stdout + pinned.stderr

    result = customer.cli("run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert answer(customer.port) == "3.29.1"
    assert customer.files() == before  # projects/ and cred.json, byte for byte, modes too
    history = json.loads(customer.cli("history", "--json").stdout)
    assert [(entry["from"], entry["to"], entry["outcome"]) for entry in history] == [
        ("3.29.0", "3.29.1", "completed"), ("3.28.0", "3.29.0", "completed")]
    assert (customer.root / "VERSION").read_text() == "3.29.1\n"  # the folder is the new release's
    # Every object came through the token check; the key and the tokens are nowhere upgrader writes.
    assert customer.gate.seen and all(seen.token in customer.tokens.issued for seen in customer.gate.seen)
    secrets_seen = [key.splitlines()[1], *customer.tokens.issued]
    written = [result.stdout, result.stderr, checked.stdout, checked.stderr]
    for folder in ("state", "logs"):
        written += [path.read_text(errors="replace") for path in (customer.root / folder).rglob("*")
                    if path.is_file()]
    assert not [secret for secret in secrets_seen for text in written if secret in text]
