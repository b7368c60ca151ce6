"""docs/performance.md: written by the runner, never by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from benchmarks.common import CaseResult, Row, fmt

# What bounds a target that is missed: filled from profiling (see the report's last section).
# Keyed by Row.key; a missed target without a note says so.
_CRON_IMPORTS = """\
Bounded by start-up imports (the importtime tables in section 2). Since issue 14 an idle run no \
longer imports what only a run that works needs: requests (only for an http(s) feed), tenacity \
(the index is retried by a loop), filelock (the lock is a plain `flock(2)`), fastjsonschema (the \
generated validators raise their own exceptions), the action modules (a workflow is checked \
against `actions.NAMES`), subprocess and ctypes (until a program is started), `upgrader.cron`; \
YAML without an alias is parsed by libyaml; the command line is parsed by a parser of the named \
command alone (`cli.parse`: building all 17 cost more than the run's work). About 190 modules \
are left for a `file://` feed (390 before). What bounds it now is what the work needs as \
written: PyYAML (`import yaml` loads every pure-Python module of the package and compiles the \
reader's Unicode regexes even when libyaml parses, ~13–15 ms under importtime), argparse itself, \
logging and logging.handlers (the cron log, ~12 ms), dataclasses (inspect, ast, dis: ~7 ms), \
semver (~4 ms), pathlib, typing, hashlib, and upgrader's own 23 modules (~17 ms: dataclass \
methods generated and regexes compiled at import). On this machine the standard-library part \
alone, `python -c "import argparse, logging, dataclasses, pathlib, json, yaml, re, typing, \
datetime"`, took 55 ms over a bare interpreter (3.9 ×) while the other suites ran. Reaching 4 × \
needs an idle path that does not import these: e.g. project.yaml and the workflow cached as JSON \
beside the state, keyed by their sha256 (no PyYAML), and no dataclasses on the idle path. Those \
change how upgrader reads its configuration, and are left to a decision.
"""

_CRON_HTTP = _CRON_IMPORTS + """
Through an HTTP feed, `requests` adds its own imports (requests, urllib3, http.client, ssl, \
email, charset_normalizer, idna, http.cookiejar: the gap between the two `run --cron` rows, and \
~8 MiB of the peak RSS). A fetch of index.json with the standard library (`http.client`, which \
still imports ssl and email) would save part of it, but only by re-implementing what requests \
does for the feed today: proxies from the environment with its NO_PROXY rules, certifi's CA \
bundle (not the system store) or `ca_bundle`, `~/.netrc` credentials, redirects that drop the \
token off the feed's host, gzip bodies, and the error messages `feed.py` words from urllib3's \
exceptions. Not done: it is a second HTTP client to keep identical to the first.
"""

_DOWNTIME = (
    "The step table of section 1 says which of upgrader's steps the downtime is spent in. Two things "
    "bound any reading of it: the poller's resolution (50 ms, ±0.03 in a ratio to a 1.6 s figure), and "
    "Compose's own spread on this shared machine: the same `compose up` has had medians from 0.9 to 1.7 s "
    "from one run of the suite to the next, in upgrader's `start` and in the runs by hand alike; the "
    "ratios are of samples taken in the same run, alternating, to absorb it."
)

_SNAPSHOT_DOWNTIME = (
    "The snapshot itself is a small part of it: its second pass (`snapshot` in the step table of its "
    "section) copies only what changed since `warm`, and the same upgrade with snapshots off, on the same "
    "stack and data, is measured beside it: what is left is the `upgrade` workflow's own gap to the floor "
    "(section 1, and its note), plus the poller's resolution (50 ms, about 3 % of the floor: one poll more "
    "or less is ±0.03 in the ratio). Inside the `snapshot` step: the running-writer check, a walk with one "
    "lstat per entry, the changed files copied and hashed, the listing written back (the first pass's is "
    "kept in memory, not read again), and one `syncfs` of the snapshot's filesystem (not `sync` of every "
    "disk). The walk and the listing grow with the number of files, not their size: a volume of many "
    "small files pays more of its second pass in the downtime."
)

NOTES: dict[str, str] = {
    "snapshot.downtime": _SNAPSHOT_DOWNTIME,
    "cron.run_file.wall": _CRON_IMPORTS,
    "cron.run_http.wall": _CRON_HTTP,
    "stack.upgrade": "The phase table of section 7 says where each second goes. Both figures hold "
    "Docker's first healthcheck of db, one `interval` (1 s) after it starts (Docker Engine 20.10 has no "
    "`start_interval`; a stack with the more common 5–30 s interval waits that long instead, in upgrader "
    "and in the floor alike), and Compose's own waits on `depends_on` (it notices a healthy db and an "
    "exited migrate by polling). The poller's resolution is 50 ms (0.25 s while the port is open and "
    "nothing answers).",
    "cron.status.wall": "The same cause as `run --cron`'s: start-up imports (`status` never imports "
    "feed.py; it reads and validates run.json, installed.json and quarantine.json).",
    "cron.run_file.rss": "The imported modules are the memory.",
    "cron.run_http.rss": "The imported modules are the memory: requests, urllib3, ssl and their "
    "dependencies are ~8 MiB of it (the gap to the `file://` row); see the wall-time note.",
    "cron.status.rss": "As for `run --cron`: the imported modules.",
    "downtime.upgrade.floor": _DOWNTIME,
    "downtime.upgrade.inplace": _DOWNTIME,
    "pull.ratio": "Profiled with py-spy (500 Hz) over the whole run: in the pull step, decoding the "
    "engine's progress events and the progress callbacks are ~2 % of the samples, importing the "
    "docker SDK and connecting (`runtime.engine.client`) ~30–50 ms on a quiet machine, and the rest is "
    "waiting on the engine's stream, as Compose waits on it. Pulling 8 at a time instead of "
    "`PARALLEL_PULLS = 4` (`upgrader/actions/pull.py`) made no measurable difference here (2.42 s both, "
    "4 repetitions): on 2 cores the engine's layer extraction is the bottleneck for both. So a miss "
    "here is the spread of the engine itself between repetitions (Compose's own figure varies by "
    "±15 % from run to run on this shared machine), not upgrader's code; the cheap improvement is "
    "`PARALLEL_PULLS` = the number of images (capped at 8), which matters with a remote registry "
    "where pulls wait on the network rather than on extraction.",
    "download.throughput": "upgrader writes every byte to `downloads/*.part` (curl's pipeline writes "
    "nothing) and hashes in the same thread; on this VM buffered writes run at ~250 MB/s, which "
    "bounds the step.",
    "download.resume.kill": "The bytes fetched twice are the ones in flight when the process was "
    "killed: in the loopback socket's send and receive buffers (several MiB each, autotuned) and the "
    "chunk being read (up to 1 MiB); they never reached upgrader, so no client can keep them. It is a "
    "fixed ~10–15 MiB, 1–2 % of a 1 GiB archive but 15–20 % of the 64 MiB one `--quick` uses. "
    "upgrader already writes whatever arrived (`feed._arrived`, `read1`) and resumes from the exact "
    "size of the `.part`; nothing to change.",
    "download.resume.drop": "What arrived after the last write is fetched again; `feed._arrived` "
    "already writes whatever arrived.",
}

# A target met with less margin than this is explained like a missed one.
MARGIN = 0.10

# The cases as issue 7 numbers them; snapshot (DESIGN §9) and stack (issue 14) came later.
NUMBERS = {"downtime": 1, "cron": 2, "download": 3, "pull": 4, "engine": 5, "snapshot": 6, "stack": 7}


def _cell(row: Row, value: float) -> str:
    return fmt(value, row.unit)


def _spread(row: Row) -> str:
    text = f"{_cell(row, row.low)} – {_cell(row, row.high)}"
    iqr = row.iqr
    if iqr is not None:
        text += f" (IQR {_cell(row, iqr[0])} – {_cell(row, iqr[1])})"
    return text


def _result(row: Row) -> str:
    if row.met is None:
        return ""
    return "**met**" if row.met else "**missed**"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return ""
    return f"{row.ratio:.2f} {row.ratio_to}".strip()


def cell(text: str) -> str:
    """Text for a table cell: a pipe would end the cell (GitHub renders ``\\|`` as a pipe,
    inside code spans too)."""
    return text.replace("|", "\\|")


def table(rows: list[Row]) -> list[str]:
    lines = ["| measure | n | median | spread: min – max (IQR) | ratio | target | result | note |",
             "|---|---:|---:|---|---:|---|---|---|"]
    for row in rows:
        lines.append(f"| {cell(row.label)} | {len(row.samples)} | {_cell(row, row.median)} | {_spread(row)} | "
                     f"{cell(_ratio(row))} | {row.target} | {_result(row)} | {cell(row.note)} |")
    return lines


def render(results: list[CaseResult], machine: list[tuple[str, str]], command: str, started: datetime,
           seconds: float, quick: bool) -> str:
    mode = " (quick mode: fewer repetitions, smaller sizes; not the figures of record)" if quick else ""
    lines = [
        "<!-- Generated by benchmarks/ (python -m benchmarks); do not edit: run `make bench` again. -->",
        "# Performance",
        "",
        f"Generated by `{command}` on {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC, in "
        f"{seconds / 60:.1f} minutes{mode}. "
        "This file is written by the benchmark runner (`benchmarks/`, issue 7); edit the runner, not "
        "the file. Every figure is the median of several repetitions made in the same run, with its "
        "spread; ratios are of medians.",
        "",
        "## Targets",
        "",
        "| target | measured | use of the target | result |",
        "|---|---|---:|---|",
    ]
    judged = [row for result in results for row in result.rows if row.met is not None]
    for row in judged:
        lines.append(f"| {cell(row.label)}: {row.target} | {_cell(row, row.median)}"
                     + (f" ({cell(_ratio(row))})" if row.ratio is not None and row.unit != "×" else "")
                     + f" | {_use(row)} | {_result(row)} |")
    for result in results:
        if result.error:
            lines.append(f"| {result.title} | not measured: the case failed | | **error** |")
    lines += ["", "## The machine", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in machine]
    lines.append("")
    lines.append("Other test suites may have been running on the same machine at the same time (the load "
                 "average above says how busy it was); the medians and the spread are meant to absorb that.")
    for result in results:
        number = NUMBERS.get(result.key, "")
        lines += ["", f"## {number}. {result.title}" if number else f"## {result.title}", ""]
        if result.error:
            lines += ["**This case failed and was not measured:**", "", "```", result.error.strip(), "```"]
            continue
        lines += table(result.rows)
        for block in result.extra:
            lines += ["", block]
        if result.method:
            lines += ["", f"*How:* {result.method}"]
        lines += ["", f"*Case time: {result.seconds:.0f} s.*"]
    missed = [row for row in judged if not row.met]
    close = [row for row in judged if row.met and (row.use or 0) > 1 - MARGIN]
    lines += ["", "## What bounds the missed targets", ""]
    if not missed:
        lines.append("Every target was met in this run.")
    lines += _explained(missed)
    if close:
        lines += ["", f"## Targets met by less than {MARGIN:.0%}", "",
                  "On this shared machine these can go either way from one run to the next; what "
                  "bounds them:", ""]
        lines += _explained(close)
    return "\n".join(lines).rstrip() + "\n"


def _use(row: Row) -> str:
    return f"{row.use:.0%}" if row.use is not None else ""


def _explained(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        note = " ".join(filter(None, [row.bounds, NOTES.get(row.key, "" if row.bounds else "Not profiled yet.")]))
        lines += [f"**{row.label}** ({row.target}; measured {_cell(row, row.median)}"
                  + (f", {_ratio(row)}" if row.ratio is not None and row.unit != "×" else "")
                  + f", {_use(row)} of the target): " + note, ""]
    return lines
