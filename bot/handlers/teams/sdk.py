"""The Bot Framework SDK (botbuilder 4.17.1) behind one module: the only one that imports it.

botbuilder is archived upstream; its successor is the Microsoft 365 Agents SDK. Everything else
in ``bot/handlers/teams/`` works on plain activity dicts (Teams' JSON as sent) and on
:class:`TeamsTurn`, so moving SDKs means rewriting this module alone.

:meth:`TeamsSdk.process` is Slotbot's own ``process`` around ``CloudAdapter.process_activity``
(botbuilder's aiohttp ``process`` answers auth failures and invoke responses with 500):

1. the bearer token is read without trust first: no header, a malformed token, another issuer
   than ``TEAMS_TOKEN_ISSUER``, another algorithm than RS256 or an unknown key id is a 401 before
   botbuilder is asked. The signing keys come from :class:`~.signing_keys.SigningKeys` (aiohttp)
   and are handed to botbuilder's key cache, so botbuilder never fetches them itself with a
   blocking ``requests`` call on the event loop; when they cannot be fetched at all, 503;
2. botbuilder validates the token as the Bot Framework does: the RS256 signature, ``iss``,
   ``aud`` = the app id, the ``serviceurl`` claim equal to the activity's ``serviceUrl``, the
   key's endorsement of the activity's channel, expiry with 5 minutes' leeway. Any refusal: 401;
3. the turn runs; an invoke's answer is returned as JSON with its status, as is.

Outbound calls (replies, updates, typing, proactive messages, member profiles, new 1:1 chats) go
through the connector client on a pipeline of our own: the app's shared aiohttp session
(``TEAMS_CA_BUNDLE`` trust) and a bearer token from :class:`~.bot_token.BotToken` (msal in the
app's worker threads). Connector failures raise :class:`ConnectorError` with the HTTP status.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import jwt
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient  # type: ignore[import-untyped]
from botframework.connector.auth import (  # type: ignore[import-untyped]
    AuthenticationConfiguration,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    ConnectorFactory,
    JwtTokenExtractor,
    ServiceClientCredentialsFactory,
)
from botframework.connector.bot_framework_sdk_client_async import (  # type: ignore[import-untyped]
    BotFrameworkConnectorConfiguration,
)
from msrest.authentication import Authentication
from msrest.exceptions import HttpOperationError
from msrest.pipeline import Request, Response
from msrest.pipeline.async_abc import AsyncHTTPPolicy, AsyncHTTPSender, AsyncPipeline
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_abc import AsyncClientResponse

from bot.calendar.microsoft.msal_http import tls_context
from bot.calendar.threads import WorkerThreads
from bot.handlers.teams.bot_token import BotToken
from bot.handlers.teams.references import Reference
from bot.handlers.teams.signing_keys import KeysUnavailable, SigningKeys
from bot.settings import TeamsSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
CHANNEL_ID = "msteams"
CONNECTOR_SECONDS = 15.0
MAX_CONNECTORS = 64  # serviceUrls are regional: a handful per deployment
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to one POST: a status and a JSON body (None: no body)."""

    status: int
    body: Any = None


class ConnectorError(Exception):
    """The Bot Connector refused or failed a call; ``status`` is its HTTP status (None: no answer)."""

    def __init__(self, status: int | None, what: str) -> None:
        super().__init__(f"{what}: {status or 'no answer'}")
        self.status = status

    @property
    def permanent(self) -> bool:
        """Whether retrying cannot help (the bot was removed, the chat or user is gone)."""
        return self.status in (400, 403, 404)


async def _connector(call: Coroutine[Any, Any, T], what: str) -> T:
    try:
        return await call
    except HttpOperationError as exc:
        status = getattr(exc.response, "status_code", None)
        raise ConnectorError(int(status) if status else None, what) from None
    except (aiohttp.ClientError, TimeoutError):
        raise ConnectorError(None, what) from None


class TeamsTurn:
    """One inbound activity and the ways to answer it (in its conversation)."""

    def __init__(self, context: TurnContext, activity: Json) -> None:
        self._context = context
        self.activity = activity
        """The activity as Teams sent it (camelCase JSON)."""

    async def send(self, activity: Json) -> str | None:
        """Post ``activity`` in the turn's conversation (a reply to the inbound one); its id."""
        sent = await _connector(self._context.send_activity(Activity().deserialize(activity)), "reply")
        return str(sent.id) if sent is not None and sent.id else None

    async def update(self, activity_id: str, activity: Json) -> None:
        """Replace the message ``activity_id`` of this conversation (a card after a press)."""
        replacement = Activity().deserialize(activity)
        replacement.id = activity_id
        await _connector(self._context.update_activity(replacement), "update")

    async def answer(self, body: Json, status: int = 200) -> None:
        """The synchronous answer of an invoke (message extensions, card actions)."""
        await self._context.send_activity(Activity(
            type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body)))

    async def member(self, user_id: str) -> Json | None:
        """The profile of a member of this conversation (name, email...); None when unknown."""
        client: ConnectorClient = self._context.turn_state[self._context.adapter.BOT_CONNECTOR_CLIENT_KEY]
        team = ((self.activity.get("channelData") or {}).get("team") or {}).get("id")
        conversation = team or str((self.activity.get("conversation") or {}).get("id") or "")
        try:
            found = await _connector(
                client.conversations.get_conversation_member(conversation, user_id), "member")
        except ConnectorError as exc:
            log.warning("teams member profile unavailable", extra={"status": exc.status})
            return None
        serialized: Json = found.serialize() if found is not None else {}
        return {**serialized, **(getattr(found, "additional_properties", None) or {})} or None


OnActivity = Callable[[TeamsTurn], Awaitable[None]]


class TeamsSdk:
    """botbuilder's adapter, authentication and connector, set up for Slotbot (module docstring)."""

    def __init__(self, settings: TeamsSettings, http: Callable[[], aiohttp.ClientSession],
                 threads: WorkerThreads) -> None:
        self._settings = settings
        self._tls: ssl.SSLContext | bool = tls_context(settings.ca_bundle) if settings.ca_bundle else True
        self.keys = SigningKeys(settings.openid_metadata_url, http, self._tls)
        self.token = BotToken(settings, threads)
        connectors = _Connectors(self.token, http, self._tls)
        inner = BotFrameworkAuthenticationFactory.create(
            validate_authority=False,
            to_channel_from_bot_login_url=settings.authority,
            to_channel_from_bot_oauth_scope=settings.oauth_scope,
            to_bot_from_channel_token_issuer=settings.token_issuer,
            # Both key lookups botbuilder may make read the one metadata this module prefetches.
            to_bot_from_channel_open_id_metadata_url=settings.openid_metadata_url,
            to_bot_from_emulator_open_id_metadata_url=settings.openid_metadata_url,
            credential_factory=_Credentials(settings.app_id),
            auth_configuration=AuthenticationConfiguration(),
        )
        self._auth = _Authentication(inner, connectors)
        self._adapter = CloudAdapter(self._auth)

    # -- inbound --------------------------------------------------------------------------------

    async def process(self, body: bytes, authorization: str, on_activity: OnActivity) -> Answer:
        """Authenticate one POST to /api/messages and run its turn (see the module docstring)."""
        try:
            refusal = await self._precheck(authorization)
        except KeysUnavailable:
            return Answer(503, {"error": "signing keys unavailable"})
        if refusal:
            log.warning("teams activity refused", extra={"reason": refusal})
            return Answer(401, {"error": "unauthorized"})
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not an object")
            activity = Activity().deserialize(payload)
        except (ValueError, TypeError, AttributeError):
            return Answer(400, {"error": "not an activity"})
        try:
            result = await self._auth.authenticate_request(activity, authorization)
        except Exception as exc:  # botbuilder refuses with PermissionError, jwt errors, Exception
            log.warning("teams activity refused", extra={"reason": type(exc).__name__})
            return Answer(401, {"error": "unauthorized"})

        async def logic(context: TurnContext) -> None:
            await on_activity(TeamsTurn(context, payload))

        response = await self._adapter.process_activity(result, activity, logic)
        if response is None:
            return Answer(200)
        return Answer(int(response.status), response.body)

    async def _precheck(self, authorization: str) -> str | None:
        """Why the token is refused before botbuilder looks at it (None: let botbuilder check)."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return "no bearer token"
        try:
            unverified = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "malformed token"
        header, claims = unverified["header"], unverified["payload"]
        if claims.get("iss") != self._settings.token_issuer:
            return "issuer"
        if header.get("alg") != "RS256":
            return "algorithm"
        if not await self.keys.ensure(str(header.get("kid") or "")):
            return "unknown signing key"
        self._hand_keys_to_botbuilder()
        return None

    def _hand_keys_to_botbuilder(self) -> None:
        cached = JwtTokenExtractor.get_open_id_metadata(self._settings.openid_metadata_url)
        if cached.keys is not self.keys.keys:
            cached.keys = self.keys.keys
            # botbuilder's own clock is naive local time; it refetches keys older than a day.
            cached.last_updated = datetime.now()

    # -- outbound -------------------------------------------------------------------------------

    def _conversation_reference(self, reference: Reference) -> ConversationReference:
        return ConversationReference(
            channel_id=CHANNEL_ID,
            service_url=reference.service_url,
            conversation=ConversationAccount(id=reference.conversation_id, tenant_id=reference.tenant_id,
                                             conversation_type=reference.kind),
            bot=ChannelAccount(id=reference.bot_id, name=reference.bot_name or None),
            user=ChannelAccount(id=reference.user_id) if reference.user_id else None,
        )

    async def send_to(self, reference: Reference, activity: Json) -> str | None:
        """A proactive message in the conversation of ``reference``; the new message's id."""
        sent: list[str | None] = []

        async def logic(context: TurnContext) -> None:
            answer = await context.send_activity(Activity().deserialize(activity))
            sent.append(str(answer.id) if answer is not None and answer.id else None)

        await _connector(self._adapter.continue_conversation(
            self._conversation_reference(reference), logic, bot_app_id=self._settings.app_id),
            "proactive message")
        return sent[0] if sent else None

    async def open_personal(self, via: Reference, user_id: str) -> str:
        """Open (or find) the 1:1 chat of the bot and ``user_id`` in the tenant of ``via``; its id."""
        parameters = ConversationParameters(
            is_group=False, bot=ChannelAccount(id=via.bot_id), members=[ChannelAccount(id=user_id)],
            tenant_id=via.tenant_id, channel_data={"tenant": {"id": via.tenant_id}})
        found: list[str] = []

        async def logic(context: TurnContext) -> None:
            found.append(str(context.activity.conversation.id))

        await _connector(self._adapter.create_conversation(
            self._settings.app_id, logic, parameters, CHANNEL_ID, via.service_url, None),
            "create conversation")
        return found[0]


class _Authentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """botbuilder's parameterized authentication, with Slotbot's connector factory."""

    def __init__(self, inner: BotFrameworkAuthentication, connectors: ConnectorFactory) -> None:
        self._inner = inner
        self._connectors = connectors
        self._user_tokens: Any = None

    async def authenticate_request(self, activity: Activity, auth_header: str) -> Any:
        """Validate the token (botbuilder); outbound calls through our connector factory."""
        result = await self._inner.authenticate_request(activity, auth_header)
        result.connector_factory = self._connectors
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        """Not used by Teams over HTTP; refused."""
        raise PermissionError("streaming is not supported")

    def create_connector_factory(self, claims_identity: Any) -> ConnectorFactory:
        """Proactive turns: our connector factory."""
        return self._connectors

    async def create_user_token_client(self, claims_identity: Any) -> Any:
        """botbuilder's user token client, built once (Slotbot never asks it for user tokens;
        building one per turn cost milliseconds of the event loop's time in msrest)."""
        if self._user_tokens is None:
            self._user_tokens = await self._inner.create_user_token_client(claims_identity)
        return self._user_tokens



class _Credentials(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """What botbuilder asks of credentials: whose tokens are valid. Tokens come from BotToken."""

    def __init__(self, app_id: str) -> None:
        self._app_id = app_id

    async def is_valid_app_id(self, app_id: str) -> bool:
        """The token's audience must be this bot."""
        return bool(app_id) and app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        """Never: without an app id the channel is off."""
        return False

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str,
                                 validate_authority: bool) -> Authentication:
        """Placeholder credentials (our pipeline adds the bearer token itself)."""
        return Authentication()


class _Connectors(ConnectorFactory):  # type: ignore[misc]
    """Connector clients on Slotbot's pipeline (shared aiohttp session, BotToken bearer), one per
    serviceUrl: they hold no per-turn state, and msrest spends milliseconds building one."""

    def __init__(self, token: BotToken, http: Callable[[], aiohttp.ClientSession],
                 tls: ssl.SSLContext | bool) -> None:
        self._token = token
        self._http = http
        self._tls = tls
        self._clients: dict[str, ConnectorClient] = {}

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        """The connector client for ``service_url``."""
        client = self._clients.get(service_url)
        if client is None:
            def pipeline(config: Any) -> AsyncPipeline[Any, Any]:
                policies = [config.user_agent_policy, _Bearer(self._token), RawDeserializer(),
                            config.http_logger_policy]
                return AsyncPipeline(policies, _AiohttpSender(self._http, self._tls))

            config = BotFrameworkConnectorConfiguration(Authentication(), service_url, pipeline_type=pipeline)
            client = ConnectorClient(config.credentials, custom_configuration=config)
            if len(self._clients) >= MAX_CONNECTORS:
                self._clients.clear()
            self._clients[service_url] = client
        return client


class _Bearer(AsyncHTTPPolicy[Any, Any]):
    """Adds the bot's token to every connector request."""

    def __init__(self, token: BotToken) -> None:
        super().__init__()
        self._token = token

    async def send(self, request: Request[Any], **kwargs: Any) -> Response[Any, Any]:
        """Authorize, then send."""
        request.http_request.headers["Authorization"] = "Bearer " + await self._token.get()
        assert self.next is not None, "the bearer policy is never the pipeline's last hop"
        response: Response[Any, Any] = await self.next.send(request, **kwargs)
        return response


class _AiohttpSender(AsyncHTTPSender[Any, Any]):
    """msrest's last hop over the app's shared aiohttp session."""

    def __init__(self, http: Callable[[], aiohttp.ClientSession], tls: ssl.SSLContext | bool) -> None:
        self._http = http
        self._tls = tls

    async def __aenter__(self) -> _AiohttpSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def build_context(self) -> None:
        """No per-request context."""
        return None

    async def send(self, request: Request[Any], **config: Any) -> Response[Any, Any]:
        """Send one connector request."""
        http: ClientRequest = request.http_request
        timeout = aiohttp.ClientTimeout(total=CONNECTOR_SECONDS)
        async with self._http().request(http.method, http.url, headers=dict(http.headers),
                                        data=http.data, ssl=self._tls, timeout=timeout) as answer:
            body = await answer.read()
            received = _Received(http, answer.status, dict(answer.headers), answer.reason, body)
        return Response(request, received)


class _Received(AsyncClientResponse):
    """A connector answer, read whole (its own ``internal_response``: msrest's errors read the
    status from there)."""

    def __init__(self, request: ClientRequest, status: int, headers: dict[str, str],
                 reason: str | None, body: bytes) -> None:
        super().__init__(request, self)
        self.status_code = status
        self.headers = headers
        self.reason = reason
        self._body = body

    def body(self) -> bytes:
        """The whole body."""
        return self._body
