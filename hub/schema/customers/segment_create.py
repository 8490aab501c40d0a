"""customerGroupCreate and regionCreate: the two lists customers are segmented by."""

from __future__ import annotations

import strawberry

from hub.domain.customers.segments import create_customer_group, create_region
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.customers.types import CustomerGroup, Region


@strawberry.input(description="A new customer group.")
class CustomerGroupCreateInput:
    code: str = strawberry.field(description="Unique code: letters, digits and . _ - / (at most 40).")
    name: str = strawberry.field(description="Display name, e.g. 一级代理 First-tier distributors.")


@strawberry.type(description="The result of customerGroupCreate.")
class CustomerGroupCreatePayload:
    customer_group: CustomerGroup | None = strawberry.field(description="The new group.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.input(description="A new sales region.")
class RegionCreateInput:
    code: str = strawberry.field(description="Unique code: letters, digits and . _ - / (at most 40).")
    name: str = strawberry.field(description="Display name, e.g. 华东 East China.")


@strawberry.type(description="The result of regionCreate.")
class RegionCreatePayload:
    region: Region | None = strawberry.field(description="The new region.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class SegmentCreateMutations:
    @strawberry.mutation(description="Create a customer group (SALES_MANAGER, ADMIN).")
    async def customer_group_create(
        self, info: AppInfo, input: CustomerGroupCreateInput
    ) -> CustomerGroupCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                g = await create_customer_group(session, p, code=input.code, name=input.name)
                await audit(info, session, encode_id("CustomerGroup", g.id))
        except DomainError as e:
            return CustomerGroupCreatePayload(customer_group=None, errors=errors_of(e))
        return CustomerGroupCreatePayload(customer_group=CustomerGroup.of(g), errors=[])

    @strawberry.mutation(description="Create a sales region (SALES_MANAGER, ADMIN).")
    async def region_create(self, info: AppInfo, input: RegionCreateInput) -> RegionCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                r = await create_region(session, p, code=input.code, name=input.name)
                await audit(info, session, encode_id("Region", r.id))
        except DomainError as e:
            return RegionCreatePayload(region=None, errors=errors_of(e))
        return RegionCreatePayload(region=Region.of(r), errors=[])
