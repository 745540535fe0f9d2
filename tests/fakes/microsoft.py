"""A fake Microsoft identity platform (v2.0) and Microsoft Graph v1.0 calendar API, over TLS.

One aiohttp server on ``https://127.0.0.1:<port>`` with a self-signed certificate (IP SAN
127.0.0.1) generated at test time serves both halves, so msal's https-only rule is met and the
production code's ``ca_bundle`` trust is exercised for identity and Graph alike:

* identity: ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/authorize``
  (auto-approves: redirects with ``code`` and ``state``; the ID token echoes the ``nonce``),
  ``/{tenant}/oauth2/v2.0/token`` (``authorization_code`` with a PKCE S256 check and single-use
  codes, ``refresh_token``, client secret checked, ``invalid_grant`` for revoked refresh tokens);
* Graph under ``/v1.0``: ``/me``, ``/me/calendars``, ``/me/calendars/{id}/calendarView``
  (``$select``, ``$top``, ``Prefer: outlook.timezone``, ``@odata.nextLink`` paging with a small
  page size), ``POST /me/calendars/{id}/events``, ``DELETE /me/events/{id}``, bearer checks and
  permission checks per endpoint.

Knobs (all plain attributes or methods of :class:`FakeMicrosoft`): ``page_size``, ``latency``
(seconds before each Graph answer), ``identity_latency`` (the same for the OpenID configuration and
token endpoints), ``access_token_lifetime``, ``throttle(n, retry_after=..., status=429)``,
``fail(n, status=500)``, ``fail_token_requests(n, status=503)``,
``FakeCalendar.fault = 403 | 404``, ``revoke_refresh_tokens(email)``, ``revoke_refresh_token(token)``,
``invalidate_access_tokens(email)``, ``deny_consent``, ``withheld_permissions``. Observations:
``calls`` (Graph call log), ``token_requests``, ``max_in_flight`` (per mailbox),
``openid_configuration_requests``, ``invitations``, ``cancellations``, ``refresh_tokens(email)``.

Register the fixtures with ``pytest_plugins = ["tests.fakes.microsoft"]``: ``microsoft_tls``
(session), ``microsoft_fake``, ``microsoft_settings``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import hashlib
import html
import ipaddress
import itertools
import json
import re
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.settings import MicrosoftSettings

UTC = dt.UTC
CLIENT_ID = "7f1c1a2e-0000-4000-8000-51075b070001"
CLIENT_SECRET = "fake-client-secret-value"
TENANT = "common"
DEFAULT_EMAIL = "host@contoso.example"


# ----------------------------------------------------------------------------------------------
# TLS


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this certificate (for a test's own browser-like client)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_tls_files(directory: Path) -> TlsFiles:
    """Generate a self-signed CA-capable certificate with IP SAN 127.0.0.1 into ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Slotbot test Microsoft fake")])
    now = dt.datetime.now(UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "microsoft-fake.pem", directory / "microsoft-fake.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(cert=cert_path, key=key_path)


# ----------------------------------------------------------------------------------------------
# Data


_ids = itertools.count(1)


def _graph_id(prefix: str) -> str:
    # Graph ids are long base64-ish strings; keep '=' and '-' so quoting is exercised.
    return f"AAMk{prefix}-{next(_ids):04d}_{secrets.token_hex(4)}="


@dataclass
class FakeEvent:
    """One event in a fake calendar. Timed events hold aware datetimes, all-day events dates."""

    id: str
    subject: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    show_as: str = "busy"
    is_cancelled: bool = False
    response: str = "organizer"
    attendees: list[dict[str, Any]] = field(default_factory=list)
    body: str = ""
    location: str = ""
    transaction_id: str | None = None
    created_with: dict[str, Any] | None = None

    @property
    def is_all_day(self) -> bool:
        """Whether the event covers whole dates."""
        return not isinstance(self.start, dt.datetime)

    def utc_range(self) -> tuple[dt.datetime, dt.datetime]:
        """The event's instants (all-day events placed in UTC, as the fake's simplification)."""
        if isinstance(self.start, dt.datetime) and isinstance(self.end, dt.datetime):
            return self.start.astimezone(UTC), self.end.astimezone(UTC)
        assert not isinstance(self.start, dt.datetime) and not isinstance(self.end, dt.datetime)
        return (
            dt.datetime.combine(self.start, dt.time(), UTC),
            dt.datetime.combine(self.end, dt.time(), UTC),
        )


@dataclass
class FakeCalendar:
    """A calendar visible in a mailbox's calendar list. ``fault`` makes it answer 403/404."""

    id: str
    name: str
    owner_email: str
    owner_name: str = ""
    can_edit: bool = True
    is_default: bool = False
    events: list[FakeEvent] = field(default_factory=list)
    fault: int | None = None


@dataclass
class FakeUser:
    """A Microsoft account with a mailbox."""

    email: str
    name: str
    oid: str
    tid: str
    mail: str | None
    calendars: list[FakeCalendar] = field(default_factory=list)

    def calendar(self, calendar_id: str) -> FakeCalendar | None:
        """The calendar with ``calendar_id`` in this user's list."""
        return next((c for c in self.calendars if c.id == calendar_id), None)

    @property
    def default_calendar(self) -> FakeCalendar:
        """The user's default calendar."""
        return next(c for c in self.calendars if c.is_default)


@dataclass
class _Code:
    user: FakeUser
    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str
    method: str
    nonce: str | None
    expires: float


@dataclass
class _Refresh:
    user: FakeUser
    scopes: list[str]
    revoked: bool = False


@dataclass
class _Access:
    user: FakeUser
    scopes: list[str]
    expires: float
    revoked: bool = False


@dataclass
class GraphCall:
    """One request the fake Graph received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    mailbox: str | None
    body: Any = None
    status: int = 0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _permission(scope: str) -> str:
    return scope.rsplit("/", 1)[-1].lower()


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": dt.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": "fake"},
        }
    }
    return web.json_response(body, status=status, headers=headers)


def _oauth_error(status: int, error: str, description: str, code: int) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        },
        status=status,
    )


def _parse_iso(text: str) -> dt.datetime:
    value = text.strip().replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(name: str) -> dt.tzinfo:
    if name.strip().lower() in ("utc", "etc/utc", "gmt"):
        return UTC
    return ZoneInfo(name.strip())


def _render(moment: dt.datetime | dt.date, zone: dt.tzinfo, zone_name: str) -> dict[str, str]:
    if isinstance(moment, dt.datetime):
        local = moment.astimezone(zone)
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + "0000000", "timeZone": zone_name}
    # All-day events are floating whole dates: midnight of the date in whatever zone is asked.
    return {"dateTime": moment.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": zone_name}


# ----------------------------------------------------------------------------------------------
# The fake


class FakeMicrosoft:
    """Microsoft identity platform and Graph, faithful enough for msal and the provider."""

    def __init__(
        self, tls: TlsFiles, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
    ) -> None:
        self.tls = tls
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant = TENANT
        self.redirect_uris: set[str] = set()  # empty: any redirect URI is accepted
        self.users: dict[str, FakeUser] = {}
        # knobs
        self.page_size = 3
        self.latency = 0.0
        self.identity_latency = 0.0
        self.access_token_lifetime = 3600
        self.deny_consent = False
        self.withheld_permissions: set[str] = set()
        self._faults: collections.deque[tuple[int, dict[str, str], str]] = collections.deque()
        self._token_faults = 0
        self._token_fault_status = 503
        # observations
        self.calls: list[GraphCall] = []
        self.token_requests: list[dict[str, str]] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.openid_configuration_requests = 0
        self.in_flight: dict[str, int] = collections.defaultdict(int)
        self.max_in_flight: dict[str, int] = collections.defaultdict(int)
        self.invitations: list[tuple[str, str]] = []  # (event id, attendee address)
        self.cancellations: list[str] = []  # event ids deleted with attendees
        # state
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_user(DEFAULT_EMAIL, name="Hannah Host")

    # -- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:<port>``."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def authority(self) -> str:
        """The authority URL to configure (``MICROSOFT_AUTHORITY``)."""
        return f"{self.base_url}/{self.tenant}"

    @property
    def graph_base(self) -> str:
        """The Graph base URL to configure (``MICROSOFT_GRAPH_BASE``)."""
        return f"{self.base_url}/v1.0"

    def settings(self) -> MicrosoftSettings:
        """Settings pointing at this fake, trusting its certificate."""
        return MicrosoftSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            authority=self.authority,
            graph_base=self.graph_base,
            ca_bundle=str(self.tls.cert),
        )

    # -- population -----------------------------------------------------------------------------

    def add_user(self, email: str, *, name: str = "", mail: str | None = "") -> FakeUser:
        """Add an account with a default calendar named "Calendar"."""
        user = FakeUser(
            email=email,
            name=name or email.split("@")[0].title(),
            oid=secrets.token_hex(16),
            tid="9188040d-6c67-4c5b-b112-36a304b66dad",
            mail=email if mail == "" else mail,
        )
        user.calendars.append(
            FakeCalendar(
                id=_graph_id("cal"), name="Calendar", owner_email=email, owner_name=user.name, is_default=True
            )
        )
        self.users[email] = user
        return user

    def user(self, email: str = DEFAULT_EMAIL) -> FakeUser:
        """The account with ``email``."""
        return self.users[email]

    def add_calendar(
        self,
        email: str = DEFAULT_EMAIL,
        *,
        name: str,
        owner_email: str | None = None,
        can_edit: bool | None = None,
    ) -> FakeCalendar:
        """Add a calendar to ``email``'s list; with another ``owner_email`` it is a shared one."""
        owner = owner_email or email
        calendar = FakeCalendar(
            id=_graph_id("cal"),
            name=name,
            owner_email=owner,
            owner_name=owner.split("@")[0].title(),
            can_edit=(owner == email) if can_edit is None else can_edit,
        )
        self.users[email].calendars.append(calendar)
        return calendar

    def add_event(
        self,
        calendar: FakeCalendar,
        start: dt.datetime | dt.date,
        end: dt.datetime | dt.date,
        *,
        subject: str = "Busy",
        show_as: str = "busy",
        is_cancelled: bool = False,
        response: str = "organizer",
    ) -> FakeEvent:
        """Put an event in ``calendar``."""
        event = FakeEvent(
            id=_graph_id("evt"),
            subject=subject,
            start=start,
            end=end,
            show_as=show_as,
            is_cancelled=is_cancelled,
            response=response,
        )
        calendar.events.append(event)
        return event

    # -- faults and tokens ----------------------------------------------------------------------

    def throttle(self, count: int, *, retry_after: float | str | None = 0.01, status: int = 429) -> None:
        """Answer the next ``count`` Graph requests with ``status`` (429/503) and ``Retry-After``."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        code = "TooManyRequests" if status == 429 else "ServiceUnavailable"
        for _ in range(count):
            self._faults.append((status, headers, code))

    def fail(self, count: int, *, status: int = 500) -> None:
        """Answer the next ``count`` Graph requests with a server error."""
        for _ in range(count):
            self._faults.append(
                (status, {}, "InternalServerError" if status == 500 else "ServiceUnavailable")
            )

    def revoke_refresh_tokens(self, email: str = DEFAULT_EMAIL) -> None:
        """Revoke every refresh token of ``email`` (password reset, consent removed...)."""
        for grant in self._refresh.values():
            if grant.user.email == email:
                grant.revoked = True

    def fail_token_requests(self, count: int, *, status: int = 503) -> None:
        """Answer the next ``count`` token requests with ``temporarily_unavailable`` (an outage)."""
        self._token_faults += count
        self._token_fault_status = status

    def refresh_tokens(self, email: str = DEFAULT_EMAIL) -> list[str]:
        """The refresh tokens issued to ``email``, oldest first."""
        return [token for token, grant in self._refresh.items() if grant.user.email == email]

    def revoke_refresh_token(self, token: str) -> None:
        """Revoke one refresh token."""
        self._refresh[token].revoked = True

    def invalidate_access_tokens(self, email: str = DEFAULT_EMAIL) -> None:
        """Make Graph refuse ``email``'s current access tokens with 401."""
        for grant in self._access.values():
            if grant.user.email == email:
                grant.revoked = True

    def graph_calls(self, method: str | None = None, contains: str = "") -> list[GraphCall]:
        """Graph calls filtered by method and a path fragment."""
        return [c for c in self.calls if (method is None or c.method == method) and contains in c.path]

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1, a free port, over TLS."""
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_configuration)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/v1.0/me", self._graph(self._me))
        app.router.add_get("/v1.0/me/calendars", self._graph(self._calendars))
        app.router.add_get("/v1.0/me/calendars/{calendar}/calendarView", self._graph(self._calendar_view))
        app.router.add_post("/v1.0/me/calendars/{calendar}/events", self._graph(self._create_event))
        app.router.add_delete("/v1.0/me/events/{event}", self._graph(self._delete_event))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls.server_context())
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- the browser ----------------------------------------------------------------------------

    async def approve(self, auth_uri: str) -> dict[str, str]:
        """Act as the host's browser: open ``auth_uri``, return what reaches the redirect URI.

        That is the redirect's query parameters, or with ``response_mode=form_post`` the fields of
        the auto-submitted form.
        """
        async with (
            aiohttp.ClientSession() as session,
            session.get(auth_uri, allow_redirects=False, ssl=self.tls.client_context()) as response,
        ):
            text = await response.text()
            if response.status == 200 and "<form" in text:
                fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"/>', text)
                return {html.unescape(k): html.unescape(v) for k, v in fields}
            if response.status != 302:
                raise AssertionError(f"authorize answered {response.status}: {text}")
            location = response.headers["Location"]
        return dict(parse_qsl(urlsplit(location).query))

    # -- identity -------------------------------------------------------------------------------

    async def _openid_configuration(self, request: web.Request) -> web.Response:
        self.openid_configuration_requests += 1
        if self.identity_latency:
            await asyncio.sleep(self.identity_latency)
        tenant = request.match_info["tenant"]
        base = f"{self.base_url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{self.base_url}/{{tenantid}}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "code_challenge_methods_supported": ["plain", "S256"],
            }
        )

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="AADSTS700016: Application not found in the directory.")
        if not redirect_uri or (self.redirect_uris and redirect_uri not in self.redirect_uris):
            return web.Response(status=400, text="AADSTS50011: The redirect URI does not match.")

        def back(params: dict[str, str]) -> NoReturn:
            if "state" in query:
                params["state"] = query["state"]
            if query.get("response_mode") == "form_post":
                fields = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                    for k, v in params.items()
                )
                page = (
                    f'<html><body onload="document.forms[0].submit()"><form method="POST" '
                    f'action="{html.escape(redirect_uri)}">{fields}</form></body></html>'
                )
                raise web.HTTPOk(text=page, content_type="text/html")
            raise web.HTTPFound(f"{redirect_uri}?{urlencode(params)}")

        if query.get("response_type") != "code":
            back({"error": "unsupported_response_type", "error_description": "AADSTS70005"})
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            back({"error": "invalid_request", "error_description": "AADSTS9002325: PKCE required."})
        if self.deny_consent:
            back({"error": "access_denied", "error_description": "AADSTS65004: User declined to consent."})
        hint = query.get("login_hint", "")
        user = self.users.get(hint) or self.users[DEFAULT_EMAIL]
        scopes = [
            s
            for s in query.get("scope", "").split()
            if _permission(s) not in {p.lower() for p in self.withheld_permissions}
        ]
        code = "0.AX" + secrets.token_urlsafe(24)
        self._codes[code] = _Code(
            user=user,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=query["code_challenge"],
            method=query["code_challenge_method"],
            nonce=query.get("nonce"),
            expires=time.time() + 600,
        )
        back({"code": code, "session_state": secrets.token_hex(8)})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        data = {k: str(v) for k, v in form.items()}
        self.token_requests.append(
            {k: v for k, v in data.items() if k in ("grant_type", "scope", "client_id")}
        )
        if self.identity_latency:
            await asyncio.sleep(self.identity_latency)
        if self._token_faults:
            self._token_faults -= 1
            return _oauth_error(
                self._token_fault_status,
                "temporarily_unavailable",
                "The service is temporarily unavailable.",
                90006,
            )
        if data.get("client_id") != self.client_id:
            return _oauth_error(400, "unauthorized_client", "Application not found.", 700016)
        if data.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "Invalid client secret provided.", 7000215)
        grant_type = data.get("grant_type")
        if grant_type == "authorization_code":
            code = self._codes.pop(data.get("code", ""), None)
            if code is None or code.expires < time.time():
                return _oauth_error(
                    400, "invalid_grant", "The code has expired or was already redeemed.", 54005
                )
            if data.get("redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "invalid_grant", "The redirect URI does not match.", 50148)
            verifier = data.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != code.challenge:
                return _oauth_error(400, "invalid_grant", "The code_verifier does not match.", 501481)
            return self._issue(code.user, code.scopes, nonce=code.nonce)
        if grant_type == "refresh_token":
            grant = self._refresh.get(data.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return _oauth_error(
                    400, "invalid_grant", "The refresh token has expired or been revoked.", 700082
                )
            wanted = [s for s in data.get("scope", "").split() if _permission(s) not in _RESERVED]
            granted = {_permission(s) for s in grant.scopes}
            if any(_permission(s) not in granted for s in wanted):
                return _oauth_error(400, "invalid_grant", "The user has not consented.", 65001)
            return self._issue(grant.user, grant.scopes, nonce=None)
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type.", 70003)

    def _issue(self, user: FakeUser, scopes: list[str], *, nonce: str | None) -> web.Response:
        access, refresh = secrets.token_urlsafe(32), "0.AR" + secrets.token_urlsafe(32)
        self._access[access] = _Access(user, scopes, time.time() + self.access_token_lifetime)
        self._refresh[refresh] = _Refresh(user, scopes)
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": self.client_id,
            "iss": f"{self.base_url}/{user.tid}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.name,
            "oid": user.oid,
            "preferred_username": user.email,
            "sub": secrets.token_hex(8),
            "tid": user.tid,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        id_token = ".".join(
            [
                _b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "fake"}).encode()),
                _b64url(json.dumps(claims).encode()),
                _b64url(b"not-a-real-signature"),
            ]
        )
        return web.json_response(
            {
                "token_type": "Bearer",
                "scope": " ".join(scopes),
                "expires_in": self.access_token_lifetime,
                "ext_expires_in": self.access_token_lifetime,
                "access_token": access,
                "refresh_token": refresh,
                "id_token": id_token,
                "client_info": _b64url(json.dumps({"uid": user.oid, "utid": user.tid}).encode()),
            }
        )

    # -- Graph ----------------------------------------------------------------------------------

    def _graph(
        self, handler: Callable[[web.Request, FakeUser, _Access], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            auth = request.headers.get("Authorization", "")
            grant = self._access.get(auth[7:]) if auth.startswith("Bearer ") else None
            mailbox = grant.user.email if grant else None
            body = await request.json() if request.can_read_body else None
            call = GraphCall(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k: v for k, v in request.headers.items() if k.lower() in ("prefer", "content-type")},
                mailbox=mailbox,
                body=body,
            )
            self.calls.append(call)
            key = mailbox or "?"
            self.in_flight[key] += 1
            self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
                response = await self._answer(request, grant, handler)
            finally:
                self.in_flight[key] -= 1
            call.status = response.status
            return response

        return wrapped

    async def _answer(
        self,
        request: web.Request,
        grant: _Access | None,
        handler: Callable[[web.Request, FakeUser, _Access], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if grant is None or grant.revoked or grant.expires < time.time():
            return _graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        if self._faults:
            status, headers, code = self._faults.popleft()
            return _graph_error(status, code, "Fault injected by the test.", headers)
        return await handler(request, grant.user, grant)

    @staticmethod
    def _has(grant: _Access, *permissions: str) -> bool:
        held = {_permission(s) for s in grant.scopes}
        return any(p.lower() in held for p in permissions)

    def _page(self, request: web.Request, items: list[dict[str, Any]], context: str) -> web.Response:
        top = int(request.query.get("$top", "10"))
        size = max(1, min(top, self.page_size))
        skip = int(request.query.get("$skip", "0"))
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_base}/$metadata#{context}",
            "value": items[skip : skip + size],
        }
        if skip + size < len(items):
            params = dict(request.query)
            params["$skip"] = str(skip + size)
            body["@odata.nextLink"] = (
                f"{self.base_url}{quote(request.path)}?{urlencode(params, quote_via=quote, safe='$,:')}"
            )
        return web.json_response(body)

    @staticmethod
    def _select(item: dict[str, Any], request: web.Request) -> dict[str, Any]:
        wanted = request.query.get("$select")
        if not wanted:
            return item
        keep = {f.strip() for f in wanted.split(",")} | {"id", "@odata.etag"}
        return {k: v for k, v in item.items() if k in keep}

    async def _me(self, request: web.Request, user: FakeUser, grant: _Access) -> web.Response:
        if not self._has(grant, "User.Read", "User.ReadBasic.All", "User.Read.All"):
            return _graph_error(403, "Authorization_RequestDenied", "Insufficient privileges.")
        item = {
            "@odata.context": f"{self.graph_base}/$metadata#users/$entity",
            "id": user.oid,
            "displayName": user.name,
            "mail": user.mail,
            "userPrincipalName": user.email,
        }
        return web.json_response(self._select(item, request))

    async def _calendars(self, request: web.Request, user: FakeUser, grant: _Access) -> web.Response:
        if not self._has(grant, "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"):
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        items = [
            self._select(
                {
                    "@odata.etag": 'W/"fake"',
                    "id": c.id,
                    "name": c.name,
                    "color": "auto",
                    "hexColor": "",
                    "isDefaultCalendar": c.is_default,
                    "canShare": c.owner_email == user.email,
                    "canViewPrivateItems": c.owner_email == user.email,
                    "canEdit": c.can_edit,
                    "allowedOnlineMeetingProviders": ["teamsForBusiness"],
                    "isRemovable": not c.is_default,
                    "owner": {"name": c.owner_name, "address": c.owner_email},
                },
                request,
            )
            for c in user.calendars
        ]
        return self._page(request, items, "users('me')/calendars")

    def _calendar_for(
        self, user: FakeUser, grant: _Access, calendar_id: str, *, write: bool
    ) -> FakeCalendar | web.Response:
        calendar = user.calendar(calendar_id)
        if calendar is None or calendar.fault == 404:
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if calendar.fault == 403:
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        shared = calendar.owner_email != user.email
        if write:
            allowed = calendar.can_edit and (
                self._has(grant, "Calendars.ReadWrite.Shared")
                if shared
                else self._has(grant, "Calendars.ReadWrite")
            )
        elif shared:
            allowed = self._has(grant, "Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
        else:
            allowed = self._has(grant, "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite")
        if not allowed:
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return calendar

    async def _calendar_view(self, request: web.Request, user: FakeUser, grant: _Access) -> web.Response:
        found = self._calendar_for(user, grant, request.match_info["calendar"], write=False)
        if isinstance(found, web.Response):
            return found
        try:
            start = _parse_iso(request.query["startDateTime"])
            end = _parse_iso(request.query["endDateTime"])
        except (KeyError, ValueError):
            return _graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        prefer = request.headers.get("Prefer", "")
        zone_name = "UTC"
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "outlook.timezone":
                zone_name = value.strip().strip('"')
        zone = _zone(zone_name)
        events = sorted(
            (e for e in found.events if e.utc_range()[0] < end and e.utc_range()[1] > start),
            key=lambda e: e.utc_range()[0],
        )
        items = [self._select(self._event_json(e, zone, zone_name), request) for e in events]
        return self._page(request, items, f"users('me')/calendars('{found.id}')/calendarView")

    def _event_json(self, event: FakeEvent, zone: dt.tzinfo, zone_name: str) -> dict[str, Any]:
        return {
            "@odata.etag": 'W/"fake"',
            "id": event.id,
            "subject": event.subject,
            "bodyPreview": event.body[:255],
            "body": {"contentType": "text", "content": event.body},
            "showAs": event.show_as,
            "isCancelled": event.is_cancelled,
            "isAllDay": event.is_all_day,
            "isOrganizer": event.response == "organizer",
            "type": "singleInstance",
            "responseStatus": {"response": event.response, "time": "0001-01-01T00:00:00Z"},
            "start": _render(event.start, zone, zone_name),
            "end": _render(event.end, zone, zone_name),
            "location": {"displayName": event.location},
            "attendees": event.attendees,
            "transactionId": event.transaction_id,
            "webLink": f"https://outlook.example/calendar/item/{quote(event.id, safe='')}",
        }

    async def _create_event(self, request: web.Request, user: FakeUser, grant: _Access) -> web.Response:
        found = self._calendar_for(user, grant, request.match_info["calendar"], write=True)
        if isinstance(found, web.Response):
            return found
        body = await request.json()
        transaction = body.get("transactionId")
        if transaction:
            for calendar in user.calendars:
                for existing in calendar.events:
                    if existing.transaction_id == transaction:
                        return web.json_response(self._event_json(existing, UTC, "UTC"), status=201)
        try:
            start_zone = _zone(body["start"]["timeZone"])
            end_zone = _zone(body["end"]["timeZone"])
            start = dt.datetime.fromisoformat(body["start"]["dateTime"]).replace(tzinfo=start_zone)
            end = dt.datetime.fromisoformat(body["end"]["dateTime"]).replace(tzinfo=end_zone)
        except (KeyError, TypeError, ValueError):
            return _graph_error(
                400, "ErrorInvalidRequest", "Your request is invalid: start and end are required."
            )
        attendees = [
            {
                "type": a.get("type", "required"),
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": a.get("emailAddress", {}),
            }
            for a in body.get("attendees", [])
        ]
        event = FakeEvent(
            id=_graph_id("evt"),
            subject=str(body.get("subject", "")),
            start=start,
            end=end,
            show_as=str(body.get("showAs", "busy")),
            attendees=attendees,
            body=str((body.get("body") or {}).get("content", "")),
            location=str((body.get("location") or {}).get("displayName", "")),
            transaction_id=transaction,
            created_with=body,
        )
        found.events.append(event)
        for attendee in attendees:
            self.invitations.append((event.id, str(attendee["emailAddress"].get("address", ""))))
        return web.json_response(self._event_json(event, UTC, "UTC"), status=201)

    async def _delete_event(self, request: web.Request, user: FakeUser, grant: _Access) -> web.StreamResponse:
        event_id = request.match_info["event"]
        for calendar in user.calendars:
            for event in calendar.events:
                if event.id == event_id:
                    found = self._calendar_for(user, grant, calendar.id, write=True)
                    if isinstance(found, web.Response):
                        return found
                    calendar.events.remove(event)
                    if event.attendees:
                        self.cancellations.append(event.id)
                    return web.Response(status=204)
        return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


_RESERVED = frozenset({"openid", "profile", "offline_access", "email"})


# ----------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def microsoft_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, generated once per test session."""
    return make_tls_files(tmp_path_factory.mktemp("microsoft-tls"))


@pytest_asyncio.fixture
async def microsoft_fake(microsoft_tls: TlsFiles) -> AsyncIterator[FakeMicrosoft]:
    """A running fake identity platform + Graph with one user (``host@contoso.example``)."""
    fake = FakeMicrosoft(microsoft_tls)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def microsoft_settings(microsoft_fake: FakeMicrosoft) -> MicrosoftSettings:
    """MicrosoftSettings pointing at ``microsoft_fake`` and trusting its certificate."""
    return microsoft_fake.settings()
