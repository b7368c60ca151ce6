"""``upgrader release publish | verify | phase | yank`` (DESIGN §10), through the installed command,
on real files, keys made by ``release keygen`` and packages made by ``release pack``; ``verify``
also over HTTP on 127.0.0.1. What the commands write is read back with the client's own code
(``feed.index_beside``: the limits, the signature, the schema)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.rig import FeedServer
from upgrader import feed

UPGRADER = Path(sys.executable).with_name("upgrader")
PRODUCT = "acme-server"
COMPOSE = """services:
  web:
    image: 127.0.0.1:5000/acme/web:${TAG}
  worker:
    image: 127.0.0.1:5000/acme/worker:${TAG}
"""


def upgrader(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(UPGRADER), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)


@dataclass(frozen=True)
class Vendor:
    """What a vendor holds before publishing: two keys and packages made by ``release pack``."""

    key: Path
    public: str
    other_key: Path
    packages: dict[str, Path]  # "1.0.0", "1.1.0", "1.0.0-rebuilt" (1.0.0, other bytes), "other-product"


def _pack(app: Path, version: str, out: Path, product: str = PRODUCT) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    result = upgrader("release", "pack", str(app), "--version", version, "--product", product, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Vendor:
    base = tmp_path_factory.mktemp("vendor")
    app = base / "app"
    (app / "config").mkdir(parents=True)
    (app / "compose.yaml").write_text(COMPOSE)
    (app / "config" / "app.conf").write_text("x=1\n")
    keys = {}
    for name in ("feed.key", "other.key"):
        made = upgrader("release", "keygen", str(base / name))
        assert made.returncode == 0, made.stderr
        keys[name] = made.stdout.strip()
    packages = {}
    for version in ("1.0.0", "1.1.0"):
        (app / "defaults.env").write_text(f"TAG={version}\n")
        packages[version] = _pack(app, version, base / "dist")
    (app / "config" / "app.conf").write_text("x=2\n")  # the same version built again: other bytes
    (app / "defaults.env").write_text("TAG=1.0.0\n")
    packages["1.0.0-rebuilt"] = _pack(app, "1.0.0", base / "rebuilt")
    packages["other-product"] = _pack(app, "1.2.0", base / "other", product="other-server")
    return Vendor(base / "feed.key", keys["feed.key"], base / "other.key", packages)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "feed"
    made.mkdir()
    return made


def publish(vendor: Vendor, version: str, folder: Path, *extra: str, key: Path | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """``release publish`` of the vendor's package ``version`` with its key (``key``: another)."""
    return upgrader("release", "publish", str(vendor.packages[version]), "--feed", str(folder),
                    "--key", str(key or vendor.key), *extra)


def published(vendor: Vendor, folder: Path, *versions: str) -> None:
    for version in versions:
        result = publish(vendor, version, folder)
        assert result.returncode == 0, result.stderr


def files(folder: Path) -> dict[str, bytes]:
    """Every file of the feed folder and its bytes (temporary files included: none may be left)."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def document(folder: Path) -> dict:
    return dict(json.loads((folder / "index.json").read_bytes()))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(result: subprocess.CompletedProcess[str], says: str) -> None:
    """Refused: exit 2, one line on stderr saying ``says``, nothing on stdout."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""


# -- publish ------------------------------------------------------------------------------------------


def test_publish_into_a_new_folder_makes_a_signed_feed_a_client_accepts(vendor: Vendor, folder: Path):
    result = publish(vendor, "1.0.0", folder)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"published {PRODUCT} 1.0.0 in {folder} (serial 1, signed)\n"
    assert result.stderr == ""
    index = feed.index_beside(folder, vendor.public)  # the client's own read: limits, signature, schema
    assert (index.product, index.serial, index.expires) == (PRODUCT, 1, None)
    package = vendor.packages["1.0.0"]
    [entry] = index.releases
    assert entry == {"version": "1.0.0", "archive": package.name, "sha256": sha256(package),
                     "size": package.stat().st_size, "released": entry["released"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["released"])
    assert (folder / package.name).read_bytes() == package.read_bytes()
    assert sorted(files(folder)) == sorted([package.name, "index.json", "index.json.sig"])
    assert {path.stat().st_mode & 0o777 for path in folder.iterdir()} == {0o644}


def test_a_second_publish_adds_its_entry_in_version_order_and_raises_the_serial(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.1.0")

    result = publish(vendor, "1.0.0", folder, "--min-from", "0.9.0", "--notes", "https://acme.example/1.0.0",
                     "--released", "2026-11-20T11:00:00+01:00", "--phase", "20")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"published {PRODUCT} 1.0.0 in {folder} (serial 2, signed)\n"
    index = feed.index_beside(folder, vendor.public)
    assert index.serial == 2
    assert [entry["version"] for entry in index.releases] == ["1.0.0", "1.1.0"]
    first = index.releases[0]
    assert (first["released"], first["notes"], first["min_from"], first["phase"]) == (
        "2026-11-20T10:00:00Z", "https://acme.example/1.0.0", "0.9.0", 20)


def test_the_same_archive_again_changes_nothing(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0", "1.1.0")
    before = files(folder)

    result = publish(vendor, "1.0.0", folder)

    assert result.returncode == 0, result.stderr
    assert "already published" in result.stdout and "nothing changed" in result.stdout
    assert files(folder) == before


def test_the_same_version_with_other_bytes_is_refused_and_nothing_changes(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    result = publish(vendor, "1.0.0-rebuilt", folder)

    one_line(result, f"{PRODUCT} 1.0.0 is already published in {folder} with other bytes")
    assert files(folder) == before


def test_another_products_package_is_refused(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    result = publish(vendor, "other-product", folder)

    one_line(result, f"is a package of other-server, but {folder / 'index.json'} is the feed of {PRODUCT}")
    assert files(folder) == before


def test_without_a_key_the_feed_is_unsigned_with_a_warning_and_a_key_signs_it_later(vendor: Vendor, folder: Path):
    result = upgrader("release", "publish", str(vendor.packages["1.0.0"]), "--feed", str(folder))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"published {PRODUCT} 1.0.0 in {folder} (serial 1, unsigned)\n"
    assert result.stderr.startswith("upgrader: warning: ") and "unsigned feed" in result.stderr
    assert not (folder / "index.json.sig").exists()
    assert feed.parse_index((folder / "index.json").read_bytes(), "index.json").serial == 1

    signed = publish(vendor, "1.1.0", folder)

    assert signed.returncode == 0 and signed.stderr == "", signed.stderr
    assert [entry["version"] for entry in feed.index_beside(folder, vendor.public).releases] == ["1.0.0", "1.1.0"]


def test_a_signed_feed_needs_its_key(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    result = upgrader("release", "publish", str(vendor.packages["1.1.0"]), "--feed", str(folder))

    one_line(result, "index.json.sig: the feed is signed: give --key")
    assert files(folder) == before


def test_a_key_that_did_not_sign_the_feed_is_refused(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    result = publish(vendor, "1.1.0", folder, key=vendor.other_key)

    one_line(result, "the feed is signed by another key")
    assert files(folder) == before


def _open_to_others(key: Path) -> None:
    key.chmod(0o644)


def _garbage(key: Path) -> None:
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----\n")


def _ecdsa(key: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    made = ec.generate_private_key(ec.SECP256R1())
    key.write_bytes(made.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def _a_folder(key: Path) -> None:
    key.unlink()
    key.mkdir(mode=0o700)


@pytest.mark.parametrize(("spoil", "says"), [
    (_open_to_others, "mode 0644: group or others may read or change the signing key"),
    (_garbage, "not an Ed25519 private key in PEM"),
    (_ecdsa, "not an Ed25519 private key in PEM"),
    (_a_folder, "not a regular file"),
], ids=lambda value: getattr(value, "__name__", "said").strip("_"))
def test_a_key_file_others_can_read_or_that_holds_no_ed25519_key_is_refused(vendor: Vendor, folder: Path,
                                                                            tmp_path: Path, spoil, says: str):
    key = tmp_path / "feed.key"
    shutil.copy(vendor.key, key)
    key.chmod(0o600)
    secret = key.read_text()
    spoil(key)

    result = publish(vendor, "1.0.0", folder, key=key)

    one_line(result, f"--key {key}: {says}")
    assert secret.splitlines()[1] not in result.stderr  # no key material, whatever is refused
    assert files(folder) == {}


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable even for root: the immutable attribute (``chattr +i``), which
    root's DAC override does not bypass; ``chmod 0555`` for another user."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_a_feed_folder_that_is_not_there_or_cannot_be_written_is_refused(vendor: Vendor, folder: Path,
                                                                         tmp_path: Path):
    one_line(publish(vendor, "1.0.0", tmp_path / "missing"), "no such folder")
    (tmp_path / "a-file").write_text("x")
    one_line(publish(vendor, "1.0.0", tmp_path / "a-file" / "feed"), "no such folder")
    published(vendor, folder, "1.0.0")
    before = files(folder)

    with read_only(folder):
        result = publish(vendor, "1.1.0", folder)

    one_line(result, f"--feed {folder}: cannot write in it")
    assert files(folder) == before


@pytest.mark.parametrize(("option", "says"), [
    (["--phase", "101"], "phase 101: a share of servers, 0 to 100"),
    (["--phase", "-1"], "phase -1: a share of servers, 0 to 100"),
    (["--min-from", "1.0"], "--min-from 1.0: not a semantic version"),
    (["--min-from", "2.0.0"], "--min-from 2.0.0 is above the release's own version 1.0.0"),
    (["--released", "last tuesday"], "--released last tuesday: not an ISO 8601 time"),
    (["--expires-in", "0"], "--expires-in 0: a number of days above 0"),
])
def test_bad_options_are_refused_before_anything_is_written(vendor: Vendor, folder: Path, option: list[str],
                                                            says: str):
    one_line(publish(vendor, "1.0.0", folder, *option), says)
    assert files(folder) == {}


def test_expires_in_sets_the_index_expiry_a_client_checks(vendor: Vendor, folder: Path):
    result = publish(vendor, "1.0.0", folder, "--expires-in", "30")

    assert result.returncode == 0, result.stderr
    index = feed.index_beside(folder, vendor.public)
    assert index.expires is not None and index.serial == 1


# -- verify -------------------------------------------------------------------------------------------


@pytest.fixture
def served(folder: Path) -> Iterator[str]:
    """The feed folder served over HTTP on 127.0.0.1; its URL."""
    server = FeedServer(folder).start()
    try:
        yield server.url
    finally:
        server.stop()


def verify(source: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return upgrader("release", "verify", source, *extra)


@pytest.mark.parametrize("over", ["folder", "http"])
def test_verify_passes_a_good_feed_with_one_line_per_release(vendor: Vendor, folder: Path, served: str, over: str):
    published(vendor, folder, "1.0.0", "1.1.0")
    source = str(folder) if over == "folder" else served

    result = verify(source, "--public-key", vendor.public)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("signature ok: ") and lines[1] == f"index ok: product {PRODUCT}, serial 2, 2 releases"
    assert [line.split(" (")[0] for line in lines[2:]] == [
        f"ok 1.0.0 {PRODUCT}-1.0.0.tar.gz", f"ok 1.1.0 {PRODUCT}-1.1.0.tar.gz"]


def test_verify_without_a_public_key_says_the_signature_is_not_checked(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")

    result = verify(str(folder))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith("signature not checked")
    assert result.stdout.splitlines()[-1].startswith("ok 1.0.0 ")


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_verify_over_http_fails_the_release_whose_archive_changed(vendor: Vendor, folder: Path, served: str):
    published(vendor, folder, "1.0.0", "1.1.0")
    flip(folder / f"{PRODUCT}-1.1.0.tar.gz", 100)
    with open(folder / f"{PRODUCT}-1.0.0.tar.gz", "ab") as archive:
        archive.write(b"\0")

    result = verify(served, "--public-key", vendor.public)

    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    [first] = [line for line in lines if line.startswith("FAIL 1.0.0: ")]
    [second] = [line for line in lines if line.startswith("FAIL 1.1.0: ")]
    assert "larger than the index's" in first and "bytes" in first, first
    assert "sha256 mismatch" in second, second


def test_verify_fails_an_index_changed_after_it_was_signed_and_checks_no_release(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    index = folder / "index.json"
    index.write_bytes(index.read_bytes().replace(b'"size": ', b'"size":  '))  # valid JSON, other bytes

    result = verify(str(folder), "--public-key", vendor.public)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL signature: ") and "does not verify" in result.stdout
    assert len(result.stdout.splitlines()) == 1


def test_verify_fails_a_changed_signature(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    signature = folder / "index.json.sig"
    raw = base64.b64decode(signature.read_bytes())
    signature.write_bytes(base64.b64encode(bytes([raw[0] ^ 1]) + raw[1:]) + b"\n")

    result = verify(str(folder), "--public-key", vendor.public)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("FAIL signature: ") and "index.json.sig" in result.stdout


def test_verify_reads_the_public_key_from_a_file_and_refuses_a_bad_one(vendor: Vendor, folder: Path, tmp_path: Path):
    published(vendor, folder, "1.0.0")
    (tmp_path / "feed.pub").write_text(vendor.public + "\n")

    assert verify(str(folder), "--public-key", str(tmp_path / "feed.pub")).returncode == 0
    one_line(verify(str(folder), "--public-key", "not-a-key"), "--public-key: not a base64 Ed25519 public key")
    one_line(verify(str(tmp_path / "missing")), "no such folder (a feed is a URL or a folder)")


# -- phase and yank -----------------------------------------------------------------------------------


def amend(vendor: Vendor, folder: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return upgrader("release", *words, "--feed", str(folder), "--key", str(vendor.key))


def test_phase_changes_that_entry_alone_raises_the_serial_and_signs_again(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0", "1.1.0")
    before = document(folder)

    result = amend(vendor, folder, "phase", "1.1.0", "50")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{PRODUCT} 1.1.0 now at phase 50% in {folder} (serial 3)\n"
    index = feed.index_beside(folder, vendor.public)
    after = document(folder)
    assert index.serial == 3
    assert after["releases"][0] == before["releases"][0]
    assert after["releases"][1] == {**before["releases"][1], "phase": 50}
    assert {key: value for key, value in after.items() if key not in ("serial", "releases")} == {
        key: value for key, value in before.items() if key not in ("serial", "releases")}

    again = amend(vendor, folder, "phase", "1.1.0", "50")

    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr
    assert document(folder)["serial"] == 3


def test_yank_marks_the_entry_with_its_reason_and_undo_takes_it_back(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0", "1.1.0")
    before = document(folder)

    result = amend(vendor, folder, "yank", "1.0.0", "--reason", "loses uploads on restart")

    assert result.returncode == 0, result.stderr
    index = feed.index_beside(folder, vendor.public)
    assert index.serial == 3
    assert index.releases[0] == {**before["releases"][0], "yanked": "loses uploads on restart"}
    assert index.releases[1] == before["releases"][1]

    undone = amend(vendor, folder, "yank", "1.0.0", "--undo")

    assert undone.returncode == 0, undone.stderr
    index = feed.index_beside(folder, vendor.public)
    assert index.serial == 4 and list(index.releases) == before["releases"]


@pytest.mark.parametrize(("words", "says"), [
    (["phase", "2.0.0", "10"], "lists no release 2.0.0 (it lists: 1.0.0)"),
    (["yank", "2.0.0", "--reason", "bad"], "lists no release 2.0.0 (it lists: 1.0.0)"),
    (["phase", "1.0.0", "101"], "phase 101: a share of servers, 0 to 100"),
])
def test_phase_and_yank_refuse_an_unknown_version_or_a_bad_percent(vendor: Vendor, folder: Path, words: list[str],
                                                                    says: str):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    one_line(amend(vendor, folder, *words), says)
    assert files(folder) == before


def test_phase_refuses_a_key_that_did_not_sign_the_feed(vendor: Vendor, folder: Path):
    published(vendor, folder, "1.0.0")
    before = files(folder)

    result = upgrader("release", "phase", "1.0.0", "10", "--feed", str(folder), "--key", str(vendor.other_key))

    one_line(result, "the feed is signed by another key")
    assert files(folder) == before


def test_a_feed_another_release_command_is_changing_is_refused(vendor: Vendor, folder: Path):
    import fcntl

    published(vendor, folder, "1.0.0")
    before = files(folder)
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # what a publish under way holds

        result = publish(vendor, "1.1.0", folder)
    finally:
        os.close(descriptor)

    one_line(result, "another upgrader release command is changing this feed")
    assert files(folder) == before
