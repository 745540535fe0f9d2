"""The demo's CalDAV server (Radicale) and ICS feed: started, connected to the demo host through the
dashboard's own services, merged with the sample calendar, and kept right across restarts.

Busy time is compared before and after connecting, on slots the bundled files decide: the team
calendar's Wednesday design review (11:00-12:00) and the feed's Thursday all-hands (14:00-15:00),
both Copenhagen time, while the sample calendar leaves those hours free.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from icalendar import Calendar as IcsCalendar
from sqlalchemy import select

from bot.accounts.calendars import CalendarSettings
from bot.booking.events import SYNC_EVENT_KIND
from bot.calendar.caldav.webdav import authorization
from bot.demo.calendars import DemoServices, LocalServers, connect_demo_calendars, start_local_servers
from bot.demo.certificate import TlsFiles, make_tls_files
from bot.demo.feed_server import company_feed
from bot.demo.ports import remembered
from bot.demo.radicale import CALENDAR_NAME
from bot.keys import CALDAV, CONNECTIONS, FEEDS, SCHEDULER, SESSIONS
from bot.notices.email import EMAIL_KIND
from storage.models import Calendar, CalendarConnection

if TYPE_CHECKING:
    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2031, 3, 10, tzinfo=COPENHAGEN)  # an ordinary week: no first Friday, no DST change
DESIGN_REVIEW = MONDAY + timedelta(days=2, hours=11)  # Wednesday, from the CalDAV team calendar
ALL_HANDS = MONDAY + timedelta(days=3, hours=14)  # Thursday, from the company feed
# Every hour the two add (the team calendar's interviews are Monday and Thursday 16-17; its Friday
# social is shown as free and blocks nothing; the feed's office hours start before the working day).
ADDED = [DESIGN_REVIEW, ALL_HANDS, MONDAY + timedelta(hours=16), MONDAY + timedelta(days=3, hours=16)]


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls", "demo-local")


@pytest.fixture
async def servers(tmp_path: Path, tls: TlsFiles) -> AsyncIterator[LocalServers]:
    started = await start_local_servers(tmp_path / "data", tls)
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def demo(start_demo: Callable[..., Awaitable[LiveDemo]], tls: TlsFiles) -> LiveDemo:
    # What ``slotbot demo`` sets for its own servers: loopback allowed, their certificate trusted.
    return await start_demo(SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
                            SLOTBOT_EXTRA_CA_FILE=str(tls.cert))


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    return tmp_path / "data"


def _services(demo: LiveDemo) -> DemoServices:
    app = demo.app
    return DemoServices(app[SESSIONS], app[CONNECTIONS], app[CALDAV], app[FEEDS])


async def _free(demo: LiveDemo) -> set[datetime]:
    demo.app[SCHEDULER].forget(demo.host.user_id)
    answer = await demo.app[SCHEDULER].availability(
        demo.host.user_id, start=MONDAY, end=MONDAY + timedelta(days=7), now=MONDAY - timedelta(days=1))
    assert answer.complete, answer.problems
    return {slot.start.astimezone(COPENHAGEN) for slot in answer.result.slots}


async def _connections(demo: LiveDemo) -> list[tuple[str, str]]:
    async with demo.app[SESSIONS]() as session:
        rows = await session.execute(select(CalendarConnection.provider, CalendarConnection.account_email)
                                     .order_by(CalendarConnection.id))
        return [(provider, email) for provider, email in rows]


async def test_caldav_and_feed_busy_time_merges_with_the_sample_calendar(
        demo: LiveDemo, servers: LocalServers) -> None:
    assert servers.caldav is not None and servers.feed_url is not None, servers.lines
    before = await _free(demo)
    assert {DESIGN_REVIEW, ALL_HANDS} <= before  # the sample calendar alone leaves both free

    assert await connect_demo_calendars(_services(demo), demo.host.user_id, servers) == []

    after = await _free(demo)
    assert DESIGN_REVIEW not in after and DESIGN_REVIEW + timedelta(minutes=30) not in after
    assert ALL_HANDS not in after and ALL_HANDS + timedelta(minutes=30) not in after
    blocked = {hour + timedelta(minutes=m) for hour in ADDED for m in (0, 30)}
    assert after == before - blocked
    async with demo.app[SESSIONS]() as session:
        calendars = {c.name: c for c in (await session.execute(select(Calendar))).scalars()}
    assert calendars[CALENDAR_NAME].checks_conflicts and not calendars[CALENDAR_NAME].is_default
    assert calendars["Company events"].checks_conflicts
    assert calendars["Demo calendar"].is_default  # bookings keep landing in the sample calendar
    assert [p for p, _ in await _connections(demo)] == ["local", "caldav", "feed"]


async def test_a_restart_reuses_the_ports_and_connects_nothing_twice(
        demo: LiveDemo, data_dir: Path, tls: TlsFiles) -> None:
    first = await start_local_servers(data_dir, tls)
    try:
        assert await connect_demo_calendars(_services(demo), demo.host.user_id, first) == []
    finally:
        await first.stop()
    connected = await _connections(demo)
    ports = remembered(data_dir)
    assert set(ports) == {"caldav", "feed"}

    again = await start_local_servers(data_dir, tls)
    try:
        assert again.ports == ports
        assert await connect_demo_calendars(_services(demo), demo.host.user_id, again) == []
        assert await _connections(demo) == connected
        assert DESIGN_REVIEW not in await _free(demo)  # the same connection reads the new process
    finally:
        await again.stop()


async def test_a_server_that_had_to_move_is_re_pointed(demo: LiveDemo, data_dir: Path, tls: TlsFiles) -> None:
    first = await start_local_servers(data_dir, tls)
    try:
        assert await connect_demo_calendars(_services(demo), demo.host.user_id, first) == []
    finally:
        await first.stop()
    old = remembered(data_dir)
    with socket.socket() as caldav_port, socket.socket() as feed_port:  # something else took both
        for taken, port in ((caldav_port, old["caldav"]), (feed_port, old["feed"])):
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the old TIME_WAITs
            taken.bind(("127.0.0.1", port))
            taken.listen()
        moved = await start_local_servers(data_dir, tls)
    try:
        assert moved.ports["caldav"] != old["caldav"] and moved.ports["feed"] != old["feed"]
        assert await connect_demo_calendars(_services(demo), demo.host.user_id, moved) == []
        providers = [p for p, _ in await _connections(demo)]
        assert providers == ["local", "caldav", "feed"]  # re-pointed, not added beside the old ones
        free = await _free(demo)
        assert DESIGN_REVIEW not in free and ALL_HANDS not in free
        assert remembered(data_dir) == moved.ports
    finally:
        await moved.stop()


async def test_a_calendar_the_host_disconnected_stays_disconnected(
        demo: LiveDemo, data_dir: Path, tls: TlsFiles) -> None:
    first = await start_local_servers(data_dir, tls)
    try:
        await connect_demo_calendars(_services(demo), demo.host.user_id, first)
        async with demo.app[SESSIONS]() as session:
            feed_id = (await session.execute(select(CalendarConnection.id).where(
                CalendarConnection.provider == "feed"))).scalar_one()
        await demo.app[CONNECTIONS].disconnect(demo.host.user_id, feed_id)
    finally:
        await first.stop()
    again = await start_local_servers(data_dir, tls)
    try:
        assert await connect_demo_calendars(_services(demo), demo.host.user_id, again) == []
        assert [p for p, _ in await _connections(demo)] == ["local", "caldav"]
    finally:
        await again.stop()


async def test_the_feed_answers_304_to_a_current_copy(servers: LocalServers, tls: TlsFiles) -> None:
    assert servers.feed_url is not None
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(tls.cert)))
    async with aiohttp.ClientSession(connector=connector) as client:
        async with client.get(servers.feed_url) as answer:
            assert answer.status == 200 and await answer.read() == company_feed()
            etag, modified = answer.headers["ETag"], answer.headers["Last-Modified"]
        async with client.get(servers.feed_url, headers={"If-None-Match": etag}) as again:
            assert again.status == 304
        async with client.get(servers.feed_url, headers={"If-Modified-Since": modified}) as since:
            assert since.status == 304
        async with client.get(servers.feed_url, headers={"If-None-Match": '"other"'}) as changed:
            assert changed.status == 200
        async with client.get(servers.feed_url.rsplit("/", 1)[0] + "/guessed.ics") as unknown:
            assert unknown.status == 404


async def _book(demo: LiveDemo) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as visitor:
        async with visitor.get(demo.url("/meetings/demo")) as listing:
            page = await listing.text()
        start = re.findall(r"start=([^&\"]+)&amp;", page)[0].replace("%3A", ":").replace("%2B", "+")
        async with visitor.get(demo.url("/meetings/demo"), params={"start": start, "d": "30"}) as form:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await form.text())
        assert csrf
        data = {"csrf": csrf.group(1), "start": start, "d": "30", "tz": "Europe/Copenhagen",
                "name": "Vera", "email": "vera@example.org"}
        async with visitor.post(demo.url("/meetings/demo"), data=data) as booked:
            assert booked.status == 200, await booked.text()
    return start


async def test_a_booking_lands_in_the_caldav_default_calendar_with_an_invitation_by_mail(
        demo: LiveDemo, servers: LocalServers, tls: TlsFiles, capsys: pytest.CaptureFixture[str]) -> None:
    assert servers.caldav is not None
    assert await connect_demo_calendars(_services(demo), demo.host.user_id, servers) == []
    async with demo.app[SESSIONS]() as session:
        team = (await session.execute(select(Calendar).where(Calendar.name == CALENDAR_NAME))).scalar_one()
    await CalendarSettings(demo.app[SESSIONS]).set_default(demo.host.user_id, team.id)

    start = await _book(demo)
    statuses = await demo.outbox_settled(seconds=30)
    assert (SYNC_EVENT_KIND, "done") in statuses.values() and (EMAIL_KIND, "done") in statuses.values()

    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(tls.cert)))
    headers = {"Authorization": authorization(servers.caldav.username, servers.caldav.password)}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as dav:
        async with dav.request("PROPFIND", servers.caldav.url + team.external_id.lstrip("/"),
                               headers={"Depth": "1"}) as listing:
            hrefs = re.findall(r"<[^>]*href>([^<]+\.ics)</", await listing.text())
        texts = []
        for href in hrefs:
            async with dav.get(servers.caldav.url + href.lstrip("/")) as item:
                texts.append(await item.text())
    [booked] = [t for t in texts if "vera@example.org" in t]  # beside the three seeded events
    assert len(texts) == 4
    event = IcsCalendar.from_ical(booked).walk("VEVENT")[0]
    assert event["DTSTART"].dt == datetime.fromisoformat(start)
    attendee = event["ATTENDEE"]
    assert str(attendee).lower() == "mailto:vera@example.org"
    assert attendee.params["SCHEDULE-AGENT"] == "CLIENT"  # Slotbot e-mails the invitation itself
    assert "vera@example.org" in capsys.readouterr().out  # the demo shows the e-mail it sent
