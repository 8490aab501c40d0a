from __future__ import annotations

import strawberry

from hub.domain.auth.services import authenticate, principal_of
from hub.domain.auth.sessions import issue_time
from hub.domain.customers.services import get_customer
from hub.domain.errors import DomainError
from hub.schema.auth.types import User
from hub.schema.common import AppInfo, Error, errors_of
from hub.schema.customers.types import Customer


@strawberry.type(description="The result of logging in.")
class TokenCreatePayload:
    token: str | None = strawberry.field(
        description="Send as `Authorization: Bearer <token>`; expires after the configured time."
    )
    user: User | None = strawberry.field(description="Who logged in.")
    errors: list[Error] = strawberry.field(
        description="Why logging in failed: INVALID (wrong email or password, or too many failed "
        "attempts), or UNAVAILABLE (the server is busy checking other passwords: nothing was "
        "checked and nothing counted; retry in a second)."
    )


@strawberry.type
class TokenCreateMutation:
    @strawberry.mutation(description="Log in with email and password and get an access token.")
    async def token_create(self, info: AppInfo, email: str, password: str) -> TokenCreatePayload:
        ctx = info.context
        try:
            async with ctx.db.read() as session:
                user = await authenticate(session, email, password, ctx.app.passwords, ctx.client_address)
                principal = principal_of(user)
                customer = (
                    None
                    if user.customer_id is None
                    else await get_customer(session, principal, user.customer_id)
                )
        except DomainError as e:
            return TokenCreatePayload(token=None, user=None, errors=errors_of(e))
        answer = User.of(user)
        if customer is not None:
            answer.known_customer = Customer.of(customer, ctx.currency)
        token = ctx.app.tokens.issue(principal, issue_time(user))
        return TokenCreatePayload(token=token, user=answer, errors=[])
