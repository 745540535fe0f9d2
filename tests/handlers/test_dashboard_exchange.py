"""Exchange through the running app: the dashboard's form, busy time, bookings, a lost calendar.

The app reaches the fake EWS server (TLS, NTLM) through exchangelib and the SSRF policy's
adapter, trusting the fake's certificate through ``SLOTBOT_EXTRA_CA_FILE`` and allowing its
loopback address through ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``, as an operator would for an
on-premises server; nothing in the app knows it is a fake.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from bot.keys import OUTBOX, SCHEDULER, SESSIONS
from storage.models import Calendar, CalendarConnection, MeetingEngagement, OutboxMessage
from tests.conftest import AppClient
from tests.fakes.base import TlsFiles
from tests.fakes.exchange import DEFAULT_PASSWORD, FakeExchange
from tests.fakes.exchange.client import isolated
from tests.support.page_client import offered_starts
from tests.support.signing_in import add_user, free_starts, sign_in_for_csrf

pytest_plugins = ["tests.fakes.exchange.fixtures"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2031, 3, 3, tzinfo=COPENHAGEN)


@pytest.fixture
def fake(exchange_tls: TlsFiles) -> Iterator[FakeExchange]:
    with isolated(), FakeExchange(exchange_tls) as running:
        yield running


@pytest.fixture
async def client(app_client: AppClient, fake: FakeExchange, exchange_tls: TlsFiles) -> TestClient:
    return await app_client(
        seed_demo=True,
        SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
        SLOTBOT_EXTRA_CA_FILE=str(exchange_tls.cert),
    )


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


async def _free_starts(client: TestClient, user_id: int) -> set[datetime]:
    return await free_starts(client, user_id, MONDAY)


def _form(fake: FakeExchange, **changes: str) -> dict[str, str]:
    return {"email": fake.host.email, "password": DEFAULT_PASSWORD, "username": "", "ews_url": fake.url,
            "version": "", **changes}


async def _connect(client: TestClient, csrf: str, form: dict[str, str]) -> Any:
    return await client.post(
        "/dashboard/connect/exchange", data={"csrf": csrf, **form}, allow_redirects=False
    )


async def test_connect_exchange_with_the_form_and_read_its_busy_time(
    client: TestClient, fake: FakeExchange, engine: Any
) -> None:
    owner = fake.host
    projects = owner.add_calendar("Projects")
    fake.add_event(owner.calendar, _at(1, 10).astimezone(UTC), _at(1, 11).astimezone(UTC), subject="1:1")
    fake.add_event(projects, _at(2, 14).astimezone(UTC), _at(2, 15).astimezone(UTC))
    fake.add_event(owner.calendar, _at(1, 13).astimezone(UTC), _at(1, 14).astimezone(UTC), show_as="Free")
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)

    form = await (await client.get("/dashboard/connect/exchange")).text()
    assert "What Slotbot will read and change" in form and "app password" in form
    assert "Connect Microsoft 365" in form  # where Exchange Online mailboxes go

    connected = await _connect(client, csrf, _form(fake))
    assert connected.status == 303, await connected.text()
    page = await (await client.get(connected.headers["Location"])).text()
    assert f"Connected {owner.email}: 2 calendars found; bookings land in Calendar" in page
    assert "Use a colleague" in page

    async with engine.connect() as conn:
        raw = (await conn.execute(text(
            "SELECT credentials FROM calendar_connections WHERE provider = 'exchange'"))).scalar_one()
    assert raw.startswith("v1.") and DEFAULT_PASSWORD not in raw and owner.email not in raw

    free = await _free_starts(client, user_id)
    assert not {_at(1, 10), _at(1, 10, 30)} & free  # busy in the primary calendar
    assert {_at(1, 11), _at(1, 13), _at(2, 14)} <= free  # shown as free; Projects not checked yet
    assert all(call.mailbox == owner.email for call in fake.operations("FindItem"))

    # A colleague who shares their calendar, and one who shares free/busy only.
    reader = fake.add_mailbox("ines@contoso.example", name="Inês")
    reader.share_with(owner.email, "reviewer")
    fake.add_event(reader.calendar, _at(3, 9).astimezone(UTC), _at(3, 10).astimezone(UTC))
    boss = fake.add_mailbox("boss@contoso.example")
    boss.share_with(owner.email, "free_busy")
    fake.add_event(boss.calendar, _at(4, 15).astimezone(UTC), _at(4, 16).astimezone(UTC))
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        connection = (await session.execute(
            select(CalendarConnection).where(CalendarConnection.provider == "exchange"))).scalar_one()
    for address in ("ines@contoso.example", "boss@contoso.example"):
        added = await client.post(f"/dashboard/connections/{connection.id}/colleague",
                                  data={"csrf": csrf, "email": address}, allow_redirects=False)
        assert added.status == 303, await added.text()
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        roles = {c.name: (c.access_role, c.checks_conflicts) for c in (await session.execute(
            select(Calendar).where(Calendar.connection_id == connection.id))).scalars()}
    assert roles["ines@contoso.example"] == ("reader", True)
    assert roles["boss@contoso.example"] == ("freeBusyReader", True)
    free = await _free_starts(client, user_id)
    assert not {_at(3, 9), _at(3, 9, 30), _at(4, 15), _at(4, 15, 30)} & free
    assert fake.operations("GetUserAvailabilityRequest")  # the free/busy-only colleague

    stranger = fake.add_mailbox("private@contoso.example")
    stranger.share_with(owner.email, "none")
    refused = await client.post(f"/dashboard/connections/{connection.id}/colleague",
                                data={"csrf": csrf, "email": "private@contoso.example"})
    assert refused.status == 400 and "does not share a calendar" in await refused.text()


async def test_every_failure_is_a_sentence_on_the_form_and_the_password_is_never_shown(
    client: TestClient, fake: FakeExchange, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    caplog.set_level(logging.DEBUG)
    typed = "Wrong-Password-9"
    cases = [
        (_form(fake, password=typed), "did not accept"),
        (_form(fake, password=typed, ews_url=fake.base_url + "/owa/"), "Nothing answered as Exchange"),
        (_form(fake, password=typed, ews_url="https://outlook.office365.com/EWS/Exchange.asmx"),
         "Connect Microsoft 365"),
        (_form(fake, password=typed, ews_url="http://mail.example.com/EWS/Exchange.asmx"), "over https"),
        (_form(fake, password=typed, ews_url="https://169.254.169.254/EWS/Exchange.asmx"),
         "private or local network address"),
        (_form(fake, password=typed, email="not-an-address"), "e-mail address"),
        (_form(fake, password=""), "Enter the password"),
    ]
    for form, sentence in cases:
        answer = await _connect(client, csrf, form)
        body = await answer.text()
        assert answer.status == 400, (form, body)
        assert sentence in body, (sentence, body)
        assert typed not in body and DEFAULT_PASSWORD not in body
        assert f'value="{form["email"]}"' in body  # the values are kept (the password is not)
    assert typed not in caplog.text and DEFAULT_PASSWORD not in caplog.text
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        assert (await session.execute(
            select(CalendarConnection).where(CalendarConnection.provider == "exchange"))).first() is None


async def test_a_private_address_is_refused_unless_the_operator_allows_it(
    app_client: AppClient, fake: FakeExchange, exchange_tls: TlsFiles
) -> None:
    client = await app_client(SLOTBOT_EXTRA_CA_FILE=str(exchange_tls.cert))
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    before = len(fake.requests)
    for url in (fake.url, fake.url.replace("127.0.0.1", "localhost")):
        answer = await _connect(client, csrf, _form(fake, ews_url=url))
        body = await answer.text()
        assert answer.status == 400 and "SLOTBOT_ALLOWED_PRIVATE_NETWORKS" in body, body
    assert len(fake.requests) == before  # nothing reached the server


async def _book(client: TestClient) -> str:
    page = await (await client.get("/meetings/demo")).text()
    start = offered_starts(page)[1].isoformat()
    form = await (await client.get("/meetings/demo", params={"start": start, "d": "30"})).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    data = {"csrf": csrf.group(1), "start": start, "d": "30", "tz": "Europe/Copenhagen", "name": "Vera",
            "email": "vera@example.org"}
    booked = await client.post("/meetings/demo", data=data)
    assert booked.status == 200, await booked.text()
    return start


async def _settle(client: TestClient) -> None:
    assert client.app is not None
    for _ in range(100):
        await client.app[OUTBOX].run_once()
        async with client.app[SESSIONS]() as session:
            pending = (await session.execute(select(OutboxMessage.id).where(
                OutboxMessage.status.not_in(("done", "dead"))))).first()
        if pending is None:
            return
    raise AssertionError("the outbox did not settle")


async def test_a_booking_lands_in_the_exchange_default_calendar_and_a_lost_one_blocks_booking(
    client: TestClient, fake: FakeExchange
) -> None:
    from bot.demo.seed import DEMO_SLUG  # the demo host's page

    assert DEMO_SLUG == "demo"
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        demo_user = (await session.execute(text("SELECT id FROM users WHERE slug = 'demo'"))).scalar_one()
    csrf = await sign_in_for_csrf(client, demo_user)
    assert (await _connect(client, csrf, _form(fake))).status == 303
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        primary = (await session.execute(select(Calendar).where(
            Calendar.external_id == fake.host.calendar.id))).scalar_one()
    made_default = await client.post(f"/dashboard/calendars/{primary.id}/default", data={"csrf": csrf},
                                     allow_redirects=False)
    assert made_default.status == 303

    await _book(client)
    await _settle(client)

    [invitation] = fake.invitations
    assert invitation.attendee == "vera@example.org" and invitation.organizer == fake.host.email
    assert invitation.mode == "SendToAllAndSaveCopy"
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        [engagement] = (await session.execute(select(MeetingEngagement))).scalars().all()
    [event] = [e for e in fake.host.calendar.events if e.id == invitation.item_id]
    assert event.required_attendees == ["vera@example.org"] and event.uid
    assert len(event.extended) == 1 and event.uid in event.extended.values()  # the booking, for retries
    assert engagement.start_at.astimezone(UTC) == event.start.astimezone(UTC)

    # The host lost access to that calendar: booking stops and the host is told.
    fake.host.calendar.fault = "ErrorAccessDenied"
    client.app[SCHEDULER].forget(demo_user)  # type: ignore[union-attr]
    unknown = await (await client.get("/meetings/demo")).text()
    assert "no times are offered" in unknown  # a calendar that cannot be read is never free
    again = await (await client.get("/meetings/demo")).text()
    assert "no times are offered" in again and "start=" not in again  # nobody can book
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        lost = (await session.execute(select(Calendar).where(Calendar.id == primary.id))).scalar_one()
        notices = (await session.execute(select(OutboxMessage.payload))).scalars().all()
    assert lost.status != "active"
    assert any("calendar_lost" in str(p) for p in notices)


async def test_a_changed_password_needs_reconnecting_through_the_form(
    client: TestClient, exchange_tls: TlsFiles
) -> None:
    # Basic sends the password with every request (an NTLM connection stays signed in while open).
    with FakeExchange(exchange_tls, schemes=("Basic",)) as fake:
        await _reconnect_after_a_password_change(client, fake)


async def _reconnect_after_a_password_change(client: TestClient, fake: FakeExchange) -> None:
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    assert (await _connect(client, csrf, _form(fake))).status == 303
    fake.host.password = "Changed-By-IT-2"  # the host changed it at work

    assert client.app is not None
    answer = await client.app[SCHEDULER].availability(
        user_id, start=MONDAY, end=MONDAY + timedelta(days=7), now=MONDAY - timedelta(days=1)
    )
    assert not answer.complete  # unknown, never free
    page = await (await client.get("/dashboard")).text()
    assert "needs reconnecting" in page
    link = re.search(r'href="(/dashboard/connect/exchange\?reconnect=\d+)"', page)
    assert link, page
    form = await (await client.get(link.group(1))).text()
    assert f'value="{fake.host.email}"' in form and f'value="{fake.url}"' in form
    assert DEFAULT_PASSWORD not in form  # the old password is never shown
    reconnect = link.group(1).rsplit("=", 1)[1]
    again = await _connect(client, csrf, _form(fake, password="Changed-By-IT-2", reconnect=reconnect))
    assert again.status == 303, await again.text()
    async with client.app[SESSIONS]() as session:
        connections = (await session.execute(select(CalendarConnection).where(
            CalendarConnection.provider == "exchange"))).scalars().all()
    assert [(c.id, c.status) for c in connections] == [(int(reconnect), "active")]
    assert await _free_starts(client, user_id)


async def test_a_server_that_stays_unreachable_is_unknown_and_the_host_is_told_once(
    app_client: AppClient, exchange_tls: TlsFiles
) -> None:
    client = await app_client(
        SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8", SLOTBOT_EXTRA_CA_FILE=str(exchange_tls.cert),
        SLOTBOT_UNREACHABLE_NOTICE_MINUTES="0",  # tell at once (an hour by default)
    )
    assert client.app is not None
    scheduler = client.app[SCHEDULER]
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    with FakeExchange(exchange_tls) as fake:
        assert (await _connect(client, csrf, _form(fake))).status == 303
    # The server is gone (nothing listens there any more).
    for _ in range(3):
        scheduler.forget(user_id)
        answer = await scheduler.availability(
            user_id, start=MONDAY, end=MONDAY + timedelta(days=7), now=MONDAY - timedelta(days=1)
        )
        assert not answer.complete and not answer.result.slots  # unknown, never free
    async with client.app[SESSIONS]() as session:
        connection = (await session.execute(select(CalendarConnection).where(
            CalendarConnection.provider == "exchange"))).scalar_one()
        kinds = [row.kind for row in (await session.execute(select(OutboxMessage))).scalars()]
    assert connection.status == "active" and connection.incident_notified_at is not None
    assert kinds.count("chat.notify") == 2  # "connected", then "not answering" once (three questions)
