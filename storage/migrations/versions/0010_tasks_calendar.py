"""tasks in a calendar: the host's switch, the tasks calendar, each task's event

Revision ID: 0010
Revises: 0009

``users.tasks_in_calendar``: the Tasks page's "Show my open tasks in my calendar" switch, off by
default. ``calendars.holds_tasks``: the "Slotbot tasks" calendar Slotbot made in the account of
the host's default calendar (at most one per host: ``uq_calendars_one_tasks``). ``tasks.version``
counts a task's changes; ``tasks.event_id`` / ``tasks.event_version`` are its event there and
the version it was written for.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite keeps the tables as they are.
    op.add_column("users", sa.Column("tasks_in_calendar", sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.add_column("calendars", sa.Column("holds_tasks", sa.Boolean(), server_default=sa.false(),
                                         nullable=False))
    op.add_column("tasks", sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("tasks", sa.Column("event_id", sa.String(length=1024), nullable=True))
    op.add_column("tasks", sa.Column("event_version", sa.Integer(), nullable=True))
    op.create_index("uq_calendars_one_tasks", "calendars", ["user_id"], unique=True,
                    sqlite_where=sa.text("holds_tasks"), postgresql_where=sa.text("holds_tasks"))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+): a batch copy of ``users`` or ``calendars`` would drop the
    # table with foreign keys on, and its ON DELETE CASCADE would empty the tables below it.
    op.drop_index("uq_calendars_one_tasks", table_name="calendars",
                  sqlite_where=sa.text("holds_tasks"), postgresql_where=sa.text("holds_tasks"))
    for table, column in (("tasks", "event_version"), ("tasks", "event_id"), ("tasks", "version"),
                          ("calendars", "holds_tasks"), ("users", "tasks_in_calendar")):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
