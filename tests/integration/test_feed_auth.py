"""Who may read the feed and whether its index is genuine (DESIGN §3): the bearer token (from
token_file or ``UPGRADER_FEED_TOKEN``, sent only to the feed's origin, never shown or stored) and
the Ed25519 signature of index.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .feedrig import Publisher, Rig, error_line, files_holding, new_key
from .support import Outcome

TOKEN = "tok-6f1c2a9e-feed-secret"  # noqa: S105 - a test token
OTHER = "tok-0000-not-the-right-one"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with Rig(tmp_path) as world:
        world.feed.add("1.0.0")
        yield world


def assert_secret_kept(rig: Rig, outcome: Outcome, *secrets: str) -> None:
    """No secret in the command's output or in any file under ROOT/state."""
    for secret in secrets:
        assert secret not in outcome.stdout, outcome.output
        assert secret not in outcome.stderr, outcome.output
        assert files_holding(rig.root / "state", secret) == []


def authorizations(rig: Rig) -> set[str | None]:
    return {record.authorization for record in rig.server.requests()}


# -- the token ------------------------------------------------------------------------------------


def test_the_token_file_is_sent_as_a_bearer_token_and_never_shown(rig: Rig):
    rig.feed.publish()
    rig.server.token = TOKEN
    token_file = rig.write_token(TOKEN)
    rig.configure(token_file=token_file.name)

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.0.0"
    assert authorizations(rig) == {f"Bearer {TOKEN}"}
    assert len(rig.server.requests()) == 2  # index and archive
    assert_secret_kept(rig, result, TOKEN)
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.read_text(encoding="utf-8") == TOKEN + "\n"


def test_the_environment_token_wins_over_the_token_file(rig: Rig):
    rig.feed.publish()
    rig.server.token = TOKEN
    rig.configure(token_file=rig.write_token(OTHER).name)

    result = rig.cli("run", env=rig.env(UPGRADER_FEED_TOKEN=TOKEN))
    assert result.returncode == 0, result.output
    assert authorizations(rig) == {f"Bearer {TOKEN}"}
    assert_secret_kept(rig, result, TOKEN, OTHER)


def test_a_wrong_token_fails_with_403_and_says_so(rig: Rig):
    rig.feed.publish()
    rig.server.token = TOKEN
    rig.configure(token_file=rig.write_token(OTHER).name)

    result = rig.cli("run")
    assert result.returncode == 1, result.output
    error_line(result, "403", "Forbidden")
    assert len(rig.server.requests()) == 1, "a 403 was retried"
    assert rig.installed() is None
    assert_secret_kept(rig, result, OTHER)


def test_no_token_fails_with_401_and_says_which_setting_to_check(rig: Rig):
    rig.feed.publish()
    rig.server.token = TOKEN
    rig.configure()

    result = rig.cli("run")
    assert result.returncode == 1, result.output
    line = error_line(result, "401", "Unauthorized", "the feed needs a token and none is configured", "token_file",
                      "UPGRADER_FEED_TOKEN_ACME")
    assert "refused the token" not in line
    assert len(rig.server.requests()) == 1, "a 401 was retried"


def test_the_token_is_not_sent_to_another_origin(rig: Rig, tmp_path: Path):
    # The archive of 1.1.0 lives on a CDN: another server, another port, an absolute URL.
    cdn_folder = tmp_path / "cdn"
    cdn = rig.new_server(cdn_folder)
    archive = Publisher(cdn_folder / "files").build("1.1.0")
    rig.feed.add("1.1.0", archive, href=cdn.url("files/" + archive.name))
    rig.feed.publish()
    rig.server.token = TOKEN
    rig.configure(token_file=rig.write_token(TOKEN).name)

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.1.0"
    assert authorizations(rig) == {f"Bearer {TOKEN}"}
    assert [record.path for record in cdn.requests()] == ["/files/" + archive.name]
    assert [record.authorization for record in cdn.requests()] == [None], "the token leaked to the CDN"
    assert_secret_kept(rig, result, TOKEN)


# -- the signature --------------------------------------------------------------------------------


def assert_refused(rig: Rig, result: Outcome, *needles: str) -> None:
    assert result.returncode == 1, result.output
    error_line(result, *needles)
    assert [r.path for r in rig.server.requests() if r.path.endswith(".tar.gz")] == [], (
        "an archive was fetched on an index that did not verify")
    assert rig.downloaded() == []
    assert rig.extracted() == []
    assert rig.installed() is None


def test_a_signed_index_is_verified_and_used(rig: Rig):
    rig.feed.publish(sign=True)
    rig.configure(public_key=rig.feed.public_key)

    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.0.0"
    assert f"{rig.index_path}.sig" in [record.path for record in rig.server.requests()]


def test_a_missing_signature_is_refused(rig: Rig):
    rig.feed.publish(sign=False)
    rig.configure(public_key=rig.feed.public_key)

    signature = rig.server.url(rig.index_path + ".sig")
    assert_refused(rig, rig.cli("run"), "404", f"the feed publishes no signature at {signature}",
                   "the public_key in project.yaml requires one")
    line = error_line(rig.cli("check"))
    assert "token" not in line and "proxy" not in line, line


def test_a_signature_by_another_key_is_refused(rig: Rig):
    rig.feed.publish()
    rig.feed.sign(key=new_key())
    rig.configure(public_key=rig.feed.public_key)

    assert_refused(rig, rig.cli("run"), "index.json.sig", "does not verify")


def test_an_index_changed_after_signing_is_refused(rig: Rig):
    rig.feed.publish(sign=True)
    document = json.loads(rig.feed.index_path.read_bytes())
    document["releases"][0]["sha256"] = "f" * 64  # a mirror swapped the archive
    rig.feed.index_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    rig.configure(public_key=rig.feed.public_key)

    assert_refused(rig, rig.cli("run"), "index.json.sig", "does not verify")
