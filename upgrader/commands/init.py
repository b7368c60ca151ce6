"""``upgrader init`` and ``upgrader init --adopt``: bring a project under upgrader (DESIGN §10).

``init`` writes ``projects/<name>/project.yaml`` from its flags, after checking the document as a
run checks it (the schema, the public key, the workflow) and never over a file that is there;
with ``--token-stdin`` the feed token goes to ``feed.token`` (0600 from its first byte, created
exclusively, never echoed) and project.yaml names it as ``token_file``. Then the feed is read as
``check`` reads it, and ``check``'s answer is the result. A feed that fails for a reason that will
not pass (a signature that does not verify, another product, 404, not JSON) undoes init: exactly
the files and folders init created are removed, and the error ends the command. A transient
failure (the feed unreachable, an expired index) keeps what was written: the next ``check`` or
``run`` reads the feed again.

Every file is written whole to a temporary name in its folder and then linked to its name (an
atomic create that fails when a file is there: init never replaces anything); folders init makes
under ``projects/`` are 0755 and project.yaml 0644; ``state/``, ``downloads/`` and ``releases/``
are made as the rest of upgrader makes them.

``--adopt`` takes over a stack that runs as Compose project <name> and that no upgrader started
(installed by hand, from a release package or a vendor's instructions). All of it is learnt and
checked before anything is written, and any failure afterwards — transient ones too, since a
half-adopted project would have to be removed by hand before ``init --adopt`` could run again —
removes what init wrote. Nothing in the folder the stack was started from is modified, and the
stack is not restarted.

- The configuration: from ``--from-dir`` (where Compose finds it there: compose.yaml,
  compose.yml, docker-compose.yml, docker-compose.yaml and an override file), else the
  containers' labels ``com.docker.compose.project.working_dir`` and ``…config_files``. It goes to
  ``export/`` laid out as the export step lays it out (compose.yaml, ``.env`` 0600, the owner
  labels' ``compose.upgrader.yaml``, the marker), so that ``compose -p <name> --project-directory
  export`` addresses the same containers: the same project name and service names, and the same
  volumes (a named volume ``data`` is ``<name>_data`` whatever folder it was started from).
  compose.yaml is Compose's own rendering of the original files (``config --no-interpolate``):
  merged, ``${VARS}`` left for ``.env``, and every relative path made absolute — so a bind mount
  relative to the old folder keeps pointing at the very same place (the old folder must stay;
  each such mount is named in the output). Nothing is moved or copied out of it.
- The version: ``--version V`` (a version the feed does not list is taken with a warning, and
  recorded without a release package), else the newest release of the feed whose release.json
  ``images`` are what the running containers run (see ``images_match``), learnt by downloading
  and reading the packages with the client's own code (``Feed.download``, ``package``). The
  chosen release is extracted into ``releases/`` (``package.extract``), so that a rollback of the
  first run can go back to it.
- ``state/<name>/installed.json``: that version, its feed entry, the running images' digests, and
  ``adopted`` (the folder and files it was started from): the containers Compose recorded with
  that folder are this project's to stop (``actions.preflight.foreign_owner``), so the first
  ``run`` stops them through Compose and starts the new release in their place, rather than
  installing over them — which a first install refuses (``preflight.unadopted``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader.errors import ConfigError, UsageError
from upgrader.project import NAME, Project
from upgrader.store import create_new, fsync_dir, write_atomic

if TYPE_CHECKING:
    from upgrader.app import Options, Result
    from upgrader.feed import Feed, Index
    from upgrader.runtime.engine import Container

logger = logging.getLogger(__name__)

TOKEN_FILE = "feed.token"  # noqa: S105 - the name of a file, not a secret
TOKEN_LIMIT = 4096  # bytes of standard input read for a token: one line
FOLDER_MODE = 0o755
PROJECT_FILE_MODE = 0o644
TOKEN_MODE = 0o600
# Where Compose looks for a project's files in its folder, in its own order (the first found is
# the file; an override beside it is merged over it).
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yaml", "compose.override.yml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
ADOPTED_RUN = "adopted"  # the export marker's run id: no run of upgrader wrote that export


@dataclass(frozen=True)
class Settings:
    """What the flags of ``init`` set in project.yaml, and the token read from standard input."""

    feed: str
    public_key: str | None = None
    allow: str | None = None
    workflow: str | None = None
    product: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class Adoption:
    """``--adopt``'s flags."""

    from_dir: Path | None = None
    version: str | None = None


@dataclass(frozen=True)
class Stack:
    """A stack started by hand, as ``--adopt`` found it, before anything is written."""

    running: list[Container]
    working_dir: Path
    files: list[Path]
    rendered: str
    services: list[str]
    env: bytes | None
    notes: list[str] = field(default_factory=list)


# -- the token ----------------------------------------------------------------------------------


def token_from(raw: bytes) -> str:
    """The feed token in ``raw`` (the first line of standard input), stripped; raises
    ``UsageError`` — never showing the token — when there is none, or when it is not one word of
    printable ASCII (it would break the request's header)."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise UsageError("--token-stdin: the token holds bytes that are not printable ASCII; refused") from None
    if not text:
        raise UsageError("--token-stdin: standard input held no token (an empty line); nothing was written")
    if not all("!" <= character <= "~" for character in text):
        raise UsageError("--token-stdin: the token holds whitespace or a control character; a token is one "
                         "word of printable ASCII; nothing was written")
    return text


# -- writing: only what init creates, and all of it undone on failure ---------------------------


class Written:
    """The files and folders init created, in order, so that a failure removes exactly those."""

    def __init__(self) -> None:
        self.paths: list[tuple[str, Path]] = []

    def folder(self, path: Path, mode: int = FOLDER_MODE) -> None:
        """Make ``path`` and its missing parents (``mode``, exactly), recording those it made."""
        missing = []
        for folder in (path, *path.parents):
            if folder.is_dir():
                break
            missing.append(folder)
        for folder in reversed(missing):
            folder.mkdir(mode=mode)
            folder.chmod(mode)  # the umask may have narrowed it
            self.paths.append(("folder", folder))

    def file(self, path: Path, content: bytes, mode: int) -> None:
        """Create ``path`` holding ``content`` with ``mode`` from its first byte: written and
        fsynced under a temporary name, then linked to its name, which fails (``UsageError``)
        when something is there — nothing is ever written over."""
        temporary = path.with_name(f".{path.name}.init-{os.getpid()}.tmp")
        create_new(temporary, content, mode, sync=True)
        try:
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise UsageError(f"{path} exists; upgrader never writes over it") from None
        finally:
            temporary.unlink(missing_ok=True)
        self.paths.append(("file", path))
        fsync_dir(path.parent)

    def made(self, kind: str, path: Path) -> None:
        """Record ``path`` (kind ``file``, ``folder`` or ``release``) that other code created."""
        self.paths.append((kind, path))

    def remove(self) -> None:
        """Remove what was recorded, newest first; what is gone already is passed over."""
        from upgrader import package

        for kind, path in reversed(self.paths):
            try:
                if kind == "release":
                    package.remove_release(path)
                elif kind == "folder":
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                logger.warning("could not remove %s: %s", path, error)
        self.paths.clear()


@contextmanager
def _tracked(written: Written, *folders: Path) -> Iterator[None]:
    """Record each of ``folders`` that did not exist before the block and does after it."""
    before = {folder: os.path.lexists(folder) for folder in folders}
    try:
        yield
    finally:
        for folder, existed in before.items():
            if not existed and os.path.lexists(folder):
                written.made("folder", folder)


# -- init -----------------------------------------------------------------------------------------


def project_document(settings: Settings) -> dict[str, Any]:
    """project.yaml's settings from the flags (only what was given: the rest keeps its default)."""
    document: dict[str, Any] = {"feed": settings.feed}
    for key in ("public_key", "allow", "workflow", "product"):
        value = getattr(settings, key)
        if value is not None:
            document[key] = value
    if settings.token is not None:
        document["token_file"] = TOKEN_FILE
    return document


def validate(project: Project) -> None:
    """Check ``project``'s settings as a run would, before anything is written: the schema (every
    error, naming the key), the public key, and the workflow (found and valid). Raises ``ConfigError``."""
    from upgrader import actions
    from upgrader.validation import check, raise_if_errors
    from upgrader.workflow import load_workflow, resolve

    where = str(project.dir / "project.yaml")
    raise_if_errors(f"{where} (from the flags of init)", check(project.config, "project.schema.json"))
    if project.config.get("public_key"):
        from upgrader.feed import load_public_key

        try:
            load_public_key(project.config["public_key"])
        except ConfigError as error:
            raise ConfigError(f"--public-key: {str(error).split(': ', 2)[-1]}") from None
    load_workflow(resolve(project.workflow, project.dir), actions.NAMES)


def _chosen_name(name: str | None) -> str:
    if name is None:
        raise UsageError("init needs the project's name: upgrader init -n NAME --feed URL")
    if not NAME.match(name):
        raise UsageError(f"project name {name!r} is invalid: use lower-case letters, digits, '-' and '_', "
                         "starting with a letter or digit, at most 63 characters (Compose's rule)")
    return name


def init(options: Options, settings: Settings, adoption: Adoption | None = None) -> Result:
    """Set up project ``options.name`` under ``options.root`` (see the module docstring); with
    ``adoption``, take over the stack that runs as its Compose project.

    Gives a ``Result`` of kind ``init``: ``data`` holds ``written`` (paths, relative to the root),
    ``adopted`` (None, or version and folder) and ``check`` (what ``check --json`` says now).
    Raises ``UsageError``/``ConfigError`` (exit 2, nothing written) for bad input, and the feed's
    or the engine's error when reading them fails (see the module docstring for what stays)."""
    from upgrader import app
    from upgrader.feed import FeedError
    from upgrader.project import load_project

    root = options.root
    name = _chosen_name(options.name)
    project = Project(root=root, name=name, config=project_document(settings))
    path = project.dir / "project.yaml"
    if os.path.lexists(path):
        raise UsageError(f"{path} exists; upgrader never writes over it; edit it or remove it")
    validate(project)
    token_path = project.dir / TOKEN_FILE
    if settings.token is not None and os.path.lexists(token_path):
        raise UsageError(f"{token_path} exists; upgrader never writes over it: remove it, or name it in "
                         "project.yaml yourself and leave out --token-stdin")
    stack = None
    if adoption is not None:
        if os.path.lexists(project.export_dir):
            raise UsageError(f"{project.export_dir} exists; --adopt writes the running configuration there "
                             "and never over another: move it aside")
        from upgrader.store import ProjectStore

        store = ProjectStore(project.state_dir)
        for state_file in (store.installed_path, store.run_path):
            if os.path.lexists(state_file):
                raise UsageError(f"{state_file} exists: project {name} has a record of its own already; "
                                 "--adopt records only a project that has none")
        stack = find_stack(project, adoption.from_dir)
    written = Written()
    adopted: dict[str, Any] | None = None
    notes: list[str] = []
    try:
        written.folder(project.dir)
        written.file(path, _yaml(project.config), PROJECT_FILE_MODE)
        if settings.token is not None:
            written.file(token_path, (settings.token + "\n").encode("ascii"), TOKEN_MODE)
        project = load_project(root, name)  # read back as every run reads it
        if stack is not None and adoption is not None:
            adopted, notes = adopt(project, stack, adoption, written)
        checked = app.check(app.Options(root=root, name=name))
    except FeedError as error:
        # A signature that does not verify, read twice: at setup, a wrong --public-key is far
        # likelier than a publish in progress, and the operator is there to run init again.
        if not error.retryable or error.mismatch or stack is not None:
            written.remove()
            raise
        kept = ", ".join(str(where.relative_to(root)) for kind, where in written.paths if kind == "file")
        raise FeedError(f"the feed could not be read now ({error}); kept {kept}: the next 'upgrader check' "
                        "or 'upgrader run' reads the feed again", retryable=True) from None
    except BaseException:
        written.remove()
        raise
    files = [str(where.relative_to(root)) + ("" if kind == "file" else "/") for kind, where in written.paths
             if kind in ("file", "release") or where == project.export_dir]
    return app.Result("init", {"project": name, "written": files, "adopted": adopted, "check": checked.data},
                      details=[*notes, *checked.details])


def _yaml(document: dict[str, Any]) -> bytes:
    import yaml

    head = "# written by 'upgrader init'; upgrader never writes this file again: it is yours to edit\n"
    return (head + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)).encode("utf-8")


# -- --adopt: what runs ----------------------------------------------------------------------------


def find_stack(project: Project, from_dir: Path | None) -> Stack:
    """The stack that runs as Compose project ``project.name``, and its configuration (from
    ``from_dir``, else from its containers' labels), rendered by Compose. Raises ``UsageError``
    (exit 2) when none runs, when upgrader started it, or when its configuration cannot be found
    or is not the one it runs with; the engine's error when the engine does not answer."""
    from upgrader.actions.preflight import owner
    from upgrader.runtime import engine

    name = project.name
    found = engine.containers(name)
    running = [container for container in found if container.status == "running"]
    if not running:
        raise UsageError(f"no Compose project {name} runs here (no running container labelled "
                         f"{engine.PROJECT_LABEL}={name}); nothing to adopt")
    for container in found:
        started_by = owner(container)
        if started_by is not None:
            raise UsageError(f"Compose project {name} was started by upgrader (root {started_by[0]}, project "
                             f"{started_by[1]}, container {container.name}); there is nothing to adopt")
    folders = sorted({container.labels.get(engine.WORKING_DIR_LABEL, "") for container in running} - {""})
    if len(folders) > 1:
        raise UsageError(f"Compose project {name} runs containers started from several folders "
                         f"({', '.join(folders)}); adopt a stack started from one folder")
    if from_dir is not None:
        working_dir, files = _from_folder(name, from_dir, folders[0] if folders else None)
    else:
        working_dir, files = _from_labels(name, running, folders[0] if folders else None)
    return _rendered(name, running, working_dir, files)


def _from_folder(name: str, from_dir: Path, labelled: str | None) -> tuple[Path, list[Path]]:
    folder = from_dir.expanduser().absolute()
    if not folder.is_dir():
        raise UsageError(f"--from-dir {from_dir}: not a folder")
    if labelled is not None and os.path.realpath(labelled) != os.path.realpath(folder):
        raise UsageError(f"--from-dir {from_dir}: Compose project {name} was started from {labelled}, not from "
                         f"{folder}; its relative paths point there: give --from-dir {labelled}")
    main = next((folder / file for file in COMPOSE_FILES if (folder / file).is_file()), None)
    if main is None:
        raise UsageError(f"--from-dir {from_dir}: no Compose file there ({', '.join(COMPOSE_FILES)})")
    override = next((folder / file for file in OVERRIDE_FILES if (folder / file).is_file()), None)
    return folder, [main, *([override] if override is not None else [])]


def _from_labels(name: str, running: list[Container], labelled: str | None) -> tuple[Path, list[Path]]:
    from upgrader.runtime import engine

    if labelled is None:
        raise UsageError(f"the containers of Compose project {name} do not say which folder they were started "
                         f"from ({engine.WORKING_DIR_LABEL}); give it with --from-dir DIR")
    listed = {container.labels.get(CONFIG_FILES_LABEL, "") for container in running} - {""}
    if len(listed) != 1:
        raise UsageError(f"the containers of Compose project {name} do not agree on their Compose files "
                         f"({CONFIG_FILES_LABEL}); give the folder with --from-dir DIR")
    files = [Path(labelled, file) for file in next(iter(listed)).split(",") if file]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:
        raise UsageError(f"Compose project {name} was started with {', '.join(missing)}, which is not there "
                         "now; give the folder holding its configuration with --from-dir DIR")
    return Path(labelled), files


CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"


def _rendered(name: str, running: list[Container], working_dir: Path, files: list[Path]) -> Stack:
    from upgrader import yamlsafe
    from upgrader.errors import ActionError
    from upgrader.runtime import compose

    try:
        rendered = compose.render(name, working_dir, files)
    except ActionError as error:
        raise ConfigError(str(error)) from None
    try:
        model = yamlsafe.load(rendered)
    except yamlsafe.YAMLRefused as error:
        raise ConfigError(f"Compose's rendering of {working_dir}: {error}") from None
    services = model.get("services") if isinstance(model, dict) else None
    if not isinstance(services, dict) or not services:
        raise ConfigError(f"the Compose configuration in {working_dir} declares no service")
    undeclared = sorted({container.service for container in running} - set(services))
    if undeclared:
        raise UsageError(f"the Compose configuration in {working_dir} does not declare service "
                         f"{', '.join(undeclared)}, which runs in project {name}: it is not the configuration "
                         "the stack was started with; give that folder with --from-dir DIR")
    env_path = working_dir / ".env"
    env = env_path.read_bytes() if env_path.is_file() else None
    return Stack(running=running, working_dir=working_dir, files=files, rendered=rendered,
                 services=sorted(services), env=env, notes=list(_kept_binds(services, working_dir)))


def _kept_binds(services: dict[str, Any], working_dir: Path) -> Iterator[str]:
    """One line for each bind mount inside ``working_dir`` (relative in the original file): the
    export names it by its absolute path, so it keeps pointing there."""
    for service, definition in sorted(services.items()):
        for volume in (definition or {}).get("volumes") or ():
            if not isinstance(volume, dict) or volume.get("type") != "bind":
                continue
            source = str(volume.get("source") or "")
            if source == str(working_dir) or source.startswith(str(working_dir).rstrip("/") + "/"):
                yield (f"service {service}: the bind mount {source} (relative to {working_dir}) keeps pointing "
                       f"there; {working_dir} must stay until the first run replaces this release")


# -- --adopt: which release -------------------------------------------------------------------------


def images_match(release_images: Iterable[str], running: Iterable[tuple[str, list[str]]]) -> bool:
    """Whether every running image is one of the release's: ``running`` holds (reference the
    container was started with, registry digests the engine knows for its image). A release
    image pinned by digest (``name[:tag]@sha256:…``) matches an image whose registry digests hold
    that digest for that repository; one without a digest matches the same reference (a bare
    name means ``:latest``)."""
    from upgrader.runtime.engine import split_reference

    wanted = list(release_images)
    pairs = list(running)
    if not pairs:
        return False
    for reference, digests in pairs:
        ok = False
        for candidate in wanted:
            if "@" in candidate:
                named, digest = candidate.split("@", 1)
                ok = f"{split_reference(named)[0]}@{digest}" in digests or candidate == reference
            else:
                ok = split_reference(candidate) == split_reference(reference)
            if ok:
                break
        if not ok:
            return False
    return True


def _running_images(stack: Stack) -> list[tuple[str, list[str], str]]:
    """(reference, registry digests, image id) of each running container's image."""
    from upgrader.runtime import engine

    found = {}
    for container in stack.running:
        if container.image not in found:
            found[container.image] = (container.image, engine.repo_digests(container.image_id), container.image_id)
    return sorted(found.values())


def _digest_of(reference: str, digests: list[str], image_id: str) -> str:
    """installed.json's digest of a running image: its registry digest for that repository,
    else its image id (as ``engine.digest`` gives it)."""
    from upgrader.runtime.engine import split_reference

    repository = split_reference(reference)[0] if "@" not in reference else reference.split("@")[0]
    for entry in digests:
        if entry.split("@")[0] == repository:
            return entry.split("@", 1)[1]
    return image_id


@dataclass
class _Candidate:
    entry: dict[str, Any]
    archive: Path
    manifest: dict[str, Any]


def _fetch(project: Project, client: Feed, index: Index, entry: dict[str, Any], written: Written) -> _Candidate:
    """Download ``entry``'s archive (``Feed.download``: size and sha256 of the signed index) and
    read its release.json, checked as ``verify`` checks it (version, product)."""
    from upgrader import package
    from upgrader.actions.download import archive_name
    from upgrader.feed import product_refusal
    from upgrader.store import make_dirs

    version = str(entry["version"])
    url = client.resolve(entry["archive"])
    folder = project.downloads_dir / version
    with _tracked(written, project.root / "downloads", project.downloads_dir, folder):
        make_dirs(folder)
    destination = folder / archive_name(url, version)
    existed = destination.exists()
    client.download(url, destination, size=int(entry["size"]), sha256=str(entry["sha256"]))
    if not existed:
        written.made("file", destination)
    manifest = package.read_release(destination)
    if manifest["version"] != version:
        raise package.PackageError(f"{destination.name}: release.json says version {manifest['version']}, "
                                   f"the feed says {version}")
    problem = product_refusal(f"{destination.name}: release.json", manifest["product"],
                              (index.product, "the feed's index"))
    if problem:
        raise ConfigError(problem)
    return _Candidate({**entry, "url": url, "product": index.product}, destination, manifest)


def _choose(project: Project, client: Feed, index: Index, stack: Stack, adoption: Adoption,
            written: Written) -> tuple[str, _Candidate | None, str, list[str]]:
    """(version, its release or None, how it was learnt, warnings) of the adopted stack."""
    from upgrader.plan import parse_version

    running = [(reference, digests) for reference, digests, _ in _running_images(stack)]
    if adoption.version is not None:
        entry = index.release(adoption.version)
        if entry is None:
            return adoption.version, None, "version", [
                f"warning: release {adoption.version} is not in the feed: recorded without its package, so a "
                "rollback of the first run cannot go back to it"]
        chosen = _fetch(project, client, index, dict(entry), written)
        warnings = [] if images_match(chosen.manifest["images"], running) else [
            f"warning: the running images ({', '.join(reference for reference, _ in running)}) are not those of "
            f"release {adoption.version} ({', '.join(chosen.manifest['images'])}); recorded as {adoption.version} "
            "as asked"]
        return adoption.version, chosen, "version", warnings
    newest_first = sorted(index.releases, key=lambda entry: parse_version(entry["version"]), reverse=True)
    for entry in newest_first:
        candidate = _fetch(project, client, index, dict(entry), written)
        if images_match(candidate.manifest["images"], running):
            return str(entry["version"]), candidate, "images", []
        _forget(written, candidate.archive)  # a package read only to learn its images
    raise UsageError(f"no release of the feed runs the images Compose project {project.name} runs "
                     f"({', '.join(reference for reference, _ in running)}); name its version with --version V")


def _forget(written: Written, archive: Path) -> None:
    """Remove ``archive`` now if init downloaded it."""
    if ("file", archive) in written.paths:
        written.paths.remove(("file", archive))
        archive.unlink(missing_ok=True)


# -- --adopt: recording it -------------------------------------------------------------------------


def adopt(project: Project, stack: Stack, adoption: Adoption, written: Written) -> tuple[dict[str, Any], list[str]]:
    """Record ``stack`` as project ``project``'s installed release: the version, the release
    extracted into ``releases/``, export/ and installed.json. Gives (what was adopted, notes)."""
    from upgrader import package
    from upgrader.decide import feed_index
    from upgrader.store import ProjectStore, make_dirs, now

    store = ProjectStore(project.state_dir)
    with _tracked(written, project.root / "state", project.state_dir):
        make_dirs(project.state_dir)
    with store.lock(None):
        client, index = feed_index(project, store)
        version, chosen, how, notes = _choose(project, client, index, stack, adoption, written)
        if chosen is not None:
            with _tracked(written, project.releases_dir):
                make_dirs(project.releases_dir)
            before = {folder: folder.exists() for folder in package.release_folders(
                project.releases_dir, version, str(chosen.entry["sha256"]))}
            folder = package.extract(chosen.archive, project.releases_dir, sha256=str(chosen.entry["sha256"]),
                                     version=version, owner=project.name)
            if not before.get(folder, True):
                written.made("release", folder)
        carried = _carried_values(project, stack, chosen)
        if carried:
            project = _with_values(project, carried)  # its project.yaml is init's, in ``written``
            notes.append(f"carried over from {stack.working_dir / '.env'} into 'values:' of "
                         f"{project.dir / 'project.yaml'} (mode 0600: .env may hold secrets): "
                         f"{', '.join(sorted(carried))}")
        write_export(project, stack, version, written)
        adopted = {"working_dir": str(stack.working_dir), "config_files": [str(file) for file in stack.files],
                   "matched_by": how, "adopted_at": now()}
        images = {reference: _digest_of(reference, digests, image_id)
                  for reference, digests, image_id in _running_images(stack)}
        store.write_installed({"version": version, "release": chosen.entry if chosen else None, "images": images,
                               "installed_at": adopted["adopted_at"], "run_id": None, "previous": None,
                               "adopted": adopted})
        written.made("file", store.installed_path)
    notes = [*notes, *stack.notes]
    return {"version": version, "from": str(stack.working_dir), "matched_by": how}, notes


def write_export(project: Project, stack: Stack, version: str, written: Written) -> None:
    """``export/`` of the adopted stack, laid out as the export step lays it out (see
    ``actions.export``): made whole under a temporary name, then renamed into place."""
    from upgrader.actions.export import EXPORT_MODE, FILE_MODE, MARKER, SECRET_MODE, owner_labels, values_digest
    from upgrader.runtime import LABELS

    staging = project.dir / f".export.init-{os.getpid()}"
    staging.mkdir(mode=EXPORT_MODE)
    written.made("folder", staging)
    staging.chmod(EXPORT_MODE)
    head = (f"# The configuration of Compose project {project.name} as it ran when 'upgrader init --adopt' took\n"
            f"# it over: {', '.join(str(file) for file in stack.files)}, merged by Compose, relative paths made\n"
            "# absolute; ${VARS} come from .env beside this file.\n")
    create_new(staging / "compose.yaml", (head + stack.rendered).encode("utf-8"), FILE_MODE)
    if stack.env is not None:
        create_new(staging / ".env", stack.env, SECRET_MODE)
    create_new(staging / LABELS, owner_labels(project, stack.services), FILE_MODE)
    marker = {"run_id": ADOPTED_RUN, "version": version, "data": [],
              "values_sha256": values_digest(project.config.get("values")), "adopted_from": str(stack.working_dir)}
    create_new(staging / MARKER, (json.dumps(marker) + "\n").encode("utf-8"), FILE_MODE)
    os.rename(staging, project.export_dir)  # export/ was checked absent before anything was written
    written.paths.remove(("folder", staging))
    written.made("folder", project.export_dir)
    fsync_dir(project.dir)


def _env_settings(text: str) -> dict[str, str]:
    """The ``KEY=value`` settings of a ``.env``, as the export step writes them (the value is
    the text after the first ``=``, kept as it is: the first run writes it back the same)."""
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip().removeprefix("export ").strip()] = value.strip()
    return settings


def _carried_values(project: Project, stack: Stack, chosen: _Candidate | None) -> dict[str, str]:
    """The settings of the adopted ``.env`` that the release's defaults.env does not give (so
    that the first run, which writes ``.env`` from defaults.env and ``values``, keeps them):
    the stack keeps its ports, passwords and names after its first upgrade."""
    if stack.env is None:
        return {}
    settings = _env_settings(stack.env.decode("utf-8", "replace"))
    defaults: dict[str, str] = {}
    if chosen is not None:
        from upgrader import package

        for folder in package.release_folders(project.releases_dir, chosen.manifest["version"],
                                              str(chosen.entry["sha256"])):
            if (folder / "defaults.env").is_file():
                defaults = _env_settings((folder / "defaults.env").read_text(encoding="utf-8", errors="replace"))
                break
    values = project.config.get("values") or {}
    return {key: value for key, value in settings.items() if key not in values and defaults.get(key) != value}


def _with_values(project: Project, carried: dict[str, str]) -> Project:
    """Project ``project`` with ``carried`` added to its ``values``: project.yaml (written by this
    init, moments ago) written again, 0600 since it now holds what ``.env`` held, and read back
    as a run reads it. Raises ``ConfigError`` when a setting is not one ``values`` can hold."""
    from upgrader.project import load_project

    config = {**project.config, "values": {**(project.config.get("values") or {}), **carried}}
    updated = Project(root=project.root, name=project.name, config=config)
    validate(updated)
    # replaced whole, 0600 (store.FILE_MODE): it may now hold secrets
    write_atomic(project.dir / "project.yaml", _yaml(config))
    return load_project(project.root, project.name)
