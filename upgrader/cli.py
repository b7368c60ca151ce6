"""The command line (DESIGN §7): parse, call one ``app`` function, render its result once."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console

from upgrader import __version__, app, signals, ui
from upgrader.errors import EXIT_OK, UpgraderError

logger = logging.getLogger("upgrader")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--root", metavar="DIR", default=default,
                        help="the server folder (default: $UPGRADER_ROOT, else the current folder)")
    parser.add_argument("-n", "--name", metavar="NAME", default=default,
                        help="the project (may be left out when there is only one)")
    parser.add_argument("--debug", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="show tracebacks and debug logs")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (argparse says so, exit 2)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    parse.__name__ = "integer"
    return parse


def _wait_lock(parser: Any) -> None:
    parser.add_argument("--wait-lock", metavar="S", type=float, default=0,
                        help="wait up to S seconds for another run to release the project")


# Every command word (and alias); a test checks it names exactly what ``build_parser`` builds.
COMMANDS = ("run", "update", "resume", "rollback", "reconfigure", "check", "status", "history", "graph",
            "install", "remove", "doctor", "prune", "hold", "unhold", "snapshots", "projects", "release", "init")


class _Unparsed(Exception):
    """A command line the one-command parser does not take (see ``parse``)."""


class _OneCommandParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Unparsed(message)


class _Skipped:
    """A command ``build_parser(only=…)`` does not build: whatever is asked of it (arguments,
    subcommands) is not added."""

    def __getattr__(self, _: str) -> Any:
        return lambda *_, **__: self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. With ``only`` (a command word), only that command is built, by a parser
    that raises ``_Unparsed`` instead of printing an error: see ``parse``."""
    parser = (argparse.ArgumentParser if only is None else _OneCommandParser)(
        prog="upgrader",
        description="Keep a self-hosted Docker Compose server up to date, safely and unattended.",
    )
    parser.add_argument("--version", action="version", version=f"upgrader {__version__}")
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)
    _global_options(shared, suppress=True)

    def command(name: str, help_text: str, aliases: Sequence[str] = ()) -> Any:
        if only is not None and only != name and only not in aliases:
            return _Skipped()
        return commands.add_parser(name, help=help_text, description=help_text,
                                   parents=[shared], aliases=list(aliases))

    run = command("run", "upgrade: run the project's workflow", aliases=["update"])
    run.add_argument("--to", metavar="VERSION", help="install this release (even a quarantined one)")
    run.add_argument("--allow-major", action="store_true", help="let this run cross a major version")
    run.add_argument("--allow-yanked", action="store_true",
                     help="let --to install a release its publisher withdrew")
    run.add_argument("--package", metavar="FILE", type=Path,
                     help="apply a release archive from disk (offline); FILE.sha256 beside it")
    run.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    run.add_argument("--cron", action="store_true",
                     help="unattended: quiet unless a person must act; carries on an unfinished run")
    _wait_lock(run)

    resume = command("resume", "continue an interrupted or paused run from its checkpoint")
    resume.add_argument("--cron", action="store_true", help="unattended: quiet unless a person must act")
    _wait_lock(resume)

    rollback = command("rollback", "undo the current run, or go back to the release that ran before")
    rollback.add_argument("--cron", action="store_true", help="unattended: quiet unless a person must act")
    rollback.add_argument("--restore-data", action="store_true",
                          help="also restore the data snapshot the run took (of a completed run: what was "
                               "written since is lost)")
    _wait_lock(rollback)

    reconfigure = command("reconfigure", "re-apply project.yaml (its values) to the installed release: "
                                         "export it again and restart it, as a run that rolls back")
    reconfigure.add_argument("--cron", action="store_true", help="unattended: quiet unless a person must act")
    _wait_lock(reconfigure)

    check = command("check", "what run would do now; changes nothing")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--to", metavar="VERSION", help="plan for this release")
    check.add_argument("--allow-major", action="store_true", help="plan across a major version")
    check.add_argument("--allow-yanked", action="store_true", help="plan --to a release its publisher withdrew")

    status = command("status", "the installed version, the current or last run, the lock")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--watch", action="store_true",
                        help="follow the current run live (from another terminal, or a cron run)")

    history = command("history", "the finished runs, newest first")
    history.add_argument("--json", action="store_true", help="print a JSON array")
    history.add_argument("--limit", type=_at_least(1), metavar="N", help="at most N runs")

    graph = command("graph", "draw the workflow's state machine")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--workflow", metavar="NAME|FILE",
                       help="draw this workflow (shipped name or file) instead of the project's")

    install = command("install", "schedule unattended runs in your crontab (+ an @reboot resume line)")
    install.add_argument("--cron-time", metavar="EXPR",  # default: cron.DEFAULT_TIME
                         help="when to run, a five-field cron expression (default: Saturdays 03:00)")

    command("remove", "remove this project's lines from your crontab")
    doctor = command("doctor", "check Docker, Compose, the feed, credentials, disk, cron and the lock")
    doctor.add_argument("--json", action="store_true", help="print one JSON object: ok and the checks")

    prune = command("prune", "remove superseded releases, their downloads and images")
    prune.add_argument("--keep", type=_at_least(0), metavar="N",
                       help="extracted releases kept besides the running one (default: keep_releases)")
    _wait_lock(prune)

    hold = command("hold", "keep unattended runs off a release (a newer one passes it; run --to installs it)")
    hold.add_argument("version", metavar="VERSION", help="the release to skip, exact SemVer (1.4.0)")
    _wait_lock(hold)

    unhold = command("unhold", "let unattended runs take a release again: remove its hold or its quarantine")
    unhold.add_argument("version", metavar="VERSION", help="the held or quarantined release, exact SemVer")
    _wait_lock(unhold)

    snapshots = command("snapshots", "the project's data snapshots, newest first")
    snapshots.add_argument("--json", action="store_true", help="print a JSON array")
    snapshots.add_argument("--verify", action="store_true",
                           help="re-read every copy and check it against its listing (exit 1 if one fails)")

    projects = command("projects", "list the projects under <root>/projects")
    projects.add_argument("--json", action="store_true", help="print a JSON array")

    init = command("init", "set up a project: write project.yaml from these flags, read the feed, say what "
                           "check says; --adopt: take over a stack that already runs as Compose project NAME")
    init.add_argument("--feed", required=True, metavar="URL", help="the release feed (https://, http:// or file://)")
    init.add_argument("--public-key", metavar="KEY", help="the feed's base64 Ed25519 public key")
    init.add_argument("--allow", metavar="LEVEL", help="patch | minor | major: how far unattended runs move")
    init.add_argument("--workflow", metavar="W", help="a shipped workflow's name, or a YAML file")
    init.add_argument("--product", metavar="P", help="the product the project runs (refuse any other)")
    init.add_argument("--token-stdin", action="store_true",
                      help="read the feed token from standard input into feed.token (0600)")
    init.add_argument("--adopt", action="store_true",
                      help="take over the stack that runs as Compose project NAME (started by hand)")
    init.add_argument("--from-dir", metavar="DIR", type=Path,
                      help="with --adopt: the folder it was started from (default: its containers' labels)")
    init.add_argument("--version", metavar="V", dest="adopt_version",
                      help="with --adopt: the release it runs (default: the feed's release whose images run)")

    release = command("release", "the publisher's side: a signing key, packages, the feed (publish, verify, "
                                 "phase, yank)")
    actions = release.add_subparsers(dest="release_command", required=True, metavar="ACTION")
    keygen = actions.add_parser("keygen", help="write a new Ed25519 key (0600); print its public key",
                                description="write a new Ed25519 private key to KEYFILE (mode 0600, never over "
                                            "a file) and print its public key as project.yaml's public_key")
    keygen.add_argument("keyfile", metavar="KEYFILE", type=Path)
    pack = actions.add_parser("pack", help="make the release package of a folder",
                              description="make <product>-<version>.tar.gz from DIR (compose.yaml, "
                                          "defaults.env, config/, hooks/): release.json written from it, "
                                          "the same bytes for the same input")
    pack.add_argument("folder", metavar="DIR", type=Path)
    pack.add_argument("--version", required=True, metavar="V", dest="release_version",
                      help="the release's version (SemVer)")
    pack.add_argument("--product", metavar="P", help="the product (default: DIR/release.json's)")
    pack.add_argument("--out", metavar="FOLDER", type=Path, help="where the package goes (default: here)")
    pack.add_argument("--pin-digests", action="store_true",
                      help="write each image with the digest its registry has (name:tag@sha256:…)")
    pack.add_argument("--offline", action="store_true",
                      help="also write <product>-<version>-offline.tar.gz with images/*.tar (docker save of "
                           "each image, from the local Docker Engine)")
    _release_feed_actions(actions)
    return parser


def _release_feed_actions(actions: Any) -> None:
    """``release publish | verify | phase | yank``: the feed's side (DESIGN §10)."""
    feed_help = "the feed's folder (index.json, index.json.sig and the packages)"
    key_help = "the Ed25519 private key (PEM, mode 0600) that signs index.json"
    expires_help = ("an extension: set the index's expires DAYS from now (clients refuse it after that "
                    "until it is signed again)")
    publish = actions.add_parser("publish", help="copy a package into a feed folder, list it, sign the index",
                                 description="copy ARCHIVE (made by release pack) into the feed folder, add its "
                                             "entry to index.json (made when absent; serial + 1) and sign it; "
                                             "the same version with the same bytes changes nothing")
    publish.add_argument("archive", metavar="ARCHIVE", type=Path)
    publish.add_argument("--feed", required=True, metavar="FOLDER", type=Path, help=feed_help)
    publish.add_argument("--key", metavar="KEYFILE", type=Path,
                         help=key_help + " (required once the feed is signed; without it the feed is unsigned)")
    publish.add_argument("--min-from", metavar="V", help="the oldest version that may upgrade straight to it")
    publish.add_argument("--notes", metavar="URL", help="where its release notes are")
    publish.add_argument("--released", metavar="TIME", help="when it was released, ISO 8601 (default: now, UTC)")
    publish.add_argument("--phase", metavar="P", type=int,
                         help="a staged rollout: the share of servers (0-100 percent) that take it (default 100)")
    publish.add_argument("--expires-in", metavar="DAYS", type=float, help=expires_help)
    verify = actions.add_parser("verify", help="check a feed as every client would: signature, index, archives",
                                description="check FEED (a URL or a folder) as a client does: index.json.sig "
                                            "(with --public-key), the index, then every archive's size, sha256, "
                                            "entries and release.json; one line per release, exit 1 on a failure")
    verify.add_argument("feed", metavar="FEED")
    verify.add_argument("--public-key", metavar="KEY",
                        help="the base64 Ed25519 public key (or a file holding it); without it the signature "
                             "is not checked")
    phase = actions.add_parser("phase", help="set the share of servers that take a release (staged rollout)",
                               description="set release V's phase to PERCENT (0-100) in the feed's index and "
                                           "sign it again (serial + 1)")
    phase.add_argument("version", metavar="V")
    phase.add_argument("percent", metavar="PERCENT", type=int)
    phase.add_argument("--feed", required=True, metavar="FOLDER", type=Path, help=feed_help)
    phase.add_argument("--key", required=True, metavar="KEYFILE", type=Path, help=key_help)
    phase.add_argument("--expires-in", metavar="DAYS", type=float, help=expires_help)
    yank = actions.add_parser("yank", help="withdraw a release (no server plans it), or --undo that",
                              description="mark release V as yanked with its reason in the feed's index and "
                                          "sign it again (serial + 1); --undo takes the withdrawal back")
    yank.add_argument("version", metavar="V")
    reason = yank.add_mutually_exclusive_group(required=True)
    reason.add_argument("--reason", metavar="TEXT", help="why it is withdrawn (servers that run it are told)")
    reason.add_argument("--undo", action="store_true", help="an extension: withdraw the yank")
    yank.add_argument("--feed", required=True, metavar="FOLDER", type=Path, help=feed_help)
    yank.add_argument("--key", required=True, metavar="KEYFILE", type=Path, help=key_help)
    yank.add_argument("--expires-in", metavar="DAYS", type=float, help=expires_help)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line. Building every command's parser costs a cron run more than all its
    work (argparse looks up a translation for each help text), so the command the line names is
    parsed by a parser of that command alone; whatever that parser does not take (a help request,
    a project named like a command, a mistake) is parsed again by the whole parser, which says
    what is wrong in its usual words."""
    words = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help", "--version"} & set(words):
        word = next((word for word in words if word in COMMANDS), None)
        if word is not None:
            with contextlib.suppress(_Unparsed):
                return build_parser(only=word).parse_args(words)
    return build_parser().parse_args(words)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from upgrader.runtime import process

    try:
        # Feed tokens stay out of every child's environment; the plain UPGRADER_FEED_TOKEN serves
        # only the project named with -n (DESIGN §15).
        with process.tokens_withheld(arguments.name):
            return _dispatch(arguments)
    except UpgraderError as error:
        if arguments.debug:
            traceback.print_exc()
        if getattr(arguments, "json", False):
            _json_failure(arguments, error)
        print(f"upgrader: error: {error}", file=sys.stderr)
        return error.exit_code
    except signals.Interrupted as interrupted:
        print(f"upgrader: {_stopped(interrupted)}", file=sys.stderr)
        return interrupted.exit_code
    except KeyboardInterrupt:
        print("upgrader: interrupted", file=sys.stderr)
        return 130


def _stopped(interrupted: signals.Interrupted) -> str:
    """What a second signal left behind, in one line (DESIGN §14)."""
    what = f"stopped at once by {signals.name(interrupted.signum)}"
    run = interrupted.run
    if run is None:
        return f"{what}; no run was under way"
    data: Any = run.get("data") or {}
    where = f"run {run['run_id']} was left at state {run['state']!r}"
    if data.get("downtime_started_at") and not data.get("downtime_ended_at"):
        server = "the server is DOWN"
    elif "previous" not in data and run.get("from_version"):
        server = f"the server was never stopped ({run['from_version']} runs)"
    else:
        server = "the server runs"
    return (f"{what}: {where}, {server}; 'upgrader resume' carries the run on, "
            "'upgrader rollback' undoes it")


def _json_failure(arguments: argparse.Namespace, error: UpgraderError) -> None:
    """Print the one JSON object a command asked for with ``--json`` when it failed with
    ``error``: a script reading stdout gets an answer it can parse, the exit code stays the error's.
    ``check`` says what it knows and ``error`` (DESIGN §7); ``doctor`` a failed check of that
    name; the listings (``status``, ``history``, ``snapshots``, ``projects``) print nothing."""
    if arguments.command == "check":
        from upgrader.commands.degraded import check_failure

        ui.print_json(check_failure(arguments.root, arguments.name, error))
    elif arguments.command == "doctor":
        from upgrader.doctor import Check, report

        ui.print_json(report([Check("doctor", False, str(error))]))


def _release(arguments: argparse.Namespace) -> int:
    """``upgrader release …``: the publisher's commands, which need no server root."""
    from upgrader.commands import release

    action = arguments.release_command
    if action == "keygen":
        sys.stdout.write(release.keygen(arguments.keyfile) + "\n")
        return EXIT_OK
    if action == "pack":
        made = release.pack(arguments.folder, arguments.release_version, product=arguments.product,
                            out=arguments.out, pin_digests=arguments.pin_digests, offline=arguments.offline)
        sys.stdout.write(f"{made}\n" + (f"{release.offline_path(made)}\n" if arguments.offline else ""))
        return EXIT_OK
    if action == "publish":
        outcome = release.publish(arguments.archive, arguments.feed, keyfile=arguments.key,
                                  min_from=arguments.min_from, notes=arguments.notes,
                                  released=arguments.released, phase=arguments.phase,
                                  expires_in=arguments.expires_in)
    elif action == "verify":
        outcome = release.verify(arguments.feed, arguments.public_key)
    elif action == "phase":
        outcome = release.phase(arguments.feed, arguments.version, arguments.percent, arguments.key,
                                expires_in=arguments.expires_in)
    else:
        outcome = release.yank(arguments.feed, arguments.version, arguments.key, reason=arguments.reason,
                               undo=arguments.undo, expires_in=arguments.expires_in)
    for warning in outcome.warnings:
        print(f"upgrader: warning: {warning}", file=sys.stderr)
    for line in (*outcome.lines, *([outcome.message] if outcome.message else [])):
        sys.stdout.write(line + "\n")
    return outcome.exit_code


def _init(arguments: argparse.Namespace) -> int:
    """``upgrader init``: the token read here (one line of standard input), never shown."""
    from upgrader.commands import init
    from upgrader.errors import UsageError
    from upgrader.project import find_root

    if not arguments.adopt and (arguments.from_dir is not None or arguments.adopt_version is not None):
        raise UsageError("--from-dir and --version go with --adopt")
    token = init.token_from(sys.stdin.buffer.readline(init.TOKEN_LIMIT)) if arguments.token_stdin else None
    settings = init.Settings(feed=arguments.feed, public_key=arguments.public_key, allow=arguments.allow,
                             workflow=arguments.workflow, product=arguments.product, token=token)
    adoption = init.Adoption(arguments.from_dir, arguments.adopt_version) if arguments.adopt else None
    result = init.init(app.Options(root=find_root(arguments.root), name=arguments.name), settings, adoption)
    out = _console()
    for written in result.data["written"]:
        out.print(f"wrote {written}", markup=False)
    adopted = result.data["adopted"]
    if adopted is not None:
        how = "as asked (--version)" if adopted["matched_by"] == "version" else "by the images it runs"
        out.print(f"adopted Compose project {result.data['project']} started from {adopted['from']}: "
                  f"release {adopted['version']} ({how}); the next 'upgrader run' upgrades it", markup=False)
    ui.print_check(out, result.data["check"])
    for line in result.details:
        out.print(line, markup=False)
    return result.exit_code


def _dispatch(arguments: argparse.Namespace) -> int:
    from upgrader.project import find_root

    command = arguments.command
    if command == "release":
        return _release(arguments)
    if command == "init":
        return _init(arguments)
    cron = getattr(arguments, "cron", False)
    out = _console
    options = app.Options(
        root=find_root(arguments.root), name=arguments.name, cron=cron,
        wait_lock=getattr(arguments, "wait_lock", 0), dry_run=getattr(arguments, "dry_run", False),
        to=getattr(arguments, "to", None), allow_major=getattr(arguments, "allow_major", False),
        allow_yanked=getattr(arguments, "allow_yanked", False),
        package=getattr(arguments, "package", None),
        restore_data=getattr(arguments, "restore_data", False),
    )
    if command in ("run", "update", "resume", "rollback", "reconfigure"):
        return _run_command(command, options)
    if command == "check":
        result = app.check(options)
        if arguments.json:
            ui.print_json(result.data)
        else:
            ui.print_check(out(), result.data)
            for line in result.details:
                out().print(line, markup=False)
        return result.exit_code
    if command == "status":
        result = app.status(options)
        if arguments.json:
            ui.print_json(result.data)
        elif arguments.watch:
            from upgrader import live

            last = live.watch(out(), app.watch_source(options))
            if last is None:
                out().print("no run yet")
            else:
                out().print(live.summary(last, _downtime(last)))
        else:
            ui.print_status(out(), result.data)
        return result.exit_code
    if command == "history":
        result = app.history(options, arguments.limit)
        if arguments.json:
            ui.print_json(result.data)
        else:
            out().print(ui.history_table(result.data))
        return result.exit_code
    if command == "graph":
        workflow_file = None
        if arguments.workflow:
            from upgrader.workflow import resolve

            workflow_file = resolve(arguments.workflow, Path.cwd())
        result = app.graph(options, arguments.format, workflow_file)
        sys.stdout.write(result.data if result.data.endswith("\n") else result.data + "\n")
        return EXIT_OK
    if command == "install":
        from upgrader.cron import DEFAULT_TIME

        result = app.install(options, DEFAULT_TIME if arguments.cron_time is None else arguments.cron_time)
        out().print(f"cron lines for {result.data['project']}:", markup=False)
        for line in result.data["lines"]:
            out().print(f"  {line}", markup=False, soft_wrap=True)
        out().print("next runs: " + ", ".join(result.data["next"]), markup=False)
        return result.exit_code
    if command == "remove":
        result = app.remove(options)
        out().print(result.message, markup=False)
        return result.exit_code
    if command == "doctor":
        result = app.doctor(options)
        if arguments.json:
            from upgrader.doctor import report

            ui.print_json(report(result.data))
        else:
            ui.print_checks(out(), result.data)
        return result.exit_code
    if command == "prune":
        result = app.prune(options, arguments.keep)
        out().print(result.message + (": " + ", ".join(result.data) if result.data else ""), markup=False)
        return result.exit_code
    if command in ("hold", "unhold"):
        from upgrader.commands import holds

        result = (holds.hold if command == "hold" else holds.unhold)(options, arguments.version)
        for line in (result.message, *result.details):
            out().print(line, markup=False)
        return result.exit_code
    if command == "snapshots":
        from upgrader.commands.snapshots import snapshots

        result = snapshots(options, arguments.verify)
        if arguments.json:
            ui.print_json(result.data)
        else:
            ui.print_snapshots(out(), result.data)
        return result.exit_code
    if command == "projects":
        result = app.projects(options)
        if arguments.json:
            ui.print_json(result.data)
        else:
            for name in result.data:
                print(name)
        return EXIT_OK
    raise AssertionError(command)  # pragma: no cover - argparse refuses unknown commands


@functools.cache
def _console() -> Console:
    """The terminal, made on first use: a quiet cron run or a JSON answer never imports rich."""
    from rich.console import Console

    # Off a terminal rich would wrap at 80 columns; a log or a pipe wants whole lines.
    tty = sys.stdout.isatty()
    return Console(highlight=False, width=None if tty else 200, soft_wrap=not tty)


def _downtime(run: Any) -> float | None:
    from upgrader.engine import downtime

    return downtime(run.get("data") or {})


def _run_command(command: str, options: app.Options) -> int:
    """run, resume, rollback: live view on a terminal, plain lines in a pipe, quiet under cron."""
    out = _console
    from upgrader.project import choose_name

    quiet: ui.QuietReporter | None = None
    live_reporter = None
    if options.cron:
        name = choose_name(options.root, options.name)
        quiet = ui.QuietReporter(options.root / "logs" / f"{name}.log")
        options.reporter = quiet
        # Under cron, stderr is mail: warnings (a notification that could not be delivered) go
        # to the project's log; only errors reach stderr.
        for stream_handler in logging.getLogger().handlers:
            stream_handler.setLevel(logging.ERROR)
        if quiet.logger is not None:
            logging.getLogger("upgrader").handlers[:] = quiet.logger.handlers
    elif out().is_terminal:
        from upgrader import live

        live_reporter = live.LiveReporter(out())
        options.reporter = live_reporter
    else:
        options.reporter = ui.TerminalReporter(out())
    if command == "reconfigure":
        from upgrader.commands.reconfigure import reconfigure as handler
    else:
        handler = {"run": app.run, "update": app.run, "resume": app.resume, "rollback": app.rollback}[command]
    try:
        with signals.handled():
            result = handler(options)
    except BaseException:
        if quiet is not None and quiet.logger is not None:
            quiet.logger.exception("upgrader %s failed", command)
        raise
    finally:
        if live_reporter is not None:
            live_reporter.end()
    if quiet is not None and quiet.logger is not None:
        quiet.logger.info("%s", result.message or "done")
    if live_reporter is not None and result.kind == "run":
        from upgrader import live

        out().print(live.summary(result.data, _downtime(result.data)))
        for line in result.details:
            out().print(line, markup=False)
        return result.exit_code
    return _render_run(result, quiet)


def _render_run(result: app.Result, quiet: ui.QuietReporter | None) -> int:
    out = _console
    if result.kind == "plan":
        if result.data["check"] is not None:
            ui.print_check(out(), result.data["check"])
        out().print(f"{result.data['project']}: workflow {result.data['workflow']} would run: "
                  + " → ".join(result.data["steps"]), markup=False)
        return result.exit_code
    if quiet is None:
        out().print(result.message, markup=False)
        for line in result.details:
            out().print(line, markup=False)
        return result.exit_code
    if result.exit_code != EXIT_OK:
        # Under cron, output means a person must look: the outcome and what led to it.
        for line in quiet.lines:
            print(line, file=sys.stderr)
        print(f"upgrader: {result.message}", file=sys.stderr)
    return result.exit_code
