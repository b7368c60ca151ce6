"""Case 7, a realistic stack: PostgreSQL 15 (``db``, with a healthcheck), a one-shot ``migrate``
(a SQL migration once ``db`` is healthy), ``web`` (busybox httpd, once ``migrate`` completed) and
``worker``, upgraded 1.0.0 → 1.1.0 by upgrader's ``upgrade`` workflow with snapshots on (the
database's volume is snapshotted), against its floor: ``compose down && compose up -d --wait`` of
the same export. Downtime is polled on web's /version as in case 1, and Docker's own events say
where it goes (db start and health, migrate, web)."""

from __future__ import annotations

import hashlib
import io
import json
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.cases.downtime import BEFORE, NEW, OLD, Poller, by_hand_folder, compose_base
from benchmarks.common import (
    Bench,
    BenchError,
    CaseResult,
    Row,
    event_time,
    fresh,
    judge,
    last_run_journal,
    measure,
    steps_done,
    upgrader,
    write_project,
)

NAME = "bench-stack"
VOLUME = f"{NAME}_pgdata"
LIMIT = 1.0
ROWS = 100_000  # the rows 1.0.0's migration writes (generate_series below)

# 1.0.0 creates and fills the table; 1.1.0 adds a column and a table (both cheap in PostgreSQL 15:
# a column with a constant default is only a catalogue change). Each can run again (the floor
# starts 1.1.0's migrate a second time), as a migration job must.
MIGRATIONS = {
    OLD: """\
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL DEFAULT now());
INSERT INTO items (id, name) SELECT n, 'item ' || n FROM generate_series(1, 100000) AS n ON CONFLICT (id) DO NOTHING;
""",
    NEW: """\
ALTER TABLE items ADD COLUMN IF NOT EXISTS price numeric NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, item int NOT NULL REFERENCES items (id),
                                   placed timestamptz NOT NULL DEFAULT now());
""",
}


def pg() -> tuple[str, Callable[..., list[str]], str]:
    from tests.rig.postgres import BIN, server_command

    return BIN, server_command, "/config/pg_hba.conf"


def compose_yaml(version: str, pg_image: str, refs: dict[str, str]) -> str:
    bin_dir, server_command, hba = pg()
    health = {"interval": "1s", "timeout": "3s", "retries": 30}
    document = {
        "services": {
            "db": {
                "image": pg_image, "init": True, "user": "postgres", "stop_signal": "SIGINT",
                "command": server_command(hba),
                "volumes": ["pgdata:/var/lib/postgresql", "./config:/config:ro"],
                "healthcheck": {"test": ["CMD", f"{bin_dir}/pg_isready", "-q", "-h", "127.0.0.1"], **health},
            },
            "migrate": {
                "image": pg_image, "init": True,
                "depends_on": {"db": {"condition": "service_healthy"}},
                "command": [f"{bin_dir}/psql", "-X", "-q", "-h", "db", "-U", "postgres", "-d", "postgres",
                            "-v", "ON_ERROR_STOP=1", "-f", "/config/migrate.sql"],
                "environment": {"RELEASE": version},
                "volumes": ["./config:/config:ro"],
            },
            "web": {
                "image": refs["web"], "init": True,
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
                "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
                "ports": ["127.0.0.1:${HTTP_PORT}:8080"],
                "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/version"],
                                "interval": "1s", "timeout": "2s", "retries": 3},
            },
            "worker": {
                "image": refs["worker"], "init": True,
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
                "command": ["sh", "-c", "exec sleep 2147483647"],
            },
        },
        "volumes": {"pgdata": {}},
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000)


def release_archive(path: Path, version: str, pg_image: str, refs: dict[str, str]) -> dict[str, object]:
    from tests.rig.stacks import PG_HBA

    files = {
        "release.json": json.dumps({"product": "acme-server", "version": version,
                                    "images": sorted({pg_image, *refs.values()})}),
        "compose.yaml": compose_yaml(version, pg_image, refs),
        "defaults.env": "HTTP_PORT=18080\n",
        "config/pg_hba.conf": PG_HBA,
        "config/migrate.sql": MIGRATIONS[version],
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    data = path.read_bytes()
    return {"version": version, "archive": path.name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def pg_image(bench: Bench, registry: str) -> str:
    """The test rig's PostgreSQL 15 image (imported from its cached root file system, built the
    first time), under the bench's own name, pushed to the bench's registry."""
    from tests.rig import push
    from tests.rig.postgres import import_image

    reference = f"{registry}/bench/pg:15"
    if reference not in bench.images:
        bench.images.add(reference)  # removed locally when the suite ends
        try:
            import_image(reference)
            push(reference)
        except (subprocess.CalledProcessError, RuntimeError) as error:
            raise BenchError(f"the PostgreSQL image {reference}: {error}") from None
    return reference


def cleanup() -> None:
    from tests.rig import remove_project

    from benchmarks.common import run as command

    remove_project(NAME)
    command(["docker", "volume", "rm", "-f", VOLUME], check=False)


# -- where the downtime goes: Docker's events ----------------------------------------------------------

def docker_events(since: float, until: float) -> list[dict[str, Any]]:
    """The project's container events between two wall-clock times, oldest first."""
    from benchmarks.common import run as command

    found = command(["docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}",
                     "--filter", "type=container", "--filter", f"label=com.docker.compose.project={NAME}",
                     "--format", "{{json .}}"], what="docker events")
    events = []
    for line in found.stdout.splitlines():
        if line.strip():
            event = json.loads(line)
            events.append({"time": event["timeNano"] / 1e9, "status": event.get("status") or event.get("Action"),
                           "service": event["Actor"]["Attributes"].get("com.docker.compose.service", "")})
    return sorted(events, key=lambda event: event["time"])


def _first(events: list[dict[str, Any]], service: str, status: str, after: float) -> float | None:
    for event in events:
        if event["service"] == service and event["status"] == status and event["time"] >= after:
            return float(event["time"])
    return None


# The phases of the downtime, in order: (name, what it is). Each is measured from the end of the one
# before; the first starts at the first failed poll, the last ends at the first answer of 1.1.0.
PHASES = (
    ("down", "from the first failed poll until the new db's container starts: the old stack stopping, "
             "and whatever runs before the start"),
    ("db health", "db started → db healthy (Docker's first healthcheck runs one `interval`, 1 s, after the start)"),
    ("migrate", "db healthy → migrate exited 0 (its container created and started, the migration run)"),
    ("web start", "migrate exited → web's container started"),
    ("web answers", "web's container started → its first answer to the poller"),
)


def phases(span: tuple[float, float], events: list[dict[str, Any]]) -> dict[str, float] | None:
    """The downtime ``span`` (first failed poll, first good one) cut into PHASES, from the events."""
    failed, answered = span
    db_started = _first(events, "db", "start", failed - 5)
    if db_started is None or db_started < failed - 5:
        return None
    db_healthy = _first(events, "db", "health_status: healthy", db_started)
    migrated = _first(events, "migrate", "die", db_healthy or db_started)
    web_started = _first(events, "web", "start", migrated or db_started)
    if None in (db_healthy, migrated, web_started):
        return None
    assert db_healthy is not None and migrated is not None and web_started is not None
    cuts = [failed, db_started, db_healthy, migrated, web_started, answered]
    return {name: later - earlier for (name, _), earlier, later in zip(PHASES, cuts[:-1], cuts[1:], strict=True)}


# -- the measurements -----------------------------------------------------------------------------------

@dataclass
class Samples:
    outages: dict[str, list[float]] = field(default_factory=lambda: {"floor": [], "upgrade": [], "inplace": []})
    runs: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    phases: dict[str, dict[str, list[float]]] = field(default_factory=lambda: {"floor": {}, "upgrade": {}})
    floor_commands: dict[str, list[float]] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)
    migrate: dict[str, list[float]] = field(default_factory=lambda: {"floor": [], "upgrade": [], "inplace": []})
    inplace_up: list[float] = field(default_factory=list)
    inplace_cut: dict[str, list[float]] = field(default_factory=dict)
    db_restarted: list[bool] = field(default_factory=list)
    migrated_first: list[bool] = field(default_factory=list)
    uncut: dict[str, int] = field(default_factory=dict)  # runs without db → migrate → web in their events

    def timeline(self, variant: str, span: tuple[float, float], since: float) -> None:
        """Cut the downtime into PHASES; a run whose events do not show db, migrate and web starting
        in that order (a workflow that keeps db running) is counted in ``uncut`` instead."""
        cut = phases(span, docker_events(since, time.time()))
        if cut is None:
            self.uncut[variant] = self.uncut.get(variant, 0) + 1
            return
        for name, seconds in cut.items():
            self.phases[variant].setdefault(name, []).append(seconds)


def migrate_seconds() -> float:
    """How long the last migrate container ran (its StartedAt → FinishedAt)."""
    from benchmarks.common import parse_ts
    from benchmarks.common import run as command

    found = command(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={NAME}",
                     "--filter", "label=com.docker.compose.service=migrate"], what="docker ps").stdout.split()
    if not found:
        return float("nan")
    state = json.loads(command(["docker", "inspect", "-f", "{{json .State}}", found[0]]).stdout)
    if state.get("ExitCode") != 0:
        raise BenchError(f"migrate exited {state.get('ExitCode')}")

    def stamp(text: str) -> float:
        head, _, tail = text.partition(".")
        return parse_ts(head + "." + tail.rstrip("Z")[:6] + "+00:00") if tail else parse_ts(text)

    return stamp(state["FinishedAt"]) - stamp(state["StartedAt"])


def upgrade(root: Path, settings: dict[str, object], port: int, samples: Samples) -> None:
    write_project(root, NAME, {**settings, "snapshot": {"enabled": True, "method": "auto"}})
    since = time.time()
    with Poller(port) as poller:
        sample = upgrader(root, NAME, "run", "--cron").check("upgrader run (upgrade, snapshot on)")
        poller.settle(NEW)
    span = poller.span()
    samples.outages["upgrade"].append(span[1] - span[0])
    samples.runs.append(sample.wall)
    events = last_run_journal(root, NAME)
    copies = [event["detail"] for event in events if event["event"] == "snapshot_copy"]
    if not any(isinstance(detail, dict) and detail.get("name") == VOLUME for detail in copies):
        raise BenchError(f"snapshots on, yet the upgrade's journal says it copied {copies or 'nothing'}")
    samples.methods.update(str(detail.get("method")) for detail in copies if isinstance(detail, dict))
    for step, seconds in steps_done(events, skip=BEFORE).items():
        samples.steps.setdefault(step, []).append(seconds)
    stopped, started = event_time(events, "step_started", "stop"), event_time(events, "step_done", "start")
    if stopped is not None and started is not None:
        samples.steps.setdefault("stop → start", []).append(started - stopped)
    samples.timeline("upgrade", span, since)
    samples.migrate["upgrade"].append(migrate_seconds())


def floor(compose: list[str], export: Path, port: int, samples: Samples) -> None:
    base = compose_base(compose, export, NAME)
    since = time.time()
    with Poller(port) as poller:
        down = measure([*base, "down"]).check("compose down (floor)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (floor)")
        poller.settle(NEW)
    span = poller.span()
    samples.outages["floor"].append(span[1] - span[0])
    samples.floor_commands.setdefault("down", []).append(down.wall)
    samples.floor_commands.setdefault("up", []).append(up.wall)
    samples.timeline("floor", span, since)
    samples.migrate["floor"].append(migrate_seconds())


def in_place(compose: list[str], folder: Path, port: int, samples: Samples) -> None:
    """By hand, in place: pull while 1.0.0 serves, then ``up -d --wait`` of 1.1.0 (installed by hand,
    so without upgrader's labels: Compose leaves the unchanged db running)."""
    base = compose_base(compose, folder, NAME)
    since = time.time()
    with Poller(port) as poller:
        measure([*base, "pull", "--quiet"]).check("compose pull (in place)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (in place)")
        poller.settle(NEW)
    span = poller.span()
    samples.outages["inplace"].append(span[1] - span[0])
    samples.inplace_up.append(up.wall)
    events = docker_events(since, time.time())
    samples.db_restarted.append(any(event["service"] == "db" and event["status"] == "start" for event in events))
    web_stopped = _first(events, "web", "kill", since) or _first(events, "web", "die", since)
    migrated = _first(events, "migrate", "die", since)
    if web_stopped is not None and migrated is not None:
        samples.migrated_first.append(migrated <= web_stopped)
    web_started = _first(events, "web", "start", span[0] - 5)
    if web_started is not None:
        samples.inplace_cut.setdefault("web stopping → started", []).append(web_started - span[0])
        samples.inplace_cut.setdefault("web answers", []).append(span[1] - web_started)
    samples.migrate["inplace"].append(migrate_seconds())


def run(bench: Bench) -> CaseResult:
    from tests.rig import free_port, local_image, remove_local_images, write_index

    result = CaseResult("stack", "Downtime of an upgrade of a realistic stack: PostgreSQL, a migration, web, worker")
    registry = bench.registry()
    compose = bench.compose()
    port = free_port()
    bench.projects.add(NAME)
    bench.log("  the PostgreSQL image (imported from the test rig's cached root file system) and 4 busybox images")
    pg_ref = pg_image(bench, registry)
    refs = {version: {service: f"{registry}/bench/stack-{service}:{version}" for service in ("web", "worker")}
            for version in (OLD, NEW)}
    for version in (OLD, NEW):
        bench.publish(refs[version], version, 0)
    case_dir = fresh(bench.work / "stack")
    feed = fresh(case_dir / "feed")
    write_index(feed, [release_archive(feed / f"acme-server-{version}.tar.gz", version, pg_ref, refs[version])
                       for version in (OLD, NEW)])
    new_refs = sorted(refs[NEW].values())  # the database's image is the same in both releases
    # By hand, the person unpacks each release into the same folder (a bind mount's source, ./config,
    # stays the same path, so Compose sees db unchanged).
    by_hand = case_dir / "by-hand"
    samples = Samples()
    volume_sizes = []
    for repetition in range(bench.reps(4, 2)):
        order = ("upgrade", "inplace") if repetition % 2 == 0 else ("inplace", "upgrade")
        bench.log(f"  repetition {repetition + 1} ({', '.join(order)})")
        try:
            for variant in order:
                cleanup()
                if variant == "upgrade":
                    root = fresh(case_dir / f"root-{repetition}")
                    settings: dict[str, object] = {
                        "feed": feed.as_uri() + "/", "workflow": "upgrade", "health_timeout": 180,
                        "values": {"HTTP_PORT": str(port)}, "snapshot": {"enabled": False}}
                    write_project(root, NAME, settings)
                    upgrader(root, NAME, "run", "--to", OLD, "--cron").check(f"installing {OLD}")
                else:
                    by_hand_folder(feed / f"acme-server-{OLD}.tar.gz", by_hand, port)
                    measure([*compose_base(compose, by_hand, NAME), "up", "-d", "--wait"]).check(
                        f"compose up -d --wait of {OLD} (installing by hand)")
                volume_sizes.append(volume_size())
                remove_local_images(new_refs)
                present = [reference for reference in new_refs if local_image(reference)]
                if present:
                    raise BenchError(f"{present} still present before the upgrade")
                if variant == "upgrade":
                    upgrade(root, settings, port, samples)
                    floor(compose, root / "projects" / NAME / "export", port, samples)
                else:
                    by_hand_folder(feed / f"acme-server-{NEW}.tar.gz", by_hand, port)
                    in_place(compose, by_hand, port, samples)
                    floor(compose, by_hand, port, samples)
        finally:
            cleanup()
    result.rows = rows(samples)
    result.extra.append(breakdown(samples))
    result.method = method(statistics.median(volume_sizes))
    return result


def volume_size() -> float:
    """The database volume's size in MB (``du`` of its mountpoint)."""
    from benchmarks.common import run as command

    mountpoint = command(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", VOLUME]).stdout.strip()
    return int(command(["du", "-sb", mountpoint]).stdout.split()[0]) / 1e6


# -- the report -------------------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rows(samples: Samples) -> list[Row]:
    base = Row("realistic stack: floor, `compose down && compose up -d --wait`", "s", samples.outages["floor"],
               note=f"1.1.0's export, every image present; {timeline_note(samples, 'floor')}")
    upgrade_row = Row("realistic stack: `upgrade` workflow, snapshot on", "s", samples.outages["upgrade"],
                      ratio_to="× floor", target=f"≤ {LIMIT:.2f} × floor", key="stack.upgrade",
                      note=f"{timeline_note(samples, 'upgrade')}; whole run median {median(samples.runs):.1f} s; "
                           f"snapshot method {', '.join(sorted(samples.methods))}")
    judge(upgrade_row, upgrade_row.median / base.median, LIMIT)
    upgrade_row.bounds = bounds(samples, upgrade_row.median, base.median)
    cut = samples.inplace_cut
    restarted = sum(samples.db_restarted)
    inplace = Row("realistic stack: by hand, in place: `compose pull`, then `compose up -d --wait` of 1.1.0", "s",
                  samples.outages["inplace"], ratio_to="× floor",
                  note=f"`up -d --wait` {median(samples.inplace_up):.2f} s; down for web stopping → started "
                       f"{median(cut.get('web stopping → started', [])):.2f} + web answers "
                       f"{median(cut.get('web answers', [])):.2f} s (medians); db restarted in {restarted} of "
                       f"{len(samples.db_restarted)}; migrate done before the old web stopped in "
                       f"{sum(samples.migrated_first)} of {len(samples.migrated_first)}; no snapshot; for comparison")
    inplace.ratio = inplace.median / base.median
    return [base, upgrade_row, inplace]


def timeline_note(samples: Samples, variant: str) -> str:
    cut = samples.phases[variant]
    uncut = samples.uncut.get(variant, 0)
    text = ("down for " + " + ".join(f"{name} {median(cut[name]):.2f}" for name, _ in PHASES if name in cut)
            + " s (medians)") if cut else "no phases"
    return text + (f"; {uncut} run(s) did not restart db, migrate and web in that order (not in the phases)"
                   if uncut else "")


def bounds(samples: Samples, upgrade: float, base: float) -> str:
    up, floor_cut = samples.phases["upgrade"], samples.phases["floor"]
    if not up or not floor_cut:
        return (f"upgrader was down {upgrade:.2f} s, the floor {base:.2f} s (medians); Docker's events did not "
                "show db, migrate and web starting in that order in every run, so the downtime is not cut into "
                "phases (see the rows' notes).")
    differences = sorted(((median(up[name]) - median(floor_cut[name]), name) for name, _ in PHASES), reverse=True)
    largest = ", ".join(f"{name} {difference:+.2f} s" for difference, name in differences if abs(difference) >= 0.05)
    steps = samples.steps
    parts = " + ".join(f"{step} {median(steps[step]):.2f}" for step in ("stop", "snapshot", "export", "pull",
                                                                          "start") if step in steps)
    return (
        f"upgrader was down {upgrade:.2f} s, the floor {base:.2f} s (medians). Phase by phase (the table below the "
        f"case's rows; upgrader − floor): {largest or 'no phase differs by 50 ms or more'}. In upgrader's journal "
        f"the window from `stop` to `start` is {median(steps.get('stop → start', [])):.2f} s ({parts} s); in both, "
        "once the old stack is down, the database must start and pass its first healthcheck before the migration "
        "may run, and only then can web start: that chain (db health + migrate + web start + web answers) is "
        f"{sum(median(up[name]) for name, _ in PHASES[1:]):.2f} s of upgrader's downtime. With snapshots on, the "
        "database must be stopped for the snapshot's second pass, so upgrader pays that chain as the floor does; "
        "it can only be shorter than the floor in the first phase (how fast the old stack is stopped and the "
        "new one started). The in-place recreate by hand (the last row, no snapshot) shows what the database's "
        f"restart costs: it was down {median(samples.outages['inplace']):.2f} s; Compose left the unchanged db "
        f"running (restarted in {sum(samples.db_restarted)} of {len(samples.db_restarted)} runs) and "
        f"{migration_order(samples)}"
        ". A database that keeps running cannot be snapshotted consistently by copying its volume, so with "
        "snapshots on upgrader pays the restart."
    )


def migration_order(samples: Samples) -> str:
    runs, first = len(samples.migrated_first), sum(samples.migrated_first)
    if runs and first == runs:
        return "ran the migration while the old web still served"
    return f"stopped the old web before it ran the migration (in {runs - first} of {runs} runs)"


def breakdown(samples: Samples) -> str:
    lines = [
        "Where the downtime goes, from Docker's own events (`docker events` of the project: each container's "
        "start and exit, db's `health_status: healthy`) and the poller: the median seconds of each phase, "
        "each from the end of the one before.",
        "",
        "| run | " + " | ".join(name for name, _ in PHASES) + " | total (median downtime) |",
        "|---|" + "---:|" * (len(PHASES) + 1),
    ]
    for variant, label in (("upgrade", "`upgrade`, snapshot on"), ("floor", "floor")):
        cut = samples.phases[variant]
        lines.append(f"| {label} | " + " | ".join(f"{median(cut[name]):.3f}" if cut.get(name) else "—"
                                                for name, _ in PHASES)
                     + f" | {median(samples.outages[variant]):.3f} |")
    lines += ["", "The phases: " + "; ".join(f"*{name}*: {what}" for name, what in PHASES) + ". The migration "
              f"container itself ran {median(samples.migrate['upgrade']):.2f} s in the upgrade and "
              f"{median(samples.migrate['inplace']):.2f} s in the in-place recreate (1.1.0's migration, applied), "
              f"{median(samples.migrate['floor']):.2f} s in the floor (the same migration again, with nothing "
              "left to do) (medians, from its StartedAt and FinishedAt): the *migrate* phase is mostly Compose "
              "noticing that db is healthy and creating and starting the container, and *web start* mostly "
              "Compose noticing that migrate has exited."]
    steps = [step for step in samples.steps if step != "stop → start"]
    lines += ["", "upgrader's steps (median seconds, from its journals; the server is down from `stop` to `start`, "
              "`health` overlaps the first answers) and the floor's two Compose commands:", "",
              "| run | " + " | ".join(steps) + " | stop → start |", "|---|" + "---:|" * (len(steps) + 1),
              "| `upgrade`, snapshot on | " + " | ".join(f"{median(samples.steps[step]):.3f}" for step in steps)
              + f" | {median(samples.steps.get('stop → start', [])):.3f} |",
              f"| floor | `compose down` {median(samples.floor_commands['down']):.3f}, `compose up -d --wait` "
              f"{median(samples.floor_commands['up']):.3f} |" + " |" * len(steps)]
    return "\n".join(lines)


def method(megabytes: float) -> str:
    return (
        "The stack: `db`, Debian's PostgreSQL 15 (the test rig's image, `tests/rig/postgres.py`: a root file "
        "system made by debootstrap from the machine's Debian mirror, imported with `docker import`; pushed to "
        "the bench's registry), its data in the named volume `pgdata`, `stop_signal: SIGINT` (a fast shutdown), "
        "a healthcheck `pg_isready` every 1 s; `migrate`, one-shot, the same image, `depends_on: db: "
        "service_healthy`, runs its release's SQL with psql and exits 0 (1.0.0 creates `items` and writes "
        f"{ROWS:,} rows; 1.1.0 adds a column with a default and a table `orders`; both can run again); `web`, "
        "busybox httpd serving /version on 127.0.0.1:PORT with a healthcheck every 1 s, `depends_on: migrate: "
        "service_completed_successfully`; `worker`, busybox, the same dependency. web's and worker's images "
        "change from 1.0.0 to 1.1.0; db's and migrate's image does not. Each repetition: the last stack and its "
        "volume removed, a fresh server root installs 1.0.0 as Compose project `bench-stack` (`upgrader run "
        f"--to 1.0.0`, snapshots off, not timed; the database's volume then holds {megabytes:.0f} MB, median), "
        "1.1.0's web and worker images are removed locally (checked absent), project.yaml sets `snapshot: "
        "{enabled: true, method: auto}`, and `upgrader run --cron` upgrades with the `upgrade` workflow (the "
        "journal confirms the volume's copy) while case 1's poller asks web for /version every 50 ms; then the "
        "floor on the same stack: `compose down` then `compose up -d --wait` of upgrader's 1.1.0 export "
        "(compose.yaml only), polled the same way. For comparison, in each repetition too (alternating which "
        "goes first), the in-place recreate by hand: 1.0.0 installed by hand (`compose -p bench-stack up -d "
        "--wait` in a folder holding 1.0.0's package unpacked and a `.env`, so without upgrader's labels), "
        "1.1.0's images removed, 1.1.0's package unpacked in place of 1.0.0's in the same folder, then "
        "`compose pull` and `compose up -d --wait` there (Compose recreates what changed), polled the same way, "
        "and the floor after it on its stack. Downtime is the longest run of failed polls. The judged ratio is of "
        "the medians."
    )
