"""Video meetings made with an event: Google Meet (``conferenceData``) and Teams (``isOnlineMeeting``)
through the real client libraries against the fakes, and the invitation's ``CONFERENCE``/``LOCATION``."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from bot.calendar.base import Attendee, Conference, NewEvent
from bot.calendar.google.calendars import conference_request_id
from bot.calendar.ics.write import event_to_ics
from bot.settings import GoogleSettings
from tests.calendar.test_google_calendar import HOST, Saved, Sleeps, _provider, _stored
from tests.calendar.test_microsoft_calendar import MakeProvider, http  # noqa: F401 (fixtures)
from tests.calendar.test_microsoft_calendar import make_provider as make_provider

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.google", "tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

MEET = re.compile(r"^https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}$")
TEAMS = "https://teams.microsoft.com/l/meetup-join/"
ZONE = ZoneInfo("Europe/Copenhagen")


def _event(uid: str = "slotbot-booking-1@slotbot", conference: Conference | None = None) -> NewEvent:
    return NewEvent(
        uid=uid,
        title="Intro call: Vera",
        start=datetime(2031, 3, 30, 9, 0, tzinfo=ZONE),  # the day after Copenhagen's DST change
        end=datetime(2031, 3, 30, 9, 30, tzinfo=ZONE),
        time_zone="Europe/Copenhagen",
        attendees=(Attendee("vera@visitor.example", "Vera"),),
        conference=conference,
    )


# -- Google Meet -------------------------------------------------------------------------------


async def test_google_makes_a_meet_with_the_event_and_returns_its_link(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    provider = _provider(google_settings, _stored(google_fake), Saved(), Sleeps())

    created = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=HOST)

    (insert,) = google_fake.api_calls("events.insert")
    assert insert.query["conferenceDataVersion"] == "1"
    request = insert.body["conferenceData"]["createRequest"]
    assert request == {"requestId": conference_request_id("slotbot-booking-1@slotbot"),
                       "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    assert created.join_url is not None and MEET.match(created.join_url)
    stored = google_fake.calendars[HOST].events[created.external_id]
    assert stored["hangoutLink"] == created.join_url
    assert stored["conferenceData"]["entryPoints"][0] == {
        "entryPointType": "video", "uri": created.join_url, "label": created.join_url[8:]}


async def test_without_a_meeting_asked_google_gets_no_conference_and_no_link(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    provider = _provider(google_settings, _stored(google_fake), Saved(), Sleeps())
    created = await provider.create_event(_event(), calendar_id=HOST)
    (insert,) = google_fake.api_calls("events.insert")
    assert "conferenceDataVersion" not in insert.query and "conferenceData" not in insert.body
    assert created.join_url is None
    assert "conferenceData" not in google_fake.calendars[HOST].events[created.external_id]


async def test_a_pending_meet_is_read_again_until_its_link_is_there(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    google_fake.conferencing.pending = 1
    provider = _provider(google_settings, _stored(google_fake), Saved(), Sleeps(), conference_waits=(0.0,))

    created = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=HOST)

    assert [c.status for c in google_fake.api_calls("events.insert")] == [200]
    assert len(google_fake.api_calls("events.get")) == 1
    assert created.join_url is not None and MEET.match(created.join_url)


async def test_a_meet_still_pending_after_the_waits_gives_no_link(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    google_fake.conferencing.pending = 1
    provider = _provider(google_settings, _stored(google_fake), Saved(), Sleeps(), conference_waits=())
    created = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=HOST)
    assert created.join_url is None  # never a made-up link


async def test_a_retried_insert_finds_the_same_meet(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    provider = _provider(google_settings, _stored(google_fake), Saved(), Sleeps())
    first = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=HOST)
    second = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=HOST)
    assert [c.status for c in google_fake.api_calls("events.insert")] == [200, 409]
    assert first.join_url == second.join_url is not None


def _raw_service(fake: FakeGoogle, settings: GoogleSettings) -> object:
    """google-api-python-client itself against the fake (to send what Slotbot never sends)."""
    issued = fake.issue_tokens(("https://www.googleapis.com/auth/calendar",))
    credentials = Credentials(token=issued["access_token"])
    return build("calendar", "v3", credentials=credentials, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": settings.api_base})


def _insert_body(kind: str) -> dict[str, object]:
    return {"summary": "x", "start": {"dateTime": "2031-03-30T09:00:00+02:00"},
            "end": {"dateTime": "2031-03-30T09:30:00+02:00"},
            "conferenceData": {"createRequest": {"requestId": "r-1",
                                                 "conferenceSolutionKey": {"type": kind}}}}


async def test_the_fake_google_ignores_conference_data_without_version_1_and_refuses_unknown_types(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    events = _raw_service(google_fake, google_settings).events()  # type: ignore[attr-defined]

    def insert(kind: str, **query: int) -> dict[str, Any]:
        answer: dict[str, Any] = events.insert(calendarId=HOST, body=_insert_body(kind), **query).execute()
        return answer

    plain = await asyncio.to_thread(insert, "hangoutsMeet")
    assert "conferenceData" not in plain and "hangoutLink" not in plain
    with pytest.raises(HttpError) as refused:
        await asyncio.to_thread(insert, "addOn", conferenceDataVersion=1)
    assert refused.value.resp.status == 400
    assert refused.value.error_details[0]["reason"] == "invalid"
    assert "Invalid conference type value." in str(refused.value)
    made = await asyncio.to_thread(insert, "hangoutsMeet", conferenceDataVersion=1)
    assert made["conferenceData"]["createRequest"]["status"] == {"statusCode": "success"}
    assert MEET.match(made["hangoutLink"])


# -- Microsoft Teams ---------------------------------------------------------------------------


async def test_graph_makes_a_teams_meeting_with_the_event_and_returns_its_join_url(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()

    created = await provider.create_event(_event(conference=Conference.TEAMS), calendar_id=default.id)

    (post,) = microsoft_fake.graph_calls("POST", "/events")
    assert post.body["isOnlineMeeting"] is True and post.body["onlineMeetingProvider"] == "teamsForBusiness"
    assert created.join_url is not None and created.join_url.startswith(TEAMS)
    assert default.events[0].join_url == created.join_url


async def test_a_calendar_without_teams_gets_the_event_but_no_meeting(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    default.online_meeting_providers = ()  # a personal account: Graph makes the event only
    provider, _ = await make_provider()
    created = await provider.create_event(_event(conference=Conference.TEAMS), calendar_id=default.id)
    assert created.join_url is None and len(default.events) == 1


async def test_graph_without_a_meeting_asked_sends_no_online_meeting(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()
    created = await provider.create_event(_event(), calendar_id=default.id)
    (post,) = microsoft_fake.graph_calls("POST", "/events")
    assert "isOnlineMeeting" not in post.body and created.join_url is None


async def test_a_google_meet_asked_of_graph_makes_no_meeting(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()
    created = await provider.create_event(_event(conference=Conference.GOOGLE_MEET), calendar_id=default.id)
    assert created.join_url is None and default.events[0].join_url is None


# -- the invitation ----------------------------------------------------------------------------


def test_the_invitation_has_the_location_the_conference_and_the_link_in_its_description() -> None:
    link = "https://zoom.us/j/123?pwd=a,b;c"
    event = dataclasses.replace(_event(), location="Rua Augusta 1, 3º; Lisboa", join_url=link,
                                description="Join: " + link)
    text = event_to_ics(event, method="REQUEST")
    assert "CONFERENCE;FEATURE=VIDEO;VALUE=URI:https://zoom.us/j/123?pwd=a,b;c\r\n" in text
    assert "LOCATION:Rua Augusta 1\\, 3º\\; Lisboa\r\n" in text  # TEXT escaped, the URI not
    vevent = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(vevent["LOCATION"]) == "Rua Augusta 1, 3º; Lisboa"
    assert str(vevent["CONFERENCE"]) == link
    assert str(vevent["DESCRIPTION"]) == "Join: " + link  # not twice


def test_a_join_link_missing_from_the_description_is_added_to_it() -> None:
    event = dataclasses.replace(_event(), join_url="https://meet.google.com/abc-defg-hij",
                                description="A note")
    vevent = icalendar.Calendar.from_ical(event_to_ics(event)).walk("VEVENT")[0]
    assert str(vevent["DESCRIPTION"]) == "A note\n\nhttps://meet.google.com/abc-defg-hij"


def test_a_join_link_with_a_line_break_is_never_a_property() -> None:
    event = dataclasses.replace(_event(), join_url="https://evil.example/\r\nX-INJECTED:1")
    text = event_to_ics(event)
    assert "CONFERENCE" not in text
    assert not any(line.startswith("X-INJECTED") for line in text.splitlines())


def test_no_place_no_location_nor_conference() -> None:
    text = event_to_ics(_event())
    assert "LOCATION" not in text and "CONFERENCE" not in text
    assert datetime(2031, 3, 30, 7, tzinfo=UTC).strftime("DTSTART:%Y%m%dT%H%M%SZ") in text  # CEST: UTC+2
