"""The checks after a run: in the API benchmark nothing oversold and the outbox's progress, in
the integration benchmark every event handled once and turned into one successful job."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.seed import WAREHOUSES, Seeded
from bench.server import Workers


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


async def hub_checks(conn: Any, expected: int, role: str, workers: Workers) -> dict[str, Any]:
    """Every bench event handled and turned into exactly one job, every job SUCCEEDED after one
    attempt, one connector call per event."""
    events = await conn.fetchrow(
        """SELECT count(*), count(*) FILTER (WHERE handled_at IS NOT NULL),
                  count(*) FILTER (WHERE published_at IS NOT NULL)
           FROM outbox WHERE kind LIKE 'bench.%'"""
    )
    jobs = await conn.fetchrow(
        """SELECT count(*), count(DISTINCT j.event_id),
                  count(*) FILTER (WHERE j.status = 'SUCCEEDED'),
                  count(*) FILTER (WHERE j.attempts = 1),
                  count(*) FILTER (WHERE o.id IS NULL OR o.kind NOT LIKE 'bench.%'),
                  count(*) FILTER (WHERE j.role <> $1 OR j.operation <> 'notify')
           FROM integration_jobs j LEFT JOIN outbox o ON o.id = j.event_id""",
        role,
    )
    without_job = await conn.fetchval(
        """SELECT count(*) FROM outbox o
           WHERE o.kind LIKE 'bench.%'
             AND NOT EXISTS (SELECT 1 FROM integration_jobs j WHERE j.event_id = o.id)"""
    )
    claims = await conn.fetchval(
        """SELECT count(*) FROM processed_events p JOIN outbox o ON o.id = p.event_id
           WHERE o.kind LIKE 'bench.%' AND p.handler = 'integration'"""
    )
    calls = workers.null_calls()
    total_calls = sum(c or 0 for c in calls)
    result = {
        "events": events[0],
        "events_handled": events[1],
        "events_published": events[2],
        "integration_claims": claims,
        "jobs": jobs[0],
        "events_with_a_job": jobs[1],
        "events_without_a_job": without_job,
        "jobs_succeeded": jobs[2],
        "jobs_with_one_attempt": jobs[3],
        "jobs_of_other_events": jobs[4],
        "jobs_of_other_kinds": jobs[5],
        "connector_calls_per_worker": calls,
        "connector_calls": total_calls,
    }
    result["passed"] = (
        events[0] == expected
        and events[1] == expected
        and claims == expected
        and jobs[0] == expected
        and jobs[1] == expected
        and without_job == 0
        and jobs[2] == expected
        and jobs[3] == expected
        and jobs[4] == 0
        and jobs[5] == 0
        and total_calls == expected
    )
    return result
