"""Visitor input is read here first: what cannot be stored as text is refused before any handler runs.

Every request to the visitor's side (:data:`VISITOR_PATHS`: scheduling pages, manage links, the
widget API) passes :func:`readable_input`, a middleware. Its path, its query string and its body
(a form, urlencoded or multipart, or the widget's JSON) must be text Slotbot can keep: valid
UTF-8 without NUL characters (PostgreSQL cannot store a NUL in text) and, for a body, well formed.
Anything else gets a 400 at once -- a short page in the visitor's language, or JSON for the JSON
API -- so no handler runs and no statement reaches the database.

The form and JSON a handler reads afterwards are the ones read here (aiohttp keeps them), so the
body is parsed once. What the text *means* (a name on one line, a known zone...) is checked where
it is used: :meth:`bot.booking.visitor.Visitor.validated`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from bot.handlers.pages.visitor import language, message, translator
from bot.handlers.web_chat.widget import CORS, MAX_BODY

VISITOR_PATHS = ("/meetings/", "/meetings-manage/", "/widget/")
JSON_PATHS = ("/widget/",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Unreadable(Exception):
    """The request's input cannot be read as text Slotbot can keep."""


def _texts(value: Any) -> Iterable[str]:
    """Every string in a JSON value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _check(texts: Iterable[str]) -> None:
    if any("\x00" in text for text in texts):
        raise Unreadable("a NUL character")


async def _read_body(request: web.Request) -> None:
    """Read (and keep, for the handler) the body, raising :class:`Unreadable` for a bad one."""
    if request.content_type in FORM_TYPES:
        try:
            form = await request.post()
        except (ValueError, LookupError, AssertionError) as exc:  # not UTF-8, unknown charset, broken
            raise Unreadable(type(exc).__name__) from None
        _check(str(key) for key in form)
        _check(value for value in form.values() if isinstance(value, str))
    elif request.path.startswith(JSON_PATHS) and request.can_read_body:
        raw = (await request.read())[:MAX_BODY + 1]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("not UTF-8") from None
        try:
            parsed = json.loads(text)
        except ValueError:
            return  # not JSON at all: the handler explains what to send
        _check(_texts(parsed))


def _refusal(request: web.Request) -> web.Response:
    if request.path.startswith(JSON_PATHS):
        return web.json_response({"error": "The request could not be read: send UTF-8 text without "
                                           "characters that cannot be used (such as NUL)."},
                                 status=400, headers={**CORS, "Cache-Control": "no-store"})
    lang = language(request)
    _ = translator(lang)
    return message(request, lang, _("This request could not be read"), _(
        "It contains characters that cannot be used. Please go back and try again."), 400)


@web.middleware
async def readable_input(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse visitor requests whose input cannot be read as text (see the module doc)."""
    if not request.path.startswith(VISITOR_PATHS):
        return await handler(request)
    try:
        _check((request.path, *request.query.keys(), *request.query.values()))
        if request.method == "POST":
            await _read_body(request)
    except Unreadable:
        return _refusal(request)
    return await handler(request)
