"""A fake Google: OAuth 2.0 (authorize, token, revoke) and Calendar API v3, on 127.0.0.1 port 0.

It speaks Google's wire protocol closely enough that the real client libraries
(google-auth-oauthlib, google-auth, google-api-python-client) talk to it unchanged:

* ``GET /o/oauth2/v2/auth`` auto-approves (a "consent" knob can untick scopes or deny) and
  redirects to the exact ``redirect_uri`` with ``code``, ``state`` and ``scope``;
* ``POST /token`` serves the ``authorization_code`` grant (PKCE S256 checked, single-use codes,
  exact redirect URI) and the ``refresh_token`` grant, with Google's error bodies
  (``invalid_grant``, ``invalid_client``, ``redirect_uri_mismatch``); client authentication by
  HTTP Basic or in the body, as Google accepts both;
* ``POST /revoke`` revokes a refresh token or access token (and the whole grant with it);
* ``/calendar/v3/``: ``users/me/calendarList`` (paging), ``users/me/calendarList/{id}``,
  ``freeBusy`` (the 50-calendar and 90-day limits, per-calendar ``notFound``),
  ``calendars/{id}/events`` GET/POST and ``calendars/{id}/events/{eventId}`` GET/DELETE. Every call
  checks the Bearer token and that its scopes allow the method (the accepted scopes are those the
  Calendar v3 discovery document lists), answering 401/403 with Google's bodies.

Fault knobs (see :class:`FakeGoogle`): :meth:`FakeGoogle.fail_next` (429 with ``Retry-After``,
403 ``rateLimitExceeded``, 5xx... for the next N API calls), :meth:`FakeGoogle.lose_access`
(a calendar answering 403/404), :attr:`FakeGoogle.latency`, :meth:`FakeGoogle.expire_access_tokens`,
:meth:`FakeGoogle.revoke_all`. Every request is recorded in :attr:`FakeGoogle.calls`;
:attr:`FakeGoogle.max_in_flight` tells how many API requests were served at once.

It is a threaded ``http.server``, so it serves sync and async tests alike (the provider calls it
from worker threads). Use the ``google_fake`` fixture, or ``with FakeGoogle() as fake:``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest

from bot.settings import GoogleSettings

_S = "https://www.googleapis.com/auth/"
CALENDAR = _S + "calendar"
CALENDAR_READONLY = _S + "calendar.readonly"

# Scopes Google accepts per method (from the Calendar v3 discovery document).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "calendarList.list": frozenset(
        {CALENDAR, _S + "calendar.calendarlist", _S + "calendar.calendarlist.readonly", CALENDAR_READONLY}
    ),
    "calendarList.get": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.calendarlist",
            _S + "calendar.calendarlist.readonly",
            CALENDAR_READONLY,
        }
    ),
    "freebusy.query": frozenset(
        {CALENDAR, _S + "calendar.events.freebusy", _S + "calendar.freebusy", CALENDAR_READONLY}
    ),
    "events.list": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.events",
            _S + "calendar.events.freebusy",
            _S + "calendar.events.owned",
            _S + "calendar.events.owned.readonly",
            _S + "calendar.events.public.readonly",
            _S + "calendar.events.readonly",
            CALENDAR_READONLY,
        }
    ),
    "events.get": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.events",
            _S + "calendar.events.owned",
            _S + "calendar.events.owned.readonly",
            _S + "calendar.events.readonly",
            CALENDAR_READONLY,
        }
    ),
    "events.insert": frozenset(
        {CALENDAR, _S + "calendar.app.created", _S + "calendar.events", _S + "calendar.events.owned"}
    ),
    "events.delete": frozenset(
        {CALENDAR, _S + "calendar.app.created", _S + "calendar.events", _S + "calendar.events.owned"}
    ),
}

FREEBUSY_MAX_CALENDARS = 50
FREEBUSY_MAX_SPAN = timedelta(days=90)
_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")
_BEARER_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
_UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        "errors": [
            {
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }
        ],
        "status": "UNAUTHENTICATED",
    }
}


def google_error(
    code: int, reason: str, message: str, domain: str = "global", **extra: Any
) -> dict[str, Any]:
    """Google's JSON error body for the Calendar API."""
    error: dict[str, Any] = {
        "errors": [{"domain": domain, "reason": reason, "message": message}],
        "code": code,
        "message": message,
    }
    error.update(extra)
    return {"error": error}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0


@dataclass
class Fault:
    """A canned error answer for one API call."""

    status: int
    reason: str
    message: str
    domain: str
    retry_after: str | None = None


@dataclass
class FakeCalendar:
    """One calendar of the fake account."""

    id: str
    summary: str
    access_role: str = "owner"
    primary: bool = False
    time_zone: str = "UTC"
    summary_override: str | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    lost: int | None = None  # 403 or 404 once access is lost


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str | None
    offline: bool
    expires_at: float
    used: bool = False


@dataclass
class _Grant:
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class _Access:
    refresh_token: str | None
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


class FakeGoogle:
    """The fake server and its state. Start it with ``with FakeGoogle() as fake``.

    Knobs a test may set directly: ``latency`` (seconds before each API answer),
    ``access_token_ttl``, ``rotate_refresh_tokens`` (the refresh grant also returns a new refresh
    token, as Google does for some clients), ``consent_scopes`` (the scopes the user leaves ticked
    on the consent screen; ``None`` = all), ``previously_granted`` (scopes an earlier grant of the
    same client holds: returned too when ``include_granted_scopes=true``), ``deny_consent``,
    ``redirect_uris`` (registered redirect URIs; ``None`` = any), ``omit_refresh_token`` (the code
    exchange returns no refresh token).
    """

    def __init__(
        self,
        *,
        client_id: str = "slotbot-test.apps.googleusercontent.com",
        client_secret: str = "fake-client-secret",
        account_email: str = "host@example.com",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account_email = account_email
        self.latency = 0.0
        self.access_token_ttl = 3599
        self.rotate_refresh_tokens = False
        self.consent_scopes: set[str] | None = None
        self.previously_granted: set[str] = set()
        self.deny_consent = False
        self.omit_refresh_token = False  # as Google does when an earlier consent still stands
        self.redirect_uris: set[str] | None = None
        self.calls: list[Call] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most Calendar API requests served at the same time
        self.calendars: dict[str, FakeCalendar] = {}
        self.send_updates: dict[str, str | None] = {}  # event id -> sendUpdates seen on insert
        self.authorize_requests: list[dict[str, str]] = []
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self._faults: list[tuple[Fault, frozenset[str] | None]] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_calendar(account_email, account_email, primary=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        """Serve on 127.0.0.1, a free port, from a daemon thread."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-google", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings(self) -> GoogleSettings:
        """GoogleSettings pointing every endpoint at this fake."""
        base = self.base_url
        return GoogleSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            auth_uri=base + "/o/oauth2/v2/auth",
            token_uri=base + "/token",
            revoke_uri=base + "/revoke",
            api_base=base + "/calendar/v3/",
        )

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
                calendar_id,
                summary or calendar_id,
                access_role,
                primary,
                time_zone,
                summary_override,
            )
            self.calendars[calendar_id] = cal
            return cal

    def add_event(self, calendar_id: str, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Store an event resource as if the host had created it in Google Calendar."""
        with self._lock:
            event = {"kind": "calendar#event", "status": "confirmed", **resource}
            event.setdefault("id", f"ev{next(self._ids):05d}")
            self.calendars[calendar_id].events[event["id"]] = event
            return event

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

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        reason: str = "rateLimitExceeded",
        message: str = "Rate Limit Exceeded",
        domain: str = "usageLimits",
        retry_after: float | str | None = None,
        paths: set[str] | None = None,
    ) -> None:
        """Answer the next ``count`` Calendar API calls (after the token check) with this error.

        ``paths`` limits the fault to calls whose path (after ``/calendar/v3/``) starts with one of
        them, e.g. ``{"freeBusy"}``.
        """
        fault = Fault(status, reason, message, domain, None if retry_after is None else str(retry_after))
        with self._lock:
            self._faults.extend([(fault, None if paths is None else frozenset(paths))] * count)

    def lose_access(self, calendar_id: str, status: int = 404) -> None:
        """The account loses access to a calendar: REST calls answer ``status`` (403 or 404),
        freeBusy reports ``notFound`` for it, and it leaves the calendar list."""
        assert status in (403, 404)
        with self._lock:
            self.calendars[calendar_id].lost = status

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (the next call gets 401)."""
        with self._lock:
            for access in self._access.values():
                access.expires_at = 0.0

    def revoke_all(self) -> None:
        """The user removed the app's access in their Google account."""
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True
            for access in self._access.values():
                access.revoked = True

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
            grant = self._grants.get(refresh_token)
            return grant is None or grant.revoked

    def api_calls(self, name: str | None = None) -> list[Call]:
        """Recorded Calendar API calls; ``name`` filters by the discovery method id:
        ``freebusy.query``, ``calendarList.list``, ``calendarList.get``, ``events.list``,
        ``events.get``, ``events.insert``, ``events.delete``."""
        out = []
        for call in list(self.calls):
            if not call.path.startswith("/calendar/v3/"):
                continue
            if name is None or _method_name(call.method, call.path[len("/calendar/v3/") :]) == name:
                out.append(call)
        return out

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
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        refresh = "1//fake-" + secrets.token_urlsafe(24) if offline else None
        if refresh is not None:
            self._grants[refresh] = _Grant(scopes)
        self._access[token] = _Access(refresh, scopes, time.time() + ttl)
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
                code = "4/fake-" + secrets.token_urlsafe(24)
                self._codes[code] = _Code(
                    client_id=self.client_id,
                    redirect_uri=redirect_uri,
                    scopes=tuple(granted),
                    challenge=query.get("code_challenge"),
                    challenge_method=method or ("plain" if query.get("code_challenge") else None),
                    offline=query.get("access_type") == "offline",
                    expires_at=time.time() + 600,
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
                grant = self._grants.get(form.get("refresh_token", ""))
                if grant is None or grant.revoked:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                body = self._issue(grant.scopes, offline=False)
                token = body["access_token"]
                self._access[token].refresh_token = form["refresh_token"]
                if self.rotate_refresh_tokens:
                    grant.revoked = True
                    new = "1//fake-" + secrets.token_urlsafe(24)
                    self._grants[new] = _Grant(grant.scopes)
                    self._access[token].refresh_token = new
                    body["refresh_token"] = new
                return 200, body
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: " + str(grant_type),
            }

    def _token_from_code(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or code.expires_at < time.time():
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        if form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "redirect_uri_mismatch", "error_description": "Bad Request"}
        if code.challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                return 400, {"error": "invalid_grant", "error_description": "Missing code verifier."}
            if code.challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode("ascii")).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            else:
                computed = verifier
            if computed != code.challenge:
                return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        code.used = True
        return 200, self._issue(code.scopes, offline=code.offline and not self.omit_refresh_token)

    def revoke(self, token: str) -> tuple[int, dict[str, Any]]:
        """The revocation endpoint: revoking either token revokes the whole grant."""
        with self._lock:
            refresh: str | None = None
            if token in self._grants and not self._grants[token].revoked:
                refresh = token
            elif token in self._access and not self._access[token].revoked:
                refresh = self._access[token].refresh_token
                self._access[token].revoked = True
            else:
                return 400, {"error": "invalid_token", "error_description": "Token expired or revoked"}
            if refresh is not None:
                self._grants[refresh].revoked = True
                for access in self._access.values():
                    if access.refresh_token == refresh:
                        access.revoked = True
            return 200, {}

    # -- Calendar API ------------------------------------------------------------------------

    def api(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        """Dispatch one Calendar API call (``path`` is after ``/calendar/v3/``)."""
        name = _method_name(method, path)
        with self._lock:
            auth = headers.get("authorization", "")
            access = self._access.get(auth[7:]) if auth.startswith("Bearer ") else None
            if access is None or access.revoked or access.expires_at < time.time():
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
            for i, (fault, paths) in enumerate(self._faults):
                if paths is None or any(path.startswith(p) for p in paths):
                    del self._faults[i]
                    extra = {} if fault.retry_after is None else {"Retry-After": fault.retry_after}
                    return (
                        fault.status,
                        extra,
                        google_error(fault.status, fault.reason, fault.message, fault.domain),
                    )
            return self._dispatch(name, method, path, query, body)

    def _calendar(self, calendar_id: str) -> FakeCalendar | tuple[int, dict[str, str], Any]:
        if calendar_id == "primary":
            calendar_id = self.account_email
        cal = self.calendars.get(calendar_id)
        if cal is None or cal.lost == 404:
            return 404, {}, google_error(404, "notFound", "Not Found")
        if cal.lost == 403:
            return 403, {}, google_error(403, "forbidden", "Forbidden")
        return cal

    def _dispatch(
        self, name: str, method: str, path: str, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        parts = [unquote(p) for p in path.split("/")]
        if name == "calendarList.list":
            return self._calendar_list(query)
        if name == "freebusy.query":
            return self._freebusy(body)
        found = self._calendar(parts[1] if parts[0] == "calendars" else parts[3])
        if not isinstance(found, FakeCalendar):
            return found
        cal = found
        if name == "calendarList.get":
            return 200, {}, _list_entry(cal)
        if name == "events.list":
            return self._events_list(cal, query)
        if name == "events.insert":
            return self._insert(cal, query, body)
        event = cal.events.get(parts[3])
        if event is None:
            return 404, {}, google_error(404, "notFound", "Not Found")
        if name == "events.get":
            return 200, {}, event
        # events.delete
        if cal.access_role not in ("owner", "writer"):
            return 403, {}, google_error(403, "forbidden", "Forbidden")
        if event.get("status") == "cancelled":
            return 410, {}, google_error(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        return 204, {}, None

    def _calendar_list(self, query: Mapping[str, str]) -> tuple[int, dict[str, str], Any]:
        entries = [c for c in self.calendars.values() if c.lost is None]
        max_results = min(int(query.get("maxResults", "100")), 250)
        offset = 0
        if "pageToken" in query:
            try:
                offset = int(
                    base64.urlsafe_b64decode(query["pageToken"].encode()).decode().removeprefix("o:")
                )
            except ValueError:
                return 400, {}, google_error(400, "invalid", "Invalid page token value.")
        page = entries[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#calendarList",
            "etag": '"fake"',
            "items": [_list_entry(c) for c in page],
        }
        if offset + max_results < len(entries):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o:{offset + max_results}".encode()).decode()
        else:
            body["nextSyncToken"] = "fake-sync"
        return 200, {}, body

    def _freebusy(self, body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict) or "timeMin" not in body or "timeMax" not in body:
            missing = "timeMin" if not isinstance(body, dict) or "timeMin" not in body else "timeMax"
            return 400, {}, google_error(400, "required", f"Missing {missing}.")
        try:
            t0 = _parse_instant(body["timeMin"])
            t1 = _parse_instant(body["timeMax"])
        except ValueError:
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        if t1 <= t0:
            return (
                400,
                {},
                google_error(400, "timeRangeEmpty", "The specified time range is empty.", "calendar"),
            )
        if t1 - t0 > FREEBUSY_MAX_SPAN:
            return (
                400,
                {},
                google_error(400, "timeRangeTooLong", "The requested time range is too long.", "calendar"),
            )
        items = body.get("items") or []
        calendars: dict[str, Any] = {}
        too_many = len(items) > FREEBUSY_MAX_CALENDARS
        for item in items:
            cid = item["id"]
            # Beyond the limit Google answers 200 but reads nothing: every calendar carries an error.
            if too_many:
                calendars[cid] = {
                    "errors": [{"domain": "usageLimits", "reason": "tooManyCalendarsRequested"}],
                    "busy": [],
                }
                continue
            cal = self.calendars.get(self.account_email if cid == "primary" else cid)
            if cal is None or cal.lost is not None:
                calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            calendars[cid] = {"busy": [{"start": _z(s), "end": _z(e)} for s, e in _busy(cal, t0, t1)]}
        return (
            200,
            {},
            {
                "kind": "calendar#freeBusy",
                "timeMin": _z(t0),
                "timeMax": _z(t1),
                "calendars": calendars,
            },
        )

    def _events_list(self, cal: FakeCalendar, query: Mapping[str, str]) -> tuple[int, dict[str, str], Any]:
        t0 = _parse_instant(query["timeMin"]) if "timeMin" in query else None
        t1 = _parse_instant(query["timeMax"]) if "timeMax" in query else None
        items = []
        for event in cal.events.values():
            if event.get("status") == "cancelled" and query.get("showDeleted") != "true":
                continue
            start, end = _event_instants(event)
            if (t1 is not None and start >= t1) or (t0 is not None and end <= t0):
                continue
            items.append(event)
        return (
            200,
            {},
            {"kind": "calendar#events", "summary": cal.summary, "timeZone": cal.time_zone, "items": items},
        )

    def _insert(
        self, cal: FakeCalendar, query: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if cal.access_role not in ("owner", "writer"):
            return (
                403,
                {},
                google_error(403, "requiredAccessLevel", "You need to have writer access to this calendar."),
            )
        if not isinstance(body, dict):
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        for key, message in (("start", "Missing start time."), ("end", "Missing end time.")):
            if not isinstance(body.get(key), dict) or not ({"date", "dateTime"} & set(body[key])):
                return 400, {}, google_error(400, "required", message)
        try:
            start, end = _event_instants(body)
        except ValueError:
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        if end <= start:
            return (
                400,
                {},
                google_error(400, "timeRangeEmpty", "The specified time range is empty.", "calendar"),
            )
        event_id = body.get("id")
        if event_id is not None:
            if not (5 <= len(event_id) <= 1024 and set(event_id) <= _BASE32HEX):
                return 400, {}, google_error(400, "invalid", "Invalid resource id value.")
            if event_id in cal.events:
                return 409, {}, google_error(409, "duplicate", "The requested identifier already exists.")
        else:
            event_id = f"fake{next(self._ids):06d}"
        now = _z(datetime.now(UTC))
        event = {
            **body,
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://calendar.google.com/calendar/event?eid={event_id}",
            "created": now,
            "updated": now,
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "creator": {"email": self.account_email, "self": True},
            "organizer": {"email": cal.id, "self": True},
            "attendees": [
                {**a, "responseStatus": a.get("responseStatus", "needsAction")}
                for a in body.get("attendees", [])
            ],
        }
        cal.events[event_id] = event
        self.send_updates[event_id] = query.get("sendUpdates")
        return 200, {}, event


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: more concurrent clients than that would see
    # their connection attempts dropped and retried a second later, which Google never does.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGoogle
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        if body is None:
            data = b""
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        self.send_response(status)
        if data:
            ctype = "text/html; charset=UTF-8" if isinstance(body, str) else "application/json; charset=UTF-8"
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)

    def _handle(self) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.rfile.read(int(headers.get("content-length", "0") or 0))
        body: Any = None
        if raw:
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                body = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
        call = Call(self.command, path, query, body, headers)
        with fake._lock:
            fake.calls.append(call)
        status: int
        extra: dict[str, str] = {}
        answer: Any
        if path == "/o/oauth2/v2/auth" and self.command == "GET":
            status, extra, answer = fake.authorize(query)
        elif path == "/token" and self.command == "POST":
            status, answer = fake.token(headers, body if isinstance(body, dict) else {})
            extra = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
        elif path == "/revoke" and self.command in ("POST", "GET"):
            form = body if isinstance(body, dict) else {}
            status, answer = fake.revoke(form.get("token") or query.get("token", ""))
        elif path.startswith("/calendar/v3/"):
            with fake._lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                if fake.latency:
                    time.sleep(fake.latency)
                status, extra, answer = fake.api(
                    self.command, path[len("/calendar/v3/") :], query, headers, body
                )
            finally:
                with fake._lock:
                    fake.in_flight -= 1
        else:
            status, answer = 404, google_error(404, "notFound", "Not Found")
        call.status = status
        self._answer(status, extra, answer)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


def _method_name(method: str, path: str) -> str | None:
    parts = path.split("/")
    if path == "freeBusy" and method == "POST":
        return "freebusy.query"
    if parts[:2] == ["users", "me"] and len(parts) >= 3 and parts[2] == "calendarList":
        if len(parts) == 3 and method == "GET":
            return "calendarList.list"
        if len(parts) == 4 and method == "GET":
            return "calendarList.get"
        return None
    if parts[0] == "calendars" and len(parts) >= 3 and parts[2] == "events":
        if len(parts) == 3:
            return {"GET": "events.list", "POST": "events.insert"}.get(method)
        if len(parts) == 4:
            return {"GET": "events.get", "DELETE": "events.delete"}.get(method)
    return None


def _list_entry(cal: FakeCalendar) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": '"fake"',
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "accessRole": cal.access_role,
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "defaultReminders": [],
    }
    if cal.summary_override:
        entry["summaryOverride"] = cal.summary_override
    if cal.primary:
        entry["primary"] = True
    return entry


def _parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("RFC 3339 needs an offset")
    return value.astimezone(UTC)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_instants(event: Mapping[str, Any]) -> tuple[datetime, datetime]:
    def one(part: Mapping[str, Any]) -> datetime:
        if "dateTime" in part:
            return _parse_instant(part["dateTime"])
        return datetime.combine(date.fromisoformat(part["date"]), datetime.min.time(), UTC)

    return one(event["start"]), one(event["end"])


def _busy(cal: FakeCalendar, t0: datetime, t1: datetime) -> list[tuple[datetime, datetime]]:
    """Busy intervals as Google computes them: opaque, not cancelled, not declined; merged, clipped."""
    spans = []
    for event in cal.events.values():
        if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
            continue
        if any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees", [])):
            continue
        start, end = _event_instants(event)
        start, end = max(start, t0), min(end, t1)
        if start < end:
            spans.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def quote_id(calendar_id: str) -> str:
    """A calendar id as it appears in a request path."""
    return quote(calendar_id, safe="")


# -- pytest fixtures (use with ``pytest_plugins = ["tests.fakes.google"]``) --------------------


@pytest.fixture
def google_fake() -> Iterator[FakeGoogle]:
    """A started fake Google, fresh for each test."""
    with FakeGoogle() as fake:
        yield fake


@pytest.fixture
def google_settings(google_fake: FakeGoogle) -> GoogleSettings:
    """GoogleSettings pointing at ``google_fake``."""
    return google_fake.settings()


@pytest.fixture
def google_insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let oauthlib talk to the plain-http fake (tests only: production keeps https enforced)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
