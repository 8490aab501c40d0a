"""visibilityRuleSet: a customer group's or a customer's allow or deny list."""

from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pricing.management import Target, set_visibility_rules
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.pricing.queries import pk
from hub.schema.pricing.types import VisibilityMode, VisibilityRule


@strawberry.input(
    description="The whole ALLOW or DENY list of a customer group or a customer (give exactly one)."
)
class VisibilityRuleSetInput:
    customer_group_id: strawberry.ID | None = strawberry.field(
        default=None, description="The customer group."
    )
    customer_id: strawberry.ID | None = strawberry.field(default=None, description="The customer.")
    mode: VisibilityMode = strawberry.field(description="Which list: ALLOW or DENY.")
    category_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Categories the list names."
    )
    skus: list[str] = strawberry.field(default_factory=list, description="Products the list names.")


@strawberry.type(description="The result of visibilityRuleSet.")
class VisibilityRuleSetPayload:
    visibility_rules: list[VisibilityRule] | None = strawberry.field(
        description="All the target's rules now (both modes)."
    )
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class VisibilityRuleSetMutation:
    @strawberry.mutation(
        description="Replace a customer group's or a customer's rules of one mode with these "
        "categories and SKUs (both empty: clears that mode; the other mode stays) "
        "(SALES_MANAGER, ADMIN)."
    )
    async def visibility_rule_set(
        self, info: AppInfo, input: VisibilityRuleSetInput
    ) -> VisibilityRuleSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        target = Target(pk("CustomerGroup", input.customer_group_id), pk("Customer", input.customer_id))
        try:
            async with info.context.db.write() as session:
                rows = await set_visibility_rules(
                    session,
                    p,
                    target,
                    input.mode,
                    category_ids=[pk("Category", i) or 0 for i in input.category_ids],
                    skus=input.skus,
                )
                kind, key = (
                    ("CustomerGroup", target.customer_group_id)
                    if target.customer_group_id is not None
                    else ("Customer", target.customer_id or 0)
                )
                await audit(info, session, encode_id(kind, key))
        except DomainError as e:
            return VisibilityRuleSetPayload(visibility_rules=None, errors=errors_of(e))
        return VisibilityRuleSetPayload(visibility_rules=[VisibilityRule.of(v) for v in rows], errors=[])
