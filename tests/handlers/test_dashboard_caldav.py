"""CalDAV through the running app: the dashboard's form against Radicale, busy time, each failure's sentence.

The app reaches Radicale through the counting https proxy, trusting its certificate through
``SLOTBOT_EXTRA_CA_FILE`` and allowing its loopback address through
``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``, as an operator would for a self-hosted server.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from bot.keys import SESSIONS
from storage.models import Calendar, CalendarConnection
from tests.conftest import AppClient
from tests.fakes.base import FakeServer, TlsFiles
from tests.fakes.caldav import Account, CalDavProxy
from tests.support.signing_in import add_user, free_starts, sign_in_for_csrf

pytest_plugins = ["tests.fakes.caldav.fixtures"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2031, 3, 3, tzinfo=COPENHAGEN)


class NotDav(FakeServer):
    """An https web server that is not CalDAV: every path is a 404 web page."""

    def routes(self, app: web.Application) -> None:
        async def page(_: web.Request) -> web.Response:
            return web.Response(status=404, text="<html>no</html>", content_type="text/html")

        app.router.add_route("*", "/{tail:.*}", page)


@pytest.fixture
async def client(app_client: AppClient, caldav_tls: TlsFiles) -> TestClient:
    return await app_client(SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8",
                            SLOTBOT_EXTRA_CA_FILE=str(caldav_tls.cert))


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def _event(uid: str, start: datetime, end: datetime, extra: str = "") -> str:
    def utc(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
            f"DTSTAMP:20260101T000000Z\r\nDTSTART:{utc(start)}\r\nDTEND:{utc(end)}\r\n{extra}"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")


def _form(proxy: CalDavProxy, account: Account, **changes: str) -> dict[str, str]:
    return {"server": "other", "url": proxy.base_url + "/", "username": account.username,
            "password": account.password, **changes}


async def _connect(client: TestClient, csrf: str, form: dict[str, str]) -> Any:
    return await client.post("/dashboard/connect/caldav", data={"csrf": csrf, **form}, allow_redirects=False)


async def test_connect_a_caldav_account_with_the_form_and_read_its_busy_time(
    client: TestClient, caldav_proxy: CalDavProxy, caldav_account: Account, engine: Any
) -> None:
    work = caldav_account.mkcalendar("work", display="Work")
    team = caldav_account.readonly("team", display="Team")
    caldav_account.put(work, _event("a", _at(1, 10), _at(1, 11)))
    caldav_account.put(work, _event("b", _at(1, 13), _at(1, 14), "TRANSP:TRANSPARENT\r\n"))
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)

    dashboard = await (await client.get("/dashboard")).text()
    assert "Connect a CalDAV calendar (iCloud, Fastmail, Nextcloud…)" in dashboard
    form = await (await client.get("/dashboard/connect/caldav")).text()
    assert "What Slotbot will read and change" in form and "app-specific password" in form
    for where in ("appleid.apple.com", "Privacy &amp; Security", "Devices &amp; sessions",
                  "https://caldav.icloud.com/", "https://caldav.fastmail.com/", "Nextcloud"):
        assert where in form, where

    connected = await _connect(client, csrf, _form(caldav_proxy, caldav_account))
    assert connected.status == 303, await connected.text()
    page = await (await client.get(connected.headers["Location"])).text()
    assert f"Connected {caldav_account.username}@127.0.0.1: 2 calendars found; bookings land in Work" in page
    assert [c.path for c in caldav_proxy.propfinds()][:2] == ["/.well-known/caldav", "/"]  # RFC 6764

    async with engine.connect() as conn:
        raw = (await conn.execute(text(
            "SELECT credentials FROM calendar_connections WHERE provider = 'caldav'"))).scalar_one()
    assert raw.startswith("v1.") and caldav_account.password not in raw
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        roles = {c.external_id: (c.access_role, c.is_default) for c in (await session.execute(
            select(Calendar))).scalars()}
    assert roles == {work: ("owner", True), team: ("reader", False)}

    free = await free_starts(client, user_id, MONDAY)
    assert not {_at(1, 10), _at(1, 10, 30)} & free  # busy
    assert {_at(1, 11), _at(1, 13)} <= free  # shown as free


async def test_every_failure_is_a_sentence_on_the_form_and_the_password_is_never_shown(
    client: TestClient, caldav_proxy: CalDavProxy, caldav_account: Account, caldav_tls: TlsFiles,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    caplog.set_level(logging.DEBUG)
    typed = "Wrong-App-Password-9"
    not_dav = await NotDav(tls=caldav_tls).start()
    try:
        cases = [
            (_form(caldav_proxy, caldav_account, password=typed), "did not accept this user name"),
            (_form(caldav_proxy, caldav_account, url=not_dav.base_url + "/dav/"), "not as a CalDAV server"),
            (_form(caldav_proxy, caldav_account, url="https://127.0.0.1:1/"), "could not be reached"),
            (_form(caldav_proxy, caldav_account, url="http://dav.example.com/"), "over https"),
            (_form(caldav_proxy, caldav_account, url="https://169.254.169.254/"), "private or local network"),
            (_form(caldav_proxy, caldav_account, server="nextcloud", url=""), "such as https://cloud.example.com"),
            (_form(caldav_proxy, caldav_account, username=""), "Enter the user name"),
            (_form(caldav_proxy, caldav_account, password=""), "Enter the app password"),
        ]
        for form, sentence in cases:
            answer = await _connect(client, csrf, form)
            body = await answer.text()
            assert answer.status == 400, (form, body)
            assert sentence in body, (sentence, body)
            assert typed not in body and caldav_account.password not in body
            assert f'value="{form["username"]}"' in body  # the values are kept (the password is not)
    finally:
        await not_dav.stop()
    assert typed not in caplog.text and caldav_account.password not in caplog.text
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        assert (await session.execute(
            select(CalendarConnection).where(CalendarConnection.provider == "caldav"))).first() is None


async def test_an_untrusted_certificate_and_a_private_address_are_refused(
    app_client: AppClient, caldav_proxy: CalDavProxy, caldav_account: Account, caldav_tls: TlsFiles
) -> None:
    untrusting = await app_client(SLOTBOT_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")
    user_id = await add_user(untrusting, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(untrusting, user_id)
    answer = await _connect(untrusting, csrf, _form(caldav_proxy, caldav_account))
    assert answer.status == 400 and "certificate of 127.0.0.1 is not trusted" in await answer.text()
    assert not caldav_proxy.requests  # the handshake failed: nothing was sent

    private = await app_client(SLOTBOT_EXTRA_CA_FILE=str(caldav_tls.cert))
    user_id = await add_user(private, "ines", "ines@example.com")
    csrf = await sign_in_for_csrf(private, user_id)
    for url in (caldav_proxy.base_url + "/", caldav_proxy.base_url.replace("127.0.0.1", "localhost") + "/"):
        answer = await _connect(private, csrf, _form(caldav_proxy, caldav_account, url=url))
        body = await answer.text()
        assert answer.status == 400 and "SLOTBOT_ALLOWED_PRIVATE_NETWORKS" in body, body
    assert not caldav_proxy.requests  # nothing reached the server


async def test_a_connection_that_needs_the_password_again_is_reconnected_through_the_form(
    client: TestClient, caldav_proxy: CalDavProxy, caldav_account: Account
) -> None:
    caldav_account.mkcalendar("work", display="Work")
    user_id = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, user_id)
    assert (await _connect(client, csrf, _form(caldav_proxy, caldav_account))).status == 303
    async with client.app[SESSIONS]() as session, session.begin():  # type: ignore[union-attr]
        connection = (await session.execute(select(CalendarConnection))).scalar_one()
        connection.status = "needs_reauth"  # the host revoked the app password
        connection_id = connection.id

    dashboard = await (await client.get("/dashboard")).text()
    link = f'href="/dashboard/connect/caldav?reconnect={connection_id}">Enter the app password again'
    assert link in dashboard
    form = await (await client.get(f"/dashboard/connect/caldav?reconnect={connection_id}")).text()
    assert f'value="{caldav_account.username}"' in form and f'value="{caldav_proxy.base_url}/"' in form
    assert caldav_account.password not in form

    again = {**_form(caldav_proxy, caldav_account), "reconnect": str(connection_id)}
    answer = await _connect(client, csrf, again)

    assert answer.status == 303, await answer.text()
    async with client.app[SESSIONS]() as session:  # type: ignore[union-attr]
        rows = (await session.execute(select(CalendarConnection))).scalars().all()
    assert [(r.id, r.status) for r in rows] == [(connection_id, "active")]
