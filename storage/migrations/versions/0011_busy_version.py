"""busy version: a counter per host of the changes calendar sync saw

Revision ID: 0011
Revises: 0010

``users.busy_version`` goes up whenever calendar sync reads a change in one of the host's
calendars; every process's cached busy time of the host was read at a version, and a newer one
makes it stale, so that cache can live longer while every checked calendar is pushed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite keeps the table as it is.
    op.add_column("users", sa.Column("busy_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a table copy of ``users`` would cascade into every table below.
    op.execute(sa.text("ALTER TABLE users DROP COLUMN busy_version"))
