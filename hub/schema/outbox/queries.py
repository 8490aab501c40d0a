from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.outbox.dead import cursor_of, list_dead
from hub.schema.common import AppInfo, PageInfo, denied_as_null
from hub.schema.outbox.types import DeadEvent, DeadEventConnection, DeadEventEdge


@strawberry.type
class OutboxQueries:
    @strawberry.field(
        description="Outbox events that became dead letters (死信), newest first: what needs a "
        "person before `deadEventRetry`. ADMIN only; null otherwise."
    )
    async def dead_events(
        self, info: AppInfo, first: int | None = 20, after: str | None = None
    ) -> DeadEventConnection | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                page = await list_dead(session, p, first=first, after=after)
        except DomainError as e:
            denied_as_null(e)  # everyone but ADMIN: null
            return None
        edges = [DeadEventEdge(node=DeadEvent.of(e), cursor=cursor_of(e)) for e in page.items]
        return DeadEventConnection(edges=edges, page_info=PageInfo.of(edges, page))
