"""``action: extract``: unpack the verified archive into ``releases/<version>/``, safely.

Projects of one root share ``releases/<version>/`` when they run the same archive; another
archive of the same version (another product, another organisation's package) goes to
``releases/<version>@<sha12>/``.

Extraction goes to a temporary folder that is renamed into place when complete; running it
again converges (DESIGN §4). Hands ``release_dir`` to later steps, and journals the data folders
the release keeps beside its compose.yaml (``upgrader.datadirs``).
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
    destination = package.extract(Path(context.data["archive"]), context.project.releases_dir,
                                  sha256=str(release["sha256"]), version=str(release["version"]),
                                  owner=context.project.name)
    context.data["release_dir"] = str(destination)
    from upgrader import datadirs

    # Said before the server stops: which folders beside compose.yaml this release keeps data in.
    folders = datadirs.release_data_folders(destination, dict(context.project.config.get("values") or {}))
    context.data["data_folders"] = folders  # the export step links them, with the server stopped
    if folders:
        context.journal("data_folders", {"release": str(release["version"]), "folders": folders})
