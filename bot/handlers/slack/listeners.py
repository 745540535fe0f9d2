"""Slack: Bolt listeners -> the conversation core; replies rendered as Block Kit.

Routes (mounted by :func:`setup` when Slack is configured): ``POST /slack/events`` receives slash
commands, events and interactions (one Request URL for all, as in ``manifest.json``);
``GET /slack/install`` and ``GET /slack/oauth_redirect`` install the app in a workspace (OAuth
mode). Every request passes the guard first (signature, replay, retried event), then Bolt.

What each Slack input becomes:

* ``/meet <text>`` -> :meth:`Conversation.command`. Acknowledged at once (within Slack's 3 s
  whatever the calendars do); the answer follows through the ``response_url``: ephemeral when
  the reply is private, in the channel otherwise.
* a direct message (``message.im``) or a mention (``app_mention``) -> :meth:`Conversation.message`;
  private replies to a mention are ephemeral.
* a button (``block_actions``) -> :meth:`Conversation.action`; a public answer (``share_link``)
  is posted in the conversation, a private one replaces the message the button was on.
* ``app_home_opened`` -> :meth:`Conversation.home` -> views.publish (refreshed after actions,
  state-changing commands and notices).
* ``link_shared`` -> :meth:`Conversation.unfurl` -> chat.unfurl for Slotbot's own links.

Notices (bookings, lost calendars...) reach Slack users through :meth:`SlackChannel.deliver`,
registered on the chat notifier for the channel ``"slack"``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.say.async_say import AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.reply import Reply, Text
from bot.conversation.speaker import Speaker
from bot.handlers.site import add_start_link
from bot.handlers.slack.blocks import message, parse_action_id, unfurl
from bot.handlers.slack.channel import CLAIM, SlackChannel
from bot.handlers.slack.manifest import COMMAND, EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH
from bot.handlers.slack.texts import language, slow_down_text, sorry_text
from bot.keys import CHAT_NOTIFIER, OUTBOX_REGISTRARS, SETTINGS
from bot.notices.outbox import OutboxWorker

log = logging.getLogger(__name__)

SLACK_CHANNEL = web.AppKey("slack_channel", SlackChannel)
# Commands that only read: no App Home refresh after them.
READ_ONLY = frozenset({"", "free", "help", "link", "pages", "calendars"})
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def setup(app: web.Application) -> None:
    """Mount the Slack routes and notices when Slack is configured."""
    settings = app[SETTINGS].slack
    if not settings.configured:
        if settings.enabled:
            log.warning("SLACK_SIGNING_SECRET is set but neither SLACK_BOT_TOKEN nor "
                        "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: Slack stays off")
        return
    channel = SlackChannel(app, listen)
    app[SLACK_CHANNEL] = channel
    app.router.add_post(EVENTS_PATH, events)
    app.router.add_get(INSTALL_PATH, install)
    app.router.add_get(REDIRECT_PATH, oauth_redirect)
    app.on_shutdown.append(channel.close)  # before cleanup closes the HTTP session and database

    def register_notices(app: web.Application, worker: OutboxWorker) -> None:
        app[CHAT_NOTIFIER].register("slack", channel.deliver)

    app.setdefault(OUTBOX_REGISTRARS, []).append(register_notices)  # as bot.app.add_outbox_handlers
    if settings.multi_workspace:
        add_start_link(app, INSTALL_PATH, "Add to Slack", "Install Slotbot in a Slack workspace.")


async def events(request: web.Request) -> web.Response:
    """Every Slack request: guard, then Bolt. A delivery answered with an error (or not answered)
    is released, so Slack's retry of it is handled rather than taken for a duplicate."""
    channel = request.app[SLACK_CHANNEL]
    guard = channel.guard
    verdict = await guard.check(await request.read(), request.headers)
    if verdict.response is not None:
        return verdict.response
    try:
        bolt_request = await to_bolt_request(request)
        if verdict.claim is not None:
            channel.keep(verdict.claim)
            bolt_request.context[CLAIM] = verdict.claim
        response = await to_aiohttp_response(await channel.bolt.async_dispatch(bolt_request))
    except asyncio.CancelledError:  # the connection went away: Slack will retry
        channel.keep(asyncio.get_running_loop().create_task(guard.release(verdict)))
        raise
    except Exception:
        await guard.release(verdict)
        raise
    if response.status >= 500:
        await guard.release(verdict)
    return response


async def install(request: web.Request) -> web.Response:
    """Start installing the app in a workspace (OAuth mode)."""
    flow = request.app[SLACK_CHANNEL].bolt.oauth_flow
    if flow is None:
        raise web.HTTPNotFound(reason="This Slotbot serves one Slack workspace, set up with a bot token")
    return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))


async def oauth_redirect(request: web.Request) -> web.Response:
    """Finish an install: Slack sends the workspace's admin back here with a code."""
    flow = request.app[SLACK_CHANNEL].bolt.oauth_flow
    if flow is None:
        raise web.HTTPNotFound(reason="This Slotbot serves one Slack workspace, set up with a bot token")
    return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))


def _now() -> datetime:
    return datetime.now(UTC)


def _sorry(locale: str | None) -> Reply:
    return Reply((Text(sorry_text(locale)),))


def listen(bolt: AsyncApp, channel: SlackChannel) -> None:
    """Add Slotbot's listeners to ``bolt``.

    Each listener acknowledges at once and hands the rest to :meth:`SlackChannel.spawn`, so the
    HTTP answer never waits for calendars, the database or the Web API.
    """

    async def answer(client: AsyncWebClient, team: str, user: str,
                     ask: Callable[[Speaker], Awaitable[Reply]]) -> tuple[Reply, Speaker | None]:
        """Resolve the speaker and ask the conversation; a failure becomes an apology."""
        speaker = None
        try:
            speaker = await channel.speaker(client, team, user)
            return await ask(speaker), speaker
        except Exception:
            log.exception("slack request failed")
            locale = speaker.locale if speaker else channel.people.cached_locale(team, user)
            return _sorry(locale), speaker

    def limited(team: str, user: str) -> str | None:
        wait = channel.limiter.wait(f"{team}:{user}")
        return slow_down_text(channel.people.cached_locale(team, user), wait) if wait else None

    @bolt.command(COMMAND)
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         client: AsyncWebClient, context: AsyncBoltContext) -> None:
        team, user = str(context.team_id), str(context.user_id)
        refusal = limited(team, user)
        if refusal:
            await ack(text=refusal, response_type="ephemeral")
            return
        await ack()
        text = (command.get("text") or "").strip()

        async def work() -> None:
            reply, speaker = await answer(client, team, user,
                                          lambda s: channel.conversation.command(s, text, now=_now()))
            await respond(**message(reply), response_type="ephemeral" if reply.private else "in_channel")
            first = text.split()[0].lower() if text else ""
            if speaker is not None and first not in READ_ONLY:
                await channel.publish_home(client, user, speaker)

        channel.spawn(work(), context)

    @bolt.event("message")
    async def on_message(event: dict[str, Any], say: AsyncSay, client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        text = (event.get("text") or "").strip()
        team, user = str(context.team_id), str(context.user_id)
        if not text:
            return
        thread = event.get("thread_ts")

        async def work() -> None:
            refusal = limited(team, user)
            if refusal:
                await say(text=refusal, thread_ts=thread)
                return
            reply, _ = await answer(client, team, user,
                                    lambda s: channel.conversation.message(s, text, now=_now()))
            await say(**message(reply), thread_ts=thread)

        channel.spawn(work(), context)

    @bolt.event("app_mention")
    async def on_mention(event: dict[str, Any], client: AsyncWebClient,
                         context: AsyncBoltContext) -> None:
        team, user = str(context.team_id), str(context.user_id)
        where = {"channel": event["channel"], "thread_ts": event.get("thread_ts")}
        text = _MENTION.sub("", event.get("text") or "").strip()

        async def work() -> None:
            refusal = limited(team, user)
            if refusal:
                await client.chat_postEphemeral(user=user, text=refusal, **where)
                return
            reply, _ = await answer(client, team, user,
                                    lambda s: channel.conversation.message(s, text, now=_now()))
            if reply.private:
                await client.chat_postEphemeral(user=user, **message(reply), **where)
            else:
                await client.chat_postMessage(**message(reply), **where)

        channel.spawn(work(), context)

    @bolt.action(re.compile(r"^slotbot:"))
    async def on_action(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                        respond: AsyncRespond, client: AsyncWebClient,
                        context: AsyncBoltContext) -> None:
        await ack()
        name = parse_action_id(str(action.get("action_id", "")))
        if name is None or name == "open":
            return
        team, user = str(context.team_id), str(context.user_id)
        has_url = bool(body.get("response_url"))
        value = str(action.get("value") or "")

        async def work() -> None:
            refusal = limited(team, user)
            if refusal:
                if has_url:
                    await respond(text=refusal, response_type="ephemeral", replace_original=False)
                return
            reply, speaker = await answer(
                client, team, user, lambda s: channel.conversation.action(s, name, value, now=_now()))
            if has_url and not reply.private:  # e.g. share_link: posted for everyone, the menu stays
                await respond(**message(reply), response_type="in_channel", replace_original=False)
            elif has_url:
                await respond(**message(reply), response_type="ephemeral", replace_original=True)
            else:  # a button on the App Home: the answer goes to the user's messages tab
                await client.chat_postMessage(channel=user, **message(reply))
            if speaker is not None and name != "share_link":
                await channel.publish_home(client, user, speaker)

        channel.spawn(work(), context)

    @bolt.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("tab") != "home":
            return
        team, user = str(context.team_id), str(context.user_id)

        async def work() -> None:
            if limited(team, user):
                return
            speaker = await channel.speaker(client, team, user)
            await channel.publish_home(client, user, speaker)

        channel.spawn(work(), context)

    @bolt.event("link_shared")
    async def on_link_shared(event: dict[str, Any], client: AsyncWebClient,
                             context: AsyncBoltContext) -> None:
        team, user = str(context.team_id), str(event.get("user") or context.user_id)

        async def work() -> None:
            if limited(team, user):
                return
            profile = await channel.people.profile(client, team, user)
            locale = language(profile.locale if profile else None)
            unfurls: dict[str, Any] = {}
            for link in event.get("links") or []:
                url = str(link.get("url") or "")
                reply = await channel.conversation.unfurl(url, now=_now(), locale=locale) if url else None
                if reply is not None:
                    unfurls[url] = unfurl(reply)
            if not unfurls:
                return
            if event.get("unfurl_id") and event.get("source"):
                await client.chat_unfurl(unfurl_id=event["unfurl_id"], source=event["source"],
                                         unfurls=unfurls)
            else:
                await client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)

        channel.spawn(work(), context)

    if bolt.installation_store is not None:
        bolt.enable_token_revocation_listeners()
    else:
        async def ignore() -> None:
            """One bot token: nothing is stored, so an uninstall needs no clean-up here."""

        bolt.event("tokens_revoked")(ignore)
        bolt.event("app_uninstalled")(ignore)
