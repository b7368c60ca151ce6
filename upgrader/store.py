"""The store: the only code that reads or writes ``<root>/state/<project>/`` (DESIGN §1, §6).

Checkpoints are written atomically and durably (temp file, fsync, ``os.replace``, fsync of the
folder); the journal is append-only with an fsync per line; every file read is validated against
its schema in ``state/``, and a corrupt or newer file is refused, never overwritten. The project
lock is an OS lock (``flock(2)`` on ``state/<project>/lock``) that dies with its process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from upgrader.errors import LockedError, StateError
from upgrader.validation import check

SCHEMA = 1
FILE_MODE = 0o600
DIR_MODE = 0o700
# quarantine.json's ``reason`` of a version the operator held: by rolling back the completed
# run that installed it, or with ``upgrader hold`` (DESIGN §14). Any other reason is the error
# of a failed run, which never reads so.
HELD_BY_OPERATOR = "operator"


def now() -> str:
    """The current time as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fsync_dir(path: Path) -> None:
    """fsync the folder ``path``: what was renamed or created in it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _loads(text: str | bytes) -> Any:
    """``json.loads``, with JSON nested too deeply for Python refused as a ``ValueError`` too."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


SYSTEM_MACHINE_ID = Path("/etc/machine-id")
MACHINE_ID_FILE = "machine-id"
MACHINE_ID_MODE = 0o644  # not a secret: it only says which share of a staged rollout this server is in


def machine_id(state_root: Path, system: Path = SYSTEM_MACHINE_ID) -> str:
    """This server's id for staged rollouts (DESIGN §10): ``system`` (/etc/machine-id) stripped,
    else a random id (uuid4, hex) made once and kept in ``state_root`` (``<root>/state/``) as
    ``machine-id`` — created whole (a linked temporary file, so that two processes creating it at
    once agree on the first one's), mode 0644. Raises ``StateError`` when the kept id cannot be
    read or written, or is empty."""
    try:
        found = system.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        found = ""
    if found and found != "uninitialized":  # systemd writes "uninitialized" until first boot completes
        return found
    path = state_root / MACHINE_ID_FILE
    try:
        kept = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        kept = _create_machine_id(path)
    except OSError as error:
        raise StateError(f"{path}: cannot read: {error.strerror}") from None
    if not kept:
        raise StateError(_corrupt(path, "empty"))
    return kept


def _create_machine_id(path: Path) -> str:
    import uuid

    make_dirs(path.parent)
    made = uuid.uuid4().hex
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MACHINE_ID_MODE)
        with os.fdopen(fd, "w", encoding="ascii") as stream:
            os.fchmod(stream.fileno(), MACHINE_ID_MODE)  # whatever the umask
            stream.write(made + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)  # fails when another process made it first: its id stands
        except FileExistsError:
            return path.read_text(encoding="ascii", errors="replace").strip()
        fsync_dir(path.parent)
        return made
    except OSError as error:
        raise StateError(f"{path}: cannot write this server's rollout id: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


def make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, new folders 0700."""
    if path.is_dir():
        return
    make_dirs(path.parent)
    with suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE)


def create_new(path: Path, content: bytes, mode: int, *, sync: bool = False) -> None:
    """Write a new file ``path`` (never over one: ``FileExistsError``) that has ``mode`` from its
    first byte (the umask only narrows it; fchmod makes it exact before any content is there);
    ``sync``: fsynced before it is closed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` so that a crash leaves the old or the new file, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class ProjectStore:
    """The state folder of one project."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.run_path = state_dir / "run.json"
        self.journal_path = state_dir / "journal.jsonl"
        self.history_path = state_dir / "history.jsonl"
        self.installed_path = state_dir / "installed.json"
        self.workflow_path = state_dir / "workflow.yaml"
        self.quarantine_path = state_dir / "quarantine.json"
        self.progress_path = state_dir / "progress.json"
        self.feed_path = state_dir / "feed.json"
        self.lock_path = state_dir / "lock"
        self.holder_path = state_dir / "lock.holder"
        self._journal_checked = False

    # -- the lock -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, run_id: str | None, wait: float = 0) -> Iterator[None]:
        """Hold the project's lock for the block; raise ``LockedError`` naming the holder.

        ``wait`` is how many seconds to wait for another holder to finish (0: fail at once).
        """
        make_dirs(self.dir)
        lock = _FileLock(self.lock_path)
        if not lock.acquire(timeout=wait, poll_interval=0.05):
            raise LockedError(self._locked_message())
        try:
            holder = {"pid": os.getpid(), "run_id": run_id, "host": socket.gethostname(), "since": now()}
            write_atomic(self.holder_path, json.dumps(holder).encode())
            yield
        finally:
            self.holder_path.unlink(missing_ok=True)
            lock.release()

    def claim(self, run_id: str) -> None:
        """Name in lock.holder the run this holder works on, once it is known."""
        holder = self._read_holder() or {"pid": os.getpid(), "host": socket.gethostname(), "since": now()}
        write_atomic(self.holder_path, json.dumps({**holder, "run_id": run_id}).encode())

    def _locked_message(self) -> str:
        holder = self._holder_soon()
        if holder is None:
            return f"project '{self.dir.name}' is locked by another upgrader process"
        run = f", run {holder['run_id']}" if holder.get("run_id") else ""
        return (
            f"project '{self.dir.name}' is locked by upgrader pid {holder.get('pid')}{run} "
            f"(since {holder.get('since')}); wait for it or pass --wait-lock SECONDS"
        )

    def _holder_soon(self) -> dict[str, Any] | None:
        """lock.holder of a process that holds the lock: it writes the file just after acquiring
        (and removes it just before releasing), so give it a moment."""
        for _ in range(50):
            holder = self._read_holder()
            if holder is not None:
                return holder
            time.sleep(0.01)
        return None

    def _read_holder(self) -> dict[str, Any] | None:
        try:
            holder = json.loads(self.holder_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def lock_holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (``pid``, ``run_id``), or None when nobody does.

        Asks the OS with a non-blocking acquire; the lock file's presence means nothing.
        """
        if not self.lock_path.exists():
            return None
        lock = _FileLock(self.lock_path)
        try:
            acquired = lock.acquire(timeout=0)
        except OSError:
            return None
        if not acquired:
            return self._holder_soon() or {"pid": None, "run_id": None}
        lock.release()
        return None

    # -- documents ----------------------------------------------------------------------------

    def _read_document(self, path: Path, schema_name: str) -> dict[str, Any] | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateError(f"{path}: cannot read: {error.strerror}") from None
        try:
            document = _loads(raw)
        except ValueError as error:
            raise StateError(_corrupt(path, f"not valid JSON ({error})")) from None
        checked: dict[str, Any] = self._check(path, document, schema_name)
        return checked

    def _check(self, path: Path, document: Any, schema_name: str, line: int | None = None) -> Any:
        where = f"{path}:{line}" if line else str(path)
        if not isinstance(document, dict):
            raise StateError(_corrupt(where, "not a JSON object"))
        version = document.get("schema", SCHEMA if schema_name == "journal.schema.json" else None)
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA:
            raise StateError(
                f"{where} was written by a newer upgrader (schema {version}; this one reads up to "
                f"{SCHEMA}); upgrade upgrader, it will not overwrite the file"
            )
        errors = check(document, schema_name)
        if errors:
            raise StateError(_corrupt(where, errors[0]))
        return document

    def read_run(self) -> dict[str, Any] | None:
        """The checkpoint of the current or last run, or None before the first run."""
        return self._read_document(self.run_path, "run.schema.json")

    def write_run(self, run: dict[str, Any]) -> None:
        """Write the checkpoint atomically and durably, stamping ``updated_at``."""
        run["updated_at"] = now()
        make_dirs(self.dir)
        write_atomic(self.run_path, _encode(run))

    def read_installed(self) -> dict[str, Any] | None:
        return self._read_document(self.installed_path, "installed.schema.json")

    def write_installed(self, installed: dict[str, Any]) -> None:
        make_dirs(self.dir)
        write_atomic(self.installed_path, _encode({"schema": SCHEMA, **installed}))

    def read_quarantine(self) -> dict[str, dict[str, Any]]:
        """The versions unattended runs skip → why (``run_id``, ``reason``, ``at``): quarantined
        by a failed run, or held by the operator (``reason`` ``HELD_BY_OPERATOR``)."""
        document = self._read_document(self.quarantine_path, "quarantine.schema.json")
        versions: dict[str, dict[str, Any]] = document["versions"] if document else {}
        return versions

    def quarantine(self, version: str, run_id: str | None, reason: str | None) -> None:
        """Record that runs skip ``version``: ``run_id`` the run that failed or was rolled back
        (None: held by hand), ``reason`` its error or ``HELD_BY_OPERATOR``."""
        versions = self.read_quarantine()
        versions[version] = {"run_id": run_id, "reason": reason, "at": now()}
        self._write_quarantine(versions)

    def release_quarantine(self, version: str) -> dict[str, Any] | None:
        """Let runs take ``version`` again; gives the entry removed, or None when there was none
        (and then writes nothing)."""
        versions = self.read_quarantine()
        removed = versions.pop(version, None)
        if removed is not None:
            self._write_quarantine(versions)
        return removed

    def _write_quarantine(self, versions: dict[str, dict[str, Any]]) -> None:
        make_dirs(self.dir)
        write_atomic(self.quarantine_path, _encode({"schema": SCHEMA, "versions": versions}))

    def read_feed(self) -> dict[str, Any] | None:
        """What feed.json remembers of the feed: the highest index ``serial`` accepted from
        ``feed``, and ``seen_at``; None before the first index with a serial."""
        return self._read_document(self.feed_path, "feed.schema.json")

    def accept_serial(self, feed: str, serial: int) -> bool:
        """Remember that an index of ``feed`` with ``serial`` was accepted; True when feed.json
        changed (a higher serial, or another feed), False when it already said as much."""
        with self._feed_update():
            known = self.read_feed()
            if known is not None and known["feed"] == feed and known.get("serial", -1) >= serial:
                return False
            kept = {"yanked": known["yanked"], "yanked_at": known["yanked_at"]} \
                if known is not None and known["feed"] == feed and "yanked" in known else {}
            write_atomic(self.feed_path, _encode({"schema": SCHEMA, "feed": feed, "serial": serial, "seen_at": now(),
                                                  **kept}))
            return True

    def record_yanked(self, feed: str, yanked: dict[str, str]) -> bool:
        """Remember the releases the index just read from ``feed`` withdraws (version → reason),
        for ``status`` and ``doctor``, which do not read the feed. True when feed.json changed;
        nothing is written when it already says as much (none known is the same as none), so a
        ``check`` leaves the state as it found it unless the feed's withdrawals changed."""
        def recorded(known: dict[str, Any] | None) -> bool:
            return (known["yanked"] if known is not None and known["feed"] == feed and "yanked" in known
                    else {}) == yanked

        if recorded(self.read_feed()):  # the usual case: looked at without a lock, nothing written
            return False
        with self._feed_update():
            known = self.read_feed()
            if recorded(known):
                return False
            kept: dict[str, Any] = {key: known[key] for key in ("serial", "seen_at") if key in known} \
                if known is not None and known["feed"] == feed else {}
            write_atomic(self.feed_path, _encode({"schema": SCHEMA, "feed": feed, **kept, "yanked": yanked,
                                                  "yanked_at": now()}))
            return True

    def machine_id(self) -> str:
        """This server's id for staged rollouts: see ``machine_id``; kept beside the projects'
        state folders (``<root>/state/machine-id``), as it is the server's, not a project's."""
        return machine_id(self.dir.parent)

    @contextmanager
    def _feed_update(self) -> Iterator[None]:
        """Hold an exclusive ``flock(2)`` on the state folder while feed.json is read and
        replaced: a ``check`` records withdrawals without the project's lock (it must never make
        a run fail as locked), and must not put back a serial older than a run's meanwhile."""
        make_dirs(self.dir)
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the only descriptor of this open file releases its lock

    def write_progress(self, progress: dict[str, Any] | None) -> None:
        """The current step's progress, for ``status --watch``; None removes it.

        Not a checkpoint: replaced atomically a few times a second, never fsynced.
        """
        if progress is None:
            self.progress_path.unlink(missing_ok=True)
            return
        temporary = self.progress_path.with_name(f".progress.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as stream:
            json.dump({**progress, "updated_at": now()}, stream)
        os.replace(temporary, self.progress_path)

    def read_progress(self) -> dict[str, Any] | None:
        """The progress the running process last wrote, or None; never an error (it is advisory)."""
        try:
            document = _loads(self.progress_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return document if isinstance(document, dict) else None

    def journal_tail(self, size: int = 65536) -> list[dict[str, Any]]:
        """The last events of the journal (its last ``size`` bytes), for a live view."""
        try:
            with open(self.journal_path, "rb") as stream:
                end = stream.seek(0, os.SEEK_END)
                stream.seek(max(0, end - size))
                lines = stream.read().split(b"\n")
        except FileNotFoundError:
            return []
        events = []
        for line in lines[1 if end > size else 0:]:
            try:
                event = _loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def save_workflow(self, text: str) -> None:
        """Keep the workflow a run started with, so that its resume runs the same steps."""
        make_dirs(self.dir)
        write_atomic(self.workflow_path, text.encode("utf-8"))

    # -- append-only files --------------------------------------------------------------------

    def append_journal(self, run_id: str, event: str, state: str, step: str | None = None,
                       detail: str | dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one event to the journal and fsync it; returns the event."""
        entry = {"ts": now(), "run_id": run_id, "event": event, "step": step, "state": state,
                 "detail": detail}
        if not self._journal_checked:
            make_dirs(self.dir)
            _drop_torn_line(self.journal_path)
            self._journal_checked = True
        _append_line(self.journal_path, entry)
        return entry

    def read_journal(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """The journal's events (of ``run_id`` only, when given), oldest first."""
        events = self._read_lines(self.journal_path, "journal.schema.json")
        return [event for event in events if run_id is None or event["run_id"] == run_id]

    def append_history(self, entry: dict[str, Any]) -> None:
        make_dirs(self.dir)
        _drop_torn_line(self.history_path)
        _append_line(self.history_path, {"schema": SCHEMA, **entry})

    def read_history(self) -> list[dict[str, Any]]:
        """The finished runs, oldest first; a run that finished twice (a failed rollback that
        was finished later, a completed run rolled back) counts with its newest outcome."""
        latest: dict[str, dict[str, Any]] = {}
        for entry in self._read_lines(self.history_path, "history.schema.json"):
            latest.pop(entry["id"], None)
            latest[entry["id"]] = entry
        return list(latest.values())

    def _read_lines(self, path: Path, schema_name: str) -> list[dict[str, Any]]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        lines = raw.split(b"\n")
        # The last element is b"" after a final newline, or a torn line a crash left: drop it.
        entries = []
        for number, line in enumerate(lines[:-1], start=1):
            try:
                entry = _loads(line)
            except ValueError:
                raise StateError(_corrupt(f"{path}:{number}", "not valid JSON")) from None
            entries.append(self._check(path, entry, schema_name, number))
        return entries


class _FileLock:
    """An exclusive ``flock(2)`` on ``path`` (created 0600 when missing, and left in place, so
    that every process locks the same inode): held by an open file description, so the kernel
    releases it when its holder exits or crashes; a marker file would outlive a crashed holder.
    The descriptor is not inherited by the programs a run starts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout: float, poll_interval: float = 0.05) -> bool:
        """Take the lock, trying for up to ``timeout`` seconds; False when another holds it.
        Raises ``OSError`` when the lock file cannot be opened or locked at all."""
        deadline = time.monotonic() + timeout
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                with suppress(PermissionError):
                    os.fchmod(fd, FILE_MODE)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    raise
            else:
                self._fd = fd
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def _corrupt(where: Path | str, reason: str) -> str:
    return (
        f"{where} is corrupt: {reason}; upgrader will not overwrite it "
        "(inspect it, or move it aside to start afresh)"
    )


def _encode(document: dict[str, Any]) -> bytes:
    # One line, as the journal's: json's C encoder writes it (an indented document goes through
    # the pure-Python one, several times slower on a run's checkpoints).
    return (json.dumps(document, separators=(",", ":")) + "\n").encode("utf-8")


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_torn_line(path: Path) -> None:
    """Truncate a last line that a crash left without its newline."""
    try:
        with open(path, "rb+") as stream:
            size = stream.seek(0, os.SEEK_END)
            if size == 0:
                return
            stream.seek(size - 1)
            if stream.read(1) == b"\n":
                return
            # Walk back to the previous newline; the torn tail is rarely long.
            position = size
            while position > 0:
                step = min(4096, position)
                position -= step
                stream.seek(position)
                chunk = stream.read(step)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    stream.truncate(position + cut + 1)
                    break
            else:
                stream.truncate(0)
            stream.flush()
            os.fsync(stream.fileno())
    except FileNotFoundError:
        pass
