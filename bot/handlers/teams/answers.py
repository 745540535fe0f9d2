"""Messages and button presses -> the conversation core -> Adaptive Cards in the right chat.

:func:`on_message` runs after the HTTP 200 (``listeners.py`` spawns it): a typing activity
first, then the answer. In a personal chat every message is answered; in channels and group
chats only an @mention of the bot, with the mention stripped. A private answer to a mention
(sign-in links, calendar health, free time: everything the core marks private) goes to the
user's 1:1 chat, opened when needed, and the channel gets a one-line note; a public one is
answered in the thread. ``/meet ...`` is the slash command's grammar, as on the web.

A button press arrives as an ``adaptiveCard/action`` invoke (``Action.Execute``,
:func:`on_card_action`: the answer card replaces the pressed one) or as a message whose ``value``
holds the data (``Action.Submit``: the pressed message is updated). Sharing a link posts it for
everyone in the conversation the answer was for (``to``, when it was sent to the 1:1 chat on
behalf of a channel) and confirms in place.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import Any

from bot.conversation.reply import Reply
from bot.conversation.speaker import Speaker
from bot.handlers.teams import cards
from bot.handlers.teams.channel import TeamsChannel
from bot.handlers.teams.people import locale_of
from bot.handlers.teams.references import PERSONAL, reference_of, tenant_of
from bot.handlers.teams.sdk import TeamsTurn
from bot.handlers.teams.texts import sent_privately_text, shared_text, sorry_text

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<at>(.*?)</at>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _now() -> datetime:
    return datetime.now(UTC)


def _bot_id(activity: dict[str, Any]) -> str:
    return str((activity.get("recipient") or {}).get("id") or "")


def _bot_mentions(activity: dict[str, Any]) -> list[str]:
    """The texts (``<at>Slotbot</at>``) of the activity's mentions of the bot."""
    bot = _bot_id(activity)
    return [str(entity.get("text") or "") for entity in activity.get("entities") or []
            if isinstance(entity, dict) and entity.get("type") == "mention"
            and (entity.get("mentioned") or {}).get("id") == bot]


def mentions_bot(activity: dict[str, Any]) -> bool:
    """Whether the message @mentions the bot."""
    return bool(_bot_mentions(activity))


def message_text(activity: dict[str, Any]) -> str:
    """The message's text without the bot's mention and markup (other mentions keep the name)."""
    text = str(activity.get("text") or "")
    for mention in _bot_mentions(activity):
        if mention:
            text = text.replace(mention, " ")
    text = _TAG.sub(" ", _MENTION.sub(r"\1", text))
    return " ".join(html.unescape(text).split())


def conversation_kind(activity: dict[str, Any]) -> str:
    """``personal``, ``channel`` or ``groupChat``."""
    return str((activity.get("conversation") or {}).get("conversationType") or PERSONAL)


async def _ask(channel: TeamsChannel, speaker: Speaker, text: str) -> Reply:
    if text.startswith("/meet"):
        return await channel.conversation.command(speaker, text.removeprefix("/meet").strip(), now=_now())
    return await channel.conversation.message(speaker, text, now=_now())


async def on_message(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """Answer a message (see the module docstring)."""
    activity = turn.activity
    press = cards.pressed(activity.get("value"))
    if press is not None:
        await _submitted(channel, turn, *press)
        return
    personal = conversation_kind(activity) == PERSONAL
    text = message_text(activity)
    if (not personal and not mentions_bot(activity)) or not text:
        return
    await turn.send({"type": "typing"})
    reference = reference_of(activity)
    if reference is not None:
        await channel.remember(reference)
    speaker: Speaker | None = None
    try:
        speaker = await channel.people.speaker(turn)
        reply = await _ask(channel, speaker, text)
    except Exception:
        log.exception("teams message failed")
        await turn.send(cards.text_message(sorry_text(speaker.locale if speaker else locale_of(activity))))
        return
    if personal or not reply.private:
        await turn.send(cards.message(reply))
        return
    conversation_id = str(activity["conversation"]["id"])
    user_id = str((activity.get("from") or {}).get("id") or "")
    sent = await channel.to_personal(tenant_of(activity), user_id,
                                     cards.message(reply, origin=conversation_id), via=reference)
    speaker = await channel.people.speaker(turn)  # "language pt" may have changed it
    note = sent_privately_text(speaker.locale) if sent else sorry_text(speaker.locale)
    await turn.send(cards.text_message(note))


async def _press(channel: TeamsChannel, turn: TeamsTurn, action: str, value: str, to: str
                 ) -> tuple[Reply | None, str]:
    """Answer a pressed button: the reply to show in place, or (after a share) a confirmation."""
    speaker = await channel.people.speaker(turn)
    reply = await channel.conversation.action(speaker, action, value, now=_now())
    if action != "share_link":
        return reply, ""
    shared = cards.message(reply)
    target = await channel.conversations.get(tenant_of(turn.activity), to) if to else None
    if target is not None:
        await channel.sdk.send_to(target, shared)
    else:
        await turn.send(shared)
    return None, shared_text(speaker.locale)


async def on_card_action(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """``adaptiveCard/action`` (``Action.Execute``): answer with the card that replaces it."""
    activity = turn.activity
    data = ((activity.get("value") or {}).get("action") or {}).get("data")
    press = cards.pressed(data)
    if press is None:
        await turn.answer(cards.invoke_message("…"))
        return
    try:
        reply, confirmation = await _press(channel, turn, *press)
    except Exception:
        log.exception("teams card action failed")
        await turn.answer(cards.invoke_message(sorry_text(locale_of(activity))))
        return
    if reply is not None:
        await turn.answer(cards.invoke_card(cards.card(reply)))
    else:
        await turn.answer(cards.invoke_message(confirmation))


async def _submitted(channel: TeamsChannel, turn: TeamsTurn, action: str, value: str, to: str) -> None:
    """``Action.Submit``: update the pressed message with the answer."""
    activity = turn.activity
    try:
        reply, confirmation = await _press(channel, turn, action, value, to)
    except Exception:
        log.exception("teams card submit failed")
        await turn.send(cards.text_message(sorry_text(locale_of(activity))))
        return
    pressed_on = activity.get("replyToId")
    if reply is not None and pressed_on:
        await turn.update(str(pressed_on), cards.message(reply))
    elif reply is not None:
        await turn.send(cards.message(reply))
    elif to and to != (activity.get("conversation") or {}).get("id"):
        await turn.send(cards.text_message(confirmation))
