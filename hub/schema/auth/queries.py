from __future__ import annotations

import strawberry

from hub.schema.auth.types import User
from hub.schema.common import AppInfo, encode_id


@strawberry.type
class AuthQueries:
    @strawberry.field(description="The caller, or null without a valid token.")
    def me(self, info: AppInfo) -> User | None:
        p = info.context.principal
        if p is None:
            return None
        return User(
            id=encode_id("User", p.user_id),
            email=p.email,
            roles=sorted(p.roles),
            customer_id=p.customer_id,
        )
