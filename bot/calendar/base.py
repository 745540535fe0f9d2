"""The one Protocol every calendar provider implements, its value types and its errors.

Start here when adding a provider. A provider translates its service's vocabulary (Google
``transparency``, Graph ``showAs``, EWS ``LegacyFreeBusyStatus``, iCalendar ``TRANSP``...) into
:class:`BusyBlock` values; the availability engine only ever sees those. All datetimes are aware:
every value type refuses a naive one.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, runtime_checkable


def require_aware(value: datetime, name: str) -> None:
    """Raise ``ValueError`` when ``value`` is a naive datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def check_window(
    start: datetime, end: datetime, calendar_ids: Sequence[str]
) -> dict[str, CalendarBusy] | None:
    """Check a busy-time window ``[start, end)`` the way every provider must, first thing in ``busy``.

    Both ends must be aware and ``end`` must not be before ``start`` (``ValueError`` otherwise).
    An empty window (``start == end``) has no busy time: the answer for it is returned (every
    requested calendar, no blocks) and the provider returns it without asking anyone. None means
    the provider has to read the calendars.
    """
    require_aware(start, "start")
    require_aware(end, "end")
    if end < start:
        raise ValueError("end must not be before start")
    if end == start:
        return {calendar_id: CalendarBusy() for calendar_id in calendar_ids}
    return None


def window_pieces(start: datetime, end: datetime, span: timedelta) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive pieces of at most ``span`` (a service's longest window)."""
    pieces, cursor = [], start
    while cursor < end:
        pieces.append((cursor, min(end, cursor + span)))
        cursor += span
    return pieces


class ShowAs(enum.StrEnum):
    """How an event shows on its owner's calendar, in Slotbot's vocabulary."""

    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OUT_OF_OFFICE = "oof"
    WORKING_ELSEWHERE = "working_elsewhere"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TimedSpan:
    """A span between two instants; ``end`` is exclusive."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end < self.start:
            raise ValueError("end must not be before start")


@dataclass(frozen=True, slots=True)
class AllDaySpan:
    """Whole days ``[start, end)``, placed in the host's zone by the engine."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if isinstance(self.start, datetime) or isinstance(self.end, datetime):
            raise TypeError("an all-day span takes dates, not datetimes")
        if self.end <= self.start:
            raise ValueError("an all-day span covers at least one day")


@dataclass(frozen=True, slots=True)
class BusyBlock:
    """One event occurrence as the engine sees it.

    Only blocks whose :meth:`blocks_time` is true take time away: cancelled events, declined
    invitations and events shown as free never do; tentative, out-of-office, working elsewhere
    and unknown do (Slotbot never offers time it is not sure is free).

    ``title``: the event's title when the service gave one (``""`` otherwise: free/busy answers
    carry none). The engine never reads it; it is shown only to the calendar's owner, in a
    private answer. It takes no part in equality and is left out of ``repr`` (so logs never
    carry it).
    """

    span: TimedSpan | AllDaySpan
    show_as: ShowAs = ShowAs.BUSY
    cancelled: bool = False
    declined: bool = False
    title: str = field(default="", compare=False, repr=False)

    def blocks_time(self) -> bool:
        """Whether this occurrence makes its time unavailable."""
        return not (self.cancelled or self.declined or self.show_as is ShowAs.FREE)


class AccessRole(enum.StrEnum):
    """What the connected account may do with a calendar."""

    OWNER = "owner"
    WRITER = "writer"
    READER = "reader"
    FREE_BUSY = "freeBusyReader"


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar the connected account owns or can access."""

    external_id: str
    name: str
    access_role: AccessRole
    is_primary: bool = False
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Attendee:
    """A person invited to an event."""

    email: str
    name: str = ""


class Conference(enum.StrEnum):
    """A video meeting the calendar provider creates with the event (and returns the join link of)."""

    GOOGLE_MEET = "google_meet"  # Google Calendar: ``conferenceData.createRequest`` (hangoutsMeet)
    TEAMS = "teams"  # Microsoft Graph: ``isOnlineMeeting`` with ``teamsForBusiness``


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event Slotbot writes: a booking (timed, busy, attendees invited) or a host's task.

    ``all_day``: whole days from ``start``'s local date to ``end``'s (exclusive), as the aware
    datetimes give them; ``free``: shown as free (never blocks time); ``send_invitations``: False
    writes the event without telling anyone (a task has no attendees to tell).

    ``location``: where it takes place, as text (an address, a phone number, a link);
    ``join_url``: a video link known before the event is written (the page's fixed link);
    ``conference``: a video meeting the provider should create with the event. Only the provider
    of that kind creates one (Google for Meet, Microsoft for Teams); every other ignores it, and
    :attr:`CreatedEvent.join_url` then stays None.
    """

    uid: str
    title: str
    start: datetime
    end: datetime
    time_zone: str
    attendees: tuple[Attendee, ...] = ()
    description: str = ""
    location: str = ""
    organizer: Attendee | None = None
    all_day: bool = False
    free: bool = False
    send_invitations: bool = True
    join_url: str = ""
    conference: Conference | None = None

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValueError("an event must end after it starts")
        if self.all_day and self.end.date() <= self.start.date():
            raise ValueError("an all-day event covers at least one day")


@dataclass(frozen=True, slots=True)
class CreatedEvent:
    """What the provider answered when an event was created.

    ``join_url``: the video link of the meeting the provider created with it (``NewEvent.conference``),
    None when it created none (another provider's kind, or the provider did not give one yet).
    """

    external_id: str
    calendar_id: str
    web_link: str = ""
    join_url: str | None = None


class CalendarError(Exception):
    """Base of every provider error. Its message is safe to show and log (no secrets)."""

    reason = "unavailable"


class ReauthRequired(CalendarError):
    """The connection's credentials no longer work; the host must reconnect."""

    reason = "needs_reauth"


class AccessLost(CalendarError):
    """One calendar answered 403/404: the account lost access to it."""

    reason = "access_lost"


class RateLimited(CalendarError):
    """The provider asked us to slow down."""

    reason = "rate_limited"

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderUnavailable(CalendarError):
    """The provider could not be reached or answered with a server error."""

    reason = "unavailable"


class ProviderTimeout(ProviderUnavailable):
    """The provider did not answer in time (an HTTP timeout, or a library call in a thread).

    Every provider raises this one error for a timeout. It is never retried: the caller (the
    scheduler) has its own deadline. Its reason stays ``unavailable``.
    """


@dataclass(frozen=True, slots=True)
class CalendarBusy:
    """Busy time of one calendar, or the error that kept it from being read.

    A calendar with an error is *unknown*, never free.
    """

    blocks: tuple[BusyBlock, ...] = ()
    error: CalendarError | None = None


@runtime_checkable
class CalendarProvider(Protocol):
    """What Slotbot needs from a calendar service. Every method is async and keyword-only."""

    async def list_calendars(self) -> list[CalendarInfo]:
        """The calendars the connected account owns or can access."""
        ...

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks of each calendar in ``[start, end)``, keyed by external id.

        Every requested calendar gets an answer. One that cannot be read carries its error in
        :attr:`CalendarBusy.error` (lost access, rate limit or server error after the retries,
        timeout) and never hides the other calendars' busy time; only :class:`ReauthRequired`
        (the whole connection cannot sign in) is raised. An empty window answers every calendar
        with no blocks; a reversed one raises ``ValueError`` (see :func:`check_window`).
        """
        ...

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Create ``event`` in ``calendar_id`` and invite its attendees."""
        ...

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete the event with external id ``uid`` (a missing event is not an error)."""
        ...


SaveCredentials = Callable[[str], Awaitable[None]]
"""Callback a provider calls with its new serialized credentials after a refresh."""


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """Everything a provider factory needs to talk for one connection."""

    connection_id: int
    account_email: str
    credentials: str
    save_credentials: SaveCredentials
    options: Mapping[str, object] = field(default_factory=dict)


ProviderFactory = Callable[[ConnectionContext], CalendarProvider]


class ProviderRegistry:
    """Maps a provider kind (``google``, ``microsoft``, ``local``...) to its factory.

    Built by ``create_app`` from settings; never a module-level singleton.
    """

    def __init__(self) -> None:
        self._factories: dict[str, ProviderFactory] = {}

    def register(self, kind: str, factory: ProviderFactory) -> None:
        """Register ``factory`` for ``kind``; registering a kind twice is a bug."""
        if kind in self._factories:
            raise ValueError(f"provider {kind!r} is already registered")
        self._factories[kind] = factory

    def kinds(self) -> list[str]:
        """The registered kinds, sorted."""
        return sorted(self._factories)

    def create(self, kind: str, context: ConnectionContext) -> CalendarProvider:
        """A provider for one connection; unknown kinds raise ``KeyError``."""
        try:
            factory = self._factories[kind]
        except KeyError:
            raise KeyError(f"no calendar provider registered for {kind!r}") from None
        return factory(context)
