"""Fixtures of the corpus: a server root with project ``acme`` fed over HTTP on 127.0.0.1 with a
token (``tests.integration.feedrig.Rig``), and the check every refusal must pass."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.feedrig import Rig, changes, error_line, snapshot
from tests.integration.support import Outcome

TOKEN = "corpus-TOKEN-5d1f0a9e"  # noqa: S105 - a test token
# What a command refused before it started may leave: the project's state folder and its lock.
LOCK_ONLY = {"root/state", "root/state/acme", "root/state/acme/lock"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: part of the full matrix (make reliability), not of make test")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        world.server.token = TOKEN
        world.configure(token_file=world.write_token(TOKEN).name)
        world.feed.add("1.0.0")
        world.feed.publish()
        yield world


@pytest.fixture(params=["in-process", pytest.param("command", marks=pytest.mark.slow)])
def mode(request: pytest.FixtureRequest) -> str:
    """How a corpus case runs upgrader: ``cli.main`` in this process (fast: the short form), or
    the installed command in a process of its own (the full form)."""
    return str(request.param)


def in_process(rig: Rig, *args: str) -> Outcome:
    """``upgrader ARGS`` through ``upgrader.cli.main`` here, its output captured."""
    from upgrader import cli, ui

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(rig.env())
    logging.getLogger().handlers.clear()  # main's basicConfig binds the stream of its first call
    began = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            defaults = ui.print_json.__defaults__
            ui.print_json.__defaults__ = (out,)  # its default stream is bound at import
            try:
                code = cli.main(rig.argv(*args)[1:])
            except SystemExit as exit_:
                code = int(exit_.code or 0)
            except Exception:
                traceback.print_exc()
                code = 1
            finally:
                ui.print_json.__defaults__ = defaults
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - began)


def refused(rig: Rig, *args: str, code: int, says: tuple[str, ...] = (), allowed: set[str] = LOCK_ONLY,
            mode: str = "command", timeout: float = 60) -> tuple[Outcome, set[str]]:
    """Run ``upgrader ARGS``; it must end with ``code`` and one clear line holding every one of
    ``says``, no traceback, no token, and change nothing under the test's folder but ``allowed``."""
    if "--cron" in args:
        allowed = allowed | {"root/logs"}  # a cron run logs its refusal
    before = snapshot(rig.tmp)
    outcome = in_process(rig, *args) if mode == "in-process" else rig.cli(*args, timeout=timeout)
    changed = changes(before, snapshot(rig.tmp))
    changed = {path for path in changed if not path.startswith("logs/")}
    assert outcome.returncode == code, outcome.output
    assert "Traceback" not in outcome.stderr, outcome.output
    assert TOKEN not in outcome.stdout + outcome.stderr, outcome.output
    lines = outcome.stderr.splitlines()
    if len(lines) > 1 and re.match(r"upgrader: error: .*: \d+ errors:$", lines[0]):
        # Several problems of one file: a first line that says so, then one line each.
        missing = [needle for needle in says if needle not in outcome.stderr]
        assert not missing, f"{missing} not in\n{outcome.output}"
    else:
        error_line(outcome, *says)
    unexpected = sorted(path for path in changed if not any(
        path == top or path.startswith(top + "/") for top in allowed))
    assert not unexpected, f"changed: {unexpected}\n{outcome.output}"
    return outcome, changed
