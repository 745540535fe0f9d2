"""A booking's place written through exchangelib to the fake Exchange: the EWS ``Location``, the
join link in the body; a conference asked of Exchange makes none (it cannot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.calendar.base import Attendee, Conference, NewEvent
from bot.calendar.exchange.provider import ExchangeCalendarProvider
from tests.calendar.test_exchange_provider import fake, provider  # noqa: F401 (fixtures)
from tests.fakes.exchange import FakeExchange

pytest_plugins = ["tests.fakes.exchange.fixtures"]


async def test_the_address_is_the_exchange_events_location(
    fake: FakeExchange, provider: ExchangeCalendarProvider  # noqa: F811
) -> None:
    start = datetime(2031, 3, 30, 7, tzinfo=UTC)
    event = NewEvent(uid="booking-78@slotbot", title="Intro call", start=start,
                     end=start + timedelta(minutes=30), time_zone="Europe/Copenhagen",
                     attendees=(Attendee("vera@example.org", "Vera"),),
                     location="Nyhavn 1, 1051 København", join_url="https://whereby.com/hana",
                     description="Join: https://whereby.com/hana", conference=Conference.TEAMS)

    created = await provider.create_event(event, calendar_id=fake.host.calendar.id)

    assert created.join_url is None  # Exchange on premises makes no Teams meeting here
    [stored] = fake.host.calendar.events
    assert stored.location == "Nyhavn 1, 1051 København"
