"""contacts' details and search text, moved engagements, and the hosts' tasks

Revision ID: 0008
Revises: 0007

Contacts gain a company, a phone number and notes, and ``search_text`` (name, e-mail and company
case-folded in Python, so searching is the same on SQLite and PostgreSQL); existing contacts get
theirs here. A meeting engagement gains ``moved_at`` (its time changed after it was recorded).
``tasks`` holds the hosts' to-dos: a due date and an optional wall time in the host's zone, an
optional contact (set to NULL when the contact is deleted), a done flag.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite keeps the tables as they are.
    op.add_column("contacts", sa.Column("company", sa.String(length=200), server_default="", nullable=False))
    op.add_column("contacts", sa.Column("phone", sa.String(length=64), server_default="", nullable=False))
    op.add_column("contacts", sa.Column("notes", sa.Text(), server_default="", nullable=False))
    op.add_column("contacts", sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    op.add_column("meeting_engagements", sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))
    _fill_search_text()
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_time", sa.Time(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_tasks_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_tasks_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_owner_open_due", ["owner_id", "done", "due_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_contact_id"), ["contact_id"], unique=False)


def _fill_search_text() -> None:
    """Existing contacts' search text, case-folded the way ``storage.contact_models`` does it."""
    bind = op.get_bind()
    contacts = sa.table(
        "contacts", sa.column("id"), sa.column("name"), sa.column("email"), sa.column("search_text")
    )
    rows = bind.execute(sa.select(contacts.c.id, contacts.c.name, contacts.c.email)).all()
    for row in rows:
        text = "\n".join(part.casefold() for part in (row.name, row.email) if part)
        bind.execute(contacts.update().where(contacts.c.id == row.id).values(search_text=text))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_contact_id"))
        batch_op.drop_index("ix_tasks_owner_open_due")
    op.drop_table("tasks")
    with op.batch_alter_table("meeting_engagements", schema=None) as batch_op:
        batch_op.drop_column("moved_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.drop_column("notes")
        batch_op.drop_column("phone")
        batch_op.drop_column("company")
