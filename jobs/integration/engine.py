"""Running integration jobs: claim (lease) → connector call → record the outcome.

The orchestration only: each step's rules and SQL are the domain's
(:mod:`hub.domain.integration.leases`, ``.documents``, ``.messages``, ``.inbound``). A run
claims its job in one transaction, calls the connector outside any transaction (never longer
than its lease allows), and records the outcome in another, only while it still holds the
lease:

- success → SUCCEEDED, and for a create the **binding**; a create whose binding exists never
  calls the peer again;
- :class:`~connectors.sdk.PermanentError` → FAILED after one attempt;
- anything else → RETRYING with backoff via ``dramatiq.Retry`` (FAILED once the attempts are
  used up).

Notify jobs of a digesting notifier take the role's other due notifications with them (one
message); jobs of per-event notifiers travel several per Dramatiq message (:meth:`run_jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import dramatiq

from connectors.notify import Message
from connectors.sdk import ConnectorError, ExternalRef, PermanentError, TransientError
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration import documents, inbound, leases, messages
from hub.domain.integration.leases import Claimed, LeaseLost, NotWanted, Outcome, Wait
from hub.domain.integration.models import JobStatus
from hub.domain.integration.policies import IntegrationRules
from hub.domain.integration.routing import NOT_PUSHED
from hub.domain.outbox.delivery import read_events
from hub.integration import Connectors

__all__ = ["OPERATIONS", "RENEW_AFTER", "JobEngine"]

log = logging.getLogger("jobs.integration")

OPERATIONS = (
    "push_sales_order",
    "cancel_sales_order",
    "push_outbound",
    "cancel_outbound",
    "push_purchase_request",
    "notify",
)
# A batch holds its lease from one claim; before a call made later than this after the lease was
# set (an earlier call of the batch was slow), the lease of the jobs still to run is renewed, so
# every call starts with about a whole lease ahead of it, as a job run alone does.
RENEW_AFTER = 1.0


def _ms(wait: timedelta) -> int:
    """A wait in Dramatiq's unit, whole milliseconds."""
    return wait // timedelta(milliseconds=1)


SendLater = Callable[[str, int, int], None]  # operation, job id, delay in ms (blocking)


class JobEngine:
    """Runs jobs under ``rules`` with ``connectors``. ``send_later`` sends a job's message again
    after a delay (the actors set it; without it a job to retry waits for the dispatcher)."""

    def __init__(
        self, rules: IntegrationRules, connectors: Connectors, send_later: SendLater | None = None
    ) -> None:
        self.rules = rules
        self.connectors = connectors
        self.send_later = send_later
        self.renew_after = RENEW_AFTER
        self._operations: dict[str, Callable[[Database, Claimed], Awaitable[ExternalRef | None]]] = {
            "push_sales_order": self._push_sales_order,
            "cancel_sales_order": self._cancel_sales_order,
            "push_outbound": self._push_outbound,
            "cancel_outbound": self._cancel_outbound,
            "push_purchase_request": self._push_purchase_request,
            "notify": self._notify,
        }

    # --- one job --------------------------------------------------------------------------

    async def claim(self, db: Database, job_id: int, now: datetime) -> Claimed | None:
        """Claim ``job_id`` for a run (see :func:`hub.domain.integration.leases.claim`)."""
        async with db.write() as session:
            return await leases.claim(session, job_id, now, self.rules.lease, self.rules.digests)

    async def run_job(self, db: Database, job_id: int) -> str:
        """Run one job once; returns what became of it (for logs and tests).

        Raises:
            dramatiq.Retry: a transient failure with attempts left (Dramatiq runs it again later).
        """
        try:
            job = await self.claim(db, job_id, utcnow())
        except Wait as wait:
            # A fresh delayed message, not dramatiq.Retry: waiting is not a failed attempt and must
            # not use up the actor's retries (the dispatcher is the backstop if this send is lost).
            async with db.read() as session:
                operation = await leases.job_operation(session, job_id)
            if operation is not None:
                await asyncio.to_thread(self._send_later, operation, job_id, int(wait.seconds * 1000))
            return "waiting"
        if job is None:
            return "skipped"
        try:
            return await self.run_claimed(db, job)
        except LeaseLost:
            return "lost"

    async def run_claimed(self, db: Database, job: Claimed) -> str:
        """Call the connector for a claimed job and record the outcome.

        Raises:
            LeaseLost: the lease was taken over before the outcome was recorded.
            dramatiq.Retry: a transient failure with attempts left.
        """
        # Never outlive the lease: after it another run may take the job over.
        limit = max((job.lease - utcnow()).total_seconds() - 5.0, 1.0) if job.lease else None
        try:
            async with asyncio.timeout(limit):
                ref = await self._operations[job.operation](db, job)
        except NotWanted:
            await self._finish(db, job, Outcome(JobStatus.CANCELLED, NOT_PUSHED), utcnow())
            return "cancelled"
        except Exception as e:  # noqa: BLE001 - permanent, transient, conflict, or a bug: see _failed
            if isinstance(e, TimeoutError):
                e = TransientError(f"no result within {limit:.0f} s (the job's lease)")
            wait = await self._failed(db, job, e)
            if wait is None:
                return "failed"
            raise dramatiq.Retry(delay=_ms(wait)) from None
        await self._finish(db, job, Outcome(JobStatus.SUCCEEDED, ref=ref), utcnow())
        return "succeeded"

    async def _finish(self, db: Database, job: Claimed, outcome: Outcome, now: datetime) -> None:
        try:
            async with db.write() as session:
                await leases.finish(session, job, outcome, now)
        except LeaseLost:
            log.warning("job %s (%s %s): lease lost before its outcome was recorded", job.id, job.role,
                        job.operation)  # fmt: skip
            raise

    async def _failed(self, db: Database, job: Claimed, e: Exception) -> timedelta | None:
        """Record that a run of ``job`` raised ``e``: FAILED (None) or RETRYING (the wait until
        the next attempt)."""
        if not isinstance(e, ConnectorError):
            # The type only at ERROR: a library's message may quote a URL with a key in it.
            log.error("job %s (%s %s) raised %s", job.id, job.role, job.operation, type(e).__name__)
            log.debug("job %s traceback", job.id, exc_info=e)
        now = utcnow()
        outcome = leases.failure_outcome(
            self.rules.policy(job.operation), job.attempts, job.max_attempts, e, now
        )
        await self._finish(db, job, outcome, now)
        if outcome.status == JobStatus.FAILED:
            how = "failed permanently" if isinstance(e, PermanentError) else "gave up"
            log.warning("job %s (%s %s) %s: %s", job.id, job.role, job.operation, how, leases.error_text(e))
            return None
        assert outcome.retry_at is not None  # RETRYING
        wait = outcome.retry_at - now
        log.info(
            "job %s (%s %s) retries in %.1f s: %s",
            job.id,
            job.role,
            job.operation,
            wait.total_seconds(),
            outcome.error,
        )
        return wait

    def _send_later(self, operation: str, job_id: int, delay_ms: int) -> None:
        if self.send_later is None:  # no broker in this process: the dispatcher sends it once overdue
            log.warning("job %s to retry is not sent: no %s actor declared", job_id, operation)
            return
        self.send_later(operation, job_id, delay_ms)

    # --- several notify jobs in one run ---------------------------------------------------

    async def run_jobs(self, db: Database, job_ids: Sequence[int]) -> dict[int, str]:
        """Run several ``notify`` jobs of notifiers that are never digested (one connector call
        per job), sent in one message; what became of each (as :meth:`run_job` says it).

        The same rules as :meth:`run_job`, per job: each is claimed with a lease (all in one
        conditional UPDATE, so a job that is done, failed, cancelled or held by another worker
        is skipped), the connector is called outside any transaction, once per job, one job
        after the other in id order, then the outcomes are recorded: the jobs that succeeded in
        one UPDATE, a failure as :meth:`run_job` records it. A job to retry is sent again on its
        own, delayed by its backoff (Dramatiq cannot retry one job of a message). A single id
        runs as :meth:`run_job` (and raises its ``dramatiq.Retry``).
        """
        if len(job_ids) == 1:
            return {job_ids[0]: await self.run_job(db, job_ids[0])}
        outcomes = dict.fromkeys(job_ids, "skipped")
        now = utcnow()
        held = now + self.rules.lease
        async with db.write() as session:
            jobs = await leases.claim_many(session, job_ids, now, held)
        if not jobs:
            return outcomes
        held_since = time.monotonic()
        found: dict[int, Message | None] = {}
        broken: dict[int, Exception] = {}
        async with db.read() as session:
            events = {e.id: e for e in await read_events(session, sorted({j.entity_id for j in jobs}))}
            for job in jobs:
                event = events.get(job.entity_id)
                try:
                    found[job.id] = None if event is None else await messages.describe_event(session, event)
                except Exception as e:  # noqa: BLE001 - recorded below as a failure of this job
                    broken[job.id] = e
        succeeded: list[int] = []
        retries: list[tuple[int, timedelta]] = []
        lost: set[int] = set()
        for n, job in enumerate(jobs):
            if time.monotonic() - held_since > self.renew_after:
                # A slow batch: record what succeeded so far, and hold the rest for a whole lease.
                await self._succeeded(db, succeeded, outcomes, held)
                succeeded = []
                held, kept = await self._renew(db, [j.id for j in jobs[n:]], held)
                for later in jobs[n:]:
                    later.lease = held
                held_since = time.monotonic()
                lost.update(j.id for j in jobs[n:] if j.id not in kept)
            if job.id in lost:  # its lease ran out meanwhile: another worker may hold it now
                continue
            try:
                if job.id in broken:
                    raise broken[job.id]
                message = found[job.id]
                if message is not None:  # the event is gone: nothing to say (as a single run)
                    limit = max((held - utcnow()).total_seconds() - 5.0, 1.0)
                    try:
                        async with asyncio.timeout(limit):  # never outlive the lease (as run_job)
                            await self.connectors.get(job.role).send(message)
                    except TimeoutError:
                        raise TransientError(f"no result within {limit:.0f} s (the job's lease)") from None
            except Exception as e:  # noqa: BLE001 - as run_job: see _failed
                try:
                    wait = await self._failed(db, job, e)
                except LeaseLost:
                    outcomes[job.id] = "lost"
                    continue
                outcomes[job.id] = "failed" if wait is None else "retry"
                if wait is not None:
                    retries.append((job.id, wait))
                continue
            succeeded.append(job.id)
        await self._succeeded(db, succeeded, outcomes, held)
        for job_id, pause in retries:
            await asyncio.to_thread(self._send_later, "notify", job_id, _ms(pause))
        return outcomes

    async def _succeeded(
        self, db: Database, ids: list[int], outcomes: dict[int, str], held: datetime
    ) -> None:
        if ids:
            async with db.write() as session:
                recorded = await leases.succeed_many(session, ids, held, utcnow())
            # the others' leases were taken over meanwhile
            outcomes.update({i: "succeeded" if i in recorded else "lost" for i in ids})

    async def _renew(self, db: Database, ids: list[int], held: datetime) -> tuple[datetime, set[int]]:
        """Extend the lease of the jobs of a batch still to run; the new lease and the ids still held."""
        until = utcnow() + self.rules.lease
        async with db.write() as session:
            return until, await leases.renew(session, ids, held, until)

    # --- the operations -------------------------------------------------------------------

    async def _push_sales_order(self, db: Database, job: Claimed) -> ExternalRef:
        if job.binding is not None:
            return job.binding
        async with db.read() as session:
            sales = await documents.sales_order_of(session, job.entity_id)
        return await self.connectors.get(job.role).push_sales_order(sales)  # type: ignore[no-any-return]

    async def _push_outbound(self, db: Database, job: Claimed) -> ExternalRef:
        if job.binding is not None:
            return job.binding
        async with db.read() as session:
            outbound = await documents.outbound_order_of(session, job.entity_id, job.payload)
        return await self.connectors.get(job.role).push_outbound_order(outbound)  # type: ignore[no-any-return]

    async def _cancel_sales_order(self, db: Database, job: Claimed) -> None:
        async with db.read() as session:
            order = await documents.load_order(session, job.entity_id)
        await self.connectors.get(job.role).cancel_sales_order(order.number, job.binding)

    async def _cancel_outbound(self, db: Database, job: Claimed) -> None:
        async with db.read() as session:
            order = await documents.load_order(session, job.entity_id)
        reference = documents.reference(order.number, job.payload)
        await self.connectors.get(job.role).cancel_outbound_order(reference, job.binding)

    async def _push_purchase_request(self, _db: Database, job: Claimed) -> ExternalRef:
        if job.binding is not None:
            return job.binding
        request = documents.purchase_request(job.payload)
        return await self.connectors.get(job.role).push_purchase_request(request)  # type: ignore[no-any-return]

    async def _notify(self, db: Database, job: Claimed) -> None:
        async with db.read() as session:
            found = await messages.messages_of_jobs(session, [job.id, *job.others])
        if not found:
            return
        await self.connectors.get(job.role).send(found[0] if len(found) == 1 else messages.digest(found))

    # --- stock sync -----------------------------------------------------------------------

    async def pull_stock(self, db: Database, role: str) -> tuple[int, int]:
        """Read every stock level ``role`` holds and apply each that is newer than the last
        snapshot applied; (levels read, levels applied). Raises the connector's errors."""
        levels = await self.connectors.get(role).read_stock()
        async with db.write() as session:
            applied = await inbound.apply_levels(session, levels, role)
        return len(levels), applied

    async def reconcile(self, db: Database, roles: Sequence[str]) -> list[inbound.Drift]:
        """Compare the hub's on-hand stock with what each of ``roles`` reports, per SKU and
        warehouse; the differences. Raises the connectors' errors."""
        async with db.read() as session:
            ours = await inbound.hub_stock(session)
        found: list[inbound.Drift] = []
        for role in roles:
            theirs = {
                (x.sku, x.warehouse_code): x.on_hand for x in await self.connectors.get(role).read_stock()
            }
            found.extend(inbound.drift(role, ours, theirs))
        return found
