"""outbox: dead letters (failures, the last error, dead_at) and their index

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.domain.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "handled_at IS NULL AND dead_at IS NULL"
_DEAD = "dead_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("failed_at", hub.domain.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("dead_at", hub.domain.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        # The backlog leaves the dead letters out: the partial index follows.
        batch_op.drop_index("ix_outbox_unhandled")
        batch_op.create_index(
            "ix_outbox_unhandled",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text(_LIVE),
            sqlite_where=sa.text(_LIVE),
        )
        batch_op.create_index(
            "ix_outbox_dead",
            ["id"],
            unique=False,
            postgresql_where=sa.text(_DEAD),
            sqlite_where=sa.text(_DEAD),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_dead")
        batch_op.drop_index("ix_outbox_unhandled")
        batch_op.create_index(
            "ix_outbox_unhandled",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("handled_at IS NULL"),
            sqlite_where=sa.text("handled_at IS NULL"),
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("failures")
