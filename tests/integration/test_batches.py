"""The batched notify path (per-event notifiers, several jobs per message) and the dispatcher."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy import select, update

from connectors.notify import Message
from connectors.sdk import PermanentError, TransientError
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration.models import IntegrationJob
from hub.domain.outbox.services import record_event
from hub.settings import Settings
from jobs.integration import JobDispatcher
from tests.integration.support import current, deliver_events, reset, use_connectors

TOML = """
[connectors.notify.hook]
connector = "null"
[connectors.notify.chat]
connector = "log"

[[notifications]]
events = ["t.*"]
to = ["notify.hook"]
[[notifications]]
events = ["c.*"]
to = ["notify.chat"]
"""


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset()


class Fake:
    digest = False

    def __init__(self, fail: dict[str, Exception] | None = None, delay: float = 0.0) -> None:
        self.fail = fail or {}
        self.delay = delay
        self.sent: list[str] = []

    async def send(self, message: Message) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append(message.title)
        for k, e in self.fail.items():
            if message.title.endswith(k):
                raise e

    async def aclose(self) -> None:
        return None


class FakeActors:
    """Records what the engine sends again later (as the actors would, delayed)."""

    def __init__(self) -> None:
        self.later: list[tuple[Any, int]] = []

    def send_later(self, operation: str, job_id: int, delay: int) -> None:
        assert operation == "notify"
        self.later.append(((job_id,), delay))


async def _events(db: Database, kind: str, n: int) -> list[int]:
    async with db.write() as s:
        ids = [await record_event(s, kind, "thing", i, {"i": i}) for i in range(n)]
    await deliver_events(db, ids)
    return ids


async def _jobs(db: Database) -> list[IntegrationJob]:
    async with db.read() as s:
        return list((await s.scalars(select(IntegrationJob).order_by(IntegrationJob.id))).all())


async def test_batch_runs_each_once(db: Database, settings: Settings, tmp_path: Path) -> None:
    use_connectors(settings, tmp_path, TOML)
    ids = await _events(db, "t.ping", 7)
    await deliver_events(db, ids)  # again: no new jobs
    jobs = await _jobs(db)
    assert len(jobs) == 7 and {j.event_id for j in jobs} == set(ids)
    assert all(
        j.status == "PENDING" and j.payload == {"kind": "t.ping"} and j.max_attempts == 10 for j in jobs
    )
    out = await current().engine.run_jobs(db, [j.id for j in jobs])
    assert set(out.values()) == {"succeeded"}
    null = current().connectors.get("notify.hook")
    assert null.calls == 7 and list(null.titles) == [f"t.ping #{i}" for i in ids]
    again = await current().engine.run_jobs(db, [j.id for j in jobs] + [999])
    assert set(again.values()) == {"skipped"} and null.calls == 7
    jobs = await _jobs(db)
    assert all(
        j.status == "SUCCEEDED" and j.attempts == 1 and j.finished_at and j.lease_until is None for j in jobs
    )


async def test_batch_failures(db: Database, settings: Settings, tmp_path: Path) -> None:
    use_connectors(settings, tmp_path, TOML)
    ids = await _events(db, "t.ping", 5)
    fake = Fake(
        {
            f"#{ids[1]}": PermanentError("nope"),
            f"#{ids[2]}": TransientError("later", retry_after=0.03),
            f"#{ids[3]}": RuntimeError("bug"),
        }
    )
    current().connectors.put("notify.hook", fake)
    actor = FakeActors()
    current().engine.send_later = actor.send_later
    jobs = await _jobs(db)
    out = await current().engine.run_jobs(db, [j.id for j in jobs])
    assert [out[j.id] for j in jobs] == ["succeeded", "failed", "retry", "retry", "succeeded"]
    after = {j.id: j for j in await _jobs(db)}
    s = [after[j.id] for j in jobs]
    assert [j.status for j in s] == ["SUCCEEDED", "FAILED", "RETRYING", "RETRYING", "SUCCEEDED"]
    assert "PermanentError" in (s[1].last_error or "") and s[1].finished_at is not None
    # the retry is scheduled after the failure was recorded, no sooner than the peer's Retry-After
    # (both times are the one "now" of the recording: no wall clock involved)
    assert s[2].next_attempt_at - s[2].updated_at >= timedelta(seconds=0.03)
    assert s[2].enqueued_at == s[2].updated_at and s[2].lease_until is None
    assert "unexpected RuntimeError" in (s[3].last_error or "")
    assert [a for a, _ in actor.later] == [(jobs[2].id,), (jobs[3].id,)]
    assert actor.later[0][1] >= 30  # ms: the Retry-After, honoured by the message sent again
    # the retried job alone goes through run_job (Retry raised again)
    fake.fail[f"#{ids[2]}"] = TransientError("still")
    with pytest.raises(dramatiq.Retry):
        await current().engine.run_job(db, jobs[2].id)
    del fake.fail[f"#{ids[2]}"]
    assert await current().engine.run_job(db, jobs[2].id) == "succeeded"
    j = {x.id: x for x in await _jobs(db)}[jobs[2].id]
    assert j.attempts == 3 and j.status == "SUCCEEDED" and j.last_error is None


async def test_batch_gives_up(db: Database, settings: Settings, tmp_path: Path) -> None:
    use_connectors(settings, tmp_path, TOML + "\n[jobs.notify]\nmax_attempts = 1\n", fast=False)
    ids = await _events(db, "t.ping", 3)
    current().connectors.put("notify.hook", Fake({f"#{ids[0]}": TransientError("down")}))
    actor = FakeActors()
    current().engine.send_later = actor.send_later
    jobs = await _jobs(db)
    out = await current().engine.run_jobs(db, [j.id for j in jobs])
    assert [out[j.id] for j in jobs] == ["failed", "succeeded", "succeeded"]
    j0 = (await _jobs(db))[0]
    assert j0.status == "FAILED" and "gave up after 1 attempts" in (j0.last_error or "")
    assert actor.later == []


async def test_batch_skips_held_and_missing_events(db: Database, settings: Settings, tmp_path: Path) -> None:
    use_connectors(settings, tmp_path, TOML)
    await _events(db, "t.ping", 4)
    jobs = await _jobs(db)
    lease = utcnow() + timedelta(seconds=60)
    async with db.write() as s:  # job 0 held by another worker; job 1 expired lease (lost)
        await s.execute(
            update(IntegrationJob)
            .where(IntegrationJob.id == jobs[0].id)
            .values(status="RUNNING", lease_until=lease, attempts=1)
        )
        await s.execute(
            update(IntegrationJob)
            .where(IntegrationJob.id == jobs[1].id)
            .values(status="RUNNING", lease_until=utcnow() - timedelta(seconds=1), attempts=1)
        )
        # job 2's event is gone
        await s.execute(
            update(IntegrationJob).where(IntegrationJob.id == jobs[2].id).values(entity_id=10_000)
        )
    fake = Fake()
    current().connectors.put("notify.hook", fake)
    out = await current().engine.run_jobs(db, [j.id for j in jobs])
    assert [out[j.id] for j in jobs] == ["skipped", "succeeded", "succeeded", "succeeded"]
    assert len(fake.sent) == 2
    after = await _jobs(db)
    assert [j.attempts for j in after] == [1, 2, 1, 1]


async def test_batch_renews_lease_and_drops_lost(
    db: Database, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connectors(settings, tmp_path, TOML)
    await _events(db, "t.ping", 4)
    jobs = await _jobs(db)
    monkeypatch.setattr(current().engine, "renew_after", 0.05)
    fake = Fake(delay=0.1)
    current().connectors.put("notify.hook", fake)
    seen: list[Any] = []
    orig = fake.send

    async def send(message: Message) -> None:
        async with db.read() as s:
            rows = (
                await s.execute(
                    select(IntegrationJob.id, IntegrationJob.lease_until, IntegrationJob.status).order_by(
                        IntegrationJob.id
                    )
                )
            ).all()
        seen.append(rows)
        if len(seen) == 2:  # another worker took job 3 meanwhile
            async with db.write() as s:
                await s.execute(
                    update(IntegrationJob)
                    .where(IntegrationJob.id == jobs[3].id)
                    .values(lease_until=utcnow() + timedelta(seconds=500), attempts=2)
                )
        await orig(message)

    fake.send = send  # type: ignore[method-assign]
    out = await current().engine.run_jobs(db, [j.id for j in jobs])
    assert [out[j.id] for j in jobs] == ["succeeded", "succeeded", "succeeded", "skipped"]
    assert len(fake.sent) == 3
    # the lease of the jobs still to run moved forward, and job 0 was recorded early
    assert seen[1][2][1] > seen[0][2][1]
    assert seen[1][0][2] == "SUCCEEDED"
    after = await _jobs(db)
    assert [j.status for j in after] == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "RUNNING"]


async def test_single_id_is_run_job(db: Database, settings: Settings, tmp_path: Path) -> None:
    use_connectors(settings, tmp_path, TOML)
    await _events(db, "t.ping", 1)
    [job] = await _jobs(db)
    current().connectors.put("notify.hook", Fake({"": TransientError("x")}))
    with pytest.raises(dramatiq.Retry):
        await current().engine.run_jobs(db, [job.id])


async def test_dispatcher_batches_only_per_event_notifiers(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    use_connectors(settings, tmp_path, TOML)
    await _events(db, "t.ping", 10)
    await _events(db, "c.ping", 2)
    jobs = await _jobs(db)
    sent: list[tuple[str, Any]] = []
    d = JobDispatcher(db, lambda op, arg: sent.append((op, arg)), current().rules)
    assert await d.dispatch_once() == 12
    hook = [j.id for j in jobs if j.role == "notify.hook"]
    chat = [j.id for j in jobs if j.role == "notify.chat"]
    assert sent == [
        ("notify", chat[0]),
        ("notify", chat[1]),
        ("notify", hook[0:3]),
        ("notify", hook[3:6]),
        ("notify", hook[6:9]),
        ("notify", hook[9]),
    ]
    assert await d.dispatch_once() == 0
    assert all(j.enqueued_at is not None for j in await _jobs(db))


async def test_two_dispatchers_send_each_job_once(
    db: Database, settings: Settings, tmp_path: Path, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("one process per SQLite file")
    use_connectors(settings, tmp_path, TOML)
    await _events(db, "c.ping", 30)
    sent: list[Any] = []

    def slow(op: str, arg: Any) -> None:
        import time

        time.sleep(0.01)
        sent.append(arg)

    db2 = Database(settings)
    try:
        a = JobDispatcher(db, slow, current().rules)
        b = JobDispatcher(db2, slow, current().rules)
        n = await asyncio.gather(a.dispatch_once(), b.dispatch_once())
    finally:
        await db2.dispose()
    assert sum(n) == 30 and sorted(sent) == sorted(set(sent)) and len(sent) == 30, n


async def test_order_cancel_sees_pushes_created_in_the_same_batch(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    # job creation via the driver statement, then the ORM read of the cancel branch in one tx
    use_connectors(settings, tmp_path, TOML + '\n[connectors.erp]\nconnector = "memory"\n')
    async with db.write() as s:
        a = await record_event(s, "order.approved", "order", 77, {})
        c = await record_event(s, "order.cancelled", "order", 77, {})
    await deliver_events(db, [a, c])
    jobs = await _jobs(db)
    assert [(j.operation, j.key) for j in jobs] == [
        ("push_sales_order", "erp:push_sales_order:order:77"),
        ("cancel_sales_order", "erp:cancel_sales_order:order:77"),
    ]
    assert jobs[1].payload == {"push": "erp:push_sales_order:order:77"}
