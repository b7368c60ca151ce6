"""Issue 13's pure parts: who owns a stack, which ports a release publishes and which are busy,
what a look at the stack says, and the engine's answer to a signal (DESIGN §14)."""

from __future__ import annotations

import socket
from pathlib import Path

from unit_support import Recorder, linear_workflow, make_runner

from upgrader import engine
from upgrader.actions.preflight import busy_ports, foreign_owner, owner, published_ports
from upgrader.commands.serving import Look
from upgrader.project import Project
from upgrader.runtime.engine import Container
from upgrader.runtime.stack import Service, _service
from upgrader.store import ProjectStore


def _container(name: str = "app-web-1", *, status: str = "running", ports: tuple = (),
               **labels: str) -> Container:
    return Container(name=name, service="web", status=status, exit_code=0, health=None, restarts=0,
                     started_at="", image="web:1", image_id="sha256:1", labels=dict(labels), ports=ports)


def _labels(root: str, project: str) -> dict[str, str]:
    return {"io.upgrader.root": root, "io.upgrader.project": project}


# -- ownership ----------------------------------------------------------------------------------


def test_the_owner_is_read_from_the_labels_else_from_the_export_compose_ran_in() -> None:
    assert owner(_container(**_labels("/srv/a", "app"))) == ("/srv/a", "app")
    earlier = _container(**{"com.docker.compose.project.working_dir": "/srv/b/projects/app/export"})
    assert owner(earlier) == ("/srv/b", "app")
    by_hand = _container(**{"com.docker.compose.project.working_dir": "/opt/app"})
    assert owner(by_hand) is None


def test_a_stack_of_this_root_and_project_is_its_own(tmp_path: Path) -> None:
    project = Project(tmp_path, "app")
    assert foreign_owner(project, [_container(**_labels(str(tmp_path), "app"))]) is None
    link = tmp_path.parent / f"{tmp_path.name}-link"
    link.symlink_to(tmp_path)
    assert foreign_owner(project, [_container(**_labels(str(link), "app"))]) is None  # the same folder
    assert foreign_owner(project, []) is None


def test_another_roots_stack_or_one_started_by_hand_is_refused_naming_the_owner(tmp_path: Path) -> None:
    project = Project(tmp_path, "app")
    other = foreign_owner(project, [_container(**_labels("/srv/first", "app"))])
    assert other is not None and "another server root: /srv/first" in other
    hand = foreign_owner(project, [_container(**{"com.docker.compose.project.working_dir": "/opt/app"})])
    assert hand is not None and "did not start" in hand and "/opt/app" in hand
    assert "docker compose -p app down" in hand


# -- ports ----------------------------------------------------------------------------------------


def test_published_ports_of_a_compose_model() -> None:
    model = {"services": {
        "web": {"ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"},
                          {"target": 81}]},  # not published
        "dns": {"ports": [{"target": 53, "published": "5300-5301", "protocol": "udp"}]},
        "worker": {},
    }}
    assert published_ports(model) == [("", 5300, "udp"), ("", 5301, "udp"), ("127.0.0.1", 8080, "tcp")]


def test_a_port_something_else_listens_on_is_busy_unless_this_projects_container_holds_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        wanted = [("127.0.0.1", port, "tcp")]
        assert busy_ports(wanted, []) == [f"127.0.0.1:{port}/tcp (in use)"]
        own = _container(ports=(("127.0.0.1", port, "tcp"),))
        assert busy_ports(wanted, [own]) == []
    assert busy_ports(wanted, []) == []  # closed: free again


# -- a look at the stack --------------------------------------------------------------------------


def test_a_service_serves_when_running_and_healthy_or_exited_zero() -> None:
    assert _service("web", {"State": "running", "Status": "Up 3 minutes (healthy)", "Image": "w"}).serving
    assert _service("web", {"State": "running", "Status": "Up 3 minutes", "Image": "w"}).serving
    starting = _service("web", {"State": "running", "Status": "Up 1 second (health: starting)"})
    assert (starting.health, starting.serving) == ("starting", False)
    migrate = _service("migrate", {"State": "exited", "Status": "Exited (0) 2 minutes ago"})
    assert (migrate.exit_code, migrate.serving) == (0, True)
    crashed = _service("web", {"State": "exited", "Status": "Exited (137) 5 seconds ago"})
    assert not crashed.serving and crashed.describe() == "web exited (137)"
    assert _service("web", None).describe() == "web has no container"


def test_a_look_serves_only_when_every_service_does() -> None:
    assert Look().serving is None  # nothing exported: nothing to look at
    up = Service("web", "running", "healthy", "w")
    assert Look([up]).serving is True
    down = Look([up, Service("worker", "exited", None, "k", 1)], problems=["worker exited (1)"])
    assert down.serving is False and down.summary() == "not serving: worker exited (1)"
    assert Look(error="the Docker Engine is not reachable").serving is False
    assert Look([up]).as_json() == {"serving": True, "services": [
        {"name": "web", "state": "running", "health": "healthy", "image": "w"}]}


# -- the engine and a signal ----------------------------------------------------------------------


def test_a_signal_between_steps_rolls_back_what_can_be_undone(project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["a", "b", "c"], undo=["a", "b"])
    asked: list[str] = []
    recorder.script("a", lambda context: asked.append("SIGINT"))
    runner = make_runner(workflow, project, recorder)
    runner.interrupted = lambda: asked[0] if asked else None
    assert runner.start() == engine.ROLLED_BACK  # the step in progress finished, nothing after it ran
    assert recorder.calls == [("do", "a"), ("undo", "a")]
    run = ProjectStore(project.state_dir).read_run()
    assert run is not None and run["error"] == "interrupted by SIGINT" and run["fault"] is None


def test_a_signal_when_only_steps_without_undo_are_left_finishes_the_run(
        project: Project, recorder: Recorder) -> None:
    workflow = linear_workflow(["a", "b", "c"], undo=["a"])
    asked: list[str] = []
    recorder.script("a", lambda context: asked.append("SIGTERM"))
    runner = make_runner(workflow, project, recorder)
    runner.interrupted = lambda: asked[0] if asked else None
    assert runner.start() == engine.COMPLETED
    assert recorder.of_kind("do") == ["a", "b", "c"]
    events = [entry["detail"] for entry in ProjectStore(project.state_dir).journal_tail()
              if entry["event"] == "interrupted"]
    assert events == [{"signal": "SIGTERM", "then": "finish"}]


def test_a_signal_stops_the_retries_of_the_step_in_progress(project: Project, recorder: Recorder) -> None:
    from upgrader.errors import ActionError

    workflow = linear_workflow(["a", "b"], undo=["a"], retry={"b": {"attempts": 5, "initial": 1}})
    asked: list[str] = []

    def fail(context: object) -> None:
        asked.append("SIGINT")
        raise ActionError("connection reset")

    recorder.always_fail("b", ActionError("unused"))
    recorder.script("b", fail)
    runner = make_runner(workflow, project, recorder)
    runner.interrupted = lambda: asked[0] if asked else None
    assert runner.start() == engine.ROLLED_BACK
    assert recorder.count("do", "b") == 1  # no second try once asked to end
    assert recorder.count("undo", "a") == 1
