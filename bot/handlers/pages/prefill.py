"""Remembering a visitor on custom domains: the form is prefilled from their previous submission.

On a custom domain the page is the host's own site, so after a booking Slotbot keeps the
visitor's name and e-mail in a first-party cookie there (sealed with the deployment's key: it
cannot be read or forged by others; HttpOnly, SameSite=Lax, 180 days). On the shared main domain
nothing is remembered.
"""

from __future__ import annotations

import json

from aiohttp import web

from bot.booking.visitor import Visitor
from bot.keys import DOMAINS, SECRETS
from storage.crypto import SecretKeyError

COOKIE = "slotbot_visitor"
PURPOSE = "visitor.prefill"
MAX_AGE = 180 * 24 * 3600


async def remembered_visitor(request: web.Request) -> dict[str, str]:
    """The name and e-mail remembered for this visitor (empty off custom domains)."""
    sealed = request.cookies.get(COOKIE)
    if not sealed or not await request.app[DOMAINS].is_custom(request.host):
        return {}
    try:
        data = json.loads(request.app[SECRETS].open(sealed, purpose=PURPOSE))
    except (SecretKeyError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: str(data[key])[:320] for key in ("name", "email") if isinstance(data.get(key), str)}


async def remember_visitor(request: web.Request, response: web.StreamResponse, visitor: Visitor) -> None:
    """Remember ``visitor`` for their next booking (custom domains only)."""
    if not await request.app[DOMAINS].is_custom(request.host):
        return
    sealed = request.app[SECRETS].seal(json.dumps({"name": visitor.name, "email": visitor.email}),
                                       purpose=PURPOSE)
    response.set_cookie(COOKIE, sealed, max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=request.secure, path="/meetings")
