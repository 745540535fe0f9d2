"""feed states: the last good copy of each ICS feed connection and how fetching it goes

Revision ID: 0007
Revises: 0006

One row per connection of provider ``feed``: the iCalendar text last fetched and its SHA-256, the
server's ETag and Last-Modified for a conditional GET, when it was fetched, checked and began
failing, the last error, when to refresh it next, and the per-feed switch that counts events
shown as free as busy. The feed's address is a secret: it stays in the connection's sealed
credentials, never here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_states",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=1024), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_refresh_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("free_as_busy", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["calendar_connections.id"],
            name=op.f("fk_feed_states_connection_id_calendar_connections"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_feed_states")),
    )
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_states_next_refresh_at"), ["next_refresh_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feed_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_states_next_refresh_at"))

    op.drop_table("feed_states")
