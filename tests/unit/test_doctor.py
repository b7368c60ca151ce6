"""``upgrader doctor`` (DESIGN §7, §14): which checks run when project.yaml is broken, what fails
doctor and what only warns, ``doctor --json``, cron and its daemon, the feed token's mode.

No Docker and no network: the host checks (Docker Engine, Compose) are replaced by stand-ins, the
crontab and the process table are given to the cron check.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from upgrader import cli, cron, doctor, feed
from upgrader.doctor import Check, examine, failed, report
from upgrader.errors import UsageError
from upgrader.project import Project

TYPO = "feed: https://updates.example.invalid/acme/\nalow: minor\n"


def write_project(root: Path, text: str = "{}\n", name: str = "acme") -> Project:
    folder = root / "projects" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(text, encoding="utf-8")
    return Project(root=root, name=name)


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """One stand-in check in each of doctor's lists, naming the list it stands for."""
    monkeypatch.setattr(doctor, "HOST_CHECKS", [lambda root: Check("host", True, str(root))])
    monkeypatch.setattr(doctor, "CONFIG_CHECKS", [lambda project, store: Check("config", True, "")])
    monkeypatch.setattr(doctor, "PROJECT_CHECKS", [lambda project, store: [Check("project", True, project.name)]])


def names(checks: list[Check]) -> list[str]:
    return [check.name for check in checks]


# -- which checks run ----------------------------------------------------------------------------


@pytest.mark.usefixtures("stand_ins")
def test_a_valid_project_runs_every_list(tmp_path: Path) -> None:
    write_project(tmp_path)
    checks = examine(tmp_path, None)
    assert names(checks) == ["host", "project.yaml", "config", "project"]
    assert checks[1] == Check("project.yaml", True, f"{tmp_path}/projects/acme/project.yaml is valid")
    assert not failed(checks)


@pytest.mark.usefixtures("stand_ins")
def test_an_invalid_project_yaml_is_a_failed_check_and_the_rest_still_runs(tmp_path: Path) -> None:
    write_project(tmp_path, TYPO)
    checks = examine(tmp_path, "acme")
    assert names(checks) == ["host", "project.yaml", "project"], "the checks needing project.yaml ran"
    problem = checks[1]
    assert (problem.ok, problem.severity) == (False, "error")
    assert problem.detail == f"{tmp_path}/projects/acme/project.yaml: at '(top level)': unknown key 'alow'"
    assert problem.fix.startswith(f"correct {tmp_path}/projects/acme/project.yaml")
    assert failed(checks)


@pytest.mark.usefixtures("stand_ins")
def test_no_project_yet_is_a_failed_check_after_the_host_checks(tmp_path: Path) -> None:
    checks = examine(tmp_path, None)
    assert names(checks) == ["host", "project"]
    assert checks[1] == Check("project", False, f"no project under {tmp_path}/projects",
                              "create projects/<name>/project.yaml")


@pytest.mark.usefixtures("stand_ins")
def test_a_project_named_but_missing_is_a_failed_project_yaml_check(tmp_path: Path) -> None:
    checks = examine(tmp_path, "acme")
    assert names(checks) == ["host", "project.yaml", "project"]
    assert not checks[1].ok and "not found; project 'acme' has no project.yaml" in checks[1].detail


@pytest.mark.usefixtures("stand_ins")
def test_a_bad_or_ambiguous_name_is_a_usage_error_as_for_every_command(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is invalid"):
        examine(tmp_path, "Not A Name")
    write_project(tmp_path, name="one")
    write_project(tmp_path, name="two")
    with pytest.raises(UsageError, match="pick one with -n NAME"):
        examine(tmp_path, None)


# -- what fails doctor, and --json ----------------------------------------------------------------


def test_only_a_failed_error_fails_doctor() -> None:
    warning = Check("cron", False, "no scheduled run", "upgrader install", severity="warning")
    assert not failed([Check("a", True, ""), warning])
    assert failed([warning, Check("feed", False, "refused")])


def test_doctor_json_is_exactly_ok_and_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path)
    monkeypatch.setattr(doctor, "HOST_CHECKS", [])
    monkeypatch.setattr(doctor, "CONFIG_CHECKS", [])
    monkeypatch.setattr(doctor, "PROJECT_CHECKS", [
        lambda project, store: Check("cron", False, "no scheduled run", "upgrader install", severity="warning")])
    assert cli.main(["--root", str(tmp_path), "doctor", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"ok": True, "checks": [
        {"name": "project.yaml", "ok": True, "severity": "error",
         "detail": f"{tmp_path}/projects/acme/project.yaml is valid", "fix": ""},
        {"name": "cron", "ok": False, "severity": "warning", "detail": "no scheduled run", "fix": "upgrader install"},
    ]}

    write_project(tmp_path, TYPO)
    assert cli.main(["--root", str(tmp_path), "doctor", "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is False
    assert [(check["name"], check["ok"]) for check in printed["checks"]] == [("project.yaml", False), ("cron", False)]
    assert report([]) == {"ok": True, "checks": []}


def test_doctor_marks_warnings_and_errors_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    write_project(tmp_path, TYPO)
    monkeypatch.setattr(doctor, "HOST_CHECKS", [])
    monkeypatch.setattr(doctor, "PROJECT_CHECKS", [
        lambda project, store: Check("cron", False, "none", "upgrader install", severity="warning")])
    assert cli.main(["--root", str(tmp_path), "doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("✗ project.yaml: ") and " — fix: correct " in lines[0]
    assert lines[1] == "! cron: none — fix: upgrader install"


def test_doctor_json_of_a_server_root_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path / "missing"), "doctor", "--json"]) == 2
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert printed["ok"] is False and printed["checks"][0]["name"] == "doctor"
    assert "is not a folder" in printed["checks"][0]["detail"]
    assert captured.err.startswith("upgrader: error: ")


# -- cron ----------------------------------------------------------------------------------------


def crontab(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(cron, "installed", lambda root, name: lines)


SCHEDULED = "0 3 * * 6 env PATH=/usr/bin /usr/local/bin/upgrader --root /srv -n acme run --cron"
REBOOT = "@reboot env PATH=/usr/bin /usr/local/bin/upgrader --root /srv -n acme resume --cron"


@pytest.mark.parametrize(
    ("lines", "daemons", "ok", "severity", "says", "fix"),
    [
        pytest.param([], [812], False, "warning", "no scheduled run in this user's crontab: upgrades run only by hand",
                     "upgrader install", id="no-line"),
        pytest.param([], [], False, "warning", "no scheduled run in this user's crontab (and no cron daemon runs)",
                     "upgrader install, and start cron", id="no-line-no-daemon"),
        pytest.param([SCHEDULED, REBOOT], [], False, "error", "'0 3 * * 6' is scheduled, but no cron daemon "
                     "(cron or crond) runs: the scheduled runs never start", "start cron", id="line-no-daemon"),
        pytest.param([SCHEDULED, REBOOT], [812], True, "error", "; cron daemon pid 812", "", id="line-and-daemon"),
        pytest.param([SCHEDULED, REBOOT], None, True, "error", "; cron daemon not visible here", "",
                     id="daemons-hidden"),
        pytest.param([SCHEDULED], [812], False, "warning", "no @reboot resume line", "upgrader install",
                     id="no-reboot-line"),
    ],
)
def test_cron(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str], daemons: list[int] | None,
              ok: bool, severity: str, says: str, fix: str) -> None:
    crontab(monkeypatch, lines)
    check = doctor._cron(write_project(tmp_path), lambda: daemons)
    assert (check.ok, check.severity) == (ok, severity), check
    assert says in check.detail, check.detail
    assert check.fix.startswith(fix), check.fix


def test_without_the_crontab_command_nothing_is_scheduled_a_warning(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    check = doctor._cron(write_project(tmp_path), lambda: [])
    assert (check.ok, check.severity) == (False, "warning")
    assert check.fix == "apt-get install cron, then upgrader install"


def fake_proc(folder: Path, processes: dict[str, str]) -> Path:
    for pid, name in processes.items():
        (folder / pid).mkdir(parents=True)
        (folder / pid / "comm").write_text(name + "\n")
    (folder / "self").mkdir()
    return folder


def test_cron_daemons_are_found_by_their_process_name(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path / "proc", {"1": "systemd", "640": "cron", "77": "crond", "900": "crontab", "5": "cronx"})
    assert cron.daemon_pids(proc) == [77, 640]
    assert cron.daemon_pids(fake_proc(tmp_path / "none", {"1": "init", "2": "sshd"})) == []


def test_a_proc_that_hides_other_processes_tells_nothing(tmp_path: Path) -> None:
    assert cron.daemon_pids(fake_proc(tmp_path / "hidden", {"4242": "bash"})) is None  # no pid 1: hidepid
    assert cron.daemon_pids(tmp_path / "missing") is None


# -- the feed token's mode -------------------------------------------------------------------------


@pytest.fixture
def token_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    for variable in [key for key in os.environ if key.startswith("UPGRADER_FEED_TOKEN")]:
        monkeypatch.delenv(variable)
    project = write_project(tmp_path, "token_file: feed.token\n")
    (project.dir / "feed.token").write_text("the-token\n")
    return Project(root=tmp_path, name="acme", config={"token_file": "feed.token", "feed": "https://x.invalid/"})


@pytest.mark.parametrize(("mode", "says"), [(0o644, "mode 0644: group and others can read it"),
                                            (0o640, "mode 0640: group can read it"),
                                            (0o602, "mode 0602: others can change it")])
def test_a_token_file_others_can_read_fails_doctor_with_chmod_as_the_fix(token_project: Project, mode: int,
                                                                         says: str) -> None:
    path = token_project.dir / "feed.token"
    path.chmod(mode)
    check = doctor._feed_token(token_project)
    assert check == Check("feed token", False, f"{path}: {says}", f"chmod 600 {path}")


def test_a_private_token_file_passes(token_project: Project) -> None:
    path = token_project.dir / "feed.token"
    path.chmod(0o600)
    assert doctor._feed_token(token_project) == Check("feed token", True, str(path))
    path.chmod(0o400)
    assert doctor._feed_token(token_project).ok


def test_a_run_warns_once_about_a_token_file_others_can_read(token_project: Project,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    path = token_project.dir / "feed.token"
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="upgrader.feed"):
        assert feed.read_token(token_project, warn=False) == "the-token"
        assert caplog.messages == []
        assert feed.read_token(token_project) == "the-token"
        assert feed.read_token(token_project) == "the-token"
    assert caplog.messages == [f"{path}: the feed token file is mode 0644: group and others can read it — fix: "
                               f"chmod 600 {path}"]
    assert "the-token" not in caplog.text
