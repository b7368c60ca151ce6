"""Release packages of two realistic stacks, whose releases migrate their data, and what to look
at in that data.

**The realistic stack** (``kind="files"``; busybox images, one per version, built FROM scratch by
the rig: ``{REGISTRY}/acme/app:<version>``), on the named volume ``data``:

- ``db``: holds the data (a long-running process with ``data`` at /data);
- ``migrate``: one-shot, after ``db``: migrates /data to the release's schema (``/data/schema``
  holds a version; a migration writes its own and appends ``<version> migrated`` to /data/log).
  It is a no-op when the schema is already its own, and it FAILS (exit 1) when the schema is newer
  than its own, as an old release's migration job does on a newer database;
- ``web``: after ``migrate`` completed successfully; serves the version on 127.0.0.1:${HTTP_PORT}
  (/version), healthy only while /data/schema is its own schema (so an old web on migrated data is
  unhealthy);
- ``worker``: appends ``<version> worked`` to /data/log when it starts, unless that line is there
  already (a restart of the same release writes nothing).

``schema=`` gives a release that migrates to another schema than its version (``schema="1.1.0"``
for a 1.2.0: a release that leaves the schema alone); ``rewrites="blobs"`` one whose migration
also rewrites every record of /data/blobs (appends its version to each file there);
``healthy=False`` a broken release that migrates, then whose web never gets healthy.

**The PostgreSQL stack** (``kind="postgres"``; the image of ``tests.rig.postgres``, one for every
service and version), on the named volume ``pgdata`` (/var/lib/postgresql):

- ``db``: PostgreSQL 15 as the user postgres, with the release's own pg_hba.conf (trust) from
  config/, listening on every address of the project's network; healthy once ``pg_isready``;
- ``migrate``: one-shot, ``psql`` over TCP to ``db`` once it answers. 1.1.0 creates
  ``items(id int primary key, name text, legacy text)``, inserts rows 1 to 3 idempotently and runs
  ``UPDATE items SET legacy = 'x' WHERE legacy IS NULL`` (which fails once the column is gone);
  1.2.0 drops ``legacy`` and inserts rows 4 and 5;
- ``web``: serves its version with ``busybox httpd``; healthy when ``pg_isready`` and the schema
  is the one it expects (1.1.0: ``legacy`` there, 1.2.0: gone). A broken 1.2.0 migrates, then its
  web never gets healthy.

``publish_stack(project, kind, version, …)`` writes the package into the project's feed and lists
it. ``volume_digest`` and ``pg_dump`` tell whether the data is what it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.rig import PRODUCT, REGISTRY, Feed, Rig, write_package
from tests.rig.postgres import BIN, pg_image, server_command

if TYPE_CHECKING:
    from tests.e2e.conftest import DockerProject

KINDS = ("files", "postgres")
VOLUMES = {"files": "data", "postgres": "pgdata"}


def app_image(version: str) -> str:
    return f"{REGISTRY}/acme/app:{version}"


# -- the realistic stack ----------------------------------------------------------------------------

_MIGRATE = """\
# Migrate /data to schema $SCHEMA (release $RELEASE). A no-op when it is there already; refuses a
# newer schema, as the migration job of an older release does.
level() { echo "$1" | awk -F. '{ printf "%d", $1 * 1000000 + $2 * 1000 + $3 }'; }
have=$(cat /data/schema 2>/dev/null)
if [ -n "$have" ] && [ "$(level "$have")" -gt "$(level "$SCHEMA")" ]; then
  echo "migrate $RELEASE: the data's schema $have is newer than $SCHEMA; refusing" >&2
  exit 1
fi
if [ "$have" != "$SCHEMA" ]; then
  if [ -n "$REWRITES" ] && [ -d "/data/$REWRITES" ]; then
    for record in "/data/$REWRITES"/*; do echo "$RELEASE" >> "$record"; done
  fi
  echo "$SCHEMA" > /data/schema
  echo "$RELEASE migrated" >> /data/log
  echo "migrate $RELEASE: ${have:-nothing} -> $SCHEMA"
else
  echo "migrate $RELEASE: schema $SCHEMA already"
fi
"""

_WORKER = """\
grep -qx "$RELEASE worked" /data/log 2>/dev/null || echo "$RELEASE worked" >> /data/log
exec sleep 2147483647
"""

_HEALTH = """\
wget -q -O /dev/null http://127.0.0.1:8080/version || exit 1
have=$(cat /data/schema 2>/dev/null)
[ "$have" = "$SCHEMA" ] || { echo "schema ${have:-none}, want $SCHEMA"; exit 1; }
"""

_BROKEN_HEALTH = "echo 'this release never gets healthy'; exit 1\n"


def files_compose(version: str, schema: str, image: str, rewrites: str = "") -> str:
    return f"""services:
  db:
    image: {image}
    init: true
    command: ["sleep", "2147483647"]
    volumes: ["data:/data"]
  migrate:
    image: {image}
    init: true
    depends_on: [db]
    command: ["sh", "/config/migrate.sh"]
    environment: {{RELEASE: "{version}", SCHEMA: "{schema}", REWRITES: "{rewrites}"}}
    volumes: ["data:/data", "./config:/config:ro"]
  web:
    image: {image}
    init: true
    depends_on:
      migrate: {{condition: service_completed_successfully}}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    environment: {{SCHEMA: "{schema}"}}
    ports: ["127.0.0.1:${{HTTP_PORT}}:8080"]
    volumes: ["data:/data:ro", "./config:/config:ro"]
    healthcheck:
      test: ["CMD", "sh", "/config/health.sh"]
      interval: 1s
      timeout: 2s
      retries: 3
  worker:
    image: {image}
    init: true
    depends_on:
      migrate: {{condition: service_completed_successfully}}
    command: ["sh", "/config/worker.sh"]
    environment: {{RELEASE: "{version}"}}
    volumes: ["data:/data", "./config:/config:ro"]
volumes:
  data: {{}}
"""


def files_release(rig: Rig, version: str, *, healthy: bool = True, schema: str | None = None,
                  rewrites: str = "") -> tuple[list[str], dict[str, str]]:
    """The images and the files of a release of the realistic stack (its image built and pushed)."""
    image = app_image(version)
    rig.publish_images(version, images={"app": image})
    files = {
        "compose.yaml": files_compose(version, schema or version, image, rewrites),
        "config/migrate.sh": _MIGRATE,
        "config/worker.sh": _WORKER,
        "config/health.sh": _HEALTH if healthy else _BROKEN_HEALTH,
    }
    return [image], files


# -- the PostgreSQL stack ---------------------------------------------------------------------------

PG_HBA = """\
# The release's own: every connection of the project's network is trusted (a test stack).
local all all trust
host  all all 0.0.0.0/0 trust
host  all all ::/0 trust
"""

_PG_MIGRATE = f"""\
set -e
tries=0
until {BIN}/pg_isready -q -h db; do
  tries=$((tries + 1))
  [ "$tries" -lt 300 ] || {{ echo "migrate $RELEASE: db never answered" >&2; exit 1; }}
  sleep 0.2
done
{BIN}/psql -X -q -h db -U postgres -d postgres -v ON_ERROR_STOP=1 -f /config/migrate.sql
echo "migrate $RELEASE: done"
"""

_PG_SQL = {
    "1.1.0": """\
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text, legacy text);
INSERT INTO items (id, name) VALUES (1, 'anvil'), (2, 'bucket'), (3, 'crowbar') ON CONFLICT (id) DO NOTHING;
UPDATE items SET legacy = 'x' WHERE legacy IS NULL;
""",
    "1.2.0": """\
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text);
ALTER TABLE items DROP COLUMN IF EXISTS legacy;
INSERT INTO items (id, name) VALUES (4, 'drill'), (5, 'easel') ON CONFLICT (id) DO NOTHING;
""",
}

# How many `legacy` columns the web of each release expects the schema to have.
_PG_LEGACY_COLUMNS = {"1.1.0": 1, "1.2.0": 0}

_PG_WEB = """\
mkdir -p /tmp/www
echo "$RELEASE" > /tmp/www/version
exec busybox httpd -f -p 8080 -h /tmp/www
"""

_PG_HEALTH = """\
BIN/pg_isready -q -h db || exit 1
busybox wget -q -O /dev/null http://127.0.0.1:8080/version || exit 1
have=$(BIN/psql -X -tA -h db -U postgres -d postgres -c \\
  "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'legacy'") \\
  || exit 1
[ "$have" = "$LEGACY_COLUMNS" ] || { echo "legacy columns: $have, want $LEGACY_COLUMNS"; exit 1; }
""".replace("BIN/", f"{BIN}/")


def postgres_compose(version: str, image: str) -> str:
    server = json.dumps(server_command("/config/pg_hba.conf"))
    legacy = _PG_LEGACY_COLUMNS[version]
    return f"""services:
  db:
    image: {image}
    init: true
    user: postgres
    stop_signal: SIGINT
    command: {server}
    volumes: ["pgdata:/var/lib/postgresql", "./config:/config:ro"]
    healthcheck:
      test: ["CMD", "{BIN}/pg_isready", "-q", "-h", "127.0.0.1"]
      interval: 1s
      timeout: 3s
      retries: 30
  migrate:
    image: {image}
    init: true
    depends_on: [db]
    command: ["sh", "/config/migrate.sh"]
    environment: {{RELEASE: "{version}"}}
    volumes: ["./config:/config:ro"]
  web:
    image: {image}
    init: true
    depends_on:
      migrate: {{condition: service_completed_successfully}}
    command: ["sh", "/config/web.sh"]
    environment: {{RELEASE: "{version}", LEGACY_COLUMNS: "{legacy}"}}
    ports: ["127.0.0.1:${{HTTP_PORT}}:8080"]
    volumes: ["./config:/config:ro"]
    healthcheck:
      test: ["CMD", "sh", "/config/health.sh"]
      interval: 1s
      timeout: 3s
      retries: 3
      start_period: 5s
volumes:
  pgdata: {{}}
"""


def postgres_release(rig: Rig, version: str, *, healthy: bool = True) -> tuple[list[str], dict[str, str]]:
    if version not in _PG_SQL:
        raise ValueError(f"the PostgreSQL stack has releases {sorted(_PG_SQL)}, not {version}")
    image = pg_image(rig)
    files = {
        "compose.yaml": postgres_compose(version, image),
        "config/pg_hba.conf": PG_HBA,
        "config/migrate.sh": _PG_MIGRATE,
        "config/migrate.sql": _PG_SQL[version],
        "config/web.sh": _PG_WEB,
        "config/health.sh": _PG_HEALTH if healthy else _BROKEN_HEALTH,
    }
    return [image], files


# -- packages ---------------------------------------------------------------------------------------


def stack_package(path: Path, version: str, images: list[str], files: dict[str, str]) -> dict[str, object]:
    """A release package of a stack (release.json, defaults.env and ``files``); its index entry."""
    return {"version": version, **write_package(path, {
        "release.json": json.dumps({"product": PRODUCT, "version": version, "images": sorted(images)}),
        "defaults.env": "HTTP_PORT=18080\n",
        **files,
    })}


def stack_release(rig: Rig, feed: Feed, kind: str, version: str, *, healthy: bool = True,
                  schema: str | None = None, rewrites: str = "") -> dict[str, object]:
    """Put release ``version`` of stack ``kind`` into ``feed`` (its images pushed); its entry."""
    if kind == "files":
        images, files = files_release(rig, version, healthy=healthy, schema=schema, rewrites=rewrites)
    elif kind == "postgres":
        if schema is not None or rewrites:
            raise ValueError("the PostgreSQL stack's migrations follow its version")
        images, files = postgres_release(rig, version, healthy=healthy)
    else:
        raise ValueError(f"no stack {kind!r}: one of {KINDS}")
    entry = stack_package(feed.folder / f"{PRODUCT}-{version}.tar.gz", version, images, files)
    return feed.add(entry)


def publish_stack(project: DockerProject, kind: str, version: str, *, healthy: bool = True,
                  schema: str | None = None, rewrites: str = "") -> dict[str, object]:
    """Put release ``version`` of stack ``kind`` (``files`` or ``postgres``) in ``project``'s feed
    (see the module's docstring for ``healthy``, ``schema`` and ``rewrites``)."""
    return stack_release(project.rig, project.feed, kind, version, healthy=healthy, schema=schema,
                         rewrites=rewrites)


def stack_volume(project: DockerProject, kind: str) -> str:
    """The Docker name of the stack's data volume in ``project``."""
    return f"{project.name}_{VOLUMES[kind]}"


# -- what the data is -------------------------------------------------------------------------------


def mountpoint(volume: str) -> Path:
    """The host folder of a local named volume (reading it needs root)."""
    found = subprocess.run(["docker", "volume", "inspect", "-f", "{{.Mountpoint}}", volume],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise LookupError(f"volume {volume}: {found.stderr.strip()}")
    return Path(found.stdout.strip())


Entry = tuple[str, int, int, int, int, str]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(folder: Path) -> dict[bytes, Entry]:
    """Every path below ``folder`` (and ``.`` for the folder itself), as bytes, → (type, mode,
    uid, gid, size, sha256 of the content or the link target). Folders have size 0 (what a
    folder's size is depends on the file system's history, not on its content)."""
    base = os.fsencode(folder)
    found: dict[bytes, Entry] = {}

    def entry(path: bytes) -> Entry:
        info = os.lstat(path)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            return ("l", mode, info.st_uid, info.st_gid, info.st_size,
                    hashlib.sha256(os.readlink(path)).hexdigest())
        if stat.S_ISDIR(info.st_mode):
            return ("d", mode, info.st_uid, info.st_gid, 0, "")
        if stat.S_ISREG(info.st_mode):
            return ("f", mode, info.st_uid, info.st_gid, info.st_size, _sha256(Path(os.fsdecode(path))))
        kind = {stat.S_IFIFO: "p", stat.S_IFSOCK: "s", stat.S_IFCHR: "c", stat.S_IFBLK: "b"}.get(
            stat.S_IFMT(info.st_mode), "?")
        return (kind, mode, info.st_uid, info.st_gid, 0, hex(info.st_rdev))

    found[b"."] = entry(base)
    for current, folders, files in os.walk(base):
        for name in sorted(folders) + sorted(files):
            path = os.path.join(current, name)
            found[os.path.relpath(path, base)] = entry(path)
    return found


def volume_digest(volume: str) -> dict[bytes, Entry]:
    """``tree_digest`` of a named volume, read directly at its mountpoint (as root)."""
    return tree_digest(mountpoint(volume))


def digest_difference(before: dict[bytes, Entry], after: dict[bytes, Entry], limit: int = 12) -> str:
    """What differs between two digests, for an assertion's message ('' when they are equal)."""
    lines = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            lines.append(f"  {path!r}: {before.get(path)} → {after.get(path)}")
    if not lines:
        return ""
    more = f"\n  … and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{len(lines)} path(s) differ:\n" + "\n".join(lines[:limit]) + more


def read_data(volume: str, path: str) -> str:
    """The text of ``path`` (relative) in a named volume, '' when it is not there."""
    target = mountpoint(volume) / path
    return target.read_text() if target.exists() else ""


def fill_volume(volume: str, count: int, size: int, folder: str = "blobs") -> int:
    """``count`` files of ``size`` random bytes in ``folder`` of the volume; the bytes written."""
    target = mountpoint(volume) / folder
    target.mkdir(exist_ok=True)
    for index in range(count):
        (target / f"blob-{index:04d}").write_bytes(os.urandom(size))
    return count * size


def seed_user_files(volume: str) -> None:
    """Operator data of every kind in the volume: nested folders (an empty one too), odd modes
    and owners (setuid too), a symlink (and a dangling one), a hard link, a sparse file, a name
    that is not UTF-8, an empty file."""
    root = mountpoint(volume)
    uploads = root / "uploads"
    (uploads / "2024" / "03").mkdir(parents=True, exist_ok=True)
    (uploads / "empty").mkdir(exist_ok=True)
    report = uploads / "2024" / "03" / "report.pdf"
    report.write_bytes(os.urandom(300_000))
    os.chown(report, 1000, 1000)
    report.chmod(0o640)
    secret = uploads / "secret.key"
    secret.write_bytes(os.urandom(64))
    secret.chmod(0o600)
    script = uploads / "hook.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o4755)
    os.chown(uploads / "2024", 33, 33)
    (uploads / "latest").symlink_to("2024/03/report.pdf")
    (uploads / "dangling").symlink_to("../nowhere")
    os.link(secret, uploads / "secret.key.bak")
    with open(uploads / "sparse.img", "wb") as sparse:
        sparse.seek(64 << 20)
        sparse.write(b"end")
    (uploads / "empty.txt").touch()
    with open(os.path.join(os.fsencode(uploads), b"caf\xe9-latin1.txt"), "wb") as odd:
        odd.write(b"not utf-8\n")


# -- the PostgreSQL stack's data --------------------------------------------------------------------


def _db_container(name: str) -> str:
    found = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={name}",
         "--filter", "label=com.docker.compose.service=db"], capture_output=True, text=True, check=True)
    ids = found.stdout.split()
    if len(ids) != 1:
        raise LookupError(f"project {name}: {len(ids)} running db containers")
    return ids[0]


def psql(project: DockerProject | str, sql: str) -> str:
    """``sql`` through psql in the running db container (unaligned, tuples only)."""
    name = project if isinstance(project, str) else project.name
    result = subprocess.run(["docker", "exec", "-u", "postgres", _db_container(name), f"{BIN}/psql", "-X",
                             "-tA", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", sql],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"psql {sql!r}: {result.stderr.strip()}")
    return result.stdout


def pg_dump(project: DockerProject | str) -> str:
    """The database's schema and data (``pg_dump`` in the running db container). The
    ``\\restrict`` lines pg_dump ≥ 15.14 writes with a random key each time are left out."""
    name = project if isinstance(project, str) else project.name
    result = subprocess.run(["docker", "exec", "-u", "postgres", _db_container(name), f"{BIN}/pg_dump",
                             "--no-password", "-d", "postgres"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"pg_dump of {name}: {result.stderr.strip()}")
    return "".join(line for line in result.stdout.splitlines(keepends=True)
                   if not line.startswith(("\\restrict ", "\\unrestrict ")))


def service_containers(project: DockerProject | str, service: str) -> list[dict[str, Any]]:
    """``docker inspect`` of every container of ``service`` in the project (one-offs too)."""
    name = project if isinstance(project, str) else project.name
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={name}",
         "--filter", f"label=com.docker.compose.service={service}"], capture_output=True, text=True, check=True)
    ids = found.stdout.split()
    if not ids:
        return []
    inspected = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True)
    return list(json.loads(inspected.stdout))
