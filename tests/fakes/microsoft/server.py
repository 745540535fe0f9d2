"""The fake Microsoft identity platform (v2.0) and its Graph, on the shared base over TLS.

See the package docstring for what it serves; the Graph half is
:class:`~tests.fakes.microsoft.subscriptions.SubscriptionsApi` (on
:class:`~tests.fakes.microsoft.delta_api.DeltaApi`,
:class:`~tests.fakes.microsoft.events_api.EventsApi` and
:class:`~tests.fakes.microsoft.graph_api.GraphApi`), codes and tokens a
:class:`~tests.fakes.oauth.TokenAuthority`.
"""

from __future__ import annotations

import collections
import datetime as dt
import html
import json
import re
import secrets
import time
from typing import Any, NoReturn
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import aiohttp
from aiohttp import web

from bot.settings import MicrosoftSettings
from tests.fakes.base import FakeServer, Recorded, TlsFiles
from tests.fakes.microsoft.graph_api import (
    FakeCalendar,
    FakeUser,
    GraphCall,
    _b64url,
    _graph_id,
    _oauth_error,
    _permission,
)
from tests.fakes.microsoft.model import DEFAULT_EMAIL
from tests.fakes.microsoft.subscriptions import SubscriptionsApi
from tests.fakes.oauth import Code, TokenAuthority

UTC = dt.UTC
CLIENT_ID = "7f1c1a2e-0000-4000-8000-51075b070001"
CLIENT_SECRET = "fake-client-secret-value"
TENANT = "common"
_RESERVED = frozenset({"openid", "profile", "offline_access", "email"})


class FakeMicrosoft(FakeServer, SubscriptionsApi):
    """Microsoft identity platform and Graph, faithful enough for msal and the provider."""

    name = "microsoft"

    def __init__(
        self, tls: TlsFiles, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
    ) -> None:
        super().__init__(tls=tls)
        self.tls: TlsFiles = tls
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant = TENANT
        self.redirect_uris: set[str] = set()  # empty: any redirect URI is accepted
        self.users: dict[str, FakeUser] = {}
        # knobs
        self.page_size = 3
        self.identity_latency = 0.0
        self.access_token_lifetime = 3600
        self.deny_consent = False
        self.withheld_permissions: set[str] = set()
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
        self.tokens = TokenAuthority(code_prefix="0.AX", access_prefix="", refresh_prefix="0.AR")
        self._init_sync()
        self.add_user(DEFAULT_EMAIL, name="Hannah Host")

    # -- addresses ------------------------------------------------------------------------------

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

    def env(self) -> dict[str, str]:
        """The environment that points a Slotbot deployment at this fake (``MICROSOFT_*``)."""
        return {
            "MICROSOFT_CLIENT_ID": self.client_id, "MICROSOFT_CLIENT_SECRET": self.client_secret,
            "MICROSOFT_AUTHORITY": self.authority, "MICROSOFT_GRAPH_BASE": self.graph_base,
            "MICROSOFT_CA_BUNDLE": str(self.tls.cert),
        }

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

    # -- faults and tokens ----------------------------------------------------------------------

    def fail_next(  # type: ignore[override]
        self,
        count: int = 1,
        *,
        status: int | None = 500,
        retry_after: float | str | None = None,
        calendar: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` Graph requests (``calendar``: only those about it) with ``status``.

        The error carries Graph's code for the status and ``Retry-After`` when given; ``status``
        None answers normally after ``delay`` seconds.
        """
        code = {429: "TooManyRequests", 500: "InternalServerError"}.get(status or 0, "ServiceUnavailable")

        def when(call: Recorded) -> bool:
            path = unquote(call.path)
            return path.startswith("/v1.0/") and (calendar is None or f"/{calendar}/" in path)

        super().fail_next(count, status=status, retry_after=retry_after, delay=delay, when=when, code=code)

    def throttle(self, count: int, *, retry_after: float | str | None = 0.01, status: int = 429) -> None:
        """Answer the next ``count`` Graph requests with ``status`` (429/503) and ``Retry-After``."""
        self.fail_next(count, status=status, retry_after=retry_after)

    def fail(self, count: int, *, status: int = 500) -> None:
        """Answer the next ``count`` Graph requests with a server error."""
        self.fail_next(count, status=status)

    def revoke_refresh_tokens(self, email: str = DEFAULT_EMAIL) -> None:
        """Revoke every refresh token of ``email`` (password reset, consent removed...)."""
        self.tokens.revoke_all(self.users[email], access=False)

    def fail_token_requests(self, count: int, *, status: int = 503) -> None:
        """Answer the next ``count`` token requests with ``temporarily_unavailable`` (an outage)."""
        self._token_faults += count
        self._token_fault_status = status

    def refresh_tokens(self, email: str = DEFAULT_EMAIL) -> list[str]:
        """The refresh tokens issued to ``email``, oldest first."""
        return [token for token, grant in self.tokens.refresh.items() if grant.subject.email == email]

    def revoke_refresh_token(self, token: str) -> None:
        """Revoke one refresh token."""
        self.tokens.refresh[token].revoked = True

    def invalidate_access_tokens(self, email: str = DEFAULT_EMAIL) -> None:
        """Make Graph refuse ``email``'s current access tokens with 401."""
        self.tokens.revoke_all(self.users[email], refresh=False)

    def graph_calls(self, method: str | None = None, contains: str = "") -> list[GraphCall]:
        """Graph calls filtered by method and a path fragment."""
        return [c for c in self.calls if (method is None or c.method == method) and contains in c.path]

    # -- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        """The identity platform and Graph routes."""
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._openid_configuration)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/v1.0/me", self._graph(self._me))
        app.router.add_get("/v1.0/me/calendars", self._graph(self._calendars))
        app.router.add_get("/v1.0/me/calendars/{calendar}/calendarView", self._graph(self._calendar_view))
        self._sync_routes(app)

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
        await self.pause(latency=self.identity_latency)
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
        code = self.tokens.new_code(
            Code(
                redirect_uri=redirect_uri,
                scopes=tuple(scopes),
                challenge=query["code_challenge"],
                method=query["code_challenge_method"],
                expires_at=time.time() + 600,
                subject=user,
                nonce=query.get("nonce"),
            )
        )
        back({"code": code, "session_state": secrets.token_hex(8)})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        data = {k: str(v) for k, v in form.items()}
        self.token_requests.append(
            {k: v for k, v in data.items() if k in ("grant_type", "scope", "client_id")}
        )
        await self.pause(latency=self.identity_latency)
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
            code = self.tokens.redeem(
                data.get("code", ""),
                redirect_uri=data.get("redirect_uri"),
                verifier=data.get("code_verifier"),
                spend=True,
            )
            if code == "invalid_grant":
                return _oauth_error(
                    400, "invalid_grant", "The code has expired or was already redeemed.", 54005
                )
            if code == "redirect_uri_mismatch":
                return _oauth_error(400, "invalid_grant", "The redirect URI does not match.", 50148)
            if isinstance(code, str):
                return _oauth_error(400, "invalid_grant", "The code_verifier does not match.", 501481)
            return self._issue(code.subject, list(code.scopes), nonce=code.nonce)
        if grant_type == "refresh_token":
            grant = self.tokens.refreshable(data.get("refresh_token", ""))
            if grant is None:
                return _oauth_error(
                    400, "invalid_grant", "The refresh token has expired or been revoked.", 700082
                )
            wanted = [s for s in data.get("scope", "").split() if _permission(s) not in _RESERVED]
            granted = {_permission(s) for s in grant.scopes}
            if any(_permission(s) not in granted for s in wanted):
                return _oauth_error(400, "invalid_grant", "The user has not consented.", 65001)
            return self._issue(grant.subject, list(grant.scopes), nonce=None)
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type.", 70003)

    def _issue(self, user: FakeUser, scopes: list[str], *, nonce: str | None) -> web.Response:
        access, refresh = self.tokens.issue(scopes, ttl=self.access_token_lifetime, subject=user)
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
