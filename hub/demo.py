"""The demo data set: a plumbing and hardware supplier (卫浴五金) and its trade customers.

Deterministic (seeded), loaded once: running ``hub demo`` again keeps the data and reprints
the logins.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from sqlalchemy import select

from hub.db import Database
from hub.domain.auth.models import Role, User
from hub.domain.auth.passwords import hash_password
from hub.domain.auth.principal import Principal
from hub.domain.catalog.models import Category, Product
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError
from hub.domain.inventory.models import Stock, Warehouse
from hub.domain.orders.decisions import approve_order, cancel_order
from hub.domain.orders.placement import create_order
from hub.domain.pricing.quotes import LineInput
from hub.settings import Settings

__all__ = ["DEMO_ADMIN", "load_demo"]

DEMO_ADMIN = "admin@demo.hub"

CATEGORIES: dict[str, tuple[str, list[str], tuple[int, int]]] = {
    # name: (SKU prefix, product stems, price range in CNY)
    "Faucets 龙头": (
        "FAU",
        ["Basin mixer", "Kitchen pull-out mixer", "Wall tap", "Sensor tap", "Bib tap", "Bath filler"],
        (80, 900),
    ),
    "Showers 花洒": (
        "SHW",
        [
            "Rain shower set",
            "Hand shower",
            "Thermostatic column",
            "Shower arm",
            "Slide rail kit",
            "Shower hose",
        ],
        (40, 2400),
    ),
    "Sinks 水槽": (
        "SNK",
        [
            "Single-bowl sink",
            "Double-bowl sink",
            "Undermount sink",
            "Utility sink",
            "Bar sink",
            "Sink strainer",
        ],
        (60, 1800),
    ),
    "Toilets 马桶": (
        "TOI",
        [
            "Close-coupled toilet",
            "Wall-hung toilet",
            "Smart toilet seat",
            "Cistern",
            "Flush valve",
            "Soft-close seat",
        ],
        (90, 5200),
    ),
    "Pipes & fittings 管件": (
        "PIP",
        ["PPR pipe 20mm", "PPR pipe 25mm", "PVC elbow", "Brass tee", "Union coupling", "Reducer"],
        (2, 60),
    ),
    "Valves 阀门": (
        "VAL",
        [
            "Ball valve DN15",
            "Ball valve DN20",
            "Angle valve",
            "Check valve",
            "Gate valve",
            "Pressure reducer",
        ],
        (12, 380),
    ),
    "Hand tools 手动工具": (
        "HTL",
        ["Pipe wrench", "Adjustable spanner", "Hex key set", "Pliers", "Tube cutter", "Screwdriver set"],
        (15, 260),
    ),
    "Power tools 电动工具": (
        "PTL",
        ["Cordless drill", "Impact driver", "Angle grinder", "Rotary hammer", "Jigsaw", "Heat gun"],
        (180, 1600),
    ),
    "Fasteners 紧固件": (
        "FST",
        ["Wall anchor pack", "Stainless screws", "Hex bolts", "Pipe clamp", "Threaded rod", "Washer pack"],
        (3, 45),
    ),
    "Electrical 电工": (
        "ELC",
        ["Wall socket", "Switch panel", "Cable 2.5mm²", "Junction box", "Circuit breaker", "Conduit"],
        (6, 320),
    ),
    "Lighting 照明": (
        "LGT",
        ["LED panel", "Downlight", "Mirror light", "Strip light 5m", "Ceiling lamp", "Waterproof batten"],
        (25, 680),
    ),
    "Sealants & adhesives 胶粘": (
        "SEA",
        [
            "Silicone sealant",
            "PTFE tape",
            "Tile adhesive",
            "Epoxy glue",
            "Pipe thread sealant",
            "Foam filler",
        ],
        (4, 90),
    ),
}
VARIANTS = ["chrome", "brushed nickel", "matte black", "white", "standard"]
WAREHOUSES = [
    ("SH", "Shanghai central warehouse", 10),
    ("GZ", "Guangzhou south warehouse", 20),
    ("CD", "Chengdu west warehouse", 30),
]
GROUPS = [
    ("T1", "Tier-1 distributors 一级经销商"),
    ("T2", "Tier-2 dealers 二级经销商"),
    ("RS", "Retail stores 门店"),
]
REGIONS = ["East China 华东", "South China 华南", "North China 华北", "Southwest 西南", "Central China 华中"]
CITIES = [
    "Shanghai",
    "Hangzhou",
    "Suzhou",
    "Guangzhou",
    "Shenzhen",
    "Foshan",
    "Beijing",
    "Tianjin",
    "Chengdu",
    "Chongqing",
    "Wuhan",
    "Changsha",
]
BRANDS = ["Hengtong", "Xinda", "Jinhua", "Ruifeng", "Tianyi", "Baosheng", "Huamei"]
TRADES = ["Building Materials", "Plumbing Supply", "Hardware Trading", "Home Improvement", "Sanitary Ware"]
STAFF = [
    ("admin@demo.hub", "admin-demo-1", Role.ADMIN),
    ("sales@demo.hub", "sales-demo-1", Role.SALES),
    ("manager@demo.hub", "manager-demo-1", Role.SALES_MANAGER),
    ("director@demo.hub", "director-demo-1", Role.DIRECTOR),
    ("finance@demo.hub", "finance-demo-1", Role.FINANCE),
    ("warehouse@demo.hub", "warehouse-demo-1", Role.WAREHOUSE),
]
CUSTOMER_COUNT = 24


def _password(i: int) -> str:
    return f"buyer-demo-{i:02d}"


def _logins(customers: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    rows = [(e, p, r.value) for e, p, r in STAFF]
    rows += [
        (f"buyer{i:02d}@demo.hub", _password(i), f"CUSTOMER of {code} {name}")
        for i, (code, name) in enumerate(customers, 1)
    ]
    return rows


async def load_demo(settings: Settings) -> list[tuple[str, str, str]]:
    """Load the demo set unless it is there; returns (email, password, roles) per login."""
    db = Database(settings)
    try:
        async with db.read() as session:
            if await session.scalar(select(User.id).where(User.email == DEMO_ADMIN)) is not None:
                rows = (
                    await session.execute(select(Customer.code, Customer.name).order_by(Customer.id))
                ).all()
                return _logins([(c, n) for c, n in rows][:CUSTOMER_COUNT])
        rng = random.Random(20261125)
        async with db.write() as session:
            customers = await _load(session, rng)
        await _place_demo_orders(db, rng)
        return _logins(customers)
    finally:
        await db.dispose()


async def _load(session, rng: random.Random) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    warehouses = [Warehouse(code=c, name=n, priority=p) for c, n, p in WAREHOUSES]
    groups = [CustomerGroup(code=c, name=n) for c, n in GROUPS]
    session.add_all(warehouses + groups)
    await session.flush()
    products: list[Product] = []
    for cat_name, (prefix, stems, (lo, hi)) in CATEGORIES.items():
        category = Category(name=cat_name)
        session.add(category)
        await session.flush()
        n = 0
        for stem in stems:
            for variant in rng.sample(VARIANTS, 3):
                n += 1
                price = Decimal(rng.randint(lo * 100, hi * 100)) / 100
                cost = (price * Decimal(rng.randint(55, 80)) / 100).quantize(Decimal("0.01"))
                products.append(
                    Product(
                        sku=f"{prefix}-{1000 + n}",
                        name=f"{stem}, {variant}",
                        unit="pcs" if prefix not in {"PIP", "FST"} else rng.choice(["pcs", "box", "m"]),
                        category_id=category.id,
                        base_price=price.quantize(Decimal("0.01")),
                        cost_price=cost,
                        active=True,
                    )
                )
    session.add_all(products)
    await session.flush()
    stock = []
    for product in products:
        for w in warehouses:
            roll = rng.random()
            qty = 0 if roll < 0.1 else rng.randint(1, 12) if roll < 0.2 else rng.randint(20, 800)
            stock.append(Stock(product_id=product.id, warehouse_id=w.id, on_hand=qty, reserved=0))
    session.add_all(stock)
    customers: list[Customer] = []
    for i in range(1, CUSTOMER_COUNT + 1):
        city = CITIES[(i - 1) % len(CITIES)]
        group = groups[(i - 1) % len(groups)]
        customers.append(
            Customer(
                code=f"C{i:04d}",
                name=f"{city} {rng.choice(BRANDS)} {rng.choice(TRADES)} Co.",
                credit_limit=Decimal(rng.choice([50_000, 100_000, 200_000, 500_000])),
                group_id=group.id,
                region=REGIONS[(i - 1) % len(REGIONS)],
                active=True,
            )
        )
    session.add_all(customers)
    await session.flush()
    staff_hashes = await asyncio.gather(*(hash_password(p) for _e, p, _r in STAFF))
    buyer_hashes = await asyncio.gather(*(hash_password(_password(i)) for i in range(1, CUSTOMER_COUNT + 1)))
    users = [
        User(email=e, password_hash=h, roles_text=r.value, active=True)
        for (e, _p, r), h in zip(STAFF, staff_hashes, strict=True)
    ]
    users += [
        User(
            email=f"buyer{i:02d}@demo.hub",
            password_hash=h,
            roles_text=Role.CUSTOMER.value,
            customer_id=c.id,
            active=True,
        )
        for i, (c, h) in enumerate(zip(customers, buyer_hashes, strict=True), 1)
    ]
    session.add_all(users)
    await session.flush()
    return [(c.code, c.name) for c in customers]


async def _place_demo_orders(db: Database, rng: random.Random) -> None:
    """A few orders in different states, placed through the real services."""
    async with db.read() as session:
        buyers = (
            (
                await session.execute(
                    select(User).where(User.customer_id.is_not(None)).order_by(User.id).limit(6)
                )
            )
            .scalars()
            .all()
        )
        manager = (await session.execute(select(User).where(User.email == "manager@demo.hub"))).scalar_one()
        skus = list((await session.execute(select(Product.sku).order_by(Product.id))).scalars())
    boss = Principal(manager.id, manager.email, manager.roles)
    for n, buyer in enumerate(buyers):
        actor = Principal(buyer.id, buyer.email, buyer.roles, buyer.customer_id)
        lines = [LineInput(sku, rng.randint(1, 5)) for sku in rng.sample(skus, 3)]
        try:  # outside the transaction: a refused order must roll back what it wrote
            async with db.write() as session:
                order = await create_order(session, actor, lines=lines, note="Demo order")
        except DomainError:  # a demo line may hit an empty shelf; skip it
            continue
        if n % 3 == 1:
            async with db.write() as session:
                await approve_order(session, boss, order.id, "Demo approval")
        elif n % 3 == 2:
            async with db.write() as session:
                await cancel_order(session, actor, order.id, "Ordered by mistake")
