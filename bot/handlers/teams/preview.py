"""A server-side preview of Adaptive Card JSON, as Teams would lay it out, for the demo page.

:func:`card_view` reads the card JSON the bot posts (not the reply it came from, so the preview
shows exactly what Teams receives) and returns plain data that ``teams_demo.html`` renders,
autoescaped: ``TextBlock`` -> ``text`` (``parts`` with the URLs Teams would link, ``bold``,
``tight`` for ``spacing: None``), ``Container`` -> ``group``, ``FactSet`` -> ``facts``,
``ActionSet`` -> ``actions`` (``Action.OpenUrl`` a link, ``Action.Execute``/``Action.Submit`` a
button showing its verb or data, ``positive`` style as primary). An element Teams would not render
from Slotbot's cards appears as ``unsupported`` with its type, so the preview never hides one.
"""

from __future__ import annotations

from typing import Any

from bot.handlers.web_chat.render import parts, safe_url

Json = dict[str, Any]


def _action(action: Json) -> Json:
    kind = str(action.get("type") or "")
    view: Json = {"type": "action", "label": str(action.get("title") or ""),
                  "primary": action.get("style") == "positive", "kind": kind}
    if kind == "Action.OpenUrl":
        view["url"] = safe_url(str(action.get("url") or ""))
    else:
        data = action.get("data")
        named = data.get("slotbot") if isinstance(data, dict) else None
        view["does"] = str(action.get("verb") or named or "")
    return view


def element_view(element: Json) -> Json:
    """One card element as data for the template."""
    kind = element.get("type")
    if kind == "TextBlock":
        return {"type": "text", "parts": parts(str(element.get("text") or "")),
                "bold": element.get("weight") == "Bolder", "tight": element.get("spacing") == "None"}
    if kind == "Container":
        return {"type": "group", "items": [element_view(item) for item in element.get("items") or []]}
    if kind == "FactSet":
        return {"type": "facts", "pairs": [(str(f.get("title") or ""), parts(str(f.get("value") or "")))
                                           for f in element.get("facts") or []]}
    if kind == "ActionSet":
        return {"type": "actions", "actions": [_action(a) for a in element.get("actions") or []]}
    return {"type": "unsupported", "kind": str(kind)}


def card_view(card: Json) -> Json:
    """The whole card: its elements, its card-level actions, schema version and fallback text."""
    return {
        "version": str(card.get("version") or ""),
        "body": [element_view(element) for element in card.get("body") or []],
        "actions": [_action(action) for action in card.get("actions") or []],
        "fallback": str(card.get("fallbackText") or ""),
    }
