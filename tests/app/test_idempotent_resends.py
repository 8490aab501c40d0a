"""Resends of one idempotency key, all in flight at once: every send answers the same order, in
one process (the real ASGI app) and across two `hub serve` processes, on each database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select

from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.inventory.models import Reservation
from hub.domain.orders import placement
from hub.domain.orders.models import IdempotencyRecord, Order
from hub.domain.pricing.quotes import LineInput
from hub.schema.common import decode_id
from tests.support import Hub

ORDER = """mutation($lines: [OrderLineInput!]!, $key: String) {
  orderCreate(input: {lines: $lines}, idempotencyKey: $key) {
    order { id status lines { sku quantity } } errors { code field message } } }"""

SENDS = 10
ONE = [{"sku": "ONE", "quantity": 1}]


async def _one_unit_and_a_buyer(hub: Hub) -> None:
    await hub.add_warehouse("W1")
    await hub.add_product("ONE", "5.00", {"W1": 1})
    await hub.add_customer("C")
    await hub.add_user("buyer", [Role.CUSTOMER], customer="C")


async def _assert_one_order(hub: Hub, bodies: list[dict[str, object]]) -> None:
    # no request failed outright, and every send answered the same order, without errors
    assert all("errors" not in body for body in bodies), bodies
    payloads = [body["data"]["orderCreate"] for body in bodies]  # type: ignore[index]
    assert [p["errors"] for p in payloads] == [[]] * len(bodies), payloads
    assert len({p["order"]["id"] for p in payloads}) == 1, payloads
    # and the database holds one order, one key and the stock reserved once
    assert await hub.count(Order) == 1
    assert await hub.count(IdempotencyRecord) == 1
    assert await hub.count(Reservation) == 1
    assert await hub.stock("ONE") == [("W1", 1, 1)]


async def test_ten_concurrent_resends_of_one_key_answer_one_order(hub: Hub) -> None:
    # given stock for one unit and a buyer
    await _one_unit_and_a_buyer(hub)
    # when the buyer sends the same order with the same key ten times at once
    bodies = await asyncio.gather(
        *(hub.gql(ORDER, {"lines": ONE, "key": "tap-1"}, as_="buyer") for _ in range(SENDS))
    )
    # then all ten answer the one order, placed once
    await _assert_one_order(hub, list(bodies))
    # and a later resend answers it too
    again = await hub.data(ORDER, {"lines": ONE, "key": "tap-1"}, as_="buyer")
    assert again["orderCreate"]["order"]["id"] == bodies[0]["data"]["orderCreate"]["order"]["id"]


async def test_a_resend_after_an_answer_with_errors_may_still_place(hub: Hub) -> None:
    # given no stock left, and a send that was refused for it
    await _one_unit_and_a_buyer(hub)
    await hub.add_product("NONE", "5.00", {"W1": 0})
    refused = await hub.data(ORDER, {"lines": [{"sku": "NONE", "quantity": 1}], "key": "k"}, as_="buyer")
    assert [e["code"] for e in refused["orderCreate"]["errors"]] == ["INSUFFICIENT_STOCK"]
    # when the buyer fixes the input and resends it with the same key, several times at once
    bodies = await asyncio.gather(
        *(hub.gql(ORDER, {"lines": ONE, "key": "k"}, as_="buyer") for _ in range(4))
    )
    # then the key was not used up: one order, answered to every send
    await _assert_one_order(hub, list(bodies))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _servers(hub: Hub, count: int) -> Iterator[list[str]]:
    """``count`` `hub serve` processes on ``hub``'s database; their base URLs once all answer."""
    procs: list[subprocess.Popen[str]] = []
    urls = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    try:
        for _ in range(count):
            port = _free_port()
            env = base | {
                "HUB_DATABASE_URL": hub.settings.database_url,
                "HUB_SECRET_KEY": hub.settings.secret_key,
                "HUB_PORT": str(port),
            }
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hub.cli", "serve"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for proc, url in zip(procs, urls, strict=True):
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, "hub serve exited"
                assert time.monotonic() < deadline, "hub serve did not start"
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


async def test_ten_concurrent_resends_across_two_processes_answer_one_order(hub: Hub) -> None:
    # given stock for one unit, a buyer and two hub processes on the same database
    await _one_unit_and_a_buyer(hub)
    token = hub.seeded.tokens["buyer"]
    body = {"query": ORDER, "variables": {"lines": ONE, "key": "tap-2"}}
    with _servers(hub, 2) as urls:
        async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {token}"}) as client:
            # when the same order with the same key is sent ten times at once, half to each process
            responses = await asyncio.gather(
                *(client.post(f"{urls[i % 2]}/graphql", json=body) for i in range(SENDS))
            )
    # then all ten answer the one order, placed once
    assert [r.status_code for r in responses] == [200] * SENDS
    await _assert_one_order(hub, [r.json() for r in responses])


async def test_the_database_agrees_with_a_replayed_order(hub: Hub) -> None:
    # given an order placed with a key
    await _one_unit_and_a_buyer(hub)
    first = await hub.data(ORDER, {"lines": ONE, "key": "k"}, as_="buyer")
    # when it is sent again
    again = await hub.data(ORDER, {"lines": ONE, "key": "k"}, as_="buyer")
    # then it is the same order, and the key points at it
    assert again == first
    async with hub.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


async def test_a_look_up_that_missed_a_just_committed_send_never_answers_differently(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an order placed with a key that took the last unit
    await _one_unit_and_a_buyer(hub)
    first = await hub.data(ORDER, {"lines": ONE, "key": "k"}, as_="buyer")
    order_id = decode_id("Order", first["orderCreate"]["order"]["id"])
    async with hub.db.read() as s:
        user = await s.get(User, hub.seeded.users["buyer"])
        assert user is not None
        buyer = Principal(user.id, user.email, user.roles, user.customer_id)

    # and a claim whose look-up misses it, as one whose snapshot predates that commit would
    async def stale_claim(*_args: object) -> None:
        return None

    monkeypatch.setattr(placement, "_claim_key", stale_claim)
    # when the key is sent again (the one unit is gone)
    try:
        async with hub.db.write() as session:
            replay = await placement.create_order(
                session, buyer, lines=[LineInput("ONE", 1)], idempotency_key="k"
            )
        outcome: object = replay.id
    except placement.IdempotencyRace:
        outcome = "race"  # the resolver runs it again, and the claim then finds the key
    # then it answers the first order (PostgreSQL: looked up again under the lock) or is run
    # again (SQLite: the key is recorded before the stock is checked), never INSUFFICIENT_STOCK
    assert outcome == (order_id if not hub.db.is_sqlite else "race")
    assert await hub.count(Order) == 1
    assert await hub.stock("ONE") == [("W1", 1, 1)]
