"""Typed keys of the application's shared state (``app[SETTINGS]``, ``app[SESSIONS]``...).

The services behind them are built by :mod:`bot.wiring` and published by ``bot.app.create_app``.
The service classes are named for the type checker only: importing this module imports none of
them, so any module (handlers included) may import the keys without pulling in the whole graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import aiohttp
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from bot.accounts.caldav import CalDavAccounts
    from bot.accounts.connections import Connections
    from bot.accounts.exchange import ExchangeAccounts
    from bot.accounts.feeds import FeedAccounts
    from bot.accounts.identities import Identities
    from bot.accounts.tokens import Tokens
    from bot.booking.service import Bookings
    from bot.calendar.base import ProviderRegistry
    from bot.contacts.directory import Contacts
    from bot.contacts.scheduling import RecordMeetings
    from bot.contacts.task_calendar import TaskCalendar
    from bot.contacts.tasks import Tasks
    from bot.conversation.core import Conversation
    from bot.demo.seed import DemoExchange
    from bot.notices.chat import ChatNotifier
    from bot.notices.outbox import OutboxWorker
    from bot.pages.domains import Domains
    from bot.pages.links import Links
    from bot.pages.public import PublicPages
    from bot.scheduling.scheduler import Scheduler
    from bot.settings import Settings
    from bot.sync.service import CalendarSync
    from bot.templating import Templates
    from storage.crypto import SecretBox

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
SESSIONS: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("sessions")
READ_SESSIONS: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("read_sessions")  # reads only
HTTP: web.AppKey[aiohttp.ClientSession] = web.AppKey("http")
SECRETS: web.AppKey[SecretBox] = web.AppKey("secrets")
OUTBOX: web.AppKey[OutboxWorker] = web.AppKey("outbox")
PROVIDERS: web.AppKey[ProviderRegistry] = web.AppKey("providers")
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")
TOKENS: web.AppKey[Tokens] = web.AppKey("tokens")
BOOKINGS: web.AppKey[Bookings] = web.AppKey("bookings")
CONNECTIONS: web.AppKey[Connections] = web.AppKey("connections")
LINKS: web.AppKey[Links] = web.AppKey("links")
DOMAINS: web.AppKey[Domains] = web.AppKey("domains")
IDENTITIES: web.AppKey[Identities] = web.AppKey("identities")
CHAT_NOTIFIER: web.AppKey[ChatNotifier] = web.AppKey("chat_notifier")
CONVERSATION: web.AppKey[Conversation] = web.AppKey("conversation")
PUBLIC_PAGES: web.AppKey[PublicPages] = web.AppKey("public_pages")  # what visitor requests read
EXCHANGE: web.AppKey[ExchangeAccounts] = web.AppKey("exchange")  # absent when Exchange is off
CALDAV: web.AppKey[CalDavAccounts] = web.AppKey("caldav")  # absent when CalDAV is off
FEEDS: web.AppKey[FeedAccounts] = web.AppKey("feeds")  # ICS feeds by address; absent when off
SYNC: web.AppKey[CalendarSync] = web.AppKey("sync")  # calendar sync onto contact records
CONTACTS: web.AppKey[Contacts] = web.AppKey("contacts")  # the hosts' contact directories
RECORD_MEETINGS: web.AppKey[RecordMeetings] = web.AppKey("record_meetings")  # scheduled from a record
TASKS: web.AppKey[Tasks] = web.AppKey("tasks")  # the hosts' tasks (listeners: the calendar seam)
TASK_CALENDAR: web.AppKey[TaskCalendar] = web.AppKey("task_calendar")  # "Slotbot tasks" switch
DEMO_EXCHANGE: web.AppKey[DemoExchange] = web.AppKey("demo_exchange")  # `slotbot demo --exchange`

OutboxRegistrar = Callable[[web.Application, "OutboxWorker"], None]
OUTBOX_REGISTRARS: web.AppKey[list[OutboxRegistrar]] = web.AppKey("outbox_registrars")
START_LINKS: web.AppKey[list[tuple[str, str, str]]] = web.AppKey("start_links")
