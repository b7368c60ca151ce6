"""Validators generated from the shipped JSON Schemas (`make validators`); see validation.check.

The generated modules raise and catch these two exceptions instead of fastjsonschema's own (the
same constructor), so that validating a document does not import fastjsonschema: only
``validation.generate`` needs it. ``validation.check`` takes any exception as "invalid".
"""

from typing import Any


class JsonSchemaValueException(ValueError):
    """The document breaks ``rule`` of ``definition`` at ``name`` (fastjsonschema's fields)."""

    def __init__(self, message: str, value: Any = None, name: str | None = None, definition: Any = None,
                 rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.value = value
        self.name = name
        self.definition = definition
        self.rule = rule


class JsonSchemaValuesException(ValueError):
    """Several ``JsonSchemaValueException`` at once."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        self.message = "; ".join(error.message for error in errors)
        super().__init__(self.message)
        self.errors = errors
