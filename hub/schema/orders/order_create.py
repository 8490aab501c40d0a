from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.orders.placement import IdempotencyRace, create_order
from hub.domain.orders.viewing import order_views
from hub.domain.pricing.quotes import LineInput
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, decode_id, encode_id, errors_of
from hub.schema.orders.inputs import OrderLineInput
from hub.schema.orders.payloads import OrderPayload
from hub.schema.orders.types import Order


@strawberry.input(description="What to order.")
class OrderCreateInput:
    lines: list[OrderLineInput] = strawberry.field(description="1 to 500 lines; SKUs may repeat.")
    note: str | None = strawberry.field(default=None, description="A note for the supplier.")
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only: the customer to order for."
    )


@strawberry.type
class OrderCreateMutation:
    @strawberry.mutation(
        description="Place an order: prices the lines and reserves their stock, all or nothing. "
        "The order starts PENDING_APPROVAL. With an `idempotencyKey`, repeating the same input "
        "returns the first order; a different input answers IDEMPOTENCY_CONFLICT."
    )
    async def order_create(
        self, info: AppInfo, input: OrderCreateInput, idempotency_key: str | None = None
    ) -> OrderPayload | None:
        p = info.context.principal
        if p is None:
            return None
        customer_id = None
        if input.customer_id is not None:
            customer_id = decode_id("Customer", input.customer_id) or 0
        lines = [LineInput(x.sku, x.quantity) for x in input.lines]
        for _attempt in range(2):
            try:
                async with info.context.db.write() as session:
                    order = await create_order(
                        session,
                        p,
                        lines=lines,
                        note=input.note,
                        customer_id=customer_id,
                        idempotency_key=idempotency_key,
                        currency=info.context.currency,
                    )
                    # once: a resent key replays the order and writes nothing new
                    await audit(info, session, encode_id("Order", order.id), once=idempotency_key is not None)
                    (view,) = await order_views(session, p, [order])
            except DomainError as e:
                return OrderPayload(order=None, errors=errors_of(e))
            except IdempotencyRace:
                continue  # the winner has committed: the next attempt replays its order
            return OrderPayload(order=Order.of(order, info.context.currency, view), errors=[])
        raise RuntimeError("idempotency key race did not settle")
