"""Managing the pricing rules (API.md "Pricing and catalog management"): price lists, customer
prices, order-amount tiers, promotions and visibility rules. Who may (anonymous, customer users,
every staff role), validation with indexed field names and nothing written, replace semantics,
promotionEnd and activeOnly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.domain.audit.models import AuditEntry
from hub.domain.catalog.models import Category
from hub.domain.catalog.price_rules import (
    CustomerPrice,
    OrderAmountTier,
    PriceList,
    PriceListItem,
    Promotion,
    VisibilityRule,
)
from hub.domain.customers.models import Customer, CustomerGroup
from hub.schema.common import encode_id
from tests.support import Hub

ERRORS = "errors { field code message }"
LIST_FIELDS = "id code name priority validFrom validTo items { sku unitPrice { amount } minQuantity }"
PRICE_LIST_CREATE = f"""mutation($input: PriceListCreateInput!) {{
  priceListCreate(input: $input) {{ priceList {{ {LIST_FIELDS} }} {ERRORS} }} }}"""
ITEMS_SET = f"""mutation($id: ID!, $items: [PriceListItemInput!]!) {{
  priceListItemsSet(priceListId: $id, items: $items) {{ priceList {{ {LIST_FIELDS} }} {ERRORS} }} }}"""
PRICE_LISTS = f"query($g: ID!) {{ priceLists(customerGroupId: $g) {{ {LIST_FIELDS} }} }}"
CP_FIELDS = "sku unitPrice { amount } minQuantity validFrom validTo"
CP_SET = f"""mutation($input: CustomerPriceSetInput!) {{
  customerPriceSet(input: $input) {{ customerPrice {{ {CP_FIELDS} }} {ERRORS} }} }}"""
CP_DELETE = f"""mutation($input: CustomerPriceDeleteInput!) {{
  customerPriceDelete(input: $input) {{ deleted {ERRORS} }} }}"""
CUSTOMER_PRICES = f"""query($c: ID!, $first: Int, $after: String) {{
  customerPrices(customerId: $c, first: $first, after: $after) {{
    edges {{ node {{ {CP_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
TIERS_SET = f"""mutation($g: ID!, $tiers: [OrderAmountTierInput!]!) {{
  orderAmountTiersSet(customerGroupId: $g, tiers: $tiers) {{
    tiers {{ minAmount {{ amount }} percentOff }} {ERRORS} }} }}"""
TIERS = "query($g: ID!) { orderAmountTiers(customerGroupId: $g) { minAmount { amount } percentOff } }"
PROMO_FIELDS = "id name kind value threshold { amount } buyQuantity getQuantity giftSku skus endsAt"
PROMO_CREATE = f"""mutation($input: PromotionCreateInput!) {{
  promotionCreate(input: $input) {{ promotion {{ {PROMO_FIELDS} }} {ERRORS} }} }}"""
PROMO_END = f"mutation($id: ID!) {{ promotionEnd(id: $id) {{ promotion {{ {PROMO_FIELDS} }} {ERRORS} }} }}"
PROMOTIONS = """query($active: Boolean, $first: Int, $after: String) {
  promotions(activeOnly: $active, first: $first, after: $after) {
    edges { node { name } } pageInfo { hasNextPage endCursor } } }"""
VIS_SET = f"""mutation($input: VisibilityRuleSetInput!) {{
  visibilityRuleSet(input: $input) {{ visibilityRules {{ mode categoryId sku }} {ERRORS} }} }}"""
VIS_RULES = """query($g: ID, $c: ID) { visibilityRules(customerGroupId: $g, customerId: $c) {
  mode categoryId sku customerGroupId customerId } }"""

OTHER_STAFF = ["sales", "finance", "warehouse", "director"]
DENIED = {"field": None, "code": "PERMISSION_DENIED", "message": "This needs one of the roles: SALES_MANAGER"}
MODELS = (PriceList, PriceListItem, CustomerPrice, OrderAmountTier, Promotion, VisibilityRule)


def gid(pk: int) -> str:
    return encode_id("CustomerGroup", pk)


def cid(hub: Hub, code: str) -> str:
    return encode_id("Customer", hub.seeded.customers[code])


async def seeded(hub: Hub) -> dict[str, int]:
    """The standard seed, groups T1 (ACME's) and T2 (BETA's); the ids of the groups and categories."""
    await hub.standard()
    async with hub.db.write() as s:
        t1, t2 = CustomerGroup(code="T1", name="一级代理"), CustomerGroup(code="T2", name="二级代理")
        s.add_all([t1, t2])
        await s.flush()
        for code, group in [("ACME", t1), ("BETA", t2)]:
            c = await s.get(Customer, hub.seeded.customers[code])
            assert c is not None
            c.group_id = group.id
        cats = {n: i for i, n in (await s.execute(select(Category.id, Category.name))).all()}
        return {"T1": t1.id, "T2": t2.id, "Valves": cats["Valves"], "Pipes": cats["Pipes"]}


async def counts(hub: Hub) -> list[int]:
    return [await hub.count(m) for m in MODELS]


def fields(answer: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in answer["errors"]]


def mutations(ids: dict[str, int], hub: Hub) -> list[tuple[str, str, dict[str, Any]]]:
    """One valid call of each mutation (priceListItemsSet and promotionEnd need a row: made first)."""
    return [
        ("priceListCreate", PRICE_LIST_CREATE,
         {"input": {"code": "PL-X", "name": "X", "customerGroupId": gid(ids["T1"])}}),
        ("priceListItemsSet", ITEMS_SET,
         {"id": encode_id("PriceList", 1), "items": [{"sku": "SKU-A", "unitPrice": "10.00"}]}),
        ("customerPriceSet", CP_SET,
         {"input": {"customerId": cid(hub, "ACME"), "sku": "SKU-A", "unitPrice": "9.00"}}),
        ("customerPriceDelete", CP_DELETE, {"input": {"customerId": cid(hub, "ACME"), "sku": "SKU-B"}}),
        ("orderAmountTiersSet", TIERS_SET,
         {"g": gid(ids["T1"]), "tiers": [{"minAmount": "1000", "percentOff": "2"}]}),
        ("promotionCreate", PROMO_CREATE, {"input": {"name": "P", "kind": "PERCENT_OFF", "value": "5"}}),
        ("promotionEnd", PROMO_END, {"id": encode_id("Promotion", 1)}),
        ("visibilityRuleSet", VIS_SET,
         {"input": {"customerGroupId": gid(ids["T1"]), "mode": "DENY", "skus": ["SKU-C"]}}),
    ]  # fmt: skip


async def rows_to_act_on(hub: Hub, ids: dict[str, int]) -> None:
    """A price list (id 1), ACME's price of SKU-B and a promotion (id 1)."""
    async with hub.db.write() as s:
        s.add(PriceList(code="PL-1", name="L", customer_group_id=ids["T1"]))
        s.add(Promotion(name="Old", kind="PERCENT_OFF", value=5))
        s.add(CustomerPrice(customer_id=hub.seeded.customers["ACME"], product_id=hub.seeded.products["SKU-B"],
                            unit_price=3, min_quantity=1))  # fmt: skip


# -- who may ---------------------------------------------------------------------------------


async def test_every_mutation_is_for_sales_managers_and_admins(hub: Hub) -> None:
    ids = await seeded(hub)
    await rows_to_act_on(hub, ids)
    before = await counts(hub)
    for name, mutation, variables in mutations(ids, hub):
        # anonymous: null; its own customer's user, another customer's user, other staff: denied
        assert (await hub.gql(mutation, variables))["data"] == {name: None}, name
        for who in ["acme", "beta", *OTHER_STAFF]:
            assert (await hub.data(mutation, variables, as_=who))[name]["errors"] == [DENIED], (name, who)
    assert await counts(hub) == before
    # a SALES_MANAGER may, each once
    for name, mutation, variables in mutations(ids, hub):
        assert (await hub.data(mutation, variables, as_="manager"))[name]["errors"] == [], name
    async with hub.db.read() as s:
        audited = list((await s.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    assert audited == [name for name, _m, _v in mutations(ids, hub)]


async def test_an_admin_may_manage_too(hub: Hub) -> None:
    ids = await seeded(hub)
    await rows_to_act_on(hub, ids)
    for name, mutation, variables in mutations(ids, hub):
        assert (await hub.data(mutation, variables, as_="admin"))[name]["errors"] == [], name


async def test_the_rule_queries_are_for_staff_only(hub: Hub) -> None:
    ids = await seeded(hub)
    await rows_to_act_on(hub, ids)
    queries = [
        ("priceLists", PRICE_LISTS, {"g": gid(ids["T1"])}),
        ("customerPrices", CUSTOMER_PRICES, {"c": cid(hub, "ACME")}),
        ("orderAmountTiers", TIERS, {"g": gid(ids["T1"])}),
        ("promotions", PROMOTIONS, {}),
        ("visibilityRules", VIS_RULES, {"g": gid(ids["T1"])}),
        ("visibilityRules", VIS_RULES, {"c": cid(hub, "ACME")}),
    ]
    for name, query, variables in queries:
        assert (await hub.gql(query, variables))["data"] == {name: None}, name
        # not even its own customer's or group's rules: a customer user gets null
        for who in ["acme", "beta"]:
            assert await hub.data(query, variables, as_=who) == {name: None}, (name, who)
        for who in [*OTHER_STAFF, "manager", "admin"]:
            assert (await hub.data(query, variables, as_=who))[name] is not None, (name, who)


# -- price lists ------------------------------------------------------------------------------


async def test_price_list_items_set_replaces_the_entries_of_the_skus_named_only(hub: Hub) -> None:
    ids = await seeded(hub)
    made = (await hub.data(PRICE_LIST_CREATE, {"input": {
        "code": "PL-T1", "name": "一级代理价", "customerGroupId": gid(ids["T1"]), "priority": 5,
        "validFrom": "2026-01-01T00:00:00Z", "validTo": "2027-01-01T00:00:00+08:00"}}, as_="manager"))  # fmt: skip
    plist = made["priceListCreate"]["priceList"]
    assert made["priceListCreate"]["errors"] == [] and plist["items"] == [] and plist["priority"] == 5
    first = [{"sku": "SKU-A", "unitPrice": "11.00"}, {"sku": "SKU-A", "unitPrice": "10.00", "minQuantity": 10},
             {"sku": "SKU-B", "unitPrice": "3.00"}]  # fmt: skip
    await hub.data(ITEMS_SET, {"id": plist["id"], "items": first}, as_="manager")
    # SKU-A named again with one break: its two entries are replaced, SKU-B's stays
    answer = (await hub.data(ITEMS_SET, {"id": plist["id"], "items": [
        {"sku": "SKU-A", "unitPrice": "10.50", "minQuantity": 5}]}, as_="manager"))["priceListItemsSet"]  # fmt: skip
    expected = [
        {"sku": "SKU-A", "unitPrice": {"amount": "10.50"}, "minQuantity": 5},
        {"sku": "SKU-B", "unitPrice": {"amount": "3.00"}, "minQuantity": 1},
    ]
    assert answer["errors"] == [] and answer["priceList"]["items"] == expected
    lists = (await hub.data(PRICE_LISTS, {"g": gid(ids["T1"])}, as_="sales"))["priceLists"]
    assert [(x["code"], x["items"]) for x in lists] == [("PL-T1", expected)]
    assert await hub.data(PRICE_LISTS, {"g": gid(ids["T2"])}, as_="sales") == {"priceLists": []}


async def test_price_lists_are_listed_by_priority_then_newest(hub: Hub) -> None:
    ids = await seeded(hub)
    for code, priority in [("L1", 0), ("L2", 9), ("L3", 0)]:
        inp = {"code": code, "name": code, "customerGroupId": gid(ids["T1"]), "priority": priority}
        assert (await hub.data(PRICE_LIST_CREATE, {"input": inp}, as_="admin"))["priceListCreate"][
            "errors"
        ] == []
    lists = (await hub.data(PRICE_LISTS, {"g": gid(ids["T1"])}, as_="admin"))["priceLists"]
    assert [x["code"] for x in lists] == ["L2", "L3", "L1"]


async def test_price_list_create_reports_every_problem_and_writes_nothing(hub: Hub) -> None:
    ids = await seeded(hub)
    await rows_to_act_on(hub, ids)
    before = await counts(hub)
    cases = [
        ({"code": "PL-1", "name": "dup", "customerGroupId": gid(ids["T1"])}, [("code", "INVALID")]),
        ({"code": "bad code", "name": " ", "customerGroupId": encode_id("CustomerGroup", 99),
          "validFrom": "2026-02-01T00:00:00Z", "validTo": "2026-01-01T00:00:00Z"},
         [("code", "INVALID"), ("name", "INVALID"), ("validTo", "INVALID"), ("customerGroupId", "NOT_FOUND")]),
        ({"code": "OK", "name": "n", "customerGroupId": gid(ids["T1"]), "validFrom": "2026-02-01T00:00:00"},
         [("validFrom", "INVALID")]),  # no time zone
        ({"code": "OK", "name": "n", "customerGroupId": cid(hub, "ACME")}, [("customerGroupId", "NOT_FOUND")]),
    ]  # fmt: skip
    for inp, expected in cases:
        answer = (await hub.data(PRICE_LIST_CREATE, {"input": inp}, as_="admin"))["priceListCreate"]
        assert fields(answer) == expected, inp
        assert answer["priceList"] is None
    assert await counts(hub) == before


async def test_price_list_items_set_reports_every_item_and_writes_nothing(hub: Hub) -> None:
    ids = await seeded(hub)
    await rows_to_act_on(hub, ids)
    pl = encode_id("PriceList", 1)
    await hub.data(ITEMS_SET, {"id": pl, "items": [{"sku": "SKU-C", "unitPrice": "90"}]}, as_="admin")
    before = await counts(hub)
    items = [
        {"sku": "SKU-A", "unitPrice": "10.00"},
        {"sku": "NOPE", "unitPrice": "-1"},
        {"sku": "SKU-B", "unitPrice": "1.005", "minQuantity": 0},
        {"sku": "SKU-A", "unitPrice": "9.00", "minQuantity": 1},  # repeats items.0
        {"sku": "SKU-C", "unitPrice": "1000000000000.00"},
    ]
    answer = (await hub.data(ITEMS_SET, {"id": pl, "items": items}, as_="admin"))["priceListItemsSet"]
    assert fields(answer) == [
        ("items.1.sku", "NOT_FOUND"), ("items.1.unitPrice", "INVALID"), ("items.2.unitPrice", "INVALID"),
        ("items.2.minQuantity", "INVALID"), ("items.4.unitPrice", "INVALID"), ("items.3.minQuantity", "INVALID"),
    ]  # fmt: skip
    missing = await hub.data(ITEMS_SET, {"id": encode_id("PriceList", 7), "items": []}, as_="admin")
    assert fields(missing["priceListItemsSet"]) == [("priceListId", "NOT_FOUND")]
    too_many = [{"sku": "SKU-A", "unitPrice": "1", "minQuantity": n} for n in range(1, 1003)]
    assert fields(
        (await hub.data(ITEMS_SET, {"id": pl, "items": too_many}, as_="admin"))["priceListItemsSet"]
    ) == [("items", "INVALID")]
    assert await counts(hub) == before
    lists = (await hub.data(PRICE_LISTS, {"g": gid(ids["T1"])}, as_="admin"))["priceLists"]
    assert lists[0]["items"] == [{"sku": "SKU-C", "unitPrice": {"amount": "90.00"}, "minQuantity": 1}]


# -- customer prices --------------------------------------------------------------------------


async def test_customer_price_set_creates_replaces_and_delete_removes(hub: Hub) -> None:
    ids = await seeded(hub)
    acme = cid(hub, "ACME")
    base = {"customerId": acme, "sku": "SKU-A", "unitPrice": "9.00"}
    for inp in [base, {**base, "minQuantity": 10, "unitPrice": "8.00"},
                {**base, "unitPrice": "8.80", "validFrom": "2026-01-01T08:00:00+08:00"}]:  # fmt: skip
        assert (await hub.data(CP_SET, {"input": inp}, as_="manager"))["customerPriceSet"]["errors"] == []
    page = (await hub.data(CUSTOMER_PRICES, {"c": acme, "first": 1}, as_="finance"))["customerPrices"]
    assert [e["node"] for e in page["edges"]] == [{"sku": "SKU-A", "unitPrice": {"amount": "8.80"}, "minQuantity": 1,
                                                  "validFrom": "2026-01-01T00:00:00+00:00", "validTo": None}]  # fmt: skip
    assert page["pageInfo"]["hasNextPage"]
    rest = await hub.data(CUSTOMER_PRICES, {"c": acme, "after": page["pageInfo"]["endCursor"]}, as_="finance")
    assert [
        (e["node"]["minQuantity"], e["node"]["unitPrice"]["amount"]) for e in rest["customerPrices"]["edges"]
    ] == [(10, "8.00")]
    assert await hub.count(CustomerPrice) == 2
    # BETA has none; ACME's are not BETA's
    empty = await hub.data(CUSTOMER_PRICES, {"c": cid(hub, "BETA")}, as_="finance")
    assert empty["customerPrices"]["edges"] == []
    gone = {"customerId": acme, "sku": "SKU-A", "minQuantity": 10}
    assert (await hub.data(CP_DELETE, {"input": gone}, as_="manager"))["customerPriceDelete"] == {
        "deleted": True,
        "errors": [],
    }
    again = (await hub.data(CP_DELETE, {"input": gone}, as_="manager"))["customerPriceDelete"]
    assert again["deleted"] is False and fields(again) == [("minQuantity", "NOT_FOUND")]
    assert await hub.count(CustomerPrice) == 1
    del ids


async def test_customer_price_set_validates_every_field(hub: Hub) -> None:
    await seeded(hub)
    answer = (await hub.data(CP_SET, {"input": {
        "customerId": encode_id("Customer", 999), "sku": "NOPE", "unitPrice": "-0.01", "minQuantity": 0,
        "validFrom": "2026-01-02T00:00:00Z", "validTo": "2026-01-01T00:00:00Z"}}, as_="admin"))  # fmt: skip
    assert fields(answer["customerPriceSet"]) == [
        ("customerId", "NOT_FOUND"), ("sku", "NOT_FOUND"), ("unitPrice", "INVALID"),
        ("minQuantity", "INVALID"), ("validTo", "INVALID"),
    ]  # fmt: skip
    cursor = await hub.gql(CUSTOMER_PRICES, {"c": cid(hub, "ACME"), "after": "bogus"}, as_="admin")
    assert (
        cursor["data"] == {"customerPrices": None} and cursor["errors"][0]["extensions"]["field"] == "after"
    )
    assert await hub.count(CustomerPrice) == 0


# -- order-amount tiers -----------------------------------------------------------------------


async def test_order_amount_tiers_set_replaces_all_and_validates(hub: Hub) -> None:
    ids = await seeded(hub)
    g = gid(ids["T1"])
    first = [{"minAmount": "10000", "percentOff": "3"}, {"minAmount": "5000", "percentOff": "1.5"}]
    answer = (await hub.data(TIERS_SET, {"g": g, "tiers": first}, as_="manager"))["orderAmountTiersSet"]
    assert answer["tiers"] == [{"minAmount": {"amount": "5000.00"}, "percentOff": "1.50"},
                               {"minAmount": {"amount": "10000.00"}, "percentOff": "3.00"}]  # fmt: skip
    bad = [{"minAmount": "1", "percentOff": "0"}, {"minAmount": "-5", "percentOff": "100.01"},
           {"minAmount": "1.00", "percentOff": "1"}]  # fmt: skip
    answer = (await hub.data(TIERS_SET, {"g": g, "tiers": bad}, as_="manager"))["orderAmountTiersSet"]
    assert fields(answer) == [("tiers.0.percentOff", "INVALID"), ("tiers.1.minAmount", "INVALID"),
                              ("tiers.1.percentOff", "INVALID"), ("tiers.2.minAmount", "INVALID")]  # fmt: skip
    unknown = await hub.data(TIERS_SET, {"g": gid(99), "tiers": []}, as_="manager")
    assert fields(unknown["orderAmountTiersSet"]) == [("customerGroupId", "NOT_FOUND")]
    assert await hub.count(OrderAmountTier) == 2
    # a new set replaces the old; an empty one clears them; other groups keep theirs
    await hub.data(
        TIERS_SET, {"g": gid(ids["T2"]), "tiers": [{"minAmount": "1", "percentOff": "1"}]}, as_="admin"
    )
    await hub.data(TIERS_SET, {"g": g, "tiers": [{"minAmount": "8000", "percentOff": "2"}]}, as_="manager")
    assert (await hub.data(TIERS, {"g": g}, as_="sales"))["orderAmountTiers"] == [
        {"minAmount": {"amount": "8000.00"}, "percentOff": "2.00"}
    ]
    await hub.data(TIERS_SET, {"g": g, "tiers": []}, as_="manager")
    assert (await hub.data(TIERS, {"g": g}, as_="sales"))["orderAmountTiers"] == []
    assert await hub.count(OrderAmountTier) == 1


# -- promotions -------------------------------------------------------------------------------


async def test_promotion_create_each_kind(hub: Hub) -> None:
    ids = await seeded(hub)
    made = []
    for inp in [
        {"name": "九折", "kind": "PERCENT_OFF", "value": "10", "skus": ["SKU-A"], "exclusive": True},
        {"name": "立减", "kind": "AMOUNT_OFF_PER_UNIT", "value": "0.50",
         "categoryIds": [encode_id("Category", ids["Pipes"])], "customerIds": [cid(hub, "ACME")]},
        {"name": "满5000减200", "kind": "SPEND_THRESHOLD", "value": "200", "threshold": "5000",
         "customerGroupIds": [gid(ids["T1"])], "usageLimitPerCustomer": 1},
        {"name": "买10送1", "kind": "BUY_X_GET_Y", "buyQuantity": 10, "getQuantity": 1, "giftSku": "SKU-B"},
    ]:  # fmt: skip
        answer = (await hub.data(PROMO_CREATE, {"input": inp}, as_="manager"))["promotionCreate"]
        assert answer["errors"] == [], inp
        made.append(answer["promotion"])
    assert [
        (m["kind"], m["value"], m["threshold"], m["buyQuantity"], m["giftSku"], m["skus"]) for m in made
    ] == [
        ("PERCENT_OFF", "10.00", None, None, None, ["SKU-A"]),
        ("AMOUNT_OFF_PER_UNIT", "0.50", None, None, None, []),
        ("SPEND_THRESHOLD", "200.00", {"amount": "5000.00"}, None, None, []),
        ("BUY_X_GET_Y", None, None, 10, "SKU-B", []),
    ]
    async with hub.db.read() as s:
        rows = list((await s.execute(select(Promotion).order_by(Promotion.id))).scalars())
    assert rows[0].product_ids == [hub.seeded.products["SKU-A"]] and rows[0].exclusive
    assert rows[1].category_ids == [ids["Pipes"]] and rows[1].customer_ids == [hub.seeded.customers["ACME"]]
    assert rows[2].customer_group_ids == [ids["T1"]] and rows[2].usage_limit_per_customer == 1


@pytest.mark.parametrize(
    ("inp", "expected"),
    [
        ({"kind": "PERCENT_OFF"}, [("value", "INVALID")]),
        ({"kind": "PERCENT_OFF", "value": "100.5"}, [("value", "INVALID")]),
        ({"kind": "PERCENT_OFF", "value": "5", "threshold": "10", "buyQuantity": 2},
         [("threshold", "INVALID"), ("buyQuantity", "INVALID")]),
        ({"kind": "AMOUNT_OFF_PER_UNIT", "value": "0"}, [("value", "INVALID")]),
        ({"kind": "SPEND_THRESHOLD", "value": "10"}, [("threshold", "INVALID")]),
        ({"kind": "SPEND_THRESHOLD", "value": "10", "threshold": "0"}, [("threshold", "INVALID")]),
        ({"kind": "BUY_X_GET_Y", "buyQuantity": 0, "value": "1"},
         [("value", "INVALID"), ("buyQuantity", "INVALID"), ("getQuantity", "INVALID")]),
        ({"kind": "BUY_X_GET_Y", "buyQuantity": 2, "getQuantity": 1, "giftSku": "NOPE"}, [("giftSku", "NOT_FOUND")]),
        ({"kind": "PERCENT_OFF", "value": "5", "skus": ["SKU-A", "NOPE", "SKU-A"],
          "categoryIds": [encode_id("Category", 99), "junk"], "customerGroupIds": [encode_id("CustomerGroup", 99)],
          "customerIds": [encode_id("Customer", 99)]},
         [("skus.1", "NOT_FOUND"), ("skus.2", "INVALID"), ("categoryIds.0", "NOT_FOUND"),
          ("categoryIds.1", "NOT_FOUND"), ("customerGroupIds.0", "NOT_FOUND"), ("customerIds.0", "NOT_FOUND")]),
        ({"kind": "PERCENT_OFF", "value": "5", "startsAt": "2026-02-01T00:00:00Z", "endsAt": "2026-02-01T00:00:00Z",
          "usageLimitPerCustomer": 0, "name": ""},
         [("name", "INVALID"), ("endsAt", "INVALID"), ("usageLimitPerCustomer", "INVALID")]),
    ],
)  # fmt: skip
async def test_promotion_create_validates_per_kind_and_writes_nothing(
    hub: Hub, inp: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    await seeded(hub)
    answer = (await hub.data(PROMO_CREATE, {"input": {"name": "P", **inp}}, as_="admin"))["promotionCreate"]
    assert answer["promotion"] is None
    assert fields(answer) == expected
    assert await hub.count(Promotion) == 0


async def test_promotion_end_and_active_only(hub: Hub) -> None:
    await seeded(hub)
    now = datetime.now(UTC)
    iso = lambda d: d.isoformat()  # noqa: E731
    for name, starts, ends in [
        ("running", None, None),
        ("later", iso(now + timedelta(days=3)), None),
        ("over", iso(now - timedelta(days=3)), iso(now - timedelta(days=1))),
        ("running too", iso(now - timedelta(days=1)), iso(now + timedelta(days=1))),
    ]:
        inp = {"name": name, "kind": "PERCENT_OFF", "value": "5", "startsAt": starts, "endsAt": ends}
        assert (await hub.data(PROMO_CREATE, {"input": inp}, as_="manager"))["promotionCreate"][
            "errors"
        ] == []

    async def names(active: bool | None, **kw: Any) -> list[str]:
        variables = {"active": active, **kw} if active is not None else kw
        page = (await hub.data(PROMOTIONS, variables, as_="sales"))["promotions"]
        return [e["node"]["name"] for e in page["edges"]]

    # activeOnly defaults to true: in effect now; newest first
    assert await names(None) == ["running too", "running"]
    assert await names(False) == ["running too", "over", "later", "running"]
    page = (await hub.data(PROMOTIONS, {"active": False, "first": 2}, as_="sales"))["promotions"]
    assert page["pageInfo"]["hasNextPage"]
    assert await names(False, after=page["pageInfo"]["endCursor"]) == ["later", "running"]
    # ending one: it is over at once, and only once
    ended = (await hub.data(PROMO_END, {"id": encode_id("Promotion", 1)}, as_="manager"))["promotionEnd"]
    assert ended["errors"] == [] and ended["promotion"]["endsAt"] is not None
    assert await names(None) == ["running too"]
    again = (await hub.data(PROMO_END, {"id": encode_id("Promotion", 1)}, as_="manager"))["promotionEnd"]
    assert fields(again) == [("id", "INVALID_TRANSITION")]
    # one not started yet never starts; an unknown one is not found
    assert (await hub.data(PROMO_END, {"id": encode_id("Promotion", 2)}, as_="manager"))["promotionEnd"][
        "errors"
    ] == []
    assert await names(None) == ["running too"]
    unknown = (await hub.data(PROMO_END, {"id": encode_id("Promotion", 99)}, as_="manager"))["promotionEnd"]
    assert fields(unknown) == [("id", "NOT_FOUND")]
    async with hub.db.read() as s:
        later = await s.get(Promotion, 2)
    assert later is not None and later.starts_at is not None and later.ends_at is not None
    assert later.starts_at < later.ends_at <= datetime.now(UTC)


# -- visibility -------------------------------------------------------------------------------


async def test_visibility_rule_set_replaces_one_mode_of_one_target(hub: Hub) -> None:
    ids = await seeded(hub)
    g, valves, pipes = (
        gid(ids["T1"]),
        encode_id("Category", ids["Valves"]),
        encode_id("Category", ids["Pipes"]),
    )

    async def set_(inp: dict[str, Any]) -> dict[str, Any]:
        answer = (await hub.data(VIS_SET, {"input": inp}, as_="manager"))["visibilityRuleSet"]
        assert answer["errors"] == [], answer
        return answer  # type: ignore[no-any-return]

    await set_({"customerGroupId": g, "mode": "ALLOW", "categoryIds": [valves], "skus": ["SKU-C"]})
    await set_({"customerGroupId": g, "mode": "DENY", "skus": ["SKU-B"]})
    await set_({"customerId": cid(hub, "ACME"), "mode": "DENY", "categoryIds": [pipes]})
    # a new ALLOW list replaces the ALLOW list only, of that group only
    answer = await set_({"customerGroupId": g, "mode": "ALLOW", "categoryIds": [pipes]})
    assert answer["visibilityRules"] == [
        {"mode": "ALLOW", "categoryId": pipes, "sku": None},
        {"mode": "DENY", "categoryId": None, "sku": "SKU-B"},
    ]
    rules = (await hub.data(VIS_RULES, {"c": cid(hub, "ACME")}, as_="director"))["visibilityRules"]
    assert rules == [{"mode": "DENY", "categoryId": pipes, "sku": None, "customerGroupId": None,
                      "customerId": cid(hub, "ACME")}]  # fmt: skip
    # both lists empty: clears that mode
    await set_({"customerGroupId": g, "mode": "DENY"})
    assert [r["mode"] for r in (await hub.data(VIS_RULES, {"g": g}, as_="admin"))["visibilityRules"]] == [
        "ALLOW"
    ]
    assert await hub.count(VisibilityRule) == 2


async def test_visibility_rule_set_validates_and_writes_nothing(hub: Hub) -> None:
    ids = await seeded(hub)
    g = gid(ids["T1"])
    cases = [
        ({"mode": "DENY", "skus": ["SKU-A"]}, [("customerGroupId", "INVALID")]),
        ({"customerGroupId": g, "customerId": cid(hub, "ACME"), "mode": "DENY"}, [("customerGroupId", "INVALID")]),
        ({"customerGroupId": gid(99), "mode": "DENY"}, [("customerGroupId", "NOT_FOUND")]),
        ({"customerId": encode_id("Customer", 99), "mode": "ALLOW"}, [("customerId", "NOT_FOUND")]),
        ({"customerGroupId": g, "mode": "ALLOW", "skus": ["SKU-A", "X", "SKU-A"],
          "categoryIds": [encode_id("Category", ids["Valves"]), encode_id("Category", ids["Valves"])]},
         [("categoryIds.1", "INVALID"), ("skus.1", "NOT_FOUND"), ("skus.2", "INVALID")]),
    ]  # fmt: skip
    for inp, expected in cases:
        answer = (await hub.data(VIS_SET, {"input": inp}, as_="admin"))["visibilityRuleSet"]
        assert fields(answer) == expected, inp
    assert await hub.count(VisibilityRule) == 0
    neither = await hub.gql(VIS_RULES, {}, as_="admin")
    assert neither["data"] == {"visibilityRules": None}
    assert neither["errors"][0]["extensions"]["code"] == "INVALID"


# -- the docs -------------------------------------------------------------------------------


def test_the_managing_prices_examples_are_valid_operations_one_per_mutation() -> None:
    import re
    from pathlib import Path

    from graphql import build_schema, parse, validate

    root = Path(__file__).parents[2]
    page = (root / "docs" / "pricing.md").read_text()
    section = page[page.index("## Managing prices") :]
    blocks = re.findall(r"^```graphql\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    schema = build_schema((root / "schema.graphql").read_text())  # the committed one: kept equal by a test
    assert [validate(schema, parse(b)) for b in blocks] == [[]] * len(blocks)
    named = [re.search(r"^mutation \{\n  (\w+)", b, re.MULTILINE) for b in blocks]
    assert sorted(m.group(1) for m in named if m) == sorted(
        ["priceListCreate", "priceListItemsSet", "customerPriceSet", "customerPriceDelete",
         "orderAmountTiersSet", "promotionCreate", "promotionEnd", "visibilityRuleSet"]
    )  # fmt: skip
