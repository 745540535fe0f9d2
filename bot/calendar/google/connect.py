"""Connecting Google Calendar: the OAuth 2.0 consent flow (google-auth-oauthlib, PKCE) and its adapter.

The connect flow (:mod:`bot.accounts.connections`) uses :class:`GoogleConnect`. Underneath: show
:data:`~bot.calendar.google.scopes.DISCLOSURE`, redirect to :func:`authorization_url` (keep the
returned PKCE ``code_verifier`` with the caller's ``state``), and on the callback call
:func:`exchange_code`; store the grant's credentials encrypted. :func:`revoke` undoes the grant at
Google on disconnect.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.calendar.base import CalendarError, ConnectionContext, ProviderUnavailable
from bot.calendar.google.client import run_blocking, untyped
from bot.calendar.google.credentials import credentials_to_json
from bot.calendar.google.provider import GoogleCalendarProvider
from bot.calendar.google.scopes import DISCLOSURE, SCOPES
from bot.calendar.oauth import ConnectError, Grant, OAuthError, granted_scopes, missing_scopes
from bot.calendar.threads import WorkerThreads
from bot.settings import GoogleSettings, Settings

log = logging.getLogger(__name__)

OAUTH_TIMEOUT_SECONDS = 20.0
"""How long the token and revocation endpoints may take during connect and disconnect."""


class GoogleOAuthError(OAuthError):
    """The Google connect flow failed (consent denied or incomplete, code expired or reused, ...).

    ``code`` is Google's OAuth error code (``invalid_grant``, ``access_denied``...),
    ``scopes_missing`` when the user unticked a permission on the consent screen (then
    ``missing_scopes`` names them) or ``no_refresh_token``. The message tells the host to try again.
    """


@dataclass(frozen=True, slots=True)
class GoogleGrant(Grant):
    """What a successful Google code exchange yields (``account_email`` "" when unknown)."""

    @property
    def credentials_json(self) -> str:
        """The stored credentials (see :mod:`bot.calendar.google.credentials`)."""
        return self.credentials


def _flow(settings: GoogleSettings, *, redirect_uri: str, code_verifier: str) -> Any:
    from google_auth_oauthlib.flow import Flow

    config = {
        "web": {
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "auth_uri": settings.auth_uri,
            "token_uri": settings.token_uri,
            "redirect_uris": [redirect_uri],
        }
    }
    return Flow.from_client_config(
        config,
        scopes=list(SCOPES),
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        autogenerate_code_verifier=False,
    )


def authorization_url(
    settings: GoogleSettings, *, redirect_uri: str, state: str, login_hint: str | None
) -> tuple[str, str]:
    """The consent URL to redirect the host to, and the PKCE ``code_verifier`` to keep.

    The URL asks for :data:`SCOPES` with ``access_type=offline`` (a refresh token),
    ``prompt=consent`` (Google then always returns one), ``include_granted_scopes=true``,
    a PKCE S256 challenge, the caller's ``state`` (binding it to the chat user, single use and
    expiry are the caller's business) and ``login_hint`` when known. ``redirect_uri`` must be
    exactly the one registered at Google and given again to :func:`exchange_code`.
    """
    code_verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-], RFC 7636 range
    flow = _flow(settings, redirect_uri=redirect_uri, code_verifier=code_verifier)
    extra: dict[str, str] = {
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
    }
    if login_hint:
        extra["login_hint"] = login_hint
    url, _ = flow.authorization_url(**extra)
    return str(url), code_verifier


def _fetch_token(
    settings: GoogleSettings, redirect_uri: str, code: str, code_verifier: str, seconds: float
) -> dict[str, Any]:
    """The authorization-code grant through google-auth-oauthlib (blocking)."""
    oauth2_error: type[Exception] = untyped("oauthlib.oauth2").OAuth2Error
    flow = _flow(settings, redirect_uri=redirect_uri, code_verifier=code_verifier)
    try:
        token = flow.fetch_token(code=code, timeout=seconds)
    except oauth2_error as exc:
        raise GoogleOAuthError(
            "Google did not accept the sign-in (it may have expired or been used already); "
            "please connect the calendar again.",
            code=str(getattr(exc, "error", None) or "oauth_error"),
        ) from None
    except Warning as changed:
        # oauthlib refuses a token whose scopes differ from those requested. That is normal with
        # Google: include_granted_scopes adds earlier grants, and granular consent lets the user
        # untick some. The token is attached; the scope check below decides.
        token = getattr(changed, "token", None)
        if token is None:
            raise
    return dict(token)


async def exchange_code(
    settings: GoogleSettings,
    *,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    threads: WorkerThreads | None = None,
) -> GoogleGrant:
    """Exchange the callback's ``code`` (with the kept PKCE verifier) for stored credentials.

    Raises :class:`GoogleOAuthError` when Google refuses the code, when no refresh token came back,
    or when the user did not grant every scope in :data:`SCOPES` (the partial grant is revoked
    then). The account e-mail is read from the primary calendar's id ("" if it cannot be).
    ``threads`` runs the blocking calls (default: the loop's default executor).
    """
    pool = threads or WorkerThreads.loop_default()
    seconds = OAUTH_TIMEOUT_SECONDS
    token = await run_blocking(
        pool, lambda: _fetch_token(settings, redirect_uri, code, code_verifier, seconds), seconds + 1.0,
        "Google: sign in",
    )
    granted = granted_scopes(token.get("scope"))
    refresh_token = token.get("refresh_token")
    missing = missing_scopes(SCOPES, granted)
    if missing or not isinstance(refresh_token, str) or not refresh_token:
        leftover = refresh_token or token.get("access_token")
        if isinstance(leftover, str) and leftover:
            try:
                await _revoke_token(settings, leftover, seconds, pool)
            except CalendarError:
                log.warning("google: could not revoke an incomplete grant")
        if missing:
            raise GoogleOAuthError(
                "Slotbot needs every permission on Google's consent screen to check your calendars "
                "and add bookings; please connect again and leave them all ticked.",
                code="scopes_missing",
                missing_scopes=missing,
            )
        raise GoogleOAuthError(
            "Google did not grant offline access; please connect the calendar again.", code="no_refresh_token"
        )
    expires_in = token.get("expires_in")
    expiry = (
        datetime.now(UTC) + timedelta(seconds=float(expires_in))
        if isinstance(expires_in, int | float)
        else None
    )
    scopes = tuple(s for s in granted if s in SCOPES) or SCOPES
    credentials_json = credentials_to_json(
        refresh_token=refresh_token,
        token=token.get("access_token"),
        expiry=expiry,
        scopes=scopes,
    )
    holder = [credentials_json]

    async def keep(new: str) -> None:
        holder[0] = new

    provider = GoogleCalendarProvider(
        settings,
        ConnectionContext(
            connection_id=0, account_email="", credentials=credentials_json, save_credentials=keep
        ),
        timeout=seconds,
        threads=pool,
    )
    email = ""
    try:
        primary = await provider.primary_calendar()
        email = primary.external_id if "@" in primary.external_id else ""
    except CalendarError as exc:
        log.warning("google: could not read the primary calendar after connecting (%s)", exc.reason)
    return GoogleGrant(account_email=email, credentials=holder[0], scopes=scopes)


async def revoke(
    settings: GoogleSettings, credentials_json: str, *, threads: WorkerThreads | None = None
) -> None:
    """Revoke the grant at Google (disconnect). An already revoked or unreadable grant is fine.

    Revoking the refresh token ends the whole grant, access tokens included. The token is sent in
    the POST body, never in the URL, so it stays out of access logs.
    """
    try:
        data = json.loads(credentials_json)
        token = data.get("refresh_token") or data.get("token")
    except (ValueError, AttributeError):
        return
    if isinstance(token, str) and token:
        await _revoke_token(settings, token, OAUTH_TIMEOUT_SECONDS, threads or WorkerThreads.loop_default())


async def _revoke_token(settings: GoogleSettings, token: str, seconds: float, threads: WorkerThreads) -> None:
    def call() -> tuple[int, bytes]:
        request = untyped("google_auth_httplib2").Request(untyped("httplib2").Http(timeout=seconds))
        response = request(
            settings.revoke_uri,
            method="POST",
            body=urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=seconds,
        )
        return int(response.status), bytes(response.data or b"")

    status, data = await run_blocking(threads, call, seconds + 1.0, "Google: revoke access")
    if status == 200:
        return
    try:
        error = json.loads(data).get("error")
    except (ValueError, AttributeError):
        error = None
    if status == 400 and error in ("invalid_token", "invalid_grant"):
        return  # already revoked or expired: the goal is reached
    raise ProviderUnavailable(f"Google could not revoke access (HTTP {status}); try again later.")


class GoogleConnect:
    """The connect flow's adapter for Google Calendar (google-auth-oauthlib, PKCE)."""

    kind = "google"
    label = "Google Calendar"
    disclosure = DISCLOSURE
    settings_hint = "set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET"

    def __init__(self, settings: Settings, threads: WorkerThreads | None = None) -> None:
        self._settings = settings.google
        self._threads = threads

    @property
    def enabled(self) -> bool:
        """Whether a Google OAuth client is configured."""
        return self._settings.enabled

    async def begin(
        self, *, redirect_uri: str, state: str, login_hint: str | None
    ) -> tuple[str, dict[str, Any]]:
        """Consent URL with PKCE; the verifier is the flow data."""
        url, verifier = authorization_url(
            self._settings, redirect_uri=redirect_uri, state=state, login_hint=login_hint
        )
        return url, {"code_verifier": verifier}

    async def finish(
        self, *, redirect_uri: str, flow: Mapping[str, Any], query: Mapping[str, str]
    ) -> Grant:
        """Exchange the code for credentials."""
        grant = await exchange_code(
            self._settings,
            redirect_uri=redirect_uri,
            code=query.get("code", ""),
            code_verifier=str(flow["code_verifier"]),
            threads=self._threads,
        )
        if not grant.account_email:
            raise ConnectError("Google did not tell us which account this is; please try again.")
        return grant

    async def revoke(self, credentials: str) -> None:
        """Revoke the refresh token at Google."""
        await revoke(self._settings, credentials, threads=self._threads)
