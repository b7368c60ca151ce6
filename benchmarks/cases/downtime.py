"""Case 1, downtime: the web service polled every 50 ms on 127.0.0.1 during an upgrade from
1.0.0 to 1.1.0, with the ``upgrade`` workflow (prefetch) and ``classic`` (pull while down), at
two release sizes; and the floor: ``compose down && compose up -d --wait`` of the same export with
every image present. Downtime = the longest run of failed polls."""

from __future__ import annotations

import http.client
import statistics
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
    fresh,
    judge,
    last_run_journal,
    measure,
    step_seconds,
    upgrader,
    write_project,
)

NAME = "bench-dt"
INTERVAL = 0.05
OLD, NEW = "1.0.0", "1.1.0"


@dataclass
class Poller:
    """GET /version every ``INTERVAL`` seconds in a thread; each poll's start time and outcome."""

    port: int
    polls: list[tuple[float, str | None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def probe(self) -> str | None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1.0)
        try:
            connection.request("GET", "/version")
            response = connection.getresponse()
            body = response.read().decode(errors="replace").strip()
            return body if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            return None
        finally:
            connection.close()

    def _loop(self) -> None:
        tick = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            self.polls.append((started, self.probe()))
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

    def outage(self) -> float:
        """The longest run of failed polls: from its first failed poll to the next good one."""
        longest = 0.0
        first_failed: float | None = None
        for started, answer in self.polls:
            if answer is None:
                if first_failed is None:
                    first_failed = started
            elif first_failed is not None:
                longest = max(longest, started - first_failed)
                first_failed = None
        if first_failed is not None:
            raise BenchError("the service was still down when polling ended")
        return longest


def sizes(bench: Bench) -> list[tuple[str, int]]:
    return [("10 MB", 10_000_000), ("40 MB", 40_000_000)] if bench.quick else [
        ("10 MB", 10_000_000), ("300 MB", 300_000_000)]


def run(bench: Bench) -> CaseResult:
    from tests.rig import (
        BUSYBOX,
        free_port,
        local_image,
        release_archive,
        remove_local_images,
        remove_project,
        write_index,
    )

    result = CaseResult("downtime", "Downtime of an upgrade 1.0.0 → 1.1.0")
    registry = bench.registry()
    compose = bench.compose()
    port = free_port()
    bench.projects.add(NAME)
    busybox = BUSYBOX.stat().st_size
    described = []
    breakdowns: list[str] = []
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
        feed = fresh(bench.work / "downtime" / tag / "feed")
        write_index(feed, [release_archive(feed / f"acme-server-{version}.tar.gz", version, images=refs[version])
                           for version in (OLD, NEW)])
        new_refs = sorted(refs[NEW].values())
        outages: dict[str, list[float]] = {"floor": [], "upgrade": [], "classic": []}
        runs: dict[str, list[float]] = {"upgrade": [], "classic": []}
        steps: dict[str, dict[str, list[float]]] = {"upgrade": {}, "classic": {}, "floor": {}}
        for repetition in range(bench.reps(5, 2)):
            bench.log(f"  {label}: repetition {repetition + 1}")
            order = ["upgrade", "classic"] if repetition % 2 == 0 else ["classic", "upgrade"]
            for workflow in order:
                # Each repetition is a server root of its own: the last one's stack goes first
                # (upgrader never takes down a stack that another root owns).
                remove_project(NAME)
                root = fresh(bench.work / "downtime" / tag / f"{workflow}-{repetition}")
                settings = {"feed": feed.as_uri() + "/", "workflow": workflow, "health_timeout": 120,
                            "values": {"HTTP_PORT": str(port)}}
                write_project(root, NAME, settings)
                upgrader(root, NAME, "run", "--to", OLD, "--cron").check(f"installing {OLD}")
                remove_local_images(new_refs)
                present = [reference for reference in new_refs if local_image(reference)]
                if present:
                    raise BenchError(f"{present} still present before the upgrade")
                with Poller(port) as poller:
                    sample = upgrader(root, NAME, "run", "--cron").check(f"upgrader run ({workflow})")
                    poller.settle(NEW)
                outages[workflow].append(poller.outage())
                runs[workflow].append(sample.wall)
                events = last_run_journal(root, NAME)
                for step in STEPS:
                    if any(e["event"] == "step_done" and e["step"] == step for e in events):
                        steps[workflow].setdefault(step, []).append(step_seconds(events, step))
                outage, down, up = floor(compose, root / "projects" / NAME / "export", port)
                outages["floor"].append(outage)
                steps["floor"].setdefault("compose down", []).append(down)
                steps["floor"].setdefault("compose up -d --wait", []).append(up)
        base = Row(f"{label}: floor, `compose down && compose up -d --wait`", "s", outages["floor"],
                   note="every image present")
        upgrade = Row(f"{label}: `upgrade` workflow (prefetch)", "s", outages["upgrade"], ratio_to="× floor",
                      target="≤ 1.25 × floor", key=f"downtime.upgrade.{tag}",
                      note=f"whole run {statistics_note(runs['upgrade'])}")
        judge(upgrade, upgrade.median / base.median, 1.25)
        classic = Row(f"{label}: `classic` workflow (pull while down)", "s", outages["classic"],
                      ratio_to="× floor", note=f"whole run {statistics_note(runs['classic'])}; for comparison")
        classic.ratio = classic.median / base.median
        result.rows += [base, upgrade, classic]
        breakdowns.append(breakdown(label, steps))
    result.extra.append(
        "Where the time goes: the median seconds of each step of the upgrader runs above (from their "
        "journals; the steps from `stop` to `start` are the ones the service is down for, `health` "
        "overlaps the first answers), and of the floor's two Compose commands.\n\n"
        "| release | run | " + " | ".join(STEPS) + " |\n|---|---|" + "---:|" * len(STEPS) + "\n"
        + "\n".join(breakdowns))
    result.method = (
        "Release sizes: " + "; ".join(described) + ". The images of 1.0.0 and 1.1.0 differ in every "
        "random layer. Each repetition runs both workflows, alternating which goes first; for each, "
        "a fresh server root installs 1.0.0 (`upgrader run --to 1.0.0`, not timed), 1.1.0's images "
        "are removed locally (`docker rmi`, checked absent) so that `classic` pulls them while the "
        "server is down and `upgrade` before it stops it, then a thread polls "
        "`http://127.0.0.1:PORT/version` every 50 ms (a new connection each poll, 1 s timeout) while "
        "`upgrader run --cron` upgrades to 1.1.0, until 1.1.0 answers. Downtime is the longest run of "
        "failed polls, from its first failed poll to the next successful one (so ±50 ms). The floor "
        "follows each upgrade: the same export (1.1.0, images present) taken down and started again "
        "with the same Compose binary, `compose -p bench-dt --project-directory EXPORT down` then `up "
        "-d --wait`, polled the same way; so the floor has twice as many samples.")
    return result


def statistics_note(samples: list[float]) -> str:
    return f"median {statistics.median(samples):.1f} s"


STEPS = ("prefetch", "stop", "export", "pull", "start", "health")


def breakdown(label: str, steps: dict[str, dict[str, list[float]]]) -> str:
    lines = []
    for workflow in ("upgrade", "classic"):
        cells = [f"{statistics.median(steps[workflow][step]):.3f}" if step in steps[workflow] else "—"
                 for step in STEPS]
        lines.append(f"| {label} | `{workflow}` | " + " | ".join(cells) + " |")
    down = statistics.median(steps["floor"]["compose down"])
    up = statistics.median(steps["floor"]["compose up -d --wait"])
    lines.append(f"| {label} | floor | — | `compose down` {down:.3f} | — | — "
                 f"| `compose up -d --wait` {up:.3f} | (in up) |")
    return "\n".join(lines)


def floor(compose: list[str], export: Path, port: int) -> tuple[float, float, float]:
    """The floor's downtime, and the wall times of its ``down`` and ``up``."""
    base = [*compose, "-p", NAME, "--project-directory", str(export), "-f", str(export / "compose.yaml")]
    with Poller(port) as poller:
        down = measure([*base, "down"]).check("compose down (floor)")
        up = measure([*base, "up", "-d", "--wait"]).check("compose up -d --wait (floor)")
        poller.settle(NEW)
    return poller.outage(), down.wall, up.wall
