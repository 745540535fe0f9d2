"""booking sequence (iCalendar SEQUENCE for reschedules and cancellations)

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


def downgrade() -> None:
    op.drop_column("bookings", "sequence")
