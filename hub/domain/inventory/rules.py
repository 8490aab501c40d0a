"""The stock rules, defined once: availability and allocation by warehouse priority.

Each rule has a Python form and the SQL forms the hot statements use, generated here from the
same definition, so the catalog page, the PostgreSQL placement statement and the Python path
cannot drift apart (``tests/domain/test_stock_rules_sql.py`` runs the SQL on generated rows and
compares it with the Python rule on the same rows):

- **available** = ``max(on_hand − reserved, 0)`` per stock row; a product's availability is the
  sum over its warehouses. On hand below reserved is a shortage, shown as 0, never refused.
- **allocation**: a demand (product → quantity) is covered from warehouses in ascending
  priority, then warehouse id, a product split across them if need be, none taken below zero
  available; if any product cannot be covered, nothing is allocated and each short product is
  reported with what is available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import ColumnElement

from hub.domain.base import table_of
from hub.domain.inventory.models import Stock

__all__ = [
    "Allocation",
    "Shortage",
    "allocate",
    "allocation_ctes_pg",
    "available",
    "available_sql",
    "available_total_sql",
]


@dataclass(frozen=True, slots=True)
class Allocation:
    """``quantity`` units of a product taken from one stock row."""

    stock_id: int
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Shortage:
    product_id: int
    requested: int
    available: int


def available(on_hand: int, reserved: int) -> int:
    """What a stock row can still give: on hand − reserved, never below zero."""
    return max(on_hand - reserved, 0)


def allocate(
    rows: Sequence[tuple[int, int, int, int]], demand: Mapping[int, int]
) -> tuple[list[Allocation], list[Shortage]]:
    """Cover ``demand`` (product id → quantity) from stock rows ((stock id, product id, on hand,
    reserved), each product's rows by warehouse priority then warehouse id, as the lock returns
    them): warehouses by priority, a product split across them if need be, none taken below zero
    available. Returns the allocations, or the shortages (one per product that cannot be
    covered, by product id) and no allocations."""
    by_product: dict[int, list[tuple[int, int, int, int]]] = {}
    for row in rows:
        by_product.setdefault(row[1], []).append(row)
    allocations: list[Allocation] = []
    shortages: list[Shortage] = []
    for pid in sorted(demand):
        remaining = demand[pid]
        available_total = 0
        taken: list[Allocation] = []
        for sid, _pid, on_hand, reserved in by_product.get(pid, []):
            free = available(on_hand, reserved)
            available_total += free
            if remaining and free:
                q = min(free, remaining)
                taken.append(Allocation(sid, pid, q))
                remaining -= q
        if remaining:
            shortages.append(Shortage(pid, demand[pid], available_total))
        else:
            allocations.extend(taken)
    return ([], shortages) if shortages else (allocations, [])


# -- SQL forms -------------------------------------------------------------------------------


def available_sql(on_hand: ColumnElement[int], reserved: ColumnElement[int]) -> ColumnElement[int]:
    """:func:`available` as a SQL expression over two integer columns."""
    return case((on_hand > reserved, on_hand - reserved), else_=0)


_S = table_of(Stock).c


def available_total_sql(product_id: ColumnElement[int]) -> ColumnElement[int]:
    """Σ over warehouses of :func:`available` for the product ``product_id`` names (a
    correlated scalar subquery; 0 without stock rows)."""
    return (
        select(func.coalesce(func.sum(available_sql(_S.on_hand, _S.reserved)), 0))
        .where(_S.product_id == product_id)
        .correlate_except(table_of(Stock))
        .scalar_subquery()
    )


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def _pg(expression: ColumnElement[int]) -> str:
    return str(expression.compile(dialect=_PG, compile_kwargs={"literal_binds": True}))


def allocation_ctes_pg(demand: str, product_ids: str) -> str:
    """:func:`allocate` as PostgreSQL common table expressions, for a statement that writes
    what they decide (the order placement statement).

    ``demand`` names a relation with columns ``pid`` and ``qty`` (one row per product),
    ``product_ids`` an ``int[]`` expression of its products. The CTEs lock the products' stock
    rows in the global lock order (``FOR NO KEY UPDATE``) and define:

    - ``short (pid, qty, available)``: one row per product that cannot be covered;
    - ``alloc (sid, q)``: the stock rows taken from and how much, empty when anything is short.

    A warehouse's ``before`` is the availability of the product's warehouses ahead of it, so it
    gives ``least(available, qty − before)`` while ``before < qty``: :func:`allocate`'s loop as
    a window.
    """
    free = _pg(available_sql(literal_column("s.on_hand"), literal_column("s.reserved")))
    return f"""locked AS MATERIALIZED (
    SELECT s.id, s.product_id, {free} AS a, w.priority, w.id AS wid
    FROM stock s JOIN warehouses w ON w.id = s.warehouse_id
    WHERE s.product_id = ANY({product_ids})
    ORDER BY s.product_id, w.priority, w.id
    FOR NO KEY UPDATE OF s
), avail AS (
    SELECT id, product_id, a,
           coalesce(sum(a) OVER (PARTITION BY product_id ORDER BY priority, wid
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM locked
), short AS MATERIALIZED (
    SELECT {demand}.pid, {demand}.qty, coalesce(sum(avail.a), 0)::bigint AS available
    FROM {demand} LEFT JOIN avail ON avail.product_id = {demand}.pid
    GROUP BY {demand}.pid, {demand}.qty
    HAVING coalesce(sum(avail.a), 0) < {demand}.qty
), alloc AS MATERIALIZED (
    SELECT avail.id AS sid, least(avail.a, {demand}.qty - avail.before)::int AS q
    FROM avail JOIN {demand} ON {demand}.pid = avail.product_id
    WHERE avail.a > 0 AND avail.before < {demand}.qty AND NOT EXISTS (SELECT 1 FROM short)
)"""
