"""Calendar sync's tables: where each checked calendar's change feed stands, and how it is watched.

Re-exported from :mod:`storage.models`, which is where the rest of Slotbot imports models from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, one_of, utcnow

SYNC_MODES = ("poll", "push")


class CalendarSyncState(Base):
    """One calendar's place in its provider's change feed (calendar sync).

    ``cursor`` is the provider's opaque position (Google's ``nextSyncToken``, Graph's
    ``deltaLink``, the local calendar's fingerprints; None: the next read is a full one).
    ``mode`` is ``push`` while a watch channel (Google) or subscription (Graph) is live, else
    ``poll``. ``channel_id`` is the channel's or subscription's id, ``channel_resource`` Google's
    ``resourceId`` (needed to stop a channel), ``channel_secret_hash`` the SHA-256 of the secret
    the provider echoes in each notification (Google's channel token, Graph's ``clientState``),
    so a notification is checked without keeping the secret itself.
    """

    __tablename__ = "calendar_sync_states"
    __table_args__ = (CheckConstraint(one_of("mode", SYNC_MODES), name="mode"),)

    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(8), default="poll")
    channel_id: Mapped[str | None] = mapped_column(String(255), index=True)
    channel_resource: Mapped[str | None] = mapped_column(String(1024))
    channel_secret_hash: Mapped[str | None] = mapped_column(String(64))
    channel_expires_at: Mapped[datetime | None] = mapped_column()
    synced_at: Mapped[datetime | None] = mapped_column()
    next_sync_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    failing_since: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
