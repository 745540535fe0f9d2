"""The Microsoft 365 connect flow, through msal, against the fake identity platform over TLS."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.calendar.microsoft.connect import MicrosoftOAuthError, complete_flow, forget, start_flow
from bot.calendar.microsoft.credentials import load_credentials
from bot.calendar.microsoft.scopes import DISCLOSURE, GRAPH_PERMISSIONS
from bot.settings import MicrosoftSettings

if TYPE_CHECKING:
    from tests.fakes.microsoft import FakeMicrosoft

pytest_plugins = ["tests.fakes.microsoft"]
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")

REDIRECT = "https://slotbot.example/oauth/microsoft/callback"
DEFAULT_EMAIL = "host@contoso.example"  # the fake's first account


async def test_full_flow_yields_account_and_msal_cache(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    microsoft_fake.redirect_uris = {REDIRECT}
    auth_uri, flow = await start_flow(
        microsoft_settings, redirect_uri=REDIRECT, state="state-123", login_hint=DEFAULT_EMAIL
    )
    query = parse_qs(urlsplit(auth_uri).query)
    assert auth_uri.startswith(f"{microsoft_fake.authority}/oauth2/v2.0/authorize?")
    assert query["state"] == ["state-123"]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["login_hint"] == [DEFAULT_EMAIL]
    scopes = query["scope"][0].split()
    assert {s.rsplit("/", 1)[-1] for s in scopes} == {
        *GRAPH_PERMISSIONS,
        "offline_access",
        "openid",
        "profile",
    }
    assert all(s.startswith(microsoft_fake.base_url) for s in scopes if "." in s)
    json.dumps(flow)  # the caller stores it server-side: it must serialize
    assert flow["code_verifier"]

    params = await microsoft_fake.approve(auth_uri)
    grant = await complete_flow(microsoft_settings, flow=flow, query_params=params)

    user = microsoft_fake.user()
    assert grant.account_email == DEFAULT_EMAIL
    assert grant.display_name == user.name
    assert grant.account_id == f"{user.oid}.{user.tid}"
    assert "credentials" not in repr(grant)
    stored = load_credentials(grant.credentials)
    assert stored.home_account_id == grant.account_id
    cache = json.loads(stored.msal_cache)
    assert len(cache["RefreshToken"]) == 1 and len(cache["AccessToken"]) == 1
    assert [r["grant_type"] for r in microsoft_fake.token_requests] == ["authorization_code"]
    assert [c.path for c in microsoft_fake.calls] == ["/v1.0/me"]


async def test_form_post_response_mode(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(
        microsoft_settings, redirect_uri=REDIRECT, state="s", response_mode="form_post"
    )
    assert parse_qs(urlsplit(auth_uri).query)["response_mode"] == ["form_post"]
    fields = await microsoft_fake.approve(auth_uri)
    assert set(fields) >= {"code", "state"}
    grant = await complete_flow(microsoft_settings, flow=flow, query_params=fields)
    assert grant.account_email == DEFAULT_EMAIL


async def test_login_hint_picks_the_account_and_mail_is_preferred(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    microsoft_fake.add_user("upn.only@contoso.example", mail=None)
    microsoft_fake.add_user("alias@contoso.example", mail="real.mail@contoso.example")
    for hint, expected in [
        ("upn.only@contoso.example", "upn.only@contoso.example"),
        ("alias@contoso.example", "real.mail@contoso.example"),
    ]:
        auth_uri, flow = await start_flow(
            microsoft_settings, redirect_uri=REDIRECT, state="s", login_hint=hint
        )
        grant = await complete_flow(
            microsoft_settings, flow=flow, query_params=await microsoft_fake.approve(auth_uri)
        )
        assert grant.account_email == expected


async def test_tampered_state_is_refused(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="genuine")
    params = await microsoft_fake.approve(auth_uri)
    params["state"] = "forged"
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "state_mismatch"
    assert "forged" not in str(caught.value) and "genuine" not in str(caught.value)
    assert microsoft_fake.token_requests == []  # refused before the code was sent anywhere


async def test_code_cannot_be_redeemed_twice(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    await complete_flow(microsoft_settings, flow=flow, query_params=params)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "invalid_grant"
    assert len(microsoft_fake.token_requests) == 2


async def test_wrong_code_verifier_is_refused_by_pkce(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow={**flow, "code_verifier": "x" * 43}, query_params=params)
    assert caught.value.code == "invalid_grant"


async def test_consent_refused(microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings) -> None:
    microsoft_fake.deny_consent = True
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "access_denied"
    assert caught.value.reason == "oauth_failed"


async def test_permission_not_granted(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    microsoft_fake.withheld_permissions = {"Calendars.Read.Shared"}
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "scopes_missing"
    assert caught.value.missing_scopes == {"Calendars.Read.Shared"}


async def test_wrong_client_secret(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    bad = dataclasses.replace(microsoft_settings, client_secret="not-the-secret")
    auth_uri, flow = await start_flow(bad, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(bad, flow=flow, query_params=params)
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value)


async def test_trust_comes_from_ca_bundle_not_the_environment(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the bundle the self-signed fake is not trusted, whatever the environment says...
    with pytest.raises(MicrosoftOAuthError) as caught:
        await start_flow(
            dataclasses.replace(microsoft_settings, ca_bundle=""), redirect_uri=REDIRECT, state="s"
        )
    assert caught.value.code == "unavailable"
    # ...and with it, an environment bundle pointing elsewhere does not override it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/nonexistent/ca.pem")
    auth_uri, _ = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    assert auth_uri.startswith(microsoft_fake.authority)


async def test_token_endpoint_outage(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    microsoft_fake.fail_token_requests(1)
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "unavailable"


async def test_missing_state_is_refused_before_any_request(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    params = await microsoft_fake.approve(auth_uri)
    del params["state"]
    with pytest.raises(MicrosoftOAuthError) as caught:
        await complete_flow(microsoft_settings, flow=flow, query_params=params)
    assert caught.value.code == "state_mismatch"
    assert microsoft_fake.token_requests == []


async def test_unreachable_authority(microsoft_settings: MicrosoftSettings) -> None:
    dead = dataclasses.replace(microsoft_settings, authority="https://127.0.0.1:9/common")
    with pytest.raises(MicrosoftOAuthError) as caught:
        await start_flow(dead, redirect_uri=REDIRECT, state="s", http_timeout=2)
    assert caught.value.code == "unavailable"


async def test_forget_needs_no_network(
    microsoft_fake: FakeMicrosoft, microsoft_settings: MicrosoftSettings
) -> None:
    auth_uri, flow = await start_flow(microsoft_settings, redirect_uri=REDIRECT, state="s")
    grant = await complete_flow(
        microsoft_settings, flow=flow, query_params=await microsoft_fake.approve(auth_uri)
    )
    calls, tokens = len(microsoft_fake.calls), len(microsoft_fake.token_requests)
    await forget(grant.credentials)
    await forget("not even json")
    assert (len(microsoft_fake.calls), len(microsoft_fake.token_requests)) == (calls, tokens)


def test_disclosure_names_reads_and_writes() -> None:
    text = DISCLOSURE.lower()
    for phrase in ("calendars", "share", "busy", "create an event", "delete", "e-mail"):
        assert phrase in text
