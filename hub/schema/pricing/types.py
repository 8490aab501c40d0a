"""The rules staff manage, as GraphQL types (API.md "Pricing and catalog management")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from hub.domain.catalog.price_rules import OrderAmountTier as TierModel
from hub.domain.catalog.price_rules import PromotionKind as DomainPromotionKind
from hub.domain.catalog.price_rules import VisibilityMode as DomainVisibilityMode
from hub.domain.pricing.management import (
    CustomerPriceView,
    PriceListView,
    PromotionView,
    VisibilityRuleView,
)
from hub.schema.common import Money, PageInfo, encode_id, money

PromotionKind = DomainPromotionKind
strawberry.enum(
    PromotionKind,
    name="PromotionKind",
    description="What a promotion gives: PERCENT_OFF (value = percent off the unit price), "
    "AMOUNT_OFF_PER_UNIT (value off each unit), SPEND_THRESHOLD (满减: value off the order once "
    "the matching lines reach threshold), BUY_X_GET_Y (getQuantity free units of giftSku per "
    "buyQuantity bought).",
)
VisibilityMode = DomainVisibilityMode
strawberry.enum(
    VisibilityMode, name="VisibilityMode", description="ALLOW shows what a rule names; DENY hides it."
)


@strawberry.type(description="One price of a price list: unitPrice from minQuantity units on.")
class PriceListItem:
    sku: str = strawberry.field(description="The product's SKU.")
    unit_price: Money = strawberry.field(description="Price of one unit.")
    min_quantity: int = strawberry.field(description="From how many units on (a quantity break).")


@strawberry.type(description="A customer group's price list (价目表).")
class PriceList:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")
    customer_group_id: strawberry.ID = strawberry.field(description="The group it prices for.")
    valid_from: datetime | None = strawberry.field(description="Valid from (inclusive); null: always.")
    valid_to: datetime | None = strawberry.field(description="Valid until (exclusive); null: no end.")
    priority: int = strawberry.field(description="Of a group's valid lists the highest is tried first.")
    created_at: datetime = strawberry.field(description="When it was created (ties: newest first).")
    items: list[PriceListItem] = strawberry.field(description="Its prices, by SKU then minQuantity.")

    @classmethod
    def of(cls, v: PriceListView, currency: str) -> PriceList:
        r = v.row
        return cls(
            id=encode_id("PriceList", r.id),
            code=r.code,
            name=r.name,
            customer_group_id=encode_id("CustomerGroup", r.customer_group_id),
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            priority=r.priority,
            created_at=r.created_at,
            items=[
                PriceListItem(
                    sku=i.sku, unit_price=money(i.unit_price, currency), min_quantity=i.min_quantity
                )
                for i in v.items
            ],
        )


@strawberry.type(description="A customer's own price (一客一价) of a product.")
class CustomerPrice:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    sku: str = strawberry.field(description="The product's SKU.")
    unit_price: Money = strawberry.field(description="Price of one unit.")
    min_quantity: int = strawberry.field(description="From how many units on (a quantity break).")
    valid_from: datetime | None = strawberry.field(description="Valid from (inclusive); null: always.")
    valid_to: datetime | None = strawberry.field(description="Valid until (exclusive); null: no end.")

    @classmethod
    def of(cls, v: CustomerPriceView, currency: str) -> CustomerPrice:
        r = v.row
        return cls(
            id=encode_id("CustomerPrice", r.id),
            customer_id=encode_id("Customer", r.customer_id),
            sku=v.sku,
            unit_price=money(r.unit_price, currency),
            min_quantity=r.min_quantity,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )


@strawberry.type(description="A customer price and its cursor.")
class CustomerPriceEdge:
    node: CustomerPrice = strawberry.field(description="The price.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of a customer's prices, by SKU then minQuantity.")
class CustomerPriceConnection:
    edges: list[CustomerPriceEdge] = strawberry.field(description="The prices of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


@strawberry.type(description="An order-amount tier of a group: percentOff the subtotal from minAmount on.")
class OrderAmountTier:
    min_amount: Money = strawberry.field(description="The subtotal from which the tier applies.")
    percent_off: Decimal = strawberry.field(description='Percent off the subtotal, e.g. "2.50".')

    @classmethod
    def of(cls, t: TierModel, currency: str) -> OrderAmountTier:
        return cls(min_amount=money(t.min_amount, currency), percent_off=t.percent_off)


@strawberry.type(description="A time-boxed promotion (促销). Empty scope lists mean all.")
class Promotion:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="Display name, shown in the rules a price carries.")
    kind: PromotionKind = strawberry.field(description="What it gives.")
    value: Decimal | None = strawberry.field(
        description="PERCENT_OFF: the percent; AMOUNT_OFF_PER_UNIT: off each unit; SPEND_THRESHOLD: "
        "off the order; null for BUY_X_GET_Y."
    )
    threshold: Money | None = strawberry.field(description="SPEND_THRESHOLD: the amount to reach.")
    buy_quantity: int | None = strawberry.field(description="BUY_X_GET_Y: units to buy (X).")
    get_quantity: int | None = strawberry.field(description="BUY_X_GET_Y: free units given (Y).")
    gift_sku: str | None = strawberry.field(description="BUY_X_GET_Y: the gift; null: the same SKU.")
    skus: list[str] = strawberry.field(description="Products it applies to (either this or categories).")
    category_ids: list[strawberry.ID] = strawberry.field(description="Categories it applies to.")
    customer_group_ids: list[strawberry.ID] = strawberry.field(description="Groups it applies to.")
    customer_ids: list[strawberry.ID] = strawberry.field(description="Customers it applies to.")
    starts_at: datetime | None = strawberry.field(description="Starts (inclusive); null: already.")
    ends_at: datetime | None = strawberry.field(description="Ends (exclusive); null: no end.")
    exclusive: bool = strawberry.field(description="True: never stacks with other promotions.")
    priority: int = strawberry.field(description="Higher applies first (ties: older first).")
    applies_to_contract_prices: bool = strawberry.field(
        description="True: also on lines priced by a customer's own price."
    )
    usage_limit_per_customer: int | None = strawberry.field(
        description="How many orders of one customer may use it; null: no limit."
    )
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def of(cls, v: PromotionView, currency: str) -> Promotion:
        r = v.row
        return cls(
            id=encode_id("Promotion", r.id),
            name=r.name,
            kind=PromotionKind(r.kind),
            value=r.value,
            threshold=None if r.threshold is None else money(r.threshold, currency),
            buy_quantity=r.buy_quantity,
            get_quantity=r.get_quantity,
            gift_sku=v.gift_sku,
            skus=v.skus,
            category_ids=[encode_id("Category", i) for i in r.category_ids],
            customer_group_ids=[encode_id("CustomerGroup", i) for i in r.customer_group_ids],
            customer_ids=[encode_id("Customer", i) for i in r.customer_ids],
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            exclusive=r.exclusive,
            priority=r.priority,
            applies_to_contract_prices=r.applies_to_contract_prices,
            usage_limit_per_customer=r.usage_limit_per_customer,
            created_at=r.created_at,
        )


@strawberry.type(description="A promotion and its cursor.")
class PromotionEdge:
    node: Promotion = strawberry.field(description="The promotion.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of promotions, newest first.")
class PromotionConnection:
    edges: list[PromotionEdge] = strawberry.field(description="The promotions of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")


@strawberry.type(description="One entry of a group's or a customer's allow or deny list.")
class VisibilityRule:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    mode: VisibilityMode = strawberry.field(description="ALLOW or DENY.")
    customer_group_id: strawberry.ID | None = strawberry.field(description="The group it is for, or null.")
    customer_id: strawberry.ID | None = strawberry.field(description="The customer it is for, or null.")
    category_id: strawberry.ID | None = strawberry.field(description="The category it names, or null.")
    sku: str | None = strawberry.field(description="The product it names, or null.")

    @classmethod
    def of(cls, v: VisibilityRuleView) -> VisibilityRule:
        r = v.row
        return cls(
            id=encode_id("VisibilityRule", r.id),
            mode=VisibilityMode(r.mode),
            customer_group_id=None
            if r.customer_group_id is None
            else encode_id("CustomerGroup", r.customer_group_id),
            customer_id=None if r.customer_id is None else encode_id("Customer", r.customer_id),
            category_id=None if r.category_id is None else encode_id("Category", r.category_id),
            sku=v.sku,
        )
