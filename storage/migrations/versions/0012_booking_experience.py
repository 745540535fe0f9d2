"""booking experience: page locations, reminders and colour; the visitor's language; host photos

Revision ID: 0012
Revises: 0011

``scheduling_pages``: ``location_kind`` (see :class:`bot.pages.location.LocationKind`; empty: none)
and ``location_value`` (the link, phone number or address it needs); ``reminders`` (minutes before
the meeting an e-mail reminder goes to the visitor, e.g. ``[1440, 60]``) and ``remind_host`` (the
host gets them too, by e-mail and chat); ``colour`` (``#rrggbb``, the page's accent; NULL: the
default). ``bookings``: ``language`` (the visitor's language, for every message they are sent),
``location`` (where the meeting is, as told to the visitor) and ``join_url`` (its video link, from
the calendar provider or the page), ``cancel_reason`` (what the visitor wrote when cancelling).
``users.photo_url``: the host's picture (from chat), shown on their pages.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: tuple[tuple[str, sa.Column[object]], ...] = (
    ("scheduling_pages", sa.Column("location_kind", sa.String(16), nullable=False, server_default="")),
    ("scheduling_pages", sa.Column("location_value", sa.String(1024), nullable=False, server_default="")),
    ("scheduling_pages", sa.Column("reminders", sa.JSON(), nullable=False, server_default="[]")),
    ("scheduling_pages", sa.Column("remind_host", sa.Boolean(), nullable=False, server_default=sa.false())),
    ("scheduling_pages", sa.Column("colour", sa.String(7), nullable=True)),
    ("bookings", sa.Column("language", sa.String(16), nullable=True)),
    ("bookings", sa.Column("location", sa.Text(), nullable=False, server_default="")),
    ("bookings", sa.Column("join_url", sa.String(2048), nullable=True)),
    ("bookings", sa.Column("cancel_reason", sa.Text(), nullable=False, server_default="")),
    ("users", sa.Column("photo_url", sa.String(1024), nullable=True)),
)


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite keeps the tables as they are.
    for table, column in _COLUMNS:
        op.add_column(table, column)


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite 3.35+): a batch copy would cascade into the tables below.
    for table, column in reversed(_COLUMNS):
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column.name}"))
