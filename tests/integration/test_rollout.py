"""The client's side of publishing (DESIGN §10), through the real command against a signed feed
served over HTTP on 127.0.0.1: an index and a signature that do not match (a publish caught
halfway) are transient, never a release's fault; staged rollouts (``phase``) and withdrawals
(``yanked``) hold releases back, which ``check`` explains; a server that runs a withdrawn release
is warned by ``check``, ``status`` and ``doctor``.

The workflow is the feed rig's download → verify → extract: an install needs no Docker.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from upgrader.feed import Feed, FeedError

from .feedrig import Rig, error_line
from .support import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Outcome

MISMATCH = ("index.json and index.json.sig do not match (a publish in progress, or the index was altered); "
            "nothing is downloaded, the next run tries again")


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        world.configure(public_key=world.feed.public_key)
        yield world


def ok(outcome: Outcome) -> list[str]:
    assert (outcome.returncode, outcome.stderr) == (EXIT_OK, ""), outcome.output
    return outcome.stdout.splitlines()


def publish(rig: Rig, *versions: str, **fields: dict[str, Any]) -> None:
    """The feed lists ``versions`` (added once), each entry with its ``fields``; signed."""
    listed = {entry["version"] for entry in rig.feed.entries}
    for version in versions:
        if version not in listed:
            rig.feed.add(version)
    for entry in rig.feed.entries:
        for key in ("phase", "yanked"):
            entry.pop(key, None)
        entry.update(fields.get(entry["version"], {}))
    rig.feed.publish(sign=True)


def check(rig: Rig, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads("\n".join(ok(rig.cli("check", "--json", *args))))
    return data


def held_back(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["version"], entry["why"]) for entry in data["held_back"]]


# -- an index and a signature that do not match -------------------------------------------------------


def test_a_new_index_with_the_old_signature_is_transient_and_quarantines_nothing(rig: Rig) -> None:
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    old_signature = (rig.feed.folder / "index.json.sig").read_bytes()
    rig.feed.add("1.1.0")
    rig.feed.publish(sign=False)  # the new index; its signature not yet written
    assert (rig.feed.folder / "index.json.sig").read_bytes() == old_signature
    rig.server.clear()

    for args in (("run",), ("run", "--cron")):
        outcome = rig.cli(*args)
        assert outcome.returncode == EXIT_FAILED, outcome.output  # DESIGN §7: never stopped, the next run tries again
        line = error_line(outcome, MISMATCH)  # under cron: the one line on stderr, cron's mail
        assert line.startswith(f"upgrader: error: {rig.server.url(rig.index_path)}.sig: "), line
    # Each read the pair again once after its pause; nothing else was fetched.
    assert [record.path for record in rig.server.requests()] == [rig.index_path, rig.index_path + ".sig"] * 4
    assert not (rig.state / "quarantine.json").exists()
    assert rig.installed() == "1.0.0" and rig.downloaded() == ["acme-server-1.0.0.tar.gz"]
    failure = json.loads(rig.cli("check", "--json").stdout)
    assert failure["error"].endswith(MISMATCH) and failure["installed"] == "1.0.0"

    rig.feed.sign()  # the publish completes: the next run takes 1.1.0
    ok(rig.cli("run", "--cron"))
    assert rig.installed() == "1.1.0"


def test_a_signature_that_lands_during_the_pause_lets_the_run_go_on(rig: Rig) -> None:
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    old_signature = (rig.feed.folder / "index.json.sig").read_bytes()
    publish(rig, "1.1.0")
    # The first read of the signature finds the old one; the second, after the pause, the new one.
    rig.server.behave(rig.index_path + ".sig", bodies=[old_signature])
    rig.server.clear()

    lines = ok(rig.cli("run"))
    assert "completed" in lines[-1], lines
    assert rig.installed() == "1.1.0"
    assert [record.path for record in rig.server.requests()][:4] == [rig.index_path, rig.index_path + ".sig"] * 2


def test_a_client_polling_while_the_publisher_publishes_never_refuses_for_good(rig: Rig,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    """The publisher rewrites index.json, then index.json.sig, again and again (each index new
    bytes: its serial grows); every poll succeeds or fails transient — never a refusal that would
    stop the server's upgrades, nor blame a release."""
    publish(rig, "1.0.0", "1.1.0")
    document = json.loads(rig.feed.index_path.read_bytes())
    stop = threading.Event()
    published = [0]

    def publisher() -> None:
        while not stop.is_set():
            published[0] += 1
            raw = (json.dumps({**document, "serial": published[0]}, indent=2) + "\n").encode()
            rig.feed.publish(sign=False, raw=raw)  # write_bytes: a reader may even see it half written
            stop.wait(0.004)  # "right after"
            rig.feed.sign(raw)
            stop.wait(0.004)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    try:
        # Many polls of the same folder in this process (file://: quick), with a short pause (the
        # command's own is 1 s)...
        client = Feed(rig.feed.folder.as_uri(), public_key=rig.feed.public_key, sleep=lambda seconds: stop.wait(0.002))
        outcomes = {"ok": 0, "transient": 0}
        with caplog.at_level(logging.INFO, logger="upgrader.feed"):
            for _ in range(300):
                try:
                    client.index()
                    outcomes["ok"] += 1
                except FeedError as error:
                    assert error.retryable and not error.release_fault and str(error).endswith(MISMATCH), error
                    outcomes["transient"] += 1
        reads_again = sum("reading index.json and its signature again" in record.message for record in caplog.records)
        # ... and `check --json` over HTTP, as an operator's script would run it.
        for _ in range(4):
            outcome = rig.cli("check", "--json")
            data = json.loads(outcome.stdout)
            if outcome.returncode == EXIT_OK:
                assert data["target"] == "1.1.0", outcome.output
            else:
                assert outcome.returncode == EXIT_FAILED and data["error"].endswith(MISMATCH), outcome.output
    finally:
        stop.set()
        thread.join(timeout=10)
    assert outcomes["ok"] > 0, outcomes
    assert reads_again > 0, f"no poll caught a publish halfway in {published[0]} publishes: the test tested nothing"
    assert not (rig.state / "quarantine.json").exists() and rig.installed() is None


# -- held back: phase, yanked, quarantined, min_age --------------------------------------------------


def test_check_says_which_releases_are_held_back_and_why(rig: Rig) -> None:
    rig.configure(public_key=rig.feed.public_key, min_age="3d")
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    for version in ("1.0.1", "1.1.0", "1.2.0", "1.3.0"):
        rig.feed.add(version)
    rig.feed.add("1.4.0", released=datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    rig.feed.add("2.0.0")  # a major: reported as such, not held back
    publish(rig, **{"1.1.0": {"yanked": "loses uploads"}, "1.2.0": {"phase": 0}})
    ok(rig.cli("hold", "1.3.0"))

    data = check(rig)
    assert (data["target"], data["path"], data["major_available"]) == ("1.0.1", ["1.0.1"], "2.0.0")
    assert data["held_back"] == [
        {"version": "1.1.0", "why": "yanked", "detail": "withdrawn by its publisher: loses uploads"},
        {"version": "1.2.0", "why": "phase", "detail": "staged rollout at 0% of servers, not yet this one "
                                                      f"(its rollout bucket is {data['rollout_bucket']})"},
        {"version": "1.3.0", "why": "quarantined", "detail": "quarantined or held on this server"},
        {"version": "1.4.0", "why": "min_age", "detail": "released more recently than project.yaml's min_age"},
    ]
    assert data["quarantined"] == ["1.3.0"] and [held["version"] for held in data["held"]] == ["1.3.0"]
    text = ok(rig.cli("check"))
    assert [line for line in text if line.startswith("held back: ")] == [
        "held back: 1.1.0: withdrawn by its publisher: loses uploads",
        f"held back: 1.2.0: staged rollout at 0% of servers, not yet this one (its rollout bucket is "
        f"{data['rollout_bucket']})",
        "held back: 1.3.0: quarantined or held on this server",
        "held back: 1.4.0: released more recently than project.yaml's min_age",
    ], text

    # The phase is compared with this server's bucket: one above it reaches this server, the bucket itself not.
    bucket = data["rollout_bucket"]
    if bucket < 99:
        publish(rig, **{"1.1.0": {"yanked": "loses uploads"}, "1.2.0": {"phase": bucket + 1}})
        assert (check(rig)["target"], held_back(check(rig))) == (
            "1.2.0", [("1.1.0", "yanked"), ("1.3.0", "quarantined"), ("1.4.0", "min_age")])
    publish(rig, **{"1.1.0": {"yanked": "loses uploads"}, "1.2.0": {"phase": bucket}})
    assert check(rig)["target"] == "1.0.1"


def test_to_a_yanked_release_needs_allow_yanked_and_to_a_phased_out_one_installs_it(rig: Rig) -> None:
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    publish(rig, "1.1.0", "1.2.0", **{"1.1.0": {"phase": 0}, "1.2.0": {"yanked": "loses\nuploads"}})
    before = rig.state / "installed.json", (rig.state / "installed.json").read_bytes()

    for command in ("run", "check"):
        outcome = rig.cli(command, "--to", "1.2.0")
        assert outcome.returncode == EXIT_USAGE, outcome.output
        assert error_line(outcome) == ("upgrader: error: --to 1.2.0: release 1.2.0 was withdrawn by its publisher: "
                                       "loses uploads; pass --allow-yanked to install it anyway")
    assert before[0].read_bytes() == before[1] and rig.downloaded() == ["acme-server-1.0.0.tar.gz"]
    assert check(rig, "--to", "1.2.0", "--allow-yanked")["path"] == ["1.2.0"]
    assert check(rig)["up_to_date"] is True

    ok(rig.cli("run", "--to", "1.1.0"))  # phase 0 reaches nobody, but the operator asked for it
    assert rig.installed() == "1.1.0"
    ok(rig.cli("run", "--to", "1.2.0", "--allow-yanked"))
    assert rig.installed() == "1.2.0"


# -- a server that runs a withdrawn release ----------------------------------------------------------


def warning_of(version: str, reason: str) -> str:
    return (f"the installed release {version} was withdrawn by its publisher: {reason} "
            "(upgrade with `upgrader run`, or choose a release with --to)")


def status(rig: Rig) -> dict[str, Any]:
    data: dict[str, Any] = json.loads("\n".join(ok(rig.cli("status", "--json"))))
    return data


def test_check_status_and_doctor_warn_of_an_installed_release_withdrawn(rig: Rig) -> None:
    publish(rig, "1.0.0")
    ok(rig.cli("run"))
    assert status(rig)["warnings"] == [] and status(rig)["withdrawn"] is None

    publish(rig, **{"1.0.0": {"yanked": "corrupts the database"}})
    warning = warning_of("1.0.0", "corrupts the database")
    assert ok(rig.cli("run", "--cron")) == []  # nothing to do, nothing said: the withdrawal is recorded
    data = check(rig)
    assert data["up_to_date"] is True and data["warnings"][0] == warning
    assert data["withdrawn"] == {"version": "1.0.0", "reason": "corrupts the database"}
    assert f"warning: {warning}" in ok(rig.cli("check"))

    doctor = json.loads(rig.cli("doctor", "--json").stdout)
    found = [entry for entry in doctor["checks"] if entry["name"] == "installed release"]
    assert found == [{"name": "installed release", "ok": False, "severity": "warning", "detail": warning,
                      "fix": "upgrader run (or upgrader run --to VERSION)"}]
    rig.server.stop()  # status reads what the last index said, not the feed: it is local and fast
    assert status(rig)["warnings"] == [warning]
    assert status(rig)["withdrawn"] == {"version": "1.0.0", "reason": "corrupts the database"}
    assert f"warning: {warning}" in ok(rig.cli("status"))


def test_the_warning_ends_when_the_publisher_restores_the_release_or_the_server_moves_on(rig: Rig) -> None:
    publish(rig, "1.0.0", **{"1.0.0": {"yanked": "bad"}})
    ok(rig.cli("run", "--to", "1.0.0", "--allow-yanked"))  # the run recorded it: its warning at once
    assert status(rig)["warnings"] == [warning_of("1.0.0", "bad")]
    publish(rig)  # un-yanked
    check(rig)
    assert status(rig)["warnings"] == []

    publish(rig, "1.1.0", **{"1.0.0": {"yanked": "bad"}})
    ok(rig.cli("run"))
    assert rig.installed() == "1.1.0" and status(rig)["warnings"] == []
    assert json.loads((rig.state / "feed.json").read_text())["yanked"] == {"1.0.0": "bad"}


# -- the publisher's commands end to end -----------------------------------------------------------


class Vendor:
    """The publisher's side, with upgrader's own commands: a key, packages of 1.0.0 and 1.1.0,
    the rig's feed folder (emptied) published into, the project set to trust the key."""

    def __init__(self, rig: Rig, tmp_path: Path) -> None:
        self.rig = rig
        self.key = tmp_path / "feed.key"
        self.public_key = self.release("keygen", str(self.key))[0]
        self.feed = rig.feed.folder
        for old in self.feed.iterdir():  # the rig's own publisher's files: these commands make their own
            old.unlink()
        self.dist = tmp_path / "dist"
        self.dist.mkdir()
        for version in ("1.0.0", "1.1.0"):
            source = tmp_path / f"src-{version}"
            (source / "config").mkdir(parents=True)
            (source / "compose.yaml").write_text(f"services:\n  web:\n    image: 127.0.0.1:5000/acme/web:{version}\n")
            (source / "config" / "app.conf").write_text(f"version={version}\n")
            self.release("pack", str(source), "--version", version, "--product", "acme-server", "--out",
                         str(self.dist))
        rig.configure(public_key=self.public_key, product="acme-server")

    def release(self, *args: str) -> list[str]:
        import subprocess

        from .support import UPGRADER

        done = subprocess.run([str(UPGRADER), "release", *args], capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, env=self.rig.env())
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.splitlines()

    def publish(self, version: str, *options: str) -> None:
        self.release("publish", str(self.dist / f"acme-server-{version}.tar.gz"), "--feed", str(self.feed),
                     "--key", str(self.key), *options)

    def amend(self, *args: str) -> None:
        self.release(*args, "--feed", str(self.feed), "--key", str(self.key))


def test_a_staged_rollout_and_a_withdrawal_made_with_the_publishers_commands(rig: Rig, tmp_path: Path) -> None:
    """release publish --phase, release phase and release yank (each a signed index change) as the
    servers see them: held back by phase, reached when the phase passes this server's bucket,
    withdrawn with a warning to a server that runs it."""
    vendor = Vendor(rig, tmp_path)
    vendor.publish("1.0.0")
    ok(rig.cli("run"))

    vendor.publish("1.1.0", "--phase", "0")
    data = check(rig)
    assert (data["target"], held_back(data)) == (None, [("1.1.0", "phase")])
    bucket = data["rollout_bucket"]
    if bucket < 99:  # a phase at the bucket leaves this server out; one above it takes it in
        vendor.amend("phase", "1.1.0", str(bucket))
        assert check(rig)["target"] is None
    vendor.amend("phase", "1.1.0", str(bucket + 1))
    assert (check(rig)["target"], check(rig)["held_back"]) == ("1.1.0", [])
    ok(rig.cli("run"))

    vendor.amend("yank", "1.1.0", "--reason", "loses uploads")
    data = check(rig)
    assert data["withdrawn"] == {"version": "1.1.0", "reason": "loses uploads"}
    status = json.loads("\n".join(ok(rig.cli("status", "--json"))))
    assert status["withdrawn"] == {"version": "1.1.0", "reason": "loses uploads"}
    verified = vendor.release("verify", str(vendor.feed), "--public-key", vendor.public_key)
    assert any(line.startswith("ok 1.1.0") and "yanked: loses uploads" in line for line in verified), verified


def test_a_client_reading_while_release_commands_change_the_feed_never_refuses_for_good(rig: Rig,
                                                                                       tmp_path: Path) -> None:
    """`release phase` in a loop (each a new index, then its signature, renamed into place) while
    a client reads the feed: every read verifies or is transient."""
    vendor = Vendor(rig, tmp_path)
    vendor.publish("1.0.0")
    vendor.publish("1.1.0")
    stop = threading.Event()
    changes = [0]

    def publisher() -> None:
        while not stop.is_set():
            changes[0] += 1
            vendor.amend("phase", "1.1.0", str(40 + changes[0] % 2 * 20))

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    outcomes = {"ok": 0, "transient": 0}
    try:
        client = Feed(vendor.feed.as_uri(), public_key=vendor.public_key, sleep=lambda seconds: stop.wait(0.002))
        while changes[0] < 12:
            try:
                index = client.index()
                assert {entry["version"] for entry in index.releases} == {"1.0.0", "1.1.0"}
                outcomes["ok"] += 1
            except FeedError as error:
                assert error.retryable and not error.release_fault and str(error).endswith(MISMATCH), error
                outcomes["transient"] += 1
    finally:
        stop.set()
        thread.join(timeout=30)
    assert outcomes["ok"] > 0, outcomes
