"""What every case shares: results and their statistics, measured subprocesses, the Docker rig."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)
UPGRADER = PYTHON.with_name("upgrader")
MiB = 1 << 20


class BenchError(Exception):
    """A case could not be measured (a command failed, the rig is not usable)."""


# -- results ----------------------------------------------------------------------------------

@dataclass
class Row:
    """One measured quantity: its samples, and how it compares with its target."""

    label: str
    unit: str  # "s", "ms", "MiB", "MiB/s", "×"
    samples: list[float]
    ratio: float | None = None  # this row's median against its baseline's median (or a fixed limit)
    ratio_to: str = ""
    target: str = ""
    met: bool | None = None  # None: no target
    note: str = ""
    key: str = ""  # where the "what bounds it" note is looked up when the target is missed
    bounds: str = ""  # what bounds it, worded by the case from this run's own figures (before the note)
    higher_is_better: bool = False
    limit: float | None = None  # the target, in the unit of ``ratio``
    at_least: bool = False  # the target is ratio ≥ limit (else ≤)

    @property
    def use(self) -> float | None:
        """How much of its target the row uses: 1.0 is on the limit, above 1.0 misses it."""
        if self.ratio is None or self.limit is None:
            return None
        if self.unit == "×" and self.limit > 1 and not self.at_least:
            # bytes fetched ÷ archive cannot be below 1: the allowance is what lies above it
            return max(0.0, self.ratio - 1) / (self.limit - 1)
        return self.limit / self.ratio if self.at_least else self.ratio / self.limit

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def iqr(self) -> tuple[float, float] | None:
        if len(self.samples) < 4:
            return None
        quartiles = statistics.quantiles(self.samples, n=4, method="inclusive")
        return quartiles[0], quartiles[2]


@dataclass
class CaseResult:
    key: str
    title: str
    method: str = ""
    rows: list[Row] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # markdown blocks shown after the table
    error: str | None = None
    seconds: float = 0.0


def judge(row: Row, ratio: float, limit: float, *, at_least: bool = False) -> Row:
    """Set ``row``'s ratio and whether it meets ``limit`` (≤, or ≥ with ``at_least``)."""
    row.ratio = ratio
    row.limit = limit
    row.at_least = at_least
    row.met = ratio >= limit if at_least else ratio <= limit
    return row


# -- processes --------------------------------------------------------------------------------

@dataclass
class Sample:
    """One run of a command in a fresh process: wall time and its own peak RSS."""

    argv: list[str]
    returncode: int
    wall: float
    maxrss_kib: int
    stdout: str
    stderr: str

    def check(self, what: str = "") -> Sample:
        if self.returncode != 0:
            raise BenchError(f"{what or ' '.join(self.argv)} exited {self.returncode}:\n"
                             + (self.stdout + self.stderr)[-3000:])
        return self


TIME = Path("/usr/bin/time")


def measure(argv: Sequence[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 900) -> Sample:
    """Run ``argv`` with stdin closed: its wall time and its own peak RSS.

    The peak RSS comes from GNU time (``/usr/bin/time -f %M``), a small process that forks the
    command: a child spawned straight from this (large) Python process starts its life in this
    process's memory map, and the kernel carries that high-water mark into the child's
    ``ru_maxrss`` across ``exec``. Without GNU time, ``wait4``'s figure is used (an upper bound).
    """
    command = [str(part) for part in argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        prefix = [str(TIME), "-f", "%M", "-o", rss.name] if TIME.exists() else []
        started = time.perf_counter()
        process = subprocess.Popen(prefix + command, cwd=cwd, env={**os.environ, **(env or {})},
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        maxrss = int(usage.ru_maxrss)
        if prefix:
            words = rss.read().split()
            maxrss = int(words[-1]) if words and words[-1].isdigit() else maxrss
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if prefix and stderr.startswith("Command exited with non-zero status"):
            stderr = stderr.split("\n", 1)[1] if "\n" in stderr else ""
        return Sample(command, process.returncode, wall, maxrss, out.read().decode(errors="replace"), stderr)


def run(argv: Sequence[str | Path], *, what: str = "", timeout: float = 900, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in argv], capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd, check=False)
    if check and result.returncode != 0:
        raise BenchError(f"{what or ' '.join(map(str, argv))} exited {result.returncode}:\n"
                         + (result.stdout + result.stderr)[-3000:])
    return result


def upgrader(root: Path, name: str, *args: str, timeout: float = 900) -> Sample:
    return measure([UPGRADER, "--root", root, "-n", name, *args], timeout=timeout)


# -- upgrader's own records --------------------------------------------------------------------

def parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def last_run_journal(root: Path, name: str) -> list[dict[str, Any]]:
    """The journal events of the project's last run."""
    state = root / "state" / name
    run_id = json.loads((state / "run.json").read_text())["run_id"]
    events = [json.loads(line) for line in (state / "journal.jsonl").read_text().splitlines() if line]
    return [event for event in events if event["run_id"] == run_id]


def step_seconds(events: list[dict[str, Any]], step: str) -> float:
    """How long ``step`` took, from its ``step_started`` to its ``step_done`` (ms resolution)."""
    started = next(e for e in events if e["event"] == "step_started" and e["step"] == step)
    done = next(e for e in events if e["event"] == "step_done" and e["step"] == step)
    return parse_ts(done["ts"]) - parse_ts(started["ts"])


def steps_done(events: list[dict[str, Any]], skip: Sequence[str] = ()) -> dict[str, float]:
    """Every step the run completed, in the order it ran, with its seconds (``skip``: left out)."""
    found: dict[str, float] = {}
    for event in events:
        if event["event"] == "step_done" and event["step"] not in skip and event["step"] not in found:
            found[event["step"]] = step_seconds(events, event["step"])
    return found


def event_time(events: list[dict[str, Any]], kind: str, step: str) -> float | None:
    """When the first ``kind`` event of ``step`` was journaled, or None."""
    for event in events:
        if event["event"] == kind and event.get("step") == step:
            return parse_ts(event["ts"])
    return None


def write_project(root: Path, name: str, settings: dict[str, Any]) -> Path:
    import yaml

    folder = root / "projects" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(yaml.safe_dump(settings))
    return folder


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


# -- the environment of one bench run -----------------------------------------------------------

@dataclass
class Bench:
    """Settings of one run of the suite, its scratch folder, and the Docker rig when a case needs it."""

    quick: bool
    reps_override: int | None
    cache: Path
    work: Path
    log: Callable[[str], None] = print
    _registry: Any = None
    images: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)

    def reps(self, full: int, quick: int) -> int:
        if self.reps_override is not None:
            return self.reps_override
        return quick if self.quick else full

    # -- Docker ---------------------------------------------------------------------------------

    def registry(self) -> str:
        """Start (once) the suite's own registry; its address (``UPGRADER_RIG_REGISTRY``)."""
        from tests import rig

        if self._registry is None:
            if run(["docker", "info"], check=False, timeout=60).returncode != 0:
                raise BenchError("the Docker Engine is not usable: run 'bash tests/provision.sh'")
            if not shutil.which("docker-registry") or not rig.BUSYBOX.exists():
                raise BenchError("docker-registry or busybox-static is missing: run 'bash tests/provision.sh'")
            if rig.REGISTRY == "127.0.0.1:5000":
                raise BenchError("UPGRADER_RIG_REGISTRY is 127.0.0.1:5000, the test suite's registry; "
                                 "the benchmarks use their own (e.g. 127.0.0.1:5001)")
            rig.stop_stale_registries()  # one an earlier bench run left on our port
            self._registry = rig.Registry(self.work / "registry").start()
            self.log(f"registry on {rig.REGISTRY}")
        return rig.REGISTRY

    def publish(self, images: dict[str, str], version: str, payload_bytes: int) -> None:
        """Build and push ``images`` with a random layer of ``payload_bytes`` each."""
        from tests import rig

        self.registry()
        log = self.work / "build.log"
        for reference in images.values():
            if reference in self.images:
                continue
            # docker build's stderr (the legacy builder's deprecation banner) goes to a log.
            with open(log, "ab") as sink:
                saved = os.dup(2)
                os.dup2(sink.fileno(), 2)
                try:
                    self.images.add(reference)
                    rig.build_image(reference, version, self.work / "build", payload_bytes)
                    rig.push(reference)
                except subprocess.CalledProcessError as error:
                    raise BenchError(f"building or pushing {reference} failed ({error}); "
                                     f"its output:\n{log.read_text(errors='replace')[-3000:]}") from None
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)

    def compose(self) -> list[str]:
        from upgrader.runtime import compose

        return list(compose.command())

    def close(self) -> None:
        from tests import rig

        for name in sorted(self.projects):
            rig.remove_project(name)
        if self.images:
            rig.remove_local_images(sorted(self.images))
        if self._registry is not None:
            self._registry.stop()
            self._registry = None


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MiB/s":
        return f"{value:.0f} MiB/s"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit == "×":
        return f"{value:.3f}"
    return f"{value:g} {unit}"
