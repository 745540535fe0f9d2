"""ICS feeds through the running app: the dashboard's form, busy time, Refresh, the free-as-busy
switch, a failing feed becoming a problem, and the secret address never in a page or a log line.

The app fetches from the fake feed host (TLS on 127.0.0.1) trusting its certificate through
``SLOTBOT_EXTRA_CA_FILE`` and allowing loopback through ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``, as an
operator would for a feed on a private network; nothing in the app knows it is a fake.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text, update

from bot.keys import FEEDS, SCHEDULER, SESSIONS
from storage.models import Calendar, CalendarConnection, FeedState, OutboxMessage, utcnow
from tests.conftest import AppClient
from tests.fakes.base import TlsFiles
from tests.fakes.feeds import TOKEN, FakeFeeds, calendar
from tests.support.signing_in import add_user, free_starts, sign_in_for_csrf

pytest_plugins = ["tests.fakes.feeds.fixtures"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2031, 3, 3, tzinfo=COPENHAGEN)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
async def client(app_client: AppClient, feeds_tls: TlsFiles) -> TestClient:
    return await app_client(SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
                            SLOTBOT_EXTRA_CA_FILE=str(feeds_tls.cert))


async def _add(client: TestClient, csrf: str, url: str, **extra: str) -> Any:
    return await client.post("/dashboard/connect/feed", data={"csrf": csrf, "url": url, **extra},
                             allow_redirects=False)


async def _feed_calendar(client: TestClient) -> tuple[CalendarConnection, Calendar]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        connection = (await session.execute(
            select(CalendarConnection).where(CalendarConnection.provider == "feed"))).scalar_one()
        row = (await session.execute(
            select(Calendar).where(Calendar.connection_id == connection.id))).scalar_one()
    return connection, row


async def test_add_a_feed_read_its_busy_time_switch_free_as_busy_and_refresh(
    client: TestClient, feeds: FakeFeeds, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    feeds.publish("team", calendar((_at(1, 10), _at(1, 11)), name="Team rota"))
    feeds.publish("holidays", calendar((_at(2, 14), _at(2, 15)), name="Holidays", transparent=True))
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    pages = []

    dashboard = await (await client.get("/dashboard")).text()
    assert "Add a calendar by its address (ICS feed)" in dashboard
    form = await (await client.get("/dashboard/connect/feed")).text()
    assert "What Slotbot will read" in form and "never shows it again" in form

    added = await _add(client, csrf, feeds.feed_url("team", scheme="webcal"))
    assert added.status == 303, await added.text()
    page = await (await client.get(added.headers["Location"])).text()
    pages.append(page)
    assert re.search(r"Connected 127\.0\.0\.1 #[0-9a-f]{6}: 1 calendar found\.", page), page
    assert "bookings land in" not in page  # a read-only feed is never the default
    assert "Team rota" in page and "can read" in page and ">Refresh<" in page
    assert "Count events shown as free as busy" in page

    connection, row = await _feed_calendar(client)
    assert (row.access_role, row.checks_conflicts, row.is_default) == ("reader", True, False)
    async with engine.connect() as conn:
        raw = (await conn.execute(text(
            "SELECT credentials FROM calendar_connections WHERE provider = 'feed'"))).scalar_one()
    assert raw.startswith("v1.") and TOKEN not in raw and "127.0.0.1" not in raw  # sealed
    made_default = await client.post(f"/dashboard/calendars/{row.id}/default", data={"csrf": csrf})
    assert made_default.status == 400 and "cannot be written" in await made_default.text()

    free = await free_starts(client, user_id, MONDAY)
    assert not {_at(1, 10), _at(1, 10, 30)} & free and _at(1, 11) in free

    # The holiday feed marks everything free: ignored until the switch says otherwise.
    assert (await _add(client, csrf, feeds.feed_url("holidays"))).status == 303
    assert _at(2, 14) in await free_starts(client, user_id, MONDAY)
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        holidays = (await session.execute(select(Calendar).where(Calendar.name == "Holidays"))).scalar_one()
    switched = await client.post(f"/dashboard/connections/{holidays.connection_id}/free-as-busy",
                                 data={"csrf": csrf, "value": "on"}, allow_redirects=False)
    assert switched.status == 303
    assert _at(2, 14) not in await free_starts(client, user_id, MONDAY)
    pages.append(await (await client.get("/dashboard")).text())
    assert "Events shown as free count as busy." in pages[-1]

    # Refresh: unchanged is a 304 and keeps the copy; a change is read at once.
    refreshed = await client.post(f"/dashboard/connections/{connection.id}/feed-refresh",
                                  data={"csrf": csrf}, allow_redirects=False)
    assert refreshed.status == 303
    assert feeds.fetches("team") == [200, 304]
    pages.append(await (await client.get(refreshed.headers["Location"])).text())
    assert "Loaded the calendar feed 127.0.0.1 #" in pages[-1]
    feeds.publish("team", calendar((_at(3, 9), _at(3, 10)), name="Team rota"))
    await client.post(f"/dashboard/connections/{connection.id}/feed-refresh", data={"csrf": csrf})
    free = await free_starts(client, user_id, MONDAY)
    assert _at(1, 10) in free and _at(3, 9) not in free

    # The secret address: never in a page or a log line, not even the token part.
    pages.append(await (await client.get("/dashboard")).text())
    assert not [p for p in pages if TOKEN in p or "/feeds/" in p]
    assert TOKEN not in caplog.text and "/feeds/" not in caplog.text


@pytest.mark.parametrize(("path", "sentence"), [
    ("/status/404", "no longer has this calendar feed (404)"),
    ("/status/500", "server error (500)"),
    ("/status/429", "slow down (429)"),
    ("/huge.ics?bytes=30000000&length=0", "larger than 20 MB"),
    ("/hop/5/team.ics", "redirected more than 5 times"),
    ("/redirect?to=https://169.254.169.254/latest/meta-data/", "private or local network address"),
    (f"/feeds/{TOKEN}/page.ics", "did not send a calendar Slotbot can read"),
])
async def test_a_feed_that_does_not_load_is_a_sentence_on_the_form(
    client: TestClient, feeds: FakeFeeds, caplog: pytest.LogCaptureFixture, path: str, sentence: str
) -> None:
    caplog.set_level(logging.DEBUG)
    feeds.publish("team", calendar())
    feeds.publish("page", "<html><body>Sign in to see this calendar</body></html>")
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)

    answer = await _add(client, csrf, feeds.url(path), free_as_busy="on")

    body = await answer.text()
    assert answer.status == 400 and sentence in body, body
    assert 'name="url" type="url" value=""' in body and "checked" in body  # the address is not shown back
    assert TOKEN not in body and TOKEN not in caplog.text
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        assert (await session.execute(select(CalendarConnection))).first() is None


@pytest.mark.parametrize(("url", "sentence"), [
    ("http://calendar.example.com/feed.ics", "https://"),
    ("https://user:pw@calendar.example.com/feed.ics", "user name or password"),
    ("https://10.1.2.3/feed.ics", "private or local network address"),
    ("", "Enter the calendar"),
])
async def test_addresses_slotbot_does_not_fetch_are_refused_on_the_form(
    client: TestClient, url: str, sentence: str
) -> None:
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    answer = await _add(client, csrf, url)
    assert answer.status == 400 and sentence in await answer.text()


async def _age(
    client: TestClient, connection_id: int, *, fetched: timedelta, failing: timedelta | None
) -> None:
    now = utcnow()
    async with client.app[SESSIONS]() as session, session.begin():  # type: ignore[union-attr]
        await session.execute(update(FeedState).where(FeedState.connection_id == connection_id).values(
            fetched_at=now - fetched, failing_since=None if failing is None else now - failing,
            last_error=None if failing is None else "127.0.0.1 answered with a server error (500).",
            next_refresh_at=now - timedelta(seconds=1),
        ))


async def _answer(client: TestClient, user_id: int) -> Any:
    assert client.app is not None
    client.app[SCHEDULER].forget(user_id)
    return await client.app[SCHEDULER].availability(
        user_id, start=MONDAY, end=MONDAY + timedelta(days=7), now=MONDAY - timedelta(days=1))


async def test_a_failing_feed_answers_from_its_copy_then_is_unknown_then_a_problem_told_once(
    client: TestClient, feeds: FakeFeeds
) -> None:
    url = feeds.publish("team", calendar((_at(1, 10), _at(1, 11))))
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    assert (await _add(client, csrf, url)).status == 303
    connection, row = await _feed_calendar(client)
    refresher = client.app[FEEDS].refresher  # type: ignore[union-attr]
    feeds.fail_next(100, status=500)

    # Failing for half an hour, a copy of half an hour ago: it still answers.
    await _age(client, connection.id, fetched=timedelta(minutes=30), failing=timedelta(minutes=30))
    answer = await _answer(client, user_id)
    assert answer.complete and _at(1, 10) not in {s.start for s in answer.result.slots}

    # Failing for an hour, the copy three hours old: unknown (never free), not yet a problem.
    await _age(client, connection.id, fetched=timedelta(hours=3), failing=timedelta(hours=1))
    answer = await _answer(client, user_id)
    assert [p.reason for p in answer.problems] == ["unavailable"] and not answer.result.slots
    assert "more than 2 hours old" in answer.problems[0].message
    assert (await _feed_calendar(client))[1].status == "active"

    # Failing for two hours: the background refresh finds it still failing and reports it, once.
    await _age(client, connection.id, fetched=timedelta(hours=3), failing=timedelta(hours=2, minutes=1))
    assert await refresher.run_due() == 1
    await _age(client, connection.id, fetched=timedelta(hours=3), failing=timedelta(hours=3))
    assert await refresher.run_due() == 1
    answer = await _answer(client, user_id)
    assert [p.reason for p in answer.problems] == ["access_lost"] and not answer.result.slots
    _, row = await _feed_calendar(client)
    assert row.status == "inactive" and "has not loaded" in (row.last_error or "")
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        kinds = [m.kind for m in (await session.execute(select(OutboxMessage))).scalars()]
        payloads = [str(m.payload) for m in (await session.execute(select(OutboxMessage))).scalars()]
    assert sum("calendar_lost" in p for p in payloads) == 1, (kinds, payloads)  # told once
    assert not [p for p in payloads if TOKEN in p]

    # The feed works again: Refresh brings the calendar back.
    feeds.clear_faults()
    refreshed = await client.post(f"/dashboard/connections/{connection.id}/feed-refresh",
                                  data={"csrf": csrf}, allow_redirects=False)
    assert refreshed.status == 303
    assert (await _feed_calendar(client))[1].status == "active"
    answer = await _answer(client, user_id)
    assert answer.complete and _at(1, 11) in {s.start for s in answer.result.slots}


async def test_a_refresh_that_fails_says_why_and_keeps_the_copy(client: TestClient, feeds: FakeFeeds) -> None:
    url = feeds.publish("team", calendar((_at(1, 10), _at(1, 11))))
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    assert (await _add(client, csrf, url)).status == 303
    connection, _ = await _feed_calendar(client)
    feeds.fail_next(1, status=503, retry_after=120)

    answer = await client.post(f"/dashboard/connections/{connection.id}/feed-refresh", data={"csrf": csrf})

    body = await answer.text()
    assert answer.status == 502 and "server error (503)" in body and TOKEN not in body
    page = await (await client.get("/dashboard")).text()
    assert "not loading" in page and "server error (503)" in page
    assert _at(1, 10) not in await free_starts(client, user_id, MONDAY)  # the copy still answers
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        state = await session.get(FeedState, connection.id)
    assert state is not None and state.failing_since is not None
    assert state.next_refresh_at - state.checked_at >= timedelta(minutes=11)  # type: ignore[operator]
    other = await add_user(client, "mallory", "mallory@example.com")
    csrf_other = await sign_in_for_csrf(client, other)
    for action in ("feed-refresh", "free-as-busy"):
        refused = await client.post(f"/dashboard/connections/{connection.id}/{action}",
                                    data={"csrf": csrf_other, "value": "on"})
        assert refused.status == 400 and "not set up" in await refused.text()


async def test_a_feed_added_next_to_a_writable_calendar_leaves_the_default_alone(
    app_client: AppClient, feeds: FakeFeeds, feeds_tls: TlsFiles
) -> None:
    from tests.support.signing_in import demo_client

    client, demo = await demo_client(app_client, SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
                                     SLOTBOT_EXTRA_CA_FILE=str(feeds_tls.cert))
    csrf = await sign_in_for_csrf(client, demo.user_id)
    added = await _add(client, csrf, feeds.publish("team", calendar(name="Team rota")))
    assert added.status == 303
    page = await (await client.get(added.headers["Location"])).text()
    assert "1 calendar found." in page and "Local calendar" in page and "Team rota" in page
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        defaults = (await session.execute(select(Calendar).where(Calendar.is_default))).scalars().all()
    assert [(c.name, c.access_role) for c in defaults] == [(defaults[0].name, "owner")]
    assert defaults[0].connection_id != (await _feed_calendar(client))[0].id


async def test_feeds_can_be_turned_off(app_client: AppClient) -> None:
    client = await app_client(SLOTBOT_FEEDS="false")
    assert client.app is not None and FEEDS not in client.app
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    assert "ICS feed" not in await (await client.get("/dashboard")).text()
    assert (await client.get("/dashboard/connect/feed")).status == 404
    assert (await _add(client, csrf, "https://calendar.example.com/x.ics")).status == 404


@pytest.mark.parametrize("value", ["lots", "10", "-5"])
def test_a_bad_feed_size_cap_stops_start_up(make_settings: Any, value: str) -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="SLOTBOT_FEED_MAX_BYTES"):
        make_settings(SLOTBOT_FEED_MAX_BYTES=value)
    assert make_settings().feed_max_bytes == 20 * 1024 * 1024
    assert make_settings(SLOTBOT_FEED_MAX_BYTES="1048576").feed_max_bytes == 1048576
