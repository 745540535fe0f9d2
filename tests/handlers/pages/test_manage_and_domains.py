"""Manage links (move, cancel), custom domains (routing, links, prefill) and page questions."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.keys import DOMAINS, OUTBOX, SESSIONS
from bot.pages.domains import DomainError, Domains, normalize_hostname
from storage.models import (
    Booking,
    CustomDomain,
    MeetingEngagement,
    OutboxMessage,
    SchedulingPage,
    User,
)
from tests.conftest import AppClient
from tests.support.page_client import day_links, offered_starts


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_BASE_URL="http://slotbot.test")


async def _outbox_settled(client: TestClient) -> None:
    """Wait until the app's outbox worker has run everything (it may hold a claimed message)."""
    assert client.app is not None
    for _ in range(200):
        await client.app[OUTBOX].run_once()
        async with client.app[SESSIONS]() as session:
            busy = (await session.execute(
                select(OutboxMessage.id).where(OutboxMessage.status.not_in(("done", "dead"))))).first()
        if busy is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not settle")


def _starts(body: str) -> list[str]:
    """What the page offers (its month's slot data), as ISO text."""
    return [start.isoformat() for start in offered_starts(body)]


async def _book(client: TestClient, host: str | None = None, **fields: str) -> tuple[Any, str]:
    headers = {"Host": host} if host else {}
    page = await (await client.get("/meetings/demo", headers=headers)).text()
    start = _starts(page)[1]
    chosen = await client.get("/meetings/demo", params={"start": start, "d": "30"}, headers=headers)
    form = await chosen.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    data = {"csrf": csrf.group(1), "start": start, "d": "30", "tz": "Europe/Copenhagen", "name": "Ana",
            "email": "ana@example.com", **fields}
    return await client.post("/meetings/demo", data=data, headers=headers), start


async def test_moving_a_booking_from_its_manage_link(client: TestClient) -> None:
    booked, start = await _book(client)
    body = await booked.text()
    assert booked.status == 200
    manage = re.search(r'href="http://slotbot\.test(/meetings-manage/[^"]+)"', body)
    assert manage, body
    view = await (await client.get(manage.group(1))).text()
    assert "Move it to another time" in view
    # The calendar's selected day: a link per time of that day only (no radio for every slot).
    assert 'type="radio"' not in view
    choices = day_links(view)
    assert choices and start not in choices
    zone = ZoneInfo("Europe/Copenhagen")
    days = {datetime.fromisoformat(choice).astimezone(zone).date() for choice in choices}
    assert len(days) == 1
    target = choices[-1]
    # Picking a time shows the confirm button, which posts that start.
    confirm = await (await client.get(manage.group(1), params={"start": target})).text()
    assert re.search(rf'name="start" value="{re.escape(target)}"', confirm)
    assert "Move the meeting" in confirm
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm)
    assert csrf

    forged = await client.post(manage.group(1) + "/reschedule", data={"csrf": "x", "start": target})
    assert forged.status == 403
    garbage = await client.post(manage.group(1) + "/reschedule",
                                data={"csrf": csrf.group(1), "start": "soon"})
    assert garbage.status == 400 and "pick a time" in await garbage.text()
    moved = await client.post(manage.group(1) + "/reschedule", data={"csrf": csrf.group(1), "start": target})
    assert moved.status == 200 and "Your meeting is now on" in await moved.text()
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
        engagement = (await session.execute(select(MeetingEngagement))).scalar_one()
    assert booking.start_at == datetime.fromisoformat(target)
    assert engagement.start_at == booking.start_at and booking.sequence == 1

    # Once the outbox has moved the calendar event, the old time is free again and the new one is not.
    await _outbox_settled(client)
    page = await (await client.get("/meetings/demo")).text()
    assert start in _starts(page) and target not in _starts(page)

    # A meeting that has started offers no other times.
    async with client.app[SESSIONS]() as session, session.begin():
        stored = (await session.execute(select(Booking))).scalar_one()
        length = stored.end_at - stored.start_at
        stored.start_at = datetime.now(UTC) - timedelta(minutes=5)
        stored.end_at = stored.start_at + length
    started = await (await client.get(manage.group(1))).text()
    assert "Move it to another time" not in started and "Cancel this meeting" in started

    cancelled = await client.post(manage.group(1) + "/cancel", data={"csrf": csrf.group(1)})
    assert cancelled.status == 200
    after = await (await client.get(manage.group(1))).text()
    assert "Move it to another time" not in after and "cancelled" in after
    again = await client.post(manage.group(1) + "/reschedule", data={"csrf": csrf.group(1), "start": start})
    assert again.status == 400 and "cancelled" in await again.text()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Meet.Example.COM", "meet.example.com"), ("meet.example.com.", "meet.example.com"),
     ("localhost:8080", "localhost:8080"), ("bücher.example", "xn--bcher-kva.example")],
)
def test_hostnames_are_normalized(given: str, expected: str) -> None:
    assert normalize_hostname(given) == expected


@pytest.mark.parametrize("given", ["https://meet.example.com", "meet.example.com/x", "", "-bad.example",
                                   "a..b", "host:99999", "user@host"])
def test_bad_hostnames_are_refused(given: str) -> None:
    with pytest.raises(DomainError):
        normalize_hostname(given)


async def test_custom_domain_serves_the_same_pages_and_only_those(client: TestClient) -> None:
    assert client.app is not None
    domains: Domains = client.app[DOMAINS]
    await domains.add("Meet.Example.com")
    with pytest.raises(DomainError):
        await domains.add("https://nope")
    custom = {"Host": "meet.example.com"}
    main = await client.get("/meetings/demo")
    there = await client.get("/meetings/demo", headers=custom)
    assert (there.status == 200 and "Intro call" in await there.text()) or "demo" in await there.text()
    assert _starts(await main.text()) == _starts(await there.text())
    robots = await client.get("/robots.txt", headers=custom)
    assert robots.status == 200 and "Disallow: /meetings*" in await robots.text()
    for path in ("/dashboard", "/demo/login"):
        refused = await client.get(path, headers=custom, allow_redirects=False)
        assert refused.status == 404, path
    root = await client.get("/", headers=custom, allow_redirects=False)  # no host uses it yet
    assert root.status == 200 and "open the link your host shared" in await root.text()
    unknown = await client.get("/meetings/nobody", headers=custom)
    assert unknown.status == 404

    # Links follow the user's chosen domain; removing the domain brings them home.
    async with client.app[SESSIONS]() as session, session.begin():
        domain = (await session.execute(select(CustomDomain))).scalar_one()
        await session.execute(update(User).values(domain_id=domain.id))
    booked, _ = await _book(client, host="meet.example.com")
    assert re.search(r'href="http://meet\.example\.com/meetings-manage/', await booked.text())
    await domains.remove("meet.example.com")
    assert (await client.get("/meetings/demo", headers=custom)).status == 200  # unknown hosts: the main site
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(User.domain_id))).scalar_one() is None


async def test_prefill_from_the_previous_submission_only_on_custom_domains(client: TestClient) -> None:
    assert client.app is not None
    await client.app[DOMAINS].add("meet.example.com")
    custom = {"Host": "meet.example.com"}
    booked, _ = await _book(client, host="meet.example.com", name="Ana Remembered")
    assert booked.status == 200
    assert "slotbot_visitor" in booked.cookies
    on_main, _ = await _book(client, name="Main Domain")
    assert on_main.status == 200 and "slotbot_visitor" not in on_main.cookies  # shared domain: nothing kept
    assert "Ana Remembered" not in booked.cookies["slotbot_visitor"].value  # sealed, not readable
    page = await (await client.get("/meetings/demo", headers=custom)).text()
    start = _starts(page)[4]
    chosen = await client.get("/meetings/demo", params={"start": start, "d": "30"}, headers=custom)
    form = await chosen.text()
    assert 'value="Ana Remembered"' in form and 'value="ana@example.com"' in form
    # The same cookie on the main domain is ignored; a tampered one is ignored too.
    main_form = await (await client.get("/meetings/demo", params={"start": start, "d": "30"})).text()
    assert "Ana Remembered" not in main_form
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"slotbot_visitor": "tampered"})
    tampered = await client.get("/meetings/demo", params={"start": start, "d": "30"}, headers=custom)
    assert tampered.status == 200 and "Ana Remembered" not in await tampered.text()


async def test_page_questions_are_asked_and_kept(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(
            questions=[{"label": "Company", "required": True}, {"label": "Phone"}]))
    missing, _ = await _book(client)
    assert missing.status == 400 and "Please answer: Company" in await missing.text()
    booked, _ = await _book(client, q1="Acme <b>", q2="")
    assert booked.status == 200
    async with client.app[SESSIONS]() as session:
        booking = (await session.execute(select(Booking))).scalar_one()
    assert booking.answers == {"Company": "Acme <b>"}
