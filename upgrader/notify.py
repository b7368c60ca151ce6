"""Notifications when a run ends (project.yaml ``notify:``): a webhook, Apprise URLs, a command.

The message is one JSON object (documented in docs/notifications.md)::

    {"event": "upgrader.run", "project": "spacetech", "host": "srv1", "run_id": "…",
     "outcome": "completed" | "rolled_back" | "failed" | "paused",
     "from": "1.0.0", "to": "1.1.0", "error": null, "started_at": "…", "finished_at": "…",
     "downtime_seconds": 4.2, "upgrader": "0.1.0"}

``when``: ``always`` (every run that did something), ``change`` (a release was installed or
rolled back: the default), ``failure`` (rolled back, failed or paused). Sending is retried
briefly and never blocks or fails the upgrade: a notification that cannot be delivered is
logged and dropped.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping
from typing import Any

from upgrader import __version__

logger = logging.getLogger(__name__)

FAILURES = frozenset({"rolled_back", "failed", "paused"})
CHANGES = frozenset({"completed", "rolled_back"})
WEBHOOK_TIMEOUT = 10
WEBHOOK_ATTEMPTS = 3


def message(run: Mapping[str, Any], downtime: float | None) -> dict[str, Any]:
    """The JSON summary of a finished (or paused) run."""
    return {
        "event": "upgrader.run",
        "project": run["project"],
        "host": socket.gethostname(),
        "run_id": run["run_id"],
        "outcome": run["status"],
        "from": run["from_version"],
        "to": run["to_version"],
        "error": run.get("error"),
        "started_at": run["started_at"],
        "finished_at": run.get("finished_at"),
        "downtime_seconds": downtime,
        "upgrader": __version__,
    }


def wanted(when: str, outcome: str) -> bool:
    if when == "always":
        return True
    if when == "failure":
        return outcome in FAILURES
    return outcome in CHANGES or outcome in FAILURES


def send(settings: Mapping[str, Any] | None, summary: dict[str, Any]) -> list[str]:
    """Deliver ``summary`` as ``settings`` (project.yaml ``notify``) say; the failures, as text.

    Never raises: a notification is not worth failing an upgrade for.
    """
    if not settings or not wanted(settings.get("when", "change"), summary["outcome"]):
        return []
    problems = []
    for channel, deliver in (("webhook", _webhook), ("apprise", _apprise), ("command", _command)):
        target = settings.get(channel)
        if not target:
            continue
        try:
            deliver(target, summary)
        except Exception as error:
            problems.append(f"notify {channel}: {error}")
            logger.warning("notify %s failed: %s", channel, error)
    return problems


def _webhook(url: str, summary: dict[str, Any]) -> None:
    import requests
    import tenacity

    def post() -> None:
        response = requests.post(url, json=summary, timeout=WEBHOOK_TIMEOUT,
                                 headers={"User-Agent": f"upgrader/{__version__}"})
        if response.status_code >= 500 or response.status_code == 429:
            raise ConnectionError(f"{url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ValueError(f"{url}: HTTP {response.status_code} (not retried)")

    tenacity.Retrying(
        stop=tenacity.stop_after_attempt(WEBHOOK_ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=0.5, max=4),
        retry=tenacity.retry_if_exception_type((ConnectionError, requests.RequestException)),
        reraise=True,
    )(post)


def _apprise(urls: list[str], summary: dict[str, Any]) -> None:
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise ValueError(f"Apprise does not understand the URL {url.split(':', 1)[0]}://…")
    versions = f"{summary['from'] or '(nothing)'} → {summary['to']}" if summary["to"] else "workflow run"
    title = f"upgrader {summary['project']}: {summary['outcome'].replace('_', ' ')}"
    body = f"{versions} on {summary['host']}" + (f"\n{summary['error']}" if summary["error"] else "")
    if not sender.notify(title=title, body=body):
        raise ConnectionError("Apprise could not deliver to every URL")


def _command(argv: list[str], summary: dict[str, Any]) -> None:
    """Run ``argv`` with the summary in ``UPGRADER_NOTIFICATION``; like every child process it
    inherits no ``UPGRADER_FEED_TOKEN*`` (``process.run``)."""
    from upgrader.runtime import process

    result = process.run(argv, cwd="/", env={"UPGRADER_NOTIFICATION": json.dumps(summary)}, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with status {result.returncode}")
