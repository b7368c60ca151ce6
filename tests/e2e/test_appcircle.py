"""The shipped ``appcircle`` workflow against a stand-in of the vendor's server (DESIGN §12).

The upgrader root is the vendor's server folder, unpacked from the 3.28.0 zip as the vendor's
own tool would have left it, its stack running (``ac-self-hosted.sh`` export + up, the stand-in
in ``tests/rig``): no installed.json, ``installed_version`` from ``-v``. The feed is an index of
zips of the whole folder. The web answers the version of the folder it was exported from.
"""

from __future__ import annotations

import hashlib
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

from tests.rig import Feed, Rig, answer, free_port, image_refs, remove_project
from tests.rig.faults import KillPoint, run_with_kill_point
from tests.rig.zips import TOP, server_zip
from upgrader.runtime import compose
from upgrader.workflow import resolve

from .conftest import upgrader

COMPOSE = " ".join(compose.command())


def compose_file(*, healthy: bool = True) -> str:
    port = "8080" if healthy else "8081"  # a broken release serves on the wrong port
    return f"""services:
  web:
    image: {image_refs("1.0.0")["web"]}
    init: true
    command: ["httpd", "-f", "-p", "{port}", "-h", "/srv"]
    ports: ["127.0.0.1:${{HTTP_PORT}}:8080"]
    volumes: ["./www:/srv:ro"]
"""


def tree(root: Path, under: str = "") -> dict[str, tuple[int, str]]:
    """path → (mode, sha256) of every file under ``root`` but upgrader's folders and exports."""
    found = {}
    for path in sorted((root / under).rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith(("releases/", "downloads/", "state/", "logs/")) and (
                "/export/" not in relative or "/ssl/" in relative):
            found[relative] = (path.stat().st_mode & 0o7777, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@dataclass
class Vendor:
    root: Path
    name: str
    port: int
    feed: Feed

    def script(self, verb: str) -> None:
        subprocess.run([str(self.root / "ac-self-hosted.sh"), "-n", self.name, verb], check=True,
                       capture_output=True, stdin=subprocess.DEVNULL, env={**os.environ, "COMPOSE": COMPOSE})

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return upgrader("--root", str(self.root), "-n", self.name, *args, env={"COMPOSE": COMPOSE},
                        timeout=timeout)

    def publish(self, version: str, *, healthy: bool = True) -> None:
        entry = server_zip(self.feed.folder / f"server-linux-x64-{version}-1.zip", version,
                           compose_file(healthy=healthy))
        self.feed.add(entry)

    def journal(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in
                (self.root / "state" / self.name / "journal.jsonl").read_text().splitlines()]

    def customer_files(self) -> dict[str, tuple[int, str]]:
        return {**tree(self.root, "projects"), **tree(self.root, "cred.json")}


def fast_workflow(folder: Path) -> Path:
    """The shipped workflow, its waits cut to a fraction of a second (check polled 15 times)."""
    document = yaml.safe_load(resolve("appcircle", folder).read_text())
    for step in document["steps"]:
        for retry in (step.get("retry"), (step.get("undo") or {}).get("retry") if isinstance(step.get("undo"), dict)
                      else None):
            if retry:
                retry.update(initial=0.2, max=0.2)
        if step["name"] == "check":
            step["retry"]["attempts"] = 15
    path = folder / "appcircle-fast.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def vendor(rig: Rig, tmp_path: Path) -> Iterator[Vendor]:
    name = f"spacetech-{secrets.token_hex(3)}"
    root = tmp_path / TOP
    made = Vendor(root, name, free_port(), rig.feed_for(name))
    installed = server_zip(tmp_path / "installed.zip", "3.28.0", compose_file())
    with zipfile.ZipFile(tmp_path / installed["archive"]) as archive:  # as the vendor's tool unpacks it
        for info in archive.infolist():
            archive.extract(info, tmp_path)
            (tmp_path / info.filename).chmod(0o755 if info.is_dir() or (info.external_attr >> 16) & 0o111 else 0o644)
    project = root / "projects" / name
    (project / "export" / "ssl").mkdir(parents=True)
    (project / "global.yaml").write_text(f"port: {made.port}\n")
    (project / "export" / "ssl" / "cert.pem").write_text("-----BEGIN CERTIFICATE----- the customer's\n")
    (root / "cred.json").write_text('{"type": "service_account", "private_key": "the customer\'s"}\n')
    (root / "cred.json").chmod(0o600)
    (project / "project.yaml").write_text(yaml.safe_dump({
        "feed": made.feed.url, "workflow": str(fast_workflow(tmp_path)),
        "installed_version": {"run": ["{root}/ac-self-hosted.sh", "-v"]}}))
    for verb in ("export", "up"):
        made.script(verb)
    try:
        for _ in range(50):
            if answer(made.port) == "3.28.0":
                break
            subprocess.run(["sleep", "0.2"], check=True)
        assert answer(made.port) == "3.28.0"
        yield made
    finally:
        remove_project(name)


def test_a_running_server_is_upgraded_through_the_vendor_script(vendor):
    vendor.publish("3.29.1")
    before = vendor.customer_files()
    checked = vendor.cli("check", "--json")
    assert checked.returncode == 0, checked.stderr
    plan = json.loads(checked.stdout)
    assert (plan["installed"], plan["installed_from"], plan["target"]) == ("3.28.0", "installed_version", "3.29.1")
    result = vendor.cli("run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert answer(vendor.port) == "3.29.1"
    assert (vendor.root / "VERSION").read_text() == "3.29.1\n"
    assert os.access(vendor.root / "ac-self-hosted.sh", os.X_OK)
    assert vendor.customer_files() == before
    installed = json.loads((vendor.root / "state" / vendor.name / "installed.json").read_text())
    assert installed["version"] == "3.29.1"
    assert installed["previous"]["reported_by"] == "installed_version"
    outputs = [event["step"] for event in vendor.journal() if event["event"] == "step_done"]
    assert outputs == ["download", "verify", "extract", "down", "reexport", "overlay", "export", "upgrade", "up",
                       "check"]


def test_a_release_that_never_answers_is_rolled_back_to_the_old_folder(vendor):
    vendor.publish("3.29.1", healthy=False)
    before = tree(vendor.root)
    result = vendor.cli("run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert answer(vendor.port) == "3.28.0"
    assert tree(vendor.root) == before
    undone = [event["step"] for event in vendor.journal() if event["event"] == "undo_done"]
    # down the new release, lay the old folder back, export with the old script, up the old one.
    order = [step for step in undone if step in ("up", "overlay", "reexport", "down")]
    assert order == ["up", "overlay", "reexport", "down"]
    assert not (vendor.root / "state" / vendor.name / "installed.json").exists()


# process.run's calls in a run: installed_version twice (check, start), then down, export, upgrade,
# up, check. A kill on entry to call N leaves the run at the state before that step.
STATES = {3: "extracted", 4: "overlaid", 5: "exported", 6: "upgraded", 7: "started"}


@pytest.mark.parametrize("then", ["resume", "rollback"])
@pytest.mark.parametrize("call", sorted(STATES), ids=[STATES[call] for call in sorted(STATES)])
def test_sigkill_at_each_state_of_the_vendor_steps_then_resume_or_rollback_converges(vendor, tmp_path, call, then):
    vendor.publish("3.29.1")
    before = tree(vendor.root)
    killed = run_with_kill_point(KillPoint("upgrader.runtime.process.run", call),
                                 ["--root", str(vendor.root), "-n", vendor.name, "run"], tmp_path / "kill.json",
                                 env={"COMPOSE": COMPOSE}, timeout=240)
    assert killed.returncode == -9 and killed.report is not None, killed.stderr
    assert json.loads(vendor.cli("status", "--json").stdout)["run"]["state"] == STATES[call]
    result = vendor.cli(then)
    assert result.returncode == 0, result.stdout + result.stderr
    if then == "resume":
        assert answer(vendor.port) == "3.29.1"
        assert (vendor.root / "VERSION").read_text() == "3.29.1\n"
    else:
        assert answer(vendor.port) == "3.28.0"
        assert tree(vendor.root) == before


def test_a_question_fails_its_step_instead_of_hanging(vendor):
    vendor.publish("3.29.1")
    result = upgrader("--root", str(vendor.root), "-n", vendor.name, "run", "--cron",
                      env={"COMPOSE": COMPOSE, "AC_ASK": "down"}, timeout=120)
    assert result.returncode == 1
    assert "no answer: stdin is closed" in result.stderr
    assert answer(vendor.port) == "3.28.0"
