"""A conversation :class:`~bot.conversation.reply.Reply` as JSON blocks for the browser.

The browser never receives HTML from a reply: :func:`reply_view` gives plain data that
``static/chat.js`` and ``static/widget.js`` turn into elements with ``textContent`` (and the
``chat_blocks.html`` template renders, autoescaped, when JavaScript is off). Links inside texts
become ``{"link": url}`` parts, and only ``http``/``https`` URLs are ever links.

Block views (``type``): ``text`` (``parts``), ``section`` (``heading``, ``lines``: parts each),
``fields`` (``pairs`` of label and parts), ``link`` (a button with a URL), ``action`` (a button
the page posts back as ``{"action", "value"}``), ``share`` (the text to post elsewhere, ready to
copy: what the ``share_link`` button means on the web), ``book`` (the widget's booking button:
the page opens ``embed`` inline) and ``chips`` (a day's free times: ``heading`` and ``chips``, each
with its ``label``, its accessible ``name`` with the day, the ``start`` instant and the ``embed``
URL of the page's form at that time). A :class:`Section` without lines followed by buttons of
action :data:`SLOT_ACTION` becomes one ``chips`` block.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.conversation.reply import Block, Button, Fields, Reply, Section, Text
from bot.handlers.web_chat.texts import PAGE_LANGUAGES, gettext_for

_URL = re.compile("https?://[^\\s<>\"\u201c\u201d\u2018\u2019]+")  # up to a space or a quote
_TRAILING = ".,;:!?)]}\u2019\u201d\u00bb"  # sentence punctuation after a link is not part of it

BOOK_ACTION = "book"
"""A button action (value: a scheduling page's URL) the widget opens inline."""

SLOT_ACTION = "slot"
"""A button action (value: a free time, ISO 8601; url: the page's form at that time) the widget
shows as a chip under its day."""


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit(parts)


def parts(text: str) -> list[dict[str, str]]:
    """``text`` split into ``{"text": ...}`` and ``{"link": ...}`` parts."""
    out: list[dict[str, str]] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        if match.start() > position:
            out.append({"text": text[position:match.start()]})
        out.append({"link": url} if safe_url(url) else {"text": url})
        position = end
    if position < len(text):
        out.append({"text": text[position:]})
    return out


def embed_url(url: str, locale: str) -> str:
    """A scheduling page's URL as the widget frames it (``?embed=1`` and the visitor's language;
    the URL's other options, such as a chosen ``start``, and its anchor are kept)."""
    split = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(split.query) if key not in ("embed", "lang")]
    query = urlencode([("embed", "1"), ("lang", PAGE_LANGUAGES.get(locale, "en")), *kept])
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


def chip_view(block: Button, day: str | None, locale: str) -> dict[str, str] | None:
    """A free time's button (:data:`SLOT_ACTION`) as a chip; its name says the day and the time."""
    url = safe_url(block.url)
    if url is None or not block.value:
        return None
    _ = gettext_for(locale)
    name = _("{day} at {time}").format(day=day, time=block.label) if day else block.label
    return {"label": block.label, "name": name, "start": block.value, "embed": embed_url(url, locale)}


def _button(block: Button, locale: str) -> dict[str, Any] | None:
    _ = gettext_for(locale)
    if block.action == "share_link":
        return {"type": "share", "label": _("Ready to share: copy it into any conversation."),
                "text": block.value, "copy": _("Copy"), "copied": _("Copied")}
    url = safe_url(block.url)
    if block.action == BOOK_ACTION and url:
        return {"type": "book", "label": block.label, "url": url, "embed": embed_url(url, locale),
                "open": _("Open in a new tab")}
    if url:
        return {"type": "link", "label": block.label, "url": url, "primary": block.primary}
    if block.action:
        return {"type": "action", "label": block.label, "action": block.action, "value": block.value,
                "primary": block.primary}
    return None


def block_view(block: Block, locale: str) -> dict[str, Any] | None:
    """One block as data (None for a button that can do nothing here)."""
    if isinstance(block, Text):
        return {"type": "text", "parts": parts(block.text)}
    if isinstance(block, Section):
        return {"type": "section", "heading": block.heading, "lines": [parts(line) for line in block.lines]}
    if isinstance(block, Fields):
        return {"type": "fields", "pairs": [[label, parts(value)] for label, value in block.pairs]}
    return _button(block, locale)


def _views(reply: Reply, locale: str) -> list[dict[str, Any]]:
    """The blocks' views, a day's heading and its free times gathered in one ``chips`` view."""
    views: list[dict[str, Any]] = []
    for index, block in enumerate(reply.blocks):
        if isinstance(block, Button) and block.action == SLOT_ACTION:
            group = views[-1] if views and views[-1]["type"] == "chips" else None
            chip = chip_view(block, group["heading"] if group else None, locale)
            if chip is None:
                continue
            if group is None:
                group = {"type": "chips", "heading": None, "chips": []}
                views.append(group)
            group["chips"].append(chip)
            continue
        following = reply.blocks[index + 1] if index + 1 < len(reply.blocks) else None
        if (isinstance(block, Section) and not block.lines and isinstance(following, Button)
                and following.action == SLOT_ACTION):
            views.append({"type": "chips", "heading": block.heading, "chips": []})
            continue
        view = block_view(block, locale)
        if view is not None:
            views.append(view)
    return [view for view in views if view["type"] != "chips" or view["chips"]]


def reply_view(reply: Reply, locale: str) -> dict[str, Any]:
    """The reply as JSON-ready data: its blocks, its plain text and the locale it speaks."""
    return {"blocks": _views(reply, locale), "text": reply.plain_text(), "locale": locale}
