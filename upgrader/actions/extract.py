"""``action: extract``: unpack the verified archive into ``releases/<version>/``, safely.

Projects of one root share ``releases/<version>/`` when they run the same archive; another
archive of the same version (another product, another organisation's package) goes to
``releases/<version>@<sha12>/``.

Extraction goes to a temporary folder that is renamed into place when complete; running it
again converges (DESIGN §4). Hands ``release_dir`` to later steps, and journals the data folders
the release keeps beside its compose.yaml (``upgrader.datadirs``).

Then, still before the server stops, what the release's compose.yaml asks of the host
(``upgrader.policy``): a risk of a kind project.yaml's ``refuse`` lists fails the step as the
release's fault (the run rolls back, the release is quarantined); the others are journaled
(``release_risks``) as a warning. A release with no compose.yaml at its top (a zip of a vendor's
whole server folder, laid over the server by ``overlay``, DESIGN §12) has none of this to read:
the journal says that no compose policy was checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    archive = Path(context.data["archive"])
    # The archive's own sha256 (verify hands it on; a listing feed's entry has none).
    sha256 = context.data.get("sha256") or release.get("sha256")
    if not sha256:
        from upgrader.feed import file_sha256

        sha256 = context.data["sha256"] = file_sha256(archive)
    destination = package.extract(archive, context.project.releases_dir, sha256=str(sha256),
                                  version=str(release["version"]), owner=context.project.name)
    context.data["release_dir"] = str(destination)
    if not (destination / "compose.yaml").is_file():
        context.data.update(data_folders=[], published_ports=[], services=[])
        context.journal("no_compose_file", f"release {release['version']} has no compose.yaml at its top: no data "
                        "folders, published ports or compose policy (refuse) checked")
        return
    from upgrader import datadirs

    # Said before the server stops: which folders beside compose.yaml this release keeps data in,
    # and what it asks of the host — both from one reading of its compose.yaml by Compose.
    values = dict(context.project.config.get("values") or {})
    model, folder = datadirs.release_model(destination, values)
    folders = datadirs.kept_in(model, folder, destination)
    context.data["data_folders"] = folders  # the export step links them, with the server stopped
    from upgrader.actions.preflight import published_ports

    # For the preflight step (free ports) and the export step (the ownership labels).
    context.data["published_ports"] = [list(port) for port in published_ports(model)]
    context.data["services"] = sorted(model.get("services") or {})
    if folders:
        context.journal("data_folders", {"release": str(release["version"]), "folders": folders})
    _check_policy(context, model, folder, str(release["version"]))


def _check_policy(context: Context, model: dict[str, Any], folder: Path, version: str) -> None:
    """Refuse (``PackageError``) a release asking for a kind project.yaml's ``refuse`` lists;
    journal what else it asks for."""
    from upgrader import package, policy

    found = policy.risks(model, folder)
    refused = policy.refused(context.project, found)
    if refused:
        context.journal("release_refused", {"release": version, "risks": [vars(risk) for risk in refused]})
        raise package.PackageError(policy.refusal(version, refused))
    if found:
        context.journal("release_risks", {
            "warning": f"release {version}: " + "; ".join(str(risk) for risk in found),
            "release": version, "risks": [vars(risk) for risk in found]})
