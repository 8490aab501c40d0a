from __future__ import annotations

import strawberry

from hub.domain.catalog.services import create_category
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.catalog.types import Category
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of


@strawberry.input(description="A new category.")
class CategoryCreateInput:
    name: str = strawberry.field(description="Unique display name.")
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="Parent category.")


@strawberry.type(description="The result of categoryCreate.")
class CategoryCreatePayload:
    category: Category | None = strawberry.field(description="The new category.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class CategoryCreateMutation:
    @strawberry.mutation(description="Add a product category (ADMIN).")
    async def category_create(
        self, info: AppInfo, input: CategoryCreateInput
    ) -> CategoryCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        parent = None if input.parent_id is None else (decode_id("Category", input.parent_id) or 0)
        try:
            async with info.context.db.write() as session:
                c = await create_category(session, p, name=input.name, parent_id=parent)
                await audit(info, session, encode_id("Category", c.id))
        except DomainError as e:
            return CategoryCreatePayload(category=None, errors=errors_of(e))
        return CategoryCreatePayload(
            category=Category(id=encode_id("Category", c.id), name=c.name), errors=[]
        )
