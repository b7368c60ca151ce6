"""``python -m benchmarks.fetch URL DEST SIZE SHA256 [--retries N]``: upgrader's download
(``upgrader.feed.Feed.download``, the code behind the ``download`` action) in a process of its own,
so that the benchmark can time it, kill it halfway, and start it again to resume.

Prints one JSON line: the seconds ``download`` took (imports and interpreter start excluded) and
how many tries it needed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("dest", type=Path)
    parser.add_argument("size", type=int)
    parser.add_argument("sha256")
    parser.add_argument("--retries", type=int, default=0,
                        help="call download again after a retryable failure (as a step's retry does)")
    arguments = parser.parse_args()
    from upgrader.feed import Feed, FeedError

    feed = Feed(arguments.url.rsplit("/", 1)[0] + "/")
    started = time.perf_counter()
    tries = 0
    while True:
        tries += 1
        try:
            feed.download(arguments.url, arguments.dest, size=arguments.size, sha256=arguments.sha256)
            break
        except FeedError as error:
            if not error.retryable or tries > arguments.retries:
                raise
    print(json.dumps({"seconds": time.perf_counter() - started, "tries": tries}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
