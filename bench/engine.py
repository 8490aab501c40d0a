"""Throughput of the integration engine: outbox events → Dramatiq on Redis → a no-op connector,
side by side with raw Dramatiq throughput of no-op messages, in one run.

Run from the repository root::

    .venv/bin/python bench/integration.py [--events 5000] [--workers 1] [--threads 4] \
        [--redis-url redis://127.0.0.1:6379/5] \
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

What it does, in order:

1. Creates a fresh database ``hub_bench_int_<random>`` beside ``--database-url`` (which only
   serves to connect as an administrator), runs ``hub migrate`` against it, and writes a
   connector file routing ``bench.*`` events to one ``null`` notifier (``notify.bench``; the
   null notifier is never digested, so every event is one job and one connector call).
   Everything on Redis lives under a namespace of its own (``hub-bench-<random>``), deleted at
   the end.
2. **Raw Dramatiq**: starts ``--workers`` worker processes, each a Dramatiq worker on the same
   kind of broker as the hub's (``RedisBroker`` with the ``AsyncIO`` middleware, ``--threads``
   worker threads, Dramatiq's default middleware and prefetch) serving one *async* actor that
   does nothing but count. After ``--warmup`` messages have been processed, this process sends
   ``--events`` messages (``actor.send``, one at a time, as the hub's relay and dispatcher do)
   and measures from the first send to the last message processed (the workers report their
   count and the time of their last message through Redis).
3. **The hub's path**: stops those workers and starts ``--workers`` hub worker processes, each
   running exactly what ``hub worker`` runs (:class:`jobs.runtime.JobRuntime`, built by :func:`hub.bootstrap.build_runtime`, with its
   in-process Dramatiq worker: the outbox relay, the job dispatcher and the worker with
   ``--threads`` threads), only with the benchmark's Redis namespace. This is the production
   shape without an API process (whose relay and dispatcher would be idle). After
   ``--warmup`` events have gone all the way through, it inserts ``--events`` outbox rows
   (kind ``bench.ping``) in one statement, commits, and measures from the commit to the last
   job's ``finished_at`` (written by the engine when the job SUCCEEDED). On their way each
   event is relayed (a ``handle_events`` message per 50 events), handled (the ``log`` and
   ``integration`` handlers: claims, one ``notify`` job created per event), dispatched to the
   ``integration_notify`` actor and run (leased claim, the connector's ``send``, SUCCEEDED).
4. Checks that every event was handled and produced exactly one job, that every job SUCCEEDED
   after one attempt, and that the null notifiers were called exactly once per event (each
   worker logs its count when it stops), and that the workers logged no error.
5. Prints both rates, the ratio, CPU per phase (worker processes, PostgreSQL, Redis, this
   process, others) and the checks; writes ``bench/results/<ts>-integration.json``
   (git-ignored) and drops the database (``--keep-db`` keeps it). The exit status is 0 only if
   every check passed.

``--py-spy DIR`` records a py-spy profile (speedscope) of each hub worker during the measured
phase; py-spy pauses the process to sample, so the figures of such a run are not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT
from bench.checks import hub_checks
from bench.meters import PhaseMeter
from bench.report import git_info, integration_summary, log, machine_info, new_stamp, write_json
from bench.seed import create_database, db_url, drop_database, migrate
from bench.server import PySpy, Workers, server_env
from bench.workers import RAW_ACTOR, RAW_QUEUE

KIND = "bench.ping"
WARMUP_KIND = "bench.warmup"
ROLE = "notify.bench"
CONNECTORS_TOML = f"""\
# Written by bench/integration.py: every bench.* event → one null notifier.
[connectors.{ROLE}]
connector = "null"

[[notifications]]
events = ["bench.*"]
to = ["{ROLE}"]
"""


async def raw_phase(args: argparse.Namespace, client: Any, namespace: str,
                    env: dict[str, str], log_prefix: Path, database: str) -> dict[str, Any]:  # fmt: skip
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO

    broker = RedisBroker(url=args.redis_url, namespace=namespace)
    broker.add_middleware(AsyncIO())

    async def noop(_n: int) -> None:  # the sending side's declaration of the workers' actor
        return None

    actor = dramatiq.actor(noop, actor_name=RAW_ACTOR, queue_name=RAW_QUEUE, broker=broker)
    workers = Workers("raw", args.workers, args.threads, args.redis_url, namespace, env, log_prefix)
    progress_key = f"{namespace}:bench:progress"

    def progress() -> tuple[int, float]:
        rows = client.hgetall(progress_key).values()
        pairs = [v.decode().split() for v in rows]
        return sum(int(n) for n, _ in pairs), max((float(t) for _, t in pairs), default=0.0)

    async def until(count: int) -> float:
        seen, moved = -1, time.monotonic()
        while True:
            n, last = progress()
            if n >= count:
                return last
            if n != seen:
                seen, moved = n, time.monotonic()
            elif time.monotonic() - moved > args.stall:
                raise RuntimeError(
                    f"raw: {n} of {count} messages processed, no progress for {args.stall:.0f} s"
                )
            await asyncio.sleep(0.02)

    def send(first: int, count: int) -> float:
        t = time.time()
        for i in range(first, first + count):
            actor.send(i)
        return t

    try:
        await workers.wait_ready(client, namespace)
        if args.warmup:
            await asyncio.to_thread(send, 0, args.warmup)
            await until(args.warmup)
        meter = PhaseMeter(workers.pids, database)
        meter.start()
        t0 = await asyncio.to_thread(send, args.warmup, args.events)
        sent = time.time()
        last = await until(args.warmup + args.events)
        cpu = meter.stop()
    finally:
        codes = workers.stop()
        broker.close()
    elapsed = last - t0
    return {
        "messages": args.events,
        "seconds": round(elapsed, 3),
        "per_s": round(args.events / elapsed, 1),
        "send_seconds": round(sent - t0, 3),
        "cpu": cpu,
        "exit_codes": codes,
        "problems": workers.problems(),
        "logs": [str(p.relative_to(ROOT)) for p in workers.logs],
    }


_INSERT_EVENTS = """
INSERT INTO outbox (kind, aggregate, aggregate_id, payload, created_at, attempts)
SELECT $1::varchar, 'bench', g, json_build_object('n', g), now(), 0
FROM generate_series(1, $2::int) g
RETURNING id"""
_PROGRESS = """
SELECT count(*) FILTER (WHERE status = 'SUCCEEDED'), count(*) FILTER (WHERE status = 'FAILED'),
       count(*), max(finished_at)
FROM integration_jobs WHERE event_id BETWEEN $1 AND $2"""


async def hub_phase(args: argparse.Namespace, client: Any, namespace: str,
                    env: dict[str, str], log_prefix: Path, database: str, url: str,
                    stamp: str) -> dict[str, Any]:  # fmt: skip
    import asyncpg

    conn = await asyncpg.connect(url)
    workers = Workers("hub", args.workers, args.threads, args.redis_url, namespace, env, log_prefix)

    async def insert(kind: str, count: int) -> tuple[int, int, float]:
        async with conn.transaction():
            ids = [r[0] for r in await conn.fetch(_INSERT_EVENTS, kind, count)]
        return min(ids), max(ids), time.time()  # committed

    async def until(lo: int, hi: int, count: int, label: str) -> datetime:
        seen, moved, said = -1, time.monotonic(), time.monotonic()
        while True:
            ok, failed, total, last = await conn.fetchrow(_PROGRESS, lo, hi)
            if failed:
                raise RuntimeError(f"{label}: {failed} job(s) FAILED; see the worker logs")
            if ok >= count:
                return last  # type: ignore[no-any-return]
            if ok != seen:
                seen, moved = ok, time.monotonic()
            elif time.monotonic() - moved > args.stall:
                raise RuntimeError(
                    f"{label}: {ok} of {count} jobs SUCCEEDED ({total} created), no progress for {args.stall:.0f} s"
                )
            if time.monotonic() - said > 5:
                log(f"{label}: {ok:,} of {count:,} jobs succeeded")
                said = time.monotonic()
            await asyncio.sleep(0.1)

    spy: PySpy | None = None
    try:
        await workers.wait_ready(client, namespace)
        if args.warmup:
            lo, hi, _ = await insert(WARMUP_KIND, args.warmup)
            await until(lo, hi, args.warmup, "warm-up")
        await asyncio.sleep(0.5)  # let the warm-up's last acks and polls settle
        meter = PhaseMeter(workers.pids, database)
        spy = PySpy(args.py_spy, workers.pids, stamp)
        meter.start()
        lo, hi, t0 = await insert(KIND, args.events)
        last = await until(lo, hi, args.events, "hub")
        cpu = meter.stop()
        counters = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1", database
        )
    finally:
        if spy is not None:
            spy.stop()
        codes = workers.stop()
    try:
        checks = await hub_checks(conn, args.events + args.warmup, ROLE, workers)
    finally:
        await conn.close()
    elapsed = last.timestamp() - t0
    return {
        "events": args.events,
        "seconds": round(elapsed, 3),
        "per_s": round(args.events / elapsed, 1),
        "cpu": cpu,
        "pg_commits_total": int(counters[0]),
        "pg_rollbacks_total": int(counters[1]),
        "exit_codes": codes,
        "checks": checks,
        "problems": workers.problems(),
        "logs": [str(p.relative_to(ROOT)) for p in workers.logs],
    }


async def main_async(args: argparse.Namespace) -> int:
    import redis

    stamp = new_stamp()
    log_prefix = RESULTS / stamp
    name = f"hub_bench_int_{secrets.token_hex(4)}"
    url = db_url(args.database_url, name)
    namespace = f"hub-bench-{secrets.token_hex(4)}"
    client = redis.Redis.from_url(args.redis_url)
    client.ping()
    report: dict[str, Any] = {
        "started_at": stamp,
        "git": git_info(),
        "machine": machine_info(),
        "parameters": {
            "events": args.events,
            "warmup": args.warmup,
            "workers": args.workers,
            "threads": args.threads,
            "redis_url": args.redis_url,
            "namespace": namespace,
            "database": name,
            "py_spy": str(args.py_spy) if args.py_spy else None,
        },
    }
    exit_code = 0
    created = False
    tmp = tempfile.TemporaryDirectory(prefix="hub-bench-int-")
    try:
        await create_database(args.database_url, name)
        created = True
        secret = secrets.token_urlsafe(48)
        env = server_env(url, secret, args.redis_url)
        await migrate(env, limit_s=300)
        connectors = Path(tmp.name) / "hub.toml"
        connectors.write_text(CONNECTORS_TOML, encoding="utf-8")
        env["HUB_CONNECTORS_FILE"] = str(connectors)

        log(
            f"raw Dramatiq: {args.workers} worker(s) x {args.threads} threads, {args.events:,} no-op messages"
        )
        raw = await raw_phase(args, client, namespace, env, log_prefix, name)
        report["raw"] = raw
        log(f"raw Dramatiq: {raw['per_s']:,.0f} msgs/s ({raw['seconds']:.2f} s)")
        client.delete(f"{namespace}:bench:ready")

        log(f"hub path: {args.workers} hub worker(s) x {args.threads} threads, {args.events:,} outbox events")
        hub = await hub_phase(args, client, namespace, env, log_prefix, name, url, stamp)
        report["hub"] = hub
        log(f"hub path: {hub['per_s']:,.0f} events/s ({hub['seconds']:.2f} s)")
        report["ratio"] = round(hub["per_s"] / raw["per_s"], 3)
        clean = all(
            p["error_lines"] == 0 and p["tracebacks"] == 0 for p in (raw["problems"], hub["problems"])
        ) and all(c == 0 for c in raw["exit_codes"] + hub["exit_codes"])
        report["passed"] = hub["checks"]["passed"] and clean
        if not report["passed"]:
            exit_code = 1
    except Exception as e:  # noqa: BLE001 - reported, and the exit status says so
        log(f"FAILED: {type(e).__name__}: {e}")
        report["error"] = f"{type(e).__name__}: {e}"
        exit_code = 2
    finally:
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)
        client.close()
        tmp.cleanup()
        if created:
            await drop_database(args.database_url, name, url, args.keep_db)
    out_path = RESULTS / f"{stamp}-integration.json"
    write_json(out_path, report)
    print(integration_summary(report))
    print(f"\nwritten: {out_path.relative_to(ROOT)}")
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--events", type=int, default=5000, help="measured events, and raw messages (default 5000)"
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="warm-up events/messages before each phase (default 200)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes in each phase (default 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="Dramatiq worker threads per process (default 4, as hub worker)",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/5", help="Redis (default redis://127.0.0.1:6379/5);"
        " the benchmark uses a namespace of its own and deletes its keys afterwards",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin connection; the benchmark database is created beside it and dropped after",
    )  # fmt: skip
    parser.add_argument(
        "--stall", type=float, default=60.0, help="give up after S seconds without progress (default 60)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--py-spy", type=Path, default=None, metavar="DIR", help="profile the hub workers into DIR"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.warmup < 0 or args.workers < 1 or args.threads < 1:
        parser.error("--events, --workers and --threads must be >= 1, --warmup >= 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
