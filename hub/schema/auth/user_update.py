from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.auth.models import Role as DomainRole
from hub.domain.auth.services import KEEP, Keep, update_user
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.auth.types import Role, User
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of


@strawberry.input(description="What to change about a user; an omitted field is left as it is.")
class UserUpdateInput:
    roles: list[Role] | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET,
        description="The user's roles from now on (at least one). Take effect at the user's next "
        "request, also for tokens already issued. An admin cannot remove its own ADMIN role. "
        "Omitted or null: unchanged.",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The customer a CUSTOMER user acts for; required with the CUSTOMER role and "
        "refused (INVALID) without it; null removes it (when the user becomes staff); omitted: "
        "unchanged.",
    )
    region_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The user's sales regions from now on (staff users only: INVALID for a "
        "CUSTOMER user; an unknown region is NOT_FOUND); an empty list removes them. A SALES_MANAGER "
        "sees the reports of its regions. Omitted or null: unchanged.",
    )
    active: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="False deactivates the user: it can no longer log in and its tokens stop "
        "working at once (they stay invalid after a reactivation). An admin cannot deactivate "
        "itself. Omitted or null: unchanged.",
    )


def _given(value: object) -> bool:
    return value is not strawberry.UNSET and value is not None


@strawberry.type(description="The result of userUpdate.")
class UserUpdatePayload:
    user: User | None = strawberry.field(description="The user as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class UserUpdateMutation:
    @strawberry.mutation(description="Change a user's roles, customer or active flag (ADMIN).")
    async def user_update(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The user's id.")],
        input: Annotated[UserUpdateInput, strawberry.argument(description="What to change.")],
    ) -> UserUpdatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        # null is the same as omitted, except for customerId (null removes the customer). An id
        # of anything but a user (customer) becomes 0, which none has: NOT_FOUND.
        roles: list[DomainRole] | Keep = KEEP if not _given(input.roles) else list(input.roles or [])
        customer_id: int | None | Keep = KEEP
        if input.customer_id is not strawberry.UNSET:
            customer_id = None if input.customer_id is None else decode_id("Customer", input.customer_id) or 0
        region_ids: list[int] | Keep = KEEP
        if _given(input.region_ids):
            region_ids = [decode_id("Region", r) or 0 for r in input.region_ids or []]
        active: bool | Keep = KEEP if not _given(input.active) else bool(input.active)
        try:
            async with info.context.db.write() as session:
                user = await update_user(
                    session,
                    p,
                    decode_id("User", id) or 0,
                    roles=roles,
                    customer_id=customer_id,
                    region_ids=region_ids,
                    active=active,
                )
                await audit(info, session, encode_id("User", user.id))
        except DomainError as e:
            return UserUpdatePayload(user=None, errors=errors_of(e))
        info.context.app.users.forget(user.id)  # this process sees the change at once
        return UserUpdatePayload(user=User.of(user), errors=[])
