"""``upgrader init`` (DESIGN §10) as an operator runs it, against real files and a real HTTP feed:
project.yaml from the flags, the token from standard input, the feed read as ``check`` reads it;
every refusal exit 2 with nothing written, a lasting feed failure leaves nothing behind, a
transient one keeps what was written."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.feedrig import FeedServer, Publisher, free_port, new_key, public_key_b64

NAME = "acme"


def init(root: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "upgrader", "--root", str(root), *args], input=stdin.decode(),
                          capture_output=True, text=True, timeout=60, check=False)


def listing(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.fixture
def feed(tmp_path: Path) -> Publisher:
    """A signed file:// feed with 1.0.0 and 1.1.0."""
    publisher = Publisher(tmp_path / "feed")
    publisher.add("1.0.0")
    publisher.add("1.1.0")
    publisher.publish(sign=True)
    return publisher


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def test_init_writes_project_yaml_from_its_flags_and_says_what_check_says(root: Path, feed: Publisher) -> None:
    url = feed.folder.as_uri() + "/"
    result = init(root, "init", "-n", NAME, "--feed", url, "--public-key", feed.public_key, "--allow", "patch",
                  "--workflow", "classic", "--product", "acme-server")

    assert result.returncode == 0, result.stderr
    assert "wrote projects/acme/project.yaml" in result.stdout
    assert "would install 1.1.0" in result.stdout
    path = root / "projects" / NAME / "project.yaml"
    assert yaml.safe_load(path.read_text()) == {"feed": url, "public_key": feed.public_key, "allow": "patch",
                                                "workflow": "classic", "product": "acme-server"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert [name for name in os.listdir(path.parent) if name != "project.yaml"] == []  # no temporary left
    checked = init(root, "-n", NAME, "check", "--json")
    assert checked.returncode == 0, checked.stderr
    assert '"target": "1.1.0"' in checked.stdout


def test_the_token_from_standard_input_goes_to_feed_token_0600_and_is_never_shown(root: Path, tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "served" / "acme")
    publisher.add("1.0.0")
    publisher.publish()
    server = FeedServer(tmp_path / "served").start()
    server.token = "s3cret-T0ken"  # noqa: S105 - a test's token
    try:
        result = init(root, "init", "-n", NAME, "--feed", server.url("acme/"), "--token-stdin",
                      stdin=b"  s3cret-T0ken  \n")
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    token = root / "projects" / NAME / "feed.token"
    assert token.read_text() == "s3cret-T0ken\n"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert yaml.safe_load((root / "projects" / NAME / "project.yaml").read_text())["token_file"] == "feed.token"  # noqa: S105
    assert "s3cret-T0ken" not in result.stdout + result.stderr
    assert any(record.authorization == "Bearer s3cret-T0ken" for record in server.requests())


def test_an_existing_project_yaml_is_refused_and_left_as_it_was(root: Path, feed: Publisher) -> None:
    folder = root / "projects" / NAME
    folder.mkdir(parents=True)
    (folder / "project.yaml").write_text("feed: file:///elsewhere/\n")

    result = init(root, "init", "-n", NAME, "--feed", feed.folder.as_uri(), "--token-stdin", stdin=b"tok\n")

    assert result.returncode == 2
    assert "exists; upgrader never writes over it; edit it or remove it" in result.stderr
    assert (folder / "project.yaml").read_text() == "feed: file:///elsewhere/\n"
    assert os.listdir(folder) == ["project.yaml"]


@pytest.mark.parametrize(("arguments", "stdin", "says"), [
    (["-n", "Acme"], b"", "project name 'Acme' is invalid"),
    (["-n", NAME, "--allow", "everything"], b"", "at 'allow': must be one of"),
    (["-n", NAME, "--workflow", "no-such-workflow"], b"", "workflow file not found"),
    (["-n", NAME, "--public-key", "bm90IGEga2V5"], b"", "--public-key: an Ed25519 public key is 32 bytes"),
    (["-n", NAME, "--public-key", "***"], b"", "--public-key: not base64"),
    (["-n", NAME, "--token-stdin"], b"\n", "standard input held no token"),
    (["-n", NAME, "--token-stdin"], b"tok en\n", "whitespace or a control character"),
    (["-n", NAME, "--token-stdin"], b"t\xc3\xb6ken\n", "not printable ASCII"),
    (["-n", NAME, "--version", "1.0.0"], b"", "--from-dir and --version go with --adopt"),
    ([], b"", "init needs the project's name"),
])
def test_bad_input_is_refused_with_one_line_and_nothing_written(root: Path, feed: Publisher, arguments: list[str],
                                                                 stdin: bytes, says: str) -> None:
    result = subprocess.run([sys.executable, "-m", "upgrader", "--root", str(root), "init", "--feed",
                             feed.folder.as_uri(), *arguments], input=stdin, capture_output=True, timeout=60,
                            check=False)
    stderr = result.stderr.decode()

    assert result.returncode == 2, stderr
    assert says in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert listing(root) == []


def test_a_feed_whose_signature_does_not_verify_leaves_nothing_behind(root: Path, feed: Publisher) -> None:
    other = public_key_b64(new_key())

    result = init(root, "init", "-n", NAME, "--feed", feed.folder.as_uri(), "--public-key", other,
                  "--token-stdin", stdin=b"tok\n")

    assert result.returncode == 1, result.stderr
    assert "the signature does not verify" in result.stderr
    assert listing(root) == []


def test_a_feed_of_another_product_leaves_nothing_behind(root: Path, feed: Publisher) -> None:
    result = init(root, "init", "-n", NAME, "--feed", feed.folder.as_uri(), "--product", "other-server")

    assert result.returncode == 2, result.stderr
    assert "product 'acme-server'" in result.stderr
    assert listing(root) == []


def test_an_unreachable_feed_keeps_what_was_written_for_the_next_check(root: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/acme/"

    result = init(root, "init", "-n", NAME, "--feed", url, "--token-stdin", stdin=b"tok\n")

    assert result.returncode == 1, result.stderr
    assert "the feed could not be read now" in result.stderr and "reads the feed again" in result.stderr
    assert listing(root) == ["projects", "projects/acme", "projects/acme/feed.token", "projects/acme/project.yaml"]
    assert yaml.safe_load((root / "projects" / NAME / "project.yaml").read_text())["feed"] == url
