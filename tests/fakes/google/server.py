"""The fake Google server: OAuth 2.0 (authorize, token, revoke) plus the Calendar API, on the base.

See the package docstring for what it serves; the Calendar API half is
:class:`~tests.fakes.google.sync_api.SyncApi` (on :class:`~tests.fakes.google.push.PushApi`,
:class:`~tests.fakes.google.calendars.CalendarWrites` and
:class:`~tests.fakes.google.calendar_api.CalendarApi`), the codes and tokens are a
:class:`~tests.fakes.oauth.TokenAuthority`.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from aiohttp import web

from bot.settings import GoogleSettings
from tests.fakes.base import CALL, FakeServer, Recorded
from tests.fakes.google.calendar_api import FakeCalendar
from tests.fakes.google.sync_api import SyncApi
from tests.fakes.google.wire import (
    _BEARER_CHALLENGE,
    _UNAUTHENTICATED,
    METHOD_SCOPES,
    _concerns,
    _response,
    google_error,
    method_name,
)
from tests.fakes.oauth import Code, TokenAuthority

API = "/calendar/v3/"

Call = Recorded
"""One request the fake received (method, path as sent, query, parsed body, headers, status)."""


class FakeGoogle(FakeServer, SyncApi):
    """The fake server and its state. Start it with ``with FakeGoogle() as fake``.

    Knobs a test may set directly: ``latency`` (seconds before each API answer),
    ``access_token_ttl``, ``rotate_refresh_tokens`` (the refresh grant also returns a new refresh
    token, as Google does for some clients), ``consent_scopes`` (the scopes the user leaves ticked
    on the consent screen; ``None`` = all), ``previously_granted`` (scopes an earlier grant of the
    same client holds: returned too when ``include_granted_scopes=true``), ``deny_consent``,
    ``redirect_uris`` (registered redirect URIs; ``None`` = any), ``omit_refresh_token`` (the code
    exchange returns no refresh token).
    """

    name = "google"

    def __init__(
        self,
        *,
        client_id: str = "slotbot-test.apps.googleusercontent.com",
        client_secret: str = "fake-client-secret",
        account_email: str = "host@example.com",
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_email = account_email
        self.access_token_ttl = 3599
        self.rotate_refresh_tokens = False
        self.consent_scopes: set[str] | None = None
        self.previously_granted: set[str] = set()
        self.deny_consent = False
        self.omit_refresh_token = False  # as Google does when an earlier consent still stands
        self.redirect_uris: set[str] | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # most Calendar API requests served at the same time
        self.calendars: dict[str, FakeCalendar] = {}
        self.send_updates: dict[str, str | None] = {}  # event id -> sendUpdates seen on insert
        self.authorize_requests: list[dict[str, str]] = []
        self.tokens = TokenAuthority(
            code_prefix="4/fake-", access_prefix="ya29.fake-", refresh_prefix="1//fake-"
        )
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._init_sync()
        self.add_calendar(account_email, account_email, primary=True)

    def _next_id(self) -> int:
        return next(self._ids)

    @property
    def calls(self) -> list[Call]:
        """Every request received, in order."""
        return self.requests

    def start(self) -> FakeGoogle:  # type: ignore[override]
        """Serve on 127.0.0.1, a free port, from a loop of its own (blocking clients call it)."""
        return self.start_in_thread()

    def stop(self) -> None:  # type: ignore[override]
        """Stop serving."""
        self.stop_in_thread()

    def routes(self, app: web.Application) -> None:
        """One handler for every path: Google's endpoints are told apart by path."""
        app.router.add_route("*", "/{tail:.*}", self._handle)

    def settings(self) -> GoogleSettings:
        """GoogleSettings pointing every endpoint at this fake."""
        base = self.base_url
        return GoogleSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            auth_uri=base + "/o/oauth2/v2/auth",
            token_uri=base + "/token",
            revoke_uri=base + "/revoke",
            api_base=base + API,
        )

    def env(self) -> dict[str, str]:
        """The environment that points a Slotbot deployment at this fake (``GOOGLE_*``)."""
        google = self.settings()
        return {
            "GOOGLE_CLIENT_ID": google.client_id, "GOOGLE_CLIENT_SECRET": google.client_secret,
            "GOOGLE_AUTH_URI": google.auth_uri, "GOOGLE_TOKEN_URI": google.token_uri,
            "GOOGLE_REVOKE_URI": google.revoke_uri, "GOOGLE_CALENDAR_API_BASE": google.api_base,
        }

    # -- test helpers ------------------------------------------------------------------------

    def add_calendar(
        self,
        calendar_id: str,
        summary: str = "",
        *,
        access_role: str = "owner",
        primary: bool = False,
        time_zone: str = "UTC",
        summary_override: str | None = None,
    ) -> FakeCalendar:
        """Add a calendar to the account's calendar list (list order = insertion order)."""
        with self._lock:
            cal = FakeCalendar(
                calendar_id, summary or calendar_id, access_role, primary, time_zone, summary_override
            )
            self.calendars[calendar_id] = cal
            return cal

    def add_event(self, calendar_id: str, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event resource as if the host had created it in Google Calendar (Google's own
        fields filled in unless given: etag, updated, iCalUID, sequence, creator, organizer...)."""
        with self._lock:
            fields = {k: v for k, v in resource.items() if k != "id"}
            event_id = resource.get("id") or f"ev{next(self._ids):05d}"
            return self._complete(self.calendars[calendar_id], fields, event_id)

    def add_busy(self, calendar_id: str, start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
        """Store a timed event (opaque unless ``transparency`` is given)."""
        return self.add_event(
            calendar_id,
            {
                "summary": "busy",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": end.isoformat()},
                **extra,
            },
        )

    def fail_next(  # type: ignore[override]
        self,
        count: int = 1,
        *,
        status: int | None = 429,
        reason: str = "rateLimitExceeded",
        message: str = "Rate Limit Exceeded",
        domain: str = "usageLimits",
        retry_after: float | str | None = None,
        paths: set[str] | None = None,
        calendar: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` Calendar API calls (after the token check) with this error.

        ``paths`` limits the fault to calls whose path (after ``/calendar/v3/``) starts with one of
        them, e.g. ``{"freeBusy"}``; ``calendar`` to calls about that calendar (a ``freeBusy``
        request asking for it, or its REST path). ``status`` None answers normally after ``delay``.
        """

        def when(call: Recorded) -> bool:
            path = call.path[len(API) :]
            if paths is not None and not any(path.startswith(p) for p in paths):
                return False
            return calendar is None or _concerns(call, path, calendar)

        super().fail_next(
            count,
            status=status,
            retry_after=retry_after,
            delay=delay,
            when=when,
            reason=reason,
            message=message,
            domain=domain,
        )

    def lose_access(self, calendar_id: str, status: int = 404) -> None:
        """The account loses access to a calendar: REST calls answer ``status`` (403 or 404),
        freeBusy reports ``notFound`` for it, and it leaves the calendar list."""
        assert status in (403, 404)
        with self._lock:
            self.calendars[calendar_id].lost = status

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (the next call gets 401)."""
        with self._lock:
            for access in self.tokens.access.values():
                access.expires_at = 0.0

    def revoke_all(self) -> None:
        """The user removed the app's access in their Google account."""
        with self._lock:
            self.tokens.revoke_all()

    def issue_tokens(
        self, scopes: tuple[str, ...] | None = None, expires_in: int | None = None
    ) -> dict[str, Any]:
        """Tokens as if a consent had just happened (for tests that do not need the browser step)."""
        from bot.calendar.google.scopes import SCOPES

        with self._lock:
            return self._issue(scopes or tuple(SCOPES), offline=True, expires_in=expires_in)

    def refresh_token_revoked(self, refresh_token: str) -> bool:
        """Whether the grant of ``refresh_token`` was revoked (unknown tokens count as revoked)."""
        with self._lock:
            return self.tokens.refreshable(refresh_token) is None

    def api_calls(self, name: str | None = None) -> list[Call]:
        """Recorded Calendar API calls; ``name`` filters by the discovery method id:
        ``freebusy.query``, ``calendarList.list``, ``calendarList.get``, ``events.list``,
        ``events.get``, ``events.insert``, ``events.patch``, ``events.update``, ``events.delete``,
        ``events.watch``, ``channels.stop``, ``calendars.insert``, ``calendars.get``,
        ``calendars.delete``."""
        return [
            call
            for call in list(self.calls)
            if call.path.startswith(API)
            and (name is None or method_name(call.method, call.path[len(API) :]) == name)
        ]

    def token_calls(self, grant_type: str | None = None) -> list[Call]:
        """Recorded token endpoint calls, optionally of one grant type."""
        return [
            c
            for c in list(self.calls)
            if c.path == "/token" and (grant_type is None or c.body.get("grant_type") == grant_type)
        ]

    # -- OAuth -------------------------------------------------------------------------------

    def _issue(
        self, scopes: tuple[str, ...], *, offline: bool, expires_in: int | None = None
    ) -> dict[str, Any]:
        ttl = self.access_token_ttl if expires_in is None else expires_in
        token, refresh = self.tokens.issue(scopes, ttl=ttl, offline=offline)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": ttl,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body

    def authorize(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], Any]:
        """The consent screen, auto-approved: a redirect to ``redirect_uri``."""
        with self._lock:
            self.authorize_requests.append(dict(query))
            if query.get("client_id") != self.client_id:
                return 401, {}, "Error 401: invalid_client. The OAuth client was not found."
            redirect_uri = query.get("redirect_uri", "")
            if not redirect_uri or (
                self.redirect_uris is not None and redirect_uri not in self.redirect_uris
            ):
                return 400, {}, "Error 400: redirect_uri_mismatch"
            if query.get("response_type") != "code":
                return 400, {}, "Error 400: unsupported_response_type"
            requested = tuple(query.get("scope", "").split())
            if not requested:
                return 400, {}, "Error 400: invalid_request. Missing required parameter: scope"
            method = query.get("code_challenge_method")
            if query.get("code_challenge") and method not in ("S256", "plain"):
                return 400, {}, "Error 400: invalid_request. Invalid code_challenge_method"
            params: dict[str, str] = {}
            if "state" in query:
                params["state"] = query["state"]
            if self.deny_consent:
                params["error"] = "access_denied"
            else:
                granted = [s for s in requested if self.consent_scopes is None or s in self.consent_scopes]
                if query.get("include_granted_scopes") == "true":
                    granted += sorted(self.previously_granted - set(granted))
                code = self.tokens.new_code(
                    Code(
                        redirect_uri=redirect_uri,
                        scopes=tuple(granted),
                        challenge=query.get("code_challenge"),
                        method=method or ("plain" if query.get("code_challenge") else None),
                        expires_at=time.time() + 600,
                        offline=query.get("access_type") == "offline",
                    )
                )
                params.update(
                    {"code": code, "scope": " ".join(granted), "authuser": "0", "prompt": "consent"}
                )
            sep = "&" if urlsplit(redirect_uri).query else "?"
            return 302, {"Location": redirect_uri + sep + urlencode(params)}, ""

    def consent(self, authorization_url: str) -> str:
        """Open ``authorization_url`` as the user's browser would; return the redirect target."""
        parts = urlsplit(authorization_url)
        status, headers, body = self.authorize({k: v[-1] for k, v in parse_qs(parts.query).items()})
        if status != 302:
            raise AssertionError(f"consent screen answered {status}: {body}")
        return headers["Location"]

    def _client_ok(self, headers: Mapping[str, str], form: Mapping[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return unquote(user) == self.client_id and unquote(password) == self.client_secret
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def token(self, headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint."""
        with self._lock:
            if not self._client_ok(headers, form):
                return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return self._token_from_code(form)
            if grant_type == "refresh_token":
                return self._token_from_refresh(form.get("refresh_token", ""))
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: " + str(grant_type),
            }

    def _token_from_refresh(self, refresh_token: str) -> tuple[int, dict[str, Any]]:
        grant = self.tokens.refreshable(refresh_token)
        if grant is None:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        if not self.rotate_refresh_tokens:
            token, _ = self.tokens.issue(
                grant.scopes, ttl=self.access_token_ttl, offline=False, refreshed_from=refresh_token
            )
            return 200, {
                "access_token": token,
                "expires_in": self.access_token_ttl,
                "scope": " ".join(grant.scopes),
                "token_type": "Bearer",
            }
        grant.revoked = True
        body = self._issue(grant.scopes, offline=True)
        return 200, body

    def _token_from_code(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        code = self.tokens.redeem(
            form.get("code", ""), redirect_uri=form.get("redirect_uri"), verifier=form.get("code_verifier")
        )
        if isinstance(code, str):
            error, description = {
                "invalid_grant": ("invalid_grant", "Bad Request"),
                "redirect_uri_mismatch": ("redirect_uri_mismatch", "Bad Request"),
                "missing_verifier": ("invalid_grant", "Missing code verifier."),
                "bad_verifier": ("invalid_grant", "Invalid code verifier."),
            }[code]
            return 400, {"error": error, "error_description": description}
        return 200, self._issue(code.scopes, offline=code.offline and not self.omit_refresh_token)

    def revoke(self, token: str) -> tuple[int, dict[str, Any]]:
        """The revocation endpoint: revoking either token revokes the whole grant."""
        with self._lock:
            access = self.tokens.access.get(token)
            if self.tokens.refreshable(token) is not None:
                refresh: str | None = token
            elif access is not None and not access.revoked:
                refresh = access.refresh_token
                access.revoked = True
            else:
                return 400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            if refresh is not None:
                self.tokens.revoke_grant(refresh)
            return 200, {}

    # -- Calendar API ------------------------------------------------------------------------

    def refusal(
        self, method: str, path: str, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], Any] | None:
        """Google's answer when a Calendar API call may not proceed (token, method, scopes), or None."""
        name = method_name(method, path)
        with self._lock:
            access = self.tokens.bearer(headers.get("authorization", ""))
            if access is None or not access.valid():
                return 401, {"WWW-Authenticate": _BEARER_CHALLENGE}, _UNAUTHENTICATED
            if name is None:
                return 404, {}, google_error(404, "notFound", "Not Found")
            if not set(access.scopes) & METHOD_SCOPES[name]:
                return (
                    403,
                    {},
                    google_error(
                        403,
                        "insufficientPermissions",
                        "Request had insufficient authentication scopes.",
                        status="PERMISSION_DENIED",
                    ),
                )
            return None

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = request[CALL]
        path, query, headers = call.path, call.query, call.headers
        body = call.body
        extra: dict[str, str] = {}
        answer: Any
        if path == "/o/oauth2/v2/auth" and request.method == "GET":
            status, extra, answer = self.authorize(query)
        elif path == "/token" and request.method == "POST":
            status, answer = self.token(headers, body if isinstance(body, dict) else {})
            extra = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
        elif path == "/revoke" and request.method in ("POST", "GET"):
            form = body if isinstance(body, dict) else {}
            status, answer = self.revoke(form.get("token") or query.get("token", ""))
        elif path.startswith(API):
            status, extra, answer = await self._api_call(call, path[len(API) :])
        else:
            status, answer = 404, google_error(404, "notFound", "Not Found")
        return _response(status, extra, answer)

    async def _api_call(self, call: Recorded, path: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            refused = self.refusal(call.method, path, call.headers)
            fault = self.take_fault(call) if refused is None else None
            await self.pause(fault)
            if refused is not None:
                return refused
            if fault is not None and fault.status is not None:
                detail = fault.detail
                error = google_error(fault.status, detail["reason"], detail["message"], detail["domain"])
                return fault.status, fault.headers, error
            with self._lock:
                name = method_name(call.method, path) or ""
                return self._dispatch(name, call.method, path, call.query, call.body)
        finally:
            with self._lock:
                self.in_flight -= 1
