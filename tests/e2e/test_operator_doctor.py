"""``upgrader doctor`` (DESIGN §7): each precondition checked, one line each, ✗ with the cause and
the fix; one failing check does not hide the others."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from croniter import croniter

from upgrader.cron import daemon_pids

from .operator_rig import (
    UPGRADER,
    TokenFeedServer,
    add_project,
    chain,
    gate_argv,
    preserved_crontab,
    sh,
    status,
    text,
    upgrader,
    wait_for,
)

CHECKS = ("Docker Engine", "Docker Compose", "Docker proxy", "feed", "disk", "cron", "lock")


@pytest.fixture
def user_crontab() -> Iterator[None]:
    with preserved_crontab():
        yield


def doctor(root: Path, name: str = "acme", env: dict[str, str] | None = None):
    return upgrader("--root", str(root), "-n", name, "doctor", env=env, timeout=60)


def lines(result) -> dict[str, tuple[str, str]]:
    """The doctor's lines by check name: (mark — ✓, ✗ or the warning's ! —, the rest after 'name: ')."""
    found = {}
    for line in result.stdout.decode().splitlines():
        mark, _, rest = line.partition(" ")
        name, separator, detail = rest.partition(": ")
        if mark in ("✓", "✗", "!") and separator:
            found[name] = (mark, detail)
    return found


def plain_project(root: Path, **settings) -> None:
    add_project(root, "acme", settings, workflow=chain("noop", [("noop", sh("exit 0"))]))


def test_an_unreachable_docker_engine_is_named_with_its_fix_and_the_rest_still_checked(tmp_path):
    plain_project(tmp_path)
    result = doctor(tmp_path, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode != 0, text(result)
    found = lines(result)
    mark, detail = found["Docker Engine"]
    assert mark == "✗", text(result)
    assert "not reachable" in detail and "dockerd running" in detail, detail
    assert "fix: " in detail and "systemctl start docker" in detail.split("fix: ", 1)[1], detail
    assert set(CHECKS) <= set(found), text(result)


def test_a_feed_refusing_the_token_is_named(tmp_path):
    index = {"schema": 1, "product": "acme-server", "releases": []}
    server = TokenFeedServer("the-right-token", index)
    try:
        plain_project(tmp_path, feed=server.url, token_file="feed.token")  # noqa: S106 - a file name
        token = tmp_path / "projects" / "acme" / "feed.token"
        token.write_text("a-wrong-token\n")
        token.chmod(0o600)
        result = doctor(tmp_path)
        assert result.returncode != 0, text(result)
        mark, detail = lines(result)["feed"]
        assert mark == "✗", text(result)
        assert "403" in detail or "401" in detail, detail
        assert "fix: " in detail, detail

        token.write_text("the-right-token\n")
        mark, detail = lines(doctor(tmp_path))["feed"]
        assert mark == "✓", detail
        assert server.url in detail
    finally:
        server.close()


def test_an_interrupted_run_is_named_with_resume_as_the_fix(tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    root = tmp_path / "srv"
    add_project(root, "acme", workflow=chain("gated", [("prepare", sh("exit 0")), ("slow", gate_argv(gate))]))
    run = subprocess.Popen([str(UPGRADER), "--root", str(root), "-n", "acme", "run"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (gate / "started").exists() or run.poll() is not None, "the slow step to start")
        assert run.poll() is None
        os.kill(run.pid, signal.SIGKILL)
        assert run.wait(timeout=15) == -signal.SIGKILL
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert status(root, "acme")["interrupted"] is True

    result = doctor(root)
    assert result.returncode != 0, text(result)
    mark, detail = lines(result)["last run"]
    assert mark == "✗", text(result)
    assert "interrupted" in detail, detail
    assert "fix: upgrader resume" in detail, detail
    assert lines(result)["lock"][0] == "✓"


def test_cron_is_checked_before_and_after_install(tmp_path, user_crontab):
    """No cron line is a warning (doctor still passes on it); a cron line that no cron daemon will
    start is an error (DESIGN §14: exit 1 only for a failed error)."""
    plain_project(tmp_path)
    mark, detail = lines(doctor(tmp_path))["cron"]
    assert mark == "!", detail
    assert "fix: upgrader install" in detail, detail

    installed = upgrader("--root", str(tmp_path), "-n", "acme", "install")
    assert installed.returncode == 0, text(installed)
    result = doctor(tmp_path)
    mark, detail = lines(result)["cron"]
    assert "0 3 * * 6" in detail
    if daemon_pids() == []:
        assert mark == "✗", detail
        assert "no cron daemon (cron or crond) runs" in detail and "fix: start cron" in detail, detail
        assert result.returncode == 1, text(result)
        return
    assert mark == "✓", detail
    upcoming = croniter("0 3 * * 6", datetime.now()).get_next(datetime).strftime("%Y-%m-%d %H:%M")
    assert f"next run {upcoming}" in detail, detail


# -- warnings: what the installed release asks of the host, and the feed (upgrader.policy) ------------

PRIVILEGED = "services:\n  web:\n    image: 127.0.0.1:5000/acme/web:1.0.0\n    privileged: true\n"


def marked(result) -> list[tuple[str, str, str]]:
    """Every doctor line as (mark, name, detail), ✓, ✗ and the warning mark ! alike."""
    found = []
    for line in result.stdout.decode().splitlines():
        mark, _, rest = line.partition(" ")
        name, separator, detail = rest.partition(": ")
        if mark in ("✓", "✗", "!") and separator:
            found.append((mark, name, detail))
    return found


def installed(root: Path, compose: str) -> None:
    export = root / "projects" / "acme" / "export"
    export.mkdir(parents=True)
    (export / "compose.yaml").write_text(compose)
    (export / ".env").write_text("")


def test_a_privileged_release_and_a_plain_http_feed_with_a_token_are_warnings_with_their_fix(tmp_path):
    index = {"schema": 1, "product": "acme-server", "releases": []}
    server = TokenFeedServer("the-token", index)
    try:
        plain_project(tmp_path, feed=server.url, token_file="feed.token")  # noqa: S106 - a file name
        token = tmp_path / "projects" / "acme" / "feed.token"
        token.write_text("the-token\n")
        token.chmod(0o600)
        installed(tmp_path, PRIVILEGED)
        result = doctor(tmp_path)
    finally:
        server.close()
    found = marked(result)
    warnings = [(name, detail) for mark, name, detail in found
                if mark == "!" and name in ("release policy", "feed security")]
    assert warnings == [
        ("release policy", "installed release: service web asks for privileged (privileged: true) — fix: if that "
         "is not wanted, add 'refuse: [privileged]' to project.yaml: upgrades to a release asking for it are then "
         "refused"),
        ("feed security", f"feed {server.url} is unsigned: whoever controls the feed or its mirror can ship any "
         "release — fix: set public_key in project.yaml to the publisher's Ed25519 key"),
        ("feed security", f"feed {server.url} is plain http: anyone on the network can read and change what it "
         "serves — fix: use the feed's https:// address"),
        ("feed security", "the feed token (token_file) is sent in clear text over http: anyone on the network can "
         "read it — fix: use the feed's https:// address, then have the token replaced"),
    ], text(result)
    assert next((mark, name) for mark, name, _ in found if name == "feed") == ("✓", "feed"), text(result)
    assert "the-token" not in result.stdout.decode() + result.stderr.decode()


def test_with_refuse_an_accepted_kind_is_no_warning_and_a_refused_one_is(tmp_path):
    plain_project(tmp_path, refuse=["host_namespaces"])
    installed(tmp_path, PRIVILEGED)
    assert [(mark, name, detail) for mark, name, detail in marked(doctor(tmp_path)) if name == "release policy"] == [
        ("✓", "release policy", "refuse: [host_namespaces]; no warning about the installed release or the feed")]

    plain_project(tmp_path, refuse=["privileged"])
    result = doctor(tmp_path)
    [(mark, detail)] = [(mark, detail) for mark, name, detail in marked(result) if name == "release policy"]
    assert mark == "!", text(result)
    assert detail.startswith("installed release: service web asks for privileged (privileged: true), which "
                             "project.yaml refuses — fix: the next upgrade is refused"), detail
