"""A rollback puts a real database back (DESIGN §9): Debian's PostgreSQL 15 (tests/rig/postgres.py)
in the stack of tests/rig/stacks.py. Release 1.1.0's migration creates ``items`` with a column
``legacy`` and fills it; a broken 1.2.0 drops that column, then its web never gets healthy. The
1.1.0 migration cannot run on 1.2.0's schema (``UPDATE … SET legacy``), so only a rollback that
restores the database lets the release before start again, on exactly the rows it had.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, datetime

from tests.rig.stacks import pg_dump, psql, publish_stack, service_containers

from .conftest import DockerProject
from .snapshot_fixtures import (  # noqa: F401 - the fixtures
    install_stack,
    outcome,
    pg_fixture,
    run_status,
    stack_images_fixture,
    stack_project_fixture,
)

SEEDED = "1|anvil|x\n2|bucket|x\n3|crowbar|x\n"


def docker_time(text: str) -> datetime:
    """Docker's RFC 3339 time with nanoseconds (which Python does not parse)."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))


def dump_difference(before: str, after: str) -> str:
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm=""))
    return "\n".join(lines[:60])


def install_with_user_rows(project: DockerProject) -> str:
    """Install 1.1.0, add the users' rows; the database's dump."""
    install_stack(project, "postgres", "1.1.0")
    assert psql(project, "SELECT id, name, legacy FROM items WHERE id < 100 ORDER BY id") == SEEDED
    psql(project, "INSERT INTO items (id, name, legacy) "
                  "SELECT n, 'written by a user ' || n, 'u' FROM generate_series(100, 1099) AS n")
    dump = pg_dump(project)
    assert "legacy" in dump and "crowbar" in dump and "written by a user 1099" in dump
    return dump


def test_a_broken_release_that_dropped_a_column_is_rolled_back_with_every_row(stack_project: DockerProject,
                                                                              pg: str):
    project = stack_project
    before = install_with_user_rows(project)
    publish_stack(project, "postgres", "1.2.0", healthy=False)
    began = datetime.now(UTC)

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 1, outcome(result)
    run = run_status(project)
    assert run["status"] == "rolled_back", run
    assert "step health failed" in run["error"] and "service web" in run["error"], run["error"]
    assert project.answer() == "1.1.0"
    status = project.status()
    assert status["installed"] == "1.1.0"
    assert status["snapshot"] == run["id"], status
    after = pg_dump(project)
    assert after == before, "the database differs after the rollback:\n" + dump_difference(before, after)
    assert psql(project, "SELECT count(*) FROM items") == "1003\n"
    migrations = service_containers(project, "migrate")
    assert len(migrations) == 1, [container["Name"] for container in migrations]
    migrate = migrations[0]
    assert "RELEASE=1.1.0" in migrate["Config"]["Env"], migrate["Config"]["Env"]
    assert docker_time(migrate["Created"]) > began, "the migrate container is not the one of the restart"
    state = migrate["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0), state


def test_without_a_snapshot_the_release_before_cannot_migrate_the_new_schema(stack_project: DockerProject,
                                                                             pg: str):
    """The control: with ``snapshot: {enabled: false}`` the same rollback fails (exit 3), because
    1.1.0's migration fails on the schema 1.2.0 left; what the test above proves is the snapshot's."""
    project = stack_project
    install_with_user_rows(project)
    publish_stack(project, "postgres", "1.2.0", healthy=False)
    project.configure(snapshot={"enabled": False})

    result = project.upgrader("run", "--to", "1.2.0")

    assert result.returncode == 3, outcome(result)
    assert run_status(project)["status"] == "failed"
    assert 'column "legacy" does not exist' in result.stdout + result.stderr, outcome(result)
