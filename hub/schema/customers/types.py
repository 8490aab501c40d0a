from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.domain.customers.models import Customer as CustomerModel
from hub.domain.customers.services import outstanding
from hub.schema.common import AppInfo, Money, PageInfo, encode_id, money

if TYPE_CHECKING:
    from hub.schema.orders.types import OrderConnection, OrderStatus


@strawberry.type(description="A trade customer account (dealer, distributor, store).")
class Customer:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique customer code (often the ERP's).")
    name: str = strawberry.field(description="Display name.")
    region: str | None = strawberry.field(description="Sales region.")
    pk: strawberry.Private[int]
    limit: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]
    owed: strawberry.Private[asyncio.Future[Decimal] | None] = None

    def _owed(self, info: AppInfo) -> asyncio.Future[Decimal]:
        """One query for outstanding and availableCredit together."""
        if self.owed is None:

            async def load() -> Decimal:
                async with info.context.db.read() as session:
                    return await outstanding(session, self.pk)

            self.owed = asyncio.ensure_future(load())
        return self.owed

    @strawberry.field(description="Credit limit; null means no limit.")
    def credit_limit(self) -> Money | None:
        return None if self.limit is None else money(self.limit, self.currency)

    @strawberry.field(description="Value of open orders (placed, approved or shipped, not yet settled).")
    async def outstanding(self, info: AppInfo) -> Money:
        return money(await self._owed(info), self.currency)

    @strawberry.field(description="creditLimit − outstanding; null when there is no limit.")
    async def available_credit(self, info: AppInfo) -> Money | None:
        if self.limit is None:
            return None
        return money(self.limit - await self._owed(info), self.currency)

    @strawberry.field(description="The customer's orders, newest first (staff and its own users).")
    async def orders(
        self,
        info: AppInfo,
        first: int | None = 20,
        after: str | None = None,
        status: Annotated[OrderStatus, strawberry.lazy("hub.schema.orders.types")] | None = None,
    ) -> Annotated[OrderConnection, strawberry.lazy("hub.schema.orders.types")] | None:
        from hub.schema.orders.queries import order_connection

        return await order_connection(info, first, after, status, customer_id=self.pk)

    @classmethod
    def of(cls, c: CustomerModel, currency: str) -> Customer:
        return cls(
            id=encode_id("Customer", c.id),
            code=c.code,
            name=c.name,
            region=c.region,
            pk=c.id,
            limit=c.credit_limit,
            currency=currency,
        )


@strawberry.type(description="A customer and its cursor.")
class CustomerEdge:
    node: Customer = strawberry.field(description="The customer.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of customers, by code.")
class CustomerConnection:
    edges: list[CustomerEdge] = strawberry.field(description="The customers of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
