"""State files corrupted or truncated at every byte boundary (issue 6 §3, DESIGN §6).

A sample server root holds two completed runs (releases 1.1.0, then 1.2.0, offline packages
through the download → verify → extract workflow): run.json, journal.jsonl, history.jsonl and
installed.json (with its ``previous``). Each file is cut at every byte boundary, or has one byte
turned into 0xFF at every position, and the commands that read it run on it (through
``upgrader.cli.main``, in this process: a few milliseconds each):

- run.json and installed.json: the command refuses with one line naming the file (exit 3), and
  no state file changes — the damaged one is never overwritten;
- a torn last line of journal.jsonl or history.jsonl is tolerated as designed (``history``
  lists the whole lines; the next append drops the torn tail first and keeps every whole line);
  a damaged whole line of history.jsonl is refused by ``history`` and — before anything
  happens — by the commands that would append to it.

The short form (make test) takes every 17th position; make reliability takes every one (for
``status``, ``history`` and the history's own tests; every 5th for the other commands).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.feedrig import Rig, write_archive
from tests.integration.support import Outcome

from .conftest import TOKEN, in_process

EXIT_ATTENTION = 3
IGNORED = {"lock", "lock.holder", "progress.json"}
STRIDES = [pytest.param(17, id="every-17th-byte"), pytest.param(1, id="every-byte", marks=pytest.mark.slow)]


def _package(folder: Path, version: str) -> Path:
    from tests.integration.feedrig import release_files

    path = write_archive(folder / f"acme-server-{version}.tar.gz", release_files(version))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return path


@dataclass
class Sample:
    rig: Rig
    saved: dict[str, bytes]
    packages: Path

    @property
    def state(self) -> Path:
        return self.rig.state

    def restore(self) -> None:
        for path in self.state.iterdir():
            if path.name not in self.saved and path.name not in IGNORED:
                path.unlink()
        for name, data in self.saved.items():
            (self.state / name).write_bytes(data)
            (self.state / name).chmod(0o600)

    def files(self) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in self.state.iterdir()
                if path.is_file() and path.name not in IGNORED}

    def attempt(self, name: str, content: bytes, *args: str) -> tuple[Outcome, dict[str, bytes], dict[str, bytes]]:
        """Put ``content`` in state file ``name``, run ``upgrader ARGS``; (outcome, files before,
        files after), then restore the sample."""
        self.restore()
        (self.state / name).write_bytes(content)
        before = self.files()
        try:
            outcome = in_process(self.rig, *args)
            after = self.files()
        finally:
            self.restore()
        return outcome, before, after


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    tmp = tmp_path_factory.mktemp("state-sample")
    with Rig(tmp) as rig:
        rig.server.token = TOKEN
        rig.configure(token_file=rig.write_token(TOKEN).name)
        rig.feed.add("1.0.0")
        rig.feed.publish()
        packages = tmp / "packages"
        packages.mkdir()
        for version in ("1.1.0", "1.2.0", "1.3.0"):
            _package(packages, version)
        for version in ("1.1.0", "1.2.0"):
            result = rig.cli("run", "--package", str(packages / f"acme-server-{version}.tar.gz"))
            assert result.returncode == 0, result.output
        saved = {path.name: path.read_bytes() for path in rig.state.iterdir()
                 if path.is_file() and path.name not in IGNORED}
        assert {"run.json", "journal.jsonl", "history.jsonl", "installed.json", "workflow.yaml"} <= set(saved)
        yield Sample(rig, saved, packages)


def truncations(data: bytes, stride: int) -> Iterator[tuple[int, bytes]]:
    for cut in range(0, len(data), stride):
        yield cut, data[:cut]


def flips(data: bytes, stride: int) -> Iterator[tuple[int, bytes]]:
    for position in range(0, len(data), stride):
        yield position, data[:position] + b"\xff" + data[position + 1:]


MUTATIONS: dict[str, Callable[[bytes, int], Iterator[tuple[int, bytes]]]] = {"truncated": truncations,
                                                                             "corrupted": flips}


def _one_line(outcome: Outcome, *needles: str) -> str | None:
    """Why ``outcome`` is not a one-line refusal holding ``needles`` (None when it is)."""
    lines = outcome.stderr.splitlines()
    if outcome.returncode != EXIT_ATTENTION:
        return f"exit {outcome.returncode}"
    if len(lines) != 1 or not lines[0].startswith("upgrader: error: "):
        return f"not one error line: {outcome.stderr[:300]!r}"
    missing = [needle for needle in needles if needle not in lines[0]]
    return f"{missing} not in {lines[0]!r}" if missing else None


def _report(problems: list[str], tried: int) -> None:
    assert not problems, f"{len(problems)} of {tried} positions went wrong; the first ones:\n" + "\n".join(
        problems[:8])


# -- run.json and installed.json: refused, never overwritten --------------------------------------

DOCUMENT_COMMANDS = {
    "run.json": [("status",), ("resume",), ("rollback",), ("run", "--cron"), ("run",)],
    "installed.json": [("status",), ("run", "--cron"), ("check",), ("rollback",)],
}


def _document_cases() -> list[object]:
    """(file, command, stride): every 17th byte in the short form; in the full form every byte for
    ``status`` (which every other command's first read shares) and every 5th for the others."""
    cases = []
    for name, commands in DOCUMENT_COMMANDS.items():
        for command in commands:
            label = f"{name}-{'-'.join(command)}"
            cases.append(pytest.param(name, command, 17, id=f"{label}-every-17th-byte"))
            full = 1 if command == ("status",) else 5
            cases.append(pytest.param(name, command, full, marks=pytest.mark.slow,
                                      id=f"{label}-every-{'' if full == 1 else f'{full}th-'}byte"))
    return cases


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize(("name", "command", "stride"), _document_cases())
def test_a_damaged_document_is_refused_and_kept(sample: Sample, name: str, command: tuple[str, ...],
                                                mutation: str, stride: int) -> None:
    """run.json / installed.json cut short or with a byte spoiled: COMMAND refuses in one line
    naming the file (exit 3); no state file changes."""
    original = sample.saved[name]
    problems, tried = [], 0
    for position, content in MUTATIONS[mutation](original, stride):
        if mutation == "truncated" and position == len(original) - 1:
            continue  # only the final newline is gone: the document is whole
        tried += 1
        outcome, before, after = sample.attempt(name, content, *command)
        why = _one_line(outcome, str(sample.state / name))
        if why is None and after != before:
            changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
            why = f"refused, but changed {changed}"
        if why is not None:
            problems.append(f"byte {position}: {why}")
    _report(problems, tried)


@pytest.mark.parametrize("name", ["run.json", "installed.json", "history.jsonl"])
def test_a_state_file_of_a_newer_upgrader_is_refused(sample: Sample, name: str) -> None:
    """A file written by a newer upgrader (schema 2) is refused, saying so, and kept."""
    text = sample.saved[name].decode()
    newer = text.replace('"schema": 1', '"schema": 2').replace('"schema":1', '"schema":2')
    assert newer != text
    command = ("history",) if name == "history.jsonl" else ("status",)
    outcome, before, after = sample.attempt(name, newer.encode(), *command)
    assert _one_line(outcome, "newer upgrader") is None, outcome.output
    assert after == before


# -- history.jsonl and journal.jsonl: a torn last line is tolerated ---------------------------------


def _whole_lines(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


@pytest.mark.parametrize("stride", STRIDES)
def test_a_torn_history_is_listed_up_to_its_last_whole_line(sample: Sample, stride: int) -> None:
    """history.jsonl cut at any byte: `history --json` lists exactly the whole lines; `status`
    works; neither writes anything."""
    original = sample.saved["history.jsonl"]
    problems, tried = [], 0
    for cut, content in truncations(original, stride):
        tried += 1
        expected = [json.loads(line)["id"] for line in _whole_lines(content).splitlines()]
        for command in (("history", "--json"), ("status",)):
            outcome, before, after = sample.attempt("history.jsonl", content, *command)
            if outcome.returncode != 0:
                problems.append(f"byte {cut}: {' '.join(command)} exit {outcome.returncode}: {outcome.stderr[:200]}")
            elif after != before:
                problems.append(f"byte {cut}: {' '.join(command)} wrote to the state folder")
            elif command[0] == "history":
                listed = [entry["id"] for entry in reversed(json.loads(outcome.stdout))]
                if listed != expected:
                    problems.append(f"byte {cut}: history lists {listed}, the whole lines are {expected}")
    _report(problems, tried)


@pytest.mark.parametrize("stride", STRIDES)
def test_a_spoiled_whole_history_line_is_refused(sample: Sample, stride: int) -> None:
    """A byte of a whole history line spoiled: `history` refuses in one line naming the line; the
    file is kept. (The last newline spoiled makes a torn line: tolerated.)"""
    original = sample.saved["history.jsonl"]
    problems, tried = [], 0
    for position, content in flips(original, stride):
        if position == len(original) - 1:
            continue
        tried += 1
        outcome, before, after = sample.attempt("history.jsonl", content, "history")
        why = _one_line(outcome, str(sample.state / "history.jsonl"))
        if why is None and after != before:
            why = "refused, but wrote to the state folder"
        if why is not None:
            problems.append(f"byte {position}: {why}")
    _report(problems, tried)


@pytest.mark.parametrize(("name", "stride"), [("history.jsonl", 7), ("journal.jsonl", 97)])
def test_the_next_append_keeps_every_whole_line(sample: Sample, name: str, stride: int) -> None:
    """A torn history/journal, then `rollback` (which appends to both): the file keeps every whole
    line it had, drops the torn tail, and ends with the new lines, each whole."""
    original = sample.saved[name]
    problems, tried = [], 0
    for cut, content in truncations(original, stride):
        tried += 1
        outcome, _, after = sample.attempt(name, content, "rollback")
        kept = _whole_lines(content)
        written = after.get(name, b"")
        if outcome.returncode != 0:
            problems.append(f"byte {cut}: rollback exit {outcome.returncode}: {outcome.stderr[:200]}")
        elif not written.startswith(kept) or not written.endswith(b"\n") or len(written) <= len(kept):
            problems.append(f"byte {cut}: the file is not its whole lines plus new ones")
        else:
            for line in written[len(kept):].splitlines():
                json.loads(line)
    _report(problems, tried)


# -- damage found before anything happens ------------------------------------------------------------


def _spoil_first_line(data: bytes) -> bytes:
    return data.replace(b'"outcome"', b'"outc\xffme"', 1)


@pytest.mark.parametrize(("name", "spoil", "command"), [
    ("history.jsonl", _spoil_first_line, ("run", "--package", "{packages}/acme-server-1.3.0.tar.gz")),
    ("history.jsonl", _spoil_first_line, ("rollback",)),
    ("installed.json", lambda data: data[: len(data) // 2], ("rollback",)),
], ids=["history-then-run", "history-then-rollback", "installed-then-rollback"])
def test_damage_is_found_before_the_run_changes_anything(sample: Sample, name: str,
                                                         spoil: Callable[[bytes], bytes],
                                                         command: tuple[str, ...]) -> None:
    """A damaged state file that a run will need at its end is refused at its start: exit 3, one
    line naming the file, no state file changed, nothing installed or undone."""
    arguments = tuple(word.replace("{packages}", str(sample.packages)) for word in command)
    releases_before = sorted(path.name for path in sample.rig.releases.iterdir())
    outcome, before, after = sample.attempt(name, spoil(sample.saved[name]), *arguments)
    releases_after = sorted(path.name for path in sample.rig.releases.iterdir())
    changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    assert _one_line(outcome, str(sample.state / name)) is None, outcome.output
    assert changed == [], f"changed {changed} before refusing\n{outcome.output}"
    assert releases_after == releases_before
