#!/usr/bin/env python3
"""Throughput and latency benchmark of the ordering hub's GraphQL API on PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/run.py [--duration 20] [--concurrency 16] \
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

What it does, in order:

1. Creates a fresh database ``hub_bench_<random>`` next to ``--database-url`` (which only serves
   to connect as an administrator), runs ``hub migrate`` against it and seeds it directly with
   SQLAlchemy Core (no argon2, no API calls): 2,400 products in 12 categories, 3 warehouses,
   240 customers with one CUSTOMER user each. Bearer tokens are minted with the hub's own
   ``TokenService`` and the random ``HUB_SECRET_KEY`` the server is started with.
2. Starts ``.venv/bin/hub serve --port <free port>`` (one process, defaults for everything but
   ``HUB_DATABASE_URL`` and ``HUB_SECRET_KEY``; other ``HUB_*`` variables of the caller are not
   passed on) and waits for ``/healthz``. Its output goes to ``bench/results/<ts>-server.log``.
3. Runs the scenarios one after the other, each with a warm-up (``--warmup``, default 3 s) and
   then ``--duration`` seconds of measurement, ``--concurrency`` closed-loop clients, each on its
   own persistent keep-alive HTTP/1.1 connection, GraphQL variables throughout:

   - ``typename``: ``{ __typename }``, no token: the floor of the HTTP + GraphQL stack.
   - ``products``: ``products(first: 20)`` as a random customer per request, with a real
     ``after`` cursor (collected by walking the catalog through the API first) or none, and a
     search term on 30 % of the requests.
   - ``order-spread``: ``orderCreate`` with 3 lines (distinct random SKUs, 1-5 units) by a
     random customer per request; the first-priority warehouse is kept short so that many
     reservations spill over into the second warehouse.
   - ``order-hot``: ``orderCreate`` by one customer for the same 3 SKUs (1-3 units each):
     every request locks the same stock rows. Those SKUs hold enough stock for the whole run.

   Every response is checked: transport failures, non-200 statuses, GraphQL ``errors``, payload
   ``errors`` (by code), null payloads and responses that do not match the request are all
   counted, reported and make the exit status non-zero. Warm-up requests are checked too.
4. After the order scenarios, checks in the database that nothing was oversold: every stock
   row has reserved <= its on-hand quantity at the start (on hand is never changed by the
   run), Σ reserved per SKU equals Σ quantities of the orders the server accepted (as the
   client saw them, warm-up included), and agrees with the order lines and reservation rows.
5. Prints a Markdown table (plus CPU use per process and PostgreSQL counters per scenario),
   writes ``bench/results/<ts>.json`` (git-ignored), stops the server and drops the database
   (``--keep-db`` keeps it). The exit status is 0 only with zero errors and a passed check.

On a shared machine, ``--wait-idle S`` waits up to S seconds before each scenario for other
processes to go quiet; the "other processes" column shows how much they took anyway.

Load generator: a hand-written minimal HTTP/1.1 client on an asyncio Protocol over uvloop
(requests framed with Content-Length; responses parsed by Content-Length, chunked as a
fallback; one future per request and one watchdog timer for all clients instead of a timer per
request), orjson for bodies, one keep-alive connection per client, in this process, separate
from the server. Chosen over httpx because the two cores are shared by the server, PostgreSQL
and the client. Measured on this machine, idle, 16 connections against ``{ __typename }``:
httpx 0.28 (AsyncClient, uvloop) used 3.1-3.5 ms of client CPU per request and saturated a
whole core at ~300 req/s, while this client used 80-100 us per request (about a fifth of a core
at ~2,300 req/s). The client's own CPU time (``resource.getrusage``) is reported per scenario,
next to the server's, PostgreSQL's (from /proc) and other processes', so readers can see what
the measurement cost and whether anything else was competing for the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine  # noqa: E402

from hub.domain.auth.models import Role, User  # noqa: E402
from hub.domain.auth.principal import Principal  # noqa: E402
from hub.domain.auth.tokens import TokenService  # noqa: E402
from hub.domain.catalog.models import Category, Product  # noqa: E402
from hub.domain.customers.models import Customer, CustomerGroup  # noqa: E402
from hub.domain.inventory.models import Stock, Warehouse  # noqa: E402
from hub.settings import async_database_url  # noqa: E402

RESULTS = ROOT / "bench" / "results"
REQUEST_TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---------------------------------------------------------------------------------------------
# Data set
# ---------------------------------------------------------------------------------------------

CATEGORIES: list[tuple[str, str, tuple[int, int], str]] = [
    # name, SKU prefix, price range in CNY, product stems separated by |
    ("Faucets 龙头", "FAU", (80, 900),
     "Basin mixer|Kitchen pull-out mixer|Wall tap|Sensor tap|Bib tap|Bath filler"),
    ("Showers 花洒", "SHW", (40, 2400),
     "Rain shower set|Hand shower|Thermostatic column|Shower arm|Slide rail kit|Shower hose"),
    ("Sinks 水槽", "SNK", (60, 1800),
     "Single-bowl sink|Double-bowl sink|Undermount sink|Utility sink|Bar sink|Sink strainer"),
    ("Toilets 马桶", "TOI", (90, 5200),
     "Close-coupled toilet|Wall-hung toilet|Smart toilet seat|Cistern|Flush valve|Soft-close seat"),
    ("Pipes & fittings 管件", "PIP", (2, 60),
     "PPR pipe 20mm|PPR pipe 25mm|PVC elbow|Brass tee|Union coupling|Reducer"),
    ("Valves 阀门", "VAL", (12, 380),
     "Ball valve DN15|Ball valve DN20|Angle valve|Check valve|Gate valve|Pressure reducer"),
    ("Hand tools 手动工具", "HTL", (15, 260),
     "Pipe wrench|Adjustable spanner|Hex key set|Pliers|Tube cutter|Screwdriver set"),
    ("Power tools 电动工具", "PTL", (180, 1600),
     "Cordless drill|Impact driver|Angle grinder|Rotary hammer|Jigsaw|Heat gun"),
    ("Fasteners 紧固件", "FST", (3, 45),
     "Wall anchor pack|Stainless screws|Hex bolts|Pipe clamp|Threaded rod|Washer pack"),
    ("Electrical 电工", "ELC", (6, 320),
     "Wall socket|Switch panel|Cable 2.5mm²|Junction box|Circuit breaker|Conduit"),
    ("Lighting 照明", "LGT", (25, 680),
     "LED panel|Downlight|Mirror light|Strip light 5m|Ceiling lamp|Waterproof batten"),
    ("Sealants & adhesives 胶粘", "SEA", (4, 90),
     "Silicone sealant|PTFE tape|Tile adhesive|Epoxy glue|Pipe thread sealant|Foam filler"),
]  # fmt: skip
VARIANTS = [
    "chrome",
    "brushed nickel",
    "matte black",
    "white",
    "standard",
    "stainless",
    "brass",
    "gold",
]
SEARCH_TERMS = [
    "valve",
    "chrome",
    "pipe",
    "black",
    "sink",
    "LED",
    "brass",
    "shower",
    "tap",
    "kit",
    "DN20",
    "seal",
]
WAREHOUSES = [
    ("SH", "Shanghai central warehouse", 10),
    ("GZ", "Guangzhou south warehouse", 20),
    ("CD", "Chengdu west warehouse", 30),
]
GROUPS = [("T1", "Tier-1 distributors"), ("T2", "Tier-2 dealers"), ("RS", "Retail stores")]
REGIONS = ["East China", "South China", "North China", "Southwest", "Central China"]
UNUSABLE_PASSWORD_HASH = "!bench-user-no-password-login"


@dataclass
class Seeded:
    products: int
    customers: int
    skus: list[str]
    hot_skus: list[str]
    buyers: list[tuple[int, str, int]]  # (user id, email, customer id)
    stock_start: dict[int, tuple[str, str, int]]  # stock id -> (sku, warehouse code, on hand)
    ample: int
    history_max_id: int  # orders up to this id are seeded history, not placed by the run
    history_max_event: int  # likewise for outbox events


# Order history, as a supplier's database holds it: completed orders with their lines, approval
# step, timeline entry and handled outbox event, spread over the buyers and the catalog. Without
# it the order tables start empty, and PostgreSQL's cached plans for the foreign-key checks
# against ``orders`` stay sequential scans for as long as the run lasts (autovacuum has not
# analysed the table yet): measured, 48,520 such scans reading 174 million rows in one run.
HISTORY_SQL = [
    """INSERT INTO orders (customer_id, status, note, currency, subtotal, discount_total, total,
                           placed_by_id, created_at, updated_at)
       SELECT b.customer_id, 'COMPLETED', NULL, 'CNY', 0, 0, 0, b.id,
              now() - g * interval '1 minute', now() - g * interval '1 minute'
       FROM generate_series(1, :n) g
       JOIN (SELECT id, customer_id, row_number() OVER (ORDER BY id) - 1 AS i
             FROM users WHERE customer_id IS NOT NULL) b
         ON b.i = g % (SELECT count(*) FROM users WHERE customer_id IS NOT NULL)""",
    """INSERT INTO order_lines (order_id, line_no, product_id, sku, name, quantity, unit_price,
                                line_total, applied_rules)
       SELECT o.id, k, p.id, p.sku, p.name, 1 + (o.id + k) % 5, p.base_price,
              p.base_price * (1 + (o.id + k) % 5), '[]'
       FROM orders o CROSS JOIN generate_series(1, 3) k
       JOIN products p ON p.id = (SELECT min(id) FROM products)
                                 + (o.id * 7 + k * 13) % (SELECT count(*) FROM products)""",
    """UPDATE orders SET subtotal = t.s, total = t.s
       FROM (SELECT order_id, sum(line_total) AS s FROM order_lines GROUP BY order_id) t
       WHERE orders.id = t.order_id""",
    """INSERT INTO approval_steps (order_id, position, name, role, status, decided_by, decided_at,
                                   due_at)
       SELECT id, 1, 'Sales manager approval', 'SALES_MANAGER', 'APPROVED', 'history@bench',
              created_at, created_at + interval '1 day'
       FROM orders""",
    """INSERT INTO order_events (order_id, at, kind, message, actor)
       SELECT id, created_at, 'PLACED', 'Order placed (history)', 'history@bench' FROM orders""",
    """INSERT INTO outbox (kind, aggregate, aggregate_id, payload, created_at, published_at,
                           handled_at, attempts)
       SELECT 'order.placed', 'order', id, json_build_object('orderId', id), created_at,
              created_at, created_at, 1
       FROM orders""",
    """INSERT INTO processed_events (event_id, handler, processed_at)
       SELECT id, 'log', created_at FROM outbox""",
]


async def seed(
    engine: AsyncEngine,
    rng: random.Random,
    n_products: int,
    n_customers: int,
    ample: int,
    history: int = 0,
) -> Seeded:
    per_category = -(-n_products // len(CATEGORIES))
    async with engine.begin() as conn:
        await conn.execute(
            insert(Warehouse.__table__),
            [{"code": c, "name": n, "priority": p} for c, n, p in WAREHOUSES],
        )
        await conn.execute(insert(CustomerGroup.__table__), [{"code": c, "name": n} for c, n in GROUPS])
        await conn.execute(insert(Category.__table__), [{"name": name} for name, *_ in CATEGORIES])
        cat_ids = dict((await conn.execute(select(Category.__table__.c.name, Category.__table__.c.id))).all())
        group_ids = [
            gid
            for (gid,) in (
                await conn.execute(
                    select(CustomerGroup.__table__.c.id).order_by(CustomerGroup.__table__.c.id)
                )
            ).all()
        ]
        wh_ids = dict(
            (await conn.execute(select(Warehouse.__table__.c.code, Warehouse.__table__.c.id))).all()
        )

        rows = []
        for name, prefix, (lo, hi), stem_list in CATEGORIES:
            stems = stem_list.split("|")
            for n in range(per_category):
                if len(rows) >= n_products:
                    break
                stem = stems[n % len(stems)]
                variant = VARIANTS[(n // len(stems)) % len(VARIANTS)]
                size = n // (len(stems) * len(VARIANTS)) + 1
                price = rng.randint(lo * 100, hi * 100)
                rows.append(
                    {
                        "sku": f"{prefix}-{10000 + n}",
                        "name": f"{stem}, {variant}, series {size}",
                        "unit": "pcs" if prefix not in {"PIP", "FST"} else rng.choice(["pcs", "box", "m"]),
                        "category_id": cat_ids[name],
                        "base_price": f"{price / 100:.2f}",
                        "cost_price": f"{price * rng.randint(55, 80) / 10000:.2f}",
                        "active": True,
                    }
                )
        await conn.execute(insert(Product.__table__), rows)
        products = (await conn.execute(select(Product.__table__.c.id, Product.__table__.c.sku))).all()
        skus = sorted(sku for _id, sku in products)
        hot = sorted(rng.sample(skus, 3))
        hot_set = set(hot)

        stock = []
        for pid, sku in products:
            if sku in hot_set:
                # Enough for the whole hot scenario; the first warehouse runs dry part-way so
                # that reservations also split across warehouses under contention.
                levels = {"SH": 2_000, "GZ": ample, "CD": ample}
            else:
                # The first-priority warehouse is short: spread orders spill over into GZ.
                levels = {"SH": rng.randint(0, 40), "GZ": rng.randint(200, 2_000), "CD": ample}
            stock += [
                {"product_id": pid, "warehouse_id": wh_ids[code], "on_hand": q, "reserved": 0}
                for code, q in levels.items()
            ]
        await conn.execute(insert(Stock.__table__), stock)

        customers = [
            {
                "code": f"B{i:05d}",
                "name": f"Bench trade customer {i:05d}",
                "credit_limit": None,  # no limit: the order scenarios must not run into credit
                "group_id": group_ids[i % len(group_ids)],
                "region": REGIONS[i % len(REGIONS)],
                "active": True,
            }
            for i in range(1, n_customers + 1)
        ]
        await conn.execute(insert(Customer.__table__), customers)
        cust = (
            await conn.execute(
                select(Customer.__table__.c.id, Customer.__table__.c.code).order_by(Customer.__table__.c.id)
            )
        ).all()
        users = [
            {
                "email": f"buyer-{code.lower()}@bench.hub",
                "password_hash": UNUSABLE_PASSWORD_HASH,
                "roles": Role.CUSTOMER.value,
                "customer_id": cid,
                "active": True,
            }
            for cid, code in cust
        ]
        await conn.execute(insert(User.__table__), users)
        u = User.__table__.c
        buyers = [
            tuple(r) for r in (await conn.execute(select(u.id, u.email, u.customer_id).order_by(u.id))).all()
        ]
        stock_start = {
            r[0]: (r[1], r[2], r[3])
            for r in (
                await conn.execute(
                    text(
                        "SELECT s.id, p.sku, w.code, s.on_hand FROM stock s"
                        " JOIN products p ON p.id = s.product_id"
                        " JOIN warehouses w ON w.id = s.warehouse_id"
                    )
                )
            ).all()
        }
        if history:
            for sql in HISTORY_SQL:
                await conn.execute(text(sql), {"n": history})
        max_order, max_event = (
            await conn.execute(
                text(
                    "SELECT (SELECT coalesce(max(id), 0) FROM orders), (SELECT coalesce(max(id), 0) FROM outbox)"
                )
            )
        ).one()
        await conn.execute(text("ANALYZE"))
    return Seeded(  # type: ignore[arg-type]
        len(products), len(cust), skus, hot, buyers, stock_start, ample, int(max_order), int(max_event)
    )


# ---------------------------------------------------------------------------------------------
# CPU accounting
# ---------------------------------------------------------------------------------------------


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


def _client_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Meter:
    """CPU used during a phase by the load generator (this process), the server process,
    PostgreSQL and everything else on the machine.

    PostgreSQL = live benchmark backends and background processes (CPU since the start of the
    phase) + backends that exited during the phase (their whole CPU, from the postmaster's
    cutime/cstime; this part can include short-lived backends of other databases) − what those
    exited backends had already used before the phase.
    """

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid = server_pid
        self.marker = f" {database} ".encode()

    def start(self) -> None:
        self._pg0, self._reaped0 = _postgres_processes(self.marker)
        self._busy0, self._total0 = _machine_cpu()
        self._client0 = _client_cpu()
        self._server0 = _proc_cpu(self.server_pid)
        self._server_main0 = _thread_cpu(self.server_pid)
        self._wall0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall0
        client = _client_cpu() - self._client0
        server = _proc_cpu(self.server_pid) - self._server0
        server_main = _thread_cpu(self.server_pid) - self._server_main0
        pg1, reaped1 = _postgres_processes(self.marker)
        busy1, total1 = _machine_cpu()
        live = sum(cpu - self._pg0.get(pid, 0.0) for pid, cpu in pg1.items())
        exited = (reaped1 - self._reaped0) - sum(cpu for pid, cpu in self._pg0.items() if pid not in pg1)
        postgres = live + max(0.0, exited)
        busy, span = busy1 - self._busy0, total1 - self._total0
        other = max(0.0, busy - client - server - postgres)

        def pct(x: float) -> float:
            return round(100 * x / wall, 1) if wall > 0 else 0.0

        return {
            "wall_s": round(wall, 3),
            "client_cpu_s": round(client, 3),
            "client_cpu_pct_of_core": pct(client),
            "server_cpu_s": round(server, 3),
            "server_cpu_pct_of_core": pct(server),
            # The API's event loop vs the rest (in-process job worker, outbox relay publishing).
            "server_main_thread_cpu_pct_of_core": pct(server_main),
            "server_other_threads_cpu_pct_of_core": pct(server - server_main),
            "postgres_cpu_s": round(postgres, 3),
            "postgres_cpu_pct_of_core": pct(postgres),
            "postgres_exited_backends_cpu_s": round(max(0.0, exited), 3),
            # Everything else on the machine (other people's tests, ...): it skews the numbers.
            "other_cpu_s": round(other, 3),
            "other_cpu_pct_of_core": pct(other),
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


# ---------------------------------------------------------------------------------------------
# Minimal HTTP/1.1 keep-alive client
# ---------------------------------------------------------------------------------------------


class HttpResponseError(Exception):
    """The bytes that came back are not an HTTP/1.1 response this client understands."""


class _HttpProtocol(asyncio.Protocol):
    """Buffers what arrives and completes the pending request's future once the whole
    response (head + Content-Length body, or a chunked body) is in: one future and no
    per-request timer per request, to keep the client's CPU per request low."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(exc or ConnectionResetError("connection closed by the server"))

    def fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _complete(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[: end + 2]).lower()
        try:
            if head[:5] != b"http/":
                raise HttpResponseError(f"not an HTTP response: {head[:40]!r}")
            status = int(head[9:12])
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                n = int(head[i + 17 : head.index(b"\r\n", i + 2)])
                if len(buf) < end + 4 + n:
                    return
                body = bytes(buf[end + 4 : end + 4 + n])
                del buf[: end + 4 + n]
            elif b"\r\ntransfer-encoding: chunked" in head:
                parsed = _parse_chunked(buf, end + 4)
                if parsed is None:
                    return
                body, used = parsed
                del buf[:used]
            else:
                raise HttpResponseError("response without Content-Length or chunked encoding")
        except (ValueError, HttpResponseError) as e:
            self.fail(e if isinstance(e, HttpResponseError) else HttpResponseError(str(e)))
            if self.transport is not None:
                self.transport.abort()
            return
        if b"\r\nconnection: close" in head and self.transport is not None:
            self.transport.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))


def _parse_chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """(body, bytes used) of a complete chunked body starting at ``pos``; None if incomplete."""
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        if size == 0:
            trailer_end = buf.find(b"\r\n\r\n", eol)  # no trailers expected
            return None if trailer_end < 0 else (b"".join(parts), trailer_end + 4)
        if len(buf) < eol + 2 + size + 2:
            return None
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


class HttpConnection:
    """One persistent HTTP/1.1 connection, one request at a time; reopened after a failure."""

    __slots__ = ("host", "port", "proto", "opened", "started")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.proto: _HttpProtocol | None = None
        self.opened = 0
        self.started = 0.0  # perf_counter() of the request in flight (for the watchdog)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        _transport, proto = await loop.create_connection(_HttpProtocol, self.host, self.port)
        sock = _transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = proto
        self.opened += 1

    def close(self) -> None:
        proto, self.proto = self.proto, None
        if proto is not None and proto.transport is not None:
            if proto.waiter is not None:
                proto.transport.abort()
            else:
                proto.transport.close()

    def abort(self, exc: BaseException) -> None:
        """Fail the request in flight (the watchdog's timeout) and drop the connection."""
        if self.proto is not None:
            self.proto.fail(exc)
        self.close()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one complete request (head and body) and read the response: (status, body)."""
        proto = self.proto
        if proto is None or proto.closed:
            await self.open()
            proto = self.proto
        assert proto is not None and proto.transport is not None
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        proto.waiter = waiter
        proto.transport.write(data)
        if proto.buf:  # an unsolicited byte before the answer: not a protocol we speak
            proto._complete()
        return await waiter


def http_request(host_header: bytes, path: bytes, body: bytes, token: bytes | None) -> bytes:
    auth = b"Authorization: Bearer " + token + b"\r\n" if token else b""
    return b"".join(
        (
            b"POST ", path, b" HTTP/1.1\r\nHost: ", host_header,
            b"\r\nContent-Type: application/json\r\nAccept: application/json\r\n", auth,
            b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body,
        )
    )  # fmt: skip


async def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    conn = HttpConnection(host, port)
    try:
        async with asyncio.timeout(2.0):
            return await conn.request(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

TYPENAME_QUERY = "query Typename { __typename }"
PRODUCTS_QUERY = """
query Products($first: Int!, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { node { id sku name unit category { name } availableQuantity
      price { unitPrice { amount currency } appliedRules { kind } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ORDER_MUTATION = """
mutation PlaceOrder($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    order { id number status lines { sku quantity } }
    errors { field code message }
  }
}"""
MAX_SAMPLES = 20
_HEX_IDS = re.compile(r"\b[0-9a-f]{8,}\b")
_NUMBERS = re.compile(r"\d+")


class PhaseStats:
    """Everything counted in one phase (warm-up or measurement) of one scenario."""

    def __init__(self) -> None:
        self.latencies = array("q")  # ns, successful transport only
        self.requests = 0
        self.transport: Counter[str] = Counter()
        self.non200: Counter[int] = Counter()
        self.graphql_errors = 0
        self.graphql_messages: Counter[str] = Counter()
        self.payload_errors: Counter[str] = Counter()
        self.payload_messages: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()  # null payloads, mismatches, malformed bodies
        self.samples: list[str] = []
        self.extra: Counter[str] = Counter()
        self.elapsed = 0.0

    @property
    def errors(self) -> int:
        return (
            sum(self.transport.values()) + sum(self.non200.values()) + self.graphql_errors
            + sum(self.payload_errors.values()) + sum(self.bad.values())
        )  # fmt: skip

    def sample(self, what: str) -> None:
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(what[:500])

    def note(self, counter: Counter[str], message: str) -> None:
        # Numbers and request ids vary per response: fold them so that messages aggregate.
        key = _NUMBERS.sub("N", _HEX_IDS.sub("<id>", message))[:200]
        if key in counter or len(counter) < 50:
            counter[key] += 1
        else:
            counter["(other messages)"] += 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(
                lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))] / 1e6, 2
            )  # nearest rank

        return {
            "requests": self.requests,
            "elapsed_s": round(self.elapsed, 3),
            "req_per_s": round(self.requests / self.elapsed, 1) if self.elapsed else 0.0,
            "latency_ms": {
                "p50": pct(50), "p90": pct(90), "p99": pct(99),
                "mean": round(sum(lat) / len(lat) / 1e6, 2) if lat else None,
                "max": round(lat[-1] / 1e6, 2) if lat else None,
            },
            "errors": self.errors,
            "error_breakdown": {
                "transport": dict(self.transport),
                "http_non_200": {str(k): v for k, v in self.non200.items()},
                "graphql_errors": self.graphql_errors,
                "graphql_error_messages": dict(self.graphql_messages),
                "payload_errors_by_code": dict(self.payload_errors),
                "payload_error_messages": dict(self.payload_messages),
                "bad_responses": dict(self.bad),
            },
            "error_samples": self.samples,
            "counts": dict(self.extra),
        }  # fmt: skip


class Scenario:
    name = ""
    title = ""
    is_order = False

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        raise NotImplementedError

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        raise NotImplementedError

    @staticmethod
    def data_of(status: int, body: bytes, st: PhaseStats) -> tuple[dict[str, Any] | None, bool]:
        """(`data`, whether it came with GraphQL errors) of a response; counts non-200s, bad
        JSON, GraphQL errors and a missing `data`. Each bad response is counted once: a null
        field that comes with a GraphQL error is not counted again by the caller."""
        if status != 200:
            st.non200[status] += 1
            st.sample(f"HTTP {status}: {body[:300]!r}")
            return None, False
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            st.bad["body is not JSON"] += 1
            st.sample(f"not JSON: {body[:300]!r}")
            return None, False
        if not isinstance(doc, dict):
            st.bad["body is not a JSON object"] += 1
            return None, False
        errors = doc.get("errors")
        if errors:
            st.graphql_errors += len(errors)
            for e in errors:
                message = str(e.get("message")) if isinstance(e, dict) else str(e)
                st.note(st.graphql_messages, message)
            st.sample(f"GraphQL errors: {errors!r}")
        data = doc.get("data")
        if not isinstance(data, dict):
            if not errors:  # a response with neither data nor errors
                st.bad["data missing"] += 1
                st.sample(f"no data: {body[:300]!r}")
            return None, bool(errors)
        return data, bool(errors)


class Gql:
    """Request bytes for one server: host header and pre-encoded pieces."""

    def __init__(self, host: str, port: int) -> None:
        self.host_header = f"{host}:{port}".encode()

    def post(
        self, query: str, variables: dict[str, Any] | None, operation: str, token: bytes | None
    ) -> bytes:
        body = orjson.dumps({"query": query, "variables": variables, "operationName": operation})
        return http_request(self.host_header, b"/graphql", body, token)


class TypenameScenario(Scenario):
    name = "typename"
    title = "`{ __typename }` (no token)"

    def __init__(self, gql: Gql) -> None:
        self.data = gql.post(TYPENAME_QUERY, None, "Typename", None)

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        return self.data, None

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        data, had_errors = self.data_of(status, body, st)
        if data is None:
            return
        if data.get("__typename") != "Query" and not had_errors:
            st.bad["wrong __typename"] += 1
            st.sample(f"wrong __typename: {body[:300]!r}")


class ProductsScenario(Scenario):
    name = "products"
    title = "`products(first: 20)` as a customer"

    def __init__(self, gql: Gql, tokens: list[bytes], cursors: list[str | None]) -> None:
        self.gql = gql
        self.tokens = tokens
        self.cursors = cursors

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        search = rng.choice(SEARCH_TERMS) if rng.random() < 0.3 else None
        after = rng.choice(self.cursors)
        if search is not None and rng.random() < 0.5:
            after = None  # half of the searches start at the top of their results
        variables = {"first": 20, "after": after, "search": search}
        return self.gql.post(PRODUCTS_QUERY, variables, "Products", rng.choice(self.tokens)), search

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        data, had_errors = self.data_of(status, body, st)
        if data is None:
            return
        conn = data.get("products")
        if conn is None:
            if not had_errors:
                st.bad["products is null"] += 1
            st.sample(f"products null: {body[:300]!r}")
            return
        edges = conn["edges"]
        if len(edges) > 20:
            st.bad["more than 20 edges"] += 1
        for e in edges:
            node = e["node"]
            if node["price"] is None or node["availableQuantity"] < 0:
                st.bad["node without price or with negative availability"] += 1
                st.sample(f"bad node: {node!r}")
                break
        st.extra["search requests" if ctx else "paging requests"] += 1
        st.extra["edges returned"] += len(edges)
        if not edges:
            st.extra["empty pages"] += 1


class OrderScenario(Scenario):
    is_order = True

    def __init__(self, gql: Gql, accepted: Counter[str], accepted_orders: list[int]) -> None:
        self.gql = gql
        self.accepted = accepted  # sku -> units the server said it accepted (whole run)
        self.accepted_orders = accepted_orders  # [count], shared across scenarios

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        raise NotImplementedError

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        token, lines = self.lines(rng)
        return self.gql.post(ORDER_MUTATION, {"input": {"lines": lines}}, "PlaceOrder", token), lines

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        data, had_errors = self.data_of(status, body, st)
        if data is None:
            return
        payload = data.get("orderCreate")
        if payload is None:
            if not had_errors:
                st.bad["orderCreate is null"] += 1
            st.sample(f"orderCreate null: {body[:300]!r}")
            return
        errors = payload.get("errors") or []
        for e in errors:
            st.payload_errors[str(e.get("code"))] += 1
            st.note(st.payload_messages, f"{e.get('code')} {e.get('field')}: {e.get('message')}")
        if errors:
            st.sample(f"payload errors: {errors!r}")
            if payload.get("order") is not None:
                st.bad["order returned together with errors"] += 1
            return
        order = payload.get("order")
        if order is None:
            st.bad["no order and no errors"] += 1
            return
        got = {x["sku"]: x["quantity"] for x in order["lines"]}
        want = {x["sku"]: x["quantity"] for x in ctx}
        if got != want:
            st.bad["order lines differ from the request"] += 1
            st.sample(f"lines {got!r} for request {want!r}")
        if order["status"] != "PENDING_APPROVAL":
            st.bad["new order not PENDING_APPROVAL"] += 1
        # Account what the server says it accepted: that is what must be reserved.
        for sku, q in got.items():
            self.accepted[sku] += q
        self.accepted_orders[0] += 1
        st.extra["orders accepted"] += 1


class SpreadOrderScenario(OrderScenario):
    name = "order-spread"
    title = "`orderCreate`, 3 lines, many customers and SKUs"

    def __init__(
        self,
        gql: Gql,
        accepted: Counter[str],
        accepted_orders: list[int],
        tokens: list[bytes],
        skus: list[str],
    ) -> None:
        super().__init__(gql, accepted, accepted_orders)
        self.tokens = tokens
        self.skus = skus

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        return rng.choice(self.tokens), [
            {"sku": s, "quantity": rng.randint(1, 5)} for s in rng.sample(self.skus, 3)
        ]


class HotOrderScenario(OrderScenario):
    name = "order-hot"
    title = "`orderCreate`, one customer, same 3 SKUs"

    def __init__(
        self,
        gql: Gql,
        accepted: Counter[str],
        accepted_orders: list[int],
        token: bytes,
        skus: list[str],
    ) -> None:
        super().__init__(gql, accepted, accepted_orders)
        self.token = token
        self.skus = skus

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        return self.token, [{"sku": s, "quantity": rng.randint(1, 3)} for s in self.skus]


async def run_phase(
    scenario: Scenario, conns: list[HttpConnection], seconds: float, rngs: list[random.Random]
) -> PhaseStats:
    """Closed loop: each client sends its next request when the previous answer is in, and
    stops sending at the deadline; requests in flight then still complete and are counted."""
    st = PhaseStats()
    build, check = scenario.build, scenario.check
    perf, perf_ns = time.perf_counter, time.perf_counter_ns
    start = perf()
    deadline = start + seconds

    async def client(conn: HttpConnection, rng: random.Random) -> None:
        lat = st.latencies
        while perf() < deadline:
            data, ctx = build(rng)
            t0 = perf_ns()
            conn.started = perf()
            try:
                status, body = await conn.request(data)
            except (OSError, TimeoutError, HttpResponseError) as e:
                st.requests += 1
                st.transport[type(e).__name__] += 1
                st.sample(f"transport: {type(e).__name__}: {e}")
                conn.close()
                continue
            finally:
                conn.started = 0.0
            lat.append(perf_ns() - t0)
            st.requests += 1
            try:
                check(status, body, ctx, st)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                st.bad[f"unexpected response shape ({type(e).__name__})"] += 1
                st.sample(f"unexpected shape: {e!r}: {body[:300]!r}")

    async def watchdog() -> None:
        """One timer for all clients instead of one per request."""
        while True:
            await asyncio.sleep(1.0)
            now = perf()
            for conn in conns:
                if conn.started and now - conn.started > REQUEST_TIMEOUT:
                    conn.abort(TimeoutError(f"no response within {REQUEST_TIMEOUT:g}s"))

    dog = asyncio.create_task(watchdog())
    try:
        await asyncio.gather(*(client(c, r) for c, r in zip(conns, rngs, strict=True)))
    finally:
        dog.cancel()
    st.elapsed = perf() - start
    return st


# ---------------------------------------------------------------------------------------------
# Database and server lifecycle
# ---------------------------------------------------------------------------------------------


def db_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def admin_execute(admin_url: str, sql: str) -> None:
    import asyncpg

    parts = urlsplit(admin_url)
    dsn = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_binary() -> str:
    exe = Path(sys.executable).with_name("hub")
    return str(exe if exe.exists() else ROOT / ".venv" / "bin" / "hub")


def server_env(database_url: str, secret: str, redis_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = database_url
    env["HUB_SECRET_KEY"] = secret
    if redis_url:
        env["HUB_REDIS_URL"] = redis_url
    return env


class Server:
    def __init__(
        self, database_url: str, secret: str, port: int, log_path: Path, redis_url: str | None = None
    ) -> None:
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        env = server_env(database_url, secret, redis_url)
        self.proc = subprocess.Popen(
            [hub_binary(), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # Production shape: jobs run in their own `hub worker` process (not counted as server CPU).
        self.worker_log = open(log_path.with_suffix(".worker.log"), "wb") if redis_url else None
        self.worker = (
            subprocess.Popen(
                [hub_binary(), "worker", "--threads", "4"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self.worker_log,
                stderr=subprocess.STDOUT,
            )
            if redis_url
            else None
        )

    async def wait_ready(self, within_s: float = 60.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, body = await http_get("127.0.0.1", self.port, "/healthz")
                if status == 200:
                    return
            except (OSError, TimeoutError, HttpResponseError):
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"hub serve did not answer /healthz within {within_s:.0f}s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        self.log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> int | None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        if self.worker_log is not None:
            self.worker_log.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def log_problems(self) -> dict[str, Any]:
        text_ = self.log_path.read_text(errors="replace")
        lines = text_.splitlines()
        errors = [x for x in lines if " ERROR " in x or " CRITICAL " in x]
        warnings = [x for x in lines if " WARNING " in x]
        return {
            "lines": len(lines),
            "error_lines": len(errors),
            "warning_lines": len(warnings),
            "tracebacks": text_.count("Traceback (most recent call last)"),
            "graceful_shutdown": "Finished server process" in text_,
            "first_errors": errors[:5],
            "first_warnings": warnings[:5],
        }


async def oversell_check(
    engine: AsyncEngine, seeded: Seeded, accepted: Counter[str], accepted_orders: int
) -> dict[str, Any]:
    """Nothing oversold, and every accepted unit is reserved exactly once."""
    async with engine.connect() as conn:
        stock = (
            await conn.execute(
                text(
                    "SELECT s.id, p.sku, w.code, s.on_hand, s.reserved FROM stock s"
                    " JOIN products p ON p.id = s.product_id"
                    " JOIN warehouses w ON w.id = s.warehouse_id"
                )
            )
        ).all()
        held = dict(
            (
                await conn.execute(text("SELECT stock_id, SUM(quantity) FROM reservations GROUP BY stock_id"))
            ).all()
        )
        lines = dict(
            (
                await conn.execute(
                    text(
                        "SELECT ol.sku, SUM(ol.quantity) FROM order_lines ol"
                        " JOIN orders o ON o.id = ol.order_id"
                        " WHERE o.status NOT IN ('CANCELLED', 'REJECTED') AND o.id > :h"
                        " GROUP BY ol.sku"
                    ),
                    {"h": seeded.history_max_id},
                )
            ).all()
        )
        statuses = dict(
            (
                await conn.execute(
                    text("SELECT status, COUNT(*) FROM orders WHERE id > :h GROUP BY status"),
                    {"h": seeded.history_max_id},
                )
            ).all()
        )
    over: list[str] = []
    on_hand_changed: list[str] = []
    row_vs_reservations: list[str] = []
    reserved_by_sku: Counter[str] = Counter()
    split_rows = 0
    for sid, sku, wh, on_hand, reserved in stock:
        start = seeded.stock_start[sid][2]
        reserved_by_sku[sku] += reserved
        if reserved > start or reserved < 0:
            over.append(f"{sku}@{wh}: reserved {reserved} > on hand at start {start}")
        if on_hand != start:
            on_hand_changed.append(f"{sku}@{wh}: on hand {start} -> {on_hand}")
        if int(held.get(sid, 0)) != reserved:
            row_vs_reservations.append(
                f"{sku}@{wh}: stock.reserved {reserved} != Σ reservations {held.get(sid, 0)}"
            )
        if reserved and wh != WAREHOUSES[0][0]:
            split_rows += 1
    skus = set(reserved_by_sku) | set(accepted) | set(lines)
    vs_client = [
        f"{s}: Σ reserved {reserved_by_sku[s]} != Σ accepted {accepted[s]}"
        for s in sorted(skus)
        if reserved_by_sku[s] != accepted[s]
    ]
    vs_lines = [
        f"{s}: Σ reserved {reserved_by_sku[s]} != Σ order lines {int(lines.get(s, 0))}"
        for s in sorted(skus)
        if reserved_by_sku[s] != int(lines.get(s, 0))
    ]
    db_orders = sum(int(v) for v in statuses.values())
    ok = (
        not (over or on_hand_changed or row_vs_reservations or vs_client or vs_lines)
        and db_orders == accepted_orders
    )
    return {
        "passed": ok,
        "stock_rows": len(stock),
        "skus_with_reservations": sum(1 for v in reserved_by_sku.values() if v),
        "units_reserved": sum(reserved_by_sku.values()),
        "units_accepted_by_client": sum(accepted.values()),
        "orders_accepted_by_client": accepted_orders,
        "orders_in_db_by_status": {k: int(v) for k, v in statuses.items()},
        "rows_reserved_outside_first_warehouse": split_rows,
        "hot_skus": {s: {"reserved": reserved_by_sku[s], "accepted": accepted[s]} for s in seeded.hot_skus},
        "violations": {
            "reserved_above_on_hand_at_start": over[:20],
            "on_hand_changed": on_hand_changed[:20],
            "stock_reserved_vs_reservation_rows": row_vs_reservations[:20],
            "reserved_vs_accepted_by_client": vs_client[:20],
            "reserved_vs_order_lines": vs_lines[:20],
        },
        "violation_counts": {
            "reserved_above_on_hand_at_start": len(over),
            "on_hand_changed": len(on_hand_changed),
            "stock_reserved_vs_reservation_rows": len(row_vs_reservations),
            "reserved_vs_accepted_by_client": len(vs_client),
            "reserved_vs_order_lines": len(vs_lines),
        },
    }


async def outbox_state(engine: AsyncEngine, after: int) -> dict[str, int]:
    """Events of the run (ids above ``after``, the seeded history's last)."""
    h = {"h": after}
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT COUNT(*) FROM outbox WHERE id > :h"), h)).scalar_one()
        unpublished = (
            await conn.execute(text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND id > :h"), h)
        ).scalar_one()
        processed = (
            await conn.execute(
                text("SELECT COUNT(DISTINCT event_id) FROM processed_events WHERE event_id > :h"), h
            )
        ).scalar_one()
    return {"events": int(total), "unpublished": int(unpublished), "handled": int(processed)}


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


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


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | requests | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m = r["measured"]
        out.append(
            f"| {r['title']} | {m['requests']:,} | {fmt(m['req_per_s'])}"
            f" | {fmt(m['latency_ms']['p50'], 2)}"
            f" | {fmt(m['latency_ms']['p99'], 2)} | {m['errors']} |"
        )
    return "\n".join(out)


def cpu_markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | load generator CPU | µs CPU / request | server CPU (main thread + others)"
        " | postgres CPU | other processes | machine busy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r["cpu"]
        n = r["measured"]["requests"] or 1
        out.append(
            f"| {r['name']} | {c['client_cpu_s']:.2f} s"
            f" ({c['client_cpu_pct_of_core']:.0f} % of a core)"
            f" | {1e6 * c['client_cpu_s'] / n:.0f} | {c['server_cpu_pct_of_core']:.0f} %"
            f" ({c['server_main_thread_cpu_pct_of_core']:.0f} + "
            f"{c['server_other_threads_cpu_pct_of_core']:.0f})"
            f" | {c['postgres_cpu_pct_of_core']:.0f} %"
            f" | {c['other_cpu_pct_of_core']:.0f} %"
            f" | {c['machine_busy_pct']:.0f} % of {os.cpu_count()} cores |"
        )
    return "\n".join(out)


def db_markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | commits | rollbacks | new PG sessions | deadlocks | time in statements per request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["database"]
        if not d:
            continue
        n = r["measured"]["requests"] or 1
        out.append(
            f"| {r['name']} | {d['xact_commit']:,.0f} | {d['xact_rollback']:,.0f}"
            f" | {d['sessions']:,.0f} | {d['deadlocks']:.0f} | {d['active_time'] / n:.2f} ms |"
        )
    return "\n".join(out)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


SCENARIO_NAMES = ["typename", "products", "order-spread", "order-hot"]


async def main_async(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"hub_bench_{secrets.token_hex(4)}"
    url = db_url(args.database_url, name)
    secret = secrets.token_urlsafe(48)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(SCENARIO_NAMES)
    if unknown:
        raise SystemExit(
            f"unknown scenarios: {', '.join(sorted(unknown))} (choose from {', '.join(SCENARIO_NAMES)})"
        )

    # Stock for the hot SKUs: more than the hot scenario can take at an absurd 3,000 orders/s.
    ample = min(1_000_000_000, max(1_000_000, int(3_000 * (args.duration + args.warmup) * 3)))
    results: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "started_at": stamp,
        "git": git_info(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg(),
        },
        "parameters": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "seed": args.seed,
            "scenarios": wanted,
            "database": name,
            "client": "raw asyncio HTTP/1.1 keep-alive on uvloop, orjson",
        },
    }
    server: Server | None = None
    engine: AsyncEngine | None = None
    exit_code = 0
    created = False
    try:
        log(f"creating database {name}")
        await admin_execute(args.database_url, f'CREATE DATABASE "{name}"')
        created = True
        env = server_env(url, secret)
        proc = await asyncio.to_thread(
            subprocess.run,
            [hub_binary(), "migrate"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"hub migrate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        engine = create_async_engine(async_database_url(url), pool_size=2)
        t0 = time.perf_counter()
        seeded = await seed(engine, rng, args.products, args.customers, ample, args.history)
        log(
            f"seeded {seeded.products} products, {len(WAREHOUSES)} warehouses,"
            f" {seeded.customers} customers"
            f" in {time.perf_counter() - t0:.1f}s; hot SKUs {', '.join(seeded.hot_skus)}"
        )
        report["data"] = {
            "products": seeded.products,
            "warehouses": len(WAREHOUSES),
            "customers": seeded.customers,
            "customer_users": len(seeded.buyers),
            "stock_rows": len(seeded.stock_start),
            "hot_skus": seeded.hot_skus,
            "hot_sku_stock": {"SH": 2_000, "GZ": ample, "CD": ample},
            "other_stock": {"SH": "0-40", "GZ": "200-2000", "CD": ample},
        }

        tokens_service = TokenService(secret, 8 * 3600)
        tokens = [
            tokens_service.issue(Principal(uid, email, frozenset({Role.CUSTOMER}), cid)).encode()
            for uid, email, cid in seeded.buyers
        ]

        port = free_port()
        server = Server(url, secret, port, RESULTS / f"{stamp}-server.log", args.redis_url)
        await server.wait_ready()
        log(f"hub serve is up on port {port} (pid {server.proc.pid})")
        gql = Gql("127.0.0.1", port)

        accepted: Counter[str] = Counter()
        accepted_orders = [0]
        scenarios: list[Scenario] = []
        for s in wanted:
            if s == "typename":
                scenarios.append(TypenameScenario(gql))
            elif s == "products":
                cursors = await walk_catalog(gql, port, tokens[0])
                log(f"walked the catalog: {len(cursors) - 1} page cursors")
                scenarios.append(ProductsScenario(gql, tokens, cursors))
            elif s == "order-spread":
                pool = [x for x in seeded.skus if x not in set(seeded.hot_skus)]
                scenarios.append(SpreadOrderScenario(gql, accepted, accepted_orders, tokens, pool))
            elif s == "order-hot":
                scenarios.append(HotOrderScenario(gql, accepted, accepted_orders, tokens[0], seeded.hot_skus))

        total_errors = 0
        for sc in scenarios:
            waited = await wait_idle(server.proc.pid, name, args.wait_idle) if args.wait_idle > 0 else None
            conns = [HttpConnection("127.0.0.1", port) for _ in range(args.concurrency)]
            for c in conns:
                await c.open()
            rngs = [random.Random(f"{args.seed}-{sc.name}-{i}") for i in range(args.concurrency)]
            log(f"{sc.name}: warm-up {args.warmup:g}s")
            warm = await run_phase(sc, conns, args.warmup, rngs)
            log(f"{sc.name}: measuring {args.duration:g}s with {args.concurrency} clients")
            db0 = await db_counters(engine, name)
            meter = Meter(server.proc.pid, name)
            meter.start()
            measured = await run_phase(sc, conns, args.duration, rngs)
            cpu = meter.stop()
            await asyncio.sleep(1.1)  # backends flush their statistics about once a second
            db1 = await db_counters(engine, name)
            db = {k: db1[k] - db0[k] for k in DB_COUNTERS} if db0 and db1 else {}
            reconnects = sum(c.opened for c in conns) - len(conns)
            for c in conns:
                c.close()
            entry = {
                "name": sc.name,
                "title": sc.title,
                "measured": measured.summary(),
                "warmup": warm.summary(),
                "cpu": cpu,
                "database": db,
                "reconnects": reconnects,
                "waited_for_idle": waited,
            }
            results.append(entry)
            total_errors += measured.errors + warm.errors
            m = entry["measured"]
            log(
                f"{sc.name}: {m['requests']} requests, {m['req_per_s']} req/s,"
                f" p50 {m['latency_ms']['p50']} ms, p99 {m['latency_ms']['p99']} ms,"
                f" errors {m['errors']} (warm-up errors {warm.errors}),"
                f" client CPU {cpu['client_cpu_pct_of_core']}% of a core"
            )
            for sample in (measured.samples + warm.samples)[:5]:
                log(f"  error sample: {sample}")

        report["scenarios"] = results
        if any(sc.is_order for sc in scenarios):
            report["outbox_after_orders"] = await outbox_state(engine, seeded.history_max_event)
            check = await oversell_check(engine, seeded, accepted, accepted_orders[0])
            report["oversell_check"] = check
            log(f"oversell check {'PASSED' if check['passed'] else 'FAILED'}")
            if not check["passed"]:
                exit_code = 1
            await asyncio.sleep(1.0)
            report["outbox_1s_later"] = await outbox_state(engine, seeded.history_max_event)
        if total_errors:
            exit_code = 1
        report["total_errors_including_warmup"] = total_errors
    except Exception as e:  # noqa: BLE001 - reported, written to the results, exit status 2
        import traceback

        traceback.print_exc()
        report["fatal_error"] = f"{type(e).__name__}: {e}"
        report["scenarios"] = results
        exit_code = 2
    finally:
        if server is not None:
            rc = server.stop()
            report["server_exit_code"] = rc
            report["server_log"] = {
                "path": str(server.log_path.relative_to(ROOT)),
                **server.log_problems(),
            }
        if engine is not None:
            if server is not None and "outbox_1s_later" in report:
                try:
                    report["outbox_after_server_stop"] = await outbox_state(engine, seeded.history_max_event)
                except Exception as e:  # noqa: BLE001 - informative only
                    report["outbox_after_server_stop"] = {"error": repr(e)}
            await engine.dispose()
        if created and not args.keep_db:
            try:
                await admin_execute(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                log(f"dropped database {name}")
            except Exception as e:  # noqa: BLE001 - report, do not mask the run's own error
                log(f"could not drop database {name}: {e}")
        elif created:
            log(f"kept database {name} ({url})")

    out_path = RESULTS / f"{stamp}.json"
    out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")

    print()
    print(
        f"Ordering hub benchmark, {stamp}, commit {report['git']['commit'][:10]}"
        f"{' (dirty)' if report['git']['dirty'] else ''}; {args.concurrency} clients,"
        f" {args.duration:g}s per scenario after {args.warmup:g}s warm-up;"
        f" {os.cpu_count()} CPUs shared by server, PostgreSQL and load generator."
    )
    print()
    print(markdown(results))
    print()
    print(cpu_markdown(results))
    print()
    print(db_markdown(results))
    print()
    for r in results:
        bd = r["measured"]["error_breakdown"]
        wbd = r["warmup"]["errors"]
        if r["measured"]["errors"] or wbd:
            print(f"- errors in {r['name']}: measured {json.dumps(bd, ensure_ascii=False)}; warm-up {wbd}")
    if "oversell_check" in report:
        c = report["oversell_check"]
        print(
            f"- Oversell check: {'PASSED' if c['passed'] else 'FAILED'} —"
            f" {c['stock_rows']} stock rows, {c['orders_accepted_by_client']} orders /"
            f" {c['units_accepted_by_client']} units accepted,"
            f" {c['units_reserved']} units reserved over {c['skus_with_reservations']} SKUs"
            f" ({c['rows_reserved_outside_first_warehouse']} rows reserved outside the first"
            " warehouse);"
            f" violations {c['violation_counts']}"
        )
        print(
            f"- Outbox after the order scenarios: {report.get('outbox_after_orders')};"
            f" 1 s later: {report.get('outbox_1s_later')};"
            f" after the server stopped: {report.get('outbox_after_server_stop')}"
        )
        after = report.get("outbox_after_server_stop") or {}
        if after.get("events", 0) > after.get("handled", 0):
            print(
                f"- NOTE: {after['events'] - after['handled']} outbox events were never handled"
                " by the time the server had shut down (see the report)"
            )
    if "server_log" in report:
        sl = report["server_log"]
        print(
            f"- Server log {sl['path']}: {sl['lines']} lines, {sl['error_lines']} ERROR,"
            f" {sl['warning_lines']} WARNING, {sl['tracebacks']} tracebacks;"
            f" {'graceful shutdown' if sl['graceful_shutdown'] else 'NO graceful shutdown'}"
            f" (exit code {report.get('server_exit_code')};"
            " -15 is uvicorn re-raising SIGTERM after shutdown)"
        )
    busy = [r["name"] for r in results if r["cpu"]["other_cpu_pct_of_core"] > 15]
    if busy:
        print(
            f"- WARNING: other processes used > 15 % of a core during {', '.join(busy)}:"
            " those numbers understate the hub (see the CPU table; --wait-idle S helps)"
        )
    if "fatal_error" in report:
        print(f"- FATAL: the run stopped early: {report['fatal_error']}")
    print(f"- Total errors, warm-up included: {report.get('total_errors_including_warmup', 'n/a')}")
    print(f"- Results: {out_path.relative_to(ROOT)}")
    return exit_code


async def walk_catalog(gql: Gql, port: int, token: bytes) -> list[str | None]:
    """Real `after` cursors, one per page of 20, by walking the catalog through the API."""
    conn = HttpConnection("127.0.0.1", port)
    cursors: list[str | None] = [None]
    after: str | None = None
    try:
        while True:
            variables = {"first": 20, "after": after, "search": None}
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await conn.request(gql.post(PRODUCTS_QUERY, variables, "Products", token))
            if status != 200:
                raise RuntimeError(f"walking the catalog: HTTP {status}: {body[:300]!r}")
            doc = orjson.loads(body)
            if doc.get("errors") or not doc.get("data", {}).get("products"):
                raise RuntimeError(f"walking the catalog: {body[:500]!r}")
            info = doc["data"]["products"]["pageInfo"]
            if not info["hasNextPage"]:
                return cursors
            after = info["endCursor"]
            cursors.append(after)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="measured seconds per scenario (default 20)"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per scenario (default 3)")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent keep-alive clients (default 16)"
    )
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin connection; the benchmark database is created beside it and dropped after",
    )
    parser.add_argument("--products", type=int, default=2400, help="products to seed (default 2400)")
    parser.add_argument(
        "--customers",
        type=int,
        default=240,
        help="customers (one CUSTOMER user each) to seed (default 240)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=20_000,
        help="completed orders (3 lines each) seeded as history before the run (default 20000)",
    )
    parser.add_argument("--seed", type=int, default=20261125, help="random seed (default 20261125)")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIO_NAMES),
        help=f"comma-separated subset of {','.join(SCENARIO_NAMES)}",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="before each scenario wait up to S seconds for other processes to go quiet (default 0: don't)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--redis-url",
        default=None,
        help="production shape: HUB_REDIS_URL for the server and one `hub worker` process"
        " (default: embedded in-process jobs)",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.concurrency < 1:
        parser.error("--duration must be > 0, --warmup >= 0, --concurrency >= 1")
    if args.products < 10 or args.customers < 1:
        parser.error("--products must be >= 10 and --customers >= 1")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a runtime dependency of the hub
        return asyncio.run(main_async(args))
    return uvloop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
