from __future__ import annotations

from datetime import datetime

import strawberry

from hub.domain.integration.models import IntegrationJob as JobModel
from hub.domain.integration.models import JobStatus
from hub.domain.integration.services import SyncOperation as DomainSyncOperation
from hub.domain.integration.services import SyncState as DomainSyncState
from hub.schema.common import PageInfo, encode_id

IntegrationJobStatus = strawberry.enum(
    JobStatus,
    name="IntegrationJobStatus",
    description="Where an integration job stands. FAILED jobs need a person: fix the cause, then "
    "`integrationJobRetry`.",
)


SyncOperation = strawberry.enum(
    DomainSyncOperation,
    name="SyncOperation",
    description="What an order's document at a peer is going through: PUSH (created there) or "
    "CANCEL (cancelled there, once the order is cancelled).",
)


@strawberry.type(description="Where an order stands with one peer (the ERP or the WMS).")
class SyncState:
    operation: SyncOperation = strawberry.field(  # type: ignore[valid-type]
        description="The latest operation on the order's document there: PUSH until the order is "
        "cancelled, then CANCEL (from the moment it is cancelled, before its job runs). With "
        "`status`: CANCEL SUCCEEDED means the document is cancelled at the peer (closed, voided or "
        "deleted, or it never got there); CANCEL PENDING, RUNNING, RETRYING or FAILED, that its "
        "cancellation is under way or needs a person. A push that never ran is PUSH CANCELLED."
    )
    status: IntegrationJobStatus = strawberry.field(  # type: ignore[valid-type]
        description="The state of the order's current job there (its cancellation, once the "
        "order is cancelled; the worst of its jobs when it went to several warehouses)."
    )
    external_id: str | None = strawberry.field(description="The peer's id of the document, once created.")
    attempts: int = strawberry.field(description="Runs of the current job(s) so far.")
    last_error: str | None = strawberry.field(
        description="The peer's last refusal or failure, for staff; null after a success."
    )

    @classmethod
    def of(cls, s: DomainSyncState) -> SyncState:
        return cls(
            operation=s.operation,
            status=s.status,
            external_id=s.external_id,
            attempts=s.attempts,
            last_error=s.last_error,
        )


@strawberry.type(description="One unit of work for a connector: a push, a cancel, a notification.")
class IntegrationJob:
    id: strawberry.ID = strawberry.field(description="Opaque id; pass to integrationJobRetry.")
    role: str = strawberry.field(description="The connector role it is for, e.g. erp, wms, notify.sales.")
    operation: str = strawberry.field(
        description="What it does: push_sales_order, cancel_sales_order, push_outbound, "
        "cancel_outbound, push_purchase_request or notify; apply_inbound is a callback from the peer "
        "that can never apply (FAILED at once, last_error says why; not retryable)."
    )
    entity: str = strawberry.field(description="What it is about: order, replenishment or event.")
    entity_id: int = strawberry.field(
        description="The hub's id of that entity (an order's number without SO)."
    )
    status: IntegrationJobStatus = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Runs so far.")
    max_attempts: int = strawberry.field(description="Runs allowed before it is FAILED (its policy).")
    last_error: str | None = strawberry.field(description="The last failure, for staff.")
    external_id: str | None = strawberry.field(description="The peer's id of what it created.")
    next_attempt_at: datetime = strawberry.field(description="When it runs (again), UTC.")
    created_at: datetime = strawberry.field(description="When it was created, UTC.")
    updated_at: datetime = strawberry.field(description="When it last changed, UTC.")
    finished_at: datetime | None = strawberry.field(description="When it SUCCEEDED or FAILED, UTC.")

    @classmethod
    def of(cls, j: JobModel) -> IntegrationJob:
        return cls(
            id=encode_id("IntegrationJob", j.id),
            role=j.role,
            operation=j.operation,
            entity=j.entity,
            entity_id=j.entity_id,
            status=JobStatus(j.status),
            attempts=j.attempts,
            max_attempts=j.max_attempts,
            last_error=j.last_error,
            external_id=j.external_id,
            next_attempt_at=j.next_attempt_at,
            created_at=j.created_at,
            updated_at=j.updated_at,
            finished_at=j.finished_at,
        )


@strawberry.type(description="An integration job and its cursor.")
class IntegrationJobEdge:
    node: IntegrationJob = strawberry.field(description="The job.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after it.")


@strawberry.type(description="A page of integration jobs, newest first.")
class IntegrationJobConnection:
    edges: list[IntegrationJobEdge] = strawberry.field(description="The jobs of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
    total_count: int | None = strawberry.field(description="How many jobs match over all pages.")
