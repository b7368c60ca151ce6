"""Case 4, pull: a release of 6 distinct images, upgrader's ``pull`` step against
``docker compose pull`` of the same Compose file, the images removed locally before each."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import yaml

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

NAME = "bench-pull"
IMAGES = 6
VERSION = "1.0.0"
PULL_WORKFLOW = {
    "name": "pull-only",
    "description": "download, verify, extract and pull a release; nothing is started",
    "initial": "idle",
    "final": "pulled",
    "states": ["idle", "downloaded", "verified", "extracted", "pulled"],
    "steps": [
        {"name": "download", "from": "idle", "to": "downloaded", "action": "download"},
        {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
        {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"},
        {"name": "pull", "from": "extracted", "to": "pulled", "action": "pull"},
    ],
}


def compose_yaml(images: dict[str, str]) -> str:
    services = {name: {"image": reference, "init": True, "command": ["sleep", "2147483647"]}
                for name, reference in images.items()}
    return yaml.safe_dump({"services": services}, sort_keys=False)


def release_archive(path: Path, images: dict[str, str]) -> dict[str, object]:
    files = {
        "release.json": json.dumps({"product": "acme-server", "version": VERSION,
                                    "images": sorted(images.values())}),
        "compose.yaml": compose_yaml(images),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    data = path.read_bytes()
    return {"version": VERSION, "archive": path.name, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data)}


def remove_images(references: list[str]) -> None:
    from tests.rig import local_image, remove_local_images

    remove_local_images(references)
    left = [reference for reference in references if local_image(reference)]
    if left:
        raise BenchError(f"could not remove {left} before pulling")


def run(bench: Bench) -> CaseResult:
    from tests.rig import local_image, write_index

    payload = (2 if bench.quick else 25) * MiB
    result = CaseResult("pull", f"Pull: a release of {IMAGES} images of {payload // MiB} MiB each")
    registry = bench.registry()
    images = {f"svc{number}": f"{registry}/bench/pull{number}:{VERSION}" for number in range(1, IMAGES + 1)}
    bench.log(f"  building and pushing {IMAGES} images")
    bench.publish(images, VERSION, payload)
    references = sorted(images.values())
    work = fresh(bench.work / "pull")
    feed = fresh(work / "feed")
    write_index(feed, [release_archive(feed / f"acme-server-{VERSION}.tar.gz", images)])
    workflow = work / "pull.yaml"
    workflow.write_text(yaml.safe_dump(PULL_WORKFLOW, sort_keys=False))
    export = fresh(work / "export")
    (export / "compose.yaml").write_text(compose_yaml(images))
    compose = [*bench.compose(), "-p", NAME, "--project-directory", str(export),
               "-f", str(export / "compose.yaml"), "pull", "--quiet"]
    pulled: dict[str, list[float]] = {"upgrader": [], "compose": [], "run": []}
    for repetition in range(bench.reps(5, 2)):
        bench.log(f"  pull repetition {repetition + 1}")
        order = ["upgrader", "compose"] if repetition % 2 == 0 else ["compose", "upgrader"]
        for who in order:
            remove_images(references)
            if who == "compose":
                sample = measure(compose).check("docker compose pull")
                pulled["compose"].append(sample.wall)
            else:
                root = fresh(work / "root")
                write_project(root, NAME, {"feed": feed.as_uri() + "/", "workflow": str(workflow)})
                sample = upgrader(root, NAME, "run", "--cron").check("upgrader run (pull)")
                pulled["upgrader"].append(step_seconds(last_run_journal(root, NAME), "pull"))
                pulled["run"].append(sample.wall)
            missing = [reference for reference in references if not local_image(reference)]
            if missing:
                raise BenchError(f"{who} left {missing} unpulled")
    remove_images(references)
    baseline = Row("`docker compose pull` (baseline)", "s", pulled["compose"])
    step = Row("upgrader: the `pull` step", "s", pulled["upgrader"], ratio_to="× compose pull",
               target="≤ 1.1 × compose", key="pull.ratio", note="step_started → step_done in the journal")
    judge(step, step.median / baseline.median, 1.1)
    whole = Row("upgrader: the whole run (start-up, download, verify, extract, pull)", "s", pulled["run"])
    result.rows = [baseline, step, whole]
    result.method = (
        f"{IMAGES} images built FROM scratch around busybox, each with a layer of {payload // MiB} MiB of "
        "random bytes of its own, pushed to the suite's registry on 127.0.0.1; the busybox layers are "
        "shared and stay present (the engine keeps them for other images). Before each measurement the "
        f"{IMAGES} images are removed locally (`docker rmi`, then checked absent). upgrader: a fresh "
        "server root whose workflow is download → verify → extract → pull from a `file://` feed, run "
        "by `upgrader run --cron`; the pull step's time is its `step_started` → `step_done` in the "
        "journal. Compose: the wall time of `docker compose -p bench-pull --project-directory EXPORT "
        "-f EXPORT/compose.yaml pull --quiet` with the release's Compose file (6 services). The two "
        "alternate in order between repetitions.")
    return result
