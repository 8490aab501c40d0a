"""Logins through the app: throttled per e-mail and client address, unknown e-mails alike,
shared across processes over Redis, and a bound on concurrent password checks (issue 9, item 6)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis

import hub.domain.auth.passwords as passwords
from hub.app import create_app
from hub.settings import Settings
from tests.conftest import REDIS_URL
from tests.support import PASSWORD, Hub

LOGIN = "mutation($e: String!, $p: String!) { tokenCreate(email: $e, password: $p) { token errors { field code message } } }"
CHANGE = "mutation($old: String!, $new: String!) { passwordChange(oldPassword: $old, newPassword: $new) { token errors { field code message } } }"


Client = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def app_clients(settings: Settings, hub: Hub) -> AsyncIterator[Client]:
    """One app (one process's state) over the hub's database, and a client per address."""
    app = create_app(settings, db=hub.db, run_jobs=False)
    clients: dict[str, httpx.AsyncClient] = {}

    def client(address: str) -> httpx.AsyncClient:
        if address not in clients:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            clients[address] = httpx.AsyncClient(transport=transport, base_url="http://hub.test")
        return clients[address]

    try:
        yield client
    finally:
        for c in clients.values():
            await c.aclose()


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": password}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["tokenCreate"]  # type: ignore[no-any-return]


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_one_address_is_stopped_after_30_failures_over_many_emails(hub: Hub) -> None:
    # given the standard seed and a client trying one password on many e-mails, mostly unknown
    await hub.standard()
    async with app_clients(hub.settings, hub) as client:
        sprayer = client("203.0.113.7")
        for n in range(30):
            failed = await login(sprayer, f"user{n}@test.hub", "Winter2026!")
            assert failed["token"] is None and failed["errors"][0]["message"] == "Email or password is wrong"
        # when it then tries a known account, even with the right password
        refused = await login(sprayer, "acme@test.hub", PASSWORD)
        # then it is refused as throttled
        assert refused["token"] is None
        assert refused["errors"] == [
            {
                "field": None,
                "code": "INVALID",
                "message": "Too many failed attempts; try again in a few minutes",
            }
        ]
        # while another address logs in
        assert (await login(client("198.51.100.20"), "acme@test.hub", PASSWORD))["token"]


async def test_unknown_emails_are_throttled_like_known_ones_with_identical_answers(hub: Hub) -> None:
    await hub.standard()
    async with app_clients(hub.settings, hub) as client:
        c = client("203.0.113.8")
        known = [await login(c, "acme@test.hub", "wrong-password") for _ in range(6)]
        unknown = [await login(c, "nobody@test.hub", "wrong-password") for _ in range(6)]
    # the same answers, one by one: five failures, then throttled
    assert known == unknown
    assert [p["errors"][0]["message"] for p in known] == ["Email or password is wrong"] * 5 + [
        "Too many failed attempts; try again in a few minutes"
    ]


async def test_a_stranger_cannot_lock_a_dealer_out(hub: Hub) -> None:
    # given a stranger failing the dealer's password many times from its own address
    await hub.standard()
    async with app_clients(hub.settings, hub) as client:
        stranger = client("203.0.113.9")
        answers = [await login(stranger, "acme@test.hub", "guess-1234") for _ in range(20)]
        assert codes(answers[-1]) == ["INVALID"]
        assert answers[-1]["errors"][0]["message"].startswith("Too many failed attempts")
        # when the dealer logs in from its address
        dealer = await login(client("198.51.100.30"), "acme@test.hub", PASSWORD)
        # then it gets its token
        assert dealer["errors"] == [] and dealer["token"]


@pytest.mark.skipif(REDIS_URL is None, reason="HUB_TEST_REDIS_URL not set (the PostgreSQL + Redis leg)")
async def test_two_processes_share_the_failures_over_redis(hub: Hub) -> None:
    # given two apps (two API processes) configured with one Redis
    assert REDIS_URL is not None
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(match="hub:login:*"):
        store.delete(key)
    settings = replace(hub.settings, redis_url=REDIS_URL)
    await hub.standard()
    try:
        async with app_clients(settings, hub) as one, app_clients(settings, hub) as two:
            # when five logins for acme fail from one address, alternately on each process
            for n in range(5):
                failed = await login((one if n % 2 else two)("203.0.113.10"), "acme@test.hub", "nope-nope")
                assert failed["errors"][0]["message"] == "Email or password is wrong"
            # then either process refuses the sixth, even with the right password
            refused = await login(one("203.0.113.10"), "acme@test.hub", PASSWORD)
            assert refused["errors"][0]["message"].startswith("Too many failed attempts")
            assert (await login(two("203.0.113.10"), "acme@test.hub", PASSWORD))["token"] is None
    finally:
        for key in store.scan_iter(match="hub:login:*"):
            store.delete(key)
        store.close()


class CountingHasher:
    """The real argon2 hasher, counting how many verifications run at once (in threads)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def verify(self, hash_: str, password: str) -> Any:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            return self.real.verify(hash_, password)
        finally:
            with self.lock:
                self.running -= 1

    def hash(self, password: str) -> Any:
        return self.real.hash(password)


async def test_at_most_k_password_checks_run_at_once_and_the_excess_is_refused(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given at most 2 concurrent checks (and 2 waiting), and a hasher that counts them
    await hub.standard()
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    settings = replace(hub.settings, max_concurrent_logins=2)
    async with app_clients(settings, hub) as client:
        # when 64 logins with the right password arrive at once, each from its own address,
        # twice over
        busy: list[dict[str, Any]] = []
        ok: list[dict[str, Any]] = []
        for burst in range(2):
            answers = await asyncio.gather(
                *(login(client(f"10.{burst}.0.{n}"), "acme@test.hub", PASSWORD) for n in range(64))
            )
            ok += [a for a in answers if a["token"]]
            busy += [a for a in answers if not a["token"]]
        # then no more than 2 verifications ran at once
        assert counting.most <= 2
        # and every login either got its token or was refused at once as retryable
        assert len(ok) == counting.calls
        assert busy and len(ok) + len(busy) == 128
        for answer in busy:
            assert answer["errors"] == [
                {
                    "field": None,
                    "code": "UNAVAILABLE",
                    "message": "The server is busy checking other passwords; retry in 1 second",
                }
            ]
        # and the refused ones did not count as failures: had they, the e-mail's ceiling of 100
        # failures would be passed and this login refused as throttled
        assert len(busy) > 100
        assert (await login(client("10.9.0.1"), "acme@test.hub", PASSWORD))["token"]


async def test_password_change_is_throttled_like_a_login(hub: Hub) -> None:
    # given acme's buyer, signed in
    await hub.standard()
    token = hub.seeded.tokens["acme"]
    async with app_clients(hub.settings, hub) as client:
        c = client("203.0.113.11")

        async def change(old: str) -> dict[str, Any]:
            response = await c.post(
                "/graphql",
                json={"query": CHANGE, "variables": {"old": old, "new": "a-new-password"}},
                headers={"authorization": f"Bearer {token}"},
            )
            return response.json()["data"]["passwordChange"]  # type: ignore[no-any-return]

        # when its current password is guessed wrong five times
        for _ in range(5):
            wrong = await change("guess-guess")
            assert wrong["errors"][0]["message"] == "The current password is wrong"
        # then the sixth try is refused even with the right password, and nothing changed
        refused = await change(PASSWORD)
        assert refused["token"] is None
        assert refused["errors"] == [
            {
                "field": "oldPassword",
                "code": "INVALID",
                "message": "Too many failed attempts; try again in a few minutes",
            }
        ]
        # and the failures count for logins too: the same e-mail from this address is throttled
        assert (await login(c, "acme@test.hub", PASSWORD))["errors"][0]["message"].startswith("Too many")
        assert (await login(client("198.51.100.40"), "acme@test.hub", PASSWORD))["token"]
