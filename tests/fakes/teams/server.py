"""The fake Bot Framework: OpenID metadata, signing keys, the bot's token endpoint, a connector.

See the package docstring for what it serves and how tests use it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.base import CALL, FakeServer, TlsFiles

ISSUER = "https://api.botframework.com"
SCOPE = "https://api.botframework.com/.default"
APP_ID = "5e1f0c2a-0000-4000-8000-7ea450000001"
APP_PASSWORD = "fake-bot-password-value"
TENANT = "8d7e2c11-0000-4000-8000-7e4a470000aa"
BOT_ID = f"28:{APP_ID}"


@dataclass
class SigningKey:
    """A key of the fake's key set: its id, RSA private key and the channels it endorses."""

    kid: str
    private: rsa.RSAPrivateKey
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])

    @classmethod
    def new(cls, kid: str | None = None, endorsements: list[str] | None = None) -> SigningKey:
        """A fresh 2048-bit key."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(kid or secrets.token_hex(8), private,
                   ["msteams"] if endorsements is None else endorsements)

    def jwk(self) -> dict[str, Any]:
        """The public JSON Web Key, as the Bot Framework publishes it."""
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "endorsements": self.endorsements}


@dataclass
class Sent:
    """An activity the bot sent to the connector (``kind``: reply, new, update)."""

    kind: str
    conversation: str
    activity_id: str | None
    activity: dict[str, Any]
    at: float


class FakeBotFramework(FakeServer):
    """The Bot Framework's side of a Teams bot (see the package docstring)."""

    name = "teams"

    def __init__(self, tls: TlsFiles, *, app_id: str = APP_ID, app_password: str = APP_PASSWORD,
                 tenant: str = TENANT) -> None:
        super().__init__(tls=tls)
        self.app_id = app_id
        self.app_password = app_password
        self.tenant = tenant
        self.keys = [SigningKey.new("key-1")]
        self.members: dict[str, dict[str, Any]] = {}
        self.conversations_created: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.token_requests: list[dict[str, str]] = []
        self.metadata_requests = 0
        self.key_requests = 0
        self.connector_latency = 0.0
        self.auth_latency = 0.0  # metadata, keys and the token endpoint
        self.fail_connector: list[int] = []  # statuses for the next connector calls
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- settings -----------------------------------------------------------------------------------

    @property
    def service_url(self) -> str:
        """The connector's serviceUrl (with the trailing slash Teams sends)."""
        return f"{self.base_url}/teams/"

    def env(self) -> dict[str, str]:
        """The settings that point the app at this fake."""
        return {
            "TEAMS_APP_ID": self.app_id,
            "TEAMS_APP_PASSWORD": self.app_password,
            "TEAMS_TENANT_ID": self.tenant,
            "TEAMS_OPENID_METADATA_URL": f"{self.base_url}/v1/.well-known/openidconfiguration",
            "TEAMS_LOGIN_URL": f"{self.base_url}/{self.tenant}",
            "TEAMS_CA_BUNDLE": str(self.tls.cert if self.tls else ""),
        }

    # -- Teams' side: tokens and activities --------------------------------------------------------

    def token(self, *, key: SigningKey | None = None, kid: str | None = None, service_url: str | None = None,
              lifetime: int = 3600, issued: float | None = None, **claims: Any) -> str:
        """A token as the Bot Framework signs it for one activity (claims may be overridden)."""
        key = key or self.keys[0]
        now = int(issued if issued is not None else time.time())
        body = {"serviceurl": service_url or self.service_url, "nbf": now - 5, "exp": now + lifetime,
                "iss": ISSUER, "aud": self.app_id, "iat": now, **claims}
        return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": kid or key.kid})

    def headers(self, activity: dict[str, Any] | None = None, **token: Any) -> dict[str, str]:
        """The request headers for ``activity`` (its serviceUrl goes in the token)."""
        token.setdefault("service_url", (activity or {}).get("serviceUrl") or self.service_url)
        return {"Authorization": "Bearer " + self.token(**token),
                "Content-Type": "application/json"}

    def add_member(self, user_id: str, name: str, *, email: str | None = None,
                   aad: str | None = None) -> None:
        """A member the connector's members API knows."""
        self.members[user_id] = {"id": user_id, "name": name, "email": email,
                                 "userPrincipalName": email, "aadObjectId": aad or str(uuid.uuid4()),
                                 "tenantId": self.tenant, "userRole": "user"}

    def activity(self, kind: str = "message", *, user: str, name: str = "", conversation: str = "",
                 conversation_type: str = "personal", locale: str = "en-US", timezone: str | None = None,
                 **fields: Any) -> dict[str, Any]:
        """An activity as Teams posts it to the bot."""
        conversation = conversation or f"a:personal-{user}"
        entities: list[dict[str, Any]] = []
        if timezone:
            entities.append({"type": "clientInfo", "locale": locale, "country": "DK", "platform": "Web",
                             "timezone": timezone})
        return {
            "type": kind, "id": f"{int(time.time() * 1000)}{next(self._ids)}",
            "timestamp": "2026-03-26T09:00:00.000Z", "localTimestamp": "2026-03-26T10:00:00.000+01:00",
            "serviceUrl": self.service_url, "channelId": "msteams",
            "from": {"id": user, "name": name or user, "aadObjectId": (self.members.get(user) or {}).get(
                "aadObjectId", "00000000-0000-4000-8000-000000000001")},
            "conversation": {"id": conversation, "conversationType": conversation_type,
                             "tenantId": self.tenant, "isGroup": conversation_type != "personal"},
            "recipient": {"id": BOT_ID, "name": "Slotbot"},
            "locale": locale, "entities": entities,
            "channelData": {"tenant": {"id": self.tenant}}, **fields,
        }

    def message(self, text: str, *, user: str, mention: bool = False, **fields: Any) -> dict[str, Any]:
        """A message; ``mention``: it @mentions the bot (as in channels)."""
        activity = self.activity("message", user=user, **fields)
        if mention:
            activity["text"] = f"<at>Slotbot</at> {text}"
            activity["entities"].append({"type": "mention", "text": "<at>Slotbot</at>",
                                         "mentioned": {"id": BOT_ID, "name": "Slotbot"}})
        else:
            activity["text"] = text
        activity["textFormat"] = "plain"
        return activity

    def invoke(self, name: str, value: dict[str, Any], *, user: str, **fields: Any) -> dict[str, Any]:
        """An invoke activity (message extensions, card actions)."""
        return {**self.activity("invoke", user=user, value=value, **fields), "name": name}

    # -- observations -----------------------------------------------------------------------------

    def sent_to(self, conversation: str, kind: str | None = None) -> list[Sent]:
        """What the bot sent to ``conversation`` (typing activities left out)."""
        return [s for s in list(self.sent) if s.conversation == conversation
                and (kind is None or s.kind == kind) and s.activity.get("type") != "typing"]

    async def wait_for(self, predicate: Any, seconds: float = 10.0) -> None:
        """Poll ``predicate()`` until it is true (the fake runs on a loop of its own)."""
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"fake Bot Framework: condition not met in {seconds} s")
            await asyncio.sleep(0.01)

    # -- routes -------------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        """Metadata, keys, the token endpoint and the connector (under ``/teams``)."""
        app.router.add_get("/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._identity)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        base = "/teams/v3/conversations"
        app.router.add_post(base, self._connector(self._create))
        app.router.add_post(base + "/{conversation}/activities", self._connector(self._new))
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._connector(self._reply))
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._connector(self._update))
        app.router.add_get(base + "/{conversation}/members/{member}", self._connector(self._member))

    async def _metadata(self, request: web.Request) -> web.Response:
        await self.pause(latency=self.auth_latency)
        self.metadata_requests += 1
        return web.json_response({
            "issuer": ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    async def _keys(self, request: web.Request) -> web.Response:
        await self.pause(latency=self.auth_latency)
        self.key_requests += 1
        return web.json_response({"keys": [key.jwk() for key in self.keys]})

    async def _identity(self, request: web.Request) -> web.Response:
        await self.pause(latency=self.auth_latency)
        base = f"{self.base_url}/{request.match_info['tenant']}"
        return web.json_response({
            "issuer": f"https://login.microsoftonline.com/{request.match_info['tenant']}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token", "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token"], "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        await self.pause(latency=self.auth_latency)
        self.token_requests.append({k: v for k, v in form.items() if k != "client_secret"})
        if request.match_info["tenant"] != self.tenant:
            return web.json_response({"error": "invalid_request", "error_codes": [90002]}, status=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return web.json_response({"error": "invalid_client", "error_codes": [7000215]}, status=401)
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            return web.json_response({"error": "invalid_scope", "error_codes": [70011]}, status=400)
        token = "bf-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                  "access_token": token})

    def _connector(self, handler: Any) -> Any:
        async def checked(request: web.Request) -> web.StreamResponse:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            with self._lock:
                known = token in self._tokens
            if scheme != "Bearer" or not known:
                return web.json_response({"message": "Authorization has been denied for this request."},
                                         status=401)
            if self.connector_latency:
                await asyncio.sleep(self.connector_latency)
            if self.fail_connector:
                status = self.fail_connector.pop(0)
                return web.json_response({"error": {"code": "Failure", "message": "scripted"}}, status=status)
            answer: web.StreamResponse = await handler(request)
            return answer

        return checked

    def _keep(self, request: web.Request, kind: str, activity_id: str | None) -> None:
        body = request[CALL].body
        self.sent.append(Sent(kind, request.match_info["conversation"], activity_id,
                              body if isinstance(body, dict) else {}, time.perf_counter()))

    async def _create(self, request: web.Request) -> web.Response:
        body = request[CALL].body or {}
        self.conversations_created.append(body)
        members = body.get("members") or [{}]
        return web.json_response({"id": f"a:personal-{members[0].get('id')}", "activityId": None})

    async def _new(self, request: web.Request) -> web.Response:
        self._keep(request, "new", None)
        return web.json_response({"id": f"1:{next(self._ids)}"}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        # Proactive messages come here too, with an id the connector never issued: accepted.
        self._keep(request, "reply", request.match_info["activity"])
        return web.json_response({"id": f"1:{next(self._ids)}"}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        self._keep(request, "update", request.match_info["activity"])
        return web.json_response({"id": request.match_info["activity"]})

    async def _member(self, request: web.Request) -> web.Response:
        member = self.members.get(request.match_info["member"])
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation",
                                                "message": "Member not found"}}, status=404)
        return web.json_response(member)
