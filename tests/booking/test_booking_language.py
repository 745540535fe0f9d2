"""The visitor's language end to end: chosen on the page, stored on the booking, and every message
to the visitor in it (confirmation page, e-mails, invitation); the host's in the host's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import icalendar
from aiohttp.test_utils import TestClient
from babel.dates import format_date
from sqlalchemy import select, update

from bot.booking.visitor import Visitor, visitor_language
from bot.keys import BOOKINGS, SESSIONS
from storage.models import Booking, User
from tests.conftest import AppClient
from tests.support.booking_form import book_on_page
from tests.support.mail import Inbox, body_of, smtp_server
from tests.support.outbox import settle


async def _client(app_client: AppClient, inbox: Inbox) -> TestClient:
    return await app_client(seed_demo=True, SMTP_HOST="127.0.0.1", SMTP_PORT=str(inbox.port), SMTP_TLS="none",
                            outbox_worker=False)  # settle() runs the outbox


async def _booking(client: TestClient) -> Booking:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(Booking))).scalar_one()


def _mail_to(inbox: Inbox, address: str) -> list[tuple[str, str, str | None]]:
    """(subject, text, invitation) of each e-mail ``address`` received, in order."""
    found = []
    for received in inbox.received:
        if address in received.recipients:
            ics = next((str(part.get_content()) for part in received.message.walk()
                        if part.get_content_type() == "text/calendar"), None)
            found.append((str(received.message["Subject"]), body_of(received.message), ics))
    return found


def _day(moment: datetime, zone: str, locale: str) -> str:
    return format_date(moment.astimezone(ZoneInfo(zone)).date(), "full", locale=locale)


def test_a_visitors_language_is_one_slotbot_speaks() -> None:
    tags = ("da", "da-DK", "pt", "pt-BR", "pt_BR", "en", "fr", "", None)
    assert [visitor_language(tag) for tag in tags] == ["da", "da", "pt", "pt", "pt", "en", "en", "en", "en"]
    visitor = Visitor("Ana", "ana@example.com", language="pt-BR").validated()
    assert visitor.language == "pt"


async def test_booking_in_danish_is_danish_everywhere_the_visitor_looks(app_client: AppClient) -> None:
    with smtp_server() as inbox:
        client = await _client(app_client, inbox)
        # The form posts its language (the page's picker): no ?lang= and no Accept-Language on the POST.
        booked = await book_on_page(client, view_query="?lang=da", form={"tz": "Asia/Tokyo"})
        assert booked.status == 200
        booking = await _booking(client)
        assert booking.language == "da" and booking.timezone == "Asia/Tokyo"
        html = booked.html
        assert 'lang="da"' in html and "Du er booket" in html and "En invitation er på vej til" in html
        assert _day(booking.start_at, "Asia/Tokyo", "da") in html  # e.g. "mandag den 7. december 2026"
        assert "Tokyo-tid" in html and "30 minutter" in html and "Føj til din kalender" in html
        assert re.search(r"\d\d\.\d\d", html) and not re.search(r"\d\d[:.]\d\d[:.]\d\d", html)  # no seconds
        await settle(client, none_dead=True)

    [(subject, text, ics)] = _mail_to(inbox, "ana@example.com")
    assert subject == "Booket: Intro call med Demo Host"
    assert text.startswith("Tak, Ana Lúcia. Du er booket til ")
    assert _day(booking.start_at, "Asia/Tokyo", "da") in text and "(Tokyo-tid)" in text
    assert "Ændr eller aflys: http" in text and "/meetings-manage/" in text
    assert ics is not None
    event = next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))
    assert "Ændr eller aflys: http" in str(event["DESCRIPTION"])  # our words in the invitation: Danish too
    [(host_subject, host_text, _)] = _mail_to(inbox, "demo.host@example.com")
    assert host_subject == "Ana Lúcia booked Intro call"  # the host's own language (English)
    assert "(Copenhagen time)" in host_text and _day(booking.start_at, "Europe/Copenhagen", "en") in host_text


async def test_booking_in_portuguese_and_a_portuguese_host(app_client: AppClient) -> None:
    with smtp_server() as inbox:
        client = await _client(app_client, inbox)
        assert client.app is not None
        async with client.app[SESSIONS]() as session, session.begin():
            await session.execute(update(User).values(locale="pt_BR"))
        booked = await book_on_page(client, view_query="?lang=pt", form={"tz": "America/Sao_Paulo"})
        assert booked.status == 200 and "Agendamento confirmado" in booked.html
        assert "horário de São Paulo" in booked.html
        booking = await _booking(client)
        assert booking.language == "pt"
        await settle(client, none_dead=True)
        # The visitor cancels, saying why (stored on the booking before the notices are written).
        await client.app[BOOKINGS].cancel(booked.manage_path.rsplit("/", 1)[1], reason="Surgiu um imprevisto")
        await settle(client, none_dead=True)

    visitor = _mail_to(inbox, "ana@example.com")
    assert [subject for subject, _, _ in visitor] == ["Agendado: Intro call com Demo Host",
                                                       "Cancelado: Intro call com Demo Host"]
    assert visitor[0][1].startswith("Obrigado, Ana Lúcia. Seu horário está marcado: ")
    assert _day(booking.start_at, "America/Sao_Paulo", "pt_BR") in visitor[0][1]
    assert visitor[1][1].startswith("Sua reunião de ") and visitor[1][1].strip().endswith(" foi cancelada.")
    host = _mail_to(inbox, "demo.host@example.com")
    assert [subject for subject, _, _ in host] == ["Ana Lúcia agendou Intro call",
                                                    "Ana Lúcia cancelou Intro call"]
    assert "(horário de Copenhague)" in host[0][1]
    assert "Motivo: Surgiu um imprevisto" in host[1][1]


async def test_a_moved_meeting_is_told_in_danish_with_where_it_is(app_client: AppClient) -> None:
    with smtp_server() as inbox:
        client = await _client(app_client, inbox)
        assert client.app is not None
        booked = await book_on_page(client, view_query="?lang=da")
        async with client.app[SESSIONS]() as session, session.begin():  # as the page's location gives them
            await session.execute(update(Booking).values(location="Rua Augusta 10, Lisboa",
                                                         join_url="https://meet.example.com/abc"))
        page = await (await client.get("/meetings/demo")).text()
        later = [unquote(s) for s in re.findall(r"start=([^&]+)&amp;", page)][-1]
        token = booked.manage_path.rsplit("/", 1)[1]
        moved = await client.app[BOOKINGS].reschedule(token, start=datetime.fromisoformat(later),
                                                      now=datetime.now(UTC))
        assert moved.start == datetime.fromisoformat(later)
        await settle(client, none_dead=True)

    [_, (subject, text, ics)] = _mail_to(inbox, "ana@example.com")
    assert subject == "Flyttet: Intro call med Demo Host"
    assert text.startswith("Dit møde er flyttet fra ") and "(Lissabon-tid)" in text  # the posted zone
    assert "Hvor: Rua Augusta 10, Lisboa" in text
    assert "Deltag i videoopkaldet: https://meet.example.com/abc" in text
    assert "Ændr eller aflys: http" in text and ics is not None
    [_, (host_subject, _, _)] = _mail_to(inbox, "demo.host@example.com")
    assert host_subject == "Ana Lúcia moved Intro call"


async def test_the_widget_books_in_the_conversations_language(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True)
    # The widget frames /meetings/demo/intro?embed=1&lang=<the conversation's>; its form posts lang.
    booked = await book_on_page(client, path="/meetings/demo/intro", view_query="?embed=1&lang=pt",
                                post_query="?embed=1")
    assert booked.status == 200 and "Agendamento confirmado" in booked.html
    assert (await _booking(client)).language == "pt"


async def test_an_english_page_books_in_english(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True)
    booked = await book_on_page(client)
    assert booked.status == 200 and "You&#39;re booked" in booked.html
    assert (await _booking(client)).language == "en"


async def test_a_form_without_its_language_follows_the_browser(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True)
    booked = await book_on_page(client, form={"lang": ""}, headers={"Accept-Language": "da-DK,da;q=0.9"})
    assert booked.status == 200 and "Du er booket" in booked.html
    assert (await _booking(client)).language == "da"


async def test_the_manage_page_speaks_the_booking_language(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True)
    booked = await book_on_page(client, view_query="?lang=da")
    manage = await (await client.get(booked.manage_path)).text()
    assert 'lang="da"' in manage and "Aflys" in manage
