#!/usr/bin/env python3
"""Throughput of the integration engine: outbox events → Dramatiq on Redis → a no-op connector,
side by side with raw Dramatiq throughput of no-op messages, in one run.

The command line of :mod:`bench.engine` (what it does is described there and in ``--help``)::

    .venv/bin/python bench/integration.py --events 5000
"""

from __future__ import annotations

import sys
from pathlib import Path

# As in bench/run.py: the repository root, not bench/, first on sys.path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench.engine import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
