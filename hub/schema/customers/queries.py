from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.customers.segments import list_customer_groups, list_regions
from hub.domain.customers.services import get_customer, list_customers
from hub.domain.errors import DomainError
from hub.domain.pagination import encode_cursor
from hub.schema.common import AppInfo, PageInfo, decode_id, denied_as_null
from hub.schema.customers.types import Customer, CustomerConnection, CustomerEdge, CustomerGroup, Region


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="A customer by id: staff see any, customer users their own.")
    async def customer(self, info: AppInfo, id: strawberry.ID) -> Customer | None:
        p = info.context.principal
        pk = decode_id("Customer", id)
        if p is None or pk is None:
            return None
        async with info.context.db.read() as session:
            c = await get_customer(session, p, pk)
        return None if c is None else Customer.of(c, info.context.currency)

    @strawberry.field(description="Customers by code. Staff only; null otherwise.")
    async def customers(
        self,
        info: AppInfo,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        include_inactive: Annotated[
            bool, strawberry.argument(description="Also the deactivated customers.")
        ] = False,
    ) -> CustomerConnection | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                page = await list_customers(
                    session, p, first=first, after=after, search=search, include_inactive=include_inactive
                )
        except DomainError as e:
            denied_as_null(e)  # customer users: null
            return None
        c = info.context.currency
        edges = [
            CustomerEdge(node=Customer.of(x, c), cursor=encode_cursor("code", x.code)) for x in page.items
        ]
        return CustomerConnection(
            edges=edges,
            page_info=PageInfo.of(edges, page),
        )

    @strawberry.field(description="Every customer group, by code. Staff only; null otherwise.")
    async def customer_groups(self, info: AppInfo) -> list[CustomerGroup] | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                rows = await list_customer_groups(session, p)
        except DomainError as e:
            denied_as_null(e)
            return None
        return [CustomerGroup.of(g) for g in rows]

    @strawberry.field(description="Every sales region, by code. Staff only; null otherwise.")
    async def regions(self, info: AppInfo) -> list[Region] | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                rows = await list_regions(session, p)
        except DomainError as e:
            denied_as_null(e)
            return None
        return [Region.of(r) for r in rows]
