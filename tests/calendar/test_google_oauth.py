"""The Google connect flow through google-auth-oauthlib against the fake Google: authorization URL,
consent, code exchange with PKCE, scope handling, and revocation."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.calendar.base import ConnectionContext, ReauthRequired
from bot.calendar.google.connect import GoogleOAuthError, authorization_url, exchange_code, revoke
from bot.calendar.google.provider import GoogleCalendarProvider
from bot.calendar.google.scopes import DISCLOSURE, SCOPES
from bot.settings import GoogleSettings
from tests.support.paths import ROOT

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

REDIRECT = "https://slotbot.example/oauth/google/callback"


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


async def _noop(_: str) -> None:
    return None


async def _connect(fake: FakeGoogle, settings: GoogleSettings, state: str = "state-1") -> tuple[str, str]:
    url, verifier = authorization_url(settings, redirect_uri=REDIRECT, state=state, login_hint=None)
    back = fake.consent(url)
    assert back.startswith(REDIRECT + "?")
    params = _query(back)
    assert params["state"] == state
    return params["code"], verifier


def test_authorization_url_asks_for_least_privilege_offline_access_with_pkce(
    google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    url, verifier = authorization_url(
        google_settings, redirect_uri=REDIRECT, state="opaque-state", login_hint="host@example.com"
    )
    assert url.startswith(google_settings.auth_uri + "?")
    q = _query(url)
    assert q["client_id"] == google_settings.client_id
    assert q["redirect_uri"] == REDIRECT
    assert q["response_type"] == "code"
    assert q["state"] == "opaque-state"
    assert set(q["scope"].split()) == set(SCOPES)
    broad = {"https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.events"}
    assert not broad & set(q["scope"].split())
    assert q["access_type"] == "offline"
    assert q["prompt"] == "consent"
    assert q["include_granted_scopes"] == "true"
    assert q["login_hint"] == "host@example.com"
    assert q["code_challenge_method"] == "S256"
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert q["code_challenge"] == expected
    assert verifier not in url

    url2, verifier2 = authorization_url(google_settings, redirect_uri=REDIRECT, state="s2", login_hint=None)
    assert verifier2 != verifier
    assert "login_hint" not in _query(url2)


def test_production_refuses_plain_http_endpoints(
    google_settings: GoogleSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    from oauthlib.oauth2.rfc6749.errors import InsecureTransportError

    with pytest.raises(InsecureTransportError):
        authorization_url(google_settings, redirect_uri=REDIRECT, state="s", login_hint=None)
    source = (ROOT / "bot").rglob("*.py")
    assert not [p for p in source if "OAUTHLIB_INSECURE_TRANSPORT" in p.read_text()]


def test_disclosure_says_what_is_read_and_written() -> None:
    text = DISCLOSURE.lower()
    for phrase in ("list of your calendars", "busy", "create and delete events", "disconnect"):
        assert phrase in text


async def test_full_connect_flow_stores_refreshable_credentials(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    grant = await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)

    assert grant.account_email == "host@example.com"
    assert set(grant.scopes) == set(SCOPES)
    stored = json.loads(grant.credentials_json)
    assert stored["type"] == "google_oauth2" and stored["version"] == 1
    assert stored["refresh_token"] and stored["token"] and stored["expiry"].endswith("Z")
    assert set(stored["scopes"]) == set(SCOPES)
    assert "client_secret" not in stored and google_settings.client_secret not in grant.credentials_json
    assert "credentials_json" not in repr(grant) and stored["refresh_token"] not in repr(grant)
    assert not google_fake.refresh_token_revoked(stored["refresh_token"])

    (exchange,) = google_fake.token_calls("authorization_code")
    assert exchange.body["code_verifier"] == verifier
    assert exchange.body["redirect_uri"] == REDIRECT
    assert google_fake.calls[-1].path == "/calendar/v3/users/me/calendarList/primary"

    provider = GoogleCalendarProvider(
        google_settings, ConnectionContext(1, "host@example.com", grant.credentials_json, _noop)
    )
    calendars = await provider.list_calendars()
    assert [c.external_id for c in calendars if c.is_primary] == ["host@example.com"]


async def test_wrong_code_verifier_is_refused(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier[::-1])
    assert caught.value.code == "invalid_grant"
    assert verifier not in str(caught.value)


async def test_a_code_is_single_use(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    assert caught.value.code == "invalid_grant"


async def test_redirect_uri_must_be_exactly_the_same(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(google_settings, redirect_uri=REDIRECT + "/", code=code, code_verifier=verifier)
    assert caught.value.code == "redirect_uri_mismatch"


async def test_wrong_client_secret_is_refused(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    bad = GoogleSettings(**{**vars(google_settings), "client_secret": "not-the-secret"})
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(bad, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value)


async def test_unticked_permission_is_refused_and_the_partial_grant_revoked(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    owned = "https://www.googleapis.com/auth/calendar.events.owned"
    google_fake.consent_scopes = set(SCOPES) - {owned}
    code, verifier = await _connect(google_fake, google_settings)
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    assert caught.value.code == "scopes_missing"
    assert caught.value.missing_scopes == {owned}
    assert "permission" in str(caught.value)
    (revoked,) = [c for c in google_fake.calls if c.path == "/revoke"]
    assert revoked.status == 200
    assert revoked.body["token"].startswith("1//")  # the refresh token: the whole grant goes
    assert google_fake.refresh_token_revoked(revoked.body["token"])
    assert revoked.query == {}  # the token travels in the body, not the URL


async def test_a_grant_without_refresh_token_is_refused_and_revoked(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    google_fake.omit_refresh_token = True
    code, verifier = await _connect(google_fake, google_settings)
    with pytest.raises(GoogleOAuthError) as caught:
        await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    assert caught.value.code == "no_refresh_token"
    (revoked,) = [c for c in google_fake.calls if c.path == "/revoke"]
    assert revoked.status == 200 and revoked.body["token"].startswith("ya29.")


async def test_earlier_grants_returned_by_include_granted_scopes_are_accepted(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    google_fake.previously_granted = {"openid", "https://www.googleapis.com/auth/userinfo.email"}
    code, verifier = await _connect(google_fake, google_settings)
    grant = await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    assert set(grant.scopes) == set(SCOPES)
    assert grant.account_email == "host@example.com"


async def test_revoke_ends_the_grant_and_is_idempotent(
    google_fake: FakeGoogle, google_settings: GoogleSettings, google_insecure_transport: None
) -> None:
    code, verifier = await _connect(google_fake, google_settings)
    grant = await exchange_code(google_settings, redirect_uri=REDIRECT, code=code, code_verifier=verifier)
    refresh_token = json.loads(grant.credentials_json)["refresh_token"]

    await revoke(google_settings, grant.credentials_json)
    assert google_fake.refresh_token_revoked(refresh_token)
    revoke_call = [c for c in google_fake.calls if c.path == "/revoke"][-1]
    assert revoke_call.body == {"token": refresh_token} and revoke_call.query == {}

    provider = GoogleCalendarProvider(
        google_settings, ConnectionContext(1, "host@example.com", grant.credentials_json, _noop)
    )
    with pytest.raises(ReauthRequired) as caught:
        await provider.list_calendars()
    assert refresh_token not in str(caught.value)

    await revoke(google_settings, grant.credentials_json)  # already revoked: fine
    await revoke(google_settings, "not json")  # unreadable: nothing to revoke
