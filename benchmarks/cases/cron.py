"""Case 2, the cost of a cron run with nothing to do: ``upgrader run --cron`` of a project that is
already at the newest release (a ``file://`` feed), and ``status --json``: wall time and peak RSS
of a fresh process each sample; and ``python -X importtime`` to show what start-up costs."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

from benchmarks.common import (
    PYTHON,
    TIME,
    UPGRADER,
    Bench,
    BenchError,
    CaseResult,
    Row,
    fresh,
    judge,
    measure,
    upgrader,
    write_project,
)

NAME = "bench-cron"
WALL_LIMIT = 0.5  # seconds
RSS_LIMIT = 60.0  # MiB

# Installs a release without Docker: the state a cron run finds is the same as after `upgrade`.
FETCH_WORKFLOW = {
    "name": "fetch",
    "description": "download, verify and extract only (the benchmark's install without Docker)",
    "initial": "idle",
    "final": "extracted",
    "states": ["idle", "downloaded", "verified", "extracted"],
    "steps": [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download"},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
    ],
}


def up_to_date_project(folder: Path) -> Path:
    """A server root with one project at the newest release of its file:// feed; the root."""
    from tests.rig import release_archive, write_index

    root = fresh(folder / "root")
    feed = fresh(folder / "feed")
    entries = [release_archive(feed / f"acme-server-{version}.tar.gz", version)
               for version in ("1.0.0", "1.1.0")]
    write_index(feed, entries)
    workflow = folder / "fetch.yaml"
    workflow.write_text(yaml.safe_dump(FETCH_WORKFLOW, sort_keys=False))
    settings = {"feed": feed.as_uri() + "/", "workflow": str(workflow), "values": {"HTTP_PORT": "18999"}}
    write_project(root, NAME, settings)
    upgrader(root, NAME, "run").check("installing 1.1.0 (download, verify, extract)")
    # What a real project looks like: the default workflow; nothing is left for it to do.
    write_project(root, NAME, {**settings, "workflow": "upgrade"})
    return root


_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(stderr: str) -> tuple[list[tuple[str, float, float, int]], float, int]:
    """From ``-X importtime`` output: per top-level package (cumulative ms of its costliest
    import, self ms summed over its modules, modules), the total ms and the module count."""
    cumulative: dict[str, float] = defaultdict(float)
    own: dict[str, float] = defaultdict(float)
    modules: dict[str, int] = defaultdict(int)
    total = 0.0
    count = 0
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = int(match[1]), int(match[2]), len(match[3]), match[4]
        package = name.split(".")[0]
        cumulative[package] = max(cumulative[package], cumulative_us / 1000)
        own[package] += self_us / 1000
        modules[package] += 1
        count += 1
        if indent <= 1:
            total += cumulative_us / 1000
    rows = sorted(((package, cumulative[package], own[package], modules[package]) for package in cumulative),
                  key=lambda row: -row[1])
    return rows, total, count


def importtime_table(root: Path, *args: str) -> str:
    sample = measure([PYTHON, "-X", "importtime", UPGRADER, "--root", root, "-n", NAME, *args])
    if sample.returncode != 0:
        raise BenchError(f"upgrader {' '.join(args)} under -X importtime exited {sample.returncode}:\n"
                         + sample.stderr[-2000:])
    rows, total, count = import_times(sample.stderr)
    lines = [f"`python -X importtime upgrader {' '.join(args)}`: {count} modules imported, "
             f"{total:.0f} ms of imports in a run of {sample.wall * 1000:.0f} ms (importtime itself "
             "slows imports down). Top 10 packages by the cumulative time of their costliest import "
             "(which includes what that import pulled in):",
             "",
             "| package | cumulative ms | own ms (all its modules) | modules |",
             "|---|---:|---:|---:|"]
    lines += [f"| `{package}` | {cum:.1f} | {own:.1f} | {modules} |" for package, cum, own, modules in rows[:10]]
    return "\n".join(lines)


def run(bench: Bench) -> CaseResult:
    result = CaseResult("cron", "Cost of a cron run with nothing to do")
    root = up_to_date_project(bench.work / "cron")
    commands = {"run --cron": ["run", "--cron"], "status --json": ["status", "--json"]}
    for args in commands.values():  # warm the page cache and the bytecode cache
        upgrader(root, NAME, *args).check()
    walls: dict[str, list[float]] = {label: [] for label in commands}
    rss: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(bench.reps(20, 5)):
        for label, args in commands.items():
            sample = upgrader(root, NAME, *args).check(f"upgrader {label}")
            if label == "run --cron" and (sample.stdout.strip() or sample.stderr.strip()):
                raise BenchError(f"run --cron printed something with nothing to do:\n{sample.stdout}{sample.stderr}")
            walls[label].append(sample.wall)
            rss[label].append(sample.maxrss_kib / 1024)
    for label in commands:
        key = label.split()[0]
        wall = Row(f"`upgrader {label}`: wall time", "s", walls[label], ratio_to="of 0.5 s",
                   target="≤ 0.5 s", key=f"cron.{key}.wall")
        judge(wall, wall.median / WALL_LIMIT, 1.0)
        memory = Row(f"`upgrader {label}`: peak RSS", "MiB", rss[label], ratio_to="of 60 MiB",
                     target="≤ 60 MiB", key=f"cron.{key}.rss")
        judge(memory, memory.median / RSS_LIMIT, 1.0)
        if not TIME.exists():
            memory.note = "an upper bound: GNU time (/usr/bin/time) is not installed (apt-get install time)"
        result.rows += [wall, memory]
    python = measure([PYTHON, "-c", "pass"])
    bare = [measure([PYTHON, "-c", "pass"]) for _ in range(5)] + [python]
    result.rows.append(Row("for scale: `python -c pass` (the interpreter alone)", "s",
                           [sample.wall for sample in bare],
                           note=f"peak RSS {min(s.maxrss_kib for s in bare) / 1024:.1f} MiB"))
    result.extra.append(importtime_table(root, "run", "--cron"))
    result.extra.append(importtime_table(root, "status", "--json"))
    result.method = (
        "A server root with one project whose `file://` feed lists 1.0.0 and 1.1.0 and which has 1.1.0 "
        "installed (installed by a download → verify → extract workflow, so no Docker is needed; then "
        "`workflow: upgrade` is set again, as on a real server). Each sample is the installed "
        "`.venv/bin/upgrader` console script in a fresh process, stdin closed, as cron starts it; wall "
        "time is spawn to exit; peak RSS is its maximum resident set size as GNU time reports it "
        "(`/usr/bin/time -f %M`, which forks the command: taken straight from a child of the large "
        "benchmark process, `ru_maxrss` would start at the parent's size). One warm-up run "
        "of each command first; the two commands alternate. `run --cron` must exit 0 and print nothing.")
    return result
