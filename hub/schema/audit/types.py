from __future__ import annotations

from datetime import datetime

import strawberry

from hub.domain.audit.models import AuditEntry as AuditEntryModel
from hub.schema.common import PageInfo, encode_id


@strawberry.type(description="Who made an audited change.")
class AuditActor:
    id: strawberry.ID | None = strawberry.field(
        description="The user's opaque id; null once the user is deleted."
    )
    email: str = strawberry.field(description="The user's login email when the change was made.")


@strawberry.type(description="One staff mutation that wrote something: who, what, when and on what.")
class AuditEntry:
    at: datetime = strawberry.field(description="When the change was made (UTC).")
    actor: AuditActor = strawberry.field(description="The staff user who made it.")
    action: str = strawberry.field(description="The mutation's name, e.g. `productCreate`.")
    target: str | None = strawberry.field(
        description="The GraphQL `id` of the object created or changed; for `stockSet`, which "
        "changes a stock level (no id), `SKU@WAREHOUSE`."
    )

    @classmethod
    def of(cls, row: AuditEntryModel) -> AuditEntry:
        return cls(
            at=row.at,
            actor=AuditActor(
                id=None if row.actor_id is None else encode_id("User", row.actor_id), email=row.actor_email
            ),
            action=row.action,
            target=row.target,
        )


@strawberry.type(description="An audit entry and its cursor.")
class AuditEntryEdge:
    node: AuditEntry = strawberry.field(description="The entry.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this entry.")


@strawberry.type(description="A page of the audit trail, newest first.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Paging state.")
