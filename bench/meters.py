"""CPU accounting from /proc and PostgreSQL's own counters.

Both benchmarks report the CPU a phase took per party: the processes under test, PostgreSQL
(the benchmark database's backends and the instance's background processes), Redis, the
benchmark process itself and everything else on the machine (other people's work, which skews
the figures)."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.report import log

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """utime + stime of one process (all its threads) in seconds (0 if it is gone)."""
    return _proc_cpu_path(f"/proc/{pid}/stat")


def _proc_cpu_path(path: str) -> float:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    fields = data[data.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _postgres_processes(marker: bytes) -> tuple[dict[int, float], float]:
    """CPU seconds of the live PostgreSQL processes working for the benchmark (the backends
    whose process title names its database, and the instance's background processes: WAL
    writer, checkpointer, autovacuum, ...), and the CPU seconds of all the postmaster's
    children that have exited (cutime + cstime: backends that came and went). Live backends of
    other databases (other people's tests) are left out: their titles name their own database
    and client address."""
    found: dict[int, float] = {}
    reaped = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
            if data[data.index(b"(") + 1 : data.rindex(b")")] != b"postgres":
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                title = f.read()
        except (OSError, ValueError):
            continue
        fields = data[data.rindex(b")") + 2 :].split()
        if not title.startswith(b"postgres:"):  # the postmaster: it reaps the backends
            reaped += (int(fields[13]) + int(fields[14])) / CLK_TCK
        if marker in title or (b"(" not in title and b"[local]" not in title):
            found[int(name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found, reaped


def _thread_cpu(pid: int) -> float:
    """utime + stime of the main thread of a process (the event loop of ``hub serve``)."""
    return _proc_cpu_path(f"/proc/{pid}/task/{pid}/stat")


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def _own_cpu() -> float:
    """CPU seconds of this process (the load generator, the sender)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


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


class _PostgresCpu:
    """PostgreSQL's CPU during a phase = live benchmark backends and background processes (CPU
    since the start of the phase) + backends that exited during the phase (their whole CPU,
    from the postmaster's cutime/cstime; this part can include short-lived backends of other
    databases) − what those exited backends had already used before the phase."""

    def __init__(self, database: str) -> None:
        self.marker = f" {database} ".encode()

    def start(self) -> None:
        self._pg0, self._reaped0 = _postgres_processes(self.marker)

    def stop(self) -> tuple[float, float]:
        """(PostgreSQL CPU seconds, of which exited backends)."""
        pg1, reaped1 = _postgres_processes(self.marker)
        live = sum(cpu - self._pg0.get(pid, 0.0) for pid, cpu in pg1.items())
        exited = (reaped1 - self._reaped0) - sum(cpu for pid, cpu in self._pg0.items() if pid not in pg1)
        return live + max(0.0, exited), max(0.0, exited)


def _pct(x: float, wall: float) -> float:
    return round(100 * x / wall, 1) if wall > 0 else 0.0


class Meter:
    """CPU used during a phase of the API benchmark by the load generator (this process), the
    server process, PostgreSQL (see :class:`_PostgresCpu`) and everything else on the machine."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.postgres = _PostgresCpu(database)

    def start(self) -> None:
        self.postgres.start()
        self._busy0, self._total0 = _machine_cpu()
        self._client0 = _own_cpu()
        self._server0 = _proc_cpu(self.server_pid)
        self._server_main0 = _thread_cpu(self.server_pid)
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall0
        client = _own_cpu() - self._client0
        server = _proc_cpu(self.server_pid) - self._server0
        server_main = _thread_cpu(self.server_pid) - self._server_main0
        postgres, exited = self.postgres.stop()
        busy1, total1 = _machine_cpu()
        busy, span = busy1 - self._busy0, total1 - self._total0
        other = max(0.0, busy - client - server - postgres)
        return {
            "wall_s": round(wall, 3),
            "client_cpu_s": round(client, 3),
            "client_cpu_pct_of_core": _pct(client, wall),
            "server_cpu_s": round(server, 3),
            "server_cpu_pct_of_core": _pct(server, wall),
            # The API's event loop vs the rest (in-process job worker, outbox relay publishing).
            "server_main_thread_cpu_pct_of_core": _pct(server_main, wall),
            "server_other_threads_cpu_pct_of_core": _pct(server - server_main, wall),
            "postgres_cpu_s": round(postgres, 3),
            "postgres_cpu_pct_of_core": _pct(postgres, wall),
            "postgres_exited_backends_cpu_s": round(exited, 3),
            # Everything else on the machine (other people's tests, ...): it skews the numbers.
            "other_cpu_s": round(other, 3),
            "other_cpu_pct_of_core": _pct(other, wall),
            "machine_busy_pct": round(100 * busy / span, 1) if span > 0 else 0.0,
        }


class PhaseMeter:
    """CPU used during a phase of the integration benchmark by the worker processes,
    PostgreSQL (as :class:`Meter` counts it), Redis, this process (sending, polling) and
    everything else on the machine."""

    def __init__(self, pids: list[int], database: str) -> None:
        self.pids = pids
        self.postgres = _PostgresCpu(database)

    def start(self) -> None:
        self._w0 = {p: _proc_cpu(p) for p in self.pids}
        self.postgres.start()
        self._redis0 = _redis_cpu()
        self._self0 = _own_cpu()
        self._busy0, self._total0 = _machine_cpu()
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall0
        workers = sum(_proc_cpu(p) - self._w0[p] for p in self.pids)
        postgres, _exited = self.postgres.stop()
        redis_cpu = _redis_cpu() - self._redis0
        me = _own_cpu() - self._self0
        busy1, total1 = _machine_cpu()
        busy, span = busy1 - self._busy0, total1 - self._total0
        other = max(0.0, busy - workers - postgres - redis_cpu - me)
        return {
            "wall_s": round(wall, 3),
            "workers_cpu_s": round(workers, 3),
            "workers_pct_of_core": _pct(workers, wall),
            "postgres_cpu_s": round(postgres, 3),
            "postgres_pct_of_core": _pct(postgres, wall),
            "redis_cpu_s": round(redis_cpu, 3),
            "redis_pct_of_core": _pct(redis_cpu, wall),
            "bench_cpu_s": round(me, 3),
            "bench_pct_of_core": _pct(me, wall),
            "other_cpu_s": round(other, 3),
            "other_pct_of_core": _pct(other, wall),
            "machine_busy_pct": round(100 * busy / span, 1) if span > 0 else 0.0,
        }


DB_COUNTERS = (
    "sessions", "xact_commit", "xact_rollback", "deadlocks", "active_time", "blks_read",
    "blks_hit", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated",
)  # fmt: skip


async def db_counters(engine: AsyncEngine, database: str) -> dict[str, float]:
    """pg_stat_database counters of the benchmark database (cumulative); empty when the
    server does not have them all (``sessions`` and ``active_time`` need PostgreSQL 14)."""
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(f"SELECT {', '.join(DB_COUNTERS)} FROM pg_stat_database WHERE datname = :d"),
                    {"d": database},
                )
            ).one()
    except Exception as e:  # noqa: BLE001 - statistics are a bonus, not the benchmark
        log(f"no pg_stat_database counters: {e}")
        return {}
    return {k: float(v or 0) for k, v in zip(DB_COUNTERS, row, strict=True)}


async def wait_idle(
    server_pid: int, database: str, limit: float, threshold_pct: float = 15.0
) -> dict[str, Any]:
    """Wait (at most ``limit`` seconds) until other processes use < ``threshold_pct`` of a core."""
    start = time.monotonic()
    while True:
        meter = Meter(server_pid, database)
        meter.start()
        await asyncio.sleep(1.0)
        other = meter.stop()["other_cpu_pct_of_core"]
        waited = round(time.monotonic() - start, 1)
        if other < threshold_pct:
            return {"seconds": waited, "idle": True, "other_cpu_pct_of_core": other}
        if waited >= limit:
            log(
                f"machine still busy after {waited:.0f}s (other processes {other:.0f}% of a core);"
                " measuring anyway"
            )
            return {"seconds": waited, "idle": False, "other_cpu_pct_of_core": other}
