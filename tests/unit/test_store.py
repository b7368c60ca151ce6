"""The store: atomic checkpoints, refusing corrupt or newer files, the journal, the lock."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from unit_support import linear_workflow

from upgrader import engine
from upgrader.errors import LockedError, StateError
from upgrader.project import Project
from upgrader.store import HELD_BY_OPERATOR, ProjectStore, machine_id, now

RUN_ID = "20261127T120000Z-abc123"


def a_run(project: Project) -> dict[str, object]:
    return engine.new_run(project.name, linear_workflow(["a", "b"]), run_id=RUN_ID)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


# -- checkpoints -----------------------------------------------------------------------------


def test_write_run_is_atomic_private_and_reads_back(project: Project, store: ProjectStore) -> None:
    run = a_run(project)
    store.write_run(run)
    run["state"] = "s1"
    store.write_run(run)
    assert store.read_run() == run
    assert leftovers(store.dir) == []
    assert stat.S_IMODE(store.run_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.dir.parent.stat().st_mode) == 0o700


def test_write_run_stamps_updated_at(project: Project, store: ProjectStore) -> None:
    run = a_run(project)
    run["updated_at"] = "2000-01-01T00:00:00.000Z"
    store.write_run(run)
    written = store.read_run()
    assert written is not None and written["updated_at"] > "2000-01-01T00:00:00.000Z"


def test_a_failed_write_keeps_the_old_checkpoint_and_no_temporary_file(
    project: Project, store: ProjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = a_run(project)
    store.write_run(run)
    before = store.run_path.read_bytes()

    def disk_full(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("upgrader.store.os.replace", disk_full)
    run["state"] = "s2"
    with pytest.raises(OSError, match="No space left"):
        store.write_run(run)
    monkeypatch.undo()
    assert store.run_path.read_bytes() == before
    assert leftovers(store.dir) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"schema": 1, "run_id": ', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schema": 1, "run_id": "x"}', "is required"),
    ],
)
def test_a_corrupt_run_json_is_refused_and_left_as_it_is(
    store: ProjectStore, content: bytes, reason: str
) -> None:
    store.dir.mkdir(parents=True)
    store.run_path.write_bytes(content)
    with pytest.raises(StateError) as caught:
        store.read_run()
    message = str(caught.value)
    assert message.startswith(str(store.run_path))
    assert "corrupt" in message and reason in message
    assert "will not overwrite" in message
    assert store.run_path.read_bytes() == content


def test_a_run_json_that_breaks_the_schema_is_refused(project: Project, store: ProjectStore) -> None:
    run = a_run(project)
    run["status"] = "exploded"
    store.dir.mkdir(parents=True)
    content = json.dumps(run).encode()
    store.run_path.write_bytes(content)
    with pytest.raises(StateError, match=r"run\.json is corrupt: at 'status': must be one of"):
        store.read_run()
    assert store.run_path.read_bytes() == content


def test_a_run_json_of_a_newer_upgrader_is_refused(project: Project, store: ProjectStore) -> None:
    run = a_run(project)
    run["schema"] = 2
    run["something_new"] = True
    store.dir.mkdir(parents=True)
    content = json.dumps(run).encode()
    store.run_path.write_bytes(content)
    with pytest.raises(StateError) as caught:
        store.read_run()
    message = str(caught.value)
    assert message.startswith(str(store.run_path))
    assert "newer upgrader" in message and "schema 2" in message
    assert store.run_path.read_bytes() == content


def test_installed_json_of_a_newer_upgrader_is_refused(store: ProjectStore) -> None:
    store.dir.mkdir(parents=True)
    content = json.dumps({"schema": 3, "version": "9.0.0"}).encode()
    store.installed_path.write_bytes(content)
    with pytest.raises(StateError, match=r"installed\.json was written by a newer upgrader"):
        store.read_installed()
    assert store.installed_path.read_bytes() == content


def test_missing_files_read_as_nothing(store: ProjectStore) -> None:
    assert store.read_run() is None
    assert store.read_installed() is None
    assert store.read_journal() == []
    assert store.read_history() == []
    assert store.lock_holder() is None


def test_installed_round_trip(store: ProjectStore) -> None:
    installed = {"version": "1.0.0", "release": None, "images": {"web:1.0.0": "sha256:" + "a" * 64},
                 "installed_at": now()}
    store.write_installed(installed)
    assert store.read_installed() == {"schema": 1, **installed}
    assert stat.S_IMODE(store.installed_path.stat().st_mode) == 0o600


# -- quarantine.json: quarantined and held versions --------------------------------------------


def test_quarantined_and_held_versions_read_back_with_their_reasons(store: ProjectStore) -> None:
    store.quarantine("1.2.0", RUN_ID, "step verify failed: sha256 mismatch")
    store.quarantine("1.3.0", RUN_ID, HELD_BY_OPERATOR)  # a completed run the operator rolled back
    store.quarantine("1.4.0", None, HELD_BY_OPERATOR)  # upgrader hold 1.4.0: no run involved
    versions = store.read_quarantine()
    assert {version: (entry["run_id"], entry["reason"]) for version, entry in versions.items()} == {
        "1.2.0": (RUN_ID, "step verify failed: sha256 mismatch"),
        "1.3.0": (RUN_ID, "operator"),
        "1.4.0": (None, "operator"),
    }
    assert all(entry["at"].endswith("Z") for entry in versions.values())
    assert stat.S_IMODE(store.quarantine_path.stat().st_mode) == 0o600


def test_release_quarantine_gives_the_entry_it_removed(store: ProjectStore) -> None:
    store.quarantine("1.4.0", None, HELD_BY_OPERATOR)
    entry = store.read_quarantine()["1.4.0"]
    assert store.release_quarantine("1.4.0") == entry
    assert store.read_quarantine() == {}


def test_release_quarantine_of_a_version_not_there_writes_nothing(store: ProjectStore) -> None:
    assert store.release_quarantine("1.4.0") is None
    assert not store.quarantine_path.exists()
    store.quarantine("1.2.0", RUN_ID, None)
    content = store.quarantine_path.read_bytes()
    assert store.release_quarantine("1.4.0") is None
    assert store.quarantine_path.read_bytes() == content


@pytest.mark.parametrize("entry", [
    {"run_id": 7, "reason": "operator", "at": "2026-11-27T12:00:00.000Z"},
    {"reason": "operator", "at": "2026-11-27T12:00:00.000Z"},
    {"run_id": None, "reason": "operator", "at": "2026-11-27T12:00:00.000Z", "by": "me"},
], ids=["run-id-a-number", "run-id-missing", "unknown-key"])
def test_a_quarantine_entry_that_breaks_the_schema_is_refused(store: ProjectStore, entry: dict[str, Any]) -> None:
    store.dir.mkdir(parents=True)
    content = json.dumps({"schema": 1, "versions": {"1.4.0": entry}}).encode()
    store.quarantine_path.write_bytes(content)
    with pytest.raises(StateError, match=r"quarantine\.json is corrupt: at 'versions\.1\.4\.0"):
        store.read_quarantine()
    assert store.quarantine_path.read_bytes() == content


# -- the journal -----------------------------------------------------------------------------


def _journal_line(event: str, run_id: str = RUN_ID) -> bytes:
    entry = {"ts": now(), "run_id": run_id, "event": event, "step": None, "state": "s0",
             "detail": None}
    return (json.dumps(entry) + "\n").encode()


def test_journal_appends_one_line_per_event(store: ProjectStore) -> None:
    first = store.append_journal(RUN_ID, "run_started", "s0", None, {"workflow": "test"})
    second = store.append_journal("20261127T130000Z-def456", "step_started", "s0", "a", None)
    assert second["event"] == "step_started" and second["step"] == "a"
    assert store.read_journal() == [first, second]
    assert store.read_journal(RUN_ID) == [first]
    assert store.journal_path.read_bytes().count(b"\n") == 2
    assert stat.S_IMODE(store.journal_path.stat().st_mode) == 0o600


def test_a_torn_last_journal_line_is_ignored_then_truncated(project: Project) -> None:
    state_dir = project.state_dir
    state_dir.mkdir(parents=True)
    journal = state_dir / "journal.jsonl"
    whole = _journal_line("run_started") + _journal_line("step_started")
    journal.write_bytes(whole + b'{"ts": "2026-11-27T12:00:00.000Z", "run_id": "2026')

    store = ProjectStore(state_dir)
    assert [event["event"] for event in store.read_journal()] == ["run_started", "step_started"]

    store.append_journal(RUN_ID, "step_done", "s1", "a", None)
    content = journal.read_bytes()
    assert content.startswith(whole)
    assert content.endswith(b"\n")
    lines = content.splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["event"] for line in lines] == ["run_started", "step_started", "step_done"]


def test_a_journal_that_is_only_a_torn_line_starts_afresh(project: Project) -> None:
    project.state_dir.mkdir(parents=True)
    journal = project.state_dir / "journal.jsonl"
    journal.write_bytes(b'{"ts": "20')
    store = ProjectStore(project.state_dir)
    assert store.read_journal() == []
    store.append_journal(RUN_ID, "run_started", "s0")
    assert [event["event"] for event in store.read_journal()] == ["run_started"]
    assert journal.read_bytes().count(b"\n") == 1


def test_a_corrupt_middle_journal_line_is_refused(project: Project) -> None:
    project.state_dir.mkdir(parents=True)
    journal = project.state_dir / "journal.jsonl"
    content = _journal_line("run_started") + b"garbage\n" + _journal_line("step_started")
    journal.write_bytes(content)
    store = ProjectStore(project.state_dir)
    with pytest.raises(StateError) as caught:
        store.read_journal()
    message = str(caught.value)
    assert message.startswith(f"{journal}:2 is corrupt")
    assert journal.read_bytes() == content


def test_a_journal_line_that_breaks_the_schema_is_refused(project: Project) -> None:
    project.state_dir.mkdir(parents=True)
    journal = project.state_dir / "journal.jsonl"
    journal.write_bytes(_journal_line("run_started") + b'{"event": "x"}\n')
    with pytest.raises(StateError, match=r"journal\.jsonl:2 is corrupt: at '\(top level\)'"):
        ProjectStore(project.state_dir).read_journal()


def test_a_torn_history_line_is_dropped_before_the_next_append(project: Project) -> None:
    store = ProjectStore(project.state_dir)
    entry = {"id": RUN_ID, "from": None, "to": "1.0.0", "outcome": "completed",
             "started_at": now(), "finished_at": now(), "downtime_seconds": None}
    store.append_history(entry)
    with store.history_path.open("ab") as stream:
        stream.write(b'{"schema": 1, "id": "torn')
    assert len(store.read_history()) == 1
    store.append_history({**entry, "id": "20261127T120000Z-bbbbbb", "outcome": "rolled_back"})
    assert [line["outcome"] for line in store.read_history()] == ["completed", "rolled_back"]
    assert store.history_path.read_bytes().endswith(b"\n")
    assert store.history_path.read_bytes().count(b"\n") == 2


# -- the lock --------------------------------------------------------------------------------

_HOLDER = """
import sys
from pathlib import Path
from upgrader.store import ProjectStore
with ProjectStore(Path(sys.argv[1])).lock(sys.argv[2]):
    print("locked", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def other_holder(store: ProjectStore) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the project's lock until its standard input is closed."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store.dir), RUN_ID],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def test_a_lock_held_by_another_process_is_refused_naming_it(
    store: ProjectStore, other_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(LockedError) as caught, store.lock("20261127T130000Z-def456"):
        pytest.fail("acquired a lock another process holds")
    message = str(caught.value)
    assert f"pid {other_holder.pid}" in message
    assert f"run {RUN_ID}" in message
    assert "'demo'" in message
    assert caught.value.exit_code == 75

    holder = store.lock_holder()
    assert holder is not None
    assert holder["pid"] == other_holder.pid and holder["run_id"] == RUN_ID

    assert other_holder.stdin is not None
    other_holder.stdin.close()
    other_holder.wait(timeout=10)
    assert store.lock_holder() is None
    with store.lock("20261127T130000Z-def456"):
        assert store.lock_holder() is not None


def test_lock_waits_for_the_holder_when_asked(
    store: ProjectStore, other_holder: subprocess.Popen[str]
) -> None:
    assert other_holder.stdin is not None
    release = threading.Timer(0.3, other_holder.stdin.close)
    release.start()
    try:
        with store.lock("20261127T130000Z-def456", wait=10):
            holder = json.loads(store.holder_path.read_text())
            assert holder["pid"] == os.getpid()
    finally:
        release.cancel()


def test_the_lock_in_one_process_names_its_holder(store: ProjectStore) -> None:
    other = ProjectStore(store.dir)
    with store.lock(RUN_ID):
        holder = other.lock_holder()
        assert holder is not None and holder["pid"] == os.getpid() and holder["run_id"] == RUN_ID
        with pytest.raises(LockedError, match=f"pid {os.getpid()}, run {RUN_ID}"), other.lock(None):
            pass
    assert other.lock_holder() is None
    assert not store.holder_path.exists()
    assert store.lock_path.exists()  # the file stays; only the OS lock means anything


# -- this server's rollout id, and what feed.json remembers ------------------------------------------


def test_machine_id_is_the_systems(tmp_path: Path) -> None:
    system = tmp_path / "etc-machine-id"
    system.write_text("3d1219c7c4c5404aaa1f6d2a48adfda4\n")
    assert machine_id(tmp_path / "state", system) == "3d1219c7c4c5404aaa1f6d2a48adfda4"
    assert not (tmp_path / "state").exists(), "nothing is kept when the system has an id"


@pytest.mark.parametrize("system_text", [None, "", "\n", "uninitialized\n"],
                         ids=["missing", "empty", "blank", "uninitialized"])
def test_without_a_system_id_a_random_one_is_made_once_and_kept(tmp_path: Path, system_text: str | None) -> None:
    system = tmp_path / "etc-machine-id"
    if system_text is not None:
        system.write_text(system_text)
    state = tmp_path / "root" / "state"
    first = machine_id(state, system)
    assert len(first) == 32 and int(first, 16) >= 0
    kept = state / "machine-id"
    assert kept.read_text() == first + "\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o644
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert machine_id(state, system) == first, "the same id on every later run"
    assert leftovers(state) == []


def test_an_id_made_by_another_process_first_stands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes making the id at once: the second links its file over nothing, finds the
    first's, and uses it."""
    state = tmp_path / "state"
    state.mkdir()
    real_link = os.link

    def raced(source: Any, destination: Any) -> None:
        Path(destination).write_text("f" * 32 + "\n")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", raced)
    assert machine_id(state, tmp_path / "none") == "f" * 32
    assert leftovers(state) == []


def test_an_empty_kept_id_is_refused_not_replaced(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "machine-id").write_text("")
    with pytest.raises(StateError, match="machine-id is corrupt: empty"):
        machine_id(state, tmp_path / "none")
    assert (state / "machine-id").read_text() == ""


def test_feed_json_keeps_the_serial_and_the_withdrawals_apart(store: ProjectStore) -> None:
    feed = "https://feed.example.invalid/acme/"
    assert store.record_yanked(feed, {}) is False
    assert not store.dir.exists(), "nothing withdrawn, nothing known: nothing written"
    assert store.accept_serial(feed, 5) is True
    assert store.record_yanked(feed, {"1.1.0": "broken"}) is True
    assert store.record_yanked(feed, {"1.1.0": "broken"}) is False
    assert store.accept_serial(feed, 6) is True
    known = store.read_feed()
    assert known is not None
    assert (known["serial"], known["yanked"]) == (6, {"1.1.0": "broken"})
    assert store.record_yanked(feed, {}) is True
    known = store.read_feed()
    assert known is not None and (known["serial"], known["yanked"]) == (6, {})
    # Another feed starts afresh: neither the serial nor the withdrawals of the first one count.
    assert store.record_yanked("https://other.example.invalid/", {"2.0.0": "no"}) is True
    assert store.read_feed() == {"schema": 1, "feed": "https://other.example.invalid/", "yanked": {"2.0.0": "no"},
                                 "yanked_at": store.read_feed()["yanked_at"]}  # type: ignore[index]
