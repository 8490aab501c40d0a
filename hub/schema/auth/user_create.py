from __future__ import annotations

import strawberry

from hub.domain.auth.services import create_user
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.auth.types import Role, User
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of


@strawberry.input(description="A new user.")
class UserCreateInput:
    email: str = strawberry.field(description="Login email; stored lower case, unique.")
    password: str = strawberry.field(description="8 to 256 characters.")
    roles: list[Role] = strawberry.field(description="At least one role.")  # type: ignore[valid-type]
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required with the CUSTOMER role, refused (INVALID) without it.",
    )


@strawberry.type(description="The result of userCreate.")
class UserCreatePayload:
    user: User | None = strawberry.field(description="The new user.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class UserCreateMutation:
    @strawberry.mutation(description="Create a staff or customer user (ADMIN).")
    async def user_create(self, info: AppInfo, input: UserCreateInput) -> UserCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        # An id that is not a customer id becomes 0, which no customer has: NOT_FOUND.
        customer_id = None
        if input.customer_id is not None:
            customer_id = decode_id("Customer", input.customer_id) or 0
        try:
            async with info.context.db.write() as session:
                user = await create_user(
                    session,
                    p,
                    email=input.email,
                    password=input.password,
                    roles=list(input.roles),
                    customer_id=customer_id,
                )
                await audit(info, session, encode_id("User", user.id))
        except DomainError as e:
            return UserCreatePayload(user=None, errors=errors_of(e))
        return UserCreatePayload(user=User.of(user), errors=[])
