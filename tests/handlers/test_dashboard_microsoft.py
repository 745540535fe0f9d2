"""The meetings dashboard through the running app, with Microsoft 365 connected via the fake.

The app is configured only through ``MICROSOFT_*`` settings pointing at the fake identity platform
and Graph over TLS (``MICROSOFT_CA_BUNDLE`` = the fake's certificate); msal and aiohttp do the
talking. The test plays the host's browser: sign in with a login link, ask to connect, consent at
the fake, follow the callback back to the dashboard.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from bot.calendar.microsoft.credentials import load_credentials
from bot.keys import SCHEDULER, SESSIONS
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection
from tests.conftest import AppClient
from tests.support.signing_in import add_user as _user
from tests.support.signing_in import free_starts
from tests.support.signing_in import sign_in_for_csrf as _sign_in

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONDAY = datetime(2031, 3, 3, tzinfo=COPENHAGEN)  # a future week, Mon-Fri 09-17 free by default


@pytest.fixture
async def client(app_client: AppClient, microsoft_fake: FakeMicrosoft) -> TestClient:
    client = await app_client(own_address=True, **microsoft_fake.env())
    microsoft_fake.redirect_uris = {str(client.make_url("/oauth/microsoft/callback"))}
    return client


async def _consent(client: TestClient, fake: FakeMicrosoft, csrf: str) -> tuple[str, str]:
    """Ask to connect, play the browser at Microsoft; return (authorize URL, callback path)."""
    started = await client.post("/dashboard/connect/microsoft", data={"csrf": csrf}, allow_redirects=False)
    assert started.status == 303, await started.text()
    authorize = started.headers["Location"]
    answer = await fake.approve(authorize)
    return authorize, "/oauth/microsoft/callback?" + urlencode(answer)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


async def _free_starts(client: TestClient, user_id: int) -> set[datetime]:
    return await free_starts(client, user_id, MONDAY)


async def test_connect_microsoft_end_to_end(client: TestClient, microsoft_fake: FakeMicrosoft,
                                            engine: Any, secrets: SecretBox) -> None:
    fake = microsoft_fake
    host = fake.user()
    # The default calendar is not first in the list: the default comes from isDefaultCalendar.
    projects = fake.add_calendar(host.email, name="Projects")
    board = fake.add_calendar(host.email, name="Board", owner_email="board@contoso.example", can_edit=False)
    host.calendars.insert(0, host.calendars.pop(host.calendars.index(projects)))
    fake.add_event(host.default_calendar, _at(1, 10).astimezone(UTC), _at(1, 11).astimezone(UTC))
    fake.add_event(projects, _at(2, 14).astimezone(UTC), _at(2, 15).astimezone(UTC))
    fake.add_event(board, _at(3, 9).astimezone(UTC), _at(3, 10).astimezone(UTC))
    user_id = await _user(client, "hannah", host.email)
    csrf = await _sign_in(client, user_id)

    disclosure = await (await client.get("/dashboard/connect/microsoft")).text()
    assert "Continue to Microsoft 365" in disclosure and "default calendar" in disclosure

    authorize, callback = await _consent(client, fake, csrf)

    # What the app sent the browser to: the configured authority, PKCE, exact redirect, scopes.
    sent = {k: v[-1] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert authorize.startswith(fake.authority + "/oauth2/v2.0/authorize?")
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) >= 43
    assert sent["redirect_uri"] in fake.redirect_uris and sent["login_hint"] == host.email
    scopes = {s.rsplit("/", 1)[-1] for s in sent["scope"].split()}
    assert {"Calendars.ReadWrite", "Calendars.Read.Shared", "offline_access"} <= scopes
    assert "state" in parse_qs(urlsplit(callback).query)

    landed = await client.get(callback, allow_redirects=False)
    assert landed.status == 303, await landed.text()
    assert landed.headers["Location"].startswith("/dashboard?notice=")
    page = await (await client.get(landed.headers["Location"])).text()
    assert f"Connected {host.email}: 3 calendars found" in page
    assert "bookings land in Calendar" in page
    assert "Projects" in page and "Board" in page

    # Replaying the callback is refused.
    replay = await client.get(callback, allow_redirects=False)
    assert replay.status == 403 and "already used" in await replay.text()

    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        connection = (await session.execute(select(CalendarConnection))).scalar_one()
        calendars = {c.name: c for c in (await session.execute(select(Calendar))).scalars()}
    assert connection.provider == "microsoft" and connection.status == "active"
    assert connection.account_email == host.email and connection.user_id == user_id

    # The credentials are the sealed MSAL cache: no token in the clear in the database.
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT credentials FROM calendar_connections"))).scalar_one()
    issued = fake.refresh_tokens(host.email)
    assert raw.startswith("v1.") and issued
    assert not any(word in raw for word in ("RefreshToken", "AccessToken", "secret", *issued))
    stored = load_credentials(secrets.open(raw, purpose="connection.credentials"))
    cache = json.loads(stored.msal_cache)
    assert [t["secret"] for t in cache["RefreshToken"].values()] == [issued[-1]]
    assert stored.home_account_id.startswith(host.oid)

    # Owned and shared calendars; the default calendar is the default and the only one checked.
    assert set(calendars) == {"Calendar", "Projects", "Board"}
    assert calendars["Calendar"].external_id == host.default_calendar.id
    assert [n for n, c in calendars.items() if c.is_default] == ["Calendar"]
    assert [n for n, c in calendars.items() if c.checks_conflicts] == ["Calendar"]
    assert calendars["Calendar"].access_role == "owner" and calendars["Projects"].access_role == "owner"
    assert calendars["Board"].access_role == "reader"

    # The connected calendar's busy time reaches the availability service through Graph.
    openid_before = fake.openid_configuration_requests
    fake.calls.clear()
    free = await _free_starts(client, user_id)
    assert _at(1, 9, 30) in free and _at(1, 11) in free
    assert not {_at(1, 10), _at(1, 10, 30)} & free  # the default calendar's event
    assert {_at(2, 14), _at(3, 9)} <= free  # unchecked calendars do not count (yet)
    views = fake.graph_calls("GET", "/calendarView")
    assert views and {c.mailbox for c in views} == {host.email}
    assert {c.path.split("/")[4] for c in views} == {host.default_calendar.id}

    # "Use more calendars": check Projects and the shared Board; their busy time now counts.
    for name in ("Projects", "Board"):
        checked = await client.post(f"/dashboard/calendars/{calendars[name].id}/check",
                                    data={"csrf": csrf}, allow_redirects=False)
        assert checked.status == 303
    free = await _free_starts(client, user_id)
    assert not {_at(1, 10), _at(2, 14), _at(2, 14, 30), _at(3, 9), _at(3, 9, 30)} & free
    assert _at(2, 15) in free
    # The identity platform's metadata was not fetched again for these questions.
    assert fake.openid_configuration_requests == openid_before

    # Disconnect forgets the MSAL cache: the secrets and the calendars are deleted.
    gone = await client.post(f"/dashboard/connections/{connection.id}/disconnect",
                             data={"csrf": csrf}, allow_redirects=False)
    assert gone.status == 303
    async with engine.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM calendar_connections"))).scalar_one()
        rows = (await conn.execute(text("SELECT count(*) FROM calendars"))).scalar_one()
    assert left == 0 and rows == 0
    page = await (await client.get("/dashboard")).text()
    assert "No calendar connected yet" in page and "Projects" not in page
    after = await client.app[SCHEDULER].availability(
        user_id, start=MONDAY, end=MONDAY + timedelta(days=7), now=MONDAY - timedelta(days=1)
    )
    assert not after.has_calendars


async def test_denied_consent_connects_nothing(client: TestClient, microsoft_fake: FakeMicrosoft) -> None:
    user_id = await _user(client, "denier", microsoft_fake.user().email)
    csrf = await _sign_in(client, user_id)
    microsoft_fake.deny_consent = True
    _, callback = await _consent(client, microsoft_fake, csrf)
    response = await client.get(callback)
    assert response.status == 400 and "did not allow access" in await response.text()
    assert not [r for r in microsoft_fake.token_requests if r["grant_type"] == "authorization_code"]
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(CalendarConnection))).first() is None


async def test_a_tampered_state_is_refused(client: TestClient, microsoft_fake: FakeMicrosoft) -> None:
    user_id = await _user(client, "owner", microsoft_fake.user().email)
    csrf = await _sign_in(client, user_id)
    _, callback = await _consent(client, microsoft_fake, csrf)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    tampered = callback.replace(state, state[:-2] + ("xx" if not state.endswith("xx") else "yy"))
    response = await client.get(tampered)
    assert response.status == 403
    assert not [r for r in microsoft_fake.token_requests if r["grant_type"] == "authorization_code"]
    # The genuine callback still works afterwards.
    assert (await client.get(callback, allow_redirects=False)).status == 303
