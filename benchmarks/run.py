"""The runner: ``python -m benchmarks [--quick] [--cases a,b] [--reps N] [--output FILE]``.

Runs the selected cases one after the other (each with its repetitions), then writes the report
(docs/performance.md by default) with every case's table, the machine, and for each missed target
what bounds it. A case that fails is reported as failed and the others still run; the exit code
is 1 when a case failed (a missed target is a finding, not a failure).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import REPO, Bench, CaseResult, Row

CACHE = Path(os.environ.get("UPGRADER_BENCH_CACHE", "/var/tmp/upgrader-bench"))
# The order of the report; cheap cases first, so that a failing Docker case is reached last.
# snapshot and stack follow downtime: the same question (how long is the server down) with a data
# snapshot of 1 GiB, and with a database, a migration job and dependencies between the services.
ORDER = ("downtime", "snapshot", "stack", "cron", "download", "pull", "engine")


def _case(name: str) -> Callable[[Bench], CaseResult]:
    from benchmarks.cases import cron, download, downtime, engine, pull, snapshot, stack

    return {"downtime": downtime.run, "snapshot": snapshot.run, "stack": stack.run, "cron": cron.run,
            "download": download.run, "pull": pull.run, "engine": engine.run}[name]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and smaller sizes, for development (not the figures of record)")
    parser.add_argument("--cases", default=",".join(ORDER),
                        help=f"comma-separated, from {', '.join(ORDER)} (default: all)")
    parser.add_argument("--reps", type=int, metavar="N", help="repetitions of every case (overrides the defaults)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="where the generated archive is kept between runs and the scratch folder goes")
    parser.add_argument("--keep-work", action="store_true", help="keep the scratch folder (for debugging)")
    parser.add_argument("--snapshot", action="store_true",
                        help="measure HEAD's upgrader/, workflows/ and state/ (exported with git archive) "
                             "instead of the working tree, e.g. while others edit it")
    parser.add_argument("--from-results", type=Path, metavar="JSON",
                        help="measure nothing: write the report again from the results a run saved "
                             "(<cache>/results-latest.json, or results-quick.json), e.g. after editing "
                             "the notes")
    arguments = parser.parse_args(argv)
    arguments.case_list = [name.strip() for name in arguments.cases.split(",") if name.strip()]
    unknown = sorted(set(arguments.case_list) - set(ORDER))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    if arguments.reps is not None and arguments.reps < 1:
        parser.error("--reps must be at least 1")
    return arguments


def snapshot(folder: Path) -> None:
    """Export HEAD's package into ``folder`` and measure that: it goes first on this process's
    path and on PYTHONPATH for every process the cases start."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD", "upgrader", "workflows", "state"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    if any(name.startswith("upgrader") for name in sys.modules):
        raise SystemExit("--snapshot: upgrader was imported before the snapshot was made")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    os.environ["UPGRADER_BENCH_CODE"] = str(folder)
    os.environ["UPGRADER_BENCH_COMMIT"] = commit
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(folder))


def save(path: Path, results: list[CaseResult], machine: list[tuple[str, str]], command: str,
         started_at: datetime, seconds: float, quick: bool) -> None:
    path.write_text(json.dumps({
        "command": command, "started_at": started_at.isoformat(), "seconds": seconds, "quick": quick,
        "machine": machine, "results": [dataclasses.asdict(result) for result in results],
    }, indent=1))


def rerender(arguments: argparse.Namespace) -> int:
    from benchmarks.report import render

    saved = json.loads(arguments.from_results.read_text())
    results = []
    for data in saved["results"]:
        rows = [Row(**row) for row in data.pop("rows")]
        results.append(CaseResult(**data, rows=rows))
    text = render(results, [tuple(pair) for pair in saved["machine"]], saved["command"],
                  datetime.fromisoformat(saved["started_at"]), saved["seconds"], saved["quick"])
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(text)
    print(f"wrote {arguments.output} from {arguments.from_results}")
    return 1 if any(result.error for result in results) else 0


def main(argv: list[str] | None = None) -> int:
    arguments = parse(argv)
    if arguments.from_results is not None:
        return rerender(arguments)
    started_at = datetime.now(UTC)
    started = time.monotonic()
    arguments.cache.mkdir(parents=True, exist_ok=True)
    work = arguments.cache / f"work-{os.getpid()}"
    work.mkdir(parents=True)

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)

    if arguments.snapshot:
        snapshot(work / "code")
    bench = Bench(quick=arguments.quick, reps_override=arguments.reps, cache=arguments.cache, work=work, log=log)
    from benchmarks.machine import describe

    machine = describe(arguments.cache)
    results: list[CaseResult] = []
    try:
        for name in [case for case in ORDER if case in arguments.case_list]:
            log(f"case {name}")
            case_started = time.monotonic()
            try:
                result = _case(name)(bench)
            except Exception:  # a failed case is reported, the others still run
                result = CaseResult(name, name, error=traceback.format_exc())
                log(f"case {name} failed:\n{result.error}")
            result.seconds = time.monotonic() - case_started
            results.append(result)
            for row in result.rows:
                verdict = "" if row.met is None else ("  met" if row.met else "  MISSED")
                ratio = f"  ratio {row.ratio:.3f}" if row.ratio is not None else ""
                log(f"  {row.label}: median {row.median:.4g} {row.unit}{ratio}{verdict}")
    finally:
        bench.close()
        if not arguments.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    from benchmarks.machine import code_version
    from benchmarks.report import render

    at_end = code_version()
    machine = [(name, value if name != "upgrader" or value == at_end else
                f"{value} at the start, {at_end} at the end: the code changed during the run, "
                "so the cases may have measured different code")
               for name, value in machine]
    command = "python -m benchmarks" + "".join(f" {shlex.quote(a)}" for a in (argv if argv is not None
                                                                              else sys.argv[1:]))
    if os.environ.get("UPGRADER_BENCH_COMMAND"):
        command = os.environ["UPGRADER_BENCH_COMMAND"]
    seconds = time.monotonic() - started
    text = render(results, machine, command, started_at, seconds, arguments.quick)
    saved = arguments.cache / ("results-quick.json" if arguments.quick else "results-latest.json")
    save(saved, results, machine, command, started_at, seconds, arguments.quick)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(text)
    log(f"wrote {arguments.output}")
    return 1 if any(result.error for result in results) else 0
