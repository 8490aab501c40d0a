from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.domain.auth.models import Role as DomainRole
from hub.domain.auth.models import User as UserModel
from hub.schema.common import AppInfo, encode_id

if TYPE_CHECKING:
    from hub.schema.customers.types import Customer

Role = strawberry.enum(
    DomainRole,
    name="Role",
    description="What a user may do. CUSTOMER users are bound to one customer account.",
)


@strawberry.type(name="User", description="A person who logs in: a customer's buyer or staff.")
class User:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    email: str = strawberry.field(description="Login email, lower case.")
    roles: list[Role] = strawberry.field(description="The user's roles.")  # type: ignore[valid-type]
    customer_id: strawberry.Private[int | None]
    active: bool = strawberry.field(
        default=True, description="False once deactivated: it cannot log in and has no valid token."
    )
    # Set when the caller is not yet authenticated but may see it (the tokenCreate answer).
    known_customer: strawberry.Private[object | None] = None

    @strawberry.field(description="The customer account a CUSTOMER user acts for; null for staff.")
    async def customer(
        self, info: AppInfo
    ) -> Annotated[Customer, strawberry.lazy("hub.schema.customers.types")] | None:
        from hub.schema.customers.loaders import customer_row
        from hub.schema.customers.types import Customer

        if self.known_customer is not None:
            return self.known_customer  # type: ignore[return-value]
        principal = info.context.principal
        if self.customer_id is None or principal is None:
            return None
        row = await customer_row(info, self.customer_id)
        return None if row is None else Customer.of(row, info.context.currency)

    @classmethod
    def of(cls, user: UserModel) -> User:
        return cls(
            id=encode_id("User", user.id),
            email=user.email,
            roles=sorted(user.roles),
            customer_id=user.customer_id,
            active=user.active,
        )
