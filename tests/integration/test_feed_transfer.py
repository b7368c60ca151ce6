"""Getting bytes from the feed (DESIGN §3, §1 "a partial download continues"): broken and killed
downloads resume with HTTP Range, transient errors are retried, permanent ones are not, and
requests go through the operator's proxy unless ``NO_PROXY`` says otherwise.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .feedrig import Rig, error_line, free_port, sha256_of
from .support import wait_for


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        yield world


def publish_one(rig: Rig, version: str = "1.0.0", *, payload: int = 0, compresslevel: int = 6) -> dict:
    entry = rig.feed.add(version, rig.feed.build(version, payload=payload, compresslevel=compresslevel))
    rig.feed.publish()
    rig.configure()
    return entry


# -- interrupted downloads ------------------------------------------------------------------------


def test_a_download_cut_off_halfway_continues_where_it_broke_off(rig: Rig):
    entry = publish_one(rig, payload=600_000)  # random bytes: the archive is ~600 kB
    size = entry["size"]
    half = size // 2
    path = rig.archive_path("1.0.0")
    rig.server.behave(path, drop_after=half)

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.0.0"
    assert sha256_of(rig.downloads / "1.0.0" / rig.feed.archive_path("1.0.0").name) == entry["sha256"]

    requests = rig.server.requests(path)
    assert len(requests) == 2, [(r.status, r.range, r.sent) for r in requests]
    assert requests[0].sent == half
    served = rig.server.sent(path)
    # The retry asks for the rest only: what it already holds is not fetched again.
    assert requests[1].range == f"bytes={half}-", (
        f"the retry asked for {requests[1].range!r} after {half} of {size} bytes had arrived")
    assert requests[1].status == 206
    assert served <= 1.1 * size, f"served {served} bytes for a {size}-byte archive"


def test_a_killed_download_resumes_and_fetches_only_the_rest(rig: Rig):
    # 30 MB of random bytes in the tar: gzip cannot shrink it. Served at ~25 MB/s.
    entry = publish_one(rig, payload=30_000_000, compresslevel=1)
    size = entry["size"]
    path = rig.archive_path("1.0.0")
    rig.server.behave(path, rate=25e6)
    part = rig.downloads / "1.0.0" / (rig.feed.archive_path("1.0.0").name + ".part")

    process = rig.start("run")

    def well_under_way() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"upgrader ended (exit {process.returncode}) before the kill")
        return part.exists() and part.stat().st_size >= 6_000_000

    wait_for(well_under_way, "the download to be under way", timeout=20)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    held = part.stat().st_size
    assert 0 < held < size
    run = rig.run_file()
    assert (run["status"], run["state"]) == ("running", "idle")

    result = rig.cli("resume")
    assert result.returncode == 0, result.output
    assert rig.run_file()["status"] == "completed"
    assert rig.installed() == "1.0.0"
    assert not part.exists()

    requests = rig.server.requests(path)
    assert len(requests) == 2, [(r.status, r.range, r.sent) for r in requests]
    assert requests[1].range == f"bytes={held}-"
    assert requests[1].status == 206
    served = rig.server.sent(path)
    assert served <= 1.1 * size, f"served {served} bytes for a {size}-byte archive"


# -- transient and permanent errors ----------------------------------------------------------------


def test_the_index_is_retried_after_500s(rig: Rig):
    publish_one(rig)
    rig.server.behave(rig.index_path, first=[500, 500])

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert [r.status for r in rig.server.requests(rig.index_path)] == [500, 500, 200]
    assert rig.installed() == "1.0.0"


def test_the_archive_is_retried_by_the_step_after_500s(rig: Rig):
    publish_one(rig)
    path = rig.archive_path("1.0.0")
    rig.server.behave(path, first=[500, 500])

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert [r.status for r in rig.server.requests(path)] == [500, 500, 200]
    download = next(step for step in rig.run_file()["steps"] if step["name"] == "download")
    assert download["attempts"] == 3
    assert rig.installed() == "1.0.0"


def test_a_429_waits_as_long_as_retry_after_says(rig: Rig):
    publish_one(rig)
    rig.server.behave(rig.index_path, first=[429], retry_after="1")

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    requests = rig.server.requests(rig.index_path)
    assert [r.status for r in requests] == [429, 200]
    assert requests[1].at - requests[0].at >= 0.9, "the retry did not wait for Retry-After"
    assert rig.installed() == "1.0.0"


def test_a_missing_index_fails_at_once_with_404(rig: Rig):
    publish_one(rig)
    rig.server.behave(rig.index_path, status=404)

    result = rig.cli("run")
    assert result.returncode == 1, result.output
    error_line(result, "404", "index.json")
    assert len(rig.server.requests(rig.index_path)) == 1
    assert rig.installed() is None


def test_a_401_fails_at_once_without_retries(rig: Rig):
    publish_one(rig)
    rig.server.token = "s3cr3t-feed-token"  # noqa: S105 - a test token

    result = rig.cli("run")
    assert result.returncode == 1, result.output
    error_line(result, "401")
    assert len(rig.server.requests()) == 1, "a 401 was retried"


def test_a_refused_connection_names_the_cause_and_check_json_still_answers(rig: Rig):
    publish_one(rig)
    closed = f"http://127.0.0.1:{free_port()}/acme/"  # nothing listens there
    rig.configure(feed=closed)

    result = rig.cli("check")
    assert result.returncode == 1, result.output
    error_line(result, f"cannot connect to {closed}index.json: connection refused — is the feed's address right, "
               "and does this host need a proxy (HTTP_PROXY)?")

    result = rig.cli("check", "--json")
    assert result.returncode == 1, result.output
    answer = json.loads(result.stdout)
    assert answer["project"] == "acme" and answer["installed"] is None and answer["target"] is None
    assert answer["error"].startswith(f"cannot connect to {closed}index.json: connection refused")
    error_line(result, "connection refused")


# -- proxies ------------------------------------------------------------------------------------


def test_requests_go_through_the_http_proxy(rig: Rig):
    publish_one(rig)
    proxy = rig.new_proxy()
    env = rig.env(HTTP_PROXY=proxy.url)  # and no NO_PROXY: 127.0.0.1 is not bypassed by default

    result = rig.cli("run", env=env)
    assert result.returncode == 0, result.output
    asked = proxy.requested()
    assert rig.server.url(rig.index_path) in asked, proxy.log_text()
    assert rig.server.url(rig.archive_path("1.0.0")) in asked, proxy.log_text()
    # And the feed server saw them arrive through tinyproxy.
    assert all("tinyproxy" in record.headers.get("via", "") for record in rig.server.requests())
    assert rig.installed() == "1.0.0"


def test_no_proxy_bypasses_the_proxy(rig: Rig):
    publish_one(rig)
    proxy = rig.new_proxy()
    env = rig.env(HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1")

    result = rig.cli("run", env=env)
    assert result.returncode == 0, result.output
    assert proxy.requested() == [], proxy.log_text()
    assert not any("via" in record.headers for record in rig.server.requests())
    assert rig.installed() == "1.0.0"
