from __future__ import annotations

from decimal import Decimal

import strawberry

from hub.domain.customers.services import create_customer
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of
from hub.schema.customers.types import Customer


@strawberry.input(description="A new customer account.")
class CustomerCreateInput:
    code: str = strawberry.field(description="Unique customer code.")
    name: str = strawberry.field(description="Display name.")
    credit_limit: Decimal | None = strawberry.field(default=None, description="Null: no limit.")
    group_code: str | None = strawberry.field(default=None, description="Customer group code.")
    region_id: strawberry.ID | None = strawberry.field(default=None, description="Sales region.")


@strawberry.type(description="The result of customerCreate.")
class CustomerCreatePayload:
    customer: Customer | None = strawberry.field(description="The new customer.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class CustomerCreateMutation:
    @strawberry.mutation(description="Open a customer account (ADMIN).")
    async def customer_create(
        self, info: AppInfo, input: CustomerCreateInput
    ) -> CustomerCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                c = await create_customer(
                    session,
                    p,
                    code=input.code,
                    name=input.name,
                    credit_limit=input.credit_limit,
                    group_code=input.group_code,
                    region_id=None if input.region_id is None else decode_id("Region", input.region_id) or 0,
                )
                await audit(info, session, encode_id("Customer", c.id))
        except DomainError as e:
            return CustomerCreatePayload(customer=None, errors=errors_of(e))
        return CustomerCreatePayload(customer=Customer.of(c, info.context.currency), errors=[])
