"""A fuzz target for the loaders (hypothesis): project.yaml, workflow YAML, index.json, release.json,
the state files and release archives.

Property: whatever bytes a loader is given — random, a valid sample mutated (bytes replaced,
inserted, cut), or a valid document with random JSON values put in — it either returns a valid
result or raises its own one-sentence error (``ConfigError``, ``FeedError``, ``PackageError``,
``StateError``: an ``UpgraderError``), never anything else (a ``RecursionError``, a
``TypeError``, a ``KeyError``) and never hangs.

``RELIABILITY_FUZZ_EXAMPLES`` sets the number of examples per target (the short form: 60;
make reliability: 600).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.feedrig import FETCH_WORKFLOW, release_files
from upgrader import package
from upgrader.actions import REGISTRY
from upgrader.errors import UpgraderError
from upgrader.feed import parse_index
from upgrader.project import load_project
from upgrader.store import ProjectStore
from upgrader.workflow import parse_workflow

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEEP = b"[" * 100_000 + b"]" * 100_000

# -- valid samples the mutations start from --------------------------------------------------------

PROJECT_SAMPLE = yaml.safe_dump({
    "feed": "http://127.0.0.1:8080/acme/", "token_file": "feed.token", "allow": "minor", "workflow": "upgrade",
    "health_timeout": 30, "keep_releases": 2, "values": {"HTTP_PORT": "18080"}, "jitter": 5, "min_age": "3d",
    "notify": {"webhook": "http://127.0.0.1:9/hook", "when": "change"},
}).encode()
WORKFLOW_SAMPLE = yaml.safe_dump(FETCH_WORKFLOW, sort_keys=False).encode()
INDEX_SAMPLE = json.dumps({"schema": 1, "product": "acme-server", "releases": [
    {"version": "1.1.0", "archive": "acme-server-1.1.0.tar.gz", "sha256": "a" * 64, "size": 1234,
     "released": "2026-11-20T10:00:00Z", "notes": "https://127.0.0.1/notes", "min_from": "1.0.0"}]}).encode()
RELEASE_SAMPLE = json.dumps({"product": "acme-server", "version": "1.1.0",
                             "images": ["127.0.0.1:5000/acme/web:1.1.0"]}).encode()
RUN_SAMPLE = json.dumps({
    "schema": 1, "run_id": "20261127T120000Z-abcdef", "project": "acme",
    "workflow": {"name": "fetch", "sha256": "b" * 64, "path": "/w.yaml"}, "from_version": None,
    "to_version": "1.1.0", "release": {"version": "1.1.0"}, "state": "idle", "status": "running",
    "steps": [{"name": "download", "status": "pending", "attempts": 0, "started_at": None,
               "finished_at": None, "error": None}],
    "data": {}, "error": None, "fault": None, "pid": 1, "host": "h",
    "started_at": "2026-11-27T12:00:00.000Z", "updated_at": "2026-11-27T12:00:00.000Z", "finished_at": None,
}, indent=2).encode()
HISTORY_SAMPLE = (json.dumps({
    "schema": 1, "id": "20261127T120000Z-abcdef", "workflow": "fetch", "from": None, "to": "1.1.0",
    "outcome": "completed", "started_at": "2026-11-27T12:00:00.000Z", "finished_at": "2026-11-27T12:00:01.000Z",
    "downtime_seconds": None, "error": None}) + "\n").encode() * 2


def _archive_sample() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in release_files("1.1.0").items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVE_SAMPLE = _archive_sample()

# -- strategies ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """``sample`` with a few bytes replaced, inserted or deleted, or cut short."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[position:position + draw(st.integers(1, 8))]
        elif kind == "cut":
            del data[position:]
    return bytes(data)


@st.composite
def with_values(draw: st.DrawFn, sample: bytes, loads: Callable[[bytes], Any],
                dumps: Callable[[Any], str]) -> bytes:
    """The sample document with random JSON values at random keys (its own or new ones)."""
    document = loads(sample)
    target = document
    if isinstance(document, dict) and draw(st.booleans()):
        lists = [value for value in document.values() if isinstance(value, list) and value
                 and isinstance(value[0], dict)]
        if lists:
            target = draw(st.sampled_from(lists))[0]
    keys = [*list(target), "extra"]
    for _ in range(draw(st.integers(1, 3))):
        target[draw(st.sampled_from(keys))] = draw(json_values)
    return dumps(document).encode()


def inputs(sample: bytes, loads: Callable[[bytes], Any], dumps: Callable[[Any], str]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), mutated(sample), with_values(sample, loads, dumps))


YAML = (yaml.safe_load, lambda document: yaml.safe_dump(document))
JSON = (json.loads, lambda document: json.dumps(document))


def loads_or_refuses(load: Callable[[], Any]) -> None:
    try:
        load()
    except UpgraderError as error:
        assert str(error).strip(), "an empty error message"


# -- the targets -----------------------------------------------------------------------------------


@FUZZ
@given(inputs(PROJECT_SAMPLE, *YAML))
def test_fuzz_project_yaml(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "projects" / "acme"
        project.mkdir(parents=True)
        (project / "project.yaml").write_bytes(data)
        loads_or_refuses(lambda: load_project(Path(folder), "acme"))


@FUZZ
@given(inputs(WORKFLOW_SAMPLE, *YAML))
def test_fuzz_workflow(data: bytes) -> None:
    loads_or_refuses(lambda: parse_workflow(data.decode("utf-8", "replace"), Path("fuzz.yaml"), REGISTRY))


@FUZZ
@given(inputs(INDEX_SAMPLE, *JSON))
def test_fuzz_index(data: bytes) -> None:
    loads_or_refuses(lambda: parse_index(data, "http://127.0.0.1/index.json"))


@FUZZ
@given(inputs(RELEASE_SAMPLE, *JSON))
def test_fuzz_release_json(data: bytes) -> None:
    loads_or_refuses(lambda: package.parse_release(data, "fuzz.tar.gz: release.json"))


@FUZZ
@given(st.sampled_from(["run.json", "installed.json", "quarantine.json", "feed.json", "history.jsonl",
                        "journal.jsonl"]),
       st.one_of(inputs(RUN_SAMPLE, *JSON), mutated(HISTORY_SAMPLE)))
def test_fuzz_state_files(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = ProjectStore(Path(folder) / "state" / "acme")
        store.dir.mkdir(parents=True)
        (store.dir / name).write_bytes(data)
        reader = {"run.json": store.read_run, "installed.json": store.read_installed,
                  "quarantine.json": store.read_quarantine, "feed.json": store.read_feed,
                  "history.jsonl": store.read_history,
                  "journal.jsonl": store.read_journal}[name]
        loads_or_refuses(reader)
        assert (store.dir / name).read_bytes() == data, "a read changed the file"


@FUZZ
@given(mutated(ARCHIVE_SAMPLE))
def test_fuzz_archive(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "acme-server-1.1.0.tar.gz"
        archive.write_bytes(data)
        loads_or_refuses(lambda: package.members(archive))
        loads_or_refuses(lambda: package.read_release(archive))


# -- one input the fuzzer found, kept as a case of its own ------------------------------------------


def _state_reader(name: str) -> Callable[[bytes], Any]:
    def read(data: bytes) -> Any:
        with tempfile.TemporaryDirectory() as folder:
            store = ProjectStore(Path(folder) / "state" / "acme")
            store.dir.mkdir(parents=True)
            (store.dir / name).write_bytes(data)
            return {"run.json": store.read_run, "installed.json": store.read_installed,
                    "history.jsonl": store.read_history}[name]()
    return read


DEEP_READERS: dict[str, Callable[[bytes], Any]] = {
    "index.json": lambda data: parse_index(data, "http://127.0.0.1/index.json"),
    "release.json": lambda data: package.parse_release(data, "fuzz.tar.gz: release.json"),
    "run.json": _state_reader("run.json"),
    "installed.json": _state_reader("installed.json"),
    "history.jsonl": lambda data: _state_reader("history.jsonl")(data + b"\n"),
}


@pytest.mark.parametrize("name", DEEP_READERS)
def test_deeply_nested_json_is_refused(name: str) -> None:
    """100 000 nested brackets: a one-sentence error, not a RecursionError and its traceback."""
    loads_or_refuses(lambda: DEEP_READERS[name](DEEP))
