"""What every dashboard page shares: the session cookie, the signed-in check, page and message answers.

A host arrives through a one-time login link from chat, which becomes a session cookie (HttpOnly,
SameSite=Lax, Secure on https); :func:`signed_in` lets a handler run for a signed-in host only and
checks every POST's CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.accounts.tokens import Session
from bot.keys import TEMPLATES, TOKENS

COOKIE = "slotbot_session"
Handler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]


def page(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A dashboard template, never cached."""
    response = request.app[TEMPLATES].response(name, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(request: web.Request, title: str, text: str, status: int) -> web.Response:
    """A one-sentence page (a refusal, a failure) with ``status``."""
    return page(request, "message.html", {"title": title, "text": text}, status)


async def session_of(request: web.Request) -> Session | None:
    """The signed-in host's session, from the cookie, or None."""
    return await request.app[TOKENS].session(request.cookies.get(COOKIE))


def signed_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Run ``handler`` for a signed-in host only; POSTs must carry the session's CSRF token."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await session_of(request)
        if session is None:
            return message(
                request,
                "Please sign in",
                "Ask Slotbot in chat for your settings link (“settings”): it signs you in here.",
                401,
            )
        if request.method == "POST":
            form = await request.post()
            submitted = form.get("csrf")
            if not session.csrf_ok(submitted if isinstance(submitted, str) else None):
                return message(
                    request, "Form expired", "Reload the dashboard and try again.", 403
                )
        return await handler(request, session)

    return wrapped


def reconnect_id(value: object) -> int | None:
    """The connection a form reconnects (its ``reconnect`` field or query value), if any."""
    return int(value) if isinstance(value, str) and value.isdigit() else None
