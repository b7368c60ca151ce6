"""``upgrader release pack --pin-digests``: each image with the digest its registry has (DESIGN §10)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.e2e.conftest import upgrader
from tests.rig import REGISTRY, Rig, image_refs
from upgrader import package


def folder_with(tmp_path: Path, images: dict[str, str]) -> Path:
    app = tmp_path / "app"
    app.mkdir()
    services = "".join(f"  {name}:\n    image: {reference}\n" for name, reference in sorted(images.items()))
    (app / "compose.yaml").write_text("services:\n" + services)
    return app


def test_pin_digests_writes_the_digest_the_registry_has(rig: Rig, tmp_path: Path):
    refs = image_refs("1.0.0")
    app = folder_with(tmp_path, refs)

    result = upgrader("release", "pack", str(app), "--version", "1.0.0", "--product", "acme-server",
                      "--out", str(tmp_path), "--pin-digests")

    assert result.returncode == 0, result.stderr
    pinned = package.read_release(tmp_path / "acme-server-1.0.0.tar.gz")["images"]
    expected = []
    for reference in sorted(refs.values()):
        repo_digests = subprocess.run(["docker", "image", "inspect", "-f", "{{json .RepoDigests}}", reference],
                                      capture_output=True, text=True, check=True).stdout
        digest = next(entry.split("@", 1)[1] for entry in json.loads(repo_digests)
                      if entry.startswith(reference.rsplit(":", 1)[0] + "@"))
        expected.append(f"{reference}@{digest}")
    assert pinned == expected


def test_pin_digests_refuses_an_image_its_registry_does_not_have(rig: Rig, tmp_path: Path):
    app = folder_with(tmp_path, {"web": f"{REGISTRY}/acme/never-pushed:1.0.0"})

    result = upgrader("release", "pack", str(app), "--version", "1.0.0", "--product", "acme-server",
                      "--out", str(tmp_path), "--pin-digests")

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{REGISTRY}/acme/never-pushed:1.0.0: not in its registry" in result.stderr
    assert not (tmp_path / "acme-server-1.0.0.tar.gz").exists()
