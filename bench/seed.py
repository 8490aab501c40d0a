"""Benchmark databases and the API benchmark's data set.

A benchmark database is created beside an administrator's connection URL, migrated with
``hub migrate`` and dropped afterwards (both benchmarks). :func:`seed` writes the API
benchmark's data directly with SQLAlchemy Core (no argon2, no API calls); the same
``random.Random`` seed gives the same data."""

from __future__ import annotations

import asyncio
import random
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import ROOT
from bench.report import log
from bench.server import hub_binary
from hub.domain.auth.models import Role, User
from hub.domain.catalog.models import Category, Product
from hub.domain.customers.models import Customer, CustomerGroup, Region
from hub.domain.inventory.models import Stock, Warehouse

# ---------------------------------------------------------------------------------------------
# Database lifecycle
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


async def create_database(admin_url: str, name: str) -> None:
    log(f"creating database {name}")
    await admin_execute(admin_url, f'CREATE DATABASE "{name}"')


async def migrate(env: dict[str, str], limit_s: float | None = None) -> None:
    """``hub migrate`` with the environment of the processes under test."""
    proc = await asyncio.to_thread(
        subprocess.run,
        [hub_binary(), "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=limit_s,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hub migrate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


async def drop_database(admin_url: str, name: str, url: str, keep: bool) -> None:
    """Drop the benchmark database (``--keep-db``: keep it and say where it is)."""
    if keep:
        log(f"kept database {name} ({url})")
        return
    try:
        await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped database {name}")
    except Exception as e:  # noqa: BLE001 - report, do not mask the run's own error
        log(f"could not drop database {name}: {e}")


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
        await conn.execute(
            insert(Region.__table__), [{"code": n.upper().replace(" ", "-"), "name": n} for n in REGIONS]
        )
        region_ids = [
            rid
            for (rid,) in (
                await conn.execute(select(Region.__table__.c.id).order_by(Region.__table__.c.id))
            ).all()
        ]
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
                "region_id": region_ids[i % len(region_ids)],
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
