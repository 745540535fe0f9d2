"""SQLAlchemy 2 typed models: the whole schema, importable from this one module.

The models live in three modules on one declarative base (``storage/base.py``): this one (users,
chat identities, pages, bookings, the outbox, sign-in), ``storage/calendar_models.py``
(connections, calendars, local events, ICS feed copies) and ``storage/contact_models.py``
(contacts, meeting engagements, tasks), whose names are re-exported here, so
``from storage.models import Calendar`` works everywhere.

Invariants the database itself guards (see also the migrations, which add what SQLAlchemy's
metadata cannot express portably):

* one user per chat identity: ``uq_chat_identity``;
* at most one default calendar per user: partial unique index ``uq_calendars_one_default``, and a
  calendar's ``user_id`` must match its connection's (composite foreign key);
* slugs unique across every domain: ``users.slug`` is globally unique, page slugs unique per owner;
* no two active bookings of one host overlap: a PostgreSQL exclusion constraint
  (``bookings_no_overlap``, gist over ``tstzrange``) or SQLite triggers that abort the write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import (
    BOOKING_STATUSES,
    CALENDAR_STATUSES,
    CHANNELS,
    CONNECTION_STATUSES,
    OUTBOX_STATUSES,
    Base,
    one_of,
    utcnow,
)
from storage.calendar_models import Calendar, CalendarConnection, FeedState, LocalEvent
from storage.contact_models import (
    ENGAGEMENT_SOURCES,
    ENGAGEMENT_STATUSES,
    Contact,
    MeetingEngagement,
    Task,
)
from storage.sync_models import CalendarSyncState

__all__ = [
    "BOOKING_STATUSES",
    "CALENDAR_STATUSES",
    "CHANNELS",
    "CONNECTION_STATUSES",
    "ENGAGEMENT_SOURCES",
    "ENGAGEMENT_STATUSES",
    "OUTBOX_STATUSES",
    "Base",
    "Booking",
    "BookingAttempt",
    "Calendar",
    "CalendarConnection",
    "CalendarSyncState",
    "ChatIdentity",
    "Contact",
    "CustomDomain",
    "FeedState",
    "LocalEvent",
    "LoginToken",
    "MeetingEngagement",
    "OAuthState",
    "OutboxMessage",
    "SchedulingPage",
    "Task",
    "TeamsConversation",
    "User",
    "WebSession",
    "utcnow",
]


class CustomDomain(Base):
    """A host name (besides the main one) that serves scheduling pages."""

    __tablename__ = "custom_domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A Slotbot user: a host with calendars, pages and chat identities."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # Globally unique: /meetings/<slug> is the same page on every domain.
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("custom_domains.id", ondelete="SET NULL")
    )
    pages_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Calendar sync: events with known contacts become meetings on their records (S12).
    calendar_sync: Mapped[bool] = mapped_column(Boolean, default=True)
    # Counts changes calendar sync saw in the host's calendars: every process's cached busy time
    # of the host is read at a version, and a newer one makes it stale (bot/scheduling/scheduler.py).
    busy_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "Show my open tasks in my calendar" (S14): one event per open task in the tasks calendar.
    tasks_in_calendar: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The host's picture (from their chat profile), shown on their pages; None: their initials.
    photo_url: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    identities: Mapped[list[ChatIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    connections: Mapped[list[CalendarConnection]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class ChatIdentity(Base):
    """Who a user is in one channel: Slack team+user, Teams tenant+user, or a web session."""

    __tablename__ = "chat_identities"
    __table_args__ = (
        UniqueConstraint("channel", "tenant", "external_id", name="uq_chat_identity"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    tenant: Mapped[str] = mapped_column(String(128), default="")
    external_id: Mapped[str] = mapped_column(String(128))
    locale: Mapped[str | None] = mapped_column(String(16))
    # Channel data needed to message the user later (e.g. a Teams conversation reference).
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="identities")


class TeamsConversation(Base):
    """A Teams conversation the bot is in, to message it later (its conversation reference)."""

    __tablename__ = "teams_conversations"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128), index=True)  # personal chats: the user
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)  # serviceUrl, kind, bot, aad and team ids


class SchedulingPage(Base):
    """A bookable page: ``/meetings/<user slug>/<page slug>``."""

    __tablename__ = "scheduling_pages"
    __table_args__ = (
        UniqueConstraint("owner_id", "slug", name="uq_page_owner_slug"),
        # The page used when the host shares "my link": at most one per host.
        Index(
            "uq_pages_one_default",
            "owner_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    durations: Mapped[list[Any]] = mapped_column(JSON, default=lambda: [30])
    # Weekly hours, overrides, buffers, notice, horizon, max per day (bot.availability rules).
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    in_widget: Mapped[bool] = mapped_column(Boolean, default=False)
    domain_id: Mapped[int | None] = mapped_column(
        ForeignKey("custom_domains.id", ondelete="SET NULL")
    )
    # Where meetings take place (bot.pages.location.LocationKind; "": not said) and the link,
    # phone number or address that needs.
    location_kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    location_value: Mapped[str] = mapped_column(String(1024), default="", server_default="")
    # Minutes before a meeting the visitor is reminded by e-mail (e.g. [1440, 60]); remind_host:
    # the host is reminded too (e-mail and chat).
    reminders: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    remind_host: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    colour: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb"; None: the default accent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Booking(Base):
    """A visitor's booking (or, in offline mode, request) of a host's time."""

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="positive_length"),
        CheckConstraint(one_of("status", BOOKING_STATUSES), name="status"),
        Index("ix_bookings_host_start", "host_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduling_pages.id", ondelete="SET NULL")
    )
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64))
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    # SHA-256 of the manage token; the token itself is only ever in the visitor's link.
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("calendars.id", ondelete="SET NULL")
    )
    external_event_id: Mapped[str | None] = mapped_column(String(1024))
    # iCalendar SEQUENCE: raised on every change the visitor is sent (reschedule, cancel).
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The sequence the calendar event ``external_event_id`` was written for (None: no event yet).
    event_sequence: Mapped[int | None] = mapped_column(Integer)
    # The visitor's language ("en", "pt", "da"): every message they are sent is in it.
    language: Mapped[str | None] = mapped_column(String(16))
    # Where the meeting is, as the visitor is told (address, phone, link), and its video link
    # (from the calendar provider, e.g. Google Meet, or the page's fixed link).
    location: Mapped[str] = mapped_column(Text, default="", server_default="")
    join_url: Mapped[str | None] = mapped_column(String(2048))
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()


class OutboxMessage(Base):
    """A side effect waiting to happen (calendar write, e-mail, chat message)."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(one_of("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()


class OAuthState(Base):
    """A pending connect flow: bound to the user who asked, single use, short-lived.

    Only a hash of the ``state`` value is stored; ``flow`` (PKCE verifier, MSAL flow) is sealed.
    """

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    flow: Mapped[str] = mapped_column(Text)
    reconnect_id: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginToken(Base):
    """A one-time dashboard login link sent in chat (hash only, single use, short-lived)."""

    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class WebSession(Base):
    """A dashboard session (cookie holds the secret; only its hash is stored) with a CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BookingAttempt(Base):
    """A visitor who tried to book while booking was blocked (a calendar lost access).

    Nothing the visitor typed is lost: the host is told and can follow up.
    """

    __tablename__ = "booking_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduling_pages.id", ondelete="SET NULL")
    )
    start_at: Mapped[datetime | None] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str] = mapped_column(String(320))
    note: Mapped[str] = mapped_column(Text, default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
