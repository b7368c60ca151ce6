"""Validate loaded documents against a JSON Schema and report every error at once.

Each error reads ``FILE: at 'steps[3].retry.attempts': must be ≥ 1``: the file, the key path in
the notation an operator would write, and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from upgrader.errors import ConfigError, UpgraderError


def key_path(path: Iterable[Any]) -> str:
    """``['steps', 3, 'retry']`` → ``steps[3].retry``; an empty path is the document itself."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _reason(error: jsonschema.ValidationError) -> str:
    validator = error.validator
    value: Any = error.validator_value
    if validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        instance: Any = error.instance
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        return "unknown key " + ", ".join(repr(key) for key in extra)
    if validator == "required":
        return error.message.replace(" is a required property", " is required")
    if validator == "minimum":
        return f"must be ≥ {value}"
    if validator == "maximum":
        return f"must be ≤ {value}"
    if validator == "exclusiveMinimum":
        return f"must be > {value}"
    if validator == "enum":
        return "must be one of " + ", ".join(repr(item) for item in value)
    if validator == "type":
        return f"must be of type {value if isinstance(value, str) else ' or '.join(value)}"
    if validator == "pattern":
        if "(0|[1-9][0-9]*)" in str(value):
            return f"{error.instance!r} is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])"
        return f"{error.instance!r} does not match {value!r}"
    if validator == "minItems":
        return f"must have at least {value} item(s)"
    if validator == "minLength":
        return "must not be empty"
    if validator == "const":
        return f"must be {value!r}"
    return error.message


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation of ``schema`` in ``document`` as ``at 'key.path': reason`` lines."""
    validator = Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        best = error
        if error.context:
            # oneOf/anyOf: the branch that got furthest names the real cause.
            # A type mismatch is the least telling branch: `undo: {timout: 5}` is an unknown key
            # of the mapping form, not "must be a string".
            best = max(
                error.context,
                key=lambda e: (len(e.path), e.validator != "type", -len(e.context or ())),
            )
        messages.append(f"at '{key_path(best.absolute_path)}': {_reason(best)}")
    return messages


def raise_if_errors(
    source: str, errors: Sequence[str], error_cls: type[UpgraderError] = ConfigError
) -> None:
    """Raise one ``error_cls`` naming ``source`` and listing every error, when there are any."""
    if not errors:
        return
    if len(errors) == 1:
        raise error_cls(f"{source}: {errors[0]}")
    raise error_cls(f"{source}: {len(errors)} errors:\n" + "\n".join(f"  {source}: {e}" for e in errors))
