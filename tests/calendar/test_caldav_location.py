"""A booking's place written to a real Radicale: ``LOCATION``, and ``CONFERENCE`` for a join link;
a conference asked of CalDAV makes none (it cannot)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import aiohttp
import icalendar

from bot.calendar.base import Attendee, Conference, NewEvent
from bot.calendar.caldav.provider import CalDavFactory
from tests.calendar.test_caldav_provider import _provider, factory  # noqa: F401 (a fixture)
from tests.fakes.caldav import Account, CalDavProxy

pytest_plugins = ["tests.fakes.caldav.fixtures"]


async def test_the_address_and_the_link_reach_the_caldav_event(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory  # noqa: F811
) -> None:
    calendar = caldav_account.mkcalendar("work")
    provider = _provider(factory, caldav_proxy, caldav_account)
    start = datetime(2031, 3, 30, 7, tzinfo=UTC)
    event = NewEvent(uid="booking-8@slotbot", title="Intro", start=start, end=start + timedelta(minutes=30),
                     time_zone="Europe/Copenhagen", attendees=(Attendee("vera@example.org", "Vera"),),
                     location="Nyhavn 1, 1051 København", join_url="https://whereby.com/hana",
                     description="Join: https://whereby.com/hana", conference=Conference.GOOGLE_MEET)

    created = await provider.create_event(event, calendar_id=calendar)

    assert created.join_url is None  # CalDAV makes no meeting
    got = await caldav_proxy_get(caldav_proxy, created.external_id, caldav_account)
    vevent = icalendar.Calendar.from_ical(got).walk("VEVENT")[0]
    assert str(vevent["LOCATION"]) == "Nyhavn 1, 1051 København"
    assert str(vevent["CONFERENCE"]) == "https://whereby.com/hana"
    assert "Join: https://whereby.com/hana" in str(vevent["DESCRIPTION"])


async def caldav_proxy_get(proxy: CalDavProxy, path: str, account: Account) -> str:
    """The event as Radicale stores it (read back through the proxy, whose test certificate is not
    checked here)."""
    token = base64.b64encode(f"{account.username}:{account.password}".encode()).decode()
    async with aiohttp.ClientSession() as session, session.get(
        proxy.base_url + path, headers={"Authorization": f"Basic {token}"}, ssl=False
    ) as answer:
        assert answer.status == 200
        return await answer.text()
