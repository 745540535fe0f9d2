"""Block Kit rendering of conversation replies (:mod:`bot.conversation.reply`).

:func:`render` turns a :class:`Reply`'s blocks into Block Kit: a :class:`Text` becomes a ``mrkdwn``
section, a :class:`Section` a section with a bold heading, :class:`Fields` sections of up to ten
fields, and consecutive :class:`Button` s one ``actions`` block. Texts arrive translated and
formatted; this module only escapes them (``&``, ``<``, ``>``) and keeps within Slack's limits
(3000 characters a section, 2000 a field, 75 a button label, 50 blocks a message, 100 a view).
:func:`message`, :func:`home_view` and :func:`unfurl` wrap the blocks for chat.postMessage /
response URLs, views.publish and chat.unfurl; the plain-text form is every message's ``text``
(notifications and screen readers).

Buttons that send an action carry ``action_id`` ``slotbot:<action>:<n>`` and their value; link
buttons get ``slotbot:open:<n>`` (Slack reports their clicks too). :func:`parse_action_id` reads
the action back.
"""

from __future__ import annotations

from typing import Any

from bot.conversation.reply import Button, Fields, Reply, Section, Text

ACTION_PREFIX = "slotbot:"
OPEN = "open"
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTONS_PER_BLOCK = 25
LABEL_CHARS = 75
VALUE_CHARS = 2000
FALLBACK_CHARS = 4000

Json = dict[str, Any]


def escape(text: str) -> str:
    """Escape the three characters Slack's ``mrkdwn`` and ``text`` fields treat as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def action_id(action: str, n: int) -> str:
    """The ``action_id`` of the ``n``-th button of a message for ``action``."""
    return f"{ACTION_PREFIX}{action}:{n}"


def parse_action_id(value: str) -> str | None:
    """The action of a Slotbot ``action_id`` (``"open"`` for links), or None if not ours."""
    if not value.startswith(ACTION_PREFIX):
        return None
    action, _, n = value[len(ACTION_PREFIX):].rpartition(":")
    return action if action and n.isdigit() else None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    if text:
        pieces.append(text)
    return pieces


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _text_blocks(text: str) -> list[Json]:
    return [_section(piece) for piece in _chunks(escape(text), SECTION_CHARS) if piece.strip()]


def _section_blocks(block: Section) -> list[Json]:
    heading = f"*{escape(block.heading)}*" if block.heading.strip() else ""
    body = "\n".join(escape(line) for line in block.lines)
    text = "\n".join(part for part in (heading, body) if part)
    return [_section(piece) for piece in _chunks(text, SECTION_CHARS) if piece.strip()]


def _fields_blocks(block: Fields) -> list[Json]:
    fields = [
        {"type": "mrkdwn", "text": _shorten(f"*{escape(label)}*\n{escape(value)}", FIELD_CHARS)}
        for label, value in block.pairs
    ]
    return [
        {"type": "section", "fields": fields[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _button(button: Button, n: int) -> Json:
    element: Json = {
        "type": "button",
        "text": {"type": "plain_text", "text": _shorten(button.label.strip() or "…", LABEL_CHARS)},
        "action_id": action_id(button.action or OPEN, n),
    }
    if button.url:
        element["url"] = button.url
    if button.action and button.value:
        element["value"] = button.value[:VALUE_CHARS]
    if button.primary:
        element["style"] = "primary"
    return element


def render(reply: Reply, *, limit: int = MESSAGE_BLOCKS) -> list[Json]:
    """The Block Kit blocks of ``reply`` (at most ``limit``; the last says when some were cut)."""
    blocks: list[Json] = []
    buttons: list[Json] = []

    def flush() -> None:
        for i in range(0, len(buttons), BUTTONS_PER_BLOCK):
            blocks.append({"type": "actions", "elements": buttons[i : i + BUTTONS_PER_BLOCK]})
        buttons.clear()

    for n, block in enumerate(reply.blocks):
        if isinstance(block, Button):
            buttons.append(_button(block, n))
            continue
        flush()
        if isinstance(block, Text):
            blocks.extend(_text_blocks(block.text))
        elif isinstance(block, Section):
            blocks.extend(_section_blocks(block))
        elif isinstance(block, Fields):
            blocks.extend(_fields_blocks(block))
    flush()
    if len(blocks) > limit:
        blocks = blocks[: limit - 1]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "…"}]})
    return blocks


def fallback_text(reply: Reply) -> str:
    """The reply's plain text, escaped, for a message's ``text`` (notifications, screen readers)."""
    return _shorten(escape(reply.plain_text()), FALLBACK_CHARS) or "…"


def message(reply: Reply) -> Json:
    """``text`` and ``blocks`` of a message (chat.postMessage, chat.postEphemeral, response URLs)."""
    blocks = render(reply)
    return {"text": fallback_text(reply), "blocks": blocks} if blocks else {"text": fallback_text(reply)}


def home_view(reply: Reply) -> Json:
    """The App Home view for views.publish."""
    return {"type": "home", "blocks": render(reply, limit=VIEW_BLOCKS)}


def unfurl(reply: Reply) -> Json:
    """One entry of chat.unfurl's ``unfurls`` (the link's preview)."""
    return {"blocks": render(reply)}
