"""Outbox events become integration jobs; jobs reach the ERP, the WMS and notifiers once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.domain.integration.leases import LeaseLost
from hub.domain.integration.models import Binding
from hub.settings import Settings
from tests.integration.support import drain, jobs, memory, reset, use_connectors
from tests.schema.test_permissions import approve, place_order
from tests.support import Hub

BASIC = """
[connectors.erp]
connector = "memory"
[connectors.wms]
connector = "memory"
[connectors.notify.sales]
connector = "log"

[[notifications]]
events = ["order.approved", "order.cancelled"]
to = ["notify.sales"]
"""


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset()


async def test_an_approved_order_reaches_the_erp_and_the_wms_once(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    use_connectors(settings, tmp_path, BASIC)
    await hub.standard()
    order = await place_order(hub, quantity=3)
    await approve(hub, order)
    await drain(hub.db)
    await drain(hub.db)
    erp, wms, log = memory("erp"), memory("wms"), memory("notify.sales")
    assert list(erp.sales) == ["SO00000001"]
    assert list(wms.outbound) == ["SO00000001"]
    assert [m.title for m in log.sent] == ["Order SO00000001 approved"]
    states = {(j.role, j.operation): (j.status, j.attempts) for j in await jobs(hub.db)}
    assert states == {
        ("erp", "push_sales_order"): ("SUCCEEDED", 1),
        ("wms", "push_outbound"): ("SUCCEEDED", 1),
        ("notify.sales", "notify"): ("SUCCEEDED", 1),
    }
    async with hub.db.read() as s:
        bound = {(b.role, b.entity, b.external_id) for b in await s.scalars(select(Binding))}
    assert bound == {("erp", "sales_order", "1"), ("wms", "outbound/W1", "1")}


async def _approved(hub: Hub, quantity: int = 1) -> str:
    order = await place_order(hub, quantity=quantity)
    await approve(hub, order)
    return order


CANCEL = 'mutation($id: ID!) { orderCancel(id: $id, reason: "changed our mind") { errors { code } } }'


async def test_a_push_whose_worker_died_is_not_made_after_the_order_was_cancelled(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hub.domain.base import utcnow
    from hub.domain.integration.models import IntegrationJob
    from hub.domain.outbox.models import OutboxEvent
    from tests.integration.support import deliver_events

    use_connectors(settings, tmp_path, BASIC)
    await hub.standard()
    order = await _approved(hub)
    async with hub.db.read() as s:
        events = list(await s.scalars(select(OutboxEvent.id)))
    await deliver_events(hub.db, events)
    # a worker claimed the ERP push and died before calling the ERP: its lease ran out
    async with hub.db.write() as s:
        await s.execute(
            update(IntegrationJob)
            .where(IntegrationJob.operation == "push_sales_order")
            .values(status="RUNNING", attempts=1, lease_until=utcnow() - timedelta(seconds=5))
        )
    # when the order is cancelled, and everything runs
    assert (await hub.data(CANCEL, {"id": order}, as_="manager"))["orderCancel"]["errors"] == []
    await drain(hub.db)
    # then the ERP never holds a live sales order for it
    erp = memory("erp")
    assert all(ref in erp.cancelled for ref in erp.sales)
    states = {(j.role, j.operation): j.status for j in await jobs(hub.db)}
    assert states[("erp", "push_sales_order")] == "CANCELLED"


async def test_a_failed_digest_fails_no_notification_before_its_own_attempts_are_used(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    import dramatiq
    from sqlalchemy import update

    from hub.domain.integration.models import IntegrationJob
    from tests.integration.support import current

    use_connectors(
        settings, tmp_path, BASIC.replace('connector = "log"', 'connector = "log"\nlevel = "INFO"')
    )
    await hub.standard()
    for _ in range(2):
        await _approved(hub)
    await drain(hub.db)
    # given two notifications waiting, the first on its last attempt, and a failing chat tool
    notify = [j for j in await jobs(hub.db) if j.operation == "notify"]
    async with hub.db.write() as s:
        await s.execute(update(IntegrationJob).where(IntegrationJob.id == notify[0].id)
                        .values(status="RETRYING", attempts=notify[0].max_attempts - 1))  # fmt: skip
        await s.execute(update(IntegrationJob).where(IntegrationJob.id == notify[1].id)
                        .values(status="RETRYING", attempts=0))  # fmt: skip
    log = memory("notify.sales")

    async def broken(_message: object) -> None:
        from connectors.sdk import TransientError

        raise TransientError("chat tool down")

    log.send = broken
    with pytest.raises((dramatiq.Retry,)):
        await current().engine.run_job(hub.db, notify[1].id)
    # the digested one went back with its own attempt count; when it is due again it runs alone
    from datetime import timedelta

    from hub.domain.base import utcnow

    async with hub.db.write() as s:
        await s.execute(update(IntegrationJob).where(IntegrationJob.id == notify[0].id)
                        .values(next_attempt_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
    outcome = await current().engine.run_job(hub.db, notify[0].id)
    after = {j.id: (j.status, j.attempts) for j in await jobs(hub.db) if j.operation == "notify"}
    # then only the one whose attempts are used up is FAILED; the other waits with its own count
    assert outcome == "failed"
    assert after[notify[0].id] == ("FAILED", notify[0].max_attempts)
    assert after[notify[1].id][0] == "RETRYING" and after[notify[1].id][1] == 1


async def test_a_run_whose_lease_was_taken_over_records_nothing(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hub.domain.base import utcnow
    from hub.domain.integration.models import IntegrationJob
    from tests.integration.support import current

    use_connectors(settings, tmp_path, BASIC)
    await hub.standard()
    await _approved(hub)
    from hub.domain.outbox.models import OutboxEvent
    from tests.integration.support import deliver_events

    async with hub.db.read() as s:
        await deliver_events(hub.db, list(await s.scalars(select(OutboxEvent.id))))
    [push] = [j for j in await jobs(hub.db) if j.operation == "push_sales_order"]
    # given a run that claimed the push, and another worker that took it over after its lease
    claimed = await current().engine.claim(hub.db, push.id, utcnow())
    assert claimed is not None
    other_lease = utcnow() + timedelta(minutes=5)
    async with hub.db.write() as s:
        await s.execute(
            update(IntegrationJob).where(IntegrationJob.id == push.id).values(lease_until=other_lease)
        )
    # when the first run finishes, then it records nothing: the job belongs to the other run
    with pytest.raises(LeaseLost):
        await current().engine.run_claimed(hub.db, claimed)
    [after] = [j for j in await jobs(hub.db) if j.id == push.id]
    assert (after.status, after.lease_until) == ("RUNNING", other_lease)


async def test_a_cancel_waiting_for_a_running_push_does_not_use_up_its_retries(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hub.domain.base import utcnow
    from hub.domain.integration.models import IntegrationJob
    from tests.integration.support import current

    use_connectors(settings, tmp_path, BASIC)
    await hub.standard()
    order = await _approved(hub)
    await drain(hub.db)
    async with hub.db.write() as s:  # the push is running again somewhere (a re-sent message)
        await s.execute(update(IntegrationJob).where(IntegrationJob.operation == "push_sales_order")
                        .values(status="RUNNING", lease_until=utcnow() + timedelta(minutes=1)))  # fmt: skip
    assert (await hub.data(CANCEL, {"id": order}, as_="manager"))["orderCancel"]["errors"] == []
    async with hub.db.read() as s:
        from hub.domain.outbox.models import OutboxEvent
        from tests.integration.support import deliver_events

        await deliver_events(
            hub.db, list(await s.scalars(select(OutboxEvent.id).where(OutboxEvent.handled_at.is_(None))))
        )
    [cancel] = [j for j in await jobs(hub.db) if j.operation == "cancel_sales_order"]
    # a cancel run waits: no dramatiq.Retry (which would count against the actor's retries)
    assert await current().engine.run_job(hub.db, cancel.id) == "waiting"
    [after] = [j for j in await jobs(hub.db) if j.id == cancel.id]
    assert (after.status, after.attempts) == ("PENDING", 0)
