"""booking sequence (iCalendar SEQUENCE for reschedules and cancellations) and event version

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite keeps the table (and its overlap triggers) as it is.
    op.add_column("bookings", sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
    op.add_column("bookings", sa.Column("event_sequence", sa.Integer(), nullable=True))
    op.execute("UPDATE bookings SET event_sequence = 0 WHERE external_event_id IS NOT NULL")


def downgrade() -> None:
    op.drop_column("bookings", "event_sequence")
    op.drop_column("bookings", "sequence")
