"""A cron run with nothing to do stays light (issue 14): it imports only what its work needs.

Each check runs the installed command's code in a fresh interpreter, as cron starts it, and looks
at ``sys.modules`` when it is done: what an idle run must not import cannot creep back in through
a top-level import without a test failing. (The time it takes is the benchmark's to measure.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.rig import FeedServer, release_archive, write_index

from .support import UPGRADER

NAME = "light"
# Heavy packages a run imports only to do something: HTTP, retries, the state machine, Docker,
# the terminal, schema explanations, the action modules.
NEVER_IDLE = ("tenacity", "transitions", "docker", "rich", "jsonschema", "fastjsonschema", "filelock",
              "croniter", "apprise", "cryptography", "graphviz", "upgrader.actions.download",
              "upgrader.actions.export", "upgrader.actions.pull", "upgrader.live",
              "upgrader.runtime.engine", "upgrader.runtime.compose", "subprocess")
HTTP_ONLY = ("requests", "urllib3", "http.client", "ssl")

FETCH = {
    "name": "fetch", "initial": "idle", "final": "extracted",
    "states": ["idle", "downloaded", "verified", "extracted"],
    "steps": [{"name": "download", "from": "idle", "to": "downloaded", "action": "download"},
              {"name": "verify", "from": "downloaded", "to": "verified", "action": "verify"},
              {"name": "extract", "from": "verified", "to": "extracted", "action": "extract"}],
}

PROBE = """
import sys
from upgrader.cli import main
sys.argv = ["upgrader", *sys.argv[1:]]
code = main()
print("\\n" + " ".join(sorted(sys.modules)))
raise SystemExit(code)
"""


def up_to_date(tmp_path: Path) -> tuple[Path, Path]:
    """A root whose project has the newest release of its file:// feed installed; (root, feed)."""
    root, feed = tmp_path / "root", tmp_path / "feed"
    feed.mkdir()
    write_index(feed, [release_archive(feed / f"app-{version}.tar.gz", version) for version in ("1.0.0", "1.1.0")])
    (tmp_path / "fetch.yaml").write_text(yaml.safe_dump(FETCH))
    folder = root / "projects" / NAME
    folder.mkdir(parents=True)
    settings = {"feed": feed.as_uri() + "/", "workflow": str(tmp_path / "fetch.yaml"),
                "values": {"HTTP_PORT": "18998"}}
    (folder / "project.yaml").write_text(yaml.safe_dump(settings))
    installed = subprocess.run([str(UPGRADER), "--root", str(root), "-n", NAME, "run"], capture_output=True,
                               text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    (folder / "project.yaml").write_text(yaml.safe_dump({**settings, "workflow": "upgrade"}))
    return root, feed


def modules_of(root: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, "--root", str(root), "-n", NAME, *args],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    *output, imported = result.stdout.split("\n")[:-1] or [""]
    result.stdout = "\n".join(output)
    return result, set(imported.split())


def heavy(imported: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported if name.split(".")[0] in names or name in names)


def test_an_idle_cron_run_from_a_file_feed_imports_no_http_and_nothing_heavy(tmp_path: Path) -> None:
    root, _ = up_to_date(tmp_path)
    result, imported = modules_of(root, "run", "--cron")
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")
    assert heavy(imported, NEVER_IDLE + HTTP_ONLY) == []
    assert "upgrader.feed" in imported and "upgrader.store" in imported  # it did read the feed and the state


def test_an_idle_cron_run_from_an_http_feed_imports_requests_but_nothing_heavier(tmp_path: Path) -> None:
    root, feed = up_to_date(tmp_path)
    server = FeedServer(feed).start()
    try:
        project = root / "projects" / NAME / "project.yaml"
        project.write_text(yaml.safe_dump({**yaml.safe_load(project.read_text()), "feed": server.url}))
        result, imported = modules_of(root, "run", "--cron")
    finally:
        server.stop()
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")
    assert heavy(imported, NEVER_IDLE) == []
    assert "requests" in imported


@pytest.mark.parametrize("args", [("status", "--json"), ("history", "--json")])
def test_a_json_listing_imports_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    root, _ = up_to_date(tmp_path)
    result, imported = modules_of(root, *args)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)
    assert heavy(imported, NEVER_IDLE + HTTP_ONLY) == []
