"""Block Kit's limits as Slack checks them: :func:`check_blocks` says what Slack would refuse."""

from __future__ import annotations

from typing import Any

BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "rich_text"}


def _text(obj: Any, limit: int, kinds: tuple[str, ...] = ("plain_text", "mrkdwn")) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return f"text object must be one of {kinds}"
    text = obj.get("text")
    if not isinstance(text, str) or not text or len(text) > limit:
        return f"text must be 1..{limit} characters"
    return None


def check_blocks(blocks: Any, *, limit: int) -> str | None:
    """What Slack would refuse in ``blocks`` (None when they are valid)."""
    if not isinstance(blocks, list) or len(blocks) > limit:
        return f"blocks must be a list of at most {limit}"
    action_ids: set[str] = set()
    for n, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            return f"block {n}: unknown type {kind!r}"
        if kind == "section":
            if "text" not in block and "fields" not in block:
                return f"block {n}: a section needs text or fields"
            if "text" in block and (problem := _text(block["text"], 3000)):
                return f"block {n}: {problem}"
            fields = block.get("fields", [])
            if len(fields) > 10:
                return f"block {n}: at most 10 fields"
            for f in fields:
                if problem := _text(f, 2000):
                    return f"block {n} field: {problem}"
        elif kind == "header":
            if problem := _text(block.get("text"), 150, ("plain_text",)):
                return f"block {n}: {problem}"
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > 10:
                return f"block {n}: context needs 1..10 elements"
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > 25:
                return f"block {n}: actions needs 1..25 elements"
            for element in elements:
                if element.get("type") != "button":
                    continue
                if problem := _text(element.get("text"), 75, ("plain_text",)):
                    return f"block {n} button: {problem}"
                action_id = element.get("action_id", "")
                if action_id in action_ids or len(action_id) > 255:
                    return f"block {n}: duplicate or long action_id {action_id!r}"
                action_ids.add(action_id)
                if len(element.get("value", "")) > 2000 or len(element.get("url", "")) > 3000:
                    return f"block {n}: button value or url too long"
                if element.get("style") not in (None, "primary", "danger"):
                    return f"block {n}: bad style"
    return None
