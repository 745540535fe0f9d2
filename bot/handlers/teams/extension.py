"""The message extension: pick one of your pages (``composeExtension/query``) and link unfurls.

Teams waits 5 seconds for these invokes (then retries twice), so every answer is bounded by
:data:`ANSWER_SECONDS`: what is ready by then is shown, the rest left out (a link whose preview
is not ready stays a plain link).

* ``composeExtension/query`` (command ``pages``): the user's switched-on pages whose title or
  slug holds the search text, each as the card its link unfurls to, ready to insert;
* ``composeExtension/queryLink`` (a Slotbot link pasted in a compose box) and
  ``composeExtension/anonymousQueryLink`` (the same where the user is not signed in to the app):
  :meth:`Conversation.unfurl` (page title, lengths, next free times, a Book button) as an
  Adaptive Card 1.3, in the activity's language. The unfurl is public: it says nothing a visitor
  of the page could not see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.conversation.reply import Reply
from bot.handlers.teams import cards
from bot.handlers.teams.channel import TeamsChannel
from bot.handlers.teams.people import locale_of
from bot.handlers.teams.sdk import TeamsTurn
from bot.handlers.teams.texts import language, no_page_text
from bot.keys import LINKS, READ_SESSIONS
from bot.pages.public import pages_default_first
from storage.models import User

log = logging.getLogger(__name__)

ANSWER_SECONDS = 4.0
MAX_RESULTS = 10
QUERY = "composeExtension/query"
LINK_QUERIES = ("composeExtension/queryLink", "composeExtension/anonymousQueryLink")


def _now() -> datetime:
    return datetime.now(UTC)


async def _within(seconds: float, asks: Sequence[Awaitable[Reply | None]]) -> list[Reply]:
    """The replies ready within ``seconds``, in the order asked."""
    tasks = [asyncio.ensure_future(ask) for ask in asks]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    replies: list[Reply] = []
    for task in tasks:
        if task in done and task.exception() is None and (reply := task.result()) is not None:
            replies.append(reply)
        elif task in done and task.exception() is not None:
            log.warning("teams extension answer failed", exc_info=task.exception())
    if pending:
        log.warning("teams extension answer cut short", extra={"pending": len(pending)})
    return replies


def _search_text(value: dict[str, Any]) -> str:
    for parameter in value.get("parameters") or []:
        if isinstance(parameter, dict) and parameter.get("name") != "initialRun":
            return str(parameter.get("value") or "").strip()
    return ""


async def page_links(channel: TeamsChannel, user_id: int, search: str) -> list[str]:
    """The links of the user's switched-on pages matching ``search`` (all when empty)."""
    app = channel.app
    wanted = search.lower()
    async with app[READ_SESSIONS]() as session:
        user = await session.get(User, user_id)
        if user is None or not user.pages_enabled:
            return []
        rows = (await session.execute(pages_default_first(user_id))).scalars().all()
        matching = [row for row in rows if row.enabled and (
            not wanted or wanted in row.title.lower() or wanted in row.slug.lower())]
        return [await app[LINKS].page_of(session, user, row) for row in matching[:MAX_RESULTS]]


async def on_query(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """``composeExtension/query``: pick one of your pages."""
    value = turn.activity.get("value") or {}
    search = _search_text(value)
    try:
        speaker = await channel.people.speaker(turn)
        links = await page_links(channel, speaker.user_id, search)
    except Exception:
        log.exception("teams message extension query failed")
        await turn.answer(cards.extension_result([]))
        return
    now = _now()
    replies = await _within(ANSWER_SECONDS, [
        channel.conversation.unfurl(link, now=now, locale=speaker.locale) for link in links])
    nothing = "" if links else no_page_text(speaker.locale, search)  # not ready in time: no text
    await turn.answer(cards.extension_result(replies, text=nothing))


async def on_link(channel: TeamsChannel, turn: TeamsTurn) -> None:
    """``composeExtension/queryLink`` and ``anonymousQueryLink``: unfurl a Slotbot link."""
    url = str((turn.activity.get("value") or {}).get("url") or "")
    locale = language(locale_of(turn.activity))
    asks = [channel.conversation.unfurl(url, now=_now(), locale=locale)] if url else []
    await turn.answer(cards.extension_result(await _within(ANSWER_SECONDS, asks)))
