"""The conversation over the real app backend and database, with local calendars: every intent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.identities import Profile
from bot.accounts.tokens import TokenRefused
from bot.conversation.reply import Button, Reply, Section, Text
from storage.crypto import SecretBox
from storage.models import (
    Booking,
    Calendar,
    CalendarConnection,
    CustomDomain,
    SchedulingPage,
    User,
)
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

LINK = f"{BASE_URL}/meetings/ana-lucia"


def flat(text: str) -> str:
    """Babel's narrow and thin spaces as plain spaces, its en dashes as hyphens."""
    return (text.replace("\u202f", " ").replace("\u2009", " ").replace("\xa0", " ")
            .replace("\u2013", "-"))


def sections(reply: Reply) -> list[tuple[str, list[str]]]:
    return [(flat(b.heading), [flat(line) for line in b.lines]) for b in reply.blocks
            if isinstance(b, Section)]


def texts(reply: Reply) -> str:
    return flat("\n".join(b.text for b in reply.blocks if isinstance(b, Text)))


def buttons(reply: Reply) -> list[Button]:
    return [b for b in reply.blocks if isinstance(b, Button)]


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox,
                make_settings: Any) -> World:
    return await make_world(sessions, secrets, make_settings)


async def test_free_time_per_day_in_three_languages(world: World, secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": WORK_ICS, "Home": HOME_ICS})
    talk = world.conversation
    en = await talk.message(world.speaker, "when am I free on friday?", now=NOW)
    assert sections(en) == [("Fri, Mar 27", ["9:00 - 10:00 AM", "11:00 AM - 1:00 PM", "2:30 - 4:00 PM"])]
    assert "You're free at these times:" in texts(en)  # the day is the section's heading only
    assert "Mar 27" not in texts(en)
    assert "Denmark Time" in texts(en)
    pt = await talk.message(world.as_locale("pt_BR"), "quando estou livre sexta à tarde?", now=NOW)
    assert sections(pt) == [("sex., 27 de mar., 12:00 - 18:00", ["12:00 - 13:00", "14:30 - 16:00"])]
    assert "Você está livre nestes horários" in texts(pt)
    da = await talk.command(world.as_locale("da"), "ledig fredag i 2 timer", now=NOW)
    assert sections(da) == [("fre. 27. mar.", ["11.00-13.00"])]
    assert "mindst 2 timer" in texts(da)


async def test_nothing_said_about_time_and_a_bare_time_expression(world: World,
                                                                  secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": WORK_ICS})
    answer = await world.conversation.message(world.speaker, "when am I free?", now=NOW)
    assert "the rest of today and the next 3 working days" in texts(answer)
    assert [day for day, _ in sections(answer)] == ["Thu, Mar 26", "Fri, Mar 27", "Mon, Mar 30",
                                                    "Tue, Mar 31"]
    assert sections(answer)[0][1] == ["10:00 AM - 5:00 PM"]  # from now on
    bare = await world.conversation.message(world.as_locale("da"), "i morgen eftermiddag?", now=NOW)
    assert sections(bare) == [("fre. 27. mar., 12.00-18.00", ["12.00-13.00", "14.30-17.00"])]
    past = await world.conversation.message(world.speaker, "was I free yesterday?", now=NOW)
    assert "already over" in texts(past) and not sections(past)


async def test_an_unreadable_calendar_is_never_shown_as_free(world: World, secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": BROKEN_ICS, "Home": HOME_ICS})
    answer = await world.conversation.message(world.speaker, "when am I free on friday?", now=NOW)
    said = texts(answer)
    assert "Couldn't read Work (access lost) — results may be incomplete." in said
    assert "These look free in the calendars that could be read — not certain:" in said
    assert "You're free at these times" not in said
    assert sections(answer) == [("Fri, Mar 27", ["9:00 AM - 4:00 PM"])]  # Home's dentist 16-17
    assert buttons(answer)[-1].label == "Open settings"
    pt = await world.conversation.message(world.as_locale("pt_BR"), "livre na sexta?", now=NOW)
    assert "Não consegui ler Work (acesso perdido)" in texts(pt)
    assert "sem garantia" in texts(pt)
    da = await world.conversation.message(world.as_locale("da"), "ledig fredag?", now=NOW)
    assert "Kunne ikke læse Work (adgang mistet)" in texts(da)


async def test_no_readable_calendar_shows_no_free_time(world: World, secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": BROKEN_ICS})
    answer = await world.conversation.message(world.speaker, "free next week?", now=NOW)
    assert "No calendar could be read, so I can't tell when you're free" in texts(answer)
    assert sections(answer) == []


async def test_no_calendar_connected_offers_connect_links_that_sign_in(world: World) -> None:
    answer = await world.conversation.message(world.speaker, "when am I free tomorrow?", now=NOW)
    assert "no calendar connected yet" in texts(answer)
    google, exchange, caldav, feed = buttons(answer)
    assert parse_qs(urlsplit(exchange.url or "").query)["next"] == ["/dashboard/connect/exchange"]
    assert parse_qs(urlsplit(caldav.url or "").query)["next"] == ["/dashboard/connect/caldav"]
    assert parse_qs(urlsplit(feed.url or "").query)["next"] == ["/dashboard/connect/feed"]
    url = urlsplit(google.url or "")
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{BASE_URL}/dashboard/login"
    query = parse_qs(url.query)
    assert query["next"] == ["/dashboard/connect/google"]
    _, session = await world.tokens.redeem_login(query["token"][0])
    assert session.user_id == world.speaker.user_id
    with pytest.raises(TokenRefused):
        await world.tokens.redeem_login(query["token"][0])


async def test_free_time_in_the_speakers_zone_across_zones_and_dst(world: World,
                                                                   secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": WORK_ICS, "Home": HOME_ICS})
    new_york = await world.identities.resolve("slack", "T1", "U1", Profile(
        name="Ana Lúcia", timezone="America/New_York"))
    # New York is on summer time already (-04:00), Copenhagen not yet (+01:00): 5 hours apart.
    answer = await world.conversation.message(new_york, "when am I free on friday?", now=NOW)
    assert sections(answer) == [("Fri, Mar 27", ["9:30 - 11:00 AM", "12:00 - 5:00 PM"])]
    assert "New York" in texts(answer)


async def test_share_my_link_and_named_pages(world: World, sessions: async_sessionmaker[AsyncSession]
                                             ) -> None:
    talk = world.conversation
    answer = await talk.message(world.speaker, "share my link", now=NOW)
    public = f"Book a time with Ana Lúcia: {LINK}"
    assert answer.public_text == public and answer.private
    assert f"Your link for Meeting with Ana Lúcia (30 minutes or 1 hour): {LINK}" in texts(answer)
    share, page = buttons(answer)
    assert (share.action, share.value, page.url) == ("share_link", public, LINK)
    posted = await talk.action(world.speaker, "share_link", share.value, now=NOW)
    assert posted.public_text == public and not posted.private
    pt = await talk.message(world.as_locale("pt_BR"), "compartilhar meu link", now=NOW)
    assert pt.public_text == f"Agende um horário com Ana Lúcia: {LINK}"

    async with sessions() as session, session.begin():
        session.add(SchedulingPage(owner_id=world.speaker.user_id, slug="intro", title="Intro call",
                                   durations=[15], rules={}))
    intro = await talk.command(world.speaker, "link intro", now=NOW)
    assert intro.public_text == f"Book a time with Ana Lúcia: {LINK}/intro"
    assert "(15 minutes)" in texts(intro)
    missing = await talk.command(world.speaker, "link standup", now=NOW)
    assert missing.public_text is None
    assert "I couldn't find a page called “standup”. Your pages: Meeting with Ana Lúcia and Intro call." \
        in texts(missing)
    listed = await talk.command(world.speaker, "pages", now=NOW)
    assert sections(listed) == [
        ("Meeting with Ana Lúcia (shared by default)", [LINK, "30 minutes or 1 hour"]),
        ("Intro call", [f"{LINK}/intro", "15 minutes"]),
    ]
    async with sessions() as session, session.begin():
        await session.execute(update(SchedulingPage).where(SchedulingPage.slug == "intro")
                              .values(enabled=False))
    off = await talk.command(world.speaker, "link intro", now=NOW)
    assert "switched off" in texts(off) and off.public_text is None


async def test_calendars_and_their_health(world: World, secrets: SecretBox,
                                          sessions: async_sessionmaker[AsyncSession]) -> None:
    empty = await world.conversation.command(world.speaker, "calendars", now=NOW)
    assert "You have no calendar connected yet." in texts(empty) and buttons(empty)
    await add_calendars(world, secrets, {"Work": BROKEN_ICS, "Home": HOME_ICS})
    lost_id, _ = await add_calendars(world, secrets, {"Shared": WORK_ICS}, account="team@example.com",
                                     default=False)
    async with sessions() as session, session.begin():
        await session.execute(update(CalendarConnection).where(CalendarConnection.id == lost_id)
                              .values(status="needs_reauth"))
        await session.execute(update(Calendar).where(Calendar.name == "Home")
                              .values(checks_conflicts=False))
    answer = await world.conversation.message(world.speaker, "show my calendars", now=NOW)
    assert sections(answer) == [
        ("Slotbot calendar · ana@example.com",
         ["Work: could not be read just now (access lost); new bookings go here",
          "Home: not checked for conflicts"]),
        ("Slotbot calendar · team@example.com", ["Shared: needs reconnecting"]),
    ]
    assert "nobody can book you" in texts(answer)
    assert buttons(answer)[-1].label == "Open settings"
    again = await world.conversation.command(world.as_locale("da"), "kalendere", now=NOW)
    assert sections(again)[0][1][0] == "Work: adgang mistet; nye bookinger havner her"
    note = await world.conversation.message(world.speaker, "share my link", now=NOW)
    assert "nobody can book you while one of your calendars can't be read" in texts(note)


async def test_settings_link_signs_in_once(world: World) -> None:
    answer = await world.conversation.message(world.as_locale("da"), "åbn mine indstillinger", now=NOW)
    [button] = buttons(answer)
    assert button.label == "Åbn indstillinger" and "15 minutter" in texts(answer)
    query = parse_qs(urlsplit(button.url or "").query)
    assert query["next"] == ["/dashboard"]
    await world.tokens.redeem_login(query["token"][0])
    with pytest.raises(TokenRefused):
        await world.tokens.redeem_login(query["token"][0])


async def test_disconnect_lists_accounts_and_the_button_disconnects(
    world: World, secrets: SecretBox, sessions: async_sessionmaker[AsyncSession]
) -> None:
    none = await world.conversation.command(world.speaker, "disconnect", now=NOW)
    assert texts(none) == "No calendar account is connected."
    work_id, _ = await add_calendars(world, secrets, {"Work": WORK_ICS})
    home_id, _ = await add_calendars(world, secrets, {"Home": HOME_ICS}, account="home@example.com",
                                     default=False)
    menu = await world.conversation.message(world.as_locale("pt_BR"), "desconectar agenda", now=NOW)
    assert [(b.label, b.action, b.value) for b in buttons(menu)] == [
        ("Desconectar ana@example.com (Agenda do Slotbot)", "disconnect", str(work_id)),
        ("Desconectar home@example.com (Agenda do Slotbot)", "disconnect", str(home_id)),
    ]
    other = await world.identities.resolve("slack", "T1", "U2", Profile(name="Bo"))
    refused = await world.conversation.action(other, "disconnect", str(work_id), now=NOW)
    assert "not connected" in texts(refused)
    garbage = await world.conversation.action(world.speaker, "disconnect", "x'; drop", now=NOW)
    assert "not connected" in texts(garbage)
    done = await world.conversation.action(world.speaker, "disconnect", str(work_id), now=NOW)
    assert texts(done) == ("Disconnected ana@example.com (Slotbot calendar). "
                           "Its calendars are no longer checked.")
    async with sessions() as session:
        left = (await session.execute(select(Calendar.name))).scalars().all()
    assert left == ["Home"]
    twice = await world.conversation.action(world.speaker, "disconnect", str(work_id), now=NOW)
    assert "not connected (any more)" in texts(twice)
    last = await world.conversation.action(world.speaker, "disconnect", str(home_id), now=NOW)
    assert "You have no calendar connected now" in texts(last)


async def test_connect_google_microsoft_and_exchange(world: World,
                                                     sessions: async_sessionmaker[AsyncSession]) -> None:
    talk = world.conversation
    google = await talk.command(world.speaker, "connect google", now=NOW)
    [button] = buttons(google)
    assert button.label == "Connect Google Calendar" and button.primary
    assert parse_qs(urlsplit(button.url or "").query)["next"] == ["/dashboard/connect/google"]
    microsoft = await talk.message(world.speaker, "connect my outlook calendar", now=NOW)
    assert texts(microsoft) == ("Microsoft 365 is not set up on this Slotbot server yet. Ask your "
                                "administrator to set it up.")
    exchange = await talk.message(world.as_locale("da"), "forbind exchange", now=NOW)
    assert "aldrig her i chatten" in texts(exchange)  # the password goes into a form, never chat
    [button] = buttons(exchange)
    assert button.label == "Forbind Microsoft Exchange"
    assert parse_qs(urlsplit(button.url or "").query)["next"] == ["/dashboard/connect/exchange"]
    icloud = await talk.message(world.speaker, "connect my icloud calendar", now=NOW)
    assert "app password, which you type on a secure page, never here in chat" in texts(icloud)
    [button] = buttons(icloud)  # the CalDAV form only: iCloud is a CalDAV server
    assert button.label == "Connect iCloud, Fastmail, Nextcloud (CalDAV)"
    assert parse_qs(urlsplit(button.url or "").query)["next"] == ["/dashboard/connect/caldav"]
    fastmail = await talk.message(world.as_locale("pt_BR"), "conectar fastmail", now=NOW)
    assert "senha de app" in texts(fastmail)
    for locale, text, said in (("en", "add an ics feed", "Its address is a secret"),
                               ("en", "subscribe to the holidays calendar", "read only"),
                               ("pt_BR", "adicionar calendário webcal", "O endereço é secreto"),
                               ("da", "tilføj kalenderfeed", "Adressen er hemmelig")):
        feed = await talk.message(world.as_locale(locale), text, now=NOW)
        assert said in texts(feed), (text, texts(feed))
        [button] = buttons(feed)  # the feed form only: the address is pasted there, never in chat
        assert parse_qs(urlsplit(button.url or "").query)["next"] == ["/dashboard/connect/feed"]
    async with sessions() as session, session.begin():
        await session.execute(update(User).values(email=None))
    anything = await talk.command(world.speaker, "connect", now=NOW)
    assert "I don't know your e-mail address yet" in texts(anything)
    assert "app password" not in texts(anything)
    assert "Connect iCloud, Fastmail, Nextcloud (CalDAV)" in [b.label for b in buttons(anything)]



async def test_connect_icloud_says_what_works_when_caldav_is_off(
        sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, make_settings: Any) -> None:
    world = await make_world(sessions, secrets, make_settings, SLOTBOT_CALDAV="0")
    icloud = await world.conversation.message(world.speaker, "connect my icloud calendar", now=NOW)
    assert "I can't connect that calendar on this Slotbot server" in texts(icloud)
    assert [b.label for b in buttons(icloud)] == ["Connect Google Calendar", "Connect Microsoft Exchange",
                                                  "Connect an ICS calendar feed"]

async def test_help_unknown_input_and_greetings(world: World) -> None:
    talk = world.conversation
    for locale, text, first in (("en", "help", "Here is what I can do:"),
                                ("pt_BR", "ajuda", "Veja o que posso fazer:"),
                                ("da", "hjælp", "Det kan jeg:")):
        answer = await talk.message(world.as_locale(locale), text, now=NOW)
        assert texts(answer) == first and len(sections(answer)[0][1]) == 10
    assert texts(await talk.command(world.speaker, "", now=NOW)) == "Here is what I can do:"
    unknown = await talk.command(world.as_locale("pt_BR"), "frobnicate", now=NOW)
    assert texts(unknown).startswith("Desculpe, não entendi.")
    assert texts(await talk.message(world.speaker, "qwerty", now=NOW)).startswith("Sorry, I didn't get that.")
    hello = await talk.message(world.as_locale("da"), "hej", now=NOW)
    assert texts(hello).startswith("Hej Ana Lúcia!")
    stale = await talk.action(world.speaker, "no-such-button", "", now=NOW)
    assert "That button no longer does anything" in texts(stale)


async def test_language_override(world: World) -> None:
    talk = world.conversation
    asked = await talk.command(world.speaker, "language", now=NOW)
    assert "language auto" in texts(asked)
    chosen = await talk.command(world.speaker, "language da", now=NOW)
    assert texts(chosen) == "OK, fra nu af taler jeg dansk med dig."
    speaker = await world.identities.resolve("slack", "T1", "U1", Profile(name="Ana Lúcia", locale="en"))
    assert speaker.locale == "da"
    pt = await talk.message(speaker, "fale português", now=NOW)
    assert texts(pt) == "Certo, a partir de agora falo com você em português."
    back = await talk.message(speaker, "language auto", now=NOW)
    assert texts(back) == "OK, I'll follow your chat app's language again."
    assert (await world.identities.resolve("slack", "T1", "U1")).locale == "en"


async def test_home_shows_calendars_pages_and_bookings(world: World, secrets: SecretBox,
                                                       sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_calendars(world, secrets, {"Work": WORK_ICS})
    start = datetime(2026, 3, 27, 11, 0, tzinfo=CPH)
    async with sessions() as session, session.begin():
        page_id = (await session.execute(select(SchedulingPage.id))).scalar_one()
        session.add_all([
            Booking(host_id=world.speaker.user_id, page_id=page_id, start_at=start,
                    end_at=start + timedelta(minutes=30), timezone="Europe/Lisbon",
                    visitor_name="Rui", visitor_email="rui@example.com", manage_token_hash="a"),
            Booking(host_id=world.speaker.user_id, page_id=page_id, start_at=start - timedelta(days=2),
                    end_at=start - timedelta(days=2, minutes=-30), timezone="UTC",
                    visitor_name="Past", visitor_email="p@example.com", manage_token_hash="b"),
        ])
    home = await world.conversation.home(world.as_locale("pt_BR"), now=NOW)
    assert texts(home) == "Olá, Ana Lúcia! Este é o seu Slotbot."
    assert sections(home) == [
        ("Agendas", ["Work (Agenda do Slotbot): OK"]),
        ("Páginas de agendamento", [f"Meeting with Ana Lúcia: {LINK}"]),
        ("Próximos compromissos", ["sex., 27 de mar., 11:00 - 11:30 · Rui · Meeting with Ana Lúcia"]),
    ]
    assert [b.label for b in buttons(home)] == [
        "Conectar Google Agenda", "Conectar Microsoft Exchange",
        "Conectar iCloud, Fastmail, Nextcloud (CalDAV)", "Conectar um feed de calendário ICS",
        "Abrir configurações"]


async def test_unfurl_our_links_only(world: World, secrets: SecretBox,
                                     sessions: async_sessionmaker[AsyncSession]) -> None:
    await add_calendars(world, secrets, {"Work": WORK_ICS})
    talk = world.conversation
    preview = await talk.unfurl(LINK, now=NOW, locale="da")
    assert preview is not None and not preview.private
    assert texts(preview) == "Meeting with Ana Lúcia\n30 minutter eller 1 time"
    assert sections(preview) == [("Næste ledige tider (Danmark-tid):", [
        "tors. 26. mar. kl. 10.00", "tors. 26. mar. kl. 10.30", "tors. 26. mar. kl. 11.00"])]
    assert buttons(preview)[0].url == LINK
    for other in ("https://example.com/meetings/ana-lucia", f"{BASE_URL}/meetings/nobody",
                  f"{BASE_URL}/dashboard", "not a url", f"{LINK}/no-such-page"):
        assert await talk.unfurl(other, now=NOW, locale="en") is None
    async with sessions() as session, session.begin():
        session.add(CustomDomain(hostname="meet.example.com"))
    assert await talk.unfurl("https://meet.example.com/meetings/ana-lucia", now=NOW, locale="en")
    async with sessions() as session, session.begin():
        await session.execute(update(User).values(pages_enabled=False))
    off = await talk.unfurl(LINK, now=NOW, locale="en")
    assert off is not None and "not taking bookings right now" in texts(off)


async def test_unfurl_offers_no_time_when_a_calendar_cannot_be_read(world: World,
                                                                   secrets: SecretBox) -> None:
    await add_calendars(world, secrets, {"Work": BROKEN_ICS, "Home": HOME_ICS})
    preview = await world.conversation.unfurl(LINK, now=datetime(2026, 3, 26, 9, tzinfo=UTC),
                                              locale="pt_BR")
    assert preview is not None and sections(preview) == []
    assert "Abra a página para ver os horários livres." in texts(preview)
