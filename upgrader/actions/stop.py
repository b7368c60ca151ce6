"""``action: stop`` and the undos ``start_previous`` and ``ensure_running``.

``stop`` first records what runs (each service's image and image id, the export folder) so that
``start_previous`` can bring exactly that back, then stops every container of the project with
``compose stop``: containers, network and volumes stay, so that the next ``up`` recreates in place
only what changed (DESIGN §13; ``start.start_export``). Every container is stopped, not only those
the next release changes: the data snapshot's second pass, after ``stop``, must see no writer. A
project with nothing running stops successfully. As the undo of ``start`` it stops what the
failed start brought up, and ``start_previous`` recreates the previous release over it.

``ensure_running`` is the undo of a workflow's first step, so the last thing a rollback does:
the release that ran before the run must run, and be healthy, when the rollback says
``rolled_back``. Usually it does (``start_previous`` started it) and this costs one look, so the
release is started once per rollback and its one-shot jobs run once; only when something else
stopped it (the Docker Engine restarted mid-run, a host reboot) is it started again.
"""

from __future__ import annotations

from upgrader.actions.base import Context, register
from upgrader.store import now


@register("stop")
def stop(context: Context) -> None:
    from upgrader.runtime import compose, engine

    if "previous" not in context.data:
        running = [c for c in engine.containers(context.project.name) if c.status == "running"]
        context.data["previous"] = {
            "export": str(context.project.export_dir),
            "images": {c.image: c.image_id for c in running},
            "services": sorted({c.service for c in running}),
        }
        if running:
            context.data.setdefault("downtime_started_at", now())
        context.checkpoint()  # registered before the side effect: a crash still knows what ran
    context.journal("stopping", {"services": context.data["previous"]["services"]})
    compose.stop(context.project.name, on_line=context.output)


@register("start_previous")
def start_previous(context: Context) -> None:
    """Bring back what ``stop`` recorded: the previous export, with the images that ran."""
    from upgrader.actions.health import wait_until_healthy
    from upgrader.actions.start import start_export
    from upgrader.runtime import engine

    previous = context.data.get("previous")
    export = context.project.export_dir
    if not previous or not previous.get("services"):
        return  # nothing ran before this run
    if not (export / "compose.yaml").is_file():
        context.journal("start_previous", f"{export} holds no compose.yaml; nothing to start")
        return
    for reference, image_id in previous["images"].items():
        # The tag may point elsewhere now (a re-pushed tag): point it back at what ran.
        found = engine.image(reference)
        if image_id and found is not None and found.id != image_id:
            engine.tag(image_id, reference)
    start_export(context, export)
    serving = wait_until_healthy(context, export)
    if context.data.get("downtime_started_at"):
        # The downtime of a run that was rolled back (or interrupted) ends here; a completed
        # run rolled back later keeps the downtime of its upgrade.
        context.data.setdefault("downtime_ended_at", serving)


@register("ensure_running")
def ensure_running(context: Context) -> None:
    """Every service of the project's export runs and is healthy (started if not)."""
    from upgrader.actions.health import wait_until_healthy
    from upgrader.actions.start import start_export
    from upgrader.runtime import compose, engine

    export = context.project.export_dir
    if not context.from_version:
        return  # a first install: nothing ran before this run
    if not (export / "compose.yaml").is_file():
        context.journal("ensure_running", f"{export} holds no compose.yaml; nothing to start")
        return
    try:
        found = engine.containers(context.project.name)
    except engine.RuntimeUnavailable as error:
        if "previous" in context.data:
            raise
        # This run never stopped anything (it failed before ``stop``): what runs is as it was,
        # and an engine that does not answer must not turn that into a failed rollback.
        context.journal("ensure_running", f"cannot look ({error}); this run never stopped the server")
        return
    expected = set(compose.services(export))
    ran_before = set((context.data.get("previous") or {}).get("services") or ())
    if ran_before:
        # What ran before the run must run again; a one-shot job (a migration) had exited then,
        # and starting the release again for it would run it twice.
        expected &= ran_before
    else:
        expected -= {c.service for c in found if c.status == "exited" and c.exit_code == 0}
    missing = sorted(expected - {c.service for c in found if c.status == "running"})
    if missing:
        context.journal("ensure_running", f"not running: {', '.join(missing)}; starting the release that ran before")
        start_export(context, export)
    wait_until_healthy(context, export)
