"""The ordering hub's benchmarks, as a package: ``bench/run.py`` (the GraphQL API) and
``bench/integration.py`` (the integration engine) are thin entry points over these modules.

- :mod:`bench.client`: the minimal keep-alive HTTP/1.1 load-generator client.
- :mod:`bench.seed`: benchmark databases (create, migrate, drop) and the API's data set.
- :mod:`bench.server`: the processes under test (``hub serve``, worker processes, py-spy).
- :mod:`bench.meters`: CPU accounting from /proc and PostgreSQL's counters.
- :mod:`bench.scenarios`: the API scenarios and the closed-loop phase runner.
- :mod:`bench.checks`: the oversell, outbox and integration-job checks.
- :mod:`bench.report`: log lines, Markdown tables, the JSON results.
- :mod:`bench.api`, :mod:`bench.engine`: the two benchmarks' command lines and runs.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
