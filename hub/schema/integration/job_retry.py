from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.integration.services import retry_job
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, decode_id, errors_of
from hub.schema.integration.types import IntegrationJob


@strawberry.type(description="The result of integrationJobRetry.")
class IntegrationJobPayload:
    job: IntegrationJob | None = strawberry.field(description="The job as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class IntegrationJobRetryMutation:
    @strawberry.mutation(
        description="Run a FAILED integration job again with a fresh set of attempts, once its "
        "cause is fixed (ADMIN). The peer still sees each document once: a push whose document "
        "exists is not created again."
    )
    async def integration_job_retry(self, info: AppInfo, id: strawberry.ID) -> IntegrationJobPayload | None:
        p = info.context.principal
        if p is None:
            return None
        pk = decode_id("IntegrationJob", id)
        try:
            if pk is None:
                raise DomainError.not_found("Integration job", "id")
            async with info.context.db.write() as session:
                job = IntegrationJob.of(await retry_job(session, p, pk))
                await audit(info, session, job.id)
        except DomainError as e:
            return IntegrationJobPayload(job=None, errors=errors_of(e))
        return IntegrationJobPayload(job=job, errors=[])
