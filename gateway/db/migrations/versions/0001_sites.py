"""sites: the JIRA sites the gateway talks to.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Hand-written; kept equal to ``gateway.db.models.Site`` by ``gateway.db.migrate.check``.
Migrations spell column types with plain ``sa`` types (``sa.DateTime(timezone=True)`` for
``UTCDateTime``), so they never import the models and stay valid when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("flavor", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "flavor IS NULL OR flavor IN ('cloud', 'server')",
            name=op.f("ck_sites_flavor"),
        ),
        sa.CheckConstraint(
            "base_url NOT LIKE '%/'",
            name=op.f("ck_sites_base_url_no_trailing_slash"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("base_url", name=op.f("uq_sites_base_url")),
    )


def downgrade() -> None:
    op.drop_table("sites")
