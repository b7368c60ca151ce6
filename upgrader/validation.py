"""Validate loaded documents against a JSON Schema and report every error at once.

Each error reads ``FILE: at 'steps[3].retry.attempts': must be ≥ 1``: the file, the key path in
the notation an operator would write, and the reason.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader import resources
from upgrader.errors import ConfigError, UpgraderError

if TYPE_CHECKING:
    import jsonschema

SCHEMAS = ("workflow", "project", "index", "release", "run", "journal", "history", "installed", "quarantine",
           "snapshot", "feed")


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


def check(document: Any, name: str) -> list[str]:
    """Every violation of the shipped schema ``name`` (``run.schema.json``) in ``document``.

    A document that is valid — nearly always — is accepted by a validator generated from the
    schema (fastjsonschema, in ``upgrader/_validators/``), which costs a cron run far less than
    importing jsonschema. Only an invalid one is explained by jsonschema, every error at once.
    """
    fast = _fast_validator(name)
    if fast is not None:
        try:
            fast(document)
        except Exception:  # noqa: S110 - any doubt is settled by jsonschema below
            pass
        else:
            return []
    return schema_errors(document, resources.schema(name))


def schema_digest(schema: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()


@functools.cache
def _fast_validator(name: str) -> Callable[[Any], Any] | None:
    stem = name.removesuffix(".schema.json")
    try:
        module = importlib.import_module(f"upgrader._validators.{stem}")
    except ImportError:
        return None
    if getattr(module, "SCHEMA_SHA256", None) != schema_digest(resources.schema(name)):
        return None  # generated from another version of the schema: not to be trusted
    validate: Callable[[Any], Any] = module.validate
    return validate


def generate(folder: Path) -> list[Path]:
    """Write ``folder/<stem>.py``, a fastjsonschema validator for each shipped schema."""
    import fastjsonschema

    written = []
    for stem in SCHEMAS:
        schema = resources.schema(f"{stem}.schema.json")
        digest = schema_digest(schema)
        # fastjsonschema annotates the schema it compiles: give it a copy of the cached one.
        code = fastjsonschema.compile_to_code(copy.deepcopy(schema), use_default=False, use_formats=False)
        function = code[code.index("\ndef ") + 5: code.index("(", code.index("\ndef "))]
        # Its exceptions from upgrader._validators: validating then never imports fastjsonschema.
        imported = "from fastjsonschema import JsonSchemaValueException, JsonSchemaValuesException\n"
        if imported not in code:
            raise RuntimeError(f"fastjsonschema's code for {stem} no longer imports its exceptions as expected")
        code = code.replace(imported, "from upgrader._validators import JsonSchemaValueException, "
                                      "JsonSchemaValuesException\n")
        path = folder / f"{stem}.py"
        path.write_text(
            f"# Generated from {stem}.schema.json by `make validators`; do not edit.\n"
            "# ruff: noqa\n# mypy: ignore-errors\n"
            f'SCHEMA_SHA256 = "{digest}"\n' + code + f"\n\nvalidate = {function}\n",
            encoding="utf-8")
        written.append(path)
    return written


def schema_errors(document: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation of ``schema`` in ``document`` as ``at 'key.path': reason`` lines."""
    from jsonschema import Draft202012Validator

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
