"""The generated fast validators agree with jsonschema, and are not stale."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from upgrader import engine, resources
from upgrader.validation import SCHEMAS, _fast_validator, check, generate, schema_digest, schema_errors
from upgrader.workflow import parse_workflow, resolve

SHA = "a" * 64
TIME = "2026-11-27T12:00:00.000Z"


def samples() -> dict[str, Any]:
    workflow = parse_workflow(resolve("upgrade", Path(".")).read_text(), Path("upgrade.yaml"))
    run = engine.new_run("acme", workflow, run_id="20261127T120000Z-abcdef", from_version="1.0.0",
                         to_version="1.1.0", release={"version": "1.1.0"})
    return {
        "workflow": yaml.safe_load(resolve("upgrade", Path(".")).read_text()),
        "project": {"feed": "https://x.invalid/a/", "allow": "minor", "values": {"HTTP_PORT": "1"},
                    "notify": {"webhook": "http://127.0.0.1:1/", "when": "change"}},
        "index": {"schema": 1, "product": "acme", "releases": [
            {"version": "1.1.0", "archive": "a.tar.gz", "sha256": SHA, "size": 10, "min_from": "1.0.0"}]},
        "release": {"product": "acme", "version": "1.1.0", "images": ["127.0.0.1:5000/acme/web:1.1.0"]},
        "run": run,
        "journal": {"ts": TIME, "run_id": "r", "event": "step_done", "step": "x", "state": "s", "detail": None},
        "history": {"schema": 1, "id": "r", "from": None, "to": "1.0.0", "outcome": "completed",
                    "started_at": TIME, "finished_at": TIME, "downtime_seconds": 1.5},
        "installed": {"schema": 1, "version": "1.1.0", "release": None, "images": {"a:1": "sha256:x"},
                      "installed_at": TIME},
        "quarantine": {"schema": 1, "versions": {"1.2.0": {"run_id": "r", "reason": None, "at": TIME},
                                                  "1.3.0": {"run_id": None, "reason": "operator", "at": TIME}}},
        "feed": {"schema": 1, "feed": "https://x.invalid/a/", "serial": 7, "seen_at": TIME},
        "snapshot": {"schema": 1, "project": "acme", "run_id": "20261127T120000Z-abcdef", "from": "1.0.0",
                     "to": "1.1.0", "created_at": TIME, "stopped_at": TIME, "completed_at": TIME, "complete": True,
                     "volumes": [{"kind": "volume", "name": "acme_data", "dir": "volume-acme_data", "method": "host",
                                  "driver": "local", "labels": {"a": "b"}, "options": {}, "image": None,
                                  "files": 3, "bytes": 10, "digest": SHA, "complete": True}]},
    }


def test_every_generated_validator_matches_its_schema(tmp_path: Path) -> None:
    generate(tmp_path)
    for stem in SCHEMAS:
        module = importlib.import_module(f"upgrader._validators.{stem}")
        assert schema_digest(resources.schema(f"{stem}.schema.json")) == module.SCHEMA_SHA256, (
            f"upgrader/_validators/{stem}.py is stale: run make validators")
        shipped = Path(module.__file__).read_text()
        assert shipped == (tmp_path / f"{stem}.py").read_text(), f"{stem}.py differs: run make validators"
        assert _fast_validator(f"{stem}.schema.json") is not None


@pytest.mark.parametrize("stem", SCHEMAS)
def test_the_samples_are_valid(stem: str) -> None:
    assert check(samples()[stem], f"{stem}.schema.json") == []


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=False),
                   st.text(max_size=8), st.sampled_from(["1.2.3", SHA, TIME, "rollback", "minor", "x/../y"]),
                   st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.none(),
                                                                            max_size=2))


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stem=st.sampled_from(SCHEMAS), data=st.data())
def test_fast_and_full_validation_agree_on_mutated_documents(stem: str, data: st.DataObject) -> None:
    document = copy.deepcopy(samples()[stem])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        if not path:
            document = data.draw(VALUES)
            break
        key = path[-1]
        if action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "add" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(max_size=6))] = data.draw(VALUES)
        else:
            parent[key] = data.draw(VALUES)
    fast = _fast_validator(f"{stem}.schema.json")
    assert fast is not None
    try:
        fast(copy.deepcopy(document))
        fast_valid = True
    except Exception:
        fast_valid = False
    full_valid = schema_errors(document, resources.schema(f"{stem}.schema.json")) == []
    # The fast validator may only ever be stricter (then jsonschema decides): never laxer.
    assert not (fast_valid and not full_valid), document
