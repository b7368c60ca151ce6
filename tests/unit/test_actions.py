"""What actions get (Context, placeholders) and the ``command`` action, without running anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from upgrader.actions import REGISTRY
from upgrader.actions.base import Context
from upgrader.actions.command import command
from upgrader.errors import ActionError
from upgrader.project import Project
from upgrader.runtime.process import Result


def a_context(project: Project, params: Mapping[str, Any] | None = None, *,
              from_version: str | None = "1.0.0", to_version: str | None = "1.1.0",
              journal: list[tuple[str, Any]] | None = None) -> Context:
    events = journal if journal is not None else []
    return Context(
        project=project,
        run={"from_version": from_version, "to_version": to_version, "data": {}},
        step="hook",
        params=params or {},
        journal=lambda event, detail: events.append((event, detail)),
        checkpoint=lambda: None,
        progress=lambda detail: None,
    )


def test_expand_replaces_every_placeholder(project: Project, tmp_path: Path) -> None:
    context = a_context(project)
    text = "{root}|{project}|{export}|{release}|{name}|{from_version}|{to_version}"
    assert context.expand(text).split("|") == [
        str(tmp_path), str(tmp_path / "projects" / "demo"),
        str(tmp_path / "projects" / "demo" / "export"), str(tmp_path / "releases" / "1.1.0"),
        "demo", "1.0.0", "1.1.0",
    ]


def test_expand_leaves_shell_variables_and_other_braces_alone(project: Project) -> None:
    context = a_context(project)
    assert context.expand("echo ${HOME} {name} {other}") == "echo ${HOME} demo {other}"


def test_expand_of_a_first_install_has_an_empty_from_version(project: Project) -> None:
    assert a_context(project, from_version=None).expand("[{from_version}]") == "[]"


def test_expand_release_without_a_target_fails_the_step_for_good(project: Project) -> None:
    context = a_context(project, to_version=None)
    assert context.expand("{project}/x") == str(project.dir / "x")
    with pytest.raises(ActionError, match=r"placeholder \{release\} has no value") as caught:
        context.expand("{release}/hooks/pre-stop")
    assert caught.value.retryable is False


def test_context_data_is_the_runs_data(project: Project) -> None:
    context = a_context(project)
    context.data["archive"] = "a.tar.gz"
    assert context.run["data"] == {"archive": "a.tar.gz"}


def test_command_is_registered() -> None:
    assert REGISTRY["command"] is command


class FakeProcess:
    """Stands in for ``upgrader.runtime.process.run``: records the call, returns a result."""

    def __init__(self, returncode: int = 0, lines: tuple[str, ...] = (),
                 timed_out: bool = False) -> None:
        self.returncode, self.lines, self.timed_out = returncode, lines, timed_out
        self.calls: list[dict[str, Any]] = []

    def __call__(self, argv: list[str], *, cwd: str, env: Mapping[str, str] | None = None,
                 timeout: float | None = None,
                 on_line: Callable[[str], None] | None = None) -> Result:
        self.calls.append({"argv": argv, "cwd": cwd, "env": env, "timeout": timeout})
        result = Result(returncode=self.returncode, timed_out=self.timed_out)
        for line in self.lines:
            result.lines.append(line)
            if on_line is not None:
                on_line(line)
        return result


@pytest.fixture
def fake_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeProcess]:
    def install(**options: Any) -> FakeProcess:
        fake = FakeProcess(**options)
        monkeypatch.setattr("upgrader.actions.command.process.run", fake)
        return fake

    return install


def test_command_expands_argv_cwd_and_env(
    project: Project, fake_process: Callable[..., FakeProcess]
) -> None:
    fake = fake_process(lines=("backing up", "done"))
    journal: list[tuple[str, Any]] = []
    params = {"run": ["{release}/hooks/pre-stop", "--name={name}"], "env": {"TO": "{to_version}"},
              "timeout": 600}
    command(a_context(project, params, journal=journal))
    assert fake.calls == [{
        "argv": [str(project.releases_dir / "1.1.0" / "hooks" / "pre-stop"), "--name=demo"],
        "cwd": str(project.dir),  # the default {project}
        "env": {"TO": "1.1.0"},
        "timeout": 600,
    }]
    assert journal == [("step_output", "backing up"), ("step_output", "done")]


def test_command_with_its_own_cwd(project: Project, fake_process: Callable[..., FakeProcess]) -> None:
    fake = fake_process()
    command(a_context(project, {"run": ["x"], "cwd": "{export}"}))
    assert fake.calls[0]["cwd"] == str(project.export_dir)


def test_command_that_exits_non_zero_fails_with_its_last_output(
    project: Project, fake_process: Callable[..., FakeProcess]
) -> None:
    fake_process(returncode=2, lines=tuple(f"line {number}" for number in range(1, 16)))
    with pytest.raises(ActionError) as caught:
        command(a_context(project, {"run": ["/srv/server.sh", "up"]}))
    message = str(caught.value)
    assert message.startswith("/srv/server.sh exited with status 2; last output:\n")
    assert "line 15" in message and "line 6" in message and "line 5\n" not in message
    assert caught.value.retryable is True


def test_command_that_times_out(project: Project, fake_process: Callable[..., FakeProcess]) -> None:
    fake_process(returncode=-9, timed_out=True)
    with pytest.raises(ActionError, match=r"^/srv/check timed out after 60 s and was killed$"):
        command(a_context(project, {"run": ["/srv/check"], "timeout": 60}))


def test_command_killed_by_a_signal(project: Project, fake_process: Callable[..., FakeProcess]) -> None:
    fake_process(returncode=-15)
    with pytest.raises(ActionError, match="was killed by signal 15"):
        command(a_context(project, {"run": ["/srv/check"]}))


def test_command_needing_a_release_in_a_run_without_one_does_not_start(
    project: Project, fake_process: Callable[..., FakeProcess]
) -> None:
    fake = fake_process()
    with pytest.raises(ActionError, match=r"\{release\}"):
        command(a_context(project, {"run": ["{release}/hooks/x"]}, to_version=None))
    assert fake.calls == []


def test_names_lists_exactly_what_the_action_modules_register() -> None:
    # A workflow is checked against NAMES without importing the modules (a cron run stays light).
    from upgrader import actions

    assert set(REGISTRY) == actions.NAMES


@pytest.mark.parametrize(("started_at", "expected"), [
    ("2026-12-01T06:44:18.123456789Z", 1796107458.123456),
    ("2026-12-01T06:44:18Z", 1796107458.0),
    ("2026-12-01T07:44:18.5+01:00", 1796107458.5),
    ("0001-01-01T00:00:00Z", -62135596800.0),  # Docker's "never started"
    ("", None),
    ("not a time", None),
])
def test_a_containers_start_is_read_to_the_microsecond(started_at: str, expected: float | None) -> None:
    """The moment a service without a healthcheck began to serve, where a downtime ends: Docker's
    StartedAt, whose nanoseconds Python's own parser refuses."""
    from upgrader.actions.health import _started

    found = _started(started_at)
    assert found == expected if expected is None else found == pytest.approx(expected, abs=1e-6)
