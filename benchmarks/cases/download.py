"""Case 3, download: a 1 GiB archive of random data over HTTP on 127.0.0.1, upgrader's download
(sha256 computed as the bytes arrive) against ``curl -s URL | sha256sum``; and a download
interrupted halfway, then resumed: bytes the server sent in all ÷ the archive's size."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import statistics
import subprocess
import time
from pathlib import Path

import yaml

from benchmarks.common import (
    PYTHON,
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
from benchmarks.httpserve import SendfileServer

NAME = "bench-download"
DOWNLOAD_WORKFLOW = {
    "name": "download-only",
    "description": "the download step alone (the archive is random bytes, not a release package)",
    "initial": "idle",
    "final": "downloaded",
    "states": ["idle", "downloaded"],
    "steps": [{"name": "download", "from": "idle", "to": "downloaded", "action": "download"}],
}


def cached_archive(folder: Path, size: int) -> tuple[Path, str]:
    """A file of ``size`` random bytes in the cache (made once) and its sha256."""
    from tests.rig import write_random

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"archive-{size // MiB}MiB.bin"
    sidecar = path.with_name(path.name + ".sha256")
    if path.is_file() and path.stat().st_size == size and sidecar.is_file():
        return path, sidecar.read_text().split()[0]
    write_random(path, size)
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(MiB), b""):
            digest.update(chunk)
    sidecar.write_text(f"{digest.hexdigest()}  {path.name}\n")
    return path, digest.hexdigest()


def warm(path: Path) -> None:
    """Read the archive once, so that every client is served from the page cache alike."""
    with open(path, "rb") as stream:
        while stream.read(8 * MiB):
            pass


def run(bench: Bench) -> CaseResult:
    from tests.rig import write_index

    size = (64 if bench.quick else 1024) * MiB
    result = CaseResult("download", f"Download: a {size // MiB} MiB archive over HTTP on 127.0.0.1")
    archive, sha256 = cached_archive(bench.cache / "download", size)
    write_index(archive.parent, [{"version": "1.0.0", "archive": archive.name, "sha256": sha256,
                                  "size": size}])
    warm(archive)
    work = fresh(bench.work / "download")
    workflow = work / "download.yaml"
    workflow.write_text(yaml.safe_dump(DOWNLOAD_WORKFLOW, sort_keys=False))
    server = SendfileServer(archive.parent).start()
    url = server.url + archive.name
    throughput: dict[str, list[float]] = {"null": [], "curl": [], "sha256sum": [], "direct": [], "step": []}
    try:
        for repetition in range(bench.reps(3, 2)):
            bench.log(f"  download repetition {repetition + 1}")
            sample = measure(["curl", "-sf", "-o", "/dev/null", url]).check("curl -o /dev/null")
            throughput["null"].append(size / MiB / sample.wall)

            sample = measure(["bash", "-c", f"set -o pipefail; curl -sf '{url}' | sha256sum"]).check(
                "curl | sha256sum")
            if sample.stdout.split()[0] != sha256:
                raise BenchError(f"curl | sha256sum gave {sample.stdout.split()[0]}, expected {sha256}")
            throughput["curl"].append(size / MiB / sample.wall)

            sample = measure(["sha256sum", archive]).check("sha256sum")
            throughput["sha256sum"].append(size / MiB / sample.wall)

            # The two that write 1 GiB to disk take turns going first: this VM's write speed varies.
            for who in ("direct", "step") if repetition % 2 == 0 else ("step", "direct"):
                if who == "direct":
                    dest = fresh(work / "direct") / archive.name
                    sample = measure([PYTHON, "-m", "benchmarks.fetch", url, dest, str(size), sha256]).check(
                        "Feed.download")
                    throughput["direct"].append(size / MiB / json.loads(sample.stdout)["seconds"])
                    shutil.rmtree(dest.parent)
                else:
                    root = fresh(work / "root")
                    write_project(root, NAME, {"feed": server.url, "workflow": str(workflow)})
                    upgrader(root, NAME, "run", "--cron").check("upgrader run (download step)")
                    seconds = step_seconds(last_run_journal(root, NAME), "download")
                    throughput["step"].append(size / MiB / seconds)
                    shutil.rmtree(root)

        killed: list[float] = []
        killed_at: list[float] = []
        dropped: list[float] = []
        for repetition in range(bench.reps(3, 1)):
            bench.log(f"  resume repetition {repetition + 1}")
            ratio, at = resume_after_kill(server, url, work, size, sha256)
            killed.append(ratio)
            killed_at.append(at)
            dropped.append(resume_after_drop(server, url, work, size, sha256))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    baseline = Row("`curl -s URL | sha256sum` (baseline)", "MiB/s", throughput["curl"], higher_is_better=True)
    step = Row("upgrader: the `download` step of a workflow run", "MiB/s", throughput["step"],
               ratio_to="× curl | sha256sum", target="≥ 0.8 × curl", key="download.throughput",
               higher_is_better=True, note="step_started → step_done in the journal")
    judge(step, step.median / baseline.median, 0.8, at_least=True)
    direct = Row("upgrader: `Feed.download` called directly", "MiB/s", throughput["direct"],
                 ratio_to="× curl | sha256sum", higher_is_better=True,
                 note="timed inside the process, imports excluded")
    direct.ratio = direct.median / baseline.median
    ceiling = Row("for scale: `curl -s -o /dev/null URL` (no hashing)", "MiB/s", throughput["null"],
                  higher_is_better=True, note="what the server and loopback can carry")
    hashing = Row("for scale: `sha256sum FILE` of the cached archive (no network)", "MiB/s",
                  throughput["sha256sum"], higher_is_better=True,
                  note="coreutils' SHA-256 (gnulib C code) is several times slower than OpenSSL's, "
                       "which Python's hashlib uses: it bounds the curl pipeline")
    kill = Row("resumed after SIGKILL at ~50 %: bytes sent ÷ archive", "×", killed,
               ratio_to="× archive", target="≤ 1.1", key="download.resume.kill",
               note=f"killed when the server had sent ≥ 50 %; .part then held "
                    f"{min(killed_at):.1%}–{max(killed_at):.1%}; fetched twice: "
                    f"{(statistics.median(killed) - 1) * size / MiB:.1f} MiB (median)")
    judge(kill, kill.median, 1.1)
    drop = Row("resumed after the server cut the connection at 50 %", "×", dropped,
               ratio_to="× archive", target="≤ 1.1", key="download.resume.drop",
               note="one process: download fails (retryable), called again as the step's retry does")
    judge(drop, drop.median, 1.1)
    result.rows = [baseline, step, direct, ceiling, hashing, kill, drop]
    result.method = (
        f"The archive is {size // MiB} MiB of random bytes made once in `{bench.cache / 'download'}` "
        "(outside git) and read once before the first sample so that every client is served from the "
        "page cache. The server is the suite's own (`benchmarks/httpserve.py`): Python's "
        "`http.server` request handling with the body sent by `os.sendfile` (Python's stock file "
        "handler copies 64 KiB at a time through the interpreter), supporting `Range: bytes=N-` and "
        "counting every body byte it sends. curl's figure is the wall time of `bash -c 'curl -sf URL | "
        "sha256sum'` (process start included; the digest is checked). upgrader's judged figure is the "
        "`download` step of a real `upgrader run --cron` whose workflow is that one step (project feed "
        "on the same server; its time from the journal's `step_started`/`step_done`, millisecond "
        "resolution): streaming to `downloads/<project>/<version>/<archive>.part`, sha256 as the "
        "bytes arrive, size and checksum checked, fsync, rename. `Feed.download` called directly (`python -m "
        "benchmarks.fetch`) is shown beside it. Resumed download: `benchmarks.fetch` is started, "
        "SIGKILLed as soon as the server has sent half the archive, and started again (it resumes "
        "from the `.part` with a Range request); in the second variant the server closes the "
        "connection after half the archive and the same process calls `download` again (as the "
        "step's retry policy does). The ratio is every body byte the server sent ÷ the archive's "
        "size. The samples of the five throughput measurements are interleaved (the two upgrader ones "
        "alternate which goes first). Both upgrader figures include writing the archive to disk, "
        "which curl's pipeline does not do; this VM's buffered write speed varies between ~250 and "
        "~550 MB/s from one GiB to the next, which is most of their spread.")
    return result


def resume_after_kill(server: SendfileServer, url: str, work: Path, size: int,
                      sha256: str) -> tuple[float, float]:
    dest = fresh(work / "resume") / url.rsplit("/", 1)[1]
    server.reset()
    process = subprocess.Popen([str(PYTHON), "-m", "benchmarks.fetch", url, str(dest), str(size), sha256],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while server.sent < size // 2:
        if process.poll() is not None:
            raise BenchError(f"the download ended before it was interrupted: {process.communicate()[1]!r}")
        if time.monotonic() > deadline:
            process.kill()
            raise BenchError("the download did not reach half the archive in 600 s")
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    part = dest.with_name(dest.name + ".part")
    held = part.stat().st_size / size if part.exists() else 0.0
    measure([PYTHON, "-m", "benchmarks.fetch", url, dest, str(size), sha256]).check("resumed Feed.download")
    if len(server.requests) != 2 or server.requests[1][1] == 0:
        raise BenchError(f"expected a second request with a Range, the server saw {server.requests}")
    ratio = server.sent / size
    shutil.rmtree(dest.parent)
    return ratio, held


def resume_after_drop(server: SendfileServer, url: str, work: Path, size: int, sha256: str) -> float:
    dest = fresh(work / "resume") / url.rsplit("/", 1)[1]
    server.reset()
    server.drop_at = size // 2
    sample = measure([PYTHON, "-m", "benchmarks.fetch", url, dest, str(size), sha256, "--retries", "1"])
    sample.check("Feed.download with one retry")
    if json.loads(sample.stdout)["tries"] != 2:
        raise BenchError(f"the download was not interrupted: {sample.stdout}")
    ratio = server.sent / size
    shutil.rmtree(dest.parent)
    return ratio
