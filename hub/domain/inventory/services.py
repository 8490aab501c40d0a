"""Warehouses, stock levels and the atomic reservation of stock for orders.

Concurrency rule: a transaction that changes more than one stock row locks them through
:func:`_lock_stock`, always ordered by (product, warehouse priority, warehouse id). Every writer
takes its locks in the same order, so writers queue instead of deadlocking. On SQLite the write
transaction itself is exclusive (BEGIN IMMEDIATE). CHECK constraints keep quantities
non-negative as a backstop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, any_, bindparam, case, delete, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.wms import MAX_QUANTITY as WMS_MAX_QUANTITY
from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import table_of, utcnow
from hub.domain.catalog.models import Product
from hub.domain.errors import DomainError
from hub.domain.fastsql import Statement, is_postgresql
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.inventory.rules import Shortage, allocate
from hub.domain.validation import check_code, check_text

__all__ = [
    "consume_order",
    "StockView",
    "create_warehouse",
    "list_warehouses",
    "release_order",
    "reserve",
    "set_stock",
]

MAX_QUANTITY = WMS_MAX_QUANTITY  # one bound for stock, whether staff or a warehouse reports it


@dataclass(frozen=True, slots=True)
class StockView:
    sku: str
    warehouse_code: str
    on_hand: int
    reserved: int


async def list_warehouses(session: AsyncSession, actor: Principal) -> list[Warehouse]:
    """Every warehouse in reservation order, for staff.

    Raises:
        DomainError: PERMISSION_DENIED for customer users.
    """
    require(actor, Action.WAREHOUSE_LIST)
    stmt = select(Warehouse).order_by(Warehouse.priority, Warehouse.id)
    return list((await session.execute(stmt)).scalars())


async def create_warehouse(
    session: AsyncSession, actor: Principal, *, code: str, name: str, priority: int = 100
) -> Warehouse:
    """Raises: DomainError PERMISSION_DENIED unless ADMIN; INVALID for a bad or taken code."""
    require(actor, Action.WAREHOUSE_MANAGE)
    clean_code = check_code(code, "code", max_len=40)
    clean_name = check_text(name, "name", max_len=200)
    if not 0 <= priority <= 10_000:
        raise DomainError.invalid("priority must be between 0 and 10000", "priority")
    if await session.scalar(select(Warehouse.id).where(Warehouse.code == clean_code)) is not None:
        raise DomainError.invalid("A warehouse with this code already exists", "code")
    warehouse = Warehouse(code=clean_code, name=clean_name, priority=priority)
    session.add(warehouse)
    await session.flush()
    return warehouse


async def set_stock(
    session: AsyncSession, actor: Principal, *, sku: str, warehouse_code: str, quantity: int
) -> StockView:
    """Set the on-hand quantity of ``sku`` in a warehouse (a count is the truth).

    Reserved stays as it is; on hand below reserved is a shortage shown as 0 available.

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN or WAREHOUSE; INVALID for a negative or
            huge quantity; NOT_FOUND for an unknown SKU or warehouse.
    """
    require(actor, Action.STOCK_SET)
    if not 0 <= quantity <= MAX_QUANTITY:
        raise DomainError.invalid(f"quantity must be between 0 and {MAX_QUANTITY}", "quantity")
    product_id = await session.scalar(select(Product.id).where(Product.sku == sku))
    if product_id is None:
        raise DomainError.not_found("Product", "sku")
    warehouse_id = await session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse_code))
    if warehouse_id is None:
        raise DomainError.not_found("Warehouse", "warehouseCode")
    insert = pg_insert if is_postgresql(session) else sqlite_insert
    now = utcnow()
    values = insert(Stock).values(
        product_id=product_id, warehouse_id=warehouse_id, on_hand=quantity, reserved=0, updated_at=now
    )
    stmt = values.on_conflict_do_update(
        index_elements=[Stock.product_id, Stock.warehouse_id],
        set_={"on_hand": quantity, "updated_at": now},
    ).returning(Stock.on_hand, Stock.reserved)
    on_hand, reserved = (await session.execute(stmt)).one()
    return StockView(sku, warehouse_code, int(on_hand), int(reserved))


async def _lock_stock(session: AsyncSession, product_ids: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """Lock and return (stock id, product id, on hand, reserved) in the global lock order."""
    rows = await _LOCK_STOCK.all(session, {"product_ids": list(product_ids)})
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# Built once: constructing a statement costs more than a round trip to the database.
_LOCK_BASE = (
    select(Stock.id, Stock.product_id, Stock.on_hand, Stock.reserved)
    .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    .order_by(Stock.product_id, Warehouse.priority, Warehouse.id)
)
_LOCK_STOCK = Statement(
    # SQLite: the write transaction itself is the lock (BEGIN IMMEDIATE).
    _LOCK_BASE.where(Stock.product_id.in_(bindparam("product_ids", expanding=True))),
    pg=_LOCK_BASE.where(
        Stock.product_id == any_(bindparam("product_ids", type_=ARRAY(Integer)))
    ).with_for_update(of=Stock),
)


_INSERT_RESERVATION = insert(table_of(Reservation))
_stock = table_of(Stock)
# A Core statement run with a list of parameters: one executemany, whatever the count.
_ADD_RESERVED = (
    update(_stock)
    .where(_stock.c.id == bindparam("sid"))
    .values(reserved=_stock.c.reserved + bindparam("q"), updated_at=bindparam("now"))
)


async def reserve(session: AsyncSession, order_id: int, demand: Mapping[int, int]) -> list[Shortage]:
    """Reserve ``demand`` (product id → quantity) for an order, all or nothing.

    Allocated by :func:`hub.domain.inventory.rules.allocate`: warehouses by priority, one
    product split across them if need be, none taken below zero available. Returns the
    shortages, one per product that cannot be covered; when there are any, nothing has been
    changed.
    """
    # the rows stay locked until the transaction ends
    allocations, shortages = allocate(await _lock_stock(session, sorted(demand)), demand)
    if shortages:
        return shortages
    now = utcnow()
    await session.execute(
        _ADD_RESERVED, [{"sid": a.stock_id, "q": a.quantity, "now": now} for a in allocations]
    )
    await session.execute(
        _INSERT_RESERVATION,
        [
            {"order_id": order_id, "stock_id": a.stock_id, "quantity": a.quantity, "created_at": now}
            for a in allocations
        ],
    )
    return []


async def _held(session: AsyncSession, order_id: int, warehouse_id: int | None = None) -> dict[int, int]:
    """Units reserved for an order (in one warehouse, when given) per stock row, the rows locked
    in the global lock order."""
    stmt = (
        select(Reservation.stock_id, Reservation.quantity, Stock.product_id)
        .join(Stock, Stock.id == Reservation.stock_id)
        .where(Reservation.order_id == order_id)
    )
    if warehouse_id is not None:
        stmt = stmt.where(Stock.warehouse_id == warehouse_id)
    held = (await session.execute(stmt)).all()
    if not held:
        return {}
    await _lock_stock(session, sorted({r[2] for r in held}))
    per_stock: dict[int, int] = {}
    for stock_id, quantity, _pid in held:
        per_stock[stock_id] = per_stock.get(stock_id, 0) + quantity
    return per_stock


async def release_order(session: AsyncSession, order_id: int) -> int:
    """Give back every unit reserved for an order; returns how many units were released.

    The caller must already have moved the order out of its reserving state in this
    transaction (a conditional status update), so that racing cancels release once.
    """
    per_stock = await _held(session, order_id)
    if not per_stock:
        return 0
    now = utcnow()
    await session.execute(
        _ADD_RESERVED, [{"sid": sid, "q": -q, "now": now} for sid, q in sorted(per_stock.items())]
    )
    await session.execute(delete(Reservation).where(Reservation.order_id == order_id))
    return sum(per_stock.values())


_TAKE = (
    update(_stock)
    .where(_stock.c.id == bindparam("sid"))
    .values(
        on_hand=case((_stock.c.on_hand > bindparam("q"), _stock.c.on_hand - bindparam("q")), else_=0),
        reserved=_stock.c.reserved - bindparam("q"),
        updated_at=bindparam("now"),
    )
)


async def consume_order(session: AsyncSession, order_id: int, warehouse_id: int | None = None) -> int:
    """The order's goods left the warehouse (one warehouse, when given): what was reserved for
    it there leaves on-hand stock and those reservations end; returns how many units. Same
    caller rule as :func:`release_order`."""
    per_stock = await _held(session, order_id, warehouse_id)
    if not per_stock:
        return 0
    now = utcnow()
    await session.execute(_TAKE, [{"sid": sid, "q": q, "now": now} for sid, q in sorted(per_stock.items())])
    await session.execute(
        delete(Reservation).where(Reservation.order_id == order_id, Reservation.stock_id.in_(list(per_stock)))
    )
    return sum(per_stock.values())
