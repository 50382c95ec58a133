"""selections, saved filters, search history and the local mirror with full-text search (issue 6).

Revision ID: 0007
Revises: 0006
Create Date: 2025-01-07 00:00:00

Hand-written; kept equal to the models by ``gateway.db.migrate.check``. The full-text objects
are raw DDL per engine and skipped by ``alembic check`` (``models.is_unmanaged``):

- PostgreSQL: ``mirror_issues.search_vector``, a STORED generated ``tsvector`` (key and summary
  weighted A, description B), with the GIN index ``ix_mirror_issues_search_vector``;
- SQLite: ``mirror_fts``, an FTS5 external-content table over ``mirror_issues`` (rowid = id),
  kept in sync by three triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Descriptions beyond 200,000 characters are not indexed: a tsvector is capped at 1 MB.
PG_FTS = (
    "ALTER TABLE mirror_issues ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, issue_key), 'A') || "
    "setweight(to_tsvector('english'::regconfig, summary), 'A') || "
    "setweight(to_tsvector('english'::regconfig, left(description, 200000)), 'B')) STORED",
    "CREATE INDEX ix_mirror_issues_search_vector ON mirror_issues USING gin (search_vector)",
)
PG_FTS_DOWN = (
    "DROP INDEX IF EXISTS ix_mirror_issues_search_vector",
    "ALTER TABLE mirror_issues DROP COLUMN IF EXISTS search_vector",
)
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE mirror_fts USING fts5(issue_key, summary, description, "
    "content='mirror_issues', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER mirror_fts_ai AFTER INSERT ON mirror_issues BEGIN "
    "INSERT INTO mirror_fts(rowid, issue_key, summary, description) "
    "VALUES (new.id, new.issue_key, new.summary, new.description); END",
    "CREATE TRIGGER mirror_fts_ad AFTER DELETE ON mirror_issues BEGIN "
    "INSERT INTO mirror_fts(mirror_fts, rowid, issue_key, summary, description) "
    "VALUES ('delete', old.id, old.issue_key, old.summary, old.description); END",
    "CREATE TRIGGER mirror_fts_au AFTER UPDATE OF issue_key, summary, description "
    "ON mirror_issues BEGIN "
    "INSERT INTO mirror_fts(mirror_fts, rowid, issue_key, summary, description) "
    "VALUES ('delete', old.id, old.issue_key, old.summary, old.description); "
    "INSERT INTO mirror_fts(rowid, issue_key, summary, description) "
    "VALUES (new.id, new.issue_key, new.summary, new.description); END",
)
SQLITE_FTS_DOWN = (
    "DROP TRIGGER IF EXISTS mirror_fts_au",
    "DROP TRIGGER IF EXISTS mirror_fts_ad",
    "DROP TRIGGER IF EXISTS mirror_fts_ai",
    "DROP TABLE IF EXISTS mirror_fts",
)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def _owned(table: str) -> list[sa.Column[str] | sa.ForeignKeyConstraint]:
    """principal_id and site_id columns with their foreign keys."""
    return [
        sa.Column("principal_id", sa.String(length=36), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        _fk(table, "principal_id", "principals"),
        _fk(table, "site_id", "sites"),
    ]


def upgrade() -> None:
    op.create_table(
        "selections",
        sa.Column("id", sa.String(length=36), nullable=False),
        *_owned("selections"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selections")),
    )
    op.create_index("ix_selections_principal_id_site_id", "selections", ["principal_id", "site_id"])
    op.create_table(
        "selection_items",
        sa.Column("selection_id", sa.String(length=36), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["selection_id"],
            ["selections.id"],
            name=op.f("fk_selection_items_selection_id_selections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("selection_id", "issue_key", name=op.f("pk_selection_items")),
    )
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.String(length=36), nullable=False),
        *_owned("saved_filters"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=True),
        sa.Column("jql", sa.Text(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
    )
    op.create_index(
        "ix_saved_filters_site_id_principal_id", "saved_filters", ["site_id", "principal_id"]
    )
    op.create_table(
        "quick_filter_sets",
        sa.Column("id", sa.String(length=36), nullable=False),
        *_owned("quick_filter_sets"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quick_filter_sets")),
    )
    op.create_index(
        "ix_quick_filter_sets_principal_id_site_id",
        "quick_filter_sets",
        ["principal_id", "site_id"],
    )
    op.create_table(
        "filter_usage",
        *_owned("filter_usage"),
        sa.Column("filter_ref", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "principal_id", "site_id", "filter_ref", name=op.f("pk_filter_usage")
        ),
    )
    op.create_table(
        "search_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        *_owned("search_history"),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("query_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('text', 'jql')", name=op.f("ck_search_history_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_history")),
        sa.UniqueConstraint(
            "principal_id",
            "site_id",
            "kind",
            "query_hash",
            name="uq_search_history_principal_id_site_id_kind_query_hash",
        ),
    )
    op.create_index(
        "ix_search_history_principal_id_used_at", "search_history", ["principal_id", "used_at"]
    )
    op.create_table(
        "mirror_sites",
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("sync_account_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_full_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issue_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "state IN ('idle', 'syncing', 'error', 'disabled')",
            name=op.f("ck_mirror_sites_state"),
        ),
        _fk("mirror_sites", "site_id", "sites"),
        _fk("mirror_sites", "sync_account_id", "site_accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_mirror_sites")),
    )
    _create_mirror_issues()


def _create_mirror_issues() -> None:
    op.create_table(
        "mirror_issues",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("issue_id", sa.String(length=32), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("project_key", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=True),
        sa.Column("status_category", sa.String(length=32), nullable=True),
        sa.Column("priority", sa.String(length=255), nullable=True),
        sa.Column("issue_type", sa.String(length=255), nullable=True),
        sa.Column("assignee_id", sa.String(length=128), nullable=True),
        sa.Column("assignee_name", sa.String(length=255), nullable=True),
        sa.Column("reporter_id", sa.String(length=128), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        _fk("mirror_issues", "site_id", "sites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_issues")),
        sa.UniqueConstraint("site_id", "issue_id", name="uq_mirror_issues_site_id_issue_id"),
    )
    for name, columns in (
        ("ix_mirror_issues_site_id_issue_key", ["site_id", "issue_key"]),
        ("ix_mirror_issues_site_id_project_key", ["site_id", "project_key"]),
        ("ix_mirror_issues_site_id_updated", ["site_id", "updated"]),
    ):
        op.create_index(name, "mirror_issues", columns)
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else PG_FTS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_FTS_DOWN if op.get_bind().dialect.name == "sqlite" else PG_FTS_DOWN
    for statement in statements:
        op.execute(statement)
    for index, table in (
        ("ix_mirror_issues_site_id_updated", "mirror_issues"),
        ("ix_mirror_issues_site_id_project_key", "mirror_issues"),
        ("ix_mirror_issues_site_id_issue_key", "mirror_issues"),
        ("ix_search_history_principal_id_used_at", "search_history"),
        ("ix_quick_filter_sets_principal_id_site_id", "quick_filter_sets"),
        ("ix_saved_filters_site_id_principal_id", "saved_filters"),
        ("ix_selections_principal_id_site_id", "selections"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "mirror_issues",
        "mirror_sites",
        "search_history",
        "filter_usage",
        "quick_filter_sets",
        "saved_filters",
        "selection_items",
        "selections",
    ):
        op.drop_table(table)
