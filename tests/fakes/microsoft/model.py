"""The fake Microsoft 365 mailbox data: users, their calendars, events, and the Graph call log."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

UTC = dt.UTC
DEFAULT_EMAIL = "host@contoso.example"
_ICAL_PREFIX = "040000008200E00074C5B7101A82E008"  # how Exchange iCalUIds start

_ids = itertools.count(1)


def _graph_id(prefix: str) -> str:
    # Graph ids are long base64-ish strings; keep '=' and '-' so quoting is exercised.
    return f"AAMk{prefix}-{next(_ids):04d}_{secrets.token_hex(4)}="


def _utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def _change_key() -> str:
    return base64.b64encode(secrets.token_bytes(12)).decode()


def _stamp(moment: dt.datetime) -> str:
    """Graph's instant format: seven fractional digits, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


@dataclass
class FakeEvent:
    """One event in a fake calendar. Timed events hold aware datetimes, all-day events dates."""

    id: str
    subject: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    show_as: str = "busy"
    is_cancelled: bool = False
    response: str = "organizer"
    attendees: list[dict[str, Any]] = field(default_factory=list)
    body: str = ""
    location: str = ""
    transaction_id: str | None = None
    created_with: dict[str, Any] | None = None
    organizer: dict[str, str] | None = None  # emailAddress: {"name", "address"}
    ical_uid: str = field(default_factory=lambda: _ICAL_PREFIX + secrets.token_hex(24).upper())
    event_type: str = "singleInstance"  # occurrence, exception, seriesMaster
    series_master_id: str | None = None
    extended_properties: dict[str, str] = field(default_factory=dict)  # singleValueExtendedProperties
    online_meeting_provider: str = "unknown"  # set with a join URL when a meeting was made
    join_url: str | None = None  # onlineMeeting.joinUrl
    change_key: str = field(default_factory=_change_key)
    created: dt.datetime = field(default_factory=_utcnow)
    last_modified: dt.datetime = field(default_factory=_utcnow)

    @property
    def is_all_day(self) -> bool:
        """Whether the event covers whole dates."""
        return not isinstance(self.start, dt.datetime)

    def utc_range(self) -> tuple[dt.datetime, dt.datetime]:
        """The event's instants (all-day events placed in UTC, as the fake's simplification)."""
        if isinstance(self.start, dt.datetime) and isinstance(self.end, dt.datetime):
            return self.start.astimezone(UTC), self.end.astimezone(UTC)
        assert not isinstance(self.start, dt.datetime) and not isinstance(self.end, dt.datetime)
        return (
            dt.datetime.combine(self.start, dt.time(), UTC),
            dt.datetime.combine(self.end, dt.time(), UTC),
        )


@dataclass
class FakeCalendar:
    """A calendar visible in a mailbox's calendar list. ``fault`` makes it answer 403/404."""

    id: str
    name: str
    owner_email: str
    owner_name: str = ""
    can_edit: bool = True
    is_default: bool = False
    events: list[FakeEvent] = field(default_factory=list)
    fault: int | None = None
    changes: dict[str, int] = field(default_factory=dict)  # event id -> serial of its last change
    online_meeting_providers: tuple[str, ...] = ("teamsForBusiness",)  # allowedOnlineMeetingProviders


@dataclass
class FakeUser:
    """A Microsoft account with a mailbox."""

    email: str
    name: str
    oid: str
    tid: str
    mail: str | None
    calendars: list[FakeCalendar] = field(default_factory=list)

    def calendar(self, calendar_id: str) -> FakeCalendar | None:
        """The calendar with ``calendar_id`` in this user's list."""
        return next((c for c in self.calendars if c.id == calendar_id), None)

    @property
    def default_calendar(self) -> FakeCalendar:
        """The user's default calendar."""
        return next(c for c in self.calendars if c.is_default)


@dataclass
class GraphCall:
    """One request the fake Graph received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    mailbox: str | None
    body: Any = None
    status: int = 0
