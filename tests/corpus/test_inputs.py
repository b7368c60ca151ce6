"""Malformed and hostile inputs (issue 6 §3): project.yaml, the token file, workflow files, the
feed's index.json and its signature, release.json, release archives (tar slip in all its forms,
gzip bombs). Each is refused with one clear line naming what is wrong, no traceback, and nothing
changes: before the run starts nothing at all (but the project's lock file); for a bad archive the
run rolls back with nothing extracted, nothing written outside the root and nothing left partial.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.integration.feedrig import FETCH_WORKFLOW, Rig, changes, new_key, release_files, snapshot
from tests.unit.release_builders import (
    Entry,
    Zeros,
    basic,
    docker_save,
    file,
    folder,
    hardlink,
    special,
    stream,
    symlink,
    tar_bytes,
    write_archive,
)
from tests.unit.release_builders import release_json as unit_release_json

from . import test_package_dos as dos
from .conftest import TOKEN, in_process, refused

# -- project.yaml ----------------------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))

PROJECT_YAML = {
    "not-yaml": (b"feed: [unclosed\n", ("not valid YAML",)),
    "tab-indent": (b"feed:\n\t- x\n", ("not valid YAML",)),
    "a-list": (b"- feed\n- allow\n", ("must be a mapping",)),
    "a-string": (b"just words\n", ("must be a mapping",)),
    "unknown-key": (b"feeed: http://127.0.0.1/\n", ("unknown key 'feeed'",)),
    "bad-allow": (b"allow: sideways\n", ("'allow'", "must be one of")),
    "negative-timeout": (b"health_timeout: -5\n", ("'health_timeout'",)),
    "text-timeout": (b"health_timeout: lots\n", ("'health_timeout'", "type")),
    "fraction-keep": (b"keep_releases: 1.5\n", ("'keep_releases'",)),
    "ftp-feed": (b"feed: ftp://127.0.0.1/acme/\n", ("'feed'",)),
    "bad-value-name": (b"values: {\"1BAD\": x}\n", ("values",)),
    "list-value": (b"values: {A: [1, 2]}\n", ("values.A",)),
    "javascript-webhook": (b"notify: {webhook: 'javascript:alert(1)'}\n", ("notify.webhook",)),
    "bad-min-age": (b"min_age: soon\n", ("'min_age'",)),
    "invalid-utf8": (b"feed: \xff\xfe\x00garbage\n", ("cannot read",)),
    "python-tag": (b"!!python/object/apply:os.system ['touch /tmp/upgrader-corpus-canary']\n",
                   ("not valid YAML",)),
    "alias-bomb": ((BOMB + "values: *i\n").encode(), ("'values'",)),
    "alias-bomb-unknown-key": (BOMB.encode(), ()),
    "number-and-text-keys": (b"0: zero\nbogus: one\n", ()),
    "number-value-name": (b"values: {80: '8080'}\n", ("values",)),
}


@pytest.mark.parametrize("case", PROJECT_YAML, ids=list(PROJECT_YAML))
def test_a_bad_project_yaml_is_refused(rig: Rig, case: str, mode: str) -> None:
    """A malformed project.yaml: exit 2, one line naming the file (and key), nothing changed —
    except ``status``, which still shows the state files and says why project.yaml is invalid."""
    content, says = PROJECT_YAML[case]
    (rig.project_dir / "project.yaml").write_bytes(content)
    commands: tuple[tuple[str, ...], ...] = (("status",), ("run",), ("check", "--json"))
    if "bomb" in case:
        # A case that may never end runs once, in a process of its own, with a deadline.
        mode, commands = "command", (("status",),)
    for command in commands:
        if command == ("status",):
            shown_despite(rig, says=("project.yaml", *says), mode=mode, timeout=10)
        else:
            refused(rig, *command, code=2, says=("project.yaml", *says), allowed=set(), mode=mode, timeout=10)
    assert not Path("/tmp/upgrader-corpus-canary").exists()


def shown_despite(rig: Rig, *, says: tuple[str, ...], mode: str, timeout: float) -> None:
    """``upgrader status`` with project.yaml invalid: exit 0, what the state files say, and a line
    saying project.yaml is invalid holding every one of ``says``; nothing changed, no traceback."""
    before = snapshot(rig.tmp)
    outcome = in_process(rig, "status") if mode == "in-process" else rig.cli("status", timeout=timeout)
    changed = {path for path in changes(before, snapshot(rig.tmp)) if not path.startswith("logs/")}
    assert outcome.returncode == 0, outcome.output
    assert "Traceback" not in outcome.stderr and TOKEN not in outcome.output, outcome.output
    assert outcome.stdout.startswith("project acme: installed (nothing)\nproject.yaml is invalid "), outcome.output
    shown = outcome.stdout.split("project.yaml is invalid ", 1)[1]
    missing = [needle for needle in says if needle not in shown]
    assert not missing, f"{missing} not in\n{outcome.output}"
    assert not changed, f"changed: {sorted(changed)}\n{outcome.output}"


TOKENS = {
    "missing": (None, ("token_file not found",)),
    "empty": (b"\n", ("one token",)),
    "two-tokens": (b"abc def\n", ("one token",)),
    "two-lines": (b"abc\ndef\n", ("one token",)),
    "binary": (b"\xff\xfe\x00\x01", ("cannot read the token file",)),
}


@pytest.mark.parametrize("case", TOKENS, ids=list(TOKENS))
def test_a_bad_token_file_is_refused(rig: Rig, case: str, mode: str) -> None:
    content, says = TOKENS[case]
    token = rig.project_dir / "feed.token"
    if content is None:
        token.unlink()
    else:
        token.write_bytes(content)
    refused(rig, "check", code=2, says=("feed.token", *says), allowed=set(), mode=mode)
    refused(rig, "run", code=2, says=("feed.token", *says), mode=mode)


KEYS = {
    "not-base64": ("not base64 at all!", ("public_key", "not base64")),
    "short-key": (base64.b64encode(b"x" * 16).decode(), ("public_key", "32 bytes")),
}


@pytest.mark.parametrize("case", KEYS, ids=list(KEYS))
def test_a_bad_public_key_is_refused(rig: Rig, case: str, mode: str) -> None:
    key, says = KEYS[case]
    rig.configure(token_file="feed.token", public_key=key)  # noqa: S106
    rig.feed.publish(sign=True)
    refused(rig, "check", code=2, says=says, allowed=set(), mode=mode)


# -- workflow files ----------------------------------------------------------------------------------


def _workflow(**changes: object) -> dict[str, object]:
    document = json.loads(json.dumps(FETCH_WORKFLOW))
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return document


def _steps(*edits: tuple[int, dict[str, object]], add: list[dict[str, object]] | None = None) -> list[object]:
    steps = json.loads(json.dumps(FETCH_WORKFLOW["steps"]))
    for index, edit in edits:
        steps[index].update(edit)
    return steps + (add or [])


WORKFLOWS: dict[str, tuple[object, tuple[str, ...]]] = {
    "not-yaml": ("steps: [unclosed\n", ("not valid YAML",)),
    "empty": ("", ("must be a mapping",)),
    "a-list": ("- a\n- b\n", ("must be a mapping",)),
    "binary": (b"\xff\xfe\x00\x01", ("cannot read workflow",)),
    "python-tag": ("!!python/object/apply:os.system ['touch /tmp/upgrader-corpus-canary']\n",
                   ("not valid YAML",)),
    "no-steps": (_workflow(steps=None), ("'steps' is required",)),
    "unknown-key": (_workflow(colour="blue"), ("unknown key 'colour'",)),
    "unknown-action": (_workflow(steps=_steps((1, {"action": "teleport"}))), ("unknown action 'teleport'",)),
    "unknown-undo": (_workflow(steps=_steps((1, {"undo": "unteleport"}))), ("unknown undo action",)),
    "two-steps-from-one-state": (_workflow(steps=_steps(add=[{"name": "again", "from": "idle", "to": "verified",
                                                             "action": "verify"}])), ("one step per state",)),
    "unreachable-state": (_workflow(states=["idle", "downloaded", "verified", "extracted", "limbo"]),
                          ("not reachable",)),
    "final-not-reached": (_workflow(final="verified", steps=_steps()[:1]), ("not reachable",)),
    "loop": (_workflow(steps=_steps((2, {"to": "downloaded"}))), ("loop",)),
    "duplicate-names": (_workflow(steps=_steps((1, {"name": "download"}))), ("also the name",)),
    "initial-is-final": (_workflow(final="idle"), ("must differ",)),
    "state-not-listed": (_workflow(steps=_steps((0, {"to": "nowhere"}))), ("not in 'states'",)),
    "command-without-run": (_workflow(steps=_steps((1, {"action": "command"}))), ("needs 'run'",)),
    "unknown-placeholder": (_workflow(steps=_steps((1, {"action": "command", "run": ["echo", "{secret}"]}))),
                            ("unknown placeholder {secret}",)),
    "run-not-a-list": (_workflow(steps=_steps((1, {"action": "command", "run": "rm -rf /"}))), ("run",)),
    "zero-attempts": (_workflow(steps=_steps((0, {"retry": {"attempts": 0}}))), ("attempts", "≥ 1")),
    "max-below-initial": (_workflow(steps=_steps((0, {"retry": {"attempts": 2, "initial": 5, "max": 1}}))),
                          ("must be ≥ initial",)),
    "negative-timeout": (_workflow(steps=_steps((1, {"action": "command", "run": ["true"], "timeout": -1}))),
                         ("timeout",)),
    "bad-on-failure": (_workflow(on_failure="panic"), ("on_failure",)),
    "missing-file": (None, ("workflow file not found",)),
    "alias-bomb": (BOMB + "name: x\ninitial: idle\nfinal: done\nstates: [idle, done]\nsteps: *i\n",
                   ("steps",)),
    "number-and-text-keys": (yaml.safe_dump(FETCH_WORKFLOW) + "0: zero\n", ()),
}


@pytest.mark.parametrize("case", WORKFLOWS, ids=list(WORKFLOWS))
def test_a_bad_workflow_is_refused_before_anything_runs(rig: Rig, case: str, mode: str) -> None:
    """A malformed workflow: `run` exits 2 with one line naming the file and the problem; the
    project's state folder is not even created."""
    content, says = WORKFLOWS[case]
    if content is None:
        rig.workflow_path.unlink()
    elif isinstance(content, bytes):
        rig.workflow_path.write_bytes(content)
    else:
        rig.workflow_path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    commands: tuple[tuple[str, ...], ...] = (("run",), ("run", "--cron"), ("graph",))
    if "bomb" in case:
        # A case that may never end runs once, in a process of its own, with a deadline.
        mode, commands = "command", (("run",),)
    for command in commands:
        if command == ("graph",) and case in ("unknown-action", "unknown-undo"):
            continue  # graph draws any workflow whose actions it is not asked to run
        refused(rig, *command, code=2, says=(str(rig.workflow_path), *says), allowed=set(), mode=mode,
                timeout=10)
    assert not Path("/tmp/upgrader-corpus-canary").exists()


# -- the feed's index and its signature --------------------------------------------------------------

SHA = "a" * 64
GOOD_ENTRY = {"version": "1.1.0", "archive": "a.tar.gz", "sha256": SHA, "size": 10}


def _index(**changes: object) -> bytes:
    document: dict[str, object] = {"schema": 1, "product": "acme-server", "releases": [GOOD_ENTRY]}
    document.update(changes)
    return json.dumps(document).encode()


def _entry(**changes: object) -> bytes:
    return _index(releases=[{**GOOD_ENTRY, **changes}])


INDEXES = {
    "not-json": (b"{\"schema\": 1, \"product\"", ("not valid JSON",)),
    "empty": (b"", ("not valid JSON",)),
    "binary": (b"\xff\xfe\x00\x01\x02", ("not valid JSON",)),
    "an-array": (b"[1, 2, 3]", ("type object",)),
    "schema-2": (_index(schema=2), ("schema 2",)),
    "no-product": (json.dumps({"schema": 1, "releases": []}).encode(), ("'product' is required",)),
    "releases-not-a-list": (_index(releases={"1.1.0": {}}), ("releases",)),
    "version-not-semver": (_entry(version="1.1"), ("not a semantic version",)),
    "short-sha256": (_entry(sha256="abc"), ("sha256",)),
    "negative-size": (_entry(size=-1), ("size",)),
    "text-size": (_entry(size="10"), ("size",)),
    "nan-size": (_entry(size=float("nan")), ("size",)),
    "empty-archive": (_entry(archive=""), ("archive",)),
    "duplicate-version": (_index(releases=[GOOD_ENTRY, GOOD_ENTRY]), ("listed twice",)),
    "bad-date": (_entry(released="yesterday"), ("not an ISO 8601",)),
    "unknown-key": (_entry(evil=True), ("unknown key 'evil'",)),
    "deeply-nested": (b"[" * 100_000 + b"]" * 100_000, ("index.json",)),
    "deeply-nested-notes": (_entry(notes="x").replace(b'"x"', b"[" * 50_000 + b"]" * 50_000),
                            ("index.json",)),
}


@pytest.mark.parametrize("case", INDEXES, ids=list(INDEXES))
def test_a_bad_index_is_refused(rig: Rig, case: str, mode: str) -> None:
    """A malformed index.json: `check` and `run` exit 1 with one line naming the index, nothing
    is downloaded."""
    content, says = INDEXES[case]
    rig.feed.publish(raw=content)
    refused(rig, "check", code=1, says=("index.json", *says), allowed=set(), mode=mode)
    refused(rig, "run", code=1, says=("index.json", *says), mode=mode)
    assert not rig.downloads.exists()


def _signature(rig: Rig, kind: str) -> bytes | None:
    data = rig.feed.index_path.read_bytes()
    good = base64.b64encode(rig.feed.key.sign(data))
    return {
        "missing": None,
        "empty": b"",
        "not-base64": b"this is not base64 !!!",
        "other-bytes": base64.b64encode(rig.feed.key.sign(data + b" ")),
        "other-key": base64.b64encode(new_key().sign(data)),
        "truncated": good[:40],
        "trailing-junk": good + b"AAAA",
        "a-gzip-bomb-sized": b"A" * (1 << 20),
    }[kind]


SIGNATURES = ["missing", "empty", "not-base64", "other-bytes", "other-key", "truncated", "trailing-junk",
              "a-gzip-bomb-sized"]


@pytest.mark.parametrize("kind", SIGNATURES)
def test_a_bad_signature_is_refused(rig: Rig, kind: str, mode: str) -> None:
    """With a public_key, an index whose signature is missing or does not verify is refused in one
    line; nothing is downloaded."""
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    rig.feed.publish(sign=True)
    signature = _signature(rig, kind)
    sig_path = rig.feed.folder / "index.json.sig"
    if signature is None:
        sig_path.unlink()
    else:
        sig_path.write_bytes(signature)
    says = ("404",) if kind == "missing" else ("index.json.sig",)
    refused(rig, "check", code=1, says=says, allowed=set(), mode=mode)
    refused(rig, "run", code=1, says=says, mode=mode)
    assert not rig.downloads.exists()


def test_an_index_changed_after_signing_is_refused(rig: Rig, mode: str) -> None:
    rig.configure(token_file="feed.token", public_key=rig.feed.public_key)  # noqa: S106
    rig.feed.publish(sign=True)
    rig.feed.index_path.write_bytes(rig.feed.index_path.read_bytes().replace(b"1.0.0", b"1.0.1"))
    refused(rig, "check", code=1, says=("does not verify",), allowed=set(), mode=mode)


# -- release.json and archives (offline packages: FILE.sha256 beside FILE) -------------------------


def offline(tmp: Path, entries: list[Entry] | None = None, *, raw: bytes | None = None,
            name: str = "acme-server-1.1.0.tar.gz") -> Path:
    """An offline package and its ``.sha256`` beside it, in ``tmp/packages``."""
    folder = tmp / "packages"
    folder.mkdir(exist_ok=True)
    path = folder / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        write_archive(path, entries or [])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return path


def _release_entries(release: bytes) -> list[Entry]:
    files = release_files("1.1.0")
    return [file("release.json", release),
            *(file(name, data) for name, data in files.items() if name != "release.json" and "/" not in name)]


def _deep(depth: int) -> bytes:
    return b'{"product": "acme-server", "version": "1.1.0", "images": ["a:1"], "description": ' + \
        b"[" * depth + b"]" * depth + b"}"


RELEASE_JSON = {
    "not-json": (b"{\"product\": ", ("release.json", "not valid JSON")),
    "binary": (b"\xff\xfe\x00", ("release.json", "not valid JSON")),
    "an-array": (b"[]", ("release.json", "type object")),
    "no-version": (json.dumps({"product": "acme-server", "images": ["a:1"]}).encode(), ("'version' is required",)),
    "bad-version": (unit_release_json(version="one"), ("not a semantic version",)),
    "no-images": (unit_release_json(images=[]), ("images",)),
    "untagged-image": (unit_release_json(images=["127.0.0.1:5000/acme/web"]), ("images[0]",)),
    "same-image-twice": (unit_release_json(images=["a:1", "a:1"]), ("images",)),
    "unknown-key": (unit_release_json(evil=1), ("unknown key 'evil'",)),
    "over-a-mebibyte": (unit_release_json(description="x" * (1 << 20)), ("larger than 1 MiB",)),
    "deeply-nested": (_deep(100_000), ("release.json",)),
}


@pytest.mark.parametrize("case", RELEASE_JSON, ids=list(RELEASE_JSON))
def test_a_bad_release_json_is_refused_before_the_run(rig: Rig, case: str, mode: str) -> None:
    """`run --package` reads release.json first: a malformed one is refused in one line before any
    run starts; nothing changes."""
    content, says = RELEASE_JSON[case]
    package = offline(rig.tmp, _release_entries(content))
    refused(rig, "run", "--package", str(package), code=1, says=says, mode=mode)


def _canary(rig: Rig) -> Path:
    return rig.tmp / "outside-canary"


def _slips(rig: Rig) -> dict[str, list[Entry]]:
    """Every form of tar slip we know, each after a good release.json and compose.yaml."""
    canary = _canary(rig)
    depth = "../" * (len(rig.releases.parts) + 2)
    pax = file("config/innocent", b"pwned\n")
    pax.info.pax_headers = {"path": "../../outside-canary"}
    longname = file("config/" + "a/" * 60 + "../" * 70 + "outside-canary", b"pwned\n")
    return {
        "absolute-path": [file(str(canary), b"pwned\n")],
        "dotdot": [file("../outside-canary", b"pwned\n")],
        "deep-dotdot": [file(depth + str(canary).lstrip("/"), b"pwned\n")],
        "dot-slash-dotdot": [file("./../outside-canary", b"pwned\n")],
        "inner-dotdot": [file("config/../../outside-canary", b"pwned\n")],
        "backslash-dotdot": [file("..\\..\\outside-canary", b"pwned\n")],
        "pax-path-dotdot": [pax],
        "long-name-dotdot": [longname],
        "symlink-absolute": [symlink("config/link", str(canary.parent))],
        "symlink-dotdot": [symlink("config/link", "../../..")],
        "symlink-then-file-through-it": [symlink("escape", "../.."), file("escape/outside-canary", b"pwned\n")],
        "symlink-chain": [folder("b"), symlink("a", "b/.."), symlink("b/c", "../.."),
                          file("a/b/c/outside-canary", b"pwned\n")],
        "symlink-to-a-later-symlink": [symlink("x", "y/../.."), symlink("y", "."), file("x/outside-canary", b"")],
        "hardlink-absolute": [hardlink("config/passwd", "/etc/passwd")],
        "hardlink-dotdot": [hardlink("config/h", "../../outside-canary")],
        "hardlink-to-a-missing-member": [hardlink("config/h", "config/not-there")],
        "char-device": [special("config/null", tarfile.CHRTYPE)],
        "block-device": [special("config/disk", tarfile.BLKTYPE)],
        "fifo": [special("config/pipe", tarfile.FIFOTYPE)],
        "setuid": [file("hooks/sh", b"#!/bin/sh\n", mode=0o4755)],
        "setgid": [file("hooks/sh", b"#!/bin/sh\n", mode=0o2755)],
        "duplicate-release-json": [file("release.json", unit_release_json(images=["evil:1"]))],
        # Links resolved against the temporary folder releases/.1.1.0.acme.partial (they pass
        # there, then dangle or lead elsewhere once it is renamed): through another link of the
        # archive, before or after it, by a symbolic or a hard link, or by climbing to it.
        "temporary-folder-through-a-link": [symlink("b", "."),
                                            symlink("a", "b/../.1.1.0.acme.partial/compose.yaml")],
        "temporary-folder-through-a-later-link": [symlink("a", "b/../.1.1.0.acme.partial/compose.yaml"),
                                                  symlink("b", ".")],
        "temporary-folder-by-climbing": [symlink("a", "../.1.1.0.acme.partial/compose.yaml")],
        "temporary-folder-by-a-hard-link": [symlink("b", "."), hardlink("h", "b/compose.yaml")],
        "link-to-a-link": [folder("config"), symlink("config/a", "b"), symlink("config/b", "../compose.yaml")],
        "file-under-a-link": [folder("config"), symlink("d", "config"), file("d/outside-canary", b"pwned\n")],
    }


SLIPS = ["absolute-path", "dotdot", "deep-dotdot", "dot-slash-dotdot", "inner-dotdot", "backslash-dotdot",
         "pax-path-dotdot", "long-name-dotdot", "symlink-absolute", "symlink-dotdot",
         "symlink-then-file-through-it", "symlink-chain", "symlink-to-a-later-symlink", "hardlink-absolute",
         "hardlink-dotdot", "hardlink-to-a-missing-member", "char-device", "block-device", "fifo", "setuid",
         "setgid", "duplicate-release-json", "temporary-folder-through-a-link",
         "temporary-folder-through-a-later-link", "temporary-folder-by-climbing", "temporary-folder-by-a-hard-link",
         "link-to-a-link", "file-under-a-link"]


def assert_nothing_extracted(rig: Rig, changed: set[str]) -> None:
    assert not _canary(rig).exists(), "the archive wrote outside the root"
    leftovers = sorted(path.name for path in rig.releases.iterdir()) if rig.releases.exists() else []
    assert leftovers == [], f"releases/ holds {leftovers}"
    outside = sorted(path for path in changed if not path.startswith("root/"))
    assert not outside, outside


@pytest.mark.parametrize("case", SLIPS)
def test_a_hostile_archive_is_refused(rig: Rig, case: str, mode: str) -> None:
    """Tar slip in all its forms and unsafe entries: the run rolls back with one line, nothing is
    extracted, nothing lands outside the root, no partial folder is left; the release is
    quarantined."""
    package = offline(rig.tmp, [*basic(), *_slips(rig)[case]])
    outcome, changed = refused(rig, "run", "--package", str(package), code=1,
                               allowed={"root/state", "root/downloads", "root/releases"}, mode=mode)
    assert_nothing_extracted(rig, changed)
    assert rig.run_file()["status"] == "rolled_back"
    status = json.loads(rig.cli("status", "--json").stdout)
    assert status["quarantined"] == ["1.1.0"], outcome.output


def _bomb(tmp: Path) -> bytes:
    path = tmp / "bomb.tar.gz"
    size = 200 << 20
    write_archive(path, [*basic(), stream("config/zeros", size, Zeros(size))], compresslevel=9)
    return path.read_bytes()


BROKEN = {
    "gzip-bomb": (_bomb, ("expands to more than",)),
    "truncated": (lambda tmp: (lambda raw: raw[: len(raw) // 2])(_good(tmp)), ("truncated or corrupt",)),
    "not-gzip": (lambda tmp: b"PK\x03\x04 a zip\n" * 50, ("not a gzip-compressed tar",)),
    "gzip-of-text": (lambda tmp: __import__("gzip").compress(b"not a tar\n" * 100), ("not a gzip-compressed tar",)),
    "empty-file": (lambda tmp: b"", ("not a gzip-compressed tar",)),
    "no-release-json": (lambda tmp: _tar(tmp, [file("compose.yaml", b"services: {}\n")]), ("release.json is missing",)),
    # Archive denial of service: refused at the cap, without reading the rest (test_package_dos).
    "too-many-entries": (lambda tmp: _blocks([*dos.release(), *(dos.regular(f"f/{index // 1000:03d}/{index:06d}")
                                                                for index in range(200_000))]),
                         ("entry 'f/099/099998' is past the limit of 100000 entries",)),
    "long-name-header-bomb": (lambda tmp: _blocks([*dos.release(), *(dos.pax(f"{index:08d}" + "x" * 992)
                                                                     for index in range(40_000))]),
                              ("expands to more than 67108864 bytes",)),
}


def _blocks(blocks: list[bytes]) -> bytes:
    return gzip.compress(b"".join(blocks) + b"\0" * 1024, compresslevel=6)


def _tar(tmp: Path, entries: list[Entry]) -> bytes:
    path = tmp / "built.tar.gz"
    write_archive(path, entries)
    return path.read_bytes()


def _good(tmp: Path) -> bytes:
    return _tar(tmp, [*basic(), file("config/data.bin", bytes(range(256)) * 400)])


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_archive_is_refused(rig: Rig, case: str, mode: str) -> None:
    """A gzip bomb (capped expansion), a truncated or non-gzip archive, one without release.json:
    refused in one line, before or during the run; nothing extracted."""
    build, says = BROKEN[case]
    package = offline(rig.tmp, raw=build(rig.tmp))
    _, changed = refused(rig, "run", "--package", str(package), code=1, says=says,
                         allowed={"root/state", "root/downloads", "root/releases"}, mode=mode)
    assert_nothing_extracted(rig, changed)


def test_an_offline_package_with_a_bad_checksum_file_is_refused(rig: Rig, mode: str) -> None:
    package = offline(rig.tmp, basic())
    package.with_name(package.name + ".sha256").write_text("not-a-digest  x\n")
    refused(rig, "run", "--package", str(package), code=2, says=("sha256",), mode=mode)


# -- images/*.tar of an offline package: only what release.json names (DESIGN §15) ------------------

WEB = "127.0.0.1:5000/acme/web:1.1.0"
OTHER = "127.0.0.1:5000/other/web:1.0"


def _saved(*entries: Entry) -> Entry:
    return file("images/web.tar", tar_bytes([file("x.json", b"{}"), *entries]))


def _manifest(*tags: str, **fields: object) -> Entry:
    return file("manifest.json", json.dumps([{"Config": "x.json", "RepoTags": list(tags), **fields}]).encode())


IMAGE_TARS: dict[str, tuple[list[Entry], tuple[str, ...]]] = {
    "another-project's-image": ([file("images/web.tar", docker_save([WEB, OTHER]))],
                                ("images/web.tar", f"carries {OTHER}, which release.json does not list")),
    "only-another-image": ([file("images/web.tar", docker_save([OTHER]))], (f"carries {OTHER}",)),
    "untagged-image": ([_saved(_manifest())], ("images/web.tar", "has no RepoTags")),
    "legacy-repositories": ([_saved(_manifest(WEB), file("repositories", json.dumps(
        {"127.0.0.1:5000/other/web": {"1.0": "0" * 64}}).encode()))], (f"carries {OTHER}",)),
    "repotags-in-another-case": ([_saved(_manifest(WEB, REPOTAGS=[OTHER]))], (f"carries {OTHER}",)),
    "manifest-twice": ([_saved(_manifest(WEB), file("./manifest.json", json.dumps(
        [{"RepoTags": [OTHER]}]).encode()))], ("images/web.tar", "'./manifest.json'")),
    "manifest-through-a-link": ([_saved(_manifest(WEB), symlink("d", "."), file("d/manifest.json", b"[]"))],
                                ("images/web.tar", "lies under a link")),
    "oci-index-name": ([_saved(_manifest(WEB), file("index.json", json.dumps({"manifests": [
        {"annotations": {"io.containerd.image.name": OTHER}}]}).encode()))], (f"carries {OTHER}",)),
    "tar-a-symlink": ([folder("config"), file("config/other.tar", docker_save([OTHER])),
                       symlink("images/web.tar", "../config/other.tar")], ("images/web.tar", "images/ may hold only")),
}


@pytest.mark.parametrize("case", IMAGE_TARS, ids=list(IMAGE_TARS))
def test_an_image_tar_tagging_another_image_is_refused(rig: Rig, case: str, mode: str) -> None:
    """An offline package whose images/*.tar would make `docker load` tag an image release.json
    does not name (another project's), or an untagged one: verify refuses it in one line naming
    the tar; nothing is extracted, the release is quarantined."""
    extra, says = IMAGE_TARS[case]
    package = offline(rig.tmp, [*basic(), folder("images"), *extra])
    outcome, changed = refused(rig, "run", "--package", str(package), code=1, says=says,
                               allowed={"root/state", "root/downloads", "root/releases"}, mode=mode)
    assert_nothing_extracted(rig, changed)
    assert rig.run_file()["status"] == "rolled_back"
    assert json.loads(rig.cli("status", "--json").stdout)["quarantined"] == ["1.1.0"], outcome.output
