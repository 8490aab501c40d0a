"""Delivering outbox events to their handlers, and the ``handle_events`` actor that does it.
Thin and idempotent: it takes ids; the claims and marks are :mod:`hub.domain.outbox.delivery`'s."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import dramatiq

from hub.db import Database
from hub.domain.outbox.dead import MAX_FAILURES, error_text, record_failure
from hub.domain.outbox.delivery import mark_handled, read_events, run_handler
from hub.domain.outbox.handlers import Handler, Handlers
from hub.domain.outbox.models import OutboxEvent

__all__ = ["EVENTS_PER_MESSAGE", "HANDLE_EVENT_OPTIONS", "EventActor", "deliver_events"]

log = logging.getLogger("jobs.actors")

# Explicit retry policy: a handler failure is retried 10 times over about 20 minutes,
# then the message is dead-lettered (not Dramatiq's 20 retries over ~30 days).
HANDLE_EVENT_OPTIONS: dict[str, Any] = {"max_retries": 10, "min_backoff": 1_000, "max_backoff": 300_000}
# Events per message: large enough to spread Dramatiq's and each handler transaction's cost,
# small enough that a retried message (one of its events failed) redoes little.
EVENTS_PER_MESSAGE = 50


async def deliver_events(
    db: Database, handlers: Handlers, event_ids: Sequence[int], *, max_failures: int = MAX_FAILURES
) -> dict[int, list[str]]:
    """Run every handler of the events that has not run for them yet; returns, per event id,
    the handlers that ran.

    A handler runs for the whole batch in one transaction, each event together with its
    ``ProcessedEvent`` row (the claim), so a redelivered event (at-least-once publishing) is
    handled exactly once per handler. If the handler fails for one of them, the batch rolls
    back and each event runs again in a transaction of its own, so the others are not held
    back; an event whose handler failed gets none of its later handlers, and the first
    failure is raised after the rest are done (Dramatiq retries the message; what was done is
    a no-op then). Events whose handlers all ran are marked handled; an event already marked
    handled is a no-op.

    Each failure is recorded on its event (:func:`hub.domain.outbox.dead.record_failure`, in a
    transaction of its own); an event that becomes a dead letter by it (a permanent error, or
    failure ``max_failures``) is not raised for, as a retry could not help, and a dead event
    delivered again is a no-op.
    """
    async with db.read() as session:
        events = await read_events(session, event_ids)
    for missing in sorted(set(event_ids) - {e.id for e in events}):
        log.warning("event %s does not exist; dropped", missing)
    todo = [e for e in events if e.handled_at is None and e.dead_at is None]
    ran: dict[int, list[str]] = {e.id: [] for e in events}
    # Handlers in the order they were registered, each with the events of its kinds: every
    # event meets its handlers in registration order, as a delivery of it alone would.
    by_handler: list[tuple[Handler, list[OutboxEvent]]] = []
    for handler in handlers.registered():
        mine = [e for e in todo if handler.wants(e.kind)]
        if mine:
            by_handler.append((handler, mine))
    failures: list[Exception] = []
    failed: set[int] = set()
    for handler, batch in by_handler:
        groups = [[e for e in batch if e.id not in failed]]
        while groups:
            group = groups.pop(0)
            if not group:
                continue
            try:
                async with db.write() as session:
                    done = await run_handler(session, handler, group)
            except Exception as e:  # noqa: BLE001 - any handler error: isolate it, retry later
                if len(group) > 1:
                    groups.extend([event] for event in group)  # one transaction each
                else:
                    failed.add(group[0].id)
                    if not await _record_failure(db, group[0], handler, e, max_failures):
                        failures.append(e)
                continue
            for event_id in done:
                ran[event_id].append(handler.name)
    complete = [e.id for e in todo if e.id not in failed]
    if complete:
        async with db.write() as session:
            await mark_handled(session, complete)
    if failures:
        raise failures[0]
    return ran


async def _record_failure(
    db: Database, event: OutboxEvent, handler: Handler, error: Exception, max_failures: int
) -> bool:
    """Record ``handler``'s failure on the event; True when the event is a dead letter now."""
    try:
        async with db.write() as session:
            dead = await record_failure(session, event.id, error, max_failures=max_failures)
    except Exception:  # the handler's error is what counts (raised for Dramatiq to retry)
        log.exception("could not record the failure of event #%s", event.id)
        return False
    if dead:
        log.error("event %s #%s is a dead letter: handler %s failed with %s", event.kind, event.id,
                  handler.name, error_text(error))  # fmt: skip
    return dead


class EventActor:
    """The ``handle_events`` actor (queue ``events``) on one broker: the relay sends events in
    batches, so Dramatiq's own cost per message (broker round trips, middleware, thread
    hand-offs) is paid once per batch, and so is each handler's transaction."""

    def __init__(self, broker: dramatiq.Broker, deliver: Callable[[list[int]], Awaitable[Any]]) -> None:
        async def handle_events(event_ids: list[int]) -> None:
            await deliver(event_ids)

        declare = dramatiq.actor(
            actor_name="handle_events", queue_name="events", broker=broker, **HANDLE_EVENT_OPTIONS
        )
        self.actor: dramatiq.Actor[[list[int]], None] = declare(handle_events)

    def publish(self, ids: list[int]) -> None:
        """Send events to the actor in batches (blocking: Redis I/O)."""
        for i in range(0, len(ids), EVENTS_PER_MESSAGE):
            self.actor.send(ids[i : i + EVENTS_PER_MESSAGE])
