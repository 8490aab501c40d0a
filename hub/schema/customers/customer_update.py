from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry

from hub.domain.auth.services import KEEP
from hub.domain.customers.services import customer_user_ids, update_customer
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of
from hub.schema.customers.types import Customer

_UNSET: Any = strawberry.UNSET


@strawberry.input(description="What to change about a customer; an omitted field is left as it is.")
class CustomerUpdateInput:
    name: str | None = strawberry.field(default=_UNSET, description="Display name (not null).")
    group_id: strawberry.ID | None = strawberry.field(
        default=_UNSET, description="The customer's group; null: none."
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=_UNSET, description="The customer's sales region; null: none."
    )
    credit_limit: Decimal | None = strawberry.field(
        default=_UNSET, description="Credit limit; null: no limit."
    )
    sales_rep_id: strawberry.ID | None = strawberry.field(
        default=_UNSET, description="The staff user who looks after the customer; null: none."
    )
    active: bool | None = strawberry.field(
        default=_UNSET,
        description="False deactivates the customer: its users can no longer log in, their tokens "
        "stop working, it cannot order and leaves `customers` lists; its orders stay. Not null.",
    )


@strawberry.type(description="The result of customerUpdate.")
class CustomerUpdatePayload:
    customer: Customer | None = strawberry.field(description="The customer as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


def _given(value: object) -> bool:
    return value is not strawberry.UNSET


def _id(kind: str, value: strawberry.ID | None) -> int | None:
    """None for null; an id of another kind becomes 0, which nothing has: NOT_FOUND."""
    return None if value is None else decode_id(kind, value) or 0


@strawberry.type
class CustomerUpdateMutation:
    @strawberry.mutation(
        description="Change a customer's name, group, region, credit limit, sales rep or active "
        "flag (SALES_MANAGER, ADMIN). Omitted fields are left as they are."
    )
    async def customer_update(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The customer's id.")],
        input: Annotated[CustomerUpdateInput, strawberry.argument(description="What to change.")],
    ) -> CustomerUpdatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        changes: dict[str, Any] = {
            "name": input.name if _given(input.name) else KEEP,
            "group_id": _id("CustomerGroup", input.group_id) if _given(input.group_id) else KEEP,
            "region_id": _id("Region", input.region_id) if _given(input.region_id) else KEEP,
            "credit_limit": input.credit_limit if _given(input.credit_limit) else KEEP,
            "sales_rep_id": _id("User", input.sales_rep_id) if _given(input.sales_rep_id) else KEEP,
            "active": input.active if _given(input.active) else KEEP,
        }
        users: list[int] = []
        try:
            async with info.context.db.write() as session:
                c = await update_customer(session, p, decode_id("Customer", id) or 0, **changes)
                if input.active is False:
                    users = await customer_user_ids(session, c.id)
                await audit(info, session, encode_id("Customer", c.id))
        except DomainError as e:
            return CustomerUpdatePayload(customer=None, errors=errors_of(e))
        for user_id in users:  # this process sees the deactivation at once
            info.context.app.users.forget(user_id)
        return CustomerUpdatePayload(customer=Customer.of(c, info.context.currency), errors=[])
