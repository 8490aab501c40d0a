"""Helpers for tests: a running app, GraphQL calls, seeded data and a statement counter."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.app import create_app
from hub.bootstrap import Runtime
from hub.db import Database
from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.auth.tokens import TokenService
from hub.domain.catalog.models import Category, Product
from hub.domain.customers.models import Customer
from hub.domain.inventory.models import Stock, Warehouse
from hub.settings import Settings

PASSWORD = "correct-horse-battery"
# Hashed once: argon2 is deliberately slow, and tests create many users.
_HASH = PasswordHasher().hash(PASSWORD)


@dataclass
class Seeded:
    """Ids of seeded rows, for building inputs and checking effects."""

    warehouses: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # user label -> bearer token
    users: dict[str, int] = field(default_factory=dict)


class Hub:
    """The app under test plus its database, a GraphQL client and seeding helpers."""

    def __init__(self, settings: Settings, db: Database, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.db = db
        self.client = client
        self.tokens = TokenService(settings.secret_key, settings.token_ttl_seconds)
        self.seeded = Seeded()

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls, settings: Settings, db: Database, runtime: Runtime | None = None
    ) -> AsyncIterator[Hub]:
        app = create_app(settings, db=db, run_jobs=False, runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield cls(settings, db, client)

    # -- calling the API ---------------------------------------------------------------
    async def post(self, body: Any, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.client.post("/graphql", json=body, headers=headers, **kw)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]:
        """Run an operation as seeded user ``as_`` (None: anonymous); returns the JSON body.

        Fails on anything but HTTP 200.
        """
        token = self.seeded.tokens[as_] if as_ else None
        response = await self.post({"query": query, "variables": variables or {}}, token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]:
        """Like :meth:`gql` but asserts there were no GraphQL errors and returns ``data``."""
        body = await self.gql(query, variables, as_=as_)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    # -- seeding -----------------------------------------------------------------------
    async def add_user(
        self, label: str, roles: list[Role], customer: str | None = None, email: str | None = None
    ) -> str:
        """Create a user directly in the database and return (and remember) its token."""
        customer_id = self.seeded.customers[customer] if customer else None
        async with self.db.write() as s:
            user = User(
                email=email or f"{label}@test.hub",
                password_hash=_HASH,
                roles_text=",".join(r.value for r in roles),
                customer_id=customer_id,
                active=True,
            )
            s.add(user)
            await s.flush()
            uid = user.id
        token = self.tokens.issue(Principal(uid, user.email, frozenset(roles), customer_id))
        self.seeded.tokens[label] = token
        self.seeded.users[label] = uid
        return token

    async def add_customer(self, code: str, name: str | None = None, credit_limit: str | None = None) -> int:
        async with self.db.write() as s:
            c = Customer(
                code=code,
                name=name or f"Customer {code}",
                credit_limit=Decimal(credit_limit) if credit_limit else None,
                active=True,
            )
            s.add(c)
            await s.flush()
            self.seeded.customers[code] = c.id
            return c.id

    async def add_warehouse(self, code: str, priority: int = 100) -> int:
        async with self.db.write() as s:
            w = Warehouse(code=code, name=f"Warehouse {code}", priority=priority)
            s.add(w)
            await s.flush()
            self.seeded.warehouses[code] = w.id
            return w.id

    async def add_product(
        self,
        sku: str,
        price: str = "10.00",
        stock: dict[str, int] | None = None,
        *,
        category: str | None = None,
        active: bool = True,
        cost: str | None = None,
    ) -> int:
        async with self.db.write() as s:
            category_id = None
            if category:
                category_id = await s.scalar(select(Category.id).where(Category.name == category))
                if category_id is None:
                    c = Category(name=category)
                    s.add(c)
                    await s.flush()
                    category_id = c.id
            p = Product(
                sku=sku,
                name=f"Product {sku}",
                unit="pcs",
                base_price=Decimal(price),
                cost_price=Decimal(cost) if cost else None,
                category_id=category_id,
                active=active,
            )
            s.add(p)
            await s.flush()
            for wh, qty in (stock or {}).items():
                s.add(
                    Stock(product_id=p.id, warehouse_id=self.seeded.warehouses[wh], on_hand=qty, reserved=0)
                )
            self.seeded.products[sku] = p.id
            return p.id

    async def standard(self) -> None:
        """Two customers with a buyer each, one user per staff role, two warehouses and
        three products with stock."""
        await self.add_customer("ACME", "Acme Trading", credit_limit="100000.00")
        await self.add_customer("BETA", "Beta Supplies")
        for label, role in [
            ("admin", Role.ADMIN), ("sales", Role.SALES), ("manager", Role.SALES_MANAGER),
            ("finance", Role.FINANCE), ("warehouse", Role.WAREHOUSE), ("director", Role.DIRECTOR),
        ]:  # fmt: skip
            await self.add_user(label, [role])
        await self.add_user("acme", [Role.CUSTOMER], customer="ACME")
        await self.add_user("beta", [Role.CUSTOMER], customer="BETA")
        await self.add_warehouse("W1", priority=10)
        await self.add_warehouse("W2", priority=20)
        await self.add_product("SKU-A", "12.50", {"W1": 10, "W2": 5}, category="Valves")
        await self.add_product("SKU-B", "3.33", {"W1": 100}, category="Valves")
        await self.add_product("SKU-C", "99.99", {"W2": 2}, category="Pipes")

    # -- reading state directly ---------------------------------------------------------
    async def count(self, model: type[Any]) -> int:
        async with self.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

    async def stock(self, sku: str) -> list[tuple[str, int, int]]:
        """(warehouse code, on hand, reserved) for a SKU, by warehouse code."""
        async with self.db.read() as s:
            rows = await s.execute(
                select(Warehouse.code, Stock.on_hand, Stock.reserved)
                .join(Warehouse, Warehouse.id == Stock.warehouse_id)
                .where(Stock.product_id == self.seeded.products[sku])
                .order_by(Warehouse.code)
            )
            return [tuple(r) for r in rows.all()]  # type: ignore[misc]

    async def reserved(self, sku: str) -> int:
        return sum(r for _w, _o, r in await self.stock(sku))


@contextlib.contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect every SQL statement the engine sends (an executemany counts once)."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
