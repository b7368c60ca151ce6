"""The machine a bench run measured: CPU, memory, kernel, disk, Docker, Compose, Python, load."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def _output(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unavailable"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _disk(path: Path) -> str:
    source = _output(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", str(path)])
    if source == "unavailable":
        return "unknown"
    device, _, fstype = source.partition(" ")
    name = Path(device).name
    detail = ""
    block = Path("/sys/class/block") / name
    try:
        rotational = (block / "queue" / "rotational").read_text().strip()
        if name.startswith("vd"):
            detail = f"virtio block device (the VM reports rotational={rotational}; the host's medium is unknown)"
        else:
            detail = "rotating disk" if rotational == "1" else "SSD / non-rotating"
    except OSError:
        detail = "type unknown"
    return f"{device} ({fstype.strip()}), {detail}"


def compose_version() -> str:
    try:
        from upgrader.runtime import compose

        argv = list(compose.command())
    except Exception as error:  # shown in the report as it is
        return f"unavailable ({error})"
    return f"{_output([*argv, 'version', '--short'])} (`{' '.join(argv)}`)"


def code_version() -> str:
    """The commit of upgrader/ and workflows/ that is measured, and whether they have changes."""
    repository = str(Path(__file__).resolve().parents[1])
    commit = _output(["git", "-C", repository, "rev-parse", "--short", "HEAD"])
    if os.environ.get("UPGRADER_BENCH_CODE"):
        measured = os.environ.get("UPGRADER_BENCH_COMMIT", commit)
        return (f"commit {measured}, exported with `git archive` (`--snapshot`: changes in the "
                "working tree are not measured)")
    status = subprocess.run(["git", "-C", repository, "status", "--porcelain", "--", "upgrader", "workflows"],
                            capture_output=True, text=True, check=False)
    dirty = status.returncode == 0 and bool(status.stdout.strip())
    return f"commit {commit}" + (" with uncommitted changes in upgrader/ or workflows/" if dirty else "")


def describe(scratch: Path) -> list[tuple[str, str]]:
    load = os.getloadavg()
    return [
        ("CPU", f"{_cpu_model()}, {os.cpu_count()} cores"),
        ("Memory", _memory()),
        ("Kernel", f"{platform.system()} {platform.release()}"),
        ("Disk (scratch and cache)", _disk(scratch)),
        ("Docker Engine", _output(["docker", "version", "--format", "{{.Server.Version}}"])),
        ("Docker Compose", compose_version()),
        ("Python", f"{platform.python_version()} ({sys.executable})"),
        ("upgrader", code_version()),
        ("Load average at start (1, 5, 15 min)", ", ".join(f"{value:.2f}" for value in load)),
    ]
