"""What staff see and do through GraphQL: integration jobs, retries, each order's sync state.
Customers see none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update

from hub.db import Database
from hub.domain.integration.models import IntegrationJob
from hub.settings import Settings
from tests.integration.support import current, drain, hub_with, jobs
from tests.schema.test_permissions import approve, place_order
from tests.support import Hub, count_statements

TOML = """
[connectors.erp]
connector = "memory"
fail = "permanent"
[connectors.wms]
connector = "memory"
[connectors.notify.sales]
connector = "log"
[[notifications]]
events = ["order.*"]
to = ["notify.sales"]
customers = ["ACME"]
"""
JOBS = """
query($status: IntegrationJobStatus, $first: Int, $after: String) {
  integrationJobs(status: $status, first: $first, after: $after) {
    edges { node { id role operation entity entityId status attempts maxAttempts lastError externalId } cursor }
    pageInfo { hasNextPage endCursor } totalCount
  }
}"""
RETRY = "mutation($id: ID!) { integrationJobRetry(id: $id) { job { id status attempts } errors { code field message } } }"
SYNC = "query($id: ID!) { order(id: $id) { erpSync { status externalId attempts lastError } wmsSync { status externalId attempts lastError } } }"


@pytest.fixture
async def hub(settings: Settings, db: Database, tmp_path: Path) -> AsyncIterator[Hub]:
    async with hub_with(settings, db, tmp_path, TOML) as h:
        await h.standard()
        yield h


async def failed_order(hub: Hub) -> str:
    order = await place_order(hub, quantity=2)
    await approve(hub, order)
    await drain(hub.db)
    return order


async def test_a_permanent_refusal_is_failed_after_one_attempt_and_visible_to_staff(hub: Hub) -> None:
    order = await failed_order(hub)
    data = await hub.data(JOBS, {"status": "FAILED"}, as_="sales")
    [edge] = data["integrationJobs"]["edges"]
    node = edge["node"]
    assert (node["role"], node["operation"], node["status"], node["attempts"]) == (
        "erp",
        "push_sales_order",
        "FAILED",
        1,
    )
    assert "memory ERP told to fail (permanent)" in node["lastError"]
    assert data["integrationJobs"]["totalCount"] == 1
    sync = (await hub.data(SYNC, {"id": order}, as_="manager"))["order"]
    assert sync["erpSync"]["status"] == "FAILED" and sync["erpSync"]["attempts"] == 1
    assert sync["wmsSync"] == {"status": "SUCCEEDED", "externalId": "1", "attempts": 1, "lastError": None}


async def test_customers_and_anonymous_callers_see_no_integration_state(hub: Hub) -> None:
    order = await failed_order(hub)
    assert (await hub.data(JOBS, as_="acme"))["integrationJobs"] is None
    assert (await hub.data(JOBS))["integrationJobs"] is None
    sync = (await hub.data(SYNC, {"id": order}, as_="acme"))["order"]
    assert sync == {"erpSync": None, "wmsSync": None}
    # and another customer cannot even see the order
    assert (await hub.data(SYNC, {"id": order}, as_="beta"))["order"] is None


async def test_only_an_admin_retries_and_only_failed_jobs(hub: Hub) -> None:
    await failed_order(hub)
    all_jobs = {(j.role, j.operation): j for j in await jobs(hub.db)}
    failed = integration_id(all_jobs[("erp", "push_sales_order")].id)
    done = integration_id(all_jobs[("wms", "push_outbound")].id)
    for user in ("acme", "beta", "sales", "manager"):
        errors = (await hub.data(RETRY, {"id": failed}, as_=user))["integrationJobRetry"]["errors"]
        assert [e["code"] for e in errors] == ["PERMISSION_DENIED"], user
    assert (await hub.data(RETRY, {"id": failed}))["integrationJobRetry"] is None
    errors = (await hub.data(RETRY, {"id": done}, as_="admin"))["integrationJobRetry"]["errors"]
    assert [e["code"] for e in errors] == ["INVALID_TRANSITION"]
    for bad in ("nope", integration_id(99999), "T3JkZXI6MQ"):  # the last is an Order id
        errors = (await hub.data(RETRY, {"id": bad}, as_="admin"))["integrationJobRetry"]["errors"]
        assert [e["code"] for e in errors] == ["NOT_FOUND"]
    # nothing changed by the refusals
    states = {(j.role, j.operation): (j.status, j.attempts) for j in await jobs(hub.db)}
    assert states[("erp", "push_sales_order")] == ("FAILED", 1)


async def test_a_retried_job_runs_again_once_the_cause_is_fixed(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    order = await failed_order(hub)
    [job] = [j for j in await jobs(hub.db) if j.operation == "push_sales_order"]
    # the cause is fixed: the ERP accepts documents again
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    from tests.integration.support import use_connectors

    use_connectors(settings, fixed, TOML.replace('fail = "permanent"', 'fail = "never"'))
    payload = (await hub.data(RETRY, {"id": integration_id(job.id)}, as_="admin"))["integrationJobRetry"]
    assert (
        payload["errors"] == [] and payload["job"]["status"] == "PENDING" and payload["job"]["attempts"] == 0
    )
    await drain(hub.db)
    sync = (await hub.data(SYNC, {"id": order}, as_="admin"))["order"]["erpSync"]
    assert sync == {"status": "SUCCEEDED", "externalId": "1", "attempts": 1, "lastError": None}
    assert list(current().connectors.get("erp").sales) == ["SO00000001"]


async def test_jobs_page_newest_first_with_cursors(hub: Hub) -> None:
    for _ in range(3):
        await failed_order(hub)
    first = (await hub.data(JOBS, {"first": 2}, as_="admin"))["integrationJobs"]
    rest = (await hub.data(JOBS, {"first": 50, "after": first["pageInfo"]["endCursor"]}, as_="admin"))[
        "integrationJobs"
    ]
    ids = [e["node"]["entityId"] for e in first["edges"] + rest["edges"]]
    assert first["pageInfo"]["hasNextPage"] is True and rest["pageInfo"]["hasNextPage"] is False
    assert len(ids) == first["totalCount"] == 12  # erp, wms, placed and approved notices per order
    bad = await hub.gql(JOBS, {"first": 101}, as_="admin")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"
    bad = await hub.gql(JOBS, {"after": "garbage"}, as_="admin")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"


async def test_the_total_count_counts_the_jobs_of_the_role_asked_for(hub: Hub) -> None:
    # given two orders: each has an erp and a wms push and two notices (8 jobs, 2 of them the ERP's)
    for _ in range(2):
        await failed_order(hub)
    query = "query($role: String) { integrationJobs(role: $role, first: 1) { edges { node { role } } totalCount } }"
    # when staff page through the ERP's jobs only
    erp = (await hub.data(query, {"role": "erp"}, as_="sales"))["integrationJobs"]
    everything = (await hub.data(query, {}, as_="sales"))["integrationJobs"]
    # then the total counts the ERP's jobs, as the page does, and not every job
    assert [e["node"]["role"] for e in erp["edges"]] == ["erp"]
    assert erp["totalCount"] == 2 and everything["totalCount"] == 8
    nobody = (await hub.data(query, {"role": "nav"}, as_="sales"))["integrationJobs"]
    assert nobody == {"edges": [], "totalCount": 0}


CANCEL_ORDER = 'mutation($id: ID!) { orderCancel(id: $id, reason: "changed") { errors { code message } } }'
SYNC_OP = "query($id: ID!) { order(id: $id) { erpSync { operation status attempts lastError } wmsSync { operation status externalId attempts lastError } } }"


async def test_a_cancelled_order_shows_its_cancellation_at_each_peer_from_the_start(hub: Hub) -> None:
    # given an order whose WMS push succeeded and whose ERP push failed for good
    order = await failed_order(hub)
    before = (await hub.data(SYNC_OP, {"id": order}, as_="admin"))["order"]
    assert before["wmsSync"] == {"operation": "PUSH", "status": "SUCCEEDED", "externalId": "1", "attempts": 1,
                                 "lastError": None}  # fmt: skip
    assert (before["erpSync"]["operation"], before["erpSync"]["status"]) == ("PUSH", "FAILED")
    # when it is cancelled, before any job ran
    assert (await hub.data(CANCEL_ORDER, {"id": order}, as_="manager"))["orderCancel"]["errors"] == []
    # then both peers show a pending cancellation, not the earlier push
    pending = (await hub.data(SYNC_OP, {"id": order}, as_="sales"))["order"]
    assert pending["wmsSync"] == {"operation": "CANCEL", "status": "PENDING", "externalId": "1", "attempts": 0,
                                  "lastError": None}  # fmt: skip
    assert pending["erpSync"] == {
        "operation": "CANCEL",
        "status": "PENDING",
        "attempts": 0,
        "lastError": None,
    }
    # and once the cancel jobs ran: cancelled at the WMS; refused by the ERP (it fails everything)
    await drain(hub.db)
    done = (await hub.data(SYNC_OP, {"id": order}, as_="admin"))["order"]
    assert done["wmsSync"] == {"operation": "CANCEL", "status": "SUCCEEDED", "externalId": "1", "attempts": 1,
                               "lastError": None}  # fmt: skip
    assert (done["erpSync"]["operation"], done["erpSync"]["status"], done["erpSync"]["attempts"]) == (
        "CANCEL",
        "FAILED",
        1,
    )
    assert "memory ERP told to fail (permanent)" in done["erpSync"]["lastError"]
    # and customers still see none of it
    assert (await hub.data(SYNC_OP, {"id": order}, as_="acme"))["order"] == {"erpSync": None, "wmsSync": None}


async def test_the_sync_state_of_a_page_of_orders_costs_one_query(hub: Hub) -> None:
    for _ in range(4):
        await failed_order(hub)
    query = "{ orders(first: 10) { edges { node { number } } } }"
    with_sync = "{ orders(first: 10) { edges { node { number erpSync { status } wmsSync { status } } } } }"
    with count_statements(hub.db.engine) as plain:
        await hub.data(query, as_="admin")
    with count_statements(hub.db.engine) as synced:
        data = await hub.data(with_sync, as_="admin")
    selects = [q for q in synced if q.startswith("SELECT")]
    assert len(selects) == len([q for q in plain if q.startswith("SELECT")]) + 1
    assert "FROM integration_jobs" in selects[-1]
    assert {e["node"]["erpSync"]["status"] for e in data["orders"]["edges"]} == {"FAILED"}


async def test_notification_rules_narrowed_to_a_customer(hub: Hub) -> None:
    acme = await place_order(hub, as_="acme", quantity=1)
    await place_order(hub, as_="beta", sku="SKU-B", quantity=1)
    await approve(hub, acme)
    await drain(hub.db)
    sent = current().connectors.get("notify.sales").sent
    # ACME's placed and approved, digested or not; nothing about BETA's order (SO00000002)
    text = " ".join(f"{m.title} {m.markdown}" for m in sent)
    assert "SO00000001" in text and "SO00000002" not in text
    assert {j.entity_id for j in await jobs(hub.db) if j.operation == "notify"} == {1, 3}  # ACME's events
    assert all(j.entity != "event" or j.status == "SUCCEEDED" for j in await jobs(hub.db))


async def test_many_notifications_for_one_chat_become_a_digest(hub: Hub) -> None:
    for _ in range(3):
        await place_order(hub, as_="acme", quantity=1)
    # all three events' jobs are due together: one message carries them
    async with hub.db.write() as s:
        await s.execute(update(IntegrationJob).values(enqueued_at=None))
    await drain(hub.db)
    sent = current().connectors.get("notify.sales").sent
    assert [m.title for m in sent] == ["3 updates"]
    assert all(f"SO0000000{n}" in sent[0].markdown for n in (1, 2, 3))
    assert {j.status for j in await jobs(hub.db)} == {"SUCCEEDED"}


def integration_id(pk: int) -> str:
    from hub.schema.common import encode_id

    return str(encode_id("IntegrationJob", pk))
