"""The worker processes of the integration benchmark, each started by
:class:`bench.server.Workers` as ``python -m bench.workers --worker-mode raw|hub ...``.

This module imports only the standard library at the top, as ``bench/integration.py`` did
when it was started again with ``--worker-mode``: the raw Dramatiq worker carries nothing
but Dramatiq and Redis (no SQLAlchemy, no hub models), so its baseline is the same."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
import time

RAW_QUEUE = "bench"
RAW_ACTOR = "bench_noop"


def _worker_logging(level: str) -> None:
    # As `hub worker` configures it (hub/cli.py).
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _mark_ready(redis_url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.hset(f"{namespace}:bench:ready", str(os.getpid()), "1")
    client.close()


def run_raw_worker(redis_url: str, namespace: str, threads: int) -> int:
    """A Dramatiq worker like the hub's (jobs/broker.py, jobs/runtime.py) with one no-op async
    actor. It reports how many messages it processed, and when the last one ran, to Redis."""
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO

    _worker_logging("INFO")
    broker = RedisBroker(url=redis_url, namespace=namespace)
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    done = {"n": 0, "last": 0.0}

    async def noop(_n: int) -> None:  # async actors all run on the one AsyncIO loop thread
        done["n"] += 1
        done["last"] = time.time()

    dramatiq.actor(noop, actor_name=RAW_ACTOR, queue_name=RAW_QUEUE, broker=broker)
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    client = redis.Redis.from_url(redis_url)
    key = f"{namespace}:bench:progress"
    client.hset(f"{namespace}:bench:ready", str(os.getpid()), "1")
    reported = -1
    while not stop.wait(0.01):
        n, last = done["n"], done["last"]
        if n != reported:
            client.hset(key, str(os.getpid()), f"{n} {last}")
            reported = n
    worker.stop()
    client.close()
    broker.close()
    return 0


def run_hub_worker(namespace: str, threads: int) -> int:
    """What ``hub worker`` runs (jobs/worker.py: run_worker), with the benchmark's namespace."""
    from hub.bootstrap import build_runtime
    from hub.db import Database
    from hub.settings import Settings

    settings = Settings.from_env()
    _worker_logging(settings.log_level)
    assert settings.redis_url is not None

    async def main() -> None:
        db = Database(settings)
        runtime = build_runtime(settings).job_runtime(
            db, in_process_worker=True, worker_threads=threads, namespace=namespace
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        await asyncio.to_thread(_mark_ready, settings.redis_url or "", namespace)
        try:
            await stop.wait()
        finally:
            await runtime.stop()
            await db.dispose()

    asyncio.run(main())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--worker-mode", choices=("raw", "hub"), required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args(argv)
    if args.worker_mode == "raw":
        return run_raw_worker(args.redis_url, args.namespace, args.threads)
    return run_hub_worker(args.namespace, args.threads)


if __name__ == "__main__":
    sys.exit(main())
