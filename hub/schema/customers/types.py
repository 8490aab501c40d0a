from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.domain.customers.models import Customer as CustomerModel
from hub.domain.customers.models import CustomerGroup as GroupModel
from hub.domain.customers.models import Region as RegionModel
from hub.schema.common import AppInfo, Money, PageInfo, encode_id, money
from hub.schema.customers.loaders import customer_group, customer_region, owed, sales_rep

if TYPE_CHECKING:
    from hub.schema.auth.types import User
    from hub.schema.orders.types import OrderConnection, OrderStatus


@strawberry.type(description="A customer group (客户分组, e.g. 一级代理 first-tier distributors): "
                 "what price lists, order-amount tiers and visibility rules apply to.")  # fmt: skip
class CustomerGroup:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def of(cls, g: GroupModel) -> CustomerGroup:
        return cls(id=encode_id("CustomerGroup", g.id), code=g.code, name=g.name)


@strawberry.type(description="A sales region (销售大区, e.g. 华东 East China).")
class Region:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")

    @classmethod
    def of(cls, r: RegionModel) -> Region:
        return cls(id=encode_id("Region", r.id), code=r.code, name=r.name)


@strawberry.type(description="A trade customer account (dealer, distributor, store).")
class Customer:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique customer code (often the ERP's).")
    name: str = strawberry.field(description="Display name.")
    active: bool = strawberry.field(
        description="False once deactivated: its users can neither log in nor order, it is left "
        "out of `customers` unless asked for; its history stays."
    )
    pk: strawberry.Private[int]
    group_id: strawberry.Private[int | None]
    region_id: strawberry.Private[int | None]
    sales_rep_id: strawberry.Private[int | None]
    limit: strawberry.Private[Decimal | None]
    currency: strawberry.Private[str]

    async def _owed(self, info: AppInfo) -> Decimal:
        """outstanding and availableCredit of every customer of the request: one statement."""
        return await owed(info, self.pk)

    @strawberry.field(description="The customer's group (prices, tiers, visibility); null for none.")
    async def group(self, info: AppInfo) -> CustomerGroup | None:
        if self.group_id is None:
            return None
        g = await customer_group(info, self.group_id)
        return None if g is None else CustomerGroup.of(g)

    @strawberry.field(description="The customer's sales region; null for none.")
    async def region(self, info: AppInfo) -> Region | None:
        if self.region_id is None:
            return None
        r = await customer_region(info, self.region_id)
        return None if r is None else Region.of(r)

    @strawberry.field(description="The staff user who looks after the customer (销售代表). Staff "
                      "only; null otherwise or when none.")  # fmt: skip
    async def sales_rep(
        self, info: AppInfo
    ) -> Annotated[User, strawberry.lazy("hub.schema.auth.types")] | None:
        from hub.schema.auth.types import User

        if self.sales_rep_id is None:
            return None
        u = await sales_rep(info, self.sales_rep_id)
        return None if u is None else User.of(u)

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
            active=c.active,
            pk=c.id,
            group_id=c.group_id,
            region_id=c.region_id,
            sales_rep_id=c.sales_rep_id,
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
