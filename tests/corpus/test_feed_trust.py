"""Attacks on what upgrader trusts of its feed (security review items 5, 6, 9 to 13; DESIGN §3, §15).

Each test plays one attack against a server root with project ``acme`` fed over HTTP on
127.0.0.1 (``tests.integration.feedrig.Rig``; the feed needs the token of ``feed.token``), and
checks the one-line refusal and that nothing changed — nothing downloaded, no state but what is
documented:

- another product's signed index (and archive) copied into the feed: refused, exit 2 (item 5);
- an offline package with only a hand-made ``.sha256`` while ``public_key`` is set (item 6);
- an index.json or a signature far larger than any real one (item 9);
- the feed token: another project's, the plain variable without ``-n``, in a child's environment,
  with a newline (item 10);
- an http feed pointing an archive at ``file://``, a FIFO as a ``file://`` archive (item 11);
- a replayed older signed index, an index without a serial after one with, an expired one (item 12);
- a version the schema used to accept and the plan could not parse (item 13).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.feedrig import (
    FETCH_WORKFLOW,
    PRODUCT,
    Publisher,
    Rig,
    changes,
    error_line,
    files_holding,
    new_key,
    release_files,
    sha256_of,
    snapshot,
    write_archive,
)
from tests.integration.support import UPGRADER, Outcome

from .conftest import TOKEN, refused

OTHER = "other-server"
EXIT_USAGE = 2


def publish(rig: Rig, *, sign: bool = True, product: str = PRODUCT, **top: Any) -> tuple[bytes, bytes | None]:
    """Write the rig's index.json with ``top`` fields (serial, expires) at its top; with ``sign``,
    its signature. Returns (index bytes, signature bytes)."""
    document = {"schema": 1, "product": product, **top, "releases": rig.feed.entries}
    raw = (json.dumps(document, indent=2) + "\n").encode()
    rig.feed.publish(raw=raw, sign=sign)
    signature = (rig.feed.folder / "index.json.sig").read_bytes() if sign else None
    return raw, signature


def archive_requests(rig: Rig) -> list[str]:
    return [record.path for record in rig.server.requests() if record.path.endswith(".tar.gz")]


def installed_document(rig: Rig) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((rig.state / "installed.json").read_text(encoding="utf-8"))
    return data


def quarantined(rig: Rig) -> list[str]:
    path = rig.state / "quarantine.json"
    return sorted(json.loads(path.read_text(encoding="utf-8"))["versions"]) if path.exists() else []


def without_name(rig: Rig, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """``upgrader --root ROOT ARGS`` — the project left for upgrader to pick (no ``-n``)."""
    result = subprocess.run([str(UPGRADER), "--root", str(rig.root), *args], capture_output=True, text=True,
                            check=False, stdin=subprocess.DEVNULL, timeout=60,
                            env=env if env is not None else rig.env())
    return Outcome(result.returncode, result.stdout, result.stderr, 0.0)


def signed_by_the_same_key(rig: Rig, product: str = OTHER) -> Publisher:
    """A publisher of another product with the rig's own signing key (one vendor, two products),
    writing into the rig's feed folder: its index.json, signature and archives replace ours."""
    other = Publisher(rig.feed.folder, product=product)
    other.key = rig.feed.key
    return other


# -- 5. a signed index is bound to its product ------------------------------------------------------


def test_another_products_signed_index_is_refused_once_a_release_is_installed(rig: Rig, mode: str) -> None:
    """The attack: a signed index.json + .sig + archive of ``other-server`` (same vendor key) copied
    into acme's feed. The installed release pins the product: refused, exit 2, nothing fetched."""
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    publish(rig)
    assert rig.cli("run").returncode == 0
    assert installed_document(rig)["release"]["product"] == PRODUCT, "the first install did not record it"

    other = signed_by_the_same_key(rig)
    other.add("1.1.0")
    other.publish(sign=True)
    rig.server.clear()
    for command in (("check",), ("run",), ("run", "--cron")):
        refused(rig, *command, code=EXIT_USAGE, says=("index.json", f"'{OTHER}'", f"'{PRODUCT}'",
                                                      "the installed release 1.0.0"), mode=mode)
    assert archive_requests(rig) == []
    assert rig.installed() == "1.0.0" and rig.extracted() == ["1.0.0"]


def test_project_yaml_product_pins_even_the_first_install(rig: Rig, mode: str) -> None:
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key, product=PRODUCT)  # noqa: S106
    other = signed_by_the_same_key(rig)
    other.add("1.0.0")
    other.publish(sign=True)
    for command in (("check",), ("run",)):
        refused(rig, *command, code=EXIT_USAGE, says=("index.json", f"'{OTHER}'", "project.yaml 'product'"),
                allowed=set() if command == ("check",) else {"root/state"}, mode=mode)
    assert not rig.downloads.exists()


def test_a_release_json_of_another_product_fails_its_step_without_quarantine(rig: Rig) -> None:
    """The index is acme's but the archive it lists is another product's: verify fails the run
    (exit 1, rolled back); the version is not quarantined — it is no fault of a release of its own
    product, and the operator decides."""
    archive = write_archive(rig.feed.folder / "acme-server-1.1.0.tar.gz", release_files("1.1.0", OTHER))
    rig.feed.add("1.1.0", archive)
    publish(rig, sign=False)
    result = rig.cli("run", "--to", "1.1.0")
    assert result.returncode == 1, result.output
    error_line(result, "release.json", f"'{OTHER}'", f"'{PRODUCT}'")
    assert rig.run_file()["status"] == "rolled_back"
    assert rig.run_file()["fault"] is None
    assert quarantined(rig) == []
    assert rig.extracted() == [] and rig.installed() is None


def test_an_offline_package_of_another_product_is_refused(rig: Rig, mode: str) -> None:
    rig.configure(token_file="feed.token", product=PRODUCT)  # noqa: S106
    package = Publisher(rig.tmp / "usb", product=OTHER).build("1.1.0")
    package.with_name(package.name + ".sha256").write_text(f"{sha256_of(package)}  {package.name}\n")
    refused(rig, "run", "--package", str(package), code=EXIT_USAGE, says=("--package", f"'{OTHER}'"), mode=mode)


# -- 6. with public_key, an offline package needs a signed index that lists it --------------------------


def usb_package(rig: Rig, version: str = "1.1.0") -> tuple[Publisher, Path]:
    """A package on a USB stick with its hand-made .sha256 beside it (made by anybody)."""
    usb = Publisher(rig.tmp / "usb")
    usb.key = rig.feed.key
    package = usb.build(version)
    package.with_name(package.name + ".sha256").write_text(f"{sha256_of(package)}  {package.name}\n")
    return usb, package


def test_a_sha256_beside_a_package_does_not_bypass_the_public_key(rig: Rig, mode: str) -> None:
    """The attack: an archive no signed index lists, with a hand-made .sha256, on a machine whose
    project has a public_key and no feed. Refused, exit 2, one line saying what is needed."""
    rig.configure(feed=None, public_key=rig.feed.public_key)
    _, package = usb_package(rig)
    refused(rig, "run", "--package", str(package), code=EXIT_USAGE,
            says=("public_key", "signed index lists its sha256", ".sha256 is not enough",
                  "index.json and index.json.sig beside it"), mode=mode)
    assert not rig.downloads.exists() and rig.extracted() == []


def test_a_signed_feed_that_does_not_list_the_package_refuses_it(rig: Rig, mode: str) -> None:
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    publish(rig)  # lists 1.0.0 only
    _, package = usb_package(rig)
    refused(rig, "run", "--package", str(package), code=EXIT_USAGE,
            says=("feed's signed index", "does not list release 1.1.0"), mode=mode)
    assert archive_requests(rig) == []


def test_a_signed_index_beside_the_package_lets_it_install_offline(rig: Rig) -> None:
    rig.configure(feed=None, public_key=rig.feed.public_key)
    usb, package = usb_package(rig)
    usb.add("1.1.0", package)
    usb.publish(sign=True)  # index.json + index.json.sig beside the package

    result = rig.cli("run", "--package", str(package))
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.1.0"
    assert rig.server.requests() == []
    assert installed_document(rig)["release"]["product"] == PRODUCT


def test_a_signed_index_beside_the_package_that_lists_another_archive_refuses_it(rig: Rig, mode: str) -> None:
    rig.configure(feed=None, public_key=rig.feed.public_key)
    usb, package = usb_package(rig)
    usb.add("1.1.0", usb.build("1.1.0", payload=100))  # the publisher's 1.1.0, signed
    usb.publish(sign=True)
    write_archive(package, release_files("1.1.0"))  # replaced by another archive of that version
    refused(rig, "run", "--package", str(package), code=EXIT_USAGE, says=("lists another archive for 1.1.0",),
            mode=mode)


def test_an_index_beside_the_package_signed_by_another_key_is_refused(rig: Rig, mode: str) -> None:
    rig.configure(feed=None, public_key=rig.feed.public_key)
    usb, package = usb_package(rig)
    usb.key = new_key()
    usb.add("1.1.0", package)
    usb.publish(sign=True)
    refused(rig, "run", "--package", str(package), code=1, says=("index.json.sig", "does not verify"), mode=mode)


def test_the_feeds_signed_index_lets_a_package_install(rig: Rig) -> None:
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    _, package = usb_package(rig)
    rig.feed.add("1.1.0", package, href="acme-server-1.1.0.tar.gz")
    publish(rig)
    result = rig.cli("run", "--package", str(package))
    assert result.returncode == 0, result.output
    assert rig.installed() == "1.1.0"
    assert archive_requests(rig) == [], "the package was fetched from the feed"


# -- 9. reads before verification are bounded -------------------------------------------------------


def test_a_huge_index_is_refused_naming_the_cap(rig: Rig, mode: str) -> None:
    rig.feed.index_path.write_bytes(b" " * ((16 << 20) + 10))
    for command in (("check",), ("run",)):
        refused(rig, *command, code=1, says=("index.json", "16 MiB", "refused before verification"),
                allowed=set() if command == ("check",) else {"root/state"}, mode=mode)
    assert len(rig.server.requests(rig.index_path)) == 2, "a refusal for size was retried"


def test_a_huge_signature_is_refused_naming_the_cap(rig: Rig, mode: str) -> None:
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    publish(rig)
    (rig.feed.folder / "index.json.sig").write_bytes(base64.b64encode(os.urandom(64)) + b"\n" * 2000)
    refused(rig, "check", code=1, says=("index.json.sig", "1 KiB"), allowed=set(), mode=mode)


def _max_rss(rig: Rig, *args: str) -> tuple[int, Outcome]:
    """Peak resident memory (KiB) of ``upgrader ARGS`` in a process of its own, and its outcome."""
    out, err = rig.tmp / "rss.out", rig.tmp / "rss.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(rig.argv(*args), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                   env=rig.env())
    _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss, Outcome(process.returncode, out.read_text(), err.read_text(), 0.0)


def test_a_one_gibibyte_index_on_a_file_mirror_is_not_read_into_memory(rig: Rig) -> None:
    """The attack of the review: a 1 GiB index.json (here sparse, on a file:// mirror). The check
    reads at most 16 MiB + 1 byte of it: its peak memory stays within 64 MiB of a check on a small
    index."""
    mirror = Publisher(rig.tmp / "mirror")
    mirror.add("1.0.0")
    mirror.publish()
    rig.configure(feed=mirror.folder.as_uri() + "/")
    baseline, outcome = _max_rss(rig, "check")
    assert outcome.returncode == 0, outcome.output
    with open(mirror.index_path, "r+b") as stream:
        stream.truncate(1 << 30)
    peak, outcome = _max_rss(rig, "check")
    assert outcome.returncode == 1, outcome.output
    error_line(outcome, "index.json", "16 MiB")
    assert peak < baseline + (64 << 10), f"peak {peak} KiB, a small index {baseline} KiB"


# -- 10. the feed token ---------------------------------------------------------------------------------


def test_the_plain_token_variable_is_not_used_without_n(rig: Rig) -> None:
    (rig.project_dir / "feed.token").unlink()
    rig.configure()
    plain = without_name(rig, "check", env=rig.env(UPGRADER_FEED_TOKEN=TOKEN))
    assert plain.returncode == 1, plain.output
    error_line(plain, "401", "UPGRADER_FEED_TOKEN_ACME")
    assert {record.authorization for record in rig.server.requests()} == {None}

    own = without_name(rig, "check", env=rig.env(UPGRADER_FEED_TOKEN_ACME=TOKEN))
    assert own.returncode == 0, own.output
    named = rig.cli("check", env=rig.env(UPGRADER_FEED_TOKEN=TOKEN))
    assert named.returncode == 0, named.output
    assert TOKEN not in plain.output + own.output + named.output


def test_one_projects_token_never_reaches_another_projects_feed(rig: Rig) -> None:
    """Two vendors' projects in one root: acme's token, given as acme's variable, is not sent to
    beta's feed (here the same server, which records what it got)."""
    beta = rig.root / "projects" / "beta"
    beta.mkdir()
    (beta / "project.yaml").write_text(yaml.safe_dump({"feed": rig.feed_url, "workflow": str(rig.workflow_path)}))
    rig.server.token = None
    env = rig.env(UPGRADER_FEED_TOKEN_ACME=TOKEN)
    result = subprocess.run([str(UPGRADER), "--root", str(rig.root), "-n", "beta", "check"], capture_output=True,
                            text=True, check=False, env=env, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [record.authorization for record in rig.server.requests()] == [None]


def test_no_child_process_inherits_a_token(rig: Rig) -> None:
    """A hook (a command step) and notify.command print their environment: no UPGRADER_FEED_TOKEN*
    variable, and no token, reaches them."""
    hook_env, notify_env = rig.tmp / "hook.env", rig.tmp / "notify.env"
    workflow = json.loads(json.dumps(FETCH_WORKFLOW))
    workflow["states"].append("hooked")
    workflow["final"] = "hooked"
    workflow["steps"].append({"name": "hook", "from": "extracted", "to": "hooked", "action": "command",
                              "run": ["/bin/sh", "-c", 'env > "$0"', str(hook_env)]})
    rig.workflow_path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    rig.configure(token_file="feed.token",  # noqa: S106
                  notify={"command": ["/bin/sh", "-c", 'env > "$0"', str(notify_env)], "when": "always"})
    env = rig.env(UPGRADER_FEED_TOKEN=TOKEN, UPGRADER_FEED_TOKEN_ACME=TOKEN, UPGRADER_FEED_TOKEN_BETA="beta-TOKEN")  # noqa: S106
    result = rig.cli("run", env=env)
    assert result.returncode == 0, result.output
    for path in (hook_env, notify_env):
        text = path.read_text(encoding="utf-8")
        assert "UPGRADER_FEED_TOKEN" not in text, path
        assert TOKEN not in text and "beta-TOKEN" not in text, path
    assert "UPGRADER_NOTIFICATION=" in notify_env.read_text(encoding="utf-8"), "the notify command did not run"


@pytest.mark.parametrize("token", ["SEKRIT-a\nSEKRIT-b", "SEKRIT-a SEKRIT-b", "SEKRIT-a\x07", "SEKRIT-\u00e9",
                                   "SEKRIT-a\t"], ids=["newline", "space", "control", "non-ascii", "tab"])
def test_a_token_with_whitespace_or_a_control_character_is_refused_unshown(
        rig: Rig, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack on the logs: a token with a newline made requests refuse the header and echo
    its repr (the token) in stderr and the log. It is refused first, in one line without it.
    (In a process of its own: the in-process mode gives upgrader no environment of ours.)"""
    monkeypatch.setenv("UPGRADER_FEED_TOKEN_ACME", token)
    for command in (("check",), ("run", "--cron")):
        outcome, _ = refused(rig, *command, code=EXIT_USAGE, says=("UPGRADER_FEED_TOKEN_ACME", "printable ASCII"),
                             allowed=set() if command == ("check",) else {"root/state"}, mode="command")
        assert "SEKRIT" not in outcome.output, outcome.output
    assert files_holding(rig.tmp, "SEKRIT") == []
    assert rig.server.requests() == []


def test_a_token_file_with_a_control_character_is_refused_unshown(rig: Rig, mode: str) -> None:
    (rig.project_dir / "feed.token").write_bytes(b"tok\x1bsecret-part\n")
    outcome, _ = refused(rig, "check", code=EXIT_USAGE, says=("feed.token", "one token"), allowed=set(), mode=mode)
    assert "secret-part" not in outcome.output


# -- 11. an archive keeps the feed's scheme -------------------------------------------------------------


def test_an_http_feed_cannot_point_an_archive_at_a_local_file(rig: Rig) -> None:
    """The attack: an http feed listing file:///…/secret.txt with its sha256 and size. The release
    is not offered (one warning line); nothing is read or copied into downloads/."""
    secret = rig.tmp / "secret.txt"
    secret.write_bytes(b"root's secret\n")
    secret.chmod(0o600)
    rig.feed.entries.clear()
    rig.feed.add("1.1.0", secret, href=secret.as_uri())
    rig.feed.publish()
    before = snapshot(rig.tmp)

    plan = rig.check()
    assert plan["target"] is None, plan
    result = rig.cli("run")
    assert result.returncode == 0, result.output
    assert "up to date (nothing installed)" in result.stdout, result.output
    warnings = [line for line in result.stderr.splitlines() if "1.1.0" in line]
    assert len(warnings) == 1 and "file://" in warnings[0] and "is not offered" in warnings[0], result.output
    assert not rig.downloads.exists()
    assert files_holding(rig.root, "root's secret") == []
    assert {path for path in changes(before, snapshot(rig.tmp)) if not path.startswith("logs/")} <= {
        "root/state", "root/state/acme", "root/state/acme/lock"}


def test_a_fifo_as_a_file_archive_is_refused_without_hanging(rig: Rig) -> None:
    mirror = Publisher(rig.tmp / "mirror")
    mirror.add("1.0.0")
    mirror.publish()
    archive = mirror.archive_path("1.0.0")
    archive.unlink()
    os.mkfifo(archive)
    rig.configure(feed=mirror.folder.as_uri() + "/")
    result = rig.cli("run", timeout=30)
    assert result.returncode == 1, result.output
    error_line(result, "not a regular file")
    assert rig.extracted() == [] and rig.installed() is None
    assert quarantined(rig) == []


def test_a_downloaded_archive_is_private(rig: Rig) -> None:
    previous = os.umask(0o022)
    try:
        assert rig.cli("run").returncode == 0
    finally:
        os.umask(previous)
    archive = rig.downloads / "1.0.0" / rig.feed.archive_path("1.0.0").name
    assert archive.stat().st_mode & 0o777 == 0o600


# -- 12. freshness: serial and expires ----------------------------------------------------------------


def feed_state(rig: Rig) -> dict[str, Any] | None:
    path = rig.state / "feed.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def test_a_replayed_older_signed_index_is_refused(rig: Rig, mode: str) -> None:
    """The attack: the signed index of serial 5 served again after serial 6 (which offered 1.1.0):
    without serials it would say "up to date" forever. Refused for good (exit 1), nothing changes."""
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    old_index, old_signature = publish(rig, serial=5)
    assert rig.cli("run").returncode == 0
    assert feed_state(rig) is not None and feed_state(rig)["serial"] == 5  # type: ignore[index]
    rig.feed.add("1.1.0")
    publish(rig, serial=6)
    assert rig.check()["target"] == "1.1.0"
    assert feed_state(rig)["serial"] == 5, "check recorded a serial"  # type: ignore[index]
    assert rig.cli("run").returncode == 0 and rig.installed() == "1.1.0"
    assert feed_state(rig)["serial"] == 6  # type: ignore[index]

    rig.feed.index_path.write_bytes(old_index)
    assert old_signature is not None
    (rig.feed.folder / "index.json.sig").write_bytes(old_signature)
    rig.server.clear()
    for command in (("check",), ("run",), ("run", "--cron")):
        refused(rig, *command, code=1, says=("serial 5", "serial 6", "replayed", "feed.json"), mode=mode)
    assert archive_requests(rig) == []
    assert feed_state(rig)["serial"] == 6  # type: ignore[index]


def test_an_index_without_a_serial_after_one_with_is_refused(rig: Rig, mode: str) -> None:
    publish(rig, sign=False, serial=3)  # an unsigned feed: the serial is honoured too
    assert rig.cli("run").returncode == 0
    publish(rig, sign=False)
    refused(rig, "run", code=1, says=("has no serial", "serial 3", "replayed"), mode=mode)


def test_an_expired_index_is_refused_for_now_with_a_warning(rig: Rig, mode: str) -> None:
    publish(rig, sign=False, serial=1, expires="2020-01-01T00:00:00Z")
    for command in (("check",), ("run",)):
        refused(rig, *command, code=1, says=("expired at 2020-01-01T00:00:00Z", "later run tries again",
                                             "warning", "re-sign"),
                allowed=set() if command == ("check",) else {"root/state"}, mode=mode)
    assert feed_state(rig) is None, "an expired index's serial was recorded"
    publish(rig, sign=False, serial=2, expires="2999-01-01T00:00:00Z")
    assert rig.cli("run").returncode == 0


def test_a_serial_of_another_feed_does_not_count(rig: Rig) -> None:
    publish(rig, sign=False, serial=9)
    assert rig.cli("run").returncode == 0
    mirror = Publisher(rig.tmp / "mirror")
    mirror.add("1.0.0")
    mirror.add("1.0.1")
    mirror.publish(raw=json.dumps({"schema": 1, "product": PRODUCT, "serial": 1,
                                   "releases": mirror.entries}).encode())
    rig.configure(feed=mirror.folder.as_uri() + "/")
    assert rig.cli("run").returncode == 0 and rig.installed() == "1.0.1"
    assert feed_state(rig) is not None and feed_state(rig)["serial"] == 1  # type: ignore[index]


# -- 13. a version the schema accepts is one the plan parses --------------------------------------------


@pytest.mark.parametrize("version", ["1.0.0-01", "1.0.0-rc.01", "1.0.0-alpha..1", "1.0.0+", "1.0.0\n"])
def test_a_version_outside_semver_is_refused_by_the_schema(rig: Rig, version: str, mode: str) -> None:
    rig.feed.add(version, rig.feed.build("1.1.0"))
    rig.feed.publish()
    for command in (("check",), ("run", "--cron")):
        refused(rig, *command, code=1, says=("index.json", "not a semantic version"),
                allowed=set() if command == ("check",) else {"root/state"}, mode=mode)


def test_a_release_json_version_outside_semver_is_refused(rig: Rig, mode: str) -> None:
    files = release_files("1.1.0")
    files["release.json"] = json.dumps({"product": PRODUCT, "version": "1.1.0-01", "images": ["a:1"]}).encode()
    package = write_archive(rig.tmp / "usb" / "acme-server-1.1.0.tar.gz", files)
    package.with_name(package.name + ".sha256").write_text(f"{sha256_of(package)}  {package.name}\n")
    refused(rig, "run", "--package", str(package), "--cron", code=1, says=("release.json", "not a semantic version"),
            mode=mode)
