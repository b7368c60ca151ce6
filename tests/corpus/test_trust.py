"""Running as root, upgrader refuses files another user could have written (security review item 1,
DESIGN §15, ``upgrader.trust``).

The attack as the review did it: an unprivileged user writes a server root with a project.yaml
naming their own workflow, whose ``command`` step runs anything, then ``sudo upgrader --root
/their/folder run``. Here the attacker is a real system user made for this module (removed at the
end), the files are real and root-owned (or not) in a folder under /srv (or, for the sticky cases, under
a folder of mode 1777 like /tmp) — and the end-to-end cases run the installed ``upgrader``
command. The workflow's steps are ``command`` steps only, so nothing needs Docker.

Each refusal: exit 2, one line on stderr naming the file, the step's marker not created, and no
file under the test folder changed (no ``state/``). The ``check_project`` cases call the check
directly; the ``upgrader`` cases need the call in ``app._open``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from upgrader import trust
from upgrader.errors import ConfigError
from upgrader.project import load_project

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="checks what root refuses: run as root")

UPGRADER = Path(sys.executable).with_name("upgrader")
NAME = "x"
SCRIPT = '#!/bin/sh\ntouch "$1"\n'
REFUSED = "refusing to use it as root"


@pytest.fixture(scope="module")
def attacker() -> Iterator[pwd.struct_passwd]:
    """A system user of this module's own, removed (with its group) at the end."""
    name = f"upgtrust{os.getpid() % 100000}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


@dataclass
class Server:
    """A root-owned server root in ``base/root`` whose project ``x`` runs the workflow
    ``base/wf/wf.yaml``: one step running ``projects/x/hooks/hook {root}/ran`` (a script that
    touches its argument), with a token file, a CA bundle and a notify command."""

    base: Path
    attacker: pwd.struct_passwd

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def project(self) -> Path:
        return self.root / "projects" / NAME

    @property
    def workflow(self) -> Path:
        return self.base / "wf" / "wf.yaml"

    @property
    def hook(self) -> Path:
        return self.project / "hooks" / "hook"

    @property
    def marker(self) -> Path:
        return self.root / "ran"

    def build(self, run0: str | None = None) -> Server:
        self.project.mkdir(parents=True)
        for folder in (self.root, self.root / "projects", self.project):
            folder.chmod(0o755)
        script(self.hook)
        script(self.project / "notify.sh")
        (self.project / "feed.token").write_text("t0ken\n")
        (self.project / "feed.token").chmod(0o600)
        (self.project / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
        self.write_workflow(self.workflow, run0 or str(self.hook))
        self.write_project()
        return self

    def write_workflow(self, path: Path, run0: str) -> None:
        path.parent.mkdir(mode=0o755, exist_ok=True)
        path.write_text(yaml.safe_dump({
            "name": "trust", "initial": "idle", "final": "done", "states": ["idle", "done"],
            "steps": [{"name": "work", "from": "idle", "to": "done", "action": "command",
                       "run": [run0, "{root}/ran"]}],
        }))

    def write_project(self, **settings: object) -> None:
        document = {"workflow": str(self.workflow), "token_file": "feed.token", "ca_bundle": "ca.pem",
                    "notify": {"command": [str(self.project / "notify.sh"), str(self.root / "notified")],
                               "when": "always"}}
        (self.project / "project.yaml").write_text(yaml.safe_dump({**document, **settings}))

    def give(self, path: Path) -> None:
        """Make ``path`` (not what a symlink leads to) the attacker's."""
        os.lchown(path, self.attacker.pw_uid, self.attacker.pw_gid)

    def give_all(self, path: Path) -> None:
        self.give(path)
        for entry in path.rglob("*"):
            self.give(entry)

    def upgrader(self, *args: str, as_attacker: bool = False) -> subprocess.CompletedProcess[str]:
        argv = [str(UPGRADER), "--root", str(self.root), "-n", NAME, *args]
        if as_attacker:
            argv = ["setpriv", f"--reuid={self.attacker.pw_uid}", f"--regid={self.attacker.pw_gid}",
                    "--clear-groups", *argv]
        env = {key: value for key, value in os.environ.items()
               if key not in ("UPGRADER_ROOT", "UPGRADER_FEED_TOKEN")}
        return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env,
                              timeout=60, check=False)

    def tree(self) -> dict[str, tuple[int, int, int, int]]:
        """Every path under ``base`` with its mode, owner, size and mtime: what a refusal must not change."""
        listing = {}
        for entry in [self.base, *self.base.rglob("*")]:
            info = entry.lstat()
            listing[str(entry)] = (info.st_mode, info.st_uid, info.st_size, info.st_mtime_ns)
        return listing


def script(path: Path) -> None:
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    path.write_text(SCRIPT)
    path.chmod(0o755)


@pytest.fixture
def server(attacker: pwd.struct_passwd) -> Iterator[Server]:
    # Not pytest's tmp_path: /tmp is mode 1777, and that alone is refused.
    base = Path(tempfile.mkdtemp(prefix="upgrader-trust-", dir="/srv"))
    base.chmod(0o755)
    try:
        yield Server(base, attacker)
    finally:
        shutil.rmtree(base)


# -- what an attacker may have written: each case sets it up and says (file named, words said) ----

Case = Callable[[Server], tuple[Path, str]]


def attacker_root(s: Server) -> tuple[Path, str]:
    # The review's attack: the whole server root and the workflow are the attacker's.
    s.give_all(s.root)
    s.give(s.workflow)
    return s.root, f"the server root folder is owned by {s.attacker.pw_name} (uid {s.attacker.pw_uid}"


def workflow_file(s: Server) -> tuple[Path, str]:
    s.give(s.workflow)
    return s.workflow, f"the workflow file is owned by {s.attacker.pw_name}"


def workflow_folder_group_writable(s: Server) -> tuple[Path, str]:
    s.workflow.parent.chmod(0o775)
    return s.workflow, f"its folder {s.workflow.parent} is writable by group (owner root, mode 0775)"


def workflow_in_a_sticky_folder(s: Server) -> tuple[Path, str]:
    # Anyone may create names in a sticky folder: an attacker's file there is still the attacker's.
    s.workflow.parent.chmod(0o1777)
    s.give(s.workflow)
    return s.workflow, f"the workflow file is owned by {s.attacker.pw_name}"


def workflow_missing_from_a_sticky_folder(s: Server) -> tuple[Path, str]:
    # Missing there, anyone could create it between the check and the read.
    s.workflow.parent.chmod(0o1777)
    s.workflow.unlink()
    return s.workflow, f"does not exist, in the sticky folder {s.workflow.parent} where anyone may create it"


def workflow_folder_owned(s: Server) -> tuple[Path, str]:
    s.give(s.workflow.parent)
    return s.workflow, f"its folder {s.workflow.parent} is owned by {s.attacker.pw_name}"


def project_yaml(s: Server) -> tuple[Path, str]:
    s.give(s.project / "project.yaml")
    return s.project / "project.yaml", f"the project.yaml is owned by {s.attacker.pw_name}"


def project_folder_others_writable(s: Server) -> tuple[Path, str]:
    s.project.chmod(0o757)
    return s.project, "the project folder is writable by others (owner root, mode 0757)"


def token_file(s: Server) -> tuple[Path, str]:
    s.give(s.project / "feed.token")
    return s.project / "feed.token", f"the token_file of project.yaml is owned by {s.attacker.pw_name}"


def ca_bundle(s: Server) -> tuple[Path, str]:
    s.give(s.project / "ca.pem")
    return s.project / "ca.pem", f"the ca_bundle of project.yaml is owned by {s.attacker.pw_name}"


def notify_command(s: Server) -> tuple[Path, str]:
    s.give(s.project / "notify.sh")
    return s.project / "notify.sh", f"the notify.command is owned by {s.attacker.pw_name}"


def hook(s: Server) -> tuple[Path, str]:
    s.give(s.hook)
    return s.hook, f"the program of step work is owned by {s.attacker.pw_name}"


def hook_folder_group_writable(s: Server) -> tuple[Path, str]:
    s.hook.parent.chmod(0o775)
    return s.hook, f"its folder {s.hook.parent} is writable by group"


def hook_by_placeholder(s: Server) -> tuple[Path, str]:
    # {project} is known before the run: the program is checked before anything runs.
    s.write_workflow(s.workflow, "{project}/hooks/hook")
    s.give(s.hook)
    return s.hook, "the program of step work is owned by"


def root_symlink_to_attacker_file(s: Server) -> tuple[Path, str]:
    # A root-owned link in a root-owned folder: what counts is the file it leads to.
    target = s.base / "elsewhere" / "wf.yaml"
    s.write_workflow(target, str(s.hook))
    s.give(target)
    s.workflow.unlink()
    s.workflow.symlink_to(target)
    return s.workflow, f"the workflow file's target {target} is owned by {s.attacker.pw_name}"


def attacker_symlink_to_root_file(s: Server) -> tuple[Path, str]:
    # The attacker's own link, to a root-owned file: they could point it anywhere.
    target = s.base / "elsewhere" / "wf.yaml"
    s.write_workflow(target, str(s.hook))
    s.workflow.unlink()
    s.workflow.symlink_to(target)
    s.give(s.workflow)
    return s.workflow, f"the symlink {s.workflow} is owned by {s.attacker.pw_name}"


def symlinked_folder_into_attacker_folder(s: Server) -> tuple[Path, str]:
    # A root-owned link to a folder: the folders it leads through count too.
    evil = s.base / "evil"
    s.write_workflow(evil / "wf.yaml", str(s.hook))
    s.give(evil)
    shutil.rmtree(s.workflow.parent)
    s.workflow.parent.symlink_to(evil)
    return s.workflow, f"its folder {evil} is owned by {s.attacker.pw_name}"


CASES: list[Case] = [
    attacker_root, workflow_file, workflow_folder_group_writable, workflow_in_a_sticky_folder,
    workflow_missing_from_a_sticky_folder,
    workflow_folder_owned, project_yaml, project_folder_others_writable, token_file, ca_bundle,
    notify_command, hook, hook_folder_group_writable, hook_by_placeholder,
    root_symlink_to_attacker_file, attacker_symlink_to_root_file, symlinked_folder_into_attacker_folder,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_check_project_refuses_what_another_user_could_write(server: Server, case: Case) -> None:
    named, says = case(server.build())

    with pytest.raises(ConfigError) as refusal:
        trust.check_project(load_project(server.root, NAME))

    message = str(refusal.value)
    assert refusal.value.exit_code == 2
    assert "\n" not in message
    assert message.startswith(f"{named}: {REFUSED}: "), message
    assert says in message, message


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_upgrader_run_as_root_refuses_it_and_runs_nothing(server: Server, case: Case) -> None:
    named, says = case(server.build())
    before = server.tree()

    result = server.upgrader("run")

    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith(f"upgrader: error: {named}: {REFUSED}: "), result
    assert says in lines[0], result
    assert not server.marker.exists(), "the step ran"
    assert not (server.root / "state").exists(), "state/ was written"
    assert server.tree() == before


@pytest.mark.parametrize("command", [("status", "--json"), ("check",), ("resume",), ("rollback",)])
def test_every_command_refuses_the_attacker_s_root(server: Server, command: tuple[str, ...]) -> None:
    named, _ = attacker_root(server.build())
    before = server.tree()

    result = server.upgrader(*command)

    assert result.returncode == 2, result
    assert result.stderr.startswith(f"upgrader: error: {named}: {REFUSED}: "), result
    assert server.tree() == before


# -- what passes ---------------------------------------------------------------------------------


def test_a_root_owned_server_runs(server: Server) -> None:
    server.build()
    # A root-owned symlink to a root-owned file, in root-owned folders, is fine.
    target = server.base / "elsewhere" / "wf.yaml"
    server.write_workflow(target, "{project}/hooks/hook")
    server.workflow.unlink()
    server.workflow.symlink_to(target)
    trust.check_project(load_project(server.root, NAME))

    result = server.upgrader("run")

    assert result.returncode == 0, result
    assert server.marker.exists()
    assert (server.root / "notified").exists(), "notify.command did not run"


def test_root_s_files_in_a_root_owned_sticky_folder_pass(server: Server) -> None:
    """/tmp (1777): no one but root may remove or rename root's entries there."""
    server.build()
    server.workflow.parent.chmod(0o1777)
    trust.check_project(load_project(server.root, NAME))
    result = server.upgrader("run")
    assert result.returncode == 0, result
    assert server.marker.exists()


def test_a_shipped_workflow_passes_when_upgrader_is_installed_as_root(server: Server) -> None:
    server.build()
    server.write_project(workflow="upgrade")
    trust.check_project(load_project(server.root, NAME))  # raises if the checkout is not root's


def test_as_another_user_nothing_is_checked(server: Server) -> None:
    # Everything is the user's own: they may run it as themselves, and only hurt themselves.
    server.build()
    server.give_all(server.root)
    server.give(server.workflow)
    server.workflow.parent.chmod(0o777)
    load = (f"from pathlib import Path; from upgrader import project, trust; "
            f"trust.check_project(project.load_project(Path({str(server.root)!r}), {NAME!r}))")

    checked = subprocess.run(["setpriv", f"--reuid={server.attacker.pw_uid}",
                              f"--regid={server.attacker.pw_gid}", "--clear-groups",
                              sys.executable, "-c", load], capture_output=True, text=True, check=False)
    result = server.upgrader("run", as_attacker=True)

    assert checked.returncode == 0, checked
    assert result.returncode == 0, result
    assert server.marker.exists()
    assert server.marker.stat().st_uid == server.attacker.pw_uid


def test_a_missing_file_is_left_to_its_reader(server: Server) -> None:
    server.build()
    (server.project / "ca.pem").unlink()
    trust.check_trusted(server.base / "no" / "such" / "file", "test file")
    trust.check_project(load_project(server.root, NAME))


# -- at run time: a program known only once the run has its values ---------------------------------


def test_a_hook_found_at_run_time_is_refused_before_it_runs(server: Server) -> None:
    # {from_version} is empty on a first run: the path is known only when the step runs.
    server.build(run0="{project}/hooks{from_version}/hook")
    server.give(server.hook)
    trust.check_project(load_project(server.root, NAME))  # not before the run: it needs the run

    result = server.upgrader("run")

    assert result.returncode == 1, result  # the step failed and the run was rolled back
    assert not server.marker.exists(), "the hook ran"
    status = server.upgrader("status", "--json")
    assert f"{server.hook}: {REFUSED}: the program of step work is owned by" in status.stdout, status


def test_a_bare_program_name_is_looked_up_on_the_child_s_path(server: Server) -> None:
    server.build()
    own, theirs = server.base / "bin", server.base / "theirs"
    script(own / "tool")
    script(theirs / "tool")
    server.give(theirs / "tool")

    trust.check_program("tool", "program", env={"PATH": f"{own}:{theirs}"})  # the root's is found first
    with pytest.raises(ConfigError, match=f"^{theirs / 'tool'}: {REFUSED}: the program is owned by"):
        trust.check_program("tool", "program", env={"PATH": f"{theirs}:{own}"})
    with pytest.raises(ConfigError, match=f"^{theirs / 'tool'}: {REFUSED}"):
        trust.check_program("./tool", "program", cwd=str(theirs))
    trust.check_program("no-such-program-anywhere", "program")
