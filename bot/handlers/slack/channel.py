"""The Slack channel's running parts, built once from the app's state when first needed.

:class:`SlackChannel` holds the Bolt app (from :func:`bot.handlers.slack.install.build_bolt_app`, with the
listeners of ``bot.handlers.slack.listeners``), the request guard, the per-user rate limiter, the people
cache and the bot tokens. It is built lazily, on the first Slack request or the first notice,
because it needs the database engine and HTTP session that ``create_app``'s cleanup contexts open.

It also does the few things several listeners share: resolving a speaker, publishing a user's App
Home, delivering a notice as a direct message (:meth:`deliver`, registered on the chat notifier),
and running the work that follows an acknowledgement (:meth:`spawn`), so shutdown can wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.core import Conversation
from bot.conversation.reply import Reply
from bot.conversation.speaker import Speaker
from bot.handlers.slack.blocks import home_view, message
from bot.handlers.slack.guard import RateLimiter, RequestGuard, shared_seen_requests
from bot.handlers.slack.install import BotTokens, build_bolt_app, web_client
from bot.handlers.slack.people import CHANNEL, People, slack_error
from bot.keys import CONVERSATION, ENGINE, HTTP, IDENTITIES, SECRETS, SETTINGS, TEMPLATES
from bot.settings import SlackSettings
from storage.models import ChatIdentity

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 10.0
# Slack's answers that will not change by retrying a notice later.
PERMANENT_ERRORS = frozenset({
    "account_inactive", "channel_not_found", "invalid_auth", "is_archived", "missing_scope",
    "not_authed", "token_expired", "token_revoked", "user_not_found", "user_disabled",
    "cannot_dm_bot", "not_allowed_token_type", "ekm_access_denied",
})

Listen = Callable[[AsyncApp, "SlackChannel"], None]
# Where a request's claim (bot.handlers.slack.guard.Verdict.claim) travels in Bolt's context.
CLAIM = "slotbot_claim"


@dataclass
class _Runtime:
    bolt: AsyncApp
    guard: RequestGuard
    people: People
    tokens: BotTokens


class SlackChannel:
    """See the module docstring. ``listen`` adds the listeners to a newly built Bolt app."""

    def __init__(self, app: web.Application, listen: Listen) -> None:
        self._app = app
        self._listen = listen
        self._runtime: _Runtime | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.limiter = RateLimiter(app[SETTINGS].slack.user_requests_per_minute)

    @property
    def settings(self) -> SlackSettings:
        """The Slack settings."""
        return self._app[SETTINGS].slack

    def _built(self) -> _Runtime:
        if self._runtime is None:
            app, settings = self._app, self._app[SETTINGS]

            def render(title: str, text: str, status: int) -> str:
                return app[TEMPLATES].render("slack_install.html",
                                             {"title": title, "text": text, "status": status})

            bolt = build_bolt_app(settings.slack, base_url=settings.base_url, engine=app[ENGINE],
                                  box=app[SECRETS], session=app[HTTP], render=render)
            self._listen(bolt, self)
            self._runtime = _Runtime(
                bolt=bolt,
                guard=RequestGuard(settings.slack.signing_secret, shared_seen_requests(app[ENGINE])),
                people=People(app[IDENTITIES]),
                tokens=BotTokens(settings.slack, bolt),
            )
        return self._runtime

    @property
    def bolt(self) -> AsyncApp:
        """The Bolt app with Slotbot's listeners."""
        return self._built().bolt

    @property
    def guard(self) -> RequestGuard:
        """Signature, replay and retry checks."""
        return self._built().guard

    @property
    def people(self) -> People:
        """Slack profiles and speakers."""
        return self._built().people

    @property
    def conversation(self) -> Conversation:
        """The channel-neutral conversation core."""
        return self._app[CONVERSATION]

    def spawn(self, work: Coroutine[Any, Any, None], context: Mapping[str, Any] | None = None) -> None:
        """Run ``work`` after the acknowledgement; shutdown waits for it, failures are logged.

        With a request's ``context``, the work first waits for the request's claim (see
        :class:`~bot.handlers.slack.guard.Verdict`) and is dropped when another worker had the request.
        """
        claim = (context or {}).get(CLAIM)

        async def claimed() -> None:
            try:
                new = claim is None or await claim
            except BaseException:
                work.close()
                raise
            if new:
                await work
            else:
                work.close()

        self.keep(asyncio.get_running_loop().create_task(claimed()))

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold ``task`` until it ends (shutdown waits for it; a failure is logged)."""
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("slack work failed", exc_info=task.exception())

    async def idle(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Wait (at most ``seconds``) until the work started after acknowledgements is done."""
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        if others:
            await asyncio.wait(others, timeout=seconds)

    async def close(self, app: web.Application) -> None:
        """``on_shutdown``: let answers in progress finish."""
        await self.idle()

    async def speaker(self, client: AsyncWebClient, team_id: str, user_id: str) -> Speaker:
        """The Slotbot speaker of a Slack user."""
        return await self.people.speaker(client, team_id, user_id)

    async def publish_home(self, client: AsyncWebClient, user_id: str, speaker: Speaker) -> None:
        """Publish the user's App Home (logged, never raised: the home is a view, not an answer)."""
        try:
            reply = await self.conversation.home(speaker, now=datetime.now(UTC))
            await client.views_publish(user_id=user_id, view=home_view(reply))
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack home not published", extra={"error": _error(exc)})

    async def deliver(self, identity: ChatIdentity, reply: Reply) -> None:
        """Send a notice to a Slack user as a direct message, then refresh their App Home.

        Raises on errors worth retrying (the outbox retries with backoff); a workspace that
        uninstalled Slotbot or a deactivated user is logged and skipped.
        """
        runtime = self._built()
        token = await runtime.tokens.token(identity.tenant)
        if token is None:
            log.warning("slack notice skipped: not installed in the workspace",
                        extra={"team": identity.tenant})
            return
        client = web_client(self.settings, self._app[HTTP], token)
        try:
            await client.chat_postMessage(channel=identity.external_id, **message(reply))
        except SlackApiError as exc:
            if _error(exc) in PERMANENT_ERRORS:
                log.warning("slack notice dropped", extra={"error": _error(exc), "team": identity.tenant})
                return
            raise
        speaker = await self._app[IDENTITIES].resolve(CHANNEL, identity.tenant, identity.external_id)
        await self.publish_home(client, identity.external_id, speaker)


def _error(exc: BaseException) -> str:
    return slack_error(exc)
