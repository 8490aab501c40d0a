from __future__ import annotations

import strawberry

from hub.domain.catalog.services import ProductRow
from hub.domain.pricing.services import PriceBook, PriceResult
from hub.domain.pricing.services import RuleKind as DomainRuleKind
from hub.schema.common import Error, Money, PageInfo, encode_id, money

PriceRuleKind = strawberry.enum(
    DomainRuleKind, name="PriceRuleKind", description="Which pricing rule set or changed a price."
)


@strawberry.type(description="A product category.")
class Category:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    name: str = strawberry.field(description="Display name, unique.")


@strawberry.type(description="One rule that produced a price, for explaining it to the buyer.")
class PriceRule:
    kind: PriceRuleKind = strawberry.field(description="The kind of rule.")  # type: ignore[valid-type]
    description: str = strawberry.field(description="What the rule did, in words.")


@strawberry.type(description="A unit price and the rules that produced it.")
class Price:
    unit_price: Money = strawberry.field(description="Price of one unit.")
    applied_rules: list[PriceRule] = strawberry.field(
        description="The rules applied, in the order they were applied."
    )

    @classmethod
    def of(cls, result: PriceResult, currency: str) -> Price:
        return cls(
            unit_price=money(result.unit_price, currency),
            applied_rules=[PriceRule(kind=r.kind, description=r.description) for r in result.rules],
        )


@strawberry.type(description="A product in the catalog, as the caller may see it.")
class Product:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    sku: str = strawberry.field(description="Stock keeping unit, unique.")
    name: str = strawberry.field(description="Display name.")
    unit: str = strawberry.field(description="Sales unit quantities are counted in (e.g. pcs, box).")
    category: Category | None = strawberry.field(description="The product's category.")
    available_quantity: int = strawberry.field(
        description="Units that can be ordered now: Σ over warehouses of max(onHand − reserved, 0)."
    )
    active: bool = strawberry.field(
        description="False once deactivated: only staff still see it; it cannot be ordered or quoted."
    )
    min_order_quantity: int = strawberry.field(
        description="The least quantity of the SKU an order may have (起订量; gift lines exempt)."
    )
    order_multiple: int = strawberry.field(
        description="An order's quantity of the SKU must be a multiple of this (e.g. a carton of 24)."
    )
    row: strawberry.Private[ProductRow]
    book: strawberry.Private[PriceBook]
    currency: strawberry.Private[str]

    @strawberry.field(description="The caller's price for `quantity` units (quantity breaks apply).")
    def price(self, quantity: int | None = 1) -> Price | None:
        quantity = 1 if quantity is None else quantity
        if quantity < 1:
            return None
        return Price.of(self.book.price(self.row.id, self.row.base_price, quantity), self.currency)

    @strawberry.field(description="List price before any customer rule. Staff only; null otherwise.")
    def base_price(self) -> Money | None:
        return None if self.row.list_price is None else money(self.row.list_price, self.currency)

    @strawberry.field(description="Purchase cost, for margins. Staff only; null otherwise.")
    def cost_price(self) -> Money | None:
        return None if self.row.cost_price is None else money(self.row.cost_price, self.currency)

    @classmethod
    def of(cls, row: ProductRow, book: PriceBook, currency: str) -> Product:
        """``row`` as the domain gave it: prices the caller may not see are already None."""
        return cls(
            id=encode_id("Product", row.id),
            sku=row.sku,
            name=row.name,
            unit=row.unit,
            category=None
            if row.category_id is None
            else Category(id=encode_id("Category", row.category_id), name=row.category_name or ""),
            available_quantity=int(row.available),
            active=row.active,
            min_order_quantity=row.min_order_quantity,
            order_multiple=row.order_multiple,
            row=row,
            book=book,
            currency=currency,
        )


@strawberry.type(description="A product and its cursor.")
class ProductEdge:
    node: Product = strawberry.field(description="The product.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this product.")


@strawberry.type(description="A page of products, by SKU.")
class ProductConnection:
    edges: list[ProductEdge] = strawberry.field(description="The products of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int | None = strawberry.field(description="How many products match, over all pages.")


@strawberry.type(description="One priced line of a quote.")
class QuoteLine:
    sku: str = strawberry.field(description="The SKU.")
    quantity: int = strawberry.field(description="Units (repeated SKUs added up).")
    unit_price: Money = strawberry.field(description="Price of one unit.")
    line_total: Money = strawberry.field(description="unitPrice × quantity, rounded half-up.")
    applied_rules: list[PriceRule] = strawberry.field(description="How the price was reached.")


@strawberry.type(description="What orderCreate would charge for the same lines now.")
class Quote:
    lines: list[QuoteLine] = strawberry.field(description="Priced lines.")
    subtotal: Money = strawberry.field(description="Sum of line totals.")
    discount_total: Money = strawberry.field(description="Order-level discounts.")
    total: Money = strawberry.field(description="subtotal − discountTotal.")
    errors: list[Error] = strawberry.field(
        description="Problems with the lines (unknown SKU, bad quantity); totals cover the rest."
    )


__all__ = [
    "Category",
    "Price",
    "PriceRule",
    "PriceRuleKind",
    "Product",
    "ProductConnection",
    "ProductEdge",
    "Quote",
    "QuoteLine",
]
