"""event sources: how each site's issue changes reach the gateway (webhook or polling, issue 7).

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-05 00:00:00

Hand-written; kept equal to the models by ``gateway.db.migrate.check``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_event_sources",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("webhook_ids", sa.JSON(), nullable=False),
        sa.Column("callback_url", sa.String(length=1024), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('admin', 'dynamic', 'polling')", name=op.f("ck_site_event_sources_kind")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["site_accounts.id"],
            name=op.f("fk_site_event_sources_account_id_site_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_event_sources_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_event_sources")),
    )


def downgrade() -> None:
    op.drop_table("site_event_sources")
