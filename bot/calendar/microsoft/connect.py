"""Connecting Microsoft 365: msal's authorization-code flow (PKCE, nonce) and the connect adapter.

The connect flow (:mod:`bot.accounts.connections`) uses :class:`MicrosoftConnect`. Underneath are
two calls: :func:`start_flow` returns the URL to send the host to and a *flow* dict that the
caller keeps server-side until the callback (it holds the PKCE code verifier and the nonce: never
put it in a cookie or a URL); :func:`complete_flow` turns the callback's query parameters into a
:class:`MicrosoftGrant` (account e-mail plus the stored credentials, which the caller encrypts per
connection). :func:`forget` is the disconnect side (nothing can be revoked at Microsoft).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, cast

import aiohttp
import msal
import requests
from msal.exceptions import MsalError

from bot.calendar.base import CalendarError, ProviderTimeout, ReauthRequired
from bot.calendar.microsoft.credentials import dump_credentials, load_credentials
from bot.calendar.microsoft.graph import Graph
from bot.calendar.microsoft.msal_http import build_app
from bot.calendar.microsoft.scopes import DISCLOSURE, GRAPH_PERMISSIONS, graph_scopes, permission_name
from bot.calendar.oauth import Grant, OAuthError, granted_scopes, missing_scopes
from bot.calendar.threads import WorkerThreads
from bot.settings import MicrosoftSettings, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

MicrosoftGrant = Grant
"""The outcome of a completed Microsoft sign-in: :class:`~bot.calendar.oauth.Grant`.

``credentials`` is what the caller encrypts and stores for the connection (see
:func:`~bot.calendar.microsoft.credentials.dump_credentials`); ``account_id`` (msal's home
account id, ``<object id>.<tenant id>``) identifies the Microsoft account across reconnections.
"""


class MicrosoftOAuthError(OAuthError):
    """Connecting failed. ``code`` says why; ``str()`` is safe to log and show.

    Codes: ``access_denied`` (the host or an administrator refused consent), ``state_mismatch``
    (the callback does not belong to this flow), ``invalid_response`` (the identity platform
    answered something msal could not validate), ``scopes_missing`` (a permission was not
    granted; ``missing_scopes`` names them), ``no_email`` (the account has no e-mail address),
    ``unavailable`` (the identity platform or Graph could not be reached), or the OAuth error code
    Microsoft returned (``invalid_grant`` for an expired or reused code, ``invalid_client``...).
    Shaped like ``GoogleOAuthError`` so one callback handler can treat both alike.
    """


async def forget(credentials: str) -> None:
    """Disconnect helper: there is nothing to revoke at Microsoft.

    The identity platform (v2 endpoint) has no endpoint through which an application revokes the
    refresh token it was given, and Graph's ``revokeSignInSessions`` would sign the host out of
    every application, so Slotbot does not call it. Disconnecting is deleting the stored
    credentials (the MSAL cache): the caller does that. The refresh token then expires unused
    (after 90 days of inactivity); a host who wants it gone at once removes Slotbot from their
    account's app permissions (My Apps / account.live.com consent page). The argument is parsed
    only to confirm it is Microsoft credentials; a malformed value is ignored.
    """
    with contextlib.suppress(ReauthRequired):
        load_credentials(credentials)


async def start_flow(
    settings: MicrosoftSettings,
    *,
    redirect_uri: str,
    state: str,
    login_hint: str | None = None,
    response_mode: Literal["query", "form_post"] = "query",
    validate_authority: bool | None = None,
    http_timeout: float = 20.0,
    threads: WorkerThreads | None = None,
) -> tuple[str, dict[str, Any]]:
    """Begin an authorization-code flow with PKCE; return ``(auth_uri, flow)``.

    Send the host to ``auth_uri``. Keep ``flow`` server-side (it is JSON-serializable and holds the
    PKCE code verifier and the nonce: a secret) bound to ``state``, single use and short-lived, and
    pass it back to :func:`complete_flow` on the callback. ``redirect_uri`` must be exactly the one
    registered for the application. ``response_mode="form_post"`` makes Microsoft POST the answer
    to ``redirect_uri`` as a form (the code then never appears in a URL; msal recommends it and
    warns otherwise); the callback must then accept a cross-site POST, so it must find the flow
    by ``state`` server-side, not through a SameSite cookie. ``validate_authority`` None means:
    validate Microsoft's well-known authority hosts, skip validation and instance discovery for
    private authorities.
    Raises :class:`MicrosoftOAuthError` (``unavailable``) when the authority cannot be reached.
    msal runs on ``threads`` (default: the loop's default executor).
    """

    def run() -> dict[str, Any]:
        app = build_app(settings, cache=None, validate_authority=validate_authority, timeout=http_timeout)
        flow = app.initiate_auth_code_flow(
            graph_scopes(settings),
            redirect_uri=redirect_uri,
            state=state,
            login_hint=login_hint,
            response_mode=response_mode,
        )
        return cast(dict[str, Any], flow)

    try:
        flow = await _in_thread(threads, run, http_timeout, "Microsoft: start sign-in")
    except (requests.RequestException, ValueError, MsalError, ProviderTimeout) as exc:
        log.warning("microsoft sign-in could not start: %s", type(exc).__name__)
        raise MicrosoftOAuthError(
            "The Microsoft sign-in service could not be reached.", code="unavailable"
        ) from None
    return str(flow["auth_uri"]), flow


async def complete_flow(
    settings: MicrosoftSettings,
    *,
    flow: Mapping[str, Any],
    query_params: Mapping[str, str],
    session: aiohttp.ClientSession | None = None,
    validate_authority: bool | None = None,
    http_timeout: float = 20.0,
    threads: WorkerThreads | None = None,
) -> MicrosoftGrant:
    """Finish the flow begun by :func:`start_flow` with the callback's parameters.

    ``query_params`` are the callback's query parameters (or form fields with ``form_post``).

    msal checks the state, sends the PKCE verifier with the code and checks the ID token's nonce.
    The account's e-mail comes from Graph ``/me`` (``mail``, else ``userPrincipalName``), through
    ``session`` when given (else a short-lived one). Raises :class:`MicrosoftOAuthError`.
    """

    unavailable = MicrosoftOAuthError(
        "The Microsoft sign-in service could not be reached.", code="unavailable"
    )
    if not flow.get("state") or flow.get("state") != query_params.get("state"):
        # Checked here as well as by msal, so that msal's other ValueErrors mean something else.
        raise MicrosoftOAuthError(
            "This sign-in answer does not belong to the connection being made.", code="state_mismatch"
        )

    def run() -> tuple[dict[str, Any], str, str]:
        cache = msal.SerializableTokenCache()
        try:
            app = build_app(
                settings, cache=cache, validate_authority=validate_authority, timeout=http_timeout
            )
        except (requests.RequestException, ValueError, MsalError):
            raise unavailable from None
        try:
            result = app.acquire_token_by_auth_code_flow(dict(flow), dict(query_params))
        except MsalError:  # the token endpoint answered 5xx
            raise unavailable from None
        if "error" in result:
            return result, "", ""
        home_account_id = ""
        accounts = app.get_accounts()
        if accounts:
            home_account_id = str(accounts[0].get("home_account_id") or "")
        return result, home_account_id, cache.serialize()

    try:
        result, home_account_id, serialized = await _in_thread(
            threads, run, http_timeout, "Microsoft: complete sign-in"
        )
    except (ValueError, RuntimeError):
        # msal could not validate the answer (nonce, state) or read the token endpoint's reply.
        raise MicrosoftOAuthError(
            "Microsoft's sign-in answer could not be verified.", code="invalid_response"
        ) from None
    except (requests.RequestException, ProviderTimeout) as exc:
        log.warning("microsoft token endpoint unreachable: %s", type(exc).__name__)
        raise unavailable from None

    if "error" in result:
        error = str(result.get("error"))
        log.info("microsoft sign-in refused: %s", error)
        if error == "access_denied":
            raise MicrosoftOAuthError(
                "Access to the Microsoft account was not granted.", code="access_denied"
            )
        raise MicrosoftOAuthError(f"Microsoft refused the sign-in ({error}).", code=error)
    if not home_account_id or "access_token" not in result:
        raise MicrosoftOAuthError(
            "Microsoft's sign-in answer had no usable account.", code="invalid_response"
        )

    granted = granted_scopes(result.get("scope", ""))
    missing = missing_scopes(GRAPH_PERMISSIONS, granted, normalize=permission_name)
    if granted and missing:
        log.info("microsoft sign-in lacks permissions: %s", ",".join(sorted(missing)))
        raise MicrosoftOAuthError(
            "Not every permission Slotbot needs was granted; connect again and accept all of them.",
            code="scopes_missing",
            missing_scopes=missing,
        )

    claims = result.get("id_token_claims") or {}
    token = str(result["access_token"])
    try:
        me = await _fetch_me(settings, token, session, http_timeout)
    except CalendarError as exc:
        raise MicrosoftOAuthError("Microsoft Graph could not be reached.", code="unavailable") from exc
    account_email = str(
        me.get("mail") or me.get("userPrincipalName") or claims.get("preferred_username") or ""
    )
    if "@" not in account_email:
        raise MicrosoftOAuthError("The Microsoft account has no e-mail address.", code="no_email")
    return MicrosoftGrant(
        account_email=account_email,
        account_id=home_account_id,
        display_name=str(me.get("displayName") or claims.get("name") or ""),
        credentials=dump_credentials(home_account_id, serialized),
        scopes=tuple(granted),
    )


async def _fetch_me(
    settings: MicrosoftSettings, token: str, session: aiohttp.ClientSession | None, http_timeout: float
) -> dict[str, Any]:
    async def fixed_token() -> str:
        return token

    async def call(http: aiohttp.ClientSession) -> dict[str, Any]:
        graph = Graph(settings, lambda: http, fixed_token, asyncio.Semaphore(1), timeout=http_timeout)
        return await graph.get_json(graph.url("/me", {"$select": "mail,userPrincipalName,displayName"}))

    if session is not None:
        return await call(session)
    async with aiohttp.ClientSession() as own:
        return await call(own)


async def _in_thread(threads: WorkerThreads | None, fn: Callable[[], T], http_timeout: float, what: str) -> T:
    """One msal flow step in the worker threads (it may fetch metadata and then a token)."""
    pool = threads or WorkerThreads.loop_default()
    return await pool.run(fn, timeout=2 * http_timeout + 1.0, what=what)


class MicrosoftConnect:
    """The connect flow's adapter for Microsoft 365 (msal)."""

    kind = "microsoft"
    label = "Microsoft 365"
    disclosure = DISCLOSURE
    settings_hint = "set MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET"

    def __init__(
        self,
        settings: Settings,
        http: Callable[[], aiohttp.ClientSession],
        threads: WorkerThreads | None = None,
    ) -> None:
        self._settings = settings.microsoft
        self._http = http
        self._threads = threads

    @property
    def enabled(self) -> bool:
        """Whether a Microsoft identity platform app is configured."""
        return self._settings.enabled

    async def begin(
        self, *, redirect_uri: str, state: str, login_hint: str | None
    ) -> tuple[str, dict[str, Any]]:
        """msal's auth-code flow (PKCE, nonce); the flow dict is the flow data."""
        return await start_flow(
            self._settings, redirect_uri=redirect_uri, state=state, login_hint=login_hint,
            threads=self._threads,
        )

    async def finish(
        self, *, redirect_uri: str, flow: Mapping[str, Any], query: Mapping[str, str]
    ) -> Grant:
        """Complete msal's flow with the callback's parameters."""
        return await complete_flow(
            self._settings, flow=flow, query_params=query, session=self._http(), threads=self._threads
        )

    async def revoke(self, credentials: str) -> None:
        """Nothing to revoke for a v2 app; the stored cache is deleted by the caller."""
        await forget(credentials)
