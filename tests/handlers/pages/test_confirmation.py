"""The confirmation page: what, when (no seconds, the visitor's zone), where, with whom, and "add
to calendar" (the .ics download is the invitation's event; Google and Outlook links in UTC)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.booking.add_to_calendar import google_link, outlook_link
from bot.booking.events import invitation_uid
from bot.handlers.pages.confirmation import confirmation_context, initials
from bot.handlers.pages.visitor import translator
from bot.keys import BOOKINGS, SECRETS, SESSIONS
from bot.notices.email import EMAIL_KIND
from bot.notices.envelope import unwrap
from bot.pages.public import ManagedBooking, PublicHost
from bot.templating import Templates
from storage.models import Booking, OutboxMessage
from tests.conftest import AppClient
from tests.support.booking_form import book_on_page


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, outbox_worker=False)  # e-mails wait to be read


def _href(page: str, pattern: str) -> str:
    found = re.search(r'href="(' + pattern + r'[^"]*)"', page)
    assert found, pattern
    return html.unescape(found.group(1))


async def _booking(client: TestClient) -> Booking:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(Booking))).scalar_one()


async def _invitation(client: TestClient) -> icalendar.Event:
    """The event of the invitation e-mailed to the visitor (waiting in the outbox)."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == EMAIL_KIND)
        rows = (await session.execute(query)).scalars()
        mails = [unwrap(row.kind, row.payload, client.app[SECRETS]) for row in rows]
    [ics] = [mail["ics"] for mail in mails if mail["to"] == "ana@example.com"]
    return next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))


def _event(text: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(text)
    return calendar, next(iter(calendar.walk("VEVENT")))


async def test_the_confirmation_shows_the_meeting_in_the_visitors_zone(client: TestClient) -> None:
    booked = await book_on_page(client, form={"tz": "Asia/Tokyo"})
    assert booked.status == 200
    page, booking = booked.html, await _booking(client)
    assert "<title>Booked · Intro call</title>" in page and "Intro call" in page and "with Demo Host" in page
    local = booking.start_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local:%A}, {local:%B} {local.day}, {local.year} · " in page  # "Thursday, December 3, 2026 · "
    assert re.search(r"\d{1,2}:\d\d\W+\d{1,2}:\d\d\s(AM|PM)", page)  # start and end, no seconds
    assert not re.search(r"\d:\d\d:\d\d", page)
    assert "Tokyo time (Asia/Tokyo)" in page and "30 minutes" in page
    assert 'class="confirmation-avatar confirmation-initials" aria-hidden="true">DH<' in page
    assert "Change or cancel" in page and booked.manage_path
    assert "Add to your calendar" in page


async def test_the_ics_download_is_the_invitations_event(client: TestClient) -> None:
    booked = await book_on_page(client)
    booking = await _booking(client)
    ics_path = _href(booked.html, "/meetings-manage/")
    assert ics_path == booked.manage_path + "/event.ics"
    response = await client.get(ics_path)
    assert response.status == 200 and response.content_type == "text/calendar"
    assert response.headers["Content-Disposition"] == 'attachment; filename="meeting.ics"'
    calendar, event = _event(await response.text())
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert event.decoded("DTSTART") == booking.start_at.astimezone(UTC)
    assert event.decoded("DTEND") == booking.end_at.astimezone(UTC)
    assert str(event["UID"]) == invitation_uid(booking) and str(event["SUMMARY"]) == "Intro call: Ana Lúcia"
    assert "Change or cancel: http" in str(event["DESCRIPTION"])
    invited = await _invitation(client)
    for name in ("UID", "SUMMARY", "SEQUENCE", "DESCRIPTION"):
        assert str(event[name]) == str(invited[name]), name
    assert event.decoded("DTSTART") == invited.decoded("DTSTART")

    assert client.app is not None
    await client.app[BOOKINGS].cancel(booked.manage_path.rsplit("/", 1)[1])
    calendar, event = _event(await (await client.get(ics_path)).text())
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1 and str(event["UID"]) == invitation_uid(booking)


async def test_an_unknown_token_has_no_calendar_file(client: TestClient) -> None:
    response = await client.get("/meetings-manage/not-a-token/event.ics?lang=da")
    assert response.status == 404 and response.content_type == "text/html"
    assert "Linket er ikke gyldigt" in await response.text()


async def test_the_calendar_links_carry_the_meetings_utc_times(client: TestClient) -> None:
    booked = await book_on_page(client, form={"tz": "America/New_York"})
    booking = await _booking(client)
    start, end = booking.start_at.astimezone(UTC), booking.end_at.astimezone(UTC)
    google = parse_qs(urlsplit(_href(booked.html, "https://calendar.google.com/")).query)
    assert google["action"] == ["TEMPLATE"] and google["text"] == ["Intro call with Demo Host"]
    assert google["dates"] == [f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"]
    assert "/meetings-manage/" in google["details"][0]
    for base in ("https://outlook.live.com/calendar/0/deeplink/compose",
                 "https://outlook.office.com/calendar/0/deeplink/compose"):
        outlook = parse_qs(urlsplit(_href(booked.html, re.escape(base))).query)
        assert outlook["path"] == ["/calendar/action/compose"] and outlook["rru"] == ["addevent"]
        assert outlook["subject"] == ["Intro call with Demo Host"]
        assert outlook["startdt"] == [f"{start:%Y-%m-%dT%H:%M:%SZ}"]
        assert outlook["enddt"] == [f"{end:%Y-%m-%dT%H:%M:%SZ}"]


def test_links_across_a_dst_change_are_in_utc() -> None:
    # New York falls back on 1 November 2026: 01:30 happens twice. This meeting is the second one.
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york)  # EST: 06:30 UTC
    end = datetime(2026, 11, 1, 2, 0, tzinfo=new_york)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
                                                            datetime(2026, 11, 1, 7, 0, tzinfo=UTC))
    query = parse_qs(urlsplit(google_link("Call", start, end, details="d", location="Room 1")).query)
    assert query["dates"] == ["20261101T063000Z/20261101T070000Z"] and query["location"] == ["Room 1"]
    query = parse_qs(urlsplit(outlook_link("Call", start, end)).query)
    assert (query["startdt"], query["enddt"]) == (["2026-11-01T06:30:00Z"], ["2026-11-01T07:00:00Z"])
    assert "location" not in query
    shown = confirmation_context(_managed(start, end, "America/New_York"), title="Call",
                                 manage="http://x.test/meetings-manage/t", lang="en")
    assert shown["when"] == {"day": "Sunday, November 1, 2026", "times": "1:30\u2009\u2013\u20092:00\u202fAM"}
    assert shown["zone"] == "New York time"


def _managed(start: datetime, end: datetime, zone: str, **fields: Any) -> ManagedBooking:
    host = PublicHost(id=1, slug="demo", display_name="Demo Host", email="demo@example.com",
                      timezone="Europe/Copenhagen", pages_enabled=True, hostname=None,
                      photo_url=fields.pop("photo_url", None))
    values: dict[str, Any] = {"id": 1, "status": "confirmed", "start": start, "end": end, "timezone": zone,
                              "visitor_name": "Ana", "visitor_email": "ana@example.com", "note": "",
                              "host": host, "view": None, "language": "da"}
    values.update(fields)
    return ManagedBooking(**values)


def _render(found: ManagedBooking, lang: str) -> str:
    context = confirmation_context(found, title="Intro call", manage="http://x.test/meetings-manage/t",
                                   lang=lang)
    context.update({"lang": lang, "embed": False, "_": translator(lang)})
    return Templates().render("booked.html", context)


def test_the_place_video_link_and_photo_are_shown_when_the_booking_has_them() -> None:
    start, end = datetime(2026, 12, 2, 1, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 45, tzinfo=UTC)
    found = _managed(start, end, "Asia/Tokyo", location="Rua Augusta 10, Lisboa",
                     join_url="https://meet.example.com/abc-def", photo_url="https://img.example.com/d.png")
    page = _render(found, "da")
    assert 'onsdag den 2. december 2026 · <span class="confirmation-times">10.00\u201310.45</span>' in page
    assert "Tokyo-tid" in page
    assert "45 minutter" in page and "<dt>Hvor</dt><dd>Rua Augusta 10, Lisboa</dd>" in page
    assert 'href="https://meet.example.com/abc-def"' in page and "Deltag i videoopkaldet" in page
    assert 'src="https://img.example.com/d.png"' in page and "confirmation-initials" not in page
    google = parse_qs(urlsplit(html.unescape(_href(page, "https://calendar.google.com/"))).query)
    assert google["location"] == ["Rua Augusta 10, Lisboa"] and google["text"] == ["Intro call med Demo Host"]
    assert google["details"][0].startswith("Deltag i videoopkaldet: https://meet.example.com/abc-def\n")

    plain = _render(_managed(start, end, "UTC", join_url="javascript:alert(1)"), "en")
    assert "javascript:" not in plain and "Video call" not in plain and "<dt>Where" not in plain
    assert "UTC" in plain and "(UTC)" not in plain
    requested = _render(_managed(start, end, "UTC", status="requested"), "pt")
    assert "Solicitado" in requested and "calendar.google.com" not in requested  # not yet in a calendar


def test_initials() -> None:
    assert [initials(n) for n in ("Demo Host", "ana lúcia souza", "Bo", "  ", "(x) Y")] == [
        "DH", "AS", "B", "?", "Y"]


def test_the_booking_just_made_is_shown_as_written() -> None:
    from bot.booking.service import Confirmation
    from bot.booking.visitor import Visitor
    from bot.handlers.pages.confirmation import just_booked

    start, end = datetime(2026, 12, 2, 1, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    host = _managed(start, end, "UTC").host
    view: Any = type("View", (), {"host": host})()
    made = Confirmation(7, "confirmed", start, end, "token", location="Room 1", join_url="https://v.example/x")
    found = just_booked(view, made, Visitor("Ana", "ana@example.com", "Asia/Tokyo", language="da"))
    assert (found.id, found.timezone, found.language, found.location, found.join_url, found.host) == (
        7, "Asia/Tokyo", "da", "Room 1", "https://v.example/x", host)


async def test_the_invitation_and_file_say_where_the_meeting_is(client: TestClient) -> None:
    booked = await book_on_page(client, view_query="?lang=da")
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        booking = (await session.execute(select(Booking))).scalar_one()
        booking.location, booking.join_url = "Rua Augusta 10, Lisboa", "https://meet.example.com/abc"
    _, event = _event(await (await client.get(booked.manage_path + "/event.ics")).text())
    assert str(event["LOCATION"]) == "Rua Augusta 10, Lisboa"
    description = str(event["DESCRIPTION"])
    assert "Deltag i videoopkaldet: https://meet.example.com/abc" in description
    assert description.index("Deltag i") < description.index("Ændr eller aflys: http")
