"""Customer groups, regions and customerUpdate (API.md "Pricing and catalog management"):
permissions for anonymous, customer users and every staff role; validation with field names and
nothing written; omitted vs null; a deactivated customer; user regions; batched reads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.domain.audit.models import AuditEntry
from hub.domain.auth.models import Role
from hub.domain.customers.models import Customer, CustomerGroup, Region, UserRegion
from hub.schema.common import encode_id
from tests.support import PASSWORD, Hub, count_statements

ERRORS = "errors { field code message }"
GROUP_CREATE = f"""mutation($input: CustomerGroupCreateInput!) {{
  customerGroupCreate(input: $input) {{ customerGroup {{ id code name }} {ERRORS} }} }}"""
REGION_CREATE = f"""mutation($input: RegionCreateInput!) {{
  regionCreate(input: $input) {{ region {{ id code name }} {ERRORS} }} }}"""
CUSTOMER_FIELDS = (
    "code name active creditLimit { amount } group { code name } region { code name } salesRep { email }"
)
CUSTOMER_UPDATE = f"""mutation($id: ID!, $input: CustomerUpdateInput!) {{
  customerUpdate(id: $id, input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} {ERRORS} }} }}"""
LISTS = "{ customerGroups { code name } regions { code name } }"
USER_UPDATE = f"""mutation($id: ID!, $input: UserUpdateInput!) {{
  userUpdate(id: $id, input: $input) {{ user {{ email }} {ERRORS} }} }}"""
STAFF_NOT_MANAGERS = ["sales", "finance", "warehouse", "director"]
DENIED = {"field": None, "code": "PERMISSION_DENIED", "message": "This needs one of the roles: SALES_MANAGER"}


def gid(pk: int) -> str:
    return encode_id("CustomerGroup", pk)


def rid(pk: int) -> str:
    return encode_id("Region", pk)


def cid(hub: Hub, code: str) -> str:
    return encode_id("Customer", hub.seeded.customers[code])


async def segments(hub: Hub) -> None:
    """The standard seed plus two groups and two regions; ACME in T1 / EAST."""
    await hub.standard()
    async with hub.db.write() as s:
        s.add_all([CustomerGroup(code="T1", name="一级代理"), CustomerGroup(code="T2", name="二级代理")])
        s.add_all([Region(code="EAST", name="华东 East"), Region(code="SOUTH", name="华南 South")])
        await s.flush()
        acme = await s.get(Customer, hub.seeded.customers["ACME"])
        assert acme is not None
        acme.group_id, acme.region_id = 1, 1


async def customer_rows(hub: Hub) -> list[tuple[Any, ...]]:
    async with hub.db.read() as s:
        rows = await s.execute(
            select(Customer.id, Customer.name, Customer.group_id, Customer.region_id, Customer.credit_limit,
                   Customer.sales_rep_id, Customer.active).order_by(Customer.id)
        )  # fmt: skip
        return [tuple(r) for r in rows]


async def update(hub: Hub, inp: dict[str, Any], as_: str = "manager", code: str = "ACME") -> Any:
    return (await hub.data(CUSTOMER_UPDATE, {"id": cid(hub, code), "input": inp}, as_=as_))["customerUpdate"]


# -- who may ---------------------------------------------------------------------------------


async def test_group_and_region_lists_are_for_staff(hub: Hub) -> None:
    await segments(hub)
    # anonymous and customer users get null
    assert (await hub.gql(LISTS))["data"] == {"customerGroups": None, "regions": None}
    assert (await hub.data(LISTS, as_="acme")) == {"customerGroups": None, "regions": None}
    # every staff role gets the lists, by code
    for who in ["sales", "manager", "finance", "warehouse", "director", "admin"]:
        assert await hub.data(LISTS, as_=who) == {
            "customerGroups": [{"code": "T1", "name": "一级代理"}, {"code": "T2", "name": "二级代理"}],
            "regions": [{"code": "EAST", "name": "华东 East"}, {"code": "SOUTH", "name": "华南 South"}],
        }, who


@pytest.mark.parametrize(("mutation", "name", "model"), [
    (GROUP_CREATE, "customerGroupCreate", CustomerGroup), (REGION_CREATE, "regionCreate", Region),
])  # fmt: skip
async def test_group_and_region_create_are_for_sales_managers_and_admins(
    hub: Hub, mutation: str, name: str, model: type
) -> None:
    await hub.standard()
    inp = {"input": {"code": "X1", "name": "Some name"}}
    # anonymous: null; a customer user and staff without SALES_MANAGER: PERMISSION_DENIED
    assert (await hub.gql(mutation, inp))["data"] == {name: None}
    for who in ["acme", *STAFF_NOT_MANAGERS]:
        assert (await hub.data(mutation, inp, as_=who))[name]["errors"] == [DENIED], who
    assert await hub.count(model) == 0
    # SALES_MANAGER and ADMIN may, and each creation is audited
    made = [(await hub.data(mutation, {"input": {"code": c, "name": "N"}}, as_=who))[name] for c, who in
            [("M1", "manager"), ("A1", "admin")]]  # fmt: skip
    assert [m["errors"] for m in made] == [[], []]
    assert await hub.count(model) == 2
    async with hub.db.read() as s:
        audited = (await s.execute(select(AuditEntry.action))).scalars().all()
    assert audited == [name, name]


@pytest.mark.parametrize(
    ("mutation", "name"), [(GROUP_CREATE, "customerGroupCreate"), (REGION_CREATE, "regionCreate")]
)
async def test_group_and_region_create_validate_and_write_nothing(hub: Hub, mutation: str, name: str) -> None:
    await segments(hub)
    before = (await hub.count(CustomerGroup), await hub.count(Region))
    cases = [
        ({"code": "T1" if name == "customerGroupCreate" else "EAST", "name": "dup"},
         [("code", "INVALID")]),
        ({"code": "has space", "name": "  "}, [("code", "INVALID"), ("name", "INVALID")]),
        ({"code": "X" * 41, "name": "ok"}, [("code", "INVALID")]),
    ]  # fmt: skip
    for inp, expected in cases:
        answer = (await hub.data(mutation, {"input": inp}, as_="admin"))[name]
        assert [(e["field"], e["code"]) for e in answer["errors"]] == expected, inp
    assert (await hub.count(CustomerGroup), await hub.count(Region)) == before


async def test_customer_update_is_for_sales_managers_and_admins(hub: Hub) -> None:
    await segments(hub)
    before = await customer_rows(hub)
    inp = {"id": cid(hub, "ACME"), "input": {"name": "Renamed"}}
    assert (await hub.gql(CUSTOMER_UPDATE, inp))["data"] == {"customerUpdate": None}
    # its own customer's user, another customer's user and staff without the role
    for who in ["acme", "beta", *STAFF_NOT_MANAGERS]:
        assert (await hub.data(CUSTOMER_UPDATE, inp, as_=who))["customerUpdate"]["errors"] == [DENIED], who
    assert await customer_rows(hub) == before
    for who in ["manager", "admin"]:
        answer = (await hub.data(CUSTOMER_UPDATE, inp, as_=who))["customerUpdate"]
        assert answer["errors"] == [] and answer["customer"]["name"] == "Renamed", who


async def test_a_customer_user_sees_its_own_group_and_region_only(hub: Hub) -> None:
    await segments(hub)
    query = "query($id: ID!) { customer(id: $id) { code group { code } region { code name } salesRep { email } } }"
    own = await hub.data(query, {"id": cid(hub, "ACME")}, as_="acme")
    assert own == {"customer": {"code": "ACME", "group": {"code": "T1"}, "region": {"code": "EAST", "name": "华东 East"},
                                "salesRep": None}}  # fmt: skip
    assert await hub.data(query, {"id": cid(hub, "ACME")}, as_="beta") == {"customer": None}
    me = await hub.data("{ me { customer { group { name } region { code } } } }", as_="acme")
    assert me == {"me": {"customer": {"group": {"name": "一级代理"}, "region": {"code": "EAST"}}}}
    # a customer without a group or region has none
    assert (await hub.data(query, {"id": cid(hub, "BETA")}, as_="beta"))["customer"]["group"] is None


# -- rules --------------------------------------------------------------------------------


async def test_customer_update_changes_what_is_given_and_clears_with_null(hub: Hub) -> None:
    await segments(hub)
    await update(hub, {"creditLimit": "5000.00", "salesRepId": encode_id("User", hub.seeded.users["sales"])})
    # when only the region is changed, the rest stays
    answer = await update(hub, {"regionId": rid(2)})
    assert answer == {"errors": [], "customer": {
        "code": "ACME", "name": "Acme Trading", "active": True, "creditLimit": {"amount": "5000.00"},
        "group": {"code": "T1", "name": "一级代理"}, "region": {"code": "SOUTH", "name": "华南 South"},
        "salesRep": {"email": "sales@test.hub"}}}  # fmt: skip
    # explicit nulls clear the nullable ones
    cleared = await update(hub, {"groupId": None, "regionId": None, "creditLimit": None, "salesRepId": None})
    assert cleared["errors"] == []
    c = cleared["customer"]
    assert (c["group"], c["region"], c["creditLimit"], c["salesRep"], c["name"]) == (
        None,
        None,
        None,
        None,
        "Acme Trading",
    )


async def test_customer_update_reports_every_problem_and_writes_nothing(hub: Hub) -> None:
    await segments(hub)
    before = await customer_rows(hub)
    answer = await update(hub, {
        "name": "  ", "groupId": gid(99), "regionId": encode_id("Customer", 1), "creditLimit": "1.234",
        "salesRepId": encode_id("User", hub.seeded.users["acme"]), "active": None,
    })  # fmt: skip
    assert answer["customer"] is None
    assert sorted((e["field"], e["code"]) for e in answer["errors"]) == [
        ("active", "INVALID"), ("creditLimit", "INVALID"), ("groupId", "NOT_FOUND"), ("name", "INVALID"),
        ("regionId", "NOT_FOUND"), ("salesRepId", "INVALID"),
    ]  # fmt: skip
    assert (await update(hub, {"name": None}))["errors"][0]["field"] == "name"
    assert (await update(hub, {"salesRepId": encode_id("User", 999)}))["errors"] == [
        {"field": "salesRepId", "code": "NOT_FOUND", "message": "User not found"}
    ]
    missing = await hub.data(
        CUSTOMER_UPDATE, {"id": encode_id("Customer", 999), "input": {"name": "x"}}, as_="admin"
    )
    assert missing["customerUpdate"]["errors"] == [
        {"field": "id", "code": "NOT_FOUND", "message": "Customer not found"}
    ]
    assert await customer_rows(hub) == before
    async with hub.db.read() as s:
        assert (await s.execute(select(AuditEntry.id))).first() is None


# -- deactivation -----------------------------------------------------------------------------

LOGIN = (
    f"""mutation($e: String!, $p: String!) {{ tokenCreate(email: $e, password: $p) {{ token {ERRORS} }} }}"""
)
ORDER = f"""mutation($customer: ID) {{ orderCreate(input: {{lines: [{{sku: "SKU-A", quantity: 1}}],
  customerId: $customer}}) {{ order {{ id }} {ERRORS} }} }}"""


async def test_a_deactivated_customer_leaves_lists_and_its_users_cannot_log_in_or_order(hub: Hub) -> None:
    await segments(hub)
    placed = (await hub.data(ORDER, as_="acme"))["orderCreate"]
    assert placed["errors"] == []
    # when a sales manager deactivates ACME
    assert (await update(hub, {"active": False}))["customer"]["active"] is False
    # then its user's token counts as invalid, and it cannot log in
    assert (await hub.data("{ me { email } }", as_="acme")) == {"me": None}
    assert (await hub.gql(ORDER, as_="acme"))["data"] == {"orderCreate": None}
    login = (await hub.data(LOGIN, {"e": "acme@test.hub", "p": PASSWORD}))["tokenCreate"]
    assert login["token"] is None and login["errors"][0]["code"] == "INVALID"
    # staff cannot order for it either
    refused = (await hub.data(ORDER, {"customer": cid(hub, "ACME")}, as_="sales"))["orderCreate"]
    assert refused["errors"][0]["code"] == "NOT_ORDERABLE"
    # it leaves the customers list unless asked for, and keeps its history
    listing = "query($all: Boolean!) { customers(includeInactive: $all) { edges { node { code active } } } }"
    assert (await hub.data(listing, {"all": False}, as_="manager"))["customers"]["edges"] == [
        {"node": {"code": "BETA", "active": True}}
    ]
    everyone = (await hub.data(listing, {"all": True}, as_="manager"))["customers"]["edges"]
    assert [e["node"]["code"] for e in everyone] == ["ACME", "BETA"]
    history = "query($id: ID!) { customer(id: $id) { active orders { totalCount } } }"
    assert await hub.data(history, {"id": cid(hub, "ACME")}, as_="manager") == {
        "customer": {"active": False, "orders": {"totalCount": 1}}
    }
    # and a reactivation lets its user log in again
    assert (await update(hub, {"active": True}))["customer"]["active"] is True
    assert (await hub.data(LOGIN, {"e": "acme@test.hub", "p": PASSWORD}))["tokenCreate"]["errors"] == []


# -- user regions -------------------------------------------------------------------------------


async def user_regions(hub: Hub, label: str) -> list[int]:
    async with hub.db.read() as s:
        rows = await s.execute(
            select(UserRegion.region_id)
            .where(UserRegion.user_id == hub.seeded.users[label])
            .order_by(UserRegion.region_id)
        )
        return list(rows.scalars())


async def test_user_update_sets_a_staff_users_regions(hub: Hub) -> None:
    await segments(hub)

    async def regions_of(label: str, ids: list[str]) -> Any:
        answer = await hub.data(USER_UPDATE, {"id": encode_id("User", hub.seeded.users[label]),
                                               "input": {"regionIds": ids}}, as_="admin")  # fmt: skip
        return answer["userUpdate"]["errors"]

    assert await regions_of("manager", [rid(1), rid(2), rid(1)]) == []
    assert await user_regions(hub, "manager") == [1, 2]
    assert await regions_of("manager", [rid(2)]) == []
    assert await user_regions(hub, "manager") == [2]
    # unknown regions, and regions for a customer user, are refused and change nothing
    assert await regions_of("manager", [rid(1), rid(77)]) == [
        {"field": "regionIds", "code": "NOT_FOUND", "message": "Region not found"}
    ]
    assert await regions_of("acme", [rid(1)]) == [
        {"field": "regionIds", "code": "INVALID", "message": "Regions are for staff users only"}
    ]
    assert await user_regions(hub, "manager") == [2] and await user_regions(hub, "acme") == []
    # an empty list removes them
    assert await regions_of("manager", []) == []
    assert await user_regions(hub, "manager") == []


# -- batched reads ---------------------------------------------------------------------------------


async def test_customers_with_group_and_region_cost_the_same_statements_for_any_page(hub: Hub) -> None:
    await hub.add_user("manager", [Role.SALES_MANAGER])
    async with hub.db.write() as s:
        groups = [CustomerGroup(code=f"G{i}", name=f"Group {i}") for i in range(3)]
        regions = [Region(code=f"R{i}", name=f"Region {i}") for i in range(4)]
        s.add_all(groups + regions)
        await s.flush()
        s.add_all(
            Customer(
                code=f"C{i:03d}",
                name=f"C {i}",
                group_id=groups[i % 3].id,
                region_id=regions[i % 4].id,
                active=True,
            )
            for i in range(40)
        )
    query = (
        "query($n: Int) { customers(first: $n) { edges { node { code group { code } region { code } } } } }"
    )
    counts = {}
    for n in (2, 20):
        with count_statements(hub.db.engine) as seen:
            edges = (await hub.data(query, {"n": n}, as_="manager"))["customers"]["edges"]
        assert len(edges) == n and edges[1]["node"] == {
            "code": "C001",
            "group": {"code": "G1"},
            "region": {"code": "R1"},
        }
        counts[n] = len(seen)
    assert counts[2] == counts[20]
