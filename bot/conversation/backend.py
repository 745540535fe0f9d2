"""What the conversation needs from the rest of Slotbot: one small Protocol and its values.

:class:`Backend` is everything :class:`~bot.conversation.core.Conversation` asks of the app (the
user's pages, calendar accounts, availability, one-time links, disconnecting, the language
override, scheduling a meeting with a contact...). The conversation depends only on this
Protocol; :class:`bot.chat_backend.AppBackend` implements it with the app's services and
:mod:`bot.wiring` builds it. Values crossing the boundary are small frozen dataclasses, so the
conversation never holds a database row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol

from bot.availability import AvailabilityResult, AvailabilityRules


class NotConnected(LookupError):
    """The calendar account is not (or no longer) connected for this user."""


@dataclass(frozen=True, slots=True)
class Host:
    """A Slotbot user as the conversation sees them."""

    user_id: int
    name: str
    email: str | None
    timezone: str
    slug: str
    pages_enabled: bool


@dataclass(frozen=True, slots=True)
class Page:
    """A scheduling page with its public link."""

    id: int
    slug: str
    title: str
    durations: tuple[int, ...]
    rules: Mapping[str, Any]
    enabled: bool
    is_default: bool
    url: str


@dataclass(frozen=True, slots=True)
class CalendarState:
    """One calendar of an account and how it is used."""

    id: int
    name: str
    active: bool
    checks_conflicts: bool
    is_default: bool


@dataclass(frozen=True, slots=True)
class Account:
    """A connected calendar account (``status``: ``active``, ``needs_reauth``, ``inactive``)."""

    id: int
    provider: str
    email: str
    status: str
    calendars: tuple[CalendarState, ...]


@dataclass(frozen=True, slots=True)
class Service:
    """A calendar service people can connect, and whether this deployment set it up."""

    kind: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A booking ahead (``status``: ``confirmed`` or ``requested``)."""

    start: datetime
    end: datetime
    title: str
    visitor_name: str
    status: str


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A task: what is to be done, when it is due (the time in the host's zone) and with whom."""

    title: str
    due_date: date
    due_time: time | None
    contact_name: str = ""


@dataclass(frozen=True, slots=True)
class MeetingContact:
    """A contact a meeting is scheduled with; ``created``: made just now from the address."""

    id: int
    name: str
    email: str
    created: bool


@dataclass(frozen=True, slots=True)
class ScheduledMeeting:
    """A meeting scheduled from chat; ``sent``: written to the calendar and the contact invited."""

    start: datetime
    end: datetime
    title: str
    contact_name: str
    contact_email: str
    sent: bool


class MeetingRefusal(Exception):
    """A meeting that cannot be scheduled. ``code``: ``taken``, ``unreadable``, ``length``,
    ``address`` or ``not_found``; the conversation words it in the reader's language."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UnreadableCalendar(Protocol):
    """A checked calendar whose busy time is unknown (``scheduling.results.CalendarProblem`` is one)."""

    @property
    def calendar_id(self) -> int:
        """The calendar's id."""
        ...

    @property
    def name(self) -> str:
        """The calendar's name, as the host knows it."""
        ...

    @property
    def reason(self) -> str:
        """``access_lost``, ``needs_reauth``, ``inactive``, ``unavailable`` or ``rate_limited``."""
        ...


class Availability(Protocol):
    """A user's free time as the conversation reads it (``scheduling.results.UserAvailability`` is one).

    A Protocol rather than the scheduler's own class, so that the conversation core imports nothing
    above it: whatever the backend returns only needs these attributes.
    """

    @property
    def result(self) -> AvailabilityResult:
        """Slots and merged busy time from the engine."""
        ...

    @property
    def calendars(self) -> tuple[str, ...]:
        """Names of the calendars consulted."""
        ...

    @property
    def problems(self) -> Sequence[UnreadableCalendar]:
        """The calendars that could not be read."""
        ...

    @property
    def has_calendars(self) -> bool:
        """Whether any calendar is checked for conflicts."""
        ...

    @property
    def complete(self) -> bool:
        """Whether every checked calendar was read."""
        ...


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One event of the host's own calendars, for the host's eyes only.

    ``start``/``end``: aware instants; an all-day event (``all_day``) runs from local midnight of
    its first day to local midnight after its last, in the host's zone. ``title``: ``""`` when
    the service gave none (a free/busy answer). ``show_as``: ``busy``, ``tentative``, ``free``,
    ``oof``, ``working_elsewhere`` or ``unknown``. ``calendar``: the calendar's name.
    """

    start: datetime
    end: datetime
    all_day: bool
    title: str
    show_as: str
    calendar: str


@dataclass(frozen=True, slots=True)
class AgendaProblem:
    """A checked calendar whose events could not be read, and why (reasons as :class:`UnreadableCalendar`)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Agenda:
    """The host's events in a window, merged across every checked calendar, soonest first
    (all-day events first on their day), with the calendars that could not be read."""

    items: tuple[AgendaItem, ...]
    problems: tuple[AgendaProblem, ...]
    calendars: tuple[str, ...]
    """Names of the calendars consulted (every checked one)."""

    @property
    def has_calendars(self) -> bool:
        """Whether any calendar is checked for conflicts."""
        return bool(self.calendars)


class Backend(Protocol):
    """Everything the conversation asks of the app."""

    async def host(self, user_id: int) -> Host | None:
        """The user, or None when unknown."""
        ...

    async def pages(self, user_id: int) -> list[Page]:
        """The user's scheduling pages, the default one first."""
        ...

    async def accounts(self, user_id: int) -> list[Account]:
        """The user's connected calendar accounts with their calendars."""
        ...

    def services(self) -> list[Service]:
        """The calendar services one can connect (Google, Microsoft 365)."""
        ...

    async def availability(
        self, user_id: int, *, start: datetime, end: datetime, now: datetime,
        rules: AvailabilityRules, duration_minutes: int,
    ) -> Availability:
        """The user's busy time and free slots in ``[start, end)`` across every checked calendar."""
        ...

    async def login_link(self, user_id: int, next_path: str = "/dashboard") -> str:
        """A one-time dashboard sign-in link that leads to ``next_path`` (a /dashboard path)."""
        ...

    async def disconnect(self, user_id: int, account_id: int) -> Account:
        """Disconnect an account; raises :class:`NotConnected` when it is not the user's."""
        ...

    async def set_language(self, user_id: int, locale: str | None) -> str:
        """Set (or, with None, clear) the user's language override; the language now in effect."""
        ...

    async def upcoming(self, user_id: int, *, now: datetime, limit: int) -> list[Upcoming]:
        """The next bookings of the user."""
        ...

    async def page_at(self, url: str) -> tuple[Host, Page] | None:
        """The host and page a Slotbot meeting link opens, or None when it is not one of ours."""
        ...

    async def add_task(self, user_id: int, title: str, due_date: date, due_time: time | None) -> TaskLine:
        """Make a task (linked to the one contact its title names, if one does)."""
        ...

    async def open_tasks(self, user_id: int, *, limit: int) -> list[TaskLine]:
        """The host's open tasks, soonest due first."""
        ...

    async def meeting_contact(self, user_id: int, email: str) -> MeetingContact:
        """The user's contact with this address, made when there is none (:class:`MeetingRefusal`
        ``address`` for an address that is not one)."""
        ...

    async def meeting_times(
        self, user_id: int, minutes: int, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[datetime, ...]:
        """The first free starts for a meeting of ``minutes`` in ``[start, end)`` (the user's
        default page's hours); :class:`MeetingRefusal` when they cannot be told."""
        ...

    async def schedule_meeting(
        self, user_id: int, contact_id: int, start: datetime, minutes: int, *, now: datetime
    ) -> ScheduledMeeting:
        """Schedule a meeting with the contact (invited when calendar sync is on), or
        :class:`MeetingRefusal`."""
        ...

    async def agenda(self, user_id: int, *, start: datetime, end: datetime) -> Agenda:
        """The user's own events overlapping ``[start, end)`` with their titles (cancelled and
        declined ones left out), read live. Only for the user's own private answers."""
        ...
