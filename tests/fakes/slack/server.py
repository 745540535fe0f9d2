"""The fake Slack server on the shared base: Web API, OAuth v2 install, response URLs (see the package)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from tests.fakes.base import CALL, FakeServer
from tests.fakes.slack.blocks import check_blocks

# The scopes each method needs (Slack's method reference).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.unfurl": "links:write",
    "views.publish": None,
    "users.info": "users:read",
    "conversations.open": "im:write",
}


@dataclass
class Call:
    """One Web API request the fake answered."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    ok: bool = True
    error: str | None = None


@dataclass
class Response:
    """One message posted to a response URL."""

    key: str
    body: dict[str, Any]
    at: float


@dataclass
class _Token:
    team_id: str
    scopes: frozenset[str]
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class _Code:
    redirect_uri: str | None
    scopes: str
    installer: str
    used: bool = False


@dataclass
class SlackUser:
    """A member of the fake workspace."""

    id: str
    real_name: str
    email: str | None = None
    tz: str = "Europe/Copenhagen"
    locale: str = "en-US"
    is_bot: bool = False
    deleted: bool = False


@dataclass(eq=False)
class FakeSlack(FakeServer):
    """One Slack workspace with one installed (or installable) app. See the package docstring."""

    name = "slack"

    team_id: str = "T0SLOTBOT"
    team_name: str = "Acme"
    app_id: str = "A0SLOTBOT"
    bot_user_id: str = "U0SLOTBOT"
    bot_id: str = "B0SLOTBOT"
    client_id: str = "1111.2222"
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    scopes: tuple[str, ...] = (
        "app_mentions:read", "chat:write", "commands", "im:history", "links:read", "links:write",
        "users:read", "users:read.email",
    )
    token_rotation: bool = False
    token_lifetime: int = 43200  # Slack's 12 hours
    latency: float = 0.0
    calls: list[Call] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    users: dict[str, SlackUser] = field(default_factory=dict)
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> team (single use)
    _codes: dict[str, _Code] = field(default_factory=dict)
    _response_keys: set[str] = field(default_factory=set)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        latency = self.latency
        FakeServer.__init__(self)
        self.latency = latency

    # -- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        """The Web API, the install consent and the response URLs."""
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few (users.info)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        app.router.add_post("/commands/{team}/{id}/{secret}", self._response_url)

    async def _serve(self) -> None:
        await super()._serve()
        self._changed = asyncio.Condition()

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.base_url

    @property
    def api_base(self) -> str:
        """The Web API base URL (``SLACK_API_BASE``)."""
        return self.base + "/api/"

    @property
    def authorize_url(self) -> str:
        """The OAuth v2 authorize URL (``SLACK_AUTHORIZE_URL``)."""
        return self.base + "/oauth/v2/authorize"

    def env(self, *, single_workspace: bool = False) -> dict[str, str]:
        """Slotbot's environment variables for this fake (OAuth install, or one bot token)."""
        env = {
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_BASE": self.api_base,
            "SLACK_AUTHORIZE_URL": self.authorize_url,
        }
        if single_workspace:
            env["SLACK_BOT_TOKEN"] = self.issue_bot_token()
        else:
            env["SLACK_CLIENT_ID"] = self.client_id
            env["SLACK_CLIENT_SECRET"] = self.client_secret
        return env

    # -- workspace ------------------------------------------------------------------------------

    def add_user(self, user_id: str, real_name: str, *, email: str | None = None,
                 tz: str = "Europe/Copenhagen", locale: str = "en-US") -> SlackUser:
        """Add a member to the workspace."""
        user = SlackUser(user_id, real_name, email, tz, locale)
        self.users[user_id] = user
        return user

    def issue_bot_token(self, *, expires_in: int | None = None) -> str:
        """A bot token of the installed app, as a single-workspace app shows it (``xoxb-``)."""
        token = f"xoxb-{self.team_id}-{next(self._counter)}-{secrets.token_hex(12)}"
        expires = time.time() + expires_in if expires_in is not None else None
        self._tokens[token] = _Token(self.team_id, frozenset(self.scopes), expires)
        return token

    def revoke_all(self) -> None:
        """The app was uninstalled: every token stops working."""
        for token in self._tokens.values():
            token.revoked = True
        self._refresh.clear()

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        self.fail_next(times, status=429, retry_after=retry_after, when=lambda c: c.path == f"/api/{method}")

    def calls_to(self, method: str, *, ok: bool | None = True) -> list[Call]:
        """The recorded calls of ``method`` (only successful ones unless ``ok`` is None/False)."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def valid_tokens(self) -> list[str]:
        """Tokens that currently authenticate."""
        now = time.time()
        return [t for t, v in self._tokens.items()
                if not v.revoked and (v.expires_at is None or v.expires_at > now)]

    async def wait_for(self, predicate: Any, seconds: float = 5.0) -> None:
        """Wait until ``predicate()`` is true (checked whenever a call or response arrives)."""
        assert self._changed is not None
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    # -- Slack's side: signing and payloads ---------------------------------------------------------

    def signed(self, body: str, *, timestamp: int | None = None, secret: str | None = None,
               content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
        """The headers Slack sends with ``body``: timestamp and ``v0=`` HMAC signature."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        verifier = SignatureVerifier(secret or self.signing_secret)
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
            "Content-Type": content_type,
        }

    def response_url(self) -> str:
        """A fresh response URL, as Slack puts in commands and interactions."""
        key = f"{next(self._counter)}/{secrets.token_hex(8)}"
        self._response_keys.add(key)
        return f"{self.base}/commands/{self.team_id}/{key}"

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """What was posted to response URL ``url``."""
        key = url.split(f"/commands/{self.team_id}/", 1)[1]
        return [r.body for r in self.responses if r.key == key]

    def command(self, user_id: str, text: str, *, command: str = "/meet",
                channel_id: str = "C0GENERAL") -> tuple[str, str]:
        """A slash command's form body and its response URL."""
        url = self.response_url()
        body = urlencode({
            "token": "verification-token-unused", "team_id": self.team_id, "team_domain": "acme",
            "channel_id": channel_id, "channel_name": "general", "user_id": user_id,
            "user_name": user_id.lower(), "command": command, "text": text, "api_app_id": self.app_id,
            "is_enterprise_install": "false", "response_url": url,
            "trigger_id": f"{next(self._counter)}.{secrets.token_hex(6)}",
        })
        return body, url

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> tuple[str, str]:
        """An Events API ``event_callback`` JSON body and its event id."""
        event_id = event_id or f"Ev{next(self._counter):08d}"
        body = json.dumps({
            "token": "verification-token-unused", "team_id": self.team_id, "api_app_id": self.app_id,
            "event": {"event_ts": f"{time.time():.6f}", **event}, "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                "user_id": self.bot_user_id, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        })
        return body, event_id

    def block_actions(self, user_id: str, action_id: str, value: str = "", *,
                      container: str = "message", channel_id: str = "C0GENERAL") -> tuple[str, str | None]:
        """A ``block_actions`` interaction (form field ``payload``) and its response URL."""
        url = self.response_url() if container == "message" else None
        payload: dict[str, Any] = {
            "type": "block_actions", "api_app_id": self.app_id, "token": "verification-token-unused",
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
                     "team_id": self.team_id},
            "team": {"id": self.team_id, "domain": "acme"},
            "trigger_id": f"{next(self._counter)}.{secrets.token_hex(6)}",
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": f"{time.time():.6f}"}],
        }
        if container == "message":
            payload["container"] = {"type": "message", "message_ts": "1700000000.000100",
                                    "channel_id": channel_id, "is_ephemeral": True}
            payload["channel"] = {"id": channel_id, "name": "general"}
            payload["response_url"] = url
        else:
            payload["container"] = {"type": "view", "view_id": "V0HOME"}
            payload["view"] = {"id": "V0HOME", "type": "home", "team_id": self.team_id}
        return urlencode({"payload": json.dumps(payload)}), url

    # -- OAuth ------------------------------------------------------------------------------------

    def consent(self, authorize_url: str, *, installer: str = "U0ADMIN") -> str:
        """Act as the admin approving the install: the redirect URL (with ``code``, ``state``)."""
        query = dict(parse_qsl(urlsplit(authorize_url).query))
        if query.get("client_id") != self.client_id:
            raise AssertionError(f"unknown client_id {query.get('client_id')!r}")
        requested = set(filter(None, query.get("scope", "").split(",")))
        if not requested <= set(self.scopes):
            raise AssertionError(f"scopes not offered: {sorted(requested - set(self.scopes))}")
        redirect = query.get("redirect_uri")
        code = secrets.token_hex(12)
        self._codes[code] = _Code(redirect, ",".join(sorted(requested)), installer)
        target = redirect or "http://redirect-uri-not-given.invalid/"
        return f"{target}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    async def _authorize(self, request: web.Request) -> web.Response:
        try:
            location = self.consent(str(request.url))
        except AssertionError as exc:
            return web.Response(status=400, text=str(exc))
        raise web.HTTPFound(location)

    def _issue(self, scopes: str) -> dict[str, Any]:
        if not self.token_rotation:
            return {"access_token": self.issue_bot_token()}
        token = f"xoxe.xoxb-1-{secrets.token_hex(16)}"
        self._tokens[token] = _Token(self.team_id, frozenset(self.scopes), time.time() + self.token_lifetime)
        refresh = f"xoxe-1-{secrets.token_hex(16)}"
        self._refresh[refresh] = self.team_id
        return {"access_token": token, "refresh_token": refresh, "expires_in": self.token_lifetime}

    def _oauth_access(self, request: web.Request, params: dict[str, Any]) -> dict[str, Any]:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        if client_id != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        grant = params.get("grant_type") or "authorization_code"
        common = {"ok": True, "token_type": "bot", "scope": ",".join(self.scopes),
                  "bot_user_id": self.bot_user_id, "app_id": self.app_id,
                  "team": {"id": self.team_id, "name": self.team_name}, "enterprise": None,
                  "is_enterprise_install": False}
        if grant == "refresh_token":
            refresh = params.get("refresh_token", "")
            if self._refresh.pop(refresh, None) is None:  # single use
                return {"ok": False, "error": "invalid_refresh_token"}
            return {**common, **self._issue(",".join(self.scopes))}
        if grant != "authorization_code":
            return {"ok": False, "error": "invalid_grant_type"}
        code = self._codes.get(params.get("code", ""))
        if code is None or code.used:
            return {"ok": False, "error": "invalid_code"}
        if code.redirect_uri is not None and params.get("redirect_uri") != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        code.used = True
        return {**common, "scope": code.scopes, **self._issue(code.scopes),
                "authed_user": {"id": code.installer}}

    # -- the Web API --------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.method == "GET":
            params: dict[str, Any] = {}
        elif request.content_type == "application/json":
            params = await request.json() if await request.read() else {}
        else:
            params = dict(await request.post())
        params.update(request.query)
        token = params.pop("token", None)
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[7:]
        fault = self.take_fault(request[CALL])
        await self.pause(fault)
        call = Call(method, params, token, time.perf_counter())
        self.calls.append(call)
        if fault is not None and fault.status is not None:
            call.ok, call.error = False, "ratelimited"
            await self._notify()
            return web.json_response({"ok": False, "error": "ratelimited"}, status=fault.status,
                                     headers=fault.headers)
        if method == "oauth.v2.access":
            answer = self._oauth_access(request, params)
        else:
            answer = self._call(method, params, token)
        call.ok, call.error = answer["ok"], answer.get("error")
        await self._notify()
        return web.json_response(answer)

    def _call(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method not in METHOD_SCOPES:
            return {"ok": False, "error": "unknown_method"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        grant = self._tokens.get(token)
        if grant is None or grant.revoked:
            return {"ok": False, "error": "invalid_auth"}
        if grant.expires_at is not None and grant.expires_at <= time.time():
            return {"ok": False, "error": "token_expired"}
        needed = METHOD_SCOPES[method]
        if needed is not None and needed not in grant.scopes:
            return {"ok": False, "error": "missing_scope", "needed": needed,
                    "provided": ",".join(sorted(grant.scopes))}
        handler = getattr(self, "_" + method.replace(".", "_"))
        result: dict[str, Any] = handler(params, grant)
        return result

    def _auth_test(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.com/", "team": self.team_name, "user": "slotbot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _channel_ok(self, channel: str) -> bool:
        return bool(channel) and (channel[0] in "CDG" or channel in self.users)

    def _message(self, params: dict[str, Any], limit: int = 50) -> dict[str, Any] | None:
        blocks = _json(params.get("blocks"))
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        if blocks is not None:
            problem = check_blocks(blocks, limit=limit)
            if problem:
                return {"ok": False, "error": "invalid_blocks",
                        "response_metadata": {"messages": [f"[ERROR] {problem}"]}}
        return None

    def _chat_postMessage(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if not self._channel_ok(channel):
            return {"ok": False, "error": "channel_not_found"}
        problem = self._message(params)
        if problem:
            return problem
        ts = f"{time.time():.6f}"
        dm = "D" + channel[1:] if channel in self.users else channel
        return {"ok": True, "channel": dm, "ts": ts,
                "message": {"type": "message", "text": params.get("text", ""), "ts": ts,
                            "bot_id": self.bot_id, "user": self.bot_user_id}}

    def _chat_postEphemeral(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        if not self._channel_ok(str(params.get("channel", ""))):
            return {"ok": False, "error": "channel_not_found"}
        if params.get("user") not in self.users:
            return {"ok": False, "error": "user_not_in_channel"}
        return self._message(params) or {"ok": True, "message_ts": f"{time.time():.6f}"}

    def _chat_unfurl(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        unfurls = _json(params.get("unfurls"))
        if not isinstance(unfurls, dict) or not unfurls:
            return {"ok": False, "error": "invalid_unfurls"}
        if not (params.get("channel") and params.get("ts")) and not (
                params.get("unfurl_id") and params.get("source")):
            return {"ok": False, "error": "cannot_unfurl_message"}
        for unfurl in unfurls.values():
            problem = check_blocks(unfurl.get("blocks", []), limit=50)
            if problem:
                return {"ok": False, "error": "invalid_unfurls",
                        "response_metadata": {"messages": [f"[ERROR] {problem}"]}}
        return {"ok": True}

    def _views_publish(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        view = _json(params.get("view"))
        if params.get("user_id") not in self.users:
            return {"ok": False, "error": "user_not_found"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        problem = check_blocks(view.get("blocks", []), limit=100)
        if problem:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": [f"[ERROR] {problem}"]}}
        return {"ok": True, "view": {"id": "V0HOME", "team_id": self.team_id, **view}}

    def _users_info(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile: dict[str, Any] = {"real_name": user.real_name, "display_name": user.real_name.split()[0],
                                   "image_72": f"https://avatars.slack-edge.test/{user.id}_72.png"}
        if user.email and "users:read.email" in grant.scopes:
            profile["email"] = user.email
        body: dict[str, Any] = {
            "id": user.id, "team_id": self.team_id, "name": user.id.lower(), "deleted": user.deleted,
            "real_name": user.real_name, "tz": user.tz, "tz_label": user.tz, "tz_offset": 0,
            "is_bot": user.is_bot, "profile": profile,
        }
        if str(params.get("include_locale", "")).lower() in ("true", "1"):
            body["locale"] = user.locale
        return {"ok": True, "user": body}

    def _conversations_open(self, params: dict[str, Any], grant: _Token) -> dict[str, Any]:
        user = str(params.get("users", ""))
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + user[1:]}}

    # -- response URLs --------------------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        key = f"{request.match_info['id']}/{request.match_info['secret']}"
        if request.match_info["team"] != self.team_id or key not in self._response_keys:
            return web.Response(status=404, text="invalid_token")
        body = await request.json()
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")
                                               or body.get("delete_original")):
            return web.Response(status=400, text="no_text")
        if body.get("blocks"):
            problem = check_blocks(body["blocks"], limit=50)
            if problem:
                return web.Response(status=400, text="invalid_blocks")
        self.responses.append(Response(key, body, time.perf_counter()))
        await self._notify()
        return web.Response(text="ok")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
