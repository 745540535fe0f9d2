"""calendar sync: each checked calendar's place in its change feed, and the host's sync switch

Revision ID: 0009
Revises: 0008

``calendar_sync_states``: one row per calendar being synced (its provider's cursor, push or
poll, the watch channel or subscription and the hash of its secret, when it was synced and is
due next, failures). ``users.calendar_sync``: the dashboard's "Calendar sync" switch, on by default.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_sync_states",
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("channel_id", sa.String(length=255), nullable=True),
        sa.Column("channel_resource", sa.String(length=1024), nullable=True),
        sa.Column("channel_secret_hash", sa.String(length=64), nullable=True),
        sa.Column("channel_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('poll', 'push')", name=op.f("ck_calendar_sync_states_mode")),
        sa.ForeignKeyConstraint(
            ["calendar_id"], ["calendars.id"],
            name=op.f("fk_calendar_sync_states_calendar_id_calendars"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("calendar_id", name=op.f("pk_calendar_sync_states")),
    )
    with op.batch_alter_table("calendar_sync_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_sync_states_channel_id"), ["channel_id"])
        batch_op.create_index(batch_op.f("ix_calendar_sync_states_next_sync_at"), ["next_sync_at"])
    # A plain ADD COLUMN: SQLite keeps the table as it is.
    op.add_column("users", sa.Column("calendar_sync", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of ``users`` would drop the table with foreign
    # keys on, and its ON DELETE CASCADE would empty every table below it.
    op.execute(sa.text("ALTER TABLE users DROP COLUMN calendar_sync"))
    with op.batch_alter_table("calendar_sync_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_sync_states_next_sync_at"))
        batch_op.drop_index(batch_op.f("ix_calendar_sync_states_channel_id"))
    op.drop_table("calendar_sync_states")
