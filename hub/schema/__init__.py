"""The GraphQL schema: each area contributes its queries and one module per mutation."""

from __future__ import annotations

from strawberry.tools import merge_types

from hub.schema.audit.queries import AuditQueries
from hub.schema.auth.password_change import PasswordChangeMutation
from hub.schema.auth.queries import AuthQueries
from hub.schema.auth.token_create import TokenCreateMutation
from hub.schema.auth.user_create import UserCreateMutation
from hub.schema.auth.user_password_set import UserPasswordSetMutation
from hub.schema.auth.user_update import UserUpdateMutation
from hub.schema.catalog.category_create import CategoryCreateMutation
from hub.schema.catalog.product_create import ProductCreateMutation
from hub.schema.catalog.product_update import ProductUpdateMutation
from hub.schema.catalog.queries import CatalogQueries
from hub.schema.customers.customer_create import CustomerCreateMutation
from hub.schema.customers.customer_update import CustomerUpdateMutation
from hub.schema.customers.queries import CustomerQueries
from hub.schema.customers.segment_create import SegmentCreateMutations
from hub.schema.integration.job_retry import IntegrationJobRetryMutation
from hub.schema.integration.queries import IntegrationQueries
from hub.schema.inventory.queries import InventoryQueries
from hub.schema.inventory.stock_set import StockSetMutation
from hub.schema.inventory.warehouse_create import WarehouseCreateMutation
from hub.schema.orders.order_approve import OrderApproveMutation
from hub.schema.orders.order_cancel import OrderCancelMutation
from hub.schema.orders.order_create import OrderCreateMutation
from hub.schema.orders.order_reject import OrderRejectMutation
from hub.schema.orders.queries import OrderQueries
from hub.schema.outbox.dead_event_retry import DeadEventRetryMutation
from hub.schema.outbox.queries import OutboxQueries
from hub.schema.pricing.customer_prices import CustomerPriceMutations
from hub.schema.pricing.order_tiers import OrderAmountTiersSetMutation
from hub.schema.pricing.price_lists import PriceListMutations
from hub.schema.pricing.promotions import PromotionMutations
from hub.schema.pricing.queries import PricingQueries
from hub.schema.pricing.visibility import VisibilityRuleSetMutation

Query = merge_types(
    "Query",
    (
        AuthQueries,
        CatalogQueries,
        OrderQueries,
        CustomerQueries,
        InventoryQueries,
        IntegrationQueries,
        AuditQueries,
        OutboxQueries,
        PricingQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        TokenCreateMutation,
        UserCreateMutation,
        UserUpdateMutation,
        UserPasswordSetMutation,
        PasswordChangeMutation,
        CategoryCreateMutation,
        ProductCreateMutation,
        ProductUpdateMutation,
        CustomerCreateMutation,
        CustomerUpdateMutation,
        SegmentCreateMutations,
        WarehouseCreateMutation,
        StockSetMutation,
        OrderCreateMutation,
        OrderCancelMutation,
        OrderApproveMutation,
        OrderRejectMutation,
        IntegrationJobRetryMutation,
        DeadEventRetryMutation,
        PriceListMutations,
        CustomerPriceMutations,
        OrderAmountTiersSetMutation,
        PromotionMutations,
        VisibilityRuleSetMutation,
    ),
)

__all__ = ["Mutation", "Query"]

Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Reads. Anonymous callers get null for everything but `me`; customer users see only "
    "their own customer's data."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Writes. Each answers a payload with `errors`; when `errors` is non-empty nothing was "
    "written. Anonymous callers get null for everything but `tokenCreate`."
)
