"""The scheduling page's month calendar over plain HTTP (no JavaScript): the page's horizon,
month navigation bounds, the first available day selected, the zone picker (labels, unknown
zones, a DST day), the 12/24-hour clock, the chosen slot's summary and field errors, and the
manage page (moving through the calendar, cancelling after a confirmation with a reason)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.demo.seed import DEMO_TIMEZONE
from bot.keys import SESSIONS
from storage.models import Booking, SchedulingPage, User
from tests.conftest import AppClient
from tests.support.page_client import day_links, offered_starts

HOST_ZONE = ZoneInfo(DEMO_TIMEZONE)


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_BASE_URL="http://slotbot.test")


async def _rules(client: TestClient, rules: dict[str, Any], *, host_zone: str | None = None) -> None:
    """Give the demo page ``rules`` (and the demo host ``host_zone``)."""
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(rules=rules))
        if host_zone:
            await session.execute(update(User).values(timezone=host_zone))


async def _get(client: TestClient, **query: str) -> str:
    response = await client.get("/meetings/demo", params=query)
    assert response.status == 200, await response.text()
    return await response.text()


def _selected(body: str) -> str | None:
    """The date the calendar selects (the cell marked aria-current="date")."""
    found = re.search(r'data-date="([\d-]+)"[^>]*aria-current="date"', body)
    return found.group(1) if found else None


def _times(body: str) -> list[str]:
    """The labels of the selected day's times, as shown."""
    return [unescape(t).replace("\u202f", " ").strip()
            for t in re.findall(r'<span class="slot-time">([^<]+)</span>', body)]


def _weekday_ahead(days: int) -> date:
    """A Tuesday to Thursday about ``days`` after the host's today (the demo's working days)."""
    day = datetime.now(HOST_ZONE).date() + timedelta(days=days)
    while day.weekday() not in (1, 2, 3):
        day += timedelta(days=1)
    return day


async def test_a_60_day_page_offers_45_days_ahead_and_a_14_day_page_does_not(client: TestClient) -> None:
    far = _weekday_ahead(45)
    body = await _get(client, day=far.isoformat(), tz=DEMO_TIMEZONE)  # the demo page: 60 days
    assert _selected(body) == far.isoformat()
    links = [datetime.fromisoformat(s) for s in day_links(body)]
    assert links and {s.astimezone(HOST_ZONE).date() for s in links} == {far}

    await _rules(client, {"horizon_days": 14})
    short = await _get(client, day=far.isoformat(), tz=DEMO_TIMEZONE)
    assert _selected(short) != far.isoformat()
    horizon = datetime.combine(datetime.now(HOST_ZONE).date() + timedelta(days=14), datetime.min.time(),
                               HOST_ZONE)
    offered = offered_starts(short)
    assert offered and all(s < horizon for s in offered)
    assert far.isoformat() not in short  # no cell links to that day


async def test_month_navigation_stops_at_today_and_at_the_horizon(client: TestClient) -> None:
    today = datetime.now(HOST_ZONE).date()
    now_month = today.strftime("%Y-%m")
    body = await _get(client, tz=DEMO_TIMEZONE)
    assert 'aria-label="Previous month"' not in body and 'aria-label="Next month"' in body
    past = await _get(client, tz=DEMO_TIMEZONE, month="2020-01")
    assert 'aria-label="Previous month"' not in past and f'name="month" value="{now_month}"' in past

    last = today + timedelta(days=59)  # the demo page's 60-day horizon
    far = await _get(client, tz=DEMO_TIMEZONE, month="2099-05")
    assert f'name="month" value="{last.strftime("%Y-%m")}"' in far
    assert 'aria-label="Next month"' not in far and 'aria-label="Previous month"' in far
    following = re.search(r'href="([^"]+)"[^>]*aria-label="Next month"', body)
    assert following
    nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1).strftime("%Y-%m")
    assert f"month={nxt}" in unescape(following.group(1))

    await _rules(client, {"horizon_days": 1})
    only_today = await _get(client, tz=DEMO_TIMEZONE, month="2099-05")
    assert 'aria-label="Next month"' not in only_today and f'name="month" value="{now_month}"' in only_today


async def test_the_first_available_day_is_selected_with_its_times(client: TestClient) -> None:
    body = await _get(client, tz="America/Sao_Paulo")
    zone = ZoneInfo("America/Sao_Paulo")
    offered = offered_starts(body)
    assert offered
    first = min(offered).astimezone(zone).date()
    assert _selected(body) == first.isoformat()
    shown = [datetime.fromisoformat(s) for s in day_links(body)]
    assert shown == sorted(s for s in offered if s.astimezone(zone).date() == first)


async def test_the_zone_picker_names_zones_with_their_offsets(client: TestClient) -> None:
    body = await _get(client, tz="Asia/Tokyo")
    assert "Times in Tokyo — GMT+9" in body
    assert '<option value="Asia/Tokyo" label="Tokyo — GMT+9">' in body
    assert 'value="America/Argentina/Buenos_Aires"' in body
    assert 'value="US/Eastern"' not in body and 'value="America/Buenos_Aires"' not in body  # aliases
    assert 'list="zones"' in body
    danish = await _get(client, tz="Asia/Tokyo", lang="pt")
    assert "Tóquio — GMT+9" in danish


async def test_an_unknown_zone_gets_a_sentence_and_times_in_the_hosts_zone(client: TestClient) -> None:
    body = await _get(client, tz="Mars/Olympus_Mons")
    assert "“Mars/Olympus_Mons” is not a time zone we know, so times are shown in Europe/Copenhagen." in body
    assert 'role="alert"' in body
    assert "Times in Copenhagen" in body


def _last_sunday_of_march_ahead() -> date:
    today = datetime.now(HOST_ZONE).date()
    for year in (today.year, today.year + 1):
        day = date(year, 3, 31)
        while day.weekday() != 6:
            day -= timedelta(days=1)
        if day > today:
            return day
    raise AssertionError("unreachable")


async def test_a_dst_day_lists_the_right_local_times(client: TestClient) -> None:
    # The host works 00:00-03:00 UTC on Sundays; in Copenhagen the clocks jump from 02:00 to 03:00
    # on the last Sunday of March (01:00 UTC), so the visitor's list skips the missing hour.
    dst = _last_sunday_of_march_ahead()
    await _rules(client, {"horizon_days": 400, "weekly": {"sun": ["00:00-03:00"]}}, host_zone="UTC")
    body = await _get(client, tz="Europe/Copenhagen", day=dst.isoformat(), clock="24", lang="en")
    assert _selected(body) == dst.isoformat()
    assert _times(body) == ["01:00", "01:30", "03:00", "03:30", "04:00", "04:30"]
    starts = [datetime.fromisoformat(s).astimezone(UTC) for s in day_links(body)]
    assert [s.hour for s in starts] == [0, 0, 1, 1, 2, 2]
    week_before = await _get(client, tz="Europe/Copenhagen", day=(dst - timedelta(days=7)).isoformat(),
                             clock="24", lang="en")
    assert _times(week_before) == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]


async def test_the_clock_follows_the_language_with_a_switch(client: TestClient) -> None:
    day = _weekday_ahead(7).isoformat()
    english = _times(await _get(client, tz=DEMO_TIMEZONE, day=day, lang="en"))
    assert english and all(re.fullmatch(r"\d{1,2}:\d\d [AP]M", t) for t in english), english
    danish = _times(await _get(client, tz=DEMO_TIMEZONE, day=day, lang="da"))
    assert danish and all(re.fullmatch(r"\d\d[.:]\d\d", t) for t in danish), danish
    portuguese = _times(await _get(client, tz=DEMO_TIMEZONE, day=day, lang="pt"))
    assert portuguese and all(re.fullmatch(r"\d\d:\d\d", t) for t in portuguese), portuguese
    english_24 = _times(await _get(client, tz=DEMO_TIMEZONE, day=day, lang="en", clock="24"))
    assert english_24 and all(re.fullmatch(r"\d\d:\d\d", t) for t in english_24)
    assert english_24[0] == "09:00" and english[0] == "9:00 AM"
    danish_12 = _times(await _get(client, tz=DEMO_TIMEZONE, day=day, lang="da", clock="12"))
    assert all("AM" in t or "PM" in t for t in danish_12), danish_12


async def test_the_chosen_time_is_summarised_and_highlighted(client: TestClient) -> None:
    day = _weekday_ahead(7).isoformat()
    body = await _get(client, tz="Asia/Tokyo", day=day, lang="en")
    start = day_links(body)[1]
    form = await _get(client, tz="Asia/Tokyo", start=start, d="30", lang="en")
    heading = unescape(re.search(r'<h2 id="book-title">([^<]+)</h2>', form).group(1)).replace("\u202f", " ")
    local = datetime.fromisoformat(start).astimezone(ZoneInfo("Asia/Tokyo"))
    assert heading.startswith(local.strftime("%a, %b ") + str(local.day) + ", ")
    assert heading.endswith(", Tokyo time") and "\N{EN DASH}" in heading
    assert re.search(r'class="slot chosen" aria-current="true"', form)
    assert 'id="f-name"' in form and 'for="f-name"' in form


async def test_an_invalid_email_is_shown_beside_its_field_with_the_typed_values(client: TestClient) -> None:
    body = await _get(client, tz=DEMO_TIMEZONE)
    start = day_links(body)[0]
    form = await _get(client, tz=DEMO_TIMEZONE, start=start, d="30")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    answer = await client.post("/meetings/demo", data={
        "csrf": csrf.group(1), "start": start, "d": "30", "tz": DEMO_TIMEZONE, "name": "Ana Lima",
        "email": "not-an-address", "note": "About the offer"})
    text = await answer.text()
    assert answer.status == 400
    assert re.search(r'name="email"[^>]*value="not-an-address"[^>]*aria-invalid="true" '
                     r'aria-describedby="email-error"', text)
    assert 'id="email-error">Please enter a valid e-mail address.<' in text
    assert 'value="Ana Lima"' in text and "About the offer" in text


async def _booked_manage_link(client: TestClient) -> tuple[str, datetime]:
    body = await _get(client, tz=DEMO_TIMEZONE, day=_weekday_ahead(3).isoformat())
    start = day_links(body)[0]
    form = await _get(client, tz=DEMO_TIMEZONE, start=start, d="30")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    booked = await client.post("/meetings/demo", data={
        "csrf": csrf.group(1), "start": start, "d": "30", "tz": DEMO_TIMEZONE, "name": "Ana",
        "email": "ana@example.com", "lang": "da"})
    text = await booked.text()
    assert booked.status == 200, text
    manage = re.search(r'href="http://slotbot\.test(/meetings-manage/[^"]+)"', text)
    assert manage
    return manage.group(1), datetime.fromisoformat(start)


async def test_moving_through_the_manage_pages_calendar(client: TestClient) -> None:
    link, start = await _booked_manage_link(client)
    view = await (await client.get(link, params={"lang": "en"})).text()
    assert view.index("Move it to another time") < view.index("Cancel this meeting")
    assert 'id="month-title"' in view and 'type="radio"' not in view
    later = _weekday_ahead(10)
    day_view = await (await client.get(link, params={"lang": "en", "day": later.isoformat()})).text()
    assert _selected(day_view) == later.isoformat()
    times = day_links(day_view)
    assert times and {datetime.fromisoformat(t).astimezone(HOST_ZONE).date() for t in times} == {later}
    target = times[2]
    confirm = await (await client.get(link, params={"lang": "en", "start": target})).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm)
    assert csrf and re.search(rf'name="start" value="{re.escape(target)}"', confirm)
    # The confirm form posts with the page's query (its language too).
    moved = await client.post(link + "/reschedule?lang=en", data={"csrf": csrf.group(1), "start": target})
    text = await moved.text()
    assert moved.status == 200 and "Your meeting is now on" in text
    assert re.search(r'href="(http://slotbot\.test)?/meetings/demo[^"]*"', text)  # a way back
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert booking.start_at == datetime.fromisoformat(target) != start


async def test_cancelling_asks_first_and_keeps_the_reason(client: TestClient) -> None:
    link, _ = await _booked_manage_link(client)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(Booking).values(language="da"))  # the visitor booked in Danish
    view = await (await client.get(link)).text()
    assert 'lang="da"' in view and "Flyt" in view  # the manage page speaks the visitor's language
    assert "/cancel" not in re.sub(r'href="[^"]*"', "", view)  # no cancel form before the question
    asking = await (await client.get(link, params={"cancel": "1", "lang": "en"})).text()
    assert "Cancel this meeting?" in asking and 'name="reason"' in asking
    csrf = re.search(r'name="csrf" value="([^"]+)"', asking)
    assert csrf
    cancelled = await client.post(link + "/cancel", data={"csrf": csrf.group(1),
                                                          "reason": "Something came up"})
    text = await cancelled.text()
    assert cancelled.status == 200 and "aflyst" in text  # still in the visitor's language
    assert re.search(r'href="(http://slotbot\.test)?/meetings/demo[^"]*"', text)  # book again
    async with client.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert booking.status == "cancelled" and booking.cancel_reason == "Something came up"


async def test_the_month_heading_is_capitalised_like_a_sentence(client: TestClient) -> None:
    html = await (await client.get("/meetings/demo?lang=pt&tz=America/Sao_Paulo")).text()
    heading = re.search(r'class="month-title"[^>]*>([^<]+)<', html)
    assert heading is not None, "no month heading"
    words = unescape(heading.group(1)).split()
    assert words[0][0].isupper() and words[1] == "de", words  # "Dezembro de 2026", not "Dezembro De"
