from __future__ import annotations

import strawberry


@strawberry.input(description="One line of an order: a SKU and how many units.")
class OrderLineInput:
    sku: str = strawberry.field(description="The product's SKU.")
    quantity: int = strawberry.field(description="Units, 1 to 1,000,000.")
