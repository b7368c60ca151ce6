"""Offline packages on the real Docker Engine (DESIGN §15): a package loads only the image
references its release.json names. Its ``images/*.tar`` (``docker save`` archives) are checked
before the server stops; one that would tag another project's image is refused, and that image
is left as it was.

Operator's guide §8: ``upgrader run --package FILE`` with ``FILE.sha256`` beside it.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig import REGISTRY, build_image, compose_file, image_refs, local_image, remove_local_images

from .conftest import DockerProject

OTHER = f"{REGISTRY}/other/web:1.0"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.strip()


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference)


def started_at(project: DockerProject) -> dict[str, str]:
    """Each container of the project and when it last started."""
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project.name}").split()
    return {entry["Name"]: entry["State"]["StartedAt"] for entry in json.loads(docker("inspect", *ids))}


def saved(references: list[str], extra_tag: str | None = None, *, second_manifest: bool = False) -> bytes:
    """``docker save`` of ``references``. With ``extra_tag`` its manifest.json and the legacy
    repositories file also tag the first image as ``extra_tag``, as a hostile package would; with
    ``second_manifest`` too, they stay as they were and a second ``./manifest.json`` that says so
    comes last (the engine unpacks both to one file: the last one wins)."""
    raw = subprocess.run(["docker", "save", *references], capture_output=True, check=True).stdout
    if extra_tag is None:
        return raw
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(raw)) as source, tarfile.open(fileobj=out, mode="w") as target:
        for info in source:
            data = source.extractfile(info).read() if info.isfile() else None  # type: ignore[union-attr]
            if info.name == "manifest.json" and data is not None:
                manifest = json.loads(data)
                manifest[0]["RepoTags"].append(extra_tag)
                if second_manifest:
                    second = json.dumps(manifest).encode()
                else:
                    data = json.dumps(manifest).encode()
            elif info.name == "repositories" and data is not None and not second_manifest:
                repositories = json.loads(data)
                repository, tag = extra_tag.rsplit(":", 1)
                first = next(iter(next(iter(repositories.values())).values()))
                repositories.setdefault(repository, {})[tag] = first
                data = json.dumps(repositories).encode()
            if data is not None:
                info.size = len(data)
            target.addfile(info, io.BytesIO(data) if data is not None else None)
        if second_manifest:
            info = tarfile.TarInfo("./manifest.json")
            info.size, info.mode = len(second), 0o644
            target.addfile(info, io.BytesIO(second))
    return out.getvalue()


def offline_package(folder: Path, version: str, images_tar: bytes) -> Path:
    """The sample release ``version`` as an offline package: its images in images/app.tar, its
    sha256 in FILE.sha256 beside it."""
    refs = image_refs(version)
    files = {
        "release.json": json.dumps({"product": "acme-server", "version": version,
                                    "images": sorted(refs.values())}).encode(),
        "compose.yaml": compose_file(version).encode(),
        "defaults.env": b"HTTP_PORT=18080\n",
        "images/app.tar": images_tar,
    }
    path = folder / f"acme-server-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        images = tarfile.TarInfo("images")
        images.type, images.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(images)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    path.with_name(path.name + ".sha256").write_text(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    return path


@pytest.fixture
def other_image(project: DockerProject, tmp_path: Path) -> Iterator[str]:
    """``127.0.0.1:5000/other/web:1.0``: another project's image, here already, another image
    than any of the release's; its image id."""
    build_image(OTHER, "other", tmp_path)
    try:
        yield image_id(OTHER)
    finally:
        remove_local_images([OTHER])


@pytest.mark.parametrize(("second_manifest", "says"), [
    pytest.param(False, f"images/app.tar: carries {OTHER}, which release.json does not list", id="its-manifest"),
    # The engine (20.10) unpacks manifest.json, then ./manifest.json over it, and reads the last:
    # a check of the first one only let this through, and docker load moved the other tag.
    pytest.param(True, "images/app.tar: entry './manifest.json' is not the one regular manifest.json",
                 id="a-second-manifest"),
])
def test_a_package_whose_image_tar_tags_another_image_is_refused_before_the_server_stops(
    project: DockerProject, other_image: str, tmp_path: Path, second_manifest: bool, says: str
) -> None:
    project.install("1.0.0")
    project.rig.publish_images("1.1.0")
    refs = sorted(image_refs("1.1.0").values())
    assert other_image not in {image_id(reference) for reference in refs}
    package = offline_package(tmp_path, "1.1.0", saved(refs, extra_tag=OTHER, second_manifest=second_manifest))
    before = started_at(project)

    result = project.upgrader("run", "--package", str(package))

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    # A run that rolled back ends with one line: "run ID …: rolled back: <the refusal>".
    assert not result.stderr.strip(), output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("run ") and "rolled back" in last, output
    assert says in last, output
    # Refused at verify: the server never stopped, nothing was loaded, the other image is untouched.
    assert project.assert_serves("1.0.0") == ["1.0.0"]
    assert started_at(project) == before
    run = project.status()["run"]
    assert run["status"] == "rolled_back"
    steps = [entry["step"] for entry in project.journal()
             if entry["event"] == "step_started" and entry["run_id"] == run["id"]]
    assert steps == ["download", "verify"], steps
    assert image_id(OTHER) == other_image


def test_a_clean_offline_package_is_loaded_without_a_registry_pull(project: DockerProject, tmp_path: Path) -> None:
    """The same package without the extra tag: docker save's own archive (manifest.json,
    repositories, a shared layer linked) passes the checks and is loaded; 1.1.0 serves."""
    project.install("1.0.0")
    project.rig.publish_images("1.1.0")
    refs = sorted(image_refs("1.1.0").values())
    package = offline_package(tmp_path, "1.1.0", saved(refs))
    remove_local_images(refs)  # so that only the package can bring them
    assert not any(local_image(reference) for reference in refs)

    result = project.upgrader("run", "--package", str(package))

    assert result.returncode == 0, result.stdout + result.stderr
    assert project.assert_serves("1.1.0") == ["1.0.0", "1.1.0"]
    run_id = project.status()["run"]["id"]
    loaded = [entry["detail"] for entry in project.journal()
              if entry["event"] == "image_load" and entry["run_id"] == run_id]
    assert loaded == ["app.tar", "app.tar"], loaded  # prefetch, then pull with the server stopped
    assert set(project.installed()["images"]) == set(refs)
