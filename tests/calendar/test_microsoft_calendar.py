"""The Microsoft 365 provider against the fake Graph: tokens, calendars, busy time, events, faults."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    Attendee,
    CalendarProvider,
    ConnectionContext,
    NewEvent,
    ProviderRegistry,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    ShowAs,
    TimedSpan,
)
from bot.calendar.http import RetryPolicy
from bot.calendar.microsoft.connect import MicrosoftGrant, complete_flow, start_flow
from bot.calendar.microsoft.credentials import load_credentials
from bot.calendar.microsoft.mapping import graph_event_to_block
from bot.calendar.microsoft.provider import MicrosoftCalendarProvider, microsoft_factory
from bot.calendar.threads import WorkerThreads
from bot.settings import MicrosoftSettings

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

EMAIL = "host@contoso.example"
MONDAY = datetime(2030, 6, 3, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


class Saved:
    """Records what the provider persists through ``save_credentials``."""

    def __init__(self) -> None:
        self.values: list[str] = []

    async def __call__(self, credentials: str) -> None:
        self.values.append(credentials)


async def connect(fake: FakeMicrosoft, settings: MicrosoftSettings, email: str = EMAIL) -> MicrosoftGrant:
    auth_uri, flow = await start_flow(
        settings, redirect_uri="https://slotbot.example/cb", state="s", login_hint=email
    )
    return await complete_flow(settings, flow=flow, query_params=await fake.approve(auth_uri))


MakeProvider = Callable[..., Awaitable[tuple[MicrosoftCalendarProvider, Saved]]]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_provider(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> MakeProvider:
    async def make(
        *, max_retries: int = 3, max_retry_wait: float = 30.0, **options: Any
    ) -> tuple[MicrosoftCalendarProvider, Saved]:
        grant = await connect(microsoft_fake, microsoft_settings)
        microsoft_fake.calls.clear()
        saved = Saved()
        ctx = ConnectionContext(
            connection_id=1,
            account_email=grant.account_email,
            credentials=grant.credentials,
            save_credentials=saved,
        )
        options["retry"] = RetryPolicy(
            max_retries=max_retries, max_retry_after=max_retry_wait, backoff_base=0.01
        )
        return MicrosoftCalendarProvider(microsoft_settings, ctx, http, **options), saved

    return make


# -- tokens ------------------------------------------------------------------------------------


async def test_fresh_token_is_reused_without_refresh_or_save(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    provider, saved = await make_provider()
    await provider.list_calendars()
    await provider.list_calendars()
    assert [r["grant_type"] for r in microsoft_fake.token_requests] == ["authorization_code"]
    assert saved.values == []


async def test_silent_refresh_persists_the_new_cache(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> None:
    microsoft_fake.access_token_lifetime = 120  # msal refreshes tokens within 5 minutes of expiry
    grant = await connect(microsoft_fake, microsoft_settings)
    saved = Saved()
    ctx = ConnectionContext(1, grant.account_email, grant.credentials, saved)
    provider = MicrosoftCalendarProvider(microsoft_settings, ctx, http)

    await provider.list_calendars()

    assert [r["grant_type"] for r in microsoft_fake.token_requests] == ["authorization_code", "refresh_token"]
    assert len(saved.values) == 1
    new = load_credentials(saved.values[0])
    assert new.home_account_id == grant.account_id
    refresh_tokens = [rt["secret"] for rt in json.loads(new.msal_cache)["RefreshToken"].values()]
    assert refresh_tokens == [microsoft_fake.refresh_tokens(EMAIL)[-1]]  # the rotated token, not the first
    # The persisted credentials work on their own, in a new provider, even once the first
    # refresh token is revoked.
    microsoft_fake.revoke_refresh_token(microsoft_fake.refresh_tokens(EMAIL)[0])
    again = MicrosoftCalendarProvider(
        microsoft_settings, dataclasses.replace(ctx, credentials=saved.values[0]), http
    )
    assert [c.is_primary for c in await again.list_calendars()] == [True]


async def test_revoked_refresh_token_means_reauth(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    microsoft_fake.access_token_lifetime = 120
    provider, saved = await make_provider()
    microsoft_fake.revoke_refresh_tokens(EMAIL)
    with pytest.raises(ReauthRequired):
        await provider.list_calendars()
    with pytest.raises(ReauthRequired):
        await provider.busy(
            start=at(0), end=at(0, day=1), calendar_ids=[microsoft_fake.user().default_calendar.id]
        )
    assert saved.values == []
    assert microsoft_fake.calls == []


async def test_token_endpoint_outage_is_not_reauth(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> None:
    microsoft_fake.access_token_lifetime = 120
    grant = await connect(microsoft_fake, microsoft_settings)
    saved = Saved()
    ctx = ConnectionContext(1, grant.account_email, grant.credentials, saved)
    microsoft_fake.fail_token_requests(1)
    with pytest.raises(ProviderUnavailable):
        await MicrosoftCalendarProvider(microsoft_settings, ctx, http).list_calendars()
    # The outage is over: the same stored sign-in still works (msal itself holds back one
    # application's refreshes for a few seconds after a 5xx, so this is a new provider).
    assert len(await MicrosoftCalendarProvider(microsoft_settings, ctx, http).list_calendars()) == 1
    assert len(saved.values) == 1


async def test_reauth_is_remembered_without_hammering_the_token_endpoint(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendars = [microsoft_fake.add_calendar(EMAIL, name=f"Calendar {i}") for i in range(5)]
    microsoft_fake.access_token_lifetime = 120
    provider, _ = await make_provider()
    microsoft_fake.revoke_refresh_tokens(EMAIL)
    before = len(microsoft_fake.token_requests)
    with pytest.raises(ReauthRequired):
        await provider.busy(start=at(0), end=at(1), calendar_ids=[c.id for c in calendars])
    assert len(microsoft_fake.token_requests) - before == 1


async def test_graph_401_forces_one_refresh_then_succeeds(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    provider, saved = await make_provider()
    await provider.list_calendars()
    microsoft_fake.invalidate_access_tokens(EMAIL)
    calendars = await provider.list_calendars()
    assert len(calendars) == 1
    assert [c.status for c in microsoft_fake.calls] == [200, 401, 200]
    assert microsoft_fake.token_requests[-1]["grant_type"] == "refresh_token"
    assert len(saved.values) == 1


async def test_graph_401_with_revoked_sign_in_means_reauth(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    provider, _ = await make_provider()
    microsoft_fake.invalidate_access_tokens(EMAIL)
    microsoft_fake.revoke_refresh_tokens(EMAIL)
    with pytest.raises(ReauthRequired):
        await provider.list_calendars()


async def test_unreadable_credentials_mean_reauth(
    microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> None:
    ctx = ConnectionContext(1, EMAIL, "garbage", Saved())
    with pytest.raises(ReauthRequired):
        await MicrosoftCalendarProvider(microsoft_settings, ctx, http).list_calendars()


# -- calendars ---------------------------------------------------------------------------------


async def test_calendars_owned_and_shared_with_default_across_pages(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    fake = microsoft_fake
    own = fake.add_calendar(EMAIL, name="Side projects")
    shared_read = fake.add_calendar(EMAIL, name="Alex's calendar", owner_email="alex@contoso.example")
    shared_edit = fake.add_calendar(EMAIL, name="Team", owner_email="team@contoso.example", can_edit=True)
    provider, _ = await make_provider()

    calendars = {c.external_id: c for c in await provider.list_calendars()}

    default = fake.user().default_calendar
    assert set(calendars) == {default.id, own.id, shared_read.id, shared_edit.id}
    assert [c.external_id for c in calendars.values() if c.is_primary] == [default.id]
    assert calendars[default.id].access_role is AccessRole.OWNER
    assert calendars[own.id].access_role is AccessRole.OWNER
    assert calendars[shared_read.id].access_role is AccessRole.READER
    assert calendars[shared_edit.id].access_role is AccessRole.WRITER
    assert calendars[shared_read.id].name == "Alex's calendar"
    pages = fake.graph_calls("GET", "/me/calendars")
    assert len(pages) == 2  # page size 3: the nextLink was followed
    assert pages[1].query["$skip"] == "3"


# -- busy time ---------------------------------------------------------------------------------


async def test_calendar_view_paging_in_utc(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendar = microsoft_fake.user().default_calendar
    berlin = ZoneInfo("Europe/Berlin")
    for i in range(7):
        start = datetime(2030, 6, 3, 9 + i, tzinfo=berlin)
        microsoft_fake.add_event(calendar, start, start + timedelta(minutes=30))
    microsoft_fake.add_event(calendar, at(0, day=5), at(1, day=5))  # outside the window
    provider, _ = await make_provider(page_size=50)

    result = await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[calendar.id])

    blocks = result[calendar.id].blocks
    assert result[calendar.id].error is None
    assert [b.span for b in blocks] == [
        TimedSpan(at(7 + i), at(7 + i, 30))
        for i in range(7)  # 09:00 Berlin summer time = 07:00 UTC
    ]
    assert all(isinstance(b.span, TimedSpan) and b.span.start.utcoffset() == timedelta(0) for b in blocks)
    views = microsoft_fake.graph_calls("GET", "calendarView")
    assert len(views) == 3  # 3 + 3 + 1 with the fake's page size of 3
    first = views[0]
    assert first.headers["Prefer"] == 'outlook.timezone="UTC"'
    assert set(first.query["$select"].split(",")) == {
        "showAs",
        "isCancelled",
        "isAllDay",
        "start",
        "end",
        "responseStatus",
        "subject",  # the title, shown only to the calendar's owner
    }
    assert first.query["startDateTime"] == "2030-06-03T00:00:00Z"
    assert first.query["endDateTime"] == "2030-06-04T00:00:00Z"
    assert all(v.headers.get("Prefer") == 'outlook.timezone="UTC"' for v in views)


async def test_busy_maps_show_as_and_status(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    fake = microsoft_fake
    calendar = fake.user().default_calendar
    fake.add_event(calendar, at(8), at(9), show_as="free")
    fake.add_event(calendar, at(9), at(10), show_as="tentative")
    fake.add_event(calendar, at(10), at(11), show_as="oof")
    fake.add_event(calendar, at(11), at(12), show_as="workingElsewhere")
    fake.add_event(calendar, at(12), at(13), is_cancelled=True)
    fake.add_event(calendar, at(13), at(14), response="declined")
    fake.add_event(calendar, date(2030, 6, 3), date(2030, 6, 4), show_as="oof")
    provider, _ = await make_provider()

    blocks = (await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[calendar.id]))[
        calendar.id
    ].blocks

    by_start = {b.span.start: b for b in blocks}
    assert by_start[at(8)].show_as is ShowAs.FREE and not by_start[at(8)].blocks_time()
    assert by_start[at(9)].show_as is ShowAs.TENTATIVE and by_start[at(9)].blocks_time()
    assert by_start[at(10)].show_as is ShowAs.OUT_OF_OFFICE and by_start[at(10)].blocks_time()
    assert by_start[at(11)].show_as is ShowAs.WORKING_ELSEWHERE and by_start[at(11)].blocks_time()
    assert by_start[at(12)].cancelled and not by_start[at(12)].blocks_time()
    assert by_start[at(13)].declined and not by_start[at(13)].blocks_time()
    all_day = by_start[date(2030, 6, 3)]
    assert all_day.span == AllDaySpan(date(2030, 6, 3), date(2030, 6, 4)) and all_day.blocks_time()


async def test_busy_reads_each_events_subject_as_its_title(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    fake = microsoft_fake
    calendar = fake.user().default_calendar
    fake.add_event(calendar, at(9), at(10), subject="Focus time", show_as="tentative")
    fake.add_event(calendar, date(2030, 6, 3), date(2030, 6, 4), subject="Company offsite")
    fake.add_event(calendar, at(11), at(12), subject="")
    provider, _ = await make_provider()

    blocks = (await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[calendar.id]))[
        calendar.id
    ].blocks

    by_start = {b.span.start: b for b in blocks}
    assert by_start[at(9)].title == "Focus time" and by_start[at(9)].show_as is ShowAs.TENTATIVE
    assert by_start[date(2030, 6, 3)].title == "Company offsite"
    assert by_start[at(11)].title == ""
    assert "Focus time" not in repr(blocks)  # titles stay out of logs


def test_mapping_reads_the_subject_only_when_graph_gives_it() -> None:
    event = {"start": {"dateTime": "2030-06-03T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-06-03T10:00:00", "timeZone": "UTC"}, "showAs": "busy"}
    assert graph_event_to_block({**event, "subject": " Board call "}).title == "Board call"
    assert graph_event_to_block(event).title == ""  # e.g. a schedule item without details


async def test_retry_after_is_honoured_then_success(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendar = microsoft_fake.user().default_calendar
    microsoft_fake.add_event(calendar, at(9), at(10))
    provider, _ = await make_provider(max_retries=3)
    microsoft_fake.throttle(2, retry_after="0.2")

    began = time.monotonic()
    result = await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[calendar.id])

    assert time.monotonic() - began >= 0.4  # two waits of Retry-After
    assert len(result[calendar.id].blocks) == 1
    assert [c.status for c in microsoft_fake.calls] == [429, 429, 200]


async def test_throttling_exhausts_into_rate_limited(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendar = microsoft_fake.user().default_calendar
    provider, _ = await make_provider(max_retries=2)
    microsoft_fake.throttle(10, retry_after="0.01")
    result = await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[calendar.id])
    error = result[calendar.id].error
    assert isinstance(error, RateLimited) and error.retry_after == pytest.approx(0.01)
    assert len(microsoft_fake.calls) == 3  # the first try and two retries
    with pytest.raises(RateLimited):
        await provider.list_calendars()


async def test_long_retry_after_is_not_slept_through(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    provider, _ = await make_provider(max_retry_wait=5)
    microsoft_fake.throttle(1, retry_after="120")
    began = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await provider.list_calendars()
    assert caught.value.retry_after == 120
    assert time.monotonic() - began < 2


async def test_503_with_retry_after_is_retried_and_500_is_unavailable_after_the_retries(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendar = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()
    microsoft_fake.throttle(1, retry_after="0.01", status=503)
    assert (await provider.busy(start=at(0), end=at(1), calendar_ids=[calendar.id]))[
        calendar.id
    ].error is None
    microsoft_fake.fail(10, status=500)
    error = (await provider.busy(start=at(0), end=at(1), calendar_ids=[calendar.id]))[calendar.id].error
    assert isinstance(error, ProviderUnavailable)
    assert [c.status for c in microsoft_fake.calls][-4:] == [500] * 4  # the first try and 3 retries


async def test_at_most_four_requests_in_flight_per_mailbox(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    calendars = [microsoft_fake.add_calendar(EMAIL, name=f"Calendar {i}") for i in range(9)]
    calendars.append(microsoft_fake.user().default_calendar)
    for calendar in calendars:
        microsoft_fake.add_event(calendar, at(9), at(10))
    provider, _ = await make_provider()
    microsoft_fake.latency = 0.05

    result = await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[c.id for c in calendars])

    assert all(len(result[c.id].blocks) == 1 for c in calendars)
    assert microsoft_fake.max_in_flight[EMAIL] == 4  # concurrent, but bounded


async def test_providers_of_one_connection_refresh_once_and_save_once(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> None:
    microsoft_fake.access_token_lifetime = 120  # msal refreshes tokens within 5 minutes of expiry
    grant = await connect(microsoft_fake, microsoft_settings)
    microsoft_fake.access_token_lifetime = 3600  # the refreshed one is good for an hour
    saved = Saved()
    make = microsoft_factory(microsoft_settings, lambda: http, threads=WorkerThreads.loop_default())
    ctx = ConnectionContext(7, grant.account_email, grant.credentials, saved)
    providers = [make(ctx) for _ in range(4)]

    await asyncio.gather(*(p.list_calendars() for p in providers))

    grants = [r["grant_type"] for r in microsoft_fake.token_requests]
    assert grants == ["authorization_code", "refresh_token"]
    assert len(saved.values) == 1
    microsoft_fake.invalidate_access_tokens(EMAIL)  # every one gets a 401: one forced refresh for all
    await asyncio.gather(*(p.list_calendars() for p in providers))
    assert [r["grant_type"] for r in microsoft_fake.token_requests].count("refresh_token") == 2
    assert len(saved.values) == 2


async def test_factory_shares_the_bound_between_providers_of_one_connection(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, http: aiohttp.ClientSession
) -> None:
    calendars = [microsoft_fake.add_calendar(EMAIL, name=f"Calendar {i}") for i in range(5)]
    grant = await connect(microsoft_fake, microsoft_settings)
    registry = ProviderRegistry()
    registry.register(
        "microsoft", microsoft_factory(microsoft_settings, lambda: http, threads=WorkerThreads.loop_default())
    )
    ctx = ConnectionContext(7, grant.account_email, grant.credentials, Saved())
    first, second = registry.create("microsoft", ctx), registry.create("microsoft", ctx)
    assert isinstance(first, CalendarProvider)
    await first.list_calendars()
    await second.list_calendars()
    microsoft_fake.latency = 0.05
    ids = [c.id for c in calendars]
    await asyncio.gather(
        first.busy(start=at(0), end=at(1), calendar_ids=ids),
        second.busy(start=at(0), end=at(1), calendar_ids=ids),
    )
    assert microsoft_fake.max_in_flight[EMAIL] == 4


async def test_access_lost_on_one_calendar_only(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    fake = microsoft_fake
    good = fake.user().default_calendar
    forbidden = fake.add_calendar(EMAIL, name="Unshared", owner_email="alex@contoso.example")
    gone = fake.add_calendar(EMAIL, name="Deleted")
    fake.add_event(good, at(9), at(10))
    forbidden.fault, gone.fault = 403, 404
    provider, _ = await make_provider()

    result = await provider.busy(start=at(0), end=at(0, day=1), calendar_ids=[good.id, forbidden.id, gone.id])

    assert result[good.id].error is None and len(result[good.id].blocks) == 1
    assert isinstance(result[forbidden.id].error, AccessLost)
    assert isinstance(result[gone.id].error, AccessLost)
    assert result[forbidden.id].blocks == () and result[gone.id].blocks == ()


async def test_graph_unreachable_is_provider_unavailable(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    provider, _ = await make_provider()
    await provider.list_calendars()  # token in hand
    await microsoft_fake.stop()
    with pytest.raises(ProviderUnavailable):
        await provider.list_calendars()


# -- events ------------------------------------------------------------------------------------


def booking(uid: str = "booking-1") -> NewEvent:
    return NewEvent(
        uid=uid,
        title="Intro call with Vera",
        start=datetime(2030, 6, 4, 10, 0, tzinfo=ZoneInfo("Europe/Copenhagen")),
        end=datetime(2030, 6, 4, 10, 30, tzinfo=ZoneInfo("Europe/Copenhagen")),
        time_zone="Europe/Copenhagen",
        attendees=(Attendee("vera@visitor.example", "Vera Visitor"),),
        description="Booked through Slotbot.",
        location="Teams",
    )


async def test_event_created_only_in_the_calendar_asked_with_the_attendee(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    fake = microsoft_fake
    default = fake.user().default_calendar
    other = fake.add_calendar(EMAIL, name="Side projects")
    provider, _ = await make_provider()

    created = await provider.create_event(booking(), calendar_id=default.id)

    assert created.calendar_id == default.id
    assert [e.id for e in default.events] == [created.external_id]
    assert other.events == []
    event = default.events[0]
    assert event.subject == "Intro call with Vera" and event.body == "Booked through Slotbot."
    assert event.start == datetime(2030, 6, 4, 8, 0, tzinfo=UTC)  # 10:00 Copenhagen summer time
    assert event.end == datetime(2030, 6, 4, 8, 30, tzinfo=UTC)
    assert [(a["type"], a["emailAddress"]["address"]) for a in event.attendees] == [
        ("required", "vera@visitor.example")
    ]
    assert fake.invitations == [(created.external_id, "vera@visitor.example")]
    assert created.web_link
    (post,) = fake.graph_calls("POST")
    assert post.path == f"/v1.0/me/calendars/{default.id}/events"


async def test_retried_create_does_not_duplicate(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()
    first = await provider.create_event(booking("same-uid"), calendar_id=default.id)
    second = await provider.create_event(booking("same-uid"), calendar_id=default.id)
    assert first.external_id == second.external_id and len(default.events) == 1


async def test_create_in_a_read_only_calendar_is_access_lost(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    shared = microsoft_fake.add_calendar(
        EMAIL, name="Alex", owner_email="alex@contoso.example", can_edit=False
    )
    provider, _ = await make_provider()
    with pytest.raises(AccessLost):
        await provider.create_event(booking(), calendar_id=shared.id)
    assert shared.events == []


async def test_delete_event_and_delete_again(
    microsoft_fake: FakeMicrosoft, make_provider: MakeProvider
) -> None:
    default = microsoft_fake.user().default_calendar
    provider, _ = await make_provider()
    created = await provider.create_event(booking(), calendar_id=default.id)

    await provider.delete_event(created.external_id, calendar_id=default.id)
    assert default.events == []
    assert microsoft_fake.cancellations == [created.external_id]
    await provider.delete_event(created.external_id, calendar_id=default.id)  # already gone: fine
    assert [c.status for c in microsoft_fake.graph_calls("DELETE")] == [204, 404]


# -- the mapping on its own --------------------------------------------------------------------


def graph_event(**fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "AAMk=",
        "showAs": "busy",
        "isCancelled": False,
        "isAllDay": False,
        "responseStatus": {"response": "accepted", "time": "0001-01-01T00:00:00Z"},
        "start": {"dateTime": "2030-06-03T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2030-06-03T09:30:00.0000000", "timeZone": "UTC"},
    }
    event.update(fields)
    return event


@pytest.mark.parametrize(
    ("show_as", "expected", "blocks"),
    [
        ("free", ShowAs.FREE, False),
        ("tentative", ShowAs.TENTATIVE, True),
        ("busy", ShowAs.BUSY, True),
        ("oof", ShowAs.OUT_OF_OFFICE, True),
        ("workingElsewhere", ShowAs.WORKING_ELSEWHERE, True),
        ("unknown", ShowAs.UNKNOWN, True),
        ("somethingNew", ShowAs.UNKNOWN, True),
    ],
)
def test_mapping_show_as(show_as: str, expected: ShowAs, blocks: bool) -> None:
    block = graph_event_to_block(graph_event(showAs=show_as))
    assert block.show_as is expected and block.blocks_time() is blocks
    assert block.span == TimedSpan(
        datetime(2030, 6, 3, 9, tzinfo=UTC), datetime(2030, 6, 3, 9, 30, tzinfo=UTC)
    )


def test_mapping_cancelled_and_declined() -> None:
    cancelled = graph_event_to_block(graph_event(isCancelled=True))
    declined = graph_event_to_block(graph_event(responseStatus={"response": "declined"}))
    organizer = graph_event_to_block(graph_event(responseStatus={"response": "organizer"}))
    assert cancelled.cancelled and not cancelled.blocks_time()
    assert declined.declined and not declined.blocks_time()
    assert not organizer.declined and organizer.blocks_time()


def test_mapping_all_day_keeps_local_dates() -> None:
    block = graph_event_to_block(
        graph_event(
            isAllDay=True,
            start={"dateTime": "2030-06-03T00:00:00.0000000", "timeZone": "UTC"},
            end={"dateTime": "2030-06-05T00:00:00.0000000", "timeZone": "UTC"},
        )
    )
    assert block.span == AllDaySpan(date(2030, 6, 3), date(2030, 6, 5))


def test_mapping_reads_other_zones_and_fractions() -> None:
    block = graph_event_to_block(
        graph_event(
            start={"dateTime": "2030-06-03T11:00:00.1234567", "timeZone": "Europe/Berlin"},
            end={"dateTime": "2030-06-03T12:00:00.0000000", "timeZone": "Europe/Berlin"},
        )
    )
    assert isinstance(block.span, TimedSpan)
    assert block.span.start == datetime(2030, 6, 3, 9, 0, 0, 123456, tzinfo=UTC)
    assert block.span.end == datetime(2030, 6, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "broken",
    [
        {"start": None},
        {"start": {"dateTime": "", "timeZone": "UTC"}},
        {"start": {"dateTime": "2030-06-03T09:00:00", "timeZone": "Pacific Standard Time"}},
    ],
)
def test_mapping_refuses_unreadable_times(broken: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        graph_event_to_block(graph_event(**broken))
