"""Secrets and permissions (issue 6 §4): the feed token appears nowhere upgrader writes or prints;
state and log files are 0600 in 0700 folders (even under a permissive umask); commands never go
through a shell; the cron line cannot be injected through the root's path."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.support import UPGRADER, assert_state_valid
from tests.reliability.harness import RelProject

from .test_faults import cron_command, crontab_text, run_like_cron


class Hook:
    """A webhook receiver on 127.0.0.1: keeps every body it is sent."""

    def __init__(self) -> None:
        bodies: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                bodies.append(bytes(self.headers) + self.rfile.read(length))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def files_with(folder: Path, needle: bytes) -> list[str]:
    return sorted(str(path) for path in folder.rglob("*")
                  if path.is_file() and not path.is_symlink() and needle in path.read_bytes())


def test_the_feed_token_appears_nowhere(project: RelProject) -> None:
    """Install, upgrade (progress.json read while it runs), an unhealthy release rolled back, a
    feed that refuses the token (403), every read-only command (with --debug too), cron runs,
    `install` with the token in the environment: the token is in no file under the root, no
    output, no webhook payload, no container's configuration and not in the crontab."""
    hook = Hook()
    token = project.token.encode()
    seen_progress: list[bytes] = []
    try:
        project.configure("upgrade", notify={"webhook": hook.url, "when": "always"})
        project.install("1.0.0")
        project.publish("1.1.0", extra={"config/blob.bin": os.urandom(1 << 20)})
        project.behave(project.archive_path("1.1.0"), rate=512 << 10)
        process = project.spawn("run")
        progress = project.state / "progress.json"
        while process.poll() is None:
            with contextlib.suppress(OSError):
                seen_progress.append(progress.read_bytes())
            time.sleep(0.02)
        assert process.returncode == 0, project.output_of(process)
        assert any(b"items" in text for text in seen_progress), "progress.json was never seen"
        project.publish("1.2.0", healthy=False)
        assert project.cli("run", "--cron").returncode == 1
        for command in (("status",), ("status", "--json"), ("history",), ("history", "--json"),
                        ("check",), ("check", "--json"), ("doctor",), ("graph",), ("projects",),
                        ("run", "--dry-run"), ("resume",), ("run", "--cron")):
            project.cli(*command)
        # The feed refuses this token: the 403 is reported without it.
        project.behave(f"/{project.name}/index.json", token="another-token")  # noqa: S106 - a wrong token, on purpose
        refused = project.cli("--debug", "check")
        assert refused.returncode != 0 and "403" in refused.stderr, refused.output
        project.cli("run", "--cron")
        project.behave(f"/{project.name}/index.json")
        project.extra_env["UPGRADER_FEED_TOKEN"] = project.token
        project.cli("check")
        saved = crontab_text()
        installed = project.cli("install")
        assert installed.returncode == 0, installed.output
        crontab = crontab_text()
        removed = project.cli("remove")
        assert removed.returncode == 0
        assert f"project={project.name}" not in crontab_text()
        del saved
        label = f"label=com.docker.compose.project={project.name}"
        containers = subprocess.run(["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True,
                                    check=True).stdout.split()
        inspected = subprocess.run(["docker", "inspect", *containers], capture_output=True, check=True).stdout
    finally:
        hook.stop()

    assert f"project={project.name}" in crontab
    assert hook.bodies, "no webhook was sent"
    assert files_with(project.root, token) == [str(project.dir / "feed.token")]
    assert token.decode() not in project.all_output()
    assert token.decode() not in crontab
    assert not [body for body in hook.bodies if token in body]
    assert not [text for text in seen_progress if token in text]
    assert token not in inspected
    assert_state_valid(project.root, project.name)


def _modes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): oct(path.stat().st_mode & 0o777)
            for path in [root, *root.rglob("*")] if not path.is_symlink()}


def test_state_and_logs_are_private_under_a_permissive_umask(project: RelProject) -> None:
    """Under umask 000 a cron run that installs a release, over a log that must rotate, leaves
    state/ and logs/ 0700, every file in them 0600, downloads/ and releases/ 0700, export/.env 0600."""
    project.publish("1.0.0")
    logs = project.root / "logs"
    logs.mkdir(mode=0o700)
    log = logs / f"{project.name}.log"
    log.write_bytes(b"an old line\n" * 100_000)  # over 1 MiB: the next line rotates it
    log.chmod(0o600)
    result = subprocess.run(project.argv("run", "--cron"), env=project.env(), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, preexec_fn=lambda: os.umask(0), timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.answer(timeout=10) == "1.0.0"
    assert (logs / f"{project.name}.log.1").exists(), "the log did not rotate"

    modes = _modes(project.root)
    wrong = {path: mode for path, mode in modes.items()
             if (path.startswith(("state", "logs")) or path in ("downloads", "releases"))
             and mode != ("0o700" if (project.root / path).is_dir() else "0o600")}
    env_mode = modes[f"projects/{project.name}/export/.env"]
    assert not wrong, f"not private: {wrong}"
    assert env_mode == "0o600", env_mode
    assert_state_valid(project.root, project.name)


def test_commands_never_go_through_a_shell(project: RelProject, tmp_path: Path) -> None:
    """Shell syntax in a workflow's `run`, `env` and `cwd`, in an undo command, in a notify command
    and in project.yaml `values` is passed as it is: no canary file is ever created."""
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    evil = [f"; touch {canaries}/c1", f"$(touch {canaries}/c2)", f"`touch {canaries}/c3`",
            f"| touch {canaries}/c4", f"&& touch {canaries}/c5", f"\ntouch {canaries}/c6", "*"]
    workflow = {
        "name": "shell-free", "initial": "idle", "final": "done", "on_failure": "rollback",
        "states": ["idle", "said", "done"],
        "steps": [
            {"name": "say", "from": "idle", "to": "said", "action": "command",
             "run": ["/bin/echo", *evil], "env": {"EVIL": f"$(touch {canaries}/c7)"},
             "undo": {"run": ["/bin/echo", f"; touch {canaries}/c8", f"$(touch {canaries}/c9)"]}},
            {"name": "fail", "from": "said", "to": "done", "action": "command",
             "run": ["/bin/sh", "-c", 'echo "$EVIL"; exit 1'], "env": {"EVIL": f"$(touch {canaries}/c10)"}},
        ],
    }
    path = project.test_dir / "shell-free.yaml"
    path.write_text(yaml.safe_dump(workflow))
    document = {"workflow": str(path),
                "values": {"EVIL": f"$(touch {canaries}/c11)"},
                "notify": {"command": ["/bin/echo", f"; touch {canaries}/c12", f"$(touch {canaries}/c13)"],
                           "when": "always"}}
    (project.dir / "project.yaml").write_text(yaml.safe_dump(document))

    result = project.cli("run")

    assert result.returncode == 1, result.output  # the second step fails, the first is undone
    assert list(canaries.iterdir()) == []
    said = [entry["detail"] for entry in project.journal() if entry["event"] == "step_output"]
    assert " ".join(evil[:5]) in said[0], said
    assert f"$(touch {canaries}/c10)" in said, said
    assert_state_valid(project.root, project.name)


WEIRD = "r o'o\"t;$(touch canary1)`touch canary2`&a|b>canary3<c%d\\e*f?g # h ~!{i,j}"


def test_the_cron_line_cannot_be_injected(tmp_path: Path) -> None:
    """A root whose path holds every shell metacharacter (and cron's %): `install` writes lines that
    run exactly upgrader on that root, as cron runs them; no canary is created; installing twice
    keeps two lines; `remove` removes them; a line break in the path is refused in one line."""
    root = tmp_path / WEIRD
    project = root / "projects" / "relcron"
    project.mkdir(parents=True)
    workflow = tmp_path / "noop.yaml"
    workflow.write_text(yaml.safe_dump({"name": "noop", "initial": "idle", "final": "done",
                                        "states": ["idle", "done"],
                                        "steps": [{"name": "nothing", "from": "idle", "to": "done",
                                                   "action": "noop"}]}))
    (project / "project.yaml").write_text(yaml.safe_dump({"workflow": str(workflow)}))
    home = tmp_path / "cron-home"
    home.mkdir()

    def upgrader(*args: str, at: Path = root) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(UPGRADER), "--root", str(at), "-n", "relcron", *args], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)

    def mine() -> list[str]:
        return [line for line in crontab_text().splitlines() if "project=relcron" in line and "r o" in line]

    try:
        for _ in range(2):
            installed = upgrader("install")
            assert installed.returncode == 0, installed.stdout + installed.stderr
        lines = mine()
        assert len(lines) == 2, lines
        for line in lines:
            result = run_like_cron(cron_command(line), home)
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            assert result.stdout == "" and result.stderr == "", result
    finally:
        removed = upgrader("remove")
    assert removed.returncode == 0, removed.stderr
    assert mine() == []
    assert list(home.iterdir()) == [], f"the cron line ran something else: {list(home.iterdir())}"
    assert not [path for path in tmp_path.rglob("canary*")]
    history = json.loads(upgrader("history", "--json").stdout)
    assert [entry["outcome"] for entry in history] == ["completed"], history

    broken = tmp_path / "line\nbreak"
    (broken / "projects" / "relcron").mkdir(parents=True)
    (broken / "projects" / "relcron" / "project.yaml").write_text(yaml.safe_dump({"workflow": str(workflow)}))
    refused = upgrader("install", at=broken)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "line break" in refused.stderr, refused.stderr
    assert "line" not in crontab_text() or "project=relcron" not in crontab_text()


@pytest.mark.parametrize("name", ["x;touch canary", "$(touch canary)", "../escape", "a b"])
def test_a_hostile_project_name_is_refused(tmp_path: Path, name: str) -> None:
    """A project name that is not Compose's [a-z0-9][a-z0-9_-]* is refused in one line, exit 2."""
    result = subprocess.run([str(UPGRADER), "--root", str(tmp_path), "-n", name, "install"], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "invalid" in result.stderr
    assert list(tmp_path.iterdir()) == []
