"""Run a program without a shell, stream its output, and never leave it behind.

The child gets a closed standard input, its own process group (so a timeout kills everything it
started), and on Linux a parent-death signal, so that a killed upgrader does not leave a script
running on its own while a resumed run starts it again.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from upgrader.errors import ActionError

_PR_SET_PDEATHSIG = 1


@dataclass
class Result:
    returncode: int
    timed_out: bool = False
    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=200))

    def tail(self, count: int) -> list[str]:
        return list(self.lines)[-count:]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(
    argv: list[str],
    *,
    cwd: str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Result:
    """Run ``argv`` in ``cwd`` with ``env`` over this process's environment.

    Output (stdout and stderr together) is passed line by line to ``on_line``. Raises
    ``ActionError`` when the program cannot be started; returns its result otherwise.
    """
    environment = {**os.environ, **(env or {})}
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
