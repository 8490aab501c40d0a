"""User management (API.md "Operations"): userUpdate and userPasswordSet (ADMIN) and
passwordChange (the caller). Permissions for an anonymous caller, a customer user, every wrong
staff role and ADMIN; the rules of userUpdate; every refused mutation writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.domain.auth.models import User
from hub.schema.common import encode_id
from tests.support import PASSWORD, Hub

ERRORS = "errors { field code message }"
USER_UPDATE = f"""mutation($id: ID!, $input: UserUpdateInput!) {{
  userUpdate(id: $id, input: $input) {{ user {{ email roles active customer {{ code }} }} {ERRORS} }}
}}"""
USER_PASSWORD_SET = f"""mutation($id: ID!, $password: String!) {{
  userPasswordSet(id: $id, password: $password) {{ user {{ email }} {ERRORS} }}
}}"""
PASSWORD_CHANGE = f"""mutation($old: String!, $new: String!) {{
  passwordChange(oldPassword: $old, newPassword: $new) {{ token {ERRORS} }}
}}"""
NOT_ADMIN = ["sales", "manager", "finance", "warehouse", "director", "acme"]
DENIED = [{"field": None, "code": "PERMISSION_DENIED", "message": "This needs one of the roles: ADMIN"}]


async def users(hub: Hub) -> list[tuple[Any, ...]]:
    """Every user row as it is stored: what any of these mutations could write."""
    async with hub.db.read() as s:
        rows = await s.execute(
            select(
                User.id,
                User.email,
                User.roles_text,
                User.customer_id,
                User.active,
                User.password_hash,
                User.tokens_valid_after,
            ).order_by(User.id)
        )
        return [tuple(r) for r in rows]


async def user_row(hub: Hub, label: str) -> tuple[Any, ...]:
    return next(r for r in await users(hub) if r[0] == hub.seeded.users[label])


def uid(hub: Hub, label: str) -> str:
    return encode_id("User", hub.seeded.users[label])


def cid(hub: Hub, code: str) -> str:
    return encode_id("Customer", hub.seeded.customers[code])


async def update(hub: Hub, label: str, inp: dict[str, Any], as_: str = "admin") -> Any:
    return (await hub.data(USER_UPDATE, {"id": uid(hub, label), "input": inp}, as_=as_))["userUpdate"]


# -- permissions ------------------------------------------------------------------------------
async def test_anonymous_caller_gets_null_for_each_and_nothing_is_written(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when an anonymous caller runs each mutation
    data = await hub.data(
        f"""mutation($id: ID!) {{
          userUpdate(id: $id, input: {{roles: [ADMIN]}}) {{ {ERRORS} }}
          userPasswordSet(id: $id, password: "long-enough-pw") {{ {ERRORS} }}
          passwordChange(oldPassword: "{PASSWORD}", newPassword: "long-enough-pw") {{ {ERRORS} }}
        }}""",
        {"id": uid(hub, "sales")},
    )
    # then each answers null and no user changed
    assert data == {"userUpdate": None, "userPasswordSet": None, "passwordChange": None}
    assert await users(hub) == before


@pytest.mark.parametrize("caller", NOT_ADMIN)
async def test_user_update_is_denied_to_every_role_but_admin(hub: Hub, caller: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when a non-admin makes the sales user an ADMIN, and deactivates itself
    promote = await update(hub, "sales", {"roles": ["ADMIN"]}, as_=caller)
    deactivate = await update(hub, caller, {"active": False}, as_=caller)
    # then both are refused and nothing was written
    assert promote == {"user": None, "errors": DENIED}
    assert deactivate == {"user": None, "errors": DENIED}
    assert await users(hub) == before


@pytest.mark.parametrize("caller", NOT_ADMIN)
async def test_user_password_set_is_denied_to_every_role_but_admin(hub: Hub, caller: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when a non-admin sets the admin's password
    data = await hub.data(
        USER_PASSWORD_SET, {"id": uid(hub, "admin"), "password": "taken-over-pw"}, as_=caller
    )
    # then it is refused and nothing was written
    assert data["userPasswordSet"] == {"user": None, "errors": DENIED}
    assert await users(hub) == before


async def test_admin_may_update_a_user_and_set_its_password(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    old_hash = (await user_row(hub, "finance"))[5]
    # when the admin gives FINANCE the DIRECTOR role too and sets its password
    updated = await update(hub, "finance", {"roles": ["FINANCE", "DIRECTOR"]})
    reset = await hub.data(
        USER_PASSWORD_SET, {"id": uid(hub, "finance"), "password": "new-finance-pw"}, as_="admin"
    )
    # then both are done
    assert updated == {
        "user": {
            "email": "finance@test.hub",
            "roles": ["DIRECTOR", "FINANCE"],
            "active": True,
            "customer": None,
        },
        "errors": [],
    }
    assert reset["userPasswordSet"] == {"user": {"email": "finance@test.hub"}, "errors": []}
    row = await user_row(hub, "finance")
    assert (row[2], row[4]) == ("DIRECTOR,FINANCE", True)
    assert row[5] != old_hash and row[6] is not None


@pytest.mark.parametrize("caller", ["admin", "sales", "acme"])
async def test_every_user_may_change_its_own_password(hub: Hub, caller: str) -> None:
    # given the standard seed
    await hub.standard()
    others = [r for r in await users(hub) if r[0] != hub.seeded.users[caller]]
    # when the caller changes its password
    data = await hub.data(PASSWORD_CHANGE, {"old": PASSWORD, "new": "my-own-new-pw"}, as_=caller)
    # then it gets a new token, and no other user changed
    assert data["passwordChange"]["errors"] == []
    assert isinstance(data["passwordChange"]["token"], str)
    assert [r for r in await users(hub) if r[0] != hub.seeded.users[caller]] == others


# -- userUpdate rules -------------------------------------------------------------------------
async def test_omitted_fields_are_left_as_they_are(hub: Hub) -> None:
    # given acme's buyer
    await hub.standard()
    before = await user_row(hub, "acme")
    # when the admin sends an empty update, and one with only nulls and no regions
    empty = await update(hub, "acme", {})
    nulls = await update(hub, "acme", {"roles": None, "active": None, "regionIds": []})
    # then nothing changed
    expected = {
        "user": {
            "email": "acme@test.hub",
            "roles": ["CUSTOMER"],
            "active": True,
            "customer": {"code": "ACME"},
        },
        "errors": [],
    }
    assert empty == expected
    assert nulls == expected
    assert await user_row(hub, "acme") == before


async def test_a_staff_user_becomes_a_customer_user_with_a_customer(hub: Hub) -> None:
    # given the sales user
    await hub.standard()
    # when the admin makes it BETA's buyer
    data = await update(hub, "sales", {"roles": ["CUSTOMER"], "customerId": cid(hub, "BETA")})
    # then it is one
    assert data == {
        "user": {
            "email": "sales@test.hub",
            "roles": ["CUSTOMER"],
            "active": True,
            "customer": {"code": "BETA"},
        },
        "errors": [],
    }
    # and back to staff, the customer removed with null
    back = await update(hub, "sales", {"roles": ["SALES"], "customerId": None})
    assert back["errors"] == []
    assert (await user_row(hub, "sales"))[2:4] == ("SALES", None)


REFUSED: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    (
        "customer role without a customer",
        "sales",
        {"roles": ["CUSTOMER"]},
        [{"field": "customerId", "code": "INVALID", "message": "customerId is required for a CUSTOMER user"}],
    ),
    (
        "staff role keeping the customer",
        "acme",
        {"roles": ["SALES"]},
        [
            {
                "field": "customerId",
                "code": "INVALID",
                "message": "customerId is only for users with the CUSTOMER role",
            }
        ],
    ),
    (
        "a customer for a staff user",
        "sales",
        {"customerId": "CUSTOMER:ACME"},
        [
            {
                "field": "customerId",
                "code": "INVALID",
                "message": "customerId is only for users with the CUSTOMER role",
            }
        ],
    ),
    (
        "customer mixed with staff",
        "acme",
        {"roles": ["CUSTOMER", "SALES"]},
        [{"field": "roles", "code": "INVALID", "message": "A CUSTOMER user cannot also hold staff roles"}],
    ),
    (
        "no roles",
        "sales",
        {"roles": []},
        [{"field": "roles", "code": "INVALID", "message": "Give at least one role"}],
    ),
    (
        "an admin removing its own ADMIN role",
        "admin",
        {"roles": ["SALES"]},
        [{"field": "roles", "code": "INVALID", "message": "You cannot remove your own ADMIN role"}],
    ),
    (
        "an admin deactivating itself",
        "admin",
        {"active": False},
        [{"field": "active", "code": "INVALID", "message": "You cannot deactivate yourself"}],
    ),
    (
        "an unknown region",
        "sales",
        {"regionIds": ["UmVnaW9uOjE"]},
        [{"field": "regionIds", "code": "NOT_FOUND", "message": "Region not found"}],
    ),
]


@pytest.mark.parametrize(("target", "inp", "errors"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_user_update_refuses_what_breaks_a_rule_and_writes_nothing(
    hub: Hub, target: str, inp: dict[str, Any], errors: list[dict[str, Any]]
) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when the admin sends an update that breaks a rule
    data = await update(hub, target, inp)
    # then it is refused with the rule's error, and nothing was written
    assert data == {"user": None, "errors": errors}
    assert await users(hub) == before


async def test_unknown_user_or_customer_is_not_found_and_nothing_is_written(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when the admin updates a user that does not exist, a customer id for a customer that does
    # not exist, and sets the password of a missing user
    missing_user = await hub.data(
        USER_UPDATE, {"id": encode_id("User", 987_654), "input": {"active": False}}, as_="admin"
    )
    missing_customer = await update(
        hub, "sales", {"roles": ["CUSTOMER"], "customerId": encode_id("Customer", 987_654)}
    )
    missing_for_password = await hub.data(
        USER_PASSWORD_SET, {"id": encode_id("Order", 1), "password": "long-enough-pw"}, as_="admin"
    )
    # then each is NOT_FOUND and nothing was written
    assert missing_user["userUpdate"] == {
        "user": None,
        "errors": [{"field": "id", "code": "NOT_FOUND", "message": "User not found"}],
    }
    assert missing_customer == {
        "user": None,
        "errors": [{"field": "customerId", "code": "NOT_FOUND", "message": "Customer not found"}],
    }
    assert missing_for_password["userPasswordSet"] == {
        "user": None,
        "errors": [{"field": "id", "code": "NOT_FOUND", "message": "User not found"}],
    }
    assert await users(hub) == before


async def test_user_password_set_refuses_a_short_password_and_writes_nothing(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await users(hub)
    # when the admin sets a 7-character password
    data = await hub.data(USER_PASSWORD_SET, {"id": uid(hub, "sales"), "password": "short77"}, as_="admin")
    # then it is refused and nothing was written
    assert data["userPasswordSet"] == {
        "user": None,
        "errors": [
            {"field": "password", "code": "INVALID", "message": "Password must be 8 to 256 characters"}
        ],
    }
    assert await users(hub) == before


# -- passwordChange rules ---------------------------------------------------------------------
async def test_password_change_refuses_a_wrong_old_password_or_a_short_new_one(hub: Hub) -> None:
    # given acme's buyer
    await hub.standard()
    before = await users(hub)
    # when it sends a wrong current password, and then a short new one
    wrong = await hub.data(PASSWORD_CHANGE, {"old": "not-my-password", "new": "long-enough-pw"}, as_="acme")
    short = await hub.data(PASSWORD_CHANGE, {"old": PASSWORD, "new": "short"}, as_="acme")
    # then each is refused, nothing was written, and its token still works
    assert wrong["passwordChange"] == {
        "token": None,
        "errors": [{"field": "oldPassword", "code": "INVALID", "message": "The current password is wrong"}],
    }
    assert short["passwordChange"] == {
        "token": None,
        "errors": [
            {"field": "newPassword", "code": "INVALID", "message": "Password must be 8 to 256 characters"}
        ],
    }
    assert await users(hub) == before
    assert await hub.data("{ me { email } }", as_="acme") == {"me": {"email": "acme@test.hub"}}
