"""The error root of upgrader and the few subclasses that mean something different to a caller.

Every error carries the exit code the command ends with (DESIGN §7) and a message that is one
sentence naming the cause; the cli prints it without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ATTENTION = 3
EXIT_LOCKED = 75


class UpgraderError(Exception):
    """Base of every error upgrader reports to its operator."""

    exit_code = EXIT_FAILED


class ConfigError(UpgraderError):
    """A file the operator or publisher wrote is missing or invalid (project.yaml, a workflow)."""

    exit_code = EXIT_USAGE


class UsageError(UpgraderError):
    """The command line asks for something that cannot be done as asked."""

    exit_code = EXIT_USAGE


class StateError(UpgraderError):
    """A state file is corrupt, truncated or written by a newer upgrader; it is never overwritten."""

    exit_code = EXIT_ATTENTION


class LockedError(UpgraderError):
    """Another process holds the project's lock."""

    exit_code = EXIT_LOCKED


class RunBlockedError(UpgraderError):
    """An earlier run is interrupted, paused or failed; the operator must resume or roll it back."""

    exit_code = EXIT_ATTENTION


class ActionError(UpgraderError):
    """A step's action failed.

    ``retryable`` says whether trying again can help (a dropped connection) or not (a bad token);
    the engine retries only retryable failures, within the step's retry policy.
    ``release_fault`` says the release itself is bad (a wrong checksum, an unsafe archive, a
    service that never gets healthy), so a rolled-back run quarantines it (DESIGN §3).
    """

    def __init__(self, message: str, *, retryable: bool = True, release_fault: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.release_fault = release_fault
