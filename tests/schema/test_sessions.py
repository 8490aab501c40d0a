"""Sessions that can be ended (issue 9, item 4; API.md "Operations"): each request reads its
user's current row, so a deactivated, demoted or deleted user's tokens lose what was taken
away at once; a token lives at most the configured TTL whatever its ``exp`` says; a password
change ends the caller's other sessions; and a request whose bearer token does not count says
why in ``extensions.auth``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import jwt
from sqlalchemy import delete, select, update

from hub.db import Database
from hub.domain.auth.models import Role, User
from hub.settings import Settings
from tests.support import PASSWORD, Hub, count_statements

ERRORS = "errors { field code message }"
WHO = "{ me { email roles customer { code } } warehouses { code } }"
ANONYMOUS = {"me": None, "warehouses": None}
INVALID = {"auth": "invalid"}
EXPIRED = {"auth": "expired"}
USER_CREATE = f"""mutation($email: String!) {{
  userCreate(input: {{email: $email, password: "long-enough-pw", roles: [ADMIN]}}) {{ user {{ email }} {ERRORS} }}
}}"""
USER_UPDATE = f"""mutation($id: ID!, $input: UserUpdateInput!) {{
  userUpdate(id: $id, input: $input) {{ user {{ email roles active }} {ERRORS} }}
}}"""
PASSWORD_CHANGE = f"""mutation($old: String!, $new: String!) {{
  passwordChange(oldPassword: $old, newPassword: $new) {{ token {ERRORS} }}
}}"""
TOKEN_CREATE = f"""mutation($email: String!, $password: String!) {{
  tokenCreate(email: $email, password: $password) {{ token {ERRORS} }}
}}"""


async def ask(hub: Hub, token: str | None, query: str = WHO, variables: dict[str, Any] | None = None) -> Any:
    """The JSON body of one request with ``token`` (HTTP 200 asserted)."""
    response = await hub.post({"query": query, "variables": variables or {}}, token)
    assert response.status_code == 200, response.text
    return response.json()


async def user_id(hub: Hub, label: str) -> str:
    data = await hub.data("{ me { id } }", as_=label)
    return data["me"]["id"]  # type: ignore[no-any-return]


async def log_in(hub: Hub, email: str, password: str = PASSWORD) -> str:
    payload = (await hub.data(TOKEN_CREATE, {"email": email, "password": password}))["tokenCreate"]
    assert payload["errors"] == [], payload
    return payload["token"]  # type: ignore[no-any-return]


def signed(hub: Hub, **claims: Any) -> str:
    """A token signed with the hub's key, with these claims."""
    return jwt.encode({"typ": "access", **claims}, hub.settings.secret_key, algorithm="HS256")


# -- the user's current state, on every request ------------------------------------------------
async def test_a_deactivated_users_token_counts_as_invalid_at_once(hub: Hub) -> None:
    # given a SALES user with a token that works
    await hub.standard()
    sales = hub.seeded.tokens["sales"]
    assert (await ask(hub, sales))["data"]["me"]["email"] == "sales@test.hub"
    # when an admin deactivates it
    data = await hub.data(
        USER_UPDATE, {"id": await user_id(hub, "sales"), "input": {"active": False}}, as_="admin"
    )
    assert data["userUpdate"] == {
        "user": {"email": "sales@test.hub", "roles": ["SALES"], "active": False},
        "errors": [],
    }
    # then its token runs as anonymous, and the answer says the token is invalid
    assert await ask(hub, sales) == {"data": ANONYMOUS, "extensions": INVALID}
    # and it can no longer log in
    refused = await hub.data(TOKEN_CREATE, {"email": "sales@test.hub", "password": PASSWORD})
    assert refused["tokenCreate"]["token"] is None


async def test_a_reactivated_users_old_token_stays_invalid_and_a_new_login_works(hub: Hub) -> None:
    # given a SALES user deactivated and then reactivated
    await hub.standard()
    sales, sid = hub.seeded.tokens["sales"], await user_id(hub, "sales")
    for active in (False, True):
        data = await hub.data(USER_UPDATE, {"id": sid, "input": {"active": active}}, as_="admin")
        assert data["userUpdate"]["errors"] == []
    # when it uses its old token and a new one
    old = await ask(hub, sales)
    new = await ask(hub, await log_in(hub, "sales@test.hub"))
    # then the old one stays invalid and the new one works
    assert old == {"data": ANONYMOUS, "extensions": INVALID}
    assert new == {"data": {"me": {"email": "sales@test.hub", "roles": ["SALES"], "customer": None}, "warehouses": [
        {"code": "W1"}, {"code": "W2"}]}}  # fmt: skip


async def test_a_demoted_admins_old_token_cannot_create_an_admin(hub: Hub) -> None:
    # given a second ADMIN with a token, demoted to SALES by the first
    await hub.standard()
    old_admin = await hub.add_user("admin2", [Role.ADMIN])
    data = await hub.data(
        USER_UPDATE, {"id": await user_id(hub, "admin2"), "input": {"roles": ["SALES"]}}, as_="admin"
    )
    assert data["userUpdate"]["errors"] == []
    users_before = await hub.count(User)
    # when its old token tries to create an ADMIN user
    body = await ask(hub, old_admin, USER_CREATE, {"email": "sneaky@test.hub"})
    # then it is refused for its current role, and nothing was created
    assert body == {
        "data": {
            "userCreate": {
                "user": None,
                "errors": [
                    {
                        "field": None,
                        "code": "PERMISSION_DENIED",
                        "message": "This needs one of the roles: ADMIN",
                    }
                ],
            }
        }
    }
    assert await hub.count(User) == users_before
    # and it is now SALES
    assert (await ask(hub, old_admin, "{ me { roles } }"))["data"] == {"me": {"roles": ["SALES"]}}


async def test_a_customer_user_moved_to_another_customer_sees_that_one_at_once(hub: Hub) -> None:
    # given acme's buyer with a token, moved to BETA by an admin
    await hub.standard()
    ids = await hub.data("{ customers { edges { node { id code } } } }", as_="admin")
    beta = next(e["node"]["id"] for e in ids["customers"]["edges"] if e["node"]["code"] == "BETA")
    data = await hub.data(
        USER_UPDATE, {"id": await user_id(hub, "acme"), "input": {"customerId": beta}}, as_="admin"
    )
    assert data["userUpdate"]["errors"] == []
    # when the old token asks who it is
    body = await ask(hub, hub.seeded.tokens["acme"], "{ me { customer { code } } }")
    # then it acts for BETA
    assert body == {"data": {"me": {"customer": {"code": "BETA"}}}}


async def test_a_deleted_users_token_counts_as_invalid(hub: Hub) -> None:
    # given a SALES user with a token, deleted from the database
    await hub.standard()
    async with hub.db.write() as s:
        await s.execute(delete(User).where(User.id == hub.seeded.users["sales"]))
    # when the token is used for a query and a mutation
    query = await ask(hub, hub.seeded.tokens["sales"])
    mutation = await ask(hub, hub.seeded.tokens["sales"], USER_CREATE, {"email": "ghost@test.hub"})
    # then both run as anonymous, without an error, saying the token is invalid
    assert query == {"data": ANONYMOUS, "extensions": INVALID}
    assert mutation == {"data": {"userCreate": None}, "extensions": INVALID}


# -- lifetime ---------------------------------------------------------------------------------
async def test_a_token_whose_exp_is_beyond_the_ttl_is_capped_to_it(hub: Hub) -> None:
    # given admin tokens whose exp is a year away, one issued just over the TTL ago and one
    # issued a minute ago
    await hub.standard()
    now, ttl, uid = int(time.time()), hub.settings.token_ttl_seconds, hub.seeded.users["admin"]
    old = signed(hub, sub=str(uid), iat=now - ttl - 1, exp=now + 365 * 86400)
    recent = signed(hub, sub=str(uid), iat=now - 60, exp=now + 365 * 86400)
    # when each asks who it is
    old_me = await ask(hub, old, "{ me { email } }")
    recent_me = await ask(hub, recent, "{ me { email } }")
    # then the old one has expired at iat + TTL, and the recent one works
    assert old_me == {"data": {"me": None}, "extensions": EXPIRED}
    assert recent_me == {"data": {"me": {"email": "admin@test.hub"}}}


async def test_a_token_issued_in_the_future_is_invalid(hub: Hub) -> None:
    # given an admin token whose iat is an hour ahead
    await hub.standard()
    now, uid = int(time.time()), hub.seeded.users["admin"]
    token = signed(hub, sub=str(uid), iat=now + 3600, exp=now + 7200)
    # when it asks who it is, then it is anonymous and invalid
    assert await ask(hub, token, "{ me { email } }") == {"data": {"me": None}, "extensions": INVALID}


# -- password change ---------------------------------------------------------------------------
async def test_tokens_issued_before_a_password_change_stop_working_and_the_new_one_works(hub: Hub) -> None:
    # given acme's buyer logged in twice (two sessions)
    await hub.standard()
    first = await log_in(hub, "acme@test.hub")
    second = await log_in(hub, "acme@test.hub")
    # when it changes its password with the first
    data = await ask(hub, first, PASSWORD_CHANGE, {"old": PASSWORD, "new": "a-brand-new-secret"})
    payload = data["data"]["passwordChange"]
    assert payload["errors"] == []
    fresh = payload["token"]
    # then both old tokens are invalid, the seeded one too
    for token in (first, second, hub.seeded.tokens["acme"]):
        assert await ask(hub, token, "{ me { email } }") == {"data": {"me": None}, "extensions": INVALID}
    # and the answered token works
    assert await ask(hub, fresh, "{ me { email } }") == {"data": {"me": {"email": "acme@test.hub"}}}
    # and only the new password logs in, into a working session
    refused = await hub.data(TOKEN_CREATE, {"email": "acme@test.hub", "password": PASSWORD})
    assert refused["tokenCreate"]["errors"][0]["code"] == "INVALID"
    again = await log_in(hub, "acme@test.hub", "a-brand-new-secret")
    assert await ask(hub, again, "{ me { email } }") == {"data": {"me": {"email": "acme@test.hub"}}}


async def test_user_password_set_ends_the_users_sessions(hub: Hub) -> None:
    # given the warehouse clerk with a working token
    await hub.standard()
    clerk = hub.seeded.tokens["warehouse"]
    # when an admin sets its password
    data = await hub.data(
        f'mutation($id: ID!) {{ userPasswordSet(id: $id, password: "reset-by-admin") {{ user {{ email }} {ERRORS} }} }}',
        {"id": await user_id(hub, "warehouse")},
        as_="admin",
    )
    assert data["userPasswordSet"] == {"user": {"email": "warehouse@test.hub"}, "errors": []}
    # then the old token is invalid and the new password logs in
    assert await ask(hub, clerk, "{ me { email } }") == {"data": {"me": None}, "extensions": INVALID}
    token = await log_in(hub, "warehouse@test.hub", "reset-by-admin")
    assert await ask(hub, token, "{ me { email } }") == {"data": {"me": {"email": "warehouse@test.hub"}}}
    # and tokens_valid_after is set
    async with hub.db.read() as s:
        valid_after = await s.scalar(
            select(User.tokens_valid_after).where(User.id == hub.seeded.users["warehouse"])
        )
    assert valid_after is not None


# -- extensions.auth --------------------------------------------------------------------------
async def test_extensions_auth_says_expired_or_invalid_and_is_absent_otherwise(hub: Hub) -> None:
    # given the standard seed, an expired admin token and a garbled one
    await hub.standard()
    now, uid = int(time.time()), hub.seeded.users["admin"]
    expired = signed(hub, sub=str(uid), iat=now - 7200, exp=now - 3600)
    garbled = hub.seeded.tokens["admin"][:-4] + "AAAA"
    # when each asks who it is, and a valid token and no token do too
    answers = [
        await ask(hub, t, "{ me { email } }") for t in (expired, garbled, hub.seeded.tokens["admin"], None)
    ]
    # then the expired and invalid ones run as anonymous and say why; the others carry no extension
    assert answers == [
        {"data": {"me": None}, "extensions": EXPIRED},
        {"data": {"me": None}, "extensions": INVALID},
        {"data": {"me": {"email": "admin@test.hub"}}},
        {"data": {"me": None}},
    ]


# -- the per-process user cache (HUB_USER_CACHE_SECONDS) ----------------------------------------
def users_reads(statements: list[str]) -> int:
    return sum("FROM users" in s for s in statements)


async def test_with_the_user_cache_a_change_made_here_is_seen_at_once(
    settings: Settings, db: Database
) -> None:
    async with Hub.start(replace(settings, user_cache_seconds=60), db) as hub:
        # given a second admin and a SALES user, whose states are cached by a first request each
        await hub.standard()
        other_admin = await hub.add_user("admin2", [Role.ADMIN])
        with count_statements(db.engine) as first:
            await ask(hub, other_admin)
            await ask(hub, hub.seeded.tokens["sales"])
        with count_statements(db.engine) as again:
            assert (await ask(hub, other_admin, "{ me { roles } }"))["data"] == {"me": {"roles": ["ADMIN"]}}
        assert (users_reads(first), users_reads(again)) == (2, 0)
        # when admin demotes admin2 and deactivates the SALES user through this process
        for label, inp in (("admin2", {"roles": ["SALES"]}), ("sales", {"active": False})):
            data = await hub.data(USER_UPDATE, {"id": await user_id(hub, label), "input": inp}, as_="admin")
            assert data["userUpdate"]["errors"] == []
        # then their next requests see it, though the cache would have kept them a minute
        assert (await ask(hub, other_admin, "{ me { roles } }"))["data"] == {"me": {"roles": ["SALES"]}}
        assert await ask(hub, hub.seeded.tokens["sales"]) == {"data": ANONYMOUS, "extensions": INVALID}


async def test_with_the_user_cache_a_change_made_elsewhere_is_seen_within_its_seconds(
    settings: Settings, db: Database
) -> None:
    async with Hub.start(replace(settings, user_cache_seconds=1), db) as hub:
        # given a SALES user whose state this process has cached
        await hub.standard()
        sales = hub.seeded.tokens["sales"]
        assert (await ask(hub, sales))["data"]["me"]["email"] == "sales@test.hub"
        # when another process deactivates it (written straight to the database)
        async with db.write() as s:
            await s.execute(update(User).where(User.id == hub.seeded.users["sales"]).values(active=False))
        # then this process notices within the cache's second
        await asyncio.sleep(1.05)
        assert await ask(hub, sales) == {"data": ANONYMOUS, "extensions": INVALID}
