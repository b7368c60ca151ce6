"""Stopping a run exactly where a test wants.

Two tools:

- **A hold** (``hold_workflow``): a copy of a shipped workflow with a blocking ``command`` step
  right after a state, so that a test can SIGKILL the run exactly at that state (and ``Hold.let_go``
  lets the step pass afterwards, e.g. for the orphaned ``sh`` of a killed run).
- **A kill point**: ``upgrader`` run in a child Python process that SIGKILLs itself at the Nth call
  of a named function, on entry or a number of seconds after that call began (to be killed in
  the middle of a long step, e.g. a restore)::

      python -m tests.rig.faults --kill-at upgrader.snapshot.tree.restore:1 --after-seconds 0.3 \\
          --report kill.json -- --root ROOT -n NAME rollback

  The function is named by its dotted path, module then attributes
  (``upgrader.runtime.compose.up``, ``upgrader.runtime.volumes.Volumes.write_archive``); the tool
  imports the module, wraps the attribute in place (before anything else of upgrader is imported,
  so a later ``from … import name`` gets the wrapper too), then calls ``upgrader.cli.main(argv)``. The kill
  takes the child's whole process group (the tool makes itself a group leader), so the processes
  upgrader started (Compose, ``tar``, a hook) die with it, as in a power cut; ``--only-self`` kills
  the Python process alone. Before it kills, it writes ``--report`` (JSON: target, call, after,
  ``inside`` — whether the call was still running) and a line on stderr. A target that cannot be
  found exits ``EXIT_NOT_ARMED`` (97); one that was never called lets upgrader exit as it does and
  says so on stderr.

``run_with_kill_point`` runs that from a test and returns the outcome and the report.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
EXIT_NOT_ARMED = 97

# -- holding a run at a state ---------------------------------------------------------------------

HOLD_SCRIPT = ('[ -e "$MARKER" ] && exit 0; touch "$MARKER"; '
               'while [ ! -e "$RELEASE" ]; do sleep 0.1; done')


@dataclass
class Hold:
    path: Path
    marker: Path
    release: Path

    def reached(self) -> bool:
        return self.marker.exists()

    def let_go(self) -> None:
        self.release.touch()


def hold_workflow(base: str, state: str, folder: Path) -> Hold:
    """Workflow ``base`` with a step after ``state`` that blocks the first time it runs (and passes
    after), so that a test can kill the run exactly at ``state``."""
    from upgrader.workflow import resolve  # not at import: the kill point arms before upgrader loads

    document = yaml.safe_load(resolve(base, folder).read_text())
    if state not in document["states"]:
        raise ValueError(f"workflow {base} has no state {state!r} (its states: {document['states']})")
    held = f"{state}_hold"
    marker, release = folder / f"held-{state}", folder / f"release-{state}"
    document["name"] = f"{base}-hold"
    document["states"].insert(document["states"].index(state) + 1, held)
    for step in document["steps"]:
        if step["from"] == state:
            step["from"] = held
    arrives = next((index + 1 for index, step in enumerate(document["steps"]) if step["to"] == state), 0)
    document["steps"].insert(arrives, {
        "name": "hold", "from": state, "to": held, "action": "command",
        "run": ["sh", "-c", HOLD_SCRIPT], "env": {"MARKER": str(marker), "RELEASE": str(release)},
    })
    path = folder / f"{base}-hold-{state}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return Hold(path, marker, release)


# -- kill points ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    """Kill at the ``call``-th call of ``target`` (dotted path): on entry, or ``after_seconds``
    after that call began."""

    target: str
    call: int = 1
    after_seconds: float | None = None

    @classmethod
    def parse(cls, text: str, after_seconds: float | None = None) -> KillPoint:
        """``module.attr:N`` (``:N`` may be left out: the first call)."""
        target, _, count = text.partition(":")
        call = int(count) if count else 1
        if call < 1 or not target:
            raise ValueError(f"kill point {text!r}: want module.attribute[:N] with N >= 1")
        return cls(target, call, after_seconds)

    def argv(self, report: Path | None = None, only_self: bool = False) -> list[str]:
        """The tool's own options for this kill point."""
        words = ["--kill-at", f"{self.target}:{self.call}"]
        if self.after_seconds is not None:
            words += ["--after-seconds", str(self.after_seconds)]
        if report is not None:
            words += ["--report", str(report)]
        if only_self:
            words.append("--only-self")
        return words


def locate(target: str) -> tuple[Any, str]:
    """The object holding ``target``'s last attribute (a module or a class) and that name: the
    longest importable module prefix, then attributes. Raises ``LookupError`` saying why."""
    parts = target.split(".")
    missing: ModuleNotFoundError | None = None
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            owner: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and (module_name == error.name or module_name.startswith(error.name + ".")):
                missing = missing or error
                continue
            raise LookupError(f"importing {module_name}: {error}") from error
        except Exception as error:  # a module that does not import (a syntax error, …)
            raise LookupError(f"importing {module_name}: {type(error).__name__}: {error}") from error
        path = module_name
        for attribute in parts[cut:-1]:
            if not hasattr(owner, attribute):
                raise LookupError(str(missing) if missing else f"{path} has no attribute {attribute!r}")
            owner = getattr(owner, attribute)
            path += f".{attribute}"
        if not hasattr(owner, parts[-1]):
            raise LookupError(f"{path} has no attribute {parts[-1]!r}" + (f" ({missing})" if missing else ""))
        return owner, parts[-1]
    raise LookupError(str(missing) if missing else f"{target}: no module to import")


class _Trigger:
    """Counts the calls of the target and kills at the chosen one."""

    def __init__(self, point: KillPoint, report: Path | None, group: bool) -> None:
        self.point = point
        self.report = report
        self.group = group
        self.calls = 0
        self.inside = False
        self.lock = threading.Lock()
        self.armed_at = time.monotonic()

    def enter(self) -> bool:
        """Count a call; True when it is the chosen one (then ``leave`` follows it)."""
        with self.lock:
            self.calls += 1
            chosen = self.calls == self.point.call
        if not chosen:
            return False
        self.inside = True
        if self.point.after_seconds is None:
            self.kill("on entry")
        threading.Thread(target=self._later, daemon=True, name="kill-point").start()
        return True

    def leave(self) -> None:
        self.inside = False

    def _later(self) -> None:
        time.sleep(self.point.after_seconds or 0)
        self.kill(f"{self.point.after_seconds:g} s after the call began")

    def kill(self, when: str) -> None:
        inside = self.inside
        detail = {"target": self.point.target, "call": self.point.call, "after": self.point.after_seconds,
                  "inside": inside, "pid": os.getpid(), "when": when,
                  "seconds_since_start": round(time.monotonic() - self.armed_at, 3)}
        if self.report is not None:
            with open(self.report, "w") as stream:
                json.dump(detail, stream)
                stream.flush()
                os.fsync(stream.fileno())
        state = "still running" if inside else "already returned"
        sys.stderr.write(f"kill point: SIGKILL at call {self.point.call} of {self.point.target}, {when} "
                         f"({state})\n")
        sys.stderr.flush()
        with contextlib.suppress(OSError):
            sys.stdout.flush()
        if self.group and os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(original: Callable[..., Any], trigger: _Trigger) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(original):
        @functools.wraps(original)
        def generator(*args: Any, **kwargs: Any) -> Any:
            chosen = trigger.enter()
            try:
                return (yield from original(*args, **kwargs))
            finally:
                if chosen:
                    trigger.leave()
        return generator

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = trigger.enter()
        try:
            return original(*args, **kwargs)
        finally:
            if chosen:
                trigger.leave()
    return wrapper


def arm(point: KillPoint, report: Path | None = None, group: bool = True) -> _Trigger:
    """Wrap ``point.target`` in place; raises ``LookupError`` when it cannot be found."""
    owner, name = locate(point.target)
    trigger = _Trigger(point, report, group)
    raw = inspect.getattr_static(owner, name)
    if isinstance(raw, staticmethod):
        setattr(owner, name, staticmethod(_wrap(raw.__func__, trigger)))
    elif isinstance(raw, classmethod):
        setattr(owner, name, classmethod(_wrap(raw.__func__, trigger)))
    elif callable(raw):
        setattr(owner, name, _wrap(raw, trigger))
    else:
        raise LookupError(f"{point.target} is not a function ({type(raw).__name__})")
    return trigger


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if "--" not in words:
        print("usage: python -m tests.rig.faults --kill-at MODULE.ATTR[:N] [--after-seconds S] "
              "[--report FILE] [--only-self] -- UPGRADER-ARGS…", file=sys.stderr)
        return 2
    split = words.index("--")
    parser = argparse.ArgumentParser(prog="python -m tests.rig.faults")
    parser.add_argument("--kill-at", required=True, metavar="MODULE.ATTR[:N]")
    parser.add_argument("--after-seconds", type=float, default=None)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--only-self", action="store_true")
    options = parser.parse_args(words[:split])
    upgrader_argv = words[split + 1:]
    group = not options.only_self
    if group and os.getpgrp() != os.getpid():
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    try:
        point = KillPoint.parse(options.kill_at, options.after_seconds)
        trigger = arm(point, options.report, group)
    except (LookupError, ValueError) as error:
        print(f"kill point: cannot arm {options.kill_at}: {error}", file=sys.stderr)
        return EXIT_NOT_ARMED

    def never_reached() -> None:
        if trigger.calls < point.call:
            sys.stderr.write(f"kill point: {point.target} was called {trigger.calls} time(s), never a "
                             f"{point.call}{'st' if point.call == 1 else 'th'} time; nothing was killed\n")

    atexit.register(never_reached)
    from upgrader import cli

    sys.argv = ["upgrader", *upgrader_argv]
    return int(cli.main(upgrader_argv))


# -- from a test -----------------------------------------------------------------------------------


@dataclass
class Killed:
    """What a run under a kill point did: its exit code (``-9`` when the kill point fired), its
    output (stdout and stderr), and the kill point's report (None when it did not fire)."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL and self.report is not None


def run_with_kill_point(point: KillPoint, upgrader_args: Sequence[str], report: Path,
                        timeout: float = 300, env: dict[str, str] | None = None) -> Killed:
    """Run ``upgrader UPGRADER_ARGS`` under ``point`` (in a session of its own, so the kill takes
    only its processes); wait for it to end."""
    report.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "tests.rig.faults", *point.argv(report), "--", *upgrader_args]
    result = subprocess.run(argv, cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL, start_new_session=True, check=False,
                            env={**os.environ, **(env or {}),
                                 "PYTHONPATH": os.pathsep.join(filter(None, [str(REPOSITORY),
                                                                             os.environ.get("PYTHONPATH")]))})
    found = json.loads(report.read_text()) if report.exists() else None
    return Killed(result.returncode, result.stdout, result.stderr, found)


if __name__ == "__main__":
    sys.exit(main())
