"""Imports every area's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from hub.domain.audit.models import AuditEntry
from hub.domain.auth.models import Role, User
from hub.domain.base import Base
from hub.domain.catalog.models import Category, Product
from hub.domain.catalog.price_rules import (
    CustomerPrice,
    OrderAmountTier,
    PriceList,
    PriceListItem,
    Promotion,
    PromotionUsage,
    VisibilityRule,
)
from hub.domain.customers.models import Customer, CustomerGroup, Region, UserRegion
from hub.domain.integration.models import Binding, InboundEvent, IntegrationJob, StockMark
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.orders.models import (
    ApprovalStep,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
)
from hub.domain.outbox.models import OutboxEvent, ProcessedEvent

__all__ = [
    "ApprovalStep",
    "AuditEntry",
    "Base",
    "Binding",
    "Category",
    "Customer",
    "CustomerGroup",
    "CustomerPrice",
    "IdempotencyRecord",
    "InboundEvent",
    "IntegrationJob",
    "Order",
    "OrderAmountTier",
    "OrderEvent",
    "OrderLine",
    "OutboxEvent",
    "PriceList",
    "PriceListItem",
    "ProcessedEvent",
    "Product",
    "Promotion",
    "PromotionUsage",
    "Region",
    "Reservation",
    "Role",
    "Stock",
    "StockMark",
    "User",
    "UserRegion",
    "VisibilityRule",
    "Warehouse",
]
