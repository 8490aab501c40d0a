"""The SQL forms of the stock rules against the Python rules, on the same generated rows: the
catalog's availability expression and the order placement (on PostgreSQL the one-statement
``_PLACE_PG``, on SQLite the Core path) against :func:`hub.domain.inventory.rules.available` and
:func:`~hub.domain.inventory.rules.allocate`. Runs on SQLite, and on PostgreSQL when
``HUB_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Database
from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.catalog.models import Product
from hub.domain.customers.models import Customer
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.inventory.rules import allocate, available, available_total_sql
from hub.domain.orders import events
from hub.domain.orders.placement import create_order
from hub.domain.outbox.models import OutboxEvent
from hub.domain.pricing.quotes import LineInput

PRODUCTS = 3
WAREHOUSES = 4

# (product index, warehouse index) → (on hand, reserved), or no stock row; reserved may exceed on
# hand (a shortage)
PAIRS = [(p, w) for p in range(PRODUCTS) for w in range(WAREHOUSES)]
stock_rows = st.lists(
    st.one_of(st.none(), st.tuples(st.integers(0, 40), st.integers(0, 25))),
    min_size=len(PAIRS),
    max_size=len(PAIRS),
).map(lambda cells: {pair: cell for pair, cell in zip(PAIRS, cells, strict=True) if cell is not None})
priorities = st.lists(st.integers(0, 2), min_size=WAREHOUSES, max_size=WAREHOUSES)  # ties: by id
demands = st.dictionaries(st.integers(0, PRODUCTS - 1), st.integers(1, 30), min_size=1, max_size=PRODUCTS)


@dataclass(frozen=True)
class World:
    products: list[int]
    skus: list[str]
    warehouses: list[int]
    customer_id: int
    buyer: Principal


async def _seed(db: Database) -> World:
    """Products, warehouses, a customer and its buyer; no stock (each example writes its own)."""
    async with db.write() as s:
        customer = Customer(code="ACME", name="Acme", active=True)
        s.add(customer)
        await s.flush()
        user = User(email="buyer@test.hub", password_hash="x", roles_text="CUSTOMER", customer_id=customer.id)
        products = [
            Product(sku=f"P{i}", name=f"Product {i}", unit="pcs", base_price=Decimal("1.00"), active=True)
            for i in range(PRODUCTS)
        ]
        warehouses = [Warehouse(code=f"W{i}", name=f"Warehouse {i}", priority=0) for i in range(WAREHOUSES)]
        s.add_all([user, *products, *warehouses])
        await s.flush()
        buyer = Principal(user.id, user.email, frozenset({Role.CUSTOMER}), customer.id)
        return World(
            [p.id for p in products],
            [p.sku for p in products],
            [w.id for w in warehouses],
            customer.id,
            buyer,
        )


class _Rollback(Exception):
    pass


async def _stock(session: AsyncSession) -> dict[int, tuple[int, int]]:
    rows = await session.execute(select(Stock.id, Stock.on_hand, Stock.reserved))
    return {sid: (on_hand, reserved) for sid, on_hand, reserved in rows}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
@given(rows=stock_rows, priority=priorities, demand=demands, data=st.data())
async def test_the_sql_forms_of_availability_and_allocation_agree_with_the_python_rules(
    db: Database,
    rows: dict[tuple[int, int], tuple[int, int]],
    priority: list[int],
    demand: dict[int, int],
    data: st.DataObject,
) -> None:
    world = getattr(db, "_rules_world", None)
    if world is None:
        world = await _seed(db)
        db._rules_world = world  # type: ignore[attr-defined]  # seeded once per test
    line_order = data.draw(st.permutations(sorted(demand)))
    try:
        async with db.write() as s:
            # given warehouses with generated priorities and generated stock rows
            for wid, p in zip(world.warehouses, priority, strict=True):
                await s.execute(update(Warehouse).where(Warehouse.id == wid).values(priority=p))
            sid_of: dict[tuple[int, int], int] = {}
            for (pi, wi), (on_hand, reserved) in rows.items():
                values = {
                    "product_id": world.products[pi],
                    "warehouse_id": world.warehouses[wi],
                    "on_hand": on_hand,
                    "reserved": reserved,
                }
                sid_of[pi, wi] = (
                    await s.execute(insert(Stock).values(values).returning(Stock.id))
                ).scalar_one()
            before = await _stock(s)

            # then the catalog's availability is the Python rule summed over warehouses
            product_ids = Product.__table__.c.id
            found = dict((await s.execute(select(product_ids, available_total_sql(product_ids)))).all())
            assert found == {
                pid: sum(available(*rows[pi, wi]) for wi in range(WAREHOUSES) if (pi, wi) in rows)
                for pi, pid in enumerate(world.products)
            }

            # when the buyer orders the demand
            in_lock_order = sorted(
                rows, key=lambda k: (world.products[k[0]], priority[k[1]], world.warehouses[k[1]])
            )
            python_rows = [(sid_of[k], world.products[k[0]], *rows[k]) for k in in_lock_order]
            expected, shortages = allocate(python_rows, {world.products[pi]: q for pi, q in demand.items()})
            lines = [LineInput(world.skus[pi], demand[pi]) for pi in line_order]
            event("short" if shortages else "covered")
            try:
                order = await create_order(s, world.buyer, lines=lines)
            except DomainError as e:
                # then a short product is refused with what the Python rule finds available,
                # and no stock changes
                assert shortages, e.problems
                assert [(p.code, p.field, p.message) for p in e.problems] == [
                    (
                        ErrorCode.INSUFFICIENT_STOCK,
                        f"lines.{line_order.index(pi)}.quantity",
                        f"Only {x.available} of {world.skus[pi]} available; {x.requested} requested",
                    )
                    for x in shortages
                    for pi in [world.products.index(x.product_id)]
                ]
                assert await _stock(s) == before
                raise _Rollback() from None

            # then it reserves exactly what the Python rule allocates, row by row
            assert not shortages
            reservations = await s.execute(
                select(Reservation.stock_id, Reservation.quantity).where(Reservation.order_id == order.id)
            )
            assert sorted(tuple(r) for r in reservations) == sorted(
                (a.stock_id, a.quantity) for a in expected
            )
            taken = {a.stock_id: a.quantity for a in expected}
            assert await _stock(s) == {
                sid: (on_hand, reserved + taken.get(sid, 0)) for sid, (on_hand, reserved) in before.items()
            }
            # and its outbox event carries the builder's payload, fields in the builder's order
            payload = await s.scalar(select(OutboxEvent.payload).where(OutboxEvent.aggregate_id == order.id))
            built = events.placed(order.id, world.customer_id, order.total, "CNY").payload
            assert list(payload.items()) == list(built.items())
            raise _Rollback()
    except _Rollback:
        pass  # nothing of the example stays
