"""``slotbot demo``'s Teams preview (``/demo/teams``): what the bot sends in Teams, without a tenant.

The demo host asks the same questions as in the web chat ("when am I free tomorrow?", "share my
link"...) in English, Portuguese or Danish (``?lang=``), or any question (``?q=``). Each answer
goes through the real path up to the wire: the conversation core, then :mod:`.cards`, giving the
exact message activity the bot would post to the Bot Connector. The page shows it twice: as a
server-side HTML preview of its Adaptive Card (:mod:`.preview`), laid out as Teams does, and as
the JSON itself. A link unfurl of the demo page, a booking notice and the welcome card follow.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from bot.conversation.core import help_reply, notice_reply
from bot.conversation.reply import Reply, Text
from bot.conversation.speaker import Speaker
from bot.demo.seed import DEMO_SLUG
from bot.handlers.site import add_start_link
from bot.handlers.teams import cards
from bot.handlers.teams.preview import card_view
from bot.handlers.teams.texts import welcome_text
from bot.keys import CONVERSATION, LINKS, SESSIONS, TEMPLATES
from storage.models import User

PATH = "/demo/teams"
LANGUAGES = {"en": "en", "pt": "pt_BR", "da": "da"}
QUESTIONS = {
    "en": ("when am I free tomorrow?", "share my link", "calendars", "help"),
    "pt": ("quando estou livre amanhã?", "compartilhar meu link", "mostrar minhas agendas", "ajuda"),
    "da": ("hvornår er jeg ledig i morgen?", "del mit link", "vis mine kalendere", "hjælp"),
}
MAX_QUESTION = 200


def setup(app: web.Application) -> None:
    """Add the preview page and its stylesheet (demo only)."""
    app.router.add_get(PATH, page)
    app.router.add_get(PATH + "/card.css", stylesheet)
    add_start_link(app, PATH, "Teams",
                   "What Slotbot sends in Microsoft Teams: its Adaptive Cards, previewed and as JSON")


def _shown(title: str, activity: dict[str, Any], card: dict[str, Any], *, who: str = "") -> dict[str, Any]:
    return {"title": title, "who": who, "summary": activity.get("summary", ""), "card": card_view(card),
            "json": json.dumps(activity, indent=2, ensure_ascii=False)}


def _message(title: str, reply: Reply, *, who: str = "") -> dict[str, Any]:
    activity = cards.message(reply)
    return _shown(title, activity, activity["attachments"][0]["content"], who=who)


async def page(request: web.Request) -> web.Response:
    """The preview: the demo host's questions and what the bot would send for each."""
    lang = request.query.get("lang", "en") if request.query.get("lang") in LANGUAGES else "en"
    locale = LANGUAGES[lang]
    async with request.app[SESSIONS]() as session:
        user = (await session.execute(select(User).where(User.slug == DEMO_SLUG))).scalar_one_or_none()
    if user is None:
        raise web.HTTPNotFound(reason="The demo host does not exist (run slotbot demo)")
    speaker = Speaker(user.id, locale, user.timezone)
    asked = request.query.get("q", "").strip()[:MAX_QUESTION]
    now = datetime.now(UTC)
    conversation = request.app[CONVERSATION]
    exchanges = [_message(question, await conversation.message(speaker, question, now=now), who="you")
                 for question in ((asked,) if asked else QUESTIONS[lang])]
    link = request.app[LINKS].page(DEMO_SLUG)
    unfurl = await conversation.unfurl(link, now=now, locale=locale)
    extras = []
    if unfurl is not None:
        result = cards.extension_result([unfurl])
        attachment = result["composeExtension"]["attachments"][0]
        extras.append(_shown(f"Link unfurl of {link} (composeExtension/queryLink)", result,
                             attachment["content"]))
    zone = ZoneInfo(user.timezone)
    start = datetime.combine(now.astimezone(zone).date() + timedelta(days=2), time(10), zone)
    notice = notice_reply("booking_created", {
        "visitor_name": "Vera Visitor", "visitor_email": "vera@example.com", "title": "Intro call",
        "start": start.isoformat(), "status": "confirmed"}, locale=locale, timezone=user.timezone)
    extras.append(_message("Notice: a new booking (a proactive 1:1 message)", notice))
    extras.append(_message("Welcome card, on install",
                           Reply((Text(welcome_text(locale)), *help_reply(locale).blocks))))
    return request.app[TEMPLATES].response("teams_demo.html", {
        "lang": lang, "languages": list(LANGUAGES), "asked": asked, "host": user.display_name,
        "exchanges": exchanges, "extras": extras, "max_question": MAX_QUESTION,
    })


async def stylesheet(request: web.Request) -> web.Response:
    """The preview's styles (a file, since the site's policy allows no inline style)."""
    text = request.app[TEMPLATES].render("teams_demo.css", {})
    return web.Response(text=text, content_type="text/css", headers={"Cache-Control": "max-age=300"})
