"""Scheduling a meeting with a contact in chat, over the real app backend and database with a local
calendar: "schedule 30 minutes with ... tomorrow afternoon" in English, Portuguese and Danish ->
the first free times as buttons -> a pressed one schedules it (invitation with calendar sync on,
only recorded with it off); a new address becomes a contact; refusals are sentences."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.meeting import ACTION
from bot.conversation.reply import Button
from bot.notices.email import EMAIL_KIND
from storage.crypto import SecretBox
from storage.models import Booking, Contact, MeetingEngagement, OutboxMessage, User
from tests.conversation.test_conversation import buttons, texts
from tests.support.conversation_world import CPH, NOW, WORK_ICS, World, add_calendars, make_world


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                make_settings: Any) -> World:
    made = await make_world(sessions, secrets, make_settings)
    await add_calendars(made, secrets, {"Work": WORK_ICS})
    return made


async def _rows(world: World, model: Any) -> list[Any]:
    async with world.sessions() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


def _starts(found: list[Button]) -> list[datetime]:
    return [datetime.fromisoformat(b.value.split()[1]).astimezone(CPH) for b in found]


async def test_schedule_tomorrow_afternoon_in_three_languages(world: World) -> None:
    talk = world.conversation
    en = await talk.message(world.speaker, "Schedule 30 minutes with rui@example.pt tomorrow afternoon",
                            now=NOW)
    said = texts(en)
    assert "rui@example.pt wasn't one of your contacts yet, so I added them as Rui." in said
    assert "Pick a time for 30 minutes with Rui (rui@example.pt), Fri, Mar 27, 12:00 - 6:00 PM:" in said
    offered = buttons(en)
    starts = _starts(offered)
    assert all(b.action == ACTION for b in offered) and 1 <= len(offered) <= 8
    assert starts[0] == datetime(2026, 3, 27, 12, 0, tzinfo=CPH)  # the afternoon, not the morning
    assert all(time(12) <= s.time() < time(17) for s in starts)
    assert not any(time(12, 31) <= s.time() < time(14, 30) for s in starts)  # Review is 13:00-14:30
    assert offered[0].label.replace("\u202f", " ") == "Fri, Mar 27, 12:00 PM"
    [contact] = await _rows(world, Contact)
    assert (contact.email, contact.name) == ("rui@example.pt", "Rui")

    done = await talk.action(world.speaker, ACTION, offered[0].value, now=NOW)
    assert texts(done) == ("Done: “Meeting with Ana Lúcia” with Rui, Fri, Mar 27, 12:00 PM. "
                           "The invitation went to rui@example.pt.")
    [booking] = await _rows(world, Booking)
    [engagement] = await _rows(world, MeetingEngagement)
    assert booking.page_id is None and booking.visitor_email == "rui@example.pt"
    assert (engagement.source, engagement.booking_id) == ("contact_record", booking.id)
    mails = [m for m in await _rows(world, OutboxMessage) if m.kind == EMAIL_KIND]
    assert [m.payload["to"] for m in mails] == ["rui@example.pt"]

    pt = await talk.message(world.as_locale("pt_BR"), "agendar 30 minutos com rui@example.pt amanhã à tarde",
                            now=NOW)
    said = texts(pt)
    assert "ainda não estava" not in said  # known now
    assert ("Escolha um horário de 30 minutos com Rui (rui@example.pt), sex., 27 de mar., 12:00 - 18:00:"
            in said)
    starts_pt = _starts(buttons(pt))
    assert starts[0] not in starts_pt and starts_pt[0] == datetime(2026, 3, 27, 12, 30, tzinfo=CPH)
    done = await talk.action(world.as_locale("pt_BR"), ACTION, buttons(pt)[0].value, now=NOW)
    assert texts(done).startswith("Pronto: “Meeting with Ana Lúcia” com Rui, sex., 27 de mar., 12:30.")
    assert "O convite foi enviado para rui@example.pt." in texts(done)

    da = await talk.message(world.as_locale("da"), "planlæg 30 minutter med bo.lind@example.dk i morgen "
                            "eftermiddag", now=NOW)
    said = texts(da)
    assert ("bo.lind@example.dk var ikke en af dine kontakter endnu, så jeg har tilføjet dem som Bo Lind."
            in said)
    assert "Vælg et tidspunkt på 30 minutter med Bo Lind (bo.lind@example.dk)" in said
    assert "Tidspunkterne er i Danmark" in said
    starts_da = _starts(buttons(da))
    assert starts_da[0] == datetime(2026, 3, 27, 14, 30, tzinfo=CPH)  # 12:00 and 12:30 are taken now
    done = await talk.action(world.as_locale("da"), ACTION, buttons(da)[0].value, now=NOW)
    assert texts(done).startswith("Klart: “Meeting with Ana Lúcia” med Bo Lind, fre. 27. mar., 14.30.")
    assert len(await _rows(world, Booking)) == 3 and len(await _rows(world, MeetingEngagement)) == 3


async def test_with_calendar_sync_off_it_is_only_recorded(world: World) -> None:
    async with world.sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == world.speaker.user_id).values(calendar_sync=False))
    talk = world.conversation
    offered = buttons(await talk.command(world.speaker, "schedule 45 minutes with zoe@example.com friday",
                                         now=NOW))
    assert offered and all(b.value.endswith(" 45") for b in offered)
    done = await talk.action(world.speaker, ACTION, offered[0].value, now=NOW)
    assert "is on their contact record. Nothing was sent" in texts(done)
    assert await _rows(world, Booking) == [] and await _rows(world, OutboxMessage) == []
    [engagement] = await _rows(world, MeetingEngagement)
    assert engagement.booking_id is None and (engagement.end_at - engagement.start_at).seconds == 45 * 60


async def test_refusals_are_sentences(world: World) -> None:
    talk = world.conversation
    assert "Who with?" in texts(await talk.message(world.speaker, "schedule 30 minutes tomorrow", now=NOW))
    offered = buttons(await talk.message(world.speaker, "book 30 minutes with rui@example.pt tomorrow",
                                         now=NOW))
    await talk.action(world.speaker, ACTION, offered[0].value, now=NOW)
    again = await talk.action(world.speaker, ACTION, offered[0].value, now=NOW)
    assert texts(again) == "That time isn't free any more. Ask me again for other times."
    forged = await talk.action(world.speaker, ACTION, "1 not-a-time 30", now=NOW)
    assert "That button no longer does anything." in texts(forged)
    _, start, minutes = offered[1].value.split()
    stranger = await talk.action(world.speaker, ACTION, f"999999 {start} {minutes}", now=NOW)
    assert texts(stranger) == "I couldn't find that contact any more. Please ask me again."
    over = await talk.message(world.speaker, "schedule 30 minutes with rui@example.pt yesterday", now=NOW)
    assert "already over" in texts(over) and not buttons(over)
    assert len(await _rows(world, MeetingEngagement)) == 1


def test_help_mentions_scheduling() -> None:
    from bot.conversation.core import help_reply

    assert "schedule 30 minutes with ana@example.com tomorrow" in help_reply("en").plain_text()
    assert "agendar 30 minutos com" in help_reply("pt_BR").plain_text()
    assert "planlæg 30 minutter med" in help_reply("da").plain_text()
