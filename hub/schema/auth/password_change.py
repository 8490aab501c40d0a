from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.auth.services import change_password
from hub.domain.auth.sessions import issue_time
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of


@strawberry.type(description="The result of passwordChange.")
class PasswordChangePayload:
    token: str | None = strawberry.field(
        description="A new access token for the caller: every token issued before the change, "
        "the one that sent this request included, stops working. Send this one from now on."
    )
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class PasswordChangeMutation:
    @strawberry.mutation(
        description="Change the caller's own password. Ends the caller's other sessions (every "
        "token issued before) and answers a fresh token."
    )
    async def password_change(
        self,
        info: AppInfo,
        old_password: Annotated[str, strawberry.argument(description="The current password.")],
        new_password: Annotated[
            str, strawberry.argument(description="The new password, 8 to 256 characters.")
        ],
    ) -> PasswordChangePayload | None:
        ctx = info.context
        p = ctx.principal
        if p is None:
            return None
        try:
            async with ctx.db.write() as session:
                user = await change_password(
                    session, p, old_password, new_password, ctx.app.passwords, ctx.client_address
                )
                # staff only (audit skips customers); never the passwords
                await audit(info, session, encode_id("User", user.id))
        except DomainError as e:
            return PasswordChangePayload(token=None, errors=errors_of(e))
        ctx.app.users.forget(user.id)  # this process sees the change at once
        return PasswordChangePayload(token=ctx.app.tokens.issue(p, issue_time(user)), errors=[])
