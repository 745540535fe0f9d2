"""Adaptive Cards (plain dicts) rendered from the conversation's :class:`Reply` values.

:func:`card` lays a reply out: a :class:`Text` is a wrapping ``TextBlock``, a :class:`Section` a
bold heading with its lines, :class:`Fields` a ``FactSet`` and consecutive :class:`Button` s one
``ActionSet``, where links are ``Action.OpenUrl`` and actions (share, disconnect, settings...)
``Action.Execute`` (schema 1.4+; Teams sends an ``adaptiveCard/action`` invoke and shows the card
the bot answers in place of the pressed one) or, in 1.3 cards, ``Action.Submit`` (a message with
the data as ``value``). Every card carries the reply's plain text as ``fallbackText``, and
:func:`message` puts it in the activity's ``summary`` (notifications).

Messages use schema 1.5; unfurls and message-extension results 1.3 (what Teams renders there),
wrapped by :func:`extension_result` with a thumbnail preview. Button data is
``{"slotbot": <action>, "value": ..., "to": <conversation id>}`` (``to``: where a share posts
when the card was sent to a 1:1 chat on behalf of a channel); :func:`pressed` reads it back.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.reply import Button, Fields, Reply, Section, Text

ADAPTIVE = "application/vnd.microsoft.card.adaptive"
THUMBNAIL = "application/vnd.microsoft.card.thumbnail"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MESSAGE_VERSION = "1.5"
EXTENSION_VERSION = "1.3"
ACTIONS = frozenset({"share_link", "disconnect", "connect", "settings", "schedule_meeting"})
TEXT_CHARS = 4000
FALLBACK_CHARS = 2000
SUMMARY_CHARS = 200
MAX_ELEMENTS = 100
LABEL_CHARS = 60

Json = dict[str, Any]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_block(text: str, **style: Any) -> Json:
    return {"type": "TextBlock", "text": _shorten(text, TEXT_CHARS), "wrap": True, **style}


def _section(block: Section) -> Json:
    items: list[Json] = []
    if block.heading.strip():
        items.append(_text_block(block.heading, weight="Bolder"))
    items.extend(_text_block(line, spacing="None") for line in block.lines)
    return {"type": "Container", "items": items or [_text_block(" ")]}


def _action(button: Button, n: int, *, version: str, origin: str) -> Json:
    title = _shorten(button.label.strip() or "…", LABEL_CHARS)
    if button.url:
        action: Json = {"type": "Action.OpenUrl", "title": title, "url": button.url}
    else:
        data: Json = {"slotbot": button.action or "", "value": button.value}
        if origin:
            data["to"] = origin
        if version == EXTENSION_VERSION:
            action = {"type": "Action.Submit", "title": title, "data": data}
        else:
            action = {"type": "Action.Execute", "title": title, "verb": f"slotbot.{button.action}",
                      "data": data}
    action["id"] = f"slotbot-{n}"
    if button.primary:
        action["style"] = "positive"
    return action


def card(reply: Reply, *, version: str = MESSAGE_VERSION, origin: str = "") -> Json:
    """The Adaptive Card of ``reply`` (``origin``: the conversation a share button posts to)."""
    body: list[Json] = []
    actions: list[Json] = []

    def flush() -> None:
        if actions:
            body.append({"type": "ActionSet", "actions": list(actions)})
            actions.clear()

    for n, block in enumerate(reply.blocks):
        if isinstance(block, Button):
            if block.url or block.action:
                actions.append(_action(block, n, version=version, origin=origin))
            continue
        flush()
        if isinstance(block, Text):
            body.append(_text_block(block.text))
        elif isinstance(block, Section):
            body.append(_section(block))
        elif isinstance(block, Fields):
            body.append({"type": "FactSet", "facts": [
                {"title": _shorten(label, LABEL_CHARS), "value": _shorten(value, TEXT_CHARS)}
                for label, value in block.pairs]})
    flush()
    if len(body) > MAX_ELEMENTS:
        body = [*body[: MAX_ELEMENTS - 1], _text_block("…")]
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": version,
            "body": body or [_text_block("…")],
            "fallbackText": _shorten(reply.plain_text(), FALLBACK_CHARS) or "…",
            "msteams": {"width": "Full"}}


def attachment(content: Json) -> Json:
    """A card as an activity attachment."""
    return {"contentType": ADAPTIVE, "content": content}


def summary(reply: Reply) -> str:
    """The notification preview of ``reply``: its first paragraph."""
    first = reply.plain_text().strip().split("\n", 1)[0]
    return _shorten(first, SUMMARY_CHARS) or "Slotbot"


def message(reply: Reply, *, origin: str = "") -> Json:
    """A message activity showing ``reply`` as a card (``summary``: the text fallback)."""
    return {"type": "message", "summary": summary(reply),
            "attachments": [attachment(card(reply, origin=origin))]}


def text_message(text: str) -> Json:
    """A plain-text message activity."""
    return {"type": "message", "text": text, "textFormat": "plain"}


def preview(reply: Reply) -> Json:
    """The thumbnail card Teams lists in a message extension's results."""
    texts = [block.text for block in reply.blocks if isinstance(block, Text)]
    content: Json = {"title": _shorten(texts[0] if texts else "Slotbot", LABEL_CHARS)}
    if len(texts) > 1:
        content["text"] = _shorten(texts[1], SUMMARY_CHARS)
    return {"contentType": THUMBNAIL, "content": content}


def extension_result(replies: list[Reply], *, text: str = "") -> Json:
    """A ``composeExtension`` result: one 1.3 card per reply (an unfurl or a picked page)."""
    attachments = [{**attachment(card(reply, version=EXTENSION_VERSION)), "preview": preview(reply)}
                   for reply in replies]
    result: Json = {"type": "result", "attachmentLayout": "list", "attachments": attachments}
    if text and not attachments:
        result = {"type": "message", "text": text}
    return {"composeExtension": result}


def pressed(data: Any) -> tuple[str, str, str] | None:
    """``(action, value, to)`` of a Slotbot button's data; None when it is not one of ours."""
    if not isinstance(data, dict):
        return None
    action, value, to = data.get("slotbot"), data.get("value", ""), data.get("to", "")
    if action not in ACTIONS or not isinstance(value, str) or not isinstance(to, str):
        return None
    return str(action), value, to


def invoke_card(content: Json) -> Json:
    """The answer to an ``adaptiveCard/action`` invoke that replaces the card in place."""
    return {"statusCode": 200, "type": ADAPTIVE, "value": content}


def invoke_message(text: str) -> Json:
    """The answer to an ``adaptiveCard/action`` invoke that shows a short message."""
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text}
