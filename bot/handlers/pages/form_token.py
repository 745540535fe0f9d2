"""Form tokens: what a visitor's form carries so that its post is believed.

A form repeats a random token that the visitor's browser also holds in the cookie
``slotbot_form`` (double submit: HttpOnly, ``SameSite=Strict``, ``Secure`` over https). A post
whose token matches the cookie comes from a page this deployment served to that browser.

A page embedded in the website widget is a third-party frame on the host's own site. Browsers
send its cookie only when it is ``SameSite=None; Secure`` (so over https), and browsers that block
third-party cookies (Safari; Chromium's off-the-record profiles) never do. So an embedded form
carries a *signed* token instead (:func:`signed_token`): an HMAC-SHA256, with a key derived from
``SLOTBOT_SECRET_KEY``, over the page and an expiry (:data:`EMBEDDED_FORM_SECONDS`). It needs no
cookie, is good for that page only, and every configured key verifies it (key rotation keeps open
forms working). The cookie is still set, with the same value, where the browser takes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_secrets
import time
from collections.abc import Sequence

from aiohttp import web

from bot.keys import SETTINGS

CSRF_COOKIE = "slotbot_form"
EMBEDDED_FORM_SECONDS = 2 * 3600  # how long an embedded form may stay open before posting
_VERSION = "e1"
_PURPOSE = b"slotbot:embedded-form-token"


def _mac(key: bytes, page_id: int, expires: int) -> str:
    derived = hmac.new(key, _PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(derived, f"{page_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def signed_token(keys: Sequence[bytes], *, page_id: int, now: float | None = None) -> str:
    """A token for the embedded form of ``page_id``, signed with the first of ``keys``."""
    expires = int((time.time() if now is None else now) + EMBEDDED_FORM_SECONDS)
    return f"{_VERSION}.{expires}.{_mac(keys[0], page_id, expires)}"


def signed_token_ok(keys: Sequence[bytes], token: str, *, page_id: int, now: float | None = None) -> bool:
    """Whether ``token`` was signed (with any of ``keys``) for ``page_id`` and has not expired."""
    version, _, rest = token.partition(".")
    expiry, _, mac = rest.partition(".")
    if version != _VERSION or not expiry.isdigit() or len(expiry) > 12 or not mac:
        return False
    expires = int(expiry)
    if expires < (time.time() if now is None else now):
        return False
    return any(_same(_mac(key, page_id, expires), mac) for key in keys)


def _same(expected: str, given: str) -> bool:
    """A constant-time comparison that any text may be given to (not only ASCII)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def csrf_token(request: web.Request, *, embedded_page: int | None = None) -> str:
    """The token a form carries (set the cookie with :func:`set_csrf`).

    ``embedded_page``: the page is shown in the website widget, so its form carries a signed token.
    Otherwise it is the visitor's cookie, or a new random one.
    """
    if embedded_page is not None:
        return signed_token(request.app[SETTINGS].secret_keys, page_id=embedded_page)
    return request.cookies.get(CSRF_COOKIE) or random_secrets.token_urlsafe(24)


def set_csrf(request: web.Request, response: web.StreamResponse, token: str, path: str,
             *, embedded: bool = False) -> None:
    """Set the double-submit cookie for forms under ``path``.

    A page embedded in another site's chat widget is a third-party frame: browsers send its
    cookie only when it is ``SameSite=None; Secure``, which needs https.
    """
    third_party = embedded and request.secure
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="None" if third_party else "Strict",
                        path=path, secure=request.secure)


def csrf_ok(request: web.Request, submitted: object, *, embedded_page: int | None = None) -> bool:
    """Whether the form's token matches the cookie, or (``embedded_page``) is signed for that page."""
    if not isinstance(submitted, str) or not submitted:
        return False
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie and _same(cookie, submitted):
        return True
    return embedded_page is not None and signed_token_ok(
        request.app[SETTINGS].secret_keys, submitted, page_id=embedded_page
    )
