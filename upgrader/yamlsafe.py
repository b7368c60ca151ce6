"""Reading the YAML an operator or a publisher wrote, safely.

``yaml.safe_load`` builds no objects but follows every alias: a few lines of anchors and
aliases can make a structure that costs minutes to walk (a "billion laughs"). Here aliases are
counted and capped, nesting depth is bounded by Python's own recursion limit (a RecursionError
becomes a plain refusal), and every mapping key must be text, as JSON Schema assumes.

A text without a ``*`` holds no alias: it is read by libyaml (``yaml.CSafeLoader``) when PyYAML
has it, several times faster than the pure-Python loader, and checked the same way. Text with
an alias, or that libyaml refuses, is read by the pure-Python loader, whose alias count and error
messages are the ones described here.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIASES = 100
MAX_NODES = 100_000  # values in the document once every alias is expanded


class YAMLRefused(ValueError):
    """The text is not YAML upgrader will read; the message says why and where."""


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise YAMLRefused(f"more than {MAX_ALIASES} aliases (at line {mark.line + 1}): "
                                  "refusing what looks like an alias bomb")
        return super().compose_node(parent, index)


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with its aliases expanded (shared nodes counted once
    per use, computed once each)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded(key, sizes) + _expanded(value, sizes) for key, value in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded(item, sizes) for item in node.value)
    sizes[id(node)] = size
    return size


def _check_size(node: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    if _expanded(node, sizes) <= MAX_NODES:
        return
    where = "(top level)"
    if isinstance(node, yaml.MappingNode):
        key, _ = max(reversed(node.value), key=lambda pair: sizes[id(pair[1])])
        where = str(key.value)
    raise YAMLRefused(f"at '{where}': expands through aliases to more than {MAX_NODES} values; "
                      "refusing an alias bomb")


_CLoader: Any = getattr(yaml, "CSafeLoader", None)  # None: PyYAML was built without libyaml


def load(text: str) -> Any:
    """The document in ``text``; raises ``YAMLRefused`` saying why and where when it is refused
    (not YAML at all, an alias bomb, nested too deeply, a key that is not text)."""
    if _CLoader is not None and "*" not in text:
        try:
            return _load(text, _CLoader)
        except (YAMLRefused, yaml.YAMLError, RecursionError):
            pass  # said again, in the pure-Python loader's words
    return _load(text, _Loader)


def _load(text: str, loader_class: Any) -> Any:
    loader: Any = None
    try:
        loader = loader_class(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        document = loader.construct_document(node)
    except RecursionError:
        raise YAMLRefused("nested too deeply") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise YAMLRefused(f"not valid YAML{at}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()
    where = non_text_key(document)
    if where is not None:
        raise YAMLRefused(f"at '{where[0]}': the key {where[1]!r} is not text (quote it)")
    return document


def non_text_key(document: Any, path: str = "") -> tuple[str, Any] | None:
    """The path and key of the first mapping key that is not a string, or None."""
    if isinstance(document, dict):
        for key, value in document.items():
            if not isinstance(key, str):
                return path or "(top level)", key
            found = non_text_key(value, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found = non_text_key(value, f"{path}[{index}]")
            if found:
                return found
    return None
