"""The host's own events in chat: "what's on my calendar today?" in English, Portuguese and Danish,
merged across calendars, all-day events, calendars that could not be read, a day of 25 hours, and
the privacy rule (titles only in the host's own private answers, never in what others see)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.conversation.intents import command, understand
from bot.conversation.reply import Reply
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import Calendar, LocalEvent
from tests.conversation.test_conversation import flat, sections, texts
from tests.conversation.test_direct_answers import AFTER_DST_ICS
from tests.support.conversation_world import (
    BASE_URL,
    BROKEN_ICS,
    CPH,
    HOME_ICS,
    NOW,
    WORK_ICS,
    World,
    add_calendars,
    make_world,
)

# A daily stand-up from 20 October 2026 and, on Sunday 25 October (Copenhagen falls back at 03:00:
# a day of 25 hours), a late review until 23:45 and an event just after that day.
DST_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Slotbot tests//EN
BEGIN:VEVENT
UID:standup@test
DTSTAMP:20261001T000000Z
DTSTART;TZID=Europe/Copenhagen:20261020T080000
DTEND;TZID=Europe/Copenhagen:20261020T081500
RRULE:FREQ=DAILY
SUMMARY:Stand-up
END:VEVENT
BEGIN:VEVENT
UID:late@test
DTSTAMP:20261001T000000Z
DTSTART;TZID=Europe/Copenhagen:20261025T230000
DTEND;TZID=Europe/Copenhagen:20261025T234500
SUMMARY:Late review
END:VEVENT
BEGIN:VEVENT
UID:night@test
DTSTAMP:20261001T000000Z
DTSTART:20261025T233000Z
DTEND:20261026T000000Z
SUMMARY:Night shift
END:VEVENT
END:VCALENDAR
"""

TENTATIVE_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Slotbot tests//EN
BEGIN:VEVENT
UID:maybe@test
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Copenhagen:20260327T083000
DTEND;TZID=Europe/Copenhagen:20260327T090000
STATUS:TENTATIVE
SUMMARY:Coffee with Bo
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                make_settings: Any) -> World:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": WORK_ICS, "Home": HOME_ICS, "Later": AFTER_DST_ICS,
                                        "Social": TENTATIVE_ICS})
    return made


async def ask(world: World, text: str, locale: str = "en", now: datetime = NOW) -> Reply:
    return await world.conversation.message(world.as_locale(locale), text, now=now)


def test_the_questions_are_agenda_questions_in_three_languages() -> None:
    for text in ("what's on my calendar today?", "what do I have tomorrow?", "o que tenho na agenda hoje?",
                 "o que tenho amanhã?", "hvad har jeg i kalenderen i dag?", "hvad har jeg i morgen?"):
        assert understand(text).kind == "agenda", text
    for text in ("what do I have free tomorrow?", "hvad har jeg af ledig tid i morgen?", "calendars",
                 "mostrar minhas agendas", "vis mine kalendere"):
        assert understand(text).kind != "agenda", text
    assert command("agenda tomorrow").kind == "agenda"


async def test_tomorrows_events_across_calendars_in_three_languages(world: World) -> None:
    en = await ask(world, "what do I have tomorrow?")
    assert en.private  # titles: only ever in a private reply
    assert texts(en).startswith("Your calendar, Fri, Mar 27:")
    assert sections(en) == [("Fri, Mar 27", [
        "8:30 - 9:00 AM · Coffee with Bo (tentative)",
        "10:00 - 11:00 AM · Planning",
        "1:00 - 2:30 PM · Review",
        "3:00 - 4:00 PM · Focus time (shown as free)",
        "4:00 - 5:00 PM · Planning",  # the Home calendar's; Work's Focus time is there once
    ])]
    assert "Times are in Denmark Time." in texts(en)
    pt = await ask(world, "o que tenho amanhã?", "pt_BR")
    assert texts(pt).startswith("Sua agenda, sex., 27 de mar.:")
    assert sections(pt)[0][1][0] == "08:30 - 09:00 · Coffee with Bo (provisório)"
    assert sections(pt)[0][1][3] == "15:00 - 16:00 · Focus time (marcado como livre)"
    da = await ask(world, "hvad har jeg i morgen?", "da")
    assert texts(da).startswith("Din kalender, fre. 27. mar.:")
    assert sections(da)[0][1][:2] == ["08.30-09.00 · Coffee with Bo (foreløbig)", "10.00-11.00 · Planning"]


async def test_an_empty_day_says_so_in_three_languages(world: World) -> None:
    # Today (Thursday 26 March) has nothing, including the hours already gone.
    en = await ask(world, "what's on my calendar today?")
    assert sections(en) == [("Thu, Mar 26", ["Nothing on your calendar."])]
    pt = await ask(world, "o que tenho na agenda hoje?", "pt_BR")
    assert sections(pt) == [("qui., 26 de mar.", ["Nada na sua agenda."])]
    da = await ask(world, "hvad har jeg i kalenderen i dag?", "da")
    assert sections(da) == [("tors. 26. mar.", ["Intet i din kalender."])]
    assert texts(await ask(world, "what's on my calendar?")).startswith("Your calendar, Thu, Mar 26:")


async def test_an_all_day_event_is_named_as_such(world: World) -> None:
    en = await ask(world, "what do I have on tuesday?")
    assert sections(en) == [("Tue, Mar 31", ["All day · Company offsite"])]
    da = await ask(world, "hvad har jeg tirsdag?", "da")
    assert sections(da) == [("tirs. 31. mar.", ["Hele dagen · Company offsite"])]
    week = await ask(world, "what do I have next week?")
    days = dict(sections(week))
    assert days["Mon, Mar 30"] == ["9:00 - 10:00 AM · Board call"]  # the first day of summer time
    assert days["Tue, Mar 31"] == ["All day · Company offsite"]
    assert days["Wed, Apr 1"] == ["Nothing on your calendar."]


async def test_a_calendar_that_cannot_be_read_is_named(sessions: async_sessionmaker[AsyncSession],
                                                       secrets: SecretBox, make_settings: Any) -> None:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": BROKEN_ICS, "Home": HOME_ICS})
    en = await ask(made, "what do I have tomorrow?")
    said = texts(en)
    assert "Couldn't read Work (access lost): its events are missing below." in said
    assert sections(en) == [("Fri, Mar 27", ["3:00 - 4:00 PM · Focus time (shown as free)",
                                             "4:00 - 5:00 PM · Planning"])]
    pt = texts(await ask(made, "o que tenho amanhã?", "pt_BR"))
    assert "Não consegui ler Work (acesso perdido): os eventos dela não aparecem abaixo." in pt
    empty = await ask(made, "what's on my calendar today?")
    assert sections(empty) == [("Thu, Mar 26", ["Nothing on the calendars I could read."])]


async def test_no_calendar_could_be_read(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                                         make_settings: Any) -> None:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": BROKEN_ICS})
    answer = await ask(made, "what do I have tomorrow?")
    assert texts(answer) == ("Couldn't read Work (access lost).\nNo calendar could be read, so I can't tell "
                             "what's on your calendar (Fri, Mar 27).")
    assert sections(answer) == []


async def test_no_calendar_connected_or_none_checked(sessions: async_sessionmaker[AsyncSession],
                                                     secrets: SecretBox, make_settings: Any) -> None:
    made = await make_world(sessions, secrets, make_settings)
    assert texts(await ask(made, "what do I have tomorrow?")).startswith(
        "You have no calendar connected yet, so I can't tell what's on it.")
    await add_calendars(made, secrets, {"Work": WORK_ICS})
    async with made.sessions() as session, session.begin():
        for calendar in (await session.execute(select(Calendar))).scalars():
            calendar.checks_conflicts = False
    assert texts(await ask(made, "o que tenho amanhã?", "pt_BR")).startswith(
        "Nenhuma das suas agendas é verificada para conflitos, então não tenho agenda para ler.")


async def test_a_day_of_25_hours_and_a_series_expanded_inside_it(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, make_settings: Any
) -> None:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": DST_ICS})
    saturday = datetime(2026, 10, 24, 12, tzinfo=CPH)
    answer = await ask(made, "what do I have tomorrow?", now=saturday)
    # Local midnight to local midnight: 25 hours. The daily series gives its one instance of the day;
    # 23:30 UTC is 00:30 on Monday, so the night shift is not on Sunday.
    assert sections(answer) == [("Sun, Oct 25", ["8:00 - 8:15 AM · Stand-up",
                                                 "11:00 - 11:45 PM · Late review"])]
    da = await ask(made, "hvad har jeg i morgen?", "da", now=saturday)
    assert sections(da) == [("søn. 25. okt.", ["08.00-08.15 · Stand-up", "23.00-23.45 · Late review"])]
    monday = await ask(made, "what do I have on monday?", now=saturday)
    assert sections(monday) == [("Mon, Oct 26", ["12:30 - 1:00 AM · Night shift",
                                                 "8:00 - 8:15 AM · Stand-up"])]


async def test_titles_only_in_the_hosts_private_answers(world: World) -> None:
    # The host's own answers name events, and they are private (ephemeral, a DM, the 1:1 chat).
    for question in ("what do I have tomorrow?", "am I free at 1pm tomorrow?", "when am I free on tuesday?"):
        answer = await ask(world, question)
        assert answer.private, question
        assert any(name in flat(answer.plain_text()) for name in ("Review", "Company offsite")), question
    # What anyone holding the link sees (a posted link's preview) is busy or free, never a title.
    preview = await world.conversation.unfurl(f"{BASE_URL}/meetings/ana-lucia", now=NOW, locale="en")
    assert preview is not None
    shown = preview.plain_text()
    for title in ("Planning", "Review", "Focus time", "Company offsite", "Board call", "Coffee with Bo"):
        assert title not in shown
    # The link the host shares for everyone carries no title either.
    shared = await world.conversation.action(world.speaker, "share_link", "Book a time: x", now=NOW)
    assert not shared.private and "Review" not in shared.plain_text()


async def test_titles_are_read_live_and_availability_keeps_none(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, make_settings: Any
) -> None:
    made = await make_world(sessions, secrets, make_settings)
    _, ids = await add_calendars(made, secrets, {"Work": WORK_ICS})
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    start, end = datetime(2026, 3, 27, tzinfo=CPH), datetime(2026, 3, 28, tzinfo=CPH)
    user = made.speaker.user_id

    found = await scheduler.availability(user, start=start, end=end, now=NOW)
    assert found.result.busy  # the cached answer of the engine...
    cached = [block for _, _, answers, _ in scheduler._cache.values()
              for busy in answers.values() for block in busy.blocks]
    assert cached and not any(block.title for block in cached)  # ...keeps no title

    _, calendars = await scheduler.occurrences(user, start=start, end=end)
    assert [b.title for b in calendars[0][1].blocks] == ["Planning", "Review", "Focus time"]
    async with sessions() as session, session.begin():
        event = (await session.execute(
            select(LocalEvent).where(LocalEvent.calendar_id == ids["Work"]))).scalar_one()
        event.ical = WORK_ICS.replace("SUMMARY:Review", "SUMMARY:Budget review")
    _, again = await scheduler.occurrences(user, start=start, end=end)
    assert [b.title for b in again[0][1].blocks] == ["Planning", "Budget review", "Focus time"]  # live
