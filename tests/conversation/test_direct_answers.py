"""Direct answers in the host chat: yes or no for one moment, why a day has no free time, the day
named once, and the answer in the language the question is written in (English, Portuguese,
Danish). Summer time starts Sunday 29 March 2026 in Copenhagen, inside the week asked about."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.written import written_language
from storage.crypto import SecretBox
from tests.conversation.test_conversation import sections, texts
from tests.support.conversation_world import HOME_ICS, NOW, WORK_ICS, World, add_calendars, make_world

# Monday 30 March (the first day of summer time): busy 09:00-10:00 local; Tuesday 31 March: an all-day event.
AFTER_DST_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Slotbot tests//EN
BEGIN:VEVENT
UID:monday@test
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Copenhagen:20260330T090000
DTEND;TZID=Europe/Copenhagen:20260330T100000
SUMMARY:Board call
END:VEVENT
BEGIN:VEVENT
UID:offsite@test
DTSTAMP:20260301T000000Z
DTSTART;VALUE=DATE:20260331
DTEND;VALUE=DATE:20260401
SUMMARY:Company offsite
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                make_settings: Any) -> World:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": WORK_ICS, "Home": HOME_ICS, "Later": AFTER_DST_ICS})
    return made


async def ask(world: World, text: str, locale: str = "en") -> str:
    return texts(await world.conversation.message(world.as_locale(locale), text, now=NOW))


async def test_a_free_moment_is_a_yes_in_three_languages(world: World) -> None:
    # Friday 15:00-16:00 is "Focus time", marked free (transparent), so it does not count as busy.
    en = await ask(world, "am I free at 3pm tomorrow?")
    assert en.startswith("Yes, 3:00 - 4:00 PM is free.")
    assert "Denmark Time" in en
    pt = await ask(world, "estou livre amanhã às 15h?", "pt_BR")
    assert pt.startswith("Sim, 15:00 - 16:00 está livre.")
    da = await ask(world, "er jeg ledig i morgen kl. 15?", "da")
    assert da.startswith("Ja, 15.00-16.00 er ledig.")


async def test_a_busy_moment_is_a_no_with_the_next_free_time(world: World) -> None:
    en = await ask(world, "am I free at 1pm tomorrow?")
    assert "No — 1:00 - 2:00 PM is busy (Review)." in en  # the host's own event, in a private answer
    assert "Next free: 2:30 PM." in en
    assert "Planning" not in en  # only what is busy in the window asked about is named
    pt = await ask(world, "estou livre amanhã às 13h?", "pt_BR")
    assert "Não — 13:00 - 14:00 está ocupado (Review)." in pt and "Próximo horário livre: 14:30." in pt
    da = await ask(world, "er jeg ledig i morgen kl. 13?", "da")
    assert "Nej — 13.00-14.00 er optaget (Review)." in da and "Næste ledige tid: 14.30." in da


async def test_a_length_asked_for_is_the_window(world: World) -> None:
    yes = await ask(world, "am I free at 2:30pm tomorrow for 90 minutes?")
    assert yes.startswith("Yes, 2:30 - 4:00 PM is free.")
    no = await ask(world, "am I free at 3pm tomorrow for 2 hours?")  # the dentist at 16:00
    # 3-4 PM is free (Focus time is shown as free): only the dentist hour is busy, and it is named.
    assert "No — only part of 3:00 - 5:00 PM is free: 4:00 - 5:00 PM is busy (Planning)." in no
    assert "Focus time" not in no
    assert "Next free: Mon, Mar 30, 10:00 AM." in no  # Monday 9-10 is the board call


async def test_outside_working_hours_and_across_summer_time(world: World) -> None:
    evening = await ask(world, "am I free at 7pm tomorrow?")
    assert "No — 7:00 - 8:00 PM is outside your working hours." in evening
    assert "Next free: Mon, Mar 30, 10:00 AM." in evening
    monday = await ask(world, "am I free at 10am on monday?")  # 08:00 UTC: summer time
    assert monday.startswith("Yes, 10:00 - 11:00 AM is free.")
    board = await ask(world, "er jeg ledig mandag kl. 9?", "da")
    assert "Nej — 09.00-10.00 er optaget (Board call)." in board and "Næste ledige tid: 10.00." in board


async def test_a_day_without_free_time_says_why(world: World) -> None:
    saturday = await world.conversation.message(world.speaker, "when am I free on saturday?", now=NOW)
    assert texts(saturday) == "Sat, Mar 28 is outside your working hours."
    assert sections(saturday) == []
    pt = await ask(world, "quando estou livre no sábado?", "pt_BR")
    assert pt == "Sáb., 28 de mar. está fora do seu horário de trabalho."
    # Tuesday is blocked by an all-day event: the host is told which one.
    tuesday = await ask(world, "when am I free on tuesday?")
    assert tuesday == "Tue, Mar 31: Company offsite (all day)."
    da = await ask(world, "hvornår er jeg ledig tirsdag?", "da")
    assert da == "Tirs. 31. mar.: Company offsite (hele dagen)."
    pt = await ask(world, "quando estou livre na terça?", "pt_BR")
    assert pt == "Ter., 31 de mar.: Company offsite (dia inteiro)."


async def test_the_day_is_named_once(world: World) -> None:
    answer = await world.conversation.message(world.speaker, "when am I free tomorrow?", now=NOW)
    said = texts(answer)
    assert said.startswith("You're free at these times:")
    assert "Mar 27" not in said
    assert sections(answer) == [("Fri, Mar 27", ["9:00 - 10:00 AM", "11:00 AM - 1:00 PM", "2:30 - 4:00 PM"])]
    afternoon = await world.conversation.message(world.speaker, "when am I free tomorrow afternoon?",
                                                 now=NOW)
    assert sections(afternoon) == [("Fri, Mar 27, 12:00 - 6:00 PM", ["12:00 - 1:00 PM", "2:30 - 4:00 PM"])]
    week = await world.conversation.message(world.speaker, "when am I free next week?", now=NOW)
    assert "You're free at these times, Mon, Mar 30 - " in texts(week)  # several days: the window is said
    listed = await world.conversation.message(world.speaker, "when am I free at 3pm tomorrow?", now=NOW)
    assert sections(listed) == [("Fri, Mar 27, 3:00 - 4:00 PM", ["3:00 - 4:00 PM"])]  # "when": a list


async def test_the_answer_is_in_the_language_the_question_is_written_in(world: World) -> None:
    da = await ask(world, "er jeg ledig i morgen kl. 15?", "en")
    assert da.startswith("Ja, 15.00-16.00 er ledig.")
    pt = await ask(world, "estou livre amanhã às 13h?", "da")
    assert pt.startswith("Não — 13:00 - 14:00 está ocupado (Review).")
    en = await ask(world, "am I free at 3pm tomorrow?", "pt_BR")
    assert en.startswith("Yes, 3:00 - 4:00 PM is free.")
    unclear = await ask(world, "15h?", "da")  # says nothing about its language: the user's
    assert "ledig" in unclear


@pytest.mark.parametrize(("text", "language"), [
    ("am I free at 3pm tomorrow?", "en"),
    ("what's on my calendar today?", "en"),
    ("estou livre amanhã às 15h?", "pt_BR"),
    ("o que tenho na agenda hoje?", "pt_BR"),
    ("er jeg ledig i morgen kl. 15?", "da"),
    ("hvad har jeg i kalenderen i dag?", "da"),
    ("free", None),
    ("link", None),
    ("15h", None),
])
def test_written_language(text: str, language: str | None) -> None:
    assert written_language(text) == language
