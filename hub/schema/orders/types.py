from __future__ import annotations

from datetime import datetime

import strawberry

from hub.domain.orders.models import Order as OrderModel
from hub.domain.orders.models import OrderStatus as DomainOrderStatus
from hub.domain.orders.models import StepStatus as DomainStepStatus
from hub.domain.orders.models import TimelineKind as DomainTimelineKind
from hub.domain.orders.viewing import OrderView
from hub.schema.auth.types import Role
from hub.schema.catalog.types import PriceRule
from hub.schema.common import AppInfo, Money, PageInfo, encode_id, money
from hub.schema.customers.types import Customer
from hub.schema.integration.loaders import sync_state
from hub.schema.integration.types import SyncState

# strawberry.enum marks the domain's class itself (and returns it): one enum, usable as a type.
OrderStatus = DomainOrderStatus
strawberry.enum(OrderStatus, name="OrderStatus", description="Where an order is in its lifecycle.")
StepStatus = strawberry.enum(
    DomainStepStatus, name="StepStatus", description="The state of one approval step."
)
TimelineKind = strawberry.enum(
    DomainTimelineKind, name="TimelineKind", description="What happened to an order."
)


@strawberry.type(description="One priced line of an order.")
class OrderLine:
    sku: str = strawberry.field(description="The product's SKU.")
    name: str = strawberry.field(description="The product's name when ordered.")
    quantity: int = strawberry.field(description="Units ordered.")
    unit_price: Money = strawberry.field(description="Price of one unit.")
    line_total: Money = strawberry.field(description="unitPrice × quantity, rounded half-up.")
    applied_rules: list[PriceRule] = strawberry.field(description="How the price was reached.")


@strawberry.type(description="One step of an order's approval.")
class ApprovalStep:
    name: str = strawberry.field(description="What the step is, e.g. Sales manager approval.")
    role: Role = strawberry.field(description="The role that decides it.")  # type: ignore[valid-type]
    status: StepStatus = strawberry.field(description="Pending, approved, rejected or skipped.")  # type: ignore[valid-type]
    decided_by: str | None = strawberry.field(
        description="Who decided it: staff see the e-mail address; a customer's users see their own "
        "colleagues' addresses and staff as the role they acted in, e.g. Sales manager."
    )
    decided_at: datetime | None = strawberry.field(description="When it was decided.")
    comment: str | None = strawberry.field(
        description="The decider's comment or reason. An approval's comment is internal: null for "
        "a customer's users; a rejection's reason is shown to them."
    )
    due_at: datetime | None = strawberry.field(description="When the step should be decided by.")


@strawberry.type(description="An order's approval: its steps and which one is current.")
class Approval:
    current_step: str | None = strawberry.field(
        description="Name of the step waiting for a decision; null when none is."
    )
    steps: list[ApprovalStep] = strawberry.field(description="All steps in order.")


@strawberry.type(description="One entry of an order's timeline.")
class TimelineEntry:
    at: datetime = strawberry.field(description="When it happened (UTC).")
    kind: TimelineKind = strawberry.field(description="What happened.")  # type: ignore[valid-type]
    message: str = strawberry.field(
        description="A sentence for people. A customer's users see staff as a role, never an e-mail "
        "address, and no approval comment."
    )


@strawberry.type(description="A customer's order.")
class Order:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    number: str = strawberry.field(description="The order number people quote, e.g. SO00000042.")
    status: OrderStatus = strawberry.field(description="Lifecycle state.")
    customer: Customer = strawberry.field(description="Who ordered.")
    lines: list[OrderLine] = strawberry.field(description="Priced lines; repeated SKUs merged.")
    note: str | None = strawberry.field(description="The buyer's note.")
    subtotal: Money = strawberry.field(description="Sum of line totals.")
    discount_total: Money = strawberry.field(description="Order-level discounts.")
    total: Money = strawberry.field(description="subtotal − discountTotal.")
    created_at: datetime = strawberry.field(description="When it was placed (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    approval: Approval = strawberry.field(description="Approval steps and the current one.")
    timeline: list[TimelineEntry] = strawberry.field(description="What happened, oldest first.")
    pk: strawberry.Private[int] = 0

    @strawberry.field(
        description="Where the order stands with the ERP (its sales order there): status, the "
        "ERP's id, attempts and the last error. Staff only; null for customers, and while no ERP "
        "is configured or the order has not been approved."
    )
    async def erp_sync(self, info: AppInfo) -> SyncState | None:
        return await sync_state(info, self.pk, "erp")

    @strawberry.field(
        description="Where the order stands with the WMS (its outbound order there): status, the "
        "WMS's id, attempts and the last error. Staff only; null for customers, and while no WMS "
        "is configured or the order has not been approved."
    )
    async def wms_sync(self, info: AppInfo) -> SyncState | None:
        return await sync_state(info, self.pk, "wms")

    @classmethod
    def of(cls, o: OrderModel, currency: str, view: OrderView) -> Order:
        """``o`` as the caller sees it: ``view`` has its people and comments for the caller
        (:func:`hub.domain.orders.viewing.order_views`)."""
        cur = o.currency or currency
        steps = [
            ApprovalStep(
                name=s.name,
                role=s.role,
                status=s.status,
                decided_by=v.decided_by,
                decided_at=s.decided_at,
                comment=v.comment,
                due_at=s.due_at,
            )
            for s, v in zip(o.steps, view.steps, strict=True)
        ]
        current = next((s.name for s in o.steps if s.status == DomainStepStatus.PENDING), None)
        return cls(
            id=encode_id("Order", o.id),
            pk=o.id,
            number=o.number,
            status=DomainOrderStatus(o.status),
            customer=Customer.of(o.customer, currency),
            lines=[
                OrderLine(
                    sku=x.sku,
                    name=x.name,
                    quantity=x.quantity,
                    unit_price=money(x.unit_price, cur),
                    line_total=money(x.line_total, cur),
                    applied_rules=[
                        PriceRule(kind=r["kind"], description=r["description"]) for r in x.applied_rules
                    ],
                )
                for x in o.lines
            ],
            note=o.note,
            subtotal=money(o.subtotal, cur),
            discount_total=money(o.discount_total, cur),
            total=money(o.total, cur),
            created_at=o.created_at,
            updated_at=o.updated_at,
            approval=Approval(current_step=current, steps=steps),
            timeline=[
                TimelineEntry(at=e.at, kind=DomainTimelineKind(e.kind), message=e.message)
                for e in view.timeline
            ],
        )


@strawberry.type(description="An order and its cursor.")
class OrderEdge:
    node: Order = strawberry.field(description="The order.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="The orders of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int | None = strawberry.field(description="How many orders match over all pages.")
