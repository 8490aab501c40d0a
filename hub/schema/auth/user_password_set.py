from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.auth.services import set_password
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.auth.types import User
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of


@strawberry.type(description="The result of userPasswordSet.")
class UserPasswordSetPayload:
    user: User | None = strawberry.field(description="The user whose password was set.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class UserPasswordSetMutation:
    @strawberry.mutation(
        description="Set a user's password (ADMIN), e.g. when it forgot its own. Ends all the "
        "user's sessions: its tokens stop working at once and it logs in with the new password."
    )
    async def user_password_set(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user's id.")],
        password: Annotated[str, strawberry.argument(description="The new password, 8 to 256 characters.")],
    ) -> UserPasswordSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                user = await set_password(session, p, decode_id("User", id) or 0, password)
                await audit(info, session, encode_id("User", user.id))  # never the password
        except DomainError as e:
            return UserPasswordSetPayload(user=None, errors=errors_of(e))
        info.context.app.users.forget(user.id)  # this process sees the change at once
        return UserPasswordSetPayload(user=User.of(user), errors=[])
