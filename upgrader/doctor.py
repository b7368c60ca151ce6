"""``upgrader doctor``: every precondition of an unattended upgrade, checked and explained.

Each check gives one line (and one object of ``doctor --json``): ✓ when it passes; when it fails,
what was found and the fix, marked ✗ for an error or ``!`` for a warning. Only a failed error
fails doctor (exit 1, DESIGN §14); a warning is what an operator should know but an unattended
run survives: no scheduled run, what the installed release asks of the host, a feed nobody vouches
for (``upgrader.policy``).

One check that cannot run does not stop the others. The checks come in three lists, by what they
need: ``HOST_CHECKS`` the server root alone (Docker, Compose, the disk); ``CONFIG_CHECKS`` a valid
project.yaml, trusted as root (the feed, its token, snapshots, the release policy);
``PROJECT_CHECKS`` a chosen project but not its settings (cron, the lock, the last run). No project
yet, an invalid project.yaml or a file refused as root is a failed check of its own, and the lists
that need it are left out. A new check goes into the list of what it needs.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from upgrader import trust
from upgrader.errors import ConfigError, UpgraderError
from upgrader.project import Project, choose_name, load_project, project_names
from upgrader.store import ProjectStore

MIN_FREE = 2 << 30  # 2 GiB: room for a release's archive, its extraction and its images
SUDOERS_FIX = ("add this user to the 'docker' group (sudo usermod -aG docker $USER, then log in "
               "again) or run upgrader as root; see the README's 'Permissions'")
ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Check:
    """One finding: ``ok`` whether it passed; ``severity`` what a failure means (``"error"``
    fails doctor, ``"warning"`` does not); ``detail`` what was found; ``fix`` what to do about
    a failure (may be empty when ``detail`` says it)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    severity: str = ERROR

    def as_json(self) -> dict[str, Any]:
        """The check as ``doctor --json`` prints it: name, ok, severity, detail, fix."""
        return {"name": self.name, "ok": self.ok, "severity": self.severity, "detail": self.detail,
                "fix": self.fix}


def failed(checks: list[Check]) -> bool:
    """Whether a check of severity error failed: doctor's exit 1."""
    return any(not check.ok and check.severity == ERROR for check in checks)


def report(checks: list[Check]) -> dict[str, Any]:
    """``doctor --json``: ``{"ok": bool, "checks": [{name, ok, severity, detail, fix}]}``."""
    return {"ok": not failed(checks), "checks": [check.as_json() for check in checks]}


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
    from upgrader.runtime.process import token_variable

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
    checks.append(_feed_token(project))
    credentials = _feed_credentials(project)
    if credentials is not None:
        checks.append(credentials)
    try:
        # The token file's exposure is the check above, not a logged warning besides it.
        index = feed_for(project, warn=False).index()
    except UpgraderError as error:
        # A feed error that knows its fix says it; the others get the usual suspects.
        fix = getattr(error, "fix", "") or (f"check the feed URL, token_file or {token_variable(project.name)}, "
                                            "and the proxy")
        checks.append(Check("feed", False, getattr(error, "cause", str(error)), fix))
        return checks
    from upgrader.plan import parse_version

    versions = [entry["version"] for entry in index.releases]
    newest = max(versions, key=parse_version) if versions else "none"
    signed = ", signature verified" if project.config.get("public_key") else ""
    checks.append(Check("feed", True, f"{index.url}: {len(index.releases)} releases, newest {newest}{signed}"))
    return checks


def _feed_credentials(project: Project) -> Check | None:
    """The service-account key file of a gs:// feed (None without one): one that group or others
    can read fails, as a token file does."""
    from upgrader.feed import token_file_exposure
    from upgrader.project import feed_settings

    settings = feed_settings(project.config)
    if settings is None or not settings.credentials:
        return None
    path = project.dir / settings.credentials
    exposure = token_file_exposure(path)
    if exposure is not None:
        return Check("feed credentials", False, f"{path}: {exposure}", f"chmod 600 {shlex.quote(str(path))}")
    return Check("feed credentials", True, f"{path}" + ("" if path.is_file() else " (not found: see the feed check)"))


def _feed_token(project: Project) -> Check:
    """Where the feed token comes from; a token file that group or others can read fails."""
    from upgrader.feed import token_file_exposure
    from upgrader.runtime.process import environment_token, token_variable

    found = environment_token(project.name)
    if found is not None:
        return Check("feed token", True, f"from {found[0]}")
    name = project.config.get("token_file")
    if not name:
        return Check("feed token", True, f"none configured (token_file in project.yaml or "
                     f"{token_variable(project.name)} if the feed needs one)")
    path = project.dir / str(name)
    exposure = token_file_exposure(path)
    if exposure is not None:
        return Check("feed token", False, f"{path}: {exposure}", f"chmod 600 {shlex.quote(str(path))}")
    return Check("feed token", True, f"{path}" + ("" if path.is_file() else " (not found: see the feed check)"))


def _disk(root: Path) -> Check:
    free = shutil.disk_usage(root).free
    text = f"{free / (1 << 30):.1f} GiB free in {root}"
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

    checks = [Check("release policy", False, what, fix, severity=WARNING)
              for what, fix in policy.export_findings(project)]
    checks += [Check("feed security", False, what, fix, severity=WARNING)
               for what, fix in policy.feed_findings(project)]
    if not checks:
        refuse = project.config.get("refuse")
        said = f"refuse: [{', '.join(refuse)}]" if refuse is not None else "no refuse: in project.yaml"
        checks.append(Check("release policy", True, f"{said}; no warning about the installed release or the feed",
                            severity=WARNING))
    return checks


def _cron(project: Project, daemons: Callable[[], list[int] | None] | None = None) -> Check:
    """This project's cron lines and the cron daemon that would run them. No scheduled run is a
    warning (upgrades then run by hand); a scheduled run that no daemon will start is an error:
    the operator believes the server is kept up to date and it is not. ``daemons`` gives the
    running cron daemons' pids (``cron.daemon_pids``)."""
    from upgrader import cron

    running = (daemons or cron.daemon_pids)()
    no_daemon = " (and no cron daemon runs)" if running == [] else ""
    start = "start cron (systemctl enable --now cron)"
    if shutil.which("crontab") is None:
        return Check("cron", False, "the crontab command is not installed: no run is scheduled",
                     "apt-get install cron, then upgrader install", severity=WARNING)
    try:
        lines = cron.installed(project.root, project.name)
    except UpgraderError as error:
        return Check("cron", False, f"{error}: no run can be scheduled", "see the error; upgrader install "
                     "writes this user's crontab", severity=WARNING)
    schedule = next((line for line in lines if not line.startswith("@reboot")), None)
    if schedule is None:
        return Check("cron", False, f"no scheduled run in this user's crontab{no_daemon}: upgrades run only by hand",
                     "upgrader install" + (f", and {start}" if no_daemon else ""), severity=WARNING)
    expression = " ".join(schedule.split()[:5])
    try:
        upcoming = cron.validate_time(expression)[0].strftime("%Y-%m-%d %H:%M")
    except UpgraderError:
        upcoming = "unknown"
    if running == []:
        return Check("cron", False, f"'{expression}' is scheduled, but no cron daemon (cron or crond) runs: "
                     "the scheduled runs never start", start)
    daemon = "cron daemon not visible here" if running is None else f"cron daemon pid {running[0]}"
    if not any(line.startswith("@reboot") for line in lines):
        return Check("cron", False, f"'{expression}', next run {upcoming}; {daemon}; no @reboot resume line "
                     "(a run cut off by a power cut waits for the next scheduled one)", "upgrader install",
                     severity=WARNING)
    return Check("cron", True, f"'{expression}', next run {upcoming}; {daemon}")


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


def _withdrawn(store: ProjectStore) -> list[Check]:
    """A warning when the installed release is one its publisher withdrew (``yanked``), as the
    last index read said (feed.json); nothing when it is not, or nothing is installed."""
    from upgrader.decide import withdrawal, withdrawal_warning

    try:
        found = withdrawal(store)
    except UpgraderError as error:
        return [Check("installed release", False, str(error), "inspect the file; move it aside to start afresh")]
    if found is None:
        return []
    return [Check("installed release", False, withdrawal_warning(found), "upgrader run (or upgrader run --to VERSION)",
                  severity=WARNING)]


def _server(project: Project) -> list[Check]:
    """Whether the installed release serves now (DESIGN §14): the server, not the record."""
    from upgrader.commands import serving

    look = serving.look(project)
    if look.serving is None:
        return []  # nothing exported yet, or a workflow that drives a vendor's script
    if look.serving:
        return [Check("server", True, "serving: " + ", ".join(s.name for s in look.services or []))]
    return [Check("server", False, look.summary(), serving.fix(project))]


HostCheck = Callable[[Path], Check | list[Check]]
ProjectCheck = Callable[[Project, ProjectStore], Check | list[Check]]

HOST_CHECKS: list[HostCheck] = [
    lambda root: _engine(), lambda root: _compose(), lambda root: _daemon_proxy(), _disk,
]
CONFIG_CHECKS: list[ProjectCheck] = [
    lambda project, store: _feed(project), lambda project, store: _snapshots(project),
    lambda project, store: _policy(project),
]
PROJECT_CHECKS: list[ProjectCheck] = [
    lambda project, store: _cron(project), lambda project, store: _runs(store),
    lambda project, store: _withdrawn(store), lambda project, store: _server(project),
]


def _flat(found: Check | list[Check]) -> list[Check]:
    return found if isinstance(found, list) else [found]


def examine(root: Path, name: str | None) -> list[Check]:
    """Every check of the project named ``name`` (or the only one) under ``root``, in order.

    Raises ``UsageError`` for a name that is not one, or several projects and no name, as every
    command does; nothing for the project's own files: no project yet, an invalid project.yaml,
    or — as root — a file that may not be trusted is a failed check, and the checks that need
    what it would have given are left out (see the module's docstring)."""
    chosen = choose_name(root, name) if name is not None or project_names(root) else None
    checks = [check for host_check in HOST_CHECKS for check in _flat(host_check(root))]
    if chosen is None:
        # A host being prepared: what it already has is worth knowing before the first project.
        return [*checks, Check("project", False, f"no project under {root / 'projects'}",
                               "create projects/<name>/project.yaml")]
    project, usable = Project(root=root, name=chosen), False
    path = project.dir / "project.yaml"
    try:
        project, usable = load_project(root, chosen), True
        checks.append(Check("project.yaml", True, f"{path} is valid"))
    except ConfigError as error:
        checks.append(Check("project.yaml", False, str(error),
                            f"correct {path}; until then runs refuse, and doctor leaves out the feed, "
                            "snapshot and release policy checks"))
    try:
        trust.check_project(project)
    except ConfigError as error:
        # As root, a file someone else could have written may steer where the token goes.
        checks.append(Check("running as root", False, str(error)))
        usable = False
    store = ProjectStore(project.state_dir)
    chosen_checks = [*(CONFIG_CHECKS if usable else []), *PROJECT_CHECKS]
    return [*checks, *(check for project_check in chosen_checks for check in _flat(project_check(project, store)))]
