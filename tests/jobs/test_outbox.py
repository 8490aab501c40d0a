"""The outbox relay and event handling: at least once published, exactly once handled."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import replace
from typing import cast

import pytest
from sqlalchemy import select, update

from hub.bootstrap import Runtime, build_runtime
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.outbox.handlers import HandlerFn, Handlers
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent
from hub.domain.outbox.services import record_event
from hub.settings import Settings
from jobs.actors import deliver_events as deliver
from jobs.relay import OutboxRelay
from jobs.runtime import JobRuntime
from tests.support import Hub

ORDER = (
    'mutation { orderCreate(input: {lines: [{sku: "SKU-B", quantity: 2}]}) { order { id } errors { code } } }'
)


@pytest.fixture
def runtime(settings: Settings) -> Runtime:
    """The hub's runtime (no connector file: the ``log`` and ``inbound`` handlers)."""
    return build_runtime(settings)


@pytest.fixture
def handlers(runtime: Runtime) -> Handlers:
    return runtime.handlers


@pytest.fixture
def counting_handler(handlers: Handlers) -> list[int]:
    seen: list[int] = []

    async def count(_session: object, event: OutboxEvent) -> None:
        seen.append(event.id)

    handlers.register("test-counter", {"order.placed"}, cast(HandlerFn, count))
    return seen


async def deliver_events(db: Database, handlers: Handlers, event_ids: list[int]) -> dict[int, list[str]]:
    return await deliver(db, handlers, event_ids)


async def deliver_one(db: Database, handlers: Handlers, event_id: int) -> list[str]:
    """The handlers that ran for one event delivered alone (a batch of one)."""
    return (await deliver(db, handlers, [event_id])).get(event_id, [])


async def _events(db: Database) -> list[OutboxEvent]:
    async with db.read() as s:
        return list((await s.execute(select(OutboxEvent).order_by(OutboxEvent.id))).scalars())


async def test_placing_an_order_writes_its_event_in_the_same_transaction(hub: Hub) -> None:
    # given a buyer
    await hub.standard()
    # when it places an order
    data = await hub.data(ORDER, as_="acme")
    assert data["orderCreate"]["errors"] == []
    # then the outbox holds one unpublished order.placed event for it
    [event] = await _events(hub.db)
    assert (event.kind, event.aggregate, event.published_at) == ("order.placed", "order", None)


async def test_a_failed_order_writes_no_event(hub: Hub) -> None:
    await hub.standard()
    data = await hub.data(
        'mutation { orderCreate(input: {lines: [{sku: "SKU-C", quantity: 3}]}) { errors { code } } }',
        as_="acme",
    )
    assert data["orderCreate"]["errors"] == [{"code": "INSUFFICIENT_STOCK"}]
    assert await _events(hub.db) == []


async def test_a_redelivered_event_runs_each_handler_once(
    db: Database, counting_handler: list[int], handlers: Handlers
) -> None:
    # given a committed event
    async with db.write() as s:
        event_id = await record_event(s, "order.placed", "order", 1, {"orderId": 1})
    # when it is delivered three times (at-least-once publishing)
    ran = [await deliver_one(db, handlers, event_id) for _ in range(3)]
    # then the handler ran once, and the other deliveries were no-ops
    assert counting_handler == [event_id]
    assert "test-counter" in ran[0] and ran[1:] == [[], []]


async def test_concurrent_deliveries_of_one_event_run_the_handler_once(
    db: Database, counting_handler: list[int], handlers: Handlers
) -> None:
    async with db.write() as s:
        event_id = await record_event(s, "order.placed", "order", 1, {})
    await asyncio.gather(*(deliver_one(db, handlers, event_id) for _ in range(5)))
    assert counting_handler == [event_id]
    async with db.read() as s:
        rows = (
            (await s.execute(select(ProcessedEvent.handler).where(ProcessedEvent.event_id == event_id)))
            .scalars()
            .all()
        )
    assert sorted(rows) == ["log", "test-counter"]


async def test_events_not_published_before_a_crash_are_published_after_restart(db: Database) -> None:
    # given two committed events and a broker that is down
    async with db.write() as s:
        await record_event(s, "order.placed", "order", 1, {})
        await record_event(s, "order.placed", "order", 2, {})

    def broker_down(_ids: list[int]) -> None:
        raise ConnectionError("broker unreachable")

    relay = OutboxRelay(db, broker_down)
    # when the relay tries, then nothing is marked as sent
    with pytest.raises(ConnectionError):
        await relay.relay_once()
    assert [e.published_at for e in await _events(db)] == [None, None]
    # when a new relay starts with the broker back
    sent: list[int] = []
    assert await OutboxRelay(db, sent.extend).relay_once() == 2
    # then both are published, in order, and marked
    assert sent == [e.id for e in await _events(db)]
    assert all(e.published_at is not None for e in await _events(db))
    # and a further pass publishes nothing again
    assert await OutboxRelay(db, sent.extend).relay_once() == 0


async def _wait_processed(db: Database, handler: str, seconds: float = 20.0) -> list[int]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with db.read() as s:
            done = list(
                (
                    await s.execute(select(ProcessedEvent.event_id).where(ProcessedEvent.handler == handler))
                ).scalars()
            )
        if done:
            return done
        assert asyncio.get_running_loop().time() < deadline, "event was not handled in time"
        await asyncio.sleep(0.1)


async def _order_handled(hub: Hub, runtime: JobRuntime) -> list[int]:
    """Start ``runtime``, place an order as acme and return the events the counter handled."""
    await runtime.start()
    try:
        await hub.data(ORDER, as_="acme")
        return await _wait_processed(hub.db, "test-counter")
    finally:
        await runtime.stop()


async def test_in_process_jobs_deliver_an_order_event(
    hub: Hub, counting_handler: list[int], runtime: Runtime
) -> None:
    # given the embedded runtime (in-memory broker, worker thread) running beside the app
    await hub.standard()
    # when a buyer places an order, then the worker handles its event
    done = await _order_handled(hub, runtime.job_runtime(hub.db))
    [event] = await _events(hub.db)
    assert done == [event.id]
    assert counting_handler == [event.id]
    assert event.published_at is not None


REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="HUB_TEST_REDIS_URL not set (CI sets it)")
async def test_redis_jobs_deliver_an_order_event(
    hub: Hub, counting_handler: list[int], handlers: Handlers
) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as e:
        pytest.fail(f"HUB_TEST_REDIS_URL is set but Redis is unreachable: {e}", pytrace=False)
    # given the production shape: a Redis broker (own namespace) and a worker
    settings: Settings = replace(hub.settings, redis_url=REDIS_URL)
    redis_runtime = build_runtime(settings)
    redis_runtime.handlers = handlers
    jobs = redis_runtime.job_runtime(hub.db, in_process_worker=True, namespace=f"hub-test-{uuid.uuid4().hex}")
    await hub.standard()
    # when a buyer places an order, then the event travels through Redis and is handled once
    done = await _order_handled(hub, jobs)
    [event] = await _events(hub.db)
    assert done == [event.id] and counting_handler == [event.id]


async def test_events_the_in_memory_broker_lost_are_published_again_at_start(
    hub: Hub, counting_handler: list[int], runtime: Runtime
) -> None:
    # given an event handed to the in-memory broker (marked published) by a process that
    # stopped before handling it
    async with hub.db.write() as s:
        event_id = await record_event(s, "order.placed", "order", 1, {})
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(published_at=utcnow()))
    # when the hub starts again with the embedded runtime
    jobs = runtime.job_runtime(hub.db)
    await jobs.start()
    try:
        done = await _wait_processed(hub.db, "test-counter")
    finally:
        await jobs.stop()
    # then the event is handled, once, and marked handled
    assert done == [event_id] and counting_handler == [event_id]
    [event] = await _events(hub.db)
    assert event.handled_at is not None


async def test_stopping_drains_what_the_in_process_worker_was_handed(
    hub: Hub, counting_handler: list[int], runtime: Runtime
) -> None:
    # given the embedded runtime and 20 committed events
    jobs = runtime.job_runtime(hub.db)
    await jobs.start()
    async with hub.db.write() as s:
        ids = [await record_event(s, "order.placed", "order", i, {}) for i in range(20)]
    # when the relay has published them and the hub stops at once
    deadline = asyncio.get_running_loop().time() + 20
    while any(e.published_at is None for e in await _events(hub.db)):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    await jobs.stop()
    # then every event was handled before the worker stopped
    assert sorted(counting_handler) == ids
    assert all(e.handled_at is not None for e in await _events(hub.db))


async def test_a_handler_that_fails_is_retried_not_forgotten(db: Database, handlers: Handlers) -> None:
    # given a handler that fails with a database error of its own the first time
    from sqlalchemy.exc import IntegrityError

    calls: list[int] = []

    async def flaky(_session: object, event: OutboxEvent) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise IntegrityError("insert", {}, Exception("its own constraint"))

    handlers.register("flaky", {"order.placed"}, cast(HandlerFn, flaky))
    async with db.write() as s:
        event_id = await record_event(s, "order.placed", "order", 1, {})
    # when it is delivered, then the failure propagates (Dramatiq retries the job)
    with pytest.raises(IntegrityError):
        await deliver_one(db, handlers, event_id)
    # and the retry runs the handler again and completes
    assert "flaky" in await deliver_one(db, handlers, event_id)
    assert calls == [event_id, event_id]


async def test_a_handler_sees_the_event_as_it_was_written(db: Database, handlers: Handlers) -> None:
    # given a handler that records what it is given
    seen: list[OutboxEvent] = []

    async def record(_session: object, event: OutboxEvent) -> None:
        seen.append(event)

    handlers.register("recorder", {"order.placed"}, cast(HandlerFn, record))
    async with db.write() as s:
        event_id = await record_event(s, "order.placed", "order", 7, {"orderId": 7, "total": "12.50"})
    # when the event is delivered
    await deliver_one(db, handlers, event_id)
    # then the handler got every field, the payload decoded, the time zone-aware
    [event] = seen
    assert (event.id, event.kind, event.aggregate, event.aggregate_id) == (
        event_id,
        "order.placed",
        "order",
        7,
    )
    assert event.payload == {"orderId": 7, "total": "12.50"}
    assert event.created_at.tzinfo is not None and event.published_at is None and event.handled_at is None


async def test_a_failing_event_in_a_batch_does_not_hold_back_the_others(
    db: Database, handlers: Handlers
) -> None:
    # given five events and a handler that fails for the third
    async with db.write() as s:
        ids = [await record_event(s, "order.placed", "order", i, {}) for i in range(5)]
    calls: list[int] = []
    bad = ids[2]

    async def picky(_session: object, event: OutboxEvent) -> None:
        calls.append(event.id)
        if event.id == bad and calls.count(bad) < 3:
            raise RuntimeError("the peer refused this one")

    handlers.register("picky", {"order.placed"}, cast(HandlerFn, picky))
    # when they are delivered as one batch, then the failure is raised after the rest
    with pytest.raises(RuntimeError, match="refused"):
        await deliver_events(db, handlers, ids)
    # and the others were handled once and marked; the failed one was not
    handled = {e.id: e.handled_at is not None for e in await _events(db)}
    assert handled == {i: i != bad for i in ids}
    # and the retry of the same batch runs only the failed one
    ran = await deliver_events(db, handlers, ids)
    assert ran == {i: (["picky"] if i == bad else []) for i in ids}
    # the calls of the rolled-back batch were repeated one by one; each event is claimed once
    assert calls == [*ids[:3], *ids, bad]
    async with db.read() as s:
        claimed = (
            (await s.execute(select(ProcessedEvent.event_id).where(ProcessedEvent.handler == "picky")))
            .scalars()
            .all()
        )
    assert sorted(claimed) == ids
    assert all(e.handled_at is not None for e in await _events(db))


async def test_each_event_of_a_batch_meets_its_handlers_in_registration_order(
    db: Database, handlers: Handlers
) -> None:
    # given handlers registered as first (kind B only), then second (kinds A and B)
    calls: list[tuple[str, str]] = []

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def fn(_session: object, event: OutboxEvent) -> None:
            calls.append((event.kind, name))

        return fn

    handlers.register("first", {"kind.b"}, recorder("first"))
    handlers.register("second", {"kind.a", "kind.b"}, recorder("second"))
    async with db.write() as s:
        ids = [
            await record_event(s, "kind.a", "order", 1, {}),
            await record_event(s, "kind.b", "order", 2, {}),
        ]
    # when an A and a B event are delivered in one batch
    await deliver_events(db, handlers, ids)
    # then the B event met "first" before "second", as registered
    assert [name for kind, name in calls if kind == "kind.b"] == ["first", "second"]
    assert [name for kind, name in calls if kind == "kind.a"] == ["second"]


async def test_events_a_broker_lost_are_published_again_once_overdue(
    db: Database, counting_handler: list[int], handlers: Handlers
) -> None:
    from datetime import timedelta

    # given two events published 10 minutes ago, one handled and one lost by the broker, and a fresh one
    async with db.write() as s:
        lost = await record_event(s, "order.placed", "order", 1, {})
        handled = await record_event(s, "order.placed", "order", 2, {})
        fresh = await record_event(s, "order.placed", "order", 3, {})
        long_ago = utcnow() - timedelta(minutes=10)
        await s.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_([lost, handled])).values(published_at=long_ago)
        )
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == handled).values(handled_at=long_ago))
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == fresh).values(published_at=utcnow()))
    sent: list[list[int]] = []
    relay = OutboxRelay(db, sent.append, redeliver_after=300)
    # when the relay looks for overdue events, twice
    assert await relay.redeliver_once() == 1
    assert await relay.redeliver_once() == 0  # just published again: not overdue any more
    # then only the lost one was sent again, and delivering it runs the handler once
    assert sent == [[lost]]
    await deliver_events(db, handlers, sent[0])
    await deliver_events(db, handlers, sent[0])
    assert counting_handler == [lost]
