"""The meetings dashboard through the running app, with Google connected via the fake server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text, update

from bot.keys import SESSIONS, TOKENS
from storage.crypto import SecretBox
from storage.models import Calendar, CalendarConnection, OAuthState, utcnow
from tests.conftest import AppClient
from tests.support.signing_in import add_user as _user
from tests.support.signing_in import sign_in_for_csrf as _sign_in

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]


@pytest.fixture
async def client(app_client: AppClient, google_fake: FakeGoogle,
                 google_insecure_transport: None) -> TestClient:
    client = await app_client(own_address=True, **google_fake.env())
    google_fake.redirect_uris = {str(client.make_url("/oauth/google/callback"))}
    return client


async def _consent(client: TestClient, google_fake: FakeGoogle, csrf: str) -> str:
    """Start connecting Google and play the user's browser at the consent screen."""
    started = await client.post("/dashboard/connect/google", data={"csrf": csrf},
                                allow_redirects=False)
    assert started.status == 303, await started.text()
    callback = google_fake.consent(started.headers["Location"])
    parts = urlsplit(callback)
    assert parts.path == "/oauth/google/callback"
    return f"{parts.path}?{parts.query}"


async def test_connect_google_end_to_end(client: TestClient, google_fake: FakeGoogle,
                                         engine: Any, secrets: SecretBox) -> None:
    google_fake.add_calendar("team@example.com", summary="Team", access_role="reader")
    user_id = await _user(client, "host", google_fake.account_email)
    csrf = await _sign_in(client, user_id)

    disclosure = await (await client.get("/dashboard/connect/google")).text()
    assert "read" in disclosure.lower() and "Continue to Google Calendar" in disclosure

    callback = await _consent(client, google_fake, csrf)
    landed = await client.get(callback, allow_redirects=False)
    assert landed.status == 303 and landed.headers["Location"].startswith("/dashboard?notice=")
    page = await (await client.get(landed.headers["Location"])).text()
    assert "Connected " + google_fake.account_email in page and "Team" in page

    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        connection = (await session.execute(select(CalendarConnection))).scalar_one()
        calendars = (await session.execute(select(Calendar).order_by(Calendar.id))).scalars().all()
    assert connection.status == "active" and connection.provider == "google"
    defaults = [c for c in calendars if c.is_default]
    assert len(defaults) == 1 and defaults[0].external_id == google_fake.account_email
    team = next(c for c in calendars if c.name == "Team")
    assert not team.checks_conflicts and team.access_role == "reader"
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT credentials FROM calendar_connections"))).scalar_one()
    assert "refresh" not in raw and raw.startswith("v1.")

    # Replaying the same callback is refused, and nothing changes.
    replay = await client.get(callback, allow_redirects=False)
    assert replay.status == 403 and "already used" in await replay.text()

    # "Use more calendars": check the shared one; a reader calendar cannot be the default.
    checked = await client.post(f"/dashboard/calendars/{team.id}/check", data={"csrf": csrf},
                                allow_redirects=False)
    assert checked.status == 303
    refused = await client.post(f"/dashboard/calendars/{team.id}/default", data={"csrf": csrf})
    assert refused.status == 400 and "belongs to someone else" in await refused.text()
    stop_default = await client.post(f"/dashboard/calendars/{defaults[0].id}/uncheck",
                                     data={"csrf": csrf})
    assert stop_default.status == 400

    # Disconnect revokes at Google and deletes the secrets and calendars.
    refresh_token = json.loads(secrets.open(connection.credentials,
                                            purpose="connection.credentials"))["refresh_token"]
    assert not google_fake.refresh_token_revoked(refresh_token)
    gone = await client.post(f"/dashboard/connections/{connection.id}/disconnect",
                             data={"csrf": csrf}, allow_redirects=False)
    assert gone.status == 303
    assert google_fake.refresh_token_revoked(refresh_token)
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(CalendarConnection))).first() is None
        assert (await session.execute(select(Calendar))).first() is None


async def test_state_tampering_expiry_and_other_users_are_refused(
    client: TestClient, google_fake: FakeGoogle
) -> None:
    owner = await _user(client, "owner", google_fake.account_email)
    csrf = await _sign_in(client, owner)
    callback = await _consent(client, google_fake, csrf)
    query = parse_qs(urlsplit(callback).query)

    tampered = callback.replace(query["state"][0], query["state"][0][:-2] + "xx")
    assert (await client.get(tampered)).status == 403
    assert (await client.get("/oauth/google/callback?code=abc")).status == 403

    # Someone else's browser session cannot complete the owner's connect.
    intruder = await _user(client, "intruder", "intruder@example.com")
    await _sign_in(client, intruder)
    stolen = await client.get(callback)
    assert stolen.status == 403 and "someone else" in await stolen.text()

    # An expired state is refused even for its owner.
    await _sign_in(client, owner)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = await client.get(callback)
    assert expired.status == 403 and "expired" in await expired.text()
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(CalendarConnection))).first() is None


async def test_denied_consent_connects_nothing(client: TestClient, google_fake: FakeGoogle) -> None:
    user_id = await _user(client, "denier", google_fake.account_email)
    csrf = await _sign_in(client, user_id)
    google_fake.deny_consent = True
    callback = await _consent(client, google_fake, csrf)
    response = await client.get(callback)
    assert response.status == 400 and "did not allow access" in await response.text()


async def test_csrf_login_links_and_signed_out_access(client: TestClient) -> None:
    user_id = await _user(client, "careful", "careful@example.com")
    signed_out = await client.get("/dashboard")
    assert signed_out.status == 401 and "sign in" in (await signed_out.text()).lower()
    assert client.app is not None
    token = await client.app[TOKENS].login_link_token(user_id)
    assert (await client.get(f"/dashboard/login?token={token}", allow_redirects=False)).status == 303
    reused = await client.get(f"/dashboard/login?token={token}")
    assert reused.status == 403 and "already used" in await reused.text()
    no_csrf = await client.post("/dashboard/connect/google", data={})
    assert no_csrf.status == 403
    wrong = await client.post("/dashboard/connect/google", data={"csrf": "guess"})
    assert wrong.status == 403


async def test_user_without_email_is_told_why(client: TestClient) -> None:
    user_id = await _user(client, "anon", None)
    csrf = await _sign_in(client, user_id)
    page = await (await client.get("/dashboard/connect/google")).text()
    assert "Add an e-mail address" in page
    response = await client.post("/dashboard/connect/google", data={"csrf": csrf})
    assert response.status == 400 and "e-mail address" in await response.text()


async def test_unconfigured_provider_explains_the_settings(client: TestClient) -> None:
    user_id = await _user(client, "ms", "ms@example.com")
    await _sign_in(client, user_id)
    page = await (await client.get("/dashboard")).text()
    assert "MICROSOFT_CLIENT_ID" in page
    response = await client.get("/dashboard/connect/microsoft")
    assert response.status == 404 and "not set up" in await response.text()


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/dashboard/connect/google", "/dashboard/connect/google"),
        ("https://evil.example/", "/dashboard"),
        ("//evil.example/dashboard", "/dashboard"),
        ("/dashboard//evil.example", "/dashboard"),
        ("/meetings/x", "/dashboard"),
    ],
)
async def test_login_link_leads_only_to_dashboard_paths(client: TestClient, target: str, lands: str) -> None:
    user_id = await _user(client, "leads", "leads@example.com")
    assert client.app is not None
    token = await client.app[TOKENS].login_link_token(user_id)
    response = await client.get("/dashboard/login", params={"token": token, "next": target},
                                allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == lands
