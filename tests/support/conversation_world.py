"""A Slotbot user with local calendars, and the conversation over the real app backend (tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.connections import Connections
from bot.accounts.identities import Identities, Profile
from bot.accounts.tokens import Tokens
from bot.calendar.base import ProviderRegistry
from bot.calendar.google.connect import GoogleConnect
from bot.calendar.local import local_factory
from bot.calendar.microsoft.connect import MicrosoftConnect
from bot.chat_backend import AppBackend
from bot.conversation.core import Conversation, Speaker
from bot.pages.links import Links
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection, LocalEvent

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 3, 26, 10, 0, tzinfo=CPH)  # a Thursday; summer time starts Sunday 29 March
BASE_URL = "http://slotbot.test"

# Friday 27 March: busy 10:00-11:00 and 13:00-14:30; 15:00-16:00 is shown as free.
WORK_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Slotbot tests//EN
BEGIN:VEVENT
UID:standup@test
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Copenhagen:20260327T100000
DTEND;TZID=Europe/Copenhagen:20260327T110000
SUMMARY:Planning
END:VEVENT
BEGIN:VEVENT
UID:review@test
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Copenhagen:20260327T130000
DTEND;TZID=Europe/Copenhagen:20260327T143000
SUMMARY:Review
END:VEVENT
BEGIN:VEVENT
UID:focus@test
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Copenhagen:20260327T150000
DTEND;TZID=Europe/Copenhagen:20260327T160000
TRANSP:TRANSPARENT
SUMMARY:Focus time
END:VEVENT
END:VCALENDAR
"""

# Friday 27 March: a dentist 16:00-17:00.
HOME_ICS = WORK_ICS.replace("20260327T100000", "20260327T160000").replace(
    "20260327T110000", "20260327T170000").replace("review@test", "home-review@test").replace(
    "20260327T130000", "20270101T130000").replace("20260327T143000", "20270101T143000")

BROKEN_ICS = "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n"


def _no_http() -> aiohttp.ClientSession:
    raise AssertionError("no HTTP expected")


@dataclass
class World:
    """Everything a conversation test needs."""

    conversation: Conversation
    identities: Identities
    tokens: Tokens
    speaker: Speaker
    sessions: async_sessionmaker[AsyncSession]

    def as_locale(self, locale: str) -> Speaker:
        return Speaker(self.speaker.user_id, locale, self.speaker.timezone)


async def make_world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                     make_settings: Any, **env: str) -> World:
    settings: Settings = make_settings(SLOTBOT_BASE_URL=BASE_URL, GOOGLE_CLIENT_ID="client",
                                       GOOGLE_CLIENT_SECRET="secret", **env)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    tokens = Tokens(sessions, secrets)
    connections = Connections(settings, sessions, secrets, tokens, registry, {
        "google": GoogleConnect(settings), "microsoft": MicrosoftConnect(settings, _no_http)})
    identities = Identities(sessions)
    backend = AppBackend(sessions=sessions, scheduler=scheduler, tokens=tokens,
                         links=Links(settings.base_url), connections=connections,
                         identities=identities, exchange=settings.exchange_enabled,
                         caldav=settings.caldav_enabled, feeds=settings.feeds_enabled)
    speaker = await identities.resolve("slack", "T1", "U1", Profile(
        name="Ana Lúcia", email="ana@example.com", timezone="Europe/Copenhagen", locale="en"))
    return World(Conversation(backend), identities, tokens, speaker, sessions)


async def add_calendars(world: World, secrets: SecretBox, calendars: dict[str, str],
                        *, account: str = "ana@example.com", default: bool = True
                        ) -> tuple[int, dict[str, int]]:
    """A local account with one calendar per (name, iCalendar text); the first is the default
    unless ``default`` is false."""
    async with world.sessions() as session, session.begin():
        connection = CalendarConnection(
            user_id=world.speaker.user_id, provider="local", account_email=account,
            credentials=secrets.seal(json.dumps({}), purpose="connection.credentials"))
        session.add(connection)
        await session.flush()
        ids = {}
        for index, (name, ics) in enumerate(calendars.items()):
            calendar = Calendar(connection_id=connection.id, user_id=world.speaker.user_id,
                                external_id=name.lower(), name=name, access_role="owner",
                                time_zone="Europe/Copenhagen", is_default=default and index == 0)
            session.add(calendar)
            await session.flush()
            session.add(LocalEvent(calendar_id=calendar.id, uid=f"{name}-events", ical=ics))
            ids[name] = calendar.id
        return connection.id, ids
