"""Where the files shipped with upgrader are: workflows/ and the JSON Schemas of state/.

In a wheel they live in ``upgrader/_data/``; in a source checkout (an editable install) they are
the top-level ``workflows/`` and ``state/`` folders beside the package.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The shipped folder ``name`` (``workflows`` or ``state``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def workflows_dir() -> Path:
    return data_dir("workflows")


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """A shipped JSON Schema by file name: the workflow's, one of ``state/``'s, or one of the
    formats upgrader reads from others (project.yaml, the feed's index, release.json)."""
    if name == "workflow.schema.json":
        path = workflows_dir() / name
    elif (_PACKAGE / name).is_file():
        path = _PACKAGE / name
    else:
        path = data_dir("state") / name
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
