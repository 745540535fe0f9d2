"""The composition root: every service of Slotbot built from :class:`Settings`, in one place.

Start here to see what the application is made of. :func:`build` makes a :class:`Services` value:
the database engine and its session factories, the calendar provider registry, the scheduler, the
booking, account and page services, the notices (outbox worker with its handlers) and the
conversation core with the backend it talks to. Nothing here opens a connection or starts a task:
``bot.app.create_app`` publishes the services under their ``web.AppKey`` s and runs their
lifecycles (the shared HTTP session, the outbox worker, the thread pool, disposing of the engine).

Services depend on each other only through constructor arguments, so a test (or another process,
such as a worker) can build the same graph from the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import requests.adapters
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.accounts.caldav import CalDavAccounts
from bot.accounts.connections import Connections
from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.accounts.exchange import ExchangeAccounts
from bot.accounts.feeds import FeedAccounts
from bot.accounts.identities import Identities
from bot.accounts.tokens import Tokens
from bot.booking.events import SYNC_EVENT_KIND, EventSync
from bot.booking.notices import announce_video_link
from bot.booking.reminders import REMINDER_KIND, Reminders
from bot.booking.service import Bookings
from bot.calendar.base import ProviderRegistry
from bot.calendar.caldav.provider import CalDavFactory, caldav_factory
from bot.calendar.exchange.provider import exchange_factory
from bot.calendar.feeds.fetch import FeedFetcher, FeedLimits
from bot.calendar.feeds.provider import FeedCache, feed_factory
from bot.calendar.feeds.refresh import FeedRefresher
from bot.calendar.feeds.store import FeedStore
from bot.calendar.google.connect import GoogleConnect
from bot.calendar.google.provider import google_factory
from bot.calendar.local import local_factory
from bot.calendar.microsoft.connect import MicrosoftConnect
from bot.calendar.microsoft.provider import microsoft_factory
from bot.calendar.ssrf import http_adapter_class
from bot.calendar.threads import WorkerThreads
from bot.calendar.tls import trust_context
from bot.chat_backend import AppBackend
from bot.contacts.directory import Contacts
from bot.contacts.scheduling import RecordMeetings
from bot.contacts.task_calendar import DROP_CALENDAR_KIND, TaskCalendar
from bot.contacts.task_events import SYNC_TASK_KIND, TaskEventSync, task_listener
from bot.contacts.tasks import Tasks
from bot.conversation.core import Conversation
from bot.notices.chat import NOTICE_KIND, ChatNotifier
from bot.notices.email import EMAIL_KIND, Mailer
from bot.notices.outbox import OutboxWorker, wake_on_commit
from bot.pages.domains import Domains
from bot.pages.links import Links
from bot.pages.public import PublicPages
from bot.scheduling.health import CalendarHealth
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from bot.sync.push import SYNC_KIND, PushChannels, push_possible
from bot.sync.service import CalendarSync
from bot.templating import Templates
from storage.crypto import SecretBox
from storage.db import create_engine, read_session_factory, session_factory


class SharedHttp:
    """The one outbound ``aiohttp.ClientSession`` of the process, opened and closed by the app.

    Services hold this object (or call it) rather than the session itself, because a session can
    only be made inside the running event loop, after the services are built.
    """

    def __init__(self, *, total_timeout: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=total_timeout)
        self._session: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        """The open session; calling it before :meth:`open` is a bug."""
        if self._session is None:
            raise RuntimeError("the shared HTTP session is not open (the app has not started)")
        return self._session

    async def open(self) -> aiohttp.ClientSession:
        """Open the session (environment proxies ignored: every endpoint is a setting)."""
        self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        return self._session

    async def close(self) -> None:
        """Close the session, if open."""
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass(frozen=True, slots=True)
class Services:
    """Every long-lived service of one application, built by :func:`build`."""

    settings: Settings
    secrets: SecretBox
    templates: Templates
    links: Links
    engine: AsyncEngine
    owns_engine: bool
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    http: SharedHttp
    providers: ProviderRegistry
    scheduler: Scheduler
    tokens: Tokens
    domains: Domains
    bookings: Bookings
    connections: Connections
    identities: Identities
    chat_notifier: ChatNotifier
    conversation: Conversation
    outbox: OutboxWorker
    public_pages: PublicPages
    threads: WorkerThreads
    exchange: ExchangeAccounts | None
    caldav: CalDavAccounts | None
    feeds: FeedAccounts | None
    sync: CalendarSync
    contacts: Contacts
    record_meetings: RecordMeetings
    tasks: Tasks
    task_calendar: TaskCalendar


def build(settings: Settings, *, engine: AsyncEngine | None = None) -> Services:
    """Build every service from ``settings`` (an ``engine`` may be passed in by tests)."""
    secrets = SecretBox(settings.secret_keys)
    links = Links(settings.base_url)
    owns_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    sessions = session_factory(engine, secrets=secrets)  # outbox payloads are sealed with it
    read_sessions = read_session_factory(engine)
    http = SharedHttp(total_timeout=settings.calendar_timeout_seconds * 3)
    threads = WorkerThreads()  # the one pool for every provider's blocking library calls
    caldav = _caldav_factory(settings) if settings.caldav_enabled else None
    providers = _providers(settings, sessions, http, threads, caldav)
    feed_store, feed_cache = FeedStore(sessions), FeedCache()
    if settings.feeds_enabled:  # read-only calendars by address: the stored copy, never a fetch
        providers.register("feed", feed_factory(feed_store, cache=feed_cache, threads=threads))
    scheduler = Scheduler(
        sessions,
        providers,
        secrets,
        timeout=settings.calendar_timeout_seconds,
        read_sessions=read_sessions,
        unreachable_notice_seconds=settings.unreachable_notice_minutes * 60,
        pushed_cache_seconds=settings.pushed_cache_seconds,
    )
    tokens = Tokens(sessions, secrets)
    connections = Connections(
        settings,
        sessions,
        secrets,
        tokens,
        providers,
        {
            "google": GoogleConnect(settings, threads),
            "microsoft": MicrosoftConnect(settings, http, threads),
        },
    )
    exchange = (
        ExchangeAccounts(sessions, secrets, connections, providers, policy=settings.address_policy,
                         adapter=_ews_adapter(settings), threads=threads, data_dir=settings.data_dir)
        if "exchange" in providers.kinds() else None
    )
    caldav_accounts = CalDavAccounts(sessions, secrets, connections, caldav) if caldav is not None else None
    feeds = (
        FeedAccounts(sessions, secrets, connections, feed_store,
                     _feed_refresher(settings, sessions, secrets, feed_store, feed_cache, threads))
        if settings.feeds_enabled else None
    )
    identities = Identities(sessions, default_timezone=settings.default_timezone)
    contacts = Contacts(sessions)
    tasks = Tasks(sessions, [task_listener])  # each change -> the tasks calendar, via the outbox
    record_meetings = RecordMeetings(sessions, scheduler, links=links, contacts=contacts)
    chat_notifier = ChatNotifier(sessions)
    conversation = Conversation(
        AppBackend(
            sessions=sessions,
            scheduler=scheduler,
            tokens=tokens,
            links=links,
            connections=connections,
            identities=identities,
            exchange=exchange is not None,
            caldav=caldav_accounts is not None,
            feeds=feeds is not None,
            meetings=record_meetings,
            tasks=tasks,
        )
    )
    outbox = OutboxWorker(sessions, {}, poll_seconds=settings.outbox_poll_seconds)
    wake_on_commit(sessions, outbox.wake)  # a committed enqueue runs now, not at the next poll
    outbox.register(EMAIL_KIND, Mailer(settings.smtp).send_payload)
    outbox.register(SYNC_EVENT_KIND, EventSync(sessions, scheduler, announce_link=announce_video_link).sync)
    outbox.register(NOTICE_KIND, chat_notifier.handle)
    outbox.register(REMINDER_KIND, Reminders(sessions).send)
    push = PushChannels(sessions, scheduler, base_url=settings.base_url, read_sessions=read_sessions,
                        enabled=push_possible(settings.base_url, settings.sync_push))
    sync = CalendarSync(sessions, scheduler, push=push, read_sessions=read_sessions,
                        poll_seconds=settings.sync_poll_seconds, tick_seconds=settings.sync_round_seconds)
    outbox.register(SYNC_KIND, sync.handle)
    task_calendar = TaskCalendar(sessions, scheduler)
    outbox.register(SYNC_TASK_KIND, TaskEventSync(sessions, scheduler).sync)
    outbox.register(DROP_CALENDAR_KIND, task_calendar.drop_calendar)
    connections.before_disconnect.append(push.stop_connection)
    return Services(
        settings=settings,
        secrets=secrets,
        templates=Templates(),
        links=links,
        engine=engine,
        owns_engine=owns_engine,
        sessions=sessions,
        read_sessions=read_sessions,
        http=http,
        providers=providers,
        scheduler=scheduler,
        tokens=tokens,
        domains=Domains(sessions),
        bookings=Bookings(sessions, scheduler, links=links),
        connections=connections,
        identities=identities,
        chat_notifier=chat_notifier,
        conversation=conversation,
        outbox=outbox,
        public_pages=PublicPages(read_sessions, links=links),
        threads=threads,
        exchange=exchange,
        caldav=caldav_accounts,
        feeds=feeds,
        sync=sync,
        contacts=contacts,
        record_meetings=record_meetings,
        tasks=tasks,
        task_calendar=task_calendar,
    )


def _providers(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    http: SharedHttp,
    threads: WorkerThreads,
    caldav: CalDavFactory | None = None,
) -> ProviderRegistry:
    """The calendar providers this deployment configured, all on the one worker pool."""
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    timeout = settings.calendar_timeout_seconds
    if settings.google.enabled:
        registry.register("google", google_factory(settings.google, threads=threads, timeout=timeout))
    if settings.microsoft.enabled:
        registry.register(
            "microsoft",
            microsoft_factory(settings.microsoft, http, threads=threads, request_timeout=timeout),
        )
    if settings.exchange_enabled:
        registry.register(
            "exchange", exchange_factory(adapter=_ews_adapter(settings), threads=threads, timeout=timeout)
        )
    if caldav is not None:
        registry.register("caldav", caldav)
    return registry


def _caldav_factory(settings: Settings) -> CalDavFactory:
    """CalDAV's factory: its own aiohttp session through the SSRF policy, the operator's TLS trust."""
    return caldav_factory(policy=settings.address_policy, tls=trust_context(settings.extra_ca_file),
                          timeout=settings.calendar_timeout_seconds)


def _ews_adapter(settings: Settings) -> type[requests.adapters.HTTPAdapter]:
    """The HTTP adapter exchangelib speaks through: the SSRF policy and the operator's TLS trust."""
    return http_adapter_class(settings.address_policy, trust_context(settings.extra_ca_file))


def _feed_refresher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    secrets: SecretBox,
    store: FeedStore,
    cache: FeedCache,
    threads: WorkerThreads,
) -> FeedRefresher:
    """The ICS feeds' fetcher (the SSRF policy, the operator's TLS trust, the size cap) and refresh;
    a feed failing too long is reported like a calendar that lost access."""
    fetcher = FeedFetcher(
        policy=settings.address_policy,
        ssl_context=trust_context(settings.extra_ca_file),
        limits=FeedLimits(max_bytes=settings.feed_max_bytes),
    )
    return FeedRefresher(
        sessions, store, fetcher,
        open_secret=lambda sealed: secrets.open(sealed, purpose=CREDENTIALS_PURPOSE),
        cache=cache, threads=threads, on_problem=CalendarHealth(sessions).calendar_lost,
    )
