"""A page's location reaches the booking, its calendar event and the visitor's invitation: a fixed
link, a phone number, an address, Google Meet and Teams made with the event (through the real
client libraries against the fakes), and a Meet page whose default calendar cannot make one."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.events import SYNC_EVENT_KIND, EventSync
from bot.booking.location_text import booking_place, conference_for, visitor_phone
from bot.booking.notices import announce_video_link
from bot.booking.service import Bookings
from bot.booking.visitor import Visitor
from bot.calendar.base import CalendarError, Conference, ProviderRegistry
from bot.calendar.local import local_factory
from bot.demo.seed import seed
from bot.keys import OUTBOX, SCHEDULER, SESSIONS, SYNC
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND
from bot.notices.outbox import OutboxWorker
from bot.pages.links import Links
from bot.pages.location import LocationKind
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import Booking, Calendar, LocalEvent, SchedulingPage
from tests.conftest import AppClient
from tests.support.google_host import google_host

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.google", "tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday; Monday 23rd is bookable
START = datetime(2026, 11, 23, 11, 0, tzinfo=CPH)
VISITOR = Visitor(name="Ana Lúcia", email="ana@example.com", timezone="America/Sao_Paulo",
                  answers={"Phone": "+55 11 91234-5678"})
MEET = re.compile(r"^https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}$")


async def _book_locally(sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, kind: LocationKind,
                        value: str) -> tuple[Booking, icalendar.Event, icalendar.Event]:
    """Book the demo host's page set to ``kind``/``value`` and run the outbox: the booking, the
    event in the local calendar, and the visitor's invitation."""
    await seed(sessions, secrets)
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets)
    async with sessions() as session, session.begin():
        page_id = (await session.execute(select(SchedulingPage.id))).scalar_one()
        await session.execute(update(SchedulingPage).values(location_kind=kind.value, location_value=value))
    bookings = Bookings(sessions, scheduler, links=Links("http://slotbot.test"))
    made = await bookings.book(page_id, start=START, duration_minutes=30, visitor=VISITOR, now=NOW)
    sent: list[dict[str, Any]] = []

    async def capture(payload: dict[str, Any]) -> None:
        sent.append(payload)

    worker = OutboxWorker(sessions, {SYNC_EVENT_KIND: EventSync(sessions, scheduler).sync,
                                     EMAIL_KIND: capture, NOTICE_KIND: capture})
    assert await worker.run_once() == 4
    async with sessions() as session:
        booking = await session.get(Booking, made.booking_id)
        ical = (await session.execute(select(LocalEvent.ical).where(
            LocalEvent.uid == f"slotbot-booking-{made.booking_id}@slotbot"))).scalar_one()
    assert booking is not None
    invitation = next(p for p in sent if p.get("to") == "ana@example.com")["ics"]
    return (booking, icalendar.Calendar.from_ical(ical).walk("VEVENT")[0],
            icalendar.Calendar.from_ical(invitation).walk("VEVENT")[0])


async def test_a_fixed_video_link_is_the_join_url_the_location_and_the_conference(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    link = "https://us02web.zoom.us/j/812345?pwd=abc"
    booking, event, invitation = await _book_locally(sessions, secrets, LocationKind.LINK, link)
    assert booking.join_url == link and booking.location == link
    for vevent in (event, invitation):
        assert str(vevent["LOCATION"]) == link and str(vevent["CONFERENCE"]) == link
        assert vevent["CONFERENCE"].params["FEATURE"] == "VIDEO"
    # The host's event is labelled for the host; the visitor's invitation in the visitor's words.
    assert f"Join: {link}" in str(event["DESCRIPTION"])
    assert f"Join the video call: {link}" in str(invitation["DESCRIPTION"])


async def test_in_person_the_address_is_the_events_location(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    address = "Rua Augusta 1, 3º; 1100-053 Lisboa"
    booking, event, invitation = await _book_locally(sessions, secrets, LocationKind.IN_PERSON, address)
    assert booking.location == address and booking.join_url is None
    for vevent in (event, invitation):
        assert str(vevent["LOCATION"]) == address and "CONFERENCE" not in vevent
    assert f"Location: {address}" in str(event["DESCRIPTION"])
    assert f"Where: {address}" in str(invitation["DESCRIPTION"])


async def test_a_call_to_the_host_or_to_the_visitor_has_the_number(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox
) -> None:
    booking, event, _ = await _book_locally(sessions, secrets, LocationKind.VISITOR_PHONE, "")
    assert booking.location == "+55 11 91234-5678" and booking.join_url is None
    assert str(event["LOCATION"]) == "+55 11 91234-5678"


async def test_a_meet_page_on_a_calendar_that_cannot_make_one_says_nothing_false(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.booking.events"):
        booking, event, invitation = await _book_locally(sessions, secrets, LocationKind.GOOGLE_MEET, "")
    assert booking.join_url is None and booking.location == ""
    for vevent in (event, invitation):
        assert "LOCATION" not in vevent and "CONFERENCE" not in vevent
        assert "meet.google.com" not in str(vevent.get("DESCRIPTION", ""))
    [warning] = [r for r in caplog.records if "cannot be made" in r.getMessage()]
    assert warning.levelno == logging.WARNING and "local" in warning.getMessage()


def test_where_each_kind_of_page_puts_a_booking() -> None:
    assert booking_place(LocationKind.PHONE, "+45 12 34 56 78").location == "+45 12 34 56 78"
    assert booking_place(LocationKind.LINK, "https://whereby.com/hana").join_url == "https://whereby.com/hana"
    assert booking_place(LocationKind.GOOGLE_MEET, "").location == ""
    assert booking_place(LocationKind.VISITOR_PHONE, "", {"Note": "x"}).location == ""
    assert visitor_phone({" PHONE ": "+45 1\n2"}) == "+45 1 2"
    assert conference_for(LocationKind.GOOGLE_MEET, "google") is Conference.GOOGLE_MEET
    assert conference_for(LocationKind.GOOGLE_MEET, "microsoft") is None
    assert conference_for(LocationKind.TEAMS, "microsoft") is Conference.TEAMS
    assert conference_for(LocationKind.TEAMS, "caldav") is None
    assert conference_for(LocationKind.LINK, "google") is None


# -- Google Meet and Teams, made with the event ------------------------------------------------


async def _booking(client: TestClient, host_id: int, kind: LocationKind) -> int:
    """A confirmed booking of a page with location ``kind``, as Bookings.book leaves it."""
    assert client.app is not None
    start = (datetime.now(UTC) + timedelta(days=9)).replace(hour=10, minute=0, second=0, microsecond=0)
    async with client.app[SESSIONS]() as session, session.begin():
        default = (await session.execute(select(Calendar).where(
            Calendar.user_id == host_id, Calendar.is_default))).scalar_one()
        page = SchedulingPage(owner_id=host_id, slug="intro", title="Intro call", location_kind=kind.value)
        session.add(page)
        await session.flush()
        booking = Booking(page_id=page.id, host_id=host_id, start_at=start,
                          end_at=start + timedelta(minutes=30),
                          timezone="Europe/Lisbon", visitor_name="Vera", visitor_email="vera@visitor.example",
                          note="", answers={}, status="confirmed", manage_token_hash="x" * 64,
                          calendar_id=default.id)
        session.add(booking)
        await session.flush()
        return booking.id


async def _sync(client: TestClient, booking_id: int) -> Booking:
    assert client.app is not None
    await EventSync(client.app[SESSIONS], client.app[SCHEDULER]).sync({"booking_id": booking_id})
    async with client.app[SESSIONS]() as session:
        booking = await session.get(Booking, booking_id)
    assert booking is not None
    return booking


async def _move(client: TestClient, booking_id: int) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        booking = await session.get(Booking, booking_id)
        assert booking is not None
        booking.start_at += timedelta(hours=1)
        booking.end_at += timedelta(hours=1)
        booking.sequence += 1


async def test_a_google_host_with_a_meet_page_gets_the_meet_link_on_the_booking(
    app_client: AppClient, google_fake: FakeGoogle
) -> None:
    client = await app_client(SLOTBOT_SYNC_PUSH="off", **google_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()
    host_id, _ = await google_host(client, google_fake)
    booking_id = await _booking(client, host_id, LocationKind.GOOGLE_MEET)

    booking = await _sync(client, booking_id)

    assert booking.join_url is not None and MEET.match(booking.join_url)
    assert booking.location == "Google Meet"
    (insert,) = google_fake.api_calls("events.insert")
    assert insert.query["conferenceDataVersion"] == "1"
    assert insert.body["conferenceData"]["createRequest"]["conferenceSolutionKey"] == {"type": "hangoutsMeet"}
    event = google_fake.calendars[google_fake.account_email].events[booking.external_event_id or ""]
    assert event["hangoutLink"] == booking.join_url
    assert event["conferenceData"]["entryPoints"][0]["uri"] == booking.join_url

    # Moved: a new event with a new meeting; the old link is not written into it.
    old = booking.join_url
    await _move(client, booking_id)
    moved = await _sync(client, booking_id)
    assert moved.join_url is not None and MEET.match(moved.join_url) and moved.join_url != old
    second = google_fake.api_calls("events.insert")[-1]
    assert old not in str(second.body) and "location" not in second.body

    # Moved again, and Google refuses the meeting: the old link went with its event, none is kept.
    google_fake.calendars[google_fake.account_email].allowed_conference_types = ()
    await _move(client, booking_id)
    with pytest.raises(CalendarError):
        await _sync(client, booking_id)
    async with client.app[SESSIONS]() as session:
        refused = await session.get(Booking, booking_id)
    assert refused is not None and refused.join_url is None and refused.location == ""


async def test_a_microsoft_host_with_a_teams_page_gets_the_teams_join_url(
    app_client: AppClient, microsoft_fake: FakeMicrosoft
) -> None:
    from tests.contacts.test_task_calendar_microsoft import _connect

    client = await app_client(SLOTBOT_SYNC_PUSH="off", **microsoft_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()
    host_id, _ = await _connect(client, microsoft_fake)
    booking_id = await _booking(client, host_id, LocationKind.TEAMS)

    booking = await _sync(client, booking_id)

    assert booking.join_url is not None
    assert booking.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert booking.location == "Microsoft Teams"
    (post,) = microsoft_fake.graph_calls("POST", "/events")
    assert post.body["isOnlineMeeting"] is True and post.body["onlineMeetingProvider"] == "teamsForBusiness"
    [event] = microsoft_fake.user().default_calendar.events
    assert event.join_url == booking.join_url


async def test_a_meet_page_on_a_microsoft_calendar_gets_no_meeting(
    app_client: AppClient, microsoft_fake: FakeMicrosoft
) -> None:
    from tests.contacts.test_task_calendar_microsoft import _connect

    client = await app_client(SLOTBOT_SYNC_PUSH="off", **microsoft_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()
    host_id, _ = await _connect(client, microsoft_fake)
    booking = await _sync(client, await _booking(client, host_id, LocationKind.GOOGLE_MEET))
    assert booking.join_url is None and booking.location == "" and booking.external_event_id
    (post,) = microsoft_fake.graph_calls("POST", "/events")
    assert "isOnlineMeeting" not in post.body


@pytest.mark.parametrize(("locale", "words"), [("en", ("Location", "Join")), ("pt_BR", ("Local", "Entrar")),
                                               ("da", ("Sted", "Deltag"))])
def test_the_description_speaks_the_readers_language(locale: str, words: tuple[str, str]) -> None:
    from bot.booking.events import booking_description
    from bot.booking.location_text import place_labels
    from bot.i18n import catalog_root, load

    where, join = place_labels(load(catalog_root(), locale, "pages").pgettext)
    assert (where, join) == words
    booking = Booking(location="Nyhavn 1", join_url="https://whereby.com/hana", note="", answers={})
    assert booking_description(booking, where=where, join=join) == (
        f"{words[0]}: Nyhavn 1\n{words[1]}: https://whereby.com/hana")


async def test_the_visitor_is_sent_the_meet_link_once_the_calendar_made_it(
    app_client: AppClient, google_fake: FakeGoogle
) -> None:
    client = await app_client(SLOTBOT_SYNC_PUSH="off", **google_fake.env())
    assert client.app is not None
    await client.app[SYNC].stop()
    await client.app[OUTBOX].stop()  # this test runs the e-mails itself
    sessions = client.app[SESSIONS]
    host_id, _ = await google_host(client, google_fake)
    booking_id = await _booking(client, host_id, LocationKind.GOOGLE_MEET)
    async with sessions() as session, session.begin():
        await session.execute(update(Booking).values(language="da"))
    sync = EventSync(sessions, client.app[SCHEDULER], announce_link=announce_video_link).sync
    sent: list[dict[str, Any]] = []

    async def capture(payload: dict[str, Any]) -> None:
        sent.append(payload)

    await sync({"booking_id": booking_id})
    await sync({"booking_id": booking_id})  # run again (at-least-once): no second message
    assert await OutboxWorker(sessions, {EMAIL_KIND: capture}).run_once() == 1
    async with sessions() as session:
        booking = await session.get(Booking, booking_id)
    assert booking is not None and booking.join_url is not None
    (mail,) = sent
    assert mail["to"] == "vera@visitor.example" and mail["subject"].startswith("Videolink: Intro call")
    assert booking.join_url in mail["text"]
    event = icalendar.Calendar.from_ical(mail["ics"]).walk("VEVENT")[0]
    assert str(event["UID"]) == f"slotbot-booking-{booking_id}@slotbot"
    assert booking.join_url in str(event["DESCRIPTION"])
