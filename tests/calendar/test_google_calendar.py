"""GoogleCalendarProvider through google-api-python-client and google-auth against the fake Google:
calendars, busy time and its request splitting, events, token refresh, and error mapping."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    Attendee,
    CalendarProvider,
    ConnectionContext,
    NewEvent,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    ShowAs,
    TimedSpan,
)
from bot.calendar.google.credentials import credentials_to_json
from bot.calendar.google.mapping import busy_block_from_event, event_id_for
from bot.calendar.google.provider import GoogleCalendarProvider, google_factory
from bot.calendar.google.scopes import SCOPES
from bot.calendar.http import RetryPolicy
from bot.calendar.threads import WorkerThreads
from bot.settings import GoogleSettings

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

HOST = "host@example.com"
T0 = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)


class Sleeps:
    """Records the waits between retries instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Saved:
    """The connection's storage: what the provider persisted."""

    def __init__(self) -> None:
        self.values: list[str] = []

    async def __call__(self, value: str) -> None:
        self.values.append(value)


def _stored(fake: FakeGoogle, *, expires_in: int | None = None, scopes: tuple[str, ...] = SCOPES) -> str:
    issued = fake.issue_tokens(scopes, expires_in=expires_in)
    return credentials_to_json(
        refresh_token=issued["refresh_token"],
        token=issued["access_token"],
        expiry=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
        scopes=issued["scope"].split(),
    )


def _provider(
    settings: GoogleSettings,
    stored: str,
    saved: Saved | None = None,
    sleeps: Sleeps | None = None,
    *,
    max_retries: int = 3,
    **kw: Any,
) -> GoogleCalendarProvider:
    ctx = ConnectionContext(7, HOST, stored, saved or Saved())
    retry = RetryPolicy(max_retries=max_retries, sleep=sleeps or Sleeps())
    return GoogleCalendarProvider(settings, ctx, retry=retry, **kw)


@pytest.fixture
def saved() -> Saved:
    return Saved()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def provider(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved, sleeps: Sleeps
) -> GoogleCalendarProvider:
    return _provider(google_settings, _stored(google_fake), saved, sleeps)


def _event(uid: str = "booking-1") -> NewEvent:
    return NewEvent(
        uid=uid,
        title="Intro call",
        start=datetime(2031, 3, 4, 9, 0, tzinfo=ZoneInfo("Europe/Copenhagen")),
        end=datetime(2031, 3, 4, 9, 30, tzinfo=ZoneInfo("Europe/Copenhagen")),
        time_zone="Europe/Copenhagen",
        attendees=(Attendee("visitor@example.org", "Vera Visitor"),),
        description="Booked through Slotbot",
    )


# -- calendars ---------------------------------------------------------------------------------


async def test_factory_makes_a_protocol_provider(google_settings: GoogleSettings) -> None:
    made = google_factory(google_settings, threads=WorkerThreads.loop_default())(
        ConnectionContext(1, HOST, "{}", Saved())
    )
    assert isinstance(made, CalendarProvider)


async def test_list_calendars_follows_every_page_and_maps_roles(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    google_fake.add_calendar("team@group.calendar.google.com", "Team", access_role="writer")
    google_fake.add_calendar("boss@example.com", "Boss", access_role="freeBusyReader")
    google_fake.add_calendar("holidays@group.v.calendar.google.com", "Holidays", access_role="reader")
    for i in range(260):
        google_fake.add_calendar(
            f"c{i:03d}@group.calendar.google.com", f"Cal {i}", summary_override=f"Mine {i}"
        )

    calendars = await provider.list_calendars()

    pages = google_fake.api_calls("calendarList.list")
    assert len(pages) == 2
    assert "pageToken" not in pages[0].query and pages[1].query["pageToken"]
    assert len(calendars) == 264
    assert len({c.external_id for c in calendars}) == 264
    by_id = {c.external_id: c for c in calendars}
    assert by_id[HOST].is_primary and by_id[HOST].access_role is AccessRole.OWNER
    assert [c.external_id for c in calendars if c.is_primary] == [HOST]
    assert by_id["team@group.calendar.google.com"].access_role is AccessRole.WRITER
    assert by_id["boss@example.com"].access_role is AccessRole.FREE_BUSY
    assert by_id["holidays@group.v.calendar.google.com"].access_role is AccessRole.READER
    assert by_id["c007@group.calendar.google.com"].name == "Mine 7"


# -- busy time ---------------------------------------------------------------------------------


async def test_busy_reads_freebusy_and_reports_each_calendar(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    google_fake.add_calendar("team@group.calendar.google.com", access_role="freeBusyReader")
    google_fake.add_busy(HOST, T0 + timedelta(hours=9), T0 + timedelta(hours=10))
    google_fake.add_busy(HOST, T0 + timedelta(hours=11), T0 + timedelta(hours=12), transparency="transparent")
    google_fake.add_busy("team@group.calendar.google.com", T0 + timedelta(hours=13), T0 + timedelta(hours=14))

    result = await provider.busy(
        start=T0, end=T0 + timedelta(days=1), calendar_ids=[HOST, "team@group.calendar.google.com"]
    )

    assert [b.span for b in result[HOST].blocks] == [
        TimedSpan(T0 + timedelta(hours=9), T0 + timedelta(hours=10))
    ]
    assert result[HOST].error is None
    (team,) = result["team@group.calendar.google.com"].blocks
    assert team.span == TimedSpan(T0 + timedelta(hours=13), T0 + timedelta(hours=14))
    assert team.blocks_time()
    (call,) = google_fake.api_calls("freebusy.query")
    assert call.body["items"] == [{"id": HOST}, {"id": "team@group.calendar.google.com"}]


async def test_busy_splits_at_50_calendars_and_90_days_and_merges(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    ids = [f"c{i:03d}@group.calendar.google.com" for i in range(119)]
    for cid in ids:
        google_fake.add_calendar(cid, access_role="reader")
    ids = [HOST, *ids]  # 120 calendars -> 50 + 50 + 20
    end = T0 + timedelta(days=200)  # -> 90 + 90 + 20 days
    crossing = T0 + timedelta(days=90)
    google_fake.add_busy(HOST, crossing - timedelta(hours=1), crossing + timedelta(hours=1))
    google_fake.add_busy(ids[-1], end - timedelta(hours=2), end - timedelta(hours=1))
    google_fake.latency = 0.02
    provider = _provider(google_settings, _stored(google_fake), max_concurrency=3)

    result = await provider.busy(start=T0, end=end, calendar_ids=ids)

    calls = google_fake.api_calls("freebusy.query")
    assert len(calls) == 9
    covered: set[tuple[str, datetime]] = set()
    for call in calls:
        t0, t1 = (datetime.fromisoformat(call.body[k]) for k in ("timeMin", "timeMax"))
        assert len(call.body["items"]) <= 50
        assert timedelta(0) < t1 - t0 <= timedelta(days=90)
        covered |= {(item["id"], t0) for item in call.body["items"]}
    starts = {T0, T0 + timedelta(days=90), T0 + timedelta(days=180)}
    assert covered == {(cid, s) for cid in ids for s in starts}
    assert 1 < google_fake.max_in_flight <= 3

    assert set(result) == set(ids)
    assert all(r.error is None for r in result.values())
    host_spans = [b.span for b in result[HOST].blocks]
    assert host_spans == [
        TimedSpan(crossing - timedelta(hours=1), crossing),
        TimedSpan(crossing, crossing + timedelta(hours=1)),
    ]
    assert [b.span for b in result[ids[-1]].blocks] == [
        TimedSpan(end - timedelta(hours=2), end - timedelta(hours=1))
    ]


async def test_the_fake_enforces_googles_freebusy_limits(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    """A provider that did not split would get these answers (so the split test means something)."""
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError

    stored = json.loads(_stored(google_fake))
    from google.oauth2.credentials import Credentials

    service = build(
        "calendar",
        "v3",
        credentials=Credentials(stored["token"]),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": google_settings.api_base},
    )
    long_range = {"timeMin": T0.isoformat(), "timeMax": (T0 + timedelta(days=91)).isoformat(), "items": []}
    with pytest.raises(HttpError) as caught:
        service.freebusy().query(body=long_range).execute()
    assert caught.value.resp.status == 400
    assert json.loads(caught.value.content)["error"]["errors"][0]["reason"] == "timeRangeTooLong"

    many = {
        "timeMin": T0.isoformat(),
        "timeMax": (T0 + timedelta(days=1)).isoformat(),
        "items": [{"id": f"c{i}@example.com"} for i in range(51)],
    }
    answer = service.freebusy().query(body=many).execute()
    assert {e["reason"] for c in answer["calendars"].values() for e in c["errors"]} == {
        "tooManyCalendarsRequested"
    }


@pytest.mark.parametrize("status", [403, 404])
async def test_a_calendar_that_lost_access_is_unknown_alone(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, status: int
) -> None:
    google_fake.add_calendar("gone@group.calendar.google.com", access_role="reader")
    google_fake.add_busy(HOST, T0 + timedelta(hours=9), T0 + timedelta(hours=10))
    google_fake.lose_access("gone@group.calendar.google.com", status)

    result = await provider.busy(
        start=T0, end=T0 + timedelta(days=1), calendar_ids=[HOST, "gone@group.calendar.google.com"]
    )

    assert result[HOST].error is None and len(result[HOST].blocks) == 1
    gone = result["gone@group.calendar.google.com"]
    assert isinstance(gone.error, AccessLost) and gone.blocks == ()

    with pytest.raises(AccessLost):
        await provider.create_event(_event(), calendar_id="gone@group.calendar.google.com")


async def test_busy_needs_aware_times_and_asks_nothing_for_no_calendars(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    with pytest.raises(ValueError):
        await provider.busy(start=datetime(2031, 1, 1), end=T0, calendar_ids=[HOST])  # naive on purpose
    assert await provider.busy(start=T0, end=T0 + timedelta(days=1), calendar_ids=[]) == {}
    assert google_fake.api_calls() == []


# -- rate limits and failures ------------------------------------------------------------------


async def test_429_is_retried_honouring_retry_after(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, sleeps: Sleeps
) -> None:
    google_fake.fail_next(2, status=429, retry_after=7)
    calendars = await provider.list_calendars()
    assert [c.external_id for c in calendars] == [HOST]
    assert sleeps.calls == [7.0, 7.0]
    assert [c.status for c in google_fake.api_calls("calendarList.list")] == [429, 429, 200]


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
async def test_403_rate_limit_is_retried_with_backoff(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, sleeps: Sleeps, reason: str
) -> None:
    google_fake.fail_next(1, status=403, reason=reason, paths={"freeBusy"})
    result = await provider.busy(start=T0, end=T0 + timedelta(hours=1), calendar_ids=[HOST])
    assert result[HOST].error is None
    assert len(sleeps.calls) == 1 and 0 < sleeps.calls[0] <= 8


async def test_rate_limit_exhaustion_is_reported_for_the_calendar(
    google_fake: FakeGoogle, google_settings: GoogleSettings, sleeps: Sleeps
) -> None:
    provider = _provider(google_settings, _stored(google_fake), sleeps=sleeps, max_retries=2)
    google_fake.fail_next(10, status=429, retry_after=3)
    result = await provider.busy(start=T0, end=T0 + timedelta(hours=1), calendar_ids=[HOST])
    error = result[HOST].error
    assert isinstance(error, RateLimited) and result[HOST].blocks == ()
    assert error.retry_after == 3.0
    assert sleeps.calls == [3.0, 3.0]
    assert len(google_fake.api_calls("freebusy.query")) == 3


async def test_a_retry_after_beyond_the_bound_is_not_waited_for(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, sleeps: Sleeps
) -> None:
    google_fake.fail_next(1, status=429, retry_after=3600)
    with pytest.raises(RateLimited) as caught:
        await provider.list_calendars()
    assert caught.value.retry_after == 3600.0
    assert sleeps.calls == []


async def test_server_errors_are_retried_then_unavailable(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, sleeps: Sleeps
) -> None:
    google_fake.fail_next(1, status=503, reason="backendError", message="Backend Error", domain="global")
    assert len(await provider.list_calendars()) == 1
    google_fake.fail_next(10, status=500, reason="backendError", message="Backend Error", domain="global")
    with pytest.raises(ProviderUnavailable):
        await provider.list_calendars()
    assert len(sleeps.calls) == 1 + 3


async def test_unreachable_or_slow_google_is_unavailable(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    slow = _provider(google_settings, _stored(google_fake), timeout=0.3, max_retries=0)
    google_fake.latency = 1.0
    with pytest.raises(ProviderUnavailable):
        await slow.list_calendars()
    google_fake.latency = 0.0

    stored = _stored(google_fake)
    google_fake.stop()
    with pytest.raises(ProviderUnavailable):
        await _provider(google_settings, stored, max_retries=0).list_calendars()


# -- credentials -------------------------------------------------------------------------------


async def test_expired_token_is_refreshed_and_persisted_once(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved
) -> None:
    stored = _stored(google_fake, expires_in=0)
    provider = _provider(google_settings, stored, saved)

    await provider.list_calendars()
    await provider.busy(start=T0, end=T0 + timedelta(hours=1), calendar_ids=[HOST])

    assert len(google_fake.token_calls("refresh_token")) == 1
    (new,) = saved.values
    before, after = json.loads(stored), json.loads(new)
    assert after["refresh_token"] == before["refresh_token"]
    assert after["token"] != before["token"]
    assert datetime.fromisoformat(after["expiry"]) > datetime.now(UTC) + timedelta(minutes=30)
    refresh = google_fake.token_calls("refresh_token")[0]
    assert refresh.body["client_id"] == google_settings.client_id  # client from settings, not storage


async def test_a_token_rejected_with_401_is_refreshed_and_persisted(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, saved: Saved
) -> None:
    google_fake.expire_access_tokens()  # the client still believes its token valid
    await provider.list_calendars()
    assert [c.status for c in google_fake.api_calls("calendarList.list")] == [401, 200]
    assert len(saved.values) == 1


async def test_providers_of_one_connection_refresh_once_under_its_lock(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved
) -> None:
    """The scheduler makes a provider per question: a factory's providers share the refresh."""
    google_fake.rotate_refresh_tokens = True  # a second refresh with the old token would fail
    stored = _stored(google_fake, expires_in=0)
    threads = WorkerThreads(4)
    try:
        make = google_factory(google_settings, threads=threads)
        providers = [make(ConnectionContext(7, HOST, stored, saved)) for _ in range(4)]
        other = make(ConnectionContext(8, HOST, _stored(google_fake, expires_in=0), Saved()))

        await asyncio.gather(*(p.list_calendars() for p in [*providers, other]))
    finally:
        threads.shutdown()

    assert len(google_fake.token_calls("refresh_token")) == 2  # once for 7, once for 8
    assert len(saved.values) == 1
    assert [c.status for c in google_fake.api_calls("calendarList.list")] == [200] * 5


async def test_a_rotated_refresh_token_is_persisted_and_works(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved
) -> None:
    google_fake.rotate_refresh_tokens = True
    stored = _stored(google_fake, expires_in=0)
    await _provider(google_settings, stored, saved).list_calendars()
    (new,) = saved.values
    assert json.loads(new)["refresh_token"] != json.loads(stored)["refresh_token"]
    assert google_fake.refresh_token_revoked(json.loads(stored)["refresh_token"])

    google_fake.expire_access_tokens()
    again = _provider(google_settings, new)
    assert len(await again.list_calendars()) == 1


async def test_invalid_grant_needs_reauth_without_leaking_tokens(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved
) -> None:
    stored = _stored(google_fake, expires_in=0)
    google_fake.revoke_all()
    provider = _provider(google_settings, stored, saved)
    with pytest.raises(ReauthRequired) as caught:
        await provider.busy(start=T0, end=T0 + timedelta(hours=1), calendar_ids=[HOST])
    message = str(caught.value) + repr(caught.value.__cause__) + repr(caught.value.__context__)
    for secret in (
        json.loads(stored)["refresh_token"],
        json.loads(stored)["token"],
        google_settings.client_secret,
    ):
        assert secret not in message
    assert saved.values == []
    assert google_fake.api_calls() == []


async def test_missing_scope_needs_reauth(google_fake: FakeGoogle, google_settings: GoogleSettings) -> None:
    only_list = ("https://www.googleapis.com/auth/calendar.calendarlist.readonly",)
    provider = _provider(google_settings, _stored(google_fake, scopes=only_list))
    assert len(await provider.list_calendars()) == 1
    with pytest.raises(ReauthRequired):
        await provider.create_event(_event(), calendar_id=HOST)


async def test_unreadable_stored_credentials_need_reauth(google_settings: GoogleSettings) -> None:
    for broken in ("", "{}", "[]", '{"refresh_token": 5}', "not json"):
        with pytest.raises(ReauthRequired):
            await _provider(google_settings, broken).list_calendars()


async def test_google_auth_json_format_is_accepted(
    google_fake: FakeGoogle, google_settings: GoogleSettings, saved: Saved
) -> None:
    from google.oauth2.credentials import Credentials

    issued = google_fake.issue_tokens()
    legacy = Credentials(
        None, refresh_token=issued["refresh_token"], token_uri="https://elsewhere.invalid/token"
    ).to_json()
    await _provider(google_settings, legacy, saved).list_calendars()
    assert google_fake.token_calls("refresh_token")  # refreshed at the settings' token_uri
    assert json.loads(saved.values[0])["type"] == "google_oauth2"


# -- events ------------------------------------------------------------------------------------


async def test_create_event_writes_only_to_the_calendar_asked_and_invites(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    other = google_fake.add_calendar("side@group.calendar.google.com", access_role="owner")

    created = await provider.create_event(_event(), calendar_id=HOST)

    (insert,) = google_fake.api_calls("events.insert")
    assert insert.path == "/calendar/v3/calendars/host%40example.com/events"
    assert insert.query["sendUpdates"] == "all"
    assert insert.body["attendees"] == [{"email": "visitor@example.org", "displayName": "Vera Visitor"}]
    assert insert.body["start"] == {"dateTime": "2031-03-04T09:00:00+01:00", "timeZone": "Europe/Copenhagen"}
    assert insert.body["summary"] == "Intro call"
    assert created.calendar_id == HOST
    assert created.external_id == event_id_for("booking-1")
    assert created.web_link.startswith("https://calendar.google.com/")
    assert list(google_fake.calendars[HOST].events) == [created.external_id]
    assert other.events == {}
    assert google_fake.send_updates[created.external_id] == "all"


async def test_create_event_twice_books_once(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    first = await provider.create_event(_event(), calendar_id=HOST)
    second = await provider.create_event(_event(), calendar_id=HOST)
    assert first == second
    assert len(google_fake.calendars[HOST].events) == 1
    assert [c.status for c in google_fake.api_calls("events.insert")] == [200, 409]


async def test_delete_event_invites_and_tolerates_gone_events(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    created = await provider.create_event(_event(), calendar_id=HOST)

    await provider.delete_event(created.external_id, calendar_id=HOST)
    await provider.delete_event(created.external_id, calendar_id=HOST)  # 410: already deleted
    await provider.delete_event("neverexisted", calendar_id=HOST)  # 404

    calls = google_fake.api_calls("events.delete")
    assert [c.status for c in calls] == [204, 410, 404]
    assert all(c.query["sendUpdates"] == "all" for c in calls)
    assert google_fake.calendars[HOST].events[created.external_id]["status"] == "cancelled"


def test_event_ids_are_valid_google_ids() -> None:
    ids = {event_id_for(f"booking-{i}") for i in range(100)}
    assert len(ids) == 100
    assert all(set(i) <= set("0123456789abcdefghijklmnopqrstuv") and 5 <= len(i) <= 1024 for i in ids)


# -- event resource mapping --------------------------------------------------------------------


def _resource(**extra: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "status": "confirmed",
        "start": {"dateTime": "2031-03-04T09:00:00+01:00"},
        "end": {"dateTime": "2031-03-04T10:00:00+01:00"},
        **extra,
    }


def test_mapping_an_opaque_timed_event() -> None:
    block = busy_block_from_event(_resource())
    assert block is not None
    assert block.span == TimedSpan(datetime(2031, 3, 4, 8, tzinfo=UTC), datetime(2031, 3, 4, 9, tzinfo=UTC))
    assert block.show_as is ShowAs.BUSY and block.blocks_time()


def test_mapping_a_transparent_event_shows_free() -> None:
    block = busy_block_from_event(_resource(transparency="transparent"))
    assert block is not None and block.show_as is ShowAs.FREE and not block.blocks_time()


def test_mapping_a_cancelled_event() -> None:
    block = busy_block_from_event(_resource(status="cancelled"))
    assert block is not None and block.cancelled and not block.blocks_time()
    assert busy_block_from_event({"id": "e1_20310304", "status": "cancelled"}) is None


def test_mapping_declined_only_when_the_account_itself_declined() -> None:
    declined = busy_block_from_event(
        _resource(
            attendees=[
                {"email": "other@example.com", "responseStatus": "accepted"},
                {"email": HOST, "self": True, "responseStatus": "declined"},
            ]
        )
    )
    assert declined is not None and declined.declined and not declined.blocks_time()
    someone_else = busy_block_from_event(
        _resource(attendees=[{"email": "other@example.com", "responseStatus": "declined"}])
    )
    assert someone_else is not None and not someone_else.declined and someone_else.blocks_time()
    tentative = busy_block_from_event(
        _resource(attendees=[{"email": HOST, "self": True, "responseStatus": "tentative"}])
    )
    assert tentative is not None and tentative.show_as is ShowAs.TENTATIVE and tentative.blocks_time()


def test_mapping_an_all_day_event() -> None:
    block = busy_block_from_event(
        {"id": "e2", "status": "confirmed", "start": {"date": "2031-03-04"}, "end": {"date": "2031-03-06"}}
    )
    assert block is not None and block.span == AllDaySpan(date(2031, 3, 4), date(2031, 3, 6))


def test_mapping_event_types_and_zone_only_times() -> None:
    ooo = busy_block_from_event(_resource(eventType="outOfOffice"))
    assert ooo is not None and ooo.show_as is ShowAs.OUT_OF_OFFICE and ooo.blocks_time()
    where = busy_block_from_event(_resource(eventType="workingLocation", transparency="transparent"))
    assert where is not None and not where.blocks_time()
    zoned = busy_block_from_event(
        _resource(
            start={"dateTime": "2031-07-01T09:00:00", "timeZone": "Europe/Lisbon"},
            end={"dateTime": "2031-07-01T10:00:00", "timeZone": "Europe/Lisbon"},
        )
    )
    assert zoned is not None and isinstance(zoned.span, TimedSpan)
    assert zoned.span.start == datetime(2031, 7, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError):
        busy_block_from_event(_resource(start={"dateTime": "2031-07-01T09:00:00"}))


async def test_mapping_reads_event_resources_as_the_library_returns_them(
    google_fake: FakeGoogle, google_settings: GoogleSettings
) -> None:
    from googleapiclient.discovery import build

    google_fake.add_busy(HOST, T0, T0 + timedelta(hours=1), transparency="transparent")
    google_fake.add_event(HOST, {"start": {"date": "2031-03-03"}, "end": {"date": "2031-03-04"}})
    stored = json.loads(_stored(google_fake))
    from google.oauth2.credentials import Credentials

    service = build(
        "calendar",
        "v3",
        credentials=Credentials(stored["token"]),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": google_settings.api_base},
    )
    items = service.events().list(calendarId=HOST, timeMin=T0.isoformat()).execute()["items"]
    blocks = [busy_block_from_event(item) for item in items]
    assert [b.blocks_time() for b in blocks if b is not None] == [False, True]


# -- events with titles (the host's own agenda) ------------------------------------------------


async def test_busy_from_freebusy_has_no_titles(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    google_fake.add_busy(HOST, T0 + timedelta(hours=9), T0 + timedelta(hours=10), summary="Dentist")
    result = await provider.busy(start=T0, end=T0 + timedelta(days=1), calendar_ids=[HOST])
    assert [b.title for b in result[HOST].blocks] == [""]  # freeBusy answers carry no titles


async def test_events_read_titles_every_page_and_all_day_events(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.calendar.google.agenda.EVENTS_PAGE_SIZE", 2)
    google_fake.add_busy(HOST, T0 + timedelta(hours=13), T0 + timedelta(hours=14), summary="Review")
    google_fake.add_busy(HOST, T0 + timedelta(hours=9), T0 + timedelta(hours=10), summary="Planning")
    google_fake.add_busy(HOST, T0 + timedelta(hours=15), T0 + timedelta(hours=16), summary="Focus time",
                         transparency="transparent")
    google_fake.add_event(HOST, {"summary": "Company offsite", "start": {"date": "2031-03-03"},
                                 "end": {"date": "2031-03-04"}})
    google_fake.add_busy(HOST, T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1), summary="Later")

    result = await provider.events(start=T0, end=T0 + timedelta(days=1), calendar_ids=[HOST])

    blocks = result[HOST].blocks
    assert result[HOST].error is None
    assert [b.title for b in blocks] == ["Company offsite", "Planning", "Review", "Focus time"]
    assert blocks[0].span == AllDaySpan(date(2031, 3, 3), date(2031, 3, 4))
    assert blocks[3].show_as is ShowAs.FREE
    calls = google_fake.api_calls("events.list")
    assert len(calls) == 2  # four events in the window, two a page
    assert all(c.query.get("singleEvents") == "true" and "timeMax" in c.query for c in calls)


async def test_events_of_a_calendar_that_lost_access_carry_the_error_alone(
    google_fake: FakeGoogle, provider: GoogleCalendarProvider
) -> None:
    google_fake.add_calendar("gone@group.calendar.google.com", access_role="reader")
    google_fake.add_busy(HOST, T0 + timedelta(hours=9), T0 + timedelta(hours=10), summary="Planning")
    google_fake.lose_access("gone@group.calendar.google.com", 404)

    result = await provider.events(
        start=T0, end=T0 + timedelta(days=1), calendar_ids=[HOST, "gone@group.calendar.google.com"]
    )

    assert [b.title for b in result[HOST].blocks] == ["Planning"]
    assert isinstance(result["gone@group.calendar.google.com"].error, AccessLost)


def test_mapping_reads_the_summary_as_title() -> None:
    block = busy_block_from_event(_resource(summary="  Board call "))
    assert block is not None and block.title == "Board call"
    untitled = busy_block_from_event(_resource())
    assert untitled is not None and untitled.title == ""
