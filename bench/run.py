#!/usr/bin/env python3
"""Throughput and latency benchmark of the ordering hub's GraphQL API on PostgreSQL.

The command line of :mod:`bench.api` (what it does is described there and in ``--help``)::

    .venv/bin/python bench/run.py --duration 10 --seed 7
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ itself first on sys.path, where the package's modules
# (client, server, report, ...) would shadow top-level modules of those names: the repository
# root goes there instead, so that ``bench`` is imported as the package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench.api import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
