"""The data snapshot (DESIGN §9): ``warm_snapshot``, ``snapshot`` and their undos.

``warm_snapshot`` (before ``stop``) makes a first copy of every volume and data folder into
``snapshots/<name>/<run_id>/`` while the old release still serves, after checking that the disk
has room for it: a run that could not finish its snapshot fails before the server stops. Its undo
``discard_snapshot`` removes a snapshot that never became complete.

``snapshot`` (right after ``stop``) copies again only what changed since, now that every writer
is stopped, and only then marks the snapshot ``complete`` (manifest written last). It hands
``snapshot`` (the run id) to later steps, ``status`` and the history. Its undo
``restore_snapshot`` puts the data back when a rollback needs it: a run that never completed
(unless ``restore_on_failure: false``), or a completed one rolled back with ``--restore-data``.
The restore starts over when it is run again, so a restore cut short converges.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader.actions.base import Context, register
from upgrader.errors import ActionError
from upgrader.snapshot import manifest as store
from upgrader.store import now

if TYPE_CHECKING:
    from upgrader.snapshot import items

# Room left after the first pass for the second one (what changed while the server still ran).
RESERVE_FRACTION = 0.05
RESERVE_MINIMUM = 16 << 20


def _path(context: Context) -> Path:
    return store.folder(context.project.root, context.project.name, context.run["run_id"])


def _disk_free(path: Path) -> int:
    existing = path
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def _data_folders(context: Context) -> list[Path]:
    from upgrader import datadirs

    return [folder.path for folder in datadirs.data_folders(context.project)]


def _helper_image(context: Context, item: dict[str, Any]) -> str:
    """The image of the never-started helper that streams a volume (method engine): one the
    project already has."""
    from upgrader.runtime import volumes

    candidates = list((context.data.get("previous") or {}).get("images") or {})
    candidates += list(context.data.get("release_images") or [])
    image = volumes.image_for(context.project.name, candidates)
    if image is None:
        raise ActionError(f"volume {item['name']}: no image of project {context.project.name} is present to "
                          "stream it through the Docker Engine (snapshot method 'engine')", retryable=False)
    return image


def _discover(context: Context, settings: items.Settings) -> list[dict[str, Any]]:
    from upgrader.snapshot import items

    found = items.volume_items(context.project, settings) + items.path_items(
        context.project, settings, _data_folders(context))
    for item in found:
        if item["method"] == "engine":
            item["image"] = _helper_image(context, item)
    return found


def _pass(context: Context, manifest: dict[str, Any], path: Path) -> None:
    from upgrader.snapshot import items

    for item in manifest["volumes"]:
        context.journal("snapshot_copy", {"kind": item["kind"], "name": item["name"], "method": item["method"]})
        expected = int(item["bytes"])  # what the previous pass found; 0 on the first one

        def progress(files: int, size: int, name: str = item["name"], total: int = expected) -> None:
            context.progress({"item": name, "files": files, "bytes": size, "total": total})

        try:
            listing = items.copy(item, path, progress)
        except items.DiskFull:
            # An incomplete snapshot is never restored: give its space back at once, so that the
            # run can still record its failure and the rollback start the server again.
            store.remove(context.project.root, context.project.name, context.run["run_id"])
            raise
        item["digest"] = listing.digest()


def _begin(context: Context, path: Path) -> dict[str, Any] | None:
    """The manifest of the snapshot this run takes, with what it holds; None (said in the
    journal, and kept in ``data`` for the steps after) when it takes none."""
    from upgrader.snapshot import items

    settings = items.Settings.of(context.project)
    found = _discover(context, settings) if settings.enabled else []
    if not found:
        context.data["snapshot_dir"] = None
        context.journal("snapshot_off", "snapshots are off for this project (snapshot.enabled: false)"
                        if not settings.enabled else "nothing to snapshot: no volume or data folder yet")
        return None
    manifest = store.new(context.project.name, context.run["run_id"], context.from_version, context.to_version)
    manifest["volumes"] = found
    return manifest


def _record(context: Context, manifest: dict[str, Any], path: Path) -> None:
    """The snapshot exists (incomplete) before anything is copied into it."""
    store.write(path, manifest)
    context.data["snapshot_dir"] = str(path)
    context.checkpoint()


@register("warm_snapshot")
def warm_snapshot(context: Context) -> None:
    from upgrader.snapshot import items, tree

    store.remove_leftovers(context.project.root, context.project.name)
    path = _path(context)
    manifest = _begin(context, path)
    if manifest is None:
        return
    needed = items.needed_bytes(manifest["volumes"], path)
    free = _disk_free(path.parent)
    if needed > free:
        raise ActionError(
            f"not enough disk space for the data snapshot: it needs {needed} bytes, {free} are free in "
            f"{store.project_folder(context.project.root, context.project.name)}; the server was not stopped",
            retryable=False)
    _record(context, manifest, path)
    _pass(context, manifest, path)
    store.write(path, manifest)
    tree.flush(path)  # the first pass on disk now: the second pass's flush (downtime) has little left to do
    total = sum(item["bytes"] for item in manifest["volumes"])
    reserve = max(RESERVE_MINIMUM, int(total * RESERVE_FRACTION))
    free = _disk_free(path)
    if free < reserve:
        raise ActionError(
            f"not enough disk space left for the snapshot's second pass: {free} bytes free after copying "
            f"{total}, {reserve} wanted in {path}; the server was not stopped", retryable=False)


@register("snapshot")
def snapshot(context: Context) -> None:
    from upgrader.snapshot import tree

    if context.data.get("snapshot") == context.run["run_id"]:
        return  # complete already
    if "snapshot_dir" in context.data and context.data["snapshot_dir"] is None:
        return  # warm decided: no snapshot for this run
    path = _path(context)
    if not (path / store.MANIFEST).exists():
        # No warm step in this workflow, or its copy was given back when the disk filled up: the
        # whole copy happens now, with the server stopped.
        begun = _begin(context, path)
        if begun is None:
            return
        _record(context, begun, path)
    manifest = store.read(path)
    if manifest["stopped_at"] is None:
        manifest["stopped_at"] = now()
    _still_running(manifest)
    _pass(context, manifest, path)
    tree.flush(path)  # every copy on disk before the manifest says the snapshot is complete
    for item in manifest["volumes"]:
        item["complete"] = True
    manifest.update(complete=True, completed_at=now())
    store.write(path, manifest)
    context.data["snapshot"] = context.run["run_id"]
    context.journal("snapshot_complete", {
        "snapshot": context.run["run_id"], "volumes": [item["name"] for item in manifest["volumes"]],
        "bytes": sum(item["bytes"] for item in manifest["volumes"])})


def _still_running(manifest: dict[str, Any]) -> None:
    """A snapshot is consistent only when nothing writes to what it copies."""
    from upgrader.runtime import volumes

    for item in manifest["volumes"]:
        if item["kind"] != "volume":
            continue
        running = [name for name, _, up in volumes.users(item["name"]) if up]
        if running:
            raise ActionError(f"volume {item['name']} is still in use by running container {running[0]}: "
                              "a snapshot needs every writer stopped", retryable=False)


@register("restore_snapshot")
def restore_snapshot(context: Context) -> None:
    """Undo ``snapshot``: put the data back as it was when the server was stopped, if this rollback
    should (see the module docstring); say what was decided either way."""
    from upgrader.snapshot import items

    run_id = context.data.get("snapshot")
    if not run_id:
        context.journal("snapshot_kept", "the new release never ran: the data is as it was")
        return
    settings = items.Settings.of(context.project)
    forced = bool(context.data.get("restore_data"))
    if context.data.get("rollback_of") == "completed" and not forced:
        context.journal("snapshot_kept", f"today's data is kept; snapshot {run_id} (of the data when "
                        f"{context.from_version} was stopped) remains in {_path(context)}")
        return
    if not settings.restore_on_failure and not forced:
        context.journal("snapshot_kept", "snapshot.restore_on_failure is false: the data is kept as the failed "
                        f"release left it; snapshot {run_id} remains in {_path(context)}")
        return
    manifest = store.load(context.project.root, context.project.name, run_id)
    path = _path(context)
    listings = [(item, items.check(item, path)) for item in manifest["volumes"]]  # all sound before any is touched
    for item, listing in listings:
        context.journal("snapshot_restore", {"kind": item["kind"], "name": item["name"], "method": item["method"]})
        items.restore(item, path, listing, context.project.name)
    context.data["restored"] = run_id
    context.journal("snapshot_restored", {"snapshot": run_id, "volumes": [item["name"] for item, _ in listings]})


@register("discard_snapshot")
def discard_snapshot(context: Context) -> None:
    """Undo ``warm_snapshot``: a snapshot that never became complete is of no use; remove it."""
    path = _path(context)
    if not path.exists():
        return
    try:
        complete = store.read(path)["complete"]
    except store.SnapshotError:
        complete = False
    if not complete:
        store.remove(context.project.root, context.project.name, context.run["run_id"])
