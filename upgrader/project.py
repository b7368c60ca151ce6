"""The server root and its projects (DESIGN §2): where things are, and project.yaml.

project.yaml belongs to the operator: it is read and validated here, never written.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from upgrader import yamlsafe
from upgrader.errors import ConfigError, UsageError
from upgrader.validation import check, raise_if_errors

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_WORKFLOW = "upgrade"
DEFAULT_LISTING = "index.txt"
# An archive name: anything before the version, the version, an optional build number, the
# archive's suffix (``server-linux-x64-3.29.1-1234.zip``, ``acme-server-1.2.0.tar.gz``).
DEFAULT_VERSION_PATTERN = r"^(?P<name>.+?)-(?P<version>\d+\.\d+\.\d+)(?:-(?P<build>\d+))?\.(?:zip|tar\.gz)$"
LISTING_ONLY = ("listing", "version_pattern", "credentials")


@dataclass(frozen=True)
class FeedSettings:
    """project.yaml's ``feed``, in either form, with the defaults filled in (DESIGN §3, §12)."""

    kind: str
    url: str
    listing: str = DEFAULT_LISTING
    version_pattern: str = DEFAULT_VERSION_PATTERN
    credentials: str | None = None

    @property
    def scheme(self) -> str:
        return self.url.split(":", 1)[0].lower()


def feed_settings(config: dict[str, Any]) -> FeedSettings | None:
    """The feed of a validated project.yaml ``config``: its string form is an index feed; None
    without a feed."""
    feed = config.get("feed")
    if not feed:
        return None
    if isinstance(feed, str):
        return FeedSettings("index", feed)
    return FeedSettings(str(feed["kind"]), str(feed["url"]), str(feed.get("listing", DEFAULT_LISTING)),
                        str(feed.get("version_pattern", DEFAULT_VERSION_PATTERN)), feed.get("credentials"))


def feed_problems(config: dict[str, Any]) -> list[str]:
    """What the schema cannot say about a schema-valid ``config``'s feed, one ``at 'key': reason``
    line each: keys of the other kind, a scheme or key the kind cannot use, a ``version_pattern``
    that does not compile or has no ``version`` group."""
    feed = config.get("feed")
    if not isinstance(feed, dict):
        return []
    problems = []
    scheme = str(feed["url"]).split(":", 1)[0].lower()
    if feed["kind"] == "index":
        problems += [f"at 'feed.{key}': only a listing feed (kind: listing) has {key}"
                     for key in LISTING_ONLY if key in feed]
        if scheme == "gs":
            problems.append("at 'feed.url': a gs:// bucket is read as a listing feed (kind: listing)")
    else:
        if "credentials" in feed and scheme != "gs":
            problems.append("at 'feed.credentials': only a gs:// feed uses a service-account key file")
        if "public_key" in config:
            problems.append("at 'public_key': a listing feed carries no signature to verify (public_key is for "
                            "index feeds)")
        if "token_file" in config and scheme == "gs":
            problems.append("at 'token_file': a gs:// feed authenticates with feed.credentials, not a token")
        pattern = feed.get("version_pattern", DEFAULT_VERSION_PATTERN)
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            problems.append(f"at 'feed.version_pattern': not a regular expression: {error}")
        else:
            if "version" not in compiled.groupindex:
                problems.append("at 'feed.version_pattern': has no group named 'version' ((?P<version>...))")
    return problems


@dataclass(frozen=True)
class Project:
    """One project under a server root, with its validated settings."""

    root: Path
    name: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.root / "projects" / self.name

    @property
    def export_dir(self) -> Path:
        return self.dir / "export"

    @property
    def state_dir(self) -> Path:
        return self.root / "state" / self.name

    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def downloads_dir(self) -> Path:
        """``downloads/<name>/``: each project downloads (to ``<version>/<archive>``) under its own
        lock into its own folder, so two projects never write one ``.part`` file, nor replace each
        other's archive of the same name."""
        return self.root / "downloads" / self.name

    @property
    def log_path(self) -> Path:
        return self.root / "logs" / f"{self.name}.log"

    @property
    def workflow(self) -> str:
        return str(self.config.get("workflow", DEFAULT_WORKFLOW))


def find_root(option: str | None) -> Path:
    """The server root: ``--root``, else ``UPGRADER_ROOT``, else the current folder."""
    chosen = option or os.environ.get("UPGRADER_ROOT") or os.getcwd()
    root = Path(chosen).expanduser().absolute()
    if not root.is_dir():
        raise UsageError(f"server root {root} is not a folder (set --root or UPGRADER_ROOT)")
    return root


def project_names(root: Path) -> list[str]:
    """The projects under ``root/projects``, sorted: folders with a valid name and a project.yaml."""
    folder = root / "projects"
    if not folder.is_dir():
        return []
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if NAME.match(entry.name) and (entry / "project.yaml").is_file()
    )


def choose_name(root: Path, name: str | None) -> str:
    """The project a command is about: ``-n NAME``, or the only project under ``root``."""
    if name is not None:
        if not NAME.match(name):
            raise UsageError(
                f"project name {name!r} is invalid: use lower-case letters, digits, '-' and '_', "
                "starting with a letter or digit, at most 63 characters"
            )
        return name
    names = project_names(root)
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"no project under {root / 'projects'}: create projects/<name>/project.yaml")
    raise UsageError(
        f"{len(names)} projects under {root / 'projects'} ({', '.join(names)}): pick one with -n NAME"
    )


def load_project(root: Path, name: str) -> Project:
    """Read and validate ``projects/<name>/project.yaml``; raises ``ConfigError`` naming the key."""
    path = root / "projects" / name / "project.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; project {name!r} has no project.yaml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        document = yamlsafe.load(text)
    except yamlsafe.YAMLRefused as error:
        raise ConfigError(f"{path}: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: at '(top level)': must be a mapping of settings")
    raise_if_errors(str(path), check(document, "project.schema.json"))
    raise_if_errors(str(path), feed_problems(document))
    return Project(root=root, name=name, config=document)
