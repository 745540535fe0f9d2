"""Microsoft 365 calendars: sign-in through msal, calendars and busy time through Microsoft Graph.

Where to start:

* Connecting is two calls made by ``handlers/oauth.py``: :func:`start_flow` returns the URL to send
  the host to and a *flow* dict that the caller keeps server-side until the callback (it holds the
  PKCE code verifier and the nonce: never put it in a cookie or a URL); :func:`complete_flow` turns
  the callback's query parameters into a :class:`MicrosoftGrant` (account e-mail plus the stored
  credentials, which the caller encrypts per connection).
* :class:`MicrosoftCalendarProvider` implements the calendar Protocol for one connection;
  :func:`microsoft_factory` builds them for the provider registry.
* :func:`graph_event_to_block` is the one place Graph's event vocabulary (``showAs``,
  ``isCancelled``, ``responseStatus``, ``isAllDay``) becomes a :class:`BusyBlock`.

msal is synchronous and fetches the authority's OpenID configuration when an application object
is built, so every msal call runs in a worker thread, and an application is built per use from
settings (per flow step, or once per provider instance); there is no module-level client.
Endpoints come only from :class:`MicrosoftSettings`: ``authority`` (sovereign clouds, private
authorities in tests) and ``graph_base``. ``ca_bundle`` adds one CA file to the system trust for
both the identity platform and Graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import json
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import msal
import requests
from msal.exceptions import MsalError
from requests.adapters import HTTPAdapter
from yarl import URL

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    BusyBlock,
    CalendarBusy,
    CalendarError,
    CalendarInfo,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderFactory,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    ShowAs,
    TimedSpan,
    require_aware,
)
from bot.settings import MicrosoftSettings

log = logging.getLogger(__name__)

GRAPH_PERMISSIONS: tuple[str, ...] = ("Calendars.ReadWrite", "Calendars.Read.Shared", "User.Read")
"""Delegated Graph permissions Slotbot asks for, least privilege for what it does.

``Calendars.ReadWrite`` is the least permission that lets Slotbot create (and delete) booking
events in the host's own default calendar; it also covers reading the host's own calendars.
``Calendars.Read.Shared`` adds read access to calendars other people shared with the host (without
it ``calendarView`` on a shared calendar is refused). ``User.Read`` gives the account's e-mail
address. msal adds ``openid``, ``profile`` and ``offline_access`` (the refresh token) itself and
refuses them when passed explicitly.
"""

DISCLOSURE = (
    "Connecting Microsoft 365 lets Slotbot:\n"
    "- see the list of your calendars and of the calendars other people share with you;\n"
    "- read the events in the calendars you choose, to know when you are busy (Slotbot only uses "
    "their times and whether they show you as busy, free, tentative or away);\n"
    "- create an event with the visitor invited in your default calendar when someone books a "
    "meeting with you, and delete that event if the booking is cancelled (Microsoft sends the "
    "invitations and cancellations from your mailbox);\n"
    "- read your name and e-mail address.\n"
    "Microsoft's permission for creating events also allows changing events in your own "
    "calendars; Slotbot never changes events it did not create. Slotbot keeps the sign-in it is "
    "given encrypted, and you can disconnect at any time."
)
"""What the host is told before consenting (PRODUCT.md S9)."""

CREDENTIALS_VERSION = 1

_UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "z", "tzone://microsoft/utc"})
_REAUTH_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})
_SHOW_AS = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OUT_OF_OFFICE,
    "workingelsewhere": ShowAs.WORKING_ELSEWHERE,
    "unknown": ShowAs.UNKNOWN,
}
_CALENDAR_VIEW_FIELDS = "showAs,isCancelled,isAllDay,start,end,responseStatus"
_CALENDAR_FIELDS = "id,name,isDefaultCalendar,canEdit,owner"


class MicrosoftOAuthError(CalendarError):
    """Connecting failed. ``code`` says why; ``str()`` is safe to log and show.

    Codes: ``access_denied`` (the host or an administrator refused consent), ``state_mismatch``
    (the callback does not belong to this flow), ``invalid_response`` (the identity platform
    answered something msal could not validate), ``scopes_missing`` (a permission was not
    granted; ``missing_scopes`` names them), ``no_email`` (the account has no e-mail address),
    ``unavailable`` (the identity platform or Graph could not be reached), or the OAuth error code
    Microsoft returned (``invalid_grant`` for an expired or reused code, ``invalid_client``...).
    Shaped like ``GoogleOAuthError`` so one callback handler can treat both alike.
    """

    reason = "oauth_failed"

    def __init__(self, message: str, *, code: str, missing_scopes: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.code = code
        self.missing_scopes = missing_scopes


@dataclass(frozen=True, slots=True)
class MicrosoftGrant:
    """The outcome of a completed sign-in.

    ``credentials`` is what the caller encrypts and stores for the connection (see
    :func:`dump_credentials`); ``account_id`` (MSAL's home account id, ``<object id>.<tenant id>``)
    identifies the Microsoft account across reconnections.
    """

    account_email: str
    account_id: str
    display_name: str
    credentials: str = field(repr=False)
    scopes: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------
# Stored credentials


@dataclass(frozen=True, slots=True)
class StoredCredentials:
    """The decoded form of a Microsoft connection's stored credentials."""

    home_account_id: str
    msal_cache: str = field(repr=False)


def dump_credentials(home_account_id: str, msal_cache: str) -> str:
    """Serialize credentials: JSON ``{"v": 1, "home_account_id": ..., "msal_cache": ...}``.

    ``msal_cache`` is ``msal.SerializableTokenCache.serialize()`` output (itself JSON, holding the
    refresh, access and ID tokens). The whole string is a secret: store it encrypted.
    """
    return json.dumps(
        {"v": CREDENTIALS_VERSION, "home_account_id": home_account_id, "msal_cache": msal_cache},
        separators=(",", ":"),
    )


def load_credentials(text: str) -> StoredCredentials:
    """Parse what :func:`dump_credentials` wrote; unreadable credentials mean reconnecting."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("v") != CREDENTIALS_VERSION:
            raise ValueError("unknown credentials format")
        home, cache = data["home_account_id"], data["msal_cache"]
        if not isinstance(home, str) or not isinstance(cache, str):
            raise ValueError("malformed credentials")
    except (ValueError, KeyError, TypeError):
        raise ReauthRequired("the stored Microsoft credentials cannot be read") from None
    return StoredCredentials(home_account_id=home, msal_cache=cache)


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


# ----------------------------------------------------------------------------------------------
# msal plumbing (synchronous: always called in a worker thread)


def graph_scopes(settings: MicrosoftSettings) -> list[str]:
    """The Graph permissions as resource-qualified scopes for ``settings.graph_base``'s cloud.

    Qualifying by the Graph origin keeps sovereign clouds right (``graph.microsoft.us`` ...).
    """
    parts = urlsplit(settings.graph_base)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [f"{origin}/{permission}" for permission in GRAPH_PERMISSIONS]


def _permission_names(scopes: Sequence[str]) -> set[str]:
    return {scope.rsplit("/", 1)[-1].lower() for scope in scopes}


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str) -> ssl.SSLContext:
    """The system trust plus the CA certificates in ``ca_bundle``."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_bundle)
    return context


class _HttpAdapter(HTTPAdapter):
    """A requests adapter with a default timeout and, optionally, extra CA trust.

    With a CA bundle the verification context is ours (system trust plus the bundle), so neither
    ``REQUESTS_CA_BUNDLE`` nor ``session.verify`` can replace it; verification stays on.
    """

    def __init__(self, *, timeout: float, context: ssl.SSLContext | None) -> None:
        self._timeout = timeout
        self._context = context
        super().__init__()

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pool key attributes, using the adapter's verification context when it has one."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._context is not None:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
            pool_kwargs["ssl_context"] = self._context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Let the verification context decide trust when the adapter has one."""
        super().cert_verify(conn, url, verify, cert)
        if self._context is not None and url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send with the adapter's default timeout unless one is given."""
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _http_session(settings: MicrosoftSettings, timeout: float) -> requests.Session:
    """The requests session msal talks through (timeouts, ``ca_bundle`` trust)."""
    session = requests.Session()
    context = _tls_context(settings.ca_bundle) if settings.ca_bundle else None
    if settings.ca_bundle:
        # Extra trust is explicit here: keep REQUESTS_CA_BUNDLE & co. out of the decision.
        session.trust_env = False
        session.verify = settings.ca_bundle
    adapter = _HttpAdapter(timeout=timeout, context=context)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _is_well_known_authority(authority: str) -> bool:
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

    host = (urlsplit(authority).hostname or "").lower()
    return host in WELL_KNOWN_AUTHORITY_HOSTS


@dataclass(frozen=True, slots=True)
class _CachedResponse:
    """What msal reads of a discovery answer (status, body, headers)."""

    status_code: int
    text: str
    headers: Mapping[str, str]


class DiscoveryCache:
    """Successful metadata GETs of the identity platform, shared by many msal applications.

    msal's only GETs are metadata: the authority's OpenID configuration and, for Microsoft's
    well-known hosts, instance discovery. Every msal application fetches them when it is built,
    and a provider builds one per connection and question, so without this cache each
    "when am I free?" would wait for a metadata round trip before asking Graph. The cache holds
    no tokens and no personal data; it is owned by :func:`microsoft_factory` (one per settings),
    never module-level. Thread-safe: msal runs in worker threads.
    """

    def __init__(self, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, _CachedResponse]] = {}

    def get(self, session: requests.Session, url: str, **kwargs: Any) -> Any:
        """GET ``url`` through ``session`` unless a fresh 2xx answer is cached."""
        key = json.dumps([url, sorted((kwargs.get("params") or {}).items())], default=str)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._clock() < found[0]:
                return found[1]
        response = session.get(url, **kwargs)
        if 200 <= response.status_code < 300:
            cached = _CachedResponse(response.status_code, response.text, dict(response.headers))
            with self._lock:
                self._entries[key] = (self._clock() + self._ttl, cached)
        return response

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class _MsalHttp:
    """The http client handed to msal: a requests session whose GETs go through a DiscoveryCache."""

    def __init__(self, session: requests.Session, discovery: DiscoveryCache) -> None:
        self._session = session
        self._discovery = discovery

    def get(self, url: str, **kwargs: Any) -> Any:
        """A metadata GET, cached."""
        return self._discovery.get(self._session, url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """A token request, never cached."""
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        """Close the underlying session."""
        self._session.close()


def _build_app(
    settings: MicrosoftSettings,
    *,
    cache: msal.SerializableTokenCache | None,
    validate_authority: bool | None,
    timeout: float,
    discovery: DiscoveryCache | None = None,
) -> msal.ConfidentialClientApplication:
    """A msal application for one use.

    Fetches the authority's metadata (network) unless ``discovery`` holds it already.
    """
    validate = (
        _is_well_known_authority(settings.authority) if validate_authority is None else validate_authority
    )
    session = _http_session(settings, timeout)
    http_client: Any = session if discovery is None else _MsalHttp(session, discovery)
    return msal.ConfidentialClientApplication(
        settings.client_id,
        client_credential=settings.client_secret,
        authority=settings.authority,
        validate_authority=validate,
        instance_discovery=None if validate else False,
        http_client=http_client,
        token_cache=cache,
    )


# ----------------------------------------------------------------------------------------------
# The connect flow


async def start_flow(
    settings: MicrosoftSettings,
    *,
    redirect_uri: str,
    state: str,
    login_hint: str | None = None,
    response_mode: Literal["query", "form_post"] = "query",
    validate_authority: bool | None = None,
    http_timeout: float = 20.0,
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
    """

    def run() -> dict[str, Any]:
        app = _build_app(settings, cache=None, validate_authority=validate_authority, timeout=http_timeout)
        flow = app.initiate_auth_code_flow(
            graph_scopes(settings),
            redirect_uri=redirect_uri,
            state=state,
            login_hint=login_hint,
            response_mode=response_mode,
        )
        return cast(dict[str, Any], flow)

    try:
        flow = await asyncio.to_thread(run)
    except (requests.RequestException, ValueError, MsalError) as exc:
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
            app = _build_app(
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
        result, home_account_id, serialized = await asyncio.to_thread(run)
    except (ValueError, RuntimeError):
        # msal could not validate the answer (nonce, state) or read the token endpoint's reply.
        raise MicrosoftOAuthError(
            "Microsoft's sign-in answer could not be verified.", code="invalid_response"
        ) from None
    except requests.RequestException as exc:
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

    granted = str(result.get("scope", "")).split()
    missing = _permission_names(graph_scopes(settings)) - _permission_names(granted)
    if granted and missing:
        log.info("microsoft sign-in lacks permissions: %s", ",".join(sorted(missing)))
        raise MicrosoftOAuthError(
            "Not every permission Slotbot needs was granted; connect again and accept all of them.",
            code="scopes_missing",
            missing_scopes=frozenset(p for p in GRAPH_PERMISSIONS if p.lower() in missing),
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
    async def fixed_token(force_refresh: bool) -> str:
        if force_refresh:
            raise ReauthRequired("the new Microsoft access token was refused")
        return token

    async def call(http: aiohttp.ClientSession) -> dict[str, Any]:
        graph = _Graph(settings, lambda: http, fixed_token, asyncio.Semaphore(1), timeout=http_timeout)
        return await graph.get_json(graph.url("/me", {"$select": "mail,userPrincipalName,displayName"}))

    if session is not None:
        return await call(session)
    async with aiohttp.ClientSession() as own:
        return await call(own)


# ----------------------------------------------------------------------------------------------
# Graph over aiohttp


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _graph_error_code(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
    return "unknown"


TokenSource = Callable[[bool], Awaitable[str]]
"""Gives a bearer token; the flag asks for a forced refresh (after a 401)."""


class _Graph:
    """Requests to Graph for one mailbox: bearer token, concurrency bound, retries, error mapping."""

    def __init__(
        self,
        settings: MicrosoftSettings,
        session: Callable[[], aiohttp.ClientSession],
        token: TokenSource,
        limit: asyncio.Semaphore,
        *,
        timeout: float,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        default_retry_after: float = 1.0,
    ) -> None:
        self._base = settings.graph_base.rstrip("/")
        base = urlsplit(self._base)
        self._origin = (base.scheme, base.netloc.lower())
        self._session = session
        self._token = token
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl: ssl.SSLContext | bool = _tls_context(settings.ca_bundle) if settings.ca_bundle else True
        self._max_retries = max_retries
        self._max_retry_wait = max_retry_wait
        self._default_retry_after = default_retry_after

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """An absolute, already-encoded Graph URL for ``path`` (segments quoted by the caller)."""
        query = "?" + urlencode(params, quote_via=quote, safe="$,") if params else ""
        return f"{self._base}{path}{query}"

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` points at the configured Graph (a bearer token never leaves it)."""
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    async def get_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """GET ``url`` and return its JSON object."""
        _, body = await self.request("GET", url, headers=headers)
        if not isinstance(body, dict):
            raise ProviderUnavailable("Microsoft Graph gave an unexpected answer")
        return body

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> tuple[int, object]:
        """Send one request; return ``(status, json body or None)`` for a 2xx answer.

        429 (and 503 with ``Retry-After``) are retried after the advised delay, at most
        ``max_retries`` times and never waiting longer than ``max_retry_wait`` at once, then
        :class:`RateLimited`. A 401 forces one token refresh, then :class:`ReauthRequired`.
        403/404 raise :class:`AccessLost` (404 returns ``(404, None)`` when ``missing_ok``);
        5xx and transport failures raise :class:`ProviderUnavailable`.
        """
        retries = 0
        refreshed = False
        while True:
            token = await self._token(refreshed)
            request_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            request_headers.update(headers or {})
            try:
                async with self._limit:
                    async with self._session().request(
                        method,
                        URL(url, encoded=True),
                        json=json_body,
                        headers=request_headers,
                        ssl=self._ssl,
                        timeout=self._timeout,
                    ) as response:
                        status = response.status
                        retry_after = response.headers.get("Retry-After")
                        text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("microsoft graph unreachable: %s", type(exc).__name__)
                raise ProviderUnavailable("Microsoft Graph could not be reached") from None
            body: object = None
            if text.strip():
                try:
                    body = json.loads(text)
                except ValueError:
                    body = None
            if 200 <= status < 300:
                return status, body
            code = _graph_error_code(body)
            if status == 401:
                if not refreshed:
                    refreshed = True
                    continue
                raise ReauthRequired(f"Microsoft Graph refused the sign-in ({code})")
            delay = _retry_after_seconds(retry_after)
            if status == 429 or (status == 503 and delay is not None):
                wait = self._default_retry_after if delay is None else delay
                if retries >= self._max_retries or wait > self._max_retry_wait:
                    log.info(
                        "microsoft graph throttled (%s %s), giving up after %d retries", status, code, retries
                    )
                    raise RateLimited(f"Microsoft Graph is throttling requests ({status})", retry_after=wait)
                retries += 1
                log.debug("microsoft graph throttled (%s), retrying in %.3f s", status, wait)
                await asyncio.sleep(wait)
                continue
            if status == 404 and missing_ok:
                return status, None
            if status in (403, 404):
                raise AccessLost(f"Microsoft Graph refused access ({status} {code})")
            if status >= 500:
                raise ProviderUnavailable(f"Microsoft Graph failed ({status} {code})")
            raise ProviderUnavailable(f"Microsoft Graph rejected the request ({status} {code})")


# ----------------------------------------------------------------------------------------------
# Mapping Graph events


def _parse_graph_datetime(value: Mapping[str, Any]) -> tuple[datetime, str]:
    """A Graph ``dateTimeTimeZone`` as an aware datetime, plus its zone name."""
    text = str(value.get("dateTime") or "")
    zone_name = str(value.get("timeZone") or "UTC")
    if not text:
        raise ValueError("an event time has no dateTime")
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:  # Graph writes 7 fractional digits; Python reads up to 6.
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        return moment, zone_name
    if zone_name.lower() in _UTC_NAMES:
        zone: ZoneInfo | Any = UTC
    else:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unsupported time zone {zone_name!r}") from None
    return moment.replace(tzinfo=zone), zone_name


def graph_event_to_block(event: Mapping[str, Any]) -> BusyBlock:
    """Map one Graph event (as ``calendarView`` returns it) to a :class:`BusyBlock`.

    ``showAs`` maps free/tentative/busy/oof/workingElsewhere/unknown (anything else is unknown,
    which blocks time); ``isCancelled`` marks it cancelled; ``responseStatus.response ==
    "declined"`` marks it declined; ``isAllDay`` gives an :class:`AllDaySpan` of the event's local
    dates (Graph keeps all-day events on whole dates whatever zone it reports them in). Times are
    read with their ``timeZone`` (``UTC`` when asked with ``Prefer: outlook.timezone="UTC"``).
    Raises ``ValueError`` for an event without readable times.
    """
    start_value, end_value = event.get("start"), event.get("end")
    if not isinstance(start_value, Mapping) or not isinstance(end_value, Mapping):
        raise ValueError("an event has no start or end")
    start, _ = _parse_graph_datetime(start_value)
    end, _ = _parse_graph_datetime(end_value)
    span: TimedSpan | AllDaySpan
    if event.get("isAllDay"):
        first: date = start.date()
        last: date = end.date()
        span = AllDaySpan(first, last if last > first else first + timedelta(days=1))
    else:
        span = TimedSpan(start.astimezone(UTC), max(start, end).astimezone(UTC))
    show_as = _SHOW_AS.get(str(event.get("showAs") or "unknown").lower(), ShowAs.UNKNOWN)
    response = event.get("responseStatus")
    declined = isinstance(response, Mapping) and str(response.get("response") or "").lower() == "declined"
    return BusyBlock(span=span, show_as=show_as, cancelled=bool(event.get("isCancelled")), declined=declined)


def _utc_text(moment: datetime, *, round_up: bool) -> str:
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0)
        if round_up:
            moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------------------
# The provider


class MicrosoftCalendarProvider:
    """The calendar Protocol over Microsoft Graph for one Microsoft 365 connection.

    Tokens come from the connection's MSAL cache (``acquire_token_silent``); a refreshed cache is
    persisted through ``ctx.save_credentials``. A refresh that fails with ``invalid_grant`` or
    ``interaction_required`` raises :class:`ReauthRequired`. At most ``max_concurrency`` Graph
    requests are in flight per provider (pass ``limit`` to share the bound between instances for
    the same mailbox, as :func:`microsoft_factory` does).

    :meth:`busy` raises :class:`ReauthRequired` (the whole connection needs reconnecting); every
    other failure is reported per calendar in :attr:`CalendarBusy.error` (403/404 as
    :class:`AccessLost` for that calendar only), so one bad calendar never hides the others.
    """

    def __init__(
        self,
        settings: MicrosoftSettings,
        ctx: ConnectionContext,
        session: aiohttp.ClientSession | Callable[[], aiohttp.ClientSession],
        *,
        max_concurrency: int = 4,
        limit: asyncio.Semaphore | None = None,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        default_retry_after: float = 1.0,
        request_timeout: float = 20.0,
        page_size: int = 100,
        max_pages: int = 50,
        validate_authority: bool | None = None,
        discovery: DiscoveryCache | None = None,
    ) -> None:
        self._settings = settings
        self._discovery = discovery
        self._ctx = ctx
        self._credentials = ctx.credentials
        self._validate_authority = validate_authority
        self._request_timeout = request_timeout
        self._page_size = page_size
        self._max_pages = max_pages
        self._token_lock = asyncio.Lock()
        self._reauth: ReauthRequired | None = None
        self._token_value = ""
        self._token_deadline = 0.0
        self._app: msal.ConfidentialClientApplication | None = None
        self._cache: msal.SerializableTokenCache | None = None
        session_provider: Callable[[], aiohttp.ClientSession]
        if isinstance(session, aiohttp.ClientSession):
            fixed = session
            session_provider = lambda: fixed  # noqa: E731
        else:
            session_provider = session
        self._graph = _Graph(
            settings,
            session_provider,
            self._access_token,
            limit if limit is not None else asyncio.Semaphore(max_concurrency),
            timeout=request_timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            default_retry_after=default_retry_after,
        )

    # -- tokens ---------------------------------------------------------------------------------

    async def _access_token(self, force_refresh: bool) -> str:
        async with self._token_lock:
            if self._reauth is not None:  # one failed refresh is enough for this provider
                raise self._reauth
            if force_refresh:
                self._token_value = ""
            elif self._token_value and time.monotonic() < self._token_deadline:
                return self._token_value
            try:
                token, lifetime, new_credentials = await asyncio.to_thread(self._acquire_token, force_refresh)
            except ReauthRequired as exc:
                self._reauth = exc
                raise
            if new_credentials is not None:
                self._credentials = new_credentials
                try:
                    await self._ctx.save_credentials(new_credentials)
                except Exception:  # the token is still good for this run; persist next time
                    log.exception(
                        "could not persist refreshed microsoft credentials (connection %s)",
                        self._ctx.connection_id,
                    )
            self._token_value = token
            # msal treats tokens within 5 minutes of expiry as expired: so do we.
            self._token_deadline = time.monotonic() + max(0.0, lifetime - 300.0)
            return token

    def _acquire_token(self, force_refresh: bool) -> tuple[str, float, str | None]:
        """Runs in a thread: silent token from the cache, refreshing it when needed."""
        stored = load_credentials(self._credentials)
        try:
            if self._app is None or self._cache is None:
                cache = msal.SerializableTokenCache()
                cache.deserialize(stored.msal_cache)
                self._app = _build_app(
                    self._settings,
                    cache=cache,
                    validate_authority=self._validate_authority,
                    timeout=self._request_timeout,
                    discovery=self._discovery,
                )
                self._cache = cache
            app, cache = self._app, self._cache
            accounts = [a for a in app.get_accounts() if a.get("home_account_id") == stored.home_account_id]
            if not accounts:
                raise ReauthRequired("the Microsoft sign-in is missing; reconnect the calendar")
            result = app.acquire_token_silent_with_error(
                graph_scopes(self._settings), accounts[0], force_refresh=force_refresh
            )
        except CalendarError:
            raise
        except (requests.RequestException, ValueError, MsalError) as exc:
            log.info("microsoft identity platform unreachable: %s", type(exc).__name__)
            raise ProviderUnavailable("the Microsoft sign-in service could not be reached") from None
        if result is None:
            raise ReauthRequired("the Microsoft sign-in has no usable token; reconnect the calendar")
        if "error" in result:
            error = str(result.get("error"))
            log.info("microsoft token refresh failed for connection %s: %s", self._ctx.connection_id, error)
            if error in _REAUTH_ERRORS:
                raise ReauthRequired("the Microsoft sign-in expired or was revoked; reconnect the calendar")
            raise ProviderUnavailable(f"the Microsoft sign-in service refused a token ({error})")
        new_credentials = None
        if cache.has_state_changed:
            cache.has_state_changed = False
            new_credentials = dump_credentials(stored.home_account_id, cache.serialize())
        lifetime = float(result.get("expires_in") or 0)
        return str(result["access_token"]), lifetime, new_credentials

    # -- the Protocol ---------------------------------------------------------------------------

    async def list_calendars(self) -> list[CalendarInfo]:
        """Every calendar in the account's calendar list (owned and shared), following paging."""
        url: str | None = self._graph.url("/me/calendars", {"$select": _CALENDAR_FIELDS, "$top": "100"})
        found: list[CalendarInfo] = []
        own = self._ctx.account_email.strip().lower()
        pages = 0
        while url:
            data = await self._graph.get_json(url)
            for item in data.get("value") or []:
                if not isinstance(item, dict) or not item.get("id"):
                    continue
                owner = item.get("owner") if isinstance(item.get("owner"), dict) else {}
                owner_address = str((owner or {}).get("address") or "").strip().lower()
                is_default = bool(item.get("isDefaultCalendar"))
                if is_default or (own and owner_address == own):
                    role = AccessRole.OWNER
                elif item.get("canEdit"):
                    role = AccessRole.WRITER
                else:
                    role = AccessRole.READER
                found.append(
                    CalendarInfo(
                        external_id=str(item["id"]),
                        name=str(item.get("name") or ""),
                        access_role=role,
                        is_primary=is_default,
                    )
                )
            url = self._next_link(data)
            pages += 1
            if url and pages >= self._max_pages:
                raise ProviderUnavailable("Microsoft Graph returned too many pages of calendars")
        return found

    async def busy(
        self, *, start: datetime, end: datetime, calendar_ids: Sequence[str]
    ) -> Mapping[str, CalendarBusy]:
        """Busy blocks per calendar from ``calendarView``, the calendars read concurrently."""
        require_aware(start, "start")
        require_aware(end, "end")
        if end < start:
            raise ValueError("end must not be before start")
        ids = list(dict.fromkeys(calendar_ids))
        if end == start:
            return {calendar_id: CalendarBusy() for calendar_id in ids}
        outcomes = await asyncio.gather(
            *(self._calendar_busy(calendar_id, start, end) for calendar_id in ids), return_exceptions=True
        )
        result: dict[str, CalendarBusy] = {}
        for calendar_id, outcome in zip(ids, outcomes, strict=True):
            if isinstance(outcome, ReauthRequired):
                raise outcome
            if isinstance(outcome, CalendarError):
                result[calendar_id] = CalendarBusy(error=outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                result[calendar_id] = CalendarBusy(blocks=outcome)
        return result

    async def _calendar_busy(self, calendar_id: str, start: datetime, end: datetime) -> tuple[BusyBlock, ...]:
        url: str | None = self._graph.url(
            f"/me/calendars/{quote(calendar_id, safe='')}/calendarView",
            {
                "startDateTime": _utc_text(start, round_up=False),
                "endDateTime": _utc_text(end, round_up=True),
                "$select": _CALENDAR_VIEW_FIELDS,
                "$top": str(self._page_size),
            },
        )
        blocks: list[BusyBlock] = []
        pages = 0
        while url:
            data = await self._graph.get_json(url, headers={"Prefer": 'outlook.timezone="UTC"'})
            for item in data.get("value") or []:
                if not isinstance(item, dict):
                    continue
                try:
                    blocks.append(graph_event_to_block(item))
                except (ValueError, TypeError):
                    raise ProviderUnavailable(
                        "Microsoft Graph returned an event that cannot be read"
                    ) from None
            url = self._next_link(data)
            pages += 1
            if url and pages >= self._max_pages:
                raise ProviderUnavailable("Microsoft Graph returned too many pages of events")
        return tuple(blocks)

    def _next_link(self, data: Mapping[str, Any]) -> str | None:
        link = data.get("@odata.nextLink")
        if not link:
            return None
        if not isinstance(link, str) or not self._graph.same_origin(link):
            raise ProviderUnavailable("Microsoft Graph returned a next page outside the Graph endpoint")
        return link

    async def create_event(self, event: NewEvent, *, calendar_id: str) -> CreatedEvent:
        """Create ``event`` in ``calendar_id`` with its attendees required; Graph sends invitations.

        Times are written in UTC (every zone Slotbot knows is not one Graph accepts on create);
        the booking's uid goes in ``transactionId`` so a retried create does not duplicate it.
        """
        body: dict[str, Any] = {
            "subject": event.title,
            "body": {"contentType": "text", "content": event.description},
            "start": {
                "dateTime": event.start.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "timeZone": "UTC",
            },
            "end": {
                "dateTime": event.end.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "timeZone": "UTC",
            },
            "attendees": [
                {
                    "emailAddress": {"address": person.email, "name": person.name or person.email},
                    "type": "required",
                }
                for person in event.attendees
            ],
            "showAs": "busy",
            "transactionId": event.uid,
        }
        if event.location:
            body["location"] = {"displayName": event.location}
        url = self._graph.url(f"/me/calendars/{quote(calendar_id, safe='')}/events")
        _, answer = await self._graph.request("POST", url, json_body=body)
        if not isinstance(answer, dict) or not answer.get("id"):
            raise ProviderUnavailable("Microsoft Graph did not return the created event")
        return CreatedEvent(
            external_id=str(answer["id"]), calendar_id=calendar_id, web_link=str(answer.get("webLink") or "")
        )

    async def delete_event(self, uid: str, *, calendar_id: str) -> None:
        """Delete the event with Graph id ``uid``; one already gone is fine.

        Deleting a meeting the host organizes makes Graph send the attendees a cancellation.
        """
        await self._graph.request(
            "DELETE", self._graph.url(f"/me/events/{quote(uid, safe='')}"), missing_ok=True
        )


def microsoft_factory(
    settings: MicrosoftSettings,
    session_provider: Callable[[], aiohttp.ClientSession],
    *,
    max_concurrency: int = 4,
    validate_authority: bool | None = None,
    **provider_options: Any,
) -> ProviderFactory:
    """A registry factory for ``microsoft`` connections.

    ``session_provider`` returns the application's shared ``aiohttp.ClientSession`` (called per
    request, so the session may be created after the factory). Providers for the same connection
    share one concurrency bound, so a mailbox never sees more than ``max_concurrency`` requests
    from this factory at once, and all of them one :class:`DiscoveryCache` (``discovery``, or a new
    one), so the authority's metadata is fetched once an hour rather than once per question.
    ``provider_options`` go to :class:`MicrosoftCalendarProvider`.
    """
    limits: dict[int, asyncio.Semaphore] = {}
    discovery: DiscoveryCache = provider_options.pop("discovery", None) or DiscoveryCache()

    def create(ctx: ConnectionContext) -> MicrosoftCalendarProvider:
        limit = limits.get(ctx.connection_id)
        if limit is None:
            limit = limits[ctx.connection_id] = asyncio.Semaphore(max_concurrency)
        return MicrosoftCalendarProvider(
            settings,
            ctx,
            session_provider,
            limit=limit,
            validate_authority=validate_authority,
            discovery=discovery,
            **provider_options,
        )

    return create


__all__ = [
    "DISCLOSURE",
    "GRAPH_PERMISSIONS",
    "DiscoveryCache",
    "MicrosoftCalendarProvider",
    "MicrosoftGrant",
    "MicrosoftOAuthError",
    "StoredCredentials",
    "complete_flow",
    "dump_credentials",
    "forget",
    "graph_event_to_block",
    "graph_scopes",
    "load_credentials",
    "microsoft_factory",
    "start_flow",
]
