"""Dead letters (死信): an event whose handler can never succeed stops being retried, is left out
of the backlog, and is shown to ADMIN, who can send it back once the cause is fixed."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import select, update

from hub.bootstrap import build_runtime
from hub.db import Database
from hub.domain.audit.models import AuditEntry
from hub.domain.base import utcnow
from hub.domain.outbox.dead import MAX_FAILURES
from hub.domain.outbox.handlers import EventCannotApply, HandlerFn, Handlers
from hub.domain.outbox.models import OutboxEvent
from hub.domain.outbox.publishing import MAX_PUBLISHES, unpublish_unhandled
from hub.domain.outbox.services import record_event
from jobs.actors import deliver_events
from jobs.relay import OutboxRelay
from tests.app.test_operations import _metric
from tests.support import Hub

DEAD = """query($first: Int, $after: String) { deadEvents(first: $first, after: $after) {
  edges { cursor node { id kind aggregate aggregateId createdAt deadAt attempts lastError } }
  pageInfo { hasNextPage endCursor } } }"""
RETRY = "mutation($id: ID!) { deadEventRetry(id: $id) { id errors { field code message } } }"


class Broken:
    """A handler of ``order.placed`` that fails while ``error`` is set, counting its calls."""

    def __init__(self, handlers: Handlers, error: Exception | None) -> None:
        self.error = error
        self.calls = 0
        handlers.register("broken", {"order.placed"}, cast(HandlerFn, self.run))

    async def run(self, _session: object, _event: OutboxEvent) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error


@pytest.fixture
def handlers(hub: Hub) -> Handlers:
    return build_runtime(hub.settings).handlers


async def _event(db: Database, event_id: int) -> OutboxEvent:
    async with db.read() as s:
        return (await s.execute(select(OutboxEvent).where(OutboxEvent.id == event_id))).scalar_one()


async def _record(db: Database) -> int:
    async with db.write() as s:
        return await record_event(s, "order.placed", "order", 7, {"orderId": 7})


async def _overdue(db: Database, event_id: int) -> None:
    """As if the event had been published an hour ago."""
    async with db.write() as s:
        long_ago = utcnow() - timedelta(hours=1)
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(published_at=long_ago))


async def test_a_handler_that_always_fails_makes_its_event_dead_after_max_failures(
    hub: Hub, handlers: Handlers
) -> None:
    # given an event whose handler always fails, published by the relay
    broken = Broken(handlers, RuntimeError("the peer refused   this\norder"))
    event_id = await _record(hub.db)
    sent: list[list[int]] = []
    relay = OutboxRelay(hub.db, sent.append, redeliver_after=300)
    assert await relay.relay_once() == 1
    # when Dramatiq retries the message, and the relay publishes it again once overdue, the
    # failures count over both deliveries
    half = MAX_FAILURES // 2
    for _ in range(half):
        with pytest.raises(RuntimeError):
            await deliver_events(hub.db, handlers, sent[0])
    await _overdue(hub.db, event_id)
    assert await relay.redeliver_once() == 1
    for _ in range(MAX_FAILURES - half - 1):
        with pytest.raises(RuntimeError):
            await deliver_events(hub.db, handlers, sent[-1])
    assert (await _event(hub.db, event_id)).dead_at is None
    # then failure MAX_FAILURES makes it dead, and is not raised (a retry could not help)
    assert await deliver_events(hub.db, handlers, sent[-1]) == {event_id: []}
    event = await _event(hub.db, event_id)
    assert event.dead_at is not None and event.handled_at is None
    assert event.failures == MAX_FAILURES == broken.calls
    assert event.last_error == "RuntimeError: the peer refused this order"
    # and a further delivery of it runs no handler
    assert await deliver_events(hub.db, handlers, [event_id]) == {event_id: []}
    assert broken.calls == MAX_FAILURES


async def test_a_permanent_error_makes_the_event_dead_at_once(hub: Hub, handlers: Handlers) -> None:
    # given a handler that knows the event can never apply, and a long error message
    broken = Broken(handlers, EventCannotApply("quantity 100000000000000000000 is out of range " + "x" * 500))
    event_id = await _record(hub.db)
    # when the event is delivered once, then nothing is raised for Dramatiq to retry
    assert await deliver_events(hub.db, handlers, [event_id]) == {event_id: ["log"]}
    # and the event is dead after one failure, its error kept short
    event = await _event(hub.db, event_id)
    assert event.dead_at is not None and event.failures == 1 == broken.calls
    assert event.last_error is not None and len(event.last_error) == 300
    assert event.last_error.startswith("EventCannotApply: quantity 100000000000000000000 is out of range")


async def test_other_events_of_the_batch_are_handled_and_the_dead_one_is_not_raised(
    hub: Hub, handlers: Handlers
) -> None:
    calls: list[int] = []
    bad: list[int] = []

    async def picky(_session: object, event: OutboxEvent) -> None:
        calls.append(event.id)
        if event.id in bad:
            raise EventCannotApply("not for us")

    handlers.register("picky", {"order.placed"}, cast(HandlerFn, picky))
    ids = [await _record(hub.db) for _ in range(3)]
    bad.append(ids[1])
    assert await deliver_events(hub.db, handlers, ids) == {
        ids[0]: ["log", "picky"],
        ids[1]: ["log"],
        ids[2]: ["log", "picky"],
    }
    states = [
        (e.handled_at is not None, e.dead_at is not None) for e in [await _event(hub.db, i) for i in ids]
    ]
    assert states == [(True, False), (False, True), (True, False)]


async def test_dead_events_are_not_published_again_nor_in_the_backlog(hub: Hub, handlers: Handlers) -> None:
    # given a dead event published an hour ago, and a live unhandled one
    Broken(handlers, EventCannotApply("never"))
    dead = await _record(hub.db)
    sent: list[list[int]] = []
    relay = OutboxRelay(hub.db, sent.append, redeliver_after=300)
    assert await relay.relay_once() == 1
    await deliver_events(hub.db, handlers, [dead])
    await _overdue(hub.db, dead)
    live = await _record(hub.db)
    # when the relay looks for lost and unpublished events, and the in-memory broker restarts
    assert await relay.redeliver_once() == 0
    assert await relay.relay_once() == 1
    async with hub.db.write() as s:
        assert await unpublish_unhandled(s) == 1  # the live one only
    assert sent == [[dead], [live]]
    assert (await _event(hub.db, dead)).published_at is not None
    # then the metrics count the live one in the backlog and the dead one apart
    body = (await hub.client.get("/metrics")).text
    assert _metric(body, "hub_outbox_unhandled_events") == 1
    assert _metric(body, "hub_outbox_dead_events") == 1


async def test_an_event_never_handled_after_max_publishes_becomes_dead(hub: Hub) -> None:
    # given an event the relay published MAX_PUBLISHES times, the last an hour ago, never handled
    event_id = await _record(hub.db)
    async with hub.db.write() as s:
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(attempts=MAX_PUBLISHES))
    await _overdue(hub.db, event_id)
    sent: list[list[int]] = []
    # when the relay looks for lost events
    assert await OutboxRelay(hub.db, sent.append, redeliver_after=300).redeliver_once() == 0
    # then it is a dead letter staff can see, saying why
    event = await _event(hub.db, event_id)
    assert event.dead_at is not None and sent == []
    assert event.last_error == f"not handled after {MAX_PUBLISHES} publications"


async def test_dead_events_are_for_admin_only(hub: Hub, handlers: Handlers) -> None:
    await hub.standard()
    Broken(handlers, EventCannotApply("never"))
    ids = [await _record(hub.db) for _ in range(3)]
    await deliver_events(hub.db, handlers, ids)
    # ADMIN pages through them, newest first
    page1 = (await hub.data(DEAD, {"first": 2}, as_="admin"))["deadEvents"]
    nodes = [e["node"] for e in page1["edges"]]
    assert [n["aggregateId"] for n in nodes] == [7, 7] and page1["pageInfo"]["hasNextPage"]
    assert {(n["kind"], n["aggregate"], n["attempts"], n["lastError"]) for n in nodes} == {
        ("order.placed", "order", 1, "EventCannotApply: never")
    }
    page2 = await hub.data(DEAD, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, as_="admin")
    assert len(page2["deadEvents"]["edges"]) == 1 and not page2["deadEvents"]["pageInfo"]["hasNextPage"]
    ids_seen = [e["node"]["id"] for e in page1["edges"] + page2["deadEvents"]["edges"]]
    assert len(set(ids_seen)) == 3
    # everyone else gets null, and cannot retry
    for who in [None, "acme", "sales", "manager", "director", "finance", "warehouse"]:
        body = await hub.gql(DEAD, as_=who)
        assert body["data"]["deadEvents"] is None and "errors" not in body, who
        if who is not None:
            answer = (await hub.data(RETRY, {"id": ids_seen[0]}, as_=who))["deadEventRetry"]
            assert [e["code"] for e in answer["errors"]] == ["PERMISSION_DENIED"], who
    assert (await hub.gql(RETRY, {"id": ids_seen[0]}))["data"]["deadEventRetry"] is None
    # a bad cursor or page size is the query's error, not a masked one
    bad = await hub.gql(DEAD, {"after": "nope"}, as_="admin")
    assert bad["data"]["deadEvents"] is None and "cursor" in bad["errors"][0]["message"]
    # the events stay dead
    assert all(e.dead_at is not None for e in [await _event(hub.db, i) for i in ids])


async def test_retry_brings_a_dead_event_back_and_it_is_handled(hub: Hub, handlers: Handlers) -> None:
    # given an event that died, and a live one the retry must not touch
    await hub.standard()
    broken = Broken(handlers, EventCannotApply("unknown warehouse XX"))
    event_id = await _record(hub.db)
    await deliver_events(hub.db, handlers, [event_id])
    [edge] = (await hub.data(DEAD, as_="admin"))["deadEvents"]["edges"]
    gid = edge["node"]["id"]
    # when the cause is fixed and ADMIN retries it
    broken.error = None
    answer = (await hub.data(RETRY, {"id": gid}, as_="admin"))["deadEventRetry"]
    assert answer == {"id": gid, "errors": []}
    # then it is no longer dead, the retry is audited, and a second retry finds nothing
    assert (await hub.data(DEAD, as_="admin"))["deadEvents"]["edges"] == []
    async with hub.db.read() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(AuditEntry.target == gid)))
    assert actions == ["deadEventRetry"]
    again = (await hub.data(RETRY, {"id": gid}, as_="admin"))["deadEventRetry"]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]
    # and the relay publishes it again, and its delivery runs the handler that had failed
    # (the log handler, which had run, is not run twice)
    sent: list[list[int]] = []
    assert await OutboxRelay(hub.db, sent.append).relay_once() == 1
    assert sent == [[event_id]]
    assert await deliver_events(hub.db, handlers, [event_id]) == {event_id: ["broken"]}
    event = await _event(hub.db, event_id)
    assert event.handled_at is not None and event.dead_at is None and broken.calls == 2


async def test_retry_of_an_unknown_or_malformed_id_is_not_found(hub: Hub) -> None:
    await hub.standard()
    for gid in ["nope", "RGVhZEV2ZW50Ojk5OTk"]:  # DeadEvent:9999
        answer = (await hub.data(RETRY, {"id": gid}, as_="admin"))["deadEventRetry"]
        assert [e["code"] for e in answer["errors"]] == ["NOT_FOUND"]
