"""teams conversations: where the Teams bot can send later (conversation references)

Revision ID: 0006
Revises: 0005

One row per Teams conversation the bot was installed in or written to (personal chats, channels,
group chats), kept fresh from every activity: serviceUrl, conversation kind, bot, user, AAD and
team ids as JSON. ``user_id`` is set for personal (1:1) chats, where notices are delivered.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "teams_conversations",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "conversation_id", name=op.f("pk_teams_conversations")),
    )
    with op.batch_alter_table("teams_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_conversations_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("teams_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_conversations_user_id"))

    op.drop_table("teams_conversations")
