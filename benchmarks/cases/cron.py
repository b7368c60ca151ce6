"""Case 2, the cost of a cron run with nothing to do: ``upgrader run --cron`` of a project that is
already at the newest release, through an HTTP feed on 127.0.0.1 and through a ``file://`` feed,
each against a bare ``python -c pass`` of the same interpreter measured alternately with it (a
ratio: this machine's absolute times move with its load); ``status --json``; peak RSS; and
``python -X importtime`` to show what start-up costs."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks.common import (
    PYTHON,
    TIME,
    UPGRADER,
    Bench,
    BenchError,
    CaseResult,
    MiB,
    Row,
    Sample,
    fresh,
    judge,
    measure,
    write_project,
)
from benchmarks.httpserve import SendfileServer

NAME = "bench-cron"
HTTP_RATIO = 5.0  # idle run --cron through the HTTP feed, × python -c pass
FILE_RATIO = 4.0  # through the file:// feed
RUN_RSS_LIMIT = 30.0  # MiB
STATUS_WALL_LIMIT = 0.5  # seconds
STATUS_RSS_LIMIT = 60.0  # MiB
# As cron starts it: not with the PYTHONDONTWRITEBYTECODE a development shell may export, so that the
# warm-up run leaves the bytecode cache a server has (else every sample compiles upgrader again).
ENV = {"PYTHONDONTWRITEBYTECODE": ""}

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


def up_to_date_project(folder: Path, feed_url: Callable[[Path], str] | None = None) -> Path:
    """A server root with one project at the newest release of the feed in ``folder/feed``; the
    root. The release is installed from the feed as a ``file://`` URL; the project then reads it
    at ``feed_url(folder/feed)`` (default: the same ``file://`` URL)."""
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
    upgrader(root, "run").check("installing 1.1.0 (download, verify, extract)")
    # What a real project looks like: the default workflow; nothing is left for it to do.
    url = feed_url(feed) if feed_url else settings["feed"]
    write_project(root, NAME, {**settings, "feed": url, "workflow": "upgrade"})
    return root


def upgrader(root: Path, *args: str) -> Sample:
    return measure([UPGRADER, "--root", root, "-n", NAME, *args], env=ENV)


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


def importtime_table(root: Path, *args: str, feed: str = "") -> str:
    sample = measure([PYTHON, "-X", "importtime", UPGRADER, "--root", root, "-n", NAME, *args], env=ENV)
    if sample.returncode != 0:
        raise BenchError(f"upgrader {' '.join(args)} under -X importtime exited {sample.returncode}:\n"
                         + sample.stderr[-2000:])
    rows, total, count = import_times(sample.stderr)
    lines = [f"`python -X importtime upgrader {' '.join(args)}`{feed}: {count} modules imported, "
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
    server = SendfileServer(bench.work / "cron-http" / "feed").start()
    try:
        http_root = up_to_date_project(bench.work / "cron-http", lambda _feed: server.url)
        file_root = up_to_date_project(bench.work / "cron-file")
        _measure(bench, result, http_root, file_root)
    finally:
        server.stop()
    return result


def _measure(bench: Bench, result: CaseResult, http_root: Path, file_root: Path) -> None:
    commands: dict[str, list[str | Path]] = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "run --cron (HTTP feed)": [UPGRADER, "--root", http_root, "-n", NAME, "run", "--cron"],
        "run --cron (file:// feed)": [UPGRADER, "--root", file_root, "-n", NAME, "run", "--cron"],
        "status --json": [UPGRADER, "--root", file_root, "-n", NAME, "status", "--json"],
    }
    for argv in commands.values():  # warm the page cache and the bytecode cache
        measure(argv, env=ENV).check()
    walls: dict[str, list[float]] = {label: [] for label in commands}
    rss: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(bench.reps(20, 5)):
        for label, argv in commands.items():
            sample = measure(argv, env=ENV).check(label)
            if label.startswith("run --cron") and (sample.stdout.strip() or sample.stderr.strip()):
                raise BenchError(f"{label} printed something with nothing to do:\n{sample.stdout}{sample.stderr}")
            walls[label].append(sample.wall)
            rss[label].append(sample.maxrss_kib * 1024 / MiB)
    bare = Row("`python -c pass` (the same interpreter, bare)", "s", walls["python -c pass"],
               note=f"peak RSS {min(rss['python -c pass']):.1f} MiB")
    result.rows.append(bare)
    for label, key, limit in (("run --cron (HTTP feed)", "run_http", HTTP_RATIO),
                              ("run --cron (file:// feed)", "run_file", FILE_RATIO)):
        wall = Row(f"`upgrader {label}`: wall time", "s", walls[label], ratio_to="× `python -c pass`",
                   target=f"≤ {limit:g} ×", key=f"cron.{key}.wall")
        judge(wall, wall.median / bare.median, limit)
        memory = Row(f"`upgrader {label}`: peak RSS", "MiB", rss[label], ratio_to=f"of {RUN_RSS_LIMIT:g} MiB",
                     target=f"≤ {RUN_RSS_LIMIT:g} MiB", key=f"cron.{key}.rss")
        judge(memory, memory.median / RUN_RSS_LIMIT, 1.0)
        result.rows += [wall, memory]
    label = "status --json"
    wall = Row(f"`upgrader {label}`: wall time", "s", walls[label], ratio_to=f"of {STATUS_WALL_LIMIT:g} s",
               target=f"≤ {STATUS_WALL_LIMIT:g} s", key="cron.status.wall")
    judge(wall, wall.median / STATUS_WALL_LIMIT, 1.0)
    memory = Row(f"`upgrader {label}`: peak RSS", "MiB", rss[label], ratio_to=f"of {STATUS_RSS_LIMIT:g} MiB",
                 target=f"≤ {STATUS_RSS_LIMIT:g} MiB", key="cron.status.rss")
    judge(memory, memory.median / STATUS_RSS_LIMIT, 1.0)
    result.rows += [wall, memory]
    if not TIME.exists():
        for row in result.rows:
            if row.unit == "MiB":
                row.note = "an upper bound: GNU time (/usr/bin/time) is not installed (apt-get install time)"
    result.extra.append(importtime_table(http_root, "run", "--cron", feed=" (HTTP feed)"))
    result.extra.append(importtime_table(file_root, "run", "--cron", feed=" (file:// feed)"))
    result.extra.append(importtime_table(file_root, "status", "--json"))
    result.method = (
        "Two server roots, each with one project at the newest release of its feed: the feed lists "
        "1.0.0 and 1.1.0 (unsigned, no serial), and 1.1.0 is installed (by a download → verify → "
        "extract workflow, so no Docker is needed; then `workflow: upgrade` is set again, as on a real "
        "server). One project reads its feed over HTTP from the suite's own server on 127.0.0.1 "
        "(`benchmarks/httpserve.py`, in the benchmark process), the other as a `file://` URL. Nothing "
        "is exported, so the run does not ask Docker about the stack. Measured in turn, in each "
        "repetition: a bare `python -c pass` of the interpreter the installed `.venv/bin/upgrader` "
        "console script runs, `upgrader run --cron` through the HTTP feed, `run --cron` through the "
        "`file://` feed, and `status --json`; each is a fresh process with stdin closed, as cron starts "
        "it, without PYTHONDONTWRITEBYTECODE (so the bytecode cache is the one a server has); one "
        "warm-up run of each first. Wall time is spawn to exit; the two `run --cron` rows are judged as "
        "their median over the median of `python -c pass` measured alternately with them, because "
        "this machine's absolute times move with its load. Peak RSS is the maximum resident set size "
        "as GNU time reports it (`/usr/bin/time -f %M`, which forks the command: taken straight from "
        "a child of the large benchmark process, `ru_maxrss` would start at the parent's size). "
        "`run --cron` must exit 0 and print nothing. The `python -X importtime` tables are single "
        "runs of the same commands (importtime itself slows imports down).")
