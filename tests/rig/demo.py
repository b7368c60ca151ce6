"""``make demo``: a sample server upgraded before your eyes, on this machine only.

Starts the rig (a registry on 127.0.0.1:5000, images built FROM scratch around busybox), then
goes through the loop a vendor and an operator go through, with upgrader's commands only: the
vendor makes a signing key (``release keygen``), packs releases 1.0.0 and 1.1.0 from release
folders (``release pack --pin-digests``) and publishes them into a signed feed under ``.demo/``
(``release publish``); the operator sets the server up (``init``), installs 1.0.0 and upgrades it
to 1.1.0 with the live view. The registry is left running so that
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

from rig import PRODUCT, answer, compose_file, free_port

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


def upgrader(*args: str, root: bool = True) -> int:
    command = [str(Path(sys.executable).with_name("upgrader")), *(("--root", str(DEMO / "root")) if root else ()),
               *args]
    print("$ upgrader " + " ".join(args), flush=True)
    return subprocess.call(command)


def public_key(keyfile: Path) -> str:
    print(f"$ upgrader release keygen {keyfile}", flush=True)
    made = subprocess.run([str(Path(sys.executable).with_name("upgrader")), "release", "keygen", str(keyfile)],
                          capture_output=True, text=True, check=True)
    print(made.stdout, end="", flush=True)
    return made.stdout.strip()


def release_folder(version: str, port: int) -> Path:
    """A vendor's release folder: compose.yaml, defaults.env, config/."""
    folder = DEMO / "vendor" / version
    (folder / "config").mkdir(parents=True)
    (folder / "compose.yaml").write_text(compose_file(version))
    (folder / "defaults.env").write_text(f"HTTP_PORT={port}\n")
    (folder / "config" / "app.conf").write_text(f"version={version}\n")
    return folder


def main() -> int:
    from rig import Rig  # the same builders as the tests

    DEMO.mkdir(exist_ok=True)
    say("starting the registry on 127.0.0.1:5000 and building the sample images")
    rig = Rig(DEMO)
    rig.registry.start()  # left running after the demo, for `upgrader rollback`
    for version in ("1.0.0", "1.1.0"):
        rig.publish_images(version)  # building and pushing images is the vendor's CI, not upgrader's

    root = DEMO / "root"
    if root.exists():
        say("removing the previous demo's server")
        from rig import remove_project

        for old in (root / "projects").iterdir() if (root / "projects").is_dir() else ():
            remove_project(old.name)
        shutil.rmtree(root)
    for previous in (DEMO / "vendor", rig.feed_dir):
        shutil.rmtree(previous, ignore_errors=True)
    rig.feed_dir.mkdir()
    port = _port()

    say("the vendor: a signing key, two releases packed and published into a signed feed")
    vendor = DEMO / "vendor"
    vendor.mkdir()
    key = public_key(vendor / "feed.key")
    for version in ("1.0.0", "1.1.0"):
        if upgrader("release", "pack", str(release_folder(version, port)), "--version", version, "--product",
                    PRODUCT, "--out", str(vendor), "--pin-digests", root=False) != 0:
            return 1
        if upgrader("release", "publish", str(vendor / f"{PRODUCT}-{version}.tar.gz"), "--feed",
                    str(rig.feed_dir), "--key", str(vendor / "feed.key"), root=False) != 0:
            return 1
    if upgrader("release", "verify", str(rig.feed_dir), "--public-key", key, root=False) != 0:
        return 1

    say("the operator: the server set up from the feed")
    (root / "projects").mkdir(parents=True)
    if upgrader("init", "-n", NAME, "--feed", rig.feed_dir.as_uri() + "/", "--public-key", key) != 0:
        return 1

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
