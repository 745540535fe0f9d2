"""The contact side of the schema: contacts, the meetings on their records, the hosts' tasks.

Part of the one schema (``storage.base.Base``); every name is re-exported by ``storage.models``,
which is where the rest of Slotbot imports models from.

* a contact is unique per host by e-mail (``uq_contact_email``; addresses are kept lower-case);
  ``search_text`` is the case-folded name, e-mail and company, kept up to date on every ORM
  write, so a search is the same ``LIKE`` on SQLite and PostgreSQL (whose ``lower()`` differ);
* a meeting engagement is one per meeting and contact (``uq_engagement_source``); it is
  *cancelled* or, when its time changed after it was recorded, *moved* (``moved_at``);
* a task's due date is the host's local date; ``due_time`` (optional) is a wall time in the zone
  named by ``timezone`` (the host's when the task was saved), so the due instant is aware;
* ``version`` counts a task's changes; with "Sync tasks to my calendar" on, ``event_id`` is the
  provider's id of its event in the tasks calendar, written for ``event_version``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from storage.base import Base, one_of, utcnow

ENGAGEMENT_SOURCES = ("booking", "calendar_sync", "contact_record")
ENGAGEMENT_STATUSES = ("scheduled", "moved", "cancelled")


def search_text_of(*parts: str | None) -> str:
    """The text a contact is found by: its parts case-folded, one per line."""
    return "\n".join(part.casefold() for part in parts if part)


class Contact(Base):
    """A person a host met or added, keyed by e-mail (lower-case) per host."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("owner_id", "email", name="uq_contact_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(64), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # search_text_of(name, email, company), set by the validator below on every change.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("name", "email", "company")
    def _keep_search_text(self, key: str, value: str) -> str:
        """Recompute :attr:`search_text` whenever a searched field is set."""
        parts = {"name": self.name, "email": self.email, "company": self.company, key: value}
        self.search_text = search_text_of(parts["name"], parts["email"], parts["company"])
        return value


class MeetingEngagement(Base):
    """A meeting recorded on a contact: booked through a page, synced, or scheduled from the record."""

    __tablename__ = "meeting_engagements"
    __table_args__ = (
        UniqueConstraint("contact_id", "source_key", name="uq_engagement_source"),
        CheckConstraint(one_of("source", ENGAGEMENT_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16))
    # "booking:<id>" or "event:<connection id>:<external id>": one engagement per meeting.
    source_key: Mapped[str] = mapped_column(String(1100))
    title: Mapped[str] = mapped_column(String(255))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    # When its time last changed after it was first recorded (None: never moved).
    moved_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def status(self) -> str:
        """``cancelled``, ``moved`` or ``scheduled`` (one of :data:`ENGAGEMENT_STATUSES`)."""
        if self.cancelled:
            return "cancelled"
        return "moved" if self.moved_at is not None else "scheduled"

    def move(self, start: datetime, end: datetime) -> None:
        """Give the engagement a new time; it shows as moved when the time really changed."""
        if (start, end) != (self.start_at, self.end_at):
            self.start_at, self.end_at, self.moved_at = start, end, utcnow()


class Task(Base):
    """A host's to-do: a title, a due date (and maybe time), an optional contact, done or not."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_open_due", "owner_id", "done", "due_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date] = mapped_column(Date)
    # A wall time in ``timezone`` (None: due some time that day).
    due_time: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    event_id: Mapped[str | None] = mapped_column(String(1024))
    event_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def due_at(self) -> datetime | None:
        """The aware due instant, when the task has a time."""
        if self.due_time is None:
            return None
        return datetime.combine(self.due_date, self.due_time, ZoneInfo(self.timezone))
