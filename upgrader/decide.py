"""Decide, then act: what ``run`` would install now (DESIGN §3, §15).

From the feed — its index verified, bound to the project's product, no older than the freshest
one accepted and not expired — or from a package on disk, vouched for by its ``.sha256`` or, with
a ``public_key``, by a signed index that lists it. Pure of side effects but for recording the
accepted serial (``accept``, by a run under the project's lock), the releases the index withdraws,
and — on a server without /etc/machine-id — its rollout id; nothing here starts a run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from upgrader.errors import ConfigError, UsageError
from upgrader.plan import Plan
from upgrader.plan import plan as plan_release
from upgrader.project import Project
from upgrader.store import ProjectStore
from upgrader.workflow import Workflow

if TYPE_CHECKING:
    from upgrader.app import Options
    from upgrader.feed import Feed, Index

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One hop of a plan: the version and the release entry a run installs (None: no release)."""

    version: str | None
    release: dict[str, Any] | None


RELEASE_ACTIONS = frozenset({"download", "verify", "extract", "pull", "export"})


def decide(project: Project, store: ProjectStore, options: Options,
            workflow: Workflow | None = None, *, accept: bool = False) -> tuple[Plan | None, list[Target]]:
    """What ``run`` would do now: the plan (None without a feed or package) and its hops.

    The feed's index must be the project's product (else ``ConfigError``), no older than the
    freshest one the project accepted and not expired (else ``FeedError``; see ``_feed_index``).
    ``accept``: a run, under the project's lock, which records the index's serial.
    """
    from upgrader.installed_version import current as current_version

    # installed.json, else — a vendor's server upgrader did not install — project.yaml's installed_version.
    current = current_version(project, store.read_installed()).version
    quarantined = store.read_quarantine()
    if options.package is not None:
        entry = offline_release(project, store, options.package, accept=accept)
        decided = plan_release(
            [entry], current, allow=project.config.get("allow", "minor"), to=entry["version"],
            allow_major=options.allow_major, quarantined=quarantined, stops=project.config.get("stops", ()),
        )
        return decided, [Target(entry["version"], entry)] if decided.target else []
    if not project.config.get("feed"):
        if options.to is not None:
            raise UsageError("--to needs a release feed ('feed' in project.yaml) or --package")
        needs = sorted((workflow.actions() if workflow else set()) & RELEASE_ACTIONS)
        if needs:
            raise ConfigError(
                f"{project.dir / 'project.yaml'}: at 'feed': workflow {workflow.name if workflow else ''} "
                f"installs releases (action {needs[0]}); set 'feed' or use --package FILE")
        return None, [Target(None, None)]
    from upgrader.feed import feed_for

    client = feed_for(project)
    index = _feed_index(project, store, client, accept=accept)
    from upgrader.plan import rollout_bucket, too_recent

    bucket = rollout_bucket(store.machine_id(), index.product)

    def plan_from(described: Index) -> Plan:
        recent = too_recent(described.releases, project.config.get("min_age"), datetime.now(UTC))
        return plan_release(
            described.releases, current, allow=project.config.get("allow", "minor"), to=options.to,
            allow_major=options.allow_major, quarantined=quarantined, recent=recent, bucket=bucket,
            allow_yanked=options.allow_yanked, stops=project.config.get("stops", ()),
        )

    decided = plan_from(index)
    # A listing says only names: the storage's word on each release (its size, checksum and
    # time) is read for the path the plan takes, then the plan is made again, for min_age may
    # now hold one of them back; at most once more per release it takes, and never for the
    # whole listing. An index.json feed has nothing pending: this is one plan.
    while index.pending.intersection(decided.path):
        index = client.describe(index, decided.path)
        decided = plan_from(index)
    targets = []
    for version in decided.path:
        entry = dict(index.release(version) or {})
        if "url" not in entry:  # an index.json entry: its archive, relative to the feed or absolute
            entry["url"] = client.resolve(entry["archive"])
        if index.product:
            entry["product"] = index.product
        targets.append(Target(version, entry))
    return decided, targets


def feed_index(project: Project, store: ProjectStore) -> tuple[Feed, Index]:
    """The project's feed client and its index, read and refused exactly as ``check`` reads it
    (signature, product, freshness; see ``_feed_index``); records no serial."""
    from upgrader.feed import feed_for

    client = feed_for(project)
    return client, _feed_index(project, store, client)


def _feed_index(project: Project, store: ProjectStore, client: Feed, *, product: str | None = None,
                accept: bool = False) -> Index:
    """The feed's index, fetched, verified and validated by ``client``, and
    refused when it is not the project's product (``ConfigError``: project.yaml ``product``, else
    the installed release's, else ``product`` — an offline package's; a first install takes the
    feed's, and installed.json records it), when its serial is below the freshest accepted, or
    when it has expired (``FeedError``). With ``accept`` its serial is recorded in feed.json."""
    from upgrader.feed import check_fresh, pinned_product, product_refusal

    index = client.index()
    pinned = pinned_product(project, store.read_installed())
    if pinned is None and product is not None:
        pinned = (product, "the package's release.json")
    # A listing names no product (DESIGN §12): there is nothing to bind, and nothing to refuse.
    problem = product_refusal(index.url, index.product, pinned) if index.kind == "index" else None
    if problem:
        raise ConfigError(problem)
    check_fresh(index, store.read_feed(), client.url, datetime.now(UTC), reset=str(store.feed_path))
    if accept and index.serial is not None and store.accept_serial(client.url, index.serial):
        logger.info("accepted serial %s of %s", index.serial, index.url)
    # Kept for status and doctor, which warn of an installed release withdrawn without reading the feed.
    if store.record_yanked(client.url, {entry["version"]: entry["yanked"] for entry in index.releases
                                        if entry.get("yanked")}):
        logger.info("recorded the releases %s withdraws", index.url)
    return index


def withdrawal(store: ProjectStore) -> tuple[str, str] | None:
    """(version, reason) when the installed release is one its publisher withdrew, as the last
    index read from the feed said (feed.json, see ``_feed_index``); None otherwise. Reads no feed."""
    installed = store.read_installed()
    if installed is None:
        return None
    reason = ((store.read_feed() or {}).get("yanked") or {}).get(installed["version"])
    return None if reason is None else (installed["version"], reason)


def withdrawal_warning(found: tuple[str, str]) -> str:
    """What ``check``, ``status`` and ``doctor`` say of an installed release that was withdrawn."""
    from upgrader.plan import one_line

    version, reason = found
    return (f"the installed release {version} was withdrawn by its publisher: {one_line(reason)} "
            "(upgrade with `upgrader run`, or choose a release with --to)")


def offline_release(project: Project, store: ProjectStore, package_file: Path, *,
                     accept: bool = False) -> dict[str, Any]:
    """The release entry of an archive on disk, refused (``UsageError``, ``ConfigError``,
    ``FeedError``) before anything changes when nothing vouches for it.

    With ``public_key`` set, a signed index must list its sha256 (DESIGN §15): the index.json
    (with index.json.sig) lying beside FILE, else the feed's; FILE.sha256 is not enough. Without
    one, its checksum comes from FILE.sha256, else the feed's index. Its release.json must be of
    the project's product (project.yaml ``product``, else the installed release's).
    """
    from upgrader import package
    from upgrader.feed import feed_for, pinned_product, product_refusal

    path = package_file.expanduser().absolute()
    if not path.is_file():
        raise UsageError(f"--package {package_file}: " + ("not a regular file" if path.exists() else "no such file"))
    manifest = package.read_release(path)
    version = manifest["version"]
    problem = product_refusal(f"--package {package_file}", manifest["product"],
                              pinned_product(project, store.read_installed()))
    if problem:
        raise ConfigError(problem)
    entry: dict[str, Any] = {"version": version, "archive": path.name, "size": path.stat().st_size,
                             "url": path.as_uri(), "product": manifest["product"], "offline": True}
    checksum = path.with_name(path.name + ".sha256")
    if project.config.get("public_key"):
        entry.update(_signed_listing(project, store, path, package_file, manifest, accept=accept))
    elif checksum.is_file():
        with open(checksum, "rb") as stream:  # a sha256sum line; what follows its first word is not needed
            words = stream.read(4096).decode("utf-8", errors="replace").split()
        if not words or not re.fullmatch(r"[0-9a-f]{64}", words[0]):
            raise UsageError(f"{checksum}: does not start with a sha256 (64 lower-case hex digits)")
        entry["sha256"] = words[0]
        entry["checksum_from"] = checksum.name
    elif project.config.get("feed"):
        listed = _feed_index(project, store, feed_for(project), product=manifest["product"],
                             accept=accept).release(version)
        if listed is None:
            raise UsageError(f"--package {package_file}: release {version} is not in the feed's index "
                             f"and no {checksum.name} lies beside it")
        if "sha256" not in listed:
            raise UsageError(f"--package {package_file}: the feed's listing states no sha256 of release {version}; "
                             f"put its sha256 in {checksum.name} beside it")
        entry["sha256"] = listed["sha256"]
        if listed["size"] != entry["size"]:
            raise UsageError(f"--package {package_file}: {entry['size']} bytes, the feed's index says "
                             f"{listed['size']}")
    else:
        raise UsageError(f"--package {package_file}: {checksum.name} not found beside it; an offline "
                         "package needs its sha256 (or a feed whose index lists it)")
    return entry


def _signed_listing(project: Project, store: ProjectStore, path: Path, package_file: Path,
                    manifest: dict[str, Any], *, accept: bool) -> dict[str, Any]:
    """``sha256`` (and ``checksum_from``) of the package at ``path``, as a signed index lists it:
    the index.json + index.json.sig beside it, else the feed's. Raises ``UsageError`` when no
    signed index is at hand or it does not list this very archive."""
    from upgrader.feed import FeedError, feed_for, file_sha256, index_beside, product_refusal

    beside = path.with_name("index.json")
    checksum = path.with_name(path.name + ".sha256")
    found: dict[str, Any] = {}
    if beside.exists() or beside.is_symlink():
        index = index_beside(path.parent, project.config["public_key"])
        source, found = f"the signed {beside}", {"checksum_from": "the signed index.json beside the package"}
        problem = product_refusal(index.url, index.product, (manifest["product"], "the package's release.json"))
        if problem:
            raise ConfigError(problem)
    elif project.config.get("feed"):
        try:
            index = _feed_index(project, store, feed_for(project), product=manifest["product"], accept=accept)
        except FeedError as error:
            raise FeedError(f"{error} (offline, an index.json and index.json.sig beside the package serve)",
                            retryable=error.retryable) from None
        source = "the feed's signed index"
    else:
        alone = f"; {checksum.name} is not enough" if checksum.exists() else ""
        raise UsageError(f"--package {package_file}: with public_key set, an offline package installs only when a "
                         f"signed index lists its sha256{alone}: put the feed's index.json and index.json.sig "
                         "beside it, or set 'feed' in project.yaml")
    digest = file_sha256(path)
    listed = index.release(manifest["version"])
    if listed is None or listed["sha256"] != digest:
        says = "does not list release" if listed is None else "lists another archive for"
        raise UsageError(f"--package {package_file}: {source} {says} {manifest['version']} (this archive's "
                         f"sha256 is {digest}); refused")
    return {**found, "sha256": digest}
