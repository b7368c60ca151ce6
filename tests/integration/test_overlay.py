"""``overlay`` and ``overlay_back`` on a real server folder (DESIGN §12), through the real command.

The server root is a vendor's server folder (its script, helper tools, default variables, the
customer's ``projects/`` and ``cred.json``). A zip of the next version's folder is served from a
``file://`` index feed; the workflow downloads, verifies, extracts and overlays it. Whatever
happens — a later step fails, the run completes and is rolled back, SIGKILL at any file the
overlay or its undo writes — the folder ends byte for byte, mode for mode, as it was, and the
customer's files are never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.rig import write_index
from tests.rig.faults import KillPoint, run_with_kill_point
from tests.rig.zips import write_zip, zfile, zfolder

from .support import UPGRADER

NAME = "spacetech"
OWN = ("releases", "downloads", "state", "logs", "snapshots")
OLD = {  # path → (text, mode)
    "ac-self-hosted.sh": ("#!/bin/sh\necho old script\n", 0o755),
    "helper-tools/auto-update.sh": ("#!/bin/sh\necho old updater\n", 0o750),
    "global.yaml": ("imageTag: 3.28.0\n", 0o640),
    "VERSION": ("3.28.0\n", 0o644),
    "docs/only-in-the-old.txt": ("gone from the new release, left in place\n", 0o644),
    "cred.json": ('{"private_key": "the customer\'s"}\n', 0o600),
    "projects/spacetech/export/global.yaml": ("the customer's export\n", 0o644),
    "projects/spacetech/user-secret": ("s3cr3t\n", 0o600),
    "local.conf": ("an operator's extra keep\n", 0o644),
}
NEW = [  # the release: the top folder, replaced, added and kept paths
    zfolder("appcircle-server"),
    zfile("appcircle-server/ac-self-hosted.sh", "#!/bin/sh\necho new script\n", 0o755),
    zfile("appcircle-server/helper-tools/auto-update.sh", "#!/bin/sh\necho new updater\n", 0o755),
    zfile("appcircle-server/helper-tools/new-tool", "#!/bin/sh\necho added\n", 0o755),
    zfile("appcircle-server/global.yaml", "imageTag: 3.29.1\n"),
    zfile("appcircle-server/VERSION", "3.29.1\n"),
    zfile("appcircle-server/added/deep/file.txt", "a new folder\n"),
    zfile("appcircle-server/cred.json", "the vendor's sample: never laid over the customer's\n"),
    zfile("appcircle-server/projects/spacetech/export/global.yaml", "the vendor's, never laid\n"),
    zfile("appcircle-server/local.conf", "the vendor's default\n"),
]


def digest(root: Path) -> dict[str, tuple[str, int, str]]:
    """Every path under ``root`` but upgrader's own folders: (kind, mode, content sha256)."""
    found = {}
    for folder, names, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        if relative.parts and relative.parts[0] in OWN:
            names.clear()
            continue
        for name in names + files:
            path = Path(folder) / name
            key = (relative / name).as_posix()
            if key in OWN:
                continue
            status = path.lstat()
            kind = "dir" if stat.S_ISDIR(status.st_mode) else "file"
            content = hashlib.sha256(path.read_bytes()).hexdigest() if kind == "file" else ""
            found[key] = (kind, stat.S_IMODE(status.st_mode), content)
    return found


def workflow(fail_after: bool) -> dict[str, object]:
    steps = [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download"},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
        {"name": "overlay", "from": "extracted", "to": "overlaid", "action": "overlay", "keep": ["local.conf"],
         "undo": "overlay_back"},
        {"name": "check", "from": "overlaid", "to": "done", "action": "command",
         "run": ["false"] if fail_after else ["true"]},
    ]
    return {"name": "overlay-test", "initial": "idle", "final": "done",
            "states": ["idle", "downloaded", "verified", "extracted", "overlaid", "done"], "steps": steps}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    server = tmp_path / "appcircle-server"
    for relative, (text, mode) in OLD.items():
        path = server / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    feed = tmp_path / "feed"
    feed.mkdir()
    entry = write_zip(feed / "server-linux-x64-3.29.1-42.zip", NEW)
    write_index(feed, [{"version": "3.29.1", **entry}], product="appcircle-server")
    project = server / "projects" / NAME
    (tmp_path / "pass.yaml").write_text(yaml.safe_dump(workflow(False)))
    (tmp_path / "fail.yaml").write_text(yaml.safe_dump(workflow(True)))
    (project / "project.yaml").write_text(yaml.safe_dump({
        "feed": feed.as_uri() + "/", "workflow": str(tmp_path / "pass.yaml"),
        "installed_version": {"run": ["cat", "{root}/VERSION"]}}))
    return server


def upgrader(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPGRADER), "--root", str(root), "-n", NAME, *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, check=False)


def use(root: Path, name: str) -> None:
    path = root / "projects" / NAME / "project.yaml"
    document = yaml.safe_load(path.read_text())
    document["workflow"] = str(root.parent / f"{name}.yaml")
    path.write_text(yaml.safe_dump(document))


def expected_after(before: dict[str, tuple[str, int, str]]) -> dict[str, tuple[str, int, str]]:
    """``before`` with the release laid over it (kept paths as they were)."""
    after = dict(before)
    for entry in NEW:
        relative = entry.name.removeprefix("appcircle-server").strip("/")
        if not relative or relative in ("cred.json", "local.conf") or relative.startswith("projects"):
            continue
        if entry.name.endswith("/"):
            after[relative] = ("dir", 0o755, "")
        else:
            after[relative] = ("file", 0o755 if entry.mode & 0o111 else 0o644, hashlib.sha256(entry.data).hexdigest())
    for folder in ("added", "added/deep"):
        after[folder] = ("dir", 0o755, "")
    return after


def journal(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / "state" / NAME / "journal.jsonl").read_text().splitlines()]


def test_a_completed_overlay_keeps_the_customers_files_and_rolls_back_byte_for_byte(root):
    before = digest(root)
    checked = upgrader(root, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["installed"] == "3.28.0"
    assert json.loads(checked.stdout)["installed_from"] == "installed_version"
    result = upgrader(root, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert digest(root) == expected_after(before)
    installed = json.loads((root / "state" / NAME / "installed.json").read_text())
    assert installed["version"] == "3.29.1"
    assert installed["previous"]["version"] == "3.28.0"
    assert installed["previous"]["reported_by"] == "installed_version"
    planned = [event["detail"] for event in journal(root) if event["event"] == "overlay_planned"]
    assert [detail["kept"] for detail in planned] == [3]  # cred.json, local.conf, projects/
    undone = upgrader(root, "rollback")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert digest(root) == before
    # The version before is recorded as what reported it, not as an install of upgrader's.
    restored = json.loads((root / "state" / NAME / "installed.json").read_text())
    assert (restored["version"], restored["reported_by"]) == ("3.28.0", "installed_version")


def test_a_step_failing_after_the_overlay_lays_the_old_folder_back(root):
    use(root, "fail")
    before = digest(root)
    result = upgrader(root, "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert digest(root) == before
    assert not (root / "state" / NAME / "installed.json").exists()
    events = [event["event"] for event in journal(root)]
    assert "overlay_undone" in events


def killed(root: Path, tmp_path: Path, point: KillPoint, *args: str) -> None:
    outcome = run_with_kill_point(point, ["--root", str(root), "-n", NAME, *args], tmp_path / "kill.json",
                                  timeout=120)
    assert outcome.report is not None and outcome.returncode == -9, outcome.stderr


# _copy_durably's calls in a run: 4 copies of the 4 files it replaces, then 6 files laid over (2
# added); in overlay_back, 4 copies laid back.
@pytest.mark.parametrize("call", [2, 4, 5, 8, 10])
def test_sigkill_inside_the_overlay_then_rollback_converges(root, tmp_path, call):
    before = digest(root)
    killed(root, tmp_path, KillPoint("upgrader.actions.overlay._copy_durably", call, None), "run")
    result = upgrader(root, "rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert digest(root) == before


@pytest.mark.parametrize("call", [5, 9])
def test_sigkill_inside_the_overlay_then_resume_completes_it(root, tmp_path, call):
    before = digest(root)
    killed(root, tmp_path, KillPoint("upgrader.actions.overlay._copy_durably", call, None), "run")
    result = upgrader(root, "resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert digest(root) == expected_after(before)


@pytest.mark.parametrize("call", [11, 13])
def test_sigkill_inside_overlay_back_then_rollback_again_converges(root, tmp_path, call):
    use(root, "fail")
    before = digest(root)
    killed(root, tmp_path, KillPoint("upgrader.actions.overlay._copy_durably", call, None), "run")
    assert digest(root) != before
    result = upgrader(root, "rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert digest(root) == before


def test_a_link_in_the_target_is_refused_before_anything_changes(root):
    (root / "helper-tools" / "auto-update.sh").unlink()
    (root / "helper-tools" / "auto-update.sh").symlink_to("/etc/passwd")
    before = {path: (path.is_symlink(), path.read_bytes()) for path in root.rglob("*") if path.is_file()}
    result = upgrader(root, "run")
    assert result.returncode == 1
    assert "is a symbolic link; overlay writes no file through a link" in result.stdout + result.stderr
    assert {path: (path.is_symlink(), path.read_bytes()) for path in root.rglob("*") if path.is_file()
            and path.relative_to(root).parts[0] not in OWN} == {
        path: value for path, value in before.items() if path.relative_to(root).parts[0] not in OWN}

