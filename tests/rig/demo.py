"""``make demo``: a sample server upgraded before your eyes, on this machine only.

Starts the rig (a registry on 127.0.0.1:5000, images built FROM scratch around busybox),
publishes releases 1.0.0 and 1.1.0 into a file:// feed under ``.demo/``, installs 1.0.0 and
upgrades it to 1.1.0 with the live view. The registry is left running so that
``upgrader rollback`` can be tried afterwards.

Each clone's demo is a Compose project of its own (``demo-<hash of the clone's path>``), so a
second clone's demo never touches the first's; it serves on 127.0.0.1:18080, or on a free port
when that one is taken.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rig import answer, free_port, release_archive, write_index

HERE = Path(__file__).resolve().parents[2]
DEMO = HERE / ".demo"
NAME = "demo-" + hashlib.sha256(str(HERE).encode()).hexdigest()[:6]


def _port(preferred: int = 18080) -> int:
    """``preferred`` when nothing listens there (the previous demo of this clone is gone by
    then), else a free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def upgrader(*args: str) -> int:
    command = [str(Path(sys.executable).with_name("upgrader")), "--root", str(DEMO / "root"), *args]
    print("$ upgrader " + " ".join(args), flush=True)
    return subprocess.call(command)


def main() -> int:
    from rig import Rig  # the same builders as the tests

    DEMO.mkdir(exist_ok=True)
    say("starting the registry on 127.0.0.1:5000 and building the sample images")
    rig = Rig(DEMO)
    rig.registry.start()  # left running after the demo, for `upgrader rollback`
    entries = []
    for version in ("1.0.0", "1.1.0"):
        rig.publish_images(version)
        entries.append(release_archive(rig.feed_dir / f"acme-server-{version}.tar.gz", version))
    write_index(rig.feed_dir, entries)
    feed = rig.feed_dir

    root = DEMO / "root"
    if root.exists():
        say("removing the previous demo's server")
        from rig import remove_project

        for old in (root / "projects").iterdir() if (root / "projects").is_dir() else ():
            remove_project(old.name)
        shutil.rmtree(root)
    port = _port()
    project = root / "projects" / NAME
    project.mkdir(parents=True)
    (project / "project.yaml").write_text(
        f"feed: {feed.as_uri()}/\nworkflow: upgrade\nhealth_timeout: 60\nvalues:\n  HTTP_PORT: \"{port}\"\n")

    say("installing release 1.0.0")
    if upgrader("run", "--to", "1.0.0") != 0:
        return 1
    print(f"http://127.0.0.1:{port}/version answers: {answer(port)}")

    say("upgrading to the newest release, 1.1.0, with the live view")
    started = time.monotonic()
    if upgrader("run") != 0:
        return 1
    print(f"http://127.0.0.1:{port}/version answers: {answer(port)} "
          f"({time.monotonic() - started:.1f} s in all)")
    upgrader("history")
    say("try it yourself")
    print(f"  export UPGRADER_ROOT={root}\n"
          "  upgrader status\n  upgrader rollback      # back to 1.0.0\n  upgrader check\n"
          f"  curl http://127.0.0.1:{port}/version\n"
          f"The registry keeps running for that; stop it with: pkill -f 'docker-registry serve {DEMO}'")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DOCKER_CLI_HINTS", "false")
    raise SystemExit(main())
