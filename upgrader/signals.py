"""SIGINT and SIGTERM during a run (DESIGN §14).

While a run works (``protected``), the first signal does not stop the process: it is recorded,
the step in progress finishes, and the engine (which asks ``requested`` between steps) rolls
the run back, or finishes it when only steps without an undo are left (the health wait), so
that the server serves when upgrader exits. A second signal stops at once: ``Interrupted``
rises from wherever the process is, the checkpoint stays as it was (the run is resumable), and
the command exits 130 (SIGINT) or 143 (SIGTERM). Outside a run, the first signal stops at once:
there is nothing to finish.

Compose and hooks run in process groups of their own (``runtime.process``), so a Ctrl-C at a
terminal reaches upgrader only, not the ``docker compose down`` it is waiting for.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A signal stopped the command at once (a BaseException: no ``except Exception`` of a step
    or of the engine mistakes it for a failure to handle)."""

    def __init__(self, signum: int) -> None:
        super().__init__(name(signum))
        self.signum = signum
        self.run: dict[str, object] | None = None  # the run it cut short, when there was one

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_requested: int | None = None
_protecting = 0


def name(signum: int) -> str:
    return signal.Signals(signum).name


def requested() -> int | None:
    """The signal that asked the run in progress to end, or None."""
    return _requested


def _handle(signum: int, _frame: FrameType | None) -> None:
    global _requested
    if _protecting and _requested is None:
        _requested = signum
        # Written straight to the terminal (a signal handler must not take the journal's or the
        # console's locks); the engine journals it when it acts on it.
        os.write(2, (f"\nupgrader: {name(signum)}: the step in progress finishes, then the run is "
                     "rolled back (or completed if only the health wait is left) so that the server "
                     "serves; a second signal stops at once and may leave it down\n").encode())
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """For the block, SIGINT and SIGTERM are handled as this module says — unless this process
    was started with one ignored (``nohup``, a background job of a script), which stays ignored."""
    global _requested
    previous = {number: signal.getsignal(number) for number in HANDLED}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _handle)
    _requested = None
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


@contextlib.contextmanager
def protected() -> Iterator[None]:
    """For the block (a run at work), the first signal is only recorded."""
    global _protecting
    _protecting += 1
    try:
        yield
    finally:
        _protecting -= 1
