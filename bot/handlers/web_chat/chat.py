"""The web chat: a signed-in host chats with Slotbot in the browser (and the website widget's setup).

Routes: ``GET /dashboard/chat`` is the chat page for whoever is signed in to the dashboard (in the
demo, ``/demo/chat`` signs the demo host in and lands there). ``POST /dashboard/chat/messages``
takes JSON ``{"text", "lang"}`` or ``{"action", "value", "lang"}`` with the session's CSRF token
in ``X-CSRF-Token`` and answers ``{"reply": ..., "language": ...}``: blocks from
:mod:`bot.handlers.web_chat.render`, shown by ``static/chat.js`` with ``textContent``, and the language
override now in effect (``auto``: none). Without JavaScript the same page works as a form:
``POST /dashboard/chat`` (``text``, or ``action`` and ``value``) re-renders the page with the
question and the answer. ``POST /dashboard/chat/language`` sets or clears the language override
("automatic" follows the browser), exactly like saying "language pt" to the bot.

Messages go to :meth:`Conversation.message` (``/meet ...`` to :meth:`Conversation.command`),
buttons to :meth:`Conversation.action`, as the signed-in user
(:func:`bot.handlers.web_chat.speaker.web_speaker`): the same answers as in Slack. The widget for visitors
lives in :mod:`bot.handlers.web_chat.widget`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.accounts.tokens import Session
from bot.conversation.reply import Reply
from bot.demo.seed import DEMO_SLUG
from bot.handlers.dashboard_base import COOKIE, signed_in
from bot.handlers.pages.visitor import RateLimiter, language
from bot.handlers.site import add_start_link
from bot.handlers.web_chat import widget
from bot.handlers.web_chat.render import reply_view
from bot.handlers.web_chat.speaker import UnknownUser, language_override, web_identity, web_speaker
from bot.handlers.web_chat.texts import (
    LANGUAGE_NAMES,
    MAX_TEXT,
    chat_labels,
    expired,
    signed_out,
    slow_down,
    sorry,
    too_long,
)
from bot.i18n import supported_locale
from bot.keys import CONVERSATION, IDENTITIES, SESSIONS, SETTINGS, TEMPLATES, TOKENS
from storage.models import User

log = logging.getLogger(__name__)

CHAT_PATH = "/dashboard/chat"
CSRF_HEADER = "X-CSRF-Token"
PER_USER = web.AppKey("web_chat_per_user", RateLimiter)
MESSAGES_PER_MINUTE = 30


def setup(app: web.Application) -> None:
    """Add the chat page, its JSON endpoint, the website widget and (demo) their start links."""
    app[PER_USER] = RateLimiter(MESSAGES_PER_MINUTE, 60.0)
    app.router.add_get(CHAT_PATH, chat_page)
    app.router.add_post(CHAT_PATH, signed_in(chat_form))
    app.router.add_post(CHAT_PATH + "/language", signed_in(language_form))
    app.router.add_post(CHAT_PATH + "/messages", chat_api)
    widget.setup(app)
    if app[SETTINGS].demo:
        app.router.add_get("/demo/chat", demo_chat)
        add_start_link(app, "/demo/chat", "Chat",
                       "Ask Slotbot “when am I free tomorrow?” as the demo host, in English, "
                       "Portuguese or Danish")
        widget.setup_demo(app)


def _now() -> datetime:
    return datetime.now(UTC)


def _browser_locale(request: web.Request, sent: object = None) -> str:
    """The browser's language: what the page sent (``navigator.language``), else Accept-Language."""
    if isinstance(sent, str) and sent.strip():
        return supported_locale(sent.strip()[:35])
    return supported_locale(language(request))


async def _ask(request: web.Request, user_id: int, locale_hint: str, text: str, action: str | None,
               value: str) -> Reply:
    """The conversation's answer to a message (or a button's ``action``) of the signed-in user."""
    conversation = request.app[CONVERSATION]
    speaker = await web_speaker(request.app[SESSIONS], user_id, locale_hint)
    if action:
        return await conversation.action(speaker, action, value, now=_now())
    if text.startswith("/meet"):
        return await conversation.command(speaker, text.removeprefix("/meet").strip(), now=_now())
    return await conversation.message(speaker, text, now=_now())


def _render(request: web.Request, context: dict[str, Any], status: int = 200) -> web.Response:
    response = request.app[TEMPLATES].response("chat.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _context(request: web.Request, session: Session, locale: str) -> dict[str, Any]:
    override = await language_override(request.app[SESSIONS], session.user_id)
    shown = override or locale
    return {
        "lang": shown.split("_")[0], "locale": shown, "labels": chat_labels(shown),
        "csrf": session.csrf_token, "languages": LANGUAGE_NAMES, "override": override or "auto",
        "exchange": [], "signed_in": True, "demo": request.app[SETTINGS].demo, "max_text": MAX_TEXT,
    }


async def chat_page(request: web.Request) -> web.StreamResponse:
    """The chat page (signed out: how to sign in)."""
    session = await request.app[TOKENS].session(request.cookies.get(COOKIE))
    locale = _browser_locale(request)
    if session is None:
        return _render(request, {
            "lang": locale.split("_")[0], "labels": chat_labels(locale), "signed_in": False,
            "demo": request.app[SETTINGS].demo,
        }, status=401)
    return _render(request, await _context(request, session, locale))


async def chat_form(request: web.Request, session: Session) -> web.StreamResponse:
    """The page without JavaScript: answer the posted message or button, re-render the page."""
    form = await request.post()
    text = str(form.get("text") or "").strip()
    action = str(form.get("action") or "").strip() or None
    value = str(form.get("value") or "")
    locale = _browser_locale(request, form.get("lang"))
    context = await _context(request, session, locale)
    if not request.app[PER_USER].allow(f"user:{session.user_id}"):
        context["problem"] = slow_down(context["locale"])
        return _render(request, context, status=429)
    if len(text) > MAX_TEXT:
        context["problem"] = too_long(context["locale"], MAX_TEXT)
        return _render(request, context, status=400)
    if not text and not action:
        return _render(request, context)
    try:
        reply = await _ask(request, session.user_id, locale, text, action, value)
    except UnknownUser:
        raise web.HTTPNotFound(reason="This account no longer exists") from None
    except Exception:
        log.exception("web chat request failed")
        context["problem"] = sorry(context["locale"])
        return _render(request, context, status=500)
    context = await _context(request, session, locale)  # "language pt" changes the page's language
    view = reply_view(reply, context["locale"])
    context["exchange"] = [*([{"who": "you", "text": text}] if text else []), {"who": "bot", "reply": view}]
    return _render(request, context)


async def language_form(request: web.Request, session: Session) -> web.StreamResponse:
    """Choose the language Slotbot answers in (``auto``: the browser's)."""
    form = await request.post()
    chosen = str(form.get("language") or "auto")
    try:
        await web_identity(request.app[SESSIONS], session.user_id)
    except UnknownUser:
        raise web.HTTPNotFound(reason="This account no longer exists") from None
    await request.app[IDENTITIES].set_language(
        session.user_id, None if chosen not in dict(LANGUAGE_NAMES) else chosen
    )
    raise web.HTTPSeeOther(CHAT_PATH)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    response = web.json_response(body, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def chat_api(request: web.Request) -> web.StreamResponse:
    """One message or button press as JSON; the reply as JSON blocks."""
    session = await request.app[TOKENS].session(request.cookies.get(COOKIE))
    hint = _browser_locale(request)
    if session is None:
        return _json({"error": signed_out(hint)}, 401)
    if not session.csrf_ok(request.headers.get(CSRF_HEADER)):
        return _json({"error": expired(hint)}, 403)
    try:
        body = json.loads(await request.text())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json({"error": "Send a JSON object: {\"text\": \"...\"}."}, 400)
    hint = _browser_locale(request, body.get("lang"))
    text = body.get("text", "")
    action = body.get("action")
    value = body.get("value", "")
    if not isinstance(text, str) or not isinstance(value, str) or not isinstance(action, str | None):
        return _json({"error": "text, action and value must be strings."}, 400)
    if len(text) > MAX_TEXT or len(value) > MAX_TEXT:
        return _json({"error": too_long(hint, MAX_TEXT)}, 400)
    if not request.app[PER_USER].allow(f"user:{session.user_id}"):
        return _json({"error": slow_down(hint)}, 429)
    try:
        reply = await _ask(request, session.user_id, hint, text.strip(), action or None, value)
    except UnknownUser:
        return _json({"error": "This account no longer exists."}, 404)
    except Exception:
        log.exception("web chat request failed")
        return _json({"error": sorry(hint)}, 500)
    override = await language_override(request.app[SESSIONS], session.user_id)
    return _json({"reply": reply_view(reply, override or hint), "language": override or "auto"})


async def demo_chat(request: web.Request) -> web.StreamResponse:
    """Demo only: sign in as the demo host and open the chat."""
    async with request.app[SESSIONS]() as session:
        user_id = (
            await session.execute(select(User.id).where(User.slug == DEMO_SLUG))
        ).scalar_one_or_none()
    if user_id is None:
        raise web.HTTPNotFound(reason="The demo host does not exist (run slotbot demo)")
    token = await request.app[TOKENS].login_link_token(user_id)
    raise web.HTTPSeeOther(f"/dashboard/login?token={token}&next={CHAT_PATH}")
