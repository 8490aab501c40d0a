"""Roles are decided in the domain: every service that reads or changes data checks its caller
through the role policy (hub.domain.auth.policy), whatever calls it — GraphQL, the web pages, a
job. The GraphQL semantics on top (null for a staff-only field, PERMISSION_DENIED in a payload)
are tested in tests/schema/test_permissions.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth import services as auth
from hub.domain.auth.models import Role
from hub.domain.auth.policy import ROLES, Action, allows
from hub.domain.auth.principal import Principal
from hub.domain.catalog import services as catalog
from hub.domain.catalog.price_rules import PromotionKind, VisibilityMode
from hub.domain.customers import segments
from hub.domain.customers import services as customers
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.integration import services as integration
from hub.domain.inventory import services as inventory
from hub.domain.orders import queries as orders
from hub.domain.pricing import management as pricing
from tests.support import Hub

Call = Callable[[AsyncSession, Principal], Awaitable[Any]]


def principal(role: Role, customer_id: int | None = None) -> Principal:
    return Principal(1, f"{role.value.lower()}@test.hub", frozenset({role}), customer_id)


def test_admin_may_take_every_action_and_a_customer_user_none() -> None:
    admin, customer = principal(Role.ADMIN), principal(Role.CUSTOMER, 1)
    assert set(ROLES) == set(Action)
    assert all(allows(admin, action) for action in Action)
    assert not any(allows(customer, action) for action in Action)
    assert not any(allows(None, action) for action in Action)


SERVICES: list[tuple[str, Action, Call]] = [
    ("create_category", Action.CATEGORY_MANAGE, lambda s, a: catalog.create_category(s, a, name="New")),
    (
        "create_product",
        Action.PRODUCT_MANAGE,
        lambda s, a: catalog.create_product(s, a, sku="SKU-NEW", name="New", base_price=Decimal("1.00")),
    ),
    ("create_customer", Action.CUSTOMER_MANAGE, lambda s, a: customers.create_customer(s, a, code="NEW", name="New")),
    ("list_customers", Action.CUSTOMER_LIST, lambda s, a: customers.list_customers(s, a)),
    ("create_warehouse", Action.WAREHOUSE_MANAGE, lambda s, a: inventory.create_warehouse(s, a, code="WN", name="N")),
    ("list_warehouses", Action.WAREHOUSE_LIST, lambda s, a: inventory.list_warehouses(s, a)),
    (
        "set_stock",
        Action.STOCK_SET,
        lambda s, a: inventory.set_stock(s, a, sku="SKU-A", warehouse_code="W1", quantity=3),
    ),
    (
        "create_user",
        Action.USER_MANAGE,
        lambda s, a: auth.create_user(
            s, a, email="new@test.hub", password="long-enough-pw", roles=[Role.SALES], customer_id=None
        ),
    ),
    ("update_user", Action.USER_UPDATE, lambda s, a: auth.update_user(s, a, 1, active=True)),
    ("set_password", Action.USER_PASSWORD_SET, lambda s, a: auth.set_password(s, a, 1, "long-enough-pw")),
    ("list_jobs", Action.INTEGRATION_VIEW, lambda s, a: integration.list_jobs(s, a)),
    ("count_jobs", Action.INTEGRATION_VIEW, lambda s, a: integration.count_jobs(s, a, role="erp")),
    ("sync_states", Action.INTEGRATION_VIEW, lambda s, a: integration.sync_states(s, a, [1])),
    ("retry_job", Action.INTEGRATION_RETRY, lambda s, a: integration.retry_job(s, a, 1)),
    ("update_customer", Action.CUSTOMER_UPDATE, lambda s, a: customers.update_customer(s, a, 1, name="N")),
    ("update_product", Action.PRODUCT_MANAGE, lambda s, a: catalog.update_product(s, a, 1, name="N")),
    ("create_customer_group", Action.CUSTOMER_GROUP_MANAGE,
     lambda s, a: segments.create_customer_group(s, a, code="G9", name="G")),
    ("create_region", Action.REGION_MANAGE, lambda s, a: segments.create_region(s, a, code="R9", name="R")),
    ("list_customer_groups", Action.CUSTOMER_LIST, lambda s, a: segments.list_customer_groups(s, a)),
    ("list_regions", Action.CUSTOMER_LIST, lambda s, a: segments.list_regions(s, a)),
    ("create_price_list", Action.PRICE_RULE_MANAGE,
     lambda s, a: pricing.create_price_list(s, a, code="PL9", name="L", customer_group_id=1)),
    ("set_price_list_items", Action.PRICE_RULE_MANAGE, lambda s, a: pricing.set_price_list_items(s, a, 1, [])),
    ("list_price_lists", Action.PRICE_RULE_VIEW, lambda s, a: pricing.list_price_lists(s, a, 1)),
    ("set_customer_price", Action.PRICE_RULE_MANAGE,
     lambda s, a: pricing.set_customer_price(s, a, customer_id=1, sku="SKU-A", unit_price=Decimal(1))),
    ("delete_customer_price", Action.PRICE_RULE_MANAGE,
     lambda s, a: pricing.delete_customer_price(s, a, customer_id=1, sku="SKU-A")),
    ("list_customer_prices", Action.PRICE_RULE_VIEW, lambda s, a: pricing.list_customer_prices(s, a, 1)),
    ("set_order_amount_tiers", Action.PRICE_RULE_MANAGE, lambda s, a: pricing.set_order_amount_tiers(s, a, 1, [])),
    ("list_order_amount_tiers", Action.PRICE_RULE_VIEW, lambda s, a: pricing.list_order_amount_tiers(s, a, 1)),
    ("create_promotion", Action.PRICE_RULE_MANAGE, lambda s, a: pricing.create_promotion(
        s, a, pricing.PromotionInput(name="P", kind=PromotionKind.PERCENT_OFF, value=Decimal(5)))),
    ("end_promotion", Action.PRICE_RULE_MANAGE, lambda s, a: pricing.end_promotion(s, a, 1)),
    ("list_promotions", Action.PRICE_RULE_VIEW, lambda s, a: pricing.list_promotions(s, a)),
    ("set_visibility_rules", Action.PRICE_RULE_MANAGE, lambda s, a: pricing.set_visibility_rules(
        s, a, pricing.Target(customer_id=1), VisibilityMode.DENY, skus=["SKU-A"])),
    ("list_visibility_rules", Action.PRICE_RULE_VIEW,
     lambda s, a: pricing.list_visibility_rules(s, a, pricing.Target(customer_id=1))),
]  # fmt: skip


class _RollBack(Exception):
    pass


async def outcome(hub: Hub, call: Call, actor: Principal) -> ErrorCode | None:
    """The first error code ``call`` raises for ``actor`` (None: none); nothing is committed."""
    try:
        async with hub.db.write() as session:
            try:
                await call(session, actor)
            except DomainError as e:
                return e.problems[0].code
            raise _RollBack
    except _RollBack:
        return None


@pytest.mark.parametrize(("name", "action", "call"), SERVICES, ids=[s[0] for s in SERVICES])
async def test_each_service_asks_the_policy_about_its_caller(
    hub: Hub, name: str, action: Action, call: Call
) -> None:
    # given the standard data and a caller of every role
    await hub.standard()
    for role in Role:
        actor = principal(role, hub.seeded.customers["ACME"] if role == Role.CUSTOMER else None)
        # when the service is called, then it refuses exactly the roles the policy refuses
        code = await outcome(hub, call, actor)
        if allows(actor, action):
            assert code != ErrorCode.PERMISSION_DENIED, (name, role)
        else:
            assert code == ErrorCode.PERMISSION_DENIED, (name, role)


async def test_products_show_list_and_cost_prices_only_to_callers_allowed_to_see_costs(hub: Hub) -> None:
    # given the standard catalog and an inactive product with a cost price
    await hub.standard()
    await hub.add_product("SKU-OLD", "20.00", cost="8.00", active=False)
    buyer = principal(Role.CUSTOMER, hub.seeded.customers["ACME"])
    async with hub.db.read() as session:
        # when a customer user and a warehouse clerk read it
        for actor, shown in [
            (buyer, False),
            (principal(Role.WAREHOUSE), True),
            (principal(Role.ADMIN), True),
        ]:
            page = await catalog.list_products(session, actor)
            found = await catalog.get_product(session, actor, sku="SKU-A")
            old = await catalog.get_product(session, actor, sku="SKU-OLD")
            assert found is not None
            rows = [*page.page.items, found[0]]
            # then the domain leaves out what the caller may not see; the price still computes
            assert found[0].base_price == Decimal("12.50")
            assert all((r.list_price == r.base_price) is shown for r in rows), actor.roles
            if shown:
                assert old is not None and (old[0].list_price, old[0].cost_price) == (
                    Decimal("20.00"),
                    Decimal("8.00"),
                )
                assert "SKU-OLD" in [r.sku for r in page.page.items]
            else:  # an inactive product is missing for a customer user, and so are costs
                assert old is None and all(r.cost_price is None for r in rows)
                assert "SKU-OLD" not in [r.sku for r in page.page.items]


async def test_a_customer_user_sees_only_its_own_customer(hub: Hub) -> None:
    await hub.standard()
    acme, beta = hub.seeded.customers["ACME"], hub.seeded.customers["BETA"]
    async with hub.db.read() as session:
        assert (await customers.get_customer(session, principal(Role.CUSTOMER, acme), acme)) is not None
        assert (await customers.get_customer(session, principal(Role.CUSTOMER, acme), beta)) is None
        assert (await customers.get_customer(session, principal(Role.FINANCE), beta)) is not None


async def test_a_customer_user_cannot_page_or_count_another_customers_orders(hub: Hub) -> None:
    # given two customers and a user of the first
    await hub.standard()
    acme, beta = hub.seeded.customers["ACME"], hub.seeded.customers["BETA"]
    buyer = principal(Role.CUSTOMER, acme)
    async with hub.db.read() as session:
        # when the user pages its own customer's orders, it may
        assert (await orders.list_orders(session, buyer, customer_id=acme)).items == []
        assert await orders.count_orders(session, buyer, customer_id=acme) == 0
        # then another customer's are refused, not answered empty
        for call in (orders.list_orders, orders.count_orders):
            with pytest.raises(DomainError) as refused:
                await call(session, buyer, customer_id=beta)
            assert refused.value.problems[0].code == ErrorCode.PERMISSION_DENIED
        # and staff may page any customer's
        assert await orders.count_orders(session, principal(Role.FINANCE), customer_id=beta) == 0
