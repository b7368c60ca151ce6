"""Refuse, when running as root, files that someone other than root could have written (DESIGN §15).

upgrader runs as root from cron and through sudo. Every file it reads that can make it run code
or send secrets — the server root folder, project.yaml, the workflow file, the programs a workflow
or ``notify.command`` runs, the feed's token and CA files — decides what root does. If another
user can write such a file, or any folder above it (and so replace the file), that user can make
root run anything: ``sudo upgrader --root /home/ops/evil run`` with a workflow of their own.

The rule is sshd's ``StrictModes`` walk (``safe_path`` in OpenSSH): the file and every folder
from it up to ``/`` must be owned by root and not writable by group or others. One exception,
narrower than a plain writable folder: a root-owned folder with the sticky bit (``/tmp``, mode
1777) may be writable by all, because no one but root can remove or rename root's entries in it —
so what lies in it must exist and be root's (a missing name there is refused: anyone could create
it before it is read). Symlinks are followed: the file they lead to is what counts, each symlink on the way
must be root's, and so must every folder walked through, both where the link lies and where it
leads. ACLs need no rule of their own: a write ACL for anyone sets the mode's group write bits.

Running as another user checks nothing: such a user can only hurt themselves. A file that does
not exist passes: whoever reads it reports it missing, and the folders walked to find that out
were checked, so no one but root can create it in between.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from upgrader.errors import ConfigError
from upgrader.project import Project
from upgrader.workflow import load_workflow, resolve

MAX_SYMLINKS = 40  # Linux's limit; past it the kernel refuses the path (ELOOP) and so will the reader.
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
HINT = "make it and its folders root's and not writable by group or others (operator's guide §12)"


def check_trusted(path: Path, what: str) -> None:
    """Return when ``path`` may be used as root; raise ``ConfigError`` (exit 2) if it may not.

    As root, ``path`` (made absolute) is walked from ``/`` with ``lstat``: every folder on the
    way and the file itself must be owned by root and not writable by group or others, sticky
    folders included; each symlink on the way must be owned by root, and its target is walked
    in turn. ``what`` names the file in the message (``"workflow file"``). A path that does not
    exist, or goes through something that is not a folder, passes once the folders walked to find
    that out pass (so only root can create it): its reader reports it. Not as root: returns at once.
    """
    if os.geteuid() != 0:
        return
    problem = _problem(Path(os.path.abspath(path)), what)
    if problem is not None:
        raise ConfigError(f"{path}: refusing to use it as root: {problem}; {HINT}")


def check_program(path: str, what: str, *, cwd: str | None = None,
                  env: Mapping[str, str] | None = None) -> None:
    """Return when the program ``path`` (a command's ``argv[0]``) may be run as root; else raise
    ``ConfigError`` naming the file it is (see ``check_trusted``).

    A path with a ``/`` is taken relative to ``cwd`` (the child's working folder) when it is not
    absolute, as ``execve`` in the child does; a bare name is looked up on the ``PATH`` the child
    gets (``env`` over this process's environment), as ``subprocess`` does. A name not found
    passes: starting it fails anyway. Not as root: returns at once.
    """
    if os.geteuid() != 0:
        return
    found = _locate(path, cwd or os.getcwd(), {**os.environ, **(env or {})})
    if found is not None:
        check_trusted(found, what)


def check_project(project: Project) -> None:
    """Return when everything of ``project`` that can make upgrader run code or send secrets may
    be used as root; else raise ``ConfigError`` (exit 2) naming the first file that may not.

    Checked, in this order, before anything runs: the server root folder, the project folder,
    project.yaml, the workflow file (a shipped one too: upgrader must then be installed as
    root's), the workflow kept in ``state/<name>/`` for resume and rollback, ``token_file``,
    ``ca_bundle`` and ``feed.credentials``, ``notify.command``'s program, and the program of
    every ``command`` step and command undo whose ``run[0]`` needs only ``{root}``, ``{project}``, ``{export}`` or
    ``{name}``. A program that needs the run (``{release}``, a version) is checked when the step
    runs (``check_program`` in the command action). Not as root: returns at once.
    """
    if os.geteuid() != 0:
        return
    check_trusted(project.root, "server root folder")
    check_trusted(project.dir, "project folder")
    check_trusted(project.dir / "project.yaml", "project.yaml")
    workflow_path = resolve(project.workflow, project.dir)
    check_trusted(workflow_path, "workflow file")
    check_trusted(project.state_dir / "workflow.yaml", "workflow kept for resume")
    config = project.config
    for key in ("token_file", "ca_bundle"):
        if config.get(key):
            # Relative to the project folder, as feed.py reads them; an absolute path stays one.
            check_trusted(project.dir / str(config[key]), f"{key} of project.yaml")
    feed = config.get("feed")
    if isinstance(feed, dict) and feed.get("credentials"):
        check_trusted(project.dir / str(feed["credentials"]), "feed.credentials of project.yaml")
    notify_command = (config.get("notify") or {}).get("command")
    if notify_command:
        check_program(str(notify_command[0]), "notify.command", cwd="/")  # notify.py runs it in /
    for argv0, cwd, env, what in _commands(project, workflow_path):
        check_program(argv0, what, cwd=cwd, env=env)


def _commands(project: Project, workflow_path: Path) -> Iterator[tuple[str, str, dict[str, str], str]]:
    """``(argv[0], cwd, env, what)`` of each command step and command undo of the workflow whose
    program can be found before a run: no placeholder left once the project's are filled in."""
    try:
        workflow = load_workflow(workflow_path)
    except ConfigError:
        return  # missing or invalid: the command that loads it says so, with every problem
    known = {"root": str(project.root), "project": str(project.dir),
             "export": str(project.export_dir), "name": project.name}

    def fill(text: str) -> str | None:
        filled = _PLACEHOLDER.sub(lambda match: known.get(match.group(1), match.group(0)), text)
        return None if _PLACEHOLDER.search(filled) else filled

    for step in workflow.steps:
        commands = [(step.params, f"program of step {step.name}")] if step.action == "command" else []
        if step.undo is not None and step.undo.action == "command":
            commands.append((step.undo.params, f"program of the undo of step {step.name}"))
        for params, what in commands:
            argv0 = fill(params["run"][0])
            cwd = fill(params.get("cwd", "{project}"))
            env = {key: fill(value) for key, value in params.get("env", {}).items()}
            path_unknown = "PATH" in env and env["PATH"] is None
            if argv0 is None or ("/" in argv0 and cwd is None) or ("/" not in argv0 and path_unknown):
                continue  # needs the run's values: checked when the step runs
            yield argv0, cwd or "/", {key: value for key, value in env.items() if value is not None}, what


def _locate(program: str, cwd: str, environment: Mapping[str, str]) -> Path | None:
    """The file ``execve`` would run for ``program`` started in ``cwd`` with ``environment``."""
    if "/" in program:
        return Path(cwd, program)  # an absolute program stays itself
    # subprocess searches os.get_exec_path(env): PATH, else the default; an empty entry is cwd.
    for folder in os.get_exec_path(dict(environment)):
        candidate = Path(cwd, folder or ".", program)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _problem(path: Path, what: str) -> str | None:
    """Why ``path`` (absolute) may not be used as root, or None; see ``check_trusted``."""
    root = Path("/")
    problem = _verdict(os.lstat(root), "its folder /")
    if problem:
        return problem
    current, pending, links = root, list(path.parts[1:]), 0
    in_sticky = False  # the folder just walked is a root-owned, world-writable sticky one
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent  # current is resolved already, so its parent is the real one
            continue
        candidate = current / part
        try:
            info = os.lstat(candidate)
        except OSError:
            if in_sticky:
                return f"{candidate} does not exist, in the sticky folder {current} where anyone may create it"
            return None  # missing (or not a folder on the way): the reader reports it
        in_sticky = False
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > MAX_SYMLINKS:
                return None
            if info.st_uid != 0:
                return f"the symlink {candidate} is {_owner(info)}, not root"
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = root
            pending[:0] = [part for part in target.parts if part != "/"]
            continue
        current = candidate
        if not pending:
            subject = f"the {what}" if current == path else f"the {what}'s target {current}"
        elif stat.S_ISDIR(info.st_mode):
            subject = f"its folder {current}"
        else:
            return None  # a file used as a folder: the reader reports it
        in_sticky = stat.S_ISDIR(info.st_mode) and _sticky_root(info)
        problem = None if in_sticky else _verdict(info, subject)
        if problem:
            return problem
    return None


def _sticky_root(info: os.stat_result) -> bool:
    """A root-owned folder with the sticky bit: others may add names, never touch root's."""
    return info.st_uid == 0 and bool(info.st_mode & stat.S_ISVTX)


def _verdict(info: os.stat_result, subject: str) -> str | None:
    """Why a file or folder with ``info`` may not be trusted, as a phrase about ``subject``."""
    if info.st_uid != 0:
        return f"{subject} is {_owner(info)}, not root"
    writable = [who for who, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH)) if info.st_mode & bit]
    if not writable:
        return None
    mode = stat.S_IMODE(info.st_mode)
    return f"{subject} is writable by {' and '.join(writable)} (owner root, mode {mode:04o})"


def _owner(info: os.stat_result) -> str:
    """``owned by NAME (uid N, mode 0644)``, or without the name when the uid has none."""
    try:
        name = pwd.getpwuid(info.st_uid).pw_name + " "
    except KeyError:
        name = ""
    return f"owned by {name}(uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o})"
