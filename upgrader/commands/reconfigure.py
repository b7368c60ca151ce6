"""``upgrader reconfigure``: re-apply today's project.yaml to the installed release (DESIGN §14).

A change to project.yaml's ``values`` means nothing until the release is exported again. This
is a run of the project's own workflow from the installed version to itself: the archive and
the extracted release are found where the install left them (downloaded again if they were
pruned), the data is snapshotted, the export rewritten, the stack restarted and waited for —
persisted, resumable and rolled back like any run (the undo puts the old export back). A
reconfigure that fails is the configuration's fault, never the release's: nothing is quarantined.

``reconfigure_needed`` (``check --json``): the export's marker records a digest of the
``values`` it was written with; today's differ.
"""

from __future__ import annotations

import json

from upgrader import engine
from upgrader.actions import preflight
from upgrader.app import (
    Options,
    Result,
    _blocked_message,
    _open,
    _preflight,
    _project_workflow,
    _start,
)
from upgrader.decide import Target
from upgrader.errors import RunBlockedError, UsageError
from upgrader.project import Project


def needed(project: Project) -> bool | None:
    """Whether project.yaml's ``values`` changed since the export was written; None when the
    export says nothing of them (written by an earlier upgrader) or there is no export."""
    from upgrader.actions.export import MARKER, values_digest

    try:
        marker = json.loads((project.export_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    recorded = marker.get("values_sha256") if isinstance(marker, dict) else None
    if not isinstance(recorded, str):
        return None
    return recorded != values_digest(project.config.get("values"))


def reconfigure(options: Options) -> Result:
    """Run the project's workflow from the installed release to itself with today's project.yaml."""
    project, store = _open(options)
    workflow = _project_workflow(project)
    run_id = engine.new_run_id()
    with store.lock(run_id, options.wait_lock):
        _preflight(store)
        previous = store.read_run()
        if previous is not None and previous["status"] in engine.UNFINISHED:
            interrupted = previous["status"] in (engine.RUNNING, engine.ROLLING_BACK)
            raise RunBlockedError(_blocked_message(previous, interrupted))
        installed = store.read_installed()
        if installed is None:
            raise UsageError(f"{project.name}: nothing is installed to reconfigure; 'upgrader run' installs a release")
        preflight.before_run(project, workflow)
        store.claim(run_id)
        return _start(project, store, workflow, options,
                      Target(installed["version"], installed["release"]), run_id)
