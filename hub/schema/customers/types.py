from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.domain.customers.models import Customer as CustomerModel
from hub.schema.common import AppInfo, Money, PageInfo, encode_id, money
from hub.schema.customers.loaders import owed

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

    async def _owed(self, info: AppInfo) -> Decimal:
        """outstanding and availableCredit of every customer of the request: one statement."""
        return await owed(info, self.pk)

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
        from hub.schema.orders.loaders import orders_of_customer

        return await orders_of_customer(info, self.pk, first, after, status)

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
