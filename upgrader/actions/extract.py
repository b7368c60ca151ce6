"""``action: extract``: unpack the verified archive into ``releases/<version>/``, safely.

Extraction goes to a temporary folder that is renamed into place when complete; running it
again converges (DESIGN §4). Hands ``release_dir`` to later steps.
"""

from __future__ import annotations

from pathlib import Path

from upgrader.actions.base import Context, register
from upgrader.actions.download import release_entry
from upgrader.errors import ActionError
from upgrader.store import make_dirs


@register("extract")
def extract(context: Context) -> None:
    from upgrader import package

    release = release_entry(context)
    if "archive" not in context.data:
        raise ActionError("nothing to extract: no archive was downloaded in this run", retryable=False)
    make_dirs(context.project.releases_dir)
    destination = context.project.releases_dir / str(release["version"])
    package.extract(Path(context.data["archive"]), destination,
                    sha256=str(release["sha256"]), version=str(release["version"]))
    context.data["release_dir"] = str(destination)
