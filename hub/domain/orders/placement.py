"""Placing an order: validation, idempotency (what a key means, and its claim that makes concurrent
resends of a key answer one order), pricing, the all-or-nothing reservation of its stock, and the
rows it writes, in the caller's transaction.

SQLite takes a Core statement per table and :func:`hub.domain.inventory.services.reserve`;
PostgreSQL one statement (``_PLACE_PG``) whose allocation is generated from the same rule
(:mod:`hub.domain.inventory.rules`) and whose outbox payload is the Python builder's
(:func:`hub.domain.orders.events.placed`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from hub.domain.auth.models import Role
from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import table_of, utcnow
from hub.domain.customers.models import Customer
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.fastsql import Statement, driver, is_postgresql
from hub.domain.inventory.rules import Shortage, allocation_ctes_pg
from hub.domain.inventory.services import reserve
from hub.domain.orders import events
from hub.domain.orders.models import (
    ApprovalStep,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    StepStatus,
    TimelineKind,
)
from hub.domain.orders.queries import get_order
from hub.domain.outbox.kinds import EventKind
from hub.domain.pricing.quotes import LineInput, PricedLines, check_lines, price_lines
from hub.domain.validation import check_clean

__all__ = ["APPROVAL_HOURS", "IdempotencyRace", "MAX_KEY", "MAX_NOTE", "create_order"]

MAX_NOTE = 2000
MAX_KEY = 200
APPROVAL_HOURS = 24


_INSERT_ORDER = insert(table_of(Order)).returning(table_of(Order).c.id)


class IdempotencyRace(Exception):
    """Another request with the same idempotency key committed first; run again to replay it."""


def _request_hash(customer_id: int | None, note: str | None, lines: Sequence[LineInput]) -> str:
    body = json.dumps(
        {"customerId": customer_id, "note": note, "lines": [[x.sku, x.quantity] for x in lines]},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()


_customers = table_of(Customer)
_CUSTOMER = Statement(select(*_customers.c).where(_customers.c.id == bindparam("id")))
_CUSTOMER_KEYS = tuple(c.key for c in _customers.c)
_IDEMPOTENCY = select(IdempotencyRecord.request_hash, IdempotencyRecord.order_id).where(
    IdempotencyRecord.user_id == bindparam("user_id"), IdempotencyRecord.key == bindparam("key")
)
_INSERT_LINES = insert(table_of(OrderLine))
_INSERT_STEP = insert(table_of(ApprovalStep))
_INSERT_EVENT = insert(table_of(OrderEvent))


# What a key means, on both databases: a send of (user, key) first claims the key for its
# transaction, then looks it up. Found: the send replays that order (or answers
# IDEMPOTENCY_CONFLICT for another input). Not found: it places the order and records the key in
# the same transaction, so a send that answered errors leaves the key free. A second send of the
# key while the first is in flight waits for the first's transaction to end, then finds its order
# (or the key still free), so it never reaches a different outcome, such as a shortage the first
# order caused.
# - SQLite: the claim is the write transaction itself (``BEGIN IMMEDIATE``): writers run one at a
#   time, in any process, and the look-up is the transaction's first statement.
# - PostgreSQL: a transaction-scoped advisory lock on (user, key), folded into the look-up:
#   ``pg_try_advisory_xact_lock`` in the same statement, so an uncontended send costs no extra
#   round trip. If another transaction holds it, the send waits for it (``pg_advisory_xact_lock``)
#   and looks again in a new statement, whose snapshot sees what the holder committed.
#   The look-up's own snapshot is taken a moment before its lock is granted; a holder that commits
#   in that moment is invisible to it. That send then finds the key when it records it (unique
#   violation: IdempotencyRace, the resolver runs it again and replays) or, when it would answer
#   errors, by looking the key up again under the lock before answering (create_order).
_LOOK_UP_PG = (
    "SELECT request_hash, order_id FROM idempotency_keys WHERE user_id = $1::int AND key = $2::varchar"
)
_CLAIM_PG = """
SELECT pg_try_advisory_xact_lock($3::bigint), k.request_hash, k.order_id
FROM (SELECT 1) AS one
LEFT JOIN idempotency_keys AS k ON k.user_id = $1::int AND k.key = $2::varchar"""
_WAIT_PG = "SELECT pg_advisory_xact_lock($1::bigint)"


def _key_lock(user_id: int, key: str) -> int:
    """The advisory lock id of (user, key): 64 bits of its SHA-256, as a signed bigint (the same
    in every process, unlike ``hash()``)."""
    digest = hashlib.sha256(f"hub.idempotency\0{user_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _look_up_key(session: AsyncSession, user_id: int, key: str) -> tuple[str, int] | None:
    """(request hash, order id) recorded for (user, key), or None."""
    if is_postgresql(session):
        rows = await (await driver(session)).fetch(_LOOK_UP_PG, [user_id, key])
    else:
        rows = list((await session.execute(_IDEMPOTENCY, {"user_id": user_id, "key": key})).all())
    return (str(rows[0][0]), int(rows[0][1])) if rows else None


async def _claim_key(session: AsyncSession, user_id: int, key: str) -> tuple[str, int] | None:
    """Hold (user, key) until the transaction ends, waiting while another send holds it; then
    (request hash, order id) recorded for it, or None (see "What a key means" above)."""
    if not is_postgresql(session):
        return await _look_up_key(session, user_id, key)
    run = await driver(session)
    lock = _key_lock(user_id, key)
    free, request_hash, order_id = (await run.fetch(_CLAIM_PG, [user_id, key, lock]))[0]
    if free:
        return None if order_id is None else (str(request_hash), int(order_id))
    await run.fetch(_WAIT_PG, [lock])  # until the send holding it commits or rolls back
    return await _look_up_key(session, user_id, key)


async def _replay(
    session: AsyncSession, actor: Principal, prior: tuple[str, int], request_hash: str
) -> Order:
    """The order a key produced, as it is now.

    Raises:
        DomainError: IDEMPOTENCY_CONFLICT when the key was used with another input.
    """
    if prior[0] != request_hash:
        raise DomainError.one(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            "This idempotencyKey was already used with a different order",
            "idempotencyKey",
        )
    replay = await get_order(session, actor, prior[1])
    if replay is None:  # pragma: no cover - keys are per user; the order stays visible
        raise DomainError.not_found("Order")
    return replay


async def _customer(session: AsyncSession, customer_id: int) -> Customer | None:
    rows = await _CUSTOMER.all(session, {"id": customer_id})
    return Customer(**dict(zip(_CUSTOMER_KEYS, rows[0], strict=True))) if rows else None  # read only


async def _order_customer(session: AsyncSession, actor: Principal, customer_id: int | None) -> Customer:
    """The customer the order is for (the caller checked a staff member's role)."""
    if actor.is_staff:
        if customer_id is None:
            raise DomainError.invalid("Staff must name the customer to order for", "customerId")
        customer = await _customer(session, customer_id)
    else:
        if actor.customer_id is None:
            raise DomainError.denied()
        if customer_id is not None and customer_id != actor.customer_id:
            raise DomainError.not_found("Customer", "customerId")
        customer = await _customer(session, actor.customer_id)
    if customer is None:
        raise DomainError.not_found("Customer", "customerId")
    if not customer.active:
        raise DomainError.one(ErrorCode.NOT_ORDERABLE, "This customer account is not active", "customerId")
    return customer


async def create_order(
    session: AsyncSession,
    actor: Principal,
    *,
    lines: Sequence[LineInput],
    note: str | None = None,
    customer_id: int | None = None,
    idempotency_key: str | None = None,
    currency: str = "CNY",
) -> Order:
    """Price the lines, reserve their stock and record the order, all in the caller's
    transaction. The order starts ``PENDING_APPROVAL``; an ``order.placed`` event goes to the
    outbox.

    Raises:
        DomainError: PERMISSION_DENIED for a role that may not order; INVALID for bad lines,
            note or key; NOT_FOUND for an unknown customer or SKU; INSUFFICIENT_STOCK, one per
            short SKU; IDEMPOTENCY_CONFLICT when the key was used with another input.
        IdempotencyRace: a concurrent request with the same key won; retry to replay it.
    """
    if note is not None and len(note) > MAX_NOTE:
        raise DomainError.invalid(f"note must be at most {MAX_NOTE} characters", "note")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_KEY:
        raise DomainError.invalid(f"idempotencyKey must be 1 to {MAX_KEY} characters", "idempotencyKey")
    if note is not None:
        check_clean(note, "note")
    if idempotency_key is not None:
        check_clean(idempotency_key, "idempotencyKey")
    if not actor.is_staff and actor.customer_id is None:
        raise DomainError.denied()
    if actor.is_staff:
        require(actor, Action.ORDER_FOR_CUSTOMER)
    problems = check_lines(lines)
    if problems:
        raise DomainError(problems)

    if idempotency_key is None:
        return await _place(session, actor, lines, note, customer_id, None, currency)
    request_hash = _request_hash(customer_id, note, lines)
    prior = await _claim_key(session, actor.user_id, idempotency_key)
    if prior is not None:
        return await _replay(session, actor, prior, request_hash)
    key = (idempotency_key, request_hash)
    if not is_postgresql(session):
        return await _place(session, actor, lines, note, customer_id, key, currency)
    try:
        return await _place(session, actor, lines, note, customer_id, key, currency)
    except DomainError:
        # The claim's look-up ran on a snapshot taken just before its lock was granted: a send
        # of this key that committed in between is invisible to it (see _CLAIM_PG). Looked up
        # again now, under the lock, such a send's order is the answer, not these errors.
        prior = await _look_up_key(session, actor.user_id, idempotency_key)
        if prior is None:
            raise
        return await _replay(session, actor, prior, request_hash)


async def _place(
    session: AsyncSession,
    actor: Principal,
    lines: Sequence[LineInput],
    note: str | None,
    customer_id: int | None,
    key: tuple[str, str] | None,
    currency: str,
) -> Order:
    """Place the order (steps 3 to 9 of docs/architecture.md), recording ``key``
    (idempotency key, request hash) with it."""
    customer = await _order_customer(session, actor, customer_id)

    priced = await price_lines(session, customer.id, lines)
    if priced.problems:
        raise DomainError(priced.problems)
    now = utcnow()
    # Core statements, not the ORM's unit of work (it would cost more than the inserts, and on
    # SQLite it inserts children row by row because RETURNING order is not guaranteed there).
    # The in-memory order gets its rows as loaded.
    row: dict[str, Any] = {
        "customer_id": customer.id,
        "status": OrderStatus.PENDING_APPROVAL.value,
        "note": note,
        "currency": currency,
        "subtotal": priced.subtotal,
        "discount_total": priced.discount_total,
        "total": priced.total,
        "placed_by_id": actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    line_rows: list[dict[str, Any]] = [
        {
            "order_id": None,
            "line_no": line_no,
            "product_id": x.product_id,
            "sku": x.sku,
            "name": x.name,
            "quantity": x.quantity,
            "unit_price": x.unit_price,
            "line_total": x.line_total,
            "applied_rules": [r.as_dict() for r in x.rules],
        }
        for line_no, x in enumerate(priced.lines, start=1)
    ]
    step: dict[str, Any] = {
        "order_id": None,
        "position": 1,
        "name": "Sales manager approval",
        "role": Role.SALES_MANAGER.value,
        "status": StepStatus.PENDING.value,
        "decided_by": None,
        "decided_at": None,
        "comment": None,
        "due_at": now + timedelta(hours=APPROVAL_HOURS),
    }
    placed: dict[str, Any] = {
        "order_id": None,
        "at": now,
        "kind": TimelineKind.PLACED.value,
        "message": f"Order placed by {actor.email} with {len(line_rows)} line(s); stock reserved",
        "actor": actor.email,
    }
    pg = is_postgresql(session)
    if pg:
        pg_key = None if key is None else (actor.user_id, *key)
        order_id = await _place_pg(session, row, priced, line_rows, step, placed, pg_key)
    else:
        order_id = (await session.execute(_INSERT_ORDER, row)).scalar_one()
    for child in (*line_rows, step, placed):
        child["order_id"] = order_id
    order = Order(id=order_id, **row)
    set_committed_value(order, "customer", customer)
    set_committed_value(order, "lines", [OrderLine(**row) for row in line_rows])
    set_committed_value(order, "steps", [ApprovalStep(**step)])
    set_committed_value(order, "events", [OrderEvent(**placed)])
    if pg:
        return order

    # SQLite (one writer at a time): a Core statement per table, an executemany for the lines.
    await session.execute(_INSERT_LINES, line_rows)
    await session.execute(_INSERT_STEP, [step])
    await session.execute(_INSERT_EVENT, [placed])
    # Key and event go in before the stock rows are locked: locks are held as briefly as
    # possible, and a request that lost a key race fails before it locks anything.
    if key is not None:
        try:  # a backstop: the claim serialises sends of one key, the unique (user, key) too
            await session.execute(
                insert(table_of(IdempotencyRecord)),
                [{"user_id": actor.user_id, "key": key[0], "request_hash": key[1],
                  "order_id": order.id, "created_at": now}],
            )  # fmt: skip
        except IntegrityError:
            raise IdempotencyRace() from None
    await events.record(session, events.placed(order_id, customer.id, priced.total, currency))
    shortages = await reserve(session, order.id, {x.product_id: x.quantity for x in priced.lines})
    if shortages:
        raise _shortage_error(priced, shortages)
    return order


def _shortage_error(priced: PricedLines, shortages: Sequence[Shortage]) -> DomainError:
    by_product = {x.product_id: x for x in priced.lines}
    return DomainError(
        Problem(
            ErrorCode.INSUFFICIENT_STOCK,
            f"Only {s.available} of {by_product[s.product_id].sku} available; {s.requested} requested",
            f"lines.{by_product[s.product_id].first_index}.quantity",
        )
        for s in shortages
    )


# PostgreSQL: one statement locks the stock rows of the ordered products (in the global lock
# order, see hub.domain.inventory), allocates them by the rule of hub.domain.inventory.rules (its
# CTEs are generated there: warehouses by priority, none below zero available) and, unless a
# product is short, writes the order, its lines, approval step, timeline entry, outbox event (the
# payload events.placed() builds, see _PAYLOAD_PG), the stock it reserves, the reservation rows
# and the idempotency key. It returns the order id, or the shortages and writes nothing. One round
# trip instead of eleven, and the stock rows stay locked only until the commit that follows.
# Data-modifying CTEs all run on one snapshot; a row locked after waiting is re-read at its latest
# version, and the UPDATE adds to that version; foreign keys are checked at the end of the
# statement. tests/domain/test_stock_rules_sql.py runs it on generated stock rows against the
# Python rule.
#
# The order.placed payload is built in Python (events.placed) with every field but the order id,
# which the statement assigns: $25 is that payload as JSON without "orderId", and the statement
# puts "orderId" in front, where the builder puts it.
_PAYLOAD_PG = """('{"orderId":' || o.id || ',' || substr($25::text, 2))::json"""
_PLACE_PG = f"""
WITH d AS (
    SELECT * FROM unnest($26::int[], $27::int[]) AS d(pid, qty)
), {allocation_ctes_pg("d", "$26::int[]")}, o AS (
    INSERT INTO orders (customer_id, status, note, currency, subtotal, discount_total, total,
                        placed_by_id, created_at, updated_at)
    SELECT $1::int, $2::varchar, $3::text, $4::varchar, $5::numeric, $6::numeric, $7::numeric,
           $8::int, $9::timestamptz, $9::timestamptz
    WHERE NOT EXISTS (SELECT 1 FROM short)
    RETURNING id
), l AS (
    INSERT INTO order_lines (order_id, line_no, product_id, sku, name, quantity, unit_price,
                             line_total, applied_rules)
    SELECT o.id, u.* FROM o, unnest($10::int[], $11::int[], $12::varchar[], $13::varchar[],
                                    $14::int[], $15::numeric[], $16::numeric[], $17::json[]) AS u
), s AS (
    INSERT INTO approval_steps (order_id, position, name, role, status, due_at)
    SELECT o.id, 1, $18::varchar, $19::varchar, $20::varchar, $21::timestamptz FROM o
), e AS (
    INSERT INTO order_events (order_id, at, kind, message, actor)
    SELECT o.id, $9::timestamptz, $22::varchar, $23::text, $24::varchar FROM o
), x AS (
    INSERT INTO outbox (kind, aggregate, aggregate_id, payload, created_at, attempts)
    SELECT '{EventKind.ORDER_PLACED.value}', '{events.AGGREGATE}', o.id, {_PAYLOAD_PG}, $9::timestamptz, 0
    FROM o
), st AS (
    UPDATE stock SET reserved = stock.reserved + alloc.q, updated_at = $9::timestamptz
    FROM alloc WHERE stock.id = alloc.sid
), r AS (
    INSERT INTO reservations (order_id, stock_id, quantity, created_at)
    SELECT o.id, alloc.sid, alloc.q, $9::timestamptz FROM o, alloc
)"""
_PLACE_RESULT = """
SELECT o.id, NULL::int AS pid, NULL::int AS qty, NULL::bigint AS available FROM o
UNION ALL
SELECT NULL, pid, qty, available FROM short"""
_PLACE_PG_KEY = (
    _PLACE_PG
    + """, k AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at)
    SELECT $28::int, $29::varchar, $30::varchar, o.id, $9::timestamptz FROM o
)"""
    + _PLACE_RESULT
)
_PLACE_PG += _PLACE_RESULT
_KEY_CONSTRAINT = "uq_idempotency_keys_user_id"  # the unique (user, key) of idempotency_keys


def _payload_without_id(event: events.OrderOutboxEvent) -> str:
    """``event``'s payload as JSON, less its leading ``orderId`` (see ``_PAYLOAD_PG``)."""
    rest = dict(event.payload)
    if next(iter(rest)) != "orderId" or len(rest) < 2:  # pragma: no cover - the builder's shape
        raise ValueError("an order event payload starts with orderId and has more fields")
    del rest["orderId"]
    return json.dumps(rest, separators=(",", ":"), ensure_ascii=False)


async def _place_pg(
    session: AsyncSession,
    row: dict[str, Any],
    priced: PricedLines,
    line_rows: list[dict[str, Any]],
    step: dict[str, Any],
    placed: dict[str, Any],
    key: tuple[int, str, str] | None,
) -> int:
    """Reserve and write everything in one statement (see ``_PLACE_PG``); the order's id.

    Raises:
        DomainError: INSUFFICIENT_STOCK, nothing written.
        IdempotencyRace: a concurrent request with the same key committed first.
    """
    demand = sorted((x.product_id, x.quantity) for x in priced.lines)
    args: list[Any] = [
        row["customer_id"], row["status"], row["note"], row["currency"], row["subtotal"],
        row["discount_total"], row["total"], row["placed_by_id"], row["created_at"],
        [x["line_no"] for x in line_rows], [x["product_id"] for x in line_rows],
        [x["sku"] for x in line_rows], [x["name"] for x in line_rows],
        [x["quantity"] for x in line_rows], [x["unit_price"] for x in line_rows],
        [x["line_total"] for x in line_rows],
        [json.dumps(x["applied_rules"], ensure_ascii=False) for x in line_rows],
        step["name"], step["role"], step["status"], step["due_at"],
        placed["kind"], placed["message"], placed["actor"],
        _payload_without_id(events.placed(0, row["customer_id"], row["total"], row["currency"])),
        [pid for pid, _ in demand], [q for _, q in demand],
    ]  # fmt: skip
    if key is not None:
        args.extend(key)
    try:
        rows = await (await driver(session)).fetch(_PLACE_PG_KEY if key else _PLACE_PG, args)
    except IntegrityError as e:
        # A unique violation of the (user, key) pair: a concurrent request with the same key
        # committed first (``orig`` is the driver's error, with PostgreSQL's SQLSTATE).
        if getattr(e.orig, "sqlstate", None) == "23505" and _KEY_CONSTRAINT in str(e.orig):
            raise IdempotencyRace() from None
        raise
    shortages = [Shortage(r[1], r[2], int(r[3])) for r in rows if r[0] is None]
    if shortages:
        raise _shortage_error(priced, sorted(shortages, key=lambda x: x.product_id))
    return int(rows[0][0])
