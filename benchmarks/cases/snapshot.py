"""Case 6, snapshot: the downtime of an upgrade 1.0.0 → 1.1.0 with data snapshots on (the
``upgrade`` workflow: ``warm`` before ``stop``, the second pass after it) over a named volume of
1,000 files of 1 MiB of which the old release keeps rewriting 1 %, against the floor (``compose
down && compose up -d --wait``) on the same stack and data; for comparison, the same upgrade with
snapshots off, and stop + a full copy of the volume + start (what docker-volume-backup does); the
throughput of ``tree.sync`` against ``cp -a``; and where the upgrade's time goes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks.cases.downtime import NEW, OLD, Poller
from benchmarks.common import (
    Bench,
    BenchError,
    CaseResult,
    MiB,
    Row,
    fresh,
    judge,
    last_run_journal,
    measure,
    parse_ts,
    step_seconds,
    upgrader,
    write_project,
)
from benchmarks.common import run as command

NAME = "bench-snap"
VOLUME = f"{NAME}_data"
FILE_SIZE = MiB
REWRITE_EVERY = 0.3  # seconds between two rewrites by the old release's worker
LIMIT = 1.10
STEPS = ("prefetch", "warm", "stop", "snapshot", "export", "pull", "start", "health")
DOWN_STEPS = ("stop", "snapshot", "export", "pull", "start")  # the server is down from stop to start
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
# The worker of 1.0.0: rewrites its arguments in place, one every REWRITE_EVERY seconds, round robin.
# ("$$": Compose's escape for "$".)
REWRITER = ('while :; do for f in "$$@"; do dd if=/dev/urandom of="$$f" bs=1048576 count=1 conv=notrunc '
            f'2>/dev/null; sleep {REWRITE_EVERY}; done; done')


@dataclass(frozen=True)
class Data:
    """The volume's content: ``files`` files of 1 MiB in ``folders`` folders, ``changing`` of them
    rewritten while the old release serves."""

    files: int
    folders: int

    @property
    def changing(self) -> int:
        return max(1, round(self.files / 100))

    @property
    def label(self) -> str:
        megabytes = self.files * FILE_SIZE / MiB
        size = f"≈{megabytes / 1024:.0f} GiB" if megabytes >= 1000 else f"{megabytes:.0f} MiB"
        return f"{size} ({self.files:,} files of 1 MiB)"

    def path(self, index: int) -> str:
        per_folder = -(-self.files // self.folders)
        return f"d{index // per_folder:02d}/f{index:04d}.bin"

    def paths(self) -> list[str]:
        return [self.path(index) for index in range(self.files)]

    def rewritten(self) -> list[str]:
        """The files the old worker rewrites: spread over the folders."""
        return [self.path(index * self.files // self.changing) for index in range(self.changing)]


def data_of(bench: Bench) -> Data:
    return Data(256, 4) if bench.quick else Data(1000, 10)


# -- the release ----------------------------------------------------------------------------------

def compose_yaml(refs: dict[str, str], rewritten: list[str]) -> str:
    worker = (["sh", "-c", REWRITER, "rewriter", *[f"/data/{path}" for path in rewritten]] if rewritten
              else ["sh", "-c", "exec sleep 2147483647"])
    document = {
        "services": {
            "web": {
                "image": refs["web"], "init": True, "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
                "ports": ["127.0.0.1:${HTTP_PORT}:8080"],
                "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/version"],
                                "interval": "1s", "timeout": "2s", "retries": 3},
            },
            "worker": {"image": refs["worker"], "init": True, "command": worker, "volumes": ["data:/data"]},
        },
        "volumes": {"data": {}},
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000)


def release_archive(path: Path, version: str, refs: dict[str, str], rewritten: list[str]) -> dict[str, object]:
    files = {
        "release.json": json.dumps({"product": "acme-server", "version": version, "images": sorted(refs.values())}),
        "compose.yaml": compose_yaml(refs, rewritten),
        "defaults.env": "HTTP_PORT=18080\n",
        "config/app.conf": f"version={version}\n",
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


# -- the data ---------------------------------------------------------------------------------------

def create_volume(data: Data) -> Path:
    """The volume ``data`` of the Compose project (Compose's labels, so that Compose adopts it and
    upgrader snapshots it), filled with random files directly in its mountpoint; its mountpoint."""
    command(["docker", "volume", "create", "--label", f"com.docker.compose.project={NAME}",
         "--label", "com.docker.compose.volume=data", VOLUME], what="docker volume create")
    mountpoint = Path(command(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", VOLUME]).stdout.strip())
    for path in data.paths():
        target = mountpoint / path
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(os.urandom(FILE_SIZE))
    return mountpoint


def drop_caches() -> bool:
    """Write back what is dirty and drop the page cache; False when this machine does not let us."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
    except OSError:
        return False
    return True


def remove(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


def cleanup() -> None:
    from tests.rig import remove_project

    remove_project(NAME)


# -- measurements ---------------------------------------------------------------------------------

MODES = ("on", "off")  # the upgrade with snapshots on (judged), and off (for comparison)
COPIES = ("sync", "cp", "sync-warm", "cp-warm")  # the throughput measurements


@dataclass
class Samples:
    outages: dict[str, list[float]] = field(default_factory=lambda: {"floor": [], "on": [], "off": [], "copy": []})
    runs: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})
    steps: dict[str, dict[str, list[float]]] = field(default_factory=lambda: {mode: {} for mode in MODES})
    # From the journal: stop's step_started to start's step_done, and what of it no step accounts for.
    window: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})
    between: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})
    floor_steps: dict[str, list[float]] = field(default_factory=dict)
    copy_steps: dict[str, list[float]] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)
    throughput: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in COPIES})
    cpu: dict[str, list[tuple[float, float, float]]] = field(default_factory=lambda: {key: [] for key in COPIES})
    flush: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in COPIES})
    second: list[float] = field(default_factory=list)
    second_copied: list[int] = field(default_factory=list)
    cold: list[bool] = field(default_factory=list)


def compose_base(compose: list[str], export: Path) -> list[str]:
    return [*compose, "-p", NAME, "--project-directory", str(export), "-f", str(export / "compose.yaml")]


def _event_time(events: list[dict[str, Any]], kind: str, step: str) -> float:
    return parse_ts(next(event for event in events if event["event"] == kind and event["step"] == step)["ts"])


def upgrade(root: Path, port: int, mode: str, samples: Samples) -> None:
    """One ``upgrader run --cron`` 1.0.0 → 1.1.0 (installed in ``root``), polled; its downtime and its steps."""
    with Poller(port) as poller:
        sample = upgrader(root, NAME, "run", "--cron").check(f"upgrader run (snapshot {mode})")
        poller.settle(NEW)
    samples.outages[mode].append(poller.outage())
    samples.runs[mode].append(sample.wall)
    events = last_run_journal(root, NAME)
    copies = [event["detail"] for event in events if event["event"] == "snapshot_copy"]
    copied = any(isinstance(detail, dict) and detail.get("name") == VOLUME for detail in copies)
    if copied != (mode == "on"):
        raise BenchError(f"snapshot {mode}, yet the upgrade's journal says it copied {copies or 'nothing'}")
    if mode == "on":
        samples.methods.update(str(detail.get("method")) for detail in copies if isinstance(detail, dict))
    for step in STEPS:
        if any(event["event"] == "step_done" and event["step"] == step for event in events):
            samples.steps[mode].setdefault(step, []).append(step_seconds(events, step))
    window = _event_time(events, "step_done", "start") - _event_time(events, "step_started", "stop")
    samples.window[mode].append(window)
    samples.between[mode].append(window - sum(step_seconds(events, step) for step in DOWN_STEPS))


def install(root: Path, feed: Path, port: int, mode: str, new_refs: list[str]) -> None:
    """A fresh server root with 1.0.0 installed (no snapshot), then set for the upgrade: snapshots
    ``mode``, 1.1.0's images absent, the page cache dropped."""
    from tests.rig import local_image, remove_local_images

    settings: dict[str, Any] = {"feed": feed.as_uri() + "/", "workflow": "upgrade", "health_timeout": 120,
                                "values": {"HTTP_PORT": str(port)}, "snapshot": {"enabled": False}}
    write_project(root, NAME, settings)
    upgrader(root, NAME, "run", "--to", OLD, "--cron").check(f"installing {OLD}")
    settings["snapshot"] = {"enabled": mode == "on", "method": "auto"}
    write_project(root, NAME, settings)
    remove_local_images(new_refs)
    present = [reference for reference in new_refs if local_image(reference)]
    if present:
        raise BenchError(f"{present} still present before the upgrade")


def floor(base: list[str], port: int, samples: Samples) -> None:
    with Poller(port) as poller:
        down = measure([*base, "down"]).check("compose down (floor)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (floor)")
        poller.settle(NEW)
    samples.outages["floor"].append(poller.outage())
    samples.floor_steps.setdefault("down", []).append(down.wall)
    samples.floor_steps.setdefault("up", []).append(up.wall)


def full_copy(base: list[str], port: int, mountpoint: Path, dest: Path, samples: Samples) -> None:
    """docker-volume-backup's way: stop, copy the whole volume, start."""
    samples.cold.append(drop_caches())
    with Poller(port) as poller:
        down = measure([*base, "down"]).check("compose down (full copy)")
        copy = measure(["cp", "-a", mountpoint, dest]).check("cp -a (full copy)")
        started = time.perf_counter()
        os.sync()
        synced = time.perf_counter() - started
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (full copy)")
        poller.settle(NEW)
    samples.outages["copy"].append(poller.outage())
    for name, seconds in (("down", down.wall), ("cp", copy.wall), ("sync", synced), ("up", up.wall)):
        samples.copy_steps.setdefault(name, []).append(seconds)
    remove(dest)


def _timed(which: str, source: Path, dest: Path) -> tuple[float, float, float, Any]:
    """(wall, user, sys) of one copy of ``source`` to ``dest`` (which must not exist), and tree.sync's listing."""
    from upgrader.snapshot import tree

    who = resource.RUSAGE_SELF if which == "sync" else resource.RUSAGE_CHILDREN
    before = resource.getrusage(who)
    started = time.perf_counter()
    listing = None
    if which == "sync":
        listing = tree.sync(source, dest)
    else:
        command(["cp", "-a", source, dest], what="cp -a (throughput)")
    wall = time.perf_counter() - started
    after = resource.getrusage(who)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime, listing


def throughput(source: Path, folder: Path, data: Data, repetition: int, samples: Samples) -> None:
    """The first pass (tree.sync into an empty folder) and cp -a of the same tree, cold (after a drop
    of the page cache), then each once more warm (no drop), alternating which goes first; then the
    second pass after changing ``data.changing`` files."""
    from upgrader.snapshot import tree

    megabytes = data.files * FILE_SIZE / MiB
    order = ["sync", "cp"] if repetition % 2 == 0 else ["cp", "sync"]
    listing = None
    for which in order:
        dest = folder / f"{which}-copy"
        cold = drop_caches()
        samples.cold.append(cold)
        # Without a drop, the first run only warms the cache: the second is kept, as the main figure.
        for kind in (which, f"{which}-warm") if cold else (None, which):
            remove(dest)
            os.sync()
            wall, user, system, made = _timed(which, source, dest)
            started = time.perf_counter()
            os.sync()
            flushed = time.perf_counter() - started
            if kind is not None:
                samples.throughput[kind].append(megabytes / wall)
                samples.cpu[kind].append((wall, user, system))
                samples.flush[kind].append(flushed)
        if which == "sync":
            listing = made
        else:
            remove(dest)
    assert listing is not None
    for path in data.rewritten():
        with open(source / path, "r+b") as stream:
            stream.write(os.urandom(FILE_SIZE))
    started = time.perf_counter()
    second = tree.sync(source, folder / "sync-copy", listing)
    samples.second.append(time.perf_counter() - started)
    samples.second_copied.append(sum(1 for path, entry in second.items()
                                     if entry.type == "file" and entry.sha256 != listing[path].sha256))
    remove(folder / "sync-copy")


def hash_speed() -> float:
    """sha256 (hashlib, OpenSSL) of 256 MiB in memory, MiB/s: what hashing alone would allow."""
    block = os.urandom(16 * MiB)
    hasher = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(16):
        hasher.update(block)
    return 256 / (time.perf_counter() - started)


# -- the case ---------------------------------------------------------------------------------------

def run(bench: Bench) -> CaseResult:
    from tests.rig import free_port, write_index

    if os.geteuid() != 0:
        raise BenchError("the snapshot case writes into a volume's mountpoint and drops the page cache: run as root")
    data = data_of(bench)
    result = CaseResult("snapshot", f"Downtime of an upgrade with a data snapshot: {data.label} in a volume")
    registry = bench.registry()
    compose = bench.compose()
    port = free_port()
    bench.projects.add(NAME)
    refs = {version: {service: f"{registry}/bench/snap-{service}:{version}" for service in ("web", "worker")}
            for version in (OLD, NEW)}
    bench.log("  building and pushing 4 images")
    for version in (OLD, NEW):
        bench.publish(refs[version], version, 0)
    case_dir = fresh(bench.work / "snapshot")
    feed = fresh(case_dir / "feed")
    write_index(feed, [release_archive(feed / f"acme-server-{OLD}.tar.gz", OLD, refs[OLD], data.rewritten()),
                       release_archive(feed / f"acme-server-{NEW}.tar.gz", NEW, refs[NEW], [])])
    new_refs = sorted(refs[NEW].values())
    samples = Samples()
    for repetition in range(bench.reps(5, 2)):
        bench.log(f"  repetition {repetition + 1}")
        folder = fresh(case_dir / f"rep{repetition}")
        cleanup()
        try:
            mountpoint = create_volume(data)
            order = MODES if repetition % 2 == 0 else MODES[::-1]
            for mode in order:
                root = folder / f"root-{mode}"
                if mode != order[0]:  # the first upgrade's 1.1.0 stops; the volume stays
                    measure([*compose_base(compose, folder / f"root-{order[0]}" / "projects" / NAME / "export"),
                             "down"]).check("compose down (between the two upgrades)")
                install(root, feed, port, mode, new_refs)
                samples.cold.append(drop_caches())
                upgrade(root, port, mode, samples)
            base = compose_base(compose, root / "projects" / NAME / "export")
            floor(base, port, samples)
            full_copy(base, port, mountpoint, folder / "backup", samples)
            throughput(mountpoint, folder, data, repetition, samples)
        finally:
            cleanup()
            remove(folder)
    result.rows = rows(data, samples)
    result.extra.append(breakdown(data, samples))
    result.extra.append(bounds(data, samples))
    result.method = method(data, samples)
    return result



# -- the report -------------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cpu(samples: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return (_median([wall for wall, _, _ in samples]), _median([user for _, user, _ in samples]),
            _median([system for _, _, system in samples]))


def _cpu_note(samples: list[tuple[float, float, float]], flush: list[float]) -> str:
    wall, user, system = _cpu(samples)
    return (f"wall {wall:.2f} s, CPU user {user:.2f} s + sys {system:.2f} s (medians); "
            f"the `sync` after it {_median(flush):.2f} s")


def _down_parts(steps: dict[str, list[float]]) -> str:
    return " + ".join(f"{step} {_median(steps[step]):.2f}" for step in DOWN_STEPS if step in steps)


def rows(data: Data, samples: Samples) -> list[Row]:
    label = data.label
    base = Row(f"{label}: floor, `compose down && compose up -d --wait`", "s", samples.outages["floor"],
               note="1.1.0's export, every image present, no snapshot")
    on, off = samples.steps["on"], samples.steps["off"]
    upgrade = Row(f"{label}: `upgrade` workflow, snapshot on, {data.changing} files rewritten while it serves", "s",
                  samples.outages["on"], ratio_to="× floor", target=f"≤ {LIMIT:.2f} × floor",
                  key="snapshot.downtime",
                  note=f"down for {_down_parts(on)} s (step medians) + {_median(samples.between['on']):.2f} s "
                       f"between steps; the second pass (`snapshot`) is {_median(on.get('snapshot', [])):.2f} s; "
                       f"whole run median {_median(samples.runs['on']):.1f} s, of which `warm` "
                       f"{_median(on.get('warm', [])):.1f} s; method {', '.join(sorted(samples.methods))}")
    judge(upgrade, upgrade.median / base.median, LIMIT)
    without = Row(f"{label}: `upgrade` workflow, snapshot off (same stack and data)", "s", samples.outages["off"],
                  ratio_to="× floor",
                  note=f"down for {_down_parts(off)} s + {_median(samples.between['off']):.2f} s between steps; "
                       "for comparison: what the snapshot adds is the difference with the row above")
    without.ratio = without.median / base.median
    copy = Row(f"{label}: stop, full copy (`cp -a` + `sync`), start (docker-volume-backup's way)", "s",
               samples.outages["copy"], ratio_to="× floor",
               note=f"`cp -a` {_median(samples.copy_steps['cp']):.2f} s + `sync` "
                    f"{_median(samples.copy_steps['sync']):.2f} s (medians); for comparison")
    copy.ratio = copy.median / base.median
    first = Row(f"{label}: first pass, `tree.sync` into an empty folder (sha256 as it copies), cold", "MiB/s",
                samples.throughput["sync"], ratio_to="× cp -a", higher_is_better=True,
                note=_cpu_note(samples.cpu["sync"], samples.flush["sync"]))
    cp = Row(f"{label}: `cp -a` of the same tree, cold", "MiB/s", samples.throughput["cp"], higher_is_better=True,
             note=_cpu_note(samples.cpu["cp"], samples.flush["cp"]))
    first.ratio = first.median / cp.median
    copies = [first, cp]
    if samples.throughput["sync-warm"] and samples.throughput["cp-warm"]:
        warm = Row(f"{label}: first pass again, page cache not dropped", "MiB/s", samples.throughput["sync-warm"],
                   ratio_to="× cp -a", higher_is_better=True,
                   note=_cpu_note(samples.cpu["sync-warm"], samples.flush["sync-warm"]))
        cp_warm = Row(f"{label}: `cp -a` again, page cache not dropped", "MiB/s", samples.throughput["cp-warm"],
                      higher_is_better=True, note=_cpu_note(samples.cpu["cp-warm"], samples.flush["cp-warm"]))
        warm.ratio = warm.median / cp_warm.median
        copies += [warm, cp_warm]
    second = Row(f"{label}: second pass, `tree.sync` with the first pass's listing, {data.changing} files changed",
                 "s", samples.second,
                 note=f"files copied again: {', '.join(str(count) for count in samples.second_copied)}")
    return [base, upgrade, without, copy, *copies, second]


def breakdown(data: Data, samples: Samples) -> str:
    def cells(mode: str) -> str:
        steps = samples.steps[mode]
        return " | ".join(f"{_median(steps[step]):.3f}" if step in steps else "—" for step in STEPS)

    floor_down, floor_up = _median(samples.floor_steps["down"]), _median(samples.floor_steps["up"])
    copy = samples.copy_steps
    lines = [
        "Where the time goes: the median seconds of each step of the upgrader runs (from their journals; the "
        "server is down from `stop` to `start`, `health` overlaps the first answers; *stop → start* is the "
        "journal's window from `stop`'s start to `start`'s end, *between* what no step of it accounts for: the "
        "engine's checkpoints and journal lines, and starting each action), of the floor's two Compose "
        "commands, and of the full copy's four parts.",
        "",
        "| data | run | " + " | ".join(STEPS) + " | stop → start | between |",
        "|---|---|" + "---:|" * (len(STEPS) + 2),
    ]
    for mode in MODES:
        lines.append(f"| {data.label} | `upgrade`, snapshot {mode} | {cells(mode)} | "
                     f"{_median(samples.window[mode]):.3f} | {_median(samples.between[mode]):.3f} |")
    lines += [
        f"| {data.label} | floor | — | — | `compose down` {floor_down:.3f} | — | — | — "
        f"| `compose up -d --wait` {floor_up:.3f} | (in up) | {floor_down + floor_up:.3f} | — |",
        f"| {data.label} | full copy | — | — | `compose down` {_median(copy['down']):.3f} "
        f"| `cp -a` {_median(copy['cp']):.3f} + `sync` {_median(copy['sync']):.3f} | — | — "
        f"| `compose up -d --wait` {_median(copy['up']):.3f} | (in up) | — | — |",
    ]
    return "\n".join(lines)


def bounds(data: Data, samples: Samples) -> str:
    """What limits the first pass, from what was measured."""
    megabytes = data.files * FILE_SIZE / MiB
    hashing = hash_speed()
    wall, user, system = _cpu(samples.cpu["sync"])
    cp_wall, _, cp_system = _cpu(samples.cpu["cp"])
    idle = max(0.0, wall - user - system)
    text = (
        f"What limits the first pass: `tree.sync` copied {megabytes:.0f} MiB in {wall:.2f} s: {user:.2f} s of user "
        f"CPU, {system:.2f} s of system CPU, {idle:.2f} s waiting (medians). `cp -a` reads the same tree, cold too, "
        f"and writes it in {cp_wall:.2f} s ({cp_system:.2f} s of system CPU), so the disk gives at least "
        f"{megabytes / cp_wall:.0f} MiB/s: it is not what holds `tree.sync` at {megabytes / wall:.0f} MiB/s. Nor is "
        f"hashing: sha256 (hashlib, in memory) runs at {hashing:.0f} MiB/s here, {megabytes / hashing:.2f} s for "
        "the tree, about `tree.sync`'s user time. What is left is system time spent moving every byte through "
        f"user space, one thread reading, hashing and writing in turn: {system - cp_system:+.2f} s of system CPU "
        "more than `cp -a`, whose `copy_file_range` copies inside the kernel, and the waits for the reads, which "
        "nothing overlaps."
    )
    if samples.cpu["sync-warm"] and samples.cpu["cp-warm"]:
        warm_wall, _, warm_system = _cpu(samples.cpu["sync-warm"])
        cp_warm_wall, _, _ = _cpu(samples.cpu["cp-warm"])
        text += (
            f" Without the drop of the page cache (the rows \"again\"), `tree.sync` takes {warm_wall:.2f} s "
            f"({warm_system:.2f} s system) and `cp -a` {cp_warm_wall:.2f} s. Profiled while this case was written "
            "(`perf record`, 1,000 files, cold): 36 % of `tree.sync`'s samples were the kernel's "
            "`copy_folio_from_iter_atomic` under `pwrite`, filling new page-cache pages from Python's buffer; on "
            "this VM (virtio-balloon) writing 1 GiB from a user buffer into the page cache took 2–3 s of system "
            "CPU right after a drop of the page cache and 0.3–0.4 s when that memory had been in use a moment "
            "before, so the cold figure is partly this machine's. Either way the first pass runs in `warm`, "
            "while the old release serves; only the second pass is downtime."
        )
    return text


def method(data: Data, samples: Samples) -> str:
    cold = all(samples.cold)
    before_copy = "after dropping the page cache" if cold else "warm"
    cache = ("the page cache is dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`)" if cold else
             "the page cache could NOT be dropped on this machine (the copies read warm data, and each throughput "
             "copy ran twice, the second kept)")
    return (
        "The stack is the downtime case's (web: busybox httpd with a healthcheck on 127.0.0.1:PORT; worker; "
        "images of a few MB), whose named volume `data` holds "
        f"{data.files:,} files of 1 MiB of random bytes in {data.folders} folders, written once per repetition "
        "directly into the volume's mountpoint (as root) after creating the volume with Compose's labels, before "
        f"1.0.0 is installed. 1.0.0's worker rewrites {data.changing} of those files (1 %) in place (`dd "
        f"if=/dev/urandom conv=notrunc`), one every {REWRITE_EVERY} s, round robin, for as long as it runs; "
        "1.1.0's worker only sleeps. Each repetition runs two upgrades on that volume, alternating which goes "
        "first: for each, a fresh server root installs 1.0.0 (`upgrader run --to 1.0.0`, snapshots off, not "
        "timed), project.yaml then sets `snapshot: {enabled: true, method: auto}` (as root, `auto` is `host`, "
        "reading the mountpoint; the journal confirms it) or `enabled: false`, 1.1.0's images are removed locally "
        f"(so `prefetch` pulls them), {cache} and the downtime of `upgrader run --cron` 1.0.0 → 1.1.0 (`upgrade` "
        "workflow; with snapshots on, `warm` copies the volume while 1.0.0 serves and writes, `snapshot` after "
        "`stop` copies what changed since) is measured with the downtime case's poller (GET /version every "
        "50 ms, longest run of failed polls). Then, on the same stack and data, the floor: `compose down` then "
        "`compose up -d --wait` of 1.1.0's export (every image present, no snapshot), polled the same way; the "
        "judged ratio is of the medians (snapshot on ÷ floor). For comparison (no target), docker-volume-backup's "
        f"way, polled too ({before_copy}): `compose down`, `cp -a` of the whole mountpoint to a fresh folder on the "
        "same disk, `sync` (so that the copy is on disk before the server starts, as upgrader's snapshot is), "
        "`compose up -d --wait`. Throughput: in the benchmark process, `upgrader.snapshot.tree.sync(mountpoint, "
        "empty folder)` (the first pass: content hashed with sha256 as it is copied) against `cp -a` of the same "
        "tree, each preceded by `sync` and "
        f"{'a drop of the page cache, then each once more without the drop' if cold else 'no cache drop'}, "
        "alternating which goes first from one repetition to the next; MiB/s is the tree's size over the copy's "
        "wall time (the `sync` after it is shown apart), CPU time from `getrusage`. Then the second pass: "
        f"{data.changing} files given new random bytes, `tree.sync` again with the first pass's listing as "
        "`previous` (page cache warm, as after `warm`). Every container, the volume and every copy are removed "
        "after each repetition."
        + (" Quick mode: 256 files of 1 MiB instead of 1,000." if data.files < 1000 else "")
    )
