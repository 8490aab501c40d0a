from __future__ import annotations

import strawberry

from hub.schema.common import Error
from hub.schema.orders.types import Order


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(description="The order as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing changed; empty on success.")
