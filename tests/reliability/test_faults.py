"""The fault-injection matrix on the real rig (issue 6 §1).

For each state of both shipped workflows (``upgrade``, ``classic``), and in the middle of each long
step (download, pull, start, health), of the data snapshot's restore and of the ``down`` + ``up`` a
start Compose refused in place falls back to, and at three states of a release that renames a
service or changes the network (in place, DESIGN §13), ``upgrader run`` is SIGKILLed; then
``resume``, ``rollback`` or a later cron-style ``run --cron`` must bring the server (and its data)
to a good state. Then the whole-machine faults: the feed stopped mid-download, the
registry stopped mid-pull, the disk filling up during download, extraction or the snapshot's
second pass (the root on a small tmpfs), a "reboot" (every process killed, then the crontab's
@reboot line), and the Docker Engine restarted mid-run. After each: ``check_invariant`` (see
``harness``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.support import process_gone
from tests.reliability.harness import (
    Baseline,
    RelProject,
    SlowProxy,
    check_invariant,
    hold_workflow,
    wait_until,
)
from tests.rig import registry_up
from tests.rig.faults import Hold, KillPoint, run_with_kill_point

from .conftest import ProjectFactory

STATES = {
    "upgrade": ["idle", "downloaded", "verified", "extracted", "checked", "prefetched", "warmed", "stopped",
                "snapshotted", "exported", "pulled", "started"],
    "classic": ["idle", "downloaded", "verified", "extracted", "checked", "warmed", "stopped", "snapshotted",
                "exported", "pulled", "started"],
}
# The follow-up: its command, the release that must answer after it, the run's final status.
FOLLOW_UPS = {
    "resume": (("resume",), "1.1.0", "completed"),
    "rollback": (("rollback",), "1.0.0", "rolled_back"),
    "cron": (("run", "--cron"), "1.1.0", "completed"),
}
# The short form (make test) runs these; make reliability runs every case.
SHORT_STATES = {("upgrade", "stopped"), ("upgrade", "snapshotted")}
SHORT_MID = {("classic", "start", "rollback"), ("upgrade", "download", "resume")}
MID_STEPS = {"upgrade": ["download", "prefetch", "start", "health"],
             "classic": ["download", "pull", "start", "health"]}
PULL_STEPS = {"prefetch", "pull"}


def _param(*values: str, short: bool) -> object:
    return pytest.param(*values, id="-".join(values), marks=() if short else pytest.mark.slow)


def kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def follow_up(project: RelProject, baseline: Baseline, which: str) -> None:
    """Run the follow-up ``which`` and check the invariant with its expected release and outcome."""
    command, version, outcome = FOLLOW_UPS[which]
    result = project.cli(*command)
    assert result.returncode == 0, result.output
    if which == "cron":
        assert result.stdout == "" and result.stderr == "", f"a good cron run prints nothing\n{result.output}"
    check_invariant(baseline, versions=[version], outcome=outcome)


def installed_project(project: RelProject, workflow: str) -> RelProject:
    project.configure(workflow)
    project.install("1.0.0")
    project.seed_volume()
    return project


def held_run(project: RelProject, workflow: str, state: str,
             **release: Any) -> tuple[Baseline, Hold, subprocess.Popen[bytes]]:
    """1.1.0 published (``release``: its options), then `run` of ``workflow`` started and held at
    ``state``: the baseline taken before, the hold, and the running process."""
    project.publish("1.1.0", **release)
    hold = hold_workflow(workflow, state, project.test_dir)
    project.configure(hold.path)
    baseline = Baseline.take(project)
    process = project.spawn("run")
    wait_until(lambda: hold.reached() or process.poll() is not None, 120, f"the run holds at {state}")
    assert process.poll() is None, f"run ended ({process.returncode}) before {state}\n{project.output_of(process)}"
    return baseline, hold, process


# -- SIGKILL at every state ----------------------------------------------------------------------

STATE_CASES = [
    _param(workflow, state, which, short=(workflow, state) in SHORT_STATES)
    for workflow, states in STATES.items() for state in states for which in FOLLOW_UPS
]


@pytest.mark.parametrize(("workflow", "state", "which"), STATE_CASES)
def test_killed_at_a_state(project: RelProject, workflow: str, state: str, which: str) -> None:
    """SIGKILL `run` once the workflow's checkpoint is at STATE, then the follow-up."""
    installed_project(project, workflow)
    baseline, _, process = held_run(project, workflow, state)
    kill(process)

    status = project.status()
    assert status["interrupted"], status
    assert (status["run"]["status"], status["run"]["state"]) == ("running", state), status
    follow_up(project, baseline, which)


# -- SIGKILL while a release that changes the project's shape goes in place (DESIGN §13) --------

LAYOUT_CASES = [
    _param(layout, state, which, short=(layout, state, which) in {("renamed", "started", "rollback"),
                                                                   ("network", "started", "resume")})
    for layout in ("renamed", "network") for state in ("stopped", "exported", "started") for which in FOLLOW_UPS
]


@pytest.mark.parametrize(("layout", "state", "which"), LAYOUT_CASES)
def test_killed_while_a_changed_layout_goes_in(project: RelProject, layout: str, state: str, which: str) -> None:
    """1.1.0 renames the worker (``jobs``) or changes the default network: SIGKILL `run` at STATE,
    then the follow-up; in place or back, no container of the other release is left."""
    installed_project(project, "upgrade")
    baseline, _, process = held_run(project, "upgrade", state, layout=layout)
    kill(process)

    follow_up(project, baseline, which)


# -- SIGKILL inside the down + up a start falls back to (DESIGN §13) -------------------------------

FALLBACK_CASES = [_param(point, which, short=(point, which) == ("down", "resume"))
                  for point in ("down", "up") for which in FOLLOW_UPS]


def pruning_workflow(project: RelProject) -> Path:
    """The ``upgrade`` workflow with a step before ``start`` that removes the project's network,
    as ``docker network prune`` does to a stopped project: an unchanged service's old container
    then cannot be started in place, and ``start`` falls back to ``down`` + ``up``."""
    from upgrader.workflow import resolve

    text = resolve("upgrade", project.test_dir).read_text().replace("states: [", "states: [pruned, ").replace(
        "  - {name: start,     from: pulled,",
        f'  - {{name: prune, from: pulled, to: pruned, action: command, run: [docker, network, rm, '
        f'"{project.name}_default"]}}\n  - {{name: start,     from: pruned,')
    path = project.test_dir / "upgrade-prune.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("point", "which"), FALLBACK_CASES)
def test_killed_in_the_fallback_of_a_start(project: RelProject, point: str, which: str) -> None:
    """1.1.0's start is refused in place (a service unchanged, its old container's network
    pruned): SIGKILL inside the fallback's `down`, or its `up`, then the follow-up."""
    project.publish("1.0.0", layout="sidecar")
    result = project.cli("run", "--to", "1.0.0")
    assert result.returncode == 0, result.output
    project.seed_volume()
    project.configure(pruning_workflow(project))
    project.publish("1.1.0", layout="sidecar")
    baseline = Baseline.take(project)

    # compose.up's first call in the run is the in-place start; the fallback's is the second.
    kill_point = KillPoint(f"upgrader.runtime.compose.{point}", call=1 if point == "down" else 2, after_seconds=0.1)
    killed = run_with_kill_point(kill_point, ["--root", str(project.root), "-n", project.name, "run"],
                                 project.test_dir / "kill.json", env=project.env())

    assert killed.killed and killed.report is not None and killed.report["inside"], killed.output
    assert project.events("start_fallback", "start"), "the start never fell back"
    assert project.status()["interrupted"]
    follow_up(project, baseline, which)


# -- SIGINT or SIGTERM at every state (DESIGN §14) ------------------------------------------------

SHORT_SIGNALS = {("upgrade", "snapshotted", "SIGINT"), ("classic", "started", "SIGTERM")}
SIGNAL_CASES = [
    _param(workflow, state, name, short=(workflow, state, name) in SHORT_SIGNALS)
    for workflow, states in STATES.items() for state in states for name in ("SIGINT", "SIGTERM")
]


@pytest.mark.parametrize(("workflow", "state", "name"), SIGNAL_CASES)
def test_signalled_at_a_state(project: RelProject, workflow: str, state: str, name: str) -> None:
    """One SIGINT or SIGTERM while `run` is at STATE: the step in progress finishes, then the run
    rolls back (or, once started, completes): it ends with the server serving, exit 1 (or 0)."""
    installed_project(project, workflow)
    baseline, hold, process = held_run(project, workflow, state)
    process.send_signal(getattr(signal, name))
    time.sleep(0.2)
    hold.let_go()
    process.wait(timeout=300)
    finished = state == "started"  # only the health wait is left: it is finished, not undone
    assert process.returncode == (0 if finished else 1), project.output_of(process)
    assert name in project.output_of(process)
    check_invariant(baseline, versions=["1.1.0" if finished else "1.0.0"],
                    outcome="completed" if finished else "rolled_back")


# -- SIGKILL in the middle of a long step ---------------------------------------------------------

MID_CASES = [
    _param(workflow, step, which, short=(workflow, step, which) in SHORT_MID)
    for workflow, steps in MID_STEPS.items() for step in steps for which in FOLLOW_UPS
]


@pytest.mark.parametrize(("workflow", "step", "which"), MID_CASES)
def test_killed_in_the_middle_of_a_step(project: RelProject, workflow: str, step: str, which: str) -> None:
    """SIGKILL `run` while STEP is under way (bytes moving, compose up running, health polled)."""
    installed_project(project, workflow)
    world = project.world
    if step == "download":
        project.publish("1.1.0", extra={"config/blob.bin": os.urandom(3 << 20)})
        archive = project.archive_path("1.1.0")
        project.behave(archive, rate=512 << 10)
    elif step in PULL_STEPS:
        project.publish("1.1.0", images=world.fat_images("1.1.0-fat"))
        world.proxy.rate = 1 << 20
    else:
        project.publish("1.1.0")
    baseline = Baseline.take(project)
    since = len(project.journal())

    process = project.spawn("run")
    try:
        if step == "download":
            wait_until(lambda: world.feed.sent(archive) > 1 << 20 or process.poll() is not None, 120,
                       "1 MiB of the archive arrived")
        elif step in PULL_STEPS:
            wait_until(lambda: project.events("step_started", step, since) or process.poll() is not None,
                       120, f"step {step} started")
            proxy_before = world.proxy.sent
            wait_until(lambda: world.proxy.sent - proxy_before > 1 << 20 or process.poll() is not None, 120,
                       "1 MiB of the images arrived")
        else:
            wait_until(lambda: project.events("step_started", step, since) or process.poll() is not None,
                       120, f"step {step} started")
            if step == "health":
                time.sleep(1)
        assert process.poll() is None, f"run ended ({process.returncode}) before the kill\n{project.output_of(process)}"
        kill(process)
    finally:
        world.proxy.rate = None
        if step == "download":
            project.behave(archive)

    status = project.status()
    assert status["interrupted"], status
    assert status["run"]["status"] == "running", status
    running = [s["name"] for s in status["run"]["steps"] if s["status"] == "running"]
    assert running == [step], f"the step under way is {running}, not {step}"
    follow_up(project, baseline, which)


# -- the feed stopped mid-download --------------------------------------------------------------


@pytest.mark.slow
def test_feed_stopped_mid_download(project: RelProject) -> None:
    """The feed goes away mid-download: retried, rolled back (nothing stopped); back, the next
    cron run resumes the download where it broke off and installs the release."""
    world = project.world
    plug = SlowProxy(f"127.0.0.1:{world.feed.port}")
    port = plug.port
    feed_url = f"http://127.0.0.1:{port}/{project.name}/"
    project.configure("upgrade", feed=feed_url)
    project.install("1.0.0")
    project.seed_volume()
    project.publish("1.1.0", extra={"config/blob.bin": os.urandom(3 << 20)})
    archive = project.archive_path("1.1.0")
    plug.rate = 256 << 10
    baseline = Baseline.take(project)
    before = plug.sent
    since = len(project.journal())

    process = project.spawn("run")
    try:
        wait_until(lambda: plug.sent - before > 600 << 10 or process.poll() is not None, 60, "600 KiB arrived")
        plug.stop()  # the feed is gone: connections cut, new ones refused
        process.wait(timeout=120)
    finally:
        plug.stop()
    output = project.output_of(process)
    assert process.returncode == 1, output
    assert output.strip().splitlines()[-1].startswith("run "), output
    check_invariant(baseline, versions=["1.0.0"], outcome="rolled_back")
    assert project.status()["quarantined"] == [], "a feed that went away is a passing reason"
    retries = project.events("step_retry", "download", since)
    assert len(retries) == 4, retries

    plug = SlowProxy(f"127.0.0.1:{world.feed.port}", port=port)  # the feed is back
    try:
        world.feed.clear()
        result = project.cli("run", "--cron")
        assert result.returncode == 0 and not result.stdout and not result.stderr, result.output
    finally:
        plug.stop()
    ranges = [record.range for record in world.feed.requests(archive) if record.status == 206]
    assert ranges and ranges[0] != "bytes=0-", "the download started again from byte 0"
    check_invariant(baseline, versions=["1.1.0"], outcome="completed")


# -- the registry stopped mid-pull ---------------------------------------------------------------


def spawn_mid_pull(project: RelProject, workflow: str, rate: int) -> tuple[subprocess.Popen[bytes], Baseline]:
    """A run of ``workflow`` from 1.0.0 to a 1.1.0 with fat images through the proxy at ``rate``
    bytes a second, returned once its pull step has taken in ``rate`` bytes."""
    world = project.world
    installed_project(project, workflow)
    project.publish("1.1.0", images=world.fat_images("1.1.0-fat"))
    world.proxy.rate = rate
    baseline = Baseline.take(project)
    pull_step = "prefetch" if workflow == "upgrade" else "pull"
    since = len(project.journal())
    process = project.spawn("run")
    try:
        wait_until(lambda: project.events("step_started", pull_step, since) or process.poll() is not None, 120,
                   f"step {pull_step} started")
        before = world.proxy.sent
        wait_until(lambda: world.proxy.sent - before > rate or process.poll() is not None, 120,
                   "the pull under way")
        assert process.poll() is None, project.output_of(process)
    except BaseException:
        world.proxy.rate = None
        raise
    return process, baseline


@pytest.mark.slow
@pytest.mark.parametrize("workflow", ["upgrade", "classic"])
def test_registry_stopped_mid_pull(project: RelProject, workflow: str) -> None:
    """The registry process dies while the new images stream in: the pull is retried, then
    the run rolls back to the release that ran before; once the registry is back, a cron run
    installs the release (a passing reason quarantines nothing)."""
    world = project.world
    if not world.registry.owned:
        pytest.skip("the registry on our address was not started by this suite")
    process, baseline = spawn_mid_pull(project, workflow, rate=1 << 20)
    try:
        # The registry dies (SIGKILL): a graceful stop would let the transfers under way finish.
        registry = world.registry.process
        assert registry is not None
        registry.kill()
        registry.wait(timeout=30)
        world.registry.process = None
        world.proxy.sever()
        assert not registry_up()
        process.wait(timeout=180)
    finally:
        world.proxy.rate = None
        if not registry_up():
            world.registry.start()
    output = project.output_of(process)
    assert process.returncode == 1, output
    check_invariant(baseline, versions=["1.0.0"], outcome="rolled_back")
    assert project.status()["quarantined"] == []

    world.proxy.sever()
    result = project.cli("run", "--cron")
    assert result.returncode == 0 and not result.stdout and not result.stderr, result.output
    check_invariant(baseline, versions=["1.1.0"], outcome="completed")


# -- SIGKILL in the middle of the data's restore ---------------------------------------------------

# The follow-up of a rollback cut short, and its exit code: a resumed or carried-on rollback ends
# rolled back (exit 1: "the upgrade failed and the old release runs"), `rollback` exits 0.
RESTORE_FOLLOW_UPS = {"rollback": (("rollback",), 0), "resume": (("resume",), 1), "cron": (("run", "--cron"), 1)}


@pytest.mark.parametrize("which", [pytest.param(which, marks=() if which == "rollback" else pytest.mark.slow)
                                   for which in RESTORE_FOLLOW_UPS])
def test_killed_in_the_middle_of_the_restore(project: RelProject, which: str) -> None:
    """A release that never gets healthy is rolled back; the run is SIGKILLed (with its whole
    process group) while the restore of the data snapshot is copying; the follow-up starts the
    restore over, and the volume is again exactly what it held before the run."""
    installed_project(project, "upgrade")
    project.seed_volume(files=48)  # 48 MiB more: the restore takes long enough to be cut
    project.publish("1.1.0", healthy=False)
    baseline = Baseline.take(project)

    killed = run_with_kill_point(KillPoint("upgrader.snapshot.tree.restore", after_seconds=0.05),
                                 ["--root", str(project.root), "-n", project.name, "run"],
                                 project.test_dir / "kill.json", env=project.env())

    assert killed.killed and killed.report is not None and killed.report["inside"], killed.output
    status = project.status()
    assert status["interrupted"] and status["run"]["status"] == "rolling_back", status
    command, code = RESTORE_FOLLOW_UPS[which]
    result = project.cli(*command)
    assert result.returncode == code, result.output
    check_invariant(baseline, versions=["1.0.0"], outcome="rolled_back")
    assert project.events("snapshot_restored"), "the restore never finished"


# -- the disk filling up --------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs_root(tmp_path: Path, size: str) -> Iterator[Path]:
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(root)], check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["download", "extraction"])
def test_disk_fills_up(make_project: ProjectFactory, tmp_path: Path, where: str) -> None:
    """The root is a small tmpfs that fills up while the release downloads (a large archive) or
    while it extracts (many small files whose pages outgrow what verify counted): the run rolls
    back with one clear line, the server serves on, nothing is quarantined, no partial is left."""
    size = "1m" if where == "download" else "2m"
    with tmpfs_root(tmp_path, size) as root:
        project = make_project(root=root)
        try:
            installed_project(project, "upgrade")
            if where == "download":
                extra = {"config/blob.bin": os.urandom(3 << 20)}
            else:
                extra = {f"config/many/{index:04d}": b"x" for index in range(1500)}
            project.publish("1.1.0", extra=extra)
            baseline = Baseline.take(project)

            result = project.cli("run")

            assert result.returncode == 1, result.output
            assert "Traceback" not in result.stderr, result.output
            assert "No space left on device" in result.stdout + result.stderr, result.output
            check_invariant(baseline, versions=["1.0.0"], outcome="rolled_back")
            assert project.status()["quarantined"] == [], "a full disk is a passing reason"
            leftovers = [path.name for path in (root / "releases").iterdir() if "partial" in path.name]
            assert not leftovers, leftovers
        finally:
            project.close()


@pytest.mark.slow
def test_disk_fills_up_during_the_snapshots_second_pass(make_project: ProjectFactory, tmp_path: Path) -> None:
    """The first pass fits; then, while the old release still serves, it writes more than the disk
    holding the root has left, so the second pass (server stopped) runs out of space: the run rolls
    back, the old release starts again on its data (nothing to restore: the new release never ran),
    the incomplete snapshot is removed and the space given back."""
    with tmpfs_root(tmp_path, "40m") as root:
        project = make_project(root=root)
        try:
            installed_project(project, "upgrade")
            project.publish("1.1.0")
            hold = hold_workflow("upgrade", "warmed", project.test_dir)
            project.configure(hold.path)
            process = project.spawn("run")
            wait_until(lambda: hold.reached() or process.poll() is not None, 120, "the run holds at warmed")
            assert process.poll() is None, project.output_of(process)
            project.seed_volume(files=48)  # more than the 40 MiB tmpfs has left
            baseline = Baseline.take(project)
            hold.let_go()
            process.wait(timeout=300)

            output = project.output_of(process)
            assert process.returncode == 1, output
            assert "step snapshot failed" in output and "No space left on device" in output, output
            check_invariant(baseline, versions=["1.0.0"], outcome="rolled_back")
            assert project.events("snapshot_kept"), "the rollback should have said the data was kept"
            assert not any((root / "snapshots" / project.name).iterdir()), "the incomplete snapshot is still there"
        finally:
            project.close()


# -- a reboot ---------------------------------------------------------------------------------------


def crontab_text() -> str:
    listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return listed.stdout if listed.returncode == 0 else ""


def cron_command(line: str) -> str:
    """What cron hands to ``sh -c`` for a crontab ``line``: after its schedule, ``\\%`` → ``%`` and
    an unescaped ``%`` ends the command (the rest is its standard input)."""
    words = line.split(None, 1 if line.startswith("@") else 5)
    rest = words[-1]
    command, index = [], 0
    while index < len(rest):
        character = rest[index]
        if character == "\\" and rest[index + 1:index + 2] == "%":
            command.append("%")
            index += 2
            continue
        if character == "%":
            break
        command.append(character)
        index += 1
    return "".join(command)


def run_like_cron(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``sh -c COMMAND`` with cron's bare environment, in ``cwd`` (its HOME)."""
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "SHELL": "/bin/sh", "LOGNAME": "root"}
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=environment, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300, check=False)


@pytest.mark.slow
def test_reboot_mid_start(project: RelProject, tmp_path: Path) -> None:
    """Every upgrader process and its compose child killed while the new release starts (a power
    cut), then the command of the @reboot line that `upgrader install` wrote, run as cron runs it."""
    installed_project(project, "upgrade")
    project.publish("1.1.0")
    baseline = Baseline.take(project)
    saved = crontab_text()
    since = len(project.journal())
    process = project.spawn("run")
    wait_until(lambda: project.events("step_started", "start", since) or process.poll() is not None, 120,
               "the start step")
    assert process.poll() is None, project.output_of(process)
    killed = project.kill_everything()
    assert process.pid in killed
    assert project.status()["interrupted"]

    try:
        installed = project.cli("install")
        assert installed.returncode == 0, installed.output
        mine = [line for line in crontab_text().splitlines() if f"project={project.name}" in line]
        reboot = [line for line in mine if line.startswith("@reboot")]
        assert len(mine) == 2 and len(reboot) == 1, mine
        home = project.test_dir / "cron-home"
        home.mkdir()
        result = run_like_cron(cron_command(reboot[0]), home)
    finally:
        removed = project.cli("remove")
    assert removed.returncode == 0, removed.output
    assert f"project={project.name}" not in crontab_text()
    if crontab_text() != saved:
        # Another suite may have changed its own lines meanwhile: ours, at least, are gone.
        pass
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "" and result.stderr == "", "the @reboot resume of a good run prints nothing"
    check_invariant(baseline, versions=["1.1.0"], outcome="completed")
    assert not list(home.iterdir()), f"cron's HOME was written: {list(home.iterdir())}"


# -- the Docker Engine restarted mid-run ----------------------------------------------------------


def _foreign_containers(mine: str) -> list[str]:
    listed = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                            check=True).stdout.split()
    return [name for name in listed if not name.startswith("rel")]


def engine_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def start_engine() -> None:
    """Start dockerd detached from this process (through a shell that exits at once), as
    tests/provision.sh does, and wait until it answers."""
    subprocess.run(["sh", "-c", "setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &"], check=True)
    wait_until(engine_up, 90, "dockerd to answer again", interval=0.5)


def restart_engine() -> None:
    """Stop dockerd (SIGTERM, as `systemctl restart docker` does) and start it again."""
    systemd = subprocess.run(["systemctl", "is-active", "docker"], capture_output=True, text=True,
                             check=False).stdout.strip() == "active"
    if systemd:
        subprocess.run(["systemctl", "restart", "docker"], check=True)
        wait_until(engine_up, 90, "dockerd to answer again", interval=0.5)
        return
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True, check=False).stdout.split()
    assert len(pids) == 1, f"dockerd pids: {pids}"
    pid = int(pids[0])
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: process_gone(pid), 90, "dockerd to stop")
    start_engine()


@pytest.mark.parametrize("workflow", ["upgrade", pytest.param("classic", marks=pytest.mark.slow)])
def test_engine_restarted_mid_pull(project: RelProject, workflow: str) -> None:
    """dockerd is restarted while the new images are pulled (for classic: while the server is
    down). Whatever the run does, afterwards the server answers and status says what happened."""
    foreign = _foreign_containers(project.name)
    if foreign and not os.environ.get("RELIABILITY_RESTART_ENGINE"):
        pytest.skip(f"other suites' containers run ({', '.join(foreign[:5])}); restarting the engine "
                    "would break them (set RELIABILITY_RESTART_ENGINE=1 to force)")
    world = project.world
    process, baseline = spawn_mid_pull(project, workflow, rate=512 << 10)
    try:
        restart_engine()
        world.proxy.rate = None
        process.wait(timeout=300)
    finally:
        world.proxy.rate = None
        if not engine_up():  # never leave the machine without its engine
            start_engine()
    output = project.output_of(process)
    assert process.returncode in (0, 1), f"the run needs a person after an engine restart\n{output}"
    expected = {0: ("1.1.0", "completed"), 1: ("1.0.0", "rolled_back")}[process.returncode]
    check_invariant(baseline, versions=[expected[0]], outcome=expected[1], answer_timeout=30)
