"""How Slotbot is installed in Slack: the Bolt app, OAuth installs, and bot tokens for notices.

Two modes, chosen by the settings (:class:`~bot.settings.SlackSettings`):

* **multi-workspace** (``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET``): workspaces install the app
  through OAuth v2 (``/slack/install`` -> Slack -> ``/slack/oauth_redirect``). Installations live in
  Slotbot's database through slack_sdk's ``AsyncSQLAlchemyInstallationStore`` (its tokens sealed at
  rest, :class:`SealedInstallationStore`) and ``AsyncSQLAlchemyOAuthStateStore``; the tables come
  from migration 0005. With token rotation on, Bolt refreshes an expiring bot token before it
  handles a request, and :class:`BotTokens` does the same for notices sent outside a request.
* **single workspace** (``SLACK_BOT_TOKEN``): one static bot token, no install pages.

Every Web API call goes to ``SLACK_API_BASE`` through the app's shared HTTP session, retrying a
429 after its ``Retry-After`` (twice) and connection errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.handlers.slack.manifest import BOT_SCOPES, INSTALL_PATH, REDIRECT_PATH
from bot.settings import SlackSettings
from storage.crypto import SecretBox
from storage.slack_tables import installation_tables

log = logging.getLogger(__name__)

# Refresh a rotating token when it has less than this left (Bolt's default).
ROTATE_BEFORE_MINUTES = 120
STATE_SECONDS = 600

# Renders the result page of an install: (title, text, status) -> HTML.
PageRenderer = Callable[[str, str, int], str]


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with its tokens sealed by a :class:`SecretBox`."""

    def __init__(self, client_id: str, engine: AsyncEngine, box: SecretBox) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.metadata = MetaData()
        self.installations, self.bots = installation_tables(self.metadata, box)


def web_client(
    settings: SlackSettings, session: aiohttp.ClientSession, token: str | None = None
) -> AsyncWebClient:
    """A Web API client for ``SLACK_API_BASE`` on the shared session (429s and resets retried)."""
    return AsyncWebClient(
        token=token,
        base_url=settings.api_base,
        session=session,
        logger=logging.getLogger("slotbot.slack.web"),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


_FAILURES = {
    "access_denied": ("Installation cancelled", "Slotbot was not added to your workspace."),
    "invalid_browser": (
        "Please start again",
        "The installation must finish in the browser it started in. Open the install link again.",
    ),
    "invalid_state": (
        "This install link has expired",
        "Install links work once and for 10 minutes. Open the install link again.",
    ),
}


def _callbacks(render: PageRenderer) -> AsyncCallbackOptions:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        team = args.installation.team_name or "your workspace"
        text = f"Slotbot is now in {team}. Open Slack and type /meet help, or open Slotbot's Home tab."
        return BoltResponse(status=200, body=render("Slotbot is installed", text, 200),
                            headers={"Content-Type": "text/html; charset=utf-8"})

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        title, text = _FAILURES.get(args.reason, (
            "Installation failed",
            "Slack did not complete the installation. Please try again in a moment.",
        ))
        log.warning("slack install failed", extra={"reason": args.reason})
        status = args.suggested_status_code
        return BoltResponse(status=status, body=render(title, text, status),
                            headers={"Content-Type": "text/html; charset=utf-8"})

    return AsyncCallbackOptions(success=success, failure=failure)


def build_bolt_app(
    settings: SlackSettings,
    *,
    base_url: str,
    engine: AsyncEngine,
    box: SecretBox,
    session: aiohttp.ClientSession,
    render: PageRenderer,
) -> AsyncApp:
    """The Bolt app for ``settings`` (listeners are added by ``bot.handlers.slack.listeners``).

    Listeners run before the HTTP answer (``process_before_response``): they acknowledge and hand
    their work to a task of their own, so no listener runs on Bolt's 10 ms acknowledgement poll.
    """
    token = None if settings.multi_workspace else settings.bot_token
    client = web_client(settings, session, token)
    bolt_logger = logging.getLogger("slotbot.slack.bolt")
    if not settings.multi_workspace:
        return AsyncApp(signing_secret=settings.signing_secret, client=client, logger=bolt_logger,
                        process_before_response=True)
    store = SealedInstallationStore(settings.client_id, engine, box)
    oauth = AsyncOAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=sorted(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=base_url + REDIRECT_PATH,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,  # straight to Slack; no third-party page assets
        redirect_uri_path=REDIRECT_PATH,
        callback_options=_callbacks(render),
        authorization_url=settings.authorize_url,
        installation_store=store,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        state_store=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, logger=log
        ),
        state_expiration_seconds=STATE_SECONDS,
        logger=bolt_logger,
    )
    authorize = AsyncInstallationStoreAuthorize(
        logger=bolt_logger,
        installation_store=store,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
        cache_enabled=True,  # one auth.test per token, not per request
        client=client,
    )
    # Bolt accepts an AsyncAuthorize instance here, though its annotation names only callables.
    return AsyncApp(signing_secret=settings.signing_secret, client=client, logger=bolt_logger,
                    installation_store=store, authorize=authorize,  # type: ignore[arg-type]
                    oauth_settings=oauth,
                    process_before_response=True)


class BotTokens:
    """The bot token of a workspace, for messages sent outside a Slack request (notices).

    Rotating tokens are refreshed like Bolt does (the whole installation, bot and installer
    rows, saved), so the next request and the next notice agree on the current refresh token.
    """

    def __init__(self, settings: SlackSettings, app: AsyncApp) -> None:
        self._settings = settings
        self._store = app.installation_store if settings.multi_workspace else None
        self._rotator = AsyncTokenRotator(
            client_id=settings.client_id, client_secret=settings.client_secret, client=app.client
        ) if settings.multi_workspace else None

    async def token(self, team_id: str) -> str | None:
        """The workspace's current bot token, or None when Slotbot is not installed there."""
        if self._store is None or self._rotator is None:
            return self._settings.bot_token or None
        installation = await self._store.async_find_installation(enterprise_id=None, team_id=team_id)
        if installation is None:
            return None
        if installation.bot_refresh_token or installation.user_refresh_token:
            refreshed = await self._rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=ROTATE_BEFORE_MINUTES
            )
            if refreshed is not None:
                await self._store.async_save(refreshed)
                installation = refreshed
        token: Any = installation.bot_token
        return str(token) if token else None
