"""``upgrader doctor``: every precondition of an unattended upgrade, checked and explained.

Each check gives one line: ✓ or ✗, what was found, and for ✗ the fix. A warning (``severity
"warning"``, ``ok`` true: it does not fail doctor) is a ``!`` with its fix: what the installed
release asks of the host, a feed nobody vouches for (``upgrader.policy``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from upgrader.errors import UpgraderError
from upgrader.project import Project
from upgrader.store import ProjectStore

MIN_FREE = 2 << 30  # 2 GiB: room for a release's archive, its extraction and its images
SUDOERS_FIX = ("add this user to the 'docker' group (sudo usermod -aG docker $USER, then log in "
               "again) or run upgrader as root; see the README's 'Permissions'")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    severity: str = "error"  # "warning": ok stays true, shown as "!" with its fix


def _engine() -> Check:
    from upgrader.runtime import engine

    try:
        version = engine.client().version()
    except UpgraderError as error:
        fix = SUDOERS_FIX if "permission" in str(error) else "start the Docker Engine (systemctl start docker)"
        return Check("Docker Engine", False, str(error), fix)
    return Check("Docker Engine", True, f"reachable, version {version.get('Version')}")


def _daemon_proxy() -> Check:
    from upgrader.runtime import engine

    try:
        info = engine.client().info()
    except UpgraderError as error:
        return Check("Docker proxy", False, f"cannot ask the engine: {error}", "see the Docker Engine check")
    shell = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or os.environ.get("HTTP_PROXY") \
        or os.environ.get("http_proxy")
    daemon = info.get("HttpsProxy") or info.get("HttpProxy")
    if shell and not daemon:
        return Check("Docker proxy", False, "this shell uses a proxy but the Docker daemon has none, "
                     "so its pulls go direct",
                     "give dockerd HTTP(S)_PROXY in a systemd drop-in "
                     "(/etc/systemd/system/docker.service.d/http-proxy.conf), then restart docker")
    return Check("Docker proxy", True, f"daemon proxy {daemon}" if daemon else "no proxy in use")


def _compose() -> Check:
    from upgrader.runtime import compose

    try:
        argv = compose.command()
    except UpgraderError as error:
        return Check("Docker Compose", False, str(error), "install the docker-compose-plugin package")
    return Check("Docker Compose", True, "v2: " + " ".join(argv))


def _feed(project: Project) -> list[Check]:
    from upgrader.feed import feed_for, load_public_key

    if not project.config.get("feed"):
        return [Check("feed", True, "none configured (runs use --package or no release)")]
    checks = []
    if project.config.get("public_key"):
        try:
            load_public_key(project.config["public_key"])
            checks.append(Check("signature key", True, "a valid Ed25519 public key"))
        except UpgraderError as error:
            checks.append(Check("signature key", False, str(error), "set public_key to the publisher's key"))
            return checks
    try:
        index = feed_for(project).index()
    except UpgraderError as error:
        checks.append(Check("feed", False, str(error), "check the feed URL, token_file or UPGRADER_FEED_TOKEN, "
                            "and the proxy"))
        return checks
    from upgrader.plan import parse_version

    versions = [entry["version"] for entry in index.releases]
    newest = max(versions, key=parse_version) if versions else "none"
    signed = ", signature verified" if project.config.get("public_key") else ""
    checks.append(Check("feed", True, f"{index.url}: {len(index.releases)} releases, newest {newest}{signed}"))
    return checks


def _disk(project: Project) -> Check:
    free = shutil.disk_usage(project.root).free
    text = f"{free / (1 << 30):.1f} GiB free in {project.root}"
    if free < MIN_FREE:
        return Check("disk", False, text, "free some space (upgrader prune removes superseded releases)")
    return Check("disk", True, text)


def _snapshots(project: Project) -> list[Check]:
    """Where the data snapshots go, what they hold, the free space there; the data folders."""
    from upgrader.snapshot import items
    from upgrader.snapshot import manifest as snapshots

    settings = items.Settings.of(project)
    folder = snapshots.project_folder(project.root, project.name)
    if not settings.enabled:
        checks = [Check("snapshots", True, "off (snapshot.enabled: false): a rollback cannot restore data")]
    else:
        found = snapshots.summaries(project.root, project.name)
        total = sum(summary["bytes"] for summary in found)
        existing = folder
        while not existing.exists():
            existing = existing.parent
        free = shutil.disk_usage(existing).free
        checks = [Check("snapshots", True,
                        f"{folder}: {len(found)} snapshot(s), {total / (1 << 20):.1f} MiB; "
                        f"{free / (1 << 30):.1f} GiB free there; method {settings.method}, keep {settings.keep}")]
        damaged = [summary for summary in found if summary.get("error")]
        if damaged:
            checks.append(Check("snapshots", False, str(damaged[0]["error"]),
                                "inspect it; 'upgrader snapshots --verify' checks them all"))
    try:
        from upgrader import datadirs

        folders = datadirs.data_folders(project)
    except UpgraderError as error:
        return [*checks, Check("data folders", False, str(error), "check export/compose.yaml")]
    if folders:
        checks.append(Check("data folders", True, ", ".join(f"./{folder.rel} → {folder.path}" for folder in folders)))
    return checks


def _policy(project: Project) -> list[Check]:
    """The installed release's requests of the host and the feed's weaknesses, as warnings; one ✓
    line when there are none."""
    from upgrader import policy

    checks = [Check("release policy", True, what, fix, severity="warning")
              for what, fix in policy.export_findings(project)]
    checks += [Check("feed security", True, what, fix, severity="warning")
               for what, fix in policy.feed_findings(project)]
    if not checks:
        refuse = project.config.get("refuse")
        said = f"refuse: [{', '.join(refuse)}]" if refuse is not None else "no refuse: in project.yaml"
        checks.append(Check("release policy", True, f"{said}; no warning about the installed release or the feed"))
    return checks


def _cron(project: Project) -> Check:
    from upgrader import cron

    try:
        lines = cron.installed(project.root, project.name)
    except UpgraderError as error:
        return Check("cron", False, str(error), "install cron")
    schedule = next((line for line in lines if not line.startswith("@reboot")), None)
    if schedule is None:
        return Check("cron", False, "no scheduled run in this user's crontab", "upgrader install")
    expression = " ".join(schedule.split()[:5])
    try:
        upcoming = cron.validate_time(expression)[0].strftime("%Y-%m-%d %H:%M")
    except UpgraderError:
        upcoming = "unknown"
    reboot = "" if any(line.startswith("@reboot") for line in lines) else " (no @reboot resume line)"
    return Check("cron", not reboot, f"'{expression}', next run {upcoming}{reboot}",
                 "upgrader install" if reboot else "")


def _runs(store: ProjectStore) -> list[Check]:
    from upgrader import engine

    checks = []
    holder = store.lock_holder()
    checks.append(Check("lock", True, f"held by upgrader pid {holder.get('pid')}, run {holder.get('run_id')}"
                        if holder else "free"))
    try:
        run = store.read_run()
    except UpgraderError as error:
        return [*checks, Check("last run", False, str(error), "inspect the file; move it aside to start afresh")]
    if run is not None and run["status"] in engine.UNFINISHED and holder is None:
        what = "paused" if run["status"] == engine.PAUSED else (
            "rollback failed" if run["status"] == engine.FAILED else "interrupted")
        checks.append(Check("last run", False, f"run {run['run_id']} {what} at state {run['state']}",
                            "upgrader resume (carry it on) or upgrader rollback (undo it)"))
    elif run is not None:
        checks.append(Check("last run", True, f"run {run['run_id']} {run['status'].replace('_', ' ')}"))
    return checks


def run_checks(project: Project, store: ProjectStore) -> list[Check]:
    checks: list[Check] = []
    steps: list[Callable[[], Check | list[Check]]] = [
        _engine, _compose, _daemon_proxy, lambda: _feed(project), lambda: _disk(project),
        lambda: _snapshots(project), lambda: _policy(project), lambda: _cron(project), lambda: _runs(store),
    ]
    for step in steps:
        found = step()
        checks.extend(found if isinstance(found, list) else [found])
    return checks
