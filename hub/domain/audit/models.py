"""The audit trail: one entry per staff mutation that wrote something (who, what, when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.domain.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """``action`` is the mutation's name (``productCreate``), ``target`` the GraphQL id of the
    object it created or changed. The actor's e-mail is kept as it was, so an entry still says
    who it was after the user is deleted."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_email: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
