"""session labels: a user-given name for a session ("laptop", "dashboard"), kept across rotations.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04 00:00:00

Hand-written; kept equal to the models by ``gateway.db.migrate.check``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("label", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("label")
