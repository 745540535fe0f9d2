"""The conversation's :class:`~bot.conversation.backend.Backend`, implemented over the app's services.

The conversation core asks through the Protocol in :mod:`bot.conversation.backend`; this module
answers with the database, the scheduler, tokens, links, connections and identities.
:mod:`bot.wiring` builds it. It turns rows into the Protocol's frozen values, so the conversation
never holds a database row.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.connections import ConnectError, Connections
from bot.accounts.identities import Identities
from bot.accounts.tokens import Tokens
from bot.availability import AvailabilityRules
from bot.calendar.base import AllDaySpan, BusyBlock
from bot.contacts.scheduling import MeetingNotFound, MeetingRefused, RecordMeetings
from bot.contacts.tasks import MAX_TITLE, TaskDetails, Tasks
from bot.conversation.backend import (
    Account,
    Agenda,
    AgendaItem,
    AgendaProblem,
    CalendarState,
    Host,
    MeetingContact,
    MeetingRefusal,
    NotConnected,
    Page,
    ScheduledMeeting,
    Service,
    TaskLine,
    Upcoming,
)
from bot.pages.links import Links
from bot.pages.public import named_or_default, pages_default_first
from bot.scheduling.results import UserAvailability
from bot.scheduling.scheduler import Scheduler
from storage.models import (
    Booking,
    Calendar,
    CalendarConnection,
    Contact,
    CustomDomain,
    SchedulingPage,
    User,
)

_PAGE_PATH = re.compile(r"^/meetings/(?P<user>[^/]+)(?:/(?P<page>[^/]+))?/?$")


class AppBackend:
    """:class:`Backend` over the app's services and database."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        scheduler: Scheduler,
        tokens: Tokens,
        links: Links,
        connections: Connections,
        identities: Identities,
        exchange: bool = False,
        caldav: bool = False,
        feeds: bool = False,
        meetings: RecordMeetings | None = None,
        tasks: Tasks | None = None,
    ) -> None:
        self._sessions = sessions
        self._scheduler = scheduler
        self._tokens = tokens
        self._links = links
        self._connections = connections
        self._identities = identities
        self._exchange = exchange
        self._caldav = caldav
        self._feeds = feeds
        self._meetings = meetings or RecordMeetings(sessions, scheduler, links=links)
        self._tasks = tasks or Tasks(sessions)

    async def host(self, user_id: int) -> Host | None:
        """The user, or None when unknown."""
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        return None if user is None else _host(user)

    async def pages(self, user_id: int) -> list[Page]:
        """The user's pages, default first, each with its link on the user's domain."""
        async with self._sessions() as session:
            user = await session.get(User, user_id)
            if user is None:
                return []
            rows = (await session.execute(pages_default_first(user_id))).scalars().all()
            return [_page(row, await self._links.page_of(session, user, row)) for row in rows]

    async def accounts(self, user_id: int) -> list[Account]:
        """Connected accounts in the order they were connected."""
        async with self._sessions() as session:
            connections = (
                await session.execute(
                    select(CalendarConnection)
                    .where(CalendarConnection.user_id == user_id)
                    .order_by(CalendarConnection.id)
                )
            ).scalars().all()
            calendars = (
                await session.execute(
                    select(Calendar).where(Calendar.user_id == user_id).order_by(Calendar.id)
                )
            ).scalars().all()
        return [
            Account(
                id=c.id,
                provider=c.provider,
                email=c.account_email,
                status=c.status,
                calendars=tuple(
                    CalendarState(k.id, k.name, k.status == "active", k.checks_conflicts, k.is_default)
                    for k in calendars
                    if k.connection_id == c.id
                ),
            )
            for c in connections
        ]

    def services(self) -> list[Service]:
        """The services one can connect: the OAuth ones (configured or not), then the password forms."""
        found = [Service(kind, provider.enabled) for kind, provider in self._connections.providers.items()]
        if self._exchange:
            found.append(Service("exchange", True))
        if self._caldav:
            found.append(Service("caldav", True))
        if self._feeds:
            found.append(Service("feed", True))
        return found

    async def availability(
        self, user_id: int, *, start: datetime, end: datetime, now: datetime,
        rules: AvailabilityRules, duration_minutes: int,
    ) -> UserAvailability:
        """Through the scheduler (cached busy time, each calendar with its timeout)."""
        return await self._scheduler.availability(
            user_id, start=start, end=end, now=now, rules=rules, duration_minutes=duration_minutes
        )

    async def agenda(self, user_id: int, *, start: datetime, end: datetime) -> Agenda:
        """Through :meth:`Scheduler.occurrences` (read live, never cached): every checked
        calendar's events overlapping the window, all-day ones placed on the user's days; an
        event on two calendars (an invitation seen twice) is listed once."""
        timezone, calendars = await self._scheduler.occurrences(user_id, start=start, end=end)
        zone = ZoneInfo(timezone)
        items: dict[tuple[datetime, datetime, bool, str], AgendaItem] = {}
        problems: list[AgendaProblem] = []
        for name, busy in calendars:
            if busy.error is not None:
                problems.append(AgendaProblem(name, busy.error.reason))
                continue
            for block in busy.blocks:
                item = _agenda_item(block, name, zone)
                if item is not None and item.start < end and start < item.end:
                    items.setdefault((item.start, item.end, item.all_day, item.title.casefold()), item)
        ordered = sorted(items.values(), key=lambda i: (i.start.astimezone(zone).date(), not i.all_day,
                                                        i.start, i.end, i.title))
        return Agenda(tuple(ordered), tuple(problems), tuple(name for name, _ in calendars))

    async def login_link(self, user_id: int, next_path: str = "/dashboard") -> str:
        """``<base>/dashboard/login?token=...&next=...``: single use, valid for 15 minutes."""
        token = await self._tokens.login_link_token(user_id)
        return (
            f"{self._links.base_url}/dashboard/login?token={quote(token, safe='')}"
            f"&next={quote(next_path, safe='/')}"
        )

    async def disconnect(self, user_id: int, account_id: int) -> Account:
        """Revoke and delete the connection (its calendars stop being checked at once)."""
        found = next((a for a in await self.accounts(user_id) if a.id == account_id), None)
        if found is None:
            raise NotConnected(account_id)
        try:
            await self._connections.disconnect(user_id, account_id)
        except ConnectError:
            raise NotConnected(account_id) from None
        self._scheduler.forget(user_id)
        return found

    async def set_language(self, user_id: int, locale: str | None) -> str:
        """Through :meth:`Identities.set_language` (every chat identity of the user)."""
        return await self._identities.set_language(user_id, locale)

    async def upcoming(self, user_id: int, *, now: datetime, limit: int) -> list[Upcoming]:
        """Bookings not cancelled that have not ended yet, soonest first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Booking, SchedulingPage.title)
                    .outerjoin(SchedulingPage, Booking.page_id == SchedulingPage.id)
                    .where(Booking.host_id == user_id, Booking.status != "cancelled",
                           Booking.end_at > now)
                    .order_by(Booking.start_at)
                    .limit(limit)
                )
            ).all()
        return [
            Upcoming(b.start_at, b.end_at, title or "", b.visitor_name, b.status) for b, title in rows
        ]

    async def add_task(self, user_id: int, title: str, due_date: date, due_time: time | None) -> TaskLine:
        """Through :class:`Tasks` (its listeners keep a tasks calendar in step), linked to the one
        contact whose first name or address the title names, if exactly one does."""
        contact_id = await self._contact_named(user_id, title)
        details = TaskDetails(title[:MAX_TITLE], due_date.isoformat(),
                              f"{due_time:%H:%M}" if due_time else "", contact_id)
        view = await self._tasks.get(user_id, await self._tasks.create(user_id, details))
        return TaskLine(view.title, view.due_date, view.due_time, view.contact_name)

    async def open_tasks(self, user_id: int, *, limit: int) -> list[TaskLine]:
        """The host's open tasks, soonest due first."""
        views = [v for v in await self._tasks.list(user_id) if not v.done]
        return [TaskLine(v.title, v.due_date, v.due_time, v.contact_name) for v in views[:limit]]

    async def _contact_named(self, user_id: int, title: str) -> int | None:
        words = {w.strip(".,;:!?") for w in title.casefold().split()}
        words = {w for w in words if len(w) >= 2}
        if not words:
            return None
        async with self._sessions() as session:
            rows = (await session.execute(select(Contact).where(
                Contact.owner_id == user_id,
                or_(*(Contact.search_text.contains(w, autoescape=True) for w in sorted(words)[:12])),
            ).limit(200))).scalars().all()
        named = [c for c in rows if c.email.casefold() in words
                 or (c.name and c.name.split()[0].casefold() in words)]
        return named[0].id if len(named) == 1 else None

    async def meeting_contact(self, user_id: int, email: str) -> MeetingContact:
        """Through :meth:`RecordMeetings.contact_for` (made, named from the address, when new)."""
        try:
            contact, created = await self._meetings.contact_for(user_id, email)
        except MeetingRefused as refused:
            raise MeetingRefusal(refused.code) from None
        return MeetingContact(contact.id, contact.name or contact.email, contact.email, created)

    async def meeting_times(
        self, user_id: int, minutes: int, *, start: datetime, end: datetime, now: datetime
    ) -> tuple[datetime, ...]:
        """Through :meth:`RecordMeetings.free_times` (the default page's hours)."""
        try:
            found = await self._meetings.free_times(user_id, minutes, now=now, start=start, end=end)
        except MeetingRefused as refused:
            raise MeetingRefusal(refused.code) from None
        return found.starts

    async def schedule_meeting(
        self, user_id: int, contact_id: int, start: datetime, minutes: int, *, now: datetime
    ) -> ScheduledMeeting:
        """Through :meth:`RecordMeetings.schedule` (the live check, the invitation or the record)."""
        try:
            made = await self._meetings.schedule(user_id, contact_id, start, minutes, now=now)
        except MeetingRefused as refused:
            raise MeetingRefusal(refused.code) from None
        except MeetingNotFound:
            raise MeetingRefusal("not_found") from None
        return ScheduledMeeting(made.start, made.end, made.title, made.contact_name, made.contact_email,
                                made.sent)

    async def page_at(self, url: str) -> tuple[Host, Page] | None:
        """Ours when the host is this deployment's (or an active custom domain) and the path is a
        page of an existing user."""
        parts = urlsplit(url.strip())
        match = _PAGE_PATH.match(parts.path)
        if parts.scheme not in ("http", "https") or not parts.hostname or match is None:
            return None
        async with self._sessions() as session:
            if not await self._our_host(session, parts.netloc.lower(), parts.hostname.lower()):
                return None
            user = (
                await session.execute(select(User).where(User.slug == unquote(match["user"])))
            ).scalar_one_or_none()
            if user is None:
                return None
            page = await named_or_default(session, user.id, unquote(match["page"] or "") or None)
            if page is None:
                return None
            return _host(user), _page(page, await self._links.page_of(session, user, page))

    async def _our_host(self, session: AsyncSession, netloc: str, hostname: str) -> bool:
        if netloc == urlsplit(self._links.base_url).netloc.lower():
            return True
        found = (
            await session.execute(
                select(CustomDomain.id).where(CustomDomain.hostname == hostname, CustomDomain.active)
            )
        ).scalar_one_or_none()
        return found is not None


def _agenda_item(block: BusyBlock, calendar: str, zone: ZoneInfo) -> AgendaItem | None:
    """One occurrence for the agenda (None: cancelled, or an invitation the user declined)."""
    if block.cancelled or block.declined:
        return None
    span = block.span
    if isinstance(span, AllDaySpan):
        first = datetime.combine(span.start, time(0), zone)
        after = datetime.combine(span.end, time(0), zone)
        return AgendaItem(first, after, True, block.title, str(block.show_as), calendar)
    return AgendaItem(span.start, span.end, False, block.title, str(block.show_as), calendar)


def _host(user: User) -> Host:
    return Host(user.id, user.display_name, user.email, user.timezone, user.slug, user.pages_enabled)


def _page(row: SchedulingPage, url: str) -> Page:
    durations = tuple(int(d) for d in row.durations if isinstance(d, int | str) and str(d).isdigit())
    return Page(
        id=row.id,
        slug=row.slug,
        title=row.title,
        durations=durations or (30,),
        rules=dict(row.rules or {}),
        enabled=row.enabled,
        is_default=row.is_default,
        url=url,
    )
