"""``upgrader release pack --offline`` (DESIGN §10) on the real Docker Engine: the offline package
it writes installs with ``run --package`` on a server that cannot reach the images' registry.

The images are the session's 1.1.0 images tagged under a registry address nothing listens on,
and those tags are removed once packed: the only way the server gets them is the package's
``images/*.tar``.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig import compose_file, free_port, image_refs, local_image, remove_local_images

from .conftest import DockerProject, upgrader


@pytest.fixture
def unreachable_images(project: DockerProject) -> Iterator[dict[str, str]]:
    """The session's 1.1.0 images, also tagged under 127.0.0.1:<a port nothing listens on>."""
    port = free_port()
    refs = {service: reference.replace(reference.split("/", 1)[0], f"127.0.0.1:{port}", 1)
            for service, reference in image_refs("1.1.0").items()}
    for service, reference in refs.items():
        subprocess.run(["docker", "tag", image_refs("1.1.0")[service], reference], check=True)
    try:
        yield refs
    finally:
        project.close()  # its containers use these tags: take them away first
        remove_local_images(list(refs.values()))


def test_an_offline_package_installs_with_the_registry_unreachable(
    project: DockerProject, unreachable_images: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "compose.yaml").write_text(compose_file("1.1.0", images=unreachable_images))
    (app / "defaults.env").write_text("HTTP_PORT=18080\n")
    dist = tmp_path / "dist"
    dist.mkdir()

    packed = upgrader("release", "pack", str(app), "--version", "1.1.0", "--product", "acme-server",
                      "--out", str(dist), "--offline")

    assert packed.returncode == 0, packed.stderr
    plain, offline = (Path(line) for line in packed.stdout.splitlines())
    assert (plain.name, offline.name) == ("acme-server-1.1.0.tar.gz", "acme-server-1.1.0-offline.tar.gz")
    remove_local_images(list(unreachable_images.values()))  # now only the package can bring them
    assert not any(local_image(reference) for reference in unreachable_images.values())
    offline.with_name(offline.name + ".sha256").write_text(
        f"{hashlib.sha256(offline.read_bytes()).hexdigest()}  {offline.name}\n")

    result = project.upgrader("run", "--package", str(offline))

    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer() == "1.1.0"
    assert set(project.installed()["images"]) == set(unreachable_images.values())
    run_id = project.status()["run"]["id"]
    loaded = sorted({entry["detail"] for entry in project.journal()
                     if entry["event"] == "image_load" and entry["run_id"] == run_id})
    assert len(loaded) == 2 and all(name.endswith(".tar") for name in loaded), loaded


def test_pack_offline_refuses_an_image_the_engine_does_not_have(project: DockerProject, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    missing = {"web": f"127.0.0.1:{free_port()}/acme/web:9.9.9", "worker": image_refs("1.1.0")["worker"]}
    (app / "compose.yaml").write_text(compose_file("9.9.9", images=missing))
    (app / "defaults.env").write_text("HTTP_PORT=18080\n")
    dist = tmp_path / "dist"
    dist.mkdir()

    result = upgrader("release", "pack", str(app), "--version", "9.9.9", "--product", "acme-server",
                      "--out", str(dist), "--offline")

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{missing['web']}: not in the local Docker Engine" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(dist.iterdir()) == []
