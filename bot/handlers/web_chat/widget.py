"""The website widget: a chat bubble a host pastes on their own site, for visitors to book them.

A site owner pastes one line::

    <script src="https://<slotbot>/widget.js?page=<user slug>/<page slug>" async></script>

``GET /widget.js`` serves ``static/widget.js``: it reads its own address (Slotbot's origin and the
page), adds a bubble inside a shadow root (its styles, ``static/widget.css``, cannot leak into the
site or the site's into it) and talks to ``POST /widget/messages`` with JSON
``{"page": "user/page", "text": "...", "lang": "pt-BR", "tz": "Asia/Tokyo"}`` (``tz``: the
browser's zone; free times are worded in it, and when it names no zone in the host's, the reply
saying which). That API is public: CORS for any
origin, no cookies, a per-client rate limit (past a per-page limit messages are slowed down, never
refused), short messages only. It answers
``{"reply": ..., "labels": ..., "locale": ...}`` (blocks from :mod:`bot.handlers.web_chat.render`); a
``book`` block opens the scheduling page inline in an iframe (``/meetings/<user>/<page>?embed=1``,
which that page lets any site frame), and each free time is a chip that opens the page's form at
that time (``?start=...``; a time taken meanwhile shows the calendar with a sentence). Only pages
the host offered in the widget (``in_widget``, set in the dashboard) are offered; the others get
a polite refusal (403), unknown pages a clear error (404).

Demo only: ``/demo/site`` is a pretend customer website with the widget for the demo page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.availability import AvailabilityRules
from bot.demo.seed import DEMO_SLUG
from bot.handlers.pages.visitor import RateLimiter, offered
from bot.handlers.site import add_start_link
from bot.handlers.web_chat import visitor
from bot.handlers.web_chat.render import reply_view
from bot.handlers.web_chat.texts import (
    MAX_VISITOR_TEXT,
    slow_down,
    sorry,
    too_long,
    unknown_page,
    widget_labels,
)
from bot.i18n import supported_locale
from bot.keys import PUBLIC_PAGES, SETTINGS, TEMPLATES
from bot.pages.public import PublicView
from bot.scheduling.results import UserAvailability

log = logging.getLogger(__name__)

SCRIPT = Path(__file__).resolve().parents[2] / "static" / "widget.js"
MESSAGES_PATH = "/widget/messages"
DEMO_PAGE = f"{DEMO_SLUG}/intro"
PER_IP = web.AppKey("widget_per_ip", RateLimiter)
PER_PAGE = web.AppKey("widget_per_page", RateLimiter)
MESSAGES_PER_IP_PER_MINUTE = 20
MESSAGES_PER_PAGE_PER_MINUTE = 600
MAX_BODY = 4096

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def setup(app: web.Application) -> None:
    """Add the widget script and its API."""
    app[PER_IP] = RateLimiter(MESSAGES_PER_IP_PER_MINUTE, 60.0)
    app[PER_PAGE] = RateLimiter(MESSAGES_PER_PAGE_PER_MINUTE, 60.0)
    app.router.add_get("/widget.js", script)
    app.router.add_route("OPTIONS", MESSAGES_PATH, preflight)
    app.router.add_post(MESSAGES_PATH, message)


def setup_demo(app: web.Application) -> None:
    """Demo only: the pretend customer website, listed on the start page."""
    app.router.add_get("/demo/site", demo_site)
    add_start_link(app, "/demo/site", "Website widget",
                   "A customer's website with the Slotbot chat bubble: ask to book a meeting, "
                   "then book inside the chat")


async def script(request: web.Request) -> web.StreamResponse:
    """The widget's script (the same file for every page; it reads ``?page=`` from its own URL)."""
    return web.FileResponse(SCRIPT, headers={
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=300",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
    })


async def preflight(request: web.Request) -> web.Response:
    """CORS preflight: any origin may post JSON, without credentials."""
    return web.Response(status=204, headers=CORS)


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
    response = web.json_response(body, status=status, headers={**CORS, **headers})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _view(request: web.Request, address: str) -> PublicView | None:
    """The page ``user/page`` (or ``user``: the default page) with its host, read once."""
    user_slug, _, page_slug = address.strip().strip("/").partition("/")
    if not user_slug or "/" in page_slug:
        return None
    return await request.app[PUBLIC_PAGES].view(user_slug, page_slug or None)


async def message(request: web.Request) -> web.Response:
    """A visitor's message about a page; the answer as JSON blocks."""
    if (request.content_length or 0) > MAX_BODY:
        return _json({"error": "The request is too large."}, 413)
    try:
        body = json.loads((await request.read())[:MAX_BODY + 1].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("page"), str):
        return _json({"error": 'Send JSON like {"page": "user/page", "text": "can I book a meeting?"}.'}, 400)
    text, asked = body.get("text", ""), body.get("lang")
    if not isinstance(text, str) or not isinstance(asked, str | None):
        return _json({"error": "text and lang must be strings."}, 400)
    hint = supported_locale(asked[:35] if asked else None)
    if not request.app[PER_IP].allow(f"ip:{request.remote or 'unknown'}"):
        return _json({"error": slow_down(hint)}, 429, **{"Retry-After": "60"})
    if len(text) > MAX_VISITOR_TEXT:
        return _json({"error": too_long(hint, MAX_VISITOR_TEXT)}, 400)
    view = await _view(request, body["page"])
    if view is None:
        return _json({"error": unknown_page(hint, body["page"][:100])}, 404)
    host, page = view.host, view.page
    wait = request.app[PER_PAGE].slowdown(f"page:{page.id}")  # a busy page slows, never closes
    if wait:
        await asyncio.sleep(wait)
    intent = visitor.understand(text)
    locale = intent.language or (hint if asked else supported_locale(page.language))
    labels = widget_labels(locale)
    if not page.in_widget:
        refused = visitor.refusal(host.display_name, locale)
        return _json({"error": refused.plain_text(), "reply": reply_view(refused, locale), "labels": labels,
                      "locale": locale}, 403)
    zone = visitor.visitor_zone(body.get("tz"), host.timezone)

    async def free(rules: AvailabilityRules, start: datetime, end: datetime,
                   minutes: int) -> UserAvailability:
        return await offered(request, host, rules, minutes, now, start=start, end=end)

    now = datetime.now(UTC)
    try:
        reply = await visitor.answer(intent, view, free=free, now=now, locale=locale, zone=zone)
    except Exception:
        log.exception("widget request failed")
        return _json({"error": sorry(locale), "labels": labels, "locale": locale}, 500)
    return _json({"reply": reply_view(reply, locale), "labels": labels, "locale": locale,
                  "title": page.title, "host": host.display_name})


async def demo_site(request: web.Request) -> web.Response:
    """A pretend customer website with the widget pasted in, for the demo page."""
    base = request.app[SETTINGS].base_url.rstrip("/")
    snippet = f'<script src="{base}/widget.js?page={DEMO_PAGE}" async></script>'
    return request.app[TEMPLATES].response(
        "demo_site.html", {"script": f"{base}/widget.js?page={DEMO_PAGE}", "snippet": snippet}
    )
