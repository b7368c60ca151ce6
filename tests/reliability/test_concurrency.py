"""Concurrency (issue 6 §2): ten runs started at once on one project make one upgrade and nine
exit 75; runs on two projects of one root proceed independently."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.reliability.harness import Baseline, RelProject, check_invariant, hold_workflow, wait_until

from .conftest import ProjectFactory

EXIT_LOCKED = 75


def test_ten_runs_at_once_make_one_upgrade(project: RelProject) -> None:
    """10 `run` processes started at once: exactly one upgrades, nine exit 75 with one line naming
    the holder; one history entry; state valid."""
    project.install("1.0.0")
    project.seed_volume()
    project.publish("1.1.0", extra={"config/blob.bin": os.urandom(1 << 20)})
    project.behave(project.archive_path("1.1.0"), rate=512 << 10)  # the winner holds the lock a while
    baseline = Baseline.take(project)
    history_before = len(project.history())

    processes = [subprocess.Popen(project.argv("run"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=project.env()) for _ in range(10)]
    results = [(process.wait(timeout=240), *process.communicate()) for process in processes]

    codes = collections.Counter(code for code, _, _ in results)
    assert codes == {0: 1, EXIT_LOCKED: 9}, results
    for code, stdout, stderr in results:
        if code == EXIT_LOCKED:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("upgrader: error: "), stderr
            assert "is locked by upgrader pid" in lines[0], lines[0]
            assert stdout == ""
    check_invariant(baseline, versions=["1.1.0"], outcome="completed")
    history = project.history()
    assert len(history) == history_before + 1 and history[0]["outcome"] == "completed", history


@pytest.mark.parametrize("products", ["same-product", "two-products"])
def test_two_projects_in_one_root_proceed_independently(make_project: ProjectFactory, tmp_path, products: str):
    """Two projects under one root (one server folder): both run at the same time, each to its
    release; neither waits for, nor breaks, the other. With two products, both have a 1.1.0."""
    root = tmp_path / "shared-root"
    first = make_project("a", root=root)
    second = make_project("b", root=root, product="beta-server" if products == "two-products" else "acme-server")
    for project in (first, second):
        project.configure("upgrade")
        project.install("1.0.0")
        project.seed_volume()
        project.publish("1.1.0")
    baselines = [Baseline.take(project) for project in (first, second)]

    runs = [project.spawn("run") for project in (first, second)]
    for process in runs:
        process.wait(timeout=240)
    outputs = [project.output_of(process) for project, process in zip((first, second), runs, strict=True)]
    assert [process.returncode for process in runs] == [0, 0], "\n".join(outputs)
    for baseline in baselines:
        check_invariant(baseline, versions=["1.1.0"], outcome="completed")


@pytest.mark.slow
def test_a_project_held_mid_run_does_not_block_another(make_project: ProjectFactory, tmp_path):
    """While one project's run holds its lock (paused in the middle of its downtime), another
    project of the same root upgrades from start to end; then the first finishes too."""
    root = tmp_path / "shared-root"
    first, second = make_project("a", root=root), make_project("b", root=root)
    for project in (first, second):
        project.configure("classic")
        project.install("1.0.0")
        project.publish("1.1.0")
    hold = hold_workflow("classic", "stopped", first.test_dir)
    first.configure(hold.path)
    baselines = [Baseline.take(project) for project in (first, second)]

    held = first.spawn("run")
    wait_until(lambda: hold.reached() or held.poll() is not None, 120, "the first run holds")
    began = time.monotonic()
    result = second.cli("run")
    assert result.returncode == 0, result.output
    assert held.poll() is None, "the first run ended while it was held"
    assert first.status()["lock"] is not None
    hold.let_go()
    held.wait(timeout=240)
    assert held.returncode == 0, first.output_of(held)
    assert time.monotonic() - began < 240
    for baseline in baselines:
        check_invariant(baseline, versions=["1.1.0"], outcome="completed")


def test_pruning_one_project_keeps_another_projects_release(make_project: ProjectFactory, tmp_path):
    """Two projects of one root: one runs 1.0.0, the other moves on to 1.2.0 and prunes with
    --keep 0. The release the first project runs (and its downloads) stay; it still serves and can
    roll back later."""
    root = tmp_path / "shared-root"
    staying, moving = make_project("a", root=root), make_project("b", root=root)
    for project in (staying, moving):
        project.install("1.0.0")
    baseline = Baseline.take(staying)
    running_release = Path(json.loads((staying.state / "run.json").read_text())["data"]["release_dir"])
    for version in ("1.1.0", "1.2.0"):
        moving.publish(version)
        result = moving.cli("run", "--to", version)
        assert result.returncode == 0, result.output
    pruned = moving.cli("prune", "--keep", "0")
    assert pruned.returncode == 0, pruned.output

    assert (running_release / "compose.yaml").exists(), \
        f"the release project {staying.name} runs was removed by {moving.name}'s prune: {pruned.stdout}"
    check_invariant(baseline, versions=["1.0.0"], outcome="completed")


def test_prune_does_not_remove_releases_while_another_project_runs(make_project: ProjectFactory, tmp_path):
    """Projects of one root share releases/: while another project's run holds its lock, prune
    exits 75 naming that project and removes nothing; once the run is over, prune works."""
    root = tmp_path / "shared-root"
    moving, running = make_project("a", root=root), make_project("b", root=root)
    for project in (moving, running):
        project.install("1.0.0")
        project.publish("1.1.0")
    assert moving.cli("run", "--to", "1.1.0").returncode == 0
    hold = hold_workflow("upgrade", "extracted", running.test_dir)
    running.configure(hold.path)
    held = running.spawn("run")
    wait_until(lambda: hold.reached() or held.poll() is not None, 120, "the other project's run holds")
    releases = sorted(path.name for path in (root / "releases").iterdir())

    pruned = moving.cli("prune", "--keep", "0")

    assert pruned.returncode == EXIT_LOCKED, pruned.output
    assert f"project '{running.name}' is locked by upgrader pid {held.pid}" in pruned.stderr, pruned.output
    assert sorted(path.name for path in (root / "releases").iterdir()) == releases
    hold.let_go()
    held.wait(timeout=240)
    assert held.returncode == 0, running.output_of(held)
    assert moving.cli("prune", "--keep", "0").returncode == 0
