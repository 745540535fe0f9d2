"""Typed keys of the application's shared state (``app[SETTINGS]``, ``app[SESSIONS]``...)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.accounts.connections import Connections
from bot.accounts.identities import Identities
from bot.accounts.tokens import Tokens
from bot.booking.service import Bookings
from bot.calendar.base import ProviderRegistry
from bot.conversation.core import Conversation
from bot.notices.chat import ChatNotifier
from bot.notices.outbox import OutboxWorker
from bot.pages.domains import Domains
from bot.pages.links import Links
from bot.pages.public import PublicPages
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from bot.templating import Templates
from storage.crypto import SecretBox

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
READ_SESSIONS = web.AppKey("read_sessions", async_sessionmaker[AsyncSession])  # reads only
HTTP = web.AppKey("http", aiohttp.ClientSession)
SECRETS = web.AppKey("secrets", SecretBox)
OUTBOX = web.AppKey("outbox", OutboxWorker)
PROVIDERS = web.AppKey("providers", ProviderRegistry)
TEMPLATES = web.AppKey("templates", Templates)
SCHEDULER = web.AppKey("scheduler", Scheduler)
TOKENS = web.AppKey("tokens", Tokens)
BOOKINGS = web.AppKey("bookings", Bookings)
CONNECTIONS = web.AppKey("connections", Connections)
LINKS = web.AppKey("links", Links)
DOMAINS = web.AppKey("domains", Domains)
PUBLIC_PAGES = web.AppKey("public_pages", PublicPages)  # what visitor requests read (read sessions)
IDENTITIES = web.AppKey("identities", Identities)
CHAT_NOTIFIER = web.AppKey("chat_notifier", ChatNotifier)
CONVERSATION = web.AppKey("conversation", Conversation)

OutboxRegistrar = Callable[[web.Application, OutboxWorker], None]
OUTBOX_REGISTRARS = web.AppKey("outbox_registrars", list[OutboxRegistrar])
START_LINKS = web.AppKey("start_links", list[tuple[str, str, str]])
