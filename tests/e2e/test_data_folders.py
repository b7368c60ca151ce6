"""Data folders beside compose.yaml on the real Docker Engine (``upgrader.datadirs``): a release
whose worker appends its version to ``./data/versions`` at each start keeps every line through
upgrades, a failed upgrade, a rollback and ``prune``; a server installed before data folders has
its data moved out of ``export/``; what an old ``export.prev/`` holds goes to ``lost+found/``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.rig import PRODUCT, image_refs, release_archive
from upgrader.runtime import compose

from .conftest import DockerProject, wait_until


def publish(project: DockerProject, version: str, *, healthy: bool = True, images_of: str | None = None) -> None:
    """Put a release of ``version`` whose worker keeps ./data (running the images of ``images_of``,
    built and pushed if need be) into the project's feed."""
    images = project.rig.publish_images(images_of or version)
    project.feed.add(release_archive(project.feed.folder / f"{PRODUCT}-{version}.tar.gz", version,
                                     healthy=healthy, images=images, data="./data"))


def log(project: DockerProject) -> list[str]:
    path = project.dir / "data" / "data" / "versions"
    return path.read_text().split() if path.exists() else []


def wait_for_line(project: DockerProject, version: str) -> None:
    """Until ``version`` wrote the last line of the log (its worker started)."""
    wait_until(lambda: log(project)[-1:] == [version], 10, f"{version} wrote its line")


def kept_files(project: DockerProject) -> set[str]:
    """Every path under projects/<name> but inside the export folders (upgrader's to rewrite)."""
    exports = {"export", "export.prev", "export.new"}
    found = set()
    for folder, folders, names in os.walk(project.dir):
        relative = Path(folder).relative_to(project.dir)
        if relative.parts and relative.parts[0] in exports:
            continue
        found |= {str(relative / name) for name in folders + names} - exports
    return found


def run(project: DockerProject, *args: str, expect: int = 0) -> None:
    result = project.upgrader(*args)
    assert result.returncode == expect, result.stdout + result.stderr


def test_the_data_folder_survives_upgrades_a_failed_upgrade_a_rollback_and_prune(project: DockerProject) -> None:
    publish(project, "1.0.0")
    run(project, "run", "--to", "1.0.0")
    wait_until(lambda: log(project) == ["1.0.0"], 10, "1.0.0 wrote its line")
    folder = project.dir / "data" / "data"
    inode = folder.stat().st_ino
    assert os.readlink(project.dir / "export" / "data") == "../data/data"
    assert [entry["detail"] for entry in project.journal() if entry["event"] == "data_folders"] == [
        {"release": "1.0.0", "folders": ["data"]}]

    steps: list[tuple[tuple[str, ...], int, str | None, str | None]] = [
        (("run",), 0, None, "1.1.0"),                   # the newest release: 1.1.0
        (("run", "--to", "1.2.0"), 1, "1.2.0", "1.1.0"),  # never healthy: rolled back, 1.1.0 again
        (("run", "--to", "1.3.0"), 0, "1.3.0", "1.3.0"),
        (("rollback",), 0, None, "1.1.0"),               # the completed upgrade undone
        (("run", "--to", "1.3.0"), 0, None, "1.3.0"),
        (("prune", "--keep", "0"), 0, None, None),
    ]
    publish(project, "1.1.0")
    for args, code, publishes, starts in steps:
        if publishes == "1.2.0":
            publish(project, "1.2.0", healthy=False, images_of="1.1.0")
        elif publishes:
            publish(project, publishes)
        before, files = log(project), kept_files(project)

        run(project, *args, expect=code)

        if starts is not None:  # the release that runs now wrote its line last
            wait_for_line(project, starts)
        lines = log(project)
        assert lines[:len(before)] == before, f"after {args}: {lines}, before: {before}"
        assert folder.stat().st_ino == inode, f"after {args}: the data folder was replaced"
        assert os.readlink(project.dir / "export" / "data") == "../data/data"
        assert files <= kept_files(project), f"after {args}: removed {sorted(files - kept_files(project))}"
    assert project.answer() == "1.3.0"
    assert not (project.dir / "lost+found").exists()


def test_a_server_from_before_data_folders_has_its_data_moved_and_its_old_export_kept(
        project: DockerProject) -> None:
    publish(project, "1.0.0")
    run(project, "run", "--to", "1.0.0")
    wait_until(lambda: log(project) == ["1.0.0"], 10, "1.0.0 wrote its line")
    # What the upgrader before data folders left: the data inside export/, 1.0.0 running on it.
    subprocess.run([*compose.command(), "-p", project.name, "down"], capture_output=True, check=True)
    export = project.dir / "export"
    (export / "data").unlink()
    os.rename(project.dir / "data" / "data", export / "data")
    (project.dir / "data").rmdir()
    subprocess.run([*compose.command(), "-p", project.name, "--project-directory", str(export),
                    "-f", str(export / "compose.yaml"), "up", "--detach"], capture_output=True, check=True)
    wait_until(lambda: (export / "data" / "versions").read_text().split() == ["1.0.0", "1.0.0"], 10,
               "1.0.0 started on the folder in export/")
    moved_inode = (export / "data").stat().st_ino

    publish(project, "1.1.0")
    run(project, "run")

    folder = project.dir / "data" / "data"
    assert folder.is_dir() and not folder.is_symlink()
    assert folder.stat().st_ino == moved_inode  # moved, not copied
    assert os.readlink(export / "data") == "../data/data"
    wait_until(lambda: log(project) == ["1.0.0", "1.0.0", "1.1.0"], 10, "1.1.0 wrote its line after 1.0.0's")
    assert not (project.dir / "export.prev" / "data").exists()
    assert any(entry["event"] == "data_moved" for entry in project.journal())

    # An export.prev/ that holds a data folder (as the upgrader before data folders left it) and
    # a file put there by hand: the next upgrade keeps both under lost+found/.
    previous = project.dir / "export.prev"
    (previous / "data").mkdir()
    (previous / "data" / "versions").write_text("0.9.0\n")
    (previous / "notes.txt").write_text("written by hand\n")
    publish(project, "1.3.0")
    run(project, "run", "--to", "1.3.0")

    [kept] = (project.dir / "lost+found").iterdir()
    assert kept.name.endswith("-1.0.0")
    assert (kept / "data" / "versions").read_text() == "0.9.0\n"
    assert (kept / "notes.txt").read_text() == "written by hand\n"
    [warning] = [entry["detail"] for entry in project.journal() if entry["event"] == "export_kept"]
    assert warning["to"] == str(kept) and warning["entries"] == ["data", "notes.txt"]
    wait_for_line(project, "1.3.0")
    assert log(project)[:3] == ["1.0.0", "1.0.0", "1.1.0"]
    assert project.answer() == "1.3.0"
    assert image_refs("1.3.0")["web"] in (export / "compose.yaml").read_text()
