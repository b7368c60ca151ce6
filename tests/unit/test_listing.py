"""Listing feeds without I/O (DESIGN §12): the listing's lines, the feed settings, project stops,
``--to MAJOR.MINOR``, what the storage's metadata says, and the checks a download makes."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from upgrader.feed import Checks, FeedError, _object_metadata
from upgrader.gcs import Location
from upgrader.listing import parse_listing
from upgrader.plan import PlanError, plan
from upgrader.project import DEFAULT_VERSION_PATTERN, feed_problems, feed_settings

PATTERN = re.compile(r"^server-linux-x64-(?P<version>\d+\.\d+\.\d+)-(?P<build>\d+)\.zip$")
URL = "gs://bucket/org/index.txt"


def parse(text: str, pattern: re.Pattern[str] = PATTERN) -> tuple[list[dict], list[str]]:
    return parse_listing(text.encode(), URL, pattern, lambda name: "gs://bucket/org/" + name)


def test_the_highest_build_of_a_version_wins_and_other_lines_are_skipped():
    releases, refused = parse("""# a comment
server-linux-x64-3.29.2-140.zip

server-linux-x64-3.29.1-130.zip
  server-linux-x64-3.29.2-139.zip
notes.txt
server-linux-x64-3.29.2-1000.zip
server-linux-x64-03.1.0-1.zip
""")
    assert [(entry["version"], entry["build"]) for entry in releases] == [("3.29.1", "130"), ("3.29.2", "1000")]
    assert releases[1] == {"version": "3.29.2", "build": "1000", "archive": "server-linux-x64-3.29.2-1000.zip",
                           "url": "gs://bucket/org/server-linux-x64-3.29.2-1000.zip"}
    assert refused == []


def test_the_default_pattern_takes_names_with_or_without_a_build():
    releases, _ = parse("acme-server-1.2.0.tar.gz\nserver-linux-x64-1.3.0-7.zip\nacme-1.4.0.rpm\n",
                        re.compile(DEFAULT_VERSION_PATTERN))
    assert [(entry["version"], entry.get("build")) for entry in releases] == [("1.2.0", None), ("1.3.0", "7")]


def test_a_name_that_would_leave_the_folder_is_refused():
    releases, refused = parse("server-linux-x64-1.0.0-1.zip\n", re.compile(r"(?P<version>\d+\.\d+\.\d+)"))
    assert len(releases) == 1
    releases, refused = parse("other/server-1.0.0.zip\n.hidden-1.0.0.zip\n", re.compile(r"(?P<version>\d+\.\d+\.\d+)"))
    assert releases == [] and len(refused) == 2
    assert "'/'" in refused[0] and "starts with '.'" in refused[1]


def test_a_listing_that_is_not_text_is_refused():
    with pytest.raises(FeedError, match="not UTF-8"):
        parse_listing(b"\xff\xfe\x00", URL, PATTERN, str)


# -- settings -------------------------------------------------------------------------------------------


def test_the_feed_string_is_an_index_feed_and_the_mapping_fills_defaults():
    assert feed_settings({"feed": "https://x.example/a/"}).kind == "index"
    settings = feed_settings({"feed": {"kind": "listing", "url": "gs://b/o/", "credentials": "cred.json"}})
    assert (settings.kind, settings.listing, settings.version_pattern, settings.scheme) == (
        "listing", "index.txt", DEFAULT_VERSION_PATTERN, "gs")
    assert feed_settings({}) is None


@pytest.mark.parametrize(("config", "problem"), [
    ({"feed": {"kind": "index", "url": "https://x/", "listing": "a.txt"}}, "at 'feed.listing': only a listing"),
    ({"feed": {"kind": "index", "url": "gs://b/o/"}}, "at 'feed.url': a gs:// bucket"),
    ({"feed": {"kind": "listing", "url": "https://x/", "credentials": "c.json"}}, "at 'feed.credentials'"),
    ({"feed": {"kind": "listing", "url": "https://x/"}, "public_key": "k"}, "at 'public_key'"),
    ({"feed": {"kind": "listing", "url": "gs://b/o/"}, "token_file": "t"}, "at 'token_file'"),
    ({"feed": {"kind": "listing", "url": "file:///x/", "version_pattern": "(["}},
     "at 'feed.version_pattern': not a regular expression"),
    ({"feed": {"kind": "listing", "url": "file:///x/", "version_pattern": r"\d+"}},
     "at 'feed.version_pattern': has no group named 'version'"),
])
def test_what_the_schema_cannot_say_about_a_feed_is_one_line_naming_the_key(config, problem):
    problems = feed_problems(config)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_a_gs_url_names_its_bucket_and_object():
    location = Location.of("gs://vendor/org 42/server-1.0.0-1.zip")
    assert (location.bucket, location.name) == ("vendor", "org 42/server-1.0.0-1.zip")
    assert location.media_url().endswith("/storage/v1/b/vendor/o/org%2042%2Fserver-1.0.0-1.zip?alt=media")


# -- stops and --to MAJOR.MINOR -----------------------------------------------------------------------------


RELEASES = [{"version": version} for version in ("3.28.0", "3.28.3", "3.29.0", "3.29.1", "3.29.2", "4.0.0")]


def test_a_stop_is_passed_through_from_below_it():
    decided = plan(RELEASES, "3.28.0", stops=["3.29.0"])
    assert (decided.target, decided.path, decided.major_available) == ("3.29.2", ("3.29.0", "3.29.2"), "4.0.0")
    assert plan(RELEASES, "3.29.0", stops=["3.29.0"]).path == ("3.29.2",)
    assert plan(RELEASES, "3.28.0").path == ("3.29.2",)


def test_a_stop_the_feed_lacks_leaves_no_path_and_says_so():
    with pytest.raises(PlanError, match=r"needs at least 3\.29\.0 \(a stop in project\.yaml's stops\)"):
        plan([entry for entry in RELEASES if entry["version"] != "3.29.0"], "3.28.0", stops=["3.29.0"], to="3.29.2")


def test_to_a_series_is_its_newest_release():
    assert plan(RELEASES, "3.28.0", to="3.29").target == "3.29.2"
    assert plan(RELEASES, "3.28.0", to="3.29", stops=["3.29.0"]).path == ("3.29.0", "3.29.2")
    yanked = [*RELEASES[:-2], {"version": "3.29.2", "yanked": "broken"}]
    assert plan(yanked, "3.28.0", to="3.29").target == "3.29.1"
    assert plan(yanked, "3.28.0", to="3.29", allow_yanked=True).target == "3.29.2"
    with pytest.raises(PlanError, match=r"--to 3\.30: the feed has no 3\.30\.x release"):
        plan(RELEASES, "3.28.0", to="3.30")
    with pytest.raises(PlanError, match="crosses a major"):
        plan(RELEASES, "3.28.0", to="4.0")


# -- the storage's metadata and the download's checks --------------------------------------------------------


def test_an_object_resource_gives_size_md5_crc32c_and_time():
    data = b"package"
    resource = {"size": "7", "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324
                "crc32c": "AAAAAQ==", "timeCreated": "2026-11-20T10:00:00.123456Z"}
    assert _object_metadata("gs://b/o", resource) == {
        "size": 7, "md5": hashlib.md5(data).hexdigest(), "crc32c": "00000001",  # noqa: S324
        "released": "2026-11-20T10:00:00Z"}
    with pytest.raises(FeedError, match="md5Hash"):
        _object_metadata("gs://b/o", {"md5Hash": "AAAA"})


def test_checks_prefer_md5_and_always_compute_sha256():
    data = b"archive bytes"
    md5 = hashlib.md5(data).hexdigest()  # noqa: S324
    checks = Checks(md5=md5, crc32c="deadbeef")
    assert set(checks.expected) == {"md5"}
    checks.update(data)
    assert checks.mismatch() is None and checks.sha256_hex() == hashlib.sha256(data).hexdigest()
    wrong = Checks(md5="0" * 32)
    wrong.update(data)
    assert wrong.mismatch() == ("md5", "0" * 32, md5)
    by_crc = Checks(crc32c="00000000")
    by_crc.update(data)
    assert by_crc.mismatch() is not None and by_crc.mismatch()[0] == "crc32c"
