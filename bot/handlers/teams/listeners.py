"""Teams: ``POST /api/messages`` -> the Bot Framework SDK -> the conversation core.

Mounted by :func:`setup` when ``TEAMS_APP_ID`` is set (otherwise ``/api/messages`` is a 404).
Every request is authenticated by :meth:`TeamsSdk.process` (401 for any refusal), then
:func:`on_activity` decides, for activities of the ``msteams`` channel and the bot's own tenant:

* ``message``: a text (personal chat; an @mention elsewhere) or an ``Action.Submit`` press ->
  :func:`~.answers.on_message`, after the HTTP 200;
* ``installationUpdate`` / ``conversationUpdate``: the conversation reference is stored (and
  forgotten when the app is removed); the first time the bot is added to a conversation it
  posts a welcome card (the help);
* ``invoke``: answered in the HTTP response: ``adaptiveCard/action`` (:func:`~.answers.on_card_action`),
  ``composeExtension/query``, ``queryLink`` and ``anonymousQueryLink`` (:mod:`.extension`); any
  other invoke is not implemented (501).

Messages and install events are handled once per activity id (Teams redelivers when an answer
is slow). Notices reach Teams users through :meth:`TeamsChannel.deliver`, registered on the chat
notifier for the channel ``"teams"``.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from bot.calendar.threads import WorkerThreads
from bot.conversation.core import help_reply
from bot.conversation.reply import Reply, Text
from bot.handlers.teams import answers, cards, demo, extension
from bot.handlers.teams.channel import TeamsChannel
from bot.handlers.teams.people import locale_of
from bot.handlers.teams.references import reference_of, tenant_of
from bot.handlers.teams.sdk import CHANNEL_ID, TeamsTurn
from bot.handlers.teams.texts import language, welcome_text
from bot.keys import CHAT_NOTIFIER, OUTBOX_REGISTRARS, SETTINGS
from bot.notices.outbox import OutboxWorker

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
TEAMS_CHANNEL = web.AppKey("teams_channel", TeamsChannel)
HANDLED_ONCE = frozenset({"message", "installationUpdate", "conversationUpdate"})


def setup(app: web.Application, threads: WorkerThreads) -> None:
    """Mount ``/api/messages`` and the Teams notices when Teams is configured (and, in the demo,
    the Teams preview page, which needs no tenant)."""
    if app[SETTINGS].demo:
        demo.setup(app)
    if not app[SETTINGS].teams.enabled:
        return
    channel = TeamsChannel(app, threads)
    app[TEAMS_CHANNEL] = channel
    app.router.add_post(MESSAGES_PATH, messages)
    app.on_shutdown.append(channel.close)  # before cleanup closes the HTTP session and database

    def register_notices(app: web.Application, worker: OutboxWorker) -> None:
        app[CHAT_NOTIFIER].register("teams", channel.deliver)

    app.setdefault(OUTBOX_REGISTRARS, []).append(register_notices)  # as bot.app.add_outbox_handlers


async def messages(request: web.Request) -> web.Response:
    """Every activity Teams sends."""
    channel = request.app[TEAMS_CHANNEL]

    async def on_turn(turn: TeamsTurn) -> None:
        await on_activity(channel, turn)

    with channel.answering():
        answer = await channel.sdk.process(
            await request.read(), request.headers.get("Authorization", ""), on_turn)
    if answer.body is None:
        return web.Response(status=answer.status)
    return web.json_response(answer.body, status=answer.status)


async def on_activity(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """Route one authenticated activity (see the module docstring)."""
    activity = turn.activity
    if activity.get("channelId") != CHANNEL_ID:
        return
    if tenant_of(activity) != channel.settings.tenant_id:
        log.warning("teams activity from another tenant ignored")
        return
    kind = activity.get("type")
    if kind == "invoke":
        await _invoke(channel, turn)
        return
    if kind not in HANDLED_ONCE:
        return
    key = f"{(activity.get('conversation') or {}).get('id')}:{activity.get('id')}"
    if activity.get("id") and not await channel.first_time(key):
        log.info("teams activity redelivered", extra={"type": kind})
        return
    channel.spawn(_after_the_answer(channel, turn, key))


async def _after_the_answer(channel: TeamsChannel, turn: TeamsTurn, key: str) -> None:
    await channel.after_the_answers()
    if not await channel.claim(key):
        log.info("teams activity handled by another worker")
        return
    if turn.activity.get("type") == "message":
        await answers.on_message(channel, turn)
    else:
        await _installed(channel, turn)


async def _invoke(channel: TeamsChannel, turn: TeamsTurn) -> None:
    name = turn.activity.get("name")
    if name == "adaptiveCard/action":
        await answers.on_card_action(channel, turn)
    elif name == extension.QUERY:
        await extension.on_query(channel, turn)
    elif name in extension.LINK_QUERIES:
        await extension.on_link(channel, turn)


def _bot_among(activity: dict[str, Any], key: str) -> bool:
    bot = (activity.get("recipient") or {}).get("id")
    return any(isinstance(m, dict) and m.get("id") == bot for m in activity.get(key) or [])


async def _installed(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """Install events: keep (or forget) the conversation's reference; welcome once."""
    activity = turn.activity
    reference = reference_of(activity)
    if reference is None:
        return
    action = str(activity.get("action") or "")
    removed = action.startswith("remove") or _bot_among(activity, "membersRemoved")
    if removed:
        await channel.conversations.forget(reference.tenant_id, reference.conversation_id)
        channel.forget_known(reference)
        return
    added = action.startswith("add") or _bot_among(activity, "membersAdded")
    if await channel.remember(reference) and added:
        locale = language(locale_of(activity))
        welcome = Reply((Text(welcome_text(locale)), *help_reply(locale).blocks))
        await turn.send(cards.message(welcome))
