"""Run a program without a shell, stream its output, and never leave it behind.

The child gets a closed standard input, its own process group (so a timeout kills everything it
started), and on Linux a parent-death signal, so that a killed upgrader does not leave a script
running on its own while a resumed run starts it again.

No child inherits a feed token (DESIGN §15): ``run`` leaves every ``UPGRADER_FEED_TOKEN*``
variable out of the child's environment, and the command line holds them out of ``os.environ``
itself for the whole command (``tokens_withheld``), so that no other way of starting a program
(Compose's own helpers, crontab, the Docker SDK's credential helpers) passes them on either.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

from upgrader.errors import ActionError

_PR_SET_PDEATHSIG = 1
TOKEN_VARIABLE = "UPGRADER_FEED_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def is_token_variable(name: str) -> bool:
    """Whether the environment variable ``name`` is a feed token (``UPGRADER_FEED_TOKEN*``)."""
    return name.upper().startswith(TOKEN_VARIABLE)


def child_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with ``env`` over it, without any ``UPGRADER_FEED_TOKEN*``."""
    return {key: value for key, value in {**os.environ, **(env or {})}.items() if not is_token_variable(key)}


@dataclass
class _Withheld:
    variables: dict[str, str]
    named: str | None


_withheld: list[_Withheld] = []


@contextlib.contextmanager
def tokens_withheld(named: str | None) -> Iterator[None]:
    """For the block, move every ``UPGRADER_FEED_TOKEN*`` variable out of ``os.environ`` (so that
    no child process can inherit one), where ``environment_token`` still finds them; put them
    back afterwards. ``named`` is the project the command named with ``-n`` (None when it was
    left out): the only project the plain ``UPGRADER_FEED_TOKEN`` is used for."""
    moved = {key: os.environ.pop(key) for key in [key for key in os.environ if is_token_variable(key)]}
    _withheld.append(_Withheld(moved, named))
    try:
        yield
    finally:
        _withheld.pop()
        for key, value in moved.items():
            os.environ.setdefault(key, value)


def environment_token(project: str) -> tuple[str, str] | None:
    """(variable, value) of project ``project``'s feed token from the environment, or None.

    ``UPGRADER_FEED_TOKEN_<NAME>`` (NAME: the project name upper-cased, ``-`` → ``_``); else the
    plain ``UPGRADER_FEED_TOKEN``, only when the command named ``project`` with ``-n`` (inside
    ``tokens_withheld``; never otherwise). An empty variable counts as unset.
    """
    variables: dict[str, str] = {}
    for level in _withheld:
        variables.update(level.variables)
    variables.update((key, value) for key, value in os.environ.items() if is_token_variable(key))
    own = token_variable(project)
    if variables.get(own):
        return own, variables[own]
    if _withheld and _withheld[-1].named == project and variables.get(TOKEN_VARIABLE):
        return TOKEN_VARIABLE, variables[TOKEN_VARIABLE]
    return None


def token_variable(project: str) -> str:
    """``UPGRADER_FEED_TOKEN_<NAME>``: the environment variable of project ``project``'s feed token."""
    return f"{TOKEN_VARIABLE}_{project.upper().replace('-', '_')}"


@dataclass
class Result:
    returncode: int
    timed_out: bool = False
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    def tail(self, count: int) -> list[str]:
        return list(self.lines)[-count:]


_prctl: Any = None  # libc's prctl(2), looked up (with ctypes) before the first child is started


def _load_prctl() -> None:
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        import ctypes

        _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(
    argv: list[str],
    *,
    cwd: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Result:
    """Run ``argv`` in ``cwd`` with ``env`` over this process's environment, without feed tokens.

    Output (stdout and stderr together) is passed line by line to ``on_line``. Raises
    ``ActionError`` when the program cannot be started; returns its result otherwise.
    """
    import subprocess
    import threading

    environment = child_environment(env)
    _load_prctl()
    try:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    except FileNotFoundError:
        raise ActionError(f"{argv[0]}: no such program", retryable=False) from None
    except PermissionError:
        raise ActionError(f"{argv[0]}: permission denied (is it executable?)", retryable=False) from None
    except NotADirectoryError:
        raise ActionError(f"working folder {cwd} is not a folder", retryable=False) from None
    except OSError as error:
        raise ActionError(f"{argv[0]}: cannot start: {error.strerror}", retryable=False) from None

    result = Result(returncode=0)
    assert child.stdout is not None  # noqa: S101 - set by stdout=PIPE

    def pump() -> None:
        assert child.stdout is not None  # noqa: S101
        for raw in child.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            result.lines.append(line)
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        _kill_group(child)
        child.wait()
    except BaseException:
        _kill_group(child)
        child.wait()
        raise
    # Output still buffered after exit is read; a grandchild holding the pipe is not waited for.
    reader.join(timeout=5)
    result.returncode = child.returncode
    return result


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
