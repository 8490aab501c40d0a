from __future__ import annotations

import strawberry

from hub.domain.auth.services import authenticate, principal_of
from hub.domain.errors import DomainError
from hub.schema.auth.types import User
from hub.schema.common import AppInfo, Error, errors_of


@strawberry.type(description="The result of logging in.")
class TokenCreatePayload:
    token: str | None = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; expires after the configured time."
    )
    user: User | None = strawberry.field(description="Who logged in.")
    errors: list[Error] = strawberry.field(description="Why logging in failed (code INVALID).")


@strawberry.type
class TokenCreateMutation:
    @strawberry.mutation(description="Log in with email and password and get an access token.")
    async def token_create(self, info: AppInfo, email: str, password: str) -> TokenCreatePayload:
        ctx = info.context
        try:
            async with ctx.db.read() as session:
                user = await authenticate(session, email, password, ctx.app.throttle)
        except DomainError as e:
            return TokenCreatePayload(token=None, user=None, errors=errors_of(e))
        token = ctx.app.tokens.issue(principal_of(user))
        return TokenCreatePayload(token=token, user=User.of(user), errors=[])
