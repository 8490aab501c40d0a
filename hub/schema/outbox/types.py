from __future__ import annotations

from datetime import datetime

import strawberry

from hub.domain.outbox.models import OutboxEvent
from hub.schema.common import PageInfo, encode_id


@strawberry.type(
    description="An outbox event that became a dead letter (死信): its handler said it can never "
    "apply, or failed too often, or it was never handled after several publications. It is not "
    "retried until an ADMIN fixes the cause and calls `deadEventRetry`."
)
class DeadEvent:
    id: strawberry.ID = strawberry.field(description="Opaque id; pass to deadEventRetry.")
    kind: str = strawberry.field(description="The event's kind, e.g. `order.placed`, `inbound.shipment`.")
    aggregate: str = strawberry.field(description="What it is about, e.g. `order`.")
    aggregate_id: int = strawberry.field(description="The hub's id of that aggregate.")
    created_at: datetime = strawberry.field(description="When the event was written (UTC).")
    dead_at: datetime = strawberry.field(description="When it became a dead letter (UTC).")
    attempts: int = strawberry.field(description="Handler failures over all its deliveries.")
    last_error: str | None = strawberry.field(
        description="The last failure: the error's class and message, truncated."
    )

    @classmethod
    def of(cls, row: OutboxEvent) -> DeadEvent:
        assert row.dead_at is not None
        return cls(
            id=encode_id("DeadEvent", row.id),
            kind=row.kind,
            aggregate=row.aggregate,
            aggregate_id=row.aggregate_id,
            created_at=row.created_at,
            dead_at=row.dead_at,
            attempts=row.failures,
            last_error=row.last_error,
        )


@strawberry.type(description="A dead event and its cursor.")
class DeadEventEdge:
    node: DeadEvent = strawberry.field(description="The event.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this event.")


@strawberry.type(description="A page of dead letters, newest event first.")
class DeadEventConnection:
    edges: list[DeadEventEdge] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
