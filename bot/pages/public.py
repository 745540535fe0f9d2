"""What a visitor request reads: the host, the page, the connection states and the rules, once.

Start with :class:`PublicPages`. ``await public.view("ana", "intro")`` (``view("ana")``: the page a
shared link opens) reads, in ONE read-only session, the host's public fields, the page, the
states of the host's calendar connections and the page's parsed rules, and returns them as one
frozen :class:`PublicView` (None: there is no such page). Its :class:`Mode` says what a visitor
may do -- :func:`booking_mode` is the one place that decides it, blocked booking included.
:meth:`PublicPages.view_of` reads a page by id (the host's preview, a booking by page id) and
:meth:`PublicPages.booking` reads a manage link's booking with its page's view.

Used by the page, manage and widget handlers, the host's preview and
:class:`bot.booking.service.Bookings` (which is given the view instead of reading it again).
The page queries every module shares live here too: :func:`pages_default_first` and
:func:`named_or_default` (the page a link opens).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.availability import AvailabilityRules
from bot.pages.links import Links
from bot.pages.location import LocationKind, location_kind
from bot.plain_text import many_lines, one_line
from bot.rules import RulesError, rules_from_json
from storage.models import Booking, CalendarConnection, SchedulingPage, User


class Mode(StrEnum):
    """What a visitor of a page may do."""

    BOOKABLE = "bookable"  # every connected calendar can be read: visitors book
    OFFLINE = "offline"  # no calendar connected: a booking is a request the host confirms
    BLOCKED = "blocked"  # a connected calendar cannot be read: nobody books, the host is told
    OFF = "off"  # the host's pages, or this page, are switched off


def booking_mode(states: Iterable[str], *, pages_on: bool = True) -> Mode:
    """The mode of a page whose host's calendar connections are in ``states``.

    A connection that lost its access or must be reconnected blocks booking: its calendars'
    busy time is unknown, and unknown is never free.
    """
    if not pages_on:
        return Mode.OFF
    known = tuple(states)
    if not known:
        return Mode.OFFLINE
    if any(state != "active" for state in known):
        return Mode.BLOCKED
    return Mode.BOOKABLE


@dataclass(frozen=True, slots=True)
class PublicHost:
    """What visitors (and the messages sent about their bookings) need of a host."""

    id: int
    slug: str
    display_name: str
    email: str | None
    timezone: str
    pages_enabled: bool
    hostname: str | None  # the custom domain the host's links use (None: the main address)
    photo_url: str | None = None  # their picture (None: their initials are shown)
    locale: str = "en"  # the language they are told in (e-mails about bookings)

    def as_user(self) -> User:
        """A detached :class:`User` with these fields, for code that takes one (notices, events)."""
        return User(id=self.id, slug=self.slug, display_name=self.display_name, email=self.email,
                    timezone=self.timezone, pages_enabled=self.pages_enabled, locale=self.locale)


@dataclass(frozen=True, slots=True)
class Question:
    """One of the page's own questions, as the form field ``name`` (``q1``, ``q2``...)."""

    name: str
    label: str
    required: bool


@dataclass(frozen=True, slots=True)
class PublicPage:
    """A scheduling page as visitors see it (the title and question labels on one line, whatever
    was stored: they go into e-mail subjects, notices and calendar events)."""

    id: int
    slug: str
    title: str
    description: str
    durations: tuple[int, ...]  # never empty (30 minutes when none is stored)
    questions: tuple[Question, ...]
    language: str | None
    enabled: bool
    is_default: bool
    in_widget: bool
    location_kind: LocationKind = LocationKind.NONE
    location_value: str = ""  # the link, phone number or address the kind needs
    reminders: tuple[int, ...] = ()  # minutes before a meeting the visitor is e-mailed a reminder
    remind_host: bool = False
    colour: str | None = None  # "#rrggbb" accent; None: the default


@dataclass(frozen=True, slots=True)
class PublicView:
    """Everything a visitor request needs, read at once."""

    host: PublicHost
    page: PublicPage
    states: tuple[str, ...]  # the host's calendar connections' states
    rules: AvailabilityRules | None  # None: the stored rules cannot be read (the page is being set up)
    mode: Mode
    url: str  # the page's link on the host's domain


@dataclass(frozen=True, slots=True)
class ManagedBooking:
    """A booking as its manage link shows it, with its host and (unless deleted) its page."""

    id: int
    status: str
    start: datetime
    end: datetime
    timezone: str
    visitor_name: str
    visitor_email: str
    note: str
    host: PublicHost
    view: PublicView | None  # None: the page was deleted
    language: str | None = None  # the visitor's language when they booked
    location: str = ""
    join_url: str | None = None
    cancel_reason: str = ""


def token_hash(token: str) -> str:
    """The stored form of a manage token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def pages_default_first(owner_id: int) -> Select[SchedulingPage]:
    """A host's pages, the default one first, then the oldest (the order links and lists use)."""
    return (
        select(SchedulingPage)
        .where(SchedulingPage.owner_id == owner_id)
        .order_by(SchedulingPage.is_default.desc(), SchedulingPage.id)
    )


async def named_or_default(
    session: AsyncSession, owner_id: int, slug: str | None
) -> SchedulingPage | None:
    """The host's page ``slug``; without a slug the page a shared link opens (default, else oldest)."""
    query = (
        select(SchedulingPage).where(SchedulingPage.owner_id == owner_id, SchedulingPage.slug == slug)
        if slug else pages_default_first(owner_id)
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def connection_states(session: AsyncSession, user_id: int) -> tuple[str, ...]:
    """The states of ``user_id``'s calendar connections (``active``, ``needs_reauth``, ``inactive``)."""
    rows = await session.execute(
        select(CalendarConnection.status).where(CalendarConnection.user_id == user_id)
    )
    return tuple(rows.scalars())


def _questions(stored: Any) -> tuple[Question, ...]:
    return tuple(
        Question(f"q{number}", one_line(str(item["label"]))[:200], bool(item.get("required")))
        for number, item in enumerate(stored or [], start=1)
        if isinstance(item, Mapping) and one_line(str(item.get("label", "")))
    )


def _page(row: SchedulingPage) -> PublicPage:
    return PublicPage(
        id=row.id, slug=row.slug, title=one_line(row.title), description=many_lines(row.description or ""),
        durations=tuple(int(d) for d in row.durations) or (30,), questions=_questions(row.questions),
        language=row.language, enabled=row.enabled, is_default=row.is_default, in_widget=row.in_widget,
        location_kind=location_kind(row.location_kind), location_value=one_line(row.location_value or ""),
        reminders=tuple(sorted({int(m) for m in (row.reminders or []) if int(m) > 0}, reverse=True)),
        remind_host=bool(row.remind_host), colour=row.colour or None,
    )


class PublicPages:
    """Reads what visitor requests need, each in one session (give it read-only sessions)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, links: Links) -> None:
        self._sessions = sessions
        self._links = links

    async def view(self, user_slug: str, page_slug: str | None = None) -> PublicView | None:
        """The page ``page_slug`` of the host ``user_slug`` (no slug: the default page), or None.

        One query: the host, their pages (the named one, or default first) and their calendar
        connections' states, joined (a page view's only read when its slots are cached).
        """
        query = (
            select(User, SchedulingPage, CalendarConnection.status)
            .join(SchedulingPage, SchedulingPage.owner_id == User.id)
            .outerjoin(CalendarConnection, CalendarConnection.user_id == User.id)
            .where(User.slug == user_slug)
        )
        if page_slug:
            query = query.where(SchedulingPage.slug == page_slug)
        query = query.order_by(SchedulingPage.is_default.desc(), SchedulingPage.id, CalendarConnection.id)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            if not rows:
                return None
            user, page = rows[0][0], rows[0][1]
            states = tuple(state for _, row, state in rows if row.id == page.id and state is not None)
            return await self._view(session, user, page, states)

    async def view_of(self, page_id: int) -> PublicView | None:
        """The page with id ``page_id`` (and its host), or None."""
        async with self._sessions() as session:
            page = await session.get(SchedulingPage, page_id)
            user = None if page is None else await session.get(User, page.owner_id)
            return None if user is None or page is None else await self._view(session, user, page)

    async def booking(self, token: str) -> ManagedBooking | None:
        """The booking of a manage token, with its host and its page's view, or None."""
        async with self._sessions() as session:
            booking = (
                await session.execute(select(Booking).where(Booking.manage_token_hash == token_hash(token)))
            ).scalar_one_or_none()
            user = None if booking is None else await session.get(User, booking.host_id)
            if booking is None or user is None:
                return None
            page = await session.get(SchedulingPage, booking.page_id) if booking.page_id else None
            view = None if page is None else await self._view(session, user, page)
            host = view.host if view is not None else await self._host(session, user)
        return ManagedBooking(
            id=booking.id, status=booking.status, start=booking.start_at, end=booking.end_at,
            timezone=booking.timezone, visitor_name=booking.visitor_name,
            visitor_email=booking.visitor_email, note=booking.note, host=host, view=view,
            language=booking.language, location=booking.location or "", join_url=booking.join_url,
            cancel_reason=booking.cancel_reason or "",
        )

    async def _host(self, session: AsyncSession, user: User) -> PublicHost:
        return PublicHost(
            id=user.id, slug=user.slug, display_name=user.display_name, email=user.email,
            timezone=user.timezone, pages_enabled=user.pages_enabled,
            hostname=await self._links.hostname_of(session, user), photo_url=user.photo_url,
            locale=user.locale or "en",
        )

    async def _view(self, session: AsyncSession, user: User, row: SchedulingPage,
                    states: tuple[str, ...] | None = None) -> PublicView:
        host, page = await self._host(session, user), _page(row)
        if states is None:
            states = await connection_states(session, user.id)
        try:
            rules: AvailabilityRules | None = rules_from_json(
                row.rules, timezone=user.timezone, durations=page.durations
            )
        except RulesError:
            rules = None
        return PublicView(
            host=host, page=page, states=states, rules=rules,
            mode=booking_mode(states, pages_on=host.pages_enabled and page.enabled),
            url=await self._links.page_of(session, user, row),  # the domain is read already
        )
