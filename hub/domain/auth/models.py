from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    CUSTOMER = "CUSTOMER"
    SALES = "SALES"
    SALES_MANAGER = "SALES_MANAGER"
    FINANCE = "FINANCE"
    WAREHOUSE = "WAREHOUSE"
    DIRECTOR = "DIRECTOR"
    ADMIN = "ADMIN"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Comma-separated Role values, e.g. "SALES,SALES_MANAGER".
    roles_text: Mapped[str] = mapped_column("roles", String(200))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Tokens issued before this moment no longer count (a password change, a forced logout).
    tokens_valid_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles_text.split(",") if r)
