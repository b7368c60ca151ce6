"""Schema errors as ``FILE: at 'key.path': reason``, every one at once."""

from __future__ import annotations

from typing import Any

import pytest

from upgrader.errors import ConfigError, StateError
from upgrader.validation import key_path, raise_if_errors, schema_errors

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 1},
        "count": {"type": "integer", "minimum": 1, "maximum": 9},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "mode": {"enum": ["a", "b"]},
        "items": {"type": "array", "minItems": 1, "items": {"type": "object",
                  "properties": {"size": {"type": "integer", "minimum": 0}}}},
    },
}


@pytest.mark.parametrize(
    ("path", "text"),
    [([], "(top level)"), (["steps"], "steps"), (["steps", 3, "retry", "attempts"],
     "steps[3].retry.attempts"), ([0, "a"], "[0].a"), (["env", "A"], "env.A")],
)
def test_key_path(path: list[Any], text: str) -> None:
    assert key_path(path) == text


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ({}, "at '(top level)': 'name' is required"),
        ({"name": "x", "colour": 1, "size": 2}, "at '(top level)': unknown key 'colour', 'size'"),
        ({"name": "x", "count": 0}, "at 'count': must be ≥ 1"),
        ({"name": "x", "count": 10}, "at 'count': must be ≤ 9"),
        ({"name": "x", "count": "3"}, "at 'count': must be of type integer"),
        ({"name": "x", "ratio": 0}, "at 'ratio': must be > 0"),
        ({"name": "x", "mode": "c"}, "at 'mode': must be one of 'a', 'b'"),
        ({"name": "X1"}, "at 'name': 'X1' does not match '^[a-z]+$'"),
        ({"name": "x", "items": []}, "at 'items': must have at least 1 item(s)"),
        ({"name": "x", "items": [{}, {"size": -1}]}, "at 'items[1].size': must be ≥ 0"),
    ],
)
def test_schema_errors_name_the_key_path_and_the_reason(document: Any, error: str) -> None:
    assert schema_errors(document, SCHEMA) == [error]


def test_every_schema_error_is_reported() -> None:
    errors = schema_errors({"count": 0, "mode": "z", "extra": True}, SCHEMA)
    assert len(errors) == 4
    assert set(errors) == {
        "at '(top level)': 'name' is required",
        "at '(top level)': unknown key 'extra'",
        "at 'count': must be ≥ 1",
        "at 'mode': must be one of 'a', 'b'",
    }


def test_raise_if_errors_does_nothing_without_errors() -> None:
    raise_if_errors("project.yaml", [])


def test_raise_if_errors_with_one_error_is_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        raise_if_errors("/srv/p.yaml", ["at 'count': must be ≥ 1"])
    assert str(caught.value) == "/srv/p.yaml: at 'count': must be ≥ 1"


def test_raise_if_errors_lists_every_error_each_naming_the_file() -> None:
    with pytest.raises(StateError) as caught:
        raise_if_errors("/srv/p.yaml", ["at 'a': x", "at 'b': y"], StateError)
    assert str(caught.value) == (
        "/srv/p.yaml: 2 errors:\n  /srv/p.yaml: at 'a': x\n  /srv/p.yaml: at 'b': y"
    )
