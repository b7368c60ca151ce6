"""``upgrader snapshots`` and what other commands decide about snapshots (DESIGN §9).

- ``snapshots [--json] [--verify]``: the project's data snapshots, newest first; ``--verify``
  re-reads every copy and proves it matches its listing and the manifest's digest.
- ``rollback_notices``: before a rollback begins, whether it will restore data, refusing a
  snapshot that cannot be restored before anything is undone, and saying what will be lost.
- ``retain``: which snapshots go (after a completed run, and in ``prune``): beyond
  ``snapshot.keep``, never the one a run in progress or the last completed upgrade may need.
"""

from __future__ import annotations

from typing import Any

from upgrader import engine
from upgrader.app import Options, Result, _open
from upgrader.errors import EXIT_FAILED, EXIT_OK, UsageError
from upgrader.project import Project
from upgrader.snapshot import items, tree
from upgrader.snapshot import manifest as store
from upgrader.store import ProjectStore


def snapshots(options: Options, verify: bool = False) -> Result:
    """The project's snapshots, newest first; with ``verify`` each is checked (exit 1 if one fails)."""
    project, _ = _open(options)
    found = store.summaries(project.root, project.name)
    failed = False
    if verify:
        for summary in found:
            summary["problems"] = verify_one(project, summary)
            failed = failed or bool(summary["problems"])
    return Result("snapshots", found, EXIT_FAILED if failed else EXIT_OK)


def verify_one(project: Project, summary: dict[str, Any]) -> list[str]:
    """Every problem of one snapshot: its manifest, each listing against the manifest's digest,
    each copy against its listing (content re-hashed)."""
    if summary.get("error"):
        return [summary["error"]]
    path = store.folder(project.root, project.name, summary["run_id"])
    problems: list[str] = []
    for item in store.read(path)["volumes"]:
        try:
            listing = tree.Listing.load(path / f"{item['dir']}.listing")
        except tree.ListingError as error:
            problems.append(str(error))
            continue
        if item["digest"] is not None and listing.digest() != item["digest"]:
            problems.append(f"{item['name']}: its listing does not match the manifest's digest")
        problems += [f"{item['name']}: {problem}" for problem in tree.verify(path / item["dir"], listing)]
    return problems


def rollback_notices(project: Project, run: dict[str, Any], restore_data: bool) -> list[str]:
    """What a rollback of ``run`` will do with the data, said before it starts. A restore that the
    snapshot cannot carry out (missing, incomplete, corrupt, damaged copy) is refused here, before
    anything is undone; raises ``SnapshotError`` or ``UsageError``."""
    snapshot_id = run["data"].get("snapshot")
    completed = run["status"] == engine.COMPLETED or run["data"].get("rollback_of") == "completed"
    if restore_data and not snapshot_id:
        raise UsageError(f"run {run['run_id']} took no data snapshot: there is nothing to restore "
                         "(roll back without --restore-data)")
    if not snapshot_id:
        return []
    settings = items.Settings.of(project)
    restoring = restore_data or (not completed and settings.restore_on_failure)
    path = store.folder(project.root, project.name, snapshot_id)
    if not restoring:
        if completed:
            return [f"today's data is kept: the release before starts on it; snapshot {snapshot_id} remains in "
                    f"{path} ('rollback --restore-data' restores it instead)"]
        return [f"snapshot.restore_on_failure is false: the data is kept as it is; snapshot {snapshot_id} remains"]
    manifest = store.load(project.root, project.name, snapshot_id)
    for item in manifest["volumes"]:
        items.check(item, path)
    names = ", ".join(item["name"] for item in manifest["volumes"]) or "(nothing)"
    stopped = manifest["stopped_at"] or manifest["created_at"]
    if completed:
        return [f"restoring snapshot {snapshot_id}: {names} go back to what they held when {manifest['from']} was "
                f"stopped at {stopped}; everything written to them since is lost"]
    return [f"restoring snapshot {snapshot_id}: {names} go back to what they held at {stopped}"]


def protected(store_: ProjectStore) -> set[str]:
    """The snapshots that must stay: a run in progress's, and the last completed upgrade's (a
    ``rollback --restore-data`` may need it)."""
    keep: set[str] = set()
    run = store_.read_run()
    if run is not None and (run["status"] in engine.UNFINISHED or run["status"] == engine.COMPLETED):
        keep.add(run["run_id"])
    installed = store_.read_installed()
    if installed and installed.get("run_id"):
        keep.add(installed["run_id"])
    return keep


def retain(project: Project, store_: ProjectStore, keep: int | None = None) -> list[str]:
    """Remove the snapshots beyond ``keep`` (default ``snapshot.keep``): the newest complete ones
    stay, protected ones (which count among them) are never removed, incomplete ones of finished
    runs go. Returns the run ids removed. The caller holds the project's lock."""
    count = items.Settings.of(project).keep if keep is None else keep
    spared = protected(store_)
    kept = 0
    removed = []
    for summary in store.summaries(project.root, project.name):
        run_id = summary["run_id"]
        whole = summary["complete"] and not summary.get("error")
        if run_id in spared or (whole and kept < count):
            kept += 1 if whole else 0
            continue
        store.remove(project.root, project.name, run_id)
        removed.append(run_id)
    store.remove_leftovers(project.root, project.name)
    return removed
