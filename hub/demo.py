"""The demo data set: a plumbing and hardware supplier (卫浴五金) and its trade customers.

Product and customer names are in Chinese with the English beside them (``products(search:
"阀")`` finds the valves); each customer is in the sales region of its city (上海 → 华东 …).

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
from hub.domain.customers.models import Customer, CustomerGroup, Region
from hub.domain.errors import DomainError
from hub.domain.inventory.models import Stock, Warehouse
from hub.domain.orders.decisions import approve_order, cancel_order
from hub.domain.orders.placement import create_order
from hub.domain.pricing.quotes import LineInput
from hub.settings import Settings

__all__ = ["DEMO_ADMIN", "load_demo"]

DEMO_ADMIN = "admin@demo.hub"

CATEGORIES: dict[str, tuple[str, list[tuple[str, str]], tuple[int, int]]] = {
    # name: (SKU prefix, product stems in Chinese and English, price range in CNY)
    "Faucets 龙头": (
        "FAU",
        [
            ("面盆龙头", "Basin mixer"),
            ("厨房抽拉龙头", "Kitchen pull-out mixer"),
            ("入墙龙头", "Wall tap"),
            ("感应龙头", "Sensor tap"),
            ("洗衣机龙头", "Bib tap"),
            ("浴缸龙头", "Bath filler"),
        ],
        (80, 900),
    ),
    "Showers 花洒": (
        "SHW",
        [
            ("顶喷花洒套装", "Rain shower set"),
            ("手持花洒", "Hand shower"),
            ("恒温花洒柱", "Thermostatic column"),
            ("花洒弯管", "Shower arm"),
            ("升降杆套装", "Slide rail kit"),
            ("花洒软管", "Shower hose"),
        ],
        (40, 2400),
    ),
    "Sinks 水槽": (
        "SNK",
        [
            ("单槽水槽", "Single-bowl sink"),
            ("双槽水槽", "Double-bowl sink"),
            ("台下水槽", "Undermount sink"),
            ("洗衣水槽", "Utility sink"),
            ("吧台水槽", "Bar sink"),
            ("水槽提笼", "Sink strainer"),
        ],
        (60, 1800),
    ),
    "Toilets 马桶": (
        "TOI",
        [
            ("连体马桶", "Close-coupled toilet"),
            ("壁挂马桶", "Wall-hung toilet"),
            ("智能马桶盖", "Smart toilet seat"),
            ("水箱", "Cistern"),
            ("冲水阀", "Flush valve"),
            ("缓降盖板", "Soft-close seat"),
        ],
        (90, 5200),
    ),
    "Pipes & fittings 管件": (
        "PIP",
        [
            ("PPR 管 20mm", "PPR pipe 20mm"),
            ("PPR 管 25mm", "PPR pipe 25mm"),
            ("PVC 弯头", "PVC elbow"),
            ("黄铜三通", "Brass tee"),
            ("活接", "Union coupling"),
            ("异径接头", "Reducer"),
        ],
        (2, 60),
    ),
    "Valves 阀门": (
        "VAL",
        [
            ("球阀 DN15", "Ball valve DN15"),
            ("球阀 DN25", "Ball valve DN25"),
            ("角阀", "Angle valve"),
            ("止回阀", "Check valve"),
            ("闸阀 DN50", "Gate valve DN50"),
            ("减压阀", "Pressure reducer"),
        ],
        (12, 380),
    ),
    "Hand tools 手动工具": (
        "HTL",
        [
            ("管钳", "Pipe wrench"),
            ("活动扳手", "Adjustable spanner"),
            ("内六角扳手套装", "Hex key set"),
            ("钳子", "Pliers"),
            ("割管器", "Tube cutter"),
            ("螺丝刀套装", "Screwdriver set"),
        ],
        (15, 260),
    ),
    "Power tools 电动工具": (
        "PTL",
        [
            ("充电手钻", "Cordless drill"),
            ("冲击起子", "Impact driver"),
            ("角磨机", "Angle grinder"),
            ("电锤", "Rotary hammer"),
            ("曲线锯", "Jigsaw"),
            ("热风枪", "Heat gun"),
        ],
        (180, 1600),
    ),
    "Fasteners 紧固件": (
        "FST",
        [
            ("膨胀管", "Wall anchor pack"),
            ("不锈钢螺丝", "Stainless screws"),
            ("外六角螺栓", "Hex bolts"),
            ("管卡", "Pipe clamp"),
            ("丝杆", "Threaded rod"),
            ("垫片", "Washer pack"),
        ],
        (3, 45),
    ),
    "Electrical 电工": (
        "ELC",
        [
            ("墙壁插座", "Wall socket"),
            ("开关面板", "Switch panel"),
            ("电线 2.5mm²", "Cable 2.5mm²"),
            ("接线盒", "Junction box"),
            ("断路器", "Circuit breaker"),
            ("线管", "Conduit"),
        ],
        (6, 320),
    ),
    "Lighting 照明": (
        "LGT",
        [
            ("LED 面板灯", "LED panel"),
            ("筒灯", "Downlight"),
            ("镜前灯", "Mirror light"),
            ("灯带 5m", "Strip light 5m"),
            ("吸顶灯", "Ceiling lamp"),
            ("防水支架灯", "Waterproof batten"),
        ],
        (25, 680),
    ),
    "Sealants & adhesives 胶粘": (
        "SEA",
        [
            ("硅酮密封胶", "Silicone sealant"),
            ("生料带", "PTFE tape"),
            ("瓷砖胶", "Tile adhesive"),
            ("环氧胶", "Epoxy glue"),
            ("螺纹密封胶", "Pipe thread sealant"),
            ("发泡胶", "Foam filler"),
        ],
        (4, 90),
    ),
}
VARIANTS = [("镀铬", "chrome"), ("拉丝镍", "brushed nickel"), ("哑光黑", "matte black"), ("白色", "white"),
            ("标准", "standard")]  # fmt: skip
WAREHOUSES = [
    ("SH", "Shanghai central warehouse 上海中心仓", 10),
    ("GZ", "Guangzhou south warehouse 广州华南仓", 20),
    ("CD", "Chengdu west warehouse 成都西南仓", 30),
]
GROUPS = [
    ("T1", "Tier-1 distributors 一级经销商"),
    ("T2", "Tier-2 dealers 二级经销商"),
    ("RS", "Retail stores 门店"),
]
EAST, SOUTH, NORTH, SOUTHWEST, CENTRAL = (
    "East China 华东",
    "South China 华南",
    "North China 华北",
    "Southwest 西南",
    "Central China 华中",
)
REGIONS = [EAST, SOUTH, NORTH, SOUTHWEST, CENTRAL]
# Region codes by name: the demo's Region rows.
REGION_CODES = {EAST: "EAST", SOUTH: "SOUTH", NORTH: "NORTH", SOUTHWEST: "SOUTHWEST", CENTRAL: "CENTRAL"}
# Each customer's city, in Chinese and English, and the sales region it belongs to.
CITIES: list[tuple[str, str, str]] = [
    ("上海", "Shanghai", EAST),
    ("杭州", "Hangzhou", EAST),
    ("苏州", "Suzhou", EAST),
    ("广州", "Guangzhou", SOUTH),
    ("深圳", "Shenzhen", SOUTH),
    ("佛山", "Foshan", SOUTH),
    ("北京", "Beijing", NORTH),
    ("天津", "Tianjin", NORTH),
    ("成都", "Chengdu", SOUTHWEST),
    ("重庆", "Chongqing", SOUTHWEST),
    ("武汉", "Wuhan", CENTRAL),
    ("长沙", "Changsha", CENTRAL),
]
BRANDS = [("恒通", "Hengtong"), ("鑫达", "Xinda"), ("金华", "Jinhua"), ("瑞丰", "Ruifeng"),
          ("天一", "Tianyi"), ("宝盛", "Baosheng"), ("华美", "Huamei")]  # fmt: skip
TRADES = [("建材", "Building Materials"), ("水暖", "Plumbing Supply"), ("五金", "Hardware Trading"),
          ("家装", "Home Improvement"), ("卫浴", "Sanitary Ware")]  # fmt: skip
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
    regions = {name: Region(code=REGION_CODES[name], name=name) for name in REGIONS}
    session.add_all(warehouses + groups + list(regions.values()))
    await session.flush()
    products: list[Product] = []
    for cat_name, (prefix, stems, (lo, hi)) in CATEGORIES.items():
        category = Category(name=cat_name)
        session.add(category)
        await session.flush()
        n = 0
        for zh, en in stems:
            for variant_zh, variant_en in rng.sample(VARIANTS, 3):
                n += 1
                price = Decimal(rng.randint(lo * 100, hi * 100)) / 100
                cost = (price * Decimal(rng.randint(55, 80)) / 100).quantize(Decimal("0.01"))
                products.append(
                    Product(
                        sku=f"{prefix}-{1000 + n}",
                        name=f"{zh} {en}, {variant_zh} {variant_en}",
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
        city_zh, city_en, region = CITIES[(i - 1) % len(CITIES)]
        group = groups[(i - 1) % len(groups)]
        brand_zh, brand_en = rng.choice(BRANDS)
        trade_zh, trade_en = rng.choice(TRADES)
        customers.append(
            Customer(
                code=f"C{i:04d}",
                # e.g. 上海恒通建材有限公司 Shanghai Hengtong Building Materials Co.
                name=f"{city_zh}{brand_zh}{trade_zh}有限公司 {city_en} {brand_en} {trade_en} Co.",
                credit_limit=Decimal(rng.choice([50_000, 100_000, 200_000, 500_000])),
                group_id=group.id,
                region_id=regions[region].id,  # the region its city is in
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
