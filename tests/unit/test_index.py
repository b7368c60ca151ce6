"""The release feed (DESIGN §3): index.json, its Ed25519 signature, resumable downloads, the token.

No network: archives and indexes are read from ``file://`` URLs in ``tmp_path``, and where HTTP
matters (status codes, the bearer token) the session's ``get`` is replaced by a fake.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from upgrader import feed as feed_module
from upgrader.errors import ConfigError
from upgrader.feed import (
    MISMATCH_PAUSE,
    TOKEN_ENV,
    Feed,
    FeedError,
    _status_error,
    check_fresh,
    index_beside,
    load_public_key,
    parse_index,
    pinned_product,
    product_refusal,
    read_token,
    verify_signature,
)
from upgrader.project import Project
from upgrader.runtime import process

URL = "https://updates.example.invalid/acme/index.json"
TOKEN = "s3cr3t-T0ken-4f9a"  # noqa: S105 - a made-up token the tests look for in messages


def entry(version: str = "1.1.0", **fields: Any) -> dict[str, Any]:
    document = {"version": version, "archive": f"acme-server-{version}.tar.gz", "sha256": "a" * 64,
                "size": 52831, "released": "2026-11-20T10:00:00Z",
                "notes": "https://example.invalid/notes/1.1.0", "min_from": "1.0.0"}
    document.update(fields)
    return {key: value for key, value in document.items() if value is not None}


def index(*releases: dict[str, Any], **top: Any) -> bytes:
    document: dict[str, Any] = {"schema": 1, "product": "acme-server",
                                "releases": list(releases) if releases else [entry()]}
    document.update(top)
    return json.dumps({key: value for key, value in document.items() if value is not None}).encode()


# -- parse_index --------------------------------------------------------------------------------


def test_parse_a_valid_index() -> None:
    raw = index(entry("1.0.0", min_from=None, released=None, notes=None), entry("1.1.0"))
    parsed = parse_index(raw, URL)
    assert parsed.url == URL and parsed.product == "acme-server" and parsed.raw == raw
    assert [release["version"] for release in parsed.releases] == ["1.0.0", "1.1.0"]
    assert parsed.release("1.1.0") == entry("1.1.0")
    assert parsed.release("9.9.9") is None


def test_an_index_with_no_release_is_valid() -> None:
    assert parse_index(json.dumps({"schema": 1, "product": "acme", "releases": []}).encode(),
                       URL).releases == ()


def version_case(version: str, name: str) -> Any:
    return pytest.param(index(entry(version)), r"at 'releases\[0\]\.version': ", id=f"version-{name}")


BAD_INDEXES = [
    pytest.param(b"{not json", "not valid JSON", id="not-json"),
    pytest.param(b"", "not valid JSON", id="empty"),
    pytest.param(b"[]", r"at '\(top level\)': must be of type object", id="array"),
    pytest.param(b'"index"', r"at '\(top level\)': must be of type object", id="string"),
    pytest.param(index(releases=None), r"at '\(top level\)': 'releases' is required", id="no-releases"),
    pytest.param(index(product=None), r"'product' is required", id="no-product"),
    pytest.param(index(entry(sha256=None)), r"at 'releases\[0\]': 'sha256' is required",
                 id="release-without-sha256"),
    pytest.param(index(entry(size=None)), r"at 'releases\[0\]': 'size' is required",
                 id="release-without-size"),
    pytest.param(index(mirrors=["x"]), r"at '\(top level\)': unknown key 'mirrors'", id="unknown-key"),
    pytest.param(index(entry(signature="x")), r"at 'releases\[0\]': unknown key 'signature'",
                 id="unknown-key-in-a-release"),
    pytest.param(index(schema=2), r"unknown index schema 2", id="schema-2"),
    pytest.param(index(schema="1"), r"at 'schema': must be 1", id="schema-as-string"),
    pytest.param(index(entry(sha256="abc")), r"at 'releases\[0\]\.sha256'", id="sha256-short"),
    pytest.param(index(entry(sha256="A" * 64)), r"at 'releases\[0\]\.sha256'", id="sha256-upper-case"),
    pytest.param(index(entry(sha256="g" * 64)), r"at 'releases\[0\]\.sha256'", id="sha256-not-hex"),
    pytest.param(index(entry(sha256="a" * 65)), r"at 'releases\[0\]\.sha256'", id="sha256-long"),
    pytest.param(index(entry(size=0)), r"at 'releases\[0\]\.size': must be ≥ 1", id="size-0"),
    pytest.param(index(entry(size=-5)), r"at 'releases\[0\]\.size': must be ≥ 1", id="size-negative"),
    pytest.param(index(entry(size="52831")), r"at 'releases\[0\]\.size': must be of type integer",
                 id="size-string"),
    pytest.param(index(entry(size=1.5)), r"at 'releases\[0\]\.size'", id="size-float"),
    version_case("../1.0.0", "dot-dot"),
    version_case("1.0", "two-parts"),
    version_case("v1.0.0", "v-prefix"),
    version_case("1.0.0/../../x", "path"),
    version_case("1.0.0-" + "a" * 200, "very-long"),
    version_case("1" * 200 + ".0.0", "very-long-number"),
    version_case("", "empty"),
    pytest.param(index(entry(min_from="../1.0.0")), r"at 'releases\[0\]\.min_from'",
                 id="min_from-unsafe"),
    pytest.param(index(entry("1.0.0"), entry("1.1.0", size=0)), r"at 'releases\[1\]\.size'",
                 id="error-in-the-second-release"),
    pytest.param(index(product="../acme"), r"at 'product'", id="product-unsafe"),
    pytest.param(index(entry(archive="")), r"at 'releases\[0\]\.archive'", id="archive-empty"),
    pytest.param(index(entry(released="yesterday")), r"at 'releases\[0\]\.released'",
                 id="released-not-a-date"),
    pytest.param(index(entry("1.1.0"), entry("1.1.0")), r"release 1\.1\.0 is listed twice",
                 id="duplicate-version"),
]


@pytest.mark.parametrize(("raw", "match"), BAD_INDEXES)
def test_parse_index_refuses(raw: bytes, match: str) -> None:
    with pytest.raises(FeedError, match=match) as caught:
        parse_index(raw, URL)
    assert str(caught.value).startswith(URL + ": ")
    assert caught.value.retryable is False
    assert caught.value.release_fault is False


def test_parse_index_says_how_many_more_errors() -> None:
    with pytest.raises(FeedError, match=r"\(and 2 more\)$"):
        parse_index(index(entry(sha256="x", size=0, version="1.0")), URL)


# -- the signature --------------------------------------------------------------------------------


def public_key_of(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(key: Ed25519PrivateKey, raw: bytes) -> bytes:
    return base64.b64encode(key.sign(raw)) + b"\n"


@pytest.fixture(scope="module")
def publisher() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_good_signature_verifies(publisher: Ed25519PrivateKey) -> None:
    raw = index()
    verify_signature(raw, sign(publisher, raw), public_key_of(publisher), URL)
    verify_signature(raw, sign(publisher, raw).strip(), " " + public_key_of(publisher) + "\n", URL)


def flipped(raw: bytes, at: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ 0x01]) + raw[at + 1:]


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        pytest.param(lambda raw, good, other: (flipped(raw, len(raw) // 2), good), "does not verify",
                     id="flipped-byte-in-the-index"),
        pytest.param(lambda raw, good, other: (raw + b"\n", good), "does not verify",
                     id="index-with-a-newline-added"),
        pytest.param(lambda raw, good, other: (raw, other), "does not verify",
                     id="signed-by-another-key"),
        pytest.param(lambda raw, good, other: (raw, b"this is !! not base64"), "not a base64 signature",
                     id="not-base64"),
        pytest.param(lambda raw, good, other: (raw, b""), "does not verify", id="empty"),
        pytest.param(lambda raw, good, other: (raw, base64.b64encode(b"short")), "does not verify",
                     id="too-short"),
        pytest.param(lambda raw, good, other: (raw, base64.b64encode(flipped(base64.b64decode(good), 5))),
                     "does not verify", id="flipped-byte-in-the-signature"),
    ],
)
def test_a_bad_signature_is_refused_for_good(publisher: Ed25519PrivateKey, tamper: Any, match: str) -> None:
    raw = index()
    other = Ed25519PrivateKey.generate()
    signed, signature = tamper(raw, sign(publisher, raw), sign(other, raw))
    with pytest.raises(FeedError, match=match) as caught:
        verify_signature(signed, signature, public_key_of(publisher), URL)
    assert str(caught.value).startswith(URL + ".sig: ")
    assert caught.value.retryable is False


def test_load_public_key(publisher: Ed25519PrivateKey) -> None:
    key = load_public_key(public_key_of(publisher))
    assert key == publisher.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param(base64.b64encode(bytes(31)).decode(), "is 32 bytes, not 31", id="31-bytes"),
        pytest.param(base64.b64encode(bytes(33)).decode(), "is 32 bytes, not 33", id="33-bytes"),
        pytest.param("", "is 32 bytes, not 0", id="empty"),
        pytest.param("not base64 at all!", "not base64", id="not-base64"),
        pytest.param("abc", "not base64", id="bad-padding"),
    ],
)
def test_load_public_key_refuses(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as caught:
        load_public_key(text)
    assert "project.yaml: at 'public_key'" in str(caught.value)


def test_verify_signature_with_a_bad_public_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="public_key"):
        verify_signature(b"{}", b"", "bm90IGEga2V5", URL)


def test_index_from_a_signed_file_mirror(tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    raw = index()
    (tmp_path / "index.json").write_bytes(raw)
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, raw))
    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=pytest.fail)
    assert client.index().releases == (entry(),)


def test_index_from_a_file_mirror_with_a_tampered_index(
    tmp_path: Path, publisher: Ed25519PrivateKey
) -> None:
    """An index and a signature that do not match may be a publish caught halfway (index written,
    signature not yet): read again once after a pause, then refused for now — retryable, never
    the fault of a release."""
    raw = index()
    (tmp_path / "index.json").write_bytes(raw.replace(b"52831", b"52832"))
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, raw))
    pauses: list[float] = []
    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=pauses.append)
    with pytest.raises(FeedError) as caught:
        client.index()
    sig = (tmp_path / "index.json.sig").as_uri()
    assert str(caught.value) == (
        f"{sig}: the signature does not verify with the project's public_key: index.json and index.json.sig "
        "do not match (a publish in progress, or the index was altered); nothing is downloaded, the next run "
        "tries again")
    assert caught.value.retryable is True and caught.value.release_fault is False
    assert pauses == [MISMATCH_PAUSE]


def test_a_signature_written_during_the_pause_is_taken(tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    """The publisher wrote the new index; its signature lands while the client waits."""
    old, new = index(), index(entry(version="1.2.0"))
    (tmp_path / "index.json").write_bytes(new)
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, old))

    def publish_signature(seconds: float) -> None:
        (tmp_path / "index.json.sig").write_bytes(sign(publisher, new))

    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=publish_signature)
    assert [release["version"] for release in client.index().releases] == ["1.2.0"]


@pytest.mark.parametrize(("second", "match"), [
    pytest.param(b"this is !! not base64", "not a base64 signature", id="still-not-base64"),
    pytest.param(None, "no such file", id="gone"),
])
def test_a_signature_still_unusable_after_the_pause_is_refused_for_good(
    tmp_path: Path, publisher: Ed25519PrivateKey, second: bytes | None, match: str
) -> None:
    """A torn signature file (a publisher's write caught halfway) is read again too; one that is
    still no signature at all is the feed's to fix, not a passing state."""
    raw = index()
    (tmp_path / "index.json").write_bytes(raw)
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, raw)[:20])

    def then(seconds: float) -> None:
        if second is None:
            (tmp_path / "index.json.sig").unlink()
        else:
            (tmp_path / "index.json.sig").write_bytes(second)

    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=then)
    with pytest.raises(FeedError, match=match) as caught:
        client.index()
    assert caught.value.retryable is False


def test_index_beside_a_package_refuses_a_mismatch_for_good(tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    """On a disk package nothing will change: no pause, not retryable."""
    raw = index()
    (tmp_path / "index.json").write_bytes(raw.replace(b"52831", b"52832"))
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, raw))
    with pytest.raises(FeedError, match="does not verify") as caught:
        index_beside(tmp_path, public_key_of(publisher))
    assert caught.value.retryable is False


def test_index_without_its_signature_file(tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    (tmp_path / "index.json").write_bytes(index())
    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=pytest.fail)
    with pytest.raises(FeedError) as caught:
        client.index()
    assert caught.value.retryable is False
    sig = (tmp_path / "index.json.sig").as_uri()
    assert str(caught.value) == (
        f"{sig}: no such file: the feed publishes no signature at {sig}, and the public_key in project.yaml "
        "requires one — have the publisher sign index.json, or check that 'feed' is the publisher's signed feed")


# -- downloads from file:// ---------------------------------------------------------------------

DATA = random.Random(7).randbytes(50_000)
SHA = hashlib.sha256(DATA).hexdigest()


class RecordingFeed(Feed):
    """A feed client that records the byte offset it opens each URL at."""

    def __init__(self) -> None:
        super().__init__("file:///")
        self.opened: list[int] = []

    def _open(self, url: str, offset: int = 0) -> Any:
        self.opened.append(offset)
        return super()._open(url, offset)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "CHUNK", 4096)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "mirror" / "acme-server-1.1.0.tar.gz"
    path.parent.mkdir()
    path.write_bytes(DATA)
    return path


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder / "acme-server-1.1.0.tar.gz"


def part_of(destination: Path) -> Path:
    return destination.with_name(destination.name + ".part")


@pytest.mark.usefixtures("small_chunks")
def test_download_fresh(source: Path, destination: Path) -> None:
    client = RecordingFeed()
    progress: list[tuple[int, int]] = []
    result = client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA,
                             progress=lambda done, total: progress.append((done, total)))
    assert result == destination
    assert destination.read_bytes() == DATA
    assert not part_of(destination).exists()
    assert client.opened == [0]
    done = [count for count, _ in progress]
    assert len(done) > 2 and done == sorted(set(done)) and done[-1] == len(DATA)
    assert {total for _, total in progress} == {len(DATA)}


def test_an_archive_already_downloaded_is_not_read_again(source: Path, destination: Path) -> None:
    client = RecordingFeed()
    client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA)
    source.unlink()
    assert client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA) == destination
    assert client.opened == [0]
    assert destination.read_bytes() == DATA


def test_an_archive_with_the_wrong_content_is_downloaded_again(source: Path, destination: Path) -> None:
    destination.write_bytes(b"an older archive of the same name")
    RecordingFeed().download(source.as_uri(), destination, size=len(DATA), sha256=SHA)
    assert destination.read_bytes() == DATA


@pytest.mark.usefixtures("small_chunks")
def test_a_partial_download_is_resumed(source: Path, destination: Path) -> None:
    offset = 20_000
    part_of(destination).write_bytes(DATA[:offset])
    client = RecordingFeed()
    progress: list[int] = []
    client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA,
                    progress=lambda done, total: progress.append(done))
    assert client.opened == [offset]
    assert progress[0] == offset + 4096 and progress[-1] == len(DATA)
    assert hashlib.sha256(destination.read_bytes()).hexdigest() == SHA
    assert not part_of(destination).exists()


def test_a_complete_part_is_not_read_again(source: Path, destination: Path) -> None:
    part_of(destination).write_bytes(DATA)
    source.unlink()
    client = RecordingFeed()
    progress: list[tuple[int, int]] = []
    client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA,
                    progress=lambda done, total: progress.append((done, total)))
    assert client.opened == []
    assert progress == [(len(DATA), len(DATA))]
    assert destination.read_bytes() == DATA


def test_a_part_larger_than_the_archive_is_discarded(source: Path, destination: Path) -> None:
    part_of(destination).write_bytes(b"x" * (len(DATA) + 10))
    client = RecordingFeed()
    client.download(source.as_uri(), destination, size=len(DATA), sha256=SHA)
    assert client.opened == [0]
    assert destination.read_bytes() == DATA


def test_a_wrong_checksum_fails_for_good_and_removes_the_part(source: Path, destination: Path) -> None:
    with pytest.raises(FeedError, match=f"sha256 mismatch: the index says {'b' * 64}, the archive is {SHA}") \
            as caught:
        RecordingFeed().download(source.as_uri(), destination, size=len(DATA), sha256="b" * 64)
    assert caught.value.retryable is False and caught.value.release_fault is True
    assert not part_of(destination).exists() and not destination.exists()


def test_a_part_with_a_wrong_prefix_fails_the_checksum(source: Path, destination: Path) -> None:
    part_of(destination).write_bytes(b"\0" * 1000)
    with pytest.raises(FeedError, match="sha256 mismatch") as caught:
        RecordingFeed().download(source.as_uri(), destination, size=len(DATA), sha256=SHA)
    assert caught.value.release_fault is True
    assert not part_of(destination).exists() and not destination.exists()


def test_an_archive_shorter_than_the_index_says(source: Path, destination: Path) -> None:
    with pytest.raises(FeedError, match=f"got {len(DATA)} bytes, the index says {len(DATA) + 100}"):
        RecordingFeed().download(source.as_uri(), destination, size=len(DATA) + 100, sha256=SHA)
    assert not destination.exists()


def test_an_archive_longer_than_the_index_says(source: Path, destination: Path) -> None:
    with pytest.raises(FeedError, match=f"larger than the index's {len(DATA) - 100} bytes") as caught:
        RecordingFeed().download(source.as_uri(), destination, size=len(DATA) - 100, sha256=SHA)
    assert caught.value.retryable is False and caught.value.release_fault is True
    assert not destination.exists()


def test_a_missing_source_file(tmp_path: Path, destination: Path) -> None:
    with pytest.raises(FeedError, match="no such file") as caught:
        RecordingFeed().download((tmp_path / "gone.tar.gz").as_uri(), destination, size=10, sha256=SHA)
    assert caught.value.retryable is False


def test_a_file_url_with_an_escaped_path(tmp_path: Path, destination: Path) -> None:
    mirror = tmp_path / "my mirror %"
    mirror.mkdir()
    (mirror / "a b.tar.gz").write_bytes(DATA)
    url = Feed(mirror.as_uri()).resolve("a%20b.tar.gz")
    RecordingFeed().download(url, destination, size=len(DATA), sha256=SHA)
    assert destination.read_bytes() == DATA


@pytest.mark.parametrize(
    ("url", "match"),
    [("ftp://mirror.invalid/a.tar.gz", r"an archive of the file:// feed file:/// must be a file:// URL"),
     ("file://otherhost/srv/a.tar.gz", "must name a local path")],
)
def test_unsupported_urls(url: str, match: str, destination: Path) -> None:
    with pytest.raises(FeedError, match=match) as caught:
        RecordingFeed().download(url, destination, size=10, sha256=SHA)
    assert caught.value.retryable is False


def test_resolve_relative_and_absolute_archives() -> None:
    client = Feed("https://updates.example.invalid/acme")
    assert client.resolve("a.tar.gz") == "https://updates.example.invalid/acme/a.tar.gz"
    assert client.resolve("https://cdn.example.invalid/a.tar.gz") == "https://cdn.example.invalid/a.tar.gz"


# -- the token ------------------------------------------------------------------------------------


@pytest.fixture
def token_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv("UPGRADER_FEED_TOKEN_DEMO", raising=False)
    project = Project(root=tmp_path, name="demo", config={"token_file": "feed.token"})
    project.dir.mkdir(parents=True)
    return project


def test_token_from_the_token_file(token_project: Project) -> None:
    (token_project.dir / "feed.token").write_text(TOKEN + "\n")
    assert read_token(token_project) == TOKEN


def test_the_projects_environment_token_wins(token_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    (token_project.dir / "feed.token").write_text("from-the-file\n")
    monkeypatch.setenv("UPGRADER_FEED_TOKEN_DEMO", TOKEN)
    assert read_token(token_project) == TOKEN


def test_the_plain_environment_token_serves_only_the_project_named_with_n(
        token_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    (token_project.dir / "feed.token").write_text("from-the-file\n")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert read_token(token_project) == "from-the-file"  # no command named it
    with process.tokens_withheld(None):
        assert read_token(token_project) == "from-the-file"
    with process.tokens_withheld("other"):
        assert read_token(token_project) == "from-the-file"
    with process.tokens_withheld("demo"):
        assert TOKEN_ENV not in os.environ, "a child process would inherit it"
        assert read_token(token_project) == TOKEN
        monkeypatch.setenv("UPGRADER_FEED_TOKEN_DEMO", "the-projects-own")
        assert read_token(token_project) == "the-projects-own"
    assert os.environ[TOKEN_ENV] == TOKEN, "the variable was not put back"


def test_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert read_token(Project(root=tmp_path, name="demo")) is None


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(None, "token_file not found", id="missing"),
        pytest.param(TOKEN + "\nsecond-line\n", "must hold one token, on one line", id="two-lines"),
        pytest.param("two words", "must hold one token, on one line", id="two-words"),
        pytest.param("\n", "must hold one token, on one line", id="empty"),
        pytest.param(b"\xff\xfe", "cannot read the token file", id="not-utf-8"),
    ],
)
def test_bad_token_file(token_project: Project, content: str | bytes | None, match: str) -> None:
    path = token_project.dir / "feed.token"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=match) as caught:
        read_token(token_project)
    assert str(path) in str(caught.value)
    assert TOKEN not in str(caught.value)


def fake_response(status: int, reason: str = "", headers: dict[str, str] | None = None,
                  content: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.headers.update(headers or {})
    response.raw = io.BytesIO(content)
    response._content = content
    return response


@pytest.mark.parametrize(
    ("status", "match", "retryable"),
    [(401, "401 Unauthorized: the feed refused the token", False),
     (403, "403 Forbidden", False),
     (404, "404 Not Found", False),
     (408, "HTTP 408", True),
     (429, "HTTP 429", True),
     (500, "HTTP 500", True),
     (503, "HTTP 503", True),
     (400, "HTTP 400", False)],
)
def test_status_errors(status: int, match: str, retryable: bool) -> None:
    error = _status_error(URL, fake_response(status, "Reason"), credentials="sent")
    assert isinstance(error, FeedError)
    assert str(error).startswith(URL + ": ")
    assert match in str(error)
    assert error.retryable is retryable


@pytest.mark.parametrize("status", [401, 403])
def test_without_a_token_a_401_or_403_says_none_is_configured_and_how_to_set_one(status: int) -> None:
    error = _status_error(URL, fake_response(status), credentials="none",
                          token_hint="UPGRADER_FEED_TOKEN_ACME")  # noqa: S106 - a variable's name
    assert error.cause.endswith("the feed needs a token and none is configured"), error.cause
    assert "refused the token" not in str(error) and "\n" not in str(error)
    assert error.fix == ("put it in a file named by token_file in project.yaml (mode 0600), or in "
                         "UPGRADER_FEED_TOKEN_ACME")
    assert str(error) == f"{error.cause} — {error.fix}"
    assert error.retryable is False


@pytest.mark.parametrize("status", [401, 403])
def test_a_token_withheld_from_another_origin_is_not_said_to_be_refused(status: int) -> None:
    error = _status_error(URL, fake_response(status), credentials="withheld")
    assert "the feed token is sent only to the feed's own host" in error.cause
    assert "refused the token" not in str(error)


def test_retry_after_is_honoured_and_capped() -> None:
    def error(status: int, headers: dict[str, str]) -> Any:
        return _status_error(URL, fake_response(status, headers=headers), credentials="sent")

    assert error(429, {"Retry-After": "7"}).retry_after == 7
    assert error(503, {"Retry-After": "9999"}).retry_after == 300
    assert error(500, {"Retry-After": "7"}).retry_after is None


class FakeSession:
    """Stands in for ``requests.Session.get``: returns or raises what it is given, records headers."""

    def __init__(self, *outcomes: requests.Response | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, *, headers: dict[str, str] | None = None, **options: Any) -> Any:
        self.calls.append((url, dict(headers or {})))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500, 503])
def test_the_token_is_sent_to_the_feed_and_never_in_an_error(
    status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Feed("https://updates.example.invalid/acme/", token=TOKEN)
    session = FakeSession(fake_response(status, "Reason", {"WWW-Authenticate": f"Bearer {TOKEN}"}))
    monkeypatch.setattr(client.session, "get", session)
    with pytest.raises(FeedError) as caught:
        client.fetch(client.resolve("index.json"))
    assert session.calls[0][1]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


@pytest.mark.parametrize(
    "error",
    [requests.exceptions.ConnectionError(f"connection to https://u:{TOKEN}@host failed: Bearer {TOKEN}"),
     requests.exceptions.ProxyError(f"Cannot connect to proxy. (Caused by ProxyError('{TOKEN}'))"),
     requests.exceptions.SSLError(f"certificate verify failed for {TOKEN}")],
    ids=["connection", "proxy", "tls"],
)
def test_a_request_error_echoing_the_token_is_redacted(
    error: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Feed("https://updates.example.invalid/acme/", token=TOKEN)
    monkeypatch.setattr(client.session, "get", FakeSession(error))
    with pytest.raises(FeedError) as caught:
        client.fetch(client.resolve("index.json"))
    assert TOKEN not in str(caught.value)


def test_a_401_says_whether_a_token_was_configured_and_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Feed("https://updates.example.invalid/acme/", sleep=pytest.fail)
    monkeypatch.setattr(client.session, "get", FakeSession(fake_response(401, "Unauthorized")))
    with pytest.raises(FeedError, match="401 Unauthorized: the feed needs a token and none is configured"):
        client.index()
    client = Feed("https://updates.example.invalid/acme/", token=TOKEN, sleep=pytest.fail)
    monkeypatch.setattr(client.session, "get", FakeSession(fake_response(401, "Unauthorized")))
    with pytest.raises(FeedError, match="sent only to the feed's own host"):
        client.fetch("https://cdn.example.invalid/a.tar.gz")


def urllib3_refusal(host: str, port: int, cause: OSError) -> requests.exceptions.ConnectionError:
    """The ConnectionError requests raises when a connection fails, built as urllib3 2 builds it
    (the operating system's error kept as the cause of urllib3's own)."""
    import urllib3.exceptions

    pool = f"HTTPConnection(host='{host}', port={port})"
    inner = urllib3.exceptions.NewConnectionError(pool, f"{pool}: Failed to establish a new connection: {cause}")
    inner.__cause__ = cause
    outer = urllib3.exceptions.MaxRetryError(None, "/index.json", inner)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(outer)


@pytest.mark.parametrize(
    ("error", "cause"),
    [(urllib3_refusal("127.0.0.1", 9, ConnectionRefusedError(111, "Connection refused")), "connection refused"),
     (urllib3_refusal("feed.invalid", 80, socket.gaierror(-2, "Name or service not known")),
      "the host name updates.example.invalid does not resolve (Name or service not known)"),
     (urllib3_refusal("10.1.1.1", 80, OSError(101, "Network is unreachable")), "network is unreachable"),
     (requests.exceptions.ConnectionError(
         "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /index.json (Caused by "
         "NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=9): Failed to establish a new connection: "
         "[Errno 111] Connection refused\"))"),
      "Failed to establish a new connection: [Errno 111] Connection refused"),
     (requests.exceptions.ConnectionError("reset"), "reset")],
    ids=["refused", "name", "unreachable", "message-only", "bare"],
)
def test_a_refused_connection_names_its_cause_and_the_fix(
    error: BaseException, cause: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Feed("http://updates.example.invalid/acme/", sleep=lambda _: None)
    monkeypatch.setattr(client.session, "get", FakeSession(*[error] * 4))
    with pytest.raises(FeedError) as caught:
        client.index()
    url = "http://updates.example.invalid/acme/index.json"
    assert str(caught.value) == (f"cannot connect to {url}: {cause} — is the feed's address right, and does "
                                 "this host need a proxy (HTTP_PROXY)?")
    assert caught.value.retryable is True


def test_the_token_is_not_sent_to_another_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Feed("https://updates.example.invalid/acme/", token=TOKEN)
    session = FakeSession(fake_response(200, content=b"x"), fake_response(200, content=b"y"))
    monkeypatch.setattr(client.session, "get", session)
    assert client.fetch("https://cdn.example.invalid/a.tar.gz") == b"x"
    assert client.fetch("http://updates.example.invalid/acme/a.tar.gz") == b"y"
    assert all("Authorization" not in headers for _, headers in session.calls)


def test_index_retries_a_busy_feed_as_it_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    client = Feed("https://updates.example.invalid/acme/", sleep=sleeps.append)
    session = FakeSession(fake_response(503, "Busy", {"Retry-After": "2"}),
                          requests.exceptions.ConnectionError("reset"),
                          fake_response(200, content=index()))
    monkeypatch.setattr(client.session, "get", session)
    assert client.index().product == "acme-server"
    assert sleeps == [2.0, 1.0]


def test_index_does_not_retry_a_refused_token(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Feed("https://updates.example.invalid/acme/", token=TOKEN, sleep=pytest.fail)
    monkeypatch.setattr(client.session, "get", FakeSession(fake_response(401, "Unauthorized")))
    with pytest.raises(FeedError, match="401 Unauthorized") as caught:
        client.index()
    assert caught.value.retryable is False


# -- trust in what the feed sends (DESIGN §15) ------------------------------------------------------


class CountingRaw(io.RawIOBase):
    """An endless body that counts the bytes read from it."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = len(buffer)
        buffer[:count] = b" " * count
        self.given += count
        return count


def test_the_index_is_read_as_it_arrives_and_never_past_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "CHUNK", 4096)
    client = Feed("https://updates.example.invalid/acme/", sleep=pytest.fail)
    response = fake_response(200)
    body = CountingRaw()
    response.raw = body  # no Content-Length: a body that never ends
    monkeypatch.setattr(client.session, "get", FakeSession(response))
    with pytest.raises(FeedError, match=r"index\.json: larger than 16 MiB \(16777216 bytes\)") as caught:
        client.index()
    assert caught.value.retryable is False
    assert body.given == feed_module.INDEX_LIMIT + 1


def test_an_index_announced_larger_than_its_cap_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Feed("https://updates.example.invalid/acme/", sleep=pytest.fail)
    response = fake_response(200, headers={"Content-Length": str((16 << 20) + 1)})
    body = CountingRaw()
    response.raw = body
    monkeypatch.setattr(client.session, "get", FakeSession(response))
    with pytest.raises(FeedError, match="larger than 16 MiB"):
        client.index()
    assert body.given == 0


def test_a_signature_over_one_kibibyte_is_refused(tmp_path: Path, publisher: Ed25519PrivateKey) -> None:
    raw = index()
    (tmp_path / "index.json").write_bytes(raw)
    (tmp_path / "index.json.sig").write_bytes(sign(publisher, raw) + b" " * 1024)
    client = Feed(tmp_path.as_uri(), public_key=public_key_of(publisher), sleep=pytest.fail)
    with pytest.raises(FeedError, match=r"index\.json\.sig: larger than 1 KiB \(1024 bytes\)"):
        client.index()


def test_an_index_at_its_cap_is_read(tmp_path: Path) -> None:
    raw = index()
    (tmp_path / "index.json").write_bytes(raw + b" " * (feed_module.INDEX_LIMIT - len(raw)))
    assert Feed(tmp_path.as_uri()).index().releases == (entry(),)


def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path, destination: Path) -> None:
    os.mkfifo(tmp_path / "index.json")
    with pytest.raises(FeedError, match="not a regular file") as caught:
        Feed(tmp_path.as_uri(), sleep=pytest.fail).index()
    assert caught.value.retryable is False
    with pytest.raises(FeedError, match="not a regular file"):
        RecordingFeed().download((tmp_path / "index.json").as_uri(), destination, size=10, sha256=SHA)
    with pytest.raises(FeedError, match="not a regular file"):
        RecordingFeed().download(tmp_path.as_uri(), destination, size=10, sha256=SHA)  # a folder


@pytest.mark.parametrize(
    ("feed", "archive", "offered"),
    [("https://f.invalid/acme/", "a.tar.gz", True),
     ("https://f.invalid/acme/", "http://cdn.invalid/a.tar.gz", True),
     ("http://f.invalid/acme/", "https://cdn.invalid/a.tar.gz", True),
     ("https://f.invalid/acme/", "file:///etc/shadow", False),
     ("https://f.invalid/acme/", "ftp://f.invalid/a.tar.gz", False),
     ("file:///srv/mirror/", "a.tar.gz", True),
     ("file:///srv/mirror/", "https://cdn.invalid/a.tar.gz", False)],
)
def test_an_archive_keeps_the_feeds_scheme(feed: str, archive: str, offered: bool,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client = Feed(feed, sleep=pytest.fail)
    monkeypatch.setattr(client, "fetch", lambda url, limit=0: index(entry(archive=archive)))
    found = client.index()
    assert (found.releases == (entry(archive=archive),)) is offered
    assert len(found.refused) == (0 if offered else 1)
    if not offered:
        assert "release 1.1.0 is not offered" in found.refused[0]
        with pytest.raises(FeedError, match="must be a") as caught:
            client.download(client.resolve(archive), Path("/nonexistent/x"), size=1, sha256=SHA)
        assert caught.value.retryable is False and caught.value.release_fault is False


def test_a_downloaded_archive_and_its_part_are_0600(source: Path, destination: Path) -> None:
    previous = os.umask(0)
    try:
        part_of(destination).write_bytes(DATA[:100])
        part_of(destination).chmod(0o666)
        RecordingFeed().download(source.as_uri(), destination, size=len(DATA), sha256=SHA)
    finally:
        os.umask(previous)
    assert destination.stat().st_mode & 0o777 == 0o600


def test_serial_and_expires() -> None:
    parsed = parse_index(index(serial=7, expires="2026-12-01T00:00:00Z"), URL)
    assert parsed.serial == 7
    assert parsed.expires == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_index(index(expires="2026-12-01T00:00:00"), URL).expires == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_index(index(), URL).serial is None


@pytest.mark.parametrize(
    ("top", "match"),
    [({"serial": -1}, r"at 'serial': must be ≥ 0"), ({"serial": "7"}, r"at 'serial': must be of type integer"),
     ({"serial": True}, r"at 'serial'"), ({"expires": "soon"}, r"at 'expires': 'soon' is not an ISO 8601")],
)
def test_bad_serial_or_expires(top: dict[str, Any], match: str) -> None:
    with pytest.raises(FeedError, match=match):
        parse_index(index(**top), URL)


NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
FEED = "https://updates.example.invalid/acme/"


def accepted(serial: int, feed: str = FEED) -> dict[str, Any]:
    return {"schema": 1, "feed": feed, "serial": serial, "seen_at": "2026-11-29T03:00:00.000Z"}


@pytest.mark.parametrize(
    ("top", "known", "match", "retryable"),
    [({"serial": 4}, accepted(5), "has serial 4, but this project accepted serial 5", False),
     ({}, accepted(5), "has no serial, but this project accepted serial 5", False),
     ({"serial": 5, "expires": "2026-11-30T11:59:59Z"}, accepted(5), r"expired at 2026-11-30T11:59:59Z.*re-sign",
      True),
     ({"expires": "2026-11-30T11:00:00Z"}, None, "expired", True)],
)
def test_a_stale_index_is_refused(top: dict[str, Any], known: dict[str, Any] | None, match: str,
                                  retryable: bool) -> None:
    with pytest.raises(FeedError, match=match) as caught:
        check_fresh(parse_index(index(**top), URL), known, FEED, NOW, reset="state/acme/feed.json")
    assert caught.value.retryable is retryable
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("top", "known"),
    [({"serial": 5}, accepted(5)), ({"serial": 6}, accepted(5)), ({}, None), ({"serial": 0}, None),
     ({"serial": 1}, accepted(5, feed="file:///srv/mirror/")), ({"expires": "2026-11-30T12:00:01Z"}, None)],
)
def test_a_fresh_index_is_accepted(top: dict[str, Any], known: dict[str, Any] | None) -> None:
    check_fresh(parse_index(index(**top), URL), known, FEED, NOW)


@pytest.mark.parametrize("token", ["a\nb", "a b", "a\tb", "a\x01b", "a\x7fb", "é", " ab", "ab\n"],
                         ids=["newline", "space", "tab", "soh", "del", "non-ascii", "leading-space", "final-newline"])
def test_an_environment_token_that_would_break_a_header_is_refused_unshown(
        token_project: Project, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPGRADER_FEED_TOKEN_DEMO", token)
    with pytest.raises(ConfigError, match=r"^UPGRADER_FEED_TOKEN_DEMO: the token holds whitespace") as caught:
        read_token(token_project)
    assert token not in str(caught.value)


def test_a_token_file_with_a_control_character_is_refused(token_project: Project) -> None:
    (token_project.dir / "feed.token").write_bytes(b"abc\x1bdef\n")
    with pytest.raises(ConfigError, match="must hold one token, on one line"):
        read_token(token_project)


def test_the_token_variable_of_a_project() -> None:
    assert process.token_variable("acme-eu_2") == "UPGRADER_FEED_TOKEN_ACME_EU_2"


def test_no_child_process_gets_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPGRADER_FEED_TOKEN", TOKEN)
    monkeypatch.setenv("UPGRADER_FEED_TOKEN_DEMO", TOKEN)
    monkeypatch.setenv("upgrader_feed_token_x", TOKEN)
    env = process.child_environment({"UPGRADER_FEED_TOKEN_OTHER": TOKEN, "KEPT": "1"})
    assert env["KEPT"] == "1" and not [key for key in env if key.upper().startswith("UPGRADER_FEED_TOKEN")]
    lines: list[str] = []
    process.run(["env"], cwd=str(tmp_path), env={"UPGRADER_FEED_TOKEN_OTHER": TOKEN}, on_line=lines.append)
    assert lines and not [line for line in lines if TOKEN in line or "UPGRADER_FEED_TOKEN" in line.upper()]
    with process.tokens_withheld(None):
        # Whatever starts a program inside the command (Compose's own helpers, crontab) passes none on.
        inherited = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
        assert TOKEN not in inherited
    assert os.environ["UPGRADER_FEED_TOKEN"] == TOKEN


def test_a_token_echoed_escaped_is_redacted() -> None:
    assert TOKEN not in feed_module._redact(f"header {TOKEN!r} refused", TOKEN)


def test_the_pinned_product() -> None:
    project = Project(root=Path("/r"), name="acme")
    installed = {"version": "1.0.0", "release": {"product": "acme-server"}}
    assert pinned_product(project, None) is None
    assert pinned_product(project, {"version": "1.0.0", "release": None}) is None
    assert pinned_product(project, installed) == ("acme-server", "the installed release 1.0.0")
    configured = Project(root=Path("/r"), name="acme", config={"product": "acme-pro"})
    assert pinned_product(configured, installed) == ("acme-pro", "project.yaml 'product'")
    assert product_refusal("x/index.json", "acme-server", None) is None
    assert product_refusal("x/index.json", "acme-server", ("acme-server", "here")) is None
    assert product_refusal("x/index.json", "other", ("acme-server", "here")) == (
        "x/index.json is for product 'other', but this project runs 'acme-server' (here); refused")
