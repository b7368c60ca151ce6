"""What a release's compose.yaml asks of the host (``upgrader.policy``), on real releases with the
real ``docker compose config``: refused by the ``extract`` action when project.yaml's ``refuse``
lists its kind (one line, the release's fault), journaled otherwise; and the warnings of ``check``
and ``doctor`` about the installed export and the feed. Nothing here talks to a Docker Engine."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from upgrader import cli, doctor
from upgrader.actions.base import Context
from upgrader.actions.extract import extract
from upgrader.errors import ActionError
from upgrader.package import PackageError
from upgrader.policy import Risk, check_warnings, release_risks
from upgrader.project import Project

TOKEN_FILE = "feed.token"  # noqa: S105 - a file name
IMAGE = "127.0.0.1:5000/acme/web:1.1.0"
CLEAN = f"""services:
  web:
    image: {IMAGE}
    network_mode: ${{NET:-bridge}}
    volumes: ["./config/app.conf:/etc/app.conf:ro", "./data:/data", "cache:/cache"]
volumes:
  cache: {{}}
"""
# One release per kind, each in the short or the long syntax, with what the refusal names.
RISKY = {
    "privileged": ("    privileged: true\n", "privileged: true"),
    "host_namespaces": ("    pid: host\n", "pid: host"),
    "host_mounts": ("    volumes:\n      - type: bind\n        source: /etc\n        target: /host-etc\n",
                    "bind mount /etc → /host-etc"),
    "docker_socket": ("    volumes: ['/var/run/docker.sock:/var/run/docker.sock:ro']\n",
                      "bind mount /var/run/docker.sock → /var/run/docker.sock"),
}


def archive(folder: Path, compose: str, defaults: str = "") -> Path:
    """A release archive of 1.1.0 holding ``compose``, ``defaults`` and config/app.conf."""
    path = folder / "acme-1.1.0.tar.gz"
    release = {"product": "acme-server", "version": "1.1.0", "images": [IMAGE]}
    files = {"release.json": json.dumps(release).encode(), "compose.yaml": compose.encode(),
             "defaults.env": defaults.encode(), "config/app.conf": b"x=1\n"}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


class Run:
    """One run as far as the extract step sees it: ``data`` and the journal."""

    def __init__(self, project: Project, archive_path: Path) -> None:
        sha256 = hashlib.sha256(archive_path.read_bytes()).hexdigest()
        self.project = project
        self.run: dict[str, Any] = {
            "run_id": "run-1", "from_version": "1.0.0", "to_version": "1.1.0",
            "release": {"version": "1.1.0", "sha256": sha256, "size": archive_path.stat().st_size,
                        "url": archive_path.as_uri()},
            "data": {"archive": str(archive_path)}}
        self.events: list[tuple[str, Any]] = []

    def extract(self) -> None:
        extract(Context(project=self.project, run=self.run, step="extract", params={},
                        journal=lambda event, detail: self.events.append((event, detail)),
                        checkpoint=lambda: None, progress=lambda detail: None))

    def event(self, name: str) -> Any:
        found = [detail for event, detail in self.events if event == name]
        return found[0] if found else None


def project_with(tmp_path: Path, **config: Any) -> Project:
    root = tmp_path / "root"
    (root / "projects" / "acme").mkdir(parents=True, exist_ok=True)
    return Project(root=root, name="acme", config=config)


def risky_compose(kind: str) -> str:
    return f"services:\n  web:\n    image: {IMAGE}\n  worker:\n    image: {IMAGE}\n{RISKY[kind][0]}"


# -- extract: refused, or journaled ----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(RISKY))
def test_a_refused_kind_fails_extract_with_one_line(tmp_path: Path, kind: str) -> None:
    project = project_with(tmp_path, refuse=[kind])
    run = Run(project, archive(tmp_path, risky_compose(kind)))
    with pytest.raises(PackageError) as caught:
        run.extract()
    message = str(caught.value)
    assert message == (f"release 1.1.0 refused: service worker asks for {kind} ({RISKY[kind][1]}), "
                       "which project.yaml's refuse: lists")
    assert caught.value.release_fault and not caught.value.retryable
    assert run.event("release_refused") == {"release": "1.1.0", "risks": [
        {"kind": kind, "service": "worker", "detail": RISKY[kind][1]}]}
    assert run.event("release_risks") is None
    # The release was extracted (and is kept, read-only, for prune); no temporary copy is left.
    assert sorted(path.name for path in project.releases_dir.iterdir()) == ["1.1.0"]


@pytest.mark.parametrize("kind", sorted(RISKY))
def test_without_refuse_a_risk_is_journaled_as_a_warning(tmp_path: Path, kind: str) -> None:
    project = project_with(tmp_path)
    run = Run(project, archive(tmp_path, risky_compose(kind)))
    run.extract()
    event = run.event("release_risks")
    assert event["risks"] == [{"kind": kind, "service": "worker", "detail": RISKY[kind][1]}]
    assert event["warning"] == f"release 1.1.0: service worker asks for {kind} ({RISKY[kind][1]})"
    assert run.run["data"]["release_dir"] == str(project.releases_dir / "1.1.0")
    assert sorted(path.name for path in project.releases_dir.iterdir()) == ["1.1.0"]


def test_a_kind_not_refused_is_journaled_and_the_release_taken(tmp_path: Path) -> None:
    project = project_with(tmp_path, refuse=["privileged", "docker_socket"])
    run = Run(project, archive(tmp_path, risky_compose("host_namespaces")))
    run.extract()
    assert run.event("release_risks")["risks"] == [{"kind": "host_namespaces", "service": "worker",
                                                    "detail": "pid: host"}]
    assert run.event("release_refused") is None


def test_a_clean_release_has_no_event_and_keeps_its_data_folders(tmp_path: Path) -> None:
    project = project_with(tmp_path, refuse=["privileged", "host_namespaces", "host_mounts", "docker_socket"])
    run = Run(project, archive(tmp_path, CLEAN))
    run.extract()
    assert run.event("release_risks") is None and run.event("release_refused") is None
    assert run.run["data"]["data_folders"] == ["data"]


def test_values_over_defaults_decide_as_in_the_export(tmp_path: Path) -> None:
    """network_mode comes from .env: defaults.env says host; project.yaml's values say bridge."""
    risky = archive(tmp_path, CLEAN, defaults="NET=host\n")
    refusing = project_with(tmp_path, refuse=["host_namespaces"])
    with pytest.raises(PackageError, match=r"service web asks for host_namespaces \(network_mode: host\)"):
        Run(refusing, risky).extract()
    Run(project_with(tmp_path, refuse=["host_namespaces"], values={"NET": "bridge"}), risky).extract()
    release = refusing.releases_dir / "1.1.0"
    assert release_risks(release, {}) == [Risk("host_namespaces", "web", "network_mode: host")]
    assert release_risks(release, {"NET": "bridge"}) == []


def test_every_form_of_a_real_compose_file(tmp_path: Path) -> None:
    """Compose's own model of the short and long syntax, a named bind volume, a secret, a device,
    cap_add, a path climbing out of the release; the release's own folder is fine."""
    compose = f"""services:
  web:
    image: {IMAGE}
    cap_add: [SYS_ADMIN, NET_ADMIN]
    network_mode: host
    volumes:
      - ./config:/config
      - ./data:/data
      - ../../../../../../../../../../../../../../etc:/climbed
      - type: bind
        source: /run/docker.sock
        target: /sock
      - hostetc:/hostetc
    devices: ["/var/run/docker.sock:/dev/sock"]
    secrets: [shadow]
volumes:
  hostetc:
    driver_opts: {{type: none, o: bind, device: /etc}}
secrets:
  shadow: {{file: /etc/shadow}}
"""
    project = project_with(tmp_path)
    run = Run(project, archive(tmp_path, compose))
    run.extract()
    assert [(risk["kind"], risk["detail"]) for risk in run.event("release_risks")["risks"]] == [
        ("privileged", "cap_add: SYS_ADMIN"),
        ("host_namespaces", "network_mode: host"),
        ("host_mounts", "bind mount /etc → /climbed"),
        ("docker_socket", "bind mount /run/docker.sock → /sock"),
        ("host_mounts", "volume hostetc binds /etc → /hostetc"),
        ("host_mounts", "secret shadow from file /etc/shadow"),
        ("docker_socket", "device /var/run/docker.sock → /dev/sock"),
    ]


def test_a_bad_compose_file_is_the_release_s_fault_and_names_the_release(tmp_path: Path) -> None:
    release = tmp_path / "releases" / "1.1.0"
    release.mkdir(parents=True)
    (release / "compose.yaml").write_text("services:\n  web:\n    imag: x\n")
    with pytest.raises(ActionError, match=r"releases/1\.1\.0/compose\.yaml is not a valid Compose file") as caught:
        release_risks(release, {})
    assert caught.value.release_fault and "policy" not in str(caught.value)
    assert [path.name for path in release.parent.iterdir()] == ["1.1.0"]


# -- check and doctor: the installed export and the feed ------------------------------------------


def install(project: Project, compose: str, env: str = "") -> None:
    """An installed export as the export step leaves it (enough for Compose)."""
    export = project.export_dir
    (export / "config").mkdir(parents=True)
    (export / "compose.yaml").write_text(compose)
    (export / ".env").write_text(env)
    (export / "config" / "app.conf").write_text("x=1\n")


def test_check_warns_about_the_installed_release_without_refuse(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPGRADER_FEED_TOKEN", raising=False)
    project = project_with(tmp_path, feed="http://updates.example.com/acme/", token_file=TOKEN_FILE)
    install(project, risky_compose("docker_socket"))
    warnings = check_warnings(project)
    assert len(warnings) == 4, warnings
    assert warnings[0] == ("installed release: service worker asks for docker_socket (bind mount "
                           "/var/run/docker.sock → /var/run/docker.sock) — fix: if that is not wanted, add "
                           "'refuse: [docker_socket]' to project.yaml: upgrades to a release asking for it "
                           "are then refused")
    assert "unsigned" in warnings[1] and "plain http" in warnings[2] and "token (token_file)" in warnings[3]
    assert all("\n" not in line and " — fix: " in line for line in warnings)


def test_check_with_refuse_warns_only_about_refused_kinds(tmp_path: Path) -> None:
    project = project_with(tmp_path, refuse=["privileged"])
    install(project, risky_compose("host_namespaces"))
    assert check_warnings(project) == []  # pid: host is accepted: refuse does not list it
    project = project_with(tmp_path / "other", refuse=["host_namespaces"])
    install(project, risky_compose("host_namespaces"))
    [line] = check_warnings(project)
    assert line.startswith("installed release: service worker asks for host_namespaces (pid: host), which "
                           "project.yaml refuses — fix: the next upgrade is refused")


def test_check_without_export_or_feed_has_nothing_to_say_and_names_a_bad_export(tmp_path: Path) -> None:
    project = project_with(tmp_path)
    assert check_warnings(project) == []
    install(project, "services:\n  web:\n    imag: x\n")
    [line] = check_warnings(project)
    assert line.startswith("cannot check export/compose.yaml: ") and "not a valid Compose file" in line


def doctor_output(project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                  ) -> tuple[int, list[str]]:
    """``upgrader doctor`` through the CLI, with only the policy checks (no Docker Engine here),
    without the line that says project.yaml is valid."""
    (project.dir / "project.yaml").write_text(json.dumps(project.config))
    monkeypatch.setattr(doctor, "HOST_CHECKS", [])
    monkeypatch.setattr(doctor, "CONFIG_CHECKS", [lambda project, store: doctor._policy(project)])
    monkeypatch.setattr(doctor, "PROJECT_CHECKS", [])
    code = cli.main(["--root", str(project.root), "-n", project.name, "doctor"])
    return code, [line for line in capsys.readouterr().out.splitlines() if not line.startswith("✓ project.yaml: ")]


def test_doctor_shows_warnings_with_their_fix_and_still_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("UPGRADER_FEED_TOKEN", raising=False)
    project = project_with(tmp_path, feed="https://updates.example.com/acme/")
    install(project, risky_compose("privileged"))
    code, lines = doctor_output(project, monkeypatch, capsys)
    assert code == 0, lines
    assert lines == [
        "! release policy: installed release: service worker asks for privileged (privileged: true) — fix: if "
        "that is not wanted, add 'refuse: [privileged]' to project.yaml: upgrades to a release asking for it are "
        "then refused",
        "! feed security: feed https://updates.example.com/acme/ is unsigned: whoever controls the feed or its "
        "mirror can ship any release — fix: set public_key in project.yaml to the publisher's Ed25519 key",
    ]


def test_doctor_without_warnings_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    project = project_with(tmp_path, refuse=["privileged", "docker_socket"])
    install(project, CLEAN)
    code, lines = doctor_output(project, monkeypatch, capsys)
    assert (code, lines) == (0, ["✓ release policy: refuse: [privileged, docker_socket]; no warning about the "
                                 "installed release or the feed"])
