"""upgrader's benchmark suite (issues 7 and 14): downtime (against the floor, the in-place recreate
by hand and the vendor's order), downtime with a data snapshot of 1 GiB, downtime of a realistic
stack (PostgreSQL, a migration job, web, worker), the cost of a cron run with nothing to do,
download, pull and engine overhead, measured on the real rig and written to docs/performance.md.

Run it with ``make bench`` (everything, about 20 minutes) or ``python -m benchmarks --quick``. The
suite uses its own registry port (``UPGRADER_RIG_REGISTRY``, default 127.0.0.1:5001 here, so that
it never touches the test suite's registry on :5000), its own Compose project names (``bench-*``)
and free HTTP ports, and removes its containers, volumes and images when it ends.
"""

import os
import sys

# --snapshot: the code measured is a `git archive` of HEAD, not the working tree (which other
# sessions may be editing). First on the path here, and through PYTHONPATH in every `upgrader`.
if os.environ.get("UPGRADER_BENCH_CODE"):
    sys.path.insert(0, os.environ["UPGRADER_BENCH_CODE"])

# Before tests.rig is imported anywhere: it reads the registry address once.
os.environ.setdefault("UPGRADER_RIG_REGISTRY", "127.0.0.1:5001")
os.environ.setdefault("DOCKER_CLI_HINTS", "false")
