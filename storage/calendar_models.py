"""The calendar side of the schema: connected accounts, their calendars, local events, feed copies.

Part of the one schema (``storage.base.Base``); every name is re-exported by ``storage.models``,
which is where the rest of Slotbot imports models from.

* at most one default calendar per user: partial unique index ``uq_calendars_one_default``, and a
  calendar's ``user_id`` must match its connection's (composite foreign key); at most one tasks
  calendar (``holds_tasks``, the "Slotbot tasks" calendar Slotbot made): ``uq_calendars_one_tasks``;
* an ICS feed connection (provider ``feed``) keeps its last good copy in ``feed_states``, one row
  per connection; the feed's address itself is a secret and lives in the sealed credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import CALENDAR_STATUSES, CONNECTION_STATUSES, Base, one_of, utcnow

if TYPE_CHECKING:
    from storage.models import User


class CalendarConnection(Base):
    """One connected calendar account (Google, Microsoft 365, Exchange, local...)."""

    __tablename__ = "calendar_connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider", "account_email", name="uq_connection_account"),
        UniqueConstraint("id", "user_id", name="uq_connection_id_user"),
        CheckConstraint(one_of("status", CONNECTION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    account_email: Mapped[str] = mapped_column(String(320))
    # Sealed with storage.crypto.SecretBox (purpose "connection.credentials"); never plaintext.
    credentials: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None] = mapped_column()
    # When the host was last told about the current incident (None: not yet / no incident).
    incident_notified_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="connections")
    calendars: Mapped[list[Calendar]] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True
    )


class Calendar(Base):
    """A calendar of a connection: checked for conflicts and/or the default for bookings."""

    __tablename__ = "calendars"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id", name="uq_calendar_external"),
        ForeignKeyConstraint(
            ["connection_id", "user_id"],
            ["calendar_connections.id", "calendar_connections.user_id"],
            ondelete="CASCADE",
            name="fk_calendars_connection_user",
        ),
        Index(
            "uq_calendars_one_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
        Index(
            "uq_calendars_one_tasks",
            "user_id",
            unique=True,
            sqlite_where=text("holds_tasks"),
            postgresql_where=text("holds_tasks"),
        ),
        CheckConstraint(one_of("status", CALENDAR_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    external_id: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(255))
    access_role: Mapped[str] = mapped_column(String(32))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    checks_conflicts: Mapped[bool] = mapped_column(Boolean, default=True)
    # The "Slotbot tasks" calendar Slotbot made for the host's tasks (never checked for conflicts).
    holds_tasks: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)

    connection: Mapped[CalendarConnection] = relationship(back_populates="calendars")


class LocalEvent(Base):
    """An event of a local calendar (provider ``local``), kept as iCalendar text.

    The demo host's calendar lives here: seeded from a bundled .ics, and bookings land here.
    """

    __tablename__ = "local_events"
    __table_args__ = (UniqueConstraint("calendar_id", "uid", name="uq_local_event_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("calendars.id", ondelete="CASCADE"), index=True
    )
    uid: Mapped[str] = mapped_column(String(255))
    ical: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedState(Base):
    """The last good copy of an ICS feed connection (provider ``feed``) and how fetching it goes.

    ``body`` is the iCalendar text as last fetched (``body_hash`` its SHA-256, so readers reuse a
    parsed copy without loading it); ``etag`` and ``last_modified`` are the server's validators
    for a conditional GET; ``fetched_at`` is when the server last gave (or confirmed, 304) the
    copy; ``failing_since`` is when the current run of failures began (None: the last fetch
    worked). ``free_as_busy`` counts events shown as free as busy (holiday and team feeds).
    """

    __tablename__ = "feed_states"

    connection_id: Mapped[int] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    fetched_at: Mapped[datetime | None] = mapped_column()
    checked_at: Mapped[datetime | None] = mapped_column()
    failing_since: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    next_refresh_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    free_as_busy: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
