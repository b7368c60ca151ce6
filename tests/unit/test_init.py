"""``init``'s pure parts: the token read from standard input, project.yaml from the flags, the
match of a release's images with what runs, and who may touch an adopted stack (DESIGN §10, §14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from upgrader.actions.preflight import adopted_from, foreign_owner, unadopted
from upgrader.commands.init import Settings, Written, images_match, project_document, token_from
from upgrader.errors import UsageError
from upgrader.project import Project
from upgrader.runtime.engine import Container

WEB = "127.0.0.1:5000/acme/web"
DIGEST = "sha256:" + "a" * 64


def _container(status: str = "running", **labels: str) -> Container:
    return Container(name="app-web-1", service="web", status=status, exit_code=0, health=None, restarts=0,
                     started_at="", image=f"{WEB}:1.0.0", image_id="sha256:1", labels=dict(labels))


def test_a_token_is_the_first_line_stripped_and_must_be_one_printable_word() -> None:
    assert token_from(b"  abc.DEF-123  \r\n") == "abc.DEF-123"
    for bad in (b"", b"\n", b"  \n", b"two words\n", b"tab\there\n", b"\xff\xfe\n", b"t\xc3\xb6ken\n"):
        with pytest.raises(UsageError) as caught:
            token_from(bad)
        assert bad.strip().decode("latin-1") not in str(caught.value) or not bad.strip()


def test_project_yaml_holds_what_the_flags_gave_and_names_the_token_file() -> None:
    assert project_document(Settings(feed="https://f/")) == {"feed": "https://f/"}
    assert project_document(Settings(feed="https://f/", allow="patch", token="t")) == {  # noqa: S106
        "feed": "https://f/", "allow": "patch", "token_file": "feed.token"}


@pytest.mark.parametrize(("release", "running", "matches"), [
    ([f"{WEB}:1.0.0"], [(f"{WEB}:1.0.0", [])], True),
    ([f"{WEB}:1.1.0"], [(f"{WEB}:1.0.0", [])], False),
    ([f"{WEB}:1.0.0", f"{WEB}-worker:1.0.0"], [(f"{WEB}:1.0.0", [])], True),  # a one-shot service exited
    ([f"{WEB}:1.0.0"], [(f"{WEB}:1.0.0", []), ("other:1", [])], False),  # something else runs too
    ([f"{WEB}:1.0.0@{DIGEST}"], [(f"{WEB}:1.0.0", [f"{WEB}@{DIGEST}"])], True),  # by digest
    ([f"{WEB}:1.0.0@{DIGEST}"], [(f"{WEB}:1.0.0", [f"{WEB}@sha256:{'b' * 64}"])], False),  # re-pushed tag
    (["busybox"], [("busybox:latest", [])], True),
    ([f"{WEB}:1.0.0"], [], False),
])
def test_a_release_matches_when_every_running_image_is_one_of_its_own(
        release: list[str], running: list[tuple[str, list[str]]], matches: bool) -> None:
    assert images_match(release, running) is matches


def test_a_first_install_over_a_running_stack_nobody_installed_is_refused_with_the_adopt_hint(tmp_path: Path) -> None:
    project = Project(tmp_path, "app")
    hand = _container(**{"com.docker.compose.project.working_dir": "/opt/app"})
    problem = unadopted(project, [hand])
    assert problem is not None and "upgrader init --adopt -n app" in problem and "already runs here" in problem
    assert unadopted(project, [_container(status="exited", **{"com.docker.compose.project.working_dir": "/o"})]) \
        is None
    assert unadopted(project, [_container(**{"io.upgrader.root": str(tmp_path), "io.upgrader.project": "app"})]) \
        is None


def test_an_adopted_stack_is_the_projects_own_but_only_from_the_folder_it_was_adopted_from(tmp_path: Path) -> None:
    project = Project(tmp_path, "app")
    installed = {"version": "1.0.0", "adopted": {"working_dir": "/opt/app"}}
    assert adopted_from(installed) == "/opt/app"
    assert adopted_from({"version": "1.1.0", "previous": installed}) == "/opt/app"  # a rollback may go back
    assert adopted_from({"version": "1.1.0"}) is None and adopted_from(None) is None
    hand = _container(**{"com.docker.compose.project.working_dir": "/opt/app"})
    assert foreign_owner(project, [hand], adopted="/opt/app") is None
    other = _container(**{"com.docker.compose.project.working_dir": "/opt/elsewhere"})
    assert foreign_owner(project, [other], adopted="/opt/app") is not None


def test_written_removes_exactly_what_it_created(tmp_path: Path) -> None:
    (tmp_path / "projects").mkdir()
    (tmp_path / "projects" / "theirs").write_text("kept")
    written = Written()
    written.folder(tmp_path / "projects" / "app" / "deeper")
    written.file(tmp_path / "projects" / "app" / "project.yaml", b"feed: x\n", 0o644)
    with pytest.raises(UsageError, match="never writes over it"):
        written.file(tmp_path / "projects" / "theirs", b"other", 0o644)
    written.remove()
    assert sorted(path.name for path in (tmp_path / "projects").iterdir()) == ["theirs"]
    assert (tmp_path / "projects" / "theirs").read_text() == "kept"
