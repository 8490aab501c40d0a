from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.outbox.dead import retry_dead
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, decode_id, errors_of


@strawberry.type(description="The result of deadEventRetry.")
class DeadEventRetryPayload:
    id: strawberry.ID | None = strawberry.field(
        description="The event sent back to the relay; null when nothing changed."
    )
    errors: list[Error] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class DeadEventRetryMutation:
    @strawberry.mutation(
        description="Send a dead letter back to the outbox relay once its cause is fixed "
        "(ADMIN): it is published again with a fresh count of failures, and each handler that "
        "has not run for it yet runs; one that did run is not run twice."
    )
    async def dead_event_retry(self, info: AppInfo, id: strawberry.ID) -> DeadEventRetryPayload | None:
        p = info.context.principal
        if p is None:
            return None
        pk = decode_id("DeadEvent", id)
        try:
            if pk is None:
                raise DomainError.not_found("Dead event", "id")
            async with info.context.db.write() as session:
                await retry_dead(session, p, pk)
                await audit(info, session, id)
        except DomainError as e:
            return DeadEventRetryPayload(id=None, errors=errors_of(e))
        return DeadEventRetryPayload(id=id, errors=[])
