from __future__ import annotations

import strawberry

from hub.domain.audit.services import list_entries
from hub.domain.errors import DomainError
from hub.domain.pagination import encode_cursor
from hub.schema.audit.types import AuditEntry, AuditEntryConnection, AuditEntryEdge
from hub.schema.common import AppInfo, PageInfo, denied_as_null


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="The audit trail: one entry per staff mutation that wrote something, newest "
        "first. ADMIN only; null otherwise."
    )
    async def audit_log(
        self, info: AppInfo, first: int | None = 20, after: str | None = None
    ) -> AuditEntryConnection | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                page = await list_entries(session, p, first=first, after=after)
        except DomainError as e:
            denied_as_null(e)  # everyone but ADMIN: null
            return None
        edges = [
            AuditEntryEdge(node=AuditEntry.of(e), cursor=encode_cursor("audit", e.id)) for e in page.items
        ]
        return AuditEntryConnection(edges=edges, page_info=PageInfo.of(edges, page))
