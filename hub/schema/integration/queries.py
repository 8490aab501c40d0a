from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.integration.models import JobStatus
from hub.domain.integration.services import count_jobs, list_jobs
from hub.domain.pagination import encode_cursor
from hub.schema.common import AppInfo, PageInfo, denied_as_null, wants
from hub.schema.integration.types import (
    IntegrationJob,
    IntegrationJobConnection,
    IntegrationJobEdge,
    IntegrationJobStatus,
)


@strawberry.type
class IntegrationQueries:
    @strawberry.field(
        description="Integration jobs newest first, e.g. `integrationJobs(status: FAILED)` for what "
        "needs a person. Staff only; null otherwise."
    )
    async def integration_jobs(
        self,
        info: AppInfo,
        status: IntegrationJobStatus | None = None,  # type: ignore[valid-type]
        role: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> IntegrationJobConnection | None:
        p = info.context.principal
        if p is None:
            return None
        wanted = JobStatus(status) if status is not None else None
        try:
            async with info.context.db.read() as session:
                page = await list_jobs(session, p, status=wanted, role=role, first=first, after=after)
                total = await count_jobs(session, p, wanted, role) if wants(info, "totalCount") else None
        except DomainError as e:
            denied_as_null(e)  # customers: null
            return None
        edges = [
            IntegrationJobEdge(node=IntegrationJob.of(j), cursor=encode_cursor("job", j.id))
            for j in page.items
        ]
        return IntegrationJobConnection(
            edges=edges,
            page_info=PageInfo.of(edges, page),
            total_count=total,
        )
