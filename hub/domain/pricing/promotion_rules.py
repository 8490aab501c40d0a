"""Managing promotions and catalog visibility rules (API.md "Pricing and catalog management"),
with the same checks and policy as :mod:`hub.domain.pricing.management`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.catalog.models import Category, Product
from hub.domain.catalog.price_rules import (
    Promotion,
    PromotionKind,
    VisibilityMode,
    VisibilityRule,
)
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.pagination import Page, check_first, decode_cursor, encode_cursor
from hub.domain.pricing.rule_checks import (
    PromotionInput,
    PromotionView,
    Target,
    VisibilityRuleView,
    _id_list,
    _percent,
    _price,
    _Problems,
    _products,
    _quantity,
    _sku_list,
    _skus_of,
    _window,
)
from hub.domain.validation import check_text

__all__ = [
    "create_promotion",
    "end_promotion",
    "list_promotions",
    "set_visibility_rules",
    "list_visibility_rules",
]

# -- promotions -------------------------------------------------------------------------------


def _kind_fields(p: _Problems, data: PromotionInput) -> dict[str, Any]:
    """The kind-specific fields, checked; those a kind does not use must be left out."""
    kind = data.kind
    out: dict[str, Any] = {"value": None, "threshold": None, "buy_quantity": None, "get_quantity": None}
    uses = {
        PromotionKind.PERCENT_OFF: {"value"},
        PromotionKind.AMOUNT_OFF_PER_UNIT: {"value"},
        PromotionKind.SPEND_THRESHOLD: {"value", "threshold"},
        PromotionKind.BUY_X_GET_Y: {"buyQuantity", "getQuantity", "giftSku"},
    }[kind]
    given = {
        "value": data.value,
        "threshold": data.threshold,
        "buyQuantity": data.buy_quantity,
        "getQuantity": data.get_quantity,
        "giftSku": data.gift_sku,
    }
    for field, v in given.items():
        if v is not None and field not in uses:
            p.invalid(f"{field} does not apply to {kind.value} promotions", field)
    if kind == PromotionKind.PERCENT_OFF:
        out["value"] = _percent(p, data.value, "value", zero=False)
    elif kind in (PromotionKind.AMOUNT_OFF_PER_UNIT, PromotionKind.SPEND_THRESHOLD):
        out["value"] = _price(p, data.value, "value")
        if out["value"] is not None and out["value"] == 0:
            p.invalid("value must be above 0", "value")
        if kind == PromotionKind.SPEND_THRESHOLD:
            out["threshold"] = _price(p, data.threshold, "threshold")
            if out["threshold"] is not None and out["threshold"] == 0:
                p.invalid("threshold must be above 0", "threshold")
    else:
        out["buy_quantity"] = _quantity(p, data.buy_quantity, "buyQuantity")
        out["get_quantity"] = _quantity(p, data.get_quantity, "getQuantity")
    return out


async def create_promotion(session: AsyncSession, actor: Principal, data: PromotionInput) -> PromotionView:
    """A new promotion (促销). Kind by kind: ``PERCENT_OFF`` needs ``value`` above 0 to 100;
    ``AMOUNT_OFF_PER_UNIT`` ``value`` above 0; ``SPEND_THRESHOLD`` (满减) ``threshold`` and
    ``value`` above 0; ``BUY_X_GET_Y`` ``buyQuantity`` and ``getQuantity`` ≥ 1 and optionally a
    ``giftSku`` (default: the same SKU). Fields a kind does not use must be left out.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``giftSku`` or scope entry (``skus.N``, ``categoryIds.N``, ``customerGroupIds.N``,
            ``customerIds.N``); INVALID for the rest (every problem at once).
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    name = p.run(check_text, data.name, "name", max_len=200)
    fields = _kind_fields(p, data)
    gift_id = None
    if data.gift_sku is not None and data.kind == PromotionKind.BUY_X_GET_Y:
        gift_id = (await _products(session, [data.gift_sku])).get(data.gift_sku.strip())
        if gift_id is None:
            p.not_found("Product", "giftSku")
    product_ids = await _sku_list(p, session, data.skus, "skus")
    category_ids = await _id_list(p, session, Category, data.category_ids, "categoryIds", "Category")
    group_ids = await _id_list(
        p, session, CustomerGroup, data.customer_group_ids, "customerGroupIds", "Customer group"
    )
    customer_ids = await _id_list(p, session, Customer, data.customer_ids, "customerIds", "Customer")
    begins, ends = _window(p, data.starts_at, data.ends_at, ("startsAt", "endsAt"))
    limit = data.usage_limit_per_customer
    if limit is not None and limit < 1:
        p.invalid("usageLimitPerCustomer must be at least 1 (or null: no limit)", "usageLimitPerCustomer")
    p.raise_any()
    row = Promotion(
        name=name,
        kind=data.kind.value,
        gift_product_id=gift_id,
        product_ids=product_ids,
        category_ids=category_ids,
        customer_group_ids=group_ids,
        customer_ids=customer_ids,
        starts_at=begins,
        ends_at=ends,
        exclusive=data.exclusive,
        priority=data.priority,
        applies_to_contract_prices=data.applies_to_contract_prices,
        usage_limit_per_customer=limit,
        **fields,
    )
    session.add(row)
    await session.flush()
    return (await _promotion_views(session, [row]))[0]


async def end_promotion(session: AsyncSession, actor: Principal, promotion_id: int) -> PromotionView:
    """End a promotion now: its ``endsAt`` becomes now (one not yet started never starts: its
    window is moved to just before now). Orders already placed keep it.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND for an unknown
            ``id``; INVALID_TRANSITION when it is already over.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    row = (
        await session.execute(select(Promotion).where(Promotion.id == promotion_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        raise DomainError.not_found("Promotion", "id")
    now = utcnow()
    if row.ends_at is not None and row.ends_at <= now:
        raise DomainError.one(ErrorCode.INVALID_TRANSITION, "This promotion is already over", "id")
    if row.starts_at is not None and row.starts_at >= now:
        row.starts_at = now - timedelta(microseconds=1)
    row.ends_at = now
    await session.flush()
    return (await _promotion_views(session, [row]))[0]


async def _promotion_views(session: AsyncSession, rows: Sequence[Promotion]) -> list[PromotionView]:
    """The promotions with their SKUs, in one statement."""
    ids = [pid for r in rows for pid in r.product_ids] + [
        r.gift_product_id for r in rows if r.gift_product_id
    ]
    skus = await _skus_of(session, ids)
    return [
        PromotionView(
            r,
            [skus[i] for i in r.product_ids if i in skus],
            skus.get(r.gift_product_id) if r.gift_product_id else None,
        )
        for r in rows
    ]


async def list_promotions(
    session: AsyncSession,
    actor: Principal,
    *,
    first: int | None = None,
    after: str | None = None,
    active_only: bool = True,
) -> Page[PromotionView]:
    """A page of promotions, newest first (staff); ``active_only``: those in effect now
    (started, not over).

    Raises: DomainError PERMISSION_DENIED for customer users; INVALID for a bad ``first`` or
    cursor."""
    require(actor, Action.PRICE_RULE_VIEW)
    limit = check_first(first)
    cursor = decode_cursor("promotion", after)
    stmt = select(Promotion).order_by(Promotion.id.desc())
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 10:
            raise DomainError.invalid("after is not a valid cursor", "after")
        stmt = stmt.where(Promotion.id < int(cursor))
    if active_only:
        now = utcnow()
        stmt = stmt.where(
            or_(Promotion.starts_at.is_(None), Promotion.starts_at <= now),
            or_(Promotion.ends_at.is_(None), Promotion.ends_at > now),
        )
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    has_next = len(rows) > limit
    rows = rows[:limit]
    views = await _promotion_views(session, rows)
    return Page(views, has_next, encode_cursor("promotion", rows[-1].id) if rows else None)


# -- visibility -------------------------------------------------------------------------------


async def _check_target(p: _Problems, session: AsyncSession, target: Target) -> None:
    """Exactly one target, and it exists; its row is locked, so two lists set for it at once
    are applied one after the other (neither leaves a mix of both)."""
    if (target.customer_group_id is None) == (target.customer_id is None):
        p.invalid("Give exactly one of customerGroupId and customerId", "customerGroupId")
    elif target.customer_group_id is not None:
        found = await session.scalar(
            select(CustomerGroup.id).where(CustomerGroup.id == target.customer_group_id).with_for_update()
        )
        if found is None:
            p.not_found("Customer group", "customerGroupId")
    else:
        found = await session.scalar(
            select(Customer.id).where(Customer.id == target.customer_id).with_for_update()
        )
        if found is None:
            p.not_found("Customer", "customerId")


def _of_target(target: Target) -> Any:
    if target.customer_group_id is not None:
        return VisibilityRule.customer_group_id == target.customer_group_id
    return VisibilityRule.customer_id == target.customer_id


async def set_visibility_rules(
    session: AsyncSession,
    actor: Principal,
    target: Target,
    mode: VisibilityMode,
    *,
    category_ids: Sequence[int] = (),
    skus: Sequence[str] = (),
) -> list[VisibilityRuleView]:
    """Make ``category_ids`` and ``skus`` the target's ``mode`` (ALLOW or DENY) rules, replacing
    the ones of that mode it had (both empty: clears them; the other mode's stay). Answers all
    the target's rules.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID unless exactly one
            of ``customerGroupId`` and ``customerId`` is given, for a repeated entry or more
            than :data:`MAX_ENTRIES`; NOT_FOUND for an unknown target, ``categoryIds.N`` or
            ``skus.N``.
    """
    require(actor, Action.PRICE_RULE_MANAGE)
    p = _Problems()
    await _check_target(p, session, target)
    cats = await _id_list(p, session, Category, category_ids, "categoryIds", "Category")
    products = await _sku_list(p, session, skus, "skus")
    p.raise_any()
    await session.execute(delete(VisibilityRule).where(_of_target(target), VisibilityRule.mode == mode.value))
    who = {"customer_group_id": target.customer_group_id, "customer_id": target.customer_id}
    session.add_all(VisibilityRule(mode=mode.value, category_id=c, **who) for c in cats)
    session.add_all(VisibilityRule(mode=mode.value, product_id=x, **who) for x in products)
    await session.flush()
    return await _rules(session, target)


async def _rules(session: AsyncSession, target: Target) -> list[VisibilityRuleView]:
    rows = await session.execute(
        select(VisibilityRule, Product.sku)
        .outerjoin(Product, Product.id == VisibilityRule.product_id)
        .where(_of_target(target))
        .order_by(VisibilityRule.mode, VisibilityRule.category_id, Product.sku)
    )
    return [VisibilityRuleView(r, s) for r, s in rows.all()]


async def list_visibility_rules(
    session: AsyncSession, actor: Principal, target: Target
) -> list[VisibilityRuleView]:
    """The target's visibility rules: ALLOW then DENY, categories then SKUs (staff).

    Raises: DomainError PERMISSION_DENIED for customer users; INVALID unless exactly one of
    ``customerGroupId`` and ``customerId`` is given."""
    require(actor, Action.PRICE_RULE_VIEW)
    if (target.customer_group_id is None) == (target.customer_id is None):
        raise DomainError.invalid("Give exactly one of customerGroupId and customerId", "customerGroupId")
    return await _rules(session, target)
