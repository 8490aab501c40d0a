#!/usr/bin/env python3
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
   running exactly what ``hub worker`` runs (:class:`jobs.runtime.JobRuntime` with its
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
import importlib.util
import json
import logging
import os
import platform
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
RAW_QUEUE = "bench"
RAW_ACTOR = "bench_noop"
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
NULL_LINE = re.compile(r"null notifier: (\d+) message\(s\) dropped")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Worker processes (this script, started again with --worker-mode)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def _load_run() -> ModuleType:
    """bench/run.py, for its database and CPU helpers."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def _redis_cpu() -> float:
    """CPU seconds of every redis-server process on this machine."""
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/comm") as f:
                if f.read().strip() != "redis-server":
                    continue
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


class PhaseMeter:
    """CPU used during a phase by the worker processes, PostgreSQL (the benchmark database's
    backends and the background processes, as bench/run.py counts them), Redis, this process
    (sending, polling) and everything else on the machine."""

    def __init__(self, run: ModuleType, pids: list[int], database: str) -> None:
        self.run = run
        self.pids = pids
        self.marker = f" {database} ".encode()

    def start(self) -> None:
        self._w0 = {p: self.run._proc_cpu(p) for p in self.pids}
        self._pg0, self._reaped0 = self.run._postgres_processes(self.marker)
        self._redis0 = _redis_cpu()
        self._self0 = _self_cpu()
        self._busy0, self._total0 = self.run._machine_cpu()
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall0
        workers = sum(self.run._proc_cpu(p) - self._w0[p] for p in self.pids)
        pg1, reaped1 = self.run._postgres_processes(self.marker)
        live = sum(cpu - self._pg0.get(pid, 0.0) for pid, cpu in pg1.items())
        exited = (reaped1 - self._reaped0) - sum(c for pid, c in self._pg0.items() if pid not in pg1)
        postgres = live + max(0.0, exited)
        redis_cpu = _redis_cpu() - self._redis0
        me = _self_cpu() - self._self0
        busy1, total1 = self.run._machine_cpu()
        busy, span = busy1 - self._busy0, total1 - self._total0
        other = max(0.0, busy - workers - postgres - redis_cpu - me)

        def pct(x: float) -> float:
            return round(100 * x / wall, 1) if wall > 0 else 0.0

        return {
            "wall_s": round(wall, 3),
            "workers_cpu_s": round(workers, 3),
            "workers_pct_of_core": pct(workers),
            "postgres_cpu_s": round(postgres, 3),
            "postgres_pct_of_core": pct(postgres),
            "redis_cpu_s": round(redis_cpu, 3),
            "redis_pct_of_core": pct(redis_cpu),
            "bench_cpu_s": round(me, 3),
            "bench_pct_of_core": pct(me),
            "other_cpu_s": round(other, 3),
            "other_pct_of_core": pct(other),
            "machine_busy_pct": round(100 * busy / span, 1) if span > 0 else 0.0,
        }


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Workers:
    """``count`` worker processes of one mode, each logging to its own file."""

    def __init__(self, mode: str, count: int, args: argparse.Namespace, namespace: str,
                 env: dict[str, str], log_prefix: Path) -> None:  # fmt: skip
        self.logs = [log_prefix.with_name(f"{log_prefix.name}-{mode}-worker{k}.log") for k in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for path in self.logs:
            with open(path, "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, str(Path(__file__).resolve()), "--worker-mode", mode,
                         "--namespace", namespace, "--threads", str(args.threads),
                         "--redis-url", args.redis_url],
                        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def wait_ready(self, client: Any, namespace: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        want = {str(p) for p in self.pids}
        while time.monotonic() < deadline:
            for proc, path in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {proc.returncode}; see {path}")
            ready = {k.decode() for k in client.hkeys(f"{namespace}:bench:ready")}
            if want <= ready:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"workers not ready within {within:.0f} s; see {self.logs}")

    def stop(self) -> list[int | None]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=60))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                codes.append(None)
        return codes

    def problems(self) -> dict[str, Any]:
        text_ = "\n".join(p.read_text(errors="replace") for p in self.logs)
        lines = text_.splitlines()
        errors = [x for x in lines if " ERROR " in x or " CRITICAL " in x]
        return {
            "error_lines": len(errors),
            "warning_lines": sum(" WARNING " in x for x in lines),
            "tracebacks": text_.count("Traceback (most recent call last)"),
            "first_errors": errors[:5],
        }

    def null_calls(self) -> list[int | None]:
        """Per worker, the connector calls its null notifier logged when it stopped (None: no
        line; a worker that never built the notifier logs nothing)."""
        out: list[int | None] = []
        for path in self.logs:
            found = NULL_LINE.findall(path.read_text(errors="replace"))
            out.append(sum(int(x) for x in found) if found else None)
        return out


class PySpy:
    def __init__(self, out_dir: Path | None, pids: list[int], stamp: str) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        if out_dir is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for k, pid in enumerate(pids):
            target = out_dir / f"{stamp}-hub-worker{k}.speedscope.json"
            self.procs.append(
                subprocess.Popen(
                    [str(spy), "record", "--pid", str(pid), "--rate", "200", "--format", "speedscope",
                     "--threads", "--output", str(target)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
            )  # fmt: skip
            log(f"py-spy recording worker {pid} into {target}")

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


async def raw_phase(args: argparse.Namespace, run: ModuleType, client: Any, namespace: str,
                    env: dict[str, str], log_prefix: Path, database: str) -> dict[str, Any]:  # fmt: skip
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO

    broker = RedisBroker(url=args.redis_url, namespace=namespace)
    broker.add_middleware(AsyncIO())

    async def noop(_n: int) -> None:  # the sending side's declaration of the workers' actor
        return None

    actor = dramatiq.actor(noop, actor_name=RAW_ACTOR, queue_name=RAW_QUEUE, broker=broker)
    workers = Workers("raw", args.workers, args, namespace, env, log_prefix)
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
        meter = PhaseMeter(run, workers.pids, database)
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


async def hub_phase(args: argparse.Namespace, run: ModuleType, client: Any, namespace: str,
                    env: dict[str, str], log_prefix: Path, database: str, url: str,
                    stamp: str) -> dict[str, Any]:  # fmt: skip
    import asyncpg

    conn = await asyncpg.connect(url)
    workers = Workers("hub", args.workers, args, namespace, env, log_prefix)

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
        meter = PhaseMeter(run, workers.pids, database)
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
        checks = await hub_checks(conn, args.events + args.warmup, workers)
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


async def hub_checks(conn: Any, expected: int, workers: Workers) -> dict[str, Any]:
    """Every bench event handled and turned into exactly one job, every job SUCCEEDED after one
    attempt, one connector call per event."""
    events = await conn.fetchrow(
        """SELECT count(*), count(*) FILTER (WHERE handled_at IS NOT NULL),
                  count(*) FILTER (WHERE published_at IS NOT NULL)
           FROM outbox WHERE kind LIKE 'bench.%'"""
    )
    jobs = await conn.fetchrow(
        """SELECT count(*), count(DISTINCT j.event_id),
                  count(*) FILTER (WHERE j.status = 'SUCCEEDED'),
                  count(*) FILTER (WHERE j.attempts = 1),
                  count(*) FILTER (WHERE o.id IS NULL OR o.kind NOT LIKE 'bench.%'),
                  count(*) FILTER (WHERE j.role <> $1 OR j.operation <> 'notify')
           FROM integration_jobs j LEFT JOIN outbox o ON o.id = j.event_id""",
        ROLE,
    )
    without_job = await conn.fetchval(
        """SELECT count(*) FROM outbox o
           WHERE o.kind LIKE 'bench.%'
             AND NOT EXISTS (SELECT 1 FROM integration_jobs j WHERE j.event_id = o.id)"""
    )
    claims = await conn.fetchval(
        """SELECT count(*) FROM processed_events p JOIN outbox o ON o.id = p.event_id
           WHERE o.kind LIKE 'bench.%' AND p.handler = 'integration'"""
    )
    calls = workers.null_calls()
    total_calls = sum(c or 0 for c in calls)
    result = {
        "events": events[0],
        "events_handled": events[1],
        "events_published": events[2],
        "integration_claims": claims,
        "jobs": jobs[0],
        "events_with_a_job": jobs[1],
        "events_without_a_job": without_job,
        "jobs_succeeded": jobs[2],
        "jobs_with_one_attempt": jobs[3],
        "jobs_of_other_events": jobs[4],
        "jobs_of_other_kinds": jobs[5],
        "connector_calls_per_worker": calls,
        "connector_calls": total_calls,
    }
    result["passed"] = (
        events[0] == expected
        and events[1] == expected
        and claims == expected
        and jobs[0] == expected
        and jobs[1] == expected
        and without_job == 0
        and jobs[2] == expected
        and jobs[3] == expected
        and jobs[4] == 0
        and jobs[5] == 0
        and total_calls == expected
    )
    return result


async def main_async(args: argparse.Namespace) -> int:
    import redis

    run = _load_run()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_prefix = RESULTS / stamp
    name = f"hub_bench_int_{secrets.token_hex(4)}"
    url = run.db_url(args.database_url, name)
    namespace = f"hub-bench-{secrets.token_hex(4)}"
    client = redis.Redis.from_url(args.redis_url)
    client.ping()
    report: dict[str, Any] = {
        "started_at": stamp,
        "git": run.git_info(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg(),
        },
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
        log(f"creating database {name}")
        await run.admin_execute(args.database_url, f'CREATE DATABASE "{name}"')
        created = True
        secret = secrets.token_urlsafe(48)
        env = run.server_env(url, secret, args.redis_url)
        proc = await asyncio.to_thread(
            subprocess.run,
            [run.hub_binary(), "migrate"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"hub migrate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        connectors = Path(tmp.name) / "hub.toml"
        connectors.write_text(CONNECTORS_TOML, encoding="utf-8")
        env["HUB_CONNECTORS_FILE"] = str(connectors)

        log(
            f"raw Dramatiq: {args.workers} worker(s) x {args.threads} threads, {args.events:,} no-op messages"
        )
        raw = await raw_phase(args, run, client, namespace, env, log_prefix, name)
        report["raw"] = raw
        log(f"raw Dramatiq: {raw['per_s']:,.0f} msgs/s ({raw['seconds']:.2f} s)")
        client.delete(f"{namespace}:bench:ready")

        log(f"hub path: {args.workers} hub worker(s) x {args.threads} threads, {args.events:,} outbox events")
        hub = await hub_phase(args, run, client, namespace, env, log_prefix, name, url, stamp)
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
        if created and not args.keep_db:
            try:
                await run.admin_execute(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                log(f"could not drop {name}: {e}")
        elif created:
            log(f"kept database {name}")
    out_path = RESULTS / f"{stamp}-integration.json"
    out_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(summary(report))
    print(f"\nwritten: {out_path.relative_to(ROOT)}")
    return exit_code


def summary(report: dict[str, Any]) -> str:
    p = report["parameters"]
    git = report["git"]
    out = [
        f"Integration benchmark, {report['started_at']}, commit {git['commit'][:10]}"
        f"{' (dirty)' if git['dirty'] else ''}; {p['events']:,} events/messages after {p['warmup']:,} warm-up,"
        f" {p['workers']} worker process(es) x {p['threads']} threads"
        + (" — PROFILED with py-spy, figures not comparable" if p["py_spy"] else ""),
        "",
    ]
    if "raw" in report and "hub" in report:
        raw, hub = report["raw"], report["hub"]
        out += [
            "| path | count | seconds | per second |",
            "|---|---:|---:|---:|",
            f"| raw Dramatiq, no-op async actor (first send → last processed) | {raw['messages']:,}"
            f" | {raw['seconds']:.2f} | {raw['per_s']:,.0f} msgs/s |",
            f"| hub: outbox → relay → handle_events → job → dispatcher → null notifier (commit → last SUCCEEDED)"
            f" | {hub['events']:,} | {hub['seconds']:.2f} | {hub['per_s']:,.0f} events/s |",
            "",
            f"**ratio hub / raw: {100 * report['ratio']:.1f} %** (target ≥ 50 %)",
            "",
            "| phase | workers CPU | PostgreSQL | Redis | this process | other | machine busy |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for label, phase in (("raw", raw), ("hub", hub)):
            c = phase["cpu"]
            out.append(
                f"| {label} | {c['workers_pct_of_core']:.0f} % | {c['postgres_pct_of_core']:.0f} %"
                f" | {c['redis_pct_of_core']:.0f} % | {c['bench_pct_of_core']:.0f} % | {c['other_pct_of_core']:.0f} %"
                f" | {c['machine_busy_pct']:.0f} % of {report['machine']['cpus']} cores |"
            )
        n = hub["events"]
        out += [
            "",
            f"CPU per event on the hub path: workers {1e6 * hub['cpu']['workers_cpu_s'] / n:,.0f} µs,"
            f" PostgreSQL {1e6 * hub['cpu']['postgres_cpu_s'] / n:,.0f} µs, Redis {1e6 * hub['cpu']['redis_cpu_s'] / n:,.0f} µs;"
            f" raw per message: workers {1e6 * raw['cpu']['workers_cpu_s'] / raw['messages']:,.0f} µs,"
            f" Redis {1e6 * raw['cpu']['redis_cpu_s'] / raw['messages']:,.0f} µs",
        ]
        ch = hub["checks"]
        out += [
            "",
            f"check: {'PASSED' if ch['passed'] else 'FAILED'} — {ch['events']:,} events ({ch['events_handled']:,} handled),"
            f" {ch['jobs']:,} jobs for {ch['events_with_a_job']:,} events ({ch['events_without_a_job']} without one),"
            f" {ch['jobs_succeeded']:,} SUCCEEDED, {ch['jobs_with_one_attempt']:,} after one attempt,"
            f" {ch['connector_calls']:,} connector calls {ch['connector_calls_per_worker']}",
            f"worker logs: raw {raw['problems']['error_lines']} error line(s), hub {hub['problems']['error_lines']}"
            f" error line(s), {hub['problems']['warning_lines']} warning(s); exit codes raw {raw['exit_codes']},"
            f" hub {hub['exit_codes']}",
        ]
    if "error" in report:
        out.append(f"run failed: {report['error']}")
    return "\n".join(out)


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
    parser.add_argument("--worker-mode", choices=("raw", "hub"), help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_mode == "raw":
        return run_raw_worker(args.redis_url, args.namespace, args.threads)
    if args.worker_mode == "hub":
        return run_hub_worker(args.namespace, args.threads)
    if args.events < 1 or args.warmup < 0 or args.workers < 1 or args.threads < 1:
        parser.error("--events, --workers and --threads must be >= 1, --warmup >= 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
